r"""Detect non-existence of the logit maximum-likelihood estimate (separation).

For the conditional logit with utilities :math:`x_{ij}'\beta`, the MLE fails to exist exactly
when some direction :math:`d \ne 0` never lowers the utility of a chosen alternative relative
to any available alternative (Albert & Anderson 1984; Konis 2007 for the linear-programming
test):

.. math::

    (x_{i c_i} - x_{ij})'d \ge 0 \quad \text{for all } i \text{ and available } j \ne c_i,

with at least one strict inequality (otherwise :math:`d` is a non-identified direction,
a collinearity, not a separation). Along such a :math:`d` the log-likelihood increases
monotonically and some coefficients go to infinity: complete separation when all
inequalities can be strict, quasi-complete otherwise.

:func:`find_separation` solves this exactly with linear programs; it costs far more than a
Newton fit (about one LP over N(J-1) rows), so the model runs it only when
:func:`divergence_suspected` flags the Newton outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

from choicemodels.models.optimize import OptimizeOutcome

__all__ = ["divergence_suspected", "find_separation"]

#: A difference row counts as strictly positive above this (columns scaled to max |a| = 1).
_STRICT = 1e-6
#: A coefficient belongs to the separating direction when |d_k| exceeds this (box |d| <= 1).
_SUPPORT = 1e-6
#: Situations in the first subset tried (see :func:`find_separation`).
_FIRST_SUBSET = 2000


def _difference_rows(X: np.ndarray, chosen: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Rows :math:`x_{i c_i} - x_{ij}` for available :math:`j \\ne c_i`, shape (M, K)."""
    N, J, K = X.shape
    diff = X[np.arange(N), chosen][:, None, :] - X  # (N, J, K)
    keep = avail.copy()
    keep[np.arange(N), chosen] = False
    return diff[keep]


def _max_over_cone(A: np.ndarray, c: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray:
    """argmax of c'd subject to A d >= 0 and the box ``bounds``."""
    res = linprog(-c, A_ub=-A, b_ub=np.zeros(len(A)), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is feasible (d = 0) and bounded
        return np.zeros(A.shape[1])
    return res.x


def find_separation(
    X: np.ndarray, chosen: np.ndarray, avail: np.ndarray, names: Sequence[str]
) -> tuple[str, ...]:
    """Names of the coefficients that a separating direction involves; ``()`` if none.

    A direction separating all N situations separates every subset of them, so a subset
    without separation proves the MLE exists. The test runs on evenly spaced subsets of
    ``_FIRST_SUBSET`` situations, growing eightfold while they are separated, and decides on
    the full data only then (:func:`_find_separation_exact` documents the parameters).
    """
    N = X.shape[0]
    m = _FIRST_SUBSET
    while m < N:
        idx = np.linspace(0, N - 1, m).astype(np.int64)
        if not _find_separation_exact(X[idx], chosen[idx], avail[idx], names):
            return ()
        m *= 8
    return _find_separation_exact(X, chosen, avail, names)


def _find_separation_exact(
    X: np.ndarray, chosen: np.ndarray, avail: np.ndarray, names: Sequence[str]
) -> tuple[str, ...]:
    """Names of the coefficients that a separating direction involves; ``()`` if none.

    Parameters
    ----------
    X : (N, J, K) attributes.
    chosen : (N,) int chosen alternatives (all known, >= 0).
    avail : (N, J) bool availability.
    names : K coefficient names.

    Returns
    -------
    tuple of str
        Every coefficient :math:`k` such that some separating direction :math:`d` has
        :math:`d_k \\ne 0` (those that diverge in the Newton fit), in the order of ``names``;
        empty when the MLE exists. Columns of X without variation across alternatives
        (non-identified coefficients) are left out.

    Notes
    -----
    First LP: maximise :math:`\\sum_{ij}(x_{ic_i} - x_{ij})'d` over :math:`A d \\ge 0`,
    :math:`|d_k| \\le 1`, with the columns of A scaled to maximum absolute value 1. A positive
    optimum proves separation. Separating directions form a convex cone, so their supports
    combine; a coefficient outside the first solution's support is added when
    :math:`\\max \\pm d_k` over the same cone is positive and the maximiser separates.
    Assumes the columns of the differenced design have full rank (identified model).
    """
    A = _difference_rows(X, chosen, avail)
    K = A.shape[1]
    if len(A) == 0:
        return ()
    scale = np.abs(A).max(axis=0)
    varying = scale > 0
    A = A / np.where(varying, scale, 1.0)
    bounds = [(-1.0, 1.0) if v else (0.0, 0.0) for v in varying]

    def separates(d: np.ndarray) -> bool:
        r = A @ d
        return bool(r.max() > _STRICT and r.min() > -_STRICT)

    d = _max_over_cone(A, A.sum(axis=0), bounds)
    if not separates(d):
        return ()
    involved = np.abs(d) > _SUPPORT
    for k in np.flatnonzero(varying & ~involved):
        for sign in (1.0, -1.0):
            e = np.zeros(K)
            e[k] = sign
            d_k = _max_over_cone(A, e, bounds)
            if abs(d_k[k]) > _SUPPORT and (separates(d_k) or separates(d + d_k)):
                involved[k] = True
                break
    return tuple(name for name, inv in zip(names, involved) if inv)


def divergence_suspected(outcome: OptimizeOutcome, *, max_iter: int = 15) -> bool:
    """Whether a Newton outcome looks like a fit drifting to infinity (run the exact test).

    Newton's method converges quadratically to an existing maximum: the decrement
    :math:`g'(-H)^{-1}g` shrinks by far more than a constant factor over the last steps and a
    logit fit from zero takes well under ``max_iter`` iterations. Under separation the
    log-likelihood approaches its supremum only exponentially along the separating direction,
    so the decrement falls by a roughly constant factor (about :math:`e^{-1}`) per step and the
    fit needs many iterations. Flags: not converged, at least ``max_iter`` iterations, or the
    last two decrement ratios both above 0.05. Cheap; a false alarm only costs one
    :func:`find_separation` call.

    Parameters
    ----------
    outcome : the result of :func:`~choicemodels.models.optimize.newton_maximize`.
    max_iter : iteration count from which a fit is suspected.

    Returns
    -------
    bool
    """
    if not outcome.converged or outcome.n_iter >= max_iter:
        return True
    dec = np.asarray(outcome.decrements, dtype=np.float64)
    if len(dec) < 3:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = dec[-2:] / dec[-3:-1]
    return bool(np.all(ratios > 0.05))
