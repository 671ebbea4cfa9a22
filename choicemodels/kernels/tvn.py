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
correlations at t, and :math:`\Phi_2` is Genz's BVNU (:func:`_bvn`), compiled. The
integrand is analytic but for the zero of :math:`\det R(t)` just beyond t = 1, so
Gauss-Legendre converges geometrically at a rate its distance sets (Bernstein's ellipse):
the number of nodes is chosen per row for 1e-16 (4 to 24 nodes, about 9 where R is well
conditioned), and where R is close to singular the interval is cut into pieces graded
towards t = 1 (:func:`_plackett_integral`). Measured: absolute errors below 1e-16 against
a 79-point rule for determinants down to 1e-9, and 3e-14 in P against quadrature of
scipy's bivariate CDF for determinants 1e-6 to 1e-2 (a fixed 32-point rule erred by up
to 5e-6 there). Where :math:`\Phi_3 < 10^{-8}` that absolute accuracy is not enough, and
the log comes instead from :math:`\int_{-\infty}^{h_f}\phi(x)\,\Phi_2(\cdot \mid x)\,dx`
in log space, the inner :math:`\log\Phi_2` the same kind of integral
(:func:`_log_integral`: the log-integrand is concave, so its mode and the level set 40
below it, found by regula falsi, bracket the mass; 32-point Gauss-Legendre on each side of
the mode), compiled, about 0.08 ms a row with the gradient (0.2 ms with 64 points over
level sets found by bisection, whose results it repeats to 3e-11 in log P at
:math:`|\log P|` up to 1.6e5).

Gradient
--------
In the correlations, in closed form:
:math:`\partial\Phi_3/\partial r_{jk} = \phi_2(h_j, h_k; r_{jk})\,\Phi\big(h_{l\mid jk}\big)`.
In the limits, Plackett's sum differentiated term by term where one rule serves (one
more exponential a node; measured within 3e-16 of the closed form in
:math:`\partial\Phi_3/\partial h`), else the closed form

.. math:: \frac{\partial\Phi_3}{\partial h_j} = \phi(h_j)\,
   \Phi_2\big(h_{k\mid j}, h_{l\mid j}; r_{kl\mid j}\big),

with :math:`h_{k\mid j} = (h_k - r_{jk} h_j)/\sqrt{1 - r_{jk}^2}` and :math:`r_{kl\mid j}` the
partial correlation (its bivariate CDFs in logs in the tail). Value and gradient, about
1.7 microseconds a row. These functions perform no validation: :math:`R` must be
positive definite.
"""

from __future__ import annotations

import math

import numpy as np

from choicemodels.kernels.jit import njit
from choicemodels.kernels.mapped_rule import _cdf
from choicemodels.kernels.ghk import _log_cdf
from choicemodels.kernels.mvn import _LEVEL, _LOG_SQRT_2PI
from choicemodels.kernels.mvn import _TAIL as _BVN_TAIL

__all__ = ["tvn_log_cdf", "tvn_log_cdf_grad"]

_TAIL = 1e-8  # below this, Plackett's sum (absolute error ~1e-16) loses relative accuracy
# (f, u, v) when the largest |r| is r_01, r_02, r_12; positions of r_fu, r_fv, r_uv in r
_LAYOUT = np.array([[2, 0, 1, 1, 2, 0], [1, 0, 2, 0, 2, 1], [0, 1, 2, 0, 1, 2]])
# (j, k, l) with the positions of r_jk, r_jl, r_kl in r, for the derivative in h_j
_BY_LIMIT = np.array([[0, 1, 2, 0, 1, 2], [1, 0, 2, 0, 2, 1], [2, 0, 1, 1, 2, 0]])


def _legendre_on_unit_interval(sizes):
    """Gauss-Legendre nodes and weights on [0, 1], row n the n-point rule (zero-padded)."""
    nodes, weights = (np.zeros((sizes + 1, sizes)) for _ in range(2))
    for n in range(1, sizes + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        nodes[n, :n], weights[n, :n] = 0.5 * (x + 1.0), 0.5 * w
    return nodes, weights


_MAX_NODES = 24  # one Gauss-Legendre rule up to this many nodes; beyond, graded pieces
_PIECE_NODES = 12  # per graded piece: its nearest singularity at least its width away
_MIN_NODES = 4
_LOG_TOLERANCE = np.log(1e16)  # the Bernstein bound rho^(-2n) aimed at
_RULE_T, _RULE_W = _legendre_on_unit_interval(_MAX_NODES)


def _positive_half_rules(sizes):
    """Positive Gauss-Legendre nodes and their weights, row i the sizes[i]-point rule's
    (zero-padded): Genz's BVNU uses each node x as 1 - x and 1 + x."""
    nodes, weights = (np.zeros((len(sizes), max(sizes) // 2)) for _ in range(2))
    for i, n in enumerate(sizes):
        x, w = np.polynomial.legendre.leggauss(n)
        nodes[i, :n // 2], weights[i, :n // 2] = x[n // 2:], w[n // 2:]
    return nodes, weights


_BVN_NODES, _BVN_WEIGHTS = _positive_half_rules((6, 12, 20))
_TWO_PI = 2.0 * np.pi


_jit = njit(nogil=True, error_model="numpy")


@_jit
def _ndtr(x):
    r""":math:`\Phi(x)`, accurate in both tails."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@_jit
def _bvn(h, k, r):
    r""":math:`\Phi_2(h, k; r)`, compiled, to about 1e-15 absolute: Genz's BVNU (Drezner
    and Wesolowsky's Gauss-Legendre integral over :math:`\arcsin r` for :math:`|r| < 0.925`,
    else the integral in :math:`\sqrt{1 - r^2}` with its singular part subtracted in closed
    form; A. Genz, 2004, Statistics and Computing 14, 251-260), on the upper orthant
    :math:`\Pr(x > -h, y > -k)`."""
    h, k = -h, -k
    if r == 0.0:
        return _ndtr(-h) * _ndtr(-k)
    rule = 0 if abs(r) < 0.3 else (1 if abs(r) < 0.75 else 2)
    hk = h * k
    total = 0.0
    if abs(r) < 0.925:
        hs = 0.5 * (h * h + k * k)
        asr = 0.5 * math.asin(r)
        for i in range(_BVN_NODES.shape[1]):
            w = _BVN_WEIGHTS[rule, i]
            if w == 0.0:
                break
            for x in (1.0 - _BVN_NODES[rule, i], 1.0 + _BVN_NODES[rule, i]):
                sn = math.sin(asr * x)
                total += w * math.exp((sn * hk - hs) / (1.0 - sn * sn))
        return total * asr / _TWO_PI + _ndtr(-h) * _ndtr(-k)
    if r < 0.0:
        k, hk = -k, -hk
    if abs(r) < 1.0:
        one_minus = (1.0 - r) * (1.0 + r)
        a = math.sqrt(one_minus)
        bs = (h - k) ** 2
        asr = -0.5 * (bs / one_minus + hk)
        c = (4.0 - hk) / 8.0
        d = (12.0 - hk) / 80.0
        if asr > -100.0:
            total = a * math.exp(asr) * (1.0 - c * (bs - one_minus) * (1.0 - d * bs) / 3.0
                                         + c * d * one_minus**2)
        if hk > -100.0:
            b = math.sqrt(bs)
            total -= (math.exp(-0.5 * hk) * math.sqrt(_TWO_PI) * _ndtr(-b / a) * b
                      * (1.0 - c * bs * (1.0 - d * bs) / 3.0))
        a *= 0.5
        inner = 0.0
        for i in range(_BVN_NODES.shape[1]):
            w = _BVN_WEIGHTS[rule, i]
            if w == 0.0:
                break
            for x in (1.0 - _BVN_NODES[rule, i], 1.0 + _BVN_NODES[rule, i]):
                xs = (a * x) ** 2
                asr = -0.5 * (bs / xs + hk)
                if asr > -100.0:
                    rs = math.sqrt(1.0 - xs)
                    sp = 1.0 + c * xs * (1.0 + 5.0 * d * xs)
                    ep = math.exp(-0.5 * hk * xs / (1.0 + rs) ** 2) / rs
                    inner += w * math.exp(asr) * (sp - ep)
        total = (a * inner - total) / _TWO_PI
    if r > 0.0:
        return max(0.0, min(1.0, total + _ndtr(-max(h, k))))
    if h >= k:
        return max(0.0, min(1.0, -total))
    between = _ndtr(k) - _ndtr(h) if h < 0.0 else _ndtr(-h) - _ndtr(-k)
    return max(0.0, min(1.0, between - total))


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
def _plackett_term(z, x, y, a, c, d, grad):
    r""":math:`T = \phi_2(z, x; a)\,\Phi(w)`, w the standardised limit of y given z and x,
    for correlations a (z, x), c (z, y), d (x, y); with ``grad`` also
    :math:`\partial T/\partial (z, x, y)` (else zeros)."""
    one_minus = 1.0 - a * a
    root = math.sqrt(one_minus * (one_minus - c * c - d * d + 2.0 * a * c * d))
    w = (one_minus * y - (c - a * d) * z - (d - a * c) * x) / root
    cdf, log_scale, _ = _cdf(w, False)
    log_density = _log_phi2(z, x, a)
    term = math.exp(log_density + log_scale) * cdf
    if not grad:
        return term, 0.0, 0.0, 0.0
    at_w = math.exp(log_density - 0.5 * w * w - _LOG_SQRT_2PI) / root  # phi_2 phi(w) / root
    return (term, -term * (z - a * x) / one_minus - at_w * (c - a * d),
            -term * (x - a * z) / one_minus - at_w * (d - a * c), at_w * one_minus)


@_jit
def _plackett_sum(h_f, h_u, h_v, a, c, d, lo, hi, n, grad):
    """The n-point Gauss-Legendre sum of the module's integrand over t in [lo, hi], and with
    ``grad`` its derivatives in (h_f, h_u, h_v)."""
    total, d_f, d_u, d_v = 0.0, 0.0, 0.0, 0.0
    for q in range(n):
        t = lo + (hi - lo) * _RULE_T[n, q]
        w = (hi - lo) * _RULE_W[n, q]
        one, one_f, one_u, one_v = _plackett_term(h_f, h_u, h_v, t * a, t * c, d, grad)
        two, two_f, two_v, two_u = _plackett_term(h_f, h_v, h_u, t * c, t * a, d, grad)
        total += w * (a * one + c * two)
        d_f += w * (a * one_f + c * two_f)
        d_u += w * (a * one_u + c * two_u)
        d_v += w * (a * one_v + c * two_v)
    return total, d_f, d_u, d_v


@_jit
def _plackett_integral(h_f, h_u, h_v, a, c, d, grad):
    r"""The module's integral over t in [0, 1], its derivatives in (h_f, h_u, h_v) (the
    same sum differentiated; with ``grad`` and a single rule, else zeros), and whether
    they were computed. The integrand is analytic but for the zero
    of :math:`\det R(t) = 1 - d^2 - k t^2`, :math:`k = a^2 + c^2 - 2acd`, at
    :math:`t = 1 + \varepsilon`; Gauss-Legendre with n nodes then errs by about
    :math:`\rho^{-2n}`, :math:`\rho = z + \sqrt{z^2 - 1}`, :math:`z = 1 + 2\varepsilon`
    (Bernstein's ellipse), so n is chosen for 1e-16 (measured: 1e-16 in P and in its
    derivatives). Where that asks for more than 24 nodes (:math:`\varepsilon` below about
    0.15: R nearer singular) the interval is cut at :math:`1 - 2^{-j}` down to
    :math:`\varepsilon`, 12 nodes a piece, each piece then at least its width from the
    zero; the derivatives of that sum are less accurate (up to 1e-9 in P's measured) and
    are not returned."""
    k = a * a + c * c - 2.0 * a * c * d
    if k <= 0.0:  # a = c = 0: f independent of (u, v)
        return 0.0, 0.0, 0.0, 0.0, True
    ratio = max(1.0 - d * d - k, 0.0) / k
    eps = ratio / (math.sqrt(1.0 + ratio) + 1.0)
    z = 1.0 + 2.0 * eps
    n = math.ceil(0.5 * _LOG_TOLERANCE / math.log(z + math.sqrt(z * z - 1.0))) if eps > 0.0 \
        else _MAX_NODES + 1
    if n <= _MAX_NODES:
        total, d_f, d_u, d_v = _plackett_sum(h_f, h_u, h_v, a, c, d, 0.0, 1.0,
                                             max(n, _MIN_NODES), grad)
        return total, d_f, d_u, d_v, True
    total, lo, width = 0.0, 0.0, 0.5
    while lo < 1.0:
        hi = lo + width if width > eps and width > 1e-15 else 1.0
        total += _plackett_sum(h_f, h_u, h_v, a, c, d, lo, hi, _PIECE_NODES, False)[0]
        lo, width = hi, 0.5 * width
    return total, 0.0, 0.0, 0.0, False


@_jit
def _tvn_rows(h, r, grad, log_p, d_h, d_r):
    """log P by Plackett's reduction and, with ``grad``, its gradient, row by row; NaN in
    ``log_p`` where P < ``_TAIL`` (left to the log-space integral)."""
    for i in range(h.shape[0]):
        big = 0
        for p in range(1, 3):
            if abs(r[i, p]) > abs(r[i, big]):
                big = p
        f, u, v, fu, fv, uv = _LAYOUT[big]
        h_f, h_u, h_v, d = h[i, f], h[i, u], h[i, v], r[i, uv]
        cdf_f, pair = _ndtr(h_f), _bvn(h_u, h_v, d)
        value, d_f, d_u, d_v, differentiated = _plackett_integral(
            h_f, h_u, h_v, r[i, fu], r[i, fv], d, grad)
        value += cdf_f * pair
        if not value >= _TAIL:
            log_p[i] = np.nan
            continue
        log_p[i] = math.log(value)
        if not grad:
            continue
        if differentiated:  # the limits: Plackett's sum and Phi(h_f) Phi_2(h_u, h_v; d)
            root = math.sqrt(1.0 - d * d)
            d_h[i, f] = (d_f + math.exp(-0.5 * h_f * h_f - _LOG_SQRT_2PI) * pair) / value
            d_h[i, u] = (d_u + cdf_f * math.exp(-0.5 * h_u * h_u - _LOG_SQRT_2PI)
                         * _ndtr((h_v - d * h_u) / root)) / value
            d_h[i, v] = (d_v + cdf_f * math.exp(-0.5 * h_v * h_v - _LOG_SQRT_2PI)
                         * _ndtr((h_u - d * h_v) / root)) / value
        else:  # in closed form: d/dh_j = phi(h_j) Phi_2(k, l given j)
            for j, k, l, jk, jl, kl in _BY_LIMIT:
                s_k, s_l = math.sqrt(1.0 - r[i, jk] ** 2), math.sqrt(1.0 - r[i, jl] ** 2)
                inner = _bvn((h[i, k] - r[i, jk] * h[i, j]) / s_k,
                             (h[i, l] - r[i, jl] * h[i, j]) / s_l,
                             (r[i, kl] - r[i, jk] * r[i, jl]) / (s_k * s_l))
                d_h[i, j] = math.exp(-0.5 * h[i, j] ** 2 - _LOG_SQRT_2PI) * inner / value
        # the correlations in closed form: d/dr_kl = phi_2(h_k, h_l) Phi(j's limit given k, l)
        for j, k, l, jk, jl, kl in _BY_LIMIT:
            given = _conditional_limit(h[i, k], h[i, l], h[i, j], r[i, kl], r[i, jk],
                                       r[i, jl])
            d_r[i, kl] = math.exp(_log_phi2(h[i, k], h[i, l], r[i, kl])) * _ndtr(given) / value


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
    >>> round(float(np.exp(tvn_log_cdf(np.zeros((1, 3)), np.full((1, 3), 0.5))[0])), 15)
    0.25
    """
    return _tvn(h, r, grad=False)[0]


def _tvn(h, r, grad):
    """log P and (with ``grad``) its gradient: Plackett's sum, then the tail's integral."""
    h = np.ascontiguousarray(h, dtype=float)
    r = np.ascontiguousarray(r, dtype=float)
    log_p = np.empty(len(h))
    d_h, d_r = np.empty_like(h), np.empty_like(r)
    _tvn_rows(h, r, grad, log_p, d_h, d_r)
    tail = np.isnan(log_p)
    if np.any(tail):
        h_t, r_t = h[tail], r[tail]
        rows = np.arange(len(h_t))
        layout = _LAYOUT[np.argmax(np.abs(r_t), axis=1)]
        log_p[tail] = _tvn_log_cdf_tail(*(h_t[rows, layout[:, i]] for i in range(3)),
                                        *(r_t[rows, layout[:, 3 + i]] for i in range(3)))
        if grad:
            d_h[tail], d_r[tail] = _tail_gradient(h_t, r_t, log_p[tail])
    return log_p, d_h, d_r


_REACH = np.sqrt(2.0 * _LEVEL)
_MODE_TOL = 1e-3  # the split of the rule need not be the exact maximiser
_END_TOL = 1e-2  # an end this far out of the level set adds nothing: the integrand is e^-40
_ROOT_STEPS = 30
_HALF_NODES, _HALF_WEIGHTS = np.polynomial.legendre.leggauss(32)
# compiled on first use in each process: numba does not cache functions passed as arguments
_tail_jit = njit(cache=False, nogil=True, error_model="numpy")


@_tail_jit
def _bracket(fun, params, shift, a, b, fa, fb, tol):
    """A bracket (a, b) no wider than ``tol`` of a root of ``fun(x, params) - shift``
    (``fa``, ``fb``: its values at a and b, of opposite signs), by the Illinois variant of
    regula falsi."""
    for _ in range(_ROOT_STEPS):
        if abs(b - a) < tol:
            break
        c = (a * fb - b * fa) / (fb - fa)
        fc = fun(c, params) - shift
        if fc == 0.0:
            return c, c
        if (fc > 0.0) == (fb > 0.0):
            fa *= 0.5
        else:
            a, fa = b, fb
        b, fb = c, fc
    return a, b


@_tail_jit
def _outer(a, b, centre):
    """Of a bracket's ends, the one farther from ``centre``."""
    return a if abs(a - centre) > abs(b - centre) else b


@_tail_jit
def _log_integral(ell, slope, h, params):
    r""":math:`\log\int_{-\infty}^{h} e^{\ell(x)}\,dx` for a log-integrand with
    :math:`\ell'' \le -1`, compiled (the bivariate tail of
    :func:`~choicemodels.kernels.mvn.bvn_log_cdf` in scalars): the maximiser of
    :math:`\ell` on :math:`(-\infty, h]` and the level set 40 below it by regula falsi
    (Illinois), then 32-point Gauss-Legendre in log space on each side of the maximiser.
    ``ell(x, params)`` and ``slope(x, params)`` (:math:`\ell'`) are compiled functions.
    The NumPy version stays for the bivariate tail alone, which it vectorises at no
    compile cost (numba does not cache this one); nested inside the trivariate tail its
    per-call cost made it about 10 ms a row."""
    lo = h - 1.0
    slope_lo = slope(lo, params)
    for _ in range(64):
        if slope_lo > 0.0:
            break
        lo = 2.0 * lo - h
        slope_lo = slope(lo, params)
    mode = h
    slope_h = slope(h, params)
    if slope_h < 0.0:
        a, b = _bracket(slope, params, 0.0, lo, h, slope_lo, slope_h, _MODE_TOL)
        mode = 0.5 * (a + b)
    top = ell(mode, params)
    floor = top - _LEVEL
    left = mode - _REACH  # the level set lies within _REACH of the mode (ell'' <= -1)
    ell_left = ell(left, params) - floor
    if ell_left < 0.0:
        left = _outer(*_bracket(ell, params, floor, left, mode, ell_left, _LEVEL, _END_TOL),
                      mode)
    right = min(mode + _REACH, h)
    ell_right = ell(right, params) - floor
    if ell_right < 0.0:
        right = _outer(*_bracket(ell, params, floor, mode, right, _LEVEL, ell_right,
                                 _END_TOL), mode)
    total = 0.0
    for lo_end, hi_end in ((left, mode), (mode, right)):
        half = 0.5 * (hi_end - lo_end)
        if half <= 0.0:
            continue
        for q in range(_HALF_NODES.size):
            x = 0.5 * (lo_end + hi_end) + half * _HALF_NODES[q]
            total += half * _HALF_WEIGHTS[q] * np.exp(ell(x, params) - top)
    return top + np.log(total)


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
    value = _bvn(h, k, rho)
    if value >= _BVN_TAIL:  # Genz's absolute 1e-16 is relative 1e-10 here
        return math.log(value)
    low, high = min(h, k), max(h, k)  # the smaller limit outside, as in mvn's tail
    return _log_integral(_ell_bvn, _slope_bvn, low, (high, rho, np.sqrt(1.0 - rho * rho)))


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
    return _tvn(h, r, grad=True)


@_tail_jit
def _tail_gradient(h, r, log_p):
    """The closed-form gradient where P underflows Plackett's sum, row by row: its
    bivariate CDFs in logs (:func:`_log_bvn`)."""
    d_h = np.empty_like(h)
    d_r = np.empty_like(r)
    for i in range(h.shape[0]):
        for j, k, l, jk, jl, kl in _BY_LIMIT:
            s_k, s_l = math.sqrt(1.0 - r[i, jk] ** 2), math.sqrt(1.0 - r[i, jl] ** 2)
            inner = _log_bvn((h[i, k] - r[i, jk] * h[i, j]) / s_k,
                             (h[i, l] - r[i, jl] * h[i, j]) / s_l,
                             (r[i, kl] - r[i, jk] * r[i, jl]) / (s_k * s_l))
            d_h[i, j] = math.exp(-0.5 * h[i, j] ** 2 - _LOG_SQRT_2PI + inner - log_p[i])
            given = _conditional_limit(h[i, k], h[i, l], h[i, j], r[i, kl], r[i, jk],
                                       r[i, jl])
            d_r[i, kl] = math.exp(_log_phi2(h[i, k], h[i, l], r[i, kl])
                                  + _log_cdf(given)[0] - log_p[i])
    return d_h, d_r
