"""Nested logit: ``iv_bounds`` (projected Newton, estimates at a bound and their standard
errors) and the summary's tests of ``iv = 1`` and notes.

Independent references: an ``iv`` held at 1 is the same likelihood as its nest split into
nests of one alternative (a model without that ``iv``), so a fit ending at the bound 1 must
equal the fit of that smaller model, standard errors included; other bounds are checked
against scipy's L-BFGS-B on the log-likelihood.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
from scipy import stats

import choicemodels as cm
from choicemodels.models.base import ChoiceModel
from choicemodels.models.optimize import bounded_newton_maximize

FORMULA = "choice ~ gc + ttme | hinc"
GROUND = {"fly": ["air"], "ground": ["train", "bus", "car"]}  # iv:ground = 0.637
PUBLIC = {"pub": ["train", "bus"], "priv": ["air", "car"]}  # iv:priv = 1.64 > 1


@pytest.fixture(scope="module")
def kw():
    return {"data": cm.datasets.load_travel_mode(), "obs": "individual", "alt": "mode", "ref": "car"}


# ---- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bounds", "match"),
    [
        ((-0.1, 1.0), r"must lie in \[0, inf\]"),
        ((0.0, 0.0), r"must lie in \[0, inf\]"),
        ((float("nan"), 1.0), r"must lie in \[0, inf\]"),
        ((np.inf, np.inf), r"must lie in \[0, inf\]"),
        ((1.0, 0.5), "lower bound above its upper bound"),
        ((0, 1, 2), "pair"),
        ("01", "pair"),
        (1.0, "pair"),
        ((True, 1), "pair"),
        ((0, "1"), "pair"),
    ],
)
def test_bad_iv_bounds_name_the_fault(kw, bounds, match):
    with pytest.raises(cm.SpecificationError, match=match):
        cm.NestedLogit(FORMULA, nests=GROUND, iv_bounds=bounds, **kw)


def test_bfgs_is_refused_with_bounds(kw):
    m = cm.NestedLogit(FORMULA, nests=GROUND, iv_bounds=(0, 1), **kw)
    with pytest.raises(cm.SpecificationError, match="method='newton' or 'bhhh'"):
        m.fit(method="bfgs")


# ---- the projected Newton method ---------------------------------------------------------------
def test_projected_newton_finds_the_constrained_maximum_of_a_correlated_quadratic():
    """Clipping the unconstrained Newton step is wrong here (the Hessian is not diagonal);
    the constrained maximum is checked against scipy's L-BFGS-B."""
    A = np.array([[2.0, 1.5, 0.3], [1.5, 2.0, 0.2], [0.3, 0.2, 1.0]])
    a = np.array([2.0, -1.0, 0.5])

    def fun(x):
        return -(x - a) @ A @ (x - a), -2 * A @ (x - a), -2 * A

    lower, upper = np.array([-np.inf, 0.0, -1.0]), np.array([1.0, np.inf, 1.0])
    out = bounded_newton_maximize(fun, np.zeros(3), lower, upper, tol=1e-14)
    ref = scipy.optimize.minimize(lambda x: -fun(x)[0], np.zeros(3), jac=lambda x: -fun(x)[1],
                                  method="L-BFGS-B", bounds=list(zip(lower, upper)),
                                  options={"ftol": 1e-15, "gtol": 1e-12})
    assert out.converged
    np.testing.assert_allclose(out.x, ref.x, atol=1e-7)
    assert out.x[0] == 1.0 and out.x[1] == 0.0  # both ended exactly on their bounds
    assert -fun(out.x)[0] <= ref.fun + 1e-12


# ---- fits ------------------------------------------------------------------------------------
def test_interior_estimate_is_the_unbounded_fit(kw):
    free = cm.NestedLogit(FORMULA, nests=GROUND, **kw).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no BoundWarning
        bounded = cm.NestedLogit(FORMULA, nests=GROUND, iv_bounds=(0, 1), **kw).fit()
    assert bounded.converged
    np.testing.assert_allclose(bounded.params, free.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bounded.bse, free.bse, rtol=1e-8)
    assert not any("ended at its bound" in n for n in bounded.summary().notes)


@pytest.mark.parametrize("cov_type", ["nonrobust", "robust"])
def test_iv_held_at_one_is_the_fit_with_its_nest_split(kw, cov_type):
    """Unbounded, iv:priv = 1.64; with iv_bounds=(0, 1) it ends at 1, which is the model
    with 'priv' split into nests of one alternative: same estimates and standard errors."""
    model = cm.NestedLogit(FORMULA, nests=PUBLIC, iv_bounds=(0, 1), **kw)
    with pytest.warns(cm.BoundWarning, match=r"iv:priv = 1 ended at its bound"):
        r = model.fit(cov_type=cov_type)
    assert r.converged and r.params["iv:priv"] == 1.0
    assert np.isnan(r.bse["iv:priv"])
    assert model.score(r.params)[-1] > 0  # the likelihood rises beyond the bound
    split = cm.NestedLogit(FORMULA, nests={"pub": ["train", "bus"], "air": ["air"], "car": ["car"]},
                           **kw).fit(cov_type=cov_type)
    assert r.llf == pytest.approx(split.llf, rel=1e-12)
    shared = split.params.index
    np.testing.assert_allclose(r.params[shared], split.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(r.bse[shared], split.bse, rtol=1e-6)
    summary = r.summary()
    assert any("iv:priv ended at its bound (iv_bounds=[0, 1])" in n for n in summary.notes)
    tests = summary.tables[1].frame
    assert np.isnan(tests.loc["iv:priv", "z"])


def test_lower_bound_against_scipy_lbfgsb(kw):
    model = cm.NestedLogit(FORMULA, nests=GROUND, iv_bounds=(0.8, 1.0), **kw)
    with pytest.warns(cm.BoundWarning):
        r = model.fit()
    with pytest.warns(cm.BoundWarning):
        bhhh = model.fit(method="bhhh")
    p0 = cm.NestedLogit(FORMULA, nests=GROUND, **kw).start_params()
    bounds = [(None, None)] * (len(p0) - 1) + [(0.8, 1.0)]
    ref = scipy.optimize.minimize(lambda p: -model.loglike(p), p0, jac=lambda p: -model.score(p),
                                  method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 5000})
    assert r.params["iv:ground"] == 0.8 == ref.x[-1]
    assert r.llf == pytest.approx(-ref.fun, abs=1e-7)
    np.testing.assert_allclose(r.params, ref.x, rtol=1e-4, atol=1e-6)
    # BHHH (linear convergence, the same stopping tolerance): within 1e-3 standard errors
    assert bhhh.params["iv:ground"] == 0.8 and bhhh.llf == pytest.approx(r.llf, abs=1e-6)
    assert np.all(np.abs(bhhh.params - r.params)[:-1] < 1e-3 * r.bse[:-1])
    # the free parameters' covariance inverts the free block of a finite-difference Hessian
    fd = ChoiceModel.hessian(model, r.params.to_numpy())[:-1, :-1]
    np.testing.assert_allclose(r.bse.to_numpy()[:-1], np.sqrt(np.diag(np.linalg.inv(-fd))),
                               rtol=1e-5)


def test_bounds_survive_save_and_load(kw, tmp_path):
    with pytest.warns(cm.BoundWarning):
        r = cm.NestedLogit(FORMULA, nests=PUBLIC, iv_bounds=(0, 1), **kw).fit()
    r.save(tmp_path / "r.json")
    back = cm.load_results(tmp_path / "r.json")
    assert back.spec["options"]["iv_bounds"] == [0.0, 1.0]
    assert back.summary().notes == r.summary().notes
    np.testing.assert_array_equal(back.bse, r.bse)


# ---- the summary -------------------------------------------------------------------------------
@pytest.mark.parametrize("cov_type", ["nonrobust", "robust"])
def test_summary_tests_iv_equal_to_one_and_flags_iv_above_one(kw, cov_type):
    r = cm.NestedLogit(FORMULA, nests=PUBLIC, **kw).fit(cov_type=cov_type)
    summary = r.summary()
    table = next(t for t in summary.tables if t.title.startswith("Wald tests of iv = 1"))
    assert f"({cov_type} standard errors)" in table.title
    frame = table.frame
    assert list(frame.index) == ["iv:pub", "iv:priv"]
    for name in frame.index:
        iv, se = float(r.params[name]), float(r.bse[name])
        z = (iv - 1.0) / se
        assert frame.loc[name, "iv"] == iv and frame.loc[name, "std err"] == se
        assert frame.loc[name, "z"] == pytest.approx(z, rel=1e-12)
        assert frame.loc[name, "P>|z|"] == pytest.approx(2 * stats.norm.cdf(-abs(z)), rel=1e-10)
    assert r.params["iv:priv"] > 1 > r.params["iv:pub"]
    flagged = [n for n in summary.notes if "Boersch-Supan" in n]
    assert len(flagged) == 1 and "iv:priv = 1.6" in flagged[0] and "iv:pub" not in flagged[0]
    assert "Wald tests of iv = 1" in summary.as_text()


def test_summary_has_no_iv_above_one_note_inside_the_unit_interval(kw):
    r = cm.NestedLogit(FORMULA, nests=GROUND, **kw).fit()
    notes = r.summary().notes
    assert not any("Boersch-Supan" in n for n in notes)
    frame = r.summary().tables[1].frame
    assert frame.loc["iv:ground", "z"] == pytest.approx((r.params["iv:ground"] - 1) / r.bse["iv:ground"])


def test_a_logit_summary_has_no_iv_table(kw):
    r = cm.Logit(FORMULA, **kw).fit()
    assert not any(t.title.startswith("Wald tests of iv") for t in r.summary().tables)
