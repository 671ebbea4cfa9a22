r"""Two-level nested logit: log-probabilities and per-situation scores, in log space.

Shapes: N situations, J alternatives, K coefficients, M nests. Alternative j belongs to
nest ``nest_of[j]``; nest m has the inclusive-value (dissimilarity) parameter
:math:`\lambda_m > 0`. With :math:`U_j = V_j / \lambda_{k(j)}`, the log-sum of nest k
:math:`I_k = \log \sum_{i \in k,\ \text{avail}} e^{U_i}` and the top-normalised form

.. math::
    \log P_j = \underbrace{U_j - I_k}_{\log q_{j|k}}
             + \underbrace{\lambda_k I_k - \log \sum_m e^{\lambda_m I_m}}_{\log Q_k},

every quantity is a difference of log-sums, finite for utilities in the thousands and for
:math:`\lambda` near 0. No validation here: the model checks its inputs.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["nested_log_probabilities", "nested_loglike_derivatives", "nested_scores"]


def _logsumexp(A: np.ndarray, axis: int) -> np.ndarray:
    """:math:`\\log \\sum e^{A}` along ``axis`` (removed); ``-inf`` where every entry is ``-inf``."""
    m = np.max(A, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(A - m), axis=axis))


def _nest_logs(V, lam, avail, nest_of, n_nests):
    """``(log q (N, J), log Q (N, M))``: within-nest and nest log-probabilities
    (``-inf`` for unavailable alternatives and nests with none available)."""
    U = np.where(avail, V / lam[nest_of], -np.inf)
    inclusive = np.stack([_logsumexp(U[:, nest_of == m], axis=1) for m in range(n_nests)], axis=1)
    with np.errstate(invalid="ignore"):
        logq = np.where(avail, U - inclusive[:, nest_of], -np.inf)
    top = lam * inclusive  # -inf for nests without an available alternative
    logQ = top - _logsumexp(top, axis=1)[:, None]
    return logq, logQ


def nested_log_probabilities(
    V: np.ndarray, lam: np.ndarray, avail: np.ndarray, nest_of: np.ndarray
) -> np.ndarray:
    r"""(N, J) log choice probabilities :math:`\log q_{j|k} + \log Q_k` (``-inf`` if unavailable).

    V (N, J) utilities, lam (M,) positive nest parameters, avail (N, J) bool, nest_of (J,)
    the nest index of each alternative.
    """
    logq, logQ = _nest_logs(V, lam, avail, nest_of, len(lam))
    return logq + logQ[:, nest_of]


def nested_scores(
    beta: np.ndarray,
    lam: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    nest_of: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Log-likelihood (N,) and its scores in :math:`\beta` (N, K) and :math:`\lambda` (N, M).

    With :math:`\bar x_m = \sum_{i \in m} q_{i|m} x_i`, the entropy
    :math:`H_m = -\sum_{i \in m} q_{i|m} \log q_{i|m}` and c in nest k,

    .. math::
        \frac{\partial \log P_c}{\partial \beta} = \frac{x_c}{\lambda_k}
            + \Big(1 - \frac{1}{\lambda_k}\Big)\bar x_k - \sum_j P_j x_j, \qquad
        \frac{\partial \log P_c}{\partial \lambda_m} = [m = k]\Big(H_k\big(1 - \tfrac{1}{\lambda_k}\big)
            - \frac{\log q_{c|k}}{\lambda_k}\Big) - Q_m H_m

    (:math:`\partial(\lambda_m I_m)/\partial\lambda_m = H_m`).
    """
    n, n_alts, _ = X.shape
    n_nests = len(lam)
    logq, logQ = _nest_logs(X @ beta, lam, avail, nest_of, n_nests)
    rows = np.arange(n)
    k = nest_of[chosen]
    lk = lam[k]
    loglike = logq[rows, chosen] + logQ[rows, k]
    q = np.exp(logq)
    Q = np.exp(logQ)
    P = q * Q[:, nest_of]
    q_logq = np.where(avail, q * np.where(avail, logq, 0.0), 0.0)
    entropy = np.stack([-q_logq[:, nest_of == m].sum(axis=1) for m in range(n_nests)], axis=1)
    xbar_chosen = np.zeros((n, X.shape[2]))
    for m in range(n_nests):
        in_m = nest_of == m
        at = k == m
        xbar_chosen[at] = np.einsum("nj,njk->nk", q[at][:, in_m], X[at][:, in_m])
    score_beta = (X[rows, chosen] / lk[:, None] + (1.0 - 1.0 / lk)[:, None] * xbar_chosen
                  - np.einsum("nj,njk->nk", P, X))
    score_lam = -Q * entropy
    score_lam[rows, k] += entropy[rows, k] * (1.0 - 1.0 / lk) - logq[rows, chosen] / lk
    return loglike, score_beta, score_lam


# ---- log-likelihood, gradient and Hessian in one pass ------------------------------------
#: Up to this many elements of X (N J K) the sums are computed by vectorised numpy
#: (:func:`_numpy_sums`), beyond it by the compiled pass (:func:`_fused_block_sums`) on
#: threads; see :data:`choicemodels.kernels.logit.NUMPY_MAX_SIZE` for the reasons (a small fit
#: never imports numba nor compiles).
NUMPY_MAX_SIZE = 1 << 15


def _numpy_sums(beta, lam, X, chosen, avail, weights, nest_of, order):
    """The sums of :func:`nested_loglike_derivatives` by vectorised numpy (temporaries of
    the size of X: meant for small problems)."""
    N, J, K = X.shape
    M = len(lam)
    rows = np.arange(N)
    w = np.ones(N) if weights is None else weights
    if not avail.all():
        X = np.where(avail[:, :, None], X, 0.0)
    E = (nest_of[:, None] == np.arange(M)).astype(float)  # (J, M) membership
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        logq, logQ = _nest_logs(X @ beta, lam, avail, nest_of, M)
        k = nest_of[chosen]
        lq_c = logq[rows, chosen]
        ll = float(w @ (lq_c + logQ[rows, k]))
        if order == 0:
            return ll, None, None
        q = np.exp(logq)
        Q = np.exp(logQ)
        lq0 = np.where(avail, logq, 0.0)
        xbar = np.einsum("njk,jm->nmk", q[:, :, None] * X, E)  # (N, M, K)
        ent = -(q * lq0) @ E  # (N, M) entropies H_m
        xt = np.einsum("nm,nmk->nk", Q, xbar)  # sum_j P_j x_j
        a = 1.0 / lam[k]
        s_beta = X[rows, chosen] * a[:, None] + (1.0 - a)[:, None] * xbar[rows, k] - xt
        s_lam = -Q * ent
        s_lam[rows, k] += ent[rows, k] * (1.0 - a) - lq_c * a
        grad = np.concatenate([w @ s_beta, w @ s_lam])
        if order == 1:
            return ll, grad, None
        D = X - xbar[:, nest_of, :]  # (N, J, K) x_j - xbar_m(j)
        in_k = nest_of[None, :] == k[:, None]
        c = w[:, None] * (in_k * q * (a - a * a)[:, None] - q * Q[:, nest_of] / lam[nest_of])
        H_bb = (D * c[:, :, None]).reshape(-1, K).T @ D.reshape(-1, K)
        e = xbar - xt[:, None, :]  # (N, M, K)
        H_bb -= (e * (w[:, None] * Q)[:, :, None]).reshape(-1, K).T @ e.reshape(-1, K)
        C = np.einsum("njk,jm->nmk", (q * lq0)[:, :, None] * D, E)  # (N, M, K)
        var = (q * lq0 * lq0) @ E - ent * ent  # (N, M) variances of log q within nests
        wQ = w[:, None] * Q
        H_bl = np.einsum("nm,nmk->km", wQ / lam, C) - np.einsum("nm,nmk->km", wQ * ent, e)
        own = (xbar[rows, k] - X[rows, chosen]) * (a * a)[:, None] + C[rows, k] * (a * a - a)[:, None]
        onehot = E[chosen]  # (N, M) the chosen alternative's nest
        H_bl += (w[:, None] * own).T @ onehot
        QH = Q * ent
        H_ll = (w[:, None] * QH).T @ QH
        H_ll += np.diag(w @ (-Q * var / lam - Q * ent * ent))
        own_l = 2.0 * (lq_c + ent[rows, k]) * a * a + var[rows, k] * (a - a * a)
        H_ll += np.diag((w * own_l) @ onehot)
    hess = np.block([[H_bb, H_bl], [H_bl.T, H_ll]])
    return ll, grad, (hess + hess.T) / 2


def _fused_block_sums(beta, lam, X, chosen, avail, weights, nest_of, order, block, lo, hi,
                      ll, grad, hess):
    """Compiled by :func:`_compiled_block_sums`: per-block sums over situations lo..hi-1.

    Block b covers situations ``b * block`` to ``(b + 1) * block`` (clipped to ``N``);
    blocks ``lo // block`` to ``(hi - 1) // block`` are written to ``ll[b]``, ``grad[b]``
    (K + M,) and the lower triangle of ``hess[b]`` (K + M, K + M), for ``order`` 0, 1, 2
    (log-likelihood, + gradient, + Hessian). ``weights`` of length 0 means unit weights.
    One situation at a time, the formulas of :func:`nested_loglike_derivatives`;
    unavailable alternatives are skipped (their X may hold anything).
    """
    N, J, K = X.shape
    M = lam.shape[0]
    P = K + M
    V = np.empty(J)
    lq = np.empty(J)
    q = np.empty(J)
    mx = np.empty(M)
    S = np.empty(M)
    T = np.empty(M)
    Q = np.empty(M)
    ent = np.empty(M)
    sq = np.empty(M)
    xbar = np.empty((M, K))
    C = np.empty((M, K))
    xt = np.empty(K)
    D = np.empty(K)
    G = np.empty(P)
    Hs = np.empty((P, P))
    weighted = weights.shape[0] > 0
    for b in range(lo // block, (hi - 1) // block + 1):
        first, last = max(lo, b * block), min(hi, (b + 1) * block)
        ll_b = 0.0
        G[:] = 0.0
        Hs[:] = 0.0
        for i in range(first, last):
            w = weights[i] if weighted else 1.0
            # U_j = V_j / lambda_m, the nests' log-sums I_m (in T), the top log-sum
            mx[:] = -np.inf
            for j in range(J):
                if avail[i, j]:
                    v = 0.0
                    for r in range(K):
                        v += X[i, j, r] * beta[r]
                    m = nest_of[j]
                    v /= lam[m]
                    V[j] = v
                    mx[m] = max(mx[m], v)
            S[:] = 0.0
            for j in range(J):
                if avail[i, j]:
                    m = nest_of[j]
                    S[m] += np.exp(V[j] - mx[m])
            tmax = -np.inf
            for m in range(M):
                if S[m] > 0.0:
                    S[m] = mx[m] + np.log(S[m])  # I_m
                    T[m] = lam[m] * S[m]
                    tmax = max(tmax, T[m])
                else:
                    T[m] = -np.inf
            top = 0.0
            for m in range(M):
                if T[m] > -np.inf:
                    top += np.exp(T[m] - tmax)
            top = tmax + np.log(top)
            for m in range(M):
                Q[m] = np.exp(T[m] - top) if T[m] > -np.inf else 0.0
            c = chosen[i]
            k = nest_of[c]
            lq_c = V[c] - S[k]
            ll_b += w * (lq_c + T[k] - top)
            if order == 0:
                continue
            # within-nest probabilities, mean attributes, entropies
            xbar[:, :] = 0.0
            ent[:] = 0.0
            sq[:] = 0.0
            for j in range(J):
                if avail[i, j]:
                    m = nest_of[j]
                    d = V[j] - S[m]
                    e = np.exp(d)
                    lq[j] = d
                    q[j] = e
                    for r in range(K):
                        xbar[m, r] += e * X[i, j, r]
                    ent[m] -= e * d
                    sq[m] += e * d * d
            for r in range(K):
                t = 0.0
                for m in range(M):
                    t += Q[m] * xbar[m, r]
                xt[r] = t
            a = 1.0 / lam[k]
            for r in range(K):
                G[r] += w * (X[i, c, r] * a + (1.0 - a) * xbar[k, r] - xt[r])
            for m in range(M):
                G[K + m] -= w * Q[m] * ent[m]
            G[K + k] += w * (ent[k] * (1.0 - a) - lq_c * a)
            if order == 1:
                continue
            # beta-beta: sum_j c_j (x_j - xbar_m)(x_j - xbar_m)'; C_m = sum_j q_j log q_j (x_j - xbar_m)
            C[:, :] = 0.0
            for j in range(J):
                if avail[i, j]:
                    m = nest_of[j]
                    cj = -q[j] * Q[m] / lam[m]
                    if m == k:
                        cj += q[j] * (a - a * a)
                    cj *= w
                    ql = q[j] * lq[j]
                    for r in range(K):
                        D[r] = X[i, j, r] - xbar[m, r]
                        C[m, r] += ql * D[r]
                    for r in range(K):
                        f = cj * D[r]
                        for s in range(r + 1):
                            Hs[r, s] += f * D[s]
            for m in range(M):
                if Q[m] > 0.0:
                    wq = w * Q[m]
                    for r in range(K):
                        D[r] = xbar[m, r] - xt[r]
                    for r in range(K):
                        f = wq * D[r]
                        for s in range(r + 1):
                            Hs[r, s] -= f * D[s]
                    # lambda_m - beta
                    f1 = wq / lam[m]
                    f2 = wq * ent[m]
                    for r in range(K):
                        Hs[K + m, r] += f1 * C[m, r] - f2 * D[r]
            aa = a * a
            for r in range(K):
                Hs[K + k, r] += w * ((xbar[k, r] - X[i, c, r]) * aa + C[k, r] * (aa - a))
            # lambda - lambda
            for m in range(M):
                var = sq[m] - ent[m] * ent[m]
                qh = Q[m] * ent[m]
                for n in range(m):
                    Hs[K + m, K + n] += w * qh * Q[n] * ent[n]
                Hs[K + m, K + m] += w * (qh * qh - Q[m] * var / lam[m] - qh * ent[m])
                if m == k:
                    Hs[K + m, K + m] += w * (2.0 * (lq_c + ent[k]) * aa + var * (a - aa))
        ll[b] = ll_b
        if order >= 1:
            for r in range(P):
                grad[b, r] = G[r]
        if order == 2:
            for r in range(P):
                for s in range(r + 1):
                    hess[b, r, s] = Hs[r, s]


@functools.cache
def _compiled_block_sums():
    """:func:`_fused_block_sums` compiled by numba (once per process, cached on disk where
    :mod:`~choicemodels.kernels.jit` can); serial and ``nogil``, run on the logit kernel's
    threads."""
    from choicemodels.kernels.jit import njit

    return njit(nogil=True, fastmath=False, error_model="numpy")(_fused_block_sums)


def nested_loglike_derivatives(
    beta: np.ndarray,
    lam: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    nest_of: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    order: int = 2,
    threads: int | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    r"""Weighted log-likelihood, gradient (K + M,) and Hessian (K + M, K + M) in
    :math:`(\beta, \lambda)`, in one pass over X.

    With :math:`U_j = x_j'\beta / \lambda_{m(j)}`, :math:`I_m` the log-sum of nest m,
    :math:`\log q_j = U_j - I_{m(j)}`, :math:`T_m = \lambda_m I_m`,
    :math:`Q_m = e^{T_m} / \sum_n e^{T_n}` and c (in nest k) the chosen alternative,
    :math:`\log P_c = (U_c - I_k) + T_k - \log\sum_m e^{T_m}`. Write, per nest,
    :math:`\bar x_m = \sum_{j \in m} q_j x_j`, the entropy
    :math:`H_m = -\sum_{j \in m} q_j \log q_j`, :math:`\tilde x = \sum_m Q_m \bar x_m`,
    :math:`d_j = x_j - \bar x_{m(j)}`, :math:`C_m = \sum_{j \in m} q_j \log q_j\, d_j` and
    :math:`\sigma^2_m = \sum_{j \in m} q_j (\log q_j)^2 - H_m^2`, and :math:`a = 1/\lambda_k`.
    The nest's top term is the perspective of a log-sum-exp,
    :math:`T_m = \lambda_m \log \sum_{j \in m} e^{x_j'\beta/\lambda_m}`, so
    :math:`\nabla T_m = (\bar x_m, H_m)` and
    :math:`\nabla^2 T_m = \operatorname{Cov}_{q}(x_j, -U_j) / \lambda_m` over
    :math:`(\beta, \lambda_m)`; with :math:`\nabla^2 \log\sum e^{T} = \sum_m Q_m \nabla^2 T_m
    + \operatorname{Cov}_Q(\nabla T_m)` and the same rule for :math:`I_k`,

    .. math::
        g_\beta = a x_c + (1 - a)\bar x_k - \tilde x, \qquad
        g_{\lambda_m} = [m = k]\big((1 - a) H_k - a \log q_c\big) - Q_m H_m,

        H_{\beta\beta} = \sum_j \big([m(j) = k](a - a^2) - Q_{m(j)} / \lambda_{m(j)}\big)
            q_j d_j d_j' - \sum_m Q_m (\bar x_m - \tilde x)(\bar x_m - \tilde x)',

        H_{\beta\lambda_m} = \frac{Q_m}{\lambda_m} C_m - Q_m H_m (\bar x_m - \tilde x)
            + [m = k]\big(a^2 (\bar x_k - x_c) + (a^2 - a) C_k\big),

        H_{\lambda_m\lambda_n} = Q_m H_m Q_n H_n - [m = n]\Big(\frac{Q_m \sigma^2_m}{\lambda_m}
            + Q_m H_m^2\Big) + [m = n = k]\big(2a^2(\log q_c + H_k) + (a - a^2)\sigma^2_k\big),

    each summed over situations with their weights. Every term is written with the
    log-probabilities :math:`\log q_j` (differences of log-sums), never with :math:`U_j`
    itself, so the sums stay accurate for utilities in the thousands and :math:`\lambda`
    near 0. At :math:`\lambda = 1` they are the logit's
    (:math:`H_{\beta\beta} = -\sum_j P_j (x_j - \tilde x)(x_j - \tilde x)'`).

    Problems with at most ``NUMPY_MAX_SIZE`` elements of X are summed by vectorised numpy,
    larger ones by a compiled pass (numba) over blocks of situations on threads, one
    situation at a time with (K + M)-sized scratch, and the blocks' sums added in block
    order (the result does not depend on ``threads``).

    Parameters
    ----------
    beta : (K,); lam : (M,) positive; X : (N, J, K); chosen : (N,) int;
    avail : (N, J) bool; nest_of : (J,) int nest of each alternative; weights : (N,) or None.
    order : 0, 1 or 2: log-likelihood only, with the gradient, with the Hessian too.
    threads : threads of the compiled pass (default: available processors, at most 4).

    Returns
    -------
    ll : float.
    grad : (K + M,) or ``None`` (order 0).
    hess : (K + M, K + M) symmetric, or ``None`` (order < 2).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3, 2)); chosen = rng.integers(0, 3, 50)
    >>> avail = np.ones((50, 3), bool); nest_of = np.array([0, 1, 1])
    >>> ll, g, H = nested_loglike_derivatives(np.zeros(2), np.ones(2), X, chosen, avail, nest_of)
    >>> bool(np.isclose(ll, -50 * np.log(3))), H.shape
    (True, (4, 4))
    """
    from choicemodels.kernels.logit import _block_size, _default_threads, _submit

    N, J, K = X.shape
    M = len(lam)
    beta = np.array(beta, dtype=np.float64)
    lam = np.array(lam, dtype=np.float64)
    nest_of = np.ascontiguousarray(nest_of, dtype=np.int64)
    if N * J * K <= NUMPY_MAX_SIZE:
        return _numpy_sums(beta, lam, np.asarray(X, dtype=np.float64), np.asarray(chosen, np.intp),
                           np.asarray(avail, bool), None if weights is None
                           else np.asarray(weights, dtype=np.float64), nest_of, order)
    block = _block_size(N)
    n_blocks = -(-N // block)
    args = (beta, lam, np.ascontiguousarray(X, dtype=np.float64),
            np.ascontiguousarray(chosen, dtype=np.int64), np.ascontiguousarray(avail, dtype=np.bool_),
            np.empty(0) if weights is None else np.ascontiguousarray(weights, dtype=np.float64),
            nest_of, int(order), block)
    ll = np.zeros(n_blocks)
    grad = np.zeros((n_blocks if order >= 1 else 0, K + M))
    hess = np.zeros((n_blocks if order == 2 else 0, K + M, K + M))
    kernel = _compiled_block_sums()
    n_threads = max(1, min(_default_threads() if threads is None else int(threads), n_blocks))
    edges = [min(N, b * block) for b in np.linspace(0, n_blocks, n_threads + 1).astype(int)]
    if n_threads == 1:
        kernel(*args, 0, N, ll, grad, hess)
    else:
        others = _submit(kernel, [(*args, lo, hi, ll, grad, hess)
                                  for lo, hi in zip(edges[1:-1], edges[2:])])
        kernel(*args, edges[0], edges[1], ll, grad, hess)
        for future in others:
            future.result()
    if order == 0:
        return float(ll.sum()), None, None
    if order == 1:
        return float(ll.sum()), grad.sum(axis=0), None
    H = hess.sum(axis=0)
    return float(ll.sum()), grad.sum(axis=0), np.tril(H) + np.tril(H, -1).T
