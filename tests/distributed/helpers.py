"""Env factories and small agents shared by the distributed tests (importable by Ray workers)."""

import keras

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent, SACAgent, SACConfig

NOVEL = "reinforceable/CartPoleNoVel-v1"


def failing_env(fail_at):
    """A factory of `FailingEnv`s; the last env of each runner raises at step `fail_at`."""

    def make(num_envs, seed):
        from tests.envs.helpers import FailingEnv

        fails = [None] * (num_envs - 1) + [fail_at]
        return rf.GymEnv([lambda f=f: FailingEnv(f) for f in fails], seed=seed)

    return make


def broken_factory(num_envs, seed):
    raise OSError("no simulator licence on this node")


def ppo_agent(num_envs=4, seed=0, env=None):
    """A small recurrent PPO (normalised observations, scaled rewards, recorded states), for
    CartPoleNoVel or the spaces of `env`."""
    keras.utils.set_random_seed(seed)
    env = rf.GymEnv(NOVEL, num_envs, seed=seed) if env is None else env
    config = PPOConfig(num_steps=16, batch_size=64, sequence_length=4, num_epochs=2,
                       normalize_observations=True, scale_rewards=True, seed=seed)  # fmt: skip
    model = rf.networks.actor_critic(env, hidden=(8,), recurrent="gru", units=8)
    return RecurrentPPOAgent(model, env.spec, config)


def sac_agent(seed=0):
    """A small SAC on Pendulum (warm-up of 64 steps, one update per env step)."""
    keras.utils.set_random_seed(seed)
    env = rf.GymEnv("Pendulum-v1", 2, seed=seed)
    config = SACConfig(batch_size=32, hidden=(16,), steps_per_iteration=8, warmup_steps=64,
                       seed=seed)  # fmt: skip
    return SACAgent(rf.networks.sac_actor(env, hidden=(16,)), env.spec, config)


def bit_flipping_env(num_envs, seed):
    """4-bit flipping with continuous actions, carrying `is_success` (a goal task for HER)."""
    return rf.GymEnv("reinforceable/BitFlipping-v0", num_envs, n_bits=4, continuous=True,
                     seed=seed, infos={"is_success": "bool"})  # fmt: skip


def her_agent(num_envs=2, seed=0, cls=SACAgent, config_class=SACConfig):
    """A small SAC (or TD3) with hindsight replay on `bit_flipping_env`."""
    keras.utils.set_random_seed(seed)
    env = bit_flipping_env(num_envs, seed)
    config = config_class(hindsight="future", hidden=(16,), batch_size=16, warmup_steps=16,
                          steps_per_iteration=8, seed=seed)  # fmt: skip
    return cls(rf.networks.sac_actor(env, hidden=(16,)), env.spec, config)
