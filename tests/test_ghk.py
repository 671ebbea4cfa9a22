"""GHK simulator and its draws, against scipy's multivariate normal CDF and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from choicemodels.kernels.draws import keyed_rotated_draws, uniform_draws
from choicemodels.kernels.ghk import ghk_log_prob


def _random_problem(m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, m))
    sigma = a @ a.T + 0.5 * np.eye(m)
    b = rng.normal(0.5, 1.0, size=(n, m))
    return b, sigma


def _scipy_probs(b, sigma):
    # Genz's algorithm to an absolute error of 1e-6, far below the simulation errors tested
    return np.array(
        [multivariate_normal.cdf(row, cov=sigma, abseps=1e-6, releps=0, rng=0) for row in b]
    )


# ---- draws -----------------------------------------------------------------------------


@pytest.mark.parametrize("sequence", ["halton", "sobol", "pseudo"])
def test_draws_shape_range_and_reproducibility(sequence):
    u = uniform_draws(7, 3, 20, sequence=sequence, rng=4)
    assert u.shape == (7, 20, 3)
    assert u.min() > 0 and u.max() < 1
    np.testing.assert_array_equal(u, uniform_draws(7, 3, 20, sequence=sequence, rng=4))
    assert not np.array_equal(u, uniform_draws(7, 3, 20, sequence=sequence, rng=5))


@pytest.mark.parametrize("sequence", ["halton", "sobol"])
def test_qmc_blocks_are_evenly_spread(sequence):
    # every situation's block of R points has near-exact marginal means (QMC), unlike
    # pseudo-random points whose block means scatter by about 0.29 / sqrt(R)
    u = uniform_draws(50, 2, 256, sequence=sequence, rng=0)
    qmc_err = np.abs(u.mean(axis=1) - 0.5).max()
    pseudo = uniform_draws(50, 2, 256, sequence="pseudo", rng=0)
    assert qmc_err < 0.2 * np.abs(pseudo.mean(axis=1) - 0.5).max()


def test_antithetic_draws_mirror():
    u = uniform_draws(4, 2, 7, sequence="pseudo", antithetic=True, rng=1)
    assert u.shape == (4, 7, 2)
    np.testing.assert_allclose(u[:, 4:], 1.0 - u[:, :3], atol=1e-15)


def test_zero_dimensions():
    assert uniform_draws(5, 0, 10, rng=0).shape == (5, 10, 0)


# ---- GHK values ------------------------------------------------------------------------


def test_one_dimension_is_exact_normal_cdf():
    b = np.linspace(-40, 6, 30)[:, None]
    u = uniform_draws(30, 0, 5, rng=0)
    log_p, _, _ = ghk_log_prob(b, np.array([[1.7]]), u)
    np.testing.assert_allclose(log_p, norm.logcdf(b[:, 0] / 1.7), rtol=1e-13)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_ghk_matches_scipy(m):
    b, sigma = _random_problem(m, 6, seed=m)
    u = uniform_draws(6, m - 1, 4000, sequence="halton", rng=0)
    log_p, _, _ = ghk_log_prob(b, np.linalg.cholesky(sigma), u)
    # simulation error at R = 4000 (scrambled Halton) is below 5e-5 here
    np.testing.assert_allclose(np.exp(log_p), _scipy_probs(b, sigma), atol=2e-4)


def _rmse(b, chol, ref, sequence, n_draws, reps=20):
    errors = [
        np.exp(ghk_log_prob(b, chol, uniform_draws(len(b), b.shape[1] - 1, n_draws,
                                                   sequence=sequence, rng=seed))[0]) - ref
        for seed in range(reps)
    ]
    return np.sqrt(np.mean(np.square(errors)))


def test_error_shrinks_with_draws_and_qmc_beats_pseudo():
    b, sigma = _random_problem(4, 8, seed=11)
    chol = np.linalg.cholesky(sigma)
    ref = _scipy_probs(b, sigma)
    rmse = {
        (seq, r): _rmse(b, chol, ref, seq, r)
        for seq in ("pseudo", "halton", "sobol")
        for r in (32, 512)
    }
    for seq in ("pseudo", "halton", "sobol"):
        # Monte Carlo rate alone gives a factor 1/4 for 16 times the draws
        assert rmse[seq, 512] < 0.5 * rmse[seq, 32]
    assert rmse["halton", 512] < 0.3 * rmse["pseudo", 512]
    assert rmse["sobol", 512] < 0.3 * rmse["pseudo", 512]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_error_rates_accuracy_study(seed):
    # larger version: more situations and replications, R from 64 to 2048
    b, sigma = _random_problem(4, 25, seed=100 + seed)
    chol = np.linalg.cholesky(sigma)
    ref = np.array(
        [multivariate_normal.cdf(row, cov=sigma, abseps=1e-7, releps=0, rng=0) for row in b]
    )
    for seq in ("pseudo", "halton", "sobol"):
        small, large = (_rmse(b, chol, ref, seq, r, reps=50) for r in (64, 2048))
        assert large < 0.35 * small  # 32 times the draws: Monte Carlo alone gives 0.18
    pseudo, halton, sobol = (_rmse(b, chol, ref, seq, 2048, reps=50)
                             for seq in ("pseudo", "halton", "sobol"))
    assert halton < 0.2 * pseudo and sobol < 0.2 * pseudo


def test_far_tail_stays_finite():
    b = np.array([[-30.0, -30.0, 1.0]])
    _, sigma = _random_problem(3, 1, seed=2)
    log_p, d_b, d_chol = ghk_log_prob(b, np.linalg.cholesky(sigma), uniform_draws(1, 2, 50, rng=0),
                                      grad=True)
    assert np.isfinite(log_p).all() and log_p[0] < -400
    assert np.isfinite(d_b).all() and np.isfinite(d_chol).all()


# ---- GHK gradient ----------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3, 4])
def test_ghk_gradient_matches_finite_differences_of_same_draws(m):
    b, sigma = _random_problem(m, 6, seed=20 + m)
    chol = np.linalg.cholesky(sigma)
    u = uniform_draws(6, m - 1, 200, rng=3)
    _, d_b, d_chol = ghk_log_prob(b, chol, u, grad=True)
    eps = 1e-6
    for k in range(m):
        step = np.zeros(m)
        step[k] = eps
        fd = (ghk_log_prob(b + step, chol, u)[0] - ghk_log_prob(b - step, chol, u)[0]) / (2 * eps)
        np.testing.assert_allclose(d_b[:, k], fd, rtol=1e-6, atol=1e-9)
    for k in range(m):
        for l in range(k + 1):
            step = np.zeros((m, m))
            step[k, l] = eps
            fd = (ghk_log_prob(b, chol + step, u)[0] - ghk_log_prob(b, chol - step, u)[0]) / (2 * eps)
            np.testing.assert_allclose(d_chol[:, k, l], fd, rtol=1e-6, atol=1e-9)
    assert not np.triu(d_chol, 1).any()


# ---- compiled pieces, threads ----------------------------------------------------------


def test_normal_quantile_matches_scipy_in_both_tails():
    from scipy import special

    from choicemodels.kernels.ghk import _ndtri, _ndtri_log

    p = np.concatenate([np.logspace(-279, -1.2, 400), np.linspace(0.06, 0.94, 400),
                        1.0 - np.logspace(-15, -1.2, 400)])
    ours = np.array([_ndtri(x) for x in p])
    np.testing.assert_allclose(ours, special.ndtri(p), rtol=4e-15, atol=1e-15)
    log_p = -np.logspace(np.log10(2.7), 5, 400)  # p from 0.067 down to exp(-100000)
    ours = np.array([_ndtri_log(x) for x in log_p])
    np.testing.assert_allclose(ours, special.ndtri_exp(log_p), rtol=1e-12)


@pytest.mark.parametrize("grad", [False, True])
def test_threads_give_identical_results(grad):
    # each situation's result depends on its own row only, so any split gives the same
    # bits, and the sums over situations (taken in row order) are identical
    b, sigma = _random_problem(5, 203, seed=8)
    u = uniform_draws(203, 4, 64, rng=2)
    one = ghk_log_prob(b, np.linalg.cholesky(sigma), u, grad=grad, threads=1)
    for threads in (2, 3, 7):
        many = ghk_log_prob(b, np.linalg.cholesky(sigma), u, grad=grad, threads=threads)
        for x, y in zip(one, many):
            if x is not None:
                np.testing.assert_array_equal(x, y)
                assert x.sum() == y.sum()


def test_rows_select_the_draws_without_copying_them():
    b, sigma = _random_problem(3, 6, seed=9)
    chol = np.linalg.cholesky(sigma)
    u = uniform_draws(10, 2, 50, rng=1)
    rows = np.array([7, 0, 3, 3, 9, 1])
    picked = ghk_log_prob(b, chol, u, rows=rows, grad=True)
    copied = ghk_log_prob(b, chol, u[rows], grad=True)
    for x, y in zip(picked, copied):
        np.testing.assert_array_equal(x, y)
    other = ghk_log_prob(b, chol, u[rows[::-1]])[0]
    assert not np.allclose(picked[0], other)


@pytest.mark.parametrize("antithetic", [False, True])
def test_rotated_draws_are_formed_in_the_kernel_as_their_array(antithetic):
    # the kernel rotates and mirrors each draw where it uses it: the same numbers as the
    # expanded (N, R, D) array, bit for bit
    b, sigma = _random_problem(4, 6, seed=10)
    chol = np.linalg.cholesky(sigma)
    keys = np.arange(10, dtype=np.uint64) * 977
    lazy = keyed_rotated_draws(keys, 3, 51, sequence="sobol", antithetic=antithetic, rng=2)
    rows = np.array([7, 0, 3, 3, 9, 1])
    for x, y in zip(ghk_log_prob(b, chol, lazy, rows=rows, grad=True),
                    ghk_log_prob(b, chol, lazy.take(), rows=rows, grad=True)):
        np.testing.assert_array_equal(x, y)


def test_model_loglike_does_not_depend_on_threads(monkeypatch):
    from choicemodels.kernels import probit
    from choicemodels.kernels.mvn import cov_start, n_cov_params
    from choicemodels.kernels.probit import group_situations, probit_loglike

    monkeypatch.setattr(probit, "GHK_NUMPY_MAX_SIZE", 0)  # the compiled kernel on threads

    rng = np.random.default_rng(5)
    n_obs, n_alts = 300, 6
    X = rng.standard_normal((n_obs, n_alts, 3))
    groups = group_situations(rng.integers(0, n_alts, n_obs), np.ones((n_obs, n_alts), bool))
    theta = cov_start("unstructured", n_alts) + 0.2 * rng.standard_normal(
        n_cov_params("unstructured", n_alts))
    params = np.r_[0.5, -1.0, 0.3, theta]
    u = uniform_draws(n_obs, n_alts - 2, 40, rng=0)
    runs = [probit_loglike(params, X, groups, structure="unstructured", ref=0, method="ghk",
                           uniforms=u, grad=True, threads=t) for t in (1, 2, 4)]
    for ll, grad in runs[1:]:
        assert ll == runs[0][0]
        np.testing.assert_array_equal(grad, runs[0][1])


def test_singular_covariance_gives_minus_infinity_not_an_error():
    # log_L(d,d) = -800: Omega has a zero variance, the differenced covariance of the
    # situations choosing 'd' or another alternative is singular; GHK then reports
    # log P = -inf (an optimiser's line search shortens its step) instead of raising
    from choicemodels.kernels.mvn import cov_start
    from choicemodels.kernels.probit import group_situations, probit_loglike

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 4, 2))
    groups = group_situations(rng.integers(0, 4, 40), np.ones((40, 4), bool))
    theta = cov_start("unstructured", 4)
    u = uniform_draws(40, 2, 20, rng=0)
    options = {"structure": "unstructured", "ref": 0, "method": "ghk", "uniforms": u}
    ll, grad = probit_loglike(np.r_[0.5, -0.3, theta], X, groups, grad=True, **options)
    assert np.isfinite(ll) and np.isfinite(grad).all()
    theta[-1] = -800.0
    ll, grad = probit_loglike(np.r_[0.5, -0.3, theta], X, groups, grad=True, **options)
    assert ll == -np.inf


@pytest.mark.parametrize("grad", [False, True])
def test_numpy_route_equals_the_compiled_kernel(grad):
    """Small groups run the NumPy simulator (no compiler on first use): the same values and
    gradients as the compiled kernel, also in the far tail where products underflow."""
    from choicemodels.kernels.ghk_numpy import ghk_log_prob_numpy

    rng = np.random.default_rng(11)
    for m in (1, 2, 4):
        a = rng.standard_normal((m, m))
        chol = np.linalg.cholesky(a @ a.T + m * np.eye(m))
        b = rng.normal(0.0, 2.0, (30, m))
        b[:3] -= 40.0  # log P of order -800: the underflow branches
        u = uniform_draws(40, max(m - 1, 1), 64, rng=1)
        rows = rng.permutation(40)[:30]
        compiled = ghk_log_prob(b, chol, u, rows=rows, grad=grad)
        plain = ghk_log_prob_numpy(b, chol, u, rows=rows, grad=grad)
        assert plain[0][:3].max() < -300  # the tail rows are in the underflow branches
        np.testing.assert_allclose(plain[0], compiled[0], rtol=1e-12, atol=0)
        if grad:
            np.testing.assert_allclose(plain[1], compiled[1], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(plain[2], compiled[2], rtol=1e-9, atol=1e-12)
