r"""Cross-nested logit: log-probabilities and per-situation scores, in log space.

Shapes: N situations, J alternatives, K coefficients, M nests. Alternative j belongs to
nest m with the allocation :math:`\alpha_{jm} \ge 0` (:math:`\sum_m \alpha_{jm} = 1`;
:math:`\alpha_{jm} = 0`, passed as :math:`\log\alpha_{jm} = -\infty`, outside the nest);
nest m has the inclusive-value parameter :math:`\lambda_m > 0`. Bierlaire's (2006)
generating function, normalised at the top,

.. math::
    G(y) = \sum_m \Big(\sum_j (\alpha_{jm} y_j)^{1/\lambda_m}\Big)^{\lambda_m},

gives, with :math:`w_{jm} = (\log\alpha_{jm} + V_j)/\lambda_m`, the nest's log-sum
:math:`I_m = \log\sum_{j \in m,\ \text{avail}} e^{w_{jm}}` and
:math:`L = \log\sum_m e^{\lambda_m I_m}`,

.. math::
    \log P_j = \log \sum_m \exp\big(\underbrace{w_{jm} - I_m}_{\log q_{j|m}}
        + \underbrace{\lambda_m I_m - L}_{\log Q_m}\big),

differences of log-sums, finite for utilities in the thousands and :math:`\lambda` near 0.
Every :math:`\alpha_{jm} \in \{0, 1\}` with one nest per alternative is the nested logit.
No validation here: the model checks its inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cross_nested_log_probabilities", "cross_nested_scores"]


def _logsumexp(A: np.ndarray, axis: int) -> np.ndarray:
    """:math:`\\log \\sum e^{A}` along ``axis`` (removed); ``-inf`` where every entry is ``-inf``.

    Along a short axis (alternatives, nests) the max and the sum run slice by slice: numpy's
    reductions over a short inner axis are an order of magnitude slower.
    """
    if A.shape[axis] > 16:
        m = np.max(A, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        with np.errstate(divide="ignore"):
            return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(A - m), axis=axis))
    slices = np.moveaxis(A, axis, 0)
    m = slices[0].copy()
    for a in slices[1:]:
        np.maximum(m, a, out=m)
    m[~np.isfinite(m)] = 0.0
    total = np.exp(slices[0] - m)
    for a in slices[1:]:
        total += np.exp(a - m)
    with np.errstate(divide="ignore"):
        return m + np.log(total)


def _logs(V, lam, log_alpha, avail):
    """``(log q (N, J, M), log Q (N, M), log P (N, J), I (N, M))``: ``-inf`` where an
    alternative is unavailable or outside a nest, and for nests with none available."""
    with np.errstate(invalid="ignore"):
        W = np.where(avail[:, :, None], (log_alpha[None] + V[:, :, None]) / lam, -np.inf)
    inclusive = _logsumexp(W, axis=1)  # (N, M)
    finite = np.isfinite(inclusive)
    with np.errstate(invalid="ignore"):
        logq = np.where(np.isfinite(W), W - np.where(finite, inclusive, 0.0)[:, None, :], -np.inf)
    top = np.where(finite, lam * np.where(finite, inclusive, 0.0), -np.inf)
    logQ = top - _logsumexp(top, axis=1)[:, None]
    logP = _logsumexp(logq + logQ[:, None, :], axis=2)
    return logq, logQ, logP, inclusive


def cross_nested_log_probabilities(
    V: np.ndarray, lam: np.ndarray, log_alpha: np.ndarray, avail: np.ndarray
) -> np.ndarray:
    r"""(N, J) log choice probabilities (``-inf`` if unavailable).

    V (N, J) utilities, lam (M,) positive nest parameters, log_alpha (J, M) the log
    allocations (``-inf`` outside a nest), avail (N, J) bool.
    """
    return _logs(V, lam, log_alpha, avail)[2]


def cross_nested_scores(
    beta: np.ndarray,
    lam: np.ndarray,
    log_alpha: np.ndarray,
    X: np.ndarray,
    chosen: np.ndarray,
    avail: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Log-likelihood (N,) and its scores in :math:`\beta` (N, K), :math:`\lambda` (N, M)
    and :math:`a = \log\alpha` (N, J, M).

    With :math:`r_m = q_{c|m} Q_m / P_c` the probability of nest m given the chosen c,
    :math:`\bar x_m = \sum_j q_{j|m} x_j` and the entropy
    :math:`H_m = -\sum_j q_{j|m}\log q_{j|m}`,

    .. math::
        \frac{\partial \log P_c}{\partial \beta} &= \sum_m r_m\Big(\frac{x_c}{\lambda_m}
            + \Big(1 - \frac{1}{\lambda_m}\Big)\bar x_m\Big) - \sum_j P_j x_j, \\
        \frac{\partial \log P_c}{\partial \lambda_m} &= r_m\Big(\Big(1 - \frac{1}{\lambda_m}\Big)H_m
            - \frac{\log q_{c|m}}{\lambda_m}\Big) - Q_m H_m, \\
        \frac{\partial \log P_c}{\partial a_{jm}} &= \frac{r_m\,([j = c] + (\lambda_m - 1) q_{j|m})}{\lambda_m}
            - Q_m q_{j|m}

    (the nested logit's formulas with :math:`r_m` in place of the indicator of c's nest).
    """
    n = X.shape[0]
    rows = np.arange(n)
    logq, logQ, logP, _ = _logs(X @ beta, lam, log_alpha, avail)
    loglike = logP[rows, chosen]
    q = np.exp(logq)
    Q = np.exp(logQ)
    P = np.exp(logP)
    logq_c = logq[rows, chosen]  # (N, M)
    r = np.exp(logq_c + logQ - loglike[:, None])
    q_logq = np.where(q > 0, q * np.where(q > 0, logq, 0.0), 0.0)
    entropy = -q_logq.sum(axis=1)  # (N, M)
    xbar = np.einsum("njm,njk->nmk", q, X)  # (N, M, K)
    score_beta = (X[rows, chosen] * (r / lam).sum(axis=1)[:, None]
                  + np.einsum("nm,nmk->nk", r * (1.0 - 1.0 / lam), xbar)
                  - np.einsum("nj,njk->nk", P, X))
    inside = r > 0
    score_lam = (np.where(inside, r * ((1.0 - 1.0 / lam) * entropy
                                       - np.where(inside, logq_c, 0.0) / lam), 0.0)
                 - Q * entropy)
    score_loga = ((r / lam)[:, None, :] * (lam - 1.0) - Q[:, None, :]) * q
    score_loga[rows, chosen] += r / lam
    score_loga[:, ~np.isfinite(log_alpha)] = 0.0
    return loglike, score_beta, score_lam, score_loga
