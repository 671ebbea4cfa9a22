r"""Analytic approximations of the normal orthant probability: ME and OVUS (Bhat 2018).

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

exact for m = 1. ``"ovus"`` (one-variate univariate screening, Bhat's section 2.3.1.1)
takes each conditional as a ratio of a bivariate and a univariate normal CDF under the
same approximation,

.. math:: \log P \approx \log\Phi_2\big(h^{(0)}_0, h^{(0)}_1; r^{(0)}_{01}\big)
   + \sum_{s=1}^{m-2}\Big[\log\Phi_2\big(h^{(s)}_s, h^{(s)}_{s+1}; r^{(s)}_{s,s+1}\big)
   - \log\Phi\big(h^{(s)}_s\big)\Big],

with :math:`h^{(s)}_j = x^{(s)}_j/\sqrt{S^{(s)}_{jj}}` and :math:`r^{(s)}` the correlation
of the state after s steps. It is exact for m <= 2 (then it is the closed form
:func:`~choicemodels.kernels.mvn.bvn_log_cdf`) and more accurate than ``"me"`` for larger
m at about twice the cost; Bhat (2018) reports it as the best trade-off of accuracy and
speed among his single-ordering methods.

Stability and gradient
----------------------
Everything is in logs: :math:`\log\Phi` by :func:`scipy.special.log_ndtr`,
:math:`\log\Phi_2` by :func:`~choicemodels.kernels.mvn.bvn_log_cdf_grad` (its tail
integral where :math:`\Phi_2` underflows). For :math:`\alpha < -5`, where
:math:`\alpha + \lambda` cancels, it is Laplace's continued fraction
:math:`\alpha + \lambda = 1/(y + 2/(y + 3/(y + \dots)))`, :math:`y = -\alpha`.

The gradient with respect to ``b`` and :math:`\Sigma` is the exact derivative of the
approximation, by reverse-mode differentiation of the recursion: one backward sweep over
the steps with the stored :math:`(\alpha, \lambda, \omega, c)`, using
:math:`d\lambda/d\alpha = -\omega` and
:math:`d\omega/d\alpha = \lambda(1 - \omega) - \omega(\alpha + \lambda)`. Work is done in
chunks of situations (memory O(chunk m^2)), vectorised over the chunk, the chunks on the
package's pool of threads (:mod:`~choicemodels.kernels.logit`); the only Python loop
inside a chunk runs over the m dimensions.

These functions perform no validation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

from choicemodels.kernels.logit import _default_threads, _submit
from choicemodels.kernels.mvn import bvn_log_cdf_grad

__all__ = ["Variant", "orthant_log_prob"]

Variant = Literal["me", "ovus"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_FRACTION_FROM = -5.0  # below this alpha, alpha + lambda by the continued fraction
_FRACTION_DEPTH = 80  # terms of the continued fraction: below 1e-16 relative at y >= 5
_MAX_CORRELATION = 1.0 - 1e-13  # the bivariate closed form needs |r| < 1
_CHUNK_ELEMENTS = 2**19  # situations x m x m per chunk (4 MiB a chunk-sized array)


def _mills(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\lambda = \phi(\alpha)/\Phi(\alpha)` and :math:`\alpha + \lambda`, both
    without cancellation."""
    lam = np.exp(-0.5 * alpha**2 - _LOG_SQRT_2PI - special.log_ndtr(alpha))
    shift = alpha + lam
    far = alpha < _FRACTION_FROM
    if np.any(far):
        y = -alpha[far]
        tail = y.copy()
        for i in range(_FRACTION_DEPTH, 1, -1):
            tail = y + i / tail
        shift[far] = 1.0 / tail
        lam[far] = shift[far] + y
    return lam, shift


def orthant_log_prob(
    b: np.ndarray,
    sigma: np.ndarray,
    *,
    variant: Variant = "ovus",
    grad: bool = False,
    which: np.ndarray | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Approximate :math:`\log\Pr(w < b)`, :math:`w \sim N(0, \Sigma)`, by ME or OVUS.

    Parameters
    ----------
    b : ndarray, shape (n, m)
        Upper limits, one row per situation (finite).
    sigma : ndarray, shape (m, m) or (g, m, m)
        Covariance shared by all n situations, or g covariances (positive definite)
        with ``which`` naming each situation's.
    variant : {"me", "ovus"}
        Mendell-Elston or one-variate univariate screening (see the module).
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
    >>> round(float(p), 4), round(float(exact), 4)
    (0.1997, 0.1997)
    """
    n, m = b.shape
    log_p = np.empty(n)
    d_b = np.empty((n, m)) if grad else None
    d_sigma = np.empty((n, m, m)) if grad else None
    step = max(1, _CHUNK_ELEMENTS // max(1, m * m))
    starts = list(range(0, n, step))

    def run(first: int, last: int) -> None:
        for start in starts[first:last]:
            rows = slice(start, min(start + step, n))
            cov = sigma if which is None else sigma[which[rows]]
            out = _chunk(np.asarray(b[rows], float), cov, variant, grad)
            log_p[rows] = out[0]
            if grad:
                d_b[rows], d_sigma[rows] = out[1], out[2]

    n_threads = max(1, min(_default_threads() if threads is None else int(threads), len(starts)))
    if n_threads == 1:
        run(0, len(starts))
    else:  # contiguous runs of chunks; numpy and scipy.special release the GIL
        edges = np.linspace(0, len(starts), n_threads + 1).astype(int)
        others = _submit(run, [(lo, hi) for lo, hi in zip(edges[1:-1], edges[2:])])
        run(edges[0], edges[1])
        for future in others:
            future.result()
    return log_p, d_b, d_sigma


def _chunk(b, sigma, variant, grad):
    n, m = b.shape
    ovus = variant == "ovus"
    # univariate terms log Phi(h_s^(s)) with their weights; pairs (s, s + 1) for OVUS
    if ovus and m >= 2:
        n_states = m - 1
        uni = [(s, -1.0) for s in range(1, m - 1)]
        pairs = list(range(m - 1))
    else:
        n_states = m
        uni = [(s, 1.0) for s in range(m)]
        pairs = []
    x = b.copy()
    S = np.array(np.broadcast_to(sigma, (n, m, m)))  # a copy, updated in place
    log_p = np.zeros(n)
    steps = []  # per truncation: (sd, alpha, lam, shift, omega, c)
    terms = {}  # per state: the values its output terms need for the backward sweep
    for s in range(n_states):
        sd = np.sqrt(S[:, s, s])
        alpha = x[:, s] / sd
        lam, shift = _mills(alpha)
        term = {}
        if any(u == s for u, _ in uni):
            weight = next(w for u, w in uni if u == s)
            log_p += weight * special.log_ndtr(alpha)
            term["uni"] = (weight, sd, alpha, lam)
        if s in pairs:
            sd1 = np.sqrt(S[:, s + 1, s + 1])
            h1 = x[:, s + 1] / sd1
            r = np.clip(S[:, s, s + 1] / (sd * sd1), -_MAX_CORRELATION, _MAX_CORRELATION)
            lp, d_h, d_k, d_r = bvn_log_cdf_grad(alpha, h1, r)
            log_p += lp
            term["pair"] = (sd, alpha, sd1, h1, r, d_h, d_k, d_r)
        terms[s] = term
        if s == n_states - 1:
            break
        omega = lam * shift
        c = S[:, s + 1:, s] / sd[:, None]
        x[:, s + 1:] += lam[:, None] * c
        S[:, s + 1:, s + 1:] -= omega[:, None, None] * c[:, :, None] * c[:, None, :]
        steps.append((sd, alpha, lam, shift, omega, c))
    if not grad:
        return log_p, None, None

    x_bar = np.zeros((n, m))
    S_bar = np.zeros((n, m, m))
    for s in range(n_states - 1, -1, -1):
        term = terms[s]
        if "uni" in term:
            weight, sd, alpha, lam = term["uni"]
            g = weight * lam
            x_bar[:, s] += g / sd
            S_bar[:, s, s] -= 0.5 * g * alpha / sd**2
        if "pair" in term:
            sd, h0, sd1, h1, r, d_h, d_k, d_r = term["pair"]
            x_bar[:, s] += d_h / sd
            x_bar[:, s + 1] += d_k / sd1
            S_bar[:, s, s] -= 0.5 * (d_h * h0 + d_r * r) / sd**2
            S_bar[:, s + 1, s + 1] -= 0.5 * (d_k * h1 + d_r * r) / sd1**2
            half = 0.5 * d_r / (sd * sd1)
            S_bar[:, s, s + 1] += half
            S_bar[:, s + 1, s] += half
        if s == 0:
            break
        k = s - 1  # the step from state k to state s
        sd, alpha, lam, shift, omega, c = steps[k]
        xb = x_bar[:, k + 1:]
        Sb = S_bar[:, k + 1:, k + 1:]
        Sb_c = np.einsum("njl,nl->nj", Sb, c)
        lam_bar = np.einsum("nj,nj->n", xb, c)
        omega_bar = -np.einsum("nj,nj->n", c, Sb_c)
        c_bar = lam[:, None] * xb - 2.0 * omega[:, None] * Sb_c
        alpha_bar = -omega * lam_bar + (lam * (1.0 - omega) - omega * shift) * omega_bar
        col = 0.5 * c_bar / sd[:, None]
        S_bar[:, k + 1:, k] += col
        S_bar[:, k, k + 1:] += col
        sd_bar = -np.einsum("nj,nj->n", c_bar, c) / sd - alpha_bar * alpha / sd
        x_bar[:, k] += alpha_bar / sd
        S_bar[:, k, k] += 0.5 * sd_bar / sd
    return log_p, x_bar, S_bar
