"""SAC, TD3 and DDPG with hindsight replay on the bit-flipping task: what they store and sample,
learning a task that they do not learn without it, resume after SIGKILL with the episodes in the
checkpoint, and the refusals."""

import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import (
    Agent,
    DDPGAgent,
    DDPGConfig,
    RecurrentSACAgent,
    RecurrentSACConfig,
    SACAgent,
    SACConfig,
    TD3Agent,
    TD3Config,
)
from reinforceable.networks import sac_actor
from reinforceable.replay import HindsightReplay

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _bits(n_bits=4, num_envs=2, seed=0):
    return rf.GymEnv("reinforceable/BitFlipping-v0", num_envs, n_bits=n_bits, continuous=True,
                     seed=seed, infos={"is_success": "bool"})  # fmt: skip


@pytest.mark.parametrize(
    ("agent_class", "config_class"),
    [(SACAgent, SACConfig), (TD3Agent, TD3Config), (DDPGAgent, DDPGConfig)],
)
def test_agents_store_episodes_and_learn_from_relabelled_batches(
    agent_class, config_class, tmp_path
):
    keras.utils.set_random_seed(0)
    env = _bits()
    config = config_class(hindsight="final", n_sampled_goal=3, hidden=(16,), batch_size=16,
                          warmup_steps=16, steps_per_iteration=8, seed=0)  # fmt: skip
    agent = agent_class(sac_actor(env, hidden=(16,)), env, config)
    assert isinstance(agent.buffer, HindsightReplay) and agent.buffer.strategy == "final"
    agent.fit(96, callbacks=[rf.training.Evaluation(_bits(seed=5), every=4, episodes=4)])
    # Every step is a real transition here except the reset steps after each 4-step episode.
    assert int(agent.buffer.size) == 96 - 2 * (96 // 2 // 5)
    assert int(agent.env_steps.numpy()) == 96
    sample = tf.function(agent.buffer.sample)
    batches = [sample(64, tf.constant([0, i])) for i in range(8)]
    batch = tf.nest.map_structure(lambda *x: np.concatenate([np.asarray(v) for v in x]), *batches)
    reward = env.spec.compute_reward(
        batch["next_observation"]["achieved_goal"], batch["next_observation"]["desired_goal"]
    )
    np.testing.assert_array_equal(batch["reward"], reward)
    # The final goal for 3 in 4 transitions: every episode's last step (1 in 4) then succeeds,
    # so at least 3/16 more successes than the stored rewards have.
    stored = agent.buffer._storage["reward"].numpy()[: agent.buffer._written.numpy().min()]
    assert (batch["reward"] == 0).mean() > (stored == 0).mean() + 0.1
    action, _ = agent.predict(_bits(num_envs=1).reset().observation, deterministic=True)
    assert np.shape(action) == (1, 4)
    # A saved agent loads without its environment: the spec's id gives compute_reward again.
    agent.save(tmp_path / "agent")
    loaded = Agent.load(tmp_path / "agent")
    assert isinstance(loaded.buffer, HindsightReplay)
    np.testing.assert_array_equal(
        loaded.spec.compute_reward(np.zeros([2, 4]), np.eye(2, 4)), [-1.0, -1.0]
    )
    reloaded, _ = loaded.predict(_bits(num_envs=1).reset().observation, deterministic=True)
    np.testing.assert_allclose(reloaded, action, atol=1e-6)


def _success(agent, n_bits):
    driver = rf.Driver(agent.eval_policy, _bits(n_bits, 10, seed=7),
                       [rf.driver.SuccessRate()])  # fmt: skip
    driver.run(episodes=50)
    return driver.metrics()["success_rate"]


@pytest.mark.slow
def test_td3_with_hindsight_solves_bit_flipping_that_it_does_not_solve_without():
    rf.training.configure_threads(1, 1)
    results = {}
    for hindsight in ("future", None):
        keras.utils.set_random_seed(0)
        env = _bits(10, 4)
        config = TD3Config(hindsight=hindsight, discount=0.95, warmup_steps=1000,
                           steps_per_iteration=16, exploration_std=0.2, seed=0)  # fmt: skip
        agent = TD3Agent(sac_actor(env), env, config)
        agent.fit(10_000)
        results[hindsight] = _success(agent, 10)
    assert results["future"] >= 0.8, results
    assert results[None] <= 0.1, results


SCRIPT = textwrap.dedent(
    """
    import sys
    import keras
    import reinforceable as rf

    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/BitFlipping-v0", 2, n_bits=4, continuous=True, seed=0)
    config = rf.agents.SACConfig(hindsight="future", hidden=(16,), batch_size=16,
                                 warmup_steps=16, steps_per_iteration=8, seed=0)
    agent = rf.agents.SACAgent(rf.networks.sac_actor(env, hidden=(16,)), env, config)
    agent.fit(int(sys.argv[2]), run_dir=sys.argv[1], checkpoint_every=1)
    print("steps", int(agent.env_steps.numpy()), "stored", int(agent.buffer.size), flush=True)
    """
)


def test_sac_with_hindsight_killed_with_sigkill_resumes_with_its_episodes(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    run_dir = tmp_path / "run"
    command = [sys.executable, str(script), str(run_dir), "2000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "ckpt-30.index").exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # What the checkpoint holds: rows, and each row's episode bounds, as the killed run left them.
    env = _bits()
    config = SACConfig(hindsight="future", hidden=(16,), batch_size=16, warmup_steps=16,
                       steps_per_iteration=8, seed=0)  # fmt: skip
    restored = SACAgent(sac_actor(env, hidden=(16,)), env, config)
    checkpoint = tf.train.Checkpoint(**restored.checkpoint_items())
    checkpoint.read(tf.train.latest_checkpoint(run_dir / "checkpoints")).expect_partial()
    steps = int(restored.env_steps.numpy())
    # The kill may come between ckpt-30's files and the pointer to them: then ckpt-29 is read.
    assert steps >= 29 * 16
    buffer = restored.buffer
    assert int(buffer.size) == steps - 2 * (steps // 2 // 5)
    start, end = buffer._start.numpy(), buffer._end.numpy()
    written = buffer._written.numpy()
    closed = end[: written.min()] >= 0
    # Closed episodes are 4 steps long, and each row lies inside its own.
    assert closed.mean() > 0.8
    np.testing.assert_array_equal((end - start)[: written.min()][closed], 4)

    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout
    assert f"steps 2000 stored {2000 - 2 * (2000 // 2 // 5)}" in result.stdout, result.stdout


def test_hindsight_refusals_name_the_field_or_the_task():
    env = _bits()
    with pytest.raises(ValueError, match="n_sampled_goal"):
        SACConfig(hindsight="future", n_sampled_goal=-1)
    with pytest.raises(ValueError, match="`hindsight` must be None or one of"):
        TD3Config(hindsight="past")
    with pytest.raises(ValueError, match="n_step"):
        SACConfig(hindsight="future", n_step=3)
    with pytest.raises(ValueError, match="jit_compile"):
        TD3Config(hindsight="future", jit_compile=True)
    pendulum = rf.GymEnv("Pendulum-v1", 1)
    with pytest.raises(ValueError, match=r"TD3Agent with `hindsight`.*not a Dict"):
        TD3Agent(sac_actor(pendulum), pendulum, TD3Config(hindsight="future"))
    no_reward = env.spec.replace(compute_reward=None)
    with pytest.raises(ValueError, match=r"SACAgent with `hindsight`.*compute_reward"):
        SACAgent(sac_actor(no_reward), no_reward, SACConfig(hindsight="future"))
    agent = SACAgent(sac_actor(env), env, SACConfig(hindsight="future"))
    with pytest.raises(ValueError, match="shared replay"):
        agent.replay_spec()
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    recurrent_env = rf.EnvSpec(space, space, 1)
    with pytest.raises(ValueError, match="hindsight"):
        RecurrentSACAgent(sac_actor(recurrent_env, recurrent="gru"), recurrent_env,
                          RecurrentSACConfig(hindsight="future"))  # fmt: skip
