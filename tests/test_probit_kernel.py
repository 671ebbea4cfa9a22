"""Probit log-likelihood kernel: every method against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from choicemodels.kernels.draws import uniform_draws
from choicemodels.kernels.mvn import cov_start, diff_covariance, n_cov_params
from choicemodels.kernels.probit import (
    auto_method,
    choice_probabilities,
    group_situations,
    probit_loglike,
    probit_loglike_obs,
)
from choicemodels.kernels.quadrature import independent_log_prob


def _data(n_obs, n_alts, seed, missing=0.15):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_obs, n_alts, 2))
    chosen = rng.integers(0, n_alts, n_obs)
    avail = rng.random((n_obs, n_alts)) > missing
    avail[np.arange(n_obs), chosen] = True
    return X, chosen, avail


def _params(structure, n_alts, seed):
    rng = np.random.default_rng(seed)
    theta = cov_start(structure, n_alts) + 0.3 * rng.normal(size=n_cov_params(structure, n_alts))
    return np.r_[0.6, -0.4, theta]


def _full_covariance_probability(V, chosen, avail, full):
    """P(chosen) from a full J x J error covariance, differenced directly, by scipy."""
    others = [j for j in np.flatnonzero(avail) if j != chosen]
    if not others:
        return 1.0
    cov = np.array(
        [[full[j, k] - full[j, chosen] - full[chosen, k] + full[chosen, chosen] for k in others]
         for j in others]
    )
    upper = V[chosen] - V[others]
    # Genz's algorithm to an absolute error of 1e-6 (exact for one and two dimensions)
    return multivariate_normal.cdf(upper, cov=cov, abseps=1e-6, releps=0, rng=0)


# ---- quadrature ------------------------------------------------------------------------


@pytest.mark.parametrize("scale_chosen", [0.02, 1.0, 3.0, 60.0])
def test_quadrature_gradient_matches_finite_differences(scale_chosen):
    # scales from 0.05 to 2: ratios s_c / s_k from 0.01 to 1200, steep steps included
    rng = np.random.default_rng(7)
    b = rng.normal(0, 2.0, size=(5, 3))
    scales = np.array([0.05, 1.0, 2.0])

    def value(x):
        return independent_log_prob(x[:15].reshape(5, 3), x[15], x[16:])[0].sum()

    x = np.r_[b.ravel(), scale_chosen, scales]
    _, (d_b, d_c, d_s) = independent_log_prob(b, scale_chosen, scales, grad=True)
    numeric = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1e-6 * max(1.0, abs(x[k]))
        numeric.append((value(x + e) - value(x - e)) / (2 * e[k]))
    np.testing.assert_allclose(np.r_[d_b.ravel(), d_c.sum(), d_s.sum(axis=0)], numeric,
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_quadrature_matches_adaptive_quad(seed):
    rng = np.random.default_rng(seed)
    b = rng.normal(0, 2.5, size=(1, 4))
    s_c, s = np.exp(rng.normal(0, 0.3)), np.exp(rng.normal(0, 0.3, 4))
    log_p, _ = independent_log_prob(b, s_c, s)

    def integrand(z):
        return norm.pdf(z) * np.prod(norm.cdf((b[0] + s_c * z) / s))

    ref, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=500)
    np.testing.assert_allclose(np.exp(log_p[0]), ref, rtol=1e-10, atol=1e-14)


def test_compiled_gauss_hermite_is_the_numpy_rule(monkeypatch):
    # above _COMPILED_FROM (situations x nodes x alternatives) the rule runs compiled, row
    # by row on the package's threads: the numpy rule's sums (measured: 7e-15 relative)
    from choicemodels.kernels import quadrature

    rng = np.random.default_rng(11)
    b = rng.normal(0, 2.5, (5000, 4))
    s_c, s = 1.2, np.array([1.0, 0.9, 1.3, 1.1])
    assert b.size * quadrature._GAUSS_HERMITE_NODES > quadrature._COMPILED_FROM
    compiled = independent_log_prob(b, s_c, s, grad=True)
    monkeypatch.setattr(quadrature, "_COMPILED_FROM", np.inf)
    numpy_rule = independent_log_prob(b, s_c, s, grad=True)
    np.testing.assert_allclose(compiled[0], numpy_rule[0], rtol=1e-13)
    for x, y in zip(compiled[1], numpy_rule[1]):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14 * np.abs(y).max())


def test_compiled_normal_cdf_and_mills_ratio():
    # Phi = f e^s and lambda = phi/Phi of the compiled mapped rule (Cody's rational
    # approximations) against scipy: log Phi to rounding (relative below t = 0.5, absolute
    # above, where Phi is near one); lambda = sqrt(2/pi)/erfcx(-t/sqrt(2)), whose erfcx
    # loses a relative t^2 eps for t > 0
    from scipy import special

    from choicemodels.kernels.mapped_rule import _cdf

    t = np.r_[-np.logspace(5, -3, 400), np.linspace(-40, 40, 801)]
    f, s, lam = np.array([_cdf(x, True) for x in t]).T
    ref = special.log_ndtr(t)
    lower = t < 0.5
    np.testing.assert_allclose((s + np.log(f))[lower], ref[lower], rtol=2e-15, atol=0)
    np.testing.assert_allclose((s + np.log(f))[~lower], ref[~lower], rtol=0, atol=3e-16)
    keep = t < 30
    mills = np.sqrt(2 / np.pi) / special.erfcx(-t[keep] / np.sqrt(2))
    error = np.abs(lam[keep] / mills - 1) / (1 + np.maximum(t[keep], 0) ** 2)
    assert error.max() < 3e-15, (error.max(), t[keep][error.argmax()])
    assert np.array_equal(np.array([_cdf(x, False)[:2] for x in t]), np.c_[f, s])


@pytest.mark.parametrize("n_alts", [3, 4, 5])
@pytest.mark.parametrize("structure", ["iid", "heteroskedastic"])
def test_quadrature_matches_scipy_mvn(structure, n_alts):
    X, chosen, avail = _data(5, n_alts, seed=n_alts, missing=0.0)
    params = _params(structure, n_alts, seed=1)
    ref_alt = 1
    loglike, _ = probit_loglike_obs(params, X, group_situations(chosen, avail),
                                    structure=structure, ref=ref_alt, method="quadrature")
    sd = np.ones(n_alts)
    if structure == "heteroskedastic":
        sd[np.arange(n_alts) != ref_alt] = np.exp(params[2:])
    V = X @ params[:2]
    ref = [_full_covariance_probability(V[i], chosen[i], avail[i], np.diag(sd**2)) for i in range(5)]
    np.testing.assert_allclose(np.exp(loglike), ref, atol=3e-6)


# ---- closed forms ------------------------------------------------------------------------


def test_binary_probit_is_normal_cdf():
    X, chosen, avail = _data(30, 2, seed=3, missing=0.0)
    params = np.array([0.6, -0.4])
    V = X @ params
    other = 1 - chosen
    expected = norm.logcdf((V[np.arange(30), chosen] - V[np.arange(30), other]) / np.sqrt(2))
    for method in ("closed", "quadrature", "ghk"):
        loglike, _ = probit_loglike_obs(
            params, X, group_situations(chosen, avail), structure="iid", ref=0, method=method,
            uniforms=uniform_draws(30, 0, 10, rng=0),
        )
        np.testing.assert_allclose(loglike, expected, rtol=1e-12)


@pytest.mark.parametrize("structure", ["iid", "heteroskedastic", "unstructured"])
def test_closed_form_three_alternatives_matches_scipy(structure):
    X, chosen, avail = _data(12, 3, seed=5)
    params = _params(structure, 3, seed=2)
    loglike, _ = probit_loglike_obs(params, X, group_situations(chosen, avail),
                                    structure=structure, ref=0, method="closed")
    omega, _ = diff_covariance(params[2:], structure, 3)
    full = np.zeros((3, 3))
    full[1:, 1:] = omega  # a full covariance with these differences against alternative 0
    V = X @ params[:2]
    ref = [_full_covariance_probability(V[i], chosen[i], avail[i], full) for i in range(12)]
    np.testing.assert_allclose(np.exp(loglike), ref, atol=1e-8)


# ---- GHK inside the likelihood -------------------------------------------------------------


@pytest.mark.parametrize("n_alts", [3, 4, 5])
def test_ghk_loglike_close_to_exact(n_alts):
    X, chosen, avail = _data(40, n_alts, seed=7)
    groups = group_situations(chosen, avail)
    params = _params("heteroskedastic", n_alts, seed=3)
    u = uniform_draws(40, n_alts - 2, 2000, sequence="sobol", rng=1)
    ghk, _ = probit_loglike_obs(params, X, groups, structure="heteroskedastic", ref=0,
                                method="ghk", uniforms=u)
    exact, _ = probit_loglike_obs(params, X, groups, structure="heteroskedastic", ref=0,
                                  method="quadrature")
    np.testing.assert_allclose(np.exp(ghk), np.exp(exact), atol=3e-4)


def test_genz_matches_quadrature():
    X, chosen, avail = _data(8, 4, seed=9)
    groups = group_situations(chosen, avail)
    params = _params("heteroskedastic", 4, seed=4)
    kw = dict(structure="heteroskedastic", ref=2)
    genz, _ = probit_loglike(params, X, groups, method="genz", **kw)
    exact, _ = probit_loglike(params, X, groups, method="quadrature", **kw)
    assert genz == pytest.approx(exact, abs=1e-4)  # 8 situations, each P within 1e-6


# ---- gradients -----------------------------------------------------------------------------

CASES = [
    ("iid", "quadrature", 5),
    ("heteroskedastic", "quadrature", 5),
    ("iid", "closed", 3),
    ("heteroskedastic", "closed", 3),
    ("unstructured", "closed", 3),
    ("iid", "ghk", 5),
    ("heteroskedastic", "ghk", 5),
    ("unstructured", "ghk", 4),
    ("unstructured", "ghk", 5),
]


@pytest.mark.parametrize(("structure", "method", "n_alts"), CASES)
def test_gradient_matches_finite_differences(structure, method, n_alts):
    X, chosen, avail = _data(60, n_alts, seed=11)
    groups = group_situations(chosen, avail)
    params = _params(structure, n_alts, seed=5)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, 60)
    kw = dict(structure=structure, ref=1, method=method, weights=weights,
              uniforms=uniform_draws(60, n_alts - 2, 100, rng=2))
    _, grad = probit_loglike(params, X, groups, grad=True, **kw)
    eps = 1e-6
    fd = np.array([
        (probit_loglike(params + e, X, groups, **kw)[0] - probit_loglike(params - e, X, groups, **kw)[0])
        / (2 * eps)
        for e in eps * np.eye(params.size)
    ])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


def test_scores_sum_to_gradient_and_weights_apply():
    X, chosen, avail = _data(30, 4, seed=13)
    groups = group_situations(chosen, avail)
    params = _params("unstructured", 4, seed=6)
    kw = dict(structure="unstructured", ref=0, method="ghk", uniforms=uniform_draws(30, 2, 50, rng=0))
    obs, scores = probit_loglike_obs(params, X, groups, grad=True, **kw)
    w = np.arange(30.0)
    total, grad = probit_loglike(params, X, groups, weights=w, grad=True, **kw)
    assert total == pytest.approx(w @ obs, rel=1e-13)
    np.testing.assert_allclose(grad, w @ scores, rtol=1e-12)


# ---- probabilities -------------------------------------------------------------------------


@pytest.mark.parametrize(("structure", "method", "n_alts"),
                         [("iid", "quadrature", 5), ("heteroskedastic", "quadrature", 4),
                          ("unstructured", "closed", 3), ("unstructured", "genz", 4)])
def test_exact_probabilities_sum_to_one(structure, method, n_alts):
    X, _, avail = _data(10, n_alts, seed=17, missing=0.3)
    avail[0] = False
    avail[0, 1] = True  # a situation with a single alternative
    probs = choice_probabilities(_params(structure, n_alts, seed=7), X, avail,
                                 structure=structure, ref=0, method=method)
    assert (probs[~avail] == 0).all()
    assert probs[0, 1] == 1.0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5 if method == "genz" else 1e-12)


def test_ghk_probabilities_sum_close_to_one_and_match_exact():
    X, _, avail = _data(20, 5, seed=19)
    params = _params("heteroskedastic", 5, seed=8)
    kw = dict(structure="heteroskedastic", ref=0)
    ghk = choice_probabilities(params, X, avail, method="ghk",
                               uniforms=uniform_draws(20, 3, 1000, rng=0), **kw)
    exact = choice_probabilities(params, X, avail, method="quadrature", **kw)
    np.testing.assert_allclose(ghk.sum(axis=1), 1.0, atol=5e-3)
    np.testing.assert_allclose(ghk, exact, atol=2e-3)


def test_unknown_choices_are_left_out_and_groups_cover_rows():
    X, chosen, avail = _data(25, 4, seed=21)
    chosen[[3, 8]] = -1
    groups = group_situations(chosen, avail)
    rows = np.sort(np.concatenate([g.rows for g in groups]))
    np.testing.assert_array_equal(rows, np.flatnonzero(chosen >= 0))
    for g in groups:
        assert (chosen[g.rows] == g.chosen).all()
        np.testing.assert_array_equal(np.flatnonzero(avail[g.rows[0]]),
                                      np.sort(np.r_[g.others, g.chosen]))
    obs, _ = probit_loglike_obs(_params("iid", 4, 0), X, groups, structure="iid", ref=0,
                                method="quadrature")
    assert obs[3] == 0.0 and obs[8] == 0.0 and (obs[chosen >= 0] < 0).all()


def test_auto_method():
    assert auto_method("iid", 6) == "quadrature"
    assert auto_method("heteroskedastic", 4) == "quadrature"
    assert auto_method("unstructured", 3) == "closed"
    assert auto_method("unstructured", 4) == "ghk"
