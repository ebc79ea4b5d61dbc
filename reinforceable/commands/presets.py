"""Presets: tuned settings for benchmarked tasks, as Python (code as configuration).

A `Preset` names an algorithm, an environment, a budget, the agent's config and the network,
with the figure it reaches and the command that measured it; the examples build their agents
from the same presets, so the figure in `media/` is the preset's figure. `python -m
reinforceable presets` lists them; `python -m reinforceable train ALGO --env ID --preset NAME`
trains one (`--set field=value` changes a config field, `--set network.field=value` a keyword
of the network builder).
"""

from __future__ import annotations

from reinforceable.commands.algorithms import ALGOS, Algorithm
from reinforceable.commands.preset import (
    PENDULUM_NOVEL_TORSO,
    RL_ZOO_PENDULUM_NOVEL_CONFIG,
    RL_ZOO_PENDULUM_NOVEL_NETWORK,
    Preset,
)

__all__ = [
    "ALGOS",
    "PRESETS",
    "RL_ZOO_PENDULUM_NOVEL_CONFIG",
    "RL_ZOO_PENDULUM_NOVEL_NETWORK",
    "Algorithm",
    "Preset",
    "get_preset",
    "preset_for",
]


def _her_fetch_reach(algo: str, figure: float, measured: str) -> Preset:
    """The RL Zoo's FetchReach settings (with SB3's HER) for `algo`: future goals, 4 per
    transition, normalised observations, γ 0.95, 64x64 networks, 1k random steps."""
    return Preset(
        name=f"{algo}-her-fetchreach",
        algo=algo,
        env_id="FetchReach-v4",
        steps=10_000,
        num_envs=1,
        config={
            "hindsight": "future",
            "n_sampled_goal": 4,
            "normalize_observations": True,
            "discount": 0.95,
            "learning_rate": 1e-3,
            "warmup_steps": 1000,
            "steps_per_iteration": 8,
            "hidden": (64, 64),
        },
        network={"hidden": (64, 64)},
        figure=figure,
        measured=measured,
        command="python benchmarks/her_fetch_reach.py",
        check_steps=10_000,
        check_return=-10.0,
        eval_episodes=20,
    )


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ppo-cartpole-novel",
            algo="ppo",
            env_id="reinforceable/CartPoleNoVel-v1",
            steps=100_000,
            num_envs=8,
            # sb3-contrib's RL Zoo settings for CartPoleNoVel-v1 (ppo_lstm); normalising the
            # positions and angles helps the GRU (without it, 2 of 3 seeds stay below 350).
            config={
                "num_steps": 32,
                "batch_size": 256,
                "num_epochs": 20,
                "discount": 0.98,
                "gae_lambda": 0.8,
                "learning_rate": {"linear": {"start": 1e-3}},
                "clip_range": {"linear": {"start": 0.2}},
                "normalize_observations": True,
                # The RL Zoo's (SB3's) entropy and advantages, where PPOConfig's defaults have
                # since changed (a bonus on discrete heads' entropy, no standardising).
                "entropy_coef": 0.0,
                "normalize_advantages": True,
            },
            # sb3-contrib's layout: the recurrent layer first, then a dense layer.
            network={"hidden": (), "recurrent": "gru", "units": 64, "hidden_after": (64,)},
            figure=500.0,
            measured="seeds 0-2, 20 deterministic episodes each (media/ppo_cartpole_novel.md)",
            command="python benchmarks/ppo_cartpole_novel.py",
            check_steps=100_000,
            check_return=475.0,
            eval_episodes=20,
        ),
        Preset(
            name="ppo-mountaincar-novel",
            algo="ppo",
            env_id="reinforceable/MountainCarContinuousNoVel-v0",
            steps=500_000,
            num_envs=8,
            # sb3-contrib's RL Zoo settings for MountainCarContinuousNoVel-v0 (ppo_lstm): gSDE
            # on clipped samples, resampled every 8 steps, whose noise held over several steps
            # gets the car up the hill (recurrent SAC without gSDE stands still); a small
            # learning rate and a long horizon (discount 0.9999). 500k steps in place of the RL
            # Zoo's 300k: the stochastic policy reaches the flag early, the deterministic one
            # late (at 300k, seed 3's scored -97.9 and the other four 91.4-95.5).
            config={
                "num_steps": 1024,
                "batch_size": 256,
                "num_epochs": 10,
                "discount": 0.9999,
                "gae_lambda": 0.9,
                "learning_rate": 7.77e-5,
                "clip_range": 0.1,
                "entropy_coef": 0.00429,
                "value_coef": 0.19,
                "max_grad_norm": 5.0,
                "normalize_observations": True,
                "normalize_advantages": True,  # SB3's
            },
            network={
                "hidden": (),
                "recurrent": "lstm",
                "units": 32,
                "hidden_after": (64,),
                "hard_bounds": False,
                "sde": True,
                "sde_sample_freq": 8,
            },
            figure=91.3,
            measured=(
                "seeds 0-4 from the command line, 10 deterministic episodes each; 5 of 5 at or "
                "above 90, the lowest 90.0 (media/cli_masked.md)"
            ),
            command=(
                "python benchmarks/cli_defaults.py --tasks "
                "ppo:reinforceable/MountainCarContinuousNoVel-v0:500000:90:ppo-mountaincar-novel"
            ),
            check_steps=500_000,
            check_return=90.0,
        ),
        Preset(
            name="ppo-mixed-action",
            algo="ppo",
            env_id="reinforceable/MixedAction2D-v0",
            steps=1_000_000,
            num_envs=16,
            config={
                "num_steps": 64,
                "batch_size": 256,
                "num_epochs": 10,
                "discount": 0.99,
                "gae_lambda": 0.95,
                "learning_rate": {"linear": {"start": 1e-3}},
                "entropy_coef": 0.01,
                "normalize_advantages": True,  # as when its figure was measured
            },
            network={},  # actor_critic's defaults (bounded heads: BoundedNormal)
            figure=1.917,
            measured=(
                "seeds 0-4, 1000 deterministic episodes each; success 98.9-99.9% "
                "(media/ppo_defaults.md)"
            ),
            command="python benchmarks/ppo_defaults.py",
            check_steps=300_000,  # seed 0 there: success 77.4%, mean return 1.530
            check_return=1.0,
            eval_episodes=20,
        ),
        Preset(
            name="ppo-pendulum-novel",
            algo="ppo",
            env_id="reinforceable/PendulumNoVel-v1",
            steps=300_000,
            num_envs=4,
            # sb3-contrib's RL Zoo settings for PendulumNoVel-v1 (ppo_lstm; sequences of 32
            # steps from recorded LSTM states) with three changes: squashed Normal heads
            # (`hard_bounds=True`, actor_critic's default) in place of gSDE on clipped samples, a
            # learning rate decaying linearly to zero, and 300k steps in place of 100k. From the
            # command line that takes 3 of 5 seeds above -300 (mean -295.4), against 2 of 5
            # (mean -413.1) for the RL Zoo's settings at 100k; 400k steps did no better (3 of 5,
            # mean -289.5). PPO settings that learn on every seed are still open
            # (media/cli_masked.md lists what was tried); `rsac-pendulum-novel` (recurrent SAC)
            # learns this task on 5 of 5 seeds. The RL Zoo's settings are kept below the
            # presets' class.
            config={**RL_ZOO_PENDULUM_NOVEL_CONFIG, "learning_rate": {"linear": {"start": 1e-3}}},
            network={**PENDULUM_NOVEL_TORSO, "hard_bounds": True},
            figure=-295.4,
            measured=(
                "seeds 0-4 from the command line, 10 deterministic episodes each; 3 of 5 above "
                "-300 (media/cli_masked.md)"
            ),
            command="python benchmarks/cli_defaults.py --suite masked",
            check_steps=300_000,
            check_return=-300.0,
        ),
        Preset(
            name="rsac-pendulum-novel",
            algo="rsac",
            env_id="reinforceable/PendulumNoVel-v1",
            steps=50_000,
            num_envs=1,
            # The RL Zoo's SAC learning rate for Pendulum; RecurrentSACConfig's sequences (16
            # steps, the first 8 burn-in) and sac_actor's GRU of 128 after a 64-unit embedding,
            # the observation beside the memory. examples/recurrent_sac_pendulum.py uses it.
            config={"learning_rate": 1e-3},
            network={"recurrent": "gru"},
            figure=-204.2,
            measured=(
                "seeds 0-4 from the command line, 10 deterministic episodes each; 5 of 5 above "
                "-300 (media/cli_masked.md)"
            ),
            command=(
                "python benchmarks/cli_defaults.py "
                "--tasks rsac:reinforceable/PendulumNoVel-v1:50000:-300:rsac-pendulum-novel"
            ),
            check_steps=20_000,
            check_return=-300.0,
        ),
        Preset(
            name="sac-pendulum",
            algo="sac",
            env_id="Pendulum-v1",
            steps=20_000,
            num_envs=1,
            config={"learning_rate": 1e-3},  # the RL Zoo's; the rest are SB3's defaults
            network={},
            figure=-115.5,
            measured="seeds 0-2, 10 deterministic episodes each (media/sac_pendulum.md)",
            command="python benchmarks/sac.py --tasks pendulum",
            check_steps=20_000,
            check_return=-200.0,
        ),
        _her_fetch_reach(
            "sac",
            -1.5,
            (
                "seed 0 through the Python API (100% success from 3k steps); success 100% on "
                "seeds 0 and 1 at 10k from the command line; "
                "media/her_fetch_reach.md"
            ),
        ),
        _her_fetch_reach(
            "td3",
            -1.75,
            (
                "seeds 0 and 1 from the command line, 20 deterministic episodes: -1.8 and -1.7, "
                "success 100% on both (media/her_fetch_reach.md)"
            ),
        ),
        Preset(
            name="td3-her-bits",
            algo="td3",
            env_id="reinforceable/BitFlippingContinuous-v0",
            steps=50_000,
            num_envs=4,
            # Hindsight replay with the HER paper's future strategy and 4 sampled goals; 15-step
            # episodes, so a short horizon (γ 0.95).
            config={
                "hindsight": "future",
                "n_sampled_goal": 4,
                "discount": 0.95,
                "warmup_steps": 1000,
                "buffer_capacity": 200_000,
                "steps_per_iteration": 16,
                "exploration_std": 0.2,
                "hidden": (256, 256),
            },
            network={"hidden": (256, 256)},
            figure=-6.0,
            measured=(
                "seed 0, 50 deterministic episodes: success 68% (the target, 90% at 50k, is "
                "not reached), media/her_bit_flipping.md"
            ),
            command="python benchmarks/her_bits.py",
            check_steps=50_000,
            check_return=-10.0,
            eval_episodes=50,
        ),
        Preset(
            name="td3-pendulum",
            algo="td3",
            env_id="Pendulum-v1",
            steps=20_000,
            num_envs=1,
            # The RL Zoo's TD3 settings for Pendulum-v1: 10k random steps, then 200 gradient
            # steps after each 200-step episode; Gaussian noise 0.1; 400x300 (the network's
            # default for td3).
            config={
                "warmup_steps": 10_000,
                "discount": 0.98,
                "buffer_capacity": 200_000,
                "steps_per_iteration": 200,
            },
            network={},
            figure=-141.5,
            measured=(
                "seeds 0-2 from the command line, the final agent's 10 deterministic episodes: "
                "-133.5, -146.5, -144.5 (SB3's TD3 with the same settings -149.5 in the same "
                "run, media/td3_pendulum.md)"
            ),
            command="python benchmarks/td3.py",
            check_steps=20_000,
            check_return=-400.0,
        ),
        Preset(
            name="td3-noisy-mountaincar",
            algo="td3",
            env_id="MountainCarContinuous-v0",
            steps=50_000,
            num_envs=4,
            # No action noise: the actor's hidden layers and head are NoisyDense ones whose
            # noise each environment draws at its episode starts, so each episode's pushes are
            # coherent (σ₀ 1.0). Their scales stay fixed and the learner updates the means
            # (parameter-space noise): with learned scales, or learning through the noise,
            # TD3's actor loss silences the noise before the flag is found (seeds 1 and 2
            # never reached it). Normalised observations (the velocity is at most 0.07, which
            # the noise would barely see), 64x64 networks (the RL Zoo's for this task) and a
            # learning rate of 3e-4 (with TD3's 1e-3, seed 0 found the flag and then lost it:
            # 94.3 at 40k, 28.0 at 50k; γ 0.999 instead did worse, 3 of 5 seeds).
            config={
                "exploration": "none",
                "learning_rate": 3e-4,
                "warmup_steps": 0,
                "steps_per_iteration": 250,
                "normalize_observations": True,
                "hidden": (64, 64),
            },
            network={
                "hidden": (64, 64),
                "noisy": True,
                "noisy_sample_freq": -1,
                "noisy_sigma_zero": 1.0,
                "noisy_learn_sigma": False,
            },
            figure=92.5,
            measured=(
                "seeds 0-4 from the command line, the final agent's 10 deterministic episodes: "
                "90.9, 92.6, 93.1, 93.0, 92.7 (5 of 5 at or above 90; the same with Gaussian "
                "action noise 0.5: 1 of 5, media/td3_noisy_mountaincar.md)"
            ),
            command="python benchmarks/td3_noisy_mountaincar.py",
            check_steps=50_000,
            check_return=90.0,
        ),
        Preset(
            name="dqn-cartpole",
            algo="dqn",
            env_id="CartPole-v1",
            steps=100_000,
            num_envs=1,
            # The RL Zoo's DQN settings for CartPole-v1 (SB3's DQN target: no double DQN); the
            # target network is copied after every burst of 128 updates, as SB3's copy every
            # 10 env steps does between its bursts.
            config={
                "learning_rate": 2.3e-3,
                "batch_size": 64,
                "buffer_capacity": 100_000,
                "warmup_steps": 1000,
                "steps_per_iteration": 256,
                "utd_ratio": 0.5,
                "target_update_interval": 128,
                "exploration_fraction": 0.16,
                "exploration_final": 0.04,
                "double": False,
            },
            network={"hidden": (256, 256)},
            figure=274.5,
            measured=(
                "seeds 0-2 from the command line, the final agent's 10 deterministic episodes: "
                "96.8, 226.6, 500.0 (1 of 3 at 500; SB3's DQN with these settings 133.9 at 100k "
                "and 339.9 at 50k in the same run, media/dqn_cartpole.md). DQN is unstable late: "
                "seed 0 is at 500 at 60k"
            ),
            command="python benchmarks/dqn.py",
            check_steps=60_000,
            check_return=475.0,
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called `name`.

    Raises:
        ValueError: For an unknown name, listing the presets.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}.")
    return PRESETS[name]


def preset_for(algo: str, env_id: str) -> Preset | None:
    """The preset for `algo` on `env_id`, if there is one."""
    for preset in PRESETS.values():
        if preset.algo == algo and preset.env_id == env_id:
            return preset
    return None
