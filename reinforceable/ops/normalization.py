"""Running statistics in TF variables: observation normalisation and reward scaling.

Both are `tf.Module`s, so their statistics are saved with a `tf.train.Checkpoint` of the agent and
restored on resume.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["RewardScaler", "RunningMeanStd", "running_discounted_returns"]


class RunningMeanStd(tf.Module):
    """Mean and variance of a stream of batches, merged with the parallel algorithm.

    `update(x)` folds a batch `[N, *shape]` into the statistics (Chan et al., 1979: the exact
    mean and variance of everything seen so far, whatever the batch sizes); `normalize(x)` returns
    `clip((x - mean) / sqrt(var + epsilon), -clip, clip)`.

    Args:
        shape: Shape of one sample.
        epsilon: Added to the variance, and the initial pseudo-count, so the first update
            is well defined.
        clip: Bound on the normalised values.
    """

    def __init__(
        self, shape=(), epsilon: float = 1e-8, clip: float = 10.0, name: str = "running_mean_std"
    ):
        super().__init__(name=name)
        self.shape = tf.TensorShape(shape)
        self.epsilon = float(epsilon)
        self.clip = float(clip)
        self.mean = tf.Variable(tf.zeros(self.shape, tf.float64), trainable=False, name="mean")
        self.var = tf.Variable(tf.ones(self.shape, tf.float64), trainable=False, name="var")
        self.count = tf.Variable(tf.constant(epsilon, tf.float64), trainable=False, name="count")

    def update(self, x, mask=None) -> None:
        """Folds the samples `x` `[N, *shape]` (those where `mask` `[N]` is True) in."""
        x = tf.cast(tf.reshape(x, [-1, *self.shape]), tf.float64)
        if mask is not None:
            x = tf.boolean_mask(x, tf.reshape(mask, [-1]))
        n = tf.cast(tf.shape(x)[0], tf.float64)
        safe_n = tf.maximum(n, 1.0)
        batch_mean = tf.reduce_sum(x, 0) / safe_n
        batch_var = tf.reduce_sum(tf.square(x - batch_mean), 0) / safe_n
        total = self.count + n
        delta = batch_mean - self.mean
        mean = self.mean + delta * n / total
        m2 = self.var * self.count + batch_var * n + tf.square(delta) * self.count * n / total
        self.mean.assign(mean)
        self.var.assign(m2 / total)
        self.count.assign(total)

    def normalize(self, x) -> tf.Tensor:
        dtype = x.dtype
        mean = tf.cast(self.mean, dtype)
        std = tf.cast(tf.sqrt(self.var + self.epsilon), dtype)
        return tf.clip_by_value((x - mean) / std, -self.clip, self.clip)


def running_discounted_returns(rewards, valid, ended, discount: float, carry):
    """Each environment's running discounted return, `R_t = γ R_{t-1} + r_t`, reset after an
    episode ends: what reward scaling takes the standard deviation of.

    It belongs to one stream of experience (the carry continues from one trajectory of an
    environment to the next), so the actor computes it and the learner only reads it.

    Args:
        rewards: float `[T, B]`.
        valid: bool `[T, B]`: rows that are real transitions (others keep the carry as it is).
        ended: bool `[T, B]`: the row's action ended the episode (terminated or truncated).
        discount: γ.
        carry: float `[B]`, the return carried in from the previous trajectory (0 at first).

    Returns:
        `(returns [T, B], carry [B])`: the return including each row's reward, and the one to
        carry into the next trajectory (0 after an episode's last step).
    """

    # The scan carries, per row, the return including that row's reward (`current`, what the
    # statistics see) and the return left for the next row (0 after an episode's last step).
    def step(state, inputs):
        reward, is_valid, is_ended = inputs
        current = tf.where(is_valid, discount * state[1] + reward, state[1])
        return current, tf.where(is_valid & is_ended, tf.zeros_like(current), current)

    currents, afters = tf.scan(
        step, (rewards, valid, ended), initializer=(tf.zeros_like(carry), carry)
    )
    return currents, afters[-1]


class RewardScaler(tf.Module):
    """Divides rewards by the running standard deviation of the discounted return.

    This is the reward scaling of Engstrom et al. (2020), "Implementation matters in deep policy
    gradients", as in SB3's `VecNormalize` and Gymnasium's `NormalizeReward`: each environment
    keeps a discounted return `R ← γ R + r` (reset to 0 where an episode ends), the variance of
    `R` is tracked over all steps, and rewards are divided by its square root (not centred, so
    the sign of a reward is kept) and clipped.

    The learner keeps the statistics; the returns `R` come with the trajectory, computed on the
    actor's side by `running_discounted_returns` (they continue across an environment's
    trajectories, so they belong to the stream of experience, not to the learner).

    Args:
        epsilon, clip: As in `RunningMeanStd`.
    """

    def __init__(self, epsilon: float = 1e-8, clip: float = 10.0, name: str = "reward_scaler"):
        super().__init__(name=name)
        self.statistics = RunningMeanStd((), epsilon=epsilon, clip=clip)

    def __call__(self, rewards, returns, valid) -> tf.Tensor:
        """Folds the valid rows' `returns` `[T, B]` into the statistics and returns the scaled
        `rewards` `[T, B]`."""
        self.statistics.update(returns, mask=valid)
        scale = tf.cast(tf.sqrt(self.statistics.var + self.statistics.epsilon), rewards.dtype)
        clip = self.statistics.clip
        return tf.clip_by_value(rewards / scale, -clip, clip)
