"""ScoreFunctionAgent: its update follows the REINFORCE gradient; it learns CartPole."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import ScoreFunctionAgent, ScoreFunctionConfig
from reinforceable.ops import generalized_advantage_estimation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"num_steps": 0}, "num_steps"), ({"learning_rate": -1.0}, "learning_rate")],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ScoreFunctionConfig(**kwargs)


def test_first_update_follows_the_reinforce_gradient():
    """Adam's first step moves each weight by about -lr · sign(gradient): the update's signs
    match those of a hand-written REINFORCE gradient, -mean(log π(a|s) (G - V(s)))."""
    env = rf.GymEnv("CartPole-v1", num_envs=4, seed=0)
    model = rf.networks.actor_critic(env, hidden=(16,))
    config = ScoreFunctionConfig(
        num_steps=64, value_coef=0.0, normalize_advantages=False, max_grad_norm=None, seed=0
    )
    agent = ScoreFunctionAgent(model, env, config)
    trajectory = rf.Driver(agent.policy, env, seed=0).run(agent.rollout_steps)
    before = [v.numpy().copy() for v in model.trainable_variables]

    values = trajectory.extras["value"]
    bootstrap = agent._bootstrap_value(trajectory)
    advantages, _ = generalized_advantage_estimation(
        trajectory.reward,
        values,
        bootstrap,
        trajectory.terminated,
        trajectory.truncated,
        trajectory.valid,
        discount=0.99,
        lambda_=1.0,
    )
    valid = tf.cast(trajectory.valid, tf.float32)
    observation = tf.reshape(trajectory.observation, [-1, 4])
    action = tf.reshape(trajectory.action, [-1])
    with tf.GradientTape() as tape:
        distributions, _ = agent.learner_policy.distributions(observation)
        log_prob = tf.reshape(distributions.log_prob(action), valid.shape)
        loss = -tf.reduce_sum(log_prob * tf.stop_gradient(advantages) * valid) / tf.reduce_sum(
            valid
        )
    variables = model.trainable_variables
    gradients = tape.gradient(loss, variables)

    agent.train(trajectory)
    checked = 0
    for variable, start, gradient in zip(variables, before, gradients, strict=True):
        if gradient is None:  # the value head: value_coef = 0
            continue
        step, g = variable.numpy() - start, gradient.numpy()
        clear = np.abs(g) > 1e-3 * np.abs(g).max()  # skip the nearly-zero entries
        np.testing.assert_array_equal(np.sign(step[clear]), -np.sign(g[clear]))
        checked += clear.sum()
    assert checked > 50


def test_score_function_learns_cartpole(tmp_path):
    """60k env steps (a few seconds): the deterministic policy balances for 200+ steps
    (a random policy: about 20)."""
    env = rf.GymEnv("CartPole-v1", num_envs=8, seed=0)
    config = ScoreFunctionConfig(num_steps=64, learning_rate=3e-3, seed=0)
    agent = ScoreFunctionAgent(rf.networks.actor_critic(env, hidden=(64,)), env, config)
    agent.fit(60_000, seed=0)
    evaluation = rf.training.Evaluation(rf.GymEnv("CartPole-v1", 5, seed=1), episodes=10)
    assert evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"] >= 200
    agent.save(tmp_path / "agent")
    loaded = ScoreFunctionAgent.load(tmp_path / "agent", env)
    assert loaded.config == config
