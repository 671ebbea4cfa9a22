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

import numpy as np

__all__ = ["nested_log_probabilities", "nested_scores"]


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
