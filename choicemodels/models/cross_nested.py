"""Cross-nested logit (Vovsha; Bierlaire's formulation, as in Biogeme)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from choicemodels.data import WeightType
from choicemodels.exceptions import ConvergenceWarning, SpecificationError
from choicemodels.kernels.cross_nested import cross_nested_log_probabilities, cross_nested_scores
from choicemodels.models import engine
from choicemodels.models.base import ChoiceModel
from choicemodels.models.nested import _summary_extras
from choicemodels.models.optimize import OptimizeOutcome
from choicemodels.random_utility import _allocations
from choicemodels.results import register_model_kind

__all__ = ["CrossNestedLogit"]

#: An estimated allocation closer than this to 0 stops the search: the maximum is on the
#: boundary of the parameter space (the alternative leaves the nest).
_ALLOCATION_FLOOR = 1e-7
#: Likewise an inclusive value closer than this to 0 (the nest acts as a maximum).
_IV_FLOOR = 1e-6


class CrossNestedLogit(ChoiceModel):
    r"""Cross-nested logit: an alternative may belong to several nests, with allocations.

    Alternative j belongs to nest m with the allocation :math:`\alpha_{jm} \in [0, 1]`,
    :math:`\sum_m \alpha_{jm} = 1`; nest m has the inclusive-value parameter
    :math:`\lambda_m`, named ``iv:m`` as in :class:`~choicemodels.NestedLogit` (a nest of
    one alternative has none). Bierlaire's (2006) generating function, normalised at the
    top (Biogeme's ``logcnl`` with :math:`\mu_m = 1/\lambda_m`),
    :math:`G(y) = \sum_m (\sum_j (\alpha_{jm} y_j)^{1/\lambda_m})^{\lambda_m}`, gives

    .. math::
        P_j = \sum_m \frac{(\alpha_{jm} e^{V_j})^{1/\lambda_m}}{S_m}
              \frac{S_m^{\lambda_m}}{\sum_k S_k^{\lambda_k}}, \qquad
        S_m = \sum_{i \in m \cap A_n} (\alpha_{im} e^{V_i})^{1/\lambda_m}.

    Every alternative in one nest (allocation 1) is the nested logit, and every
    :math:`\lambda_m = 1` is the logit whatever the allocations.
    :math:`0 < \lambda_m \le 1` is consistent with random utility.

    **Allocations.** ``nests`` maps each nest to its alternatives: a list, or a dict
    alternative -> allocation in which a number fixes the allocation and ``None`` leaves it
    to be estimated (a list leaves them all to be estimated). An alternative in one nest
    has allocation 1. An alternative with open allocations in n >= 2 nests gets n - 1
    parameters ``alpha:<nest>:<alt>``, one per open nest but its last (in the order of
    ``nests``), whose allocation is the rest, one minus the others; these are the
    allocations themselves (Biogeme's explicit parameters, ``ALPHA_PUBLIC = 1 -
    ALPHA_EXISTING``), not a transform of them, so their standard errors need no delta
    method. The search stays inside the simplex: a step that makes an allocation
    negative is refused (the log-likelihood is ``-inf`` there), and an allocation that runs
    to 0 stops the fit, reported as not converged. :meth:`allocations` gives the full
    nests x alternatives table, the implied allocations with their delta-method standard
    errors included.

    **Why a class of its own** and not ``NestedLogit(..., cross=True)``: its parameters
    differ (the allocations), ``nests`` takes allocations that a nested logit must refuse,
    and the nested logit keeps its simpler validation (every alternative in exactly one
    nest) and its kernel.

    The log-likelihood is computed in log space and its gradient analytically (see
    :mod:`choicemodels.kernels.cross_nested`); the fit is BFGS (or BHHH) from the logit's
    estimate, :math:`\lambda = 0.8` (at :math:`\lambda = 1` the allocations do not enter the
    likelihood) and equal open allocations; the covariance inverts central differences of
    the analytic gradient. BHHH (``fit(method="bhhh")``) can stall against the edge of the
    simplex where BFGS does not (on Biogeme's b11cnl it stops at an allocation of 0.9995,
    reported as not converged): BFGS is the default. Shapes: N situations, J alternatives, K coefficients, M nests.

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
    nests : dict of str to list or dict
        Nest name -> its alternatives (a list), or -> a dict alternative -> allocation
        (a number in [0, 1] fixed, ``None`` estimated). Every alternative in at least one nest.
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
    Train shares a nest with car and another with bus; its allocation is estimated:

    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> m = cm.CrossNestedLogit("choice ~ gc + ttme | 0", data=df, obs="individual", alt="mode",
    ...                         nests={"fly": ["air"], "land": ["train", "car"],
    ...                                "public": ["train", "bus"]})
    >>> m.param_names
    ['gc', 'ttme', 'iv:land', 'iv:public', 'alpha:land:train']

    The same with train's allocation fixed at one half:

    >>> fixed = cm.CrossNestedLogit("choice ~ gc + ttme | 0", data=df, obs="individual",
    ...                             alt="mode", nests={"fly": ["air"],
    ...                             "land": {"train": 0.5, "car": 1.0},
    ...                             "public": {"train": 0.5, "bus": 1.0}})
    >>> fixed.param_names
    ['gc', 'ttme', 'iv:land', 'iv:public']
    """

    model_name = "CrossNestedLogit"
    methods = ("bfgs", "bhhh")
    default_method = "bfgs"
    default_maxiter = 500

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        ref: Any = None,
        nests: Mapping[str, Any],
        avail: str | None = None,
        weights: str | None = None,
        weight_type: WeightType = "frequency",
        functions: Mapping[str, Callable] | None = None,
    ) -> None:
        self._set_options(nests=nests)
        super().__init__(formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
                         weight_type=weight_type, functions=functions)

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        chosen: np.ndarray,
        *,
        nests: Mapping[str, Any],
        avail: np.ndarray | None = None,
        names: list[str] | None = None,
        weights: np.ndarray | None = None,
        weight_type: WeightType = "frequency",
    ) -> CrossNestedLogit:
        r"""Cross-nested logit from arrays: X (N, J, K), chosen (N,) in 0..J-1, avail (N, J) 0/1.

        Alternatives are labelled 0..J-1; the K columns of X are used as given.

        Parameters
        ----------
        X : array_like, shape (N, J, K)
            Attributes; :math:`V_{ij} = x_{ij}'\beta`.
        chosen : array_like of int, shape (N,)
            Index of the chosen alternative.
        nests : dict of str to list or dict
            Nest name -> the indices of its alternatives (a list), or -> a dict index ->
            allocation (a number fixed, ``None`` estimated).
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
        CrossNestedLogit
            An unfitted model.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(0).standard_normal((400, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=0)
        >>> m = cm.CrossNestedLogit.from_arrays(X, chosen, nests={"a": [0, 1], "b": [1, 2]})
        >>> m.param_names
        ['x0', 'x1', 'iv:a', 'iv:b', 'alpha:a:1']
        """
        model = cls.__new__(cls)
        model._set_options(nests=nests)
        model._init_arrays(X, chosen, avail, names, weights, weight_type)
        return model

    # ---- options ----------------------------------------------------------------------
    def _set_options(self, *, nests) -> None:
        if not isinstance(nests, Mapping) or not nests:
            raise SpecificationError(
                "nests must be a non-empty dict of nest name -> alternatives (a list) or -> "
                "{alternative: allocation}, e.g. {'existing': {'train': None, 'car': 1.0}, "
                f"'public': ['train', 'metro']}}; got {nests!r}."
            )
        clean = {}
        for name, members in nests.items():
            if isinstance(members, Mapping):
                members = {engine.plain_label(a): (None if v is None else engine.plain_label(v))
                           for a, v in members.items()}
            elif not isinstance(members, (str, bytes)) and hasattr(members, "__iter__"):
                members = [engine.plain_label(a) for a in members]
            clean[name] = members
        self.nests = clean

    def _options(self) -> dict:
        return {"nests": {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in self.nests.items()}}

    def _options_without(self, omit: list) -> dict:
        """The nests without the alternatives ``omit`` (a nest left empty is dropped); the
        other alternatives keep their allocations."""
        nests = {}
        for name, members in self.nests.items():
            if isinstance(members, dict):
                kept = {a: v for a, v in members.items() if a not in omit}
            else:
                kept = [a for a in members if a not in omit]
            if kept:
                nests[name] = kept
        return {"nests": nests}

    def _init(self, design, data, spec) -> None:
        alts = [engine.plain_label(a) for a in design.alternatives]
        names, alloc = _allocations(self.nests, alts, repr(alts))
        self._nest_names = names
        n_alts, n_nests = alloc.shape
        member = alloc != 0  # NaN (open) counts
        sizes = member.sum(axis=0)
        free_nests = [m for m in range(n_nests) if sizes[m] >= 2]
        self._iv_names = [f"iv:{names[m]}" for m in free_nests]
        self._iv_map = np.zeros((n_nests, len(free_nests)))
        self._iv_map[free_nests, range(len(free_nests))] = 1.0
        # allocations (J*M,) = base + A @ theta: fixed values and, for each alternative's last
        # open nest, the rest 1 - (fixed) - (its other open ones)
        base = np.where(np.isnan(alloc), 0.0, alloc)
        columns, alpha_names, start = [], [], []
        for j in range(n_alts):
            open_ = np.flatnonzero(np.isnan(alloc[j]))
            if open_.size == 0:
                continue
            rest = 1.0 - base[j].sum()
            base[j, open_[-1]] = rest
            for m in open_[:-1]:
                col = np.zeros((n_alts, n_nests))
                col[j, m], col[j, open_[-1]] = 1.0, -1.0
                columns.append(col.ravel())
                alpha_names.append(f"alpha:{names[m]}:{alts[j]}")
                start.append(rest / open_.size)
        self._alpha_base = base.ravel()
        self._alpha_map = np.column_stack(columns) if columns else np.zeros((n_alts * n_nests, 0))
        self._alpha_names = alpha_names
        self._alpha_start = np.array(start)
        # cells whose allocation the parameters move: they must stay positive
        self._moving = np.flatnonzero(np.any(self._alpha_map != 0, axis=1))
        super()._init(design, data, spec)

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        def member(a, v):
            return f"{a}" if v is None else f"{a} ({v:g})"

        text = "; ".join(
            f"{k}: " + ", ".join(member(a, v) for a, v in (m.items() if isinstance(m, dict) else
                                                             ((a, None) for a in m)))
            for k, m in self.nests.items())
        return (("Nests", text),)

    # ---- parameters -------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        """Names of the K coefficients, the inclusive values ``iv:<nest>``, then the
        estimated allocations ``alpha:<nest>:<alt>``."""
        return list(self.design.names) + list(self._iv_names) + list(self._alpha_names)

    def _split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(beta (K,), lambda (M,), alpha (J, M))`` of a parameter vector."""
        params = np.asarray(params, float)
        k, p = self.design.n_params, len(self._iv_names)
        lam = 1.0 + self._iv_map @ (params[k:k + p] - 1.0)
        alpha = self._alpha_base + self._alpha_map @ params[k + p:]
        return params[:k], lam, alpha.reshape(self.design.n_alts, -1)

    @staticmethod
    def _log(alpha: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(alpha > 0, np.log(np.where(alpha > 0, alpha, 1.0)), -np.inf)

    def _in_domain(self, params: np.ndarray) -> bool:
        _, lam, alpha = self._split(params)
        return bool(np.all(lam > 0) and np.all(alpha.ravel()[self._moving] > 0))

    def start_params(self) -> np.ndarray:
        """The logit's estimate of the coefficients, ``iv = 0.8`` and equal open allocations.

        At ``iv = 1`` the model is the logit whatever the allocations, whose scores then
        vanish; the search therefore starts inside the nests.

        Returns
        -------
        ndarray, shape (K + P,)
            The starting parameters.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.CrossNestedLogit("choice ~ gc | 0", data=df, obs="individual", alt="mode",
        ...                         nests={"fly": ["air"], "land": ["train", "car"],
        ...                                "public": ["train", "bus"]})
        >>> m.start_params().round(4).tolist()
        [-0.0146, 0.8, 0.8, 0.5]
        """
        return np.concatenate([self._logit_estimate(), np.full(len(self._iv_names), 0.8),
                               self._alpha_start])

    def allocations(self, params: np.ndarray, cov: np.ndarray | None = None) -> pd.DataFrame:
        r"""The allocations :math:`\alpha_{jm}` of every alternative to every nest.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Parameters, as in :attr:`param_names` (e.g. ``results.params``).
        cov : array_like, shape (K + P, K + P), optional
            Their covariance (e.g. ``results.cov_params()``): adds the standard errors, by
            the delta method for an allocation that is the rest of the others
            (:math:`\operatorname{se}(1 - \sum_i \alpha_i)^2 = \sum_{i,k} \operatorname{cov}(\alpha_i, \alpha_k)`);
            0 for fixed ones.

        Returns
        -------
        pandas.DataFrame
            Rows the nests, columns the alternatives; with ``cov``, one row per (nest,
            alternative) pair of a nest member with columns ``alpha`` and ``se``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.CrossNestedLogit("choice ~ gc | 0", data=df, obs="individual", alt="mode",
        ...                         nests={"fly": ["air"], "land": ["train", "car"],
        ...                                "public": ["train", "bus"]})
        >>> m.allocations(m.start_params())  # doctest: +NORMALIZE_WHITESPACE
                air  bus  car  train
        fly     1.0  0.0  0.0    0.0
        land    0.0  0.0  1.0    0.5
        public  0.0  1.0  0.0    0.5
        """
        params = np.asarray(params, float)
        alts = list(self.design.alternatives)
        alpha = self._split(params)[2]
        if cov is None:
            return pd.DataFrame(alpha.T, index=pd.Index(self._nest_names, name=None), columns=alts)
        cov = np.asarray(cov, float)
        first = self.design.n_params + len(self._iv_names)
        v = cov[first:, first:]
        var = np.einsum("cp,pq,cq->c", self._alpha_map, v, self._alpha_map)
        rows = [(self._nest_names[m], alts[j]) for j in range(alpha.shape[0])
                for m in range(alpha.shape[1]) if alpha[j, m] != 0 or self._alpha_map[j * alpha.shape[1] + m].any()]
        flat = {(self._nest_names[m], alts[j]): j * alpha.shape[1] + m
                for j in range(alpha.shape[0]) for m in range(alpha.shape[1])}
        cells = [flat[r] for r in rows]
        return pd.DataFrame({"alpha": alpha.ravel()[cells], "se": np.sqrt(np.clip(var[cells], 0, None))},
                            index=pd.MultiIndex.from_tuples(rows, names=["nest", "alternative"]))

    # ---- block functions --------------------------------------------------------------
    def _probabilities(self, params, X, avail):
        beta, lam, alpha = self._split(params)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.exp(cross_nested_log_probabilities(X @ beta, lam, self._log(alpha), avail))

    def _loglike_scores(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) log-likelihood and (N, K + P) scores of the design's situations."""
        beta, lam, alpha = self._split(params)
        d = self.design
        with np.errstate(all="ignore"):  # outside the domain: non-finite, which the callers check
            ll, s_beta, s_lam, s_loga = cross_nested_scores(beta, lam, self._log(alpha), d.X, d.chosen, d.avail)
        # d log P / d alpha = (d log P / d log alpha) / alpha, then the chain rule of the map
        inv = np.where(alpha > 0, 1.0 / np.where(alpha > 0, alpha, 1.0), 0.0)
        s_alpha = (s_loga * inv).reshape(len(ll), -1) @ self._alpha_map
        return ll, np.hstack([s_beta, s_lam @ self._iv_map, s_alpha])

    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        beta, lam, alpha = self._split(params)
        d = self.design
        logp = cross_nested_log_probabilities(d.X @ beta, lam, self._log(alpha), d.avail)
        return logp[np.arange(d.n_obs), d.chosen]

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        return self._loglike_scores(params)[1]

    def _block_sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r"""Weighted log-likelihood, gradient (K + P,) and :math:`\sum_i w_i s_i s_i'`;
        ``-inf`` outside the domain (an ``iv`` at or below 0, an allocation at or below 0)."""
        bad = (-np.inf, np.full(params.size, np.nan), np.full((params.size,) * 2, np.nan))
        if not self._in_domain(params):
            return bad
        with np.errstate(all="ignore"):
            ll, scores = self._loglike_scores(params)
        if not np.all(np.isfinite(ll)) or not np.all(np.isfinite(scores)):
            return bad
        w = self.design.weights
        ws = scores if w is None else scores * w[:, None]
        return float(np.sum(ll if w is None else w * ll)), ws.sum(axis=0), ws.T @ scores

    def _boundary(self, params: np.ndarray) -> str:
        """Why the search stops at a boundary: an allocation or an ``iv`` running to 0."""
        _, lam, alpha = self._split(params)
        alpha = alpha.ravel()
        low = [c for c in self._moving if alpha[c] < _ALLOCATION_FLOOR]
        n_nests = len(self._nest_names)
        alts = list(self.design.alternatives)
        reasons = []
        if low:
            cells = ", ".join(f"alternative {alts[c // n_nests]!r} in nest {self._nest_names[c % n_nests]!r}"
                              for c in low)
            reasons.append(f"the allocation of {cells} runs to 0 (the maximum is on the boundary); "
                           "fix it at 0 by dropping the alternative from that nest, and refit")
        flat = [m for m in range(n_nests) if lam[m] < _IV_FLOOR]
        if flat:
            names = ", ".join(f"iv:{self._nest_names[m]}" for m in flat)
            reasons.append(f"{names} runs to 0 (the nest acts as a maximum: the maximum is on the "
                           "boundary); check the nesting")
        return "; ".join(reasons)

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        reason = self._boundary(outcome.x)
        if reason:
            return False, reason, ConvergenceWarning
        return outcome.converged, outcome.message, ConvergenceWarning


register_model_kind("CrossNestedLogit", CrossNestedLogit._from_spec, summary_extras=_summary_extras)
