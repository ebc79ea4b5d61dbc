"""LocalRunners and the Trainer's runner loop, in this process (no Ray)."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.distributed import LocalRunners, RayRunners, RunnerError, runner_seeds
from reinforceable.envs.vector import EnvError
from tests.distributed.helpers import NOVEL, broken_factory, failing_env, ppo_agent, sac_agent


def test_runner_seeds_are_distinct_per_runner_and_restart_and_reproducible():
    seeds = {runner_seeds(7, i, r) for i in range(4) for r in range(2)}
    assert len({s for pair in seeds for s in pair}) == 16
    assert runner_seeds(7, 1) == runner_seeds(7, 1)
    assert runner_seeds(None, 3) == (None, None)


def test_on_policy_fit_trains_every_update_on_chunks_of_the_current_version():
    """Two runners of 4 envs each: every iteration concatenates one chunk of each (batch 8) and
    no chunk is older than the learner; episodes finished on both runners are logged."""
    agent = ppo_agent()
    chunks = []
    runners = LocalRunners(2, NOVEL, num_envs_per_runner=4)
    sample = runners.sample

    def recording(state):
        result = sample(state)
        chunks.append((int(agent.iterations.numpy()), [c.version for c in result]))
        return result

    runners.sample = recording
    history = agent.fit(5 * 16 * 8, runners=runners, seed=1)
    assert int(agent.env_steps.numpy()) == 5 * 16 * 8
    assert [row["charts/policy_lag"] for row in history] == [0.0] * 5
    assert all(versions == [iteration] * 2 for iteration, versions in chunks)
    assert np.isfinite(history[-1]["charts/episode_return"])
    assert runners.runners == []  # closed by fit


def test_local_runners_differ_from_each_other_and_repeat_with_the_seed():
    agent = ppo_agent()
    state = agent.acting_state()
    first, second = (LocalRunners(2, NOVEL, 4) for _ in range(2))
    first.start(agent.blueprint(), agent.collection, seed=3)
    second.start(agent.blueprint(), agent.collection, seed=3)
    a, b = first.sample(state), second.sample(state)
    np.testing.assert_array_equal(a[0].trajectory.observation, b[0].trajectory.observation)
    np.testing.assert_array_equal(a[1].trajectory.action, b[1].trajectory.action)
    assert not np.array_equal(a[0].trajectory.observation, a[1].trajectory.observation)
    first.close()
    second.close()


def test_off_policy_fit_with_local_runners_fills_the_replay_and_broadcasts():
    agent = sac_agent()
    history = agent.fit(160, runners=LocalRunners(2, "Pendulum-v1", 2), seed=0)
    assert int(agent.env_steps.numpy()) == 160
    assert int(agent.buffer.size.numpy()) > 0
    assert history[-1]["charts/chunks"] == 2.0


def test_an_env_error_names_the_runner_and_the_env_index():
    agent = ppo_agent(env=failing_env(None)(4, 0))
    runners = LocalRunners(2, failing_env(fail_at=5), num_envs_per_runner=4)
    message = r"runner 0: environment 3 raised ValueError in step\(\): the simulator diverged"
    with pytest.raises(EnvError, match=message):
        agent.fit(1024, runners=runners)
    assert runners.runners == []


def test_a_failing_env_factory_names_the_runner_with_the_original_traceback():
    agent = ppo_agent(env=failing_env(None)(4, 0))
    with pytest.raises(RunnerError, match=r"runner 0: the env factory failed \(OSError: no "):
        agent.fit(1024, runners=LocalRunners(2, broken_factory, 4))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LocalRunners(0, NOVEL, 4), r"`num_runners` must be a positive int; received 0"),
        (lambda: LocalRunners(2, NOVEL, 0), r"`num_envs_per_runner` must be a positive int"),
        (lambda: RayRunners(-1, NOVEL, 4), r"`num_runners` must be a positive int; received -1"),
        (lambda: RayRunners(1, NOVEL, 4, {"CPU": -1}), r"`resources\['CPU'\]` must be a non-n"),
        (lambda: RayRunners(1, NOVEL, 4, start_timeout=0), r"`start_timeout` must be a positive"),
    ],
)
def test_bad_runner_arguments_raise_before_anything_starts(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_runners_must_be_runners_and_their_spaces_must_match():
    agent = ppo_agent()
    with pytest.raises(TypeError, match=r"`runners` must be reinforceable\.distributed Runners"):
        agent.fit(100, runners=[1, 2])
    with pytest.raises(
        ValueError, match="runner 0: the spaces of its environments differ from the agent's spec"
    ):
        agent.fit(1024, runners=LocalRunners(1, "Pendulum-v1", 4))


def test_ray_runners_without_ray_name_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r'pip install "reinforceable\[distributed\]"'):
        RayRunners(2, NOVEL, 4)


def test_ars_spreads_its_perturbations_over_the_runners():
    """Runner i acts with perturbations 4i to 4i + 3 of the 8 (M + nu delta_j, then
    M - nu delta_j); the learner takes both shares (padded to one length) in one update and
    counts only the real steps."""
    from reinforceable.agents import ARSAgent, ARSConfig

    env_id = "InvertedPendulum-v5"
    spec = rf.EnvSpec(*_spaces(env_id), num_envs=8, env_id=env_id)
    config = ARSConfig(num_directions=4, normalize_observations=False, seed=0)
    agent = ARSAgent(spec, config)
    agent.weights.assign(np.full(agent.weights.shape, 0.3, np.float32))
    runners = LocalRunners(2, env_id, num_envs_per_runner=4)
    runners.start(agent.blueprint(), agent.collection, seed=0)
    chunks = runners.sample(agent.acting_state())
    runners.close()
    offsets = config.noise * agent.directions.numpy()
    matrices = agent.weights.numpy()[None] + np.concatenate([offsets, -offsets])  # [8, A, O]
    low, high = spec.action_space.low, spec.action_space.high
    for chunk in chunks:
        for j in range(4):
            matrix = matrices[4 * chunk.runner + j]
            observation = chunk.trajectory.observation[:, j]
            expected = np.clip(observation @ matrix.T, low, high)
            np.testing.assert_allclose(chunk.trajectory.action[:, j], expected, rtol=1e-5,
                                       atol=1e-6)  # fmt: skip
    for chunk in chunks:
        agent.observe(chunk.trajectory)
    metrics = agent.update()
    assert int(agent.env_steps.numpy()) == sum(chunk.steps for chunk in chunks)
    assert np.isfinite(metrics["charts/perturbed_return_mean"])
    with pytest.raises(ValueError, match=r"must have that many in all; received 2 x 3"):
        agent.fit(10_000, runners=LocalRunners(2, env_id, 3))


def _spaces(env_id):
    env = rf.GymEnv(env_id, 1)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def test_recurrent_sac_learns_from_runners_sequences_with_their_recorded_states():
    """Each runner records its GRU state every stride; the learner's sequence replay takes
    the chunks of both runners (states included) and updates."""
    from tests.agents.sac.test_recurrent import _agent

    agent = _agent()
    history = agent.fit(96, runners=LocalRunners(2, "reinforceable/PendulumNoVel-v1", 2))
    assert int(agent.env_steps.numpy()) == 96
    # 3 iterations of 2 runners x 2 envs x 8 rows; sequences of 4 start at rows 0, 2 and 4.
    assert int(agent.buffer.size.numpy()) == 3 * 4 * 3
    states = tf.nest.flatten(agent.buffer.gather(tf.range(36, dtype=tf.int64))["state"])
    assert max(float(tf.reduce_max(tf.abs(state))) for state in states) > 0  # actors' states
    assert np.isfinite(history[-1]["losses/critic_loss"])


def test_one_runner_trains_ppo_exactly_as_the_in_process_trainer_with_its_seeds(monkeypatch):
    """With the in-process run's env and Driver seeds, a runner of all 8 envs gives the same
    updates, metric for metric: the runner path adds nothing to what PPO learns."""
    import reinforceable.distributed.runner as runner_module

    monkeypatch.setattr(runner_module, "runner_seeds", lambda seed, index, restarts=0: (5, 5))
    steps = 4 * 16 * 8
    alone = ppo_agent(num_envs=8)
    expected = alone.fit(steps, env=rf.GymEnv(NOVEL, 8, seed=5), seed=5)
    with_runner = ppo_agent(num_envs=8)
    received = with_runner.fit(steps, runners=LocalRunners(1, NOVEL, 8), seed=5)
    for want, got in zip(expected, received, strict=True):
        for key, value in want.items():
            if key.startswith("losses/") or key == "charts/episode_return":
                np.testing.assert_allclose(got[key], value, rtol=1e-6, err_msg=key)
    for a, b in zip(alone.model.weights, with_runner.model.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-7)


def _columns(trajectory, start, stop):
    """Columns `start:stop` of a trajectory (the chunk that runner would have sent)."""
    batch_major = {"policy_state", "next_timestep", "next_policy_state", "policy_version"}
    fields = {}
    for name in trajectory._fields:
        cut = (slice(start, stop),) if name in batch_major else (slice(None), slice(start, stop))
        fields[name] = tf.nest.map_structure(lambda x, c=cut: x[c], getattr(trajectory, name))
    return type(trajectory)(**fields)


def test_ppo_learns_the_same_from_two_runners_chunks_as_from_one_chunk_of_all_columns():
    """One [T, 8] chunk, or its two [T, 4] halves observed one after the other (two runners):
    the same update, weight for weight, normaliser and reward scaling included."""
    whole, halves = ppo_agent(num_envs=8), ppo_agent(num_envs=8)
    env = rf.GymEnv(NOVEL, 8, seed=0)
    driver = rf.Driver(whole.actor.policy, env, seed=0,
                       sequence_length=whole.collection.sequence_length)  # fmt: skip
    for _ in range(2):
        trajectory = whole.actor.process(whole.collection.run(driver))
        whole.train(trajectory)
        halves.observe(_columns(trajectory, 0, 4))
        halves.observe(_columns(trajectory, 4, 8))
        halves.update()
    env.close()
    for a, b in zip(whole.model.weights, halves.model.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
