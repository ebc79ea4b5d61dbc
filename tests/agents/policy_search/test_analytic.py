"""AnalyticPolicySearch: gradients against finite differences, LQR convergence, errors, fit."""

import re

import keras
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import AnalyticPolicySearch, AnalyticPolicySearchConfig
from reinforceable.agents.policy_search import linear_gain


def _policy(obs_dim, action_dim, hidden=(), bounds=None):
    observation = keras.Input((obs_dim,))
    x = observation
    for units in hidden:
        x = keras.layers.Dense(units, activation="tanh")(x)
    if bounds is None:
        head = rf.DenseNormal(action_dim, initial_scale=0.1)
    else:
        head = rf.DenseNormal(action_dim, output_bounds=bounds, hard_bounds=True, initial_scale=0.1)
    return keras.Model(observation, head(x))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": -3}, "horizon"),
        ({"horizon": 50, "episode_length": 20}, "episode_length"),
        ({"truncation": 0}, "truncation"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"discount": 0.0}, "discount"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
        ({"value_hidden": ()}, "value_hidden"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        AnalyticPolicySearchConfig(**kwargs)


def test_policy_that_does_not_fit_the_model_is_refused_at_construction():
    pendulum = rf.models.Pendulum()
    with pytest.raises(ValueError, match=re.escape("action must have shape [batch, 1]")):
        AnalyticPolicySearch(_policy(3, 2), pendulum)
    unbounded = _policy(3, 1)
    unbounded.layers[-1].set_weights([w * 0 + 5.0 for w in unbounded.layers[-1].get_weights()])
    with pytest.raises(ValueError, match=r"`action` must lie in .*`hard_bounds=True`"):
        AnalyticPolicySearch(unbounded, pendulum)
    with pytest.raises(TypeError, match="`model`"):
        AnalyticPolicySearch(_policy(3, 1), "Pendulum-v1")
    env = rf.GymEnv("CartPole-v1", num_envs=1, seed=0)
    with pytest.raises(ValueError, match="`env` must match the model"):
        AnalyticPolicySearch(_policy(3, 1, bounds=[-2.0, 2.0]), pendulum, env=env)


def test_analytic_gradient_equals_finite_differences():
    """The gradient of a 10-step Pendulum return (float64 states) with respect to the policy's
    weights, against central differences."""
    keras.utils.set_random_seed(1)
    config = AnalyticPolicySearchConfig(horizon=10, episode_length=10, deterministic=True)
    agent = AnalyticPolicySearch(
        _policy(3, 1, hidden=(8,), bounds=[-2.0, 2.0]), rf.models.Pendulum(), config
    )
    start = rf.models.Pendulum().initial_state([16], tf.constant([3, 4]), tf.float64)

    def objective():
        return tf.reduce_mean(agent._rollout(start, tf.constant([0, 0]))[0])

    variables = agent.model.trainable_variables
    with tf.GradientTape() as tape:
        value = objective()
    gradients = tape.gradient(value, variables)
    rng = np.random.default_rng(0)
    checked = 0
    for variable, gradient in zip(variables, gradients, strict=True):
        if gradient is None:  # the head's scale: a deterministic policy acts with the mode
            continue
        flat = variable.numpy().reshape(-1)
        for index in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            eps = 1e-3
            original = variable.numpy()
            for sign in (1, -1):
                perturbed = original.copy().reshape(-1)
                perturbed[index] += sign * eps
                variable.assign(perturbed.reshape(original.shape))
                if sign == 1:
                    plus = float(objective())
                else:
                    minus = float(objective())
            variable.assign(original)
            numeric = (plus - minus) / (2 * eps)
            analytic = float(tf.reshape(gradient, [-1])[index])
            assert analytic == pytest.approx(numeric, rel=2e-2, abs=2e-4), variable.name
            checked += 1
    assert checked >= 6


@pytest.mark.slow  # 450 iterations of 1024 rollouts: about 50 s
def test_converges_to_the_discounted_lqr_gain():
    """A linear policy trained through x' = A x + B u converges to the Riccati gain: relative
    error <= 1% (the optimal stationary gain does not depend on where the rollouts start)."""
    keras.utils.set_random_seed(0)
    a = np.array([[1.0, 0.1], [0.0, 1.0]])
    b = np.array([[0.005], [0.1]])
    q, r, gamma = np.eye(2), np.array([[0.1]]), 0.9
    p = scipy.linalg.solve_discrete_are(np.sqrt(gamma) * a, np.sqrt(gamma) * b, q, r)
    riccati = gamma * np.linalg.solve(r + gamma * b.T @ p @ b, b.T @ p @ a)
    config = AnalyticPolicySearchConfig(
        horizon=100,
        episode_length=100,
        num_rollouts=1024,
        learning_rate=0.1,
        max_grad_norm=None,
        discount=gamma,
        deterministic=True,
        seed=0,
    )
    agent = AnalyticPolicySearch(_policy(2, 1), rf.models.LinearSystem(a, b, q, r), config)
    for _ in range(450):
        agent.train()
    gain = linear_gain(agent)
    assert np.linalg.norm(gain - riccati) / np.linalg.norm(riccati) <= 0.01, (gain, riccati)


def test_fit_checkpoints_resumes_and_saves(tmp_path):
    model = rf.models.PointMass2D()
    config = AnalyticPolicySearchConfig(
        horizon=8, episode_length=16, num_rollouts=16, terminal_value=True, seed=0
    )
    agent = AnalyticPolicySearch(_policy(4, 2, hidden=(8,), bounds=[-1.0, 1.0]), model, config)
    history = agent.fit(6 * agent.rollout_steps, run_dir=tmp_path / "run", checkpoint_every=2)
    assert len(history) == 6 and all(np.isfinite(h["losses/value_loss"]) for h in history)
    assert np.isfinite(history[-1]["charts/episode_return"])
    resumed = AnalyticPolicySearch(_policy(4, 2, hidden=(8,), bounds=[-1.0, 1.0]), model, config)
    more = resumed.fit(8 * agent.rollout_steps, run_dir=tmp_path / "run")
    assert [h["iteration"] for h in more] == list(range(1, 9))
    agent.save(tmp_path / "agent")
    loaded = AnalyticPolicySearch.load(tmp_path / "agent", model=model)
    observation = tf.random.normal([5, 4])
    np.testing.assert_allclose(
        loaded._distribution(observation).mode(), agent._distribution(observation).mode()
    )


def test_policy_improves_on_the_point_mass():
    keras.utils.set_random_seed(0)
    model = rf.models.PointMass2D()
    config = AnalyticPolicySearchConfig(
        horizon=50, episode_length=50, num_rollouts=64, learning_rate=3e-3, seed=0
    )
    agent = AnalyticPolicySearch(_policy(4, 2, hidden=(32,), bounds=[-1.0, 1.0]), model, config)
    first = agent.train()["charts/episode_return"]
    for _ in range(150):
        last = agent.train()["charts/episode_return"]
    assert last > 0.5 * first  # returns are negative: the distance cost at least halves


def test_truncation_cuts_the_gradient_through_the_state():
    a, b = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.0], [0.1]])
    system = rf.models.LinearSystem(a, b)
    start = tf.constant([[1.0, -0.5], [0.3, 0.2]], tf.float64)

    def gradients(truncation):
        keras.utils.set_random_seed(0)
        config = AnalyticPolicySearchConfig(
            horizon=2, episode_length=2, truncation=truncation, deterministic=True
        )
        agent = AnalyticPolicySearch(_policy(2, 1), system, config)
        kernel = agent.model.trainable_variables[0]
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(agent._rollout(start, tf.constant([0, 0]))[0])
        # By hand: u = x W + c; the second state held fixed when the gradient is cut.
        with tf.GradientTape() as hand_tape:
            policy = lambda x: tf.cast(agent._distribution(tf.cast(x, tf.float32)).mode(), x.dtype)  # noqa: E731
            u0 = policy(start)
            x1 = system.step(start, u0)
            if truncation == 1:
                x1 = tf.stop_gradient(x1)
            by_hand = tf.reduce_sum(system.reward(start, u0) + 0.99 * system.reward(x1, policy(x1)))
        return tape.gradient(value, kernel), hand_tape.gradient(by_hand, kernel)

    full, full_by_hand = gradients(None)
    cut, cut_by_hand = gradients(1)
    np.testing.assert_allclose(full, full_by_hand, rtol=1e-5)
    np.testing.assert_allclose(cut, cut_by_hand, rtol=1e-5)
    assert not np.allclose(full, cut)


def _angle_only():
    def angle(state):
        return tf.stack([tf.cos(state[..., 0]), tf.sin(state[..., 0])], -1)

    return rf.models.PartiallyObserved(rf.models.Pendulum(), observe=angle)


def _recurrent_agent(**kwargs):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=1, seed=0)
    policy = rf.networks.sac_actor(env, hidden=(8,), recurrent="gru", units=8, embedding=8)
    config = AnalyticPolicySearchConfig(
        **{"horizon": 4, "episode_length": 8, "num_rollouts": 4, "seed": 0, **kwargs}
    )
    return AnalyticPolicySearch(policy, _angle_only(), config, env=env)


def test_recurrent_policy_learns_through_time_and_carries_its_state():
    agent = _recurrent_agent(terminal_value=True)
    rnn = [v for v in agent.model.trainable_variables if "actor_rnn" in v.path]
    before = [v.numpy().copy() for v in rnn]
    agent.train()
    # The recurrent weights learn, and each rollout's policy state carries on ...
    assert all(not np.array_equal(a, v.numpy()) for a, v in zip(before, rnn, strict=True))
    carried = tf.nest.flatten(agent.policy_states)[0].numpy()
    assert np.abs(carried).sum() > 0
    # ... until the episode ends (8 steps = 2 windows): then it restarts from zeros.
    agent.train()
    np.testing.assert_array_equal(tf.nest.flatten(agent.policy_states)[0].numpy(), 0.0)
    assert agent.value.input_shape[-1] == 2  # the terminal value sees the model's full state


def test_truncation_cuts_the_recurrent_states_gradient():
    """With truncation 1, the initial policy state reaches the return only through the first
    action: its gradient is that of the first reward alone."""
    agent = _recurrent_agent(truncation=1, deterministic=True)
    start = agent.system.initial_state([4], tf.constant([1, 2]))
    memory = tf.nest.map_structure(lambda x: x + 0.3, agent.learner_policy.initial_state(4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(memory)
        total, _, rewards, *_ = agent._rollout(start, tf.constant([0, 0]), memory)
        value, first = tf.reduce_sum(total), tf.reduce_sum(rewards[0])
    cut, by_hand = tape.gradient(value, memory), tape.gradient(first, memory)
    for a, b in zip(tf.nest.flatten(cut), tf.nest.flatten(by_hand), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    # Without truncation, later rewards depend on it too.
    full_agent = _recurrent_agent(deterministic=True)
    full_agent.model.set_weights(agent.model.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(memory)
        total, _, rewards, *_ = full_agent._rollout(start, tf.constant([0, 0]), memory)
        value, first = tf.reduce_sum(total), tf.reduce_sum(rewards[0])
    full, by_hand = tape.gradient(value, memory), tape.gradient(first, memory)
    assert not np.allclose(tf.nest.flatten(full)[0], tf.nest.flatten(by_hand)[0])
