"""`Logger`: nested scopes, the step, and the file, TensorBoard and memory backends."""

import json

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.training import FileBackend, Logger, MemoryBackend, TensorBoardBackend


def test_nested_scopes_prefix_names_and_unwind_after_an_error():
    logger = Logger()
    with logger.scope("gps"):
        with logger.scope("condition_0"):
            logger.log("eta", 0.5)
        logger.step = 3
        logger.log("cost", tf.constant(2.0))
        with pytest.raises(RuntimeError), logger.scope("inner"):
            raise RuntimeError("boom")
        logger.log("after", 1)
    logger.log("top", np.array([1.0, 2.0]))
    assert logger.backend.records[:3] == [(0, "gps/condition_0/eta", 0.5), (3, "gps/cost", 2.0),
                                          (3, "gps/after", 1)]  # fmt: skip
    step, name, value = logger.backend.records[3]
    assert (step, name) == (3, "top")
    np.testing.assert_array_equal(value, [1.0, 2.0])


def test_file_backend_writes_one_json_line_per_value(tmp_path):
    path = tmp_path / "logs" / "run.jsonl"
    with Logger(FileBackend(path)) as logger, logger.scope("a"):
        logger.log_dict({"x": 1.5, "v": np.arange(3)})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"step": 0, "name": "a/x", "value": 1.5},
                     {"step": 0, "name": "a/v", "value": [0, 1, 2]}]  # fmt: skip


def test_tensorboard_backend_writes_an_event_file(tmp_path):
    with Logger(TensorBoardBackend(tmp_path)) as logger:
        logger.log("loss", 0.25)
        logger.log("weights", np.ones(4))
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())


def test_bad_backends_names_and_values_are_refused():
    with pytest.raises(TypeError, match="lacks write, flush, close"):
        Logger(backend=object())
    logger = Logger(MemoryBackend())
    with pytest.raises(ValueError, match="without '/'"), logger.scope("a/b"):
        pass
    with pytest.raises(TypeError, match="`name` must be numeric"):
        logger.log("name", "text")


def test_log_to_sends_an_agents_training_logs_to_the_logger():
    from reinforceable.agents import PPOConfig, RecurrentPPOAgent
    from reinforceable.networks import actor_critic
    from reinforceable.training import LogTo

    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    config = PPOConfig(num_steps=8, batch_size=16, num_epochs=1, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, config)
    logger = Logger()
    agent.fit(2 * 16, callbacks=[LogTo(logger)])
    env.close()
    kl = [(step, name) for step, name, _ in logger.backend.records
          if name == "train/losses/approx_kl"]  # fmt: skip
    assert kl == [(16, "train/losses/approx_kl"), (32, "train/losses/approx_kl")]
