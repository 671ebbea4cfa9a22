r"""Multinomial probit log-likelihood, gradient and choice probabilities (pure kernels).

Shapes: N situations, J alternatives, K coefficients, P covariance parameters, R draws,
M = J - 1, m = (available alternatives in a situation) - 1.

Parameters
----------
One flat vector ``params = (beta, theta)`` of length K + P: ``beta`` multiplies the
columns of ``X`` (N, J, K), :math:`V = X\beta`; ``theta`` parameterises the covariance
of the error differences against ``ref`` (see :mod:`choicemodels.kernels.mvn` for the
three structures, their normalisation and :func:`~choicemodels.kernels.mvn.cov_param_names`).

Likelihood
----------
Situation i with chosen c and other available alternatives :math:`j_1..j_m`:

.. math:: \log P_i = \log\Phi_m(b_i;\ \Sigma_c), \quad b_{ik} = V_{ic} - V_{ij_k},
   \quad \Sigma_c = A_c\,\Omega(\theta)\,A_c'.

Situations are grouped by (chosen, availability pattern) (:func:`group_situations`,
done once per data set); a group shares :math:`\Sigma_c`, its Cholesky factor and their
derivatives, and is evaluated in one vectorised call. Integration ``method``:

``"ghk"``
    GHK simulator (:mod:`~choicemodels.kernels.ghk`, compiled and threaded; groups of at
    most ``GHK_NUMPY_MAX_SIZE`` draws x dimensions by :mod:`~choicemodels.kernels.ghk_numpy`)
    with fixed uniform draws ``uniforms`` (N, R, D >= J - 2) from
    :func:`~choicemodels.kernels.draws.uniform_draws`, or as
    :class:`~choicemodels.kernels.draws.RotatedDraws` (one point set and a shift per
    situation, expanded draw by draw in the compiled kernel: memory O((N + R) D)).
    Gradient: exact derivative of the simulated log-likelihood, chained from the Cholesky
    factor to ``theta`` by :func:`~choicemodels.kernels.mvn.cholesky_derivative`.
``"quadrature"``
    One-dimensional quadrature (:mod:`~choicemodels.kernels.quadrature`), exact to about
    1e-10 for ``"iid"`` and ``"heteroskedastic"`` errors with any J and any ratio of
    error scales; not for ``"unstructured"``.
``"closed"``
    :math:`\Phi` (m = 1) and the bivariate normal CDF via Owen's T (m = 2); any
    structure, at most three available alternatives.
``"me"``, ``"ovus"``, ``"ovbs"``
    Analytic approximations without draws (:mod:`~choicemodels.kernels.me`): Bhat's (2018)
    matrix form of the Mendell-Elston approximation and of its one-variate univariate and
    bivariate screening refinements, exact for m = 1 (``"me"``), m <= 2 (``"ovus"``) and
    m <= 3 (``"ovbs"``), O(m^3) per
    situation, with the exact gradient of the approximation chained from
    :math:`\Sigma_c` to ``theta``.
    The variables are conditioned on in the given order, or in
    Gibson-Glasbey-Elston order fixed at ``order_at`` (:func:`probit_loglike_obs`).
``"genz"``
    :func:`scipy.stats.multivariate_normal.cdf` per situation (Genz's randomised
    quasi-Monte Carlo, absolute error 1e-6, seeded with ``genz_rng`` so the function is
    deterministic); a slow reference, log-likelihood only.

Every method uses the exact :math:`\log\Phi` for m = 1, and :math:`\log P = 0` for m = 0.
Where :math:`\Sigma_c` is numerically singular (not positive definite to Cholesky), GHK
gives :math:`\log P = -\infty` (gradient 0) instead of raising.
Situations with ``chosen == -1`` contribute nothing. :func:`auto_method` picks the exact
method when one exists.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(50, 3, 2)); chosen = rng.integers(0, 3, 50)
>>> avail = np.ones((50, 3), bool)
>>> groups = group_situations(chosen, avail)
>>> ll, grad = probit_loglike(np.array([0.5, -0.2]), X, groups, structure="iid",
...                           ref=0, method="quadrature", grad=True)
>>> grad.shape
(2,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special
from scipy.stats import multivariate_normal

from choicemodels.kernels.mvn import (
    Structure,
    bvn_log_cdf_grad,
    cholesky_derivative,
    diff_covariance,
    difference_matrix,
)
from choicemodels.kernels.draws import RotatedDraws
from choicemodels.kernels.ghk_numpy import ghk_log_prob_numpy
from choicemodels.kernels.quadrature import independent_log_prob

__all__ = [
    "Method",
    "SituationGroup",
    "auto_method",
    "choice_probabilities",
    "group_situations",
    "prediction_groups",
    "probit_loglike",
    "probit_loglike_obs",
]

Method = Literal["ghk", "quadrature", "closed", "genz", "me", "ovus", "ovbs"]
ANALYTIC = ("me", "ovus", "ovbs")  # the approximations of kernels.me

#: GHK on at most this many draws x dimensions (n R m) of a group runs in NumPy, the same
#: simulator to rounding, so that small fits (the bundled data) compile nothing.
GHK_NUMPY_MAX_SIZE = 2**20

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass(frozen=True, eq=False)
class SituationGroup:
    """Situations sharing the alternative differenced against and the available set.

    Attributes
    ----------
    chosen : int
        c.
    others : ndarray of int, shape (m,)
        The other available alternatives, ascending.
    rows : ndarray of int, shape (n,)
        Indices of the situations in the group.
    """

    chosen: int
    others: np.ndarray
    rows: np.ndarray


def _groups_by_key(keys: np.ndarray, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Unique rows of ``keys`` (n, w) and the entries of ``rows`` holding each."""
    if rows.size == 0:
        return []
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    splits = np.cumsum(np.bincount(inverse.ravel(), minlength=len(unique)))[:-1]
    return list(zip(unique, np.split(rows[order], splits)))


def group_situations(chosen: np.ndarray, avail: np.ndarray) -> tuple[SituationGroup, ...]:
    """Group situations by (chosen, availability pattern) for the likelihood.

    Parameters
    ----------
    chosen : ndarray of int, shape (N,)
        Chosen alternative, -1 if unknown (such situations are left out).
    avail : ndarray of bool, shape (N, J)

    Returns
    -------
    tuple of SituationGroup
    """
    rows = np.flatnonzero(chosen >= 0)
    keys = np.column_stack([chosen[rows], avail[rows].astype(np.int64)])
    groups = []
    for key, members in _groups_by_key(keys, rows):
        c, pattern = int(key[0]), key[1:].astype(bool)
        pattern[c] = False
        groups.append(SituationGroup(c, np.flatnonzero(pattern), members))
    return tuple(groups)


def prediction_groups(avail: np.ndarray) -> tuple[SituationGroup, ...]:
    """Groups for :func:`choice_probabilities`: every available alternative as ``chosen``.

    Parameters
    ----------
    avail : ndarray of bool, shape (N, J)
    """
    rows = np.arange(avail.shape[0])
    groups = []
    for pattern, members in _groups_by_key(avail.astype(np.int64), rows):
        available = np.flatnonzero(pattern)
        for c in available:
            groups.append(SituationGroup(int(c), available[available != c], members))
    return tuple(groups)


def auto_method(structure: Structure, n_alts: int) -> Method:
    """The exact method when there is one: quadrature for independent errors, closed
    forms for J <= 3, GHK otherwise."""
    if structure != "unstructured":
        return "quadrature"
    return "closed" if n_alts <= 3 else "ghk"


def _scales(theta: np.ndarray, structure: Structure, n_alts: int, ref: int) -> np.ndarray:
    """Error standard deviations s (J,) of the independent-error structures."""
    scales = np.ones(n_alts)
    if structure == "heteroskedastic":
        scales[np.arange(n_alts) != ref] = np.exp(theta)
    return scales


def _group_log_prob(
    b: np.ndarray,
    group: SituationGroup,
    theta: np.ndarray,
    omega: np.ndarray,
    d_omega: np.ndarray,
    *,
    structure: Structure,
    ref: int,
    method: Method,
    uniforms: np.ndarray | RotatedDraws | None,
    genz_rng: int,
    grad: bool,
    threads: int | None = None,
    order: str = "given",
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """log P (n,), d log P / d b (n, m), d log P / d theta (n, P) for one group; ``order``
    of the analytic approximations as in :func:`~choicemodels.kernels.me.orthant_log_prob`."""
    n, m = b.shape
    n_alts = omega.shape[0] + 1
    n_theta = d_omega.shape[0]
    if m == 0:
        return np.zeros(n), np.zeros((n, 0)), np.zeros((n, n_theta))
    diff = difference_matrix(group.chosen, group.others, ref, n_alts)
    sigma = diff @ omega @ diff.T
    d_sigma = diff @ d_omega @ diff.T  # (P, m, m)

    if m == 1:
        sd = np.sqrt(sigma[0, 0])
        t = b[:, 0] / sd
        log_p = special.log_ndtr(t)
        if not grad:
            return log_p, None, None
        mills = np.exp(-0.5 * t**2 - log_p - _LOG_SQRT_2PI)
        d_var = -0.5 * mills * t / sigma[0, 0]
        return log_p, (mills / sd)[:, None], d_var[:, None] * d_sigma[:, 0, 0]

    if method == "ghk":
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            # Sigma_c numerically singular (an error variance run to 0): the simulator has
            # no value there; -inf makes an optimiser's line search shorten its step
            return (np.full(n, -np.inf), np.zeros((n, m)) if grad else None,
                    np.zeros((n, n_theta)) if grad else None)
        if n * uniforms.shape[1] * m <= GHK_NUMPY_MAX_SIZE:
            rotated = isinstance(uniforms, RotatedDraws)  # small: expanded for numpy
            log_p, d_b, d_chol = ghk_log_prob_numpy(
                b, chol, uniforms.take(group.rows) if rotated else uniforms,
                rows=None if rotated else group.rows, grad=grad)
        else:
            from choicemodels.kernels.ghk import ghk_log_prob  # compiled: loaded on first use

            log_p, d_b, d_chol = ghk_log_prob(b, chol, uniforms, rows=group.rows, grad=grad,
                                               threads=threads)
        if not grad:
            return log_p, None, None
        d_theta = np.einsum("nkl,pkl->np", d_chol, cholesky_derivative(chol, d_sigma))
        return log_p, d_b, d_theta

    if method in ANALYTIC:
        from choicemodels.kernels.me import orthant_log_prob  # compiled: loaded on first use

        log_p, d_b, d_sigma_bar = orthant_log_prob(b, sigma, variant=method, grad=grad,
                                                   threads=threads, order=order)
        if not grad:
            return log_p, None, None
        return log_p, d_b, np.einsum("nkl,pkl->np", d_sigma_bar, d_sigma)

    if method == "quadrature":
        scales = _scales(theta, structure, n_alts, ref)
        log_p, g = independent_log_prob(
            b, scales[group.chosen], scales[group.others], grad=grad
        )
        if not grad:
            return log_p, None, None
        d_b, d_chosen, d_others = g
        d_log_scale = np.zeros((n, n_alts))
        d_log_scale[:, group.others] = d_others * scales[group.others]
        d_log_scale[:, group.chosen] = d_chosen * scales[group.chosen]
        return log_p, d_b, np.delete(d_log_scale, ref, axis=1)[:, :n_theta]

    if method == "closed":
        if m > 2:
            raise ValueError("closed forms cover at most three available alternatives")
        sd = np.sqrt(np.diag(sigma))
        rho = sigma[0, 1] / (sd[0] * sd[1])
        h, k = b[:, 0] / sd[0], b[:, 1] / sd[1]
        log_p, d_h, d_k, d_rho = bvn_log_cdf_grad(h, k, rho)
        if not grad:
            return log_p, None, None
        d_var0 = -0.5 * (d_h * h + d_rho * rho) / sigma[0, 0]
        d_var1 = -0.5 * (d_k * k + d_rho * rho) / sigma[1, 1]
        d_cov = d_rho / (sd[0] * sd[1])
        d_theta = (
            np.outer(d_var0, d_sigma[:, 0, 0])
            + np.outer(d_var1, d_sigma[:, 1, 1])
            + np.outer(d_cov, d_sigma[:, 0, 1])
        )
        return log_p, np.column_stack([d_h / sd[0], d_k / sd[1]]), d_theta

    if method == "genz":
        if grad:
            raise ValueError("method 'genz' gives the log-likelihood only")
        log_p = np.array(
            [
                np.log(
                    multivariate_normal.cdf(row, cov=sigma, abseps=1e-6, releps=0, rng=genz_rng)
                )
                for row in b
            ]
        )
        return log_p, None, None
    raise ValueError(
        f"unknown method {method!r}; use 'ghk', 'quadrature', 'closed', 'genz', 'me', "
        "'ovus' or 'ovbs'"
    )


def probit_loglike_obs(
    params: np.ndarray,
    X: np.ndarray,
    groups: tuple[SituationGroup, ...],
    *,
    structure: Structure,
    ref: int,
    method: Method,
    uniforms: np.ndarray | RotatedDraws | None = None,
    genz_rng: int = 0,
    grad: bool = False,
    threads: int | None = None,
    order_at: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Per-situation log-likelihood and scores.

    Parameters
    ----------
    params : ndarray, shape (K + P,)
        ``(beta, theta)``.
    X : ndarray, shape (N, J, K)
    groups : tuple of SituationGroup
        From :func:`group_situations`.
    structure : {"iid", "heteroskedastic", "unstructured"}
    ref : int
        Reference alternative of the covariance parameterisation.
    method : {"ghk", "quadrature", "closed", "genz", "me", "ovus", "ovbs"}
    uniforms : ndarray or RotatedDraws, shape (N, R, D), D >= J - 2
        Fixed draws for ``"ghk"``.
    genz_rng : int
        Seed of scipy's randomised Genz integration for ``"genz"``.
    grad : bool
        Also return the scores.
    threads : int, optional
        Threads of the ``"ghk"`` and analytic kernels (default: their choice);
        the results do not depend on it.
    order_at : ndarray, shape (K + P,), optional
        ``"me"``, ``"ovus"``: condition each situation's variables in Gibson, Glasbey and
        Elston's order (:func:`~choicemodels.kernels.me.conditioning_order`) at these
        parameters, a fixed order, so the result stays smooth in ``params``; default: the
        given order (the other alternatives ascending).

    Returns
    -------
    loglike : ndarray, shape (N,)
        :math:`\log P_i` (0 for situations outside ``groups``).
    scores : ndarray, shape (N, K + P), or None
        :math:`\partial \log P_i / \partial` params.
    """
    n_obs, n_alts, n_beta = X.shape
    beta, theta = params[:n_beta], params[n_beta:]
    omega, d_omega = diff_covariance(theta, structure, n_alts)
    utility = X @ beta
    loglike = np.zeros(n_obs)
    scores = np.zeros((n_obs, params.size)) if grad else None

    def store(group, log_p, d_b, d_theta):
        rows, c, others = group.rows, group.chosen, group.others
        loglike[rows] = log_p
        if grad:
            x_c = X[rows, c]  # (n, K)
            x_diff = x_c[:, None, :] - X[rows[:, None], others[None, :]]  # (n, m, K)
            scores[rows, :n_beta] = np.einsum("nk,nkK->nK", d_b, x_diff)
            scores[rows, n_beta:] = d_theta

    analytic: dict[int, list] = {}  # m -> [(group, b)]: one kernel call per dimension
    for group in groups:
        rows, c, others = group.rows, group.chosen, group.others
        b = utility[rows, c][:, None] - utility[np.ix_(rows, others)]
        if method in ANALYTIC and b.shape[1] >= 2:
            analytic.setdefault(b.shape[1], []).append((group, b))
            continue
        store(group, *_group_log_prob(
            b, group, theta, omega, d_omega, structure=structure, ref=ref, method=method,
            uniforms=uniforms, genz_rng=genz_rng, grad=grad, threads=threads,
        ))
    for items in analytic.values():
        order = "given"
        if order_at is not None:  # the same groups at the parameters fixing the order
            utility_at = X @ order_at[:n_beta]
            omega_at = diff_covariance(order_at[n_beta:], structure, n_alts)[0]
            order = _analytic_order(
                [utility_at[g.rows, g.chosen][:, None] - utility_at[np.ix_(g.rows, g.others)]
                 for g, _ in items], [g for g, _ in items], omega_at, ref=ref, threads=threads)
        for group, out in zip((g for g, _ in items), _analytic_log_prob(
                items, omega, d_omega, ref=ref, method=method, grad=grad, threads=threads,
                order=order)):
            store(group, *out)
    return loglike, scores


def _stacked(bs, groups, omega, ref) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """Groups of one m stacked for one kernel call: their difference matrices, covariances
    (g, m, m), limits (n, m) and each row's group."""
    n_alts = omega.shape[0] + 1
    diffs = [difference_matrix(g.chosen, g.others, ref, n_alts) for g in groups]
    sigmas = np.stack([a @ omega @ a.T for a in diffs])
    which = np.repeat(np.arange(len(groups)), [len(b) for b in bs])
    return diffs, sigmas, np.concatenate(bs), which


def _analytic_order(bs, groups, omega, *, ref, threads) -> np.ndarray:
    """Gibson-Glasbey-Elston orders (n, m) of stacked groups of one m (limits ``bs``)."""
    from choicemodels.kernels.me import conditioning_order  # compiled: loaded on first use

    _, sigmas, b, which = _stacked(bs, groups, omega, ref)
    return conditioning_order(b, sigmas, which=which, threads=threads)


def _analytic_log_prob(items, omega, d_omega, *, ref, method, grad, threads,
                       order="given") -> list[tuple]:
    """``_group_log_prob`` of ``"me"``/``"ovus"`` for groups [(group, b)] with the same m,
    in one call of the kernel (its chunks then hold situations of several groups)."""
    diffs, sigmas, b, which = _stacked([b for _, b in items], [g for g, _ in items], omega, ref)
    sizes = [len(b) for _, b in items]
    from choicemodels.kernels.me import orthant_log_prob  # compiled: loaded on first use

    log_p, d_b, d_sigma_bar = orthant_log_prob(
        b, sigmas, variant=method, grad=grad, which=which, threads=threads, order=order)
    edges = np.cumsum([0, *sizes])
    out = []
    for k, a in enumerate(diffs):
        rows = slice(edges[k], edges[k + 1])
        if not grad:
            out.append((log_p[rows], None, None))
            continue
        d_sigma = a @ d_omega @ a.T  # (P, m, m)
        m = a.shape[0]  # sum over k, l of d_sigma_bar[n, k, l] d_sigma[p, k, l], by BLAS
        d_theta = d_sigma_bar[rows].reshape(-1, m * m) @ d_sigma.reshape(-1, m * m).T
        out.append((log_p[rows], d_b[rows], d_theta))
    return out


def probit_loglike(
    params: np.ndarray,
    X: np.ndarray,
    groups: tuple[SituationGroup, ...],
    *,
    structure: Structure,
    ref: int,
    method: Method,
    weights: np.ndarray | None = None,
    uniforms: np.ndarray | RotatedDraws | None = None,
    genz_rng: int = 0,
    grad: bool = False,
    threads: int | None = None,
    order_at: np.ndarray | None = None,
) -> tuple[float, np.ndarray | None]:
    """Total (weighted) log-likelihood and its gradient (K + P,).

    Arguments as in :func:`probit_loglike_obs`; ``weights`` (N,) multiply each
    situation's contribution.
    """
    loglike, scores = probit_loglike_obs(
        params, X, groups, structure=structure, ref=ref, method=method, uniforms=uniforms,
        genz_rng=genz_rng, grad=grad, threads=threads, order_at=order_at,
    )
    if weights is None:
        return float(loglike.sum()), None if scores is None else scores.sum(axis=0)
    total = float(weights @ loglike)
    return total, None if scores is None else weights @ scores


def choice_probabilities(
    params: np.ndarray,
    X: np.ndarray,
    avail: np.ndarray,
    *,
    structure: Structure,
    ref: int,
    method: Method,
    uniforms: np.ndarray | RotatedDraws | None = None,
    genz_rng: int = 0,
    threads: int | None = None,
    order: Literal["given", "gge"] = "given",
) -> np.ndarray:
    """All choice probabilities, shape (N, J); 0 for unavailable alternatives.

    Each available alternative in turn is the ``c`` differenced against (GHK reuses the
    same draws for every ``c``, so simulated rows sum to 1 only approximately).
    Arguments as in :func:`probit_loglike_obs`; ``order`` of the analytic approximations:
    ``"gge"`` conditions in Gibson, Glasbey and Elston's order at ``params`` themselves
    (nothing is differentiated here, so the order need not be held fixed).
    """
    n_obs, n_alts, n_beta = X.shape
    omega, d_omega = diff_covariance(params[n_beta:], structure, n_alts)
    utility = X @ params[:n_beta]
    probs = np.zeros((n_obs, n_alts))
    for group in prediction_groups(avail):
        rows, c, others = group.rows, group.chosen, group.others
        b = utility[rows, c][:, None] - utility[np.ix_(rows, others)]
        log_p, _, _ = _group_log_prob(
            b, group, params[n_beta:], omega, d_omega, structure=structure, ref=ref,
            method=method, uniforms=uniforms, genz_rng=genz_rng, grad=False, threads=threads,
            order=order,
        )
        probs[rows, c] = np.exp(log_p)
    return probs
