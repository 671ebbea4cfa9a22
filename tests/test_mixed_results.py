"""Mixed logit results: willingness to pay as a distribution over persons.

References, none sharing code with the package: scipy.stats' normal and lognormal
distributions (closed forms of a random coefficient over a fixed one), the analytic
delta-method gradients written out here, and Monte Carlo of the ratio with numpy's
pseudo-random numbers (2,000,000 draws, against the package's 100,000 quasi-random ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import choicemodels as cm
from choicemodels.results import RatioResult, WtpDistribution

QUANTILES = np.array([0.05, 0.25, 0.75, 0.95])
MC_DRAWS = 2_000_000


def _panel(correlated=False):
    rng = np.random.default_rng(5)
    P, T, J = 300, 5, 3
    X = rng.standard_normal((P * T, J, 4))
    beta = np.column_stack([1.0 + 0.8 * rng.standard_normal(P),
                            -np.exp(-0.5 + 0.5 * rng.standard_normal(P)),
                            0.5 + 0.5 * rng.standard_normal(P), np.full(P, -1.0)])
    V = np.einsum("njk,nk->nj", X, np.repeat(beta, T, axis=0))
    chosen = cm.simulate_choices(V, rng=6)
    random = {"x0": "normal", "-x1": "lognormal", "x2": "normal"}
    return cm.MixedLogit.from_arrays(X, chosen, panel=np.repeat(np.arange(P), T), draws=50,
                                     random=random, correlated=correlated).fit()


@pytest.fixture(scope="module")
def fit():
    r = _panel()
    assert r.converged
    return r


@pytest.fixture(scope="module")
def fit_corr():
    r = _panel(correlated=["x0", "x1"])
    assert r.converged
    return r


def _se(r, names, grad):
    idx = [r.param_names.index(n) for n in names]
    v = r.covariance[np.ix_(idx, idx)]
    g = np.asarray(grad, float)
    return float(np.sqrt(g @ v @ g))


def _mc_check(w, ratio):
    """The WtpDistribution against a numpy Monte Carlo of the ratio, within 5 Monte Carlo
    standard errors (plus 0.2% for the package's own quasi-random simulation error)."""
    n = ratio.size
    med = np.median(ratio)
    if w.mean_exists:
        assert w.mean == pytest.approx(ratio.mean(), abs=5 * ratio.std() / np.sqrt(n) + 2e-3 * abs(med))
        assert w.sd == pytest.approx(ratio.std(), rel=2e-2)
    for q in [0.5, *QUANTILES]:
        got = w.median if q == 0.5 else float(w.table.loc[f"q{q:g}", "estimate"])
        ref = np.quantile(ratio, q)
        # the sample quantile's sd: sqrt(q(1-q)/n) / density, the density from nearby order stats
        h = 0.002
        density = 2 * h / (np.quantile(ratio, q + h) - np.quantile(ratio, q - h))
        tol = 5 * np.sqrt(q * (1 - q) / n) / density + 2e-3 * abs(ref)
        assert got == pytest.approx(ref, abs=tol), q


def test_normal_over_fixed_is_normal_with_delta_method_errors(fit):
    w = fit.wtp("x0", "x3")
    assert isinstance(w, WtpDistribution)
    assert (w.distribution, w.draws, w.mean_exists) == ("normal", 0, True)
    b, s, d = fit.params["x0"], fit.params["sd.x0"], fit.params["x3"]
    ref = stats.norm(b / d, abs(s / d))
    assert w.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert w.median == pytest.approx(ref.median(), rel=1e-12)
    assert w.sd == pytest.approx(ref.std(), rel=1e-12)
    np.testing.assert_allclose(w.table.loc[[f"q{q:g}" for q in QUANTILES], "estimate"],
                               ref.ppf(QUANTILES), rtol=1e-12)
    # delta method: mean b/d, gradient (1/d, -b/d^2); sd |s|/|d|, gradient (sign s/|d|, -|s| sign d/d^2)
    se_mean = _se(fit, ["x0", "x3"], [1 / d, -b / d**2])
    se_sd = _se(fit, ["sd.x0", "x3"], [np.sign(s) / abs(d), -abs(s) * np.sign(d) / d**2])
    assert w.table.loc["mean", "std err"] == pytest.approx(se_mean, rel=1e-5)
    assert w.table.loc["sd", "std err"] == pytest.approx(se_sd, rel=1e-5)
    z = stats.norm.isf(0.025)
    assert w.table.loc["mean", "[0.025"] == pytest.approx(w.mean - z * se_mean, rel=1e-5)


def test_negative_lognormal_over_fixed_is_lognormal(fit):
    w = fit.wtp("x1", "x3")  # -exp(b + s z) / d with d < 0: a positive lognormal
    b, s, d = fit.params["x1"], fit.params["sd.x1"], fit.params["x3"]
    assert d < 0
    assert w.distribution == "lognormal"
    ref = stats.lognorm(abs(s), scale=np.exp(b) / abs(d))
    assert w.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert w.median == pytest.approx(ref.median(), rel=1e-12)
    assert w.sd == pytest.approx(ref.std(), rel=1e-12)
    np.testing.assert_allclose(w.table.loc[[f"q{q:g}" for q in QUANTILES], "estimate"],
                               ref.ppf(QUANTILES), rtol=1e-12)
    # the median -exp(b)/d: gradient (-exp(b)/d, exp(b)/d^2)
    se = _se(fit, ["x1", "x3"], [-np.exp(b) / d, np.exp(b) / d**2])
    assert w.table.loc["median", "std err"] == pytest.approx(se, rel=1e-5)


def test_fixed_over_lognormal_simulated_matches_the_closed_form(fit):
    # d / (-exp(b + s z)) = -d exp(-b - s z): lognormal, median -d e^-b, mean -d e^(-b + s^2/2)
    w = fit.wtp("x3", "x1")
    b, s, d = fit.params["x1"], fit.params["sd.x1"], fit.params["x3"]
    assert (w.distribution, w.draws, w.mean_exists) == ("simulated", 100_000, True)
    ref = stats.lognorm(abs(s), scale=-d * np.exp(-b))
    assert w.median == pytest.approx(ref.median(), rel=1e-3)
    assert w.mean == pytest.approx(ref.mean(), rel=1e-3)
    assert w.sd == pytest.approx(ref.std(), rel=1e-2)
    np.testing.assert_allclose(w.table.loc[[f"q{q:g}" for q in QUANTILES], "estimate"],
                               ref.ppf(QUANTILES), rtol=2e-3)
    # delta-method error at fixed draws vs the closed form's: median gradient
    # (d e^-b, -e^-b) in (x1, x3)
    se = _se(fit, ["x1", "x3"], [d * np.exp(-b), -np.exp(-b)])
    assert w.table.loc["median", "std err"] == pytest.approx(se, rel=1e-2)


def test_normal_over_lognormal_against_monte_carlo(fit):
    w = fit.wtp("x0", "x1")
    z = np.random.default_rng(11).standard_normal((2, MC_DRAWS))
    num = fit.params["x0"] + fit.params["sd.x0"] * z[0]
    den = -np.exp(fit.params["x1"] + fit.params["sd.x1"] * z[1])
    _mc_check(w, num / den)


def test_normal_denominator_has_no_mean(fit):
    w = fit.wtp("x3", "x0")
    assert not w.mean_exists
    assert np.isnan(w.mean) and np.isnan(w.sd)
    assert any("do not exist" in note for note in w.notes)
    z = np.random.default_rng(12).standard_normal(MC_DRAWS)
    _mc_check(w, fit.params["x3"] / (fit.params["x0"] + fit.params["sd.x0"] * z))


def test_correlated_ratio_against_monte_carlo(fit_corr):
    r = fit_corr
    w = r.wtp("x0", "x1")
    p = r.params
    z = np.random.default_rng(13).standard_normal((2, MC_DRAWS))
    num = p["x0"] + p["chol.x0:x0"] * z[0]
    den = -np.exp(p["x1"] + p["chol.x1:x0"] * z[0] + p["chol.x1:x1"] * z[1])
    _mc_check(w, num / den)
    # the correlation matters: the same margins independent give another ratio
    s0 = abs(p["chol.x0:x0"])
    s1 = np.hypot(p["chol.x1:x0"], p["chol.x1:x1"])
    independent = (p["x0"] + s0 * z[0]) / -np.exp(p["x1"] + s1 * z[1])
    assert abs(w.sd - independent.std()) > 10 * abs(w.sd - (num / den).std())


def test_fixed_ratio_stays_a_ratio_and_loaded_results_agree(fit, tmp_path):
    ratio = fit.wtp("x3", "x3")
    assert isinstance(ratio, RatioResult) and ratio.estimate == 1.0
    fit.save(tmp_path / "r.json")
    loaded = cm.load_results(tmp_path / "r.json")
    np.testing.assert_allclose(loaded.wtp("x0", "x1").table.to_numpy(),
                               fit.wtp("x0", "x1").table.to_numpy(), rtol=1e-12)
    assert "Distribution of x0 / x1 (simulated)" in str(loaded.wtp("x0", "x1"))


def test_unknown_coefficient_is_named(fit):
    with pytest.raises(cm.SpecificationError, match="unknown coefficient 'price'"):
        fit.wtp("price", "x3")


# ---- Dask: a panel mixed logit, no person split across partitions --------------------------
def test_a_panel_fit_on_dask_equals_the_in_memory_fit():
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(21)
    P, J = 120, 3
    T = rng.integers(2, 7, P)  # unbalanced: 2 to 6 situations per person
    person = np.repeat(np.arange(P) * 7 + 100, T)  # ids neither contiguous nor from 0
    N = person.size
    x, w = rng.standard_normal((2, N, J))
    b = np.repeat(1.0 + rng.standard_normal(P), T)
    chosen = cm.simulate_choices(b[:, None] * x - 0.5 * w, rng=22)
    frame = pd.DataFrame({"sit": np.repeat(rng.permutation(N) + 5000, J), "person": np.repeat(person, J),
                          "alt": np.tile(["a", "b", "c"], N), "x": x.ravel(), "w": w.ravel(),
                          "choice": (np.tile(np.arange(J), N) == np.repeat(chosen, J)).astype(int)})
    kw = dict(obs="sit", alt="alt", panel="person", random={"x": "normal"}, draws=40, rng=2)
    model = cm.MixedLogit("choice ~ x + w | 0", frame, **kw)
    nonrobust, robust = model.fit(cov_type="nonrobust"), model.fit(cov_type="robust")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        # rows in random order in 4 partitions: every person spans partitions until shuffled
        shuffled = dd.from_pandas(frame.sample(frac=1.0, random_state=1), npartitions=4, sort=False)
        on_dask = cm.MixedLogit("choice ~ x + w | 0", shuffled, **kw)
        assert len(on_dask.design.panels) == len(on_dask.design.parts) >= 2
        fits = on_dask.fit(), on_dask.fit(cov_type="robust")
    assert fits[0].cov_type == "nonrobust"
    for dask_fit, memory_fit in zip(fits, (nonrobust, robust)):
        assert dask_fit.llf == pytest.approx(memory_fit.llf, rel=1e-12)
        np.testing.assert_allclose(dask_fit.params, memory_fit.params, rtol=0, atol=1e-8)
        np.testing.assert_allclose(dask_fit.bse, memory_fit.bse, rtol=1e-6)
    # without the panel the same data give another likelihood: the persons did matter
    cross = cm.MixedLogit("choice ~ x + w | 0", frame, **{**kw, "panel": None}).fit()
    assert abs(cross.llf - nonrobust.llf) > 1.0
