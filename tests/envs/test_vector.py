import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from reinforceable.envs import EnvError, GymEnv, Timestep
from tests.envs.helpers import FailingEnv, NestedEnv


def rollout(env: GymEnv, steps: int, seed: int = 0):
    """Random actions from a NumPy generator; returns the timesteps and the actions."""
    rng = np.random.default_rng(seed)
    timesteps, actions = [env.reset()], []
    for _ in range(steps):
        action = rng.integers(0, env.action_space.n, env.num_envs).astype(np.int32)
        actions.append(action)
        timesteps.append(env.step(action))
    return timesteps, actions


def check_against_plain_gymnasium(timesteps, actions, env_id, seed, num_envs, **make_kwargs):
    """Replays each sub-environment in a plain gymnasium env and checks every field.

    Next-step auto-reset: after a terminated or truncated step, the next step ignores the action
    and returns the reset observation with `episode_start` set and reward 0.
    """
    boundaries = 0
    for i in range(num_envs):
        plain = gym.make(env_id, **make_kwargs)
        observation, _ = plain.reset(seed=seed + i)
        np.testing.assert_allclose(timesteps[0].observation[i], observation, rtol=1e-6)
        assert timesteps[0].episode_start[i]
        for t, action in enumerate(actions):
            now, after = timesteps[t], timesteps[t + 1]
            if now.terminated[i] or now.truncated[i]:
                boundaries += 1
                observation, _ = plain.reset()
                assert after.episode_start[i] and after.reward[i] == 0.0
                assert not after.terminated[i] and not after.truncated[i]
            else:
                observation, reward, terminated, truncated, _ = plain.step(int(action[i]))
                assert not after.episode_start[i]
                assert after.reward[i] == pytest.approx(reward)
                assert after.terminated[i] == terminated and after.truncated[i] == truncated
            np.testing.assert_allclose(after.observation[i], observation, rtol=1e-6)
    return boundaries


def test_auto_reset_matches_plain_gymnasium_at_every_boundary():
    # A short time limit mixes truncations with CartPole's terminations.
    env = GymEnv("CartPole-v1", 4, seed=3, max_episode_steps=12)
    timesteps, actions = rollout(env, 120)
    flags = np.array([[t.terminated, t.truncated] for t in timesteps])
    assert flags[:, 0].any() and flags[:, 1].any()  # both kinds of boundary occur
    boundaries = check_against_plain_gymnasium(
        timesteps, actions, "CartPole-v1", seed=3, num_envs=4, max_episode_steps=12
    )
    assert boundaries >= 20


def test_the_final_observation_at_truncation_is_the_observation_of_that_step():
    env = GymEnv("CartPole-v1", 1, seed=0, max_episode_steps=3)
    plain = gym.make("CartPole-v1", max_episode_steps=3)
    plain.reset(seed=0)
    env.reset()
    for _ in range(3):
        timestep = env.step(np.zeros(1, np.int32))
        final, *_, truncated, _ = plain.step(0)
    assert timestep.truncated[0] and truncated
    np.testing.assert_allclose(timestep.observation[0], final, rtol=1e-6)


def test_timesteps_have_the_spec_shapes_and_dtypes():
    env = GymEnv("Pendulum-v1", 3, seed=0)
    timestep = env.reset()
    spec = env.timestep_spec
    for value, s in zip(tf.nest.flatten(timestep), tf.nest.flatten(spec), strict=True):
        assert value.shape == tuple(s.shape) and value.dtype == s.dtype.as_numpy_dtype
    assert isinstance(env.step(np.zeros([3, 1], np.float32)), Timestep)


def test_the_same_seed_gives_the_same_episodes():
    first, _ = rollout(GymEnv("CartPole-v1", 3, seed=11), 60)
    second, _ = rollout(GymEnv("CartPole-v1", 3, seed=11), 60)
    other, _ = rollout(GymEnv("CartPole-v1", 3, seed=12), 60)
    for a, b in zip(first, second, strict=True):
        for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
            np.testing.assert_array_equal(x, y)
    assert not np.allclose(first[0].observation, other[0].observation)


def test_sync_and_async_give_identical_timesteps():
    sync, _ = rollout(GymEnv("CartPole-v1", 3, seed=5, max_episode_steps=15), 50)
    with GymEnv("CartPole-v1", 3, seed=5, asynchronous=True, max_episode_steps=15) as env:
        asynchronous, _ = rollout(env, 50)
    for a, b in zip(sync, asynchronous, strict=True):
        for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
            np.testing.assert_array_equal(x, y)


def test_nested_observation_and_tuple_action_spaces():
    env = GymEnv([lambda: NestedEnv(length=3)] * 2, seed=0)
    assert set(env.observation_spec) == {"action_mask", "position"}
    assert isinstance(env.action_spec, tuple) and env.action_spec[1].shape == (2,)
    timestep = env.reset()
    assert timestep.observation["action_mask"].dtype == np.int32
    action = (np.zeros(2, np.int32), np.full([2, 2], 5.0, np.float32))  # the move is clipped to 1
    timestep = env.step(action)
    np.testing.assert_allclose(timestep.reward, [2.0, 2.0])


def test_factories_and_existing_vector_envs():
    env = GymEnv([lambda: gym.make("CartPole-v1")] * 2, seed=0)
    assert env.num_envs == 2 and env.observation_spec.shape == (4,)
    vector = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 3)
    assert GymEnv(vector).num_envs == 3
    same_step = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1")], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    with pytest.raises(ValueError, match="must auto-reset on the next step"):
        GymEnv(same_step)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("CartPol-v1", 2), {}, r"unknown environment id `env` = 'CartPol-v1'.*Did you mean"),
        (("CartPole-v1", 0), {}, "`num_envs` must be a positive int"),
        (("CartPole-v1", None), {}, "`num_envs` must be a positive int"),
        (([lambda: gym.make("CartPole-v1")] * 2, 3), {}, r"`num_envs` \(3\) does not match"),
        (([lambda: gym.make("CartPole-v1")],), {"max_episode_steps": 5}, "only apply to an env id"),
        (([],), {}, "`env` must be a gymnasium id"),
    ],
)
def test_bad_construction_raises_clear_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GymEnv(*args, **kwargs)


def test_an_exception_in_step_names_the_environment_and_keeps_the_traceback():
    env = GymEnv([lambda: FailingEnv(), lambda: FailingEnv(fail_at=2)], seed=0)
    env.reset()
    env.step(np.zeros(2, np.int32))
    with pytest.raises(EnvError, match="environment 1 raised ValueError in step") as info:
        env.step(np.zeros(2, np.int32))
    assert "the simulator diverged" in str(info.value)
    assert "Original traceback" in str(info.value)
    assert "in step" in str(info.value) and "helpers.py" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert env.closed
    with pytest.raises(RuntimeError, match="closed"):
        env.step(np.zeros(2, np.int32))


@pytest.mark.filterwarnings("ignore:.*(Worker-2|Traceback|last exception).*:UserWarning")
def test_an_async_worker_exception_closes_every_worker():
    env = GymEnv(
        [lambda: FailingEnv(), lambda: FailingEnv(), lambda: FailingEnv(fail_at=1)],
        asynchronous=True,
        seed=0,
    )
    env.reset()
    processes = list(env._env.processes)
    with pytest.raises(EnvError, match="environment 2 raised ValueError in step") as info:
        env.step(np.zeros(3, np.int32))
    assert "the simulator diverged" in str(info.value) and "helpers.py" in str(info.value)
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()


def test_graph_reset_and_step_match_the_numpy_calls():
    numpy_env = GymEnv("CartPole-v1", 2, seed=8)
    graph_env = GymEnv("CartPole-v1", 2, seed=8)
    expected = [numpy_env.reset(), numpy_env.step(np.ones(2, np.int32))]

    @tf.function
    def reset_and_step():
        return graph_env.tf_reset(), graph_env.tf_step(tf.ones([2], tf.int32))

    for want, got in zip(expected, reset_and_step(), strict=True):
        for x, y in zip(tf.nest.flatten(want), tf.nest.flatten(got), strict=True):
            np.testing.assert_array_equal(x, y.numpy())


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_factory_that_returns_no_env_is_named_by_its_index(asynchronous, capfd):
    factories = [lambda: gym.make("CartPole-v1"), lambda: "CartPole-v1"]
    message = r"env factory 1 returned str 'CartPole-v1', not a gymnasium.Env"
    if not asynchronous:
        with pytest.raises(TypeError, match=message):
            GymEnv(factories)
        return
    # The worker dies making its env: its error (with the index) is on stderr, ours says so.
    with pytest.raises(EnvError, match=r"worker process died while making its environment"):
        GymEnv(factories, asynchronous=True)
    assert "env factory 1 returned str" in capfd.readouterr().err
