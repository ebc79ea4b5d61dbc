"""The update skeleton of agents that learn from a replay (SAC, recurrent SAC, DQN): how many
gradient steps an update makes, the burst of them in one graph call, and one iteration's
update around it."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.errors import TrainingDivergedError

__all__ = ["gradient_burst", "update_iteration", "updates_due"]


def updates_due(config, env_steps: int, new_steps: int, size: int) -> int:
    """Gradient steps for this update: none during the warm-up (`config.warmup_steps` env steps)
    or while the replay holds fewer than `config.batch_size` items, else
    `max(1, round(config.utd_ratio × new_steps))` for the env steps observed since the last."""
    if env_steps < config.warmup_steps or size < config.batch_size:
        return 0
    return max(1, round(config.utd_ratio * new_steps))


def gradient_burst(step, num_updates, seed, num_metrics: int):
    """`num_updates` gradient steps in one `tf.while_loop`, stopping at the first whose loss is
    not finite (that step is not applied).

    Args:
        step: `step(u, seed_u) -> (finite, metrics [M])`: the `u`-th update, with its own
            stateless seed `[seed[0], seed[1] + u]`; it applies itself only where `finite`.
        num_updates: int32 scalar.
        seed: int32 `[2]`.
        num_metrics: `M`.

    Returns:
        `(ok, metrics [M], applied)`: whether every step was finite, the metrics' mean over the
        applied steps, and their count (float32).
    """

    def keep_going(u, ok, totals):
        return (u < num_updates) & ok

    def body(u, ok, totals):
        finite, metrics = step(u, tf.stack([seed[0], seed[1] + u]))
        return u + 1, finite, totals + tf.where(finite, metrics, 0.0)

    done, ok, totals = tf.while_loop(
        keep_going, body, (tf.constant(0), tf.constant(True), tf.zeros([num_metrics]))
    )
    applied = tf.cast(done, tf.float32) - tf.cast(~ok, tf.float32)
    return ok, totals / tf.maximum(applied, 1.0), applied


def update_iteration(agent, size: int, run, names) -> dict[str, float]:
    """One iteration's update of a replay learner: counts the iteration, takes the env steps
    observed since the last (`agent._new_steps`), makes the `updates_due` gradient steps with
    `run(num_updates) -> (ok, metrics, applied)` (a `gradient_burst` in a graph), and returns the
    metrics by `names`, with `losses/updates` and `charts/buffer_size` (`size`, the replay's).

    Raises:
        TrainingDivergedError: If a loss was not finite (that step was not applied).
    """
    new_steps, agent._new_steps = agent._new_steps, 0
    agent.iterations.assign_add(1)
    env_steps = int(agent.env_steps.numpy())
    num_updates = updates_due(agent.config, env_steps, new_steps, size)
    if not num_updates:
        return {"losses/updates": 0.0, "charts/buffer_size": float(size)}
    ok, metrics, applied = run(num_updates)
    if not bool(ok):
        raise TrainingDivergedError(
            f"{type(agent).__name__}: a loss became NaN or infinite at iteration "
            f"{int(agent.iterations.numpy())} (after {env_steps} env steps); that update was not "
            "applied."
        )
    result = {name: float(v) for name, v in zip(names, metrics.numpy(), strict=True)}
    return {**result, "losses/updates": float(applied), "charts/buffer_size": float(size)}
