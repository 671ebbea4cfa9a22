"""Degenerate fits: rescaled variables, huge utilities, separation, flat likelihoods and
singular Hessians; plus regression tests for numerical limits the probit kernels once had."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

import choicemodels as cm

ROLES = dict(obs="individual", alt="mode", ref="car")
FORMULA = "choice ~ gc + ttme | hinc"


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def scaled(df, s):
    return df.assign(gc=df.gc * s, ttme=df.ttme * s, hinc=df.hinc * s)


def expected_ratio(params, s):
    """Coefficients of variables scaled by s shrink by 1/s; constants stay."""
    return np.where(params.index.str.startswith("(Intercept)"), 1.0, 1.0 / s)


@pytest.mark.parametrize("s", [1e6, 1e-6])
def test_logit_rescaled_variables(travel, s):
    base = cm.Logit(FORMULA, data=travel, **ROLES).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cm.Logit(FORMULA, data=scaled(travel, s), **ROLES).fit()
    assert r.converged
    ratio = expected_ratio(base.params, s)
    np.testing.assert_allclose(r.params.to_numpy(), base.params.to_numpy() * ratio, rtol=1e-6)
    np.testing.assert_allclose(r.bse.to_numpy(), base.bse.to_numpy() * ratio, rtol=1e-6)
    assert r.llf == pytest.approx(base.llf, rel=1e-12)


def test_probit_tiny_scale(travel):
    base = cm.Probit(FORMULA, data=travel, **ROLES).fit()
    r = cm.Probit(FORMULA, data=scaled(travel, 1e-6), **ROLES).fit()
    assert r.converged
    np.testing.assert_allclose(r.params.to_numpy(), base.params.to_numpy() * expected_ratio(base.params, 1e-6), rtol=1e-4)
    assert r.llf == pytest.approx(base.llf, rel=1e-9)


def test_probit_huge_scale(travel):
    # the search runs in Jacobi-scaled parameters (before: 500 iterations, 1.4 units short)
    base = cm.Probit(FORMULA, data=travel, **ROLES).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cm.Probit(FORMULA, data=scaled(travel, 1e6), **ROLES).fit(maxiter=3 * base.n_iter)
    assert r.converged
    assert r.llf == pytest.approx(base.llf, rel=1e-9)
    np.testing.assert_allclose(r.params.to_numpy(), base.params.to_numpy() * expected_ratio(base.params, 1e6), rtol=1e-4)


@pytest.fixture(scope="module")
def huge():
    # attributes ~1e3 with coefficients ~1: utilities in the thousands
    rng = np.random.default_rng(5)
    X = rng.uniform(500, 3000, size=(40, 3, 2))
    chosen = rng.integers(0, 3, size=40)
    return X, chosen, np.array([1.3, -0.7])


@pytest.mark.parametrize("model, options", [
    (cm.Logit, {}), (cm.Probit, {"cov": "iid"}), (cm.Probit, {"cov": "unstructured", "integration": "ghk"}),
])
def test_utilities_in_the_thousands_stay_finite(huge, model, options):
    X, chosen, beta = huge
    m = model.from_arrays(X, chosen, **options)
    params = np.r_[beta, np.zeros(len(m.param_names) - 2)] if options.get("cov") != "unstructured" \
        else np.r_[beta, m.start_params()[2:]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow, no log(0)
        ll, g, p = m.loglike(params), m.score(params), m.predict(params)
    assert np.isfinite(ll) and ll < -1000  # most choices are very unlikely at these utilities
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=0.05)
    if model is cm.Logit:  # reference: exact log-softmax of V = X beta
        V = X @ beta
        ref = V[np.arange(40), chosen] - V.max(axis=1) - np.log(np.exp(V - V.max(axis=1, keepdims=True)).sum(axis=1))
        assert ll == pytest.approx(ref.sum(), rel=1e-12)


def test_quasi_complete_separation_warns_with_the_variable():
    # 'promo' is 1 for alternative 0 in 30 situations, which always choose it: the MLE of its
    # coefficient is +inf (quasi-complete separation); the other data are regular
    rng = np.random.default_rng(2)
    n = 300
    X = rng.normal(size=(n, 3, 2))
    chosen = (X @ np.array([1.0, -0.5]) + rng.gumbel(size=(n, 3))).argmax(axis=1)
    promo = np.zeros((n, 3, 1))
    promo[:30, 0, 0] = 1.0
    chosen[:30] = 0
    m = cm.Logit.from_arrays(np.concatenate([X, promo], axis=2), chosen, names=["price", "time", "promo"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = m.fit()
    kinds = {w.category for w in caught}
    assert cm.SeparationWarning in kinds
    sep = next(str(w.message) for w in caught if w.category is cm.SeparationWarning)
    assert "separated along promo;" in sep
    assert not r.converged and "does not exist" in r.message
    assert r.params["promo"] > 10
    assert "did not converge" in str(r.summary())


def test_situation_level_variable_is_a_flat_likelihood():
    # a variable identical across the alternatives of every situation has no effect on the
    # choice: the likelihood is flat in its coefficient, an error before any numerics
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3, 2))
    X[:, :, 1] = rng.normal(size=(50, 1))
    for model in (cm.Logit, cm.Probit):
        with pytest.raises(cm.SpecificationError, match=r"'income' does not vary across the alternatives"):
            model.from_arrays(X, np.zeros(50), names=["price", "income"])


def test_singular_hessian_gives_nan_errors_and_the_reason():
    # 'x' varies only in situations of weight zero: the weighted likelihood is flat in its
    # coefficient and the Hessian is singular in that direction
    rng = np.random.default_rng(0)
    n = 120
    X = rng.normal(size=(n, 3, 2))
    chosen = (X[:, :, 0] + rng.gumbel(size=(n, 3))).argmax(axis=1)
    X[20:, :, 1] = 0.0
    weights = np.r_[np.zeros(20), np.ones(n - 20)]
    m = cm.Logit.from_arrays(X, chosen, names=["price", "x"], weights=weights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = m.fit()
    hess = [str(w.message) for w in caught if w.category is cm.HessianWarning]
    assert len(hess) == 1 and "weakly identified: x)" in hess[0]
    assert np.all(np.isnan(r.bse)) and np.all(np.isnan(r.conf_int().to_numpy()))
    assert r.cov_note.startswith("the Hessian is not negative definite")
    assert "Standard errors are not available: the Hessian is not negative definite" in str(r.summary())
    # the estimate of price is still the maximum of the weighted likelihood (x's column
    # drops out): compare with the fit without x on the weighted situations
    sub = cm.Logit.from_arrays(X[20:, :, :1], chosen[20:], names=["price"]).fit()
    assert r.params["price"] == pytest.approx(sub.params["price"], rel=1e-8)


def test_nan_covariance_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    X = rng.normal(size=(n, 3, 2))
    chosen = (X[:, :, 0] + rng.gumbel(size=(n, 3))).argmax(axis=1)
    X[20:, :, 1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cm.Logit.from_arrays(X, chosen, weights=np.r_[np.zeros(20), np.ones(n - 20)]).fit()
    r.save(tmp_path / "r.json")
    back = cm.load_results(tmp_path / "r.json")
    assert back.to_dict().keys() == r.to_dict().keys()
    np.testing.assert_array_equal(back.covariance, r.covariance)  # NaN == NaN here
    assert back.cov_note == r.cov_note and str(back.summary()) == str(r.summary())


# ---- known numerical limits of the probit kernels -------------------------------------------


@pytest.mark.parametrize("ratio", [4.0, 8.0, 1e3, 1e6, 1 / 1e3])
def test_heteroskedastic_quadrature_with_unequal_scales(ratio):
    # the chosen alternative's error scale is `ratio` times the others': the integrand has
    # steps of width 1 / ratio (64-node Gauss-Hermite was off by 3e-4 at 4 and 1e-2 at 8)
    from choicemodels.kernels.quadrature import independent_log_prob

    b = np.array([[0.3, -0.2, 0.1], [-2.0, 1.5, 0.4], [-6.0, -5.0, 3.0]])
    log_p, _ = independent_log_prob(b, ratio, np.ones(3))
    for row, value in zip(b, log_p):
        # P = P(ratio Z > -b_k + e_k for all k) = E Phi(W / ratio), W = min_k (b_k + e_k):
        # an integral over W, smooth when ratio >= 1
        def density(w, row=row):
            tails = stats.norm.sf(w - row)
            return sum(stats.norm.pdf(w - row[k]) * np.prod(np.delete(tails, k)) for k in range(3))

        def given_chosen(z, row=row):  # the integrand over Z: smooth when ratio <= 1
            return stats.norm.pdf(z) * np.prod(stats.norm.cdf(row + ratio * z))

        if ratio > 1:
            ref = integrate.quad(lambda w: density(w) * stats.norm.cdf(w / ratio), -15, 15,
                                 epsabs=1e-15, epsrel=1e-12, limit=500)[0]
        else:
            ref = integrate.quad(given_chosen, -15, 15, epsabs=1e-15, epsrel=1e-12, limit=500)[0]
        assert np.exp(value) == pytest.approx(ref, rel=1e-9, abs=1e-14)
        if ratio > 10:  # diag(1) + ratio^2 11' is too ill-conditioned for scipy's Genz cdf
            continue
        # the same orthant probability of N(0, diag(1) + ratio^2 11') by scipy's Genz algorithm
        genz = stats.multivariate_normal.cdf(row, cov=np.eye(3) + ratio**2, abseps=1e-7,
                                             releps=0, rng=0)
        assert np.exp(value) == pytest.approx(genz, abs=3e-7)


@pytest.mark.parametrize("h, k", [(5e-324, 0.0), (1e-200, -1e-200), (-1e-30, 1e-300)])
def test_bivariate_cdf_at_tiny_arguments(h, k):
    # products such as h k underflow: tiny arguments must take the limit at 0, where
    # Phi_2 is continuous
    from choicemodels.kernels.mvn import bvn_cdf

    rho = 0.5
    exact = 0.25 + np.arcsin(rho) / (2 * np.pi)  # Phi_2(0, 0; rho)
    value = bvn_cdf(np.array([h]), np.array([k]), np.array([rho]))[0]
    assert float(value) == pytest.approx(exact, abs=1e-15)


def test_ghk_score_for_extreme_utilities():
    # log-probabilities in the hundreds: u q underflows, and z = ndtri(u q) must come from
    # log u + log Phi(t) (clipped at the smallest double, z no longer followed q)
    rng = np.random.default_rng(0)
    for _ in range(2):  # the second design reaches the underflow
        n, K = rng.integers(6, 20), rng.integers(1, 4)
        X = rng.integers(-8, 9, size=(n, 4, K)).astype(float)
        chosen = rng.integers(0, 4, n)
        m = cm.Probit.from_arrays(X, chosen, cov="unstructured", integration="ghk", draws=40, rng=0)
        P = len(m.param_names)
        params = np.r_[rng.integers(-3, 4, K), rng.integers(-1, 2, P - K)].astype(float)
        numeric = []
        for k in range(P):
            e = np.zeros(P)
            e[k] = 1e-5 * max(1.0, abs(params[k]))
            numeric.append((m.loglike(params + e) - m.loglike(params - e)) / (2 * e[k]))
        ll = m.loglike(params)
        np.testing.assert_allclose(m.score(params), numeric, rtol=1e-5, atol=1e-6 * (1 + abs(ll)))
