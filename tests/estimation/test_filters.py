"""State estimators: KF against TFP, EKF = KF and UKF exact on linear models, the particle filter
approaching the KF, eager = tf.function, consistency, and the errors bad input gets."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import reinforceable as rf
from reinforceable.estimation import (
    ExtendedKalmanFilter,
    GaussianBelief,
    KalmanFilter,
    ParticleBelief,
    ParticleFilter,
    SigmaPoints,
    SkippedObservationWarning,
    UnscentedKalmanFilter,
)
from tests.conftest import run

tfd = tfp.distributions


def _random_system(seed, n=4, m=2, k=1):
    rng = np.random.default_rng(seed)
    a = np.linalg.qr(rng.normal(size=(n, n)))[0] * 0.9
    b = rng.normal(size=(n, k))
    c = rng.normal(size=(m, n))
    lq = rng.normal(size=(n, n)) * 0.3
    q = lq @ lq.T + 0.05 * np.eye(n)
    lr = rng.normal(size=(m, m)) * 0.3
    r = lr @ lr.T + 0.2 * np.eye(m)
    mean0 = rng.normal(size=n)
    l0 = rng.normal(size=(n, n)) * 0.5
    cov0 = l0 @ l0.T + 0.5 * np.eye(n)
    return a, b, c, q, r, mean0, cov0


def _simulate(a, b, c, q, r, mean0, cov0, steps, batch, seed, actions=None):
    rng = np.random.default_rng(seed)
    n, m = a.shape[0], c.shape[0]
    x = rng.multivariate_normal(mean0, cov0, size=batch)
    xs, ys = [], []
    for t in range(steps):
        xs.append(x)
        ys.append(x @ c.T + rng.multivariate_normal(np.zeros(m), r, size=batch))
        x = x @ a.T + rng.multivariate_normal(np.zeros(n), q, size=batch)
        if actions is not None:
            x = x + actions[:, t] @ b.T
    return np.stack(xs, 1), np.stack(ys, 1)


class _Linear(rf.models.Model):
    """x' = A x + B u and y = C x as a generic (nonlinear-looking) Model."""

    def __init__(self, a, b, c, q, r):
        self.a, self.b, self.c = a, b, c
        self.state_dim, self.action_dim = a.shape[0], b.shape[1]
        self.observation_dim = c.shape[0]
        self.process_noise, self.observation_noise = q, r

    def _step(self, state, action):
        return tf.linalg.matvec(tf.constant(self.a, state.dtype), state) + tf.linalg.matvec(
            tf.constant(self.b, state.dtype), action
        )

    def _reward(self, state, action):
        return tf.zeros(tf.shape(state)[:-1], state.dtype)

    def observe(self, state):
        state = tf.convert_to_tensor(state)
        return tf.linalg.matvec(tf.constant(self.c, state.dtype), state)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kalman_filter_matches_tfp_forward_filter(seed):
    a, _, c, q, r, mean0, cov0 = _random_system(seed)
    _, ys = _simulate(a, None, c, q, r, mean0, cov0, steps=50, batch=3, seed=seed)
    model = tfd.LinearGaussianStateSpaceModel(
        num_timesteps=50,
        transition_matrix=tf.linalg.LinearOperatorFullMatrix(a),
        transition_noise=tfd.MultivariateNormalTriL(scale_tril=np.linalg.cholesky(q)),
        observation_matrix=tf.linalg.LinearOperatorFullMatrix(c),
        observation_noise=tfd.MultivariateNormalTriL(scale_tril=np.linalg.cholesky(r)),
        initial_state_prior=tfd.MultivariateNormalTriL(mean0, np.linalg.cholesky(cov0)),
    )
    reference = model.forward_filter(ys)
    kf = KalmanFilter(a, c, q, r, initial_mean=mean0, initial_covariance=cov0, dtype=tf.float64)
    for jit in (False, True):
        ours = kf.filter(ys, jit_compile=jit)
        np.testing.assert_allclose(ours.log_likelihoods, reference.log_likelihoods, atol=1e-5)
        np.testing.assert_allclose(ours.means, reference.filtered_means, atol=1e-5)
        # TFP's covariances do not depend on the data: one [T, n, n] for the batch.
        covariances = np.broadcast_to(reference.filtered_covs, ours.covariances.shape)
        np.testing.assert_allclose(ours.covariances, covariances, atol=1e-5)


def test_batched_systems_filter_each_with_its_own_matrices():
    systems = [_random_system(s) for s in range(3)]
    a = np.stack([s[0] for s in systems])
    c = np.stack([s[2] for s in systems])
    q, r = systems[0][3], systems[0][4]
    _, ys = _simulate(a[0], None, c[0], q, r, np.zeros(4), np.eye(4), 20, 3, 0)
    batched = KalmanFilter(a, c, q, r, dtype=tf.float64).filter(ys)
    for i in range(3):
        single = KalmanFilter(a[i], c[i], q, r, dtype=tf.float64).filter(ys[i : i + 1])
        np.testing.assert_allclose(batched.means[i], single.means[0], atol=1e-10)


def test_step_by_step_equals_filter_and_eager_equals_tf_function(mode):
    a, b, c, q, r, mean0, cov0 = _random_system(3)
    actions = np.random.default_rng(0).normal(size=(2, 10, 1))
    _, ys = _simulate(a, b, c, q, r, mean0, cov0, 10, 2, 0, actions)
    kf = KalmanFilter(a, c, q, r, b, mean0, cov0, dtype=tf.float64)

    def loop(ys, actions):
        belief, means, likelihoods = kf.initial_belief(2), [], []
        for t in range(10):
            belief, ll = kf.update(belief, ys[:, t])
            means.append(belief.mean)
            likelihoods.append(ll)
            belief = kf.predict(belief, actions[:, t])
        return tf.stack(means, 1), tf.stack(likelihoods, 1)

    means, likelihoods = run(loop, mode, tf.constant(ys), tf.constant(actions))
    whole = kf.filter(ys, actions)
    np.testing.assert_allclose(means, whole.means, atol=1e-10)
    np.testing.assert_allclose(likelihoods, whole.log_likelihoods, atol=1e-10)


@pytest.mark.parametrize("estimator", ["ekf", "ukf"])
def test_ekf_and_ukf_equal_the_kalman_filter_on_a_linear_model(estimator):
    a, b, c, q, r, mean0, cov0 = _random_system(4)
    actions = np.random.default_rng(1).normal(size=(3, 30, 1))
    _, ys = _simulate(a, b, c, q, r, mean0, cov0, 30, 3, 1, actions)
    kf = KalmanFilter(a, c, q, r, b, mean0, cov0, dtype=tf.float64)
    cls = ExtendedKalmanFilter if estimator == "ekf" else UnscentedKalmanFilter
    other = cls(_Linear(a, b, c, q, r), initial_mean=mean0, initial_covariance=cov0,
                dtype=tf.float64)  # fmt: skip
    expected, ours = kf.filter(ys, actions), other.filter(ys, actions)
    for field in ("means", "covariances", "log_likelihoods"):
        np.testing.assert_allclose(getattr(ours, field), getattr(expected, field), atol=1e-8)


@pytest.mark.parametrize(
    "points", [SigmaPoints(), SigmaPoints(1e-3, 2.0, 0.0), SigmaPoints(1, 0, -1)]
)
def test_ukf_is_exact_on_a_linear_model_for_any_sigma_points(points):
    a, b, c, q, r, mean0, cov0 = _random_system(5)
    ukf = UnscentedKalmanFilter(
        _Linear(a, b, c, q, r), initial_mean=mean0, initial_covariance=cov0, sigma_points=points,
        dtype=tf.float64,
    )  # fmt: skip
    belief = ukf.predict(ukf.initial_belief(1), tf.constant([[0.5]], tf.float64))
    np.testing.assert_allclose(belief.mean[0], a @ mean0 + b[:, 0] * 0.5, atol=1e-9)
    np.testing.assert_allclose(belief.covariance[0], a @ cov0 @ a.T + q, atol=1e-9)


def test_ekf_differs_from_linearising_by_hand_only_by_round_off():
    # The pendulum's Jacobian by hand, at the mean: d θ'/dθ = 1 + dt² 3g/2 cos θ, ...
    task = rf.models.PartiallyObserved(
        rf.models.Pendulum(), observe=[0], observation_noise=[[0.01]],
        process_noise=np.diag([1e-4, 1e-3]),
    )  # fmt: skip
    ekf = ExtendedKalmanFilter(task, initial_mean=[0.3, 0.5], initial_covariance=np.eye(2) * 0.1,
                               dtype=tf.float64)  # fmt: skip
    belief = ekf.predict(ekf.initial_belief(1), tf.constant([[1.0]], tf.float64))
    dt, g = 0.05, 10.0
    k = 3 * g / 2 * np.cos(0.3) * dt
    jacobian = np.array([[1 + k * dt, dt], [k, 1.0]])
    np.testing.assert_allclose(belief.covariance[0], jacobian @ (np.eye(2) * 0.1) @ jacobian.T
                               + np.diag([1e-4, 1e-3]), atol=1e-12)  # fmt: skip


def test_particle_filter_approaches_the_kalman_filter_as_particles_grow():
    a, b, c, q, r, mean0, cov0 = _random_system(6, n=2, m=1)
    _, ys = _simulate(a, b, c, q, r, mean0, cov0, 20, 4, 2)
    model = _Linear(a, b, c, q, r)
    exact = KalmanFilter(a, c, q, r, initial_mean=mean0, initial_covariance=cov0,
                         dtype=tf.float64).filter(ys)  # fmt: skip
    errors = []
    for particles in (100, 10_000):
        pf = ParticleFilter(model, particles, initial_mean=mean0, initial_covariance=cov0,
                            dtype=tf.float64)  # fmt: skip
        result = pf.filter(ys, seed=[0, 1])
        errors.append(
            (
                np.abs(result.means - exact.means).mean(),
                np.abs(result.log_likelihoods - exact.log_likelihoods).mean(),
            )
        )
    (mean_small, ll_small), (mean_large, ll_large) = errors
    assert mean_large < 0.05 and ll_large < 0.05
    assert mean_large < mean_small / 3 and ll_large < ll_small / 3


def test_particle_filter_resamples_only_below_the_threshold():
    model = _Linear(np.eye(1), np.zeros((1, 1)), np.eye(1), np.eye(1) * 0.01, np.eye(1) * 0.1)
    particles = tf.constant(np.linspace(-3, 3, 100)[None, :, None])
    uniform = tf.fill([1, 100], tf.constant(-np.log(100.0), tf.float64))
    for threshold, resampled in ((0.0, False), (0.5, True), (1.0, True)):
        pf = ParticleFilter(model, 100, resample_threshold=threshold, dtype=tf.float64)
        belief, _ = pf.update(ParticleBelief(particles, uniform), tf.constant([[2.0]], tf.float64))
        same = np.array_equal(belief.particles.numpy(), particles.numpy())
        assert same != resampled
        np.testing.assert_allclose(tf.reduce_logsumexp(belief.log_weights, 1), [0.0], atol=1e-9)
    # A mild observation keeps the ESS above half: no resampling at 0.5.
    pf = ParticleFilter(model, 100, observation_noise=np.eye(1) * 100.0, dtype=tf.float64)
    belief, _ = pf.update(ParticleBelief(particles, uniform), tf.constant([[0.0]], tf.float64))
    np.testing.assert_array_equal(belief.particles, particles)


def test_particle_filter_survives_an_observation_far_from_every_particle():
    model = _Linear(np.eye(1), np.zeros((1, 1)), np.eye(1), np.eye(1) * 0.01, np.eye(1) * 1e-6)
    pf = ParticleFilter(model, 50, dtype=tf.float32)
    belief = pf.initial_belief(2, seed=[0, 0])
    # exp(-(1e4)² / 2e-6) underflows every weight; log-sum-exp does not.
    belief, log_likelihood = pf.update(belief, tf.constant([[1e4], [0.5]]), seed=[0, 1])
    assert np.all(np.isfinite(belief.particles)) and np.all(np.isfinite(belief.log_weights))
    assert np.all(np.isfinite(log_likelihood.numpy()))
    assert log_likelihood[0] < -1e12
    # A NaN observation keeps the belief, counts 0 and warns once; validate_args raises.
    with pytest.warns(SkippedObservationWarning, match="observation of batch row 0"):
        nan_belief, nan_ll = pf.update(belief, tf.constant([[np.nan], [0.5]]), seed=[0, 2])
    assert nan_ll[0] == 0.0 and np.isfinite(nan_ll[1])
    np.testing.assert_array_equal(nan_belief.log_weights[0], belief.log_weights[0])
    strict = ParticleFilter(model, 50, validate_args=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`observation` must be finite"):
        strict.update(belief, tf.constant([[np.nan], [0.5]]), seed=[0, 2])


@pytest.mark.parametrize("estimator", ["kf", "ekf", "ukf"])
def test_a_non_finite_observation_is_skipped_not_folded_into_the_belief(estimator):
    """One broken reading (NaN, inf) leaves that system's belief as predicted, forever finite;
    the other systems and later readings update as usual. `validate_args` refuses it."""
    a, b, c, q, r, mean0, cov0 = _random_system(3)
    make = {
        "kf": lambda **kw: KalmanFilter(a, c, q, r, b, mean0, cov0, dtype=tf.float64, **kw),
        "ekf": lambda **kw: ExtendedKalmanFilter(
            _Linear(a, b, c, q, r), initial_mean=mean0, initial_covariance=cov0,
            dtype=tf.float64, **kw),
        "ukf": lambda **kw: UnscentedKalmanFilter(
            _Linear(a, b, c, q, r), initial_mean=mean0, initial_covariance=cov0,
            dtype=tf.float64, **kw),
    }[estimator]  # fmt: skip
    estimator = make()
    _, ys = _simulate(a, None, c, q, r, mean0, cov0, 6, 3, 0)
    broken = ys.copy()
    broken[0, 2, 1], broken[2, 2, 0] = np.nan, np.inf  # system 0 at t=2, system 2 at t=2
    prior = estimator.initial_belief(3)
    beliefs = {}
    for name, observations in (("clean", ys), ("broken", broken)):
        belief = prior
        for t in range(6):
            belief = estimator.predict(belief) if t else belief
            if name == "broken" and t == 2:
                # Skipped, and said once (before, silently, with a NaN log-likelihood).
                with pytest.warns(SkippedObservationWarning, match=r"batch row 0 was not finite"):
                    updated, log_likelihood = estimator.update(belief, observations[:, t])
                # The broken rows keep the predicted belief exactly, and count 0.
                for row in (0, 2):
                    np.testing.assert_array_equal(updated.mean[row], belief.mean[row])
                    np.testing.assert_array_equal(updated.covariance[row], belief.covariance[row])
                np.testing.assert_array_equal(log_likelihood.numpy()[[0, 2]], 0.0)
                assert np.isfinite(log_likelihood.numpy()[1])
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # clean readings, and later ones: no warning
                    updated, log_likelihood = estimator.update(belief, observations[:, t])
            belief = updated
        beliefs[name] = belief
    assert np.all(np.isfinite(beliefs["broken"].mean)) and np.all(
        np.isfinite(beliefs["broken"].covariance)
    )
    # The unbroken system is untouched by the others' bad readings.
    np.testing.assert_allclose(beliefs["broken"].mean[1], beliefs["clean"].mean[1], rtol=1e-12)
    assert not np.allclose(beliefs["broken"].mean[0], beliefs["clean"].mean[0])
    strict = make(validate_args=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`observation` must be finite"):
        strict.update(prior, broken[:, 2])
    # In one compiled loop the sum of log-likelihoods stays finite, and `filter` warns on return.
    fresh = make()
    with pytest.warns(SkippedObservationWarning, match=r"batch row 0"):
        result = fresh.filter(broken)
    totals = result.log_likelihoods.numpy().sum(axis=1)
    assert np.all(np.isfinite(totals)) and result.log_likelihoods.numpy()[0, 2] == 0.0


def test_covariances_stay_symmetric_positive_definite_over_a_long_run():
    a, _, c, q, r, mean0, cov0 = _random_system(7)
    _, ys = _simulate(a, None, c, q, r, mean0, cov0, 500, 2, 3)
    result = KalmanFilter(a, c, q, r, dtype=tf.float32).filter(ys)
    covariances = result.covariances.numpy()
    np.testing.assert_array_equal(covariances, np.swapaxes(covariances, -1, -2))
    assert np.linalg.eigvalsh(covariances.astype(np.float64)).min() > 0


def test_nees_of_the_kalman_filter_is_consistent():
    # 200 independent runs: the average NEES at each step is χ²(n·200)/200.
    a, _, c, q, r, mean0, cov0 = _random_system(8)
    xs, ys = _simulate(a, None, c, q, r, mean0, cov0, 50, 200, 4)
    result = KalmanFilter(a, c, q, r, initial_mean=mean0, initial_covariance=cov0,
                          dtype=tf.float64).filter(ys)  # fmt: skip
    error = xs - result.means.numpy()
    nees = np.einsum("bti,btij,btj->bt", error, np.linalg.inv(result.covariances), error)
    assert abs(nees.mean() - 4.0) < 0.15  # χ²(4·200·50)/(200·50): sd 0.028
    scipy_stats = pytest.importorskip("scipy.stats")
    low, high = scipy_stats.chi2.ppf([0.025, 0.975], 4 * 200) / 200
    inside = np.mean((nees.mean(0) > low) & (nees.mean(0) < high))
    assert inside >= 0.85


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"process_noise": [[1.0, 0.5], [0.0, 1.0]]}, "`process_noise` must be symmetric"),
        ({"observation_noise": [[-1.0]]}, "`observation_noise` must be positive definite"),
        ({"observation_noise": np.eye(2)}, "`observation_noise` must be a \\[1, 1\\]"),
        ({"initial_covariance": np.zeros((2, 2))}, "`initial_covariance` must be positive"),
        ({"initial_mean": [0.0]}, "`initial_mean` must hold 2"),
    ],
)
def test_bad_covariances_and_means_are_rejected_at_construction(kwargs, message):
    arguments = {"process_noise": np.eye(2), "observation_noise": np.eye(1)} | kwargs
    with pytest.raises(ValueError, match=message):
        KalmanFilter(np.eye(2), np.ones((1, 2)), **arguments)


def test_observations_that_do_not_fit_the_model_are_named():
    kf = KalmanFilter(np.eye(2), np.ones((1, 2)), np.eye(2), np.eye(1))
    with pytest.raises(ValueError, match="`observation` must have shape \\[\\?, 1\\]"):
        kf.update(kf.initial_belief(3), tf.zeros([3, 2]))
    with pytest.raises(ValueError, match="`observations` must have shape \\[\\?, \\?, 1\\]"):
        kf.filter(np.zeros((3, 5, 2)))
    task = rf.models.PartiallyObserved(rf.models.Pendulum(), observe=[0])
    with pytest.raises(ValueError, match="covariances are needed"):
        UnscentedKalmanFilter(task)
    with pytest.raises(TypeError, match="must be linear"):
        KalmanFilter.from_model(task)


def test_validate_args_catches_a_non_finite_observation_in_a_graph():
    kf = KalmanFilter(np.eye(2), np.ones((1, 2)), np.eye(2), np.eye(1), validate_args=True)
    update = tf.function(kf.update)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`observation` must be finite"):
        update(kf.initial_belief(1), tf.constant([[np.inf]]))


def test_kalman_filter_from_a_partially_observed_linear_model():
    model = rf.models.PartiallyObserved(
        rf.models.PointMass2D(), observe=[0, 1], observation_noise=np.eye(2) * 0.1,
        process_noise=np.eye(4) * 0.01,
    )  # fmt: skip
    kf = KalmanFilter.from_model(model, dtype=tf.float64)
    np.testing.assert_allclose(kf.observation_matrix, np.eye(4)[:2])
    ekf = ExtendedKalmanFilter(model, initial_mean=np.zeros(4), initial_covariance=np.eye(4),
                               dtype=tf.float64)  # fmt: skip
    kf = KalmanFilter.from_model(model, initial_mean=np.zeros(4), initial_covariance=np.eye(4),
                                 dtype=tf.float64)  # fmt: skip
    ys = np.random.default_rng(0).normal(size=(2, 10, 2))
    actions = np.random.default_rng(1).uniform(-1, 1, size=(2, 10, 2))
    np.testing.assert_allclose(ekf.filter(ys, actions).means, kf.filter(ys, actions).means,
                               atol=1e-10)  # fmt: skip


def test_gaussian_belief_sampling_has_the_belief_moments():
    kf = KalmanFilter(np.eye(2), np.ones((1, 2)), np.eye(2), np.eye(1), dtype=tf.float64)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    belief = GaussianBelief(tf.constant([[1.0, -1.0]], tf.float64), tf.constant(cov[None]))
    samples = kf.sample(belief, 20_000, tf.constant([1, 2]))[0].numpy()
    np.testing.assert_allclose(samples.mean(0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.06)


@pytest.mark.parametrize("estimator", ["ekf", "ukf", "pf"])
def test_nonlinear_filters_are_equal_eagerly_and_inside_tf_function(estimator, mode):
    task = rf.models.PartiallyObserved(
        rf.models.Pendulum(), observe=[0], observation_noise=[[0.01]],
        process_noise=np.diag([1e-4, 1e-3]),
    )  # fmt: skip
    make = {
        "ekf": lambda: ExtendedKalmanFilter(task, dtype=tf.float64),
        "ukf": lambda: UnscentedKalmanFilter(task, dtype=tf.float64),
        "pf": lambda: ParticleFilter(task, 64, dtype=tf.float64),
    }
    estimator = make[estimator]()

    def steps(observations, actions):
        belief = estimator.initial_belief(2, seed=tf.constant([0, 1]))
        means, likelihoods = [], []
        for t in range(5):
            belief, ll = estimator.update(belief, observations[:, t], tf.constant([t, 2]))
            means.append(estimator.mean(belief))
            likelihoods.append(ll)
            belief = estimator.predict(belief, actions[:, t], tf.constant([t, 3]))
        return tf.stack(means, 1), tf.stack(likelihoods, 1)

    observations = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 1)))
    actions = tf.constant(np.random.default_rng(1).uniform(-2, 2, size=(2, 5, 1)))
    means, likelihoods = run(steps, mode, observations, actions)
    reference = tf.nest.map_structure(lambda t: t.numpy(), steps(observations, actions))
    np.testing.assert_allclose(means, reference[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(likelihoods, reference[1], rtol=1e-10, atol=1e-12)
    assert np.all(np.isfinite(means)) and np.all(np.isfinite(likelihoods))


def test_nees_is_the_squared_mahalanobis_error():
    covariance = np.array([[2.0, 0.5], [0.5, 1.0]])
    error = np.array([1.0, -2.0])
    expected = error @ np.linalg.inv(covariance) @ error
    values = rf.estimation.nees(
        np.tile(error, (3, 1)), np.zeros((3, 2)), np.tile(covariance, (3, 1, 1))
    )
    np.testing.assert_allclose(values, [expected] * 3)
