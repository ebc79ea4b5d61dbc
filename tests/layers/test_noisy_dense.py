"""NoisyDense: the factorised noise, its initialisation and errors, its schedule in the policy
state, the means for evaluation, learners that learn its scales, and an actor in another
process that acts with the same noise."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import Agent, TD3Agent, TD3Config
from reinforceable.layers import NoisyDense, noisy_layers, sampled_noise
from reinforceable.layers.noisy_dense import NOISY_KEY, noisy_output
from reinforceable.networks import sac_actor
from tests.agents.processes import run_in_a_fresh_process
from tests.agents.test_actors import _job, assert_same_trajectory, collect


def _f(e):
    return np.sign(e) * np.sqrt(np.abs(e))


def test_each_row_acts_with_its_own_factorised_weight_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5)).astype(np.float32)
    mu_w, sigma_w = rng.normal(size=(2, 5, 4)).astype(np.float32)
    mu_b, sigma_b = rng.normal(size=(2, 4)).astype(np.float32)
    e_in, e_out = rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=(3, 4))
    got = noisy_output(x, mu_w, mu_b, sigma_w, sigma_b, e_in, e_out.astype(np.float32))
    for b in range(3):
        weights = mu_w + sigma_w * np.outer(_f(e_in[b]), _f(e_out[b]))
        want = x[b] @ weights + mu_b + sigma_b * _f(e_out[b])
        np.testing.assert_allclose(got[b], want, rtol=1e-5, atol=1e-5)
    # A time axis holds each row's draws over its steps; no noise gives the means alone.
    seq = noisy_output(np.stack([x, 2 * x], 1), mu_w, mu_b, sigma_w, sigma_b, e_in,
                       e_out.astype(np.float32))  # fmt: skip
    np.testing.assert_allclose(seq[:, 0], got, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(noisy_output(x, mu_w, mu_b, sigma_w, sigma_b), x @ mu_w + mu_b,
                               rtol=1e-5, atol=1e-5)  # fmt: skip


def test_initialisation_as_in_the_paper_and_bad_options_refused_by_name():
    layer = NoisyDense(64, sigma_zero=0.5)
    layer.build((None, 16))
    assert np.abs(layer.mu_kernel.numpy()).max() <= 1 / 4 and layer.mu_kernel.numpy().std() > 0.1
    np.testing.assert_allclose(layer.sigma_kernel.numpy(), 0.5 / 4)
    np.testing.assert_allclose(layer.sigma_bias.numpy(), 0.5 / 4)
    bad = [("sigma_zero", 0.0), ("sigma_zero", -1.0), ("sample_freq", 0), ("units", 0)]
    for field, value in bad:
        with pytest.raises(ValueError, match=f"NoisyDense: `{field}`"):
            NoisyDense(**{"units": 4, field: value})
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    with pytest.raises(ValueError, match="needs hidden layers"):
        sac_actor(env, hidden=(), noisy="hidden")


def test_a_noisy_dense_normal_head_moves_its_location_by_the_draws_and_saves():
    head = rf.DenseNormal(2, output_bounds=[-2.0, 2.0], hard_bounds=True, noisy=True,
                          noisy_sample_freq=-1, noisy_sigma_zero=0.3, name="move")  # fmt: skip
    inputs = keras.Input((6,))
    model = keras.Model(inputs, head(inputs))
    (layer,) = noisy_layers(model)
    assert layer.name == "move_loc" and layer.sample_freq == -1
    np.testing.assert_allclose(layer.sigma_bias.numpy(), 0.3 / np.sqrt(6))
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    means = model(x).mode().numpy()
    want = np.tanh(x @ layer.mu_kernel.numpy() + layer.mu_bias.numpy()) * 2.0
    np.testing.assert_allclose(means, want, rtol=1e-5, atol=1e-6)
    with sampled_noise(model, 3, tf.constant([4, 5])):
        moved = model(x).mode().numpy()
    assert np.all(np.abs(moved - means) > 1e-4) and np.all(np.abs(moved) <= 2.0)
    again = keras.Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    assert [x.name for x in noisy_layers(again)] == ["move_loc"]
    np.testing.assert_allclose(again(x).mode(), means, rtol=1e-6)
    with pytest.raises(ValueError, match="DenseNormal: `noisy_sigma_zero`"):
        rf.DenseNormal(2, noisy=True, noisy_sigma_zero=0.0)
    with pytest.raises(ValueError, match="DenseNormal: `sde=True` and `noisy=True`"):
        rf.DenseNormal(2, noisy=True, sde=True)


@pytest.mark.parametrize(
    "noisy, names",
    [("head", ["action_loc"]), ("hidden", ["actor_0"]), ("all", ["actor_0", "action_loc"])],
)
def test_sac_actor_makes_the_layers_it_is_asked_to_noisy(noisy, names):
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    model = sac_actor(env, hidden=(8,), noisy=noisy)
    assert [layer.name for layer in noisy_layers(model)] == names
    assert [x.name for x in noisy_layers(sac_actor(env, hidden=(), noisy=True))] == ["action_loc"]
    with pytest.raises(ValueError, match="sac_actor: `noisy` must be False, True"):
        sac_actor(env, noisy="heads")
    with pytest.raises(ValueError, match="sac_actor: noisy heads and `sde=True`"):
        sac_actor(env, noisy="head", sde=True)
    with pytest.raises(ValueError, match="NoisyDense: `sigma_zero`"):
        sac_actor(env, noisy="hidden", noisy_sigma_zero=-1.0)


def _policy(freq, noise=True):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    model = sac_actor(env, hidden=(8, 8), noisy=True, noisy_sample_freq=freq)
    policy = rf.KerasPolicy(model, deterministic=True, noise=noise)
    timestep = tf.nest.map_structure(tf.convert_to_tensor, env.spec.example_timestep())
    policy.build(timestep)
    return policy, model, timestep


@pytest.mark.parametrize("freq, redraws", [(1, [1, 2, 3, 4]), (3, [3]), (-1, [])])
def test_noise_is_redrawn_on_the_layer_schedule(freq, redraws):
    policy, model, timestep = _policy(freq)
    assert [layer.name for layer in noisy_layers(model)] == ["actor_0", "actor_1", "action_loc"]
    state = policy.initial_state(2)
    draws, actions = [], []
    for t in range(5):
        step = policy.step(timestep, state, tf.constant([0, t]))
        state = step.state
        draws.append(state[NOISY_KEY]["noise"]["actor_0"]["in"].numpy())
        actions.append(step.action.numpy())
    changed = [t for t in range(1, 5) if not np.array_equal(draws[t], draws[t - 1])]
    assert changed == redraws
    assert not np.array_equal(draws[0][0], draws[0][1])  # one draw per environment
    # The means alone: a policy without noise acts with the model as called plainly.
    plain, _, _ = _policy(freq, noise=False)
    assert NOISY_KEY not in plain.initial_state(2)
    mean_action = plain.step(timestep, plain.initial_state(2), tf.constant([0, 0])).action
    np.testing.assert_allclose(mean_action, model(timestep.observation).mode(), rtol=1e-6)
    assert not np.allclose(actions[0], mean_action)


def test_an_episode_start_redraws_the_noise_in_the_driver():
    policy, _, _ = _policy(-1)
    env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    driver = rf.Driver(policy, env, seed=3)

    def draws_before(vector_steps):
        """The draws of the last step taken, read from the state the next run starts with."""
        state = driver.run(steps=2 * vector_steps).policy_state
        return state[NOISY_KEY]["noise"]["actor_0"]["in"].numpy()

    driver.run(steps=2)  # timestep 0
    first = draws_before(199)  # timestep 0's draws; the run takes timesteps 1 to 199
    held = draws_before(2)  # timestep 199's, the last of Pendulum's 200-step episodes
    np.testing.assert_array_equal(first, held)
    # Timestep 200 is the final observation (its action is ignored); 201 starts new episodes.
    after = draws_before(1)
    assert not np.array_equal(held[0], after[0]) and not np.array_equal(held[1], after[1])


def _td3(**changes):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    config = TD3Config(hidden=(16,), batch_size=16, warmup_steps=32, steps_per_iteration=16,
                       exploration="none", seed=0, **changes)  # fmt: skip
    return TD3Agent(sac_actor(env, hidden=(16,), noisy=True), env, config)


def test_td3_learns_the_noise_scales_and_evaluates_with_the_means(tmp_path):
    agent = _td3(policy_delay=1)
    sigma = [layer.sigma_kernel.numpy() for layer in noisy_layers(agent.model)]
    agent.fit(96)
    moved = [not np.allclose(s, layer.sigma_kernel.numpy())
             for s, layer in zip(sigma, noisy_layers(agent.model), strict=True)]  # fmt: skip
    assert all(moved)  # the actor's loss sees per-row noise, so σ has gradients

    observation = np.array([1.0, 0.0, 0.5], np.float32)
    action, _ = agent.predict(observation)
    np.testing.assert_allclose(action, agent.model(observation[None]).mode()[0], rtol=1e-6)
    agent.save(tmp_path / "agent")
    again, _ = Agent.load(tmp_path / "agent").predict(observation)
    np.testing.assert_allclose(again, action)

    with sampled_noise(agent.model, 4, tf.constant([1, 2])):
        noisy = agent.model(np.tile(observation, (4, 1))).mode().numpy()
    assert len(np.unique(noisy.round(6))) == 4  # one draw per row


def test_scales_held_fixed_stay_at_their_initial_value_while_the_means_learn():
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    model = sac_actor(env, hidden=(16,), noisy=True, noisy_learn_sigma=False)
    layers = noisy_layers(model)
    assert [layer.name for layer in layers] == ["actor_0", "action_loc"]
    config = TD3Config(hidden=(16,), batch_size=16, warmup_steps=32, steps_per_iteration=16,
                       exploration="none", policy_delay=1, seed=0)  # fmt: skip
    agent = TD3Agent(model, env, config)
    before = [(layer.sigma_kernel.numpy(), layer.mu_kernel.numpy()) for layer in layers]
    agent.fit(96)
    for (sigma, mu), layer in zip(before, noisy_layers(agent.model), strict=True):
        np.testing.assert_array_equal(layer.sigma_kernel.numpy(), sigma)
        assert not np.allclose(layer.mu_kernel.numpy(), mu)
    again = keras.Model.from_config(agent.model.get_config())
    assert not any(layer.learn_sigma for layer in noisy_layers(again))
    with pytest.raises(ValueError, match="NoisyDense: `learn_sigma`"):
        NoisyDense(4, learn_sigma="no")


def test_an_actor_in_another_process_draws_the_same_noise():
    agent = _td3()
    agent.fit(64)
    job = _job(agent, "Pendulum-v1", 2)
    expected = collect(agent.policy, job)
    (received,) = run_in_a_fresh_process([job])
    assert_same_trajectory(expected, received)
    assert NOISY_KEY in expected.policy_state


def test_ppo_refuses_noisy_layers_by_name():
    env = rf.GymEnv("CartPole-v1", 2, seed=0)
    inputs = keras.Input((4,))
    x = NoisyDense(8, activation="relu")(inputs)
    model = keras.Model(
        inputs,
        {
            "action": rf.DenseCategorical(2)(x),
            "value": keras.layers.Reshape(())(keras.layers.Dense(1)(x)),
        },
    )
    with pytest.raises(ValueError, match="RecurrentPPOAgent: the model has NoisyDense layers"):
        rf.agents.RecurrentPPOAgent(model, env)


def test_noisy_heads_after_a_recurrent_layer_act_learn_and_evaluate_with_the_means():
    """Recurrent SAC with noisy layers after its GRU: acting keeps each environment's draws in
    the policy state beside the GRU's, the learner learns the scales over sequences, and the
    deterministic evaluation policy acts with the means."""
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/PendulumNoVel-v1", 2, seed=0)
    model = sac_actor(env, hidden=(8,), recurrent="gru", units=8, embedding=8, noisy=True,
                      noisy_sample_freq=-1)  # fmt: skip
    assert [layer.name for layer in noisy_layers(model)] == ["actor_0", "action_loc"]
    config = rf.agents.RecurrentSACConfig(batch_size=4, sequence_length=4, burn_in=1, overlap=2,
                                          units=8, embedding=8, hidden=(8,), warmup_steps=16,
                                          steps_per_iteration=8, seed=0)  # fmt: skip
    agent = rf.agents.RecurrentSACAgent(model, env, config)
    sigma = [layer.sigma_kernel.numpy() for layer in noisy_layers(agent.model)]
    history = agent.fit(64)
    assert np.isfinite(history[-1]["losses/actor_loss"])
    assert all(not np.allclose(s, layer.sigma_kernel.numpy())
               for s, layer in zip(sigma, noisy_layers(agent.model), strict=True))  # fmt: skip
    state = agent.policy.initial_state(2)
    assert set(state) == {"actor_rnn", NOISY_KEY}  # the GRU's state beside the draws
    timestep = tf.nest.map_structure(tf.convert_to_tensor, env.spec.example_timestep())
    evaluation = agent.eval_policy
    assert NOISY_KEY not in evaluation.initial_state(1)
    first = evaluation.step(timestep, evaluation.initial_state(1), tf.constant([0, 1])).action
    again = evaluation.step(timestep, evaluation.initial_state(1), tf.constant([5, 9])).action
    np.testing.assert_allclose(first, again)  # the means: no noise, whatever the seed
