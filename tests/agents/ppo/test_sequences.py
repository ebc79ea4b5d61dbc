"""Sequence chunks keep every step exactly once, each with the state it started from."""

import numpy as np
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents.ppo.sequences import chunk_initial_states, to_chunks
from reinforceable.networks import actor_critic


def test_to_chunks_keeps_every_step_once_in_order():
    steps, envs, length = 6, 3, 2
    ids = tf.reshape(tf.range(steps * envs), [steps, envs])  # id = t * envs + b
    features = tf.stack([ids, -ids], axis=-1)  # a trailing axis travels along
    chunks = to_chunks({"id": ids, "features": features}, length)
    assert chunks["id"].shape == (steps // length * envs, length)
    assert chunks["features"].shape == (steps // length * envs, length, 2)
    np.testing.assert_array_equal(np.sort(chunks["id"].numpy().ravel()), np.arange(steps * envs))
    for k in range(steps // length):
        for b in range(envs):
            chunk = chunks["id"][k * envs + b].numpy()
            np.testing.assert_array_equal(
                chunk, [(k * length + i) * envs + b for i in range(length)]
            )
    np.testing.assert_array_equal(chunks["features"][..., 1], -chunks["id"])


def test_chunk_states_are_the_states_the_policy_had_in_the_rollout():
    # CartPole episodes end within the rollout, so resets inside chunks are exercised too.
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=3)
    model = actor_critic(env, hidden=(8,), recurrent="gru", units=8)
    policy = rf.KerasPolicy(model)
    driver = rf.Driver(policy, env, seed=0)
    parts = [driver.run(steps=2 * 20) for _ in range(3)]
    whole = tf.nest.map_structure(lambda *xs: tf.concat(xs, 0), *[p[:8] for p in parts])
    trajectory = parts[0]._replace(
        **dict(zip(parts[0]._fields[:8], whole, strict=True)),
        next_timestep=parts[-1].next_timestep,
        next_policy_state=parts[-1].next_policy_state,
    )
    assert bool(tf.reduce_any(trajectory.episode_start[1:]))
    states = chunk_initial_states(policy, trajectory, length=20)
    expected = tf.nest.map_structure(lambda *xs: tf.concat(xs, 0), *[p.policy_state for p in parts])
    tf.nest.map_structure(
        lambda a, b: np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5), states, expected
    )
    env.close()
