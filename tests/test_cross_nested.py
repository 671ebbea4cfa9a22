"""Cross-nested logit: against a closed form written here, the nested logit, the logit,
finite differences, known truth and Biogeme's published b11cnl.

The closed form below is Bierlaire's (2006) formula in plain probabilities, one situation
and one nest at a time, sharing no code with the package:
``P_j = sum_m (a_jm e^V_j)^(1/l_m) S_m^(l_m - 1) / sum_k S_k^(l_k)``,
``S_m = sum_{i in m} (a_im e^V_i)^(1/l_m)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
KW = {"obs": "individual", "alt": "mode", "ref": "car"}
CROSS = {"fly": ["air"], "land": ["train", "car"], "public": ["train", "bus"]}


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def closed_form(V, avail, alpha, lam):
    """(N, J) cross-nested logit probabilities; alpha (J, M), lam (M,)."""
    n, n_alts = V.shape
    P = np.zeros((n, n_alts))
    for i in range(n):
        S = np.zeros(len(lam))
        for m, l in enumerate(lam):
            S[m] = sum((alpha[j, m] * np.exp(V[i, j])) ** (1 / l) for j in range(n_alts) if avail[i, j])
        live = S > 0
        G = sum(S[m] ** lam[m] for m in range(len(lam)) if live[m])
        for j in range(n_alts):
            if avail[i, j]:
                P[i, j] = sum((alpha[j, m] * np.exp(V[i, j])) ** (1 / lam[m]) * S[m] ** (lam[m] - 1)
                              for m in range(len(lam)) if live[m] and alpha[j, m] > 0) / G
    return P


def random_problem(rng, n=200, n_alts=4, k=3, weights=True):
    X = rng.standard_normal((n, n_alts, k))
    avail = rng.random((n, n_alts)) < 0.75
    avail[:, 0] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    w = rng.integers(1, 4, n).astype(float) if weights else None
    return X, chosen, avail, w


# 0 in a alone; 1 in a and b; 2 in b and c; 3 in a, b and c
NESTS4 = {"a": [0, 1, 3], "b": [1, 2, 3], "c": [2, 3]}


def alpha_matrix(t):
    """Allocations (J, M) of NESTS4 for the free parameters t (alpha:a:1, alpha:b:2,
    alpha:a:3, alpha:b:3)."""
    return np.array([[1, 0, 0], [t[0], 1 - t[0], 0], [0, t[1], 1 - t[1]],
                     [t[2], t[3], 1 - t[2] - t[3]]], dtype=float)


# ---- structure and probabilities -------------------------------------------------------------
def test_parameters_and_probabilities_match_the_closed_form_with_availability():
    rng = np.random.default_rng(1)
    X, chosen, avail, _ = random_problem(rng)
    avail[:10, 1:] = False  # nests b and c without an available alternative
    chosen[:10] = 0
    m = cm.CrossNestedLogit.from_arrays(X, chosen, avail=avail, nests=NESTS4)
    assert m.param_names == ["x0", "x1", "x2", "iv:a", "iv:b", "iv:c",
                             "alpha:a:1", "alpha:b:2", "alpha:a:3", "alpha:b:3"]
    beta, lam, t = rng.normal(size=3), np.array([0.3, 0.6, 0.9]), [0.3, 0.6, 0.2, 0.5]
    params = np.r_[beta, lam, t]
    P = m.predict(params)
    expected = closed_form(X @ beta, avail, alpha_matrix(t), lam)
    np.testing.assert_allclose(P, expected, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(P[~avail] == 0)
    np.testing.assert_allclose(np.exp(m.loglike_obs(params)), expected[np.arange(len(chosen)), chosen],
                               rtol=1e-11)
    np.testing.assert_allclose(m.allocations(params).to_numpy().T, alpha_matrix(t), rtol=0, atol=1e-15)


def test_log_space_is_finite_for_large_utilities_and_small_iv():
    rng = np.random.default_rng(2)
    X, chosen, avail, _ = random_problem(rng, n=50, weights=False)
    m = cm.CrossNestedLogit.from_arrays(1000.0 * X, chosen, avail=avail, nests=NESTS4)
    params = np.r_[2.0, -1.0, 3.0, 1e-3, 0.01, 0.02, 0.3, 0.6, 0.2, 0.5]
    assert np.isfinite(m.loglike(params)) and np.all(np.isfinite(m.score(params)))
    P = m.predict(params)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_fixed_allocations_are_not_parameters_and_enter_the_probabilities():
    rng = np.random.default_rng(3)
    X, chosen, avail, _ = random_problem(rng, weights=False)
    nests = {"a": {0: 1.0, 1: 0.25, 3: None}, "b": {1: 0.75, 2: 0.4, 3: 0.1}, "c": {2: None, 3: None}}
    m = cm.CrossNestedLogit.from_arrays(X, chosen, avail=avail, nests=nests)
    # alternative 3: open in a and c (the last, c, takes the rest 0.9 - alpha:a:3)
    assert m.param_names == ["x0", "x1", "x2", "iv:a", "iv:b", "iv:c", "alpha:a:3"]
    beta, lam = rng.normal(size=3), np.array([0.5, 0.7, 0.4])
    alpha = np.array([[1, 0, 0], [0.25, 0.75, 0], [0, 0.4, 0.6], [0.3, 0.1, 0.6]])
    P = m.predict(np.r_[beta, lam, 0.3])
    np.testing.assert_allclose(P, closed_form(X @ beta, avail, alpha, lam), rtol=1e-11, atol=1e-15)


# ---- special cases: the nested logit and the logit ---------------------------------------------
def test_one_nest_per_alternative_is_the_nested_logit(travel):
    """LL, estimates and standard errors (nonrobust and robust) of the nested logit."""
    nests = {"fly": ["air"], "ground": ["train", "bus", "car"]}
    nl = cm.NestedLogit(FORMULA, data=travel, nests=nests, **KW)
    cnl = cm.CrossNestedLogit(FORMULA, data=travel, nests={"fly": {"air": 1.0}, "ground": nests["ground"]}, **KW)
    assert cnl.param_names == nl.param_names
    # from the same start (the logit, iv = 1) the same optimiser takes the same path
    start = nl.start_params()
    r_nl, r_cnl = nl.fit(method="bfgs"), cnl.fit(start=start)
    assert r_cnl.converged and r_nl.converged
    assert r_cnl.llf == pytest.approx(r_nl.llf, abs=1e-9)
    np.testing.assert_allclose(r_cnl.params, r_nl.params, rtol=0, atol=1e-7)
    np.testing.assert_allclose(r_cnl.bse, r_nl.bse, rtol=1e-6)
    np.testing.assert_allclose(cnl.fit(start=start, cov_type="robust").bse,
                               nl.fit(cov_type="robust", method="bfgs").bse, rtol=1e-6)
    # and from its own start (iv = 0.8) it finds the same maximum
    own = cnl.fit()
    assert own.llf == pytest.approx(r_nl.llf, abs=1e-7)
    # at the same point the two likelihoods and gradients agree to rounding
    p = r_nl.params.to_numpy()
    assert cnl.loglike(p) == pytest.approx(nl.loglike(p), rel=1e-13)
    np.testing.assert_allclose(cnl.score_obs(p), nl.score_obs(p), rtol=1e-9, atol=1e-12)


def test_iv_one_in_every_nest_is_the_logit_whatever_the_allocations():
    rng = np.random.default_rng(4)
    X, chosen, avail, w = random_problem(rng)
    beta = np.array([0.4, -0.7, 0.2])
    logit = cm.Logit.from_arrays(X, chosen, avail=avail, weights=w)
    m = cm.CrossNestedLogit.from_arrays(X, chosen, avail=avail, weights=w, nests=NESTS4)
    for t in ([0.3, 0.6, 0.2, 0.5], [0.9, 0.1, 0.05, 0.05]):
        params = np.r_[beta, 1.0, 1.0, 1.0, t]
        assert m.loglike(params) == pytest.approx(logit.loglike(beta), rel=1e-13)
        np.testing.assert_allclose(m.score(params)[:3], logit.score(beta), rtol=1e-10)
        np.testing.assert_allclose(m.predict(params), logit.predict(beta), rtol=0, atol=1e-13)
        # the allocations do not enter the logit: their scores vanish
        np.testing.assert_allclose(m.score(params)[6:], 0.0, atol=1e-10)


# ---- the analytic gradient against finite differences --------------------------------------
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), weighted=st.booleans(), p_avail=st.sampled_from([0.5, 0.8, 1.0]))
def test_gradient_and_scores_match_central_differences(seed, weighted, p_avail):
    rng = np.random.default_rng(seed)
    n = 60
    X = rng.standard_normal((n, 4, 2))
    avail = rng.random((n, 4)) < p_avail
    avail[np.arange(n), rng.integers(0, 4, n)] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    w = rng.integers(1, 5, n).astype(float) if weighted else None
    m = cm.CrossNestedLogit.from_arrays(X, chosen, avail=avail, weights=w, nests=NESTS4)
    t = rng.dirichlet(np.ones(3))
    params = np.r_[rng.normal(size=2), rng.uniform(0.2, 1.3, 3), rng.uniform(0.1, 0.9, 2), t[:2]]
    h = 1e-6
    g = m.score(params)
    fd = np.array([(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h)
                   for e in np.eye(params.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))
    s = m.score_obs(params)
    np.testing.assert_allclose(s.sum(axis=0) if w is None else w @ s, g, rtol=1e-12, atol=1e-12)
    fd_obs = np.column_stack([(m.loglike_obs(params + h * e) - m.loglike_obs(params - h * e)) / (2 * h)
                              for e in np.eye(params.size)])
    np.testing.assert_allclose(s, fd_obs, rtol=1e-5, atol=1e-6)


# ---- fitting, prediction, persistence ---------------------------------------------------------
@pytest.fixture(scope="module")
def cross_sim():
    return cm.simulate_dataset(3000, 4, [1.0, -0.5], errors="cross_nested", iv=[0.5, 0.5, 1.0],
                               nests={"a": {"alt0": 1.0, "alt1": 0.5}, "b": {"alt1": None, "alt2": 1.0},
                                      "c": ["alt3"]}, rng=11)


def test_fit_with_fixed_and_free_allocations(cross_sim, tmp_path):
    sim = cross_sim
    nests = {"a": ["alt0", "alt1"], "b": ["alt1", "alt2"], "c": ["alt3"]}
    free = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests=nests)
    assert free.param_names[-3:] == ["iv:a", "iv:b", "alpha:a:alt1"]
    r = free.fit()
    assert r.converged and np.isfinite(r.bse).all()
    assert r.llf >= cm.Logit(sim.formula, sim.data, obs="obs", alt="alt").fit().llf
    # the BHHH decrement at the estimate, recomputed from the per-situation scores
    s = free.score_obs(r.params)
    g = s.sum(axis=0)
    assert g @ np.linalg.solve(s.T @ s, g) < 1e-8
    bhhh = free.fit(method="bhhh")
    assert bhhh.converged and bhhh.llf == pytest.approx(r.llf, abs=1e-6)
    # fixing the allocation at its estimate gives the same maximum; elsewhere, a lower one
    a = float(r.params["alpha:a:alt1"])
    fixed = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests={
        "a": {"alt0": 1.0, "alt1": a}, "b": {"alt1": 1 - a, "alt2": None}, "c": ["alt3"]})
    assert "alpha:a:alt1" not in fixed.param_names
    assert fixed.fit().llf == pytest.approx(r.llf, abs=1e-6)
    other = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests={
        "a": {"alt0": 1.0, "alt1": 0.1}, "b": {"alt1": 0.9, "alt2": 1.0}, "c": ["alt3"]}).fit()
    assert other.llf < r.llf
    # the allocation table: the implied allocation and its delta-method standard error
    table = free.allocations(r.params, r.cov_params().to_numpy())
    assert table.loc[("b", "alt1"), "alpha"] == pytest.approx(1 - a, abs=1e-15)
    assert table.loc[("b", "alt1"), "se"] == pytest.approx(r.bse["alpha:a:alt1"], rel=1e-12)
    assert table.loc[("a", "alt0"), "se"] == 0.0
    # robust standard errors from the per-situation scores: close to the nonrobust ones
    # under the true model
    robust = free.fit(cov_type="robust")
    np.testing.assert_allclose(robust.bse, r.bse, rtol=0.2)
    # clusters of one situation each: the robust sandwich times G / (G - 1)
    n_obs = sim.data["obs"].nunique()
    cluster = free.fit(cov_type="cluster", groups=np.arange(n_obs))
    np.testing.assert_allclose(cluster.bse, robust.bse * np.sqrt(n_obs / (n_obs - 1)), rtol=1e-10)
    # save / load and predictions on new data
    path = tmp_path / "cnl.json"
    r.save(path)
    back = cm.load_results(path)
    assert back.model_name == "CrossNestedLogit"
    np.testing.assert_array_equal(back.params, r.params)
    sample = sim.data[sim.data["obs"] < 20]
    np.testing.assert_allclose(back.predict(data=sample).to_numpy(), r.predict().to_numpy()[:20], rtol=1e-12)


def test_integer_labels_and_fixed_allocations_survive_save_and_load(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    rows = []
    for i in range(n):
        for j in (1, 2, 3):
            rows.append({"obs": i, "alt": j, "x": rng.normal()})
    df = pd.DataFrame(rows)
    V = df["x"].to_numpy().reshape(n, 3)
    chosen = cm.simulate_choices(V, rng=6)
    df["choice"] = (np.tile([1, 2, 3], n) == np.repeat(np.array([1, 2, 3])[chosen], 3)).astype(int)
    nests = {"p": {1: 0.4, 2: 1.0}, "q": {1: 0.6, 3: 1.0}}
    m = cm.CrossNestedLogit("choice ~ x | 0", data=df, obs="obs", alt="alt", nests=nests)
    r = m.fit()
    path = tmp_path / "cnl.json"
    r.save(path)
    back = cm.load_results(path)
    np.testing.assert_allclose(back.predict(data=df).to_numpy(), r.predict().to_numpy(), rtol=1e-12)


def test_recovers_the_truth_of_the_exact_cross_nested_gev_simulator():
    """Errors drawn from the cross-nested GEV itself (not choices drawn from the
    probabilities): N = 20,000, every parameter within 3 standard errors of the truth."""
    nests = {"a": {"alt0": 1.0, "alt1": 1.0, "alt2": 0.4}, "b": {"alt2": None, "alt3": 1.0}}
    sim = cm.simulate_dataset(20_000, 4, [1.0, -0.5], errors="cross_nested", nests=nests,
                              iv=[0.4, 0.6], rng=7)
    assert sim.nests == {"a": {"alt0": 1.0, "alt1": 1.0, "alt2": 0.4}, "b": {"alt2": 0.6, "alt3": 1.0}}
    assert sim.iv == {"a": 0.4, "b": 0.6}
    model_nests = {"a": ["alt0", "alt1", "alt2"], "b": ["alt2", "alt3"]}
    r = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests=model_nests).fit()
    assert r.converged
    truth = pd.concat([sim.params, pd.Series({"iv:a": 0.4, "iv:b": 0.6, "alpha:a:alt2": 0.4})])
    z = (r.params[truth.index] - truth) / r.bse[truth.index]
    assert (z.abs() < 3).all(), z
    # the nesting is detected: both iv at least 3 SE below 1 (the logit)
    assert r.params["iv:a"] + 3 * r.bse["iv:a"] < 1 and r.params["iv:b"] + 3 * r.bse["iv:b"] < 1


def test_without_alternatives_and_a_dask_fit(travel):
    """The restricted model of the Hausman-McFadden test drops the omitted alternatives from
    their nests (and nests left empty); on a Dask DataFrame the fit equals the in-memory one."""
    m = cm.CrossNestedLogit("choice ~ gc + ttme", travel, nests={"fly": ["air"], "land": {"train": 0.4, "car": 1.0},
                                                                 "public": {"train": None, "bus": 1.0}}, **KW)
    restricted = m.without_alternatives(["bus", "air"])
    assert restricted.nests == {"land": {"train": 0.4, "car": 1.0}, "public": {"train": None}}
    chose = travel.loc[travel["mode"].isin(["bus", "air"]) & (travel["choice"] == 1), "individual"]
    reduced = travel[~travel["individual"].isin(chose) & ~travel["mode"].isin(["bus", "air"])]
    direct = cm.CrossNestedLogit("choice ~ gc + ttme", reduced, nests=restricted.nests, **KW)
    assert restricted.loglike(direct.start_params()) == pytest.approx(direct.loglike(direct.start_params()),
                                                                     rel=1e-13)
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    kw = {**KW, "nests": {"fly": ["air"], "land": {"train": 0.4, "car": 1.0}, "public": {"train": None, "bus": 1.0}}}
    in_memory = cm.CrossNestedLogit(FORMULA, data=travel, **kw).fit(cov_type="robust")
    assert in_memory.converged
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        frame = dd.from_pandas(travel, npartitions=3, sort=False)
        on_dask = cm.CrossNestedLogit(FORMULA, data=frame, **kw).fit(cov_type="robust")
    assert on_dask.llf == pytest.approx(in_memory.llf, rel=1e-12)
    np.testing.assert_allclose(on_dask.params, in_memory.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(on_dask.bse, in_memory.bse, rtol=1e-7)


# ---- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nests", "match"),
    [
        ({"fly": ["air"], "ground": ["train", "bus"]}, r"alternative 'car' is in no nest"),
        ({"fly": ["air"], "ground": ["train", "bus", "boat", "car"]}, r"'boat' \(nest 'ground'\)"),
        ({"fly": ["air"], "sea": [], "ground": ["train", "bus", "car"]}, r"nest 'sea' is empty"),
        ({"fly": ["air"], "sea": {}, "ground": ["train", "bus", "car"]}, r"nest 'sea' is empty"),
        ({"fly": {"air": 1.0}, "ground": {"train": 1.0, "bus": 1.0, "car": 1.0, "air": 0.5}},
         r"allocations of alternative 'air' to nests \['fly', 'ground'\] sum to 1.5, not 1"),
        ({"fly": {"air": 0.3}, "ground": ["train", "bus", "car"]}, r"'air' .* sum to 0.3, not 1"),
        ({"fly": {"air": 1.0, "train": 0.6}, "ground": {"train": 0.7, "bus": None, "car": None},
          "rail": ["train"]},
         r"fixed allocations of alternative 'train' sum to 1.3.*\['rail'\].*cannot sum to one"),
        ({"fly": {"air": 1.0, "train": 0.6}, "ground": {"train": 0.7, "bus": None, "car": None}},
         r"allocations of alternative 'train' to nests \['fly', 'ground'\] sum to 1.3, not 1"),
        ({"fly": {"air": 1.0, "train": 1.0}, "ground": ["train", "bus", "car"]},
         r"fixed allocations of alternative 'train' sum to 1, .*nests \['ground'\]"),
        ({"fly": {"air": 1.0, "train": -0.2}, "ground": ["train", "bus", "car"]},
         r"allocation of 'train' to nest 'fly' is negative \(-0.2\)"),
        ({"fly": {"air": 1.0, "train": 1.5}, "ground": ["train", "bus", "car"]}, r"not in \[0, 1\] \(1.5\)"),
        ({"fly": {"air": "half"}, "ground": ["train", "bus", "car"]}, r"must be a number in \[0, 1\]"),
        ({"fly": ["air", "air"], "ground": ["train", "bus", "car"]}, r"lists alternative 'air' twice"),
        ({"fly": {"air": 0.0}, "ground": ["train", "bus", "car"]}, r"'air' is in no nest"),
        ({}, "non-empty dict"),
        ({"ground": "train"}, "must list its alternatives"),
        ({1: ["air", "train", "bus", "car"]}, "nest names must be non-empty strings"),
    ],
)
def test_bad_nests_name_the_fault(travel, nests, match):
    with pytest.raises(cm.SpecificationError, match=match):
        cm.CrossNestedLogit(FORMULA, data=travel, nests=nests, **KW)


def test_a_parameter_running_to_its_boundary_is_reported_not_hidden():
    """Nested-logit data (alt1 in nest a only) fitted with alt1 in both nests: the fit runs
    to the boundary (here iv:b to 0, the other nest absorbing alt1) and says so."""
    sim = cm.simulate_dataset(3000, 3, [1.0], errors="nested", nests={"a": ["alt0", "alt1"], "b": ["alt2"]},
                              iv=[0.3, 1.0], rng=8)
    m = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt",
                            nests={"a": ["alt0", "alt1"], "b": ["alt1", "alt2"]})
    # at the boundary the Hessian's central differences leave the domain: NaN standard errors
    with pytest.warns(cm.ConvergenceWarning, match="iv:b runs to 0"), pytest.warns(cm.HessianWarning):
        r = m.fit()
    assert not r.converged and "iv:b runs to 0" in r.message
    assert m._boundary(np.r_[r.params.to_numpy()[:-1], 1e-9]).startswith(
        "the allocation of alternative 'alt1' in nest 'a' runs to 0")


# ---- published: Biogeme's b11cnl on Swissmetro ------------------------------------------------
#: Biogeme's example b11cnl (michelbierlaire/biogeme, docs/source/examples/swissmetro/b11cnl.html,
#: "Report from biogeme 3.2.14a1 [2024-07-06]"): nest "existing" = train (allocation
#: ALPHA_EXISTING) and car (1), nest "public" = train (1 - ALPHA_EXISTING) and Swissmetro (1);
#: mu = 1 / iv; 6768 observations. Estimate and robust standard error as printed. That
#: optimisation stopped at a relative gradient of 3.3e-05 ("Cause of termination"), short of
#: the maximum by less than the 0.0005 its printed log-likelihood leaves open, i.e. by less
#: than sqrt(2 x 0.0005) ~ 0.03 standard errors in any direction: the test allows that much
#: beyond the rounding of the printed digits. It moves the last printed digit of the
#: estimates of ASC_CAR (ours -0.2405) and ASC_TRAIN (0.09828), and of the robust standard
#: errors of ALPHA_EXISTING (0.03475), ASC_TRAIN (0.06998), B_COST (0.05897) and MU_PUBLIC
#: (0.4967). Biogeme 3.3.2 itself, run on the same data to a tighter optimum, is below.
BIOGEME_B11 = {
    "llf": -5214.049,
    "alpha_existing": (0.495, 0.0347),
    "asc_car": (-0.241, 0.0534),
    "asc_train": (0.0981, 0.0699),
    "cost": (-0.819, 0.0589),
    "time": (-0.777, 0.102),
    "mu_existing": (2.51, 0.248),
    "mu_public": (4.11, 0.495),
}


#: b11cnl's model (the specification above) estimated with Biogeme 3.3.2 (pip) on the same
#: 6768 observations, default settings: log-likelihood and estimates as it prints them
#: (repr). Its standard errors are not used: this run's finite-difference Hessian was not
#: reliable (the analytic one did not finish compiling in 15 minutes on two cores).
BIOGEME_332_B11 = {
    "llf": -5214.04919484011,
    "alpha_existing": 0.49508386189369985,
    "asc_car": -0.24044088259183086,
    "asc_train": 0.09826839671319158,
    "cost": -0.8188919574723484,
    "time": -0.7768533936985018,
    "mu_existing": 2.514860485774684,
    "mu_public": 4.1135031889448195,
}


def test_biogeme_b11cnl_swissmetro(swissmetro_long):
    m = cm.CrossNestedLogit("choice ~ asc_car + asc_train + cost + time | 0", data=swissmetro_long,
                            obs="obs", alt="alt", avail="av", nests={"existing": [1, 3], "public": [1, 2]})
    assert m.param_names[-3:] == ["iv:existing", "iv:public", "alpha:existing:1"]
    r = m.fit()
    robust = m.fit(cov_type="robust")
    assert r.converged and r.nobs == 6768
    assert round(r.llf, 3) == BIOGEME_B11["llf"]
    iv = r.params[["iv:existing", "iv:public"]].to_numpy()
    # value, its (nonrobust) standard error, and its robust standard error; mu = 1/iv with
    # standard errors by the delta method, se(iv) / iv^2
    ours = {name: (r.params[col], r.bse[col], robust.bse[col]) for name, col in [
        ("alpha_existing", "alpha:existing:1"), ("asc_car", "asc_car"), ("asc_train", "asc_train"),
        ("cost", "cost"), ("time", "time")]}
    for k, name in enumerate(("mu_existing", "mu_public")):
        col = f"iv:{name[3:]}"
        ours[name] = (1 / iv[k], r.bse[col] / iv[k] ** 2, robust.bse[col] / iv[k] ** 2)
    for name, (value, se, rse) in ours.items():
        published, published_rse = BIOGEME_B11[name]
        half_digit = 0.5 * 10.0 ** (np.floor(np.log10(abs(published))) - 2)
        assert abs(value - published) <= half_digit + 0.03 * se, (name, value, published)
        # the standard error at a point 0.03 SE away moves by about as much, relatively
        half_digit = 0.5 * 10.0 ** (np.floor(np.log10(published_rse)) - 2)
        assert abs(rse - published_rse) <= half_digit + 0.005 * rse, (name, rse, published_rse)
    # Biogeme 3.3.2 on the same data: the same maximum (ours is 2e-7 higher) and the same
    # estimates within a thousandth of a standard error
    assert r.llf == pytest.approx(BIOGEME_332_B11["llf"], abs=1e-6)
    for name, (value, se, _) in ours.items():
        assert abs(value - BIOGEME_332_B11[name]) < 1e-3 * se, (name, value, BIOGEME_332_B11[name], se)
    # the estimates and robust standard errors printed with the same digits as Biogeme's
    # report, where the published optimum leaves them exact
    for name in ("alpha_existing", "cost", "time", "mu_existing", "mu_public"):
        assert float(f"{ours[name][0]:.3g}") == BIOGEME_B11[name][0], name
    for name in ("asc_car", "time", "mu_existing"):
        assert float(f"{ours[name][2]:.3g}") == BIOGEME_B11[name][1], name


def test_summary_tests_iv_equal_to_one():
    """The summary's Wald tests of iv = 1, recomputed from params and bse; allocations are
    not iv parameters and stay out of the table."""
    nests = {"a": {"alt0": 1.0, "alt1": 1.0, "alt2": 0.4}, "b": {"alt2": None, "alt3": 1.0}}
    sim = cm.simulate_dataset(3_000, 4, [1.0, -0.5], errors="cross_nested", nests=nests,
                              iv=[0.4, 0.6], rng=8)
    r = cm.CrossNestedLogit(sim.formula, sim.data, obs="obs", alt="alt",
                            nests={"a": ["alt0", "alt1", "alt2"], "b": ["alt2", "alt3"]}).fit()
    assert r.converged
    table = next(t for t in r.summary().tables if t.title.startswith("Wald tests of iv = 1"))
    assert list(table.frame.index) == ["iv:a", "iv:b"] and "alpha:a:alt2" in r.param_names
    z = (r.params[["iv:a", "iv:b"]] - 1) / r.bse[["iv:a", "iv:b"]]
    np.testing.assert_allclose(table.frame["z"], z, rtol=1e-12)
