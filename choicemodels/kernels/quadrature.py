r"""Probit choice probabilities with independent errors by Gauss-Hermite quadrature.

With independent errors :math:`e_j \sim N(0, s_j^2)` (``"iid"``: all :math:`s_j = 1`;
``"heteroskedastic"``), conditioning on the chosen alternative's error
:math:`e_c = s_c z` leaves a one-dimensional integral for any number of alternatives:

.. math:: P(c) = \int \phi(z) \prod_{k} \Phi(t_k(z))\,dz, \qquad
   t_k(z) = \frac{b_k + s_c z}{s_k}, \quad b_k = V_c - V_{j_k},

evaluated as :math:`\log P = \operatorname{logsumexp}_i(\log\omega_i + \sum_k\log\Phi(t_k(z_i)))`
on Gauss-Hermite nodes :math:`z_i = \sqrt2 x_i`, :math:`\omega_i = w_i/\sqrt\pi`. The
integrand is entire and 64 nodes reproduce adaptive quadrature to about 1e-15 for
utility differences of several standard deviations. With normalised node weights
:math:`\pi_i` and :math:`\lambda = \phi/\Phi`, the exact gradient of the rule is

.. math:: \frac{\partial\log P}{\partial b_k} = \sum_i \pi_i \frac{\lambda(t_{ik})}{s_k},\quad
   \frac{\partial\log P}{\partial s_c} = \sum_{i,k} \pi_i \frac{\lambda(t_{ik}) z_i}{s_k},\quad
   \frac{\partial\log P}{\partial s_k} = -\sum_i \pi_i \frac{\lambda(t_{ik}) t_{ik}}{s_k}.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

__all__ = ["gauss_hermite_normal", "independent_log_prob"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@lru_cache(maxsize=8)
def gauss_hermite_normal(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights of Gauss-Hermite quadrature for ``E f(Z)``, Z ~ N(0, 1).

    Returns
    -------
    nodes, log_weights : ndarray, shape (n_nodes,)
        ``E f(Z) ~ sum(exp(log_weights) * f(nodes))``; read-only arrays.
    """
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    with np.errstate(divide="ignore"):
        out = np.sqrt(2.0) * x, np.log(w) - 0.5 * np.log(np.pi)
    for arr in out:
        arr.flags.writeable = False
    return out


def independent_log_prob(
    b: np.ndarray,
    scale_chosen: float,
    scales: np.ndarray,
    *,
    n_nodes: int = 64,
    grad: bool = False,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    r""":math:`\log P(c)` for independent normal errors, by Gauss-Hermite quadrature.

    Parameters
    ----------
    b : ndarray, shape (n, m)
        :math:`V_c - V_{j_k}` for the m other available alternatives.
    scale_chosen : float
        :math:`s_c`.
    scales : ndarray, shape (m,)
        :math:`s_{j_k}`.
    n_nodes : int
        Quadrature nodes Q.
    grad : bool
        Also return the gradient.

    Returns
    -------
    log_p : ndarray, shape (n,)
    gradient : tuple (d_b (n, m), d_scale_chosen (n,), d_scales (n, m)) or None
    """
    nodes, log_weights = gauss_hermite_normal(n_nodes)
    t = (b[:, None, :] + scale_chosen * nodes[None, :, None]) / scales  # (n, Q, m)
    log_cdf = special.log_ndtr(t)
    log_terms = log_weights + log_cdf.sum(axis=2)  # (n, Q)
    log_p = special.logsumexp(log_terms, axis=1)
    if not grad:
        return log_p, None
    node_weights = np.exp(log_terms - log_p[:, None])
    t_bar = node_weights[:, :, None] * np.exp(-0.5 * t**2 - log_cdf - _LOG_SQRT_2PI)
    d_b = t_bar.sum(axis=1) / scales
    d_scale_chosen = np.einsum("nqm,q,m->n", t_bar, nodes, 1.0 / scales)
    d_scales = -np.einsum("nqm,nqm->nm", t_bar, t) / scales
    return log_p, (d_b, d_scale_chosen, d_scales)
