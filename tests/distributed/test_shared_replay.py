"""A replay of its own (Ape-X): runners store their experience in it, learners sample from it,
checkpoints hold it, and two learners can share one on Ray."""

import time

import numpy as np
import pytest
import tensorflow as tf

from reinforceable.distributed import (
    LocalReplay,
    LocalRunners,
    RayReplay,
    RayRunners,
    RunnerError,
)
from reinforceable.distributed.replay import ReplayServer
from reinforceable.replay import ReplaySpec
from reinforceable.replay.transitions import n_step_transitions
from reinforceable.training import Callback
from tests.distributed.helpers import NOVEL, ppo_agent, sac_agent


class Watch(Callback):
    """Records, every iteration, the learner's own buffer size and the shared replay's."""

    def __init__(self, replay):
        self.replay, self.rows, self.first_state = replay, [], None

    def on_iteration_end(self, trainer, logs):
        if self.first_state is None:
            self.first_state = self.replay.state()
        self.rows.append((int(trainer.agent.buffer.size), self.replay.size(), logs))


def test_runners_fill_the_shared_replay_and_the_learner_samples_only_from_it():
    agent = sac_agent()
    replay = LocalReplay()
    watch = Watch(replay)
    history = agent.fit(320, runners=LocalRunners(2, "Pendulum-v1", 2), replay=replay,
                        callbacks=[watch])  # fmt: skip
    steps = int(agent.env_steps.numpy())
    assert steps >= 320
    # The learner stored nothing itself, yet it updated: its batches came from the replay,
    # which holds every env step the runners took (Pendulum never terminates early).
    assert all(own == 0 for own, _, _ in watch.rows)
    assert watch.rows[-1][1] == steps
    assert sum(row["losses/updates"] for row in history) > 0
    assert np.isfinite(history[-1]["losses/critic_loss"])


def test_checkpoints_hold_the_shared_replay_and_a_resumed_run_refills_it(tmp_path):
    agent = sac_agent()
    agent.fit(192, runners=LocalRunners(1, "Pendulum-v1", 2), replay=LocalReplay(),
              run_dir=tmp_path, checkpoint_every=2)  # fmt: skip
    saved = agent.buffer.get_state()
    assert saved["size"] == int(agent.env_steps.numpy())

    resumed = sac_agent()
    replay = LocalReplay()
    watch = Watch(replay)
    resumed.fit(256, runners=LocalRunners(1, "Pendulum-v1", 2), replay=replay,
                run_dir=tmp_path, callbacks=[watch])  # fmt: skip
    first_size = watch.rows[0][1]
    assert first_size > saved["size"]  # it began with the checkpoint's contents
    state = watch.first_state
    for kept, now in zip(saved["leaves"], state["leaves"], strict=True):
        np.testing.assert_array_equal(now[: saved["size"]], kept[: saved["size"]])


def test_replay_server_samples_batches_of_what_was_written():
    agent = sac_agent()
    server = ReplayServer(agent.replay_spec(), seed=0)
    with pytest.raises(ValueError, match="holds 0 items, fewer than batch_size=4"):
        server.sample(2, 4)
    runners = LocalRunners(1, "Pendulum-v1", 2)
    runners.start(agent.blueprint(), agent.collection, seed=0, replay=server)
    try:
        chunk = runners.sample(agent.acting_state())[0]
    finally:
        runners.close()
    assert chunk.trajectory is None and chunk.steps == 16 and server.size() == 16
    batches = server.sample(3, 5)
    assert batches["observation"].shape == (3, 5, 3) and batches["reward"].shape == (3, 5)
    leaves = server.state()["leaves"]
    stored = tf.nest.pack_sequence_as(server.spec.item_spec, leaves)["observation"][:16]
    for row in batches["observation"].reshape(-1, 3):
        assert (np.abs(stored - row).sum(1) == 0).any()


def test_replay_spec_transform_is_the_agents_n_step_transitions():
    agent = sac_agent()
    spec = agent.replay_spec()
    assert isinstance(spec, ReplaySpec) and spec.capacity == agent.config.buffer_capacity
    assert spec.transform.func is n_step_transitions
    assert spec.transform.keywords == {"discount": agent.config.discount,
                                       "n": agent.config.n_step}  # fmt: skip
    tf.nest.assert_same_structure(spec.item_spec, agent.buffer.item_spec)


def test_a_shared_replay_is_refused_where_it_cannot_serve():
    from tests.agents.sac.test_recurrent import _agent as recurrent_sac

    runners = LocalRunners(1, NOVEL, 4)
    with pytest.raises(ValueError, match="RecurrentPPOAgent learns from the chunks of its curre"):
        ppo_agent().fit(64, runners=runners, replay=LocalReplay())
    with pytest.raises(ValueError, match="RecurrentSACAgent keeps its replay in the learner"):
        recurrent_sac().fit(64, runners=LocalRunners(1, "Pendulum-v1", 2), replay=LocalReplay())
    with pytest.raises(TypeError, match=r"`replay` must be a reinforceable\.distributed SharedRe"):
        sac_agent().fit(64, runners=LocalRunners(1, "Pendulum-v1", 2), replay=object())
    with pytest.raises(ValueError, match="`replay` needs `runners`"):
        sac_agent().fit(64, replay=LocalReplay())


@pytest.mark.xdist_group("ray")
def test_two_learners_share_one_ray_replay_that_their_ray_runners_fill(local_ray):
    """Ape-X on Ray: the replay is an actor of its own; each learner's runner stores its
    trajectories there, and the second learner, joining it by name, samples from what both
    learners' runners stored."""
    first, second = sac_agent(0), sac_agent(1)
    owner = RayReplay(name="apex")
    owner.start(first.replay_spec(), seed=0)
    try:
        steps = 0
        for agent in (first, second):
            history = agent.fit(256, runners=RayRunners(1, "Pendulum-v1", 2),
                                replay=RayReplay(name="apex"))  # fmt: skip
            steps += int(agent.env_steps.numpy())
            assert int(agent.buffer.size) == 0  # no checkpoint: nothing copied to the learner
            assert sum(row["losses/updates"] for row in history) > 0
            # The replay outlived the first learner's run. Each runner may have stored one chunk
            # (16 steps) more than its learner counted: its request in flight at the end.
            stored = owner.size()
            assert steps <= stored <= steps + 16 * (1 if agent is first else 2)
        assert history[0]["charts/buffer_size"] > 256  # the second began from the first's
    finally:
        owner.close()


@pytest.mark.xdist_group("ray")
def test_a_ray_replay_that_died_is_named_in_the_error(local_ray):
    replay = RayReplay(name="doomed")
    replay.start(sac_agent().replay_spec())
    try:
        local_ray.kill(replay.actor)
        # `kill` is asynchronous: a call can still reach the actor for a moment (seen under
        # load); wait until the actor is gone.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                local_ray.get(replay.actor.size.remote(), timeout=10)
            except local_ray.exceptions.RayActorError:
                break
            time.sleep(0.1)
        with pytest.raises(RunnerError, match=r"the shared replay \(RayReplay 'doomed'\) is gone"):
            replay.sample(1, 4)
    finally:
        replay.close()
