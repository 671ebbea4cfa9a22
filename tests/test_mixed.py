"""Mixed logit: draws, the simulated likelihood against a plain reference written here,
finite differences, the logit at zero standard deviations, recovery of known truth, and
bad input.

The reference likelihood below is the textbook simulator in dense numpy arrays, one
person at a time, sharing no code with the package's kernel:
``l_n = log mean_r prod_t P_t(beta_nr)``, ``beta_nr = b + L eta_nr`` (exp for lognormal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp, ndtri

import choicemodels as cm
from choicemodels.kernels.draws import keyed_uniform_draws, standard_draws, uniform_draws


# ---- draws -------------------------------------------------------------------------------
@pytest.mark.parametrize("sequence", ["halton", "sobol", "mlhs", "pseudo"])
def test_keyed_draws_shape_range_reproducible_and_keyed(sequence):
    keys = np.arange(10, dtype=np.uint64) * 7919
    u = keyed_uniform_draws(keys, 3, 64, sequence=sequence, discard=100, rng=3)
    assert u.shape == (10, 64, 3)
    assert u.min() > 0.0 and u.max() < 1.0
    np.testing.assert_array_equal(u, keyed_uniform_draws(keys, 3, 64, sequence=sequence,
                                                         discard=100, rng=3))
    assert not np.array_equal(u, keyed_uniform_draws(keys, 3, 64, sequence=sequence,
                                                     discard=100, rng=4))
    # a person's draws depend on its key only, not on who else is there
    np.testing.assert_array_equal(u[[7, 2]], keyed_uniform_draws(keys[[7, 2]], 3, 64,
                                                                 sequence=sequence,
                                                                 discard=100, rng=3))
    # different persons get different draws
    assert not np.allclose(u[0], u[1])


def test_mlhs_one_point_per_stratum():
    u = keyed_uniform_draws(np.arange(5, dtype=np.uint64), 4, 50, sequence="mlhs", rng=0)
    strata = np.floor(u * 50).astype(int)
    for i in range(5):
        for d in range(4):
            assert sorted(strata[i, :, d]) == list(range(50))
    # the same (r + shift) / R grid in every dimension, in a different order per dimension
    assert not np.array_equal(np.argsort(u[0, :, 0]), np.argsort(u[0, :, 1]))
    v = uniform_draws(3, 2, 20, sequence="mlhs", rng=1)
    assert all(sorted(np.floor(v[i, :, d] * 20).astype(int)) == list(range(20))
               for i in range(3) for d in range(2))


def test_halton_discard_skips_the_first_points():
    full = uniform_draws(1, 3, 130, sequence="halton", rng=5)[0]
    skipped = uniform_draws(1, 3, 30, sequence="halton", discard=100, rng=5)[0]
    np.testing.assert_allclose(skipped, full[100:])
    np.testing.assert_array_equal(uniform_draws(1, 3, 30, sequence="halton", rng=5)[0], full[:30])


def test_standard_draws_distributions():
    u = keyed_uniform_draws(np.arange(200, dtype=np.uint64), 3, 500, sequence="pseudo", rng=2)
    z = standard_draws(u, ["normal", "uniform", "triangular"]).reshape(-1, 3)
    np.testing.assert_allclose(z[:, 0], ndtri(u.reshape(-1, 3)[:, 0]))
    assert stats.kstest(z[:, 0], "norm").pvalue > 1e-3
    assert stats.kstest(z[:, 1], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    assert stats.kstest(z[:, 2], stats.triang(0.5, loc=-1, scale=2).cdf).pvalue > 1e-3
    # the spreads' standard deviations 1/sqrt(3), 1/sqrt(6) (SE of an sd ~ sd / sqrt(2n))
    n = z.shape[0]
    assert abs(z[:, 1].std() - 1 / np.sqrt(3)) < 4 * (1 / np.sqrt(3)) / np.sqrt(2 * n)
    assert abs(z[:, 2].std() - 1 / np.sqrt(6)) < 4 * (1 / np.sqrt(6)) / np.sqrt(2 * n)


# ---- a plain reference of the simulated log-likelihood -----------------------------------
def reference_loglike(model, params):
    """Dense numpy simulator, person by person, from the model's draws (``_eta``)."""
    d = model.design
    names = list(d.names)
    params = np.asarray(params, float)
    K = d.n_params
    random = model._random
    idx = [names.index(n) for n, _, _ in random]
    L = np.zeros((len(random), len(random)))
    pnames = model.param_names
    for i, p in enumerate(pnames[K:], start=K):
        if p.startswith("sd."):
            k = [n for n, _, _ in random].index(p[3:])
            L[k, k] = params[i]
        else:
            a, b = p[5:].split(":")
            rn = [n for n, _, _ in random]
            L[rn.index(a), rn.index(b)] = params[i]
    ids, person = model._persons[0], model._persons[1]
    eta = model._eta
    total = 0.0
    w = d.weights
    for p in range(ids.size):
        rows = np.flatnonzero(person == p)
        c = params[idx] + eta[p] @ L.T  # (R, K_r)
        beta = np.tile(params[:K], (c.shape[0], 1))
        for k, (_, dist, sign) in enumerate(random):
            beta[:, idx[k]] = sign * np.exp(c[:, k]) if dist == "lognormal" else c[:, k]
        logl = np.zeros(c.shape[0])
        for t in rows:
            V = beta @ d.X[t].T  # (R, J)
            V = np.where(d.avail[t], V, -np.inf)
            logl += V[:, d.chosen[t]] - logsumexp(V, axis=1)
        lp = logsumexp(logl) - np.log(logl.size)
        total += lp * (1.0 if w is None else w[rows[0]])
    return total


def panel_problem(seed, n_persons=12, n_alts=4, k=4, unbalanced=True, avail=True, weights=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_persons) if unbalanced else np.full(n_persons, 3)
    panel = np.repeat(np.arange(n_persons) * 10 + 3, sizes)
    rng.shuffle(panel)  # persons' situations interleaved
    n = panel.size
    X = rng.standard_normal((n, n_alts, k))
    av = rng.random((n, n_alts)) < 0.7 if avail else np.ones((n, n_alts), bool)
    av[:, 0] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in av])
    w = None
    if weights:
        pw = rng.integers(1, 4, n_persons + 1).astype(float)
        w = pw[(panel - 3) // 10]
    return X, chosen, av, panel, w


SPECS = [
    ({"x0": "normal"}, False),
    ({"x0": "lognormal"}, False),
    ({"-x1": "lognormal"}, False),
    ({"x2": "uniform"}, False),
    ({"x3": "triangular"}, False),
    ({"x0": "normal", "-x1": "lognormal", "x2": "triangular", "x3": "fixed"}, False),
    ({"x0": "normal", "x1": "normal", "x2": "lognormal"}, True),
    ({"x0": "normal", "x1": "normal", "x3": "uniform"}, ["x0", "x1"]),
]


def some_params(model, rng):
    p = 0.5 * rng.standard_normal(len(model.param_names))
    K = model.design.n_params
    p[K:] = np.abs(p[K:]) + 0.2
    return p


@pytest.mark.parametrize("random, correlated", SPECS)
def test_loglike_equals_plain_reference(random, correlated):
    X, chosen, av, panel, w = panel_problem(1, weights=True)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, weights=w, random=random,
                                  correlated=correlated, draws=40, rng=7)
    params = some_params(m, np.random.default_rng(2))
    assert m.loglike(params) == pytest.approx(reference_loglike(m, params), rel=1e-12, abs=1e-10)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), spec=st.sampled_from(SPECS), panel_on=st.booleans(),
       sequence=st.sampled_from(["halton", "sobol", "mlhs", "pseudo"]))
def test_gradient_matches_finite_differences(seed, spec, panel_on, sequence):
    random, correlated = spec
    X, chosen, av, panel, w = panel_problem(seed, weights=seed % 2 == 0)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel if panel_on else None,
                                  weights=w, random=random, correlated=correlated, draws=15,
                                  sequence=sequence, rng=seed)
    params = some_params(m, np.random.default_rng(seed))
    g = m.score(params)
    h = 1e-6
    fd = np.array([(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h)
                   for e in np.eye(params.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)
    # the per-situation scores (each person's on its first situation) add up to it
    np.testing.assert_allclose(m.score_obs(params).T @ (np.ones(len(chosen)) if w is None else w),
                               g, rtol=1e-10, atol=1e-10)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), spec=st.sampled_from(SPECS), panel_on=st.booleans())
def test_hessian_matches_finite_differences_of_the_gradient(seed, spec, panel_on):
    random, correlated = spec
    X, chosen, av, panel, w = panel_problem(seed, weights=seed % 2 == 0)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel if panel_on else None,
                                  weights=w, random=random, correlated=correlated, draws=15,
                                  rng=seed)
    params = some_params(m, np.random.default_rng(seed))
    ll, g, H = m._derivatives(params)
    assert ll == pytest.approx(m.loglike(params), rel=1e-13)
    np.testing.assert_allclose(g, m.score(params), rtol=1e-12, atol=1e-12)
    h = 1e-5
    fd = np.column_stack([(m.score(params + h * e) - m.score(params - h * e)) / (2 * h)
                          for e in np.eye(params.size)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("panel_on", [False, True])
def test_zero_sd_is_the_logit(panel_on):
    X, chosen, av, panel, w = panel_problem(3, n_persons=30, weights=True)
    random = {"x0": "normal", "x1": "normal", "x2": "triangular"}
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel if panel_on else None,
                                  weights=w, random=random, correlated=["x0", "x1"], draws=25)
    logit = cm.Logit.from_arrays(X, chosen, avail=av, weights=w)
    beta = np.array([0.3, -0.7, 0.2, 0.9])
    params = np.concatenate([beta, np.zeros(len(m.param_names) - 4)])
    assert m.loglike(params) == pytest.approx(logit.loglike(beta), rel=1e-13)
    np.testing.assert_allclose(m.score(params)[:4], logit.score(beta), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.predict(params), logit.predict(beta), rtol=1e-12, atol=1e-14)


def test_lognormal_zero_sd_is_the_logit_with_exp_mean():
    X, chosen, av, panel, _ = panel_problem(4, n_persons=20)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, random={"-x1": "lognormal"},
                                  draws=10)
    logit = cm.Logit.from_arrays(X, chosen, avail=av)
    b = np.log(0.8)
    params = np.array([0.3, b, 0.2, 0.1, 0.0])
    beta = np.array([0.3, -0.8, 0.2, 0.1])
    assert m.loglike(params) == pytest.approx(logit.loglike(beta), rel=1e-13)
    # chain rule: d beta / d b = beta
    assert m.score(params)[1] == pytest.approx(logit.score(beta)[1] * -0.8, rel=1e-12)


def test_predict_is_mean_over_draws_and_sums_to_one():
    X, chosen, av, panel, _ = panel_problem(5, n_persons=20)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel,
                                  random={"x0": "normal", "x1": "uniform"}, draws=30)
    params = np.array([0.5, -0.3, 0.2, 0.1, 1.2, 0.8])
    p = m.predict(params)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(p[~av] == 0)
    # situation 0 by hand: mean over its person's draws of the logit probabilities
    person = m._persons[1][0]
    eta = m._eta[person]
    beta = np.tile(params[:4], (eta.shape[0], 1))
    beta[:, 0] += 1.2 * eta[:, 0]
    beta[:, 1] += 0.8 * eta[:, 1]
    V = np.where(av[0], beta @ X[0].T, -np.inf)
    np.testing.assert_allclose(p[0], np.exp(V - logsumexp(V, axis=1, keepdims=True)).mean(0),
                               rtol=1e-12)


# ---- recovery of known truth -------------------------------------------------------------
def simulate_panel(seed, n_persons, n_tasks, n_alts=3):
    """Panel data from a mixed logit: a correlated normal pair (x0, x1), a negative
    lognormal x2 and a fixed x3, drawn here with numpy."""
    rng = np.random.default_rng(seed)
    b = np.array([1.0, -0.5])
    L = np.array([[0.8, 0.0], [0.4, 0.6]])
    c = b + rng.standard_normal((n_persons, 2)) @ L.T
    price = -np.exp(-0.5 + 0.5 * rng.standard_normal(n_persons))
    beta = np.column_stack([c, price, np.full(n_persons, 0.5)])  # (P, 4)
    person = np.repeat(np.arange(n_persons), n_tasks)
    X = rng.standard_normal((person.size, n_alts, 4))
    X[:, :, 2] = np.abs(X[:, :, 2]) + 0.5  # a price-like positive attribute
    V = np.einsum("njk,nk->nj", X, beta[person])
    chosen = np.argmax(V + rng.gumbel(size=V.shape), axis=1)
    truth = {"x0": 1.0, "x1": -0.5, "x2": -0.5, "x3": 0.5, "sd.x2": 0.5}
    omega = L @ L.T
    return X, chosen, person, truth, omega, beta


def test_recovers_known_truth_on_panel_data():
    X, chosen, person, truth, omega, beta = simulate_panel(11, 1000, 10)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=person, draws=100, rng=1,
                                  random={"x0": "normal", "x1": "normal", "-x2": "lognormal"},
                                  correlated=["x0", "x1"])
    assert m.param_names == ["x0", "x1", "x2", "x3", "sd.x2", "chol.x0:x0", "chol.x1:x0",
                             "chol.x1:x1"]
    r = m.fit()
    assert r.converged and r.cov_type == "cluster"
    for name, value in truth.items():
        est = abs(r.params[name]) if name.startswith("sd.") else r.params[name]
        assert abs(est - value) < 3 * r.bse[name], (name, est, value, r.bse[name])
    cov = r.random_covariance()
    got, se = cov["estimate"].to_numpy(), cov["std err"].to_numpy()
    assert np.all(np.abs(got[:2, :2] - omega) < 3 * se[:2, :2]), (got, omega, se)
    assert got[2, 0] == 0.0 and got[2, 2] == pytest.approx(r.params["sd.x2"] ** 2)
    corr = r.random_covariance(correlation=True)["estimate"]
    assert corr.loc["x1", "x0"] == pytest.approx(got[1, 0] / np.sqrt(got[0, 0] * got[1, 1]))
    dist = r.random_distribution()
    # the lognormal's own moments: closed forms at the estimates
    bx, sx = r.params["x2"], abs(r.params["sd.x2"])
    assert dist.loc["x2", "mean"] == pytest.approx(-np.exp(bx + sx**2 / 2))
    assert dist.loc["x2", "median"] == pytest.approx(-np.exp(bx))
    assert dist.loc["x2", "sd"] == pytest.approx(np.exp(bx + sx**2 / 2) * np.sqrt(np.expm1(sx**2)))
    true_mean = -np.exp(-0.5 + 0.125)
    assert abs(dist.loc["x2", "mean"] - true_mean) < 3 * dist.loc["x2", "mean se"]
    # conditional means: closer to each person's true coefficient than the population mean
    ind = r.individual_params()
    assert ind.shape == (1000, 3) and list(ind.columns) == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(ind.index, np.arange(1000))
    population = np.array([dist.loc[v, "mean"] for v in ("x0", "x1", "x2")])
    err_ind = ((ind.to_numpy() - beta[:, :3]) ** 2).mean(axis=0)
    err_pop = ((population - beta[:, :3]) ** 2).mean(axis=0)
    # (the conditional mean is the predictor of least mean squared error)
    assert np.all(err_ind < err_pop), (err_ind, err_pop)
    # their mean over persons estimates the population mean (Train 2009, sec. 11.4)
    assert abs(ind["x0"].mean() - r.params["x0"]) < 3 * r.bse["x0"]


# ---- results: distribution, save/load/predict with the same draws -----------------------
def test_distribution_of_uniform_and_triangular_and_delta_se():
    X, chosen, av, panel, _ = panel_problem(6, n_persons=60)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, draws=20,
                                  random={"x0": "uniform", "x1": "triangular"})
    with pytest.warns(cm.ConvergenceWarning, match="did not converge after 3 iterations"):
        r = m.fit(maxiter=3)
    d = r.random_distribution()
    s0, s1 = abs(r.params["sd.x0"]), abs(r.params["sd.x1"])
    assert d.loc["x0", "sd"] == pytest.approx(s0 / np.sqrt(3))
    assert d.loc["x1", "sd"] == pytest.approx(s1 / np.sqrt(6))
    assert d.loc["x0", "sd se"] == pytest.approx(r.bse["sd.x0"] / np.sqrt(3), rel=1e-6)
    assert d.loc["x1", "mean se"] == pytest.approx(r.bse["x1"], rel=1e-6)


@pytest.fixture(scope="module")
def long_panel():
    X, chosen, person, _, _, _ = simulate_panel(2, 60, 5)
    n, J, K = X.shape
    df = pd.DataFrame({
        "sit": np.repeat(np.arange(n), J) + 1000, "alt": np.tile(["a", "b", "c"], n),
        "person": np.repeat(person, J) + 500,
        "choice": (np.arange(J)[None, :] == chosen[:, None]).ravel().astype(int),
        **{f"x{k}": X[:, :, k].ravel() for k in range(K)},
    })
    return df


def test_elasticities_are_the_simulated_closed_form():
    """Train (2009, 6.5): with :math:`P_{nj} = \\frac1R\\sum_r L_{njr}`, the elasticity of
    :math:`P_{ni}` in :math:`x_{nmk}` is :math:`\\frac{x_{nmk}}{P_{ni}} \\frac1R \\sum_r
    \\beta_{rk} L_{nir} ([i = m] - L_{nmr})`, with the model's own draws."""
    X, chosen, person, _, _, _ = simulate_panel(8, 60, 3)
    X[:, :, 2] = np.abs(X[:, :, 2]) + 0.5
    m = cm.MixedLogit.from_arrays(X, chosen, panel=person, draws=30, rng=2,
                                  random={"x0": "normal", "-x2": "lognormal"})
    params = np.array([0.8, -0.4, np.log(0.6), 0.5, 0.7, 0.4])  # x0..x3, sd.x0, sd.x2
    eta = m._eta  # (P, R, 2): the draws of x0 and x2
    pid = m._persons[1]
    beta = np.empty((len(chosen), eta.shape[1], 4))  # (N, R, K)
    beta[:, :, 0] = params[0] + params[4] * eta[pid, :, 0]
    beta[:, :, 1] = params[1]
    beta[:, :, 2] = -np.exp(params[2] + params[5] * eta[pid, :, 1])
    beta[:, :, 3] = params[3]
    V = np.einsum("njk,nrk->nrj", X, beta)
    L = np.exp(V - V.max(axis=2, keepdims=True))
    L /= L.sum(axis=2, keepdims=True)  # (N, R, J)
    P = L.mean(axis=1)
    J = X.shape[1]
    expected = np.empty((J, J))
    for mm in range(J):  # the alternative whose x2 changes
        for i in range(J):
            inner = (beta[:, :, 2] * L[:, :, i] * ((i == mm) - L[:, :, mm])).mean(axis=1)
            expected[mm, i] = np.mean(X[:, mm, 2] / P[:, i] * inner)
    got = m.elasticities(params, "x2")
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-6)


def test_formula_model_save_load_predict(long_panel, tmp_path):
    df = long_panel
    m = cm.MixedLogit("choice ~ x0 + x1 + x2 | 0", data=df, obs="sit", alt="alt",
                      panel="person", random={"x0": "normal", "-x2": "lognormal"}, draws=30)
    r = m.fit()
    assert r.converged
    path = tmp_path / "mixed.json"
    r.save(path)
    back = cm.load_results(path)
    np.testing.assert_array_equal(back.params, r.params)
    # the same persons get the same draws: predictions on the data equal the fit's
    np.testing.assert_allclose(back.predict(df).to_numpy(), r.predict().to_numpy(), rtol=1e-12)
    # and on a subset, in another row order
    sub = df[df.person.isin([500, 503, 520])].iloc[::-1]
    np.testing.assert_allclose(back.predict(sub).sort_index().to_numpy(),
                               r.predict().loc[sorted(set(sub.sit))].to_numpy(), rtol=1e-12)
    ind = back.individual_params(df)
    pd.testing.assert_frame_equal(ind, r.individual_params())
    assert ind.index.name == "person" and ind.index[0] == 500
    assert "sd.x0" in r.summary().as_text()


# ---- bad input ---------------------------------------------------------------------------
def test_bad_input(long_panel):
    df = long_panel
    kw = {"data": df, "obs": "sit", "alt": "alt"}
    f = "choice ~ x0 + x1 | 0"
    with pytest.raises(cm.SpecificationError, match=r"\['x7'\] are not in the formula"):
        cm.MixedLogit(f, random={"x7": "normal"}, **kw)
    with pytest.raises(cm.SpecificationError, match="unknown distribution 'gamma' for 'x0'"):
        cm.MixedLogit(f, random={"x0": "gamma"}, **kw)
    with pytest.raises(cm.SpecificationError, match="draws must be an int >= 1"):
        cm.MixedLogit(f, random={"x0": "normal"}, draws=0, **kw)
    with pytest.raises(cm.SpecificationError, match=r"correlated names \['x1'\], which are not random"):
        cm.MixedLogit(f, random={"x0": "normal"}, correlated=["x0", "x1"], **kw)
    with pytest.raises(cm.SpecificationError, match="only normal and lognormal"):
        cm.MixedLogit(f, random={"x0": "normal", "x1": "uniform"}, correlated=True, **kw)
    with pytest.raises(cm.SpecificationError, match="negative lognormal"):
        cm.MixedLogit(f, random={"-x0": "normal"}, **kw)
    with pytest.raises(cm.SpecificationError, match="sequence must be one of"):
        cm.MixedLogit(f, random={"x0": "normal"}, sequence="niederreiter", **kw)
    bad = df.copy()
    bad.loc[1, "person"] = 9999  # situation 1000 now has two persons
    with pytest.raises(cm.ChoiceDataError, match=r"'person' must be constant within a situation \('sit'\); 1 situations"):
        cm.MixedLogit(f, random={"x0": "normal"}, panel="person", data=bad, obs="sit", alt="alt")
    with pytest.raises(cm.ChoiceDataError, match="panel column 'who' is not in the data"):
        cm.MixedLogit(f, random={"x0": "normal"}, panel="who", **kw)
    weighted = df.assign(w=np.where(df.sit % 2 == 0, 1.0, 2.0))  # varies within persons
    with pytest.raises(cm.ChoiceDataError, match="weights must be constant within a person"):
        cm.MixedLogit(f, random={"x0": "normal"}, panel="person", weights="w", data=weighted,
                      obs="sit", alt="alt")
    with pytest.raises(cm.SpecificationError, match="random must be a non-empty dict"):
        cm.MixedLogit(f, random={}, **kw)
    with pytest.raises(cm.SpecificationError, match="correlated must be True, False or a list"):
        cm.MixedLogit(f, random={"x0": "normal"}, correlated="x0", **kw)
    with pytest.warns(cm.ConvergenceWarning):
        r = cm.MixedLogit(f, random={"x0": "normal"}, draws=5, **kw).fit(maxiter=2)
    with pytest.raises(cm.SpecificationError, match="individual_params\\(\\) needs a panel"):
        r.individual_params()
    logit = cm.Logit(f, **kw).fit()
    with pytest.raises(cm.SpecificationError, match="defined for mixed logit results"):
        logit.random_covariance()


# ---- an independent package --------------------------------------------------------------
#: xlogit 0.2.7 (numpy 2.4.6), MixedLogit().fit on TravelMode with columns gc, ttme, ASCs and
#: hinc x ASC (car the base), randvars={"ttme": "n"}, n_draws=2000, halton=True: its
#: log-likelihood and estimates (its own Halton draws, so they differ from ours by
#: simulation error only).
XLOGIT_TRAVEL = {
    "llf": -174.22167560452345,
    "gc": -0.0198, "ttme": -0.192, "(Intercept):air": 10.981, "(Intercept):bus": 9.3892,
    "(Intercept):train": 11.3041, "hinc:air": -0.008, "hinc:bus": -0.0417,
    "hinc:train": -0.0789, "sd.ttme": 0.1133,
}


def test_travel_mode_matches_xlogit():
    df = cm.datasets.load_travel_mode()
    r = cm.MixedLogit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
                      ref="car", random={"ttme": "normal"}, draws=2000).fit()
    assert r.llf == pytest.approx(XLOGIT_TRAVEL["llf"], abs=0.1)
    for name, value in XLOGIT_TRAVEL.items():
        if name != "llf":
            # simulation error only: a small fraction of a standard error (xlogit rounded to 4 places)
            est = abs(r.params[name]) if name.startswith("sd.") else r.params[name]
            assert abs(est - value) < 0.05 * r.bse[name] + 1e-4, name


# ---- Dask: the same sums over persons, the same draws ------------------------------------
def test_a_dask_fit_equals_the_in_memory_fit():
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    travel = cm.datasets.load_travel_mode()
    kw = {"obs": "individual", "alt": "mode", "ref": "car", "random": {"ttme": "normal"},
          "draws": 50, "rng": 3}
    f = "choice ~ gc + ttme | hinc"
    in_memory = cm.MixedLogit(f, data=travel, **kw).fit(cov_type="robust")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        frame = dd.from_pandas(travel.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
        on_dask = cm.MixedLogit(f, data=frame, **kw).fit(cov_type="robust")
    assert on_dask.llf == pytest.approx(in_memory.llf, rel=1e-12)
    np.testing.assert_allclose(on_dask.params, in_memory.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(on_dask.bse, in_memory.bse, rtol=1e-6)


# ---- optimisers, covariances, row order --------------------------------------------------
def test_newton_bhhh_and_bfgs_agree_and_panel_covariances():
    X, chosen, person, _, _, _ = simulate_panel(5, 150, 6)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=person, draws=40,
                                  random={"x0": "normal", "-x2": "lognormal"})
    newton = m.fit()
    bfgs = m.fit(method="bfgs")
    bhhh = m.fit(method="bhhh", cov_type="cluster")
    assert newton.optimizer == "newton" and bhhh.optimizer == "bhhh"
    assert newton.converged and bfgs.converged and bhhh.converged
    np.testing.assert_allclose(bfgs.params, newton.params, rtol=0, atol=2e-4)
    np.testing.assert_allclose(bhhh.params, newton.params, rtol=0, atol=2e-4)
    # Newton stops below a decrement of 1e-8 and takes one more step: gradient about 0
    assert np.max(np.abs(m.score(newton.estimates))) < 1e-6
    np.testing.assert_allclose(bfgs.bse, newton.bse, rtol=1e-3)
    # the default with a panel: clusters = persons; robust is the same sandwich times (G-1)/G
    explicit = m.fit(cov_type="cluster", groups=person)
    np.testing.assert_allclose(explicit.bse, newton.bse, rtol=1e-12)
    robust = m.fit(cov_type="robust")
    np.testing.assert_allclose(robust.bse ** 2, newton.bse ** 2 * 149 / 150, rtol=1e-6)
    nonrobust = m.fit(cov_type="nonrobust")
    # the inverse of central differences of the analytic gradient at the estimate
    p = nonrobust.estimates
    h = 1e-5
    fd = np.column_stack([(m.score(p + h * e) - m.score(p - h * e)) / (2 * h)
                          for e in np.eye(p.size)])
    np.testing.assert_allclose(nonrobust.cov_params().to_numpy(), np.linalg.inv(-(fd + fd.T) / 2),
                               rtol=1e-5)


def test_newton_does_not_crawl_where_the_standard_deviations_vanish():
    """Logit data (no heterogeneity): the scores of sd.x vanish near 0, where BHHH steps
    crawl (54 of them to a decrement of 1 on these data); the BHHH warm-up stops after 10
    and Newton with the exact Hessian finishes at BFGS's optimum."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1500, 3, 3))
    chosen = cm.simulate_choices(X @ [1.0, -0.5, 0.3], rng=3)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(1500) // 5, draws=100,
                                  random={"x0": "normal", "x1": "normal"})
    newton, bfgs = m.fit(), m.fit(method="bfgs")
    assert newton.converged and newton.n_iter <= 16
    assert newton.llf == pytest.approx(bfgs.llf, abs=1e-7)
    np.testing.assert_allclose(newton.params, bfgs.params, atol=1e-4)


def test_row_order_does_not_change_the_likelihood():
    X, chosen, av, panel, w = panel_problem(8, n_persons=25, weights=True)
    kw = {"random": {"x0": "normal", "x1": "uniform"}, "draws": 30, "rng": 4}
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, weights=w, **kw)
    perm = np.random.default_rng(0).permutation(len(chosen))
    m2 = cm.MixedLogit.from_arrays(X[perm], chosen[perm], avail=av[perm], panel=panel[perm],
                                   weights=w[perm], **kw)
    params = some_params(m, np.random.default_rng(1))
    assert m2.loglike(params) == pytest.approx(m.loglike(params), rel=1e-13)
    np.testing.assert_allclose(m2.score(params), m.score(params), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(m2.predict(params), m.predict(params)[perm], rtol=1e-12)


def test_draws_generated_in_chunks_of_persons_are_the_same(monkeypatch):
    from choicemodels.models import mixed

    X, chosen, av, panel, _ = panel_problem(9, n_persons=30)
    kw = {"random": {"x0": "normal", "x1": "triangular"}, "draws": 16, "rng": 2,
          "sequence": "mlhs"}
    whole = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, **kw)._eta
    monkeypatch.setattr(mixed, "DRAW_CHUNK", 70)  # two persons at a time
    chunked = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, **kw)._eta
    np.testing.assert_array_equal(chunked, whole)
    assert whole.shape == (30, 16, 2)


def test_long_panels_stay_in_log_space():
    # 3 persons with 400 situations of 6 alternatives: each person's likelihood is about
    # 6^-400 = e^-717, below the smallest double, so a product of probabilities would give
    # log(0); the running product of the softmax denominators passes 1e280 and is folded in
    rng = np.random.default_rng(12)
    n, J = 1200, 6
    X = rng.standard_normal((n, J, 2)) * 0.3
    chosen = rng.integers(0, J, n)
    panel = np.repeat([5, 6, 7], 400)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=panel, random={"x0": "normal"}, draws=70)
    params = np.array([0.2, -0.1, 0.7])
    ll = m.loglike_obs(params)
    assert np.all(ll[m._persons[4]] < -708)
    assert m.loglike(params) == pytest.approx(reference_loglike(m, params), rel=1e-12)
    g = m.score(params)
    h = 1e-6
    fd = [(m.loglike(params + h * e) - m.loglike(params - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_a_negative_sd_is_continued_from_its_mirror_image():
    X, chosen, person, _, _, _ = simulate_panel(5, 150, 6)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=person, draws=40,
                                  random={"x0": "normal", "x1": "uniform"})
    up = m.fit()
    start = up.estimates * np.where(np.isin(np.arange(6), [4, 5]), -1.0, 1.0)
    assert m.loglike(start) < up.llf  # the mirror image is not the maximum at fixed draws
    down = m.fit(start=start)
    assert down.converged and down.params["sd.x0"] > 0 and down.params["sd.x1"] > 0
    assert m.loglike(down.params) == pytest.approx(down.llf, rel=1e-14)
    # the same estimate up to simulation error: a small fraction of a standard error
    assert np.all(np.abs(down.estimates - up.estimates) < 0.2 * up.bse.to_numpy())
    assert down.n_iter > 0


def test_threads_do_not_change_the_sums():
    X, chosen, av, panel, w = panel_problem(13, n_persons=40, weights=True)
    m = cm.MixedLogit.from_arrays(X, chosen, avail=av, panel=panel, weights=w, draws=30,
                                  random={"x0": "normal", "x1": "normal"}, correlated=True)
    params = some_params(m, np.random.default_rng(3))
    m._threads = 1
    one = m._block_sums(params)
    m._threads = 3
    three = m._block_sums(params)
    assert one[0] == three[0]
    np.testing.assert_array_equal(one[1], three[1])
    np.testing.assert_array_equal(one[2], three[2])
    # the Hessians of runs of persons are added in another grouping: equal to rounding
    m._threads = 1
    h_one = m._derivatives(params)
    m._threads = 3
    h_three = m._derivatives(params)
    assert h_one[0] == h_three[0]
    np.testing.assert_array_equal(h_one[1], h_three[1])
    np.testing.assert_allclose(h_one[2], h_three[2], rtol=1e-13, atol=1e-12)


@pytest.mark.slow
def test_interval_coverage_over_a_monte_carlo_study():
    """95% intervals of the mean and sd of a normal coefficient and of a fixed one cover
    the truth at the nominal rate, within 3 Monte Carlo standard errors (cluster SEs)."""
    reps, n_persons, n_tasks = 60, 300, 8
    truth = np.array([1.0, -0.5, 0.8])  # x0 mean, x1 fixed, sd.x0
    covered = np.zeros((reps, 3), dtype=bool)
    for rep in range(reps):
        rng = np.random.default_rng(1000 + rep)
        beta0 = truth[0] + truth[2] * rng.standard_normal(n_persons)
        person = np.repeat(np.arange(n_persons), n_tasks)
        X = rng.standard_normal((person.size, 3, 2))
        V = X[:, :, 0] * beta0[person, None] + X[:, :, 1] * truth[1]
        chosen = np.argmax(V + rng.gumbel(size=V.shape), axis=1)
        r = cm.MixedLogit.from_arrays(X, chosen, panel=person, random={"x0": "normal"},
                                      draws=200, rng=rep).fit()
        ci = r.conf_int().to_numpy()
        est = r.estimates
        lo = np.where(np.arange(3) == 2, np.abs(est) - 1.96 * r.bse.to_numpy(), ci[:, 0])
        hi = np.where(np.arange(3) == 2, np.abs(est) + 1.96 * r.bse.to_numpy(), ci[:, 1])
        covered[rep] = (lo <= truth) & (truth <= hi)
    rate = covered.mean(axis=0)
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    assert np.all(np.abs(rate - 0.95) < 3 * mc_se), rate


def test_vectorisable_exponential_against_mpmath():
    """The kernel's exponential (Cody-Waite reduction, degree-13 Taylor series) is within
    5e-16 relative of the exact value on [-708, 0], and e^-708 below."""
    import mpmath
    from numba import njit

    from choicemodels.kernels.mixed_pass import exp_nonpositive

    @njit
    def many(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = exp_nonpositive(x[i])
        return out

    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.exponential(2.0, 3000), -rng.uniform(0, 708, 3000),
                        [0.0, -0.0, -1e-300, -np.log(2) / 2, -np.log(2), -707.9, -708.0]])
    exact = np.array([float(mpmath.exp(mpmath.mpf(float(v)))) for v in x])
    np.testing.assert_array_less(np.abs(many(x) - exact) / exact, 5e-16)
    np.testing.assert_array_equal(many(np.array([-709.5, -1e4])), many(np.array([-708.0]))[0])
