import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import integrate, stats

from reinforceable.distributions import BoundedNormal
from tests.conftest import run

tfd = tfp.distributions


def scalar(loc, scale, low, high, dtype=tf.float64):
    base = tfd.Normal(tf.constant(loc, dtype), tf.constant(scale, dtype))
    return BoundedNormal(base, [low, high])


def reference_density(y, loc, scale, low, high):
    """Change of variables by hand: y = mid + half tanh(x), p(y) = N(x) / (half (1 - tanh^2 x))."""
    mid, half = (high + low) / 2, (high - low) / 2
    x = np.arctanh((y - mid) / half)
    return stats.norm.pdf(x, loc, scale) / (half * (1 - np.tanh(x) ** 2))


def reference_moment(fn, loc, scale):
    """E[fn(X)], X ~ N(loc, scale), by adaptive quadrature (split at 0, where tanh turns)."""
    lo, hi = loc - 12 * scale, loc + 12 * scale
    points = [0.0] if lo < 0 < hi else None
    return integrate.quad(
        lambda x: fn(x) * stats.norm.pdf(x, loc, scale),
        lo,
        hi,
        points=points,
        limit=500,
        epsabs=1e-13,
    )[0]


# The last case piles mass against the upper bound. The base scale is kept small enough that
# P(tanh X rounds to 1 in float64) is negligible: mass beyond that is invisible to any
# integration over y, though log_prob is still right there.
@pytest.mark.parametrize(
    "loc, scale, low, high",
    [(0.0, 1.0, -1.0, 1.0), (0.7, 1.5, -2.0, 3.0), (-2.0, 0.3, 0.0, 10.0), (2.5, 2.0, -0.5, 0.5)],
)
def test_log_prob_matches_change_of_variables_and_integrates_to_one(loc, scale, low, high):
    dist = scalar(loc, scale, low, high)
    ys = np.linspace(low, high, 41)[1:-1]
    np.testing.assert_allclose(
        np.exp(dist.log_prob(ys).numpy()), reference_density(ys, loc, scale, low, high), rtol=1e-9
    )
    total, _ = integrate.quad(lambda y: np.exp(dist.log_prob(y).numpy()), low, high, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_independent_log_prob_is_sum_over_event_and_integrates_to_one():
    loc, scale = np.array([0.3, -1.0]), np.array([0.5, 0.6])
    bounds = np.array([[-1.0, 2.0], [0.0, 4.0]])
    base = tfd.Independent(tfd.Normal(tf.constant(loc), tf.constant(scale)), 1)
    dist = BoundedNormal(base, bounds)
    y = np.array([[0.5, 1.0], [-0.9, 3.9], [1.99, 0.01]])
    expected = np.log(reference_density(y, loc, scale, bounds[:, 0], bounds[:, 1])).sum(-1)
    np.testing.assert_allclose(dist.log_prob(y).numpy(), expected, rtol=1e-9)

    # Tensor-product Gauss-Legendre over the box, in one call: with these scales the density is
    # smooth and vanishes at the bounds, so 200 nodes per axis are plenty.
    nodes, weights = np.polynomial.legendre.leggauss(200)
    axes = [lo + (hi - lo) * (nodes + 1) / 2 for lo, hi in bounds]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    cell = np.outer(weights, weights) * np.prod((bounds[:, 1] - bounds[:, 0]) / 2)
    total = np.sum(np.exp(dist.log_prob(grid).numpy()) * cell)
    assert total == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_samples_stay_inside_bounds_even_when_saturated(dtype):
    # Locations far out saturate tanh: float rounding of mid + half * tanh(x) must not escape.
    loc = tf.constant([-40.0, -3.0, 0.0, 3.0, 40.0], dtype)
    bounds = tf.constant([[0.1, 0.7], [-2.0, 2.0], [-1e-3, 1e-3], [1.0, 1.3], [-7.3, 0.9]], dtype)
    dist = BoundedNormal(tfd.Independent(tfd.Normal(loc, tf.constant(2.0, dtype)), 1), bounds)
    samples = dist.sample(20_000, seed=(3, 4)).numpy()
    low, high = bounds.numpy()[:, 0], bounds.numpy()[:, 1]
    assert np.all(samples >= low) and np.all(samples <= high)
    # The saturated dimensions sit on their bounds, up to the rounding of mid + half * tanh(x).
    np.testing.assert_allclose(samples[:, 0], low[0], rtol=1e-6)
    np.testing.assert_allclose(samples[:, 4], high[4], rtol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_log_prob_and_its_gradient_are_finite_at_the_bounds(dtype):
    loc = tf.Variable(tf.constant([0.2, -0.4], dtype))
    scale = tf.Variable(tf.constant([0.5, 1.5], dtype))
    bounds = tf.constant([[-1.0, 1.0], [0.3, 0.9]], dtype)
    at_bounds = tf.constant([[-1.0, 0.9], [1.0, 0.3]], dtype)
    with tf.GradientTape() as tape:
        dist = BoundedNormal(tfd.Independent(tfd.Normal(loc, scale), 1), bounds)
        log_prob = dist.log_prob(at_bounds)
    assert np.all(np.isfinite(log_prob.numpy()))
    for grad in tape.gradient(log_prob, [loc, scale]):
        assert np.all(np.isfinite(grad.numpy()))


def test_log_prob_is_finite_for_float32_samples_that_rounded_onto_a_bound():
    # With loc = 12, tanh(x) rounds to exactly 1.0 in float32 for nearly every sample.
    dist = BoundedNormal(tfd.Normal(tf.fill([1000], 12.0), 1.0), [-2.0, 2.0])
    samples = dist.sample(seed=(1, 2))
    assert np.mean(samples.numpy() == 2.0) > 0.9
    assert np.all(np.isfinite(dist.log_prob(samples).numpy()))


def test_sample_and_log_prob_agrees_with_log_prob_away_from_saturation():
    base = tfd.Independent(tfd.Normal(tf.constant([[0.1, -0.3]], tf.float64), 0.7), 1)
    dist = BoundedNormal(base, [[-1.0, 1.0], [2.0, 5.0]])
    samples, log_prob = dist.experimental_sample_and_log_prob(500, seed=(5, 6))
    np.testing.assert_allclose(log_prob.numpy(), dist.log_prob(samples).numpy(), rtol=1e-8)


@pytest.mark.parametrize(
    "loc, scale",
    [(0.0, 1e-4), (0.3, 0.05), (-1.0, 0.5), (2.0, 1.0), (0.0, 3.0), (-5.0, 10.0), (8.0, 100.0)],
)
def test_mean_stddev_and_entropy_match_numerical_integration(loc, scale):
    low, high = -2.0, 3.0
    mid, half = (high + low) / 2, (high - low) / 2
    dist = scalar(loc, scale, low, high)

    e_tanh = reference_moment(np.tanh, loc, scale)
    var_tanh = reference_moment(lambda x: (np.tanh(x) - e_tanh) ** 2, loc, scale)
    e_log_jacobian = reference_moment(
        lambda x: 2 * (np.log(2) - x - np.logaddexp(0, -2 * x)), loc, scale
    )
    entropy = stats.norm.entropy(loc, scale) + np.log(half) + e_log_jacobian

    assert dist.mean().numpy() == pytest.approx(mid + half * e_tanh, abs=1e-8)
    assert dist.variance().numpy() == pytest.approx(half**2 * var_tanh, abs=1e-8, rel=1e-5)
    assert dist.stddev().numpy() == pytest.approx(half * np.sqrt(var_tanh), abs=1e-7, rel=1e-5)
    assert dist.entropy().numpy() == pytest.approx(entropy, abs=1e-7)
    # The naive squashed mean differs from the true mean for a spread-out, off-centre base.
    if scale >= 1.0 and loc != 0.0:
        assert abs(dist.mean().numpy() - (mid + half * np.tanh(loc))) > 1e-3


def test_entropy_agrees_with_monte_carlo_and_has_correct_gradient():
    loc = tf.Variable([0.4, -1.2], dtype=tf.float64)
    scale = tf.Variable([0.6, 2.0], dtype=tf.float64)
    bounds = [[-1.0, 1.0], [0.0, 2.0]]

    def entropy():
        return BoundedNormal(tfd.Independent(tfd.Normal(loc, scale), 1), bounds).entropy()

    dist = BoundedNormal(tfd.Independent(tfd.Normal(loc, scale), 1), bounds)
    samples = dist.sample(200_000, seed=(7, 8))
    monte_carlo = -tf.reduce_mean(dist.log_prob(samples)).numpy()
    assert entropy().numpy() == pytest.approx(monte_carlo, abs=0.01)

    with tf.GradientTape() as tape:
        value = entropy()
    grads = tape.gradient(value, [loc, scale])
    eps = 1e-6
    for variable, grad in zip([loc, scale], grads, strict=True):
        for i in range(2):
            original = variable.numpy()
            variable.assign(original + eps * np.eye(2)[i])
            up = entropy().numpy()
            variable.assign(original - eps * np.eye(2)[i])
            down = entropy().numpy()
            variable.assign(original)
            assert grad.numpy()[i] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-7)


def test_mode_is_the_squashed_base_mode():
    base = tfd.Independent(tfd.Normal(tf.constant([[0.5, -3.0]]), 2.0), 1)
    dist = BoundedNormal(base, [[0.0, 4.0], [-1.0, 1.0]])
    np.testing.assert_allclose(
        dist.mode().numpy(), [[2.0 + 2.0 * np.tanh(0.5), np.tanh(-3.0)]], rtol=1e-6
    )


def test_batch_and_event_shapes_broadcast_with_bounds():
    # Normal base: batch [3, 2], scalar event; bounds [2, 2] broadcast along the batch.
    dist = BoundedNormal(tfd.Normal(tf.zeros([3, 2]), 1.0), [[-1.0, 1.0], [0.0, 2.0]])
    assert dist.batch_shape == [3, 2] and dist.event_shape == []
    assert dist.sample(4, seed=(1, 1)).shape == (4, 3, 2)
    assert dist.log_prob(tf.ones([3, 2]) * 0.5).shape == (3, 2)

    # Independent base: batch [3], event [2]; bounds with a batch dim of their own, [3, 2, 2].
    base = tfd.Independent(tfd.Normal(tf.zeros([3, 2]), 1.0), 1)
    batched_bounds = np.stack([[[-1.0, 1.0], [0.0, float(k + 1)]] for k in range(3)])
    dist = BoundedNormal(base, batched_bounds)
    assert dist.batch_shape == [3] and dist.event_shape == [2]
    samples = dist.sample(1000, seed=(1, 1)).numpy()
    assert samples.shape == (1000, 3, 2)
    assert np.all(samples[..., 1] <= np.arange(1, 4))
    assert dist.mean().shape == (3, 2) and dist.entropy().shape == (3,)
    sliced = dist[2]
    assert sliced.batch_shape == [] and sliced.event_shape == [2]
    np.testing.assert_allclose(sliced.high.numpy(), [1.0, 3.0])
    np.testing.assert_allclose(sliced.mean().numpy(), dist.mean().numpy()[2], rtol=1e-6)

    # Bounds may not widen the batch: that would silently share one base draw between bounds.
    with pytest.raises(ValueError, match="without enlarging"):
        BoundedNormal(base, batched_bounds[None].repeat(5, axis=0))


def test_eager_and_tf_function_agree(mode):
    base = tfd.Independent(tfd.Normal(tf.constant([[0.3, -0.2], [1.0, 2.0]]), [0.5, 1.5]), 1)
    bounds = [[-1.0, 1.0], [-3.0, 0.5]]
    action = tf.constant([[0.2, -1.0], [0.9, 0.5]])

    def stats_of(base_loc):
        dist = BoundedNormal(tfd.Independent(tfd.Normal(base_loc, [0.5, 1.5]), 1), bounds)
        return dict(
            sample=dist.sample(3, seed=(11, 12)),
            log_prob=dist.log_prob(action),
            mean=dist.mean(),
            stddev=dist.stddev(),
            entropy=dist.entropy(),
            mode=dist.mode(),
        )

    eager = run(stats_of, "eager", base.distribution.loc)
    other = run(stats_of, mode, base.distribution.loc)
    for key in eager:
        np.testing.assert_allclose(other[key], eager[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_kl_divergence_is_that_of_the_base_normals():
    a = BoundedNormal(tfd.Independent(tfd.Normal([0.0, 1.0], [1.0, 0.5]), 1), [-2.0, 2.0])
    b = BoundedNormal(tfd.Independent(tfd.Normal([0.5, 0.0], [2.0, 0.5]), 1), [-2.0, 2.0])
    expected = tfd.kl_divergence(a.distribution, b.distribution).numpy()
    assert tfd.kl_divergence(a, b).numpy() == pytest.approx(expected)
    assert expected > 0

    c = BoundedNormal(tfd.Normal(0.0, 1.0), [-1.0, 1.0], validate_args=True)
    d = BoundedNormal(tfd.Normal(0.0, 1.0), [-1.0, 3.0], validate_args=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="equal bounds"):
        tfd.kl_divergence(c, d)


def test_rejects_a_base_that_is_not_normal():
    with pytest.raises(TypeError, match=r"`distribution` must be a tfd\.Normal"):
        BoundedNormal(tfd.Categorical(logits=[0.0, 1.0]), [-1.0, 1.0])
    with pytest.raises(TypeError, match="wrapping Laplace"):
        BoundedNormal(tfd.Independent(tfd.Laplace([0.0, 0.0], 1.0), 1), [-1.0, 1.0])


@pytest.mark.parametrize(
    "bounds, message",
    [
        ([1.0, 1.0], "low < high"),
        ([[-1.0, 1.0], [2.0, 0.0]], "low < high"),
        ([-np.inf, 1.0], "finite"),
        ([-1.0, 0.0, 1.0], r"shape \[\.\.\., 2\]"),
        ([[-1.0, 1.0]] * 3, "does not fit the event shape"),
    ],
)
def test_rejects_bad_bounds(bounds, message):
    base = tfd.Independent(tfd.Normal(tf.zeros([4, 2]), 1.0), 1)
    with pytest.raises(ValueError, match=message):
        BoundedNormal(base, bounds)


def test_runtime_bounds_are_checked_with_validate_args():
    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
    def make(bounds):
        return BoundedNormal(tfd.Normal(0.0, 1.0), bounds, validate_args=True).log_prob(0.0)

    assert np.isfinite(make(tf.constant([-1.0, 1.0])).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="low < high"):
        make(tf.constant([1.0, -1.0]))
