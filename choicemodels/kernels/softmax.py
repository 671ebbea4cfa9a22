"""Softmax family of kernels: stable in log space for any finite utilities.

Pure numpy, no validation. Shapes: utilities ``V`` have the alternatives (J) on
``axis`` and any leading shape, typically (N, J). Alternatives are *unavailable*
where ``avail`` is False or where the utility is ``-inf``; they get probability
exactly 0 and log-probability ``-inf``. Every kernel assumes at least one available
alternative per slice along ``axis`` (callers check this).

Overflow-free scheme: with :math:`m = \\max_{j \\text{ avail}} V_j` and temperature
:math:`T > 0`,

.. math::

    D_j = (V_j - m) / T \\le 0, \\qquad
    \\log p_j = D_j - \\log \\textstyle\\sum_k e^{D_k}, \\qquad
    \\operatorname{lse}_T(V) = m + T \\log \\textstyle\\sum_k e^{D_k}.

The sum lies in :math:`[1, J]`, so nothing overflows. When utilities span most of the
float64 range, :math:`V_j - m` can exceed it; :math:`D_j` is then computed as
:math:`V_j/T - m/T` when T > 1, and where that too is out of range it saturates at ``-inf``, whose
exponential (0) is the correctly rounded probability, and log-probabilities of
available alternatives are clipped at the most negative finite float.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "shifted_utilities",
    "softmax",
    "log_softmax",
    "logsumexp",
    "inverse_softmax",
    "softmax_jacobian",
]

_MOST_NEGATIVE = -np.finfo(np.float64).max


def _available(V: np.ndarray, avail: np.ndarray | None) -> np.ndarray:
    """Boolean mask of available alternatives: ``avail`` and ``V > -inf`` (NaN counts as unavailable)."""
    mask = V > -np.inf
    return mask if avail is None else mask & avail


def shifted_utilities(
    V: np.ndarray, temperature: float = 1.0, axis: int = -1, avail: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Max-shifted, temperature-scaled utilities.

    Returns
    -------
    D : ndarray, shape of V
        :math:`(V_j - m)/T` for available alternatives (in ``[-inf, 0]``), ``-inf`` otherwise.
    m : ndarray, shape of V with ``axis`` kept as length 1
        Largest available utility.
    mask : ndarray of bool, shape of V
        Available alternatives.
    """
    V = np.asarray(V, dtype=np.float64)
    mask = _available(V, avail)
    Vm = np.where(mask, V, -np.inf)
    m = np.max(Vm, axis=axis, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        D = (Vm - m) / temperature
        overflow = mask & np.isneginf(D)
        if overflow.any() and temperature > 1:  # V - m beyond the float range, (V - m)/T may not be
            D = np.where(overflow, Vm / temperature - m / temperature, D)
    return D, m, mask


def _log_normaliser(D: np.ndarray, axis: int) -> np.ndarray:
    """:math:`\\log \\sum_k e^{D_k}` along ``axis`` (kept), in ``[0, \\log J]``."""
    return np.log(np.sum(np.exp(D), axis=axis, keepdims=True))


def softmax(
    V: np.ndarray, temperature: float = 1.0, axis: int = -1, avail: np.ndarray | None = None
) -> np.ndarray:
    """Choice probabilities :math:`p_j = e^{V_j/T} / \\sum_{k \\text{ avail}} e^{V_k/T}`; shape of V."""
    D, _, _ = shifted_utilities(V, temperature, axis, avail)
    E = np.exp(D)
    return E / np.sum(E, axis=axis, keepdims=True)


def log_softmax(
    V: np.ndarray, temperature: float = 1.0, axis: int = -1, avail: np.ndarray | None = None
) -> np.ndarray:
    """Log choice probabilities :math:`D_j - \\log \\sum_k e^{D_k}`; ``-inf`` where unavailable."""
    D, _, mask = shifted_utilities(V, temperature, axis, avail)
    with np.errstate(over="ignore", invalid="ignore"):
        logp = D - _log_normaliser(D, axis)
    return np.where(mask, np.maximum(logp, _MOST_NEGATIVE), -np.inf)


def logsumexp(
    V: np.ndarray, temperature: float = 1.0, axis: int = -1, avail: np.ndarray | None = None
) -> np.ndarray:
    """Smoothed maximum :math:`T \\log \\sum_{j \\text{ avail}} e^{V_j/T}` along ``axis`` (removed).

    This is the expected maximum utility (log-sum, inclusive value) up to Euler's
    constant times T, and tends to :math:`\\max_j V_j` as :math:`T \\to 0`.
    """
    D, m, _ = shifted_utilities(V, temperature, axis, avail)
    with np.errstate(over="ignore"):
        out = m + temperature * _log_normaliser(D, axis)
    return np.squeeze(out, axis=axis)


def inverse_softmax(p: np.ndarray, ref: int = 0) -> np.ndarray:
    """Log-ratios :math:`\\log(p_j / p_{ref})` along the last axis; ``-inf`` where :math:`p_j = 0`.

    ``softmax(inverse_softmax(p)) == p / p.sum(-1)``, the utilities normalised to
    :math:`V_{ref} = 0`.
    """
    with np.errstate(divide="ignore"):
        logp = np.log(np.asarray(p, dtype=np.float64))
    return logp - logp[..., ref : ref + 1]


def softmax_jacobian(p: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Jacobian :math:`\\partial p_j / \\partial V_k = (\\operatorname{diag}(p) - p p^\\top) / T`.

    Parameters
    ----------
    p : ndarray, shape (..., J)
        Softmax probabilities.

    Returns
    -------
    ndarray, shape (..., J, J)
    """
    p = np.asarray(p, dtype=np.float64)
    jac = -p[..., :, None] * p[..., None, :]
    diagonal = np.einsum("...jj->...j", jac)
    diagonal += p
    return jac / temperature
