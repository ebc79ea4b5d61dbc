"""One minibatch step of PPO, readable on its own: the policy re-scores a minibatch of chunks
from their initial states, `ppo_loss` scores it, and the gradients are clipped by global norm."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.agents.ppo.losses import PPOBatch, ppo_loss

__all__ = ["minibatch_gradients"]


def minibatch_gradients(policy, batch: dict, state, variables, config, clip_range):
    """The gradients of PPO's loss on one minibatch, and its metrics.

    Args:
        policy: The learner's `KerasPolicy` (its `evaluate` replays chunks `[N, L, ...]` from
            their initial states).
        batch: `{"observation", "episode_start", "action", "old_log_prob", "old_value",
            "advantage", "returns", "valid"}`, each `[N, L, ...]` (`N` chunks of `L` steps).
        state: The chunks' initial recurrent states, `[N, ...]`.
        variables: The model's trainable variables.
        config: The agent's `PPOConfig` (coefficients, clip ranges, `max_grad_norm`).
        clip_range: This update's policy clip range (it may follow a schedule).

    Returns:
        `(gradients, metrics)`: one gradient per variable (zeros where a variable has none),
        clipped to `max_grad_norm`; `ppo_loss`'s metrics with `losses/loss` and
        `losses/grad_norm` (the norm before clipping).
    """
    continuous_coef, discrete_coef = config.entropy_coefs()
    with tf.GradientTape() as tape:
        evaluation = policy.evaluate(
            batch["observation"], batch["episode_start"], state, batch["action"]
        )
        flat = lambda x: tf.reshape(x, [-1])  # noqa: E731
        loss, metrics = ppo_loss(
            PPOBatch(
                log_prob=flat(evaluation.log_prob),
                old_log_prob=flat(batch["old_log_prob"]),
                advantage=flat(batch["advantage"]),
                value=flat(evaluation.extras["value"]),
                old_value=flat(batch["old_value"]),
                returns=flat(batch["returns"]),
                entropy=flat(evaluation.entropy),
                discrete_entropy=flat(evaluation.discrete_entropy),
                mask=flat(batch["valid"]),
            ),
            clip_range=clip_range,
            value_coef=config.value_coef,
            entropy_coef=continuous_coef,
            clip_range_value=config.clip_range_value,
            normalize_advantages=config.normalize_advantages,
            discrete_entropy_coef=discrete_coef,
        )
    gradients = tape.gradient(loss, variables)
    gradients = [
        tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables, strict=True)
    ]
    grad_norm = tf.linalg.global_norm(gradients)
    if config.max_grad_norm is not None:
        gradients, _ = tf.clip_by_global_norm(gradients, config.max_grad_norm, use_norm=grad_norm)
    metrics = {**metrics, "losses/loss": loss, "losses/grad_norm": grad_norm}
    return gradients, metrics
