r"""GHK in NumPy for small problems: the same simulator and exact gradient as
:mod:`choicemodels.kernels.ghk` (see its docstring for the recursion and its adjoints),
vectorised over situations and draws (arrays of shape (n, R)) with a Python loop over the
m dimensions only, so that small fits load no compiler.

The product over dimensions is taken directly and redone as a sum of
:func:`scipy.special.log_ndtr` terms for the draws where it falls below 1e-280; draws are
combined by a log-sum-exp; where :math:`u q` falls below 1e-280, :math:`z` comes from
:math:`\log u + \log\Phi(t)` by :func:`scipy.special.ndtri_exp`. Work is done in chunks of
situations to bound memory. These functions perform no validation.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["ghk_log_prob_numpy"]

_SQRT_HALF = np.sqrt(0.5)
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SMALL = 1e-280  # below this, products of probabilities are redone in logs
_CHUNK_ELEMENTS = 2**16  # situations x draws per chunk


def _mills_ratio(t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """phi(t) / Phi(t) given q = Phi(t), through log_ndtr where q underflows."""
    small = q < _SMALL
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(-0.5 * t**2 - _LOG_SQRT_2PI) / q
    if small.any():
        out[small] = np.exp(-0.5 * t[small] ** 2 - special.log_ndtr(t[small]) - _LOG_SQRT_2PI)
    return out


def ghk_log_prob_numpy(
    b: np.ndarray,
    chol: np.ndarray,
    u: np.ndarray,
    *,
    rows: np.ndarray | None = None,
    grad: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Simulated :math:`\log\Pr(w < b)`, :math:`w \sim N(0, C C')`, by GHK (NumPy).

    Parameters
    ----------
    b : ndarray, shape (n, m)
        Upper limits, one row per situation.
    chol : ndarray, shape (m, m)
        Lower Cholesky factor C shared by all n situations (positive diagonal).
    u : ndarray, shape (n, R, D) or, with ``rows``, (N, R, D); D >= m - 1
        Uniform draws; the first m - 1 columns are used.
    rows : ndarray of int, shape (n,), optional
        Row i of ``b`` uses the draws ``u[rows[i]]`` (default: ``u[i]``).
    grad : bool
        Also return the gradient.

    Returns
    -------
    log_p : ndarray, shape (n,)
        :math:`\log\hat P` per situation.
    d_b : ndarray, shape (n, m), or None
        :math:`\partial\log\hat P/\partial b`.
    d_chol : ndarray, shape (n, m, m), or None
        :math:`\partial\log\hat P/\partial C` (lower triangle; upper is zero).

    Notes
    -----
    For m = 1 the result is exact, :math:`\log\Phi(b / C_{00})`, whatever the draws.
    """
    n, m = b.shape
    n_draws = u.shape[1]
    if rows is not None:
        u = u[rows]
    log_p = np.empty(n)
    d_b = np.empty((n, m)) if grad else None
    d_chol = np.zeros((n, m, m)) if grad else None
    step = max(1, _CHUNK_ELEMENTS // n_draws)
    for start in range(0, n, step):
        chunk = slice(start, min(start + step, n))
        out = _ghk_chunk(b[chunk], chol, u[chunk], n_draws, grad)
        log_p[chunk] = out[0]
        if grad:
            d_b[chunk], d_chol[chunk] = out[1], out[2]
    return log_p, d_b, d_chol


def _ghk_chunk(b, chol, u, n_draws, grad):
    n, m = b.shape
    t, q, z, ratio = [], [], [], []
    prod = np.ones((n, n_draws))
    for k in range(m):
        a = np.repeat(b[:, k : k + 1], n_draws, axis=1)
        for l in range(k):
            a -= chol[k, l] * z[l]
        t_k = np.multiply(a, 1.0 / chol[k, k], out=a)
        q_k = special.erfc(-_SQRT_HALF * t_k)
        q_k *= 0.5
        prod *= q_k
        t.append(t_k)
        q.append(q_k)
        if k < m - 1:
            p_k = u[:, :, k] * q_k
            z_k = special.ndtri(p_k)
            small = p_k < _SMALL
            if small.any():  # u q underflows: invert log(u) + log Phi(t) instead
                log_p_k = np.log(u[:, :, k][small]) + special.log_ndtr(t_k[small])
                z_k[small] = special.ndtri_exp(log_p_k)
            z.append(z_k)
            if grad:
                # u q / phi(z): derivative of z = ndtri(u q) with respect to log q
                ratio_k = p_k * np.exp(0.5 * np.where(small, 0.0, z_k) ** 2 + _LOG_SQRT_2PI)
                if small.any():
                    ratio_k[small] = np.exp(log_p_k + 0.5 * z_k[small] ** 2 + _LOG_SQRT_2PI)
                ratio.append(ratio_k)
    with np.errstate(divide="ignore"):
        log_prod = np.log(prod)
    small = prod < _SMALL
    if small.any():
        log_prod[small] = sum(special.log_ndtr(t_k[small]) for t_k in t)
    peak = log_prod.max(axis=1, keepdims=True)
    weights = np.exp(log_prod - peak)
    total = weights.sum(axis=1)
    log_p = np.log(total) + peak[:, 0] - np.log(n_draws)
    if not grad:
        return log_p, None, None
    weights /= total[:, None]
    d_b = np.empty((n, m))
    d_chol = np.zeros((n, m, m))
    z_bar = [np.zeros((n, n_draws)) for _ in range(m - 1)]
    for k in range(m - 1, -1, -1):
        t_bar = weights if k == m - 1 else weights + z_bar[k] * ratio[k]
        t_bar = t_bar * _mills_ratio(t[k], q[k])
        a_bar = t_bar / chol[k, k]
        d_b[:, k] = a_bar.sum(axis=1)
        d_chol[:, k, k] = -np.einsum("nr,nr->n", t_bar, t[k]) / chol[k, k]
        for l in range(k):
            d_chol[:, k, l] = -np.einsum("nr,nr->n", a_bar, z[l])
            z_bar[l] -= chol[k, l] * a_bar
    return log_p, d_b, d_chol
