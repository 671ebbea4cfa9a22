"""Two-level nested logit."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.data import WeightType
from choicemodels.exceptions import BoundWarning, SpecificationError
from choicemodels.inference import check_cov_options, covariance
from choicemodels.kernels.nested import (
    nested_log_probabilities,
    nested_loglike_derivatives,
    nested_scores,
)
from choicemodels.models import engine
from choicemodels.models.base import ChoiceModel
from choicemodels.models.logit import WARM_START_MIN_OBS, WARM_START_SUBSAMPLE_MAX
from choicemodels.models.optimize import newton_maximize, per_unit_weight
from choicemodels.rendering import Table
from choicemodels.results import ChoiceResults, register_model_kind

__all__ = ["NestedLogit"]

#: The start of large fits: the estimate on every n-th situation, N / 20 of them but at least
#: this many (and at most the logit's ``WARM_START_SUBSAMPLE_MAX``). Measured on simulated
#: data (N = 100,000, J = 5, K = 6, two nests, two seeds), Newton on the full data then
#: takes 4 iterations instead of 5 from a subsample of 2,000 (the logit's): one full
#: evaluation fewer, for a subsample fit costing about 0.3 of one.
WARM_START_SUBSAMPLE = 5_000


class NestedLogit(ChoiceModel):
    r"""Two-level nested logit, normalised at the top.

    Every alternative belongs to exactly one nest; nest k has the inclusive-value
    (dissimilarity) parameter :math:`\lambda_k`, named ``iv:k`` (one ``iv`` for all nests
    with ``equal_iv=True``; a nest of one alternative has none). With
    :math:`S_k = \sum_{i \in k \cap A_n} \exp(V_i / \lambda_k)`,

    .. math::
        P_j = \frac{\exp(V_j / \lambda_k)\, S_k^{\lambda_k - 1}}{\sum_m S_m^{\lambda_m}},
        \qquad j \in k,

    mlogit's default form (Biogeme's :math:`\mu_k = 1/\lambda_k`). :math:`\lambda_k = 1`
    for every nest is the logit; :math:`0 < \lambda_k \le 1` is consistent with random
    utility for all data. The log-likelihood, its gradient and its Hessian are computed
    analytically in log space, in one pass over X (see
    :func:`choicemodels.kernels.nested.nested_loglike_derivatives`); the fit is Newton's
    method on the analytic Hessian (``method="newton"``, the default; ``"bfgs"`` and
    ``"bhhh"`` are options) from the logit's estimate and :math:`\lambda = 1`, and the
    covariance inverts the analytic Hessian. Shapes: N situations, J alternatives,
    K coefficients, P inclusive-value parameters.

    Parameters
    ----------
    formula : str
        Three-part formula, as for :class:`~choicemodels.Logit`.
    data : pandas.DataFrame
        Long format, one row per (situation, alternative); never modified.
    obs : str
        Column of the situation id.
    alt : str
        Column of the alternative label.
    ref : object, optional
        Reference alternative of the constants and part-2 coefficients.
    nests : dict of str to list
        Nest name -> the labels of its alternatives; every alternative in exactly one nest.
    equal_iv : bool, default False
        One inclusive-value parameter ``iv`` shared by every nest of two or more alternatives.
    iv_bounds : (float, float), optional
        ``(lo, hi)`` with ``0 <= lo <= hi <= inf``, ``hi > 0``: keep every ``iv`` in
        ``[lo, hi]`` (``lo = 0`` leaves it open, as ``iv > 0`` always), e.g. ``(0, 1)`` for
        consistency with random utility. Default ``None``: unbounded, ``iv`` may exceed 1 as
        far as the likelihood allows. See :meth:`fit` for the estimation at a bound.
    avail : str, optional
        0/1 availability column.
    weights : str, optional
        Per-situation weight column.
    weight_type : {"frequency", "sampling"}, default "frequency"
        How ``weights`` are read, as for :class:`~choicemodels.Logit`.
    functions : dict of str to callable, optional
        Extra functions the formula's terms may call, as for :class:`~choicemodels.Logit`.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> m = cm.NestedLogit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
    ...                    ref="car", nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
    >>> m.param_names[-1]
    'iv:ground'
    >>> r = m.fit()
    >>> r.converged, round(float(r.params["iv:ground"]), 3)
    (True, 0.637)
    """

    model_name = "NestedLogit"
    methods = ("newton", "bfgs", "bhhh")
    default_method = "newton"
    default_maxiter = 500

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        ref: Any = None,
        nests: Mapping[str, list],
        equal_iv: bool = False,
        iv_bounds: tuple[float, float] | None = None,
        avail: str | None = None,
        weights: str | None = None,
        weight_type: WeightType = "frequency",
        functions: Mapping[str, Callable] | None = None,
    ) -> None:
        self._set_options(nests=nests, equal_iv=equal_iv, iv_bounds=iv_bounds)
        super().__init__(formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
                         weight_type=weight_type, functions=functions)

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        chosen: np.ndarray,
        *,
        nests: Mapping[str, list],
        equal_iv: bool = False,
        iv_bounds: tuple[float, float] | None = None,
        avail: np.ndarray | None = None,
        names: list[str] | None = None,
        weights: np.ndarray | None = None,
        weight_type: WeightType = "frequency",
    ) -> NestedLogit:
        r"""Nested logit from arrays: X (N, J, K), chosen (N,) in 0..J-1, avail (N, J) 0/1.

        Alternatives are labelled 0..J-1; the K columns of X are used as given.

        Parameters
        ----------
        X : array_like, shape (N, J, K)
            Attributes; :math:`V_{ij} = x_{ij}'\beta`.
        chosen : array_like of int, shape (N,)
            Index of the chosen alternative.
        nests : dict of str to list of int
            Nest name -> the indices of its alternatives.
        equal_iv : bool, default False
            One ``iv`` for all nests of two or more alternatives.
        iv_bounds : (float, float), optional
            Bounds on every ``iv``, as for the class.
        avail : array_like of bool or 0/1, shape (N, J), optional
            Availability; default: every alternative available.
        names : list of str, optional
            Names of the K columns of X; default ``x0 .. x{K-1}``.
        weights : array_like, shape (N,), optional
            Per-situation weights.
        weight_type : {"frequency", "sampling"}, default "frequency"
            How ``weights`` are read.

        Returns
        -------
        NestedLogit
            An unfitted model.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(0).standard_normal((400, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=0)
        >>> m = cm.NestedLogit.from_arrays(X, chosen, nests={"a": [0], "b": [1, 2]})
        >>> m.param_names
        ['x0', 'x1', 'iv:b']
        """
        model = cls.__new__(cls)
        model._set_options(nests=nests, equal_iv=equal_iv, iv_bounds=iv_bounds)
        model._init_arrays(X, chosen, avail, names, weights, weight_type)
        return model

    # ---- options ----------------------------------------------------------------------
    def _set_options(self, *, nests, equal_iv, iv_bounds=None) -> None:
        if not isinstance(nests, Mapping) or not nests:
            raise SpecificationError(
                "nests must be a non-empty dict of nest name -> list of alternatives, e.g. "
                f"{{'fly': ['air'], 'ground': ['train', 'bus', 'car']}}; got {nests!r}."
            )
        clean = {}
        for name, members in nests.items():
            if not isinstance(name, str) or not name:
                raise SpecificationError(f"nest names must be non-empty strings; got {name!r}.")
            if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
                raise SpecificationError(
                    f"nest {name!r} must list its alternatives (a list); got {members!r}.")
            members = [engine.plain_label(a) for a in members]
            if not members:
                raise SpecificationError(
                    f"nest {name!r} is empty; give it at least one alternative or remove it.")
            clean[name] = members
        if not isinstance(equal_iv, (bool, np.bool_)):
            raise SpecificationError(f"equal_iv must be True or False; got {equal_iv!r}.")
        self.nests = clean
        self.equal_iv = bool(equal_iv)
        self.iv_bounds = _checked_bounds(iv_bounds)

    def _options(self) -> dict:
        return {"nests": {k: list(v) for k, v in self.nests.items()}, "equal_iv": self.equal_iv,
                "iv_bounds": None if self.iv_bounds is None else list(self.iv_bounds)}

    def _options_without(self, omit: list) -> dict:
        """The nests without the alternatives ``omit`` (a nest left empty is dropped)."""
        nests = {k: [a for a in v if a not in omit] for k, v in self.nests.items()}
        return {"nests": {k: v for k, v in nests.items() if v}, "equal_iv": self.equal_iv,
                "iv_bounds": self.iv_bounds}

    def _init(self, design, data, spec) -> None:
        alts = [engine.plain_label(a) for a in design.alternatives]
        index = {a: j for j, a in enumerate(alts)}
        names = list(self.nests)
        homes: dict[Any, list[str]] = {}
        unknown = []
        for name, members in self.nests.items():
            for a in members:
                if a in index:
                    homes.setdefault(a, []).append(name)
                else:
                    unknown.append((name, a))
        if unknown:
            listed = ", ".join(f"{a!r} (nest {n!r})" for n, a in unknown)
            raise SpecificationError(
                f"unknown alternative(s) in nests: {listed}; the alternatives are {alts}.")
        twice = {a: n for a, n in homes.items() if len(n) > 1}
        if twice:
            listed = "; ".join(f"{a!r} in {n}" for a, n in twice.items())
            raise SpecificationError(
                f"every alternative must be in exactly one nest; {listed}. Keep each in one nest.")
        missing = [a for a in alts if a not in homes]
        if missing:
            raise SpecificationError(
                f"alternative(s) {missing} are in no nest; add each to one nest (a nest of its "
                "own if it stands alone).")
        self._nest_of = np.array([names.index(homes[a][0]) for a in alts])
        sizes = np.bincount(self._nest_of, minlength=len(names))
        free = [m for m in range(len(names)) if sizes[m] >= 2]
        if self.equal_iv:
            self._iv_names = ["iv"] if free else []
            columns = [0] * len(free)
        else:
            self._iv_names = [f"iv:{names[m]}" for m in free]
            columns = list(range(len(free)))
        # lambda (M,) = 1 + A @ (iv - 1): A maps each free nest to its parameter
        self._iv_map = np.zeros((len(names), len(self._iv_names)))
        self._iv_map[free, columns] = 1.0
        super()._init(design, data, spec)

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        text = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in self.nests.items())
        info = (("Nests", text),)
        if self.iv_bounds is not None:
            info += (("iv bounds", "[{:g}, {:g}]".format(*self.iv_bounds)),)
        return info

    def _param_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``iv_bounds`` on the ``iv`` parameters, none on the coefficients."""
        if self.iv_bounds is None or not self._iv_names:
            return None
        k, n = self.design.n_params, len(self.param_names)
        lower, upper = np.full(n, -np.inf), np.full(n, np.inf)
        lower[k:], upper[k:] = self.iv_bounds
        return lower, upper

    # ---- estimation -------------------------------------------------------------------
    def fit(
        self,
        *,
        start: np.ndarray | None = None,
        maxiter: int | None = None,
        tol: float | None = None,
        method: str | None = None,
        cov_type: str | None = None,
        groups: np.ndarray | None = None,
        progress: bool | None = None,
    ) -> ChoiceResults:
        r"""Maximum-likelihood fit; returns a new results object (the model is not changed).

        As :meth:`Logit.fit <choicemodels.Logit.fit>`, by Newton's method on the analytic
        Hessian (``method="newton"``, default), or ``"bfgs"`` / ``"bhhh"``. With
        ``iv_bounds`` the search is the projected Newton method
        (``models.optimize.bounded_newton_maximize``: Newton steps on the
        parameters not held at a bound, projected on the box; ``"bhhh"`` likewise,
        ``"bfgs"`` is refused), which stops at a point satisfying the Karush-Kuhn-Tucker
        conditions. An ``iv`` that ends at its bound (with the gradient pointing out of the
        box) is reported by a :class:`~choicemodels.BoundWarning` and in the summary's
        notes, and treated as Stata treats a constrained coefficient: its standard error
        is NaN (not reported), and the covariance of the other parameters is that of the
        model with the ``iv`` held at its bound (the free block of the Hessian, and of the
        scores for the sandwich). Standard errors at a bound have no normal limit (the
        estimator is on the edge of the parameter space), so no z-test is given for it.

        Parameters
        ----------
        start : array_like, shape (K + P,), optional
            Starting values; default :meth:`start_params`.
        maxiter : int, optional
            Maximum number of iterations; default 500.
        tol : float, optional
            Convergence tolerance on the Newton (or BHHH) decrement, per unit weight;
            default 1e-8.
        method : {"newton", "bfgs", "bhhh"}, optional
            Optimiser; default ``"newton"``.
        cov_type : {"nonrobust", "robust", "cluster", "opg"}, optional
            Covariance of the estimates, as for :meth:`Logit.fit <choicemodels.Logit.fit>`.
        groups : array_like, shape (N,), optional
            Cluster label of each situation, for ``cov_type="cluster"`` only.
        progress : bool or None, optional
            Progress bar of a long fit (on by default; ``False`` turns it off).

        Returns
        -------
        ChoiceResults
            Estimates, standard errors, fit statistics and the optimiser's outcome.

        Examples
        --------
        >>> import warnings
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.NestedLogit("choice ~ gc + ttme | hinc", data=df, obs="individual",
        ...                    alt="mode", ref="car", iv_bounds=(0.8, 1.0),
        ...                    nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     r = m.fit()
        >>> float(r.params["iv:ground"]), bool(np.isnan(r.bse["iv:ground"]))
        (0.8, True)
        >>> [type(w.message).__name__ for w in caught]
        ['BoundWarning']
        """
        results = engine.fit(self, start=start, maxiter=maxiter, tol=tol, method=method,
                             cov_type=cov_type, groups=groups, progress=progress, stacklevel=3)
        held = self._held_at_bounds(results.estimates)
        if not held.any():
            return results
        names = [n for n, h in zip(self.param_names, held) if h]
        values = ", ".join(f"{n} = {results.estimates[i]:g}" for i, n in
                           zip(np.flatnonzero(held), names))
        warnings.warn(
            f"{values} ended at its bound (iv_bounds={tuple(self.iv_bounds)}); its standard "
            "error is not reported (NaN) and the others are those of the model with it held "
            "there. Widen the bounds (or fit unbounded) to see where the likelihood peaks.",
            BoundWarning, stacklevel=2,
        )
        free = ~held
        params = results.estimates
        hess = self.hessian(params)[np.ix_(free, free)]
        _, groups = check_cov_options(results.cov_type, groups, self.n_obs,
                                      self.spec.get("weight_type"))
        scores = (None if results.cov_type == "nonrobust"
                  else engine.robust_scores(self, params, results.cov_type)[:, free])
        cov_free, note = covariance(hess, scores, cov_type=results.cov_type, groups=groups)
        cov = np.full((params.size, params.size), np.nan)
        cov[np.ix_(free, free)] = cov_free
        return dataclasses.replace(results, covariance=cov, cov_note=note or results.cov_note)

    def _held_at_bounds(self, params: np.ndarray) -> np.ndarray:
        """(K + P,) bool: the parameters equal to one of their bounds."""
        bounds = self._param_bounds()
        if bounds is None:
            return np.zeros(len(params), bool)
        return (params == bounds[0]) | (params == bounds[1])

    # ---- parameters -------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        """Names of the K coefficients, then the inclusive-value parameters ``iv:<nest>``."""
        return list(self.design.names) + list(self._iv_names)

    def _split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(beta (K,), lambda (M,))`` of a parameter vector."""
        params = np.asarray(params, float)
        k = self.design.n_params
        return params[:k], 1.0 + self._iv_map @ (params[k:] - 1.0)

    def start_params(self) -> np.ndarray:
        """The logit's estimate of the coefficients, then ``iv = 1`` for every nest.

        On ``WARM_START_MIN_OBS`` (50,000) situations or more (in memory), the nested
        logit's own estimate on every n-th situation (5 % of them, 5,000 to 200,000; itself
        started from the logit's estimate there), or the logit's start if that fit does not
        converge: the full-data Newton iterations then start near the optimum.

        Returns
        -------
        ndarray, shape (K + P,)
            The starting parameters (a nested logit with every ``iv`` at 1 is the logit).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.NestedLogit("choice ~ gc | 0", data=df, obs="individual", alt="mode",
        ...                    nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
        >>> m.start_params().round(4).tolist()
        [-0.0146, 1.0]
        """
        d = self.design
        if d.n_obs >= WARM_START_MIN_OBS and self._parts is None:
            size = min(max(WARM_START_SUBSAMPLE, d.n_obs // 20), WARM_START_SUBSAMPLE_MAX)
            X, chosen, avail, weights = engine.subsample(self, d.n_obs // size)
            sample = type(self).from_arrays(
                X, chosen, avail=avail, weights=weights,
                weight_type=self.spec.get("weight_type") or "frequency", **self._array_options())
            sample._threads = self._threads
            start = sample.start_params()
            out = newton_maximize(per_unit_weight(sample._derivatives, engine.weight_scale(sample)),
                                  start, maxiter=50, tol=1e-6)
            if out.converged and np.all(np.isfinite(out.x)):
                return out.x
            return start
        return np.concatenate([self._logit_estimate(), np.ones(len(self._iv_names))])

    def _array_options(self) -> dict:
        """The options of :meth:`from_arrays` giving a model of the same nests on the
        design's arrays (alternatives as column indices)."""
        nests = {name: np.flatnonzero(self._nest_of == m).tolist()
                 for m, name in enumerate(self.nests)}
        return {"nests": nests, "equal_iv": self.equal_iv, "iv_bounds": self.iv_bounds}

    # ---- block functions --------------------------------------------------------------
    def _probabilities(self, params, X, avail):
        beta, lam = self._split(params)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.exp(nested_log_probabilities(X @ beta, lam, avail, self._nest_of))

    def _loglike_scores(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) log-likelihood and (N, K + P) scores of the design's situations."""
        beta, lam = self._split(params)
        d = self.design
        ll, s_beta, s_lam = nested_scores(beta, lam, d.X, d.chosen, d.avail, self._nest_of)
        return ll, np.hstack([s_beta, s_lam @ self._iv_map])

    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        beta, lam = self._split(params)
        d = self.design
        logp = nested_log_probabilities(d.X @ beta, lam, d.avail, self._nest_of)
        return logp[np.arange(d.n_obs), d.chosen]

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        return self._loglike_scores(params)[1]

    def _block_derivatives(self, params: np.ndarray, hessian: bool = True) -> tuple:
        """Block function of ``method="newton"``: weighted log-likelihood, gradient (K + P,)
        and Hessian (K + P, K + P) (or ``None``); ``-inf`` outside the domain (an ``iv`` at
        or below 0)."""
        n = params.size
        beta, lam = self._split(params)
        if np.any(lam <= 0):
            return -np.inf, np.full(n, np.nan), np.full((n, n), np.nan) if hessian else None
        d = self.design
        with np.errstate(all="ignore"):
            ll, g, H = nested_loglike_derivatives(beta, lam, d.X, d.chosen, d.avail, self._nest_of,
                                                  d.weights, order=2 if hessian else 1,
                                                  threads=self._threads)
        if not np.isfinite(ll) or not np.all(np.isfinite(g)):
            return -np.inf, np.full(n, np.nan), np.full((n, n), np.nan) if hessian else None
        k = d.n_params
        A = self._iv_map
        g = np.concatenate([g[:k], A.T @ g[k:]])
        if hessian:
            H = np.block([[H[:k, :k], H[:k, k:] @ A], [A.T @ H[k:, :k], A.T @ H[k:, k:] @ A]])
        return ll, g, H

    def hessian(self, params: np.ndarray) -> np.ndarray:
        r"""Analytic Hessian of :meth:`loglike` in the coefficients and the ``iv``.

        The formulas are those of
        :func:`choicemodels.kernels.nested.nested_loglike_derivatives`, in
        :math:`(\beta, \lambda)`, mapped to the parameters (``equal_iv`` sums the nests'
        rows and columns).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then the ``iv``, as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K + P, K + P)
            The symmetric matrix of second derivatives (NaN outside the domain).

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.NestedLogit("choice ~ gc | 0", data=df, obs="individual", alt="mode",
        ...                    nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
        >>> m.hessian(np.array([-0.01, 0.7])).shape
        (2, 2)
        """
        return self._derivatives(params)[2]

    def _block_sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r"""Weighted log-likelihood, gradient (K + P,) and :math:`\sum_i w_i s_i s_i'`;
        ``-inf`` outside the domain (an ``iv`` at or below 0)."""
        bad = (-np.inf, np.full(params.size, np.nan), np.full((params.size,) * 2, np.nan))
        if np.any(self._split(params)[1] <= 0):
            return bad
        with np.errstate(all="ignore"):
            ll, scores = self._loglike_scores(params)
        if not np.all(np.isfinite(ll)) or not np.all(np.isfinite(scores)):
            return bad
        w = self.design.weights
        ws = scores if w is None else scores * w[:, None]
        return float(np.sum(ll if w is None else w * ll)), ws.sum(axis=0), ws.T @ scores


def _summary_extras(results: ChoiceResults, alpha: float) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    r"""The nested logit's part of the summary: a Wald test of ``iv = 1`` for each ``iv``,
    :math:`z = (\hat\lambda - 1) / \widehat{se}` with the covariance in use, and notes on
    an ``iv`` above 1 and on one at its bound (also the cross-nested logit's)."""
    names = [n for n in results.param_names[results.n_beta:] if n == "iv" or n.startswith("iv:")]
    if not names:
        return (), ()
    iv = results.params[names].astype(float)
    se = results.bse[names].astype(float)
    z = (iv - 1.0) / se
    frame = pd.DataFrame({"iv": iv, "std err": se, "z": z,
                          "P>|z|": 2.0 * stats.norm.sf(np.abs(z))})
    kinds = {"iv": "coef", "std err": "stat", "z": "stat", "P>|z|": "pvalue"}
    table = Table(f"Wald tests of iv = 1 ({results.cov_type} standard errors)", frame, kinds,
                  na_rep="nan")
    notes = [
        "iv = 1 for every nest is the logit; the Wald z = (iv - 1) / std err tests each nest "
        "against it, two-sided (cm.lr_test(logit, nested) gives the likelihood-ratio test)."
    ]
    above = [f"{n} = {v:.4f}" for n, v in iv.items() if v > 1]
    if above:
        notes.append(
            f"{', '.join(above)} > 1: the nested logit is consistent with random utility for "
            "all values of the data only if 0 < iv <= 1; above 1 it is consistent only over a "
            "range of the data (Boersch-Supan 1990), so check it where the model is used, or "
            "refit with iv_bounds=(0, 1)."
        )
    bounds = (results.spec.get("options") or {}).get("iv_bounds")
    if bounds is not None:
        held = [n for n, v in iv.items() if v in (float(bounds[0]), float(bounds[1]))]
        if held:
            notes.append(
                f"{', '.join(held)} ended at its bound (iv_bounds=[{bounds[0]:g}, {bounds[1]:g}]): "
                "no standard error or test for it; the other standard errors are those of the "
                "model with it held at the bound."
            )
    return (table,), tuple(notes)


def _checked_bounds(iv_bounds: Any) -> tuple[float, float] | None:
    """``iv_bounds`` as ``(lo, hi)`` floats, validated (see :class:`NestedLogit`)."""
    if iv_bounds is None:
        return None
    numbers = (int, float, np.integer, np.floating)
    if (isinstance(iv_bounds, (str, bytes)) or not hasattr(iv_bounds, "__len__")
            or len(iv_bounds) != 2
            or not all(isinstance(b, numbers) and not isinstance(b, (bool, np.bool_))
                       for b in iv_bounds)):
        raise SpecificationError(
            f"iv_bounds must be a pair (lo, hi) of numbers, e.g. (0, 1); got {iv_bounds!r}.")
    lo, hi = float(iv_bounds[0]), float(iv_bounds[1])
    if np.isnan(lo) or np.isnan(hi) or lo < 0 or hi <= 0 or lo == np.inf:
        raise SpecificationError(
            f"iv_bounds must lie in [0, inf] with a positive upper bound (an iv is positive; "
            f"a lower bound of 0 leaves it open); got {iv_bounds!r}.")
    if lo > hi:
        raise SpecificationError(
            f"iv_bounds has its lower bound above its upper bound: {iv_bounds!r}; give (lo, hi) "
            "with lo <= hi.")
    return lo, hi


register_model_kind("NestedLogit", NestedLogit._from_spec, summary_extras=_summary_extras)
