"""Ready-made actor-critic and SAC actor Keras models for any observation and action space."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import keras
import numpy as np

from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers import (
    DenseBernoulli,
    DenseCategorical,
    DenseNormal,
    NoisyDense,
    StatefulRNN,
)
from reinforceable.networks.encoders import encode, needs_encoder, observation_inputs, per_step

__all__ = ["action_heads", "actor_critic", "sac_actor"]


def action_heads(
    space: gym.Space, features, hard_bounds: bool = False, name: str = "action", sde=None
):
    """The distribution heads for `space`, applied to `features`, in the space's structure.

    `Discrete` gets a `DenseCategorical`, `MultiBinary` a `DenseBernoulli`, `Box` a `DenseNormal`
    (bounded by the box where it is finite), `Dict` and `Tuple` a dict or tuple of heads: a
    hybrid action space gets one head per part. `sde`, a dict of `DenseNormal`'s gSDE arguments
    (`{"sde": True, "sde_sample_freq": 4}`), goes to every `DenseNormal`.

    Raises:
        TypeError: For a space with no head (`MultiDiscrete`, `Text`, ...).
    """
    if isinstance(space, gym.spaces.Dict):
        return {
            key: action_heads(sub, features, hard_bounds, name=f"{name}_{key}", sde=sde)
            for key, sub in space.spaces.items()
        }
    if isinstance(space, gym.spaces.Tuple):
        return tuple(
            action_heads(sub, features, hard_bounds, name=f"{name}_{i}", sde=sde)
            for i, sub in enumerate(space.spaces)
        )
    if isinstance(space, gym.spaces.Discrete):
        return DenseCategorical(int(space.n), name=name)(features)
    if isinstance(space, gym.spaces.MultiBinary):
        return DenseBernoulli(tuple(np.atleast_1d(space.n)), name=name)(features)
    if isinstance(space, gym.spaces.Box):
        bounded = bool(np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)))
        bounds = np.stack([space.low, space.high], -1).tolist() if bounded else None
        return DenseNormal(
            space.shape,
            output_bounds=bounds,
            hard_bounds=hard_bounds and bounded,
            name=name,
            **(sde or {}),
        )(features)
    raise TypeError(f"action_heads: no distribution head for a {type(space).__name__} space.")


def _mlp(x, hidden: Sequence[int], activation: str, name: str, noisy: dict | None = None):
    """Dense layers of `hidden` units (`NoisyDense` ones with `noisy`'s options)."""
    for i, units in enumerate(hidden):
        if noisy is not None:
            x = NoisyDense(units, activation=activation, name=f"{name}_{i}", **noisy)(x)
            continue
        x = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.Orthogonal(np.sqrt(2)),
            name=f"{name}_{i}",
        )(x)
    return x


def actor_critic(
    env: EnvSpec | Environment,
    hidden: Sequence[int] = (64, 64),
    recurrent: str | None = None,
    units: int = 64,
    shared_torso: bool = False,
    hidden_after: Sequence[int] = (),
    activation: str = "tanh",
    hard_bounds: bool = True,
    encoders=None,
    sde: bool = False,
    sde_sample_freq: int = -1,
    sde_initial_std: float = 1.0,
    name: str = "actor_critic",
) -> keras.Model:
    """An actor-critic model for `RecurrentPPOAgent`, for any observation space.

    A flat float `Box` observation goes to the torsos as it is; any other goes through
    `observation_encoder`'s encoders first (one-hot for Discrete and MultiDiscrete, the Nature
    CNN for images, flattening otherwise, an encoder per key of a Dict or Tuple, concatenated),
    shared by the actor and the critic (SB3's `share_features_extractor`); `encoders` replaces
    them where given.

    Each torso is an MLP (`hidden` units), followed, if `recurrent` is `"gru"` or `"lstm"`, by a
    `StatefulRNN` of `units` reset at episode starts, and by another MLP (`hidden_after`). The
    actor and the critic have a torso each, or share one (`shared_torso`). The outputs are
    `{"action": heads, "value": [batch(, time)]}`.

    A recurrent model declares a time axis, `{"observation": [batch, time, obs],
    "episode_start": [batch, time], "state": {rnn name: [hidden(, cell)]}}` (the observation a
    nest like the space's for Dict and Tuple spaces), and returns its final state as `"state"`
    (explicit state in and out, see `StatefulRNN`); a memoryless one takes the observation
    `[batch, obs]` (or its nest).

    Args:
        env: The `EnvSpec` or the environment (its observation and action spaces).
        hidden: Units of the dense layers of each torso.
        recurrent: `None`, `"gru"` or `"lstm"`.
        units: Units of the recurrent layer.
        shared_torso: One torso for the actor and the critic.
        hidden_after: Units of dense layers after the recurrent layer (sb3-contrib's layout is
            `hidden=(), recurrent="lstm", units=256, hidden_after=(64, 64)`).
        activation: Activation of the dense layers.
        hard_bounds: Bounded Box actions get a `BoundedNormal` (a Normal squashed into the
            bounds by tanh; the default since it learned on every seed of MixedAction2D, see
            `media/ppo_defaults.md`) instead of a Normal whose mean only is squashed into the
            bounds and whose samples the environment clips (`False`, the earlier default).
        encoders: A Keras layer for the whole observation, or a mapping from observation keys to
            Keras layers (see `observation_encoder`); with `recurrent`, each is applied to every
            step (`FoldTime`).
        sde: Box action heads explore with gSDE (`DenseNormal(sde=True)`, see
            `reinforceable.layers.gsde`): noise that depends on the state and is held for
            `sde_sample_freq` steps (`-1`: for whole episodes), initial `σ` `sde_initial_std`.
        sde_sample_freq: See `sde`.
        sde_initial_std: See `sde`.
        name: The model's name.

    Raises:
        TypeError: For an observation space without a default encoder (a `Text` space, a
            MultiDiscrete with a nested `nvec`), or an unsupported action space.
        ValueError: For a `recurrent` other than None, "gru" and "lstm", or an `encoders` key
            that is not part of the observation.
    """
    observation, features = _observation("actor_critic", env.observation_space, encoders, recurrent)
    if recurrent:
        episode_start = keras.Input((None,), dtype="bool", name="episode_start")
        inputs = {"observation": observation, "episode_start": episode_start, "state": {}}
    else:
        inputs = observation
    final_states = {}

    def torso(prefix: str):
        x = _mlp(features, hidden, activation, prefix)
        if recurrent:
            rnn = StatefulRNN(recurrent, units, name=f"{prefix}_rnn")
            state = inputs["state"][rnn.name] = rnn.state_inputs()
            x, final = rnn(x, reset_mask=episode_start, initial_state=state, return_state=True)
            final_states[rnn.name] = list(final)
        return _mlp(x, hidden_after, activation, f"{prefix}_after")

    actor = torso("torso" if shared_torso else "actor")
    critic = actor if shared_torso else torso("critic")
    gsde = _sde_options(sde, sde_sample_freq, sde_initial_std)
    action = action_heads(env.action_space, actor, hard_bounds, sde=gsde)
    value = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Orthogonal(1.0), name="value"
    )(critic)
    # [..., 1] -> [batch] or [batch, time].
    value = keras.layers.Reshape((-1,) if recurrent else (), name="value_squeeze")(value)
    outputs = {"action": action, "value": value}
    if recurrent:
        outputs["state"] = final_states
    return keras.Model(inputs, outputs, name=name)


def sac_actor(
    env: EnvSpec | Environment,
    hidden: Sequence[int] = (256, 256),
    activation: str = "relu",
    recurrent: str | None = None,
    units: int = 128,
    embedding: int = 64,
    encoders=None,
    sde: bool = False,
    sde_sample_freq: int = -1,
    sde_initial_std: float = 1.0,
    noisy: bool | str = False,
    noisy_sample_freq: int = 1,
    noisy_sigma_zero: float = 0.5,
    noisy_learn_sigma: bool = True,
    name: str = "sac_actor",
) -> keras.Model:
    """An actor for `SACAgent` (or, with `recurrent`, `RecurrentSACAgent`), for any observation
    space: an MLP and one head per action part. Observations other than a flat float `Box` go
    through `observation_encoder`'s encoders first (`encoders` replaces them where given), as in
    `actor_critic`. With `sde`, Box parts explore with gSDE as in `actor_critic` (the RL Zoo's
    SAC settings for MountainCarContinuous use it, with `sde_initial_std` about exp(-2)).

    Box parts get a `DenseNormal` with a state-dependent scale, tanh-squashed into the box
    (`hard_bounds=True`, a `BoundedNormal`); Discrete parts a `DenseCategorical`. The output is
    the distribution nest, shaped like the action space.

    With `noisy`, layers are `NoisyDense` ones (NoisyNet, σ₀ = `noisy_sigma_zero`, noise
    redrawn every `noisy_sample_freq` steps of an environment, or at episode starts only with
    -1): `True` or `"all"` makes the MLP's layers (after the recurrent layer too) and the Box
    heads' locations noisy, `"hidden"` the MLP's layers only, `"head"` the Box heads only
    (`DenseNormal(noisy=True)`). It is the exploration of an actor without action noise
    (`TD3Config(exploration="none")`): acting draws the noise into the policy state;
    deterministic evaluation uses the means; TD3's and SAC's learners draw fresh noise per
    batch row, so the noise scales learn (unless `noisy_learn_sigma=False`, which holds them
    at `σ₀/√p`).

    With `recurrent="gru"` or `"lstm"`, a dense embedding of `embedding` units (ReLU) feeds a
    `StatefulRNN` of `units`, reset at episode starts, and the MLP sees the recurrent output
    beside the current observation (as the recurrent critics' heads do, and as in Ni et al. 2022,
    so that the memory need not carry what the observation shows); the model then declares a
    time axis, `{"observation": [batch, time, obs], "episode_start": [batch, time], "state":
    {"actor_rnn": [...]}}`, and outputs `{"action": heads, "state": ...}`.

    Raises:
        TypeError: For an observation space without a default encoder, or an unsupported action
            space.
        ValueError: For a `recurrent` other than None, "gru" and "lstm", an `encoders` key
            that is not part of the observation, a `noisy` other than False, True, "all",
            "hidden" and "head", `noisy="hidden"` without hidden layers, noisy options
            `NoisyDense` refuses, or noisy heads with `sde`.
    """
    observation, features = _observation("sac_actor", env.observation_space, encoders, recurrent)
    gsde = _sde_options(sde, sde_sample_freq, sde_initial_std)
    noise, head = _noisy_options(
        noisy, noisy_sample_freq, noisy_sigma_zero, noisy_learn_sigma, hidden
    )
    if head is not None and gsde is not None:
        raise ValueError(
            "sac_actor: noisy heads and `sde=True` are two kinds of exploration noise; choose "
            "one (or `noisy='hidden'` beside gSDE)."
        )
    gsde = gsde or head
    if recurrent is None:
        x = _mlp(features, hidden, activation, "actor", noise)
        heads = _sac_heads(env.action_space, x, "action", gsde)
        return keras.Model(observation, heads, name=name)
    episode_start = keras.Input((None,), dtype="bool", name="episode_start")
    rnn = StatefulRNN(recurrent, units, name="actor_rnn")
    state = rnn.state_inputs()
    x = keras.layers.Dense(embedding, activation="relu", name="actor_embedding")(features)
    x, final = rnn(x, reset_mask=episode_start, initial_state=state, return_state=True)
    x = keras.layers.Concatenate(name="actor_memory_and_observation")([x, features])
    x = _mlp(x, hidden, activation, "actor", noise)
    return keras.Model(
        {"observation": observation, "episode_start": episode_start, "state": {rnn.name: state}},
        {
            "action": _sac_heads(env.action_space, x, "action", gsde),
            "state": {rnn.name: list(final)},
        },
        name=name,
    )


def _observation(owner: str, space: gym.Space, encoders, recurrent: str | None):
    """The observation inputs (`[batch(, time), ...]`, a time axis for a `recurrent` cell) and
    the features the torsos see: a flat float Box as it is (no encoder, the layout of earlier
    versions), any other encoded. Checks `recurrent` first."""
    if recurrent is not None and recurrent not in ("gru", "lstm"):
        raise ValueError(
            f"{owner}: `recurrent` must be None, 'gru' or 'lstm'; received {recurrent!r}."
        )
    time_axis = recurrent is not None
    if encoders is None and not needs_encoder(space):
        shape = (None, *space.shape) if time_axis else space.shape
        observation = keras.Input(shape, name="observation")
        return observation, observation
    observation = observation_inputs(space, time_axis)
    return observation, encode(space, observation, encoders, per_step if time_axis else None)


def _noisy_options(noisy, sample_freq: int, sigma_zero: float, learn_sigma: bool, hidden):
    """`(hidden layers' NoisyDense options or None, Box heads' DenseNormal options or None)`."""
    kinds = {False: (), True: ("hidden", "head"), "all": ("hidden", "head"),
             "hidden": ("hidden",), "head": ("head",)}  # fmt: skip
    if not isinstance(noisy, bool | str) or noisy not in kinds:
        raise ValueError(
            "sac_actor: `noisy` must be False, True (or 'all'), 'hidden' or 'head'; received "
            f"{noisy!r}."
        )
    where = kinds[noisy]
    if noisy == "hidden" and not hidden:
        raise ValueError("sac_actor: `noisy='hidden'` needs hidden layers to make noisy.")
    layers = {"sample_freq": sample_freq, "sigma_zero": sigma_zero, "learn_sigma": learn_sigma}
    NoisyDense(1, **layers)  # refuses bad options by name before any layer is built
    head = {f"noisy_{key}": value for key, value in layers.items()}
    head["noisy"] = True
    return (
        layers if "hidden" in where and hidden else None,
        head if "head" in where else None,
    )


def _sde_options(sde: bool, sample_freq: int, initial_std: float) -> dict | None:
    if not sde:
        return None
    return {"sde": True, "sde_sample_freq": sample_freq, "sde_initial_std": initial_std}


def _sac_heads(space: gym.Space, features, name: str, options: dict | None = None):
    if isinstance(space, gym.spaces.Dict):
        return {
            key: _sac_heads(sub, features, f"{name}_{key}", options)
            for key, sub in space.spaces.items()
        }
    if isinstance(space, gym.spaces.Tuple):
        return tuple(
            _sac_heads(sub, features, f"{name}_{i}", options) for i, sub in enumerate(space.spaces)
        )
    if isinstance(space, gym.spaces.Box):
        bounded = bool(np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)))
        return DenseNormal(
            space.shape,
            output_bounds=np.stack([space.low, space.high], -1).tolist() if bounded else None,
            hard_bounds=bounded,
            state_dependent_scale=not (options or {}).get("sde", False),
            name=name,
            **(options or {}),
        )(features)
    return action_heads(space, features, name=name)
