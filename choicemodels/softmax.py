"""The softmax family with validated input: probabilities of the multinomial logit.

With systematic utilities :math:`V` (N, J) and a temperature (error scale) :math:`T > 0`,
:math:`P_{nj} = e^{V_{nj}/T} / \\sum_k e^{V_{nk}/T}`. The functions here check their input
(naming the bad entries) and call the pure kernels in :mod:`choicemodels.kernels.softmax`;
the checks of utilities and temperatures are shared with the simulators.
"""

from __future__ import annotations

import numpy as np

from choicemodels.exceptions import ChoiceDataError
from choicemodels.kernels import softmax as _k

__all__ = ["softmax", "log_softmax", "logsumexp", "inverse_softmax", "softmax_jacobian"]


def _check_temperature(temperature: float) -> float:
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        t = np.nan
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}.")
    return t


def _first(index: np.ndarray, k: int = 5) -> list:
    """The first k positions of ``np.argwhere`` output, as ints (1-D) or tuples."""
    return [int(row[0]) if len(row) == 1 else tuple(int(i) for i in row) for row in index[:k]]


def _check_utilities(
    V, avail, axis: int = -1, name: str = "V"
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Float utilities, boolean availability broadcast to V's shape, normalised axis."""
    try:
        V = np.asarray(V, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ChoiceDataError(f"{name} must be a numeric array of utilities: {exc}") from None
    if V.ndim == 0:
        raise ChoiceDataError(f"{name} must have at least one axis of alternatives, got a scalar.")
    if not -V.ndim <= axis < V.ndim:
        raise ValueError(f"axis {axis} is out of range for {name} with {V.ndim} dimensions.")
    axis %= V.ndim
    if avail is not None:
        a = np.asarray(avail)
        if a.dtype != bool:
            if not np.isin(a, (0, 1)).all():
                raise ChoiceDataError("avail must hold booleans or 0/1 flags.")
            a = a.astype(bool)
        try:
            avail = np.broadcast_to(a, V.shape)
        except ValueError:
            raise ChoiceDataError(
                f"avail of shape {a.shape} does not broadcast to {name}'s shape {V.shape}."
            ) from None
    if avail is None and np.isfinite(V).all():  # the common case, one pass
        return V, avail, axis
    considered = np.ones(V.shape, bool) if avail is None else avail
    bad = considered & (np.isnan(V) | (V == np.inf))
    if bad.any():
        raise ChoiceDataError(
            f"{name} has NaN or +inf utilities for available alternatives at "
            f"{_first(np.argwhere(bad))} ({int(bad.sum())} in all); use finite values, "
            "-inf or avail=False for unavailable alternatives."
        )
    none = ~np.any(considered & (V > -np.inf), axis=axis)
    if none.any():
        raise ChoiceDataError(
            f"{name} has no available alternative (all -inf or avail False) in "
            f"{int(none.sum())} slices along axis {axis} (first: {_first(np.argwhere(none))})."
        )
    return V, avail, axis


def _check_probabilities(p, name: str = "p") -> np.ndarray:
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ChoiceDataError(f"{name} must be a numeric array of probabilities: {exc}") from None
    if p.ndim == 0:
        raise ChoiceDataError(f"{name} must have a last axis of alternatives, got a scalar.")
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        raise ChoiceDataError(
            f"{name} must be finite and >= 0; bad entries at {_first(np.argwhere(bad))}."
        )
    return p


def softmax(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    """Multinomial-logit choice probabilities, exact for any finite utilities.

    .. math:: p_j = \\frac{e^{V_j/T}}{\\sum_{k \\text{ available}} e^{V_k/T}}

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0
        Scale T of the Gumbel errors; :math:`T \\to 0` tends to the argmax (ties shared).
    axis : int
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives get probability exactly 0 (their
        utilities are ignored and may be NaN).

    Returns
    -------
    ndarray, shape of V

    Examples
    --------
    >>> softmax([1e300, 1e300, -1e308])
    array([0.5, 0.5, 0. ])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.softmax(V, T, axis, avail)


def log_softmax(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    r"""Log choice probabilities :math:`V_j/T - \log\sum_k e^{V_k/T}`.

    Same arguments as :func:`softmax`. Unavailable alternatives get ``-inf``; available ones
    a finite value (clipped at the most negative float64 when the true value is smaller).

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0, default 1.0
        Scale T of the Gumbel errors; :math:`T \to 0` tends to the hard maximum.
    axis : int, default -1
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives are left out (their utilities are ignored
        and may be NaN).

    Returns
    -------
    ndarray, shape of V
        :math:`\log p_j`, computed without forming :math:`p` (exact where :math:`p_j`
        underflows).

    Examples
    --------
    >>> log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    >>> log_softmax([0.0, 1.0, -np.inf])
    array([-1.31326169, -0.31326169,        -inf])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.log_softmax(V, T, axis, avail)


def logsumexp(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    r"""Smoothed maximum :math:`T \log \sum_{j \text{ available}} e^{V_j/T}` over ``axis``.

    The expected maximum utility (log-sum, inclusive value) of the logit model, minus
    Euler's constant times T. Same arguments as :func:`softmax`; ``axis`` is removed.

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0, default 1.0
        Scale T of the Gumbel errors; :math:`T \to 0` tends to the hard maximum.
    axis : int, default -1
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives are left out (their utilities are ignored
        and may be NaN).

    Returns
    -------
    ndarray or float
        Shape of V without ``axis``.

    Examples
    --------
    >>> float(logsumexp([1e308, 1e308]))
    1e+308
    >>> logsumexp([[1.0, 2.0], [3.0, np.nan]], avail=[[1, 1], [1, 0]])
    array([2.31326169, 3.        ])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.logsumexp(V, T, axis, avail)


def inverse_softmax(p, ref: int = 0) -> np.ndarray:
    """Utilities that reproduce probabilities: log-ratios :math:`\\log(p_j / p_{ref})`.

    Parameters
    ----------
    p : array_like, shape (..., J)
        Probabilities (non-negative; only ratios matter). A zero gives ``-inf``.
    ref : int
        Index of the reference alternative, whose utility becomes 0; needs :math:`p_{ref} > 0`.

    Returns
    -------
    ndarray, shape (..., J)
        ``softmax(inverse_softmax(p)) == p`` for probability vectors.

    Examples
    --------
    >>> inverse_softmax([0.25, 0.5, 0.25])
    array([0.        , 0.69314718, 0.        ])
    """
    p = _check_probabilities(p)
    J = p.shape[-1]
    if not -J <= int(ref) < J or int(ref) != ref:
        raise ValueError(f"ref must be an integer index in [0, {J}), got {ref!r}.")
    zero = p[..., ref] == 0
    if zero.any():
        raise ChoiceDataError(
            f"p[..., {ref}] (the reference alternative) must be > 0; it is 0 at "
            f"{_first(np.argwhere(np.atleast_1d(zero)))}. Choose another ref."
        )
    return _k.inverse_softmax(p, int(ref) % J)


def softmax_jacobian(p, temperature: float = 1.0) -> np.ndarray:
    r"""Jacobian of the softmax, :math:`\partial p_j/\partial V_k = (\operatorname{diag}(p) - pp^\top)/T`.

    Parameters
    ----------
    p : array_like, shape (..., J)
        Softmax probabilities (batched over leading axes).
    temperature : float > 0, default 1.0
        Scale T of the softmax :math:`p = \operatorname{softmax}(V/T)`.

    Returns
    -------
    ndarray, shape (..., J, J)
        Symmetric; each row sums to zero.

    Examples
    --------
    >>> softmax_jacobian([0.5, 0.5])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    >>> softmax_jacobian([0.5, 0.5], temperature=2.0)
    array([[ 0.125, -0.125],
           [-0.125,  0.125]])
    """
    T = _check_temperature(temperature)
    return _k.softmax_jacobian(_check_probabilities(p), T)
