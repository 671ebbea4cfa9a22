r"""Analytic approximations of the normal orthant probability: ME, OVUS and OVBS (Bhat 2018).

For situations sharing one covariance :math:`\Sigma` (m x m) the probability
:math:`P = \Pr(w < b)`, :math:`w \sim N(0, \Sigma)`, is approximated without draws by
sequential conditioning in Bhat's matrix form (C. R. Bhat, 2018, "New matrix-based
methods for the analytic evaluation of the multivariate cumulative normal distribution
function", Transportation Research Part B 109, 238-256; Mendell and Elston, 1974).

The recursion
-------------
The state is the normal approximation :math:`N(b - x, S)` of :math:`w` given
:math:`w_l < b_l` for the variables already conditioned on: :math:`x^{(0)} = b`,
:math:`S^{(0)} = \Sigma`. Conditioning on variable k replaces its distribution by the
truncated normal's first two moments and moves the others by their regression on it:
with :math:`\alpha_k = x_k/\sqrt{S_{kk}}`, the Mills ratio :math:`\lambda = \phi(\alpha)/\Phi(\alpha)`,
:math:`\omega = \lambda(\alpha + \lambda) \in (0, 1)` and :math:`c_j = S_{jk}/\sqrt{S_{kk}}`
(:math:`j > k`),

.. math:: x_j \leftarrow x_j + \lambda c_j, \qquad S_{jl} \leftarrow S_{jl} - \omega\, c_j c_l,

a rank-one update that keeps :math:`S` positive definite (a convex combination of
:math:`S` and its Schur complement), O(m^2) per step and O(m^3) per situation.

``"me"`` (Mendell-Elston) multiplies the univariate conditionals,

.. math:: \log P \approx \sum_{s=0}^{m-1} \log\Phi\big(\alpha_s^{(s)}\big),

exact for m = 1. The screening variants take each conditional as a ratio of normal CDFs
of the next q variables under the same state (Bhat's section 2.3.1): with
:math:`\Phi_q^{(s)}` the CDF of variables s..s+q-1 under the state after s steps
(limits :math:`x^{(s)}`, covariance :math:`S^{(s)}`),

.. math:: \log P \approx \sum_{s=0}^{m-q} \log\Phi_q^{(s)}
   - \sum_{s=1}^{m-q} \log\Phi_{q-1}^{(s)},

``"ovus"`` (one-variate univariate screening, section 2.3.1.1) with q = 2 and
``"ovbs"`` (one-variate bivariate screening, section 2.3.1.2) with q = 3; q = 1 is
``"me"``. Each is exact for m <= q (then it is the closed form:
:func:`~choicemodels.kernels.mvn.bvn_log_cdf`, :func:`~choicemodels.kernels.tvn.tvn_log_cdf`).
Bhat (2018) reports OVUS as the best trade-off of accuracy and speed among his
single-ordering methods; OVBS is more accurate at about twice the cost, its trivariate
CDFs being one-dimensional integrals: in Gibson-Glasbey-Elston order its mean absolute
error in P is 0.35 to 0.5 of OVUS's at J = 5, about 0.7 at J = 10 and 0.8 to 0.9 at
J = 20 (``benchmarks/README.md``).

Order
-----
The approximation depends on the order in which the variables are conditioned on
(``order``). ``"given"`` keeps the columns' order. ``"ascending"`` takes them in
ascending order of their standardised limits :math:`b_j/\sqrt{\Sigma_{jj}}`, the most
restrictive first, as in Bhat's implementation; ``"gge"`` is Gibson, Glasbey and
Elston's (1994) sequential version (:func:`conditioning_order`: at each step the
variable with the smallest conditional probability under the current state), the
univariate reordering Trinh and Genz (2015) recommend. Either divides the mean absolute
error by 2 to 4 over random cases (``benchmarks/README.md``). An order recomputed at every
evaluation jumps wherever two limits cross, so a likelihood built from it is not smooth
(a BFGS fit with J = 10 stalled in its line search); an array ``order`` fixes one
permutation per row, decided once (the probit model decides it by ``"gge"`` at its start
values), and the approximation is then as smooth as in the given order. Where the
variant is exact (m <= q) the order does not matter.

Stability and gradient
----------------------
Everything is in logs: :math:`\log\Phi` by :func:`scipy.special.log_ndtr`,
:math:`\log\Phi_2` and :math:`\log\Phi_3` by
:func:`~choicemodels.kernels.mvn.bvn_log_cdf_grad` and
:func:`~choicemodels.kernels.tvn.tvn_log_cdf_grad` (their tail integrals where they
underflow), so no probability is taken the log of after
it has underflowed. The Mills ratio comes from Cody's rational approximation
(:mod:`~choicemodels.kernels.mapped_rule`); for :math:`\alpha < -5`, where
:math:`\alpha + \lambda` cancels, from Laplace's continued fraction
:math:`\alpha + \lambda = 1/(y + 2/(y + 3/(y + \dots)))`, :math:`y = -\alpha`.

The gradient with respect to ``b`` and :math:`\Sigma` is the exact derivative of the
approximation: the closed-form gradients of the block CDFs with respect to each state's
block, then reverse-mode differentiation of the recursion: one backward sweep over
the steps with the stored :math:`(\alpha, \lambda, \omega, c)`, using
:math:`d\lambda/d\alpha = -\omega` and
:math:`d\omega/d\alpha = \lambda(1 - \omega) - \omega(\alpha + \lambda)`.

Work is done in chunks of situations (memory O(chunk m^2)): the recursion and the
backward sweep are compiled (numba, row by row, without the GIL), the log CDFs of all
states of a chunk are one vectorised call between them, and the chunks run on the
package's pool of threads (:mod:`~choicemodels.kernels.logit`).

These functions perform no validation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

from choicemodels.kernels.jit import njit
from choicemodels.kernels.logit import _on_threads
from choicemodels.kernels.mapped_rule import _cdf
from choicemodels.kernels.mvn import _LOG_SQRT_2PI, bvn_log_cdf, bvn_log_cdf_grad
from choicemodels.kernels.tvn import tvn_log_cdf, tvn_log_cdf_grad

__all__ = ["Order", "Variant", "conditioning_order", "orthant_log_prob"]

Variant = Literal["me", "ovus", "ovbs"]
Order = Literal["given", "ascending", "gge"]

_FRACTION_FROM = -5.0  # below this alpha, alpha + lambda by the continued fraction
_FRACTION_DEPTH = 80  # terms of the continued fraction: below 1e-16 relative at y >= 5
_MAX_CORRELATION = 1.0 - 1e-13  # the bivariate closed form needs |r| < 1
_CHUNK_ELEMENTS = 2**19  # situations x m x m per chunk (4 MiB a chunk-sized array)


_jit = njit(nogil=True, error_model="numpy")


@_jit
def _mills_shift(alpha):
    r""":math:`\lambda(\alpha) = \phi(\alpha)/\Phi(\alpha)` and :math:`\alpha + \lambda`, both
    without cancellation: Cody's approximation of :math:`\lambda`
    (:mod:`~choicemodels.kernels.mapped_rule`), and the continued fraction for
    :math:`\alpha + \lambda` below ``_FRACTION_FROM``."""
    if alpha < _FRACTION_FROM:
        y = -alpha
        tail = y
        for i in range(_FRACTION_DEPTH, 1, -1):
            tail = y + i / tail
        shift = 1.0 / tail
        return shift + y, shift
    lam = _cdf(alpha, True)[2]
    return lam, alpha + lam


@_jit
def _mills(alpha):
    """:func:`_mills_shift` over an array: (lambda, alpha + lambda)."""
    lam = np.empty_like(alpha)
    shift = np.empty_like(alpha)
    for i in range(alpha.size):
        lam[i], shift[i] = _mills_shift(alpha[i])
    return lam, shift


@_jit
def _gge_order(b, sigma, which, order):
    """Gibson, Glasbey and Elston's order, row by row into ``order``: at each step the
    variable with the smallest standardised limit under the current state (the smallest
    conditional probability), then the state conditioned on it as in :func:`_forward`."""
    n, m = b.shape
    x = np.empty(m)
    S = np.empty((m, m))
    perm = np.empty(m, np.int64)
    for i in range(n):
        cov = sigma[which[i]]
        for j in range(m):
            perm[j] = j
            x[j] = b[i, j]
            for k in range(m):
                S[j, k] = cov[j, k]
        for s in range(m):
            best = s
            best_z = x[s] / np.sqrt(S[s, s])
            for j in range(s + 1, m):
                z = x[j] / np.sqrt(S[j, j])
                if z < best_z:
                    best, best_z = j, z
            if best != s:  # swap variables s and best
                perm[s], perm[best] = perm[best], perm[s]
                x[s], x[best] = x[best], x[s]
                for k in range(m):
                    S[s, k], S[best, k] = S[best, k], S[s, k]
                for k in range(m):
                    S[k, s], S[k, best] = S[k, best], S[k, s]
            if s == m - 1:
                break
            sd_s = np.sqrt(S[s, s])
            step, shift = _mills_shift(x[s] / sd_s)
            omega = step * shift
            for j in range(s + 1, m):
                cj = S[j, s] / sd_s
                x[j] += step * cj
                for k in range(s + 1, j + 1):
                    S[j, k] -= omega * cj * S[k, s] / sd_s
                    S[k, j] = S[j, k]
        order[i, :] = perm


@_jit
def _forward(b, sigma, which, order, n_states, alpha, lam, shift, sd, block_x, block_s, c):
    """The recursion, row by row: the variables in the row's ``order``; per state s the
    standardised limit of variable s (``alpha``, ``sd``, Mills ratios), the state's block
    of the next q variables (``block_x``: x, ``block_s``: S, q = their last axis) and the
    regression columns ``c[i, s, j]`` of the step."""
    n, m = b.shape
    width = block_x.shape[2]
    x = np.empty(m)
    S = np.empty((m, m))
    for i in range(n):
        cov = sigma[which[i]]
        perm = order[i]
        for j in range(m):
            x[j] = b[i, perm[j]]
            for k in range(m):
                S[j, k] = cov[perm[j], perm[k]]
        for s in range(n_states):
            for j in range(width):
                block_x[i, s, j] = x[s + j]
                for k in range(width):
                    block_s[i, s, j, k] = S[s + j, s + k]
            if s == n_states - 1:
                break
            sd_s = np.sqrt(S[s, s])
            a = x[s] / sd_s
            alpha[i, s] = a
            sd[i, s] = sd_s
            lam[i, s], shift[i, s] = _mills_shift(a)
            step = lam[i, s]
            omega = step * shift[i, s]
            for j in range(s + 1, m):
                c[i, s, j] = S[j, s] / sd_s
            for j in range(s + 1, m):
                x[j] += step * c[i, s, j]
                for k in range(s + 1, j + 1):
                    S[j, k] -= omega * c[i, s, j] * c[i, s, k]
                    S[k, j] = S[j, k]


@_jit
def _backward(n_states, alpha, lam, shift, sd, c, grad_x, grad_s, order, d_b, d_sigma):
    """Reverse sweep, row by row: the adjoints of each state's block (``grad_x``,
    ``grad_s``, as ``block_x``, ``block_s`` of :func:`_forward`) carried back through the
    steps into ``d_b`` and the symmetric ``d_sigma``, in the variables' original order."""
    n, m = d_b.shape
    width = grad_x.shape[2]
    xb = np.empty(m)
    Sb = np.empty((m, m))
    sbc = np.empty(m)
    cb = np.empty(m)
    for i in range(n):
        xb[:] = 0.0
        Sb[:, :] = 0.0
        for s in range(n_states - 1, -1, -1):
            for j in range(width):
                xb[s + j] += grad_x[i, s, j]
                for k in range(width):
                    Sb[s + j, s + k] += grad_s[i, s, j, k]
            if s == 0:
                break
            k = s - 1  # the step from state k to state s
            step = lam[i, k]
            omega = step * shift[i, k]
            sd_k = sd[i, k]
            lam_bar = 0.0
            omega_bar = 0.0
            for j in range(k + 1, m):
                total = 0.0
                for l in range(k + 1, m):
                    total += Sb[j, l] * c[i, k, l]
                sbc[j] = total
                lam_bar += xb[j] * c[i, k, j]
                omega_bar -= c[i, k, j] * total
            sd_bar = 0.0
            for j in range(k + 1, m):
                cb[j] = step * xb[j] - 2.0 * omega * sbc[j]
                sd_bar -= cb[j] * c[i, k, j] / sd_k
            alpha_bar = -omega * lam_bar + (step * (1.0 - omega) - omega * shift[i, k]) * omega_bar
            for j in range(k + 1, m):
                half = 0.5 * cb[j] / sd_k
                Sb[j, k] += half
                Sb[k, j] += half
            sd_bar -= alpha_bar * alpha[i, k] / sd_k
            xb[k] += alpha_bar / sd_k
            Sb[k, k] += 0.5 * sd_bar / sd_k
        for j in range(m):
            d_b[i, order[i, j]] = xb[j]
            for k in range(m):
                d_sigma[i, order[i, j], order[i, k]] = Sb[j, k]


def orthant_log_prob(
    b: np.ndarray,
    sigma: np.ndarray,
    *,
    variant: Variant = "ovus",
    order: Order | np.ndarray = "given",
    grad: bool = False,
    which: np.ndarray | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Approximate :math:`\log\Pr(w < b)`, :math:`w \sim N(0, \Sigma)`, by ME, OVUS or OVBS.

    Parameters
    ----------
    b : ndarray, shape (n, m)
        Upper limits, one row per situation (finite).
    sigma : ndarray, shape (m, m) or (g, m, m)
        Covariance shared by all n situations, or g covariances (positive definite)
        with ``which`` naming each situation's.
    variant : {"me", "ovus", "ovbs"}
        Mendell-Elston, or one-variate univariate or bivariate screening (see the module).
    order : {"given", "ascending", "gge"} or ndarray of int, shape (n, m)
        The order in which the variables are conditioned on, per row: as given, ascending
        in :math:`b_j/\sqrt{\Sigma_{jj}}`, Gibson-Glasbey-Elston's (:func:`conditioning_order`),
        or a permutation of ``0..m-1`` per row (the variable conditioned on first, ...);
        see the module.
    grad : bool
        Also return the gradient.
    which : ndarray of int, shape (n,), optional
        Index into a (g, m, m) ``sigma`` for each row of ``b``.
    threads : int, optional
        Threads over the chunks of situations (default: the processors available, at
        most 4, as the logit kernel); the result does not depend on it.

    Returns
    -------
    log_p : ndarray, shape (n,)
    d_b : ndarray, shape (n, m), or None
        :math:`\partial\log P/\partial b`.
    d_sigma : ndarray, shape (n, m, m), or None
        :math:`\partial\log P/\partial\Sigma`, symmetric: for a symmetric perturbation
        :math:`E`, :math:`d\log P = \sum_{jl} (d_\Sigma)_{jl} E_{jl}`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import multivariate_normal
    >>> sigma = np.array([[1.0, 0.5, 0.3], [0.5, 2.0, 0.4], [0.3, 0.4, 1.5]])
    >>> b = np.array([[0.2, -0.4, 0.7]])
    >>> p = np.exp(orthant_log_prob(b, sigma)[0][0])
    >>> exact = multivariate_normal.cdf(b[0], cov=sigma, abseps=1e-8, releps=0, rng=0)
    >>> round(float(p), 4), round(float(exact), 4)  # three dimensions: an approximation
    (0.2286, 0.2285)
    """
    n, m = b.shape
    log_p = np.empty(n)
    d_b = np.empty((n, m)) if grad else None
    d_sigma = np.empty((n, m, m)) if grad else None
    step = max(1, _CHUNK_ELEMENTS // max(1, m * m))
    starts = list(range(0, n, step))
    sigmas = np.ascontiguousarray(np.reshape(sigma, (-1, m, m)), dtype=float)
    index = np.zeros(n, np.int64) if which is None else np.asarray(which, np.int64)

    def run(first: int, last: int) -> None:
        for start in starts[first:last]:
            rows = slice(start, min(start + step, n))
            out = _chunk(np.ascontiguousarray(b[rows], dtype=float), sigmas, index[rows],
                         variant, _row_order(order, b, sigmas, index, rows), grad)
            log_p[rows] = out[0]
            if grad:
                d_b[rows], d_sigma[rows] = out[1], out[2]

    _on_threads(run, len(starts), threads)  # numpy and scipy.special release the GIL
    return log_p, d_b, d_sigma


def _row_order(order, b, sigma, which, rows) -> np.ndarray:
    """The permutations (rows of ``b``, m) of ``order`` for the rows ``rows``."""
    n, m = b.shape
    if isinstance(order, str):
        if order == "gge":
            return conditioning_order(b[rows], sigma, which=which[rows], threads=1)
        if order == "ascending":
            sd = np.sqrt(np.diagonal(sigma, axis1=1, axis2=2))[which[rows]]
            return np.argsort(b[rows] / sd, axis=1, kind="stable")
        return np.broadcast_to(np.arange(m, dtype=np.int64), (len(b[rows]), m))
    return np.ascontiguousarray(order[rows], dtype=np.int64)


def conditioning_order(
    b: np.ndarray,
    sigma: np.ndarray,
    *,
    which: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    r"""Gibson, Glasbey and Elston's (1994) order of conditioning, per row.

    At each step the variable with the smallest standardised limit
    :math:`x_j/\sqrt{S_{jj}}` under the current state (the smallest conditional
    probability, the most restrictive) comes next, and the state is conditioned on it
    (the module's recursion). Trinh and Genz (2015) found this univariate reordering the
    most effective for the conditioning approximations. With equal variances and equal
    correlations it is the ascending order of ``b``.

    Parameters
    ----------
    b : ndarray, shape (n, m)
    sigma : ndarray, shape (m, m) or (g, m, m)
    which : ndarray of int, shape (n,), optional
        As in :func:`orthant_log_prob`.
    threads : int, optional
        As in :func:`orthant_log_prob`.

    Returns
    -------
    ndarray of int, shape (n, m)
        Row i: the variables in the order to condition on them.

    Examples
    --------
    >>> import numpy as np
    >>> sigma = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> conditioning_order(np.array([[-1.0, -0.9, -0.5]]), sigma).tolist()
    [[0, 2, 1]]
    """
    n, m = b.shape
    sigmas = np.ascontiguousarray(np.reshape(sigma, (-1, m, m)), dtype=float)
    index = np.zeros(n, np.int64) if which is None else np.asarray(which, np.int64)
    b = np.ascontiguousarray(b, dtype=float)
    order = np.empty((n, m), np.int64)
    step = max(1, _CHUNK_ELEMENTS // max(1, m * m))
    starts = list(range(0, n, step))

    def run(first: int, last: int) -> None:
        for start in starts[first:last]:
            rows = slice(start, min(start + step, n))
            _gge_order(b[rows], sigmas, index[rows], order[rows])

    _on_threads(run, len(starts), threads)
    return order


_WIDTH = {"me": 1, "ovus": 2, "ovbs": 3}  # variables in each state's block


def _chunk(b, sigma, which, variant, order, grad):
    n, m = b.shape
    width = min(_WIDTH[variant], m)
    n_states = m - width + 1
    alpha, lam, shift, sd = (np.zeros((n, max(n_states - 1, 0))) for _ in range(4))
    block_x = np.zeros((n, n_states, width))
    block_s = np.zeros((n, n_states, width, width))
    c = np.zeros((n, max(n_states - 1, 0), m))
    order = np.ascontiguousarray(order, dtype=np.int64)
    _forward(b, sigma, which, order, n_states, alpha, lam, shift, sd, block_x, block_s, c)
    # log P = sum over states of log Phi_q(block) - sum over states >= 1 of log Phi_{q-1}
    # (the block's leading q - 1 variables): the ratios are the conditional probabilities
    log_p, grad_x, grad_s = _block_log_cdf(block_x, block_s, grad)
    log_p = log_p.sum(axis=1)
    if width > 1 and n_states > 1:
        lead = slice(0, width - 1)
        sub, sub_x, sub_s = _block_log_cdf(block_x[:, 1:, lead], block_s[:, 1:, lead, lead],
                                           grad)
        log_p -= sub.sum(axis=1)
        if grad:
            grad_x[:, 1:, lead] -= sub_x
            grad_s[:, 1:, lead, lead] -= sub_s
    if not grad:
        return log_p, None, None
    d_b = np.empty((n, m))
    d_sigma = np.empty((n, m, m))
    _backward(n_states, alpha, lam, shift, sd, c, grad_x, grad_s, order, d_b, d_sigma)
    return log_p, d_b, d_sigma


def _block_log_cdf(x, cov, grad):
    r""":math:`\log\Pr(w < x)`, :math:`w \sim N(0, S)`, for blocks of q = 1, 2 or 3 variables
    (``x``: (..., q), ``cov``: (..., q, q)) in closed form, and with ``grad`` its gradient
    with respect to x and the symmetric S (as :func:`orthant_log_prob`'s)."""
    q = x.shape[-1]
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    h = x / sd
    corr = cov / (sd[..., :, None] * sd[..., None, :])
    pairs = [(0, 1), (0, 2), (1, 2)][: q * (q - 1) // 2]
    shape = x.shape[:-1]
    r = np.zeros(shape + (len(pairs),))
    for p, (j, k) in enumerate(pairs):
        r[..., p] = np.clip(corr[..., j, k], -_MAX_CORRELATION, _MAX_CORRELATION)
    if q == 1:
        log_p = special.log_ndtr(h[..., 0])
        d_h = np.exp(-0.5 * h**2 - _LOG_SQRT_2PI - log_p[..., None])
        d_r = r
    elif not grad:  # the values alone: no bivariate CDFs for the trivariate gradient
        log_p = (bvn_log_cdf(h[..., 0], h[..., 1], r[..., 0]) if q == 2
                 else tvn_log_cdf(h.reshape(-1, 3), r.reshape(-1, 3)).reshape(shape))
    elif q == 2:
        log_p, d_0, d_1, d_01 = bvn_log_cdf_grad(h[..., 0], h[..., 1], r[..., 0])
        d_h, d_r = np.stack([d_0, d_1], axis=-1), d_01[..., None]
    else:
        log_p, d_h, d_r = (a.reshape(shape + a.shape[1:]) for a in tvn_log_cdf_grad(
            h.reshape(-1, 3), r.reshape(-1, 3)))
    if not grad:
        return log_p, None, None
    # h_j = x_j / sd_j and r_jk = S_jk / (sd_j sd_k), sd_j = sqrt(S_jj)
    grad_x = d_h / sd
    grad_s = np.zeros(shape + (q, q))
    diagonal = -0.5 * d_h * h
    for (j, k), d in zip(pairs, np.moveaxis(d_r * r, -1, 0)):
        diagonal[..., j] -= 0.5 * d
        diagonal[..., k] -= 0.5 * d
    for (j, k), d in zip(pairs, np.moveaxis(d_r, -1, 0)):
        grad_s[..., j, k] = grad_s[..., k, j] = 0.5 * d / (sd[..., j] * sd[..., k])
    grad_s[..., range(q), range(q)] = diagonal / sd**2
    return log_p, grad_x, grad_s
