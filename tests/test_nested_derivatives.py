"""Nested logit: the analytic gradient and Hessian against finite differences on random
specifications, the logit as the special case iv = 1, and the compiled pass against numpy.

The finite differences of the gradient are taken on the per-situation scores
(:func:`choicemodels.kernels.nested.nested_scores`, written separately from the one-pass
kernel), those of the log-likelihood on the log-probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import choicemodels as cm
from choicemodels.kernels import nested as kernel
from choicemodels.models.base import ChoiceModel


@st.composite
def problems(draw):
    """A random nested-logit problem: partition of J alternatives into nests (singletons
    included), availability, optional weights, iv in (0.05, 1.5), equal_iv or not."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(15, 60))
    n_alts = draw(st.integers(2, 6))
    k = draw(st.integers(1, 3))
    labels = draw(st.lists(st.integers(0, 3), min_size=n_alts, max_size=n_alts))
    nests = {}
    for j, label in enumerate(labels):
        nests.setdefault(f"n{label}", []).append(j)
    equal_iv = draw(st.booleans())
    X = rng.standard_normal((n, n_alts, k))
    avail = rng.random((n, n_alts)) < draw(st.sampled_from([1.0, 0.7]))
    avail[np.arange(n), rng.integers(0, n_alts, n)] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    X[~avail] = rng.standard_normal(int((~avail).sum()))[:, None] * 50  # never read
    weights = rng.integers(1, 5, n).astype(float) if draw(st.booleans()) else None
    model = cm.NestedLogit.from_arrays(X, chosen, avail=avail, weights=weights, nests=nests,
                                       equal_iv=equal_iv)
    n_iv = len(model.param_names) - k
    params = np.r_[rng.normal(0.0, 0.7, k), rng.uniform(0.05, 1.5, n_iv)]
    return model, params


def _central(fun, x, h):
    """Central differences of ``fun`` (scalar or vector valued) at ``x``, steps ``h``."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h[i]))
    return np.array(cols).T


@settings(max_examples=60, deadline=None)
@given(problems())
def test_gradient_and_hessian_match_finite_differences(problem):
    model, params = problem
    ll, g, H = model._derivatives(params)
    w = model.design.weights
    w = np.ones(model.n_obs) if w is None else w
    h = 1e-6 * np.maximum(1.0, np.abs(params))
    # the log-likelihood of the one-pass kernel is the sum of the log-probabilities
    assert ll == pytest.approx(float(w @ model.loglike_obs(params)), rel=1e-12, abs=1e-12)
    fd_g = _central(lambda p: w @ model.loglike_obs(p), params, h)
    np.testing.assert_allclose(g, fd_g, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd_g).max()))
    # the gradient equals the sum of the separately coded per-situation scores
    np.testing.assert_allclose(g, w @ model.score_obs(params), rtol=1e-9,
                               atol=1e-10 * max(1.0, np.abs(g).max()))
    fd_H = _central(lambda p: w @ model.score_obs(p), params, h)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=0)
    np.testing.assert_allclose(H, fd_H, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(fd_H).max()))


@settings(max_examples=25, deadline=None)
@given(problems())
def test_compiled_pass_equals_numpy(problem):
    model, params = problem
    d = model.design
    beta, lam = model._split(params)
    ll, g, H = kernel._numpy_sums(beta, lam, d.X, d.chosen, d.avail, d.weights,
                                  model._nest_of, 2)
    compiled = kernel._compiled_block_sums()
    n_lam = len(lam)
    size = d.X.shape[2] + n_lam
    out_ll, out_g, out_H = np.zeros(2), np.zeros((2, size)), np.zeros((2, size, size))
    block = max(1, -(-d.n_obs // 2))
    compiled(beta, lam, d.X, d.chosen.astype(np.int64), d.avail,
             np.empty(0) if d.weights is None else d.weights, model._nest_of.astype(np.int64),
             2, block, 16, 0, d.n_obs, out_ll, out_g, out_H)
    H_c = out_H.sum(axis=0)
    H_c = np.tril(H_c) + np.tril(H_c, -1).T
    assert out_ll.sum() == pytest.approx(ll, rel=1e-12)
    np.testing.assert_allclose(out_g.sum(axis=0), g, rtol=1e-10, atol=1e-10 * max(1, abs(g).max()))
    np.testing.assert_allclose(H_c, H, rtol=1e-10, atol=1e-10 * max(1, abs(H).max()))


def test_large_problems_take_the_compiled_pass_on_threads():
    rng = np.random.default_rng(7)
    n, n_alts, k = 3000, 5, 4
    X = rng.standard_normal((n, n_alts, k))
    avail = rng.random((n, n_alts)) < 0.8
    avail[:, 4] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    w = rng.uniform(0.5, 2.0, n)
    nest_of = np.array([0, 0, 1, 1, 2])
    beta, lam = rng.normal(size=k), np.array([0.3, 1.2, 1.0])
    assert n * n_alts * k > kernel.NUMPY_MAX_SIZE
    ref = kernel._numpy_sums(beta, lam, X, chosen, avail, w, nest_of, 2)
    for threads in (1, 3):
        out = kernel.nested_loglike_derivatives(beta, lam, X, chosen, avail, nest_of, w,
                                                threads=threads)
        assert out[0] == pytest.approx(ref[0], rel=1e-12)
        np.testing.assert_allclose(out[1], ref[1], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(out[2], ref[2], rtol=1e-10, atol=1e-8)


# ---- iv = 1 is the logit ---------------------------------------------------------------------
@pytest.mark.parametrize("n", [200, 5000])  # the numpy and the compiled route
def test_iv_one_gives_the_logit_loglike_gradient_and_hessian(n):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((n, 5, 3))
    avail = rng.random((n, 5)) < 0.75
    avail[:, 0] = True
    chosen = np.array([rng.choice(np.flatnonzero(a)) for a in avail])
    w = rng.integers(1, 4, n).astype(float)
    beta = np.array([0.4, -0.7, 0.2])
    logit = cm.Logit.from_arrays(X, chosen, avail=avail, weights=w)
    nested = cm.NestedLogit.from_arrays(X, chosen, avail=avail, weights=w,
                                        nests={"a": [0, 1], "b": [2, 3, 4]})
    ll, g, H = nested._derivatives(np.r_[beta, 1.0, 1.0])
    ll_l, g_l, H_l = logit._derivatives(beta)
    assert ll == pytest.approx(ll_l, rel=1e-13)
    np.testing.assert_allclose(g[:3], g_l, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H[:3, :3], H_l, rtol=1e-10, atol=1e-10)


def test_all_singleton_nests_fit_is_the_logit_fit():
    df = cm.datasets.load_travel_mode()
    kw = {"data": df, "obs": "individual", "alt": "mode", "ref": "car"}
    formula = "choice ~ gc + ttme | hinc"
    logit = cm.Logit(formula, **kw).fit()
    nests = {a: [a] for a in ["air", "train", "bus", "car"]}
    nested = cm.NestedLogit(formula, nests=nests, **kw).fit()
    assert nested.converged and nested.optimizer == "newton"
    assert list(nested.params.index) == list(logit.params.index)
    assert nested.llf == pytest.approx(logit.llf, rel=1e-12)
    np.testing.assert_allclose(nested.params, logit.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(nested.bse, logit.bse, rtol=1e-9)


def test_newton_and_bfgs_reach_the_same_maximum_and_errors():
    df = cm.datasets.load_travel_mode()
    m = cm.NestedLogit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
                       ref="car", nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
    newton, bfgs = m.fit(), m.fit(method="bfgs")
    assert newton.optimizer == "newton" and newton.converged and bfgs.converged
    assert newton.llf == pytest.approx(bfgs.llf, abs=1e-7)
    np.testing.assert_allclose(newton.params, bfgs.params, rtol=1e-4)
    np.testing.assert_allclose(newton.bse, bfgs.bse, rtol=1e-4)
    # the nonrobust covariance inverts the analytic Hessian, which agrees with central
    # differences of the analytic gradient (the package's generic route)
    H = m.hessian(newton.params.to_numpy())
    np.testing.assert_allclose(newton.cov_params().to_numpy(), np.linalg.inv(-H), rtol=1e-8)
    fd = ChoiceModel.hessian(m, newton.params.to_numpy())
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7 * np.abs(H).max())


def test_large_fit_starts_from_a_subsample_estimate():
    """N >= 50,000: the start is the nested logit's estimate on a subsample (every 12th
    situation here: 5,000 of 60,000), within 3 of its own standard errors of the full
    estimate, without a logit fit on the full data."""
    sim = cm.simulate_dataset(60_000, 4, [1.0, -0.5], errors="nested",
                              nests={"a": [0, 1], "b": [2, 3]}, iv=[0.5, 0.8], rng=3)
    m = cm.NestedLogit(sim.formula, sim.data, obs="obs", alt="alt", nests=sim.nests)
    start = m.start_params()
    r = m.fit()
    assert r.converged and r.n_iter <= 5
    assert np.all(start[-2:] < 0.95)  # the nesting is already found on the subsample
    se_subsample = np.sqrt(12) * r.bse.to_numpy()
    assert np.all(np.abs(start - r.params.to_numpy()) < 3 * se_subsample)
