import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.driver import Driver, EpisodeStatistics, KerasPolicy, RandomPolicy
from reinforceable.envs import EnvError, GymEnv
from tests.envs.helpers import FailingEnv, MalformedEnv, NestedEnv


def recurrent_cartpole_policy(units=8):
    """A GRU policy with a time axis (functional), a categorical head and a value head."""
    observation = keras.Input((None, 4), name="observation")
    start = keras.Input((None,), dtype="bool", name="episode_start")
    x = keras.layers.Dense(16, activation="tanh")(observation)
    rnn = rf.StatefulRNN("gru", units, name="stateful_rnn")
    state = rnn.state_inputs()
    x, final = rnn(x, reset_mask=start, initial_state=state, return_state=True)
    return keras.Model(
        {"observation": observation, "episode_start": start, "state": {"stateful_rnn": state}},
        {
            "action": rf.DenseCategorical(2, kernel_initializer="glorot_uniform")(x),
            "value": keras.ops.squeeze(keras.layers.Dense(1)(x), -1),
            "state": {"stateful_rnn": list(final)},
        },
    )


def numpy_trajectory(trajectory):
    return tf.nest.map_structure(lambda t: t.numpy(), trajectory)


def test_trajectory_is_time_major_with_extras_and_states():
    env = GymEnv("CartPole-v1", 4, seed=0)
    driver = Driver(recurrent_cartpole_policy(), env, seed=0)
    trajectory = driver.run(steps=4 * 25)
    assert trajectory.observation.shape == (25, 4, 4)
    for field in ("episode_start", "action", "reward", "terminated", "truncated", "valid"):
        assert getattr(trajectory, field).shape == (25, 4), field
    assert set(trajectory.extras) == {"log_prob", "value"}
    assert trajectory.extras["value"].shape == (25, 4)
    assert trajectory.policy_state["stateful_rnn"][0].shape == (4, 8)
    assert trajectory.next_timestep.observation.shape == (4, 4)
    assert np.all(trajectory.episode_start.numpy()[0])  # the first chunk starts every episode
    # A row is invalid exactly when the previous one ended its episode.
    ended = (trajectory.terminated | trajectory.truncated).numpy()
    np.testing.assert_array_equal(trajectory.valid.numpy()[1:], ~ended[:-1])


def test_consecutive_runs_continue_the_same_episodes():
    driver = Driver(recurrent_cartpole_policy(), GymEnv("CartPole-v1", 3, seed=1), seed=1)
    first = numpy_trajectory(driver.run(steps=3 * 10))
    second = numpy_trajectory(driver.run(steps=3 * 10))
    np.testing.assert_array_equal(second.observation[0], first.next_timestep.observation)
    np.testing.assert_array_equal(second.episode_start[0], first.next_timestep.episode_start)
    np.testing.assert_array_equal(
        second.policy_state["stateful_rnn"][0], first.next_policy_state["stateful_rnn"][0]
    )
    ended = first.terminated[-1] | first.truncated[-1]
    np.testing.assert_array_equal(second.valid[0], ~ended)


def replay_episodes(trajectory, env_id, seed, **make_kwargs):
    """(finish step, env, return, length) of every episode, from plain gymnasium envs."""
    finished = []
    steps, num_envs = trajectory.reward.shape
    for i in range(num_envs):
        plain = gym.make(env_id, **make_kwargs)
        plain.reset(seed=seed + i)
        total, length = 0.0, 0
        for t in range(steps):
            if not trajectory.valid[t, i]:
                plain.reset()  # the step that crosses a reset: the action is ignored
                continue
            _, reward, terminated, truncated, _ = plain.step(int(trajectory.action[t, i]))
            assert reward == pytest.approx(trajectory.reward[t, i])
            total, length = total + reward, length + 1
            if terminated or truncated:
                finished.append((t, i, total, length))
                total, length = 0.0, 0
    return sorted(finished)


def test_observers_match_a_plain_gymnasium_loop_with_the_same_seed_and_actions():
    env = GymEnv("CartPole-v1", 4, seed=7, max_episode_steps=25)
    statistics = EpisodeStatistics(window=1000)
    driver = Driver(RandomPolicy(env.action_space, 4), env, observers=[statistics], seed=7)
    trajectory = numpy_trajectory(driver.run(steps=4 * 150))
    expected = replay_episodes(trajectory, "CartPole-v1", seed=7, max_episode_steps=25)
    recorded = statistics.values().numpy()
    assert len(expected) == len(recorded) > 20
    np.testing.assert_allclose(recorded[:, 0], [e[2] for e in expected])
    np.testing.assert_allclose(recorded[:, 1], [e[3] for e in expected])
    metrics = driver.metrics()
    assert metrics["episodes"] == len(expected)
    assert metrics["env_steps"] == 4 * 150
    assert metrics["episode_return"] == pytest.approx(np.mean([e[2] for e in expected]))
    assert metrics["env_steps_per_second"] > 0


def test_the_recurrent_state_resets_exactly_at_episode_starts():
    model = recurrent_cartpole_policy()
    env = GymEnv("CartPole-v1", 3, seed=2, max_episode_steps=9)
    driver = Driver(model, env, seed=2)
    driver.run(steps=3 * 5)  # start mid-episode, with a non-zero state
    trajectory = driver.run(steps=3 * 30)
    starts = trajectory.episode_start.numpy()
    assert starts[1:].any() and not starts[0].all()
    # Replaying the chunk from its recorded initial state, resetting only where episodes start,
    # reproduces every value the Driver recorded.
    inputs = {
        "observation": tf.transpose(trajectory.observation, [1, 0, 2]),
        "episode_start": tf.transpose(trajectory.episode_start),
    }
    values = model({**inputs, "state": trajectory.policy_state})["value"]
    np.testing.assert_allclose(tf.transpose(values), trajectory.extras["value"], atol=1e-5)
    # Without the resets the values differ after each episode start: the resets matter.
    no_reset = model(
        {
            **inputs,
            "episode_start": tf.zeros_like(inputs["episode_start"]),
            "state": trajectory.policy_state,
        }
    )
    assert not np.allclose(tf.transpose(no_reset["value"]), trajectory.extras["value"], atol=1e-5)


def test_sync_and_async_drivers_give_identical_trajectories():
    runs = []
    for asynchronous in (False, True):
        keras.utils.set_random_seed(0)
        env = GymEnv("CartPole-v1", 3, seed=4, asynchronous=asynchronous, max_episode_steps=20)
        driver = Driver(recurrent_cartpole_policy(), env, seed=4)
        runs.append(numpy_trajectory(driver.run(steps=3 * 40)))
        driver.close()
    for a, b in zip(tf.nest.flatten(runs[0]), tf.nest.flatten(runs[1]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_run_eagerly_gives_the_same_trajectory_as_the_graph():
    runs = []
    for eager in (False, True):
        keras.utils.set_random_seed(0)
        env = GymEnv("CartPole-v1", 2, seed=6)
        driver = Driver(recurrent_cartpole_policy(), env, seed=6, run_eagerly=eager)
        runs.append(numpy_trajectory(driver.run(steps=2 * 15)))
    for a, b in zip(tf.nest.flatten(runs[0]), tf.nest.flatten(runs[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_episodes_mode_stops_once_enough_episodes_finished():
    env = GymEnv("CartPole-v1", 2, seed=0, max_episode_steps=10)
    driver = Driver(RandomPolicy(env.action_space, 2), env, seed=0)
    trajectory = driver.run(episodes=5)
    ended = (trajectory.terminated | trajectory.truncated).numpy()
    assert ended.sum() >= 5 and ended[:-1].sum() < 5  # the last step reached the count
    assert driver.metrics()["episodes"] == ended.sum()
    both = driver.run(steps=2 * 3, episodes=1000)
    assert both.reward.shape == (3, 2)


def test_episodes_per_env_waits_for_every_environment():
    # Episodes of different lengths: the run ends when the slowest environment finishes one.
    env = GymEnv("CartPole-v1", 4, seed=1)
    driver = Driver(RandomPolicy(env.action_space, 4), env, seed=0)
    driver.reset(seed=1)
    trajectory = driver.run(episodes_per_env=1)
    ended = (trajectory.terminated | trajectory.truncated).numpy()
    assert np.all(ended.sum(0) >= 1)  # every environment finished an episode ...
    assert ended[:-1].sum(0).min() == 0  # ... and one finished its first on the last step
    assert len(set(ended.argmax(0))) > 1  # the episodes had different lengths
    with pytest.raises(ValueError, match="`episodes_per_env` must be a positive int"):
        driver.run(episodes_per_env=0)


def test_hybrid_actions_on_mixed_action_2d():
    observation = keras.Input((4,))
    x = keras.layers.Dense(16, activation="relu")(observation)
    policy = keras.Model(
        observation,
        {
            "axis": rf.DenseCategorical(2)(x),
            "move": rf.DenseNormal((1,), output_bounds=[-1.0, 1.0], hard_bounds=True)(x),
            "done": rf.DenseBernoulli(())(x),
        },
    )
    env = GymEnv("reinforceable/MixedAction2D-v0", 4, seed=0)
    trajectory = Driver(policy, env, seed=0).run(steps=4 * 30)
    assert trajectory.action["move"].shape == (30, 4, 1)
    assert trajectory.action["axis"].dtype == tf.int32
    assert np.all(np.abs(trajectory.action["move"].numpy()) <= 1.0)
    assert trajectory.terminated.numpy().any()  # "done" ends episodes


def test_nested_observations_with_an_action_mask_and_tuple_actions():
    position = keras.Input((2,), name="position")
    mask = keras.Input((3,), dtype="int32", name="action_mask")
    x = keras.layers.Dense(8, activation="relu")(position)
    policy = keras.Model(
        {"position": position, "action_mask": mask},
        (rf.DenseCategorical(3)(x, action_mask=mask), rf.DenseNormal((2,))(x)),
    )
    env = GymEnv([lambda: NestedEnv(length=4)] * 3, seed=0)
    # NestedEnv raises on a masked action, so this run also proves masks are respected.
    trajectory = Driver(policy, env, seed=0).run(steps=3 * 40)
    chosen = trajectory.action[0].numpy()
    allowed = trajectory.observation["action_mask"].numpy()
    assert np.all(np.take_along_axis(allowed, chosen[..., None], -1) == 1)


def test_deterministic_policies_act_with_the_mode():
    observation = keras.Input((4,))
    model = keras.Model(observation, rf.DenseCategorical(2, kernel_initializer="ones")(observation))
    env = GymEnv("CartPole-v1", 2, seed=0)
    trajectory = Driver(KerasPolicy(model, deterministic=True), env, seed=0).run(steps=2 * 20)
    logits = model(tf.reshape(trajectory.observation, [-1, 4])).logits_parameter()
    np.testing.assert_array_equal(
        tf.reshape(trajectory.action, [-1]), tf.argmax(logits, -1, output_type=tf.int32)
    )


def test_xla_policy_step_runs_when_asked():
    env = GymEnv("CartPole-v1", 2, seed=0)
    driver = Driver(recurrent_cartpole_policy(), env, seed=0, jit_compile=True)
    assert driver.run(steps=2 * 5).reward.shape == (5, 2)


def wrong_policy(kind):
    observation = keras.Input((4,))
    x = keras.layers.Dense(4)(observation)
    heads = {
        "structure": {"a": rf.DenseCategorical(2)(x)},
        "shape": rf.DenseCategorical((3, 2))(x),
        "dtype": rf.DenseNormal(())(x),
    }
    return keras.Model(observation, heads[kind])


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("structure", "different structure"),
        ("shape", "shape of the action"),
        ("dtype", "dtype of the action"),
    ],
)
def test_a_policy_whose_action_does_not_fit_raises_at_construction(kind, reason):
    env = GymEnv("CartPole-v1", 2, seed=0)
    with pytest.raises(ValueError, match=reason) as info:
        Driver(wrong_policy(kind), env)
    message = str(info.value)
    assert "Expected (structure, shape, dtype):" in message and "int32[2]" in message
    assert "Received:" in message


def test_bad_arguments_raise_clear_errors():
    env = GymEnv("CartPole-v1", 2, seed=0)
    policy = RandomPolicy(env.action_space, 2)
    with pytest.raises(TypeError, match=r"`env` must be a reinforceable\.envs\.Environment"):
        Driver(policy, gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="`policy` must be a reinforceable Policy"):
        Driver(lambda x: x, env)
    with pytest.raises(ValueError, match="observers must have distinct names"):
        Driver(policy, env, observers=[EpisodeStatistics(), EpisodeStatistics()])
    driver = Driver(policy, env)
    with pytest.raises(ValueError, match=r"must be a multiple of 2; received 5\."):
        driver.run(steps=5)
    with pytest.raises(ValueError, match="give `steps`, `episodes` or `episodes_per_env`"):
        driver.run()
    with pytest.raises(ValueError, match="`episodes` must be a positive int"):
        driver.run(episodes=0)


def test_a_model_input_the_environment_cannot_provide_is_named():
    observation = keras.Input((4,), name="observation")
    extra = keras.Input((2,), name="goal")
    model = keras.Model(
        {"observation": observation, "goal": extra}, rf.DenseCategorical(2)(observation)
    )
    with pytest.raises(ValueError, match=r"input named 'goal'.*available inputs"):
        Driver(model, GymEnv("CartPole-v1", 2, seed=0))


def test_an_environment_error_inside_the_graph_is_re_raised_with_its_index():
    env = GymEnv([lambda: FailingEnv(), lambda: FailingEnv(fail_at=3)], seed=0)
    driver = Driver(RandomPolicy(env.action_space, 2), env, seed=0)
    with pytest.raises(EnvError, match="environment 1 raised ValueError in step") as info:
        driver.run(steps=2 * 10)
    assert "the simulator diverged" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert not isinstance(info.value.__context__, EnvError)
    assert env.closed


def test_a_second_run_after_an_environment_error_says_the_environment_is_closed():
    env = GymEnv([lambda: FailingEnv(), lambda: FailingEnv(fail_at=3)], seed=0)
    driver = Driver(RandomPolicy(env.action_space, 2), env, seed=0)
    with pytest.raises(EnvError):
        driver.run(steps=2 * 10)
    with pytest.raises(RuntimeError, match="GymEnv: the environment is closed"):
        driver.run(steps=2 * 10)


@pytest.mark.parametrize(
    "fault, error, message",
    [
        ("shape", EnvError, r"environment 1 returned a malformed observation at step 2 "
                            r".*observation: expected shape \(2,\)"),
        ("nan_observation", rf.envs.NonFiniteError,
         "environment 1 returned a non-finite observation at step 2"),
    ],
)  # fmt: skip
def test_malformed_environment_output_inside_the_graph_names_the_env(fault, error, message):
    env = GymEnv([lambda: MalformedEnv(), lambda: MalformedEnv(fault, at=2)], seed=0)
    driver = Driver(RandomPolicy(env.action_space, 2), env, seed=0)
    with pytest.raises(error, match=message):
        driver.run(steps=2 * 10)


def head_policy(head, observation_size=4):
    observation = keras.Input((observation_size,))
    return keras.Model(observation, head(keras.layers.Dense(4)(observation)))


@pytest.mark.parametrize(
    "env_id, head, message",
    [
        ("CartPole-v1", lambda: rf.DenseCategorical(3), r"emits 3 classes.*Discrete\(2\)"),
        ("Pendulum-v1", lambda: rf.DenseNormal(1, [-3.0, 3.0], hard_bounds=True),
         r"values in \[-3, 3\].*Box\(low=\[-2.0\], high=\[2.0\]\)"),
    ],
)  # fmt: skip
def test_a_head_whose_values_do_not_fit_the_space_is_refused(env_id, head, message):
    env = GymEnv(env_id, 2, seed=0)
    size = env.observation_spec.shape[0]
    with pytest.raises(ValueError, match=message):
        Driver(head_policy(head(), size), env)
    # Heads that fit, and unbounded heads (actions are clipped to the Box), are accepted.
    fits = {"CartPole-v1": lambda: rf.DenseCategorical(2),
            "Pendulum-v1": lambda: rf.DenseNormal(1, [-2.0, 2.0], hard_bounds=True)}  # fmt: skip
    Driver(head_policy(fits[env_id](), size), env)
    if env_id == "Pendulum-v1":
        Driver(head_policy(rf.DenseNormal(1), size), env)


@pytest.mark.filterwarnings("ignore:.*(Worker-1|Traceback|last exception).*:UserWarning")
def test_an_async_environment_error_closes_the_workers():
    env = GymEnv([lambda: FailingEnv(), lambda: FailingEnv(fail_at=2)], asynchronous=True, seed=0)
    processes = list(env._env.processes)
    driver = Driver(RandomPolicy(env.action_space, 2), env, seed=0)
    with pytest.raises(EnvError, match="environment 1 raised ValueError"):
        driver.run(steps=2 * 10)
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()


def test_env_steps_per_second_agrees_with_the_wall_clock():
    import time

    env = GymEnv("CartPole-v1", 4, seed=0)
    driver = Driver(recurrent_cartpole_policy(), env, seed=0)
    driver.run(steps=4 * 10)  # tracing
    start = time.perf_counter()
    driver.run(steps=4 * 400)
    wall = 4 * 400 / (time.perf_counter() - start)
    measured = driver.metrics()["env_steps_per_second"]
    # In-graph timing excludes the call overhead, so it may be a little higher, never wildly.
    assert wall * 0.8 < measured < wall * 2.0
