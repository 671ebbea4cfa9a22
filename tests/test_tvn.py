"""The trivariate normal CDF (kernels/tvn.py) against closed forms, one-dimensional
integrals of scipy's bivariate normal CDF, and finite differences."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special
from scipy.stats import multivariate_normal

from choicemodels.kernels.mvn import bvn_log_cdf
from choicemodels.kernels.tvn import _tail_gradient, tvn_log_cdf, tvn_log_cdf_grad


def _random_correlations(rng, n, floor):
    w = rng.standard_normal((n, 3, 3)) * rng.uniform(0.2, 3.0, (n, 1, 1))
    cov = w @ w.transpose(0, 2, 1) + floor * np.eye(3)
    sd = np.sqrt(np.einsum("nii->ni", cov))
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    return np.stack([corr[:, 0, 1], corr[:, 0, 2], corr[:, 1, 2]], axis=1)


def _log_reference(h, r, shift=0.0):
    """log of int_{-inf}^{h_0} phi(x) Phi_2(h_1 | x, h_2 | x; r_12 | 0) dx, with scipy's
    bivariate CDF (Genz's TVPACK, accurate to rounding) and adaptive quadrature; the
    integrand is scaled by exp(-shift) so that tail values stay representable."""
    s1, s2 = np.sqrt(1 - r[0] ** 2), np.sqrt(1 - r[1] ** 2)
    partial = (r[2] - r[0] * r[1]) / (s1 * s2)
    cov = np.array([[1.0, partial], [partial, 1.0]])

    def integrand(x):
        inner = multivariate_normal.cdf([(h[1] - r[0] * x) / s1, (h[2] - r[1] * x) / s2],
                                        cov=cov, abseps=1e-15, releps=0)
        return np.exp(-0.5 * x * x - shift) * inner / np.sqrt(2 * np.pi)

    # the integrand is below exp(-40) of its maximum more than 9 to the left of it
    lower = min(h[0], 0.0) - 40.0
    return np.log(integrate.quad(integrand, lower, h[0], epsabs=0, epsrel=1e-11,
                                 limit=200)[0]) + shift


@pytest.mark.parametrize("rho", [-0.45, -0.2, 0.0, 0.3, 0.6, 0.95])
def test_equicorrelated_orthant_is_steck(rho):
    # P(x < 0) with equal correlations rho: 1/8 + 3 asin(rho) / (4 pi)
    log_p = tvn_log_cdf(np.zeros((1, 3)), np.full((1, 3), rho))[0]
    assert np.exp(log_p) == pytest.approx(0.125 + 3 * np.arcsin(rho) / (4 * np.pi), rel=1e-12)


def test_independent_and_singleton_cases_factorise():
    h = np.array([[0.3, -1.2, 2.0], [-3.0, 0.5, 1.0]])
    log_p = tvn_log_cdf(h, np.zeros((2, 3)))
    np.testing.assert_allclose(log_p, special.log_ndtr(h).sum(axis=1), rtol=1e-13)
    # variable 2 independent of a correlated pair: Phi_2 * Phi
    r = np.array([[0.7, 0.0, 0.0]])
    pair = multivariate_normal.cdf(h[0, :2], cov=[[1, 0.7], [0.7, 1]], abseps=1e-15, releps=0)
    assert tvn_log_cdf(h[:1], r)[0] == pytest.approx(np.log(pair) + special.log_ndtr(2.0),
                                                    rel=1e-12)


def test_against_integrated_bivariate_cdf():
    # random correlation matrices (determinants down to about 1e-3) and limits in [-4, 3]:
    # Plackett's integral where P >= 1e-8 (measured: relative error below 1e-10)
    rng = np.random.default_rng(7)
    r = _random_correlations(rng, 60, floor=0.01)
    h = rng.uniform(-3.0, 3.0, (60, 3))
    log_p = tvn_log_cdf(h, r)
    plackett = log_p > np.log(1e-8)  # the branch under test
    assert plackett.sum() > 50
    reference = np.array([_log_reference(a, b) for a, b in zip(h[plackett], r[plackett])])
    np.testing.assert_allclose(log_p[plackett], reference, rtol=0, atol=1e-9)


def test_close_to_singular_correlations():
    # determinants 1e-6 to 1e-2, where Plackett's integrand turns sharply near t = 1 (a
    # fixed 32-point rule erred by up to 3e-7 in P here; graded pieces: 3e-14 measured)
    rng = np.random.default_rng(11)
    r = _random_correlations(rng, 400, floor=1e-5)
    det = 1.0 + 2.0 * r.prod(axis=1) - (r**2).sum(axis=1)
    h = rng.uniform(-2.0, 2.0, (400, 3))
    keep = (det > 1e-6) & (det < 1e-2) & (tvn_log_cdf(h, r) > np.log(1e-6))
    h, r = h[keep][:12], r[keep][:12]
    assert len(h) == 12 and det[keep][:12].min() < 1e-4
    reference = np.array([_log_reference(a, b) for a, b in zip(h, r)])
    np.testing.assert_allclose(np.exp(tvn_log_cdf(h, r)), np.exp(reference), rtol=0,
                               atol=1e-12)


def _log_tail_reference(h, r, shift):
    """As :func:`_log_reference` for P far below the smallest double: the inner log CDF by
    :func:`~choicemodels.kernels.mvn.bvn_log_cdf` (checked against adaptive quadrature
    where it underflows in tests/test_mvn.py), the outer integral by scipy's adaptive
    quadrature in place of the module's bisection and Gauss-Legendre rule."""
    s1, s2 = np.sqrt(1 - r[0] ** 2), np.sqrt(1 - r[1] ** 2)
    partial = (r[2] - r[0] * r[1]) / (s1 * s2)

    def integrand(x):
        inner = bvn_log_cdf((h[1] - r[0] * x) / s1, (h[2] - r[1] * x) / s2, partial)
        return np.exp(-0.5 * x * x - 0.5 * np.log(2 * np.pi) + inner - shift)

    breaks = [h[0] - d for d in (40, 20, 10, 5, 2)]
    return np.log(sum(integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
                      for lo, hi in zip(breaks, breaks[1:] + [h[0]]))) + shift


def test_tail_against_integrated_bivariate_cdf():
    # below 1e-8, down to exp(-1000): the log-space integral (measured: within 1e-12
    # relative of the reference)
    rng = np.random.default_rng(8)
    r = _random_correlations(rng, 8, floor=0.05)
    h = rng.uniform(-12.0, -3.0, (8, 3))
    log_p = tvn_log_cdf(h, r)
    assert np.all(log_p < np.log(1e-8)) and log_p.min() < -100
    reference = np.array([_log_tail_reference(a, b, lp) for a, b, lp in zip(h, r, log_p)])
    np.testing.assert_allclose(log_p, reference, rtol=1e-10)


def test_close_to_singular_far_in_the_tail():
    # det R = 1.2e-5 and P = 3e-96: a fixed 32-point Plackett rule gave P = 1.4e-7 here;
    # the reference integrates over each of the three variables in turn
    h = np.array([0.3152083, 0.72111942, -0.95213815])
    r = np.array([-0.2540663, -0.25434858, -0.8707508])
    log_p = tvn_log_cdf(h[None], r[None])[0]
    corr = np.array([[1.0, r[0], r[1]], [r[0], 1.0, r[2]], [r[1], r[2], 1.0]])
    for first in range(3):
        order = [first] + [j for j in range(3) if j != first]
        sub = corr[np.ix_(order, order)]
        reference = _log_tail_reference(h[order], sub[[0, 0, 1], [1, 2, 2]], log_p)
        assert log_p == pytest.approx(reference, rel=1e-10)  # measured 6e-12


@pytest.mark.slow
def test_tail_against_mpmath():
    # two tail cases, nested mpmath quadrature at 25 digits (about 1 minute)
    mpmath.mp.dps = 25
    h = np.array([[-9.0, 2.0, -8.0], [-3.0, -3.0, -3.0]])
    r = np.array([[-0.5, 0.2, 0.7], [-0.4, -0.45, -0.3]])

    def points(a):
        return [-mpmath.inf] + [a - d for d in (30, 20, 14, 10, 7, 5, 3.5, 2.5, 1.5, 0.75)] + [a]

    def log_exact(h, r):
        h, r = [mpmath.mpf(float(v)) for v in h], [mpmath.mpf(float(v)) for v in r]
        s1, s2 = mpmath.sqrt(1 - r[0] ** 2), mpmath.sqrt(1 - r[1] ** 2)
        rho = (r[2] - r[0] * r[1]) / (s1 * s2)
        root = mpmath.sqrt(1 - rho**2)

        def outer(x):
            a1, a2 = (h[1] - r[0] * x) / s1, (h[2] - r[1] * x) / s2
            return mpmath.npdf(x) * mpmath.quad(
                lambda y: mpmath.npdf(y) * mpmath.ncdf((a2 - rho * y) / root), points(a1))

        return float(mpmath.log(mpmath.quad(outer, points(h[0]))))

    exact = [log_exact(a, b) for a, b in zip(h, r)]
    np.testing.assert_allclose(tvn_log_cdf(h, r), exact, rtol=1e-8)  # measured 1e-9


def _assert_gradient(h, r, step, rtol, atol):
    _, d_h, d_r = tvn_log_cdf_grad(h, r)
    for j in range(3):
        e = np.zeros(3)
        e[j] = step
        fd_h = (tvn_log_cdf(h + e, r) - tvn_log_cdf(h - e, r)) / (2 * step)
        fd_r = (tvn_log_cdf(h, r + e) - tvn_log_cdf(h, r - e)) / (2 * step)
        np.testing.assert_allclose(d_h[:, j], fd_h, rtol=rtol, atol=atol)
        np.testing.assert_allclose(d_r[:, j], fd_r, rtol=rtol, atol=atol)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_finite_differences(seed):
    # Plackett's branch, where its absolute error (about 1e-16) allows a step of 1e-6
    # (P >= 2e-6)
    rng = np.random.default_rng(seed)
    r = _random_correlations(rng, 8, floor=0.05)
    h = rng.uniform(-2.5, 2.5, (8, 3))
    keep = tvn_log_cdf(h, r) > np.log(2e-6)
    _assert_gradient(h[keep], r[keep], step=1e-6, rtol=1e-6, atol=1e-6)


def test_gradient_close_to_singular_matches_finite_differences():
    # determinants down to 5e-5: the derivatives in h in closed form (measured 3e-8)
    rng = np.random.default_rng(12)
    r = _random_correlations(rng, 3000, floor=1e-4)
    det = 1.0 + 2.0 * r.prod(axis=1) - (r**2).sum(axis=1)
    h = rng.uniform(-2.0, 2.0, (3000, 3))
    keep = (det < 1e-2) & (tvn_log_cdf(h, r) > np.log(1e-3))
    _assert_gradient(h[keep][:40], r[keep][:40], step=1e-6, rtol=0, atol=1e-6)


def test_differentiated_plackett_sum_is_the_closed_form():
    # where one Gauss-Legendre rule serves, d log P / dh is that sum differentiated;
    # against phi(h_j) Phi_2(k, l | j) / P with Owen's T (measured: 3e-16 in dP/dh)
    rng = np.random.default_rng(13)
    r = _random_correlations(rng, 2000, floor=0.2)
    h = rng.uniform(-3.0, 3.0, (2000, 3))
    log_p, d_h, _ = tvn_log_cdf_grad(h, r)
    keep = log_p > np.log(1e-8)
    closed, _ = _tail_gradient(h[keep], r[keep], log_p[keep])
    scale = np.exp(log_p[keep])[:, None]
    np.testing.assert_allclose(d_h[keep] * scale, closed * scale, rtol=0, atol=1e-14)


def test_gradient_in_the_tail_matches_finite_differences():
    # the log-space branch: log P down to -300 with a relative error of 1e-12, so a step
    # of 1e-5 differences it to about 1e-4 absolute
    rng = np.random.default_rng(5)
    r = _random_correlations(rng, 12, floor=0.05)
    h = rng.uniform(-10.0, -3.0, (12, 3))
    assert np.all(tvn_log_cdf(h, r) < np.log(1e-8))
    _assert_gradient(h, r, step=1e-5, rtol=1e-6, atol=1e-4)
