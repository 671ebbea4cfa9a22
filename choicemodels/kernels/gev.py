"""Nested and cross-nested GEV kernels: exact error draws and the choice probabilities.

Shape vocabulary: N situations, J alternatives, K nests. A nesting is given as
``nest_of`` (J,) int, the nest of each alternative, and ``iv`` (K,), the nests'
parameters :math:`\\lambda_k \\in (0, 1]` in the top-normalised form.

The errors of a nested logit have the joint distribution function

.. math::

    F(\\varepsilon) = \\exp\\Big(-\\sum_k \\Big(\\sum_{j \\in k}
        e^{-\\varepsilon_j/\\lambda_k}\\Big)^{\\lambda_k}\\Big),

standard Gumbel margins with logistic dependence inside a nest and independence across
nests. Stephenson (2003, "Simulating multivariate extreme value distributions of logistic
type", *Extremes* 6, 49-59) draws it exactly: with :math:`S` positive
:math:`\\lambda`-stable, :math:`E[e^{-tS}] = e^{-t^\\lambda}`, and :math:`E_j` iid standard
exponential,

.. math::

    \\varepsilon_j = \\lambda (\\log S - \\log E_j)

gives :math:`P(\\varepsilon_j \\le y_j \\,\\forall j) = P(E_j \\ge S e^{-y_j/\\lambda}
\\,\\forall j) = E\\big[e^{-S \\sum_j e^{-y_j/\\lambda}}\\big]
= \\exp\\big(-(\\sum_j e^{-y_j/\\lambda})^\\lambda\\big)`. At :math:`\\lambda = 1`,
:math:`S = 1` and the errors are iid Gumbel.

The cross-nested logit (alternative j in nest m with allocation :math:`\\alpha_{jm}`,
:math:`\\sum_m \\alpha_{jm} = 1`) has

.. math::

    F(\\varepsilon) = \\exp\\Big(-\\sum_m \\Big(\\sum_j
        (\\alpha_{jm} e^{-\\varepsilon_j})^{1/\\lambda_m}\\Big)^{\\lambda_m}\\Big),

a max-stable distribution drawn exactly as a maximum over the nests: with
:math:`Z^{(m)}` independent logistic vectors of parameter :math:`\\lambda_m` (above),
:math:`\\varepsilon_j = \\max_m (Z^{(m)}_j + \\log \\alpha_{jm})` gives
:math:`P(\\varepsilon \\le y) = \\prod_m P(Z^{(m)}_j \\le y_j - \\log\\alpha_{jm}\\ \\forall j)`,
which is F; the margins are standard Gumbel because each alternative's allocations sum to one.
"""

from __future__ import annotations

import numpy as np

from choicemodels.kernels.cross_nested import cross_nested_log_probabilities
from choicemodels.kernels.nested import nested_log_probabilities

__all__ = [
    "positive_stable_log",
    "nested_errors",
    "nested_logit_log_probabilities",
    "cross_nested_errors",
    "cross_nested_logit_log_probabilities",
]


def positive_stable_log(a: np.ndarray, u_exp: np.ndarray, w_exp: np.ndarray) -> np.ndarray:
    """:math:`\\log S` for positive stable :math:`S`, :math:`E[e^{-tS}] = e^{-t^a}`, :math:`0 < a < 1`.

    Kanter's (1975) representation (Chambers, Mallows and Stuck, 1976), in log space:

    .. math::

        S = \\frac{\\sin(aU)}{\\sin(U)^{1/a}}
            \\Big(\\frac{\\sin((1-a)U)}{W}\\Big)^{(1-a)/a},

    :math:`U` uniform on :math:`(0, \\pi)`, :math:`W` standard exponential.

    Parameters
    ----------
    a : ndarray, shape (K,)
        Stability indices in (0, 1) (1 itself is degenerate, :math:`S = 1`: leave it out).
    u_exp, w_exp : ndarray, shape (N, K)
        Standard exponential draws; ``u_exp`` becomes :math:`U = \\pi (1 - e^{-u})`.

    Returns
    -------
    ndarray, shape (N, K)
        :math:`\\log S`.

    Examples
    --------
    >>> import numpy as np
    >>> positive_stable_log(np.array([0.5]), np.array([[np.log(2.0)]]), np.array([[1.0]])).round(6)
    array([[-0.693147]])
    """
    U = -np.pi * np.expm1(-u_exp)
    return (np.log(np.sin(a * U)) - np.log(np.sin(U)) / a
            + (1 - a) / a * (np.log(np.sin((1 - a) * U)) - np.log(w_exp)))


def nested_errors(out: np.ndarray, draws: np.ndarray, nest_of: np.ndarray, iv: np.ndarray) -> None:
    """Fill ``out`` (N, J) with nested-GEV errors :math:`\\lambda_k (\\log S_k - \\log E_j)`.

    Parameters
    ----------
    out : ndarray, shape (N, J)
        Receives the errors.
    draws : ndarray, shape (N, J + 2M)
        Standard exponentials: :math:`E` in the first J columns, then the two exponentials
        of each of the M nests with :math:`\\lambda < 1` (``u`` block, then ``w`` block).
    nest_of : ndarray, shape (J,), int
        Nest of each alternative.
    iv : ndarray, shape (K,)
        Nest parameters in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty((1, 2))
    >>> nested_errors(out, np.array([[1.0, 2.0]]), np.array([0, 1]), np.array([1.0, 1.0]))
    >>> out.round(4)  # iid Gumbel -log E when every nest has iv 1
    array([[-0.    , -0.6931]])
    """
    J = out.shape[1]
    dependent = np.flatnonzero(iv < 1)
    M = dependent.size
    np.log(draws[:, :J], out=out)
    if M:
        log_s = np.zeros((out.shape[0], iv.size))
        log_s[:, dependent] = positive_stable_log(iv[dependent], draws[:, J:J + M], draws[:, J + M:])
        np.subtract(log_s[:, nest_of], out, out=out)
    else:
        np.negative(out, out=out)
    out *= iv[nest_of]


def nested_logit_log_probabilities(V: np.ndarray, nest_of: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Nested-logit log probabilities in log space (log-sum-exp within and across nests).

    .. math::

        \\log P_j = V_j/\\lambda_k + (\\lambda_k - 1)\\log S_k
            - \\log \\sum_m e^{\\lambda_m \\log S_m}, \\qquad
        \\log S_k = \\log \\sum_{i \\in k} e^{V_i/\\lambda_k}, \\quad j \\in k.

    Parameters
    ----------
    V : ndarray, shape (N, J)
        Utilities; ``-inf`` marks an unavailable alternative (at least one finite per row).
    nest_of : ndarray, shape (J,), int
        Nest of each alternative.
    iv : ndarray, shape (K,)
        Nest parameters, positive.

    Returns
    -------
    ndarray, shape (N, J)
        :math:`\\log P`, ``-inf`` for unavailable alternatives.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.zeros((1, 3))
    >>> np.exp(nested_logit_log_probabilities(V, np.array([0, 0, 1]), np.array([0.5, 1.0]))).round(4)
    array([[0.2929, 0.2929, 0.4142]])
    """
    available = V > -np.inf
    return nested_log_probabilities(np.where(available, V, 0.0), iv, available, nest_of)


def cross_nested_errors(out: np.ndarray, draws: np.ndarray, log_alpha: np.ndarray, iv: np.ndarray) -> None:
    """Fill ``out`` (N, J) with cross-nested GEV errors :math:`\\max_m (Z^{(m)}_j + \\log\\alpha_{jm})`.

    Parameters
    ----------
    out : ndarray, shape (N, J)
        Receives the errors.
    draws : ndarray, shape (N, A + 2M)
        Standard exponentials: one per (alternative, nest) pair with
        :math:`\\alpha_{jm} > 0` (A of them, nest by nest), then the two exponentials of each
        of the M nests with :math:`\\lambda < 1` (``u`` block, then ``w`` block).
    log_alpha : ndarray, shape (J, K)
        Log allocations, ``-inf`` outside a nest; every row's allocations sum to one.
    iv : ndarray, shape (K,)
        Nest parameters in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty((1, 2))
    >>> log_alpha = np.array([[0.0, -np.inf], [np.log(0.5), np.log(0.5)]])
    >>> cross_nested_errors(out, np.array([[1.0, 2.0, 0.5]]), log_alpha, np.array([1.0, 1.0]))
    >>> out.round(4)  # alternative 1: max(-log 2 + log 0.5, -log 0.5 + log 0.5)
    array([[0., 0.]])
    """
    member = np.isfinite(log_alpha)
    A = int(member.sum())
    dependent = np.flatnonzero(iv < 1)
    M = dependent.size
    log_s = np.zeros((out.shape[0], iv.size))
    if M:
        log_s[:, dependent] = positive_stable_log(iv[dependent], draws[:, A:A + M], draws[:, A + M:A + 2 * M])
    out.fill(-np.inf)
    start = 0
    for m in range(iv.size):
        js = np.flatnonzero(member[:, m])
        z = iv[m] * (log_s[:, m:m + 1] - np.log(draws[:, start:start + js.size])) + log_alpha[js, m]
        start += js.size
        np.maximum(out[:, js], z, out=z)
        out[:, js] = z


def cross_nested_logit_log_probabilities(V: np.ndarray, log_alpha: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Cross-nested logit log probabilities in log space (:mod:`choicemodels.kernels.cross_nested`).

    Parameters
    ----------
    V : ndarray, shape (N, J)
        Utilities; ``-inf`` marks an unavailable alternative (at least one finite per row).
    log_alpha : ndarray, shape (J, K)
        Log allocations, ``-inf`` outside a nest.
    iv : ndarray, shape (K,)
        Nest parameters, positive.

    Returns
    -------
    ndarray, shape (N, J)
        :math:`\\log P`, ``-inf`` for unavailable alternatives.

    Examples
    --------
    >>> import numpy as np
    >>> log_alpha = np.array([[0.0, -np.inf], [0.0, -np.inf], [-np.inf, 0.0]])
    >>> V = np.zeros((1, 3))
    >>> np.exp(cross_nested_logit_log_probabilities(V, log_alpha, np.array([0.5, 1.0]))).round(4)
    array([[0.2929, 0.2929, 0.4142]])
    """
    available = V > -np.inf
    return cross_nested_log_probabilities(np.where(available, V, 0.0), iv, log_alpha, available)
