"""Comparison of fitted models: scale facts, fit statistics, tests, substitution, rendering."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import choicemodels as cm
from choicemodels.compare import LOGIT_SCALE, SLOPE_RATIO, error_scale
from choicemodels.datasets import load_travel_mode
from choicemodels.models.logit import Logit

COLS = dict(obs="individual", alt="mode", ref="car")


@pytest.fixture(scope="module")
def travel():
    return load_travel_mode()


@pytest.fixture(scope="module")
def two_logits(travel):
    a = Logit("choice ~ gc + ttme | hinc", travel, **COLS).fit()
    b = Logit("choice ~ gc + ttme | psize", travel, **COLS).fit()
    return a, b


def _by_hand_logit(travel: pd.DataFrame, result, parts: list[str], situation: str):
    """Per-situation log-likelihood and probabilities computed from the raw DataFrame."""
    alts = ["air", "bus", "car", "train"]
    wide = {v: travel.pivot(index="individual", columns="mode", values=v)[alts] for v in parts + ["choice"]}
    z = travel.groupby("individual")[situation].first().to_numpy()
    b = result.params
    V = sum(b[v] * wide[v].to_numpy() for v in parts)
    for j, a in enumerate(alts):
        if a != "car":
            V[:, j] += b[f"(Intercept):{a}"] + b[f"{situation}:{a}"] * z
    logp = V - special.logsumexp(V, axis=1, keepdims=True)
    chosen = wide["choice"].to_numpy()
    return (logp * chosen).sum(axis=1), np.exp(logp), chosen


# ---- scale facts --------------------------------------------------------------------


def test_logit_scale_is_the_gumbel_standard_deviation():
    assert LOGIT_SCALE == pytest.approx(stats.gumbel_r.std(), rel=1e-12)
    assert LOGIT_SCALE == pytest.approx(1.2825, abs=5e-5)


def test_slope_ratio_matches_the_densities_at_zero():
    # equal slopes at P = 1/2: beta_l * logistic.pdf(0) = beta_p * N(0, 2).pdf(0)
    assert SLOPE_RATIO == pytest.approx(stats.norm(scale=np.sqrt(2)).pdf(0) / stats.logistic.pdf(0), rel=1e-12)
    # times sqrt(2): the textbook 1.6 (slopes) and 1.8 (variances) of a unit-variance difference
    assert SLOPE_RATIO * np.sqrt(2) == pytest.approx(1.596, abs=1e-3)
    assert LOGIT_SCALE * np.sqrt(2) == pytest.approx(stats.logistic.std(), rel=1e-12)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_binary_logit_on_iid_normal_data_lies_between_the_two_rules(beta):
    # truth: probit with N(0, 1) errors per alternative and coefficient beta
    rng = np.random.default_rng(11)
    x = rng.standard_normal((50_000, 2, 1))
    chosen = cm.simulate_choices(beta * x[:, :, 0], errors="normal", rng=12)
    r = Logit.from_arrays(x, chosen, names=["x"]).fit()
    ratio = r.params["x"] / beta
    assert SLOPE_RATIO < ratio < LOGIT_SCALE


def test_scale_normalised_logit_recovers_beta_over_sigma():
    # Gumbel errors with temperature T: the logit estimates beta / T, sigma = T pi / sqrt(6)
    T, beta = 0.7, np.array([1.0, -0.5])
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20_000, 3, 2))
    chosen = cm.simulate_choices(x @ beta, errors="gumbel", temperature=T, rng=4)
    r = Logit.from_arrays(x, chosen, names=["x1", "x2"]).fit()
    r2 = Logit.from_arrays(x[:, :, :1], chosen, names=["x1"]).fit()
    c = cm.compare(r, r2, labels=["full", "short"])
    assert error_scale(r) == LOGIT_SCALE
    scaled = c.coefficients(scaled=True)["full"]
    se = c.std_errors(scaled=True)["full"]
    truth = beta / (T * np.pi / np.sqrt(6))
    assert np.all(np.abs(scaled.to_numpy() - truth) < 3 * se.to_numpy())
    ratio = c.ratios()["full"]["x2"]
    assert abs(ratio - beta[1] / beta[0]) < 3 * r.wtp("x2", "x1").se


# ---- fit statistics, shares, tests --------------------------------------------------


def test_hit_rate_and_shares_by_hand(travel, two_logits):
    a, b = two_logits
    c = cm.compare(a, b, labels=["hinc", "psize"])
    _, p, chosen = _by_hand_logit(travel, a, ["gc", "ttme"], "hinc")
    hit = np.mean(chosen[np.arange(len(chosen)), p.argmax(axis=1)] == 1)
    fit = c.fit_statistics()
    assert fit.loc["hinc", "hit rate"] == pytest.approx(hit, abs=1e-12)
    shares = c.shares()
    observed = travel[travel["choice"] == 1]["mode"].value_counts(normalize=True)
    assert np.allclose(shares["observed"], observed[shares.index].to_numpy())
    # with alternative-specific constants the logit reproduces the observed shares exactly
    assert np.allclose(shares["hinc"], shares["observed"], atol=1e-6)
    assert np.allclose(shares["hinc"].to_numpy(), p.mean(axis=0)[[0, 1, 2, 3]], atol=1e-10)


def test_vuong_by_hand(travel, two_logits):
    a, b = two_logits
    la, _, _ = _by_hand_logit(travel, a, ["gc", "ttme"], "hinc")
    lb, _, _ = _by_hand_logit(travel, b, ["gc", "ttme"], "psize")
    m = la - lb
    n = m.size
    z = m.sum() / (np.sqrt(n) * m.std(ddof=1))
    z_s = (m.sum() - (a.k_params - b.k_params) / 2 * np.log(n)) / (np.sqrt(n) * m.std(ddof=1))
    t = cm.compare(a, b, labels=["hinc", "psize"]).tests().loc["hinc vs psize"]
    assert t["test"] == "Vuong"
    assert t["statistic"] == pytest.approx(z, rel=1e-8)
    assert t["p-value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-8)
    assert t["Schwarz z"] == pytest.approx(z_s, rel=1e-8)
    assert t["Schwarz p-value"] == pytest.approx(2 * stats.norm.sf(abs(z_s)), rel=1e-8)
    assert t["favours"] == ("hinc" if z_s > 0 else "psize")


def test_nested_models_get_the_lr_test(travel, two_logits):
    a, _ = two_logits
    big = Logit("choice ~ gc + ttme | hinc + psize", travel, **COLS).fit()
    t = cm.compare(a, big).tests().iloc[0]
    assert t["test"] == "LR (nested)"
    assert t["statistic"] == pytest.approx(2 * (big.llf - a.llf), rel=1e-10)
    assert t["p-value"] == pytest.approx(stats.chi2.sf(2 * (big.llf - a.llf), 3), rel=1e-8)


# ---- substitution -------------------------------------------------------------------


def test_logit_elasticities_show_proportional_substitution(travel, two_logits):
    a, b = two_logits
    c = cm.compare(a, b, labels=["hinc", "psize"])
    e = c.elasticities()["hinc"]
    _, p, _ = _by_hand_logit(travel, a, ["gc", "ttme"], "hinc")
    alts = ["air", "bus", "car", "train"]
    gc = travel.pivot(index="individual", columns="mode", values="gc")[alts].to_numpy()
    beta = a.params["gc"]
    for j, alt in enumerate(alts):
        own = np.mean(beta * gc[:, j] * (1 - p[:, j]))
        cross = np.mean(-beta * gc[:, j] * p[:, j])
        assert e.loc[alt, alt] == pytest.approx(own, rel=1e-5)
        for k, other in enumerate(alts):
            if k != j:
                assert e.loc[alt, other] == pytest.approx(cross, rel=1e-5)
    assert c.cross_elasticity_spread()["hinc"] < 1e-5


# ---- rendering and validation -------------------------------------------------------


def test_table_print_html_json_plot(two_logits):
    import matplotlib

    matplotlib.use("Agg")
    a, b = two_logits
    c = cm.compare(a, b)
    table = c.table()
    assert list(dict.fromkeys(table.columns.get_level_values(0))) == ["coef", "std err", "coef / scale", "ratio to gc"]
    assert table[("coef", "logit")]["ttme"] == a.params["ttme"]
    assert table[("coef / scale", "logit")]["ttme"] == pytest.approx(a.params["ttme"] / LOGIT_SCALE)
    assert table[("ratio to gc", "logit #2")]["ttme"] == pytest.approx(b.params["ttme"] / b.params["gc"])
    text = str(c)
    for part in ("Coefficients", "Fit", "Choice shares", "Tests", "Elasticities w.r.t. gc", "pi/sqrt(6)"):
        assert part in text
    assert "<table" in c._repr_html_()
    out = json.loads(json.dumps(c.to_dict()))
    assert out["fit"]["logit"]["log-likelihood"] == pytest.approx(a.llf)
    fig = c.plot()
    assert len(fig.axes) >= 3  # coefficients + two heat maps (+ colour bars)


def test_compare_rejects_bad_input(travel, two_logits):
    a, b = two_logits
    with pytest.raises(cm.SpecificationError, match="at least two"):
        cm.compare(a)
    with pytest.raises(cm.SpecificationError, match="ratio_to='income'"):
        cm.compare(a, b, ratio_to="income")
    with pytest.raises(cm.SpecificationError, match="distinct names"):
        cm.compare(a, b, labels=["x", "x"])
    small = Logit("choice ~ gc + ttme | hinc", travel[travel["individual"] <= 100], **COLS).fit()
    with pytest.raises(cm.SpecificationError, match="different numbers of situations"):
        cm.compare(a, small)


# ---- logit against probit -----------------------------------------------------------


@pytest.fixture(scope="module")
def travel_comparison(travel):
    pytest.importorskip("choicemodels.models.probit")
    return cm.compare_models("choice ~ gc + ttme | hinc", travel, **COLS)


def test_compare_models_fits_logit_and_two_probits(travel_comparison):
    c = travel_comparison
    assert c.labels == ("logit", "probit (iid)", "probit (unstructured)")
    iid = c.results[1]
    assert c.scales["probit (iid)"] == pytest.approx(1.0)
    omega = iid.error_covariance().to_numpy()
    assert np.allclose(omega, np.eye(3) + 1.0)  # differences of iid N(0, 1) errors
    un = c.results[2]
    assert c.scales["probit (unstructured)"] == pytest.approx(np.sqrt(np.mean(np.diag(un.error_covariance())) / 2))
    tests = c.tests()
    assert tests.loc["probit (iid) vs probit (unstructured)", "test"] == "LR (nested)"
    assert tests.loc["logit vs probit (iid)", "test"] == "Vuong"


def test_unstructured_probit_substitution_is_not_proportional(travel_comparison):
    spread = travel_comparison.cross_elasticity_spread()
    assert spread["logit"] < 1e-5
    assert spread["probit (unstructured)"] > 0.05


def test_measured_logit_probit_ratio_is_printed(travel_comparison):
    c = travel_comparison
    ratios = c.scale_ratios()["logit / probit (iid)"]
    assert ratios["expected"] == pytest.approx(LOGIT_SCALE)
    logit, probit = c.results[0], c.results[1]
    strong = (logit.tvalues.abs() >= 2) & (probit.tvalues.abs() >= 2)
    measured = (logit.beta[strong] / probit.beta[strong]).median()
    row = c.measured_scale_ratio().loc["logit / probit (iid)"]
    assert row["median"] == pytest.approx(measured)
    assert row["coefficients"] == strong.sum() < logit.n_beta  # the weak hinc:air is left out
    assert f"median coefficient ratio {measured:.3f}" in str(c)


# ---- logit, nested logit and probit ---------------------------------------------------
NESTS = {"fly": ["air"], "ground": ["train", "bus", "car"]}


@pytest.fixture(scope="module")
def three(travel):
    return cm.compare(travel, "choice ~ gc + ttme | hinc", **COLS, models=["logit", "nested", "probit"],
                      nests=NESTS)


def test_compare_with_data_fits_logit_nested_and_probits(travel, three):
    c = three
    assert c.labels == ("logit", "nested logit", "probit (iid)", "probit (unstructured)")
    nl = cm.NestedLogit("choice ~ gc + ttme | hinc", data=travel, **COLS, nests=NESTS).fit()
    assert c.results[1].llf == pytest.approx(nl.llf, rel=1e-10)
    fit = c.fit_statistics()
    for lab, k in (("logit", 8), ("nested logit", 9), ("probit (iid)", 8), ("probit (unstructured)", 13)):
        r = c.results[c.labels.index(lab)]
        assert fit.loc[lab, "parameters"] == k
        assert fit.loc[lab, "AIC"] == pytest.approx(2 * k - 2 * r.llf)
        assert fit.loc[lab, "BIC"] == pytest.approx(np.log(210) * k - 2 * r.llf)
    # the nested logit's shares: the mean of its probabilities, not the observed shares
    shares = c.shares()
    assert shares["nested logit"].sum() == pytest.approx(1.0)
    assert np.abs(shares["nested logit"] - shares["observed"]).max() > 1e-4


def test_lr_logit_vs_nested_and_vuong_nested_vs_probit(three):
    c = three
    logit, nested, probit = c.results[0], c.results[1], c.results[3]
    tests = c.tests()
    lr = tests.loc["logit vs nested logit"]
    stat = 2 * (nested.llf - logit.llf)  # 3.685 on TravelMode (iv:ground 0.637)
    assert lr["test"] == "LR (nested)" and lr["df"] == 1
    assert lr["statistic"] == pytest.approx(stat, rel=1e-9) and 3.0 < stat < 4.5
    assert lr["p-value"] == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-9)
    # Vuong's z from the per-situation log-likelihoods (same situation order in both fits)
    m = nested.loglike_obs() - probit.loglike_obs()
    z = m.sum() / (np.sqrt(m.size) * m.std(ddof=1))
    z_s = (m.sum() - (nested.k_params - probit.k_params) / 2 * np.log(m.size)) / (np.sqrt(m.size) * m.std(ddof=1))
    v = tests.loc["nested logit vs probit (unstructured)"]
    assert v["test"] == "Vuong"
    assert v["statistic"] == pytest.approx(z, rel=1e-9)
    assert v["Schwarz z"] == pytest.approx(z_s, rel=1e-9)
    assert v["favours"] == ("nested logit" if z_s > 0 else "probit (unstructured)")


def test_nested_logit_scale_is_from_its_error_differences(three):
    # ref car shares the ground nest with train and bus: Var(e_j - e_car) = 2 (pi^2/6) iv^2
    # for train and bus, 2 (pi^2/6) for air, so sigma^2 = (pi^2/6) (2 iv^2 + 1) / 3
    c = three
    iv = float(c.results[1].params["iv:ground"])
    sigma = np.pi / np.sqrt(6) * np.sqrt((2 * iv**2 + 1) / 3)
    assert c.scales["nested logit"] == pytest.approx(sigma, rel=1e-12)
    assert c.scales["nested logit"] < LOGIT_SCALE
    scaled = c.coefficients(scaled=True)["nested logit"]
    assert scaled["gc"] == pytest.approx(c.results[1].params["gc"] / sigma, rel=1e-12)
    # the same sigma from an explicit covariance of the nested errors
    S = np.eye(4) * np.pi**2 / 6
    ground = [1, 2, 3]  # bus, car, train in the alternatives' order (air, bus, car, train)
    for i in ground:
        for j in ground:
            if i != j:
                S[i, j] = (1 - iv**2) * np.pi**2 / 6
    M = np.array([[1, 0, -1, 0], [0, 1, -1, 0], [0, 0, -1, 1]], float)  # minus car
    assert c.scales["nested logit"] == pytest.approx(np.sqrt(np.mean(np.diag(M @ S @ M.T)) / 2), rel=1e-12)


def test_three_models_render_in_every_format(three):
    c = three
    text = str(c)
    for title in ("Cross-elasticities w.r.t. gc, side by side", "Substitution within and across nests",
                  "LR (nested)"):
        assert title in text
    ratio = c.nest_substitution().loc["nested logit", "within / across"]
    assert f"nested logit {ratio:.3f}" in text
    d = json.loads(json.dumps(c.to_dict()))
    assert d["models"][1] == "nested logit"
    assert d["nest_substitution"]["logit"]["within / across"] == pytest.approx(1.0, abs=1e-6)
    assert d["cross_elasticities"]["train -> bus"]["same nest"] is True
    assert d["cross_elasticities"]["train -> bus"]["nested logit"] == pytest.approx(
        c.cross_elasticities().loc[("train", "bus"), "nested logit"])
    s = c.summary()
    assert "Substitution within and across nests (cross-elasticities)" in s.as_markdown()
    assert "changed,responding,same nest,logit,nested logit" in s.as_csv()
    assert "train,bus,yes," in s.as_csv()


def test_default_comparison_has_no_nest_tables(travel_comparison):
    # logit and probits only: the output of before, without nest tables
    assert travel_comparison.nests is None
    assert "Substitution within and across nests" not in str(travel_comparison)
    assert "nest_substitution" not in travel_comparison.to_dict()
    with pytest.raises(cm.SpecificationError, match="no nests"):
        travel_comparison.nest_substitution()
    # nests given by hand split any comparison's cross-elasticities
    split = travel_comparison.nest_substitution({"ground": ["train", "bus", "car"]})
    assert split.loc["logit", "within / across"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(models=["logit", "cnl"]),
     r"unknown model\(s\) \['cnl'\] in models; choose from \['logit', 'nested', 'mixed', 'probit'\]"),
    (dict(models=["logit", "mixed"]), "'mixed', which needs random"),
    (dict(models=["logit", "probit"], random={"gc": "normal"}), "random applies to the mixed logit"),
    (dict(models=["logit", "probit"], panel="individual"), "panel applies to the mixed logit"),
    (dict(models=["logit", "mixed"], random={"gc": "gamma"}), "unknown distribution 'gamma' for 'gc'"),
    (dict(models=["logit", "nested"]), "'nested', which needs nests"),
    (dict(models=["logit", "probit"], nests=NESTS), "nests applies to the nested logit"),
    (dict(models=["logit", "probit"], equal_iv=True), "equal_iv applies to the nested logit"),
    (dict(models=["logit", "logit"]), r"names \['logit'\] more than once"),
    (dict(models=[]), "models is empty"),
    (dict(models=["logit", "nested"], nests={"fly": ["air", "plane"], "ground": ["train", "bus", "car"]}),
     "unknown alternative"),
])
def test_compare_models_bad_model_options(travel, kwargs, match):
    with pytest.raises(cm.SpecificationError, match=match):
        cm.compare_models("choice ~ gc + ttme | hinc", travel, **COLS, **kwargs)


def test_compare_data_and_results_options_are_not_mixed(travel, two_logits):
    a, b = two_logits
    with pytest.raises(cm.SpecificationError, match="nests apply when compare is given data"):
        cm.compare(a, b, nests=NESTS)
    with pytest.raises(cm.SpecificationError, match="models apply when compare is given data"):
        cm.compare(a, b, models=["logit", "nested"])
    with pytest.raises(cm.SpecificationError, match="needs obs, alt as well"):
        cm.compare(travel, "choice ~ gc")
    with pytest.raises(cm.SpecificationError, match="takes the data and one formula"):
        cm.compare(travel, "choice ~ gc", "choice ~ ttme", **COLS)
    c = cm.compare(travel, formula="choice ~ gc + ttme", **COLS, models=["logit", "nested"], nests=NESTS,
                   labels=["MNL", "NL"])
    assert c.labels == ("MNL", "NL") and c.results[1].model_name == "NestedLogit"


def test_cross_elasticities_need_an_alternative_varying_variable(travel):
    c = cm.compare_models("choice ~ gc + ttme | hinc", travel, **COLS, models=["logit", "nested"],
                          nests=NESTS, variable="hinc")
    with pytest.raises(cm.SpecificationError, match="'hinc' is a situation-level variable"):
        c.cross_elasticities()
    assert "Substitution within and across nests" not in str(c)
    with pytest.raises(cm.SpecificationError, match="nest 'x' names 'plane'"):
        cm.compare_models("choice ~ gc + ttme", travel, **COLS, models=["logit", "nested"],
                          nests=NESTS).cross_elasticities({"x": ["plane"]})


# ---- the mixed logit in the comparison ---------------------------------------------------
RANDOM = {"ttme": "normal"}


@pytest.fixture(scope="module")
def with_mixed(travel):
    c = cm.compare_models("choice ~ gc + ttme | hinc", travel, **COLS, models=["logit", "mixed", "probit"],
                          random=RANDOM, draws=100, probit_cov="iid", progress=False)
    direct = cm.MixedLogit("choice ~ gc + ttme | hinc", travel, **COLS, random=RANDOM, draws=100,
                           rng=0).fit()
    return c, direct


def test_mixed_column_is_the_direct_fit(with_mixed):
    c, direct = with_mixed
    assert c.labels == ("logit", "mixed logit", "probit (iid)")
    mixed = c.results[1]
    np.testing.assert_allclose(mixed.params, direct.params, rtol=1e-10)
    np.testing.assert_allclose(c.coefficients()["mixed logit"], direct.beta, rtol=1e-10)
    np.testing.assert_allclose(c.std_errors()["mixed logit"], direct.bse.iloc[: direct.n_beta], rtol=1e-8)
    fit = c.fit_statistics()
    assert fit.loc["mixed logit", "log-likelihood"] == pytest.approx(direct.llf, rel=1e-12)
    assert fit.loc["mixed logit", "parameters"] == 9  # 8 coefficients and sd.ttme
    # the scale-normalised column divides the means by the Gumbel kernel's sd pi/sqrt(6)
    np.testing.assert_allclose(c.coefficients(scaled=True)["mixed logit"],
                               direct.beta / (np.pi / np.sqrt(6)), rtol=1e-10)
    # predicted shares: the mean over situations of the simulated probabilities
    np.testing.assert_allclose(c.shares()["mixed logit"], direct.predict().mean(axis=0), rtol=1e-10)
    # elasticities by simulation: the mixed logit's own, not proportional substitution
    e = c.elasticities()["mixed logit"]
    np.testing.assert_allclose(e, direct.elasticities("gc"), rtol=1e-10)
    off = e.to_numpy()[~np.eye(4, dtype=bool)].reshape(4, 3)
    assert np.ptp(off, axis=1).max() > 0.1  # the logit's rows are constant


def test_lr_logit_vs_mixed_is_a_boundary_test(with_mixed):
    c, direct = with_mixed
    logit = c.results[0]
    row = c.tests().loc["logit vs mixed logit"]
    stat = 2 * (direct.llf - logit.llf)
    assert row["test"] == "LR (boundary)" and row["df"] == 1
    assert row["statistic"] == pytest.approx(stat, rel=1e-10)
    # conservative: the chi2(1) p-value, twice the chi-bar-square 0.5 chi2(0) + 0.5 chi2(1) one
    assert row["p-value"] == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-10)
    notes = " ".join(c.notes())
    assert "mixture of chi-squares" in notes and "conservative" in notes
    assert f"sd.ttme = {direct.params['sd.ttme']:.4f}" in notes
    assert "pi/sqrt(6)" in notes
    assert error_scale(direct) == LOGIT_SCALE


def test_vuong_mixed_vs_probit_without_panel_is_by_situation(with_mixed):
    c, direct = with_mixed
    probit = c.results[2]
    m = direct.loglike_obs() - probit.loglike_obs()
    row = c.tests().loc["mixed logit vs probit (iid)"]
    assert row["test"] == "Vuong"
    assert row["statistic"] == pytest.approx(m.sum() / (np.sqrt(210) * m.std(ddof=1)), rel=1e-10)
    assert row["Schwarz z"] == pytest.approx(cm.vuong_test(direct, probit).statistic, rel=1e-10)


def _panel_frame(P=150, T=4, J=3, seed=3):
    """Long data of P persons x T situations: a normal coefficient on x, fixed on w."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2, P * T, J))
    b = np.repeat(1.0 + 1.0 * rng.standard_normal(P), T)
    chosen = cm.simulate_choices(b[:, None] * x - 0.5 * w, rng=seed)
    sit = np.repeat(np.arange(P * T), J)
    return pd.DataFrame({"sit": sit, "person": np.repeat(np.arange(P), T * J),
                         "alt": np.tile(np.arange(J), P * T), "x": x.ravel(), "w": w.ravel(),
                         "choice": (np.tile(np.arange(J), P * T) == np.repeat(chosen, J)).astype(int)})


def test_panel_vuong_pairs_persons():
    df = _panel_frame()
    kw = dict(obs="sit", alt="alt", ref=0)
    c = cm.compare(df, "choice ~ x + w | 0", **kw, models=["logit", "mixed", "probit"], random={"x": "normal"},
                   panel="person", draws=100)
    mixed = c.results[1]
    direct = cm.MixedLogit("choice ~ x + w | 0", df, **kw, random={"x": "normal"}, panel="person",
                           draws=100, rng=0).fit()
    assert mixed.llf == pytest.approx(direct.llf, rel=1e-12) and mixed.cov_type == "cluster"
    # the per-person log-likelihoods: the mixed logit's, and each probit situation's summed by person
    persons = df.groupby("sit")["person"].first().to_numpy()
    person_ll = pd.Series(direct.loglike_obs()).groupby(persons).sum()
    probit = c.results[2]
    m = (person_ll - pd.Series(probit.loglike_obs()).groupby(persons).sum()).to_numpy()
    assert m.size == 150
    row = c.tests().loc["mixed logit vs probit (iid)"]
    sd = np.sqrt(150) * m.std(ddof=1)
    assert row["statistic"] == pytest.approx(m.sum() / sd, rel=1e-10)
    assert row["Schwarz z"] == pytest.approx((m.sum() - (3 - 2) / 2 * np.log(150)) / sd, rel=1e-10)
    assert mixed.k_params - probit.k_params == 1
    # the logit is the mixed logit at sd 0 on panel data too: LR, not Vuong
    lr = c.tests().loc["logit vs mixed logit"]
    assert lr["statistic"] == pytest.approx(2 * (direct.llf - c.results[0].llf), rel=1e-10)
