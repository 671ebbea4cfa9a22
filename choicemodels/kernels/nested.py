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

from choicemodels.kernels.logit import (
    _EXP_FLOOR,
    _EXP_P,
    _EXP_Q,
    _LN2_HI,
    _LN2_LO,
    _LOG2E,
    _ROUND,
    _ROUND_BITS,
)

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
    if not avail.all():  # the attributes of unavailable alternatives may hold anything
        X = np.where(avail[:, :, None], X, 0.0)
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

#: log(x) for x > 0 in vectorisable arithmetic (Cephes' ``log``): x = 2^e (1 + f) with
#: sqrt(1/2) <= 1 + f < sqrt(2), log(1 + f) = f - f^2/2 + f^3 P(f)/Q(f) (Q monic) and e log 2
#: as ``_LOG_C1 - _LOG_C2``.
_LOG_P = (1.01875663804580931796e-4, 4.97494994976747001425e-1, 4.70579119878881725854e0,
          1.44989225341610930846e1, 1.79368678507819816313e1, 7.70838733755885391666e0)
_LOG_Q = (1.12873587189167450590e1, 4.52279145837532221105e1, 8.29875266912776603211e1,
          7.11544750618563894466e1, 2.31251620126765340583e1)
_LOG_C1, _LOG_C2 = 0.693359375, 2.121944400546905827679e-4
_SQRT2 = 1.4142135623730951
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52


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


def _fused_block_sums(beta, lam, X, chosen, avail, weights, nest_of, order, block, lanes, lo, hi,
                      ll, grad, hess):
    """Compiled by :func:`_compiled_block_sums`: per-block sums over situations lo..hi-1.

    Block b covers situations ``b * block`` to ``(b + 1) * block`` (clipped to ``N``);
    blocks ``lo // block`` to ``(hi - 1) // block`` are written to ``ll[b]``, ``grad[b]``
    (K + M,) and the lower triangle of ``hess[b]`` (K + M, K + M), for ``order`` 0, 1, 2
    (log-likelihood, + gradient, + Hessian). ``weights`` of length 0 means unit weights.

    The formulas of :func:`nested_loglike_derivatives`, for ``lanes`` situations side by
    side as in the logit's compiled pass (:mod:`choicemodels.kernels.logit`): their (J, K)
    slices of X are copied into a lane-major scratch ``T[j, k, lane]`` (zeros for
    unavailable alternatives, whose X may hold anything; padding lanes are one available,
    chosen alternative of weight 0), so that every step is a loop over independent lanes
    that compiles to vector code, the exponential of the alternatives included (the logit
    kernel's rational approximation). The nest structure is the same in every lane; the
    chosen alternative's nest enters through the indicator ``IND[m, lane]``.
    """
    N, J, K = X.shape
    M = lam.shape[0]
    L = lanes
    X2 = X.reshape(N, J * K)
    pad = 8  # scratch padded by a cache line on each side (no false sharing between threads)

    def scratch(n, dtype=np.float64):
        return np.zeros(n + 2 * pad, dtype)[pad:pad + n]

    T = scratch(J * K * L)  # attributes
    A = scratch(J * L)  # 1.0 available, 0.0 not
    U = scratch(J * L)  # V_j / lambda_m (-inf where unavailable), then log q_j (0 there)
    E = scratch(J * L)  # U - max, then e^{U - max}, then q_j
    QL = scratch(J * L)  # q_j log q_j
    Z = scratch(max(J, M) * L)  # the exponential's 2^n
    Zbits = Z.view(np.int64)
    Y = scratch(M * L)  # the logarithm's mantissa
    Ybits = Y.view(np.int64)
    YE = scratch(M * L)  # the logarithm's exponent
    YEbits = YE.view(np.int64)
    MX = scratch(M * L)  # the nests' maxima, then I_m
    S = scratch(M * L)  # the nests' sums of e^{U - max}, then their logarithms
    SI = scratch(M * L)  # the sums' inverses
    TT = scratch(M * L)  # T_m = lambda_m I_m, then Q_m
    EQ = scratch(M * L)  # T_m - max_n T_n, then its exponential
    IND = scratch(M * L)  # 1.0 in the chosen alternative's nest
    CM = scratch(M * L)  # the coefficient of q_j d_j d_j' in nest m, weighted
    ENT = scratch(M * L)
    SQ = scratch(M * L)
    XB = scratch(M * K * L)
    CC = scratch(M * K * L)
    XT = scratch(K * L)
    XC = scratch(K * L)
    DD = scratch(K * L)
    XC2 = scratch(K * L)
    Dj = scratch(J * K * L)  # d_j = x_j - xbar_m(j)
    Cj = scratch(J * K * L)  # c_j d_j
    CJ = scratch(L)
    w, a, top, lqc, tsum = scratch(L), scratch(L), scratch(L), scratch(L), scratch(L)
    c1, c2, c3 = scratch(L), scratch(L), scratch(L)
    c = scratch(L, np.int64)
    kc = scratch(L, np.int64)
    Gb, Gl = scratch(K * L), scratch(M * L)  # the gradient in beta, in lambda
    Hbb, Hbl, Hll = scratch(K * K * L), scratch(M * K * L), scratch(M * M * L)  # the Hessian
    inv_lam = 1.0 / lam
    p0, p1, p2 = _EXP_P
    q0, q1, q2, q3 = _EXP_Q
    l0, l1, l2, l3, l4, l5 = _LOG_P
    m0, m1, m2, m3, m4 = _LOG_Q
    weighted = weights.shape[0] > 0

    def exponential(D, n):
        """D[:n] <- e^D for D <= 0: 1 + 2 r P / (Q - r P) times 2^n, 0 below e^-708."""
        for i in range(n):
            d = D[i]
            kept = 1.0 if d >= _EXP_FLOOR else 0.0
            d = max(d, _EXP_FLOOR)
            rounded = d * _LOG2E + _ROUND
            n2 = rounded - _ROUND
            r = (d - n2 * _LN2_HI) - n2 * _LN2_LO
            r2 = r * r
            rp = r * ((p0 * r2 + p1) * r2 + p2)
            D[i] = kept * (1.0 + 2.0 * rp / ((((q0 * r2 + q1) * r2 + q2) * r2 + q3) - rp))
            Z[i] = rounded
        for i in range(n):
            Zbits[i] = (Zbits[i] - _ROUND_BITS + 1023) << 52
        for i in range(n):
            D[i] *= Z[i]

    def logarithm(D, n):
        """D[:n] <- log D for D >= 0 (-inf for 0), in vector arithmetic: D = 2^e (1 + f),
        :math:`\\sqrt{1/2} \\le 1 + f < \\sqrt 2` (exponent and mantissa read from the
        bits), :math:`\\log(1 + f) = f - f^2/2 + f^3 P(f)/Q(f)` (Cephes' ``log``) plus e log 2
        in two parts; within one unit in the last place of ``np.log`` (checked from 1e-300
        to 1e300)."""
        for i in range(n):
            Y[i] = D[i]
        for i in range(n):  # the exponent, as a double via the 1.5 * 2^52 trick
            YEbits[i] = (Ybits[i] >> 52) - 1023 + _ROUND_BITS
        for i in range(n):  # the mantissa in [1, 2)
            Ybits[i] = (Ybits[i] & _MANTISSA) | _ONE_BITS
        for i in range(n):
            e = YE[i] - _ROUND
            x = Y[i]
            big = x > _SQRT2
            e = e + 1.0 if big else e
            x = 0.5 * x - 1.0 if big else x - 1.0
            z = x * x
            y = x * (z * (((((l0 * x + l1) * x + l2) * x + l3) * x + l4) * x + l5)
                     / (((((x + m0) * x + m1) * x + m2) * x + m3) * x + m4))
            y = y - e * _LOG_C2
            y = y - 0.5 * z
            D[i] = (x + y) + e * _LOG_C1 if D[i] > 0.0 else -np.inf

    # A loop over the lanes compiles to vector code only where the compiler can tell its
    # reads and writes apart: it cannot (it reports an "unsafe indirect dependence") where a
    # written offset depends on a value read from memory, such as a nest ``nest_of[j]``, or
    # on a sum of sizes such as K + M. So loops that add alternatives into their nest's sums
    # run over the nests first (``m`` a loop counter), and the Hessian's blocks (beta-beta,
    # lambda-beta, lambda-lambda) and the gradient's are separate arrays.
    for b in range(lo // block, (hi - 1) // block + 1):
        first, last = max(lo, b * block), min(hi, (b + 1) * block)
        ll_b = 0.0
        Gb[:] = 0.0
        Gl[:] = 0.0
        Hbb[:] = 0.0
        Hbl[:] = 0.0
        Hll[:] = 0.0
        for i0 in range(first, last, L):
            for q in range(L):
                i = i0 + q
                if i < last:
                    for jk in range(J * K):
                        T[jk * L + q] = X2[i, jk]
                    c[q] = chosen[i]
                    w[q] = weights[i] if weighted else 1.0
                    for j in range(J):
                        A[j * L + q] = 1.0 if avail[i, j] else 0.0
                        if not avail[i, j]:
                            for k in range(K):
                                T[(j * K + k) * L + q] = 0.0
                else:
                    for jk in range(J * K):
                        T[jk * L + q] = 0.0
                    c[q] = 0
                    w[q] = 0.0
                    for j in range(J):
                        A[j * L + q] = 1.0 if j == 0 else 0.0
                kc[q] = nest_of[c[q]]
                a[q] = inv_lam[kc[q]]
                for m in range(M):
                    IND[m * L + q] = 1.0 if kc[q] == m else 0.0
            # U_j = V_j / lambda_m and the nests' maxima
            U[:] = 0.0
            for j in range(J):
                for k in range(K):
                    beta_k = beta[k] * inv_lam[nest_of[j]]
                    t = (j * K + k) * L
                    for q in range(L):
                        U[j * L + q] += T[t + q] * beta_k
            MX[:] = -np.inf
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        u = U[j * L + q] if A[j * L + q] > 0.0 else -np.inf
                        U[j * L + q] = u
                        MX[m * L + q] = max(MX[m * L + q], u)
            for mq in range(M * L):
                if MX[mq] == -np.inf:  # a nest without an available alternative
                    MX[mq] = 0.0
            # E <- e^{U - max}, S <- the nests' sums
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        E[j * L + q] = U[j * L + q] - MX[m * L + q]
            exponential(E, J * L)
            S[:] = 0.0
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        S[m * L + q] += E[j * L + q]
            # I_m, T_m = lambda_m I_m and the top log-sum
            for mq in range(M * L):
                SI[mq] = 1.0 / S[mq] if S[mq] > 0.0 else 0.0
            logarithm(S, M * L)  # -inf for a nest without an available alternative
            for m in range(M):
                for q in range(L):
                    MX[m * L + q] += S[m * L + q]
            for m in range(M):
                for q in range(L):
                    TT[m * L + q] = lam[m] * MX[m * L + q]
            top[:] = -np.inf
            for m in range(M):
                for q in range(L):
                    top[q] = max(top[q], TT[m * L + q])
            for m in range(M):
                for q in range(L):
                    EQ[m * L + q] = TT[m * L + q] - top[q]
            exponential(EQ, M * L)
            tsum[:] = 0.0
            for m in range(M):
                for q in range(L):
                    tsum[q] += EQ[m * L + q]
            for q in range(L):
                YE[q] = tsum[q]
            logarithm(YE, L)
            for q in range(L):
                top[q] += YE[q]
            for q in range(L):
                k = kc[q]
                lqc[q] = U[c[q] * L + q] - MX[k * L + q]
                ll_b += w[q] * (lqc[q] + TT[k * L + q] - top[q])
            if order == 0:
                continue
            # Q_m, q_j, log q_j, the nests' mean attributes and entropies
            for q in range(L):
                tsum[q] = 1.0 / tsum[q]
            for m in range(M):
                for q in range(L):
                    TT[m * L + q] = EQ[m * L + q] * tsum[q]  # Q_m
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        E[j * L + q] *= SI[m * L + q]
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        U[j * L + q] = U[j * L + q] - MX[m * L + q] if A[j * L + q] > 0.0 else 0.0
            for jq in range(J * L):
                QL[jq] = E[jq] * U[jq]
            ENT[:] = 0.0
            SQ[:] = 0.0
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        ENT[m * L + q] -= QL[j * L + q]
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        SQ[m * L + q] += QL[j * L + q] * U[j * L + q]
            XB[:] = 0.0
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for k in range(K):
                        t, h = (j * K + k) * L, (m * K + k) * L
                        for q in range(L):
                            XB[h + q] += E[j * L + q] * T[t + q]
            XT[:] = 0.0
            for m in range(M):
                for k in range(K):
                    h = (m * K + k) * L
                    for q in range(L):
                        XT[k * L + q] += TT[m * L + q] * XB[h + q]
            for q in range(L):
                t = c[q] * K * L
                for k in range(K):
                    XC[k * L + q] = T[t + k * L + q]
            # gradient
            DD[:] = 0.0
            for m in range(M):
                for k in range(K):
                    h = (m * K + k) * L
                    for q in range(L):
                        DD[k * L + q] += IND[m * L + q] * XB[h + q]  # xbar of the chosen nest
            for k in range(K):
                for q in range(L):
                    kq = k * L + q
                    Gb[kq] += w[q] * (XC[kq] * a[q] + (1.0 - a[q]) * DD[kq] - XT[kq])
            for m in range(M):
                for q in range(L):
                    mq = m * L + q
                    Gl[m * L + q] += w[q] * (
                        IND[mq] * (ENT[mq] * (1.0 - a[q]) - lqc[q] * a[q]) - TT[mq] * ENT[mq])
            if order == 1:
                continue
            # beta-beta: sum_j c_j d_j d_j' (Dj = d_j, Cj = c_j d_j), C_m = sum_j q_j log q_j d_j
            for m in range(M):
                for q in range(L):
                    CM[m * L + q] = w[q] * (IND[m * L + q] * (a[q] - a[q] * a[q])
                                            - TT[m * L + q] * inv_lam[m])
            CC[:] = 0.0
            for m in range(M):
                for j in range(J):
                    if nest_of[j] != m:
                        continue
                    for q in range(L):
                        CJ[q] = E[j * L + q] * CM[m * L + q]
                    for k in range(K):
                        t, h = (j * K + k) * L, (m * K + k) * L
                        for q in range(L):
                            Dj[t + q] = T[t + q] - XB[h + q]
                        for q in range(L):
                            Cj[t + q] = CJ[q] * Dj[t + q]
                        for q in range(L):
                            CC[h + q] += QL[j * L + q] * Dj[t + q]
            for j in range(J):
                for k in range(K):
                    e = (j * K + k) * L
                    for l in range(k + 1):
                        h, f = (k * K + l) * L, (j * K + l) * L
                        for q in range(L):
                            Hbb[h + q] += Cj[e + q] * Dj[f + q]
            # between nests, and beta-lambda
            for m in range(M):
                for k in range(K):
                    h = (m * K + k) * L
                    for q in range(L):
                        DD[k * L + q] = XB[h + q] - XT[k * L + q]
                for q in range(L):
                    CJ[q] = w[q] * TT[m * L + q]
                for k in range(K):
                    for q in range(L):
                        XC2[k * L + q] = CJ[q] * DD[k * L + q]
                for k in range(K):
                    for l in range(k + 1):
                        h, e, f = (k * K + l) * L, k * L, l * L
                        for q in range(L):
                            Hbb[h + q] -= XC2[e + q] * DD[f + q]
                for q in range(L):  # the coefficients of C_m, xbar_m - xt and xbar_m - x_c
                    c1[q] = CJ[q] * inv_lam[m] + IND[m * L + q] * w[q] * (a[q] * a[q] - a[q])
                for q in range(L):
                    c2[q] = -CJ[q] * ENT[m * L + q]
                for q in range(L):
                    c3[q] = IND[m * L + q] * w[q] * a[q] * a[q]
                for k in range(K):
                    g = (m * K + k) * L
                    for q in range(L):
                        Hbl[g + q] += c1[q] * CC[g + q] + c2[q] * DD[k * L + q]
                    for q in range(L):
                        Hbl[g + q] += c3[q] * (XB[g + q] - XC[k * L + q])
            # lambda-lambda
            for m in range(M):
                for n in range(m):
                    h = (m * M + n) * L
                    for q in range(L):
                        Hll[h + q] += w[q] * TT[m * L + q] * ENT[m * L + q] * TT[n * L + q] * ENT[n * L + q]
                h = (m * M + m) * L
                for q in range(L):
                    mq = m * L + q
                    var = SQ[mq] - ENT[mq] * ENT[mq]
                    qh = TT[mq] * ENT[mq]
                    aa = a[q] * a[q]
                    Hll[h + q] += w[q] * (qh * qh - TT[mq] * var * inv_lam[m] - qh * ENT[mq]
                                         + IND[mq] * (2.0 * (lqc[q] + ENT[mq]) * aa + var * (a[q] - aa)))
        ll[b] = ll_b
        if order >= 1:
            for k in range(K):
                grad[b, k] = Gb[k * L:(k + 1) * L].sum()
            for m in range(M):
                grad[b, K + m] = Gl[m * L:(m + 1) * L].sum()
        if order == 2:
            for k in range(K):
                for l in range(k + 1):
                    hess[b, k, l] = Hbb[(k * K + l) * L:(k * K + l + 1) * L].sum()
            for m in range(M):
                for k in range(K):
                    hess[b, K + m, k] = Hbl[(m * K + k) * L:(m * K + k + 1) * L].sum()
                for n in range(m + 1):
                    hess[b, K + m, K + n] = Hll[(m * M + n) * L:(m * M + n + 1) * L].sum()


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
    larger ones by a compiled pass (numba) over blocks of situations on threads, sixteen
    situations side by side (:func:`_fused_block_sums`), and the blocks' sums added in
    block order (the result does not depend on ``threads``).

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
    from choicemodels.kernels.logit import LANES, _block_size, _default_threads, _submit

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
            nest_of, int(order), block, LANES)
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
