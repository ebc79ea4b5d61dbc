"""RecurrentSACAgent: construction errors, no gradient through burn-in, n-step soft targets by
hand, hybrid and discrete updates, save/load and resume, and learning PendulumNoVel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import RecurrentSACAgent, RecurrentSACConfig, SACAgent
from reinforceable.networks import sac_actor
from reinforceable.replay import SequenceBatch

SMALL = RecurrentSACConfig(
    batch_size=4,
    hidden=(16,),
    units=8,
    embedding=8,
    sequence_length=4,
    burn_in=2,
    overlap=2,
    steps_per_iteration=8,
    warmup_steps=16,
    seed=0,
)


def _actor(env, recurrent="gru"):
    return sac_actor(env, hidden=(16,), recurrent=recurrent, units=8, embedding=8)


def _agent(env_id="reinforceable/PendulumNoVel-v1", config=SMALL, num_envs=2):
    env = rf.GymEnv(env_id, num_envs=num_envs, seed=0)
    return RecurrentSACAgent(_actor(env), env, config)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sequence_length": 8, "burn_in": 8}, "burn_in"),
        ({"sequence_length": 128}, "does not fit a rollout"),
        ({"buffer_capacity": 8, "batch_size": 1}, "longer than the replay"),
        ({"overlap": 16}, "overlap"),
        ({"overlap": 5}, "multiple of the stride"),
        ({"n_step": 9}, "n_step"),
        ({"cell": "rnn"}, "cell"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        RecurrentSACConfig(**kwargs)


def test_memoryless_and_recurrent_actors_go_to_their_agents():
    env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=1, seed=0)
    with pytest.raises(ValueError, match=r"memoryless .* critics are recurrent"):
        RecurrentSACAgent(sac_actor(env, hidden=(8,)), env, SMALL)
    with pytest.raises(ValueError, match="use RecurrentSACAgent"):
        SACAgent(_actor(env), env)
    observation = keras.Input((2,))
    with pytest.raises(ValueError, match="`critic` is not supported"):
        RecurrentSACAgent(_actor(env), env, SMALL, critic=keras.Model(observation, observation))


def test_observe_needs_states_recorded_every_stride():
    agent = _agent()
    trajectory = rf.Driver(agent.policy, agent.env, seed=0).run(agent.rollout_steps)
    with pytest.raises(ValueError, match="every 2 rows"):
        agent.observe(trajectory)


def _batch(agent, seed=0):
    driver = rf.Driver(
        agent.policy, agent.env, sequence_length=agent.collection.sequence_length, seed=seed
    )
    for _ in range(3):
        agent.observe(driver.run(agent.rollout_steps))
    return agent.buffer.sample(agent.config.batch_size, tf.constant([0, 1]))


def test_no_gradient_flows_through_burn_in_steps():
    agent = _agent()
    batch = _batch(agent)
    observation, state = batch.steps["observation"], batch.state
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([observation, *tf.nest.flatten(state)])
        steps = {**batch.steps, "observation": observation}
        grads = agent.sequence_gradients(
            SequenceBatch(steps, state, batch.indices, batch.weights), tf.constant([0, 2])
        )
        losses = tf.reduce_sum(grads.losses)
    by_observation = tape.gradient(losses, observation).numpy()
    burn = agent.config.burn_in
    np.testing.assert_array_equal(by_observation[:, :burn], 0.0)  # the burn-in steps
    assert np.abs(by_observation[:, burn:]).sum() > 0  # the trained ones do count
    for by_state in tape.gradient(losses, tf.nest.flatten(state)):
        assert by_state is None or not np.any(by_state.numpy())


def test_two_step_soft_targets_by_hand():
    gamma = 0.9
    config = RecurrentSACConfig(
        batch_size=2,
        sequence_length=2,
        burn_in=0,
        overlap=0,
        steps_per_iteration=2,
        n_step=2,
        discount=gamma,
        warmup_steps=0,
    )
    agent = _agent(config=config)
    steps = {
        "reward": tf.constant([[1.0, 2.0], [1.0, 2.0]]),
        # Sequence 0 runs on; in sequence 1 the first step terminates the episode, so the
        # second row crosses the reset.
        "terminated": tf.constant([[False, False], [True, False]]),
        "truncated": tf.constant([[False, False], [False, False]]),
        "valid": tf.constant([[True, True], [True, False]]),
    }
    values = tf.constant([[10.0, 20.0, 30.0], [10.0, 20.0, 30.0]])  # V of rows 0, 1, 2
    target, mask = agent._targets(steps, values)
    np.testing.assert_allclose(
        target.numpy(),
        [[1 + gamma * 2 + gamma**2 * 30, 2 + gamma * 30], [1.0, 0.0]],
        rtol=1e-6,
    )
    np.testing.assert_array_equal(mask.numpy(), [[1, 1], [1, 0]])
    # The soft value of a state: the continuous part's -α log π, here for one sample.
    value = rf.agents.sac.soft_state_value(
        tf.constant([[5.0]]), tf.ones([1, 1]), tf.zeros([1, 0]), tf.constant([-1.5]), [], 0.2
    )
    np.testing.assert_allclose(value.numpy(), [5.0 + 0.2 * 1.5])


@pytest.mark.parametrize(
    ("env_id", "jit_compile"),
    [
        ("reinforceable/MemoryMixedAction2D-v0", False),
        ("reinforceable/MemoryMixedAction2D-v0", True),
        ("CartPole-v1", False),
    ],
)
def test_hybrid_and_discrete_updates_move_actor_critics_and_temperatures(env_id, jit_compile):
    agent = _agent(env_id, RecurrentSACConfig(**{**SMALL.to_dict(), "jit_compile": jit_compile}))
    before = [v.numpy().copy() for v in agent.model.trainable_variables]
    torso = [v.numpy().copy() for v in agent.critic_torso.trainable_variables]
    alpha_d = agent.log_alpha_discrete.numpy().copy()
    driver = rf.Driver(agent.policy, agent.env, sequence_length=2, seed=0)
    for _ in range(4):
        metrics = agent.train(driver.run(agent.rollout_steps))
    assert metrics["losses/updates"] > 0
    assert all(np.isfinite(v) for v in metrics.values())
    for old, new in ((before, agent.model), (torso, agent.critic_torso)):
        assert all(
            not np.array_equal(a, b.numpy())
            for a, b in zip(old, new.trainable_variables, strict=True)
        )
    assert np.all(agent.log_alpha_discrete.numpy() != alpha_d)


def test_prioritized_updates_set_priorities():
    agent = _agent(config=RecurrentSACConfig(**{**SMALL.to_dict(), "prioritized": True}))
    agent.fit(6 * agent.rollout_steps)
    priorities = agent.buffer.priorities.numpy()
    assert np.all(np.isfinite(priorities)) and len(set(priorities.round(6).tolist())) > 2


def test_save_load_acts_identically_and_resume_keeps_the_sequences(tmp_path):
    agent = _agent("reinforceable/MemoryMixedAction2D-v0")
    agent.fit(4 * agent.rollout_steps, run_dir=tmp_path / "run", checkpoint_every=1)
    agent.save(tmp_path / "agent")
    loaded = RecurrentSACAgent.load(tmp_path / "agent", agent.env)
    for mine, theirs in ((agent.policy, loaded.policy), (agent.eval_policy, loaded.eval_policy)):
        runs = [
            rf.Driver(p, rf.GymEnv("reinforceable/MemoryMixedAction2D-v0", 2, seed=3), seed=1).run(
                40
            )
            for p in (mine, theirs)
        ]
        tf.nest.map_structure(
            lambda a, b: np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6),
            runs[0][:8],
            runs[1][:8],
        )
    for a, b in zip(agent.critic_torso.weights, loaded.critic_torso.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    resumed = _agent("reinforceable/MemoryMixedAction2D-v0")
    rf.training.Trainer(resumed, run_dir=tmp_path / "run")._restore()
    assert int(resumed.buffer.size) == int(agent.buffer.size) > 0
    for a, b in zip(resumed.buffer._storage, agent.buffer._storage, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
