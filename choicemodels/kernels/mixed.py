r"""Mixed logit kernel: simulated log-likelihood of persons, analytic gradient, in log space.

Shapes: N situations, J alternatives, K coefficients (K_r random among them), P persons
(a person is one situation without a panel), R draws per person, T_p situations of
person p. The arrays of the situations are ordered by person: person p holds the rows
``starts[p]:starts[p + 1]``.

Coefficients. For draw r of person p with standard draws :math:`\eta_{pr}` (K_r,), the
random coefficients are, with means b (K_r,) and the lower-triangular L (K_r, K_r)
(diagonal: the standard deviations or spreads; full lower triangle: a correlated block),

.. math::
    c_{pr} = b + L \eta_{pr}, \qquad
    \beta_{prk} = c_{prk} \ \text{(normal, uniform, triangular)}, \quad
    \beta_{prk} = \pm\exp(c_{prk}) \ \text{(lognormal, negative lognormal)} .

Likelihood. With :math:`V_{tj} = v_{tj} + \sum_k x^r_{tjk} \beta_{prk}` (:math:`v` the fixed
coefficients' part), the logit probability of the chosen alternative in situation t and
the person's product over situations,

.. math::
    \log L_{pr} = \sum_{t \in p} \Big(V_{tc_t} - \log \sum_{j \in A_t} e^{V_{tj}}\Big),
    \qquad
    \ell_p = \log \frac1R \sum_r e^{\log L_{pr}},

the last a log-mean-exp, kept as a running maximum and rescaled running sums over the
draws, so nothing of size R is stored. The gradient is the average of the draws'
gradients with the posterior weights :math:`\omega_{pr} = L_{pr} / \sum_s L_{ps}`:

.. math::
    \frac{\partial \ell_p}{\partial b_k} = \sum_r \omega_{pr} d_{prk}, \quad
    \frac{\partial \ell_p}{\partial L_{kl}} = \sum_r \omega_{pr} d_{prk} \eta_{prl}, \quad
    d_{prk} = \frac{\partial \beta_{prk}}{\partial c_{prk}}
      \sum_{t} \Big(x^r_{tc_tk} - \sum_j P_{trj} x^r_{tjk}\Big),

and, for a fixed coefficient, :math:`\sum_t (x_{tc_t k} - \sum_j \bar P_{tj} x_{tjk})` with
:math:`\bar P_{tj} = \sum_r \omega_{pr} P_{trj}`. The same weights give the conditional
(Revelt-Train) means :math:`\sum_r \omega_{pr} \beta_{pr}`.

One compiled (numba) pass per evaluation, serial and ``nogil`` over a run of persons; the
runs go to the logit kernel's thread pool. The draws are processed in blocks of
``DRAW_BLOCK`` side by side (vector code over the draws); per thread the memory is one
(T_max, J, DRAW_BLOCK) scratch array: no N x R x J x K (nor N x R) temporary. A person's
softmax denominators are multiplied together and their logarithm taken once per draw.

These functions perform no validation.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["MixedArrays", "mixed_person_hessian", "mixed_person_sums", "person_layout"]


@dataclass(frozen=True)
class MixedArrays:
    """The arrays of the kernel, ordered by person.

    Attributes
    ----------
    Xr : (N, J, K_r) the random coefficients' columns.
    Xf : (N, J, K_f) the fixed coefficients' columns.
    chosen : (N,) int64 chosen alternative (-1 where unknown: prediction).
    avail : (N, J) bool.
    starts : (P + 1,) int64 first row of each person, then N.
    eta : (P, K_r, R) standard draws, the draw innermost.
    """

    Xr: np.ndarray
    Xf: np.ndarray
    chosen: np.ndarray
    avail: np.ndarray
    starts: np.ndarray
    eta: np.ndarray


def person_layout(person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the situations grouped by person (stable), and the persons' first rows.

    Parameters
    ----------
    person : (N,) int person index of each situation, in 0..P-1.

    Returns
    -------
    order : (N,) situations ordered by person; starts : (P + 1,) offsets into ``order``;
    first : (P,) the first situation (original row) of each person.

    Examples
    --------
    >>> order, starts, first = person_layout(np.array([1, 0, 1, 0, 2]))
    >>> order.tolist(), starts.tolist(), first.tolist()
    ([1, 3, 0, 2, 4], [0, 2, 4, 5], [1, 0, 4])
    """
    person = np.asarray(person, dtype=np.int64)
    order = np.argsort(person, kind="stable")
    counts = np.bincount(person)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return order, starts, order[starts[:-1]]


@functools.cache
def _compiled_pass():
    """The compiled pass over persons (:func:`choicemodels.kernels.mixed_pass.person_pass`),
    serial and ``nogil`` (the driver runs it on the logit kernel's thread pool); imported on
    first use, so that importing the package does not import numba."""
    from choicemodels.kernels.mixed_pass import compiled_person_pass

    return compiled_person_pass()


@functools.cache
def _compiled_hessian_pass():
    """The compiled Hessian pass (:mod:`choicemodels.kernels.mixed_hessian_pass`), imported
    on first use."""
    from choicemodels.kernels.mixed_hessian_pass import compiled_hessian_pass

    return compiled_hessian_pass()


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _runs(starts: np.ndarray, n_runs: int) -> list[tuple[int, int]]:
    """Contiguous runs of persons with about equal numbers of situations."""
    n_persons = starts.size - 1
    n_runs = max(1, min(n_runs, n_persons))
    cuts = np.searchsorted(starts, np.linspace(0, starts[-1], n_runs + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 0, n_persons), [n_persons]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def mixed_person_sums(
    beta_fixed: np.ndarray,
    b: np.ndarray,
    L: np.ndarray,
    free: np.ndarray,
    lognormal: np.ndarray,
    arrays: MixedArrays,
    *,
    conditional: bool = True,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Per-person simulated log-likelihood and its gradient (see the module docstring).

    Parameters
    ----------
    beta_fixed : (K_f,) fixed coefficients; b : (K_r,) means (of the log for lognormal);
    L : (K_r, K_r) lower-triangular factor; free : (K_r, K_r) bool, the entries of L that
    are parameters (others zero, without gradient); lognormal : (K_r,) 0 for an additive
    coefficient, +1 / -1 for a (negative) lognormal one.
    arrays : the data and draws, ordered by person.
    conditional : weights of the draws: the likelihood's (True) or equal (False; then only
        the mean probabilities are computed, for prediction).
    threads : threads over runs of persons (default: the processors available).

    Returns
    -------
    ll : (P,) :math:`\ell_p`.
    g_fixed : (P, K_f) gradient for the fixed coefficients.
    g_mean : (P, K_r) gradient for b.
    g_chol : (P, K_r, K_r) gradient for L (lower triangle; zeros above).
    cond : (P, K_r) conditional means of the random coefficients.
    pbar : (N, J) the draws' probabilities weighted by :math:`\omega_{pr}` (conditional;
        zeros when every coefficient is random: only the fixed ones' gradient needs them)
        or averaged (not conditional).
    """
    a = arrays
    N, J, Kr = a.Xr.shape
    if not (np.all(np.isfinite(beta_fixed)) and np.all(np.isfinite(b)) and np.all(np.isfinite(L))):
        P = a.starts.size - 1
        nan = np.nan
        return (np.full(P, nan), np.full((P, a.Xf.shape[2]), nan), np.full((P, Kr), nan),
                np.full((P, Kr, Kr), nan), np.full((P, Kr), nan), np.full((N, J), nan))
    P = a.starts.size - 1
    vfix = a.Xf @ np.asarray(beta_fixed, float) if a.Xf.shape[2] else np.zeros((N, J))
    mode = 0 if conditional else 1
    ll = np.zeros(P)
    gr = np.zeros((P, Kr))
    gl = np.zeros((P, Kr, Kr))
    cond = np.zeros((P, Kr))
    pbar = np.zeros((N, J))
    args = (np.ascontiguousarray(vfix), a.Xr, a.chosen, a.avail, a.starts, a.eta,
            np.array(b, float), np.array(L, float).reshape(Kr, Kr),
            np.ascontiguousarray(free, dtype=np.bool_), np.array(lognormal, float), mode, bool(mode == 1 or a.Xf.shape[2] > 0))
    kernel = _compiled_pass()
    runs = _runs(a.starts, _threads() if threads is None else int(threads))
    if len(runs) == 1:
        kernel(*args, 0, P, ll, gr, gl, cond, pbar)
    else:
        from choicemodels.kernels.logit import _submit

        others = _submit(kernel, [(*args, lo, hi, ll, gr, gl, cond, pbar) for lo, hi in runs[1:]])
        kernel(*args, *runs[0], ll, gr, gl, cond, pbar)
        for future in others:
            future.result()
    g_fixed = np.zeros((P, a.Xf.shape[2]))
    if conditional and a.Xf.shape[2]:
        known = a.chosen >= 0
        rows = np.arange(N)
        xbar = np.einsum("nj,njk->nk", pbar, a.Xf)
        s = np.where(known[:, None], a.Xf[rows, np.maximum(a.chosen, 0)] - xbar, 0.0)
        filled = a.starts[:-1] < a.starts[1:]
        g_fixed[filled] = np.add.reduceat(s, a.starts[:-1][filled], axis=0)
    return ll, g_fixed, gr, gl, cond, pbar


def mixed_person_hessian(
    b: np.ndarray,
    L: np.ndarray,
    free: np.ndarray,
    lognormal: np.ndarray,
    qk: np.ndarray,
    ql: np.ndarray,
    arrays: MixedArrays,
    person_weights: np.ndarray | None = None,
    *,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per-person simulated log-likelihood and scores, and the weighted sum of the
    persons' analytic Hessians (see :mod:`choicemodels.kernels.mixed_hessian_pass`).

    Parameters
    ----------
    b : (K_r + K_f,) the random coefficients' means (of the log for lognormal), then the
        fixed coefficients.
    L : (K_r, K_r) lower-triangular factor; free : (K_r, K_r) bool, its entries that are
        parameters; lognormal : (K_r,) 0, +1 or -1.
    qk, ql : (Q,) int: parameter q moves coefficient ``qk[q]`` (an index into ``b``),
        through ``L[qk[q], ql[q]]`` or (``ql[q] = -1``) as its mean or value.
    arrays : the data and draws, ordered by person.
    person_weights : (P,) or None.
    threads : threads over runs of persons (default: the processors available).

    Returns
    -------
    ll : (P,); scores : (P, Q); hessian : (Q, Q), :math:`\sum_p w_p \nabla^2 \ell_p`.
    """
    a = arrays
    P = a.starts.size - 1
    Q = qk.size
    ll = np.zeros(P)
    scores = np.zeros((P, Q))
    pw = np.ones(P) if person_weights is None else np.asarray(person_weights, float)
    args = (a.Xr, a.Xf, a.chosen, a.avail, a.starts, a.eta, np.array(b, float),
            np.ascontiguousarray(L, dtype=np.float64), np.ascontiguousarray(free, dtype=np.bool_),
            np.array(lognormal, float), np.asarray(qk, np.int64), np.asarray(ql, np.int64), pw)
    kernel = _compiled_hessian_pass()
    runs = _runs(a.starts, _threads() if threads is None else int(threads))
    parts = [np.zeros((Q, Q)) for _ in runs]
    if len(runs) == 1:
        kernel(*args, 0, P, ll, scores, parts[0])
    else:
        from choicemodels.kernels.logit import _submit

        others = _submit(kernel, [(*args, lo, hi, ll, scores, part)
                                  for (lo, hi), part in zip(runs[1:], parts[1:])])
        kernel(*args, *runs[0], ll, scores, parts[0])
        for future in others:
            future.result()
    return ll, scores, sum(parts[1:], parts[0])
