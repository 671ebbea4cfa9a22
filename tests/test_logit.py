"""Logit estimation against statsmodels, closed forms and finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

import choicemodels as cm


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def _fd_jacobian(fun, x, h=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


def test_conditional_logit_matches_statsmodels(travel):
    r = cm.Logit("choice ~ gc + ttme | 0", data=travel, obs="individual", alt="mode").fit()
    ref = ConditionalLogit(travel["choice"], travel[["gc", "ttme"]], groups=travel["individual"]).fit(
        method="newton", tol=1e-12, disp=False)
    assert r.converged
    np.testing.assert_allclose(r.params[["gc", "ttme"]], ref.params, rtol=1e-6)
    np.testing.assert_allclose(r.bse[["gc", "ttme"]], ref.bse, rtol=1e-5)
    assert r.llf == pytest.approx(ref.llf, abs=1e-6)


def test_constants_match_statsmodels_conditional_logit(travel):
    r = cm.Logit("choice ~ gc + ttme", data=travel, obs="individual", alt="mode", ref="car").fit()
    exog = travel[["gc", "ttme"]].copy()
    for a in ("air", "bus", "train"):
        exog[f"(Intercept):{a}"] = (travel["mode"] == a).astype(float)
    ref = ConditionalLogit(travel["choice"], exog, groups=travel["individual"]).fit(
        method="newton", tol=1e-12, disp=False)
    np.testing.assert_allclose(r.params[exog.columns], ref.params, rtol=1e-5)
    np.testing.assert_allclose(r.bse[exog.columns], ref.bse, rtol=1e-5)
    assert r.llf == pytest.approx(ref.llf, abs=1e-6)


def _wide(travel):
    wide = travel[travel["choice"] == 1].set_index("individual")
    alts = sorted(travel["mode"].unique())
    y = wide["mode"].map({a: i for i, a in enumerate(alts)})
    return wide, y


def test_multinomial_logit_matches_mnlogit(travel):
    r = cm.Logit("choice ~ 0 | hinc", data=travel, obs="individual", alt="mode", ref="air").fit()
    wide, y = _wide(travel)
    ref = sm.MNLogit(y, sm.add_constant(wide[["hinc"]])).fit(method="newton", tol=1e-12, disp=False)
    for col, alt in enumerate(["bus", "car", "train"]):
        assert r.params[f"(Intercept):{alt}"] == pytest.approx(ref.params.iloc[0, col], rel=1e-6)
        assert r.params[f"hinc:{alt}"] == pytest.approx(ref.params.iloc[1, col], rel=1e-6)
        assert r.bse[f"hinc:{alt}"] == pytest.approx(ref.bse.iloc[1, col], rel=1e-6)
    assert r.llf == pytest.approx(ref.llf, abs=1e-6)
    assert r.llnull == pytest.approx(210 * np.log(0.25))
    # constants-only log-likelihood has the closed form sum n_j log(n_j / N)
    counts = y.value_counts().to_numpy()
    assert r.ll_constants == pytest.approx(np.sum(counts * np.log(counts / counts.sum())), abs=1e-8)


def test_fit_statistics_follow_statsmodels_names(travel):
    """llr, prsquared, df_model, df_resid, aic, bic mean what statsmodels' MNLogit means."""
    r = cm.Logit("choice ~ 0 | hinc", data=travel, obs="individual", alt="mode", ref="air").fit()
    wide, y = _wide(travel)
    ref = sm.MNLogit(y, sm.add_constant(wide[["hinc"]])).fit(method="newton", tol=1e-12, disp=False)
    # statsmodels' llnull is the constants-only model, fitted numerically (to about 1e-10 relative)
    assert r.ll_constants == pytest.approx(ref.llnull, rel=1e-9)
    assert r.ll_equal_shares == pytest.approx(210 * np.log(0.25))  # Biogeme's null: equal shares
    assert r.prsquared == pytest.approx(ref.prsquared, rel=1e-8)
    assert r.llr == pytest.approx(ref.llr, rel=1e-7)
    assert r.llr_pvalue == pytest.approx(ref.llr_pvalue, rel=1e-6)
    assert (r.df_model, r.df_resid, r.k_constant) == (ref.df_model, ref.df_resid, 3)
    assert r.aic == pytest.approx(ref.aic, rel=1e-10)
    assert r.bic == pytest.approx(ref.bic, rel=1e-10)
    assert r.rho2 == pytest.approx(1 - r.llf / (210 * np.log(0.25)), rel=1e-12)


def test_robust_and_cluster_covariance_match_statsmodels(travel):
    wide, y = _wide(travel)
    exog = sm.add_constant(wide[["hinc"]])
    model = cm.Logit("choice ~ 0 | hinc", data=travel, obs="individual", alt="mode", ref="air")
    robust = model.fit(cov_type="robust")
    ref = sm.MNLogit(y, exog).fit(method="newton", tol=1e-12, disp=False, cov_type="HC0")
    assert robust.bse["hinc:car"] == pytest.approx(ref.bse.iloc[1, 1], rel=1e-6)
    groups = (wide.index.to_numpy() - 1) // 3  # 70 clusters of three travellers
    cluster = model.fit(cov_type="cluster", groups=groups)
    ref = sm.MNLogit(y, exog).fit(method="newton", tol=1e-12, disp=False, cov_type="cluster",
                                  cov_kwds={"groups": groups})
    n, k = 210, 6
    # statsmodels scales by G/(G-1) * (N-1)/(N-K); we use Stata's G/(G-1) for likelihood models
    expected = ref.bse.iloc[1, 2] / np.sqrt((n - 1) / (n - k))
    assert cluster.bse["hinc:train"] == pytest.approx(expected, rel=1e-6)


def test_opg_covariance_is_the_inverse_outer_product_of_statsmodels_scores(travel):
    """``cov_type="opg"`` (BHHH): the inverse of the sum of outer products of the
    per-situation scores, here statsmodels' ``MNLogit.score_obs`` at its own estimate."""
    wide, y = _wide(travel)
    ref_model = sm.MNLogit(y, sm.add_constant(wide[["hinc"]]))
    ref = ref_model.fit(method="newton", tol=1e-12, disp=False)
    scores = ref_model.score_obs(ref.params.to_numpy().ravel(order="F"))
    ref_bse = np.sqrt(np.diag(np.linalg.inv(scores.T @ scores))).reshape(2, 3, order="F")
    r = cm.Logit("choice ~ 0 | hinc", data=travel, obs="individual", alt="mode", ref="air").fit(cov_type="opg")
    assert r.cov_type == "opg"
    for col, alt in enumerate(["bus", "car", "train"]):
        assert r.bse[f"(Intercept):{alt}"] == pytest.approx(ref_bse[0, col], rel=1e-6)
        assert r.bse[f"hinc:{alt}"] == pytest.approx(ref_bse[1, col], rel=1e-6)
    assert not np.allclose(r.bse, r.model.fit().bse, rtol=1e-3)  # not the Hessian's errors


def test_binary_logit_matches_statsmodels():
    rng = np.random.default_rng(3)
    n = 800
    x = rng.normal(size=n)
    u = 0.5 + 1.2 * x + rng.logistic(size=n)
    y = (u > 0).astype(int)
    X = np.zeros((n, 2, 2))
    X[:, 1, 0] = 1.0
    X[:, 1, 1] = x
    r = cm.Logit.from_arrays(X, y, names=["const", "x"]).fit()
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=False, tol=1e-12)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-7)
    np.testing.assert_allclose(r.bse, ref.bse, rtol=1e-6)
    ci = r.conf_int(0.1)
    ref_ci = sm.Logit(y, pd.DataFrame({"const": 1.0, "x": x})).fit(disp=False, tol=1e-12).conf_int(0.1)
    assert list(ci.columns) == list(ref_ci.columns) == [0, 1]
    np.testing.assert_allclose(ci.to_numpy(), ref_ci, rtol=1e-6)
    assert r.llf == pytest.approx(ref.llf, abs=1e-8)


def test_gradient_and_hessian_against_finite_differences(travel):
    m = cm.Logit("choice ~ gc + ttme | hinc | invt", data=travel, obs="individual", alt="mode", ref="car")
    b = np.random.default_rng(0).normal(scale=0.01, size=len(m.param_names))
    np.testing.assert_allclose(m.score(b), _fd_jacobian(m.loglike, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.hessian(b), _fd_jacobian(m.score, b), rtol=1e-5, atol=1e-5)


def test_parameter_recovery_from_simulated_data():
    sim = cm.simulate_dataset(4000, 4, [1.0, -0.5], rng=11)
    r = cm.Logit(sim.formula, data=sim.data, obs="obs", alt="alt").fit()
    truth = sim.params
    z = (r.params[truth.index] - truth) / r.bse[truth.index]
    assert np.all(np.abs(z) < 3), z


def test_integer_weights_equal_duplicated_situations(travel):
    ids = travel["individual"].unique()
    w = pd.Series(np.arange(len(ids)) % 3 + 1, index=ids)
    df = travel.assign(w=travel["individual"].map(w))
    r = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode", weights="w").fit()
    rows = [travel[travel["individual"] == i].assign(individual=f"{i}-{c}")
            for i in ids for c in range(w[i])]
    dup = pd.concat(rows, ignore_index=True)
    ref = cm.Logit("choice ~ gc + ttme", data=dup, obs="individual", alt="mode").fit()
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-8)
    assert r.llf == pytest.approx(ref.llf, rel=1e-10)


def test_predictions_and_utilities(travel):
    r = cm.Logit("choice ~ gc + ttme | hinc", data=travel, obs="individual", alt="mode", ref="car").fit()
    p = r.predict()
    assert p.shape == (210, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    v = r.predict(kind="utility")
    manual = np.exp(v.to_numpy())
    np.testing.assert_allclose(p.to_numpy(), manual / manual.sum(axis=1, keepdims=True), rtol=1e-12)
    # new data: the first 10 travellers without the choice column
    new = travel[travel["individual"] <= 10].drop(columns="choice")
    np.testing.assert_allclose(r.predict(new).to_numpy(), p.to_numpy()[:10], rtol=1e-12)


def test_elasticities_match_logit_closed_form(travel):
    r = cm.Logit("choice ~ gc + ttme", data=travel, obs="individual", alt="mode", ref="car").fit()
    e = r.elasticities("gc")
    p = r.predict().to_numpy()
    x = travel.pivot(index="individual", columns="mode", values="gc")[list(r.alternatives)].to_numpy()
    b = r.params["gc"]
    # d log P_k / d log x_j = b x_j (1[j = k] - P_j)
    for j in range(4):
        for k in range(4):
            expected = np.mean(b * x[:, j] * ((j == k) - p[:, j]))
            assert e.iloc[j, k] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    point = r.elasticities("gc", kind="point")
    i = 17  # the 18th traveller: own elasticity of air, cross elasticity of train on bus
    assert point.iloc[4 * i, 0] == pytest.approx(b * x[i, 0] * (1 - p[i, 0]), rel=1e-6)
    assert point.iloc[4 * i + 1, 3] == pytest.approx(-b * x[i, 1] * p[i, 1], rel=1e-6)
    agg = r.elasticities("gc", kind="aggregate")
    # elasticity of the expected share of k: sum_i x_ij dP_ik/dx_ij / sum_i P_ik
    expected = np.sum(b * x[:, 2] * p[:, 2] * (1 - p[:, 2])) / np.sum(p[:, 2])
    assert agg.iloc[2, 2] == pytest.approx(expected, rel=1e-6)
    se = r.elasticity_se("gc")
    assert np.all(se.to_numpy() > 0)
    me = r.marginal_effects("gc")
    expected_own = np.mean(b * p[:, 0] * (1 - p[:, 0]))
    assert me.iloc[0, 0] == pytest.approx(expected_own, rel=1e-6)


def test_wtp_delta_method(travel):
    r = cm.Logit("choice ~ gc + ttme", data=travel, obs="individual", alt="mode").fit()
    w = r.wtp("ttme", "gc")
    bn, bd = r.params["ttme"], r.params["gc"]
    v = r.cov_params().loc[["ttme", "gc"], ["ttme", "gc"]].to_numpy()
    g = np.array([1 / bd, -bn / bd**2])
    assert w.estimate == pytest.approx(bn / bd)
    assert w.se == pytest.approx(np.sqrt(g @ v @ g))


def test_lr_test_and_hausman_mcfadden(travel):
    small = cm.Logit("choice ~ gc", data=travel, obs="individual", alt="mode", ref="car").fit()
    big = cm.Logit("choice ~ gc + ttme", data=travel, obs="individual", alt="mode", ref="car").fit()
    lr = cm.lr_test(small, big)
    assert lr.df == 1
    assert lr.statistic == pytest.approx(2 * (big.llf - small.llf))
    assert lr.p_value == pytest.approx(stats.chi2.sf(lr.statistic, 1))

    hm = cm.hausman_mcfadden(big, omit=["air"])
    sub = travel[~travel["individual"].isin(travel.query("mode == 'air' and choice == 1")["individual"])]
    sub = sub[sub["mode"] != "air"]
    rest = cm.Logit("choice ~ gc + ttme", data=sub, obs="individual", alt="mode", ref="car").fit()
    names = ["gc", "ttme", "(Intercept):bus", "(Intercept):train"]
    d = rest.params[names] - big.params[names]
    v = rest.cov_params().loc[names, names] - big.cov_params().loc[names, names]
    vals = np.linalg.eigvalsh(v.to_numpy())
    if np.all(vals > 0):
        expected = float(d @ np.linalg.solve(v.to_numpy(), d))
        assert hm.statistic == pytest.approx(expected, rel=1e-6)
        assert hm.df == 4


def test_save_and_load_round_trip(tmp_path, travel):
    r = cm.Logit("choice ~ gc + ttme | hinc", data=travel, obs="individual", alt="mode", ref="car").fit(cov_type="robust")
    path = tmp_path / "r.json"
    r.save(path)
    back = cm.load_results(path)
    pd.testing.assert_series_equal(back.params, r.params, check_exact=True)
    pd.testing.assert_frame_equal(back.cov_params(), r.cov_params(), check_exact=True)
    assert back.llf == r.llf and back.aic == r.aic and back.spec == r.spec
    new = travel[travel["individual"] <= 5]
    np.testing.assert_array_equal(back.predict(new).to_numpy(), r.predict(new).to_numpy())
    assert str(back.summary()) == str(r.summary())


def test_separation_is_reported():
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    y = (x > 0).astype(int)  # x predicts the choice perfectly
    X = np.zeros((n, 2, 1))
    X[:, 1, 0] = x
    with pytest.warns(cm.SeparationWarning, match="x"):
        r = cm.Logit.from_arrays(X, y, names=["x"]).fit()
    assert not r.converged


def test_fit_does_not_modify_data_or_model(travel):
    before = travel.copy()
    m = cm.Logit("choice ~ gc + ttme | hinc", data=travel, obs="individual", alt="mode")
    X = m.design.X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit()
    pd.testing.assert_frame_equal(travel, before)
    np.testing.assert_array_equal(m.design.X, X)


def test_summary_renders(travel):
    r = cm.Logit("choice ~ gc + ttme | hinc", data=travel, obs="individual", alt="mode", ref="car").fit()
    text = str(r)
    assert "Log-likelihood" in text and "hinc:air" in text
    assert "<table>" in r._repr_html_()


def test_constants_only_loglike_with_unbalanced_sets_and_weights():
    rng = np.random.default_rng(1)
    n, n_alts = 3000, 4
    avail = rng.random((n, n_alts)) < 0.8
    avail[:, 0] = True
    X = rng.normal(size=(n, n_alts, 2)) * avail[:, :, None]
    chosen = cm.simulate_choices(X @ np.array([1.0, -1.0]), avail=avail, rng=2)
    w = rng.uniform(0.5, 2.0, n)
    r = cm.Logit.from_arrays(X, chosen, avail=avail, weights=w, weight_type="sampling").fit()
    # the constants-only model fitted directly: one dummy per non-reference alternative
    dummies = np.zeros((n, n_alts, n_alts - 1))
    dummies[:, 1:, :] = np.eye(n_alts - 1)
    dummies *= avail[:, :, None]
    direct = cm.Logit.from_arrays(dummies, chosen, avail=avail, weights=w, weight_type="sampling").fit()
    assert r.ll_constants == pytest.approx(direct.llf, rel=1e-12)


def test_elasticity_standard_errors_by_the_delta_method(travel):
    r = cm.Logit("choice ~ gc + ttme", data=travel, obs="individual", alt="mode", ref="car").fit()
    x = travel.pivot(index="individual", columns="mode", values="gc")[list(r.alternatives)].to_numpy()
    X = r.model.design.X

    def closed_form(b):  # mean elasticities b_gc x_j (1[j = k] - P_j) from the logit formula
        v = X @ b
        p = np.exp(v - v.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        e = b[0] * x[:, :, None] * (np.eye(4)[None] - p[:, :, None])
        return e.mean(axis=0).ravel()

    jac = _fd_jacobian(closed_form, r.params.to_numpy())
    expected = np.sqrt(np.einsum("ap,pq,aq->a", jac, r.cov_params().to_numpy(), jac)).reshape(4, 4)
    np.testing.assert_allclose(r.elasticity_se("gc").to_numpy(), expected, rtol=1e-4)


def test_large_fits_start_from_a_subsample_and_reach_the_same_maximum():
    # from 50,000 situations the fit starts from the estimate on every n-th situation
    rng = np.random.default_rng(5)
    N, J = 60_000, 3
    X = rng.normal(size=(N, J, 3))
    avail = rng.random((N, J)) > 0.2
    chosen = np.where(avail, X @ np.array([0.5, -1.0, 0.8]) + rng.gumbel(size=(N, J)),
                      -np.inf).argmax(axis=1)
    avail[np.arange(N), chosen] = True
    weights = rng.uniform(0.5, 2.0, N)
    model = cm.Logit.from_arrays(X, chosen, avail=avail, weights=weights, weight_type="sampling")
    start = model.start_params()
    warm, cold = model.fit(), model.fit(start=np.zeros(3))
    assert warm.converged and cold.converged and warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-12)
    np.testing.assert_allclose(warm.bse, cold.bse, rtol=1e-10)
    assert warm.llf == pytest.approx(cold.llf, rel=1e-15)
    # the start is an estimate on 2,000 situations: within a few of its standard errors
    assert np.all(np.abs(start - warm.params) < 4 * np.sqrt(N / 2_000) * warm.bse)


def test_separation_is_reported_on_large_data():
    # the subsample fit diverges too: the fit starts from zeros and reports the separation
    rng = np.random.default_rng(1)
    n = 60_000
    x = rng.normal(size=n)
    X = np.zeros((n, 2, 2))
    X[:, 1, 0] = x
    X[:, 1, 1] = rng.normal(size=n)
    with pytest.warns(cm.SeparationWarning, match="x"):
        r = cm.Logit.from_arrays(X, (x > 0).astype(int), names=["x", "z"]).fit()
    assert not r.converged


# ---- Fishing: mlogit's published output ----------------------------------------------------
def _assert_printed(value: float, printed: float, digits: int) -> None:
    """``value`` rounds to ``printed`` at ``digits`` significant digits (as R prints it)."""
    scale = 10.0 ** (np.floor(np.log10(abs(printed))) - digits + 1)
    assert abs(value - printed) <= 0.5 * scale * (1 + 1e-9), (value, printed)


@pytest.fixture(scope="module")
def fishing():
    return cm.datasets.load_fishing()


def test_fishing_conditional_logit_matches_mlogit(fishing):
    """``summary(mlogit(mode ~ price + catch, data = Fish))`` (the conditional logit of
    mlogit's manual) as printed by knitr in F. Hartig, ResearchSkills,
    github.com/florianhartig/ResearchSkills, Labs/Statistics/Practicals/
    StatisticalAnalysisInR/Statistics.md: estimates and standard errors to 7 decimals,
    z to 4, Log-Likelihood -1230.8, McFadden R^2 0.17823, LR chisq 533.88."""
    r = cm.Logit("mode ~ price + catch", data=fishing, obs="id", alt="alt").fit()
    printed = {  # name: (estimate, std. error, z)
        "(Intercept):boat": (0.8713749, 0.1140428, 7.6408),
        "(Intercept):charter": (1.4988884, 0.1329328, 11.2755),
        "(Intercept):pier": (0.3070552, 0.1145738, 2.6800),
        "price": (-0.0247896, 0.0017044, -14.5444),
        "catch": (0.3771689, 0.1099707, 3.4297),
    }
    assert sorted(r.param_names) == sorted(printed)
    for name, (b, se, z) in printed.items():
        assert abs(r.params[name] - b) <= 0.5e-7, name
        assert abs(r.bse[name] - se) <= 0.5e-7, name
        assert abs(r.tvalues[name] - z) <= 0.5e-4, name
    _assert_printed(r.llf, -1230.8, 5)
    _assert_printed(r.prsquared, 0.17823, 5)
    _assert_printed(r.llr, 533.88, 5)
    assert r.spec["ref"] == "beach"  # mlogit's reference level: the first in sorted order


def test_fishing_multinomial_logit_matches_mlogit(fishing):
    """``summary(mlogit(mode ~ 0 | income, data = Fish))`` printed in the same source:
    estimates and standard errors to 5 significant digits, z to 4 decimals, LL -1477.2,
    McFadden R^2 0.013736, LR chisq 41.145 (p 6.0931e-09); the estimates to 7 digits as
    mlogit prints ``coefficients`` in UrbanSim's tests (github.com/UDST/urbansim,
    urbansim/urbanchoice/tests/test_mnl.py, test_alternative_specific_coeffs)."""
    r = cm.Logit("mode ~ 0 | income", data=fishing, obs="id", alt="alt").fit()
    printed = {  # name: (estimate, std. error, z, estimate to 7 digits)
        "(Intercept):boat": (7.3892e-01, 1.9673e-01, 3.7560, 7.389208e-01),
        "(Intercept):charter": (1.3413e+00, 1.9452e-01, 6.8955, 1.341291e+00),
        "(Intercept):pier": (8.1415e-01, 2.2863e-01, 3.5610, 8.141503e-01),
        "income:boat": (9.1906e-05, 4.0664e-05, 2.2602, 9.190636e-05),
        "income:charter": (-3.1640e-05, 4.1846e-05, -0.7561, -3.163988e-05),
        "income:pier": (-1.4340e-04, 5.3288e-05, -2.6911, -1.434029e-04),
    }
    assert sorted(r.param_names) == sorted(printed)
    for name, (b, se, z, b7) in printed.items():
        _assert_printed(r.params[name], b, 5)
        _assert_printed(r.params[name], b7, 7)
        _assert_printed(r.bse[name], se, 5)
        assert abs(r.tvalues[name] - z) <= 0.5e-4, name
    _assert_printed(r.llf, -1477.2, 5)
    _assert_printed(r.prsquared, 0.013736, 5)
    _assert_printed(r.llr, 41.145, 5)
    _assert_printed(r.llr_pvalue, 6.0931e-09, 5)


def test_fishing_three_part_formula_matches_mlogit(fishing):
    """``summary(ml.Fish)``, ``ml.Fish <- mlogit(mode ~ price | income | catch, Fishing,
    shape = "wide", varying = 2:9)``, printed in Y. Croissant, Estimation of multinomial
    logit models in R: the mlogit packages (vignette of mlogit 0.2-4, CRAN, 2013),
    pp. 23-24: estimates and standard errors to 5 significant digits, z to 4 decimals,
    Log-Likelihood -1199.1, McFadden R^2 0.19936, LR chisq 597.16."""
    r = cm.Logit("mode ~ price | income | catch", data=fishing, obs="id", alt="alt").fit()
    printed = {
        "(Intercept):boat": (8.4184e-01, 2.9996e-01, 2.8065),
        "(Intercept):charter": (2.1549e+00, 2.9746e-01, 7.2443),
        "(Intercept):pier": (1.0430e+00, 2.9535e-01, 3.5315),
        "price": (-2.5281e-02, 1.7551e-03, -14.4046),
        "income:boat": (5.5428e-05, 5.2130e-05, 1.0633),
        "income:charter": (-7.2337e-05, 5.2557e-05, -1.3764),
        "income:pier": (-1.3550e-04, 5.1172e-05, -2.6480),
        "catch:beach": (3.1177e+00, 7.1305e-01, 4.3724),
        "catch:boat": (2.5425e+00, 5.2274e-01, 4.8638),
        "catch:charter": (7.5949e-01, 1.5420e-01, 4.9254),
        "catch:pier": (2.8512e+00, 7.7464e-01, 3.6807),
    }
    assert sorted(r.param_names) == sorted(printed)
    for name, (b, se, z) in printed.items():
        _assert_printed(r.params[name], b, 5)
        _assert_printed(r.bse[name], se, 5)
        assert abs(r.tvalues[name] - z) <= 0.5e-4, name
    _assert_printed(r.llf, -1199.1, 5)
    _assert_printed(r.prsquared, 0.19936, 5)
    _assert_printed(r.llr, 597.16, 5)
