r"""Error covariance of multinomial probit, differencing, and closed-form normal CDFs.

Model and normalisation
-----------------------
Utilities are :math:`U_{ij} = x_{ij}'\beta + e_{ij}` with :math:`e_i \sim N(0, \Sigma)`.
Only utility differences matter, so the covariance is parameterised on the
``M = J - 1`` error differences against the reference alternative ``ref``:

.. math:: \Omega = \operatorname{cov}(e_j - e_{ref},\ j \ne ref) = L L',
   \qquad \Omega \in \mathbb{R}^{M \times M},

rows and columns in the order of the non-reference alternatives. Three structures, each
with a free parameter vector ``theta`` of length P:

``"iid"``
    :math:`e \sim N(0, I_J)`, so :math:`\Omega = I + 11'`; P = 0. The scale is fixed by
    :math:`\operatorname{var}(e_j) = 1`.
``"heteroskedastic"``
    :math:`e_j \sim N(0, s_j^2)` independent, :math:`s_{ref} = 1` (scale);
    ``theta = log s_j`` for ``j != ref`` (P = J - 1), so
    :math:`\Omega = \operatorname{diag}(s_{-ref}^2) + 11'`. Identified for J >= 3.
``"unstructured"``
    :math:`\Omega = L L'` with ``L`` lower-triangular and the scale fixed by
    :math:`L_{00} = 1`, i.e. :math:`\Omega_{00} = 1`. ``theta`` lists the other elements
    of ``L`` row by row, ``(1,0), (1,1), (2,0), (2,1), (2,2), ...``; the diagonal ones
    enter as logarithms, :math:`L_{kk} = \exp\theta`, so every ``theta`` gives a
    positive-definite :math:`\Omega` with a unique factor. P = J(J-1)/2 - 1; with J = 2
    nothing is free (the model is not identified beyond the scale). Note the
    normalisation differs from ``"iid"``: the iid model is :math:`\Omega = (I + 11')/2`
    here, with every coefficient divided by :math:`\sqrt{2}`.

Names of ``theta`` (:func:`cov_param_names`) use the alternative labels:
``log_sd(bus)`` for heteroskedastic scales, ``L(bus,air)`` and ``log_L(bus,bus)`` for the
Cholesky elements (row alternative first).

Differencing against the chosen alternative
-------------------------------------------
For a situation with chosen alternative ``c`` and other available alternatives
``j_1..j_m`` (m of them), the choice event is :math:`e_{j} - e_c < V_c - V_j` for all
``j``; the vector :math:`e_j - e_c = d_j - d_c` (with :math:`d_j = e_j - e_{ref}`,
:math:`d_{ref} = 0`) is :math:`A_c d`, so

.. math:: P = \Phi_m\big(b;\ \Sigma_c\big), \quad b_k = V_c - V_{j_k}, \quad
   \Sigma_c = A_c \Omega A_c',

with :func:`difference_matrix` giving :math:`A_c` (m x M).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

__all__ = [
    "Structure",
    "bvn_cdf",
    "bvn_log_cdf",
    "bvn_log_cdf_grad",
    "cholesky_derivative",
    "cov_param_names",
    "cov_start",
    "diff_covariance",
    "difference_matrix",
    "n_cov_params",
]

Structure = Literal["iid", "heteroskedastic", "unstructured"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _tril_positions(n_dims: int) -> list[tuple[int, int]]:
    """Free positions of ``L`` (unstructured): the lower triangle without (0, 0)."""
    return [(k, l) for k in range(n_dims) for l in range(k + 1) if (k, l) != (0, 0)]


def n_cov_params(structure: Structure, n_alts: int) -> int:
    """Number P of free covariance parameters for J = ``n_alts`` alternatives."""
    if structure == "iid":
        return 0
    if structure == "heteroskedastic":
        return n_alts - 1
    return n_alts * (n_alts - 1) // 2 - 1


def cov_param_names(structure: Structure, labels: list | tuple, ref: int) -> list[str]:
    """Readable names of ``theta``, length P.

    Parameters
    ----------
    labels : sequence, length J
        Alternative labels in column order.
    ref : int
        Index of the reference alternative.

    Examples
    --------
    >>> cov_param_names("unstructured", ["air", "bus", "car"], ref=2)
    ['L(bus,air)', 'log_L(bus,bus)']
    """
    others = [str(a) for j, a in enumerate(labels) if j != ref]
    if structure == "iid":
        return []
    if structure == "heteroskedastic":
        return [f"log_sd({a})" for a in others]
    return [
        f"log_L({others[k]},{others[l]})" if k == l else f"L({others[k]},{others[l]})"
        for k, l in _tril_positions(len(others))
    ]


def cov_start(structure: Structure, n_alts: int) -> np.ndarray:
    """``theta`` of the iid model in each structure's normalisation, shape (P,)."""
    if structure != "unstructured":
        return np.zeros(n_cov_params(structure, n_alts))
    n_dims = n_alts - 1
    chol = np.linalg.cholesky((np.eye(n_dims) + 1.0) / 2.0)
    chol = chol / chol[0, 0]
    return np.array(
        [np.log(chol[k, l]) if k == l else chol[k, l] for k, l in _tril_positions(n_dims)]
    )


def diff_covariance(
    theta: np.ndarray, structure: Structure, n_alts: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Covariance of the error differences against ``ref`` and its derivatives.

    Parameters
    ----------
    theta : ndarray, shape (P,)
    structure : {"iid", "heteroskedastic", "unstructured"}
    n_alts : int
        J.

    Returns
    -------
    omega : ndarray, shape (M, M)
        :math:`\Omega`, M = J - 1.
    d_omega : ndarray, shape (P, M, M)
        :math:`\partial\Omega / \partial\theta_p`.
    """
    n_dims = n_alts - 1
    theta = np.asarray(theta, dtype=float)
    if structure == "iid":
        return np.eye(n_dims) + 1.0, np.zeros((0, n_dims, n_dims))
    if structure == "heteroskedastic":
        var = np.exp(2.0 * theta)
        d_omega = np.zeros((n_dims, n_dims, n_dims))
        d_omega[np.arange(n_dims), np.arange(n_dims), np.arange(n_dims)] = 2.0 * var
        return np.diag(var) + 1.0, d_omega
    positions = _tril_positions(n_dims)
    chol = np.zeros((n_dims, n_dims))
    chol[0, 0] = 1.0
    d_chol = np.zeros((len(positions), n_dims, n_dims))
    for p, (k, l) in enumerate(positions):
        chol[k, l] = np.exp(theta[p]) if k == l else theta[p]
        d_chol[p, k, l] = chol[k, l] if k == l else 1.0
    d_omega = d_chol @ chol.T
    return chol @ chol.T, d_omega + d_omega.transpose(0, 2, 1)


def difference_matrix(chosen: int, others: np.ndarray, ref: int, n_alts: int) -> np.ndarray:
    """Map ``d = (e_j - e_ref)_{j != ref}`` to ``(e_j - e_c)`` for ``j`` in ``others``.

    Parameters
    ----------
    chosen : int
        c, the alternative differenced against.
    others : ndarray of int, shape (m,)
        The other available alternatives, in the order of the result's rows.
    ref : int
    n_alts : int
        J.

    Returns
    -------
    ndarray, shape (m, J - 1)
        :math:`A_c` with :math:`e_{others} - e_c = A_c d`.
    """
    unit = np.delete(np.eye(n_alts), ref, axis=1)  # (J, M): row j is d-coordinates of e_j - e_ref
    return unit[np.asarray(others, dtype=int)] - unit[chosen]


def cholesky_derivative(chol: np.ndarray, d_cov: np.ndarray) -> np.ndarray:
    r"""Forward-mode derivative of the Cholesky factor.

    For :math:`\Sigma = C C'` and a perturbation :math:`d\Sigma`,

    .. math:: dC = C\, \Phi_{low}(C^{-1}\, d\Sigma\, C^{-T}),

    where :math:`\Phi_{low}` keeps the lower triangle and halves the diagonal.

    Parameters
    ----------
    chol : ndarray, shape (m, m)
        Lower Cholesky factor C.
    d_cov : ndarray, shape (P, m, m)
        Symmetric perturbations of :math:`\Sigma`.

    Returns
    -------
    ndarray, shape (P, m, m)
    """
    inv = np.linalg.inv(chol)
    inner = inv @ d_cov @ inv.T
    inner = np.tril(inner) - 0.5 * np.eye(chol.shape[0]) * inner
    return chol @ inner


_NEGLIGIBLE = 1e-17


def bvn_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    r"""Standard bivariate normal CDF :math:`\Phi_2(h, k; \rho)` via Owen's T.

    .. math:: \Phi_2 = \tfrac12\Phi(h) + \tfrac12\Phi(k) - T(h, a_h) - T(k, a_k) - \beta,
       \quad a_h = \frac{k - \rho h}{h\sqrt{1-\rho^2}},\ a_k = \frac{h - \rho k}{k\sqrt{1-\rho^2}},

    with :math:`\beta = \tfrac12` if :math:`hk < 0` or (:math:`hk = 0` and
    :math:`h + k < 0`), else 0, and :math:`\Phi_2(0, 0; \rho) = 1/4 + \arcsin(\rho)/(2\pi)`. Exact to rounding in absolute terms (about 1e-16);
    relative accuracy degrades for probabilities far below that. Requires
    :math:`|\rho| < 1`. All arguments broadcast.
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, rho)))
    # |dPhi_2/dh| <= phi(0) < 0.4: arguments below 1e-17 move it by less than rounding, and
    # as 0 they keep products such as h k from underflowing to the wrong limit
    h, k = (np.where(np.abs(a) < _NEGLIGIBLE, 0.0, a) for a in (h, k))
    root = np.sqrt(1.0 - rho**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_h = _owen_slope(k - rho * h, h * root)
        a_k = _owen_slope(h - rho * k, k * root)
    beta = np.where((h * k < 0) | ((h * k == 0) & (h + k < 0)), 0.5, 0.0)
    value = (
        0.5 * special.ndtr(h)
        + 0.5 * special.ndtr(k)
        - special.owens_t(h, a_h)
        - special.owens_t(k, a_k)
        - beta
    )
    origin = (h == 0) & (k == 0)  # limit depends on direction: use the orthant formula
    value = np.where(origin, 0.25 + np.arcsin(rho) / (2 * np.pi), value)
    return np.clip(value, 0.0, 1.0)


def _owen_slope(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with ``den == 0`` mapped to ``sign(num) * inf`` (0 if num == 0)."""
    return np.where(den == 0, np.sign(num) * np.inf, num / np.where(den == 0, 1.0, den))


def bvn_log_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    r""":math:`\log\Phi_2(h, k; \rho)`, accurate also where :math:`\Phi_2` underflows.

    Owen's T (:func:`bvn_cdf`) where :math:`\Phi_2 \ge 10^{-6}` (relative error below
    1e-10 there); below, the log of

    .. math:: \Phi_2 = \int_{-\infty}^{h} \phi(x)\,
       \Phi\!\Big(\frac{k - \rho x}{\sqrt{1-\rho^2}}\Big)\,dx

    by Gauss-Legendre on the interval where the log-integrand, concave with curvature at
    most -1, lies within 40 of its maximum (:func:`_bvn_log_cdf_tail`). Requires
    :math:`|\rho| < 1`; arguments broadcast.
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, rho)))
    value = bvn_cdf(h, k, rho)
    tail = value < _TAIL
    with np.errstate(divide="ignore"):  # tail entries are replaced below
        log_p = np.array(np.log(value))
    if np.any(tail):
        log_p[tail] = _bvn_log_cdf_tail(h[tail], k[tail], rho[tail])
    return log_p[()]


_TAIL = 1e-6  # below this, Owen's T (absolute error ~1e-16) loses relative accuracy
_LEVEL = 40.0  # the tail integral keeps the log-integrand within this of its maximum
_TAIL_NODES, _TAIL_WEIGHTS = np.polynomial.legendre.leggauss(64)


def _bisect(fun, lo: np.ndarray, hi: np.ndarray, n_steps: int = 64) -> np.ndarray:
    """Root of ``fun`` (positive at ``lo``, negative at ``hi``) by bisection, elementwise."""
    for _ in range(n_steps):
        mid = 0.5 * (lo + hi)
        up = fun(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def _bvn_log_cdf_tail(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    r"""Log of the integral in :func:`bvn_log_cdf`, shape (n,) for arguments (n,).

    The log-integrand :math:`\ell(x) = \log\phi(x) + \log\Phi((k - \rho x)/r)` has
    :math:`\ell'' \le -1`, so its maximiser :math:`x^*` on :math:`(-\infty, h]` and the
    level set :math:`\{\ell \ge \ell(x^*) - 40\}`, within :math:`\sqrt{80}` of
    :math:`x^*`, are found by bisection; 64-point Gauss-Legendre on that set, summed in
    log space (truncation below :math:`e^{-40}` relative).
    """
    # Phi_2 is symmetric: integrating over the variable with the smaller limit keeps the
    # other's step, of width sqrt(1 - rho^2) at k / rho, out of the range (rho near 1)
    h, k = np.minimum(h, k), np.maximum(h, k)
    root = np.sqrt(1.0 - rho**2)

    def ell(x):
        return -0.5 * x**2 + special.log_ndtr((k - rho * x) / root)

    def slope(x):
        z = (k - rho * x) / root
        return -x - rho / root * np.exp(-0.5 * z**2 - _LOG_SQRT_2PI - special.log_ndtr(z))

    lo = h - 1.0  # move left until the slope is positive (it tends to +inf as x -> -inf)
    for _ in range(64):
        flat = slope(lo) <= 0
        if not np.any(flat):
            break
        lo = np.where(flat, 2.0 * lo - h, lo)
    mode = np.where(slope(h) >= 0, h, _bisect(slope, lo, h))
    top = ell(mode)
    reach = np.sqrt(2.0 * _LEVEL)
    left = _bisect(lambda x: top - _LEVEL - ell(x), mode - reach, mode)
    right_end = np.minimum(mode + reach, h)
    right = np.where(ell(right_end) >= top - _LEVEL, right_end,
                     _bisect(lambda x: ell(x) - (top - _LEVEL), mode, right_end))
    half = 0.5 * (right - left)
    x = (left + right)[:, None] / 2 + half[:, None] * _TAIL_NODES
    log_terms = -0.5 * x**2 + special.log_ndtr((k[:, None] - rho[:, None] * x) / root[:, None])
    return (special.logsumexp(log_terms, b=_TAIL_WEIGHTS, axis=1) + np.log(half)
            - _LOG_SQRT_2PI)


def bvn_log_cdf_grad(
    h: np.ndarray, k: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`\log\Phi_2(h, k; \rho)` and its gradient.

    .. math:: \frac{\partial\Phi_2}{\partial h} = \phi(h)\,\Phi\!\Big(\frac{k - \rho h}{\sqrt{1-\rho^2}}\Big),
       \qquad \frac{\partial\Phi_2}{\partial\rho} = \phi_2(h, k; \rho)
       = \frac{\exp\{-(h^2 - 2\rho hk + k^2) / (2(1-\rho^2))\}}{2\pi\sqrt{1-\rho^2}}.

    Returns
    -------
    log_p, d_h, d_k, d_rho : ndarrays, broadcast shape
        :math:`\log\Phi_2` and its derivatives with respect to h, k and rho.
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, rho)))
    log_p = bvn_log_cdf(h, k, rho)
    one_minus = 1.0 - rho**2
    root = np.sqrt(one_minus)
    log_phi_h = -0.5 * h**2 - 0.5 * np.log(2 * np.pi)
    log_phi_k = -0.5 * k**2 - 0.5 * np.log(2 * np.pi)
    d_h = np.exp(log_phi_h + special.log_ndtr((k - rho * h) / root) - log_p)
    d_k = np.exp(log_phi_k + special.log_ndtr((h - rho * k) / root) - log_p)
    quad_form = (h**2 - 2 * rho * h * k + k**2) / (2 * one_minus)
    d_rho = np.exp(-quad_form - np.log(2 * np.pi * root) - log_p)
    return log_p, d_h, d_k, d_rho
