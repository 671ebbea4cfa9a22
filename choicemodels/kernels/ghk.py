r"""GHK simulator of normal orthant probabilities, with its exact gradient.

For situations sharing one covariance :math:`\Sigma = C C'` (C lower-triangular, m x m),
the probability :math:`P = \Pr(w < b)`, :math:`w \sim N(0, \Sigma)`, is simulated by the
Geweke-Hajivassiliou-Keane recursion. With draws :math:`u_{rk} \in (0, 1)`,

.. math::
   t_{rk} = \Big(b_k - \sum_{l<k} C_{kl} z_{rl}\Big) / C_{kk}, \quad
   q_{rk} = \Phi(t_{rk}), \quad z_{rk} = \Phi^{-1}(u_{rk} q_{rk}),

   \hat P = \frac1R \sum_r \prod_k q_{rk}.

The draws are fixed, so :math:`\log\hat P` is a smooth function of ``b`` and ``C``; its
gradient is computed exactly by reverse-mode differentiation of the recursion (one
backward sweep over the m dimensions). With weights
:math:`w_r = \prod_k q_{rk} / \sum_{r'} \prod_k q_{r'k}`,
:math:`\lambda(t) = \phi(t)/\Phi(t)` and adjoints :math:`\bar z` accumulated backwards,

.. math::
   \bar t_{rk} = \lambda(t_{rk})\big(w_r + \bar z_{rk}\, u_{rk} q_{rk} / \phi(z_{rk})\big),
   \quad \bar b_k = \sum_r \bar t_{rk} / C_{kk}, \quad
   \bar C_{kk} = -\sum_r \bar t_{rk} t_{rk} / C_{kk},

   \bar C_{kl} = -\sum_r \bar t_{rk} z_{rl} / C_{kk}, \quad
   \bar z_{rl} \mathrel{-}= \bar t_{rk} C_{kl} / C_{kk} \quad (l < k).

Implementation
--------------
Compiled (numba, without the GIL), one situation at a time: the recursion over the R
draws keeps :math:`\log q_{rk}`, :math:`t_{rk}`, :math:`z_{rk}` and the Mills ratios in
scratch arrays of R x m per thread, the draws are combined by a log-sum-exp and the
backward sweep follows. So the working memory is O(R m) per thread whatever N, and the
situations run on the package's pool of threads (:mod:`~choicemodels.kernels.logit`) in
contiguous runs; each situation's result depends on its own row only, so the results are
the same to the last bit with any number of threads.

Nothing underflows: :math:`\Phi(t) = f e^s` and :math:`\lambda(t)` come from Cody's rational
approximations (:mod:`~choicemodels.kernels.mapped_rule`), the product over k is moved
into a sum of logarithms once it falls below 1e-20, and :math:`z = \Phi^{-1}(u q)` is
Wichura's algorithm AS 241 (M. J. Wichura, 1988, Applied Statistics 37, 477-484;
relative error about 1e-16), taking :math:`\log u + \log f + s` itself where
:math:`u q` falls below 1e-280 (then one Newton step on :math:`\log\Phi(z) = \log(uq)`
polishes it).

These functions perform no validation.
"""

from __future__ import annotations

import math

import numpy as np

from choicemodels.kernels.draws import _EPS, RotatedDraws
from choicemodels.kernels.jit import njit
from choicemodels.kernels.logit import _on_threads
from choicemodels.kernels.mapped_rule import _cdf

__all__ = ["ghk_log_prob"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_TINY = 1e-280  # products and draws below this continue in logarithms
_LOG_TINY = math.log(_TINY)
_RESCALE = 1e-20  # a product of q below this moves into the sum of logarithms
# Wichura's AS 241 coefficients, lowest degree first: central region |p - 1/2| <= 0.425
# (A/B in r = 0.180625 - q^2), then r = sqrt(-log p) up to 5 (C/D in r - 1.6) and beyond
# (E/F in r - 5)
_A = (3.3871328727963666080, 1.3314166789178437745e2, 1.9715909503065514427e3,
      1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
      3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
      5.2264952788528545610e3)
_C = (1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550,
      3.64784832476320460504, 1.27045825245236838258, 2.41780725177450611770e-1,
      2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
      1.05075007164441684324e-9)
_E = (6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580,
      2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
      2.04426310338993978564e-15)

_jit = njit(nogil=True, error_model="numpy")
_inline = njit(nogil=True, error_model="numpy", inline="always")


@_inline
def _ratio(coef_num, coef_den, x):
    """Ratio of the two degree-7 polynomials (coefficients lowest degree first) at x."""
    num = coef_num[7]
    den = coef_den[7]
    for i in range(6, -1, -1):
        num = num * x + coef_num[i]
        den = den * x + coef_den[i]
    return num / den


@_inline
def _log_cdf(t):
    r""":math:`\log\Phi(t)` and :math:`\lambda(t)`."""
    f, s, mills = _cdf(t, True)
    return math.log(f) + s, mills


@_inline
def _ndtri_tail(r):
    """AS 241 beyond the central region: -z for r = sqrt(-log p), p the smaller tail."""
    if r <= 5.0:
        return _ratio(_C, _D, r - 1.6)
    return _ratio(_E, _F, r - 5.0)


@_jit
def _ndtri(p):
    r""":math:`\Phi^{-1}(p)`, 0 < p < 1 (AS 241, see the module)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        return q * _ratio(_A, _B, 0.180625 - q * q)
    if q > 0.0:
        return _ndtri_tail(math.sqrt(-math.log1p(-p)))
    return -_ndtri_tail(math.sqrt(-math.log(p)))


@_jit
def _ndtri_log(log_p):
    r""":math:`\Phi^{-1}(e^{\log p})` for a tiny :math:`p` (:math:`\log p < \log 0.075`),
    polished by one Newton step on :math:`\log\Phi(z) = \log p`."""
    r = math.sqrt(-log_p)
    z = -_ndtri_tail(r)
    if r > 5.0:
        log_cdf, mills = _log_cdf(z)
        z -= (log_cdf - log_p) / mills
    return z


@_jit
def _ghk_rows(b, chol, points, point_rows, shift, shift_rows, n_draws, antithetic, lo, hi,
              grad, log_p, d_b, d_chol):
    """Situations lo..hi-1: log P into ``log_p``, and with ``grad`` the gradient into
    ``d_b`` and ``d_chol`` (zero on entry). Row i of ``b`` uses the draws
    ``points[point_rows[i]]`` rotated by ``shift[shift_rows[i]]`` modulo 1, mirrored from
    ``points.shape[1]`` on if ``antithetic`` (:class:`~choicemodels.kernels.draws.RotatedDraws`;
    an array of draws is its own points with a zero shift)."""
    m = b.shape[1]
    n_base = points.shape[1]
    t = np.empty((n_draws, m))
    z = np.empty((n_draws, m))
    mills = np.empty((n_draws, m))
    ratio = np.empty((n_draws, m))
    log_prod = np.empty(n_draws)
    z_bar = np.empty((n_draws, m))
    for i in range(lo, hi):
        draws = points[point_rows[i]]
        rotation = shift[shift_rows[i]]
        for r in range(n_draws):
            base = r if r < n_base else r - n_base
            prod = 1.0  # the product of the q, rescaled into log_acc before it underflows
            log_acc = 0.0
            for k in range(m):
                a = b[i, k]
                for l in range(k):
                    a -= chol[k, l] * z[r, l]
                t_rk = a / chol[k, k]
                t[r, k] = t_rk
                f, s, mills[r, k] = _cdf(t_rk, grad)  # q = f e^s
                q = f * math.exp(s) if s > _LOG_TINY else 0.0
                if q > 0.0:  # q >= 1e-280: a product from 1e-20 stays a normal number
                    if prod < _RESCALE:
                        log_acc += math.log(prod)
                        prod = 1.0
                    prod *= q
                else:
                    log_acc += math.log(f) + s
                if k < m - 1:
                    u = draws[base, k] + rotation[k]
                    u -= math.floor(u)  # as numpy.mod(u, 1.0): exact
                    if r >= n_base:
                        u = 1.0 - u
                    u = min(max(u, _EPS), 1.0 - _EPS)
                    v = u * q
                    if v > _TINY:
                        z_rk = _ndtri(v)
                        log_v = 0.0
                    else:  # u q underflows: from log u + log q
                        log_v = math.log(u) + math.log(f) + s
                        z_rk = _ndtri_log(log_v)
                    z[r, k] = z_rk
                    if grad:  # u q / phi(z)
                        ratio[r, k] = (v * math.exp(0.5 * z_rk * z_rk) if v > _TINY
                                       else math.exp(log_v + 0.5 * z_rk * z_rk)) * _SQRT_2PI
            log_prod[r] = log_acc + math.log(prod)
        peak = log_prod.max()
        total = 0.0
        for r in range(n_draws):
            log_prod[r] = math.exp(log_prod[r] - peak)  # now the unnormalised weight
            total += log_prod[r]
        log_p[i] = math.log(total) + peak - math.log(n_draws)
        if not grad:
            continue
        z_bar[:, :] = 0.0
        for k in range(m - 1, -1, -1):
            c_kk = chol[k, k]
            for r in range(n_draws):
                t_bar = log_prod[r] / total
                if k < m - 1:
                    t_bar += z_bar[r, k] * ratio[r, k]
                t_bar *= mills[r, k]
                a_bar = t_bar / c_kk
                d_b[i, k] += a_bar
                d_chol[i, k, k] -= t_bar * t[r, k] / c_kk
                for l in range(k):
                    d_chol[i, k, l] -= a_bar * z[r, l]
                    z_bar[r, l] -= chol[k, l] * a_bar


def ghk_log_prob(
    b: np.ndarray,
    chol: np.ndarray,
    u: np.ndarray | RotatedDraws,
    *,
    rows: np.ndarray | None = None,
    grad: bool = False,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Simulated :math:`\log\Pr(w < b)`, :math:`w \sim N(0, C C')`, by GHK.

    Parameters
    ----------
    b : ndarray, shape (n, m)
        Upper limits, one row per situation.
    chol : ndarray, shape (m, m)
        Lower Cholesky factor C shared by all n situations (positive diagonal).
    u : ndarray or RotatedDraws, shape (n, R, D) or, with ``rows``, (N, R, D); D >= m - 1
        Uniform draws in (0, 1); the first m - 1 columns are used. As
        :class:`~choicemodels.kernels.draws.RotatedDraws` each draw is formed where it is
        used, so memory does not grow with N x R.
    rows : ndarray of int, shape (n,), optional
        Row i of ``b`` uses the draws ``u[rows[i]]`` (default: ``u[i]``), so the draws
        of a subset of situations are not copied.
    grad : bool
        Also return the gradient.
    threads : int, optional
        Threads over the situations (default: the processors available, at most 4, as
        the logit kernel); the result does not depend on it.

    Returns
    -------
    log_p : ndarray, shape (n,)
        :math:`\log\hat P` per situation.
    d_b : ndarray, shape (n, m), or None
        :math:`\partial\log\hat P/\partial b`.
    d_chol : ndarray, shape (n, m, m), or None
        :math:`\partial\log\hat P/\partial C` (lower triangle; upper is zero).

    Notes
    -----
    For m = 1 the result is exact, :math:`\log\Phi(b / C_{00})`, whatever the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import multivariate_normal
    >>> from choicemodels.kernels.draws import uniform_draws
    >>> sigma = np.array([[1.0, 0.5], [0.5, 2.0]]); b = np.array([[0.3, -0.2]])
    >>> u = uniform_draws(1, 1, 5000, rng=0)
    >>> p = np.exp(ghk_log_prob(b, np.linalg.cholesky(sigma), u)[0][0])
    >>> exact = multivariate_normal.cdf(b[0], cov=sigma, abseps=1e-8, releps=0, rng=0)
    >>> bool(abs(p - exact) < 1e-3)
    True
    """
    n, m = b.shape
    b = np.ascontiguousarray(b, dtype=float)
    chol = np.ascontiguousarray(chol, dtype=float)
    rows = np.arange(n) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    if isinstance(u, RotatedDraws):
        draws = (np.ascontiguousarray(u.points, dtype=float)[None], np.zeros(n, np.int64),
                 np.ascontiguousarray(u.shift, dtype=float), rows, u.n_draws, u.antithetic)
    else:  # any layout: copying the (N, R, D) draws costs more
        u = np.asarray(u, dtype=float)
        draws = (u, rows, np.zeros((1, u.shape[2])), np.zeros(n, np.int64), u.shape[1], False)
    log_p = np.empty(n)
    d_b = np.zeros((n, m)) if grad else np.zeros((0, m))
    d_chol = np.zeros((n, m, m)) if grad else np.zeros((0, m, m))
    if n:
        args = (b, chol, *draws)
        outs = (bool(grad), log_p, d_b, d_chol)
        _on_threads(lambda lo, hi: _ghk_rows(*args, lo, hi, *outs), n, threads, min_run=16)
    return log_p, d_b if grad else None, d_chol if grad else None
