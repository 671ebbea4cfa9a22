"""The optimiser's promises: scale-free convergence in the weights, ``maxiter=0`` and
``tol=0`` honoured, estimates at the optimum to the precision of statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
MODELS = {
    "logit": (cm.Logit, {}),
    "probit-iid": (cm.Probit, {"cov": "iid"}),  # quadrature
    "probit-het": (cm.Probit, {"cov": "heteroskedastic"}),  # quadrature
}


@pytest.fixture(scope="module")
def travel():
    df = cm.datasets.load_travel_mode()
    # unequal weights, constant within a situation: 1, 2 or 3
    return df.assign(w=(df["individual"] % 3 + 1).astype(float))


def _fit(travel, name, weight_type, scale, **fit):
    cls, options = MODELS[name]
    data = travel.assign(w=travel["w"] * scale)
    model = cls(FORMULA, data, obs="individual", alt="mode", weights="w",
                weight_type=weight_type, **options)
    return model.fit(progress=False, **fit)


_BASE: dict = {}


def _base(travel, name, weight_type):
    key = (name, weight_type)
    if key not in _BASE:
        _BASE[key] = _fit(travel, name, weight_type, 1)
    return _BASE[key]


@settings(max_examples=6, deadline=None, derandomize=True)
@given(name=st.sampled_from(["logit", "probit-iid"]),
       exponent=st.floats(min_value=-12, max_value=12, allow_nan=False))
def test_sampling_weights_of_any_scale_give_the_same_estimates(travel, name, exponent):
    base = _base(travel, name, "sampling")
    r = _fit(travel, name, "sampling", 10.0 ** exponent)
    assert r.converged and r.n_iter == base.n_iter
    np.testing.assert_allclose(r.params.values, base.params.values, rtol=1e-8, atol=0)
    np.testing.assert_allclose(r.bse.values, base.bse.values, rtol=1e-6)
    assert r.llf == pytest.approx(base.llf, rel=1e-10) and r.nobs == base.nobs


@pytest.mark.parametrize("name", ["logit", "probit-iid"])
@pytest.mark.parametrize("scale", [7, 10**6, 10**12])
def test_frequency_weights_times_an_integer_give_the_same_estimates(travel, name, scale):
    # frequency weights times c: the same estimates, a log-likelihood and nobs c times
    # larger and standard errors sqrt(c) times smaller (c times as many situations)
    base = _base(travel, name, "frequency")
    r = _fit(travel, name, "frequency", scale)
    assert r.converged and r.n_iter == base.n_iter
    np.testing.assert_allclose(r.params.values, base.params.values, rtol=1e-8, atol=0)
    np.testing.assert_allclose(r.bse.values * np.sqrt(scale), base.bse.values, rtol=1e-6)
    assert r.llf == pytest.approx(scale * base.llf, rel=1e-10)
    assert r.nobs == scale * base.nobs == scale * travel["w"].sum() / 4


def test_tiny_uniform_sampling_weights_do_not_stop_newton_early(travel):
    unweighted = cm.Logit(FORMULA, travel, obs="individual", alt="mode").fit()
    tiny = cm.Logit(FORMULA, travel.assign(w=1e-9), obs="individual", alt="mode", weights="w",
                    weight_type="sampling").fit()
    assert tiny.n_iter == unweighted.n_iter
    np.testing.assert_allclose(tiny.params.values, unweighted.params.values, rtol=1e-10)


# ---- maxiter=0 and tol=0 ----------------------------------------------------------------
def _spector():
    d = sm.datasets.spector.load_pandas()
    Z = sm.add_constant(d.exog).to_numpy(float)
    y = d.endog.to_numpy().astype(int)
    X = np.zeros((len(y), 2, Z.shape[1]))
    X[:, 1] = Z
    return Z, y, X


def test_maxiter_zero_returns_the_start_with_standard_errors_there_like_statsmodels():
    Z, y, X = _spector()
    b = np.array([-13.0, 2.8, 0.1, 2.4])  # published-style rounded estimates
    with pytest.warns(Warning, match="failed to converge"):  # statsmodels' own warning
        ref = sm.Logit(y, Z).fit(start_params=b, maxiter=0, disp=0)
    with pytest.warns(cm.ConvergenceWarning, match="did not converge after 0 iterations"):
        r = cm.Logit.from_arrays(X, y).fit(start=b, maxiter=0)
    assert np.array_equal(r.params.values, b) and r.n_iter == 0 and not r.converged
    assert not ref.mle_retvals["converged"]
    np.testing.assert_allclose(r.bse.values, ref.bse, rtol=1e-10)
    assert r.llf == pytest.approx(ref.llf, rel=1e-12)
    assert r.gradient_norm == pytest.approx(np.linalg.norm(ref.model.score(b)), rel=1e-10)


@pytest.mark.parametrize("method", ["bfgs", "bhhh"])
def test_probit_maxiter_zero_returns_the_start(travel, method):
    name = "probit-iid"
    cls, options = MODELS[name]
    m = cls(FORMULA, travel, obs="individual", alt="mode", **options)
    b = m.fit(progress=False).params.values + 0.01  # near the maximum: -H definite
    with pytest.warns(cm.ConvergenceWarning, match="after 0 iterations"):
        r = m.fit(start=b, maxiter=0, method=method, progress=False)
    assert np.array_equal(r.params.values, b) and r.n_iter == 0 and not r.converged
    assert r.llf == pytest.approx(m.loglike(b), rel=1e-12)
    assert r.gradient_norm == pytest.approx(np.linalg.norm(m.score(b)), rel=1e-10)
    se = np.sqrt(np.diag(np.linalg.inv(-m.hessian(b))))
    np.testing.assert_allclose(r.bse.values, se, rtol=1e-8)


@pytest.mark.parametrize("name,method", [("logit", "newton"), ("probit-iid", "bfgs"),
                                         ("probit-het", "bhhh")])
def test_tol_zero_runs_to_maxiter_without_claiming_convergence(travel, name, method):
    cls, options = MODELS[name]
    m = cls(FORMULA, travel, obs="individual", alt="mode", **options)
    with pytest.warns(cm.ConvergenceWarning):
        r = m.fit(tol=0, maxiter=3, method=method, progress=False)
    assert not r.converged and r.n_iter == 3
    # the default tolerance converges; three iterations are not at its optimum yet
    full = m.fit(method=method, progress=False)
    assert full.converged and full.n_iter > 3


def test_tol_zero_converges_where_the_gradient_vanishes_exactly():
    # a single binary constant with half the choices: the maximum is 0, where the gradient
    # is exactly zero in floating point
    X = np.zeros((4, 2, 1))
    X[:, 1, 0] = 1.0
    r = cm.Logit.from_arrays(X, np.array([0, 1, 0, 1])).fit(tol=0)
    assert r.converged and r.n_iter == 0 and r.params.iloc[0] == 0.0


@pytest.mark.parametrize("maxiter,tol", [(-1, None), (1.5, None), (True, None),
                                         (None, -1e-8), (None, np.nan), (None, "0")])
def test_bad_maxiter_or_tol_is_refused(travel, maxiter, tol):
    m = cm.Logit(FORMULA, travel, obs="individual", alt="mode")
    with pytest.raises(cm.SpecificationError, match="maxiter|tol"):
        m.fit(maxiter=maxiter, tol=tol)


# ---- precision at the optimum -----------------------------------------------------------
def test_multinomial_logit_matches_statsmodels_to_1e10_on_anes96():
    # statsmodels' anes96 (party identification, 7 categories) as a multinomial logit with
    # alternative-specific coefficients; statsmodels' own tests compare at 1e-10
    a = sm.datasets.anes96.load_pandas().data
    y = a["PID"].to_numpy().astype(int)
    Z = sm.add_constant(a[["logpopul", "selfLR", "age", "educ", "income"]]).to_numpy(float)
    ref = sm.MNLogit(y, Z).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    N, K = Z.shape
    J = 7
    X = np.zeros((N, J, K * (J - 1)))
    for j in range(1, J):
        X[:, j, (j - 1) * K:j * K] = Z
    groups = np.asarray(a["educ"])  # cluster-robust, by education level
    r = cm.Logit.from_arrays(X, y).fit(cov_type="cluster", groups=groups)
    np.testing.assert_allclose(r.params.values, np.asarray(ref.params).T.ravel(), rtol=1e-10)
    assert r.gradient_norm == pytest.approx(np.linalg.norm(r.model.score(r.params.values)))
    assert r.gradient_norm < 1e-8


def test_final_newton_step_is_taken_for_statsmodels_precision():
    # a binary logit on which stopping at a decrement below tol**2 without the final step
    # left 1.5e-10 relative error against statsmodels
    rng = np.random.default_rng(4)
    n = 300
    Z = np.column_stack([np.ones(n), rng.standard_normal((n, 3)) * [1, 5, 0.1]])
    y = (Z @ [0.3, 1, 0.2, 5] + rng.logistic(size=n) > 0).astype(int)
    ref = sm.Logit(y, Z).fit(method="newton", tol=1e-15, maxiter=100, disp=0,
                             cov_type="cluster", cov_kwds={"groups": np.arange(n) % 10})
    X = np.zeros((n, 2, 4))
    X[:, 1] = Z
    r = cm.Logit.from_arrays(X, y).fit(cov_type="cluster", groups=np.arange(n) % 10)
    np.testing.assert_allclose(r.params.values, ref.params, rtol=1e-10)
    # statsmodels' cluster covariance carries the extra factor (N - 1) / (N - K)
    np.testing.assert_allclose(r.bse.values, ref.bse * np.sqrt((n - 4) / (n - 1)), rtol=1e-8)
    assert r.gradient_norm == pytest.approx(np.linalg.norm(r.model.score(r.params.values)))


def test_warnings_are_not_raised_on_a_plain_fit(travel):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cm.Logit(FORMULA, travel, obs="individual", alt="mode").fit()
