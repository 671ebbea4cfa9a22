"""Conditional logit kernels against finite differences, statsmodels and direct formulas.

Every test runs twice: with the sums computed by the compiled pass and by numpy (the route
of problems up to ``NUMPY_MAX_SIZE`` elements of X), whatever the test's problem size.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax
import statsmodels.api as sm
from statsmodels.discrete.conditional_models import ConditionalLogit

from choicemodels.kernels import logit as logit_module
from choicemodels.kernels.logit import (
    logit_chunk_sums,
    logit_loglike,
    logit_loglike_derivatives,
    logit_probabilities,
    logit_scores,
)


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def route(request, monkeypatch):
    """Force the compiled pass (threshold -1) or numpy (threshold above any test's X)."""
    monkeypatch.setattr(logit_module, "NUMPY_MAX_SIZE", -1 if request.param == "compiled" else 1 << 40)
    return request.param


def simulate(N=400, J=4, K=3, *, rng=0, unavailable=0.0):
    """Conditional logit data with known beta; a share of non-chosen alternatives unavailable."""
    rng = np.random.default_rng(rng)
    X = rng.normal(size=(N, J, K))
    beta = np.linspace(-1.0, 1.0, K)
    avail = rng.random((N, J)) >= unavailable
    avail[:, 0] = True  # at least one alternative
    U = np.where(avail, X @ beta + rng.gumbel(size=(N, J)), -np.inf)
    chosen = U.argmax(axis=1)
    return X, chosen, avail, beta


def direct_situation_loglikes(beta, X, chosen, avail):
    """log p_{i c_i} situation by situation with scipy's logsumexp (independent of the kernel)."""
    out = []
    for Xi, c, a in zip(X, chosen, avail):
        V = Xi[a] @ beta
        out.append(Xi[c] @ beta - logsumexp(V))
    return np.array(out)


def direct_derivatives(beta, X, chosen, avail, weights):
    """Weighted gradient and Hessian from the textbook formulas, situation by situation:
    g = sum_i w_i X_i'(e_c - p_i), H = -sum_i w_i X_i'(diag p_i - p_i p_i')X_i (scipy softmax)."""
    K = X.shape[2]
    g, H = np.zeros(K), np.zeros((K, K))
    for Xi, c, a, w in zip(X, chosen, avail, weights):
        Xa = Xi[a]
        p = softmax(Xa @ beta)
        g += w * (Xi[c] - p @ Xa)
        H -= w * Xa.T @ (np.diag(p) - np.outer(p, p)) @ Xa
    return g, H


def central_gradient(f, x, h=1e-5):
    g = np.empty_like(x)
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        g[k] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_probabilities_match_softmax_and_zero_for_unavailable():
    X, chosen, avail, beta = simulate(unavailable=0.4, rng=1)
    P = logit_probabilities(beta, X, avail)
    assert not np.isnan(P).any()
    assert np.all(P[~avail] == 0.0)
    for i in range(0, len(X), 37):
        a = avail[i]
        np.testing.assert_allclose(P[i, a], softmax(X[i, a] @ beta), rtol=1e-13)


def test_probabilities_stable_for_huge_utilities():
    X = np.array([[[1000.0], [0.0], [-1000.0]]])
    P = logit_probabilities(np.array([1.0]), X, np.ones((1, 3), bool))
    np.testing.assert_allclose(P, [[1.0, 0.0, 0.0]])


@pytest.mark.filterwarnings("ignore:Dropped:statsmodels.tools.sm_exceptions.ModelWarning")
def test_loglike_equals_statsmodels_conditional_logit():
    X, chosen, avail, _ = simulate(N=300, J=4, K=3, unavailable=0.3, rng=2)
    N, J, K = X.shape
    rows = avail.ravel()
    endog = (np.arange(J)[None, :] == chosen[:, None]).ravel()[rows].astype(float)
    exog = X.reshape(N * J, K)[rows]
    groups = np.repeat(np.arange(N), J)[rows]
    ref = ConditionalLogit(endog, exog, groups=groups)
    for beta in (np.zeros(K), np.array([0.3, -0.7, 1.1])):
        assert logit_loglike(beta, X, chosen, avail) == pytest.approx(
            ref.loglike(beta), rel=1e-6, abs=1e-6
        )
        _, grad, _ = logit_loglike_derivatives(beta, X, chosen, avail, hessian=False)
        np.testing.assert_allclose(grad, ref.score(beta), rtol=1e-6, atol=1e-6)


def test_gradient_and_hessian_match_central_differences():
    X, chosen, avail, beta = simulate(N=200, J=5, K=4, unavailable=0.25, rng=3)
    w = np.random.default_rng(4).uniform(0.2, 3.0, size=len(X))
    b = beta + 0.3
    ll, grad, hess = logit_loglike_derivatives(b, X, chosen, avail, w)
    num_grad = central_gradient(lambda t: logit_loglike(t, X, chosen, avail, w), b)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-6, atol=1e-6)
    num_hess = np.array(
        [
            central_gradient(
                lambda t: logit_loglike_derivatives(t, X, chosen, avail, w, hessian=False)[1][k], b
            )
            for k in range(len(b))
        ]
    )
    np.testing.assert_allclose(hess, num_hess, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hess, hess.T)
    assert np.all(np.linalg.eigvalsh(hess) < 0)


def test_weighted_loglike_is_weighted_sum_of_situation_loglikes():
    X, chosen, avail, beta = simulate(N=250, unavailable=0.3, rng=5)
    w = np.random.default_rng(6).exponential(size=len(X))
    w[::10] = 0.0  # zero weights must simply drop the situation
    expected = w @ direct_situation_loglikes(beta, X, chosen, avail)
    assert logit_loglike(beta, X, chosen, avail, w) == pytest.approx(expected, rel=1e-12)
    ll, _, _ = logit_loglike_derivatives(beta, X, chosen, avail, w)
    assert ll == pytest.approx(expected, rel=1e-12)


def test_integer_weights_equal_replicated_situations():
    X, chosen, avail, beta = simulate(N=120, unavailable=0.2, rng=7)
    w = np.random.default_rng(8).integers(0, 4, size=len(X))
    rep = np.repeat(np.arange(len(X)), w)
    weighted = logit_loglike_derivatives(beta, X, chosen, avail, w.astype(float))
    replicated = logit_loglike_derivatives(beta, X[rep], chosen[rep], avail[rep])
    assert weighted[0] == pytest.approx(replicated[0], rel=1e-12)
    np.testing.assert_allclose(weighted[1], replicated[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(weighted[2], replicated[2], rtol=1e-10, atol=1e-10)


def test_unavailable_alternatives_equal_dropping_them():
    # situations whose alternative 3 is unavailable == the same situations with J = 3
    X, chosen, avail, beta = simulate(N=200, J=4, unavailable=0.0, rng=9)
    keep = chosen != 3
    X, chosen = X[keep], chosen[keep]
    avail = np.ones((len(X), 4), bool)
    avail[:, 3] = False
    dropped = logit_loglike_derivatives(beta, X[:, :3].copy(), chosen, avail[:, :3])
    for garbage in (1e300, np.nan, -np.inf):  # X of an unavailable alternative must not matter
        X_big = X.copy()
        X_big[:, 3] = garbage
        full = logit_loglike_derivatives(beta, X_big, chosen, avail)
        assert np.isfinite(full[0])
        assert full[0] == pytest.approx(dropped[0], rel=1e-13)
        np.testing.assert_allclose(full[1], dropped[1], rtol=1e-12)
        np.testing.assert_allclose(full[2], dropped[2], rtol=1e-12)


def test_exponential_is_exact_to_rounding_over_its_whole_range():
    # J = 2, x = (0, d), beta = 1, alternative 0 chosen: the gradient is -d e^d / (1 + e^d)
    # and the Hessian -d^2 e^d / (1 + e^d)^2, with utility differences d from 0 down to -750;
    # the compiled exponential flushes e^d to 0 below d = -708 (where it is below 3.3e-308)
    d = np.concatenate([-np.geomspace(1e-12, 707.9, 1500), [0.0, -708.0, -708.5, -745.0, -750.0]])
    grads, hessians = [], []
    for di in d:
        X = np.array([[[0.0], [di]]])
        _, g, H = logit_chunk_sums(np.ones(1), X, np.zeros(1, np.int64), np.ones((1, 2), bool))
        grads.append(g[0])
        hessians.append(H[0, 0])
    p = expit(d)  # e^d / (1 + e^d), accurate in double precision
    kept = d >= -708.0
    np.testing.assert_allclose(np.array(grads)[kept], -d[kept] * p[kept], rtol=2e-15, atol=0)
    np.testing.assert_allclose(np.array(hessians)[kept], -d[kept] ** 2 * p[kept] * (1 - p[kept]),
                               rtol=4e-15, atol=0)
    assert np.all(np.array(grads)[~kept] == 0.0) and np.all(np.array(hessians)[~kept] == 0.0)


def test_scores_are_per_situation_gradients():
    X, chosen, avail, beta = simulate(N=30, J=3, K=2, unavailable=0.2, rng=10)
    S = logit_scores(beta, X, chosen, avail)
    for i in range(0, 30, 7):
        sl = slice(i, i + 1)
        num = central_gradient(lambda t: logit_loglike(t, X[sl], chosen[sl], avail[sl]), beta)
        np.testing.assert_allclose(S[i], num, rtol=1e-6, atol=1e-8)


def test_chunking_does_not_change_the_sums():
    X, chosen, avail, beta = simulate(N=1003, unavailable=0.2, rng=11)
    w = np.random.default_rng(12).uniform(size=len(X))
    one = logit_loglike_derivatives(beta, X, chosen, avail, w, chunk_size=len(X), threads=1)
    single = logit_loglike_derivatives(beta, X, chosen, avail, w, chunk_size=17, threads=1)
    for threads in (1, 3):
        many = logit_loglike_derivatives(beta, X, chosen, avail, w, chunk_size=17, threads=threads)
        assert many[0] == pytest.approx(one[0], rel=1e-12)
        np.testing.assert_allclose(many[1], one[1], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(many[2], one[2], rtol=1e-10, atol=1e-10)
        # per-block sums added in block order: the thread count does not change a bit
        assert many[0] == single[0]
        np.testing.assert_array_equal(many[1], single[1])
        np.testing.assert_array_equal(many[2], single[2])
    assert logit_loglike(beta, X, chosen, avail, w, chunk_size=5) == pytest.approx(one[0])


def test_derivatives_equal_textbook_formulas_with_weights_and_unavailable():
    X, chosen, avail, beta = simulate(N=150, J=6, K=4, unavailable=0.4, rng=13)
    w = np.random.default_rng(14).uniform(0.0, 2.0, size=len(X))
    ll, grad, hess = logit_loglike_derivatives(beta, X, chosen, avail, w)
    g_ref, H_ref = direct_derivatives(beta, X, chosen, avail, w)
    assert ll == pytest.approx(w @ direct_situation_loglikes(beta, X, chosen, avail), rel=1e-12)
    np.testing.assert_allclose(grad, g_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(hess, H_ref, rtol=1e-10, atol=1e-10)


def test_two_alternatives_equal_statsmodels_binary_logit():
    # J = 2: P(choose 1) = Lambda((x_1 - x_0)' beta), a binary logit on the differences
    X, chosen, avail, _ = simulate(N=500, J=2, K=3, rng=15)
    ref = sm.Logit((chosen == 1).astype(float), X[:, 1] - X[:, 0])
    beta = np.array([0.4, -0.2, 0.9])
    ll, grad, hess = logit_loglike_derivatives(beta, X, chosen, avail)
    assert ll == pytest.approx(ref.loglike(beta), rel=1e-12)
    np.testing.assert_allclose(grad, ref.score(beta), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(hess, ref.hessian(beta), rtol=1e-10, atol=1e-10)


def test_utilities_in_the_thousands_stay_finite_and_exact():
    X, chosen, avail, beta = simulate(N=100, J=4, K=2, unavailable=0.2, rng=16)
    X = X * 1e3  # utilities of order 1e3: exp without the max shift overflows
    ll, grad, hess = logit_loglike_derivatives(beta, X, chosen, avail)
    assert np.isfinite(ll) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
    assert ll == pytest.approx(direct_situation_loglikes(beta, X, chosen, avail).sum(), rel=1e-12)
    g_ref, H_ref = direct_derivatives(beta, X, chosen, avail, np.ones(len(X)))
    np.testing.assert_allclose(grad, g_ref, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(hess, H_ref, rtol=1e-9, atol=1e-6)


def test_chunk_sums_add_up_to_the_whole():
    X, chosen, avail, beta = simulate(N=301, J=3, K=2, unavailable=0.2, rng=17)
    w = np.random.default_rng(18).uniform(size=len(X))
    parts = [logit_chunk_sums(beta, X[sl], chosen[sl], avail[sl], w[sl])
             for sl in (slice(0, 100), slice(100, 250), slice(250, None))]
    g_ref, H_ref = direct_derivatives(beta, X, chosen, avail, w)
    assert sum(p[0] for p in parts) == pytest.approx(
        w @ direct_situation_loglikes(beta, X, chosen, avail), rel=1e-12)
    np.testing.assert_allclose(sum(p[1] for p in parts), g_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sum(p[2] for p in parts), H_ref, rtol=1e-10, atol=1e-10)
    ll, grad, hess = logit_chunk_sums(beta, X, chosen, avail, w, hessian=False)
    assert hess is None
    np.testing.assert_allclose(grad, g_ref, rtol=1e-10, atol=1e-10)
    ll, grad, hess = logit_chunk_sums(beta, X, chosen, avail, w, gradient=False, hessian=False)
    assert grad is None and hess is None


def test_safe_from_concurrent_threads_and_forked_processes():
    # the compiled pass runs on plain threads: callers may use threads and fork freely
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    X, chosen, avail, beta = simulate(N=2000, J=4, K=3, unavailable=0.2, rng=19)
    expected = direct_situation_loglikes(beta, X, chosen, avail).sum()
    args = [(beta + 0.0, X, chosen, avail)] * 6
    with ThreadPoolExecutor(3) as pool:
        for ll in pool.map(lambda a: logit_loglike(*a, chunk_size=64, threads=2), args):
            assert ll == pytest.approx(expected, rel=1e-12)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        for ll in pool.map(logit_loglike, *zip(*args[:2])):
            assert ll == pytest.approx(expected, rel=1e-12)


def test_derivatives_exact_against_50_digit_arithmetic_at_utilities_in_the_hundreds():
    # the uncentred textbook Hessian X'(diag p - p p')X loses up to 4 digits here (probabilities
    # near 0 and 1); the kernel's centred sums agree with 50-digit arithmetic to 1e-13
    rng = np.random.default_rng(3)
    N, J, K = 30, 3, 4
    X = rng.normal(size=(N, J, K)) * 125.0
    beta = rng.normal(size=K)
    avail = rng.random((N, J)) > 0.2
    chosen = rng.integers(0, J, N)
    avail[np.arange(N), chosen] = True
    w = rng.uniform(0.5, 2.0, N)
    ll, grad, hess = logit_loglike_derivatives(beta, X, chosen, avail, w)
    with mpmath.workdps(50):
        ll_x, g_x, H_x = _derivatives_in_mpmath(beta, X, chosen, avail, w)
    assert ll == pytest.approx(ll_x, rel=1e-14)
    np.testing.assert_allclose(grad, g_x, rtol=0, atol=1e-13 * np.abs(g_x).max())
    np.testing.assert_allclose(hess, H_x, rtol=0, atol=1e-13 * np.abs(H_x).max())
    _, H_textbook = direct_derivatives(beta, X, chosen, avail, w)
    assert np.abs(H_textbook - H_x).max() > 1e-11 * np.abs(H_x).max()  # the case is a hard one


def _derivatives_in_mpmath(beta, X, chosen, avail, w):
    """ll, gradient and centred Hessian in mpmath at its current precision, as floats."""
    N, _, K = X.shape
    ll_x, g_x = mpmath.mpf(0), [mpmath.mpf(0)] * K
    H_x = [[mpmath.mpf(0)] * K for _ in range(K)]
    for i in range(N):
        rows = [[mpmath.mpf(v) for v in X[i, j]] for j in np.flatnonzero(avail[i])]
        c = int(np.flatnonzero(np.flatnonzero(avail[i]) == chosen[i])[0])
        V = [mpmath.fsum(x * mpmath.mpf(b) for x, b in zip(row, beta)) for row in rows]
        log_s = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in V))
        p = [mpmath.exp(v - log_s) for v in V]
        xbar = [mpmath.fsum(pj * row[k] for pj, row in zip(p, rows)) for k in range(K)]
        ll_x += w[i] * (V[c] - log_s)
        g_x = [g_x[k] + w[i] * (rows[c][k] - xbar[k]) for k in range(K)]
        for pj, row in zip(p, rows):
            d = [row[k] - xbar[k] for k in range(K)]
            for k in range(K):
                for l in range(K):
                    H_x[k][l] -= w[i] * pj * d[k] * d[l]
    return float(ll_x), np.array([float(v) for v in g_x]), np.array([[float(v) for v in row] for row in H_x])
