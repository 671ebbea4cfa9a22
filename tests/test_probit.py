"""Probit model against statsmodels, closed forms, scipy's Genz integration, finite
differences and simulations with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import choicemodels as cm
from choicemodels.models.probit import error_covariance_se

# A correlated error covariance (J = 4) for the simulations.
SIGMA4 = np.array([
    [1.0, 0.5, 0.2, 0.0],
    [0.5, 1.5, 0.3, 0.2],
    [0.2, 0.3, 1.0, 0.4],
    [0.0, 0.2, 0.4, 2.0],
])


def _probit(sim: cm.SimulatedData, formula: str | None = None, **options) -> cm.Probit:
    return cm.Probit(formula or sim.formula, data=sim.data, **sim.columns, **options)


def _diff_cov(sigma: np.ndarray, ref: int = 0) -> np.ndarray:
    """Covariance of (e_j - e_ref), j != ref, from the covariance of e."""
    J = sigma.shape[0]
    A = np.delete(np.eye(J), ref, axis=0) - np.eye(J)[ref]
    return A @ sigma @ A.T


# ---- references -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary():
    sim = cm.simulate_dataset(800, 2, {"x1": 0.8, "x2": -0.5}, asc=[0.3], errors="normal", rng=11)
    model = _probit(sim, rng=0)
    return sim, model, model.fit(cov_type="robust")


def _statsmodels_binary(sim: cm.SimulatedData, cov_type: str):
    d = sim.data
    a0, a1 = d[d["alt"] == "alt0"].reset_index(), d[d["alt"] == "alt1"].reset_index()
    exog = pd.DataFrame({"x1": a1["x1"] - a0["x1"], "x2": a1["x2"] - a0["x2"], "const": 1.0})
    return sm.Probit(a1["choice"].to_numpy(), exog).fit(
        method="newton", tol=1e-12, disp=False, cov_type=cov_type)


def test_binary_iid_equals_statsmodels_probit_times_sqrt2(binary):
    # e_j ~ N(0, 1): the difference has variance 2, so our beta = statsmodels' beta * sqrt(2)
    sim, _, r = binary
    ref = _statsmodels_binary(sim, "nonrobust")
    assert r.converged
    assert r.llf == pytest.approx(ref.llf, abs=1e-6)
    ours = r.params[["x1", "x2", "(Intercept):alt1"]].to_numpy()
    np.testing.assert_allclose(ours, np.sqrt(2) * ref.params.to_numpy(), rtol=1e-6)


def test_binary_robust_errors_equal_statsmodels_hc0(binary):
    sim, _, r = binary
    ref = _statsmodels_binary(sim, "HC0")
    ours = r.bse[["x1", "x2", "(Intercept):alt1"]].to_numpy()
    np.testing.assert_allclose(ours, np.sqrt(2) * ref.bse.to_numpy(), rtol=1e-4)


def test_binary_nonrobust_errors_equal_statsmodels(binary):
    sim, model, _ = binary
    r = model.fit()
    ref = _statsmodels_binary(sim, "nonrobust")
    ours = r.bse[["x1", "x2", "(Intercept):alt1"]].to_numpy()
    np.testing.assert_allclose(ours, np.sqrt(2) * ref.bse.to_numpy(), rtol=1e-4)


def test_binary_predictions_are_normal_cdf_of_scaled_difference(binary):
    _, model, r = binary
    V = model.utilities(r.estimates)
    expected = stats.norm.cdf((V[:, 1] - V[:, 0]) / np.sqrt(2))
    p = r.predict()
    np.testing.assert_allclose(p["alt1"], expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


@pytest.fixture(scope="module")
def three():
    sim = cm.simulate_dataset(120, 3, {"x1": 1.0, "x2": -0.7}, asc=[0.2, -0.3],
                              errors="normal", cov=SIGMA4[:3, :3], rng=3)
    return sim


@pytest.mark.parametrize("cov, params_extra", [("iid", []), ("unstructured", [0.3, -0.2])])
def test_three_alternatives_integrations_agree(three, cov, params_extra):
    params = np.array([0.9, -0.6, 0.1, -0.2] + params_extra)
    ll = {}
    for integration in ("closed", "genz", "ghk") + (("quadrature",) if cov == "iid" else ()):
        m = _probit(three, cov=cov, integration=integration, draws=4000, rng=1)
        ll[integration] = m.loglike(params)
    assert ll["closed"] == pytest.approx(ll["genz"], abs=1e-6)
    if cov == "iid":
        assert ll["quadrature"] == pytest.approx(ll["closed"], abs=1e-8)
    # GHK with 4000 scrambled Halton draws per situation: simulation error well below 1e-3
    assert ll["ghk"] == pytest.approx(ll["closed"], abs=2e-3)


def test_unstructured_at_iid_point_equals_iid_model_rescaled(three):
    # unstructured normalisation Omega_00 = 1: the iid model is Omega = (I + 11')/2,
    # i.e. the iid coefficients divided by sqrt(2)
    from choicemodels.kernels.mvn import cov_start

    beta = np.array([0.9, -0.6, 0.1, -0.2])
    iid = _probit(three, cov="iid").loglike(beta)
    un = _probit(three, cov="unstructured").loglike(np.r_[beta / np.sqrt(2), cov_start("unstructured", 3)])
    assert un == pytest.approx(iid, abs=1e-10)


def test_heteroskedastic_quadrature_equals_adaptive_integration():
    # P(c) = int phi(z) prod_k Phi((V_c - V_k + s_c z) / s_k) dz, by scipy's adaptive quad
    from scipy import integrate

    sim = cm.simulate_dataset(12, 4, {"x1": 1.0}, errors="normal", rng=5)
    params = np.array([0.8, 0.0, 0.1, -0.3, 0.3, -0.2, 0.1])
    m = _probit(sim, cov="heteroskedastic", integration="quadrature")
    V, s = m.utilities(params), np.r_[1.0, np.exp(params[-3:])]
    expected = []
    for i, c in enumerate(m.design.chosen):
        others = [k for k in range(4) if k != c]

        def integrand(z, i=i, c=c, others=others):
            return stats.norm.pdf(z) * np.prod(stats.norm.cdf((V[i, c] - V[i, others] + s[c] * z) / s[others]))

        expected.append(np.log(integrate.quad(integrand, -12, 12, epsabs=1e-14, epsrel=1e-13)[0]))
    np.testing.assert_allclose(m.loglike_obs(params), expected, rtol=1e-10)


# ---- gradient -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unbalanced():
    """J = 4, some alternatives unavailable, per-situation weights."""
    sim = cm.simulate_dataset(150, 4, {"x1": 1.0, "x2": -0.5}, asc=[0.2, -0.1, 0.3],
                              errors="normal", cov=SIGMA4, avail_prob=0.8, rng=7)
    data = sim.data.copy()
    data["w"] = np.repeat(np.random.default_rng(0).uniform(0.5, 2.0, 150), 4)
    return sim, data


@pytest.mark.parametrize("cov, integration", [
    ("iid", "quadrature"), ("iid", "ghk"), ("heteroskedastic", "quadrature"),
    ("heteroskedastic", "ghk"), ("unstructured", "ghk"),
])
def test_score_matches_finite_differences(unbalanced, cov, integration):
    sim, data = unbalanced
    m = cm.Probit(sim.formula, data=data, **sim.columns, weights="w", weight_type="sampling",
                  cov=cov, integration=integration, draws=50, rng=2)
    rng = np.random.default_rng(1)
    params = m.start_params() + 0.1 * rng.standard_normal(len(m.param_names))
    h = 1e-6
    fd = np.array([(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h)
                   for e in np.eye(params.size)])
    np.testing.assert_allclose(m.score(params), fd, rtol=1e-5, atol=1e-5)


def test_closed_form_score_matches_finite_differences(three):
    m = _probit(three, cov="unstructured", integration="closed")
    params = np.array([0.9, -0.6, 0.1, -0.2, 0.3, -0.2])
    h = 1e-6
    fd = np.array([(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h)
                   for e in np.eye(params.size)])
    np.testing.assert_allclose(m.score(params), fd, rtol=1e-5, atol=1e-6)


# ---- unbalanced sets and weights ---------------------------------------------------------


def _unstructured_three_with_an_unavailable_alternative():
    """J = 3 (ref 0), Omega = L L' with L = [[1, 0], [0.6, 0.8]]; alternative 2 missing in a
    quarter of the situations; the last situation chose alternative 1 against a utility
    deficit of about 12, so its probability is far below what Owen's T resolves."""
    rng = np.random.default_rng(8)
    n = 400
    X = rng.standard_normal((n, 3, 2))
    beta = np.array([1.0, -0.5])
    chol = np.array([[1.0, 0.0], [0.6, 0.8]])
    d = rng.standard_normal((n, 2)) @ chol.T
    avail = np.ones((n, 3), bool)
    avail[: n // 4, 2] = False
    utility = X @ beta + np.column_stack([np.zeros(n), d])
    chosen = np.argmax(np.where(avail, utility, -np.inf), axis=1)
    X[-1] = [[6.0, 0.0], [-6.0, 0.0], [5.0, 0.0]]
    avail[-1] = True
    chosen[-1] = 1
    theta = np.array([0.6, np.log(0.8)])
    return X, chosen, avail, np.r_[beta, theta], chol @ chol.T


def test_unstructured_closed_forms_with_an_unavailable_alternative_and_a_far_tail():
    X, chosen, avail, params, omega = _unstructured_three_with_an_unavailable_alternative()
    m = cm.Probit.from_arrays(X, chosen, avail=avail, cov="unstructured")
    assert m.method == "closed"
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        ll = m.loglike_obs(params)
    # by hand: with one other alternative j, P = Phi((V_c - V_j) / sd(e_j - e_c)), the
    # variance from the covariance of (e_0, e_1, e_2) - e_0 (first row and column zero)
    full = np.zeros((3, 3))
    full[1:, 1:] = omega
    V = X @ params[:2]
    pair = ~avail[:, 2]
    c = chosen[pair]
    j = np.where(c == 0, 1, 0)
    rows = np.flatnonzero(pair)
    var = full[j, j] + full[c, c] - 2 * full[j, c]
    expected = stats.norm.logcdf((V[rows, c] - V[rows, j]) / np.sqrt(var))
    np.testing.assert_allclose(ll[pair], expected, rtol=1e-12)
    # the far-tail situation (log P about -70): GHK with many draws agrees
    ghk = cm.Probit.from_arrays(X, chosen, avail=avail, cov="unstructured", integration="ghk",
                                draws=4000, rng=0)
    assert ll[-1] < -50
    assert ll[-1] == pytest.approx(ghk.loglike_obs(params)[-1], abs=1e-2)
    # and the fit runs to convergence without floating-point warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = m.fit()
    assert r.converged and np.all(np.isfinite(r.bse))




def test_integer_weights_equal_duplicated_situations(unbalanced):
    sim, data = unbalanced
    w = np.random.default_rng(4).integers(1, 3, 150)
    weighted = data.assign(w=np.repeat(w, 4))
    dup = pd.concat([data[data["obs"].isin(np.flatnonzero(w >= k))].assign(obs=lambda d, k=k: d["obs"] + 1000 * k)
                     for k in (1, 2)])
    a = cm.Probit(sim.formula, data=weighted, **sim.columns, weights="w", cov="heteroskedastic").fit()
    b = cm.Probit(sim.formula, data=dup, **sim.columns, cov="heteroskedastic").fit()
    assert a.llf == pytest.approx(b.llf, abs=1e-8)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-5, atol=1e-7)


def test_predictions_sum_to_one_and_vanish_when_unavailable(unbalanced):
    sim, data = unbalanced
    m = cm.Probit(sim.formula, data=data, **sim.columns, cov="heteroskedastic")
    params = m.start_params()
    p = m.predict(params)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-10)
    assert np.all(p[~m.design.avail] == 0)
    # one situation by brute-force simulation of its utilities
    i = int(np.flatnonzero(m.design.avail.sum(axis=1) == 4)[0])
    V = m.utilities(params)[i]
    sd = np.r_[1.0, np.exp(params[-3:])]
    e = np.random.default_rng(0).standard_normal((400_000, 4)) * sd
    freq = np.bincount(np.argmax(V + e, axis=1), minlength=4) / 400_000
    np.testing.assert_allclose(p[i], freq, atol=4 * np.sqrt(0.25 / 400_000))


# ---- parameter recovery -----------------------------------------------------------------


def _recovery_zscores(r: cm.ChoiceResults, sim: cm.SimulatedData, names: list[str]) -> np.ndarray:
    """z-scores of the identified quantities: beta / sqrt(Omega_00) and Omega / Omega_00."""
    omega = _diff_cov(sim.cov)
    scale = omega[0, 0]
    z_beta = (r.params[names] - sim.params[names] / np.sqrt(scale)) / r.bse[names]
    k = r.n_beta
    se = error_covariance_se(r.spec, r.estimates[k:], r.covariance[k:, k:]).to_numpy()
    est = r.error_covariance().to_numpy()
    free = np.tril(np.ones_like(est, bool)) & (se > 0)
    z_omega = (est - omega / scale)[free] / se[free]
    return np.r_[z_beta.to_numpy(), z_omega]


def test_recovery_unstructured_three_alternatives():
    sim = cm.simulate_dataset(3000, 3, {"x1": 1.0, "x2": -0.5}, errors="normal",
                              cov=SIGMA4[1:, 1:], rng=21)
    r = _probit(sim, "choice ~ x1 + x2 | 0", cov="unstructured").fit()
    assert r.converged
    assert r.spec["options"]["integration"] == "auto" and "closed" in dict(r.extra_info)["Integration"]
    z = _recovery_zscores(r, sim, ["x1", "x2"])
    assert np.all(np.abs(z) < 3), z


def test_recovery_unstructured_four_alternatives_small():
    sim = cm.simulate_dataset(1500, 4, {"x1": 1.0, "x2": -0.5, "x3": 0.5}, errors="normal",
                              cov=SIGMA4, rng=22)
    r = _probit(sim, "choice ~ x1 + x2 + x3 | 0", cov="unstructured", draws=100, rng=0).fit()
    assert r.converged
    z = _recovery_zscores(r, sim, ["x1", "x2", "x3"])
    assert np.all(np.abs(z) < 3), z


@pytest.mark.slow
def test_recovery_unstructured_four_alternatives_large():
    sim = cm.simulate_dataset(5000, 4, {"x1": 1.0, "x2": -0.5, "x3": 0.5}, errors="normal",
                              cov=SIGMA4, rng=23)
    r = _probit(sim, "choice ~ x1 + x2 + x3 | 0", cov="unstructured", rng=0).fit()
    assert r.converged
    z = _recovery_zscores(r, sim, ["x1", "x2", "x3"])
    assert np.all(np.abs(z) < 3), z
    ratio = r.wtp("x2", "x1")
    assert abs(ratio.estimate - (-0.5)) < 3 * ratio.se


# ---- reproducibility, persistence, reporting ----------------------------------------------


def test_same_rng_same_results_and_seed_recorded(three):
    fits = [_probit(three, cov="unstructured", integration="ghk", draws=50, rng=7).fit()
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].estimates, fits[1].estimates)
    gen_models = [_probit(three, cov="unstructured", integration="ghk", draws=50,
                          rng=np.random.default_rng(3)) for _ in range(2)]
    seeds = [m.spec["options"]["rng"] for m in gen_models]
    assert seeds[0] == seeds[1] and isinstance(seeds[0], int)
    other = _probit(three, cov="unstructured", integration="ghk", draws=50, rng=8).fit()
    assert other.llf != fits[0].llf  # different draws, different simulated likelihood


def test_save_load_round_trip(three, tmp_path):
    r = _probit(three, cov="unstructured", integration="ghk", draws=50, rng=7).fit()
    path = tmp_path / "probit.json"
    r.save(path)
    back = cm.load_results(path)
    np.testing.assert_array_equal(back.estimates, r.estimates)
    np.testing.assert_array_equal(back.covariance, r.covariance)
    pd.testing.assert_frame_equal(back.error_covariance(), r.error_covariance())
    assert back.spec == r.spec
    # same seed, same draws: predictions from the stored specification equal the fitted ones
    pd.testing.assert_frame_equal(back.predict(data=three.data), r.predict())


def test_error_covariance_and_summary(three):
    r = _probit(three, cov="unstructured").fit()
    cov = r.error_covariance()
    assert list(cov.index) == ["alt1", "alt2"] and cov.iloc[0, 0] == 1.0
    corr = r.error_correlation()
    expected = cov.iloc[0, 1] / np.sqrt(cov.iloc[0, 0] * cov.iloc[1, 1])
    assert corr.iloc[0, 1] == pytest.approx(expected)
    info = dict(r.extra_info)
    assert info["Error covariance"] == "unstructured" and info["Integration"] == "closed (auto)"
    text = str(r.summary())
    assert "Error covariance" in text and "Draws" in text and "Sequence" in text


def test_error_covariance_of_logit_is_an_error(three):
    r = cm.Logit(three.formula, data=three.data, **three.columns).fit()
    with pytest.raises(cm.SpecificationError, match="defined for probit"):
        r.error_covariance()


def test_from_arrays_binary_equals_statsmodels(binary):
    sim, model, _ = binary
    d = model.design
    r = cm.Probit.from_arrays(d.X, d.chosen, names=list(d.names)).fit()
    ref = _statsmodels_binary(sim, "nonrobust")
    assert r.llf == pytest.approx(ref.llf, abs=1e-6)
    assert r.spec["options"] == {"cov": "iid", "integration": "auto", "draws": 500,
                                 "sequence": "halton", "antithetic": False,
                                 "rng": r.spec["options"]["rng"]}


def test_vanishing_variance_is_reported():
    # alt2's error variance is (almost) zero in the data: here the likelihood keeps rising
    # as log_sd(alt2) falls (checked by scipy's Genz integration), and the fit says so by name
    sim = cm.simulate_dataset(150, 3, [-1.0], asc=[0.3, -0.2], errors="normal",
                              cov=np.diag([1.0, 1.0, 1e-8]), rng=3)
    options = dict(data=sim.data, obs="obs", alt="alt", cov="heteroskedastic")
    m = cm.Probit(sim.formula, **options)
    with pytest.warns(cm.ConvergenceWarning, match=r"stopped at the boundary.*log_sd\(alt2\) "
                      r"run\(s\) towards -inf"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cm.HessianWarning)
            r = m.fit()
    # the fit stops once s_alt2 < s_alt0 / 1000 instead of running to maxiter
    assert not r.converged and r.n_iter < 100
    assert -8 < r.params["log_sd(alt2)"] < -7
    genz = cm.Probit(sim.formula, integration="genz", **options)
    k = m.param_names.index("log_sd(alt2)")
    path = [genz.loglike(np.where(np.arange(r.estimates.size) == k, v, r.estimates))
            for v in (-3.0, -5.0, r.estimates[k], r.estimates[k] - 3)]
    assert np.all(np.diff(path) > 0)


def test_travel_mode_heteroskedastic_maximum_is_interior():
    # s_bus / s_car near 0.1 puts steps of width 0.1 into the quadrature's integrand; the
    # fit converges inside the parameter space and scipy's Genz integration agrees that
    # the log-likelihood falls towards s_bus = 0
    df = cm.datasets.load_travel_mode()
    options = dict(data=df, obs="individual", alt="mode", ref="car", cov="heteroskedastic")
    m = cm.Probit("choice ~ gc + ttme | hinc", **options)
    r = m.fit()
    assert r.converged and -3 < r.params["log_sd(bus)"] < -1.5
    genz = cm.Probit("choice ~ gc + ttme | hinc", integration="genz", **options)
    assert genz.loglike(r.estimates) == pytest.approx(r.llf, abs=1e-3)
    k = m.param_names.index("log_sd(bus)")
    boundary = r.estimates.copy()
    boundary[k] = -8.0
    assert genz.loglike(boundary) < r.llf - 2e-3


# ---- bad options ----------------------------------------------------------------------------


@pytest.mark.parametrize("options, words", [
    ({"cov": "full"}, "cov must be one of"),
    ({"integration": "montecarlo"}, "integration must be one of"),
    ({"sequence": "latin"}, "sequence must be one of"),
    ({"draws": 0}, "draws must be an int >= 1"),
    ({"rng": "seed"}, "rng must be an int seed"),
    ({"cov": "unstructured", "integration": "quadrature"}, "needs independent errors"),
])
def test_bad_options(three, options, words):
    with pytest.raises(cm.SpecificationError, match=words):
        _probit(three, **options)


@pytest.mark.parametrize("cov", ["unstructured", "heteroskedastic"])
def test_free_covariance_with_two_alternatives_is_not_identified(binary, cov):
    sim = binary[0]
    with pytest.raises(cm.SpecificationError, match="not identified with two alternatives.*cov='iid'"):
        _probit(sim, cov=cov)


def test_closed_forms_need_at_most_three_alternatives(unbalanced):
    sim = unbalanced[0]
    with pytest.raises(cm.SpecificationError, match="at most three alternatives"):
        _probit(sim, integration="closed")


def test_genz_cannot_fit(three):
    with pytest.raises(cm.SpecificationError, match="log-likelihood only"):
        _probit(three, integration="genz").fit()


@pytest.mark.parametrize("rng", [None, 2**40, np.random.default_rng(1)])
def test_genz_works_with_any_seed_and_matches_the_closed_forms(three, rng):
    # seeds drawn for rng=None (or given) may exceed scipy's 32-bit limit
    d = _probit(three, cov="unstructured").design
    params = np.array([0.9, -0.6, 0.1, -0.2, 0.3, -0.2])
    genz = cm.Probit.from_arrays(d.X[:8], d.chosen[:8], cov="unstructured", integration="genz", rng=rng)
    closed = cm.Probit.from_arrays(d.X[:8], d.chosen[:8], cov="unstructured")
    np.testing.assert_allclose(genz.predict(params), closed.predict(params), atol=1e-5)
