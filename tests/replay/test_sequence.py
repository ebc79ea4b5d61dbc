"""Sequence replay: cutting trajectories into sequences, the recorded states (equal to the
actor's own), resets inside sequences, wrap-around, priorities and importance weights."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.timestep import Timestep
from reinforceable.replay import (
    SequenceReplay,
    sequence_priority,
    sequence_starts,
    trajectory_sequences,
)


def _trajectory(rows=8, envs=2, stride=2):
    """Row t of env b holds the number 10 t + b; states are 100 t + b at every stride."""
    ids = (10 * np.arange(rows)[:, None] + np.arange(envs)[None]).astype(np.float32)
    false = np.zeros([rows, envs], bool)
    states = (100 * np.arange(0, rows, stride)[:, None] + np.arange(envs)[None]).astype(np.float32)
    last = Timestep(
        observation=tf.constant(10.0 * rows + np.arange(envs), tf.float32),
        reward=tf.zeros([envs]),
        episode_start=tf.constant([True] + [False] * (envs - 1)),
        terminated=tf.zeros([envs], tf.bool),
        truncated=tf.zeros([envs], tf.bool),
    )
    return Trajectory(
        observation=tf.constant(ids),
        episode_start=tf.constant(false),
        action=tf.constant(-ids),
        extras={},
        reward=tf.constant(ids / 10),
        terminated=tf.constant(false),
        truncated=tf.constant(false),
        valid=tf.constant(~false),
        policy_state=tf.constant(states[0]),
        next_timestep=last,
        next_policy_state=tf.zeros([envs]),
        sequence_states=tf.constant(states),
    )


def test_sequences_are_cut_with_overlap_and_the_next_observation():
    assert sequence_starts(8, 4, 2) == [0, 2, 4]
    steps, states = trajectory_sequences(_trajectory(), length=4, overlap=2)
    # Sequence k * B + b starts at row 2k of env b.
    observation = steps["observation"].numpy()
    assert observation.shape == (6, 5)  # 3 starts x 2 envs, L + 1 rows
    np.testing.assert_array_equal(observation[0], [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(observation[1], [1, 11, 21, 31, 41])
    # The last sequence's extra row is the observation after the rollout.
    np.testing.assert_array_equal(observation[4], [40, 50, 60, 70, 80])
    np.testing.assert_array_equal(observation[5], [41, 51, 61, 71, 81])
    np.testing.assert_array_equal(steps["episode_start"].numpy()[4], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(steps["action"].numpy()[3], [-21, -31, -41, -51])
    assert steps["reward"].shape == (6, 4)
    np.testing.assert_array_equal(states.numpy(), [0, 1, 200, 201, 400, 401])


def test_cutting_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="does not fit a rollout of 8"):
        trajectory_sequences(_trajectory(), length=10, overlap=0)
    with pytest.raises(ValueError, match="every 3 rows"):
        trajectory_sequences(_trajectory(), length=4, overlap=1)
    with pytest.raises(ValueError, match="overlap"):
        sequence_starts(8, 4, 4)


def _recurrent_run(stride=4, rows=24):
    env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=2, seed=3)
    actor = rf.networks.sac_actor(env, hidden=(16,), recurrent="gru", units=8, embedding=8)
    policy = rf.KerasPolicy(actor)
    driver = rf.Driver(policy, env, sequence_length=stride, seed=1)
    # Episodes of 200 steps: a short time limit puts resets inside the sequences.
    driver.run(steps=2 * 190)
    trajectory = driver.run(steps=2 * rows)
    env.close()
    return policy, trajectory


def test_stored_states_are_the_actors_own_and_resets_follow_episode_starts():
    policy, trajectory = _recurrent_run()
    starts = trajectory.episode_start.numpy()
    assert starts.any(), "the run must cross an episode start"
    steps, states = trajectory_sequences(trajectory, length=8, overlap=4)
    envs = 2
    for k, start in enumerate(sequence_starts(24, 8, 4)):
        # The actor's state before row `start`: replayed from the chunk's first state.
        if start == 0:
            expected = trajectory.policy_state
        else:
            prefix = lambda x, s=start: tf.transpose(x[:s], [1, 0, *range(2, x.shape.rank)])  # noqa: E731
            expected = policy.evaluate(
                prefix(trajectory.observation),
                prefix(trajectory.episode_start),
                trajectory.policy_state,
                prefix(trajectory.action),
            ).final_state
        stored = tf.nest.map_structure(lambda x, k=k: x[k * envs : (k + 1) * envs], states)
        for a, b in zip(tf.nest.flatten(stored), tf.nest.flatten(expected), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    # Replayed from its stored state, a sequence that crosses an episode start gives, from the
    # start on, what a fresh state gives there: the state was reset inside the sequence.
    flags = steps["episode_start"].numpy()[:, :8]
    index, row = next((i, r) for i, r in zip(*np.nonzero(flags), strict=True) if r > 0)
    one = lambda x: x[index : index + 1]  # noqa: E731
    seq = tf.nest.map_structure(lambda x: one(x)[:, :8], steps["observation"])
    full = policy.evaluate(
        seq,
        one(steps["episode_start"])[:, :8],
        tf.nest.map_structure(one, states),
        one(steps["action"]),
    )
    fresh = policy.evaluate(
        seq[:, row:],
        one(steps["episode_start"])[:, row:8],
        policy.initial_state(1),
        one(steps["action"])[:, row:],
    )
    np.testing.assert_allclose(full.log_prob.numpy()[:, row:], fresh.log_prob.numpy(), atol=1e-5)


def _replay(capacity=3, prioritized=False):
    return SequenceReplay(
        {"x": tf.TensorSpec([2], tf.float32)},
        tf.TensorSpec([1], tf.float32),
        capacity,
        prioritized=prioritized,
    )


def _add(replay, ids):
    ids = tf.constant(ids, tf.float32)
    return replay.add({"x": tf.stack([ids, ids], 1)}, ids[:, None])


def test_wraps_around_keeping_the_newest_sequences_and_their_states():
    replay = _replay()
    _add(replay, [0, 1])
    _add(replay, [2, 3, 4])
    assert int(replay.size) == 3
    seen = set()
    for i in range(20):
        batch = replay.sample(3, seed=[0, i])
        seen |= set(batch.steps["x"].numpy()[:, 0].tolist())
        np.testing.assert_array_equal(batch.state.numpy()[:, 0], batch.steps["x"].numpy()[:, 0])
        np.testing.assert_array_equal(batch.weights.numpy(), np.ones(3))
    assert seen == {2.0, 3.0, 4.0}


def test_priorities_set_the_sampling_and_the_importance_weights():
    replay = _replay(capacity=400, prioritized=True)
    rows = _add(replay, list(range(400)))
    np.testing.assert_array_equal(replay.priorities.numpy(), np.ones(400))  # new: max so far
    # Rows 300-399 get p with p^α = 2: they hold 200 of the 500 units of probability.
    high = 2.0 ** (1 / 0.9)
    replay.update_priorities(rows, tf.constant([1.0] * 300 + [high] * 100))
    sample = tf.function(lambda seed: replay.sample(400, seed))
    batches = [sample(tf.constant([3, i])) for i in range(50)]
    indices = np.concatenate([b.indices.numpy() for b in batches])
    weights = np.concatenate([b.weights.numpy() for b in batches])
    assert np.mean(indices >= 300) == pytest.approx(0.4, abs=0.01)
    # (n P)^-β / max: the rows of p^α = 1 have the largest weight, those of 2 get 2^-β of it.
    np.testing.assert_allclose(weights[indices < 300], 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights[indices >= 300], 2.0**-0.6, rtol=1e-5)
    # A new sequence gets the largest priority seen.
    _add(replay, [9])
    assert replay.priorities.numpy()[0] == pytest.approx(high)


def test_sequence_priority_mixes_max_and_mean_over_counted_steps():
    td = tf.constant([[1.0, -3.0, 100.0], [2.0, 2.0, 2.0]])
    mask = tf.constant([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(
        sequence_priority(td, mask, eta=0.9).numpy(), [0.9 * 3 + 0.1 * 2, 2.0], rtol=1e-6
    )


def test_add_refuses_the_state_of_another_recurrent_cell():
    """An LSTM's [h, c] state into a replay made for a GRU's [h]: named, not tf.nest's error."""
    steps = {"x": tf.TensorSpec([4], tf.float32)}
    replay = rf.replay.SequenceReplay(steps, {"rnn": [tf.TensorSpec([3])]}, capacity=4)
    lstm = {"rnn": [tf.zeros([2, 3]), tf.zeros([2, 3])]}
    with pytest.raises(ValueError, match=r"SequenceReplay.add: .*at \['state'\]\['rnn'\]: "
                       r"expected list of 1, received list of 2"):  # fmt: skip
        replay.add({"x": tf.zeros([2, 4])}, lstm)
    with pytest.raises(ValueError, match=r"items\['state'\]\['rnn'\]\[0\] must have shape "
                       r"\[N, \*\[3\]\]"):  # fmt: skip
        replay.add({"x": tf.zeros([2, 4])}, {"rnn": [tf.zeros([2, 5])]})
