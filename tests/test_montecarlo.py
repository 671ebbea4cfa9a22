"""Monte Carlo studies: true probabilities and scales, coverage, misspecification, streams."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import choicemodels as cm
from choicemodels.montecarlo import DGP


def _binomial_band(p: float, n: int) -> tuple[float, float]:
    half = 3 * np.sqrt(p * (1 - p) / n)
    return p - half, p + half


# ---- the data-generating process ----------------------------------------------------


@pytest.mark.parametrize(
    "dgp",
    [DGP(beta=(1.0, -0.5), errors="gumbel", temperature=0.8),
     DGP.red_bus_blue_bus(rho=0.9),
     DGP(beta=(1.0,), n_alts=4, errors="normal", asc=(0.3, -0.2, 0.1))],
)
def test_true_probabilities_match_simulated_frequencies(dgp):
    draws = 400_000
    v = dgp.utilities(np.asarray(dgp.x_eval)[None])
    cov = None if dgp.cov is None else np.asarray(dgp.cov)
    chosen = cm.simulate_choices(np.repeat(v, draws, axis=0), errors=dgp.errors,
                                 temperature=dgp.temperature, cov=cov, rng=5)
    freq = np.bincount(chosen, minlength=dgp.n_alts) / draws
    p = dgp.probabilities(np.asarray(dgp.x_eval))
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / draws))


def test_binary_normal_probability_is_the_normal_cdf():
    dgp = DGP(beta=(1.5,), n_alts=2, errors="normal", temperature=2.0)
    p = dgp.probabilities(np.asarray(dgp.x_eval))
    # V = 1.5 * (-0.5, 0.5); the difference of the errors is N(0, 2 T^2)
    assert p[1] == pytest.approx(stats.norm.cdf(1.5 / np.sqrt(8.0)), rel=1e-12)


def test_true_scales():
    assert DGP(beta=(1.0,), temperature=2.0).scale == pytest.approx(2 * stats.gumbel_r.std())
    assert DGP(beta=(1.0,), errors="normal").scale == pytest.approx(1.0)
    # red bus / blue bus: Var(e_j - e_0) = 2 for both buses, so sigma = 1 whatever rho
    assert DGP.red_bus_blue_bus(rho=0.9).scale == pytest.approx(1.0)
    het = DGP(beta=(1.0,), errors="normal", cov=np.diag([1.0, 4.0, 9.0]))
    assert het.scale == pytest.approx(np.sqrt(((1 + 4) + (1 + 9)) / 2 / 2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(beta=(1.0,), cov=np.eye(3)), "normal errors only"),
     (dict(beta=(1.0,), errors="normal", cov=np.eye(2)), r"\(3, 3\)"),
     (dict(beta=(1.0,), asc=(0.5,)), "asc needs 2 values"),
     (dict(beta=(1.0,), errors="logistic"), "'gumbel', 'normal' or 'nested'"),
     (dict(beta=(1.0,), x_eval=np.zeros((2, 1))), r"x_eval must have shape \(3, 1\)"),
     (dict(beta=(1.0,), n_alts=1), "n_alts >= 2")],
)
def test_dgp_rejects_bad_input(kwargs, match):
    with pytest.raises(cm.SpecificationError, match=match):
        DGP(**kwargs)


def test_monte_carlo_rejects_bad_input():
    with pytest.raises(cm.SpecificationError, match="choicemodels.DGP"):
        cm.monte_carlo(dgp={"beta": 1.0}, reps=2)
    with pytest.raises(cm.SpecificationError, match="model class"):
        cm.monte_carlo(dgp=DGP(beta=(1.0,)), models=["logit"], reps=2)
    with pytest.raises(cm.SpecificationError, match="positive integers"):
        cm.monte_carlo(dgp=DGP(beta=(1.0,)), reps=0)


# ---- studies ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gumbel_study():
    return cm.monte_carlo(dgp=DGP(beta=(1.0, -0.5), asc=(0.5, 0.0)), n_obs=300, reps=200,
                          rng=2024, progress=False)


def test_well_specified_logit_covers_at_the_nominal_rate(gumbel_study):
    s = gumbel_study.summary().loc["logit"]
    assert set(s.index) >= {"x2 / x1", "x1 / scale", "x2 / scale", "P(0) at x_eval"}
    assert (s["n"] == 200).all()
    lo, hi = _binomial_band(0.95, 200)
    assert s["coverage"].between(lo, hi).all(), s["coverage"]
    # unbiased within Monte Carlo error (bias / (sd / sqrt(reps)))
    sd = np.sqrt(s["rmse"] ** 2 - s["bias"] ** 2)
    assert (np.abs(s["bias"]) < 3 * sd / np.sqrt(200)).all(), s[["bias", "rmse"]]


def test_truth_of_the_study(gumbel_study):
    s = gumbel_study.summary().loc["logit"]
    assert s.loc["x2 / x1", "truth"] == -0.5
    assert s.loc["x1 / scale", "truth"] == pytest.approx(1 / stats.gumbel_r.std())
    v = np.array([-0.5, 0.0 + 0.5, 0.5 + 0.0])  # x_eval: x1 = (-0.5, 0, 0.5), x2 = 0; constants (0, 0.5, 0)
    assert s.loc["P(2) at x_eval", "truth"] == pytest.approx(np.exp(v[2]) / np.exp(v).sum())


def test_logit_on_red_bus_blue_bus_data_breaks_down_where_iia_binds():
    mc = cm.monte_carlo(dgp=DGP.red_bus_blue_bus(rho=0.9), n_obs=500, reps=30, rng=7, progress=False)
    s = mc.summary().loc["logit"]
    truth = DGP.red_bus_blue_bus(rho=0.9).probabilities(np.asarray(DGP.red_bus_blue_bus().x_eval))
    # IIA: the logit cannot make the buses close substitutes; at x_eval it overstates the
    # worse bus, taken from the car, against the truth
    assert s.loc["P(1) at x_eval", "bias"] > 0.1
    assert s.loc["P(0) at x_eval", "bias"] < -0.05
    assert s.loc["P(1) at x_eval", "coverage"] < 0.2
    assert s.loc["P(1) at x_eval", "truth"] == pytest.approx(truth[1])
    # the coefficient ratio stays identified: the attributes enter every alternative alike
    lo, _ = _binomial_band(0.95, 30)
    assert lo <= s.loc["x2 / x1", "coverage"]


def test_results_do_not_depend_on_n_jobs():
    kw = dict(dgp=DGP(beta=(1.0, -0.5)), n_obs=200, reps=6, rng=99, progress=False)
    one = cm.monte_carlo(n_jobs=1, **kw)
    two = cm.monte_carlo(n_jobs=2, **kw)
    assert one.estimates.equals(two.estimates)
    other = cm.monte_carlo(n_jobs=1, **{**kw, "rng": 100})
    assert not np.allclose(one.estimates["estimate"], other.estimates["estimate"])


def test_summary_print_and_plot(gumbel_study):
    import matplotlib

    matplotlib.use("Agg")
    assert "200 replications" in str(gumbel_study)
    assert "<table" in gumbel_study._repr_html_()
    fig = gumbel_study.plot()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == gumbel_study.estimates["quantity"].nunique()
    s = gumbel_study.summary()
    assert (s["mean fit time (s)"] > 0).all()
    assert s["mean loglike"].iloc[0] == pytest.approx(gumbel_study.fits["loglike"].mean())


# ---- probit studies (slow) ----------------------------------------------------------


@pytest.mark.slow
def test_iid_probit_well_specified_on_iid_normal_data():
    Probit = pytest.importorskip("choicemodels.models.probit").Probit
    mc = cm.monte_carlo(dgp=DGP(beta=(1.0, -0.5), errors="normal"), models=[(Probit, {"cov": "iid"})],
                        n_obs=300, reps=100, rng=3, n_jobs=-1, progress=False)
    s = mc.summary().loc["probit (iid)"]
    lo, hi = _binomial_band(0.95, 100)
    assert s["coverage"].between(lo, hi).all(), s["coverage"]


@pytest.mark.slow
def test_unstructured_probit_recovers_red_bus_blue_bus_probabilities():
    from choicemodels.models.logit import Logit

    Probit = pytest.importorskip("choicemodels.models.probit").Probit
    mc = cm.monte_carlo(dgp=DGP.red_bus_blue_bus(rho=0.8), models=[Logit, (Probit, {"cov": "unstructured"})],
                        n_obs=800, reps=40, rng=4, n_jobs=-1, progress=False)
    s = mc.summary()
    lo, _ = _binomial_band(0.95, 40)
    for j in range(3):
        q = f"P({j}) at x_eval"
        assert abs(s.loc[("probit (unstructured)", q), "bias"]) < 0.03
        assert s.loc[("probit (unstructured)", q), "coverage"] >= lo
    assert s.loc[("logit", "P(1) at x_eval"), "bias"] > 0.1


# ---- nested logit: exact GEV errors, the nested logit among the models -----------------
BUS = dict(beta=(1.0, -0.5), errors="nested", nests={"car": [0], "bus": [1, 2]}, iv=[1.0, 0.5])


def test_nested_dgp_truth_is_the_nested_logit_closed_form():
    # alternative 0 shares a nest with 1 (iv 0.4), alternative 2 alone; temperature 0.8
    dgp = DGP(beta=(1.0, -0.5), errors="nested", nests={"a": [0, 1], "b": [2]}, iv={"a": 0.4, "b": 1.0},
              temperature=0.8, x_eval=((0.3, 0.1), (-0.2, 0.4), (0.5, -1.0)))
    v = (np.asarray(dgp.x_eval) @ np.array([1.0, -0.5])) / 0.8
    lam = 0.4
    s_a = np.exp(v[0] / lam) + np.exp(v[1] / lam)
    denom = s_a**lam + np.exp(v[2])
    p = [np.exp(v[0] / lam) / s_a * s_a**lam / denom, np.exp(v[1] / lam) / s_a * s_a**lam / denom,
         np.exp(v[2]) / denom]
    truth = dgp.truth()
    np.testing.assert_allclose([truth[f"P({j}) at x_eval"] for j in range(3)], p, rtol=1e-12)
    # sigma^2 = (pi^2/6) mean(Var(e1 - e0), Var(e2 - e0)) / 2 = (pi^2/6) (iv^2 + 1) / 2, times T^2
    sigma = 0.8 * np.pi / np.sqrt(6) * np.sqrt((lam**2 + 1) / 2)
    assert dgp.scale == pytest.approx(sigma, rel=1e-12)
    assert truth["x2 / scale"] == pytest.approx(-0.5 / sigma, rel=1e-12)
    assert truth["x1"] == pytest.approx(1 / 0.8) and truth["iv:a"] == 0.4 and "iv:b" not in truth
    # the frequencies of exact GEV draws at x_eval match the closed form
    draws = 400_000
    chosen = cm.simulate_choices(np.repeat(dgp.utilities(np.asarray(dgp.x_eval)[None]), draws, axis=0),
                                 errors="nested", nests=[[0, 1], [2]], iv=[0.4, 1.0], temperature=0.8, rng=3)
    freq = np.bincount(chosen, minlength=3) / draws
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(np.multiply(p, np.subtract(1, p)) / draws))


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(errors="nested"), "needs nests"),
    (dict(errors="nested", nests={"a": [0, 1], "b": [2]}, iv=[0.5]), "one value per nest"),
    (dict(errors="nested", nests={"a": [0, 1], "b": [1, 2]}, iv=[0.5, 1.0]), "in two nests"),
    (dict(errors="nested", nests={"a": [0, 1]}, iv=[0.5]), r"\[2\] are in no nest"),
    (dict(errors="nested", nests={"a": [0, 1], "b": [2]}, iv=[1.5, 1.0]), r"iv must lie in \(0, 1\]"),
    (dict(errors="gumbel", nests={"a": [0, 1], "b": [2]}), "apply to nested errors only"),
])
def test_nested_dgp_bad_input(kwargs, match):
    with pytest.raises(cm.SpecificationError, match=match):
        DGP(beta=(1.0,), **kwargs)


def test_nested_logit_in_a_monte_carlo_study():
    # fast: 30 replications of N = 1000; the nested logit is unbiased within its Monte Carlo
    # error for every quantity, the logit's IIA shows as a bias in the probabilities
    dgp = DGP(**BUS)
    mc = cm.monte_carlo(dgp=dgp, models=[cm.Logit, (cm.NestedLogit, {"nests": dgp.nests})],
                        n_obs=1000, reps=30, rng=11, progress=False)
    s = mc.summary()
    est = mc.estimates
    assert set(s.loc["nested logit"].index) == {"x2 / x1", "x1 / scale", "x2 / scale", "x1", "x2",
                                                "iv:bus", "P(0) at x_eval", "P(1) at x_eval", "P(2) at x_eval"}
    assert "iv:bus" not in s.loc["logit"].index
    for (model, quantity), row in s.iterrows():
        d = est[(est.model == model) & (est.quantity == quantity)]
        mc_se = d["estimate"].std(ddof=1) / np.sqrt(len(d))
        if model == "nested logit":
            assert row["n"] == 30
            assert abs(row["bias"]) < 3.5 * mc_se, quantity
            # the reported standard errors match the spread of the estimates (within 35%)
            assert d["se"].mean() == pytest.approx(d["estimate"].std(ddof=1), rel=0.35), quantity
    # the logit puts too much share on the car (alternative 0): IIA
    logit = est[(est.model == "logit") & (est.quantity == "P(0) at x_eval")]
    assert logit["estimate"].mean() - dgp.truth()["P(0) at x_eval"] < -10 * logit["estimate"].std(ddof=1) / np.sqrt(30)
    assert "car 1, bus 0.5" in str(mc)  # the nests' iv in the report's header


@pytest.mark.slow
def test_nested_logit_interval_coverage():
    # 400 replications of N = 1500: the 95% intervals of iv, the coefficients and the
    # coefficients over the error scale cover the truth within 3 Monte Carlo SE
    dgp = DGP(beta=(1.0, -0.5), errors="nested", nests={"car": [0], "bus": [1, 2]}, iv=[1.0, 0.5],
              asc=(0.3, 0.3))
    mc = cm.monte_carlo(dgp=dgp, models=[(cm.NestedLogit, {"nests": dgp.nests})], n_obs=1500, reps=400,
                        rng=7, progress=False)
    s = mc.summary().loc["nested logit"]
    assert s["n"].min() >= 395
    lo, hi = _binomial_band(0.95, 400)
    for quantity in ("iv:bus", "x1", "x2", "x1 / scale", "x2 / scale", "x2 / x1", "P(0) at x_eval"):
        assert lo <= s.loc[quantity, "coverage"] <= hi, (quantity, s.loc[quantity, "coverage"])
