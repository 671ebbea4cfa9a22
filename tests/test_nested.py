"""Nested logit: against the logit, a closed form written here, finite differences and
known truth.

The closed form below is the textbook two-level formula in plain probabilities, one nest
at a time, sharing no code with the package:
``P_j = exp(V_j/l_k) S_k^(l_k - 1) / sum_m S_m^(l_m)``, ``S_k = sum_{i in k} exp(V_i/l_k)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
TRAVEL_NESTS = {"fly": ["air"], "ground": ["train", "bus", "car"]}


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def closed_form(V, avail, nests, lam):
    """(N, J) nested-logit probabilities, one situation and one nest at a time."""
    n, n_alts = V.shape
    P = np.zeros((n, n_alts))
    for i in range(n):
        S = {}
        for name, members in nests.items():
            live = [j for j in members if avail[i, j]]
            if live:
                S[name] = sum(np.exp(V[i, j] / lam[name]) for j in live)
        denom = sum(S[name] ** lam[name] for name in S)
        for name, members in nests.items():
            for j in members:
                if avail[i, j]:
                    P[i, j] = np.exp(V[i, j] / lam[name]) * S[name] ** (lam[name] - 1) / denom
    return P


def random_problem(rng, n=300, n_alts=5, k=3, weights=True):
    X = rng.standard_normal((n, n_alts, k))
    avail = rng.random((n, n_alts)) < 0.75
    avail[:, 0] = True  # at least one alternative available
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    w = rng.integers(1, 4, n).astype(float) if weights else None
    return X, chosen, avail, w


NESTS5 = {"a": [0, 1], "b": [2, 3, 4]}


# ---- the logit as the special case iv = 1 ------------------------------------------------
@pytest.mark.parametrize("equal_iv", [False, True])
def test_iv_one_is_the_logit(travel, equal_iv):
    kw = {"data": travel, "obs": "individual", "alt": "mode", "ref": "car"}
    logit = cm.Logit(FORMULA, **kw)
    r = logit.fit()
    nested = cm.NestedLogit(FORMULA, nests=TRAVEL_NESTS, equal_iv=equal_iv, **kw)
    assert nested.param_names == list(r.params.index) + ["iv" if equal_iv else "iv:ground"]
    params = np.r_[r.params.to_numpy(), 1.0]
    assert nested.loglike(params) == pytest.approx(r.llf, rel=0, abs=1e-10)
    np.testing.assert_allclose(nested.predict(params), logit.predict(r.params), rtol=0, atol=1e-12)
    # and the logit's estimate is the start (a logit fit of its own)
    np.testing.assert_allclose(nested.start_params(), params, rtol=0, atol=1e-6)


def test_iv_one_in_every_nest_with_availability_and_weights_is_the_logit():
    X, chosen, avail, w = random_problem(np.random.default_rng(1))
    beta = np.array([0.4, -0.7, 0.2])
    logit = cm.Logit.from_arrays(X, chosen, avail=avail, weights=w)
    nested = cm.NestedLogit.from_arrays(X, chosen, avail=avail, weights=w, nests=NESTS5)
    params = np.r_[beta, 1.0, 1.0]
    assert nested.loglike(params) == pytest.approx(logit.loglike(beta), rel=1e-13)
    np.testing.assert_allclose(nested.score(params)[:3], logit.score(beta), rtol=1e-10)


# ---- probabilities against the closed form -------------------------------------------------
def test_probabilities_match_the_closed_form_with_availability():
    rng = np.random.default_rng(2)
    X, chosen, avail, _ = random_problem(rng, n=200)
    avail[:10, 2:] = False  # nest "b" entirely unavailable in some situations
    chosen[:10] = 0
    m = cm.NestedLogit.from_arrays(X, chosen, avail=avail, nests=NESTS5)
    beta, lam = rng.normal(size=3), {"a": 0.35, "b": 0.8}
    P = m.predict(np.r_[beta, lam["a"], lam["b"]])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(P[~avail] == 0)
    expected = closed_form(X @ beta, avail, NESTS5, lam)
    np.testing.assert_allclose(P, expected, rtol=1e-11, atol=1e-15)
    ll = m.loglike_obs(np.r_[beta, lam["a"], lam["b"]])
    np.testing.assert_allclose(np.exp(ll), expected[np.arange(len(chosen)), chosen], rtol=1e-11)


def test_equal_iv_and_a_single_alternative_nest_match_the_closed_form():
    rng = np.random.default_rng(3)
    X, chosen, avail, _ = random_problem(rng, n=100)
    nests = {"solo": [4], "a": [0, 1], "b": [2, 3]}
    m = cm.NestedLogit.from_arrays(X, chosen, avail=avail, nests=nests, equal_iv=True)
    assert m.param_names == ["x0", "x1", "x2", "iv"]
    beta = rng.normal(size=3)
    P = m.predict(np.r_[beta, 0.6])
    expected = closed_form(X @ beta, avail, nests, {"solo": 1.0, "a": 0.6, "b": 0.6})
    np.testing.assert_allclose(P, expected, rtol=1e-11, atol=1e-15)


def test_log_space_is_finite_for_large_utilities_and_small_iv():
    rng = np.random.default_rng(4)
    X, chosen, avail, _ = random_problem(rng, n=50, weights=False)
    m = cm.NestedLogit.from_arrays(1000.0 * X, chosen, avail=avail, nests=NESTS5)
    params = np.r_[2.0, -1.0, 3.0, 1e-3, 0.01]  # utilities in the thousands, V / iv ~ 1e6
    ll, g = m.loglike(params), m.score(params)
    assert np.isfinite(ll) and np.all(np.isfinite(g))
    P = m.predict(params)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # at iv -> 0 the nest picks its best alternative: P within a nest is 0/1
    V = np.where(avail, X @ params[:3], -np.inf)
    for members in NESTS5.values():
        best = np.asarray(members)[np.argmax(V[:, members], axis=1)]
        inner = P[:, members].sum(axis=1)
        np.testing.assert_allclose(P[np.arange(50), best], inner, rtol=1e-9)


# ---- the analytic gradient against finite differences --------------------------------------
@pytest.mark.parametrize("equal_iv", [False, True])
def test_gradient_and_scores_match_central_differences(equal_iv):
    rng = np.random.default_rng(5)
    X, chosen, avail, w = random_problem(rng, n=250)
    m = cm.NestedLogit.from_arrays(X, chosen, avail=avail, weights=w, nests=NESTS5, equal_iv=equal_iv)
    n_iv = 1 if equal_iv else 2
    for _ in range(3):
        params = np.r_[rng.normal(size=3), rng.uniform(0.2, 1.5, n_iv)]
        g = m.score(params)
        h = 1e-6
        fd = np.array([(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h)
                       for e in np.eye(params.size)])
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
        # per-situation scores: their weighted sum is the gradient, each the derivative of its ll
        s = m.score_obs(params)
        np.testing.assert_allclose(w @ s, g, rtol=1e-12)
        fd_obs = np.column_stack([(m.loglike_obs(params + h * e) - m.loglike_obs(params - h * e)) / (2 * h)
                                  for e in np.eye(params.size)])
        np.testing.assert_allclose(s, fd_obs, rtol=1e-5, atol=1e-7)


# ---- recovery of known truth -----------------------------------------------------------------
def test_recovers_known_truth_from_simulated_choices():
    rng = np.random.default_rng(20261206)
    n, nests = 5000, {"a": [0, 1], "b": [2, 3, 4]}
    X = rng.standard_normal((n, 5, 2))
    X = np.concatenate([X, np.zeros((n, 5, 2))], axis=2)
    X[:, 1, 2] = 1.0  # constants of alternatives 1 and 3
    X[:, 3, 3] = 1.0
    beta, lam = np.array([1.0, -0.8, 0.5, -0.3]), {"a": 0.5, "b": 0.75}
    avail = np.ones((n, 5), bool)
    P = closed_form(X @ beta, avail, nests, lam)
    chosen = np.array([rng.choice(5, p=p / p.sum()) for p in P])
    r = cm.NestedLogit.from_arrays(X, chosen, nests=nests).fit()
    assert r.converged
    truth = np.r_[beta, lam["a"], lam["b"]]
    z = (r.params.to_numpy() - truth) / r.bse.to_numpy()
    assert np.all(np.abs(z) < 3), z
    # the iv are identified away from 1 (the logit): both at least 4 SE below
    assert np.all((1.0 - r.params.to_numpy()[-2:]) / r.bse.to_numpy()[-2:] > 4)
    # robust and cluster errors come from the per-situation scores
    robust = cm.NestedLogit.from_arrays(X, chosen, nests=nests).fit(cov_type="robust")
    np.testing.assert_allclose(robust.params, r.params, rtol=1e-6)
    np.testing.assert_allclose(robust.bse, r.bse, rtol=0.15)


# ---- real data -------------------------------------------------------------------------------
def test_travel_mode_fit_converges_inside_the_unit_interval_and_beats_the_logit(travel):
    kw = {"data": travel, "obs": "individual", "alt": "mode", "ref": "car"}
    logit = cm.Logit(FORMULA, **kw).fit()
    r = cm.NestedLogit(FORMULA, nests=TRAVEL_NESTS, **kw).fit()
    assert r.converged
    assert 0 < r.params["iv:ground"] <= 1
    assert r.llf >= logit.llf
    assert np.isfinite(r.bse).all()
    # the gradient vanishes at the estimate (scale-free: the BHHH decrement g'(S'S)^-1 g,
    # recomputed here from the per-situation scores), and the BHHH fit finds the same maximum
    s = cm.NestedLogit(FORMULA, nests=TRAVEL_NESTS, **kw).score_obs(r.params)
    g = s.sum(axis=0)
    assert g @ np.linalg.solve(s.T @ s, g) < 1e-8
    bhhh = cm.NestedLogit(FORMULA, nests=TRAVEL_NESTS, **kw).fit(method="bhhh")
    assert bhhh.llf == pytest.approx(r.llf, abs=1e-6)


def test_save_load_and_predict_on_new_data(travel, tmp_path):
    kw = {"data": travel, "obs": "individual", "alt": "mode", "ref": "car"}
    r = cm.NestedLogit(FORMULA, nests=TRAVEL_NESTS, **kw).fit()
    path = tmp_path / "nested.json"
    r.save(path)
    back = cm.load_results(path)
    assert back.model_name == "NestedLogit"
    np.testing.assert_array_equal(back.params, r.params)
    np.testing.assert_array_equal(back.bse, r.bse)
    sample = travel[travel["individual"] <= 20]
    np.testing.assert_allclose(back.predict(data=sample).to_numpy(),
                               r.predict().to_numpy()[:20], rtol=1e-12)
    np.testing.assert_allclose(r.predict(data=sample).to_numpy(), r.predict().to_numpy()[:20],
                               rtol=1e-12)


def test_a_dask_fit_equals_the_in_memory_fit(travel):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    kw = {"obs": "individual", "alt": "mode", "ref": "car", "nests": TRAVEL_NESTS}
    in_memory = cm.NestedLogit(FORMULA, data=travel, **kw).fit(cov_type="robust")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        frame = dd.from_pandas(travel, npartitions=3, sort=False)
        on_dask = cm.NestedLogit(FORMULA, data=frame, **kw).fit(cov_type="robust")
    assert on_dask.llf == pytest.approx(in_memory.llf, rel=1e-12)
    np.testing.assert_allclose(on_dask.params, in_memory.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(on_dask.bse, in_memory.bse, rtol=1e-7)


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nests", "match"),
    [
        ({"fly": ["air"], "ground": ["train", "bus"]}, r"\['car'\] are in no nest"),
        ({"fly": ["air", "car"], "ground": ["train", "bus", "car"]}, r"'car' in \['fly', 'ground'\]"),
        ({"fly": ["air", "boat"], "ground": ["train", "bus", "car"]}, r"'boat' \(nest 'fly'\)"),
        ({"fly": ["air"], "sea": [], "ground": ["train", "bus", "car"]}, r"nest 'sea' is empty"),
        ({}, "non-empty dict"),
        ({"ground": "train"}, "must list its alternatives"),
    ],
)
def test_bad_nests_name_the_fault(travel, nests, match):
    with pytest.raises(cm.SpecificationError, match=match):
        cm.NestedLogit(FORMULA, data=travel, obs="individual", alt="mode", nests=nests)


# ---- published: Biogeme's b09nested on Swissmetro ------------------------------------------
#: Biogeme's example 09nested (michelbierlaire/biogeme, examples/swissmetro/09nested.html,
#: "Report from biogeme"): Train (1) and Car (3) in the nest "existing" with
#: mu = 1 / iv, Swissmetro (2) alone; 6768 observations.
BIOGEME_B09 = {
    "llf": -5236.9,
    "asc_car": (-0.167, 0.0371, 0.0545),  # value, std err, robust std err
    "asc_train": (-0.512, 0.0452, 0.0791),
    "cost": (-0.857, 0.0463, 0.06),
    "time": (-0.899, 0.057, 0.107),
    "mu": (2.05, 0.118, 0.164),
}


def test_biogeme_b09nested_swissmetro_to_the_printed_digits(swissmetro_long):
    long = swissmetro_long
    m = cm.NestedLogit("choice ~ asc_car + asc_train + cost + time | 0", data=long, obs="obs",
                       alt="alt", avail="av", nests={"existing": [1, 3], "future": [2]})
    r = m.fit()
    assert r.converged and r.nobs == 6768
    assert round(r.llf, 1) == BIOGEME_B09["llf"]
    # Newton on the analytic Hessian (the default) takes fewer iterations than BFGS (6 and 9)
    bfgs = m.fit(method="bfgs")
    assert r.optimizer == "newton" and r.n_iter < bfgs.n_iter
    assert bfgs.llf == pytest.approx(r.llf, abs=1e-6)
    robust = m.fit(cov_type="robust")
    for name in ("asc_car", "asc_train", "cost", "time"):
        value, se, rse = BIOGEME_B09[name]
        assert float(f"{r.params[name]:.3g}") == value, name
        assert float(f"{r.bse[name]:.3g}") == se, name
        assert float(f"{robust.bse[name]:.3g}") == rse, name
    # mu = 1 / iv, its standard errors by the delta method: se(mu) = se(iv) / iv^2
    iv, se_iv, rse_iv = r.params["iv:existing"], r.bse["iv:existing"], robust.bse["iv:existing"]
    value, se, rse = BIOGEME_B09["mu"]
    assert float(f"{1 / iv:.3g}") == value
    assert float(f"{se_iv / iv**2:.3g}") == se
    assert float(f"{rse_iv / iv**2:.3g}") == rse


def test_recovers_the_truth_of_the_exact_gev_simulator():
    """Errors drawn from the nested GEV itself (not choices drawn from the probabilities):
    N = 20,000, every parameter within 3 standard errors of the truth."""
    sim = cm.simulate_dataset(20_000, 4, [1.0, -0.5], errors="nested",
                              nests={"a": [0, 1], "b": [2, 3]}, iv=[0.5, 0.8], rng=1)
    r = cm.NestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests=sim.nests).fit()
    assert r.converged
    truth = pd.concat([sim.params, pd.Series({"iv:a": 0.5, "iv:b": 0.8})])
    z = (r.params[truth.index] - truth) / r.bse[truth.index]
    assert (z.abs() < 3).all(), z
    assert r.params["iv:a"] + 3 * r.bse["iv:a"] < 1  # the nesting is detected


def test_without_alternatives_drops_them_from_their_nests(travel):
    """The restricted model of the Hausman-McFadden test: omitted alternatives leave their
    nests, a nest left empty is dropped, and the restricted fit equals a fit on the reduced
    data with the reduced nests."""
    nests = {"fly": ["air"], "rail": ["train", "bus"], "road": ["car"]}
    m = cm.NestedLogit("choice ~ gc + ttme", travel, obs="individual", alt="mode", ref="car", nests=nests)
    restricted = m.without_alternatives(["bus", "air"])
    assert restricted.nests == {"rail": ["train"], "road": ["car"]}
    m = cm.NestedLogit("choice ~ gc + ttme", travel, obs="individual", alt="mode", ref="car",
                       nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
    restricted = m.without_alternatives(["bus"])
    assert restricted.nests == {"fly": ["air"], "ground": ["train", "car"]}
    chose_bus = travel.loc[(travel["mode"] == "bus") & (travel["choice"] == 1), "individual"]
    reduced = travel[~travel["individual"].isin(chose_bus) & (travel["mode"] != "bus")]
    direct = cm.NestedLogit("choice ~ gc + ttme", reduced, obs="individual", alt="mode", ref="car",
                            nests={"fly": ["air"], "ground": ["train", "car"]}).fit()
    r = restricted.fit()
    assert r.converged and r.nobs == direct.nobs == 180
    np.testing.assert_allclose(r.params, direct.params, rtol=1e-8)
