"""Wald and z tests of linear restrictions, against statsmodels and the formulas."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import choicemodels as cm
from choicemodels.inference import linear_restrictions


@pytest.fixture(scope="module")
def binary():
    """A binary logit fitted by statsmodels and, as J = 2, by the package (alternative 0
    has zero utility, alternative 1 the covariates)."""
    rng = np.random.default_rng(3)
    n = 400
    X = sm.add_constant(pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"]))
    y = (X.to_numpy() @ np.array([0.3, 1.0, 0.6, -0.4]) + rng.logistic(size=n) > 0).astype(int)
    arrays = np.zeros((n, 2, 4))
    arrays[:, 1, :] = X.to_numpy()
    ours = cm.Logit.from_arrays(arrays, y, names=list(X.columns))
    ref = sm.Logit(y, X)
    return ours, ref


@pytest.fixture(scope="module")
def travel_fit():
    df = cm.datasets.load_travel_mode()
    return cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()


@pytest.mark.parametrize("cov_type, sm_cov", [("nonrobust", "nonrobust"), ("robust", "HC0")])
@pytest.mark.parametrize("text", ["x1 = x2", "x1 = x2, const = 0.5", "x1 + 2*x3 = 0.1, x2 = 0, const = x1"])
def test_wald_test_matches_statsmodels(binary, text, cov_type, sm_cov):
    ours, ref = binary
    r = ours.fit(cov_type=cov_type, tol=1e-12)
    s = ref.fit(method="newton", tol=1e-12, disp=False, cov_type=sm_cov)
    np.testing.assert_allclose(r.params, s.params, rtol=1e-8)
    expected = s.wald_test(text, scalar=True, use_f=False)
    got = r.wald_test(text)
    assert isinstance(got, cm.TestResult)
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-6)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    assert got.df == expected.df_denom == text.count(",") + 1


@pytest.mark.parametrize("text", ["x1 = x2", "x1 = x2, const = 0.5, x3 = -0.2"])
def test_t_test_matches_statsmodels(binary, text):
    ours, ref = binary
    r = ours.fit(tol=1e-12)
    s = ref.fit(method="newton", tol=1e-12, disp=False)
    expected = s.t_test(text).summary_frame()
    got = r.t_test(text)
    R, q, labels = linear_restrictions(text, r.param_names)
    assert list(got.index) == labels and got.index.name == "restriction"
    assert list(got.columns) == ["estimate", "std err", "z", "P>|z|", "[0.025", "0.975]"]
    # statsmodels' coef and confidence bounds are those of R b; ours are of R b - q
    np.testing.assert_allclose(got["estimate"], expected["coef"] - q, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["std err"], expected["std err"], rtol=1e-6)
    np.testing.assert_allclose(got["z"], expected["z"], rtol=1e-6)
    np.testing.assert_allclose(got["P>|z|"], expected["P>|z|"], rtol=1e-6)
    np.testing.assert_allclose(got["[0.025"], expected["Conf. Int. Low"] - q, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["0.975]"], expected["Conf. Int. Upp."] - q, rtol=1e-6, atol=1e-9)


def test_names_with_parentheses_and_colons_are_parsed(travel_fit):
    r = travel_fit
    names = list(r.param_names)
    R, q, labels = linear_restrictions("(Intercept):air - 2*hinc:air = 1, gc = ttme", names)
    expected = np.zeros((2, len(names)))
    expected[0, names.index("(Intercept):air")] = 1.0
    expected[0, names.index("hinc:air")] = -2.0
    expected[1, names.index("gc")], expected[1, names.index("ttme")] = 1.0, -1.0
    np.testing.assert_array_equal(R, expected)
    np.testing.assert_array_equal(q, [1.0, 0.0])
    assert labels == ["(Intercept):air - 2*hinc:air = 1", "gc - ttme = 0"]
    # a list of strings is the same as the comma-separated text
    R2, q2, _ = linear_restrictions(["(Intercept):air - 2*hinc:air = 1", "gc = ttme"], names)
    np.testing.assert_array_equal(R2, R)
    np.testing.assert_array_equal(q2, q)


def test_wald_statistic_by_the_formula_on_a_multinomial_model(travel_fit):
    r = travel_fit
    names = list(r.param_names)
    R = np.zeros((2, len(names)))
    R[0, names.index("gc")], R[0, names.index("ttme")] = 1.0, -1.0
    R[1, names.index("hinc:air")] = 1.0
    b, V = r.params.to_numpy(), r.cov_params().to_numpy()
    d = R @ b
    W = d @ np.linalg.inv(R @ V @ R.T) @ d
    for result in (r.wald_test("gc = ttme, hinc:air = 0"), r.wald_test(R), r.wald_test(R, q=[0.0, 0.0])):
        assert result.statistic == pytest.approx(W, rel=1e-12)
        assert result.df == 2
        assert result.p_value == pytest.approx(stats.chi2.sf(W, 2), rel=1e-12)
    # one restriction: the Wald statistic is the square of the z statistic
    single = r.t_test("hinc:air = 0.01")
    z = (b[names.index("hinc:air")] - 0.01) / r.bse["hinc:air"]
    assert single["z"].iloc[0] == pytest.approx(z, rel=1e-12)
    assert r.wald_test("hinc:air = 0.01").statistic == pytest.approx(z**2, rel=1e-12)
    row = np.zeros(len(names))
    row[names.index("hinc:air")] = 1.0
    assert r.wald_test(row, q=0.01).statistic == pytest.approx(z**2, rel=1e-12)


def test_unknown_coefficients_are_named(travel_fit):
    with pytest.raises(cm.SpecificationError,
                       match=r"names unknown coefficients \['gcc', 'hinc:plane'\]; the coefficients are \['gc', 'ttme', '\(Intercept\):air'"):
        travel_fit.wald_test("gcc = 0, hinc:plane = ttme")
    with pytest.raises(cm.SpecificationError, match=r"unknown coefficients \['\(Intercept\):plane'\]"):
        travel_fit.t_test("(Intercept):plane = 1")


@pytest.mark.parametrize("restrictions, q, message", [
    ("gc = = 0", None, r"cannot read the restriction 'gc = = 0'"),
    ("gc = 0", 1.0, r"q= goes with a matrix R"),
    ("gc = ttme, 2*gc = 2*ttme", None, r"the 2 restrictions are linearly dependent \(rank 1\)"),
    (np.ones((1, 3)), None, r"R must have shape \(r, P\) = \(r, 8\)"),
    (np.ones(8), [0.0, 1.0], r"q must have shape \(r,\) = \(1,\) to match R"),
    (np.zeros((1, 8)), None, r"restriction 1 involves no coefficient"),
])
def test_bad_restrictions(travel_fit, restrictions, q, message):
    with pytest.raises(cm.SpecificationError, match=message):
        travel_fit.wald_test(restrictions, q)


def test_no_test_without_a_covariance(travel_fit):
    broken = dataclasses.replace(travel_fit, covariance=np.full_like(travel_fit.covariance, np.nan),
                                 cov_note="the Hessian is not negative definite")
    with pytest.raises(cm.SpecificationError, match=r"covariance of the estimates is not available \(the Hessian"):
        broken.wald_test("gc = 0")
