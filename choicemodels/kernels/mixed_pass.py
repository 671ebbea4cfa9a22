r"""The compiled pass of the mixed logit kernel (see :mod:`choicemodels.kernels.mixed`).

Imported on first use (it imports numba). Besides the pass itself, a vectorisable
exponential for non-positive arguments: numba compiles ``np.exp`` to a call of the C
library's ``exp`` that blocks vector code, while the utilities' exponentials are most of
the work. :func:`exp_nonpositive` reduces :math:`x = n \ln 2 + r`, :math:`|r| \le \ln 2/2`
(Cody and Waite's two-part :math:`\ln 2`), sums the Taylor series of :math:`e^r` to
degree 13 (truncation below :math:`10^{-17}`) and scales by :math:`2^n` through the
exponent bits: relative error below :math:`5 \cdot 10^{-16}` (tests/test_mixed.py), for
:math:`x \ge -708` (arguments below give :math:`e^{-708}`, about :math:`3 \cdot 10^{-308}`,
which never matters beside the largest term, 1).
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types

from choicemodels.kernels.jit import njit

__all__ = ["block_coefficients", "compiled_person_pass", "exp_nonpositive", "person_pass"]

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


@numba.extending.intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose bits are the int64 ``bits``."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@numba.extending.intrinsic
def _bits_from_float(typingctx, value):
    """The int64 with the bits of the float64 ``value``."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


#: 2^52 + 2^51: adding it to a double of magnitude below 2^51 rounds it to an integer held
#: in the low bits of the mantissa (no float-to-integer conversion, which AVX2 lacks).
_ROUNDER = 6755399441055744.0


@njit(inline="always")
def exp_nonpositive(x):
    """:math:`e^x` for :math:`x \\le 0` (see the module docstring), in vector code."""
    x = max(x, -708.0)
    shifted = x * _LOG2E + _ROUNDER
    n = shifted - _ROUNDER  # round(x / ln 2)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
        1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
            1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600 + r / 6227020800.0))))))))))))
    # 2^n: n + 1023 in the exponent field (the low bits of ``shifted`` hold n)
    return p * _float_from_bits((_bits_from_float(shifted) + 1023) << 52)


#: Draws processed side by side (the innermost loop, so that it compiles to vector code).
DRAW_BLOCK = 64
#: The running product of a person's softmax denominators (each in [1, J]) is turned into
#: its logarithm before it can overflow.
_PRODUCT_LIMIT = 1e280
#: The running sums are rescaled when a block's largest log-likelihood exceeds the current
#: reference by more than this (weights below e^40, sums far from overflow).
_RESCALE_MARGIN = 40.0


@njit(inline="always")
def block_coefficients(b, L, free, lognormal, eta, p, r0, nb, beta):
    """The random coefficients of person p's draws ``r0:r0 + nb``: ``beta[k, r] = b_k +
    sum_l L_kl eta[p, l, r0 + r]`` over the free entries, :math:`\\pm e^{(\\cdot)}` for a
    (negative) lognormal k; False where one is not finite."""
    finite = True
    for k in range(L.shape[0]):
        for r in range(nb):
            beta[k, r] = b[k]
        for l in range(k + 1):
            if free[k, l]:
                c = L[k, l]
                for r in range(nb):
                    beta[k, r] += c * eta[p, l, r0 + r]
        if lognormal[k] != 0.0:
            for r in range(nb):
                beta[k, r] = lognormal[k] * np.exp(beta[k, r])
        for r in range(nb):
            if not np.isfinite(beta[k, r]):
                finite = False
    return finite


def person_pass(vfix, Xr, chosen, avail, starts, eta, b, L, free, lognormal, mode, want_pbar,
                lo, hi, ll, gr_out, gl_out, cond_out, pbar):
    """Persons ``lo:hi``: see the module docstring. ``eta`` is (P, K_r, R), the draw
    innermost; ``free`` (K_r, K_r) bool marks the entries of L that are parameters (the
    others are zero and get no gradient). ``mode`` 0: the likelihood weights (writes ll, gr_out (P, K_r), gl_out
    (P, K_r, K_r), cond_out (P, K_r) and the weighted probabilities pbar (N, J) if
    ``want_pbar``); ``mode`` 1: equal weights (pbar: mean probabilities).

    The draws go in blocks of ``DRAW_BLOCK``, the draw the innermost index of every
    scratch array; per block, each situation's utilities, probabilities and gradient terms
    for all its draws, then the block's weights and the running sums, kept per draw slot
    (so vector code too) and rescaled when the largest log-likelihood grows. A draw's
    log-likelihood is held as :math:`a_r - \\log \\pi_r`: :math:`a_r` the sum of
    :math:`V_{tc} - \\max_j V_{tj}`, :math:`\\pi_r` the product of the softmax denominators
    (each in [1, J]); its weight is :math:`e^{a_r - m} / \\pi_r` with m a reference within
    ``_RESCALE_MARGIN`` of :math:`\\max_r a_r`, so no logarithm per draw."""
    J = Xr.shape[1]
    Kr = Xr.shape[2]
    R = eta.shape[2]
    B = min(DRAW_BLOCK, R)
    t_max = 1
    for p in range(lo, hi):
        t_max = max(t_max, starts[p + 1] - starts[p])
    prob = np.empty((t_max, J, B))
    beta = np.empty((Kr, B))
    dk = np.empty((Kr, B))
    logl = np.empty(B)
    prod = np.empty(B)
    vmax = np.empty(B)
    total = np.empty(B)
    w = np.empty(B)
    Sw = np.empty(B)
    Aw = np.empty((Kr, B))
    Cw = np.empty((Kr, B))
    ALw = np.empty((Kr, Kr, B))
    for p in range(lo, hi):
        t0 = starts[p]
        T = starts[p + 1] - t0
        for t in range(T):
            for j in range(J):
                pbar[t0 + t, j] = 0.0
        Sw[:] = 0.0
        Aw[:, :] = 0.0
        Cw[:, :] = 0.0
        ALw[:, :, :] = 0.0
        m = -np.inf
        finite = True
        for r0 in range(0, R, B):
            nb = min(B, R - r0)
            finite = block_coefficients(b, L, free, lognormal, eta, p, r0, nb, beta)
            if not finite:  # a lognormal coefficient overflows: no likelihood here
                break
            dk[:, :nb] = 0.0
            for r in range(nb):
                logl[r] = 0.0
                prod[r] = 1.0
            for t in range(T):
                i = t0 + t
                ch = chosen[i]
                for r in range(nb):
                    vmax[r] = -np.inf
                    total[r] = 0.0
                for j in range(J):
                    if avail[i, j]:
                        v0 = vfix[i, j]
                        for r in range(nb):
                            prob[t, j, r] = v0
                        for k in range(Kr):
                            x = Xr[i, j, k]
                            for r in range(nb):
                                prob[t, j, r] += x * beta[k, r]
                        for r in range(nb):
                            vmax[r] = max(vmax[r], prob[t, j, r])
                if mode == 0 and ch >= 0:
                    for r in range(nb):
                        logl[r] += prob[t, ch, r] - vmax[r]
                for j in range(J):
                    if avail[i, j]:
                        for r in range(nb):
                            e = exp_nonpositive(prob[t, j, r] - vmax[r])
                            prob[t, j, r] = e
                            total[r] += e
                    else:
                        for r in range(nb):
                            prob[t, j, r] = 0.0
                for r in range(nb):
                    prod[r] *= total[r]
                    total[r] = 1.0 / total[r]
                for j in range(J):
                    for r in range(nb):
                        prob[t, j, r] *= total[r]
                if mode == 0:
                    for r in range(nb):
                        if prod[r] > _PRODUCT_LIMIT:
                            logl[r] -= np.log(prod[r])
                            prod[r] = 1.0
                if mode == 0 and ch >= 0:
                    for k in range(Kr):
                        xc = Xr[i, ch, k]
                        for r in range(nb):
                            dk[k, r] += xc
                        for j in range(J):
                            x = Xr[i, j, k]
                            for r in range(nb):
                                dk[k, r] -= prob[t, j, r] * x
            if mode == 1:
                for r in range(nb):
                    w[r] = 1.0
                    Sw[r] += 1.0
            else:
                block_max = -np.inf
                for r in range(nb):
                    block_max = max(block_max, logl[r])
                if block_max > m + _RESCALE_MARGIN or m == -np.inf:
                    # rescale the running sums to the new maximum (weights up to
                    # e^_RESCALE_MARGIN are let be: rescaling is then rare)
                    shrink = exp_nonpositive(m - block_max) if m > -np.inf else 0.0
                    for r in range(B):
                        Sw[r] *= shrink
                    for k in range(Kr):
                        for r in range(B):
                            Aw[k, r] *= shrink
                            Cw[k, r] *= shrink
                        for l in range(k + 1):
                            for r in range(B):
                                ALw[k, l, r] *= shrink
                    if want_pbar:
                        for t in range(T):
                            for j in range(J):
                                pbar[t0 + t, j] *= shrink
                    m = block_max
                for r in range(nb):
                    w[r] = exp_nonpositive(logl[r] - m) / prod[r]
                    Sw[r] += w[r]
            if want_pbar:
                for t in range(T):
                    for j in range(J):
                        # four partial sums: a reduction the compiler cannot reorder
                        a0 = a1 = a2 = a3 = 0.0
                        r = 0
                        while r + 4 <= nb:
                            a0 += w[r] * prob[t, j, r]
                            a1 += w[r + 1] * prob[t, j, r + 1]
                            a2 += w[r + 2] * prob[t, j, r + 2]
                            a3 += w[r + 3] * prob[t, j, r + 3]
                            r += 4
                        while r < nb:
                            a0 += w[r] * prob[t, j, r]
                            r += 1
                        pbar[t0 + t, j] += (a0 + a1) + (a2 + a3)
            if mode == 0:
                for k in range(Kr):
                    if lognormal[k] != 0.0:
                        for r in range(nb):
                            dk[k, r] *= beta[k, r]
                    for r in range(nb):
                        dk[k, r] *= w[r]
                        Aw[k, r] += dk[k, r]
                        Cw[k, r] += w[r] * beta[k, r]
                    for l in range(k + 1):
                        if free[k, l]:
                            for r in range(nb):
                                ALw[k, l, r] += dk[k, r] * eta[p, l, r0 + r]
        S = 0.0
        for r in range(B):
            S += Sw[r]
        inv_s = 1.0 / S if finite else np.nan
        if want_pbar:
            for t in range(T):
                for j in range(J):
                    pbar[t0 + t, j] *= inv_s
        if mode == 0:
            ll[p] = m + np.log(S / R) if finite else np.nan
            for k in range(Kr):
                acc_a = 0.0
                acc_c = 0.0
                for r in range(B):
                    acc_a += Aw[k, r]
                    acc_c += Cw[k, r]
                gr_out[p, k] = acc_a * inv_s
                cond_out[p, k] = acc_c * inv_s
                for l in range(Kr):
                    acc = 0.0
                    if l <= k:
                        for r in range(B):
                            acc += ALw[k, l, r]
                    gl_out[p, k, l] = acc * inv_s


def compiled_person_pass():
    """:func:`person_pass` compiled by numba: serial, ``nogil``, with fused multiply-adds
    (``contract``: each a single rounding, so no less accurate; no reassociation)."""
    return njit(nogil=True, fastmath={"contract"}, error_model="numpy")(person_pass)
