r"""The quadrature rules of :mod:`choicemodels.kernels.quadrature`, compiled (numba): the
mapped trapezoid rule, and Gauss-Hermite for large inputs
(:func:`gauss_hermite_log_prob`).

One pass per row of ``b`` (N situations, m other alternatives), with no N-sized
temporary besides the outputs:

- the mode :math:`z^*` of :math:`\ell` by safeguarded Newton, :math:`\kappa`, and the
  node range, as the rule defines them;
- the nodes :math:`z_i = G^{-1}(G(z^*) + ih)` from left to right, each started from
  the quintic through z, dz/du and :math:`d^2z/du^2` at the previous two nodes and
  finished by one step of the inverse Taylor series (:func:`_invert`): one evaluation
  of G and its first four derivatives per node;
- :math:`\Phi(t_k)` and :math:`\lambda(t_k)` by Cody's rational approximations
  (:func:`_cdf`; no exponential in the lower tail), the node's term kept as
  :math:`p e^s` and summed relative to the exponent at the mode;
- :math:`\log P` and the sums of the gradient accumulated node by node.

G is a sum of :math:`c\operatorname{asinh}(a) = \pm c\log(|a| + \sqrt{1 + a^2})`, the
terms with c = 1 as one product, and the residual :math:`u - G` is taken from that
product and :math:`e^{-u}`: with every :math:`c_k = 1` a node costs two exponentials
(and one per alternative in the upper tail) and no logarithm. Against the same rule
evaluated in 40-digit arithmetic (400 random rows, scale ratios 1.5 to 8,100), log P
is exact to 1e-15 relative, d_b to 2e-14 of its largest component up to ratios of 100,
1e-13 up to 1,000 and 6e-13 beyond, and d_scales, whose sums cancel, to 2e-13, 1e-11
and 1e-9 of its largest: the rounding of the nodes themselves, half a unit in the last
place of z, moves :math:`t_k` by :math:`r_k` times as much.
Imported on first use, so that importing the package does not import numba; compiled
once and cached on disk (:mod:`~choicemodels.kernels.jit`).

These functions perform no validation.
"""

from __future__ import annotations

import math

import numpy as np

from choicemodels.kernels.jit import njit

__all__ = ["gauss_hermite_log_prob", "mapped_rule_log_prob"]

_INV_SQRT_2PI = 0.398942280401432677939946059934  # 1/sqrt(2 pi)
_SPLIT = 134217729.0  # 2^27 + 1: Dekker's splitting of a double into two 26-bit halves
# Cody's coefficients: Phi(t) - 1/2 = t A(t^2)/B(t^2) for |t| <= _CENTRAL; the tail ratio
# Phi(-y) e^{y^2/2} = C(y)/D(y) up to _FAR, (1/sqrt(2 pi) - P(1/y^2)/Q(1/y^2) / y^2) / y beyond
_CENTRAL = 0.67448975
_FAR = math.sqrt(32.0)
_A = (2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582,
      18154.981253343561249, 0.065682337918207449113)
_B = (47.20258190468824187, 976.09855173777669322, 10260.932208618978205,
      45507.789335026729956)
_C = (0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979,
      597.27027639480026226, 2494.5375852903726711, 6848.1904505362823326,
      11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8)
_D = (22.266688044328115691, 235.38790178262499861, 1519.377599407554805,
      6485.558298266760755, 18615.571640885098091, 34900.952721145977266,
      38912.003286093271411, 19685.429676859990727)
_P = (0.21589853405795699, 0.1274011611602473639, 0.022235277870649807,
      0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303)
_Q = (1.28426009614491121, 0.468238212480865118, 0.0659881378689285515,
      0.00378239633202758244, 7.29751555083966205e-5)
_TINY = 1e-250  # products below this are moved into a sum of logarithms
_HUGE = 1e150  # products (and factors) above this likewise
_STEP = 0.1  # trapezoid step h in u
_WEIGHT = _STEP * _INV_SQRT_2PI  # h phi(z) / G' = this e^{-z^2/2} / G'
_REACH = 10.0  # the rule covers |z - z*| <= _REACH
_TOL = 1e-13  # Newton stops once its step is below _TOL (1 + |z|)
_MAX_STEPS = 200
_RESCALE = 50.0  # the sums of node weights move to a larger reference beyond e^50

_jit = njit(nogil=True, error_model="numpy")
# inlined in numba's IR: no call, and no reference counting of the array arguments
_inline = njit(nogil=True, error_model="numpy", inline="always")


@_inline
def _tail_ratio(y):
    r""":math:`\Phi(-y) e^{y^2/2}` for y > ``_CENTRAL``, by Cody's rational approximations."""
    if y <= _FAR:
        num, den = _C[8] * y, y
        for i in range(7):
            num = (num + _C[i]) * y
            den = (den + _D[i]) * y
        return (num + _C[7]) / (den + _D[7])
    w = 1.0 / (y * y)
    num, den = _P[5] * w, w
    for i in range(4):
        num = (num + _P[i]) * w
        den = (den + _Q[i]) * w
    return (_INV_SQRT_2PI - w * (num + _P[4]) / (den + _Q[4])) / y


@_inline
def _cdf(t, mills):
    r""":math:`\Phi(t) = f e^{s}` as (f, s), and with ``mills`` the Mills ratio
    :math:`\lambda(t) = \phi(t)/\Phi(t)` (else 0), to a few units in the last place.

    Cody's rational approximations (W. J. Cody, Math. Comp. 23, 1969, 631-637, as in
    his ANORM, ACM TOMS 715): :math:`\Phi(t) - 1/2` for :math:`|t| \le 0.674`, else the
    tail ratio :math:`R(y) = \Phi(-y)e^{y^2/2}`, y = |t|. Below -0.674,
    :math:`f = R`, :math:`s = -t^2/2` (with :math:`t^2 = a^2 + (y - a)(y + a)`, a = y
    rounded down to a sixteenth, :math:`a^2` exact) and :math:`\lambda = 1/(\sqrt{2\pi}R)`:
    no exponential. Above 0.674, :math:`f = 1 - e^{-t^2/2}R` with :math:`t^2` split
    exactly into two doubles (Dekker); from 8.3, where :math:`\Phi(-t) < 2^{-54}`, f = 1
    exactly and :math:`\lambda = \phi(t)`; above 39, :math:`\lambda = 0` too.
    """
    if t > 39.0:
        return 1.0, 0.0, 0.0
    y = abs(t)
    if y <= _CENTRAL:
        w = t * t
        num, den = _A[4] * w, w
        for i in range(3):
            num = (num + _A[i]) * w
            den = (den + _B[i]) * w
        cdf = 0.5 + t * (num + _A[3]) / (den + _B[3])
        return cdf, 0.0, (math.exp(-0.5 * w) * _INV_SQRT_2PI / cdf if mills else 0.0)
    if t < 0.0:
        ratio = _tail_ratio(y)
        a = math.floor(16.0 * y) / 16.0
        return (ratio, -0.5 * (a * a) - 0.5 * ((y - a) * (y + a)),
                _INV_SQRT_2PI / ratio if mills else 0.0)
    if t >= 8.3 and not mills:  # Phi(-t) < 2^-54: 1 - Phi(-t) rounds to 1
        return 1.0, 0.0, 0.0
    split = _SPLIT * t
    high = split - (split - t)
    low = t - high
    square = t * t
    error = ((high * high - square) + 2.0 * high * low) + low * low  # t^2 - square
    density = math.exp(-0.5 * square) * (1.0 - 0.5 * error)  # e^{-t^2/2}
    if t >= 8.3:
        return 1.0, 0.0, density * _INV_SQRT_2PI
    cdf = 1.0 - density * _tail_ratio(t)
    return cdf, 0.0, density * _INV_SQRT_2PI / cdf


@_jit
def _mills(t):
    r""":math:`\lambda(t)`."""
    return _cdf(t, True)[2]


@_jit
def _mills_slope(t):
    r""":math:`-\lambda'(t) = \lambda(t)(t + \lambda(t))`; :math:`1 - t^{-2}` below -8 (as
    the rule defines :math:`\kappa`)."""
    if t < -8.0:
        return 1.0 - 1.0 / (t * t)
    lam = _mills(t)
    return lam * (t + lam)


@_jit
def _slope(z, ratios, steps):
    r""":math:`\ell'(z)` and :math:`\ell''(z)`."""
    first, second = 0.0, 0.0
    for k in range(ratios.shape[0]):
        t = ratios[k] * (z - steps[k])
        first += ratios[k] * _mills(t)
        second += ratios[k] * ratios[k] * _mills_slope(t)
    return -z + first, -1.0 - second


@_jit
def _mode(ratios, steps, upper):
    r"""Root of :math:`\ell'` in (0, upper): Newton steps, bisection when a step leaves
    the bracket or fails to halve the change before last (Numerical Recipes' rtsafe)."""
    lo, hi, x = 0.0, upper, 0.5 * upper
    change = earlier = hi - lo
    for _ in range(_MAX_STEPS):
        f, df = _slope(x, ratios, steps)
        if f > 0.0:
            lo = x
        else:
            hi = x
        newton = x - f / df
        bisect = not (lo <= newton <= hi) or abs(2.0 * (newton - x)) > abs(earlier)
        if abs(newton - x) <= _TOL * (1.0 + abs(x)):
            return x if bisect else newton
        new = 0.5 * (lo + hi) if bisect else newton
        earlier, change, x = change, new - x, new
    return x


@_inline
def _asinh_term(rate, gain, a):
    r"""For :math:`c\operatorname{asinh}(a)`, a = r(z - z_k): :math:`|a| + \rho` and the
    first four derivatives in z, :math:`c r/\rho`, :math:`-c r^2 a/\rho^3`,
    :math:`c r^3 (2a^2 - 1)/\rho^5` and :math:`c r^4 a (9 - 6a^2)/\rho^7`,
    :math:`\rho = \sqrt{1 + a^2}` (:math:`= |a|` in double precision beyond 1e8; the
    derivatives written with :math:`1/\rho^2` and :math:`a/\rho^2`, finite for any a)."""
    root = math.sqrt(1.0 + a * a) if abs(a) < 1e8 else abs(a)
    inv = 1.0 / root
    inv2 = inv * inv
    d1 = gain * rate * inv
    d2 = -d1 * rate * (a * inv2)
    d3 = d1 * rate * rate * inv2 * (2.0 - 3.0 * inv2)
    d4 = d1 * rate * rate * rate * (a * inv2) * (15.0 * inv2 - 6.0)
    return abs(a) + root, d1, d2, d3, d4


@_inline
def _map(z, mode, curv, rates, gains, centres):
    r""":math:`G(z) = s + \log p` as (s, p), and the first four derivatives of G.

    ``rates``, ``gains`` and ``centres`` are the :math:`r_k`, :math:`c_k` and
    :math:`z_k` of the terms with :math:`c_k > 0`. The terms with c = 1 (and the
    mode's) enter p, :math:`\prod_{a \ge 0} q / \prod_{a < 0} q` with
    :math:`q = |a| + \sqrt{1 + a^2}` (:math:`\operatorname{asinh}(a) = \pm\log q`), the
    others s.
    """
    a = curv * (z - mode)
    q, g1, g2, g3, g4 = _asinh_term(curv, 1.0, a)
    rising, falling = (q, 1.0) if a >= 0.0 else (1.0, q)
    logs = 0.0
    for k in range(rates.shape[0]):
        a = rates[k] * (z - centres[k])
        q, d1, d2, d3, d4 = _asinh_term(rates[k], gains[k], a)
        g1 += d1
        g2 += d2
        g3 += d3
        g4 += d4
        if gains[k] < 1.0 or q > _HUGE:
            logs += gains[k] * math.log(q) if a >= 0.0 else -gains[k] * math.log(q)
        elif a >= 0.0:
            rising *= q
            if rising > _HUGE:
                logs += math.log(rising)
                rising = 1.0
        else:
            falling *= q
            if falling > _HUGE:
                logs -= math.log(falling)
                falling = 1.0
    return logs, rising / falling, g1, g2, g3, g4


@_jit
def _map_at(z, mode, curv, rates, gains, centres):
    r""":math:`G(z)` and its first three derivatives (a call, for the few evaluations
    outside the node loop)."""
    logs, product, g1, g2, g3, _ = _map(z, mode, curv, rates, gains, centres)
    return logs + math.log(product), g1, g2, g3


@_inline
def _invert(u, shrink, lo, hi, x, mode, curv, rates, gains, centres):
    r""":math:`z = G^{-1}(u)` in (lo, hi) from x, with :math:`G'(z)`, :math:`1/G'(z)`,
    :math:`G''(z)` and :math:`G'''(z)`; ``shrink`` is :math:`e^{-u}`.

    At x, with :math:`n = (u - G)/G'` and :math:`A, B, C = G''/(2G'), G'''/(6G'),
    G''''/(24G')`, the inverse Taylor series :math:`\delta = n - An^2 + (2A^2 - B)n^3`
    leaves an error :math:`|5A^3 - 5AB + C|\,n^4`. Its step is final once that error is
    below :math:`10^{-17}(1 + |x|)`, the first term left out of the Taylor polynomial of
    :math:`G'(x + \delta)`, :math:`4|C n^3| G'`, below :math:`10^{-17} G'`, and
    :math:`|An| \le 10^{-3}`, :math:`|B| n^2 \le 10^{-6}` (where these estimates hold):
    started close enough, one evaluation of G. Else Newton steps, bisection when a step
    leaves the bracket or fails to halve the change before last (as Numerical Recipes'
    rtsafe), until that test passes or the step is below ``_TOL`` (1 + |x|).

    :math:`u - G = -\operatorname{log1p}(w)`, :math:`w = p e^{s - u} - 1` (a series for
    small w): no logarithm when s = 0, as with every :math:`c_k = 1`.
    """
    change = earlier = hi - lo
    for _ in range(_MAX_STEPS):
        logs, product, g1, g2, g3, g4 = _map(x, mode, curv, rates, gains, centres)
        inv = 1.0 / g1
        w = product * (shrink if logs == 0.0 else math.exp(logs - u)) - 1.0
        if abs(w) < 1e-4:
            n = -w * (1.0 - w * (0.5 - w * (1.0 / 3.0 - 0.25 * w))) * inv
        else:
            n = (u - logs - math.log(product)) * inv
        a, b, c = 0.5 * g2 * inv, g3 * inv / 6.0, g4 * inv / 24.0
        n2 = n * n
        n3 = n2 * n
        step = n - a * n2 + (2.0 * a * a - b) * n3
        new = x + step
        scale = 1.0 + abs(x)
        if (lo <= new <= hi and abs(a * n) <= 1e-3 and abs(b) * n2 <= 1e-6
                and 4.0 * abs(c * n3) <= 1e-17
                and abs((5.0 * a * (a * a - b) + c) * n3 * n) <= 1e-17 * scale):
            # G'(z) = G'(x)(1 + e); 1/G'(z) by the series in e while e^3 is negligible
            e = step * (g2 + 0.5 * step * g3) * inv
            slope = g1 * (1.0 + e)
            inv_slope = inv * (1.0 - e * (1.0 - e)) if abs(e) < 1e-6 else 1.0 / slope
            return new, slope, inv_slope, g2 + step * (g3 + 0.5 * step * g4), g3 + step * g4
        if n > 0.0:
            lo = x
        else:
            hi = x
        new = x + n
        if not (lo <= new <= hi) or abs(2.0 * n) > abs(earlier):
            new = 0.5 * (lo + hi)
        elif abs(n) <= _TOL * scale:
            _, g1, g2, g3 = _map_at(new, mode, curv, rates, gains, centres)
            return new, g1, 1.0 / g1, g2, g3
        earlier, change, x = change, new - x, new
    _, g1, g2, g3 = _map_at(x, mode, curv, rates, gains, centres)
    return x, g1, 1.0 / g1, g2, g3


@_inline
def _node(z, inv_slope, b, i, scale_chosen, scales, grad, t, lam):
    r"""The node's term :math:`h\phi(z)/G'(z) \prod_k \Phi(t_k) = p e^{s}` as (s, p),
    from :math:`1/G'(z)`; fills ``t`` with the :math:`t_k` and, with ``grad``, ``lam``
    with :math:`\lambda(t_k)`."""
    product, exponent = inv_slope * _WEIGHT, -0.5 * z * z
    for k in range(scales.shape[0]):
        t[k] = (b[i, k] + scale_chosen * z) / scales[k]
        factor, power, lam[k] = _cdf(t[k], grad)
        product *= factor
        exponent += power
        if product < _TINY:
            exponent += math.log(product)
            product = 1.0
    return exponent, product


@_jit
def _node_at(z, inv_slope, b, i, scale_chosen, scales, t, lam):
    r""":func:`_node` without ``lam``, as a call (once per row, at the mode)."""
    return _node(z, inv_slope, b, i, scale_chosen, scales, False, t, lam)


@_jit
def mapped_rule_log_prob(b, scale_chosen, scales, grad, first, last, log_p, d_b,
                         d_scale_chosen, d_scales):
    r"""Fill rows first..last-1 of ``log_p`` (N,) and, with ``grad``, ``d_b`` (N, m),
    ``d_scale_chosen`` (N,) and ``d_scales`` (N, m) for ``b`` (N, m), as
    :func:`~choicemodels.kernels.quadrature.independent_log_prob`."""
    n, m = b.shape
    ratios = np.empty(m)
    gain = np.empty(m)
    ratio_sum = 0.0
    n_steep = 0
    for k in range(m):
        ratios[k] = scale_chosen / scales[k]
        gain[k] = min(1.0, max(0.0, ratios[k] - 1.0))
        ratio_sum += ratios[k]
        n_steep += gain[k] > 0.0
    steep = np.empty(n_steep, dtype=np.int64)
    j = 0
    for k in range(m):
        if gain[k] > 0.0:
            steep[j] = k
            j += 1
    rates, gains, centres = ratios[steep], gain[steep], np.empty(n_steep)
    inv_scales = 1.0 / scales
    steps = np.empty(m)
    lam = np.empty(m)
    t = np.empty(m)
    sum_lam = np.empty(m)
    sum_lam_t = np.empty(m)
    for i in range(first, last):
        top = 0.0
        for k in range(m):
            steps[k] = -b[i, k] / scale_chosen
            top = max(top, steps[k])
        for j in range(n_steep):
            centres[j] = steps[steep[j]]
        mode = _mode(ratios, steps, top + 0.8 * ratio_sum + 1.0)  # l' < 0 at the upper end
        curv = math.sqrt(-_slope(mode, ratios, steps)[1])
        lo, hi = mode - _REACH, mode + _REACH
        u_mode, slope = _map_at(mode, mode, curv, rates, gains, centres)[:2]
        first = math.ceil((_map_at(lo, mode, curv, rates, gains, centres)[0] - u_mode) / _STEP)
        last = math.floor((_map_at(hi, mode, curv, rates, gains, centres)[0] - u_mode) / _STEP)
        if not (math.isfinite(first) and math.isfinite(last)):  # b not finite
            log_p[i] = np.nan
            if grad:
                d_scale_chosen[i] = np.nan
                d_b[i, :] = np.nan
                d_scales[i, :] = np.nan
            continue
        # the sum of the node terms p e^s, as e^{top_log} times the sum of p e^{s - top_log}
        # with top_log the exponent s at the mode (moved, with the gradient's sums, only if
        # a node's exponent passes it by _RESCALE; p is at most h/sqrt(2 pi) max 1/G')
        top_log = _node_at(mode, 1.0 / slope, b, i, scale_chosen, scales, t, lam)[0]
        total = 0.0
        sum_lam_z = 0.0
        sum_lam[:] = 0.0
        sum_lam_t[:] = 0.0
        z = back = lo
        dz = dz2 = dz3 = back_dz = back_dz2 = 0.0
        for q in range(int(last - first) + 1):
            u = u_mode + _STEP * (first + q)
            # the start: the quintic through z and its first two derivatives in u at the
            # previous two nodes; the cubic Taylor polynomial at the first node; the mode
            # term of G alone for the first node
            if q == 0:
                start = min(max(mode + math.sinh(u - u_mode) / curv, lo), hi)
            elif q == 1:
                start = z + _STEP * (dz + _STEP * (0.5 * dz2 + _STEP * dz3 / 6.0))
            else:
                start = (32.0 * z - 31.0 * back - _STEP * (14.0 * back_dz + 16.0 * dz)
                         + _STEP * _STEP * (4.0 * dz2 - 2.0 * back_dz2))
            if q > 0 and not z < start < hi:
                start = min(z + _STEP * dz, hi)
            back, back_dz, back_dz2 = z, dz, dz2
            z, slope, dz, bend, bend2 = _invert(u, math.exp(-u), lo, hi, start, mode, curv,
                                                rates, gains, centres)
            lo = z
            # dz/du = 1/G' (dz) and the next two derivatives
            dz2 = -bend * dz * dz * dz
            dz3 = (3.0 * bend * bend - slope * bend2) * dz * dz * dz * dz * dz
            exponent, product = _node(z, dz, b, i, scale_chosen, scales, grad, t, lam)
            if exponent > top_log + _RESCALE:
                shrink = math.exp(top_log - exponent)
                total *= shrink
                if grad:
                    sum_lam_z *= shrink
                    for k in range(m):
                        sum_lam[k] *= shrink
                        sum_lam_t[k] *= shrink
                top_log = exponent
            weight = math.exp(exponent - top_log) * product
            total += weight
            if grad:
                lam_over_scale = 0.0
                for k in range(m):
                    sum_lam[k] += weight * lam[k]
                    sum_lam_t[k] += weight * lam[k] * t[k]
                    lam_over_scale += lam[k] * inv_scales[k]
                sum_lam_z += weight * z * lam_over_scale
        log_p[i] = min(top_log + math.log(total), 0.0)  # rounding can pass 0
        if grad:
            norm = math.exp(top_log - log_p[i])  # node i's share: weight_i * norm
            d_scale_chosen[i] = norm * sum_lam_z
            for k in range(m):
                d_b[i, k] = norm * sum_lam[k] / scales[k]
                d_scales[i, k] = -norm * sum_lam_t[k] / scales[k]


@_jit
def gauss_hermite_log_prob(b, scale_chosen, scales, nodes, log_weights, grad, first, last,
                           log_p, d_b, d_scale_chosen, d_scales):
    r"""Rows first..last-1 of :func:`~choicemodels.kernels.quadrature.independent_log_prob` by
    Gauss-Hermite (``nodes`` :math:`z_q` and ``log_weights`` for :math:`E f(Z)`): the
    node terms :math:`w_q \prod_k \Phi(t_{qk})` as :math:`p e^s` by Cody's :func:`_cdf`,
    summed relative to the largest, and the gradient from the normalised terms
    :math:`\pi_q` and :math:`\lambda(t_{qk})`; no N-sized temporary besides the outputs."""
    m = b.shape[1]
    n_nodes = nodes.size
    terms = np.empty(n_nodes)
    t = np.empty((n_nodes, m))
    lam = np.empty((n_nodes, m))
    for i in range(first, last):
        top = -np.inf
        for q in range(n_nodes):
            product, exponent = 1.0, log_weights[q]
            for k in range(m):
                t[q, k] = (b[i, k] + scale_chosen * nodes[q]) / scales[k]
                factor, power, lam[q, k] = _cdf(t[q, k], grad)
                product *= factor
                exponent += power
                if product < _TINY:
                    exponent += math.log(product)
                    product = 1.0
            terms[q] = exponent + math.log(product)
            top = max(top, terms[q])
        total = 0.0
        for q in range(n_nodes):
            terms[q] = math.exp(terms[q] - top)
            total += terms[q]
        log_p[i] = min(top + math.log(total), 0.0)  # rounding can pass 0
        if not grad:
            continue
        d_scale_chosen[i] = 0.0
        for k in range(m):
            sum_lam, sum_lam_t = 0.0, 0.0
            for q in range(n_nodes):
                share = terms[q] * lam[q, k]
                sum_lam += share
                sum_lam_t += share * t[q, k]
                d_scale_chosen[i] += share * nodes[q] / (total * scales[k])
            d_b[i, k] = sum_lam / (total * scales[k])
            d_scales[i, k] = -sum_lam_t / (total * scales[k])
