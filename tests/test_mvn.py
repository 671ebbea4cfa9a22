"""Covariance structures, differencing, Cholesky derivative and bivariate normal CDF."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special
from scipy.stats import multivariate_normal

from choicemodels.kernels.mvn import (
    bvn_cdf,
    bvn_log_cdf,
    bvn_log_cdf_grad,
    cholesky_derivative,
    cov_param_names,
    cov_start,
    diff_covariance,
    difference_matrix,
    n_cov_params,
)

STRUCTURES = ["iid", "heteroskedastic", "unstructured"]


def _random_theta(structure, n_alts, seed):
    rng = np.random.default_rng(seed)
    return cov_start(structure, n_alts) + 0.4 * rng.normal(size=n_cov_params(structure, n_alts))


def test_iid_is_identity_plus_ones():
    omega, d_omega = diff_covariance(np.empty(0), "iid", 4)
    np.testing.assert_array_equal(omega, np.eye(3) + 1.0)
    assert d_omega.shape == (0, 3, 3)


def test_heteroskedastic_matches_differenced_full_covariance():
    # Omega computed directly as cov(e_j - e_ref) from diag(s^2), ref = 1
    theta = np.array([0.3, -0.5, 0.2])
    s2 = np.exp(2 * np.r_[theta[0], 0.0, theta[1:]])
    full = np.diag(s2)
    keep = [0, 2, 3]
    expected = np.array(
        [[full[j, k] - full[j, 1] - full[1, k] + full[1, 1] for k in keep] for j in keep]
    )
    omega, _ = diff_covariance(theta, "heteroskedastic", 4)
    np.testing.assert_allclose(omega, expected, rtol=1e-14)


@pytest.mark.parametrize("n_alts", [3, 4, 5])
def test_unstructured_normalisation_and_start(n_alts):
    omega, _ = diff_covariance(cov_start("unstructured", n_alts), "unstructured", n_alts)
    np.testing.assert_allclose(omega, (np.eye(n_alts - 1) + 1.0) / 2.0, atol=1e-14)
    for seed in range(5):
        omega, _ = diff_covariance(_random_theta("unstructured", n_alts, seed), "unstructured", n_alts)
        assert omega[0, 0] == pytest.approx(1.0, abs=1e-15)
        assert np.linalg.eigvalsh(omega).min() > 0


def test_parameter_counts_and_names():
    assert [n_cov_params(s, 4) for s in STRUCTURES] == [0, 3, 5]
    assert n_cov_params("unstructured", 2) == 0
    labels = ["air", "bus", "car", "train"]
    assert cov_param_names("heteroskedastic", labels, ref=2) == [
        "log_sd(air)", "log_sd(bus)", "log_sd(train)"
    ]
    names = cov_param_names("unstructured", labels, ref=0)
    assert names == [
        "L(car,bus)", "log_L(car,car)", "L(train,bus)", "L(train,car)", "log_L(train,train)"
    ]


@pytest.mark.parametrize("structure", ["heteroskedastic", "unstructured"])
def test_covariance_derivatives_match_finite_differences(structure):
    n_alts, eps = 5, 1e-6
    theta = _random_theta(structure, n_alts, 3)
    _, d_omega = diff_covariance(theta, structure, n_alts)
    for p in range(theta.size):
        step = eps * np.eye(theta.size)[p]
        fd = (
            diff_covariance(theta + step, structure, n_alts)[0]
            - diff_covariance(theta - step, structure, n_alts)[0]
        ) / (2 * eps)
        np.testing.assert_allclose(d_omega[p], fd, rtol=1e-7, atol=1e-9)


def test_difference_matrix_gives_covariance_against_chosen():
    # cov(e_j - e_c, e_k - e_c) = S_jk - S_jc - S_ck + S_cc from a full covariance S
    rng = np.random.default_rng(1)
    n_alts, ref, chosen, others = 5, 1, 3, np.array([0, 2, 4])
    a = rng.normal(size=(n_alts, n_alts))
    full = a @ a.T
    rest = [j for j in range(n_alts) if j != ref]
    omega = np.array(
        [[full[j, k] - full[j, ref] - full[ref, k] + full[ref, ref] for k in rest] for j in rest]
    )
    expected = np.array(
        [
            [full[j, k] - full[j, chosen] - full[chosen, k] + full[chosen, chosen] for k in others]
            for j in others
        ]
    )
    diff = difference_matrix(chosen, others, ref, n_alts)
    np.testing.assert_allclose(diff @ omega @ diff.T, expected, rtol=1e-12)


def test_cholesky_derivative_matches_finite_differences():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 4))
    sigma = a @ a.T + np.eye(4)
    perturb = rng.normal(size=(3, 4, 4))
    perturb = perturb + perturb.transpose(0, 2, 1)
    d_chol = cholesky_derivative(np.linalg.cholesky(sigma), perturb)
    eps = 1e-6
    for p in range(3):
        fd = (
            np.linalg.cholesky(sigma + eps * perturb[p])
            - np.linalg.cholesky(sigma - eps * perturb[p])
        ) / (2 * eps)
        np.testing.assert_allclose(d_chol[p], fd, rtol=1e-6, atol=1e-8)


def test_bvn_cdf_matches_scipy():
    rng = np.random.default_rng(3)
    h = np.r_[rng.normal(0, 1.5, 40), 0.0, 0.0, -1.0, 1.2, 0.0]
    k = np.r_[rng.normal(0, 1.5, 40), 0.7, -0.4, 0.0, 0.0, 0.0]
    rho = np.r_[rng.uniform(-0.95, 0.95, 40), 0.3, -0.6, 0.5, -0.2, 0.8]
    ours = bvn_cdf(h, k, rho)
    ref = np.array(
        [
            multivariate_normal.cdf([hi, ki], cov=[[1, r], [r, 1]], abseps=1e-12, releps=1e-12, rng=0)
            for hi, ki, r in zip(h, k, rho)
        ]
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-12)


def test_bvn_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    h, k, rho = rng.normal(size=20), rng.normal(size=20), rng.uniform(-0.9, 0.9, 20)
    _, d_h, d_k, d_rho = bvn_log_cdf_grad(h, k, rho)
    eps = 1e-5  # Owen's T is accurate to a few ulps: keep rounding noise in the FD small
    for analytic, idx in ((d_h, 0), (d_k, 1), (d_rho, 2)):
        up = [h, k, rho]
        down = [h, k, rho]
        up[idx] = up[idx] + eps
        down[idx] = down[idx] - eps
        fd = (np.log(bvn_cdf(*up)) - np.log(bvn_cdf(*down))) / (2 * eps)
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-9)


def _log_bvn_by_adaptive_quadrature(h, k, rho):
    """log Phi_2 from int_{-inf}^h phi(x) Phi((k - rho x)/sqrt(1 - rho^2)) dx by QUADPACK,
    the integrand scaled by its largest value so that nothing underflows."""
    root = np.sqrt(1 - rho**2)

    def log_f(x):
        return stats_log_phi(x) + special.log_ndtr((k - rho * x) / root)

    t = np.r_[0.0, np.geomspace(1e-6, 60, 40)]
    top = log_f(h - np.r_[t, np.geomspace(1e-9, 60, 2000)]).max()
    pieces = [integrate.quad(lambda s: np.exp(log_f(h - s) - top), a, b, epsabs=0, epsrel=1e-13)[0]
              for a, b in zip(t, np.r_[t[1:], np.inf])]
    return top + np.log(sum(pieces))


def stats_log_phi(x):
    return -0.5 * x**2 - 0.5 * np.log(2 * np.pi)


def test_bvn_log_cdf_stays_accurate_where_the_cdf_underflows():
    # Owen's T gives Phi_2 to ~1e-16 absolute: 0 for these, whose log is -14 .. -2000
    rng = np.random.default_rng(5)
    h = np.r_[rng.normal(-6, 3, 30), -13.1, -10.0, -40.0, 5.0]
    k = np.r_[rng.normal(-3, 3, 30), -1.0, -10.0, 3.0, -8.0]
    rho = np.r_[rng.uniform(-0.97, 0.97, 30), 0.5, 0.99, -0.8, 0.7]
    ref = np.array([_log_bvn_by_adaptive_quadrature(*a) for a in zip(h, k, rho)])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        ours = bvn_log_cdf(h, k, rho)
    assert ref.min() < -1000 and np.sum(bvn_cdf(h, k, rho) == 0) > 10
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    # and it is the log of Owen's T where that is accurate
    h, k, rho = rng.normal(0, 1.5, 40), rng.normal(0, 1.5, 40), rng.uniform(-0.95, 0.95, 40)
    bulk = bvn_cdf(h, k, rho) >= 1e-6
    np.testing.assert_allclose(bvn_log_cdf(h, k, rho)[bulk], np.log(bvn_cdf(h, k, rho)[bulk]),
                               rtol=1e-13)


def test_bvn_log_cdf_tail_with_correlation_near_one():
    # rho -> 1 makes Phi((k - rho x)/r) a step of width r = sqrt(1 - rho^2); with the step
    # inside the range of integration the log-space rule erred by 5e-3 (rho = 0.9999).
    # Reference: scipy's TVPACK, to about 1e-16 absolute, so P in [1e-10, 1e-6].
    rng = np.random.default_rng(9)
    h, k = rng.uniform(-6.0, 3.0, (2, 4000))
    rho = np.repeat([0.999, 0.9999], 2000)
    tail = (bvn_cdf(h, k, rho) > 1e-10) & (bvn_cdf(h, k, rho) < 1e-6)
    h, k, rho = h[tail][::4], k[tail][::4], rho[tail][::4]
    assert len(h) > 40
    ref = [multivariate_normal.cdf([a, b], cov=[[1, r], [r, 1]], abseps=1e-300, releps=1e-14)
           for a, b, r in zip(h, k, rho)]
    np.testing.assert_allclose(np.exp(bvn_log_cdf(h, k, rho)), ref, rtol=1e-6)  # measured 1e-7


def test_bvn_gradient_stays_finite_and_exact_in_the_far_tail():
    h, k, rho = np.array([-13.0, -9.0, -30.0]), np.array([-1.0, -9.5, 2.0]), np.array([0.5, -0.3, 0.8])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        _, d_h, d_k, d_rho = bvn_log_cdf_grad(h, k, rho)
    eps = 1e-6
    for analytic, idx in ((d_h, 0), (d_k, 1), (d_rho, 2)):
        up, down = [h, k, rho], [h, k, rho]
        up[idx], down[idx] = up[idx] + eps, down[idx] - eps
        fd = (bvn_log_cdf(*up) - bvn_log_cdf(*down)) / (2 * eps)
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-7)  # log P ~ -500
