"""GHK simulator and its draws, against scipy's multivariate normal CDF and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from choicemodels.kernels.draws import uniform_draws
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
