r"""Conditional logit kernels: probabilities, log-likelihood, analytic derivatives, scores.

Shapes: N situations, J alternatives, K coefficients. ``X`` is (N, J, K) float64 and
C-contiguous, ``chosen`` (N,) int indexes the chosen alternative, ``avail`` (N, J) bool marks
available alternatives (the chosen one must be available), ``weights`` (N,) or ``None``.

With utilities :math:`V_{ij} = x_{ij}'\beta` over the available set :math:`A_i`,

.. math::

    p_{ij} = \frac{e^{V_{ij}}}{\sum_{l \in A_i} e^{V_{il}}}, \qquad
    \ell(\beta) = \sum_i w_i \Big(V_{i c_i} - \log \sum_{l \in A_i} e^{V_{il}}\Big),

    g = \sum_i w_i (x_{i c_i} - \bar x_i), \quad \bar x_i = \sum_j p_{ij} x_{ij}, \qquad
    H = -\sum_i w_i X_i'\big(\operatorname{diag} p_i - p_i p_i'\big) X_i .

The log-likelihood and its derivatives are sums over situations, computed by one compiled
(numba) pass over X per evaluation: for ``LANES`` situations side by side (so that every step
compiles to vector instructions), the utilities, the stable log-softmax over the available
alternatives, :math:`\bar x_i`, and the Hessian in the centred form
:math:`H = -\sum_i w_i \sum_{j \in A_i} p_{ij} (x_{ij} - \bar x_i)(x_{ij} - \bar x_i)'`,
without any N-sized temporary. The sums are kept per block of situations and added in block
order, blocks run on threads, and :func:`logit_chunk_sums` returns the sums of one chunk, so
the same code serves in-memory, chunked and distributed fits. Probabilities and
per-situation scores (N-sized outputs) are computed with numpy.

Problems with at most ``NUMPY_MAX_SIZE`` elements of X (32,768; 1,000 situations of 4
alternatives and 8 coefficients) are summed by the same formulas in numpy
(:func:`_numpy_sums`, equal to the compiled sums to rounding, about 1e-15 relative), so that
a small fit never imports numba (0.2 s), loads the compiled pass from its disk cache (0.2 s)
or, on first use, compiles it (4.5 to 5.5 s); up to that size numpy takes 1.0 to 1.8 times
as long per evaluation (0.4 ms or less), beyond it increasingly longer.

These functions perform no validation.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = [
    "logit_chunk_sums",
    "logit_loglike",
    "logit_loglike_derivatives",
    "logit_probabilities",
    "logit_scores",
]

#: Bytes of X per chunk of the numpy functions (probabilities, scores): small enough for the
#: chunk and its temporaries to stay in the processor cache.
CHUNK_BYTES = 1 << 19
#: The compiled sums are accumulated per block of at least ``MIN_BLOCK`` situations, in at
#: most ``MAX_BLOCKS`` blocks (per-block (K, K) accumulators), then added in block order.
MIN_BLOCK = 1024
MAX_BLOCKS = 256
#: Situations processed side by side, one per vector lane.
LANES = 16
#: Up to this many elements of X (N J K; 256 KiB) the sums are computed by numpy instead of
#: the compiled pass. Measured on 2 cores (``benchmarks/bench_coldstart.py --routes``), one
#: evaluation by numpy takes 1.0 to 1.8 times the compiled one's up to 2^15 elements (2.6 at
#: most under load), 0.16 ms more at most (0.34 once), about 1 ms over a Newton fit; 1.4 to
#: 1.9 times at 2^16, 1.5 to 9 times from 2^17 on (numpy's temporaries leave the cache). The
#: compiled pass costs 0.3 to 0.4 s to import numba and load it in a new process, 4.5 to 5.5 s
#: to compile on first use. At 2^15 the warm start's subsample of large fits (2,000
#: situations) stays compiled from J K = 17 on.
NUMPY_MAX_SIZE = 1 << 15


def _chunk_size(J: int, K: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Number of situations per chunk so that one chunk of X takes about ``chunk_bytes``."""
    return max(1, chunk_bytes // (8 * J * K))


def _softmax_parts(V: np.ndarray, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Stable softmax pieces of utilities ``V`` (n, J) over the available alternatives.

    Returns ``(VT, ET, s)``: shifted utilities :math:`V_{ij} - \max_l V_{il}` transposed to
    (J, n) (``-inf`` where unavailable), their exponentials (J, n) and the row sums (n,), so
    that :math:`p_{ij} = ET_{ji} / s_i` and :math:`\log p_{ij} = VT_{ji} - \log s_i`. Working
    on the transposed copy makes the reductions run over the leading axis: reducing a short
    trailing axis is several times slower in numpy.
    """
    VT = np.ascontiguousarray(V.T)
    if not avail.all():
        VT[~avail.T] = -np.inf
    VT -= VT.max(axis=0)
    ET = np.exp(VT)
    return VT, ET, ET.sum(axis=0)


def logit_probabilities(beta: np.ndarray, X: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Choice probabilities (N, J); unavailable alternatives get exactly 0.

    Parameters
    ----------
    beta : (K,) coefficients.
    X : (N, J, K) attributes.
    avail : (N, J) bool availability.

    Returns
    -------
    P : (N, J) probabilities, rows summing to one over available alternatives.
    """
    N, J, K = X.shape
    _, ET, s = _softmax_parts((X.reshape(N * J, K) @ beta).reshape(N, J), avail)
    ET /= s
    return ET.T


#: exp(d) for d <= 0 in vectorisable arithmetic: d = n ln2 + r with |r| <= ln2/2 (ln2 in two
#: parts), e^r from Cephes' rational approximation e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))
#: and 2^n written into the exponent bits; relative error below 4e-16, and 0 for d < -708.
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 6.93145751953125e-1, 1.42860682030941723212e-6
_EXP_P = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
_EXP_Q = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1, 2.0)
#: adding 1.5 * 2^52 rounds to an integer, which then sits in the low bits of the mantissa
_ROUND = 6755399441055744.0
_ROUND_BITS = int(np.float64(_ROUND).view(np.int64))
_EXP_FLOOR = -708.0


def _numpy_sums(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None,
    order: int,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    r"""The sums of the compiled pass (:func:`_fused_block_sums`) by vectorised numpy.

    The same formulas and the same centred Hessian
    :math:`H = -B'B`, :math:`B_{(ij)} = \sqrt{w_i p_{ij}}\,(x_{ij} - \bar x_i)`, with
    attributes of unavailable alternatives read as zeros and :math:`e^{d}` as 0 below
    :math:`d = -708`; ``order`` 0, 1, 2: log-likelihood, + gradient, + Hessian (full).
    Temporaries of the size of X: meant for small problems.
    """
    N, J, K = X.shape
    rows = np.arange(N)
    with np.errstate(invalid="ignore", over="ignore"):  # X of unavailable alternatives
        V = (X.reshape(N * J, K) @ beta).reshape(N, J)
    VT, ET, s = _softmax_parts(V, avail)
    ET[VT < _EXP_FLOOR] = 0.0
    per_situation = VT[chosen, rows] - np.log(s)
    ll = float(per_situation.sum() if weights is None else weights @ per_situation)
    if order == 0:
        return ll, None, None
    if not avail.all():
        X = np.where(avail[:, :, None], X, 0.0)
    ET /= s  # probabilities (J, N)
    xbar = np.einsum("jn,njk->nk", ET, X)
    scores = X[rows, chosen] - xbar
    grad = scores.sum(axis=0) if weights is None else weights @ scores
    if order == 1:
        return ll, grad, None
    if weights is not None:
        ET *= weights
    B = X - xbar[:, None, :]
    B *= np.sqrt(ET).T[:, :, None]
    B = B.reshape(N * J, K)
    return ll, grad, -(B.T @ B)


def _fused_block_sums(beta, X, chosen, avail, weights, order, block, lanes, lo, hi, ll, grad, hess):
    r"""Compiled by :func:`_compiled_block_sums`: per-block sums over situations lo..hi-1.

    Block b covers situations ``b * block`` up to ``(b + 1) * block`` (clipped to ``N``);
    blocks ``lo // block`` to ``(hi - 1) // block`` are written to ``ll[b]`` (loglik),
    ``grad[b]`` (K,) and the lower triangle of ``hess[b]`` (K, K) for ``order`` >= 1 and 2.
    ``weights`` of length 0 means unit weights.

    The situations are taken ``lanes`` at a time: their (J, K) slices of X are copied into
    a lane-major scratch ``T[j, k, lane]`` (zeros for unavailable alternatives, whose X may
    hold anything; padding lanes past the block's end are one available, chosen alternative
    of weight 0), and every step below is then a loop over independent lanes that compiles
    to vector code, the exponential included:

    .. math::
        V_j = x_j'\beta,\ m = \max_{l \in A} V_l,\ s = \sum_{l \in A} e^{V_l - m},\
        \ell \mathrel{+}= w (V_c - m - \log s),\ p_j = e^{V_j - m}/s,

        g \mathrel{+}= w (x_c - \bar x),\quad
        H \mathrel{-}= \sum_{j \in A} b_j b_j', \quad b_j = \sqrt{w p_j} (x_j - \bar x).
    """
    N, J, K = X.shape
    L = lanes
    X2 = X.reshape(N, J * K)
    # scratch arrays, lane-major ([row * L + lane]), padded by a cache line on each side: a
    # small array sharing a cache line with another thread's scratch would stall both
    # threads on every write
    pad = 8

    def scratch(n, dtype=np.float64):
        return np.zeros(n + 2 * pad, dtype)[pad:pad + n]

    T = scratch(J * K * L)  # attributes
    B = scratch(J * K * L)  # Hessian factors b_j
    V = scratch(J * L)  # utilities, then e^{V - m}, p, sqrt(w p)
    A = scratch(J * L)  # 1.0 available, 0.0 not
    Z = scratch(J * L)  # the exponential's d log2(e) + 1.5 * 2^52 (n in its low bits), then 2^n
    Zbits = Z.view(np.int64)
    m, s, w = scratch(L), scratch(L), scratch(L)
    c = scratch(L, np.int64)
    xbar, G = scratch(K * L), scratch(K * L)
    Hl = scratch(K * K * L)
    p0, p1, p2 = _EXP_P
    q0, q1, q2, q3 = _EXP_Q
    weighted = weights.shape[0] > 0
    for b in range(lo // block, (hi - 1) // block + 1):
        first, last = max(lo, b * block), min(hi, (b + 1) * block)
        ll_b = 0.0
        G[:] = 0.0
        Hl[:] = 0.0
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
            # utilities, their maximum over available alternatives, the chosen one's share
            V[:] = 0.0
            for j in range(J):
                for k in range(K):
                    beta_k = beta[k]
                    t = (j * K + k) * L
                    for q in range(L):
                        V[j * L + q] += T[t + q] * beta_k
            m[:] = -np.inf
            for j in range(J):
                for q in range(L):
                    v = V[j * L + q] if A[j * L + q] > 0.0 else -np.inf
                    V[j * L + q] = v
                    m[q] = max(m[q], v)
            for q in range(L):
                ll_b += w[q] * (V[c[q] * L + q] - m[q])
            # V <- e^{V - m}: 1 + 2 r P / (Q - r P) times 2^n, 0 below e^-708
            for j in range(J):
                for q in range(L):
                    jq = j * L + q
                    d = V[jq] - m[q]
                    kept = 1.0 if d >= _EXP_FLOOR else 0.0
                    d = max(d, _EXP_FLOOR)
                    rounded = d * _LOG2E + _ROUND
                    n = rounded - _ROUND
                    r = (d - n * _LN2_HI) - n * _LN2_LO
                    r2 = r * r
                    rp = r * ((p0 * r2 + p1) * r2 + p2)
                    V[jq] = kept * (1.0 + 2.0 * rp / ((((q0 * r2 + q1) * r2 + q2) * r2 + q3) - rp))
                    Z[jq] = rounded
            for jq in range(J * L):
                Zbits[jq] = (Zbits[jq] - _ROUND_BITS + 1023) << 52
            for jq in range(J * L):
                V[jq] *= Z[jq]
            s[:] = 0.0
            for j in range(J):
                for q in range(L):
                    s[q] += V[j * L + q]
            for q in range(L):
                ll_b -= w[q] * np.log(s[q])
            if order == 0:
                continue
            # p, the probability-weighted mean attributes, the gradient
            for q in range(L):
                s[q] = 1.0 / s[q]
            for j in range(J):
                for q in range(L):
                    V[j * L + q] *= s[q]
            xbar[:] = 0.0
            for j in range(J):
                for k in range(K):
                    t = (j * K + k) * L
                    for q in range(L):
                        xbar[k * L + q] += V[j * L + q] * T[t + q]
            for q in range(L):
                t = c[q] * K * L
                for k in range(K):
                    G[k * L + q] += w[q] * (T[t + k * L + q] - xbar[k * L + q])
            if order == 1:
                continue
            # the Hessian's rank-one updates b_j b_j' (b_j = 0 where unavailable)
            for j in range(J):
                for q in range(L):
                    V[j * L + q] = np.sqrt(w[q] * V[j * L + q])
                for k in range(K):
                    t = (j * K + k) * L
                    for q in range(L):
                        B[t + q] = V[j * L + q] * (T[t + q] - xbar[k * L + q])
            for j in range(J):
                for k in range(K):
                    a = (j * K + k) * L
                    for l in range(k + 1):
                        h, d = (k * K + l) * L, (j * K + l) * L
                        for q in range(L):
                            Hl[h + q] -= B[a + q] * B[d + q]
        ll[b] = ll_b
        if order >= 1:
            for k in range(K):
                grad[b, k] = G[k * L:(k + 1) * L].sum()
        if order == 2:
            for k in range(K):
                for l in range(k + 1):
                    hess[b, k, l] = Hl[(k * K + l) * L:(k * K + l + 1) * L].sum()


@functools.cache
def _compiled_block_sums():
    """:func:`_fused_block_sums` compiled by numba (once per process; cached on disk where
    :mod:`~choicemodels.kernels.jit` finds a writable folder).

    Serial and ``nogil``: the driver runs it on its own threads, which keeps it safe to call
    from several threads at once and in processes forked after a fit (numba's ``parallel``
    threading layers are either not thread-safe or, with GNU OpenMP, not fork-safe).
    """
    from choicemodels.kernels.jit import njit

    return njit(nogil=True, fastmath=False, error_model="numpy")(_fused_block_sums)


def logit_chunk_sums(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    gradient: bool = True,
    hessian: bool = True,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Log-likelihood, gradient and Hessian summed over one chunk of n situations.

    One compiled pass over the chunk on the calling thread.

    Parameters
    ----------
    beta : (K,) coefficients.
    X : (n, J, K) attributes of the chunk.
    chosen : (n,) int chosen alternatives.
    avail : (n, J) bool availability.
    weights : (n,) situation weights or ``None`` (all ones).
    gradient, hessian : which derivatives to compute (the Hessian implies the gradient).

    Returns
    -------
    ll : float, :math:`\\sum_i w_i \\log p_{i c_i}`.
    grad : (K,) or ``None``.
    hess : (K, K) or ``None``, the symmetric negative semi-definite Hessian.
    """
    return _sum_over_blocks(
        beta, X, chosen, avail, weights, gradient=gradient, hessian=hessian,
        chunk_size=max(1, len(X)), threads=1,
    )


def _sum_over_blocks(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None,
    *,
    gradient: bool,
    hessian: bool,
    chunk_size: int | None,
    threads: int | None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Driver: the compiled pass over blocks of ``chunk_size`` situations, on ``threads``
    threads (contiguous runs of blocks; the compiled code releases the GIL), and the sum of
    the per-block sums in block order, so the result does not depend on ``threads``; numpy
    (:func:`_numpy_sums`, which ignores ``chunk_size`` and ``threads``) for at most
    ``NUMPY_MAX_SIZE`` elements of X."""
    N, J, K = X.shape
    order = 2 if hessian else 1 if gradient else 0
    if N * J * K <= NUMPY_MAX_SIZE:
        return _numpy_sums(
            np.asarray(beta, dtype=np.float64),
            np.asarray(X, dtype=np.float64),
            np.asarray(chosen, dtype=np.intp),
            np.asarray(avail, dtype=np.bool_),
            None if weights is None else np.asarray(weights, dtype=np.float64),
            order,
        )
    block = _block_size(N) if chunk_size is None else max(1, int(chunk_size))
    n_blocks = -(-N // block)
    args = (
        np.array(beta, dtype=np.float64),  # a writable copy: one compiled signature
        np.ascontiguousarray(X, dtype=np.float64),
        np.ascontiguousarray(chosen, dtype=np.int64),
        np.ascontiguousarray(avail, dtype=np.bool_),
        np.empty(0) if weights is None else np.ascontiguousarray(weights, dtype=np.float64),
        order,
        block,
        LANES,
    )
    ll = np.zeros(n_blocks)
    grad = np.zeros((n_blocks if order >= 1 else 0, K))
    hess = np.zeros((n_blocks if order == 2 else 0, K, K))
    kernel = _compiled_block_sums()
    n_threads = max(1, min(_default_threads() if threads is None else int(threads), n_blocks))
    edges = [min(N, b * block) for b in np.linspace(0, n_blocks, n_threads + 1).astype(int)]
    if n_threads == 1:
        kernel(*args, 0, N, ll, grad, hess)
    else:
        # the calling thread takes the first run
        runs = zip(edges[1:-1], edges[2:])
        others = _submit(kernel, [(*args, lo, hi, ll, grad, hess) for lo, hi in runs])
        kernel(*args, edges[0], edges[1], ll, grad, hess)
        for future in others:
            future.result()
    if order == 0:
        return float(ll.sum()), None, None
    if order == 1:
        return float(ll.sum()), grad.sum(axis=0), None
    H = hess.sum(axis=0)  # lower triangle
    return float(ll.sum()), grad.sum(axis=0), np.tril(H) + np.tril(H, -1).T


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _submit(fn, calls: list[tuple]) -> list[Future]:
    """Submit ``fn(*call)`` for every call to the process's pool of at least ``len(calls)``
    threads for the block loop, kept between evaluations (starting threads for every
    evaluation costs a fraction of a millisecond each).

    Growing the pool and submitting happen under one lock: a pool is shut down only when a
    larger one replaces it, never between another caller's look-up and its submissions, and
    work already submitted to a replaced pool still runs (``shutdown(wait=False)`` lets its
    threads finish the queue). So any number of threads may call at once.
    """
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < len(calls):
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(len(calls), "choicemodels-logit"), len(calls)
        return [_pool.submit(fn, *call) for call in calls]


def _on_threads(run, n_items: int, threads: int | None, min_run: int = 1) -> None:
    """``run(first, last)`` over contiguous runs of ``n_items`` (at least ``min_run`` each,
    but one) on the package's threads, the calling thread taking the first run."""
    n_threads = max(1, min(_default_threads() if threads is None else int(threads),
                           -(-n_items // min_run)))
    edges = np.linspace(0, n_items, n_threads + 1).astype(int)
    others = _submit(run, list(zip(edges[1:-1], edges[2:]))) if n_threads > 1 else []
    run(edges[0], edges[1])
    for future in others:
        future.result()


def _forget_thread_pool() -> None:
    """In a forked child: the parent's threads do not exist there (and another parent
    thread may have held the lock at the fork), start afresh."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_thread_pool)


def _block_size(N: int) -> int:
    """Situations per block: at least ``MIN_BLOCK``, at most ``MAX_BLOCKS`` blocks."""
    return max(MIN_BLOCK, -(-N // MAX_BLOCKS))


def _default_threads() -> int:
    """Threads for the block loop: the processors available to this process, at most 4."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 4))


def logit_loglike(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    chunk_size: int | None = None,
    threads: int | None = None,
) -> float:
    """Weighted log-likelihood :math:`\\sum_i w_i \\log p_{i c_i}`.

    Parameters
    ----------
    beta : (K,); X : (N, J, K); chosen : (N,) int; avail : (N, J) bool; weights : (N,) or None.
    chunk_size : situations per block of sums (default: ``N / MAX_BLOCKS``, at least
        ``MIN_BLOCK``).
    threads : threads over runs of blocks (default: available processors, at most 4); the
        result does not depend on the thread count.

    Returns
    -------
    float
    """
    ll, _, _ = _sum_over_blocks(
        beta, X, chosen, avail, weights, gradient=False, hessian=False, chunk_size=chunk_size,
        threads=threads,
    )
    return ll


def logit_loglike_derivatives(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    hessian: bool = True,
    chunk_size: int | None = None,
    threads: int | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Log-likelihood with its analytic gradient and (optionally) Hessian.

    Parameters
    ----------
    beta : (K,); X : (N, J, K); chosen : (N,) int; avail : (N, J) bool; weights : (N,) or None.
    hessian : compute the Hessian too.
    chunk_size : situations per block of sums (default: ``N / MAX_BLOCKS``, at least
        ``MIN_BLOCK``).
    threads : threads over runs of blocks (default: available processors, at most 4); the
        result does not depend on the thread count.

    Returns
    -------
    ll : float.
    grad : (K,) :math:`\\sum_i w_i (x_{i c_i} - \\bar x_i)`.
    hess : (K, K) :math:`-\\sum_i w_i X_i'(\\operatorname{diag} p_i - p_i p_i') X_i`, or None.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3, 2)); chosen = rng.integers(0, 3, 50)
    >>> avail = np.ones((50, 3), bool)
    >>> ll, g, H = logit_loglike_derivatives(np.zeros(2), X, chosen, avail)
    >>> bool(np.isclose(ll, -50 * np.log(3)))
    True
    """
    ll, grad, hess = _sum_over_blocks(
        beta, X, chosen, avail, weights, gradient=True, hessian=hessian, chunk_size=chunk_size,
        threads=threads,
    )
    return ll, grad, hess


def logit_scores(
    beta: np.ndarray, X: np.ndarray, chosen: np.ndarray, avail: np.ndarray
) -> np.ndarray:
    """Per-situation (unweighted) scores :math:`s_i = x_{i c_i} - \\bar x_i`, shape (N, K).

    Parameters
    ----------
    beta : (K,); X : (N, J, K); chosen : (N,) int; avail : (N, J) bool.

    Returns
    -------
    S : (N, K); the gradient is ``weights @ S`` (or ``S.sum(0)``).
    """
    N, J, K = X.shape
    step = _chunk_size(J, K)
    S = np.empty((N, K))
    for start in range(0, N, step):
        sl = slice(start, start + step)
        Xc = X[sl]
        P = logit_probabilities(beta, Xc, avail[sl])
        S[sl] = Xc[np.arange(Xc.shape[0]), chosen[sl]]
        S[sl] -= np.einsum("nj,njk->nk", P, Xc)
    return S
