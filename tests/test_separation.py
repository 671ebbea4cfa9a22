"""Separation detection on constructed data whose MLE existence is known."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm

from choicemodels.kernels.logit import logit_loglike_derivatives
from choicemodels.models.optimize import newton_maximize
from choicemodels.models.separation import divergence_suspected, find_separation


def newton_fit(X, chosen, avail):
    return newton_maximize(
        lambda b: logit_loglike_derivatives(b, X, chosen, avail), np.zeros(X.shape[2])
    )


def logit_data(N=1500, J=4, K=3, *, rng=0):
    rng = np.random.default_rng(rng)
    X = rng.normal(size=(N, J, K))
    beta = np.array([1.0, -0.5, 0.3])[:K]
    chosen = (X @ beta + rng.gumbel(size=(N, J))).argmax(axis=1)
    return X, chosen, np.ones((N, J), bool)


def binary(z, y):
    """J = 2 conditional logit with alternative 1 carrying the covariates z (n, K): the binary
    logit P(y = 1) = Lambda(z' beta)."""
    N, K = z.shape
    X = np.zeros((N, 2, K))
    X[:, 1] = z
    return X, y.astype(np.int64), np.ones((N, 2), bool)


def test_no_separation_in_logit_data():
    X, chosen, avail = logit_data()
    assert find_separation(X, chosen, avail, ["a", "b", "c"]) == ()
    assert not divergence_suspected(newton_fit(X, chosen, avail))


def test_complete_separation_all_coefficients():
    # choices made by utilities without noise: d = beta separates every situation strictly
    X, _, avail = logit_data(rng=1)
    chosen = (X @ np.array([1.0, -0.5, 0.3])).argmax(axis=1)
    assert find_separation(X, chosen, avail, ["a", "b", "c"]) == ("a", "b", "c")
    out = newton_fit(X, chosen, avail)
    assert divergence_suspected(out)
    assert np.linalg.norm(out.x) > 100  # the estimates run away


def test_quasi_complete_separation_names_the_dummy():
    # a dummy switched on for alternative 0 in 20% of situations, which then always choose 0
    X, chosen, avail = logit_data(rng=2)
    rng = np.random.default_rng(3)
    on = rng.random(len(X)) < 0.2
    X = np.concatenate([X, np.zeros((len(X), X.shape[1], 1))], axis=2)
    X[on, 0, 3] = 1.0
    chosen = np.where(on, 0, chosen)
    assert find_separation(X, chosen, avail, ["a", "b", "c", "dummy"]) == ("dummy",)
    out = newton_fit(X, chosen, avail)
    assert divergence_suspected(out)
    assert out.x[3] > 10


def test_unavailable_alternatives_can_create_separation():
    # the dummy would not separate if alternative 0 were always available; it is unavailable
    # exactly when the dummy's situations would have chosen elsewhere
    X, chosen, avail = logit_data(rng=4)
    X = np.concatenate([X, np.zeros((len(X), X.shape[1], 1))], axis=2)
    X[:, 0, 3] = 1.0
    avail = avail.copy()
    avail[chosen != 0, 0] = False
    names = ["a", "b", "c", "asc0"]
    assert find_separation(X, chosen, avail, names) == ("asc0",)
    avail[:] = True
    assert find_separation(X, chosen, avail, names) == ()


def test_binary_complete_separation_agrees_with_statsmodels():
    # J = 2: y = 1 exactly when z1 > 0 is complete separation (Albert & Anderson 1984);
    # statsmodels' binary logit fails to converge, its z1 coefficient diverging
    rng = np.random.default_rng(5)
    z = np.column_stack([rng.normal(size=300), rng.normal(size=300)])
    y = (z[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.Logit(y, z).fit(disp=False, maxiter=100)
    assert not res.mle_retvals["converged"] and abs(res.params[0]) > 100  # runs away
    assert find_separation(*binary(z, y), ["z1", "z2"]) != ()
    assert "z1" in find_separation(*binary(z, y), ["z1", "z2"])


def test_binary_quasi_complete_separation_zero_cell():
    # intercept + dummy; dummy = 1 always has y = 1 (a zero cell): the dummy's coefficient
    # diverges to +inf while the intercept has a finite MLE (quasi-complete separation)
    rng = np.random.default_rng(6)
    dummy = (rng.random(400) < 0.3).astype(float)
    y = np.where(dummy == 1, 1, rng.random(400) < 0.4).astype(int)
    z = np.column_stack([np.ones(400), dummy])
    assert find_separation(*binary(z, y), ["const", "dummy"]) == ("dummy",)
    # ties at the boundary: y = 1 iff x > 0, and at x = 0 both outcomes occur
    x = np.concatenate([rng.normal(size=200), np.zeros(40)])
    y = np.concatenate([(x[:200] > 0), np.arange(40) % 2 == 0]).astype(int)
    assert find_separation(*binary(x[:, None], y), ["x"]) == ("x",)


def test_binary_overlap_has_no_separation():
    # overlapping classes: the binary logit MLE exists (statsmodels converges to finite values)
    rng = np.random.default_rng(7)
    z = np.column_stack([np.ones(300), rng.normal(size=300)])
    y = (rng.random(300) < 1 / (1 + np.exp(-(0.2 + z[:, 1])))).astype(int)
    res = sm.Logit(y, z).fit(disp=False)
    assert res.mle_retvals["converged"]
    assert find_separation(*binary(z, y), ["const", "x"]) == ()
    out = newton_fit(*binary(z, y))
    np.testing.assert_allclose(out.x, res.params, rtol=1e-5)
    assert not divergence_suspected(out)


def test_large_data_subset_shortcut_is_exact_for_late_separation():
    # separation carried by a dummy present only in the last situations: the first subsets
    # must escalate rather than stop
    X, chosen, avail = logit_data(N=2400, J=3, rng=8)
    X = np.concatenate([X, np.zeros((len(X), X.shape[1], 1))], axis=2)
    X[-30:, 1, 3] = 1.0
    chosen[-30:] = 1
    assert find_separation(X, chosen, avail, ["a", "b", "c", "d"]) == ("d",)
