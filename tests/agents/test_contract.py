"""The agent contract: save and load without an environment, spec checks, acting states that
do not fit, predict, recorded against replayed PPO states, user critics, and the Trainer."""

import pickle

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import (
    Agent,
    ARSAgent,
    ARSConfig,
    PPOConfig,
    RecurrentPPOAgent,
    SACAgent,
    SACConfig,
)
from reinforceable.networks import actor_critic, sac_actor

NOVEL = "reinforceable/CartPoleNoVel-v1"
SMALL = PPOConfig(num_steps=16, batch_size=32, num_epochs=2, normalize_observations=True, seed=0)


def _recurrent_ppo(env, config=SMALL):
    keras.utils.set_random_seed(0)
    return RecurrentPPOAgent(actor_critic(env, hidden=(8,), recurrent="gru", units=8), env, config)


def _eval_actions(policy, env_id, steps=12):
    env = rf.GymEnv(env_id, 2, seed=3)
    trajectory = rf.Driver(policy, env, seed=0).run(steps=2 * steps)
    env.close()
    return trajectory


def test_a_saved_agent_loads_without_an_environment_and_acts_the_same(tmp_path):
    env = rf.GymEnv(NOVEL, 4, seed=0)
    agent = _recurrent_ppo(env)
    agent.fit(3 * agent.rollout_steps, seed=0)
    agent.save(tmp_path / "agent")
    loaded = Agent.load(tmp_path / "agent")  # any agent type, no environment
    assert type(loaded) is RecurrentPPOAgent and loaded.env is None
    assert loaded.spec == agent.spec and loaded.config == agent.config
    assert int(loaded.iterations.numpy()) == 3
    expected = _eval_actions(agent.eval_policy, NOVEL)
    received = _eval_actions(loaded.eval_policy, NOVEL)
    np.testing.assert_array_equal(received.action, expected.action)
    np.testing.assert_array_equal(received.extras["value"], expected.extras["value"])
    # The observation statistics came back too: the acting states are equal, version included.
    for key, value in agent.acting_state().items():
        np.testing.assert_array_equal(loaded.acting_state()[key], value, err_msg=key)
    again = RecurrentPPOAgent.load(tmp_path / "agent", rf.GymEnv(NOVEL, 1, seed=0))
    assert again.env.num_envs == 1  # an env with other counts but the same spaces is fine


def test_save_writes_extra_files_with_the_agent_and_refuses_its_own_names(tmp_path):
    """`files` go in with the same replacement (a stale one is replaced, the user's other files
    stay), and a name that a save itself writes, or a path, is refused before anything moves."""
    env = rf.GymEnv("CartPole-v1", 2, seed=0)
    agent = _recurrent_ppo(env)
    path = tmp_path / "agent"
    agent.save(path, files={"score.json": "1"})
    (path / "notes.txt").write_text("mine")
    agent.save(path, files={"score.json": "2"})
    assert (path / "score.json").read_text() == "2" and (path / "notes.txt").read_text() == "mine"
    for name in ("agent.json", "policy.keras", "../outside.txt"):
        with pytest.raises(ValueError, match="`files` names plain files"):
            agent.save(path, files={name: "x"})
    assert (path / "score.json").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent"]  # no temporary left behind


def test_load_refuses_an_env_with_other_spaces_and_an_agent_of_another_type(tmp_path):
    env = rf.GymEnv(NOVEL, 4, seed=0)
    _recurrent_ppo(env).save(tmp_path / "agent")
    with pytest.raises(ValueError, match=r"(?s)spaces of `env` differ.*observation_space: Box"):
        RecurrentPPOAgent.load(tmp_path / "agent", rf.GymEnv("CartPole-v1", 1))
    with pytest.raises(ValueError, match=r"action_space: Discrete\(2\) != Box"):
        RecurrentPPOAgent.load(tmp_path / "agent", rf.GymEnv("MountainCarContinuous-v0", 1))
    with pytest.raises(ValueError, match="holds a RecurrentPPOAgent, not a SACAgent"):
        SACAgent.load(tmp_path / "agent")
    with pytest.raises(FileNotFoundError, match=r"agent\.json is missing"):
        Agent.load(tmp_path / "nothing")


def test_acting_states_that_do_not_fit_are_refused_with_the_path():
    env = rf.GymEnv("CartPole-v1", 2, seed=0)
    ppo = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, SMALL)
    ars_env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    ars = ARSAgent(ars_env, ARSConfig(num_directions=1))
    with pytest.raises(ValueError, match=r"at \['agent'\] must be 'RecurrentPPOAgent'; received "
                       r"'ARSAgent'"):  # fmt: skip
        ppo.actor.update(ars.acting_state())
    state = ppo.acting_state()
    key = next(k for k in state if k.endswith("kernel"))
    with pytest.raises(ValueError, match=rf"missing paths \['{key}'\]"):
        ppo.actor.update({k: v for k, v in state.items() if k != key})
    with pytest.raises(ValueError, match=rf"at \['{key}'\] must be float32\[4, 8\]; received "
                       r"float32\[4, 9\]"):  # fmt: skip
        ppo.actor.update({**state, key: np.zeros([4, 9], np.float32)})
    with pytest.raises(ValueError, match="must be a dict of NumPy arrays"):
        ppo.actor.update([1, 2])


def test_blueprints_pickle_and_build_an_actor_of_fresh_weights():
    env = rf.GymEnv(NOVEL, 4, seed=0)
    agent = _recurrent_ppo(env)
    blueprint = pickle.loads(pickle.dumps(agent.blueprint()))
    actor = blueprint.build()
    assert actor.policy is not agent.policy and actor.model is not agent.model
    actor.update(agent.acting_state())
    np.testing.assert_array_equal(
        _eval_actions(actor.eval_policy, NOVEL).action,
        _eval_actions(agent.eval_policy, NOVEL).action,
    )


def test_predict_follows_the_recurrent_state_like_the_driver():
    """Step by step, with the state and episode starts it returns, `predict` takes the actions
    that the Driver's deterministic policy took on the same observations."""
    env = rf.GymEnv(NOVEL, 2, seed=0)
    agent = _recurrent_ppo(env)
    agent.fit(2 * agent.rollout_steps, seed=0)
    trajectory = _eval_actions(agent.eval_policy, NOVEL, steps=40)
    assert trajectory.episode_start.numpy()[1:].any()  # an episode starts inside
    state = None
    for t in range(40):
        action, state = agent.predict(
            trajectory.observation.numpy()[t],
            state,
            episode_start=trajectory.episode_start.numpy()[t],
        )
        np.testing.assert_array_equal(action, trajectory.action.numpy()[t], err_msg=f"step {t}")
    single, single_state = agent.predict(trajectory.observation.numpy()[0, 0])
    assert np.ndim(single) == 0 and single_state["actor_rnn"][0].shape == (1, 8)


def test_predict_gives_the_action_in_the_env_format_and_refuses_wrong_shapes():
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    agent = SACAgent(sac_actor(env, hidden=(8,)), env, SACConfig(hidden=(8,), seed=0))
    action, state = agent.predict(np.zeros(3))
    assert action.shape == (1,) and action.dtype == np.float32 and state == {}
    assert np.all(np.abs(action) <= 2.0)
    actions, _ = agent.predict(np.zeros((5, 3)), deterministic=False)
    assert actions.shape == (5, 1)
    with pytest.raises(ValueError, match=r"must have shape \(3,\) \(one observation\) or "
                       r"\[batch, \*\(3,\)\] \(a batch\); received shape \(4,\)"):  # fmt: skip
        agent.predict(np.zeros(4))
    with pytest.raises(ValueError, match="structure of the observation space"):
        agent.predict({"x": np.zeros(3)})


def test_agents_refuse_spaces_they_cannot_handle_naming_the_part():
    observation = gym.spaces.Box(-1.0, 1.0, (3,))
    action = gym.spaces.Dict({"go": gym.spaces.Discrete(2), "flags": gym.spaces.MultiBinary(2)})
    spec = rf.EnvSpec(observation, action, num_envs=1)
    inputs = keras.Input((3,))
    heads = {"go": rf.DenseCategorical(2)(inputs), "flags": rf.DenseBernoulli(2)(inputs)}
    with pytest.raises(ValueError, match=r"action_space\['flags'\] is a MultiBinary"):
        SACAgent(keras.Model(inputs, heads), spec)
    with pytest.raises(ValueError, match="flat Box action space"):
        ARSAgent(spec.replace(num_envs=2), ARSConfig(num_directions=1))


@pytest.mark.parametrize("normalize", [False, True])
def test_ppo_from_recorded_states_matches_the_replay_path_when_synchronous(normalize):
    """Four chunks per rollout: the actor records each chunk's first state, or the learner
    replays the rollout to find it. On a synchronous run both give the same update."""
    env = rf.GymEnv(NOVEL, 4, seed=0)
    base = dict(num_steps=16, batch_size=16, sequence_length=4, num_epochs=2,
                normalize_observations=normalize, seed=0)  # fmt: skip
    recorded = _recurrent_ppo(env, PPOConfig(**base))
    replayed = _recurrent_ppo(env, PPOConfig(**base, replay_initial_states=True))
    assert recorded.collection.sequence_length == 4
    assert replayed.collection.sequence_length is None
    driver = rf.Driver(recorded.policy, env, seed=0, sequence_length=4)
    trajectory = driver.run(recorded.rollout_steps)
    assert trajectory.episode_start.numpy()[1:].any()
    first = recorded.train(trajectory)
    second = replayed.train(trajectory._replace(sequence_states=()))
    np.testing.assert_allclose(first["losses/approx_kl"], second["losses/approx_kl"], atol=1e-7)
    for a, b in zip(recorded.model.weights, replayed.model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_sac_takes_a_critic_of_the_user_and_saves_it(tmp_path):
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    inputs = keras.Input((4,))  # 3 observation features + 1 continuous action
    q = keras.layers.Reshape(())(keras.layers.Dense(1)(keras.layers.Dense(7, "elu")(inputs)))
    critic = keras.Model(inputs, q)
    config = SACConfig(batch_size=8, steps_per_iteration=8, warmup_steps=8, seed=0)
    agent = SACAgent(sac_actor(env, hidden=(8,)), env, config, critic=critic)
    assert [c.layers[1].units for c in agent.critics + agent.target_critics] == [7] * 4
    assert agent.critics[0] is not critic
    history = agent.fit(32, seed=0)
    assert history[-1]["losses/updates"] > 0
    agent.save(tmp_path / "agent")
    loaded = SACAgent.load(tmp_path / "agent")
    np.testing.assert_array_equal(loaded.critics[1].weights[0], agent.critics[1].weights[0])
    wrong = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match=r"`critic` must return Q of shape \[batch\]"):
        SACAgent(sac_actor(env), env, config, critic=wrong)


def test_the_trainer_uses_the_agents_env_or_one_given_and_logs_the_policy_lag():
    spec = rf.GymEnv("CartPole-v1", 2, seed=0).spec
    agent = RecurrentPPOAgent(actor_critic(spec, hidden=(8,)), spec, SMALL)
    with pytest.raises(ValueError, match="needs an environment"):
        agent.fit(64)
    with pytest.raises(ValueError, match="spaces of `env` differ"):
        agent.fit(64, env=rf.GymEnv("Pendulum-v1", 2))
    history = agent.fit(64, env=rf.GymEnv("CartPole-v1", 2, seed=1))
    assert [row["charts/policy_lag"] for row in history] == [0.0, 0.0]
    assert tf.is_tensor(agent.iterations) and int(agent.iterations.numpy()) == 2


def test_predict_refuses_another_agents_state_bad_flags_and_strings_by_name():
    """Each once came out of tf.nest, NumPy broadcasting or a float conversion."""
    env = rf.GymEnv(NOVEL, 2, seed=0)
    gru = _recurrent_ppo(env)
    lstm = RecurrentPPOAgent(actor_critic(env, hidden=(8,), recurrent="lstm", units=16), env, SMALL)
    _, lstm_state = lstm.predict(np.zeros((3, 2)))
    _, gru_state = gru.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"RecurrentPPOAgent.predict: `state` does not fit the "
                       r"policy's state \(at \['actor_rnn'\]: expected list of 1, received list "
                       r"of 2\); pass the state that this agent's `predict` returned"):  # fmt: skip
        gru.predict(np.zeros((3, 2)), lstm_state)
    with pytest.raises(ValueError, match=r"`state`\['actor_rnn'\]\[0\] must have shape \(2, 8\)"):
        gru.predict(np.zeros((2, 2)), gru_state)
    with pytest.raises(ValueError, match=r"`episode_start` must hold one flag per observation "
                       r"\(3\) or a single flag; received 2"):  # fmt: skip
        gru.predict(np.zeros((3, 2)), gru_state, np.zeros(2, bool))
    with pytest.raises(ValueError, match=r"`observation` must hold numbers \(float32 for this "
                       r"space\); received an array of dtype <U1"):  # fmt: skip
        gru.predict(np.array([["a", "b"]] * 3))
    action, _ = gru.predict(np.zeros((3, 2)), gru_state, True)  # one flag for every row is fine
    assert action.shape == (3,)
