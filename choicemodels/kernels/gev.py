"""Nested (two-level GEV) kernels: exact error draws and the nested-logit probabilities.

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
"""

from __future__ import annotations

import numpy as np

from choicemodels.kernels.nested import nested_log_probabilities

__all__ = ["positive_stable_log", "nested_errors", "nested_logit_log_probabilities"]


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
