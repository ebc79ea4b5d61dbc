"""Run a recurrent Keras policy in vector environments with the graph-mode Driver.

The policy (Dense -> GRU -> categorical action head and value head) is untrained; this example
shows the rollout side on its own: building a `GymEnv`, handing a Keras model to a `Driver`,
collecting time-major trajectories chunk after chunk, and reading the in-loop metrics. The default
task is CartPole with the velocities hidden, `reinforceable/CartPoleNoVel-v1`.

    python examples/driver_rollout.py --num-envs 16 --chunks 5
"""

from __future__ import annotations

import argparse
import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras
import tensorflow as tf


# Small models on small CPUs run fastest with one thread per op and one op at a time (and
# TensorFlow's runtime then starts without oneDNN's first-op lines).
rf.training.configure_threads(inter_op=1, intra_op=1)


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "reinforceable/CartPoleNoVel-v1"
    """A gymnasium id with a Box observation and a Discrete action space."""
    num_envs: int = 16
    """Environments stepped together."""
    steps_per_env: int = 128
    """Rollout length per chunk, per environment."""
    chunks: int = 5
    """Number of `Driver.run` calls."""
    asynchronous: bool = False
    """Step the environments in worker processes (pays off for expensive environments)."""
    single_thread: bool = True
    """Give TensorFlow one inter-op and one intra-op thread: faster rollouts on small CPUs."""
    seed: int = 0
    """Seed for the environments, the weights and the action samples."""


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for field in dataclasses.fields(Args):
        flag = f"--{field.name.replace('_', '-')}"
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    return Args(**vars(parser.parse_args()))


def make_policy(observation_size: int, num_actions: int) -> keras.Model:
    observation = keras.Input((None, observation_size), name="observation")  # [batch, time, ...]
    start = keras.Input((None,), dtype="bool", name="episode_start")
    x = keras.layers.Dense(64, activation="tanh")(observation)
    rnn = rf.StatefulRNN("gru", 64, name="rnn")
    state = rnn.state_inputs()  # the GRU state goes in and out of the model explicitly
    x, final = rnn(x, reset_mask=start, initial_state=state, return_state=True)
    return keras.Model(
        {"observation": observation, "episode_start": start, "state": {"rnn": state}},
        {
            "action": rf.DenseCategorical(num_actions)(x),
            "value": keras.ops.squeeze(keras.layers.Dense(1)(x), -1),
            "state": {"rnn": list(final)},
        },
    )


def main(args: Args) -> dict:
    if args.single_thread:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(args.env_id, args.num_envs, asynchronous=args.asynchronous, seed=args.seed)
    print(env)
    policy = make_policy(env.observation_spec.shape[0], int(env.action_space.n))
    driver = rf.Driver(policy, env, seed=args.seed)
    for chunk in range(1, args.chunks + 1):
        trajectory = driver.run(steps=args.steps_per_env * args.num_envs)
        metrics = driver.metrics()
        print(
            f"chunk {chunk}/{args.chunks} | trajectory {list(trajectory.observation.shape)} "
            f"| valid transitions {int(tf.reduce_sum(tf.cast(trajectory.valid, tf.int32)))} "
            f"| episodes {metrics['episodes']} | mean return {metrics['episode_return']:.1f} "
            f"| {metrics['env_steps_per_second']:,.0f} env-steps/s"
        )
    driver.close()
    print(
        f"result: {metrics['env_steps']} env steps, {metrics['episodes']} episodes, mean return "
        f"{metrics['episode_return']:.1f} (untrained policy), "
        f"{metrics['env_steps_per_second']:,.0f} env-steps/s in the last chunk"
    )
    return metrics


if __name__ == "__main__":
    main(parse_args())
