"""Hindsight replay with runners: each runner's environments are the learner's columns, so
episodes stay whole (and every closed one has its 4 steps) with local and with Ray runners,
and runners of another total are refused."""

import numpy as np
import pytest

from reinforceable.agents import TD3Agent, TD3Config
from reinforceable.distributed import LocalRunners, RayRunners
from tests.distributed.helpers import bit_flipping_env, her_agent


def assert_whole_episodes(agent):
    buffer = agent.buffer
    written = buffer._written.numpy()
    steps = int(agent.env_steps.numpy())
    # Each of the 2 columns holds its environment's real steps: 4 in every 5 (the reset step
    # is no transition), give or take an episode underway.
    assert written.sum() == int(buffer.size)
    assert abs(written.sum() - 0.8 * steps) <= 8
    assert abs(int(written[0]) - int(written[1])) <= 16
    for column in range(2):
        rows = slice(0, int(written[column]))
        start, end = buffer._start.numpy()[rows, column], buffer._end.numpy()[rows, column]
        closed = end >= 0
        assert closed.mean() > 0.8
        np.testing.assert_array_equal((end - start)[closed], 4)
        position = np.arange(int(written[column]))
        assert np.all((start <= position) & ((position < end) | ~closed))


def test_local_runners_give_each_environment_its_own_column():
    agent = her_agent()
    agent.fit(240, runners=LocalRunners(2, bit_flipping_env, 1))
    assert_whole_episodes(agent)


def test_runners_of_another_total_are_refused():
    agent = her_agent(cls=TD3Agent, config_class=TD3Config)
    with pytest.raises(ValueError, match=r"episodes whole.*its 2 environments in all"):
        agent.fit(64, runners=LocalRunners(2, bit_flipping_env, 2))


@pytest.mark.usefixtures("local_ray")
@pytest.mark.xdist_group("ray")
def test_ray_runners_give_each_environment_its_own_column():
    agent = her_agent(cls=TD3Agent, config_class=TD3Config)
    agent.fit(240, runners=RayRunners(2, bit_flipping_env, 1))
    assert_whole_episodes(agent)
