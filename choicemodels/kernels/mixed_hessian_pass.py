r"""The compiled pass of the mixed logit's analytic Hessian (see
:func:`choicemodels.kernels.mixed.mixed_person_hessian`).

Imported on first use (it imports numba). Every coefficient, fixed or random, is one
entry of :math:`\beta_{pr}` (K,): a fixed one is its value for every draw. Parameter q
moves coefficient :math:`k_q` by :math:`\partial \beta_{k_q} / \partial \theta_q =
m_{qr} = d_{k_q r} e_{qr}`, with :math:`d = \beta` for a (negative) lognormal coefficient
and 1 otherwise, and :math:`e_{qr} = \eta_{l_q r}` for an entry :math:`L_{k_q l_q}` of
the Cholesky factor, 1 for a mean or a fixed coefficient. With :math:`G_r` and
:math:`A_r` the gradient and Hessian of :math:`\log L_{pr}` in :math:`\beta`,

.. math::
    G_{rk} = \sum_t \Big(x_{tc_tk} - \bar x_{trk}\Big), \qquad
    A_{rkl} = -\sum_t \sum_j P_{trj} (x_{tjk} - \bar x_{trk})(x_{tjl} - \bar x_{trl}),

the draw's score is :math:`s_{rq} = G_{rk_q} m_{qr}` and its Hessian
:math:`h_{rqq'} = A_{rk_qk_{q'}} m_{qr} m_{q'r} + [k_q = k_{q'}\ \text{lognormal}]\,
G_{rk_q} \beta_{rk_q} e_{qr} e_{q'r}`; the person's, with the posterior weights
:math:`\omega_{pr}`,

.. math::
    \nabla \ell_p = \sum_r \omega_{pr} s_r, \qquad
    \nabla^2 \ell_p = \sum_r \omega_{pr} (h_r + s_r s_r') - \nabla \ell_p \nabla \ell_p' .

The draws go in blocks of ``DRAW_BLOCK`` as in :mod:`choicemodels.kernels.mixed_pass`,
with the same log-space weights; the weighted sums are kept per draw slot (vector code)
and rescaled with the running maximum.
"""

from __future__ import annotations

import numpy as np

from choicemodels.kernels.jit import njit
from choicemodels.kernels.mixed_pass import (
    _PRODUCT_LIMIT,
    _RESCALE_MARGIN,
    DRAW_BLOCK,
    block_coefficients,
    exp_nonpositive,
)

__all__ = ["compiled_hessian_pass", "hessian_pass"]


@njit(inline="always")
def _column(Xr, Xf, i, j, k):
    """Coefficient k's variable: the random coefficients first, then the fixed ones."""
    Kr = Xr.shape[2]
    return Xr[i, j, k] if k < Kr else Xf[i, j, k - Kr]


def hessian_pass(Xr, Xf, chosen, avail, starts, eta, b, L, free, lognormal, qk, ql, pw,
                 lo, hi, ll, scores, hess):
    """Persons ``lo:hi``: writes ``ll`` (P,) and ``scores`` (P, Q), and adds the persons'
    Hessians, weighted by ``pw`` (P,), to ``hess`` (Q, Q). The K = K_r + K_f coefficients
    are the random ones (columns ``Xr``), then the fixed ones (``Xf``); ``b`` (K,) their
    means and values; ``L`` (K_r, K_r) and ``free``: the Cholesky factor and its entries
    that are parameters; ``lognormal`` (K_r,) 0, +1 or -1; parameter q moves coefficient
    ``qk[q]`` through ``L[qk[q], ql[q]]`` (``ql[q] = -1``: the mean or fixed value).
    Situations with an unknown choice (``chosen < 0``) are left out."""
    J = Xr.shape[1]
    Kr = Xr.shape[2]
    K = Kr + Xf.shape[2]
    Q = qk.size
    R = eta.shape[2]
    B = min(DRAW_BLOCK, R)
    n_pairs = K * (K + 1) // 2
    n_qpairs = Q * (Q + 1) // 2
    beta = np.empty((K, B))
    d = np.empty((K, B))
    G = np.empty((K, B))
    A = np.empty((n_pairs, B))
    prob = np.empty((J, B))
    xbar = np.empty((K, B))
    mult = np.empty((Q, B))
    e = np.empty((Q, B))
    s = np.empty((Q, B))
    logl = np.empty(B)
    prod = np.empty(B)
    vmax = np.empty(B)
    total = np.empty(B)
    w = np.empty(B)
    Sw = np.empty(B)
    Gw = np.empty((Q, B))
    Hw = np.empty((n_qpairs, B))
    for p in range(lo, hi):
        t0 = starts[p]
        t1 = starts[p + 1]
        Sw[:] = 0.0
        Gw[:, :] = 0.0
        Hw[:, :] = 0.0
        m = -np.inf
        finite = True
        for r0 in range(0, R, B):
            nb = min(B, R - r0)
            finite = block_coefficients(b, L, free, lognormal, eta, p, r0, nb, beta)
            if not finite:
                break
            for k in range(K):
                for r in range(nb):
                    if k >= Kr:  # a fixed coefficient
                        beta[k, r] = b[k]
                    d[k, r] = beta[k, r] if k < Kr and lognormal[k] != 0.0 else 1.0
                    G[k, r] = 0.0
            A[:, :nb] = 0.0
            for r in range(nb):
                logl[r] = 0.0
                prod[r] = 1.0
            for i in range(t0, t1):
                ch = chosen[i]
                if ch < 0:
                    continue
                for r in range(nb):
                    vmax[r] = -np.inf
                    total[r] = 0.0
                for j in range(J):
                    if avail[i, j]:
                        for r in range(nb):
                            prob[j, r] = 0.0
                        for k in range(K):
                            x = _column(Xr, Xf, i, j, k)
                            for r in range(nb):
                                prob[j, r] += x * beta[k, r]
                        for r in range(nb):
                            vmax[r] = max(vmax[r], prob[j, r])
                for r in range(nb):
                    logl[r] += prob[ch, r] - vmax[r]
                for j in range(J):
                    if avail[i, j]:
                        for r in range(nb):
                            v = exp_nonpositive(prob[j, r] - vmax[r])
                            prob[j, r] = v
                            total[r] += v
                    else:
                        for r in range(nb):
                            prob[j, r] = 0.0
                for r in range(nb):
                    prod[r] *= total[r]
                    total[r] = 1.0 / total[r]
                    if prod[r] > _PRODUCT_LIMIT:
                        logl[r] -= np.log(prod[r])
                        prod[r] = 1.0
                for j in range(J):
                    for r in range(nb):
                        prob[j, r] *= total[r]
                for k in range(K):
                    for r in range(nb):
                        xbar[k, r] = 0.0
                    for j in range(J):
                        x = _column(Xr, Xf, i, j, k)
                        for r in range(nb):
                            xbar[k, r] += prob[j, r] * x
                    xc = _column(Xr, Xf, i, ch, k)
                    for r in range(nb):
                        G[k, r] += xc - xbar[k, r]
                pair = 0
                for k in range(K):
                    for l in range(k + 1):
                        # A_kl -= sum_j P_j x_jk x_jl - xbar_k xbar_l
                        for r in range(nb):
                            A[pair, r] += xbar[k, r] * xbar[l, r]
                        for j in range(J):
                            xx = _column(Xr, Xf, i, j, k) * _column(Xr, Xf, i, j, l)
                            if xx != 0.0:
                                for r in range(nb):
                                    A[pair, r] -= prob[j, r] * xx
                        pair += 1
            block_max = -np.inf
            for r in range(nb):
                block_max = max(block_max, logl[r])
            if block_max > m + _RESCALE_MARGIN or m == -np.inf:
                shrink = exp_nonpositive(m - block_max) if m > -np.inf else 0.0
                for r in range(B):
                    Sw[r] *= shrink
                for q in range(Q):
                    for r in range(B):
                        Gw[q, r] *= shrink
                for qq in range(n_qpairs):
                    for r in range(B):
                        Hw[qq, r] *= shrink
                m = block_max
            for r in range(nb):
                w[r] = exp_nonpositive(logl[r] - m) / prod[r]
                Sw[r] += w[r]
            for q in range(Q):
                k = qk[q]
                lq = ql[q]
                for r in range(nb):
                    e[q, r] = 1.0 if lq < 0 else eta[p, lq, r0 + r]
                    mult[q, r] = d[k, r] * e[q, r]
                    s[q, r] = G[k, r] * mult[q, r]
                    Gw[q, r] += w[r] * s[q, r]
            qq = 0
            for q in range(Q):
                k = qk[q]
                for q2 in range(q + 1):
                    k2 = qk[q2]
                    pair = k * (k + 1) // 2 + k2 if k2 <= k else k2 * (k2 + 1) // 2 + k
                    curved = k == k2 and k < Kr and lognormal[k] != 0.0
                    for r in range(nb):
                        h = A[pair, r] * mult[q, r] * mult[q2, r] + s[q, r] * s[q2, r]
                        if curved:
                            h += G[k, r] * beta[k, r] * e[q, r] * e[q2, r]
                        Hw[qq, r] += w[r] * h
                    qq += 1
        S = 0.0
        for r in range(B):
            S += Sw[r]
        if not finite or S <= 0.0:
            ll[p] = np.nan
            for q in range(Q):
                scores[p, q] = np.nan
            hess[0, 0] = np.nan
            continue
        inv_s = 1.0 / S
        ll[p] = m + np.log(S / R)
        for q in range(Q):
            acc = 0.0
            for r in range(B):
                acc += Gw[q, r]
            scores[p, q] = acc * inv_s
        qq = 0
        for q in range(Q):
            for q2 in range(q + 1):
                acc = 0.0
                for r in range(B):
                    acc += Hw[qq, r]
                value = pw[p] * (acc * inv_s - scores[p, q] * scores[p, q2])
                hess[q, q2] += value
                if q2 != q:
                    hess[q2, q] += value
                qq += 1


def compiled_hessian_pass():
    """:func:`hessian_pass` compiled by numba: serial, ``nogil``, with fused multiply-adds."""
    return njit(nogil=True, fastmath={"contract"}, error_model="numpy")(hessian_pass)
