"""Recurrent PPO with several chunks per rollout: the chunks' initial states recorded by the actor
(the default) against replayed by the learner (`replay_initial_states=True`).

Recurrent PPO on CartPole without velocities (GRU-64, 8 environments x 128 steps, chunks of 16
steps, 4 epochs): the median wall-clock of collecting a rollout (the Driver records the state
before every 16th row, or not) and of updating from it (the learner takes the recorded states,
or replays the first seven chunks of each environment with the current weights to find them).
Both give the same update on a synchronous run (`tests/agents/test_contract.py`); only the
recorded states are right for data collected with older weights.

    python benchmarks/ppo_initial_states.py
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent
from reinforceable.networks import actor_critic

REPEATS = 9


def make(replay: bool):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", 8, seed=0)
    config = PPOConfig(
        num_steps=128,
        batch_size=256,
        sequence_length=16,
        num_epochs=4,
        normalize_observations=True,
        replay_initial_states=replay,
        entropy_coef=0.0,  # the defaults when media/ppo_initial_states.md was measured
        normalize_advantages=True,
        seed=0,
    )
    model = actor_critic(env, hidden=(), recurrent="gru", units=64, hidden_after=(64,))
    agent = RecurrentPPOAgent(model, env, config)
    collection = agent.collection
    driver = rf.Driver(agent.policy, env, seed=0, sequence_length=collection.sequence_length)
    return agent, driver


def main() -> None:
    rf.training.configure_threads(inter_op=1, intra_op=1)
    agents = {"recorded": make(False), "replayed": make(True)}
    times = {name: {"collect": [], "update": []} for name in agents}
    for agent, driver in agents.values():  # tracing
        agent.train(agent.collection.run(driver))
    for _ in range(REPEATS):  # interleaved, so machine noise hits both alike
        for name, (agent, driver) in agents.items():
            start = time.perf_counter()
            trajectory = agent.collection.run(driver)
            collected = time.perf_counter()
            agent.train(trajectory)
            times[name]["collect"].append(collected - start)
            times[name]["update"].append(time.perf_counter() - collected)
    print("| initial states | collect (ms) | update (ms) | iteration (ms) |")
    print("|---|---|---|---|")
    for name, parts in times.items():
        collect = 1000 * statistics.median(parts["collect"])
        update = 1000 * statistics.median(parts["update"])
        print(f"| {name} | {collect:.1f} | {update:.1f} | {collect + update:.1f} |")


if __name__ == "__main__":
    main()
