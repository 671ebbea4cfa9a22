r"""The standard trivariate normal CDF and its gradient, in logs.

:math:`\Phi_3(h; R)` for limits :math:`h = (h_0, h_1, h_2)` and correlations
:math:`r = (r_{01}, r_{02}, r_{12})`, vectorised over rows.

Value
-----
Plackett's (1954) reduction in Genz's form (A. Genz, 2004, "Numerical computation of
rectangular bivariate and trivariate normal and t probabilities", Statistics and
Computing 14, eq. 14): with f the variable whose two correlations are the smallest and
(u, v) the pair with the largest, move :math:`r_{fu}, r_{fv}` to :math:`t r_{fu}, t r_{fv}`,

.. math:: \Phi_3 = \Phi(h_f)\,\Phi_2(h_u, h_v; r_{uv}) + \int_0^1 \Big[
   r_{fu}\,\phi_2(h_f, h_u; t r_{fu})\,\Phi\big(w_v(t)\big)
   + r_{fv}\,\phi_2(h_f, h_v; t r_{fv})\,\Phi\big(w_u(t)\big)\Big]\,dt,

where :math:`w_v(t)` is v's standardised limit given :math:`x_f = h_f, x_u = h_u` under the
correlations at t, by 32-point Gauss-Legendre (the integrand is smooth where R is
not close to singular: absolute errors up to about 1e-14 measured), compiled. Where
:math:`\Phi_3 < 10^{-8}` that absolute accuracy is not enough (measured above it: relative
errors below 2e-8 for P in [1e-8, 1e-6) and 2e-7 above, the largest where R is close to
singular), and the log comes instead
from :math:`\int_{-\infty}^{h_f}\phi(x)\,\Phi_2(\cdot \mid x)\,dx` in log space, the
inner :math:`\log\Phi_2` the same kind of integral (:func:`_log_integral`: the
log-integrand is concave, so its mode and the level set 40 below it bracket the mass;
64-point Gauss-Legendre there), compiled, about 0.4 ms a row.

Gradient
--------
Exact, in closed form from bivariate and univariate CDFs:

.. math:: \frac{\partial\Phi_3}{\partial h_j} = \phi(h_j)\,
   \Phi_2\big(h_{k\mid j}, h_{l\mid j}; r_{kl\mid j}\big), \qquad
   \frac{\partial\Phi_3}{\partial r_{jk}} = \phi_2(h_j, h_k; r_{jk})\,\Phi\big(h_{l\mid jk}\big),

with :math:`h_{k\mid j} = (h_k - r_{jk} h_j)/\sqrt{1 - r_{jk}^2}` and :math:`r_{kl\mid j}` the
partial correlation. These functions perform no validation: :math:`R` must be positive
definite.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from choicemodels.kernels.jit import njit
from choicemodels.kernels.mapped_rule import _cdf
from choicemodels.kernels.ghk import _log_cdf
from choicemodels.kernels.mvn import _LEVEL, _LOG_SQRT_2PI, _TAIL_NODES, _TAIL_WEIGHTS
from choicemodels.kernels.mvn import bvn_cdf, bvn_log_cdf

__all__ = ["tvn_log_cdf", "tvn_log_cdf_grad"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_T, _W = 0.5 * (_NODES + 1.0), 0.5 * _WEIGHTS  # on [0, 1]
_TAIL = 1e-8  # below this, Plackett's sum (absolute error ~1e-16) loses relative accuracy
# (f, u, v) when the largest |r| is r_01, r_02, r_12; positions of r_fu, r_fv, r_uv in r
_LAYOUT = np.array([[2, 0, 1, 1, 2, 0], [1, 0, 2, 0, 2, 1], [0, 1, 2, 0, 1, 2]])


_jit = njit(nogil=True, error_model="numpy")


@_jit
def _log_phi2(x, y, rho):
    """Log of the standard bivariate normal density (scalars or arrays)."""
    one_minus = 1.0 - rho**2
    return (-(x**2 - 2.0 * rho * x * y + y**2) / (2.0 * one_minus)
            - 2.0 * _LOG_SQRT_2PI - 0.5 * np.log(one_minus))


@_jit
def _conditional_limit(h_f, h_u, h_v, a, c, d):
    """v's standardised limit given :math:`x_f = h_f, x_u = h_u`, for correlations
    :math:`r_{fu} = a, r_{fv} = c, r_{uv} = d` (scalars or arrays)."""
    one_minus = 1.0 - a**2
    det = one_minus - c**2 - d**2 + 2.0 * a * c * d
    return (one_minus * h_v - (c - a * d) * h_f - (d - a * c) * h_u) / np.sqrt(one_minus * det)


@_jit
def _plackett_term(z, x, y, a, c, d):
    r""":math:`\phi_2(z, x; a)\,\Phi(w)`, w the standardised limit of y given z and x, for
    correlations a (z, x), c (z, y), d (x, y)."""
    cdf, log_scale, _ = _cdf(_conditional_limit(z, x, y, a, c, d), False)
    return np.exp(_log_phi2(z, x, a) + log_scale) * cdf


@_jit
def _add_plackett_integral(h_f, h_u, h_v, a, c, d, out):
    """Add the module's integral over t to ``out``, row by row (compiled: two
    exponentials and two normal CDFs per node)."""
    for i in range(out.size):
        total = 0.0
        for q in range(_T.size):
            ta, tc = _T[q] * a[i], _T[q] * c[i]
            total += _W[q] * (a[i] * _plackett_term(h_f[i], h_u[i], h_v[i], ta, tc, d[i])
                              + c[i] * _plackett_term(h_f[i], h_v[i], h_u[i], tc, ta, d[i]))
        out[i] += total


def tvn_log_cdf(h: np.ndarray, r: np.ndarray) -> np.ndarray:
    r""":math:`\log\Phi_3(h; R)` (see the module).

    Parameters
    ----------
    h : ndarray, shape (n, 3)
        Upper limits.
    r : ndarray, shape (n, 3)
        Correlations :math:`(r_{01}, r_{02}, r_{12})`.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> # all correlations 1/2: P(x < 0) = 1/4 (Steck's orthant formula, 1/8 + 3 asin(1/2)/(4 pi))
    >>> float(np.exp(tvn_log_cdf(np.zeros((1, 3)), np.full((1, 3), 0.5))[0]))
    0.25
    """
    h = np.asarray(h, dtype=float)
    r = np.asarray(r, dtype=float)
    rows = np.arange(len(h))
    layout = _LAYOUT[np.argmax(np.abs(r), axis=1)]
    h_f, h_u, h_v = (h[rows, layout[:, i]] for i in range(3))
    a, c, d = (r[rows, layout[:, 3 + i]] for i in range(3))
    value = special.ndtr(h_f) * bvn_cdf(h_u, h_v, d)
    _add_plackett_integral(h_f, h_u, h_v, a, c, d, value)
    tail = ~(value >= _TAIL)
    with np.errstate(divide="ignore", invalid="ignore"):  # tail entries are replaced
        log_p = np.log(value)
    if np.any(tail):
        log_p[tail] = _tvn_log_cdf_tail(h_f[tail], h_u[tail], h_v[tail], a[tail], c[tail],
                                        d[tail])
    return log_p


_REACH = np.sqrt(2.0 * _LEVEL)
_BISECTIONS = 16  # the ends need not be exact: the truncation is at exp(-40)
# compiled on first use in each process: numba does not cache functions passed as arguments
_tail_jit = njit(cache=False, nogil=True, error_model="numpy")


@_tail_jit
def _log_integral(ell, slope, h, params):
    r""":math:`\log\int_{-\infty}^{h} e^{\ell(x)}\,dx` for a log-integrand with
    :math:`\ell'' \le -1`, compiled (the bivariate tail of
    :func:`~choicemodels.kernels.mvn.bvn_log_cdf` in scalars): the maximiser of
    :math:`\ell` on :math:`(-\infty, h]` and the level set 40 below it by bisection, then
    64-point Gauss-Legendre in log space. ``ell(x, params)``
    and ``slope(x, params)`` (:math:`\ell'`) are compiled functions. The NumPy version
    stays for the bivariate tail alone, which it vectorises at no compile cost (numba does
    not cache this one); nested inside the trivariate tail its per-call cost made it about
    10 ms a row."""
    lo = h - 1.0
    for _ in range(64):
        if slope(lo, params) > 0.0:
            break
        lo = 2.0 * lo - h
    mode = h
    if slope(h, params) < 0.0:
        a, b = lo, h
        for _ in range(_BISECTIONS):
            mid = 0.5 * (a + b)
            if slope(mid, params) > 0.0:
                a = mid
            else:
                b = mid
        mode = 0.5 * (a + b)
    floor = ell(mode, params) - _LEVEL
    a, b = mode - _REACH, mode  # the left end of the level set
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        if ell(mid, params) < floor:
            a = mid
        else:
            b = mid
    left, right = 0.5 * (a + b), min(mode + _REACH, h)
    if ell(right, params) < floor:
        a, b = mode, right
        for _ in range(_BISECTIONS):
            mid = 0.5 * (a + b)
            if ell(mid, params) >= floor:
                a = mid
            else:
                b = mid
        right = 0.5 * (a + b)
    half = 0.5 * (right - left)
    total = 0.0
    for q in range(_TAIL_NODES.size):
        x = 0.5 * (left + right) + half * _TAIL_NODES[q]
        total += _TAIL_WEIGHTS[q] * np.exp(ell(x, params) - floor - _LEVEL)
    return floor + _LEVEL + np.log(total * half)


@_tail_jit
def _ell_bvn(x, params):
    """:math:`\\log\\phi(x) + \\log\\Phi((k - \\rho x)/r)`, params (k, rho, r)."""
    k, rho, root = params
    return -0.5 * x * x - _LOG_SQRT_2PI + _log_cdf((k - rho * x) / root)[0]


@_tail_jit
def _slope_bvn(x, params):
    k, rho, root = params
    return -x - rho / root * _log_cdf((k - rho * x) / root)[1]


@_tail_jit
def _log_bvn(h, k, rho):
    r""":math:`\log\Phi_2(h, k; \rho)` as :math:`\log\int_{-\infty}^{h}\phi(x)
    \Phi((k - \rho x)/\sqrt{1 - \rho^2})\,dx`, accurate at any magnitude."""
    return _log_integral(_ell_bvn, _slope_bvn, h, (k, rho, np.sqrt(1.0 - rho * rho)))


@_tail_jit
def _ell_tvn(x, params):
    """:math:`\\log\\phi(x) + \\log\\Phi_2(\\cdot \\mid x)`, params (h_u, a, s_a, h_v, c, s_c,
    partial correlation)."""
    h_u, a, s_a, h_v, c, s_c, partial = params
    return -0.5 * x * x - _LOG_SQRT_2PI + _log_bvn((h_u - a * x) / s_a, (h_v - c * x) / s_c,
                                                    partial)


@_tail_jit
def _slope_tvn(x, params):
    h_u, a, s_a, h_v, c, s_c, partial = params
    y, z = (h_u - a * x) / s_a, (h_v - c * x) / s_c
    log_p = _log_bvn(y, z, partial)
    root = np.sqrt(1.0 - partial * partial)
    d_y = np.exp(-0.5 * y * y - _LOG_SQRT_2PI + _log_cdf((z - partial * y) / root)[0] - log_p)
    d_z = np.exp(-0.5 * z * z - _LOG_SQRT_2PI + _log_cdf((y - partial * z) / root)[0] - log_p)
    return -x - a / s_a * d_y - c / s_c * d_z


@_tail_jit
def _tvn_log_cdf_tail(h_f, h_u, h_v, a, c, d):
    r""":math:`\log\int_{-\infty}^{h_f}\phi(x)\,\Phi_2\big((h_u - a x)/s_a, (h_v - c x)/s_c;
    r_{uv\mid f}\big)\,dx`, :math:`s_a = \sqrt{1 - a^2}`, row by row."""
    out = np.empty(h_f.size)
    for i in range(h_f.size):
        s_a, s_c = np.sqrt(1.0 - a[i] ** 2), np.sqrt(1.0 - c[i] ** 2)
        partial = (d[i] - a[i] * c[i]) / (s_a * s_c)
        out[i] = _log_integral(_ell_tvn, _slope_tvn, h_f[i],
                               (h_u[i], a[i], s_a, h_v[i], c[i], s_c, partial))
    return out


# (j, k, l) with the positions of r_jk, r_jl, r_kl in r, for the derivative in h_j
_BY_LIMIT = ((0, 1, 2, 0, 1, 2), (1, 0, 2, 0, 2, 1), (2, 0, 1, 1, 2, 0))


def tvn_log_cdf_grad(h: np.ndarray, r: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r""":math:`\log\Phi_3(h; R)` and its gradient (see the module).

    Parameters
    ----------
    h : ndarray, shape (n, 3)
    r : ndarray, shape (n, 3)
        As in :func:`tvn_log_cdf`.

    Returns
    -------
    log_p : ndarray, shape (n,)
    d_h : ndarray, shape (n, 3)
        :math:`\partial\log\Phi_3/\partial h`.
    d_r : ndarray, shape (n, 3)
        :math:`\partial\log\Phi_3/\partial r`, in the order of ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> h, r = np.array([[0.3, -0.2, 0.5]]), np.array([[0.4, -0.3, 0.2]])
    >>> log_p, d_h, d_r = tvn_log_cdf_grad(h, r)
    >>> step = np.array([[1e-6, 0.0, 0.0]])
    >>> numeric = (tvn_log_cdf(h + step, r) - tvn_log_cdf(h - step, r)) / 2e-6
    >>> bool(abs(numeric[0] - d_h[0, 0]) < 1e-8)
    True
    """
    h = np.asarray(h, dtype=float)
    r = np.asarray(r, dtype=float)
    log_p = tvn_log_cdf(h, r)
    d_h = np.empty_like(h)
    d_r = np.empty_like(r)
    for j, k, l, jk, jl, kl in _BY_LIMIT:
        s_k, s_l = np.sqrt(1.0 - r[:, jk] ** 2), np.sqrt(1.0 - r[:, jl] ** 2)
        partial = (r[:, kl] - r[:, jk] * r[:, jl]) / (s_k * s_l)
        inner = bvn_log_cdf((h[:, k] - r[:, jk] * h[:, j]) / s_k,
                            (h[:, l] - r[:, jl] * h[:, j]) / s_l, partial)
        d_h[:, j] = np.exp(-0.5 * h[:, j] ** 2 - _LOG_SQRT_2PI + inner - log_p)
        # derivative in r_kl: phi_2(h_k, h_l) Phi(j's limit given k and l)
        given = _conditional_limit(h[:, k], h[:, l], h[:, j], r[:, kl], r[:, jk], r[:, jl])
        d_r[:, kl] = np.exp(_log_phi2(h[:, k], h[:, l], r[:, kl])
                            + special.log_ndtr(given) - log_p)
    return log_p, d_h, d_r
