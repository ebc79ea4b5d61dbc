"""`ALGOS`: the algorithms that `python -m reinforceable train ALGO` makes, each an `Algorithm`
(its agent, config and network builder, imported on first use, and its defaults)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from reinforceable._checks import check_known_names

__all__ = ["ALGOS", "Algorithm"]


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """How `train` makes an agent of one algorithm: its class, its config class, its network
    builder (called with an environment spec and keyword arguments), and its default number of
    environments."""

    agent: Callable[[], type]
    config: Callable[[], type]
    builder: Callable[[], Callable[..., Any]]
    num_envs: int
    threads: int
    """TF threads per pool (1 for small on-policy models; 2 where updates dominate)."""
    network_defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Builder keywords that the algorithm needs whatever the preset (`recurrent="gru"` for
    recurrent SAC, whose agent refuses a memoryless actor); a preset's or `--set`'s win."""

    def check_network_fields(self, fields) -> None:
        """Raises a ValueError naming the fields that the network builder does not take, with
        those it takes."""
        builder = self.builder()
        known = set(inspect.signature(builder).parameters) - {"env", "name"}
        check_known_names(builder.__name__, fields, known, what="network fields")

    def network(self, spec, **kwargs):
        """The builder's network for `spec` (a ValueError for keywords it does not take)."""
        self.check_network_fields(kwargs)
        return self.builder()(spec, **{**self.network_defaults, **kwargs})


def _lazy(module: str, name: str) -> Callable[[], Any]:
    """A zero-argument callable returning `module.name`, imported on first call (so importing
    the presets, as the examples do, does not import the agents and networks)."""
    return lambda: getattr(importlib.import_module(module), name)


def _algorithm(agent: str, config: str, builder: str, **options) -> Algorithm:
    """An `Algorithm` of the agent and config classes named in `reinforceable.agents` and the
    network builder named in `reinforceable.networks`, each imported on first use."""
    agents, networks = "reinforceable.agents", "reinforceable.networks"
    return Algorithm(
        _lazy(agents, agent), _lazy(agents, config), _lazy(networks, builder), **options
    )


ALGOS: dict[str, Algorithm] = {
    "ppo": _algorithm("RecurrentPPOAgent", "PPOConfig", "actor_critic", num_envs=8, threads=1),
    "sac": _algorithm("SACAgent", "SACConfig", "sac_actor", num_envs=1, threads=2),
    "rsac": _algorithm(
        "RecurrentSACAgent",
        "RecurrentSACConfig",
        "sac_actor",
        num_envs=1,
        threads=2,
        network_defaults={"recurrent": "gru"},
    ),
    "td3": _algorithm(
        "TD3Agent",
        "TD3Config",
        "sac_actor",
        num_envs=1,
        threads=2,
        network_defaults={"hidden": (400, 300)},
    ),
    "ddpg": _algorithm(
        "DDPGAgent",
        "DDPGConfig",
        "sac_actor",
        num_envs=1,
        threads=2,
        network_defaults={"hidden": (400, 300)},
    ),
    "dqn": Algorithm(
        _lazy("reinforceable.agents", "DQNAgent"),
        _lazy("reinforceable.agents", "DQNConfig"),
        _lazy("reinforceable.agents.dqn", "q_network"),
        num_envs=1,
        threads=1,
    ),
}
"""`ppo`: recurrent PPO (memoryless with a memoryless network); `sac`: SAC; `rsac`: recurrent
SAC (a recurrent actor, recurrent critics, replayed sequences with burn-in); `td3` and `ddpg`:
TD3 and DDPG for Box actions (`sac_actor`'s heads, acted on by their modes; 400x300 as in
SB3); `dqn`: DQN (double DQN, n-step returns, optional dueling head) for a Discrete action
space."""
