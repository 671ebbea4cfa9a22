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

The work is done on chunks of situations small enough to stay in cache: a chunk function
returns sums (:func:`logit_chunk_sums`) and a driver adds them up, so the same code serves
in-memory, chunked and distributed fits. The Hessian uses two matrix products per chunk,
:math:`H = -\big((X \odot wp)'X - (w\bar X)'\bar X\big)` on X reshaped to (n J, K).

These functions perform no validation.
"""

from __future__ import annotations

import contextlib
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "logit_chunk_sums",
    "logit_loglike",
    "logit_loglike_derivatives",
    "logit_probabilities",
    "logit_scores",
]

#: Bytes of X processed per chunk: small enough for the chunk and its temporaries to stay
#: in the processor cache, large enough to keep the per-chunk Python overhead negligible.
CHUNK_BYTES = 1 << 19


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


def logit_chunk_sums(
    beta: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    gradient: bool = True,
    hessian: bool = True,
    work: np.ndarray | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Log-likelihood, gradient and Hessian summed over one chunk of n situations.

    Parameters
    ----------
    beta : (K,) coefficients.
    X : (n, J, K) attributes of the chunk, C-contiguous.
    chosen : (n,) int chosen alternatives.
    avail : (n, J) bool availability.
    weights : (n,) situation weights or ``None`` (all ones).
    gradient, hessian : which derivatives to compute (the Hessian implies the gradient).
    work : optional float64 scratch buffer of at least n J K elements, reused across chunks
        to avoid allocating the (n, J, K) temporary.

    Returns
    -------
    ll : float, :math:`\\sum_i w_i \\log p_{i c_i}`.
    grad : (K,) or ``None``.
    hess : (K, K) or ``None``, the symmetric negative semi-definite Hessian.
    """
    n, J, K = X.shape
    X2 = X.reshape(n * J, K)
    VT, ET, s = _softmax_parts((X2 @ beta).reshape(n, J), avail)
    rows = np.arange(n)
    ll_i = VT[chosen, rows] - np.log(s)
    ll = float(ll_i.sum() if weights is None else weights @ ll_i)
    if not (gradient or hessian):
        return ll, None, None

    if weights is None:
        ET /= s
    else:
        ET *= weights / s
    wp = ET.T  # (n, J) w_i p_ij
    x_chosen = X2.take(rows * J + chosen, axis=0)  # (n, K)
    grad = x_chosen.sum(axis=0) if weights is None else weights @ x_chosen
    if not hessian:
        grad -= wp.ravel() @ X2
        return ll, grad, None

    out = None if work is None else work[: X.size].reshape(X.shape)
    Xwp = np.multiply(X, wp[:, :, None], out=out)  # (n, J, K): w_i p_ij x_ij
    # (n, K) w_i xbar_i as one matrix product with J stacked identities (a sum over the
    # short middle axis is much slower)
    wxbar = Xwp.reshape(n, J * K) @ np.tile(np.eye(K), (J, 1))
    grad -= wxbar.sum(axis=0)
    if weights is None:
        xbar = wxbar
    else:
        # w_i xbar_i xbar_i' = (w_i xbar_i) (w_i xbar_i)' / w_i; zero-weight rows vanish anyway
        xbar = wxbar / np.where(weights == 0, 1.0, weights)[:, None]
    hess = wxbar.T @ xbar
    hess -= Xwp.reshape(n * J, K).T @ X2
    hess = 0.5 * (hess + hess.T)
    return ll, grad, hess


def _sum_over_chunks(
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
    """Driver: add :func:`logit_chunk_sums` over consecutive chunks of situations.

    With ``threads`` > 1 the situations are split into that many contiguous blocks summed
    in parallel (numpy and BLAS release the GIL), each block chunk by chunk.
    """
    N, J, K = X.shape
    step = _chunk_size(J, K) if chunk_size is None else int(chunk_size)
    beta = np.asarray(beta, dtype=np.float64)

    def block(lo: int, hi: int) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        ll = 0.0
        grad = np.zeros(K) if (gradient or hessian) else None
        hess = np.zeros((K, K)) if hessian else None
        work = np.empty(min(step, hi - lo) * J * K) if hessian else None
        for start in range(lo, hi, step):
            sl = slice(start, min(start + step, hi))
            w = None if weights is None else weights[sl]
            ll_c, g_c, h_c = logit_chunk_sums(
                beta, X[sl], chosen[sl], avail[sl], w, gradient=gradient, hessian=hessian,
                work=work,
            )
            ll += ll_c
            if grad is not None:
                grad += g_c
            if hess is not None:
                hess += h_c
        return ll, grad, hess

    n_threads = min(_default_threads() if threads is None else threads, -(-N // step))
    with _single_threaded_blas():
        if n_threads <= 1:
            return block(0, N)
        edges = np.linspace(0, N, n_threads + 1).astype(int)
        with ThreadPoolExecutor(n_threads - 1) as pool:  # the calling thread takes block 0
            others = pool.map(block, edges[1:-1], edges[2:])
            parts = [block(edges[0], edges[1]), *others]
    ll = sum(p[0] for p in parts)
    grad = None if parts[0][1] is None else np.sum([p[1] for p in parts], axis=0)
    hess = None if parts[0][2] is None else np.sum([p[2] for p in parts], axis=0)
    return ll, grad, hess


@functools.cache
def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries, or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _single_threaded_blas() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread while the chunk loop runs (when threadpoolctl is installed).

    The chunk products are far too small for BLAS threads to pay off: a multi-threaded
    OpenBLAS spends several times the work spinning and synchronising on every small call
    (more than 10x the CPU time on a busy 2-core machine); the chunk loop's own threads
    supply the parallelism. The limit is process-wide for its duration.
    """
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def _default_threads() -> int:
    """Threads for the chunk loop: the processors available to this process, at most 4."""
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
    chunk_size : situations per chunk (default: about ``CHUNK_BYTES`` of X per chunk).
    threads : parallel threads over blocks of chunks (default: available processors, at
        most 4); the sums agree across thread counts up to rounding.

    Returns
    -------
    float
    """
    ll, _, _ = _sum_over_chunks(
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
    chunk_size : situations per chunk (default: about ``CHUNK_BYTES`` of X per chunk).
    threads : parallel threads over blocks of chunks (default: available processors, at
        most 4); the sums agree across thread counts up to rounding.

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
    ll, grad, hess = _sum_over_chunks(
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
