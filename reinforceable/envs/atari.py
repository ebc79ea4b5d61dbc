"""`atari_env`: preprocessed Atari games as a `GymEnv`, stepped by ale-py's C++ vector
environment (default) or by gymnasium's Python wrappers.

Both backends give the same observations and semantics: `[stack, 84, 84]` uint8 grayscale frames,
4 frames per agent step with max-pooling over the last two, up to 30 no-op steps at each reset,
rewards clipped to their sign, sticky actions as the id says (probability 0.25 for `-v5` ids, 0
for `-v4` ids), and next-step auto-reset. ale-py's `AtariVectorEnv` does all of it in C++ threads;
gymnasium's backend is `AtariPreprocessing` + `FrameStackObservation` in Python, one env per
`gymnasium.make`, kept for custom wrappers. One difference remains: gymnasium counts the no-op
frames of a reset in `max_num_frames_per_episode`, the C++ env does not.
"""

from __future__ import annotations

import difflib
import inspect
import re

import gymnasium as gym
import numpy as np

from reinforceable.envs.vector import GymEnv

__all__ = ["ATARI_BACKENDS", "atari_env", "atari_game", "is_atari_id", "single_atari_env"]

ATARI_BACKENDS = ("ale", "gymnasium")

# Options of the gymnasium backend, each with its AtariPreprocessing / make counterpart.
_GYMNASIUM_OPTIONS = (
    "repeat_action_probability",
    "full_action_space",
    "max_num_frames_per_episode",
    "frameskip",
    "noop_max",
    "img_height",
    "img_width",
    "stack_num",
    "reward_clipping",
    "episodic_life",
)
# `batch_size` and `autoreset_mode` would change the stepping semantics GymEnv relies on.
_ALE_FIXED = ("game", "num_envs", "batch_size", "autoreset_mode")


def _installed_ale():
    try:
        import ale_py
    except ImportError:  # pragma: no cover - the `atari` extra installs it
        raise ImportError('atari_env needs ale-py: pip install "reinforceable[atari]"') from None
    return ale_py


def atari_game(env_id: str) -> tuple[str, int | None]:
    """The ROM name and the id's version of an Atari id: `"ALE/Pong-v5"` -> `("pong", 5)`,
    `"BreakoutNoFrameskip-v4"` -> `("breakout", 4)`, `"space_invaders"` -> `(..., None)`.

    Raises:
        ValueError: For a game that ale-py does not know, naming close matches.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"atari_env: `env_id` must be a non-empty str; received {env_id!r}.")
    name = env_id.split("/", 1)[1] if env_id.startswith("ALE/") else env_id
    version = None
    if match := re.fullmatch(r"(.+)-v(\d+)", name):
        name, version = match.group(1), int(match.group(2))
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)
    rom = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    roms = sorted(_installed_ale().roms.get_all_rom_ids())
    if rom not in roms:
        close = difflib.get_close_matches(rom, roms, n=5)
        hint = f"close matches: {close}" if close else f"supported games: {roms}"
        raise ValueError(
            f"atari_env: `env_id` {env_id!r} names the game {rom!r}, which ale-py does not "
            f"know; {hint}."
        )
    return rom, version


def _ale_options() -> dict:
    from ale_py.vector_env import AtariVectorEnv

    parameters = inspect.signature(AtariVectorEnv.__init__).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if name != "self" and name not in _ALE_FIXED
    }


def atari_env(
    env_id: str = "ALE/Pong-v5",
    num_envs: int = 8,
    *,
    seed: int | None = None,
    backend: str = "ale",
    asynchronous: bool = False,
    **options,
) -> GymEnv:
    """A batch of preprocessed Atari games as a `GymEnv` (observations `[num_envs, 4, 84, 84]`
    uint8, a `Discrete` action, rewards clipped to their sign).

    Args:
        env_id: An ALE id (`"ALE/Pong-v5"`, `"BreakoutNoFrameskip-v4"`) or a game name
            (`"pong"`, `"SpaceInvaders"`). A `-v4` id means no sticky actions; otherwise they
            repeat with probability 0.25 (gymnasium's `-v5` default).
        num_envs: Games stepped together.
        seed: Seed of the first reset (game `i` gets `seed + i`).
        backend: `"ale"`, ale-py's `AtariVectorEnv` (preprocessing, frame stacking and stepping
            in C++ threads; the fastest), or `"gymnasium"`, gymnasium's `AtariPreprocessing` and
            `FrameStackObservation` in Python (`asynchronous=True` steps them in processes).
        asynchronous: Gymnasium backend only: one worker process per game.
        **options: `AtariVectorEnv` options, on both backends where gymnasium has them:
            `repeat_action_probability`, `full_action_space`, `max_num_frames_per_episode`,
            `frameskip` (4), `noop_max` (30), `img_height` / `img_width` (84, equal on the
            gymnasium backend), `stack_num` (4), `reward_clipping` (True), `episodic_life`
            (False); and on the ALE backend only `num_threads` (0: one per core),
            `use_fire_reset` (False here, unlike ale-py, so that both backends reset alike),
            `grayscale`, `maxpool`, `life_loss_info`, `continuous`, `thread_affinity_offset`.

    Raises:
        ValueError: For an unknown game (naming close matches), an unknown backend, an option
            the backend does not support (naming the supported ones), or a bad `num_envs`.
        ImportError: Without ale-py (`pip install "reinforceable[atari]"`).

    Example:
        >>> env = atari_env("ALE/Breakout-v5", num_envs=8, seed=0)
        >>> env.observation_space
        Box(0, 255, (4, 84, 84), uint8)
    """
    if backend not in ATARI_BACKENDS:
        raise ValueError(
            f"atari_env: `backend` must be one of {ATARI_BACKENDS}; received {backend!r}."
        )
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs <= 0:
        raise ValueError(f"atari_env: `num_envs` must be a positive int; received {num_envs!r}.")
    rom, version = atari_game(env_id)
    supported = _ale_options() if backend == "ale" else dict.fromkeys(_GYMNASIUM_OPTIONS)
    if unknown := sorted(set(options) - set(supported)):
        raise ValueError(
            f"atari_env: option(s) {unknown} are not supported by the {backend!r} backend; "
            f"supported: {sorted(supported)}."
        )
    settings = {
        "repeat_action_probability": 0.0 if version is not None and version < 5 else 0.25,
        "use_fire_reset": False,
        **options,
    }
    if backend == "ale":
        if asynchronous:
            raise ValueError(
                "atari_env: `asynchronous` applies to the 'gymnasium' backend; the 'ale' backend "
                "steps its games in C++ threads (`num_threads`)."
            )
        from ale_py.vector_env import AtariVectorEnv

        return GymEnv(AtariVectorEnv(rom, num_envs, **settings), seed=seed, env_id=env_id)
    settings.pop("use_fire_reset")
    height = settings.get("img_height", 84)
    if settings.get("img_width", height) != height:
        raise ValueError(
            "atari_env: the 'gymnasium' backend makes square frames; `img_height` "
            f"({height}) and `img_width` ({settings['img_width']}) must be equal."
        )
    gym.register_envs(_installed_ale())
    gymnasium_id = _gymnasium_id(rom)
    return GymEnv(
        [lambda: _gymnasium_atari(gymnasium_id, settings)] * num_envs,
        seed=seed,
        asynchronous=asynchronous,
        env_id=env_id,
    )


def is_atari_id(env_id: str) -> bool:
    """Whether `env_id` names an Atari game (`ALE/...` or `...NoFrameskip-v4`)."""
    return env_id.startswith("ALE/") or bool(re.search(r"NoFrameskip-v\d+$", env_id))


def single_atari_env(env_id: str, render_mode: str | None = None, **options) -> gym.Env:
    """One game with `atari_env`'s preprocessing (its gymnasium backend), for evaluation and
    video: `reward_clipping=False` there gives the game's score. `options` as `atari_env`'s
    gymnasium options."""
    rom, version = atari_game(env_id)
    if unknown := sorted(set(options) - set(_GYMNASIUM_OPTIONS)):
        raise ValueError(f"single_atari_env: unknown option(s) {unknown}; supported: "
                         f"{sorted(_GYMNASIUM_OPTIONS)}.")  # fmt: skip
    settings = {
        "repeat_action_probability": 0.0 if version is not None and version < 5 else 0.25,
        **options,
    }
    gym.register_envs(_installed_ale())
    return _gymnasium_atari(_gymnasium_id(rom), settings, render_mode)


def _gymnasium_atari(gymnasium_id: str, settings: dict, render_mode: str | None = None) -> gym.Env:
    """One game through gymnasium's wrappers, with the ALE backend's settings (checked by
    `atari_env`). Registers ale-py's ids here too: an asynchronous worker starts without them."""
    gym.register_envs(_installed_ale())
    env = gym.make(
        gymnasium_id,
        render_mode=render_mode,
        frameskip=1,  # AtariPreprocessing skips frames
        repeat_action_probability=settings["repeat_action_probability"],
        full_action_space=settings.get("full_action_space", False),
        max_num_frames_per_episode=settings.get("max_num_frames_per_episode", 108_000),
    )
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=settings.get("noop_max", 30),
        frame_skip=settings.get("frameskip", 4),
        screen_size=settings.get("img_height", 84),
        terminal_on_life_loss=settings.get("episodic_life", False),
    )
    # Zeros before the first frame, as in the C++ stack (and SB3's VecFrameStack).
    env = gym.wrappers.FrameStackObservation(env, settings.get("stack_num", 4), padding_type="zero")
    if settings.get("reward_clipping", True):
        env = gym.wrappers.TransformReward(env, lambda reward: float(np.sign(reward)))
    return env


def _gymnasium_id(rom: str) -> str:
    """gymnasium's `ALE/...-v5` id of a ROM (its registration names the ROM as `game`)."""
    for env_id, spec in gym.registry.items():
        if env_id.startswith("ALE/") and env_id.endswith("-v5") and spec.kwargs.get("game") == rom:
            return env_id
    raise ValueError(f"atari_env: gymnasium registers no ALE/...-v5 id for the game {rom!r}.")
