"""What every model shares: data handling, the statsmodels-style interface, predictions.

A model holds a validated :class:`~choicemodels.formula.Design` (or, on a Dask DataFrame,
a :class:`~choicemodels.distributed.DistributedDesign`) and the specification that
rebuilds it from new data. A model class supplies block functions, pure functions of the
arrays of its own design (``_loglike_obs``, ``_score_obs``, ``_probabilities`` and the
sums its optimiser needs); the estimation engine (:mod:`choicemodels.models.engine`) sums
them over the blocks, wherever they are, and runs the fit. ``fit`` never mutates the
model; it returns a new :class:`~choicemodels.results.ChoiceResults`.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from choicemodels.checks import check_magnitudes
from choicemodels.data import WeightType, check_weight_type, validate_arrays, weights_of_type
from choicemodels.distributed import DistributedDesign, distributed_design, is_dask_frame
from choicemodels.exceptions import ChoiceDataError, ConvergenceWarning, SpecificationError
from choicemodels.formula import Design, design_from_formula, formula_variables, learns_from_data
from choicemodels.kernels.logit import logit_loglike_derivatives
from choicemodels.models import engine
from choicemodels.models.optimize import OptimizeOutcome, newton_maximize, per_unit_weight
from choicemodels.models.separation import find_separation
from choicemodels.results import ChoiceResults

__all__ = ["ChoiceModel"]

_REL_STEP = 1e-4  # relative step of the variable for numerical elasticities


def draw_seed(rng: Any) -> int:
    """The int seed of a model's draws: ``rng`` itself if an int, else one drawn once from
    ``default_rng(rng)``, so that refits and predictions reuse the same draws."""
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise SpecificationError(f"rng must be a non-negative int seed or a Generator; got {rng!r}.")
        return int(rng)
    if rng is None or isinstance(rng, np.random.Generator):
        return int(np.random.default_rng(rng).integers(2**63))
    raise SpecificationError(
        f"rng must be an int seed, a numpy Generator or None; got {type(rng).__name__}."
    )


class ChoiceModel:
    """Base class of :class:`~choicemodels.Logit` and :class:`~choicemodels.Probit`.

    Shapes: N situations, J alternatives, K utility coefficients, P error-covariance
    parameters (P = 0 for the logit); a parameter vector ``params`` holds the K coefficients
    and then the P covariance parameters, in the order of ``param_names``.

    A model is its likelihood. A subclass supplies, as functions of the arrays of its own
    design (one block of situations), ``_loglike_obs`` (N,), ``_score_obs`` (N, K + P),
    ``_probabilities`` (N, J), ``start_params`` and the sums of its optimiser:
    ``_block_derivatives`` (log-likelihood, gradient, Hessian) for ``methods = ("newton",)``
    or ``_block_sums`` (log-likelihood, gradient, outer product of the scores) for
    ``"bfgs"`` / ``"bhhh"``. The engine (``choicemodels.models.engine``) sums them over
    the blocks, one in memory or one per partition of a Dask DataFrame, and gives the fit,
    the covariances, the diagnostics and the results.
    """

    model_name: ClassVar[str] = "ChoiceModel"
    # the optimisers of the engine the model admits: "newton" (on _derivatives), "bfgs"
    # and "bhhh" (on _sums)
    methods: ClassVar[tuple[str, ...]] = ("newton",)
    default_method: ClassVar[str] = "newton"  # the optimiser fit(method=None) uses
    default_maxiter: ClassVar[int] = 100
    # "newton" takes BHHH steps (on _sums) while their decrement, about the log-likelihood
    # still to gain, exceeds this; None: Newton from the start
    newton_warmup: ClassVar[float | None] = None
    _threads: int | None = None  # threads of the block kernels (default: the kernel's choice)

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        ref: Any = None,
        avail: str | None = None,
        weights: str | None = None,
        weight_type: WeightType = "frequency",
        functions: Mapping[str, Callable] | None = None,
    ) -> None:
        weight_type = check_weight_type(weight_type)
        self.functions = None if functions is None else dict(functions)
        build = self._distributed_design if is_dask_frame(data) else self._build_design
        design = build(
            formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
            weight_type=weight_type, functions=self.functions,
        )
        spec = {
            "formula": formula, "obs": obs, "alt": alt, "avail": avail, "weights": weights,
            "weight_type": weight_type if weights is not None else None,
            "ref": engine.plain_label(design.alternatives[design.ref]),
            "alternatives": [engine.plain_label(a) for a in design.alternatives],
            "design_state": None if design.state is None else design.state.to_dict(),
        }
        self._init(design, data, spec)

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        chosen: np.ndarray,
        *,
        avail: np.ndarray | None = None,
        names: list[str] | None = None,
        weights: np.ndarray | None = None,
        weight_type: WeightType = "frequency",
    ) -> ChoiceModel:
        r"""Model from arrays: X (N, J, K) float, chosen (N,) int in 0..J-1, avail (N, J) 0/1.

        Alternatives are labelled 0..J-1 with reference 0; the K columns of X are used as
        given (constants are columns of X). A C-contiguous float64 X with every alternative
        available is used without a copy, as in statsmodels: do not modify it in place while
        the model is in use.

        Parameters
        ----------
        X : array_like, shape (N, J, K)
            Attributes of every alternative in every situation; the utility is
            :math:`V_{ij} = x_{ij}'\beta`.
        chosen : array_like of int, shape (N,)
            Index of the chosen alternative, in 0..J-1.
        avail : array_like of bool or 0/1, shape (N, J), optional
            Availability; default: every alternative available.
        names : list of str, optional
            Names of the K columns of X (the coefficient names); default ``x0 .. x{K-1}``.
        weights : array_like, shape (N,), optional
            Per-situation weights (non-negative, not all zero).
        weight_type : {"frequency", "sampling"}, default "frequency"
            As for the formula interface (see :meth:`fit`).

        Returns
        -------
        Logit
            A model of the calling class; fit it with :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(0).standard_normal((500, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=0)
        >>> m = cm.Logit.from_arrays(X, chosen, names=["price", "time"])
        >>> m
        Logit('arrays, 2 columns'; N=500, J=3, K=2)
        >>> m.fit().params.round(2).tolist()  # truth: [1.0, -0.5]
        [0.89, -0.55]
        """
        model = cls.__new__(cls)
        model._init_arrays(X, chosen, avail, names, weights, weight_type)
        return model

    @staticmethod
    def _build_design(formula, data, *, weights=None, weight_type="frequency", **roles) -> Design:
        """The design of a formula on long data, with weights of ``weight_type`` applied."""
        design = design_from_formula(formula, data, weights=weights, **roles)
        return _weigh(design, weight_type, weights)

    def _init_arrays(self, X, chosen, avail, names, weights, weight_type="frequency") -> None:
        weight_type = check_weight_type(weight_type)
        self.functions = None
        design = validate_arrays(X, chosen, avail=avail, weights=weights, names=names)
        spec = {"formula": None, "ref": 0, "alternatives": list(range(design.n_alts)),
                "names": list(design.names),
                "weight_type": weight_type if weights is not None else None}
        self._init(_weigh(design, weight_type, "weights"), None, spec)

    def _init(self, design: Design, data: pd.DataFrame | None, spec: dict) -> None:
        self.design = design
        self.data = data
        self.spec = {"model": self.model_name, **spec, "options": self._options()}
        # the blocks of the engine: None in memory (the model itself), else one model per partition
        self._parts = None
        if isinstance(design, DistributedDesign):
            self._parts = engine.partition_blocks(self)

    @classmethod
    def _from_spec(cls, spec: dict, data: pd.DataFrame, fitted: ChoiceModel | None = None,
                   require_choice: bool = False) -> ChoiceModel:
        """A model of the stored specification on new data (for prediction; choice column
        optional unless ``require_choice``).

        The design is built with the fitted design state (transform moments, factor levels):
        ``fitted``'s (the model the results came from, with its ``functions``) or, for
        results read from a file, ``spec["design_state"]`` in the strict formula grammar.
        """
        if spec["formula"] is None:
            raise SpecificationError(
                "models built with from_arrays predict in-sample only; build the model with a "
                "formula to predict on new data."
            )
        model = cls.__new__(cls)
        model._set_options(**spec["options"])
        if not isinstance(data, pd.DataFrame):
            raise ChoiceDataError(f"data must be a pandas DataFrame in long format, got {type(data).__name__}.")
        functions = None if fitted is None else fitted.functions
        state = fitted.design.state if fitted is not None else spec.get("design_state")
        if state is None and learns_from_data(spec["formula"], functions=functions):
            raise SpecificationError(
                f"the formula {spec['formula']!r} centres, scales or codes its variables on the fit "
                "data, and these results hold no stored design state (a file written by an "
                "earlier version of choicemodels): refit the model and save it again to predict "
                "on new data."
            )
        model.functions = functions
        design = design_from_formula(
            spec["formula"], data, obs=spec["obs"], alt=spec["alt"], ref=spec["ref"],
            avail=spec["avail"], weights=None, alternatives=tuple(spec["alternatives"]),
            require_choice=require_choice, functions=functions, state=state,
        )
        model._init(design, data, {k: v for k, v in spec.items() if k not in ("model", "options")})
        return model

    def _distributed_design(self, formula: str, data: Any, **columns: Any) -> DistributedDesign:
        """The design of a Dask DataFrame (:func:`~choicemodels.distributed.distributed_design`)."""
        return distributed_design(formula, data, **columns)

    def _require_in_memory(self, what: str) -> None:
        if self._parts is not None:
            raise engine.kept_on_workers(what)

    # ---- to be provided by the subclasses ---------------------------------------------
    def _set_options(self) -> None:
        """Store the estimation options (validated); the base class has none."""

    def _options(self) -> dict:
        return {}

    def _probabilities(self, params: np.ndarray, X: np.ndarray, avail: np.ndarray) -> np.ndarray:
        """Block function: (N, J) probabilities of the utilities of ``X`` (N, J, K)."""
        raise NotImplementedError

    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        """Block function: (N,) unweighted log-likelihood of each situation of the design."""
        raise NotImplementedError

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        """Block function: (N, K + P) unweighted score of each situation of the design."""
        raise NotImplementedError

    def _block_loglike(self, params: np.ndarray) -> tuple[float]:
        """Block function: ``(weighted log-likelihood,)`` of the design's situations."""
        return (float(np.sum(self._weighted(self._loglike_obs(params)))),)

    def _block_score(self, params: np.ndarray) -> tuple[np.ndarray]:
        """Block function: ``(weighted gradient (K + P,),)`` of the design's situations."""
        return (self._weighted(self._score_obs(params)).sum(axis=0),)

    def _block_derivatives(self, params: np.ndarray, hessian: bool = True) -> tuple:
        """Block function of ``method="newton"``: weighted log-likelihood, gradient (K + P,)
        and Hessian (K + P, K + P) (or ``None``) of the design's situations."""
        raise NotImplementedError

    def _block_sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r"""Block function of ``method="bfgs"`` and ``"bhhh"``: weighted log-likelihood,
        gradient (K + P,) and outer product of the scores :math:`\sum_i w_i s_i s_i'`
        (K + P, K + P) of the design's situations; ``-inf`` outside the domain."""
        raise NotImplementedError

    def _param_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(lower, upper)`` (K + P,) bounds of the parameters the fit keeps to, or ``None``."""
        return None

    def _boundary(self, params: np.ndarray) -> str:
        """Why ``params`` lie at a boundary of the parameter space where the search stops
        (``""`` if they do not)."""
        return ""

    # ---- sums over the blocks (the engine maps the block functions) --------------------
    def _derivatives(self, params: np.ndarray, hessian: bool = True) -> tuple:
        """:meth:`_block_derivatives` summed over all the blocks."""
        return engine.block_sum(self, "_block_derivatives", np.asarray(params, float), hessian)

    def _sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """:meth:`_block_sums` summed over all the blocks."""
        return engine.block_sum(self, "_block_sums", np.asarray(params, float))

    def start_params(self) -> np.ndarray:
        """Starting values of the fit, shape (K + P,); provided by each model.

        Returns
        -------
        ndarray, shape (K + P,)
            The parameter vector the optimiser starts from.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode").start_params()
        array([0., 0., 0., 0., 0.])
        """
        raise NotImplementedError

    def _logit_estimate(self, *, maxiter: int = 100, tol: float = 1e-10) -> np.ndarray:
        """The conditional logit's estimate of the K coefficients (zeros if Newton's method
        diverges): where the models that extend the logit start."""
        logit = per_unit_weight(partial(engine.block_sum, self, "_block_logit_derivatives"),
                                engine.weight_scale(self))
        out = newton_maximize(logit, np.zeros(self.design.n_params), maxiter=maxiter, tol=tol)
        return out.x.copy() if np.all(np.isfinite(out.x)) else np.zeros(self.design.n_params)

    def _block_logit_derivatives(self, beta: np.ndarray) -> tuple:
        """Block function of :meth:`_logit_estimate`: the logit's log-likelihood, gradient
        and Hessian."""
        d = self.design
        return logit_loglike_derivatives(beta, d.X, d.chosen, d.avail, d.weights, threads=self._threads)

    def loglike_obs(self, params: np.ndarray) -> np.ndarray:
        r"""Log-likelihood of each situation, :math:`\ell_i = \log P_{i c_i}(\theta)` (unweighted).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (N,)
            The log-probability of the chosen alternative in each situation; the weighted sum
            is :meth:`loglike`.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode")
        >>> ll = m.loglike_obs(np.zeros(5))
        >>> ll.shape, round(float(ll[0]), 4)  # equal shares: log(1/4)
        ((210,), -1.3863)
        """
        self._require_in_memory("loglike_obs")
        return self._loglike_obs(np.asarray(params, float))

    def score_obs(self, params: np.ndarray) -> np.ndarray:
        r"""Score of each situation, :math:`s_i = \partial \ell_i / \partial \theta` (unweighted).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (N, K + P)
            Row i is the gradient of ``loglike_obs(params)[i]``; the weighted column sums are
            :meth:`score`, and the products :math:`\sum_i w_i s_i s_i'` form the BHHH matrix and
            the "meat" of robust standard errors.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode")
        >>> m.score_obs(np.zeros(5)).shape
        (210, 5)
        """
        self._require_in_memory("score_obs")
        return self._score_obs(np.asarray(params, float))

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        """Model-specific checks after the optimiser: (converged, message, warning category)."""
        return outcome.converged, outcome.message, ConvergenceWarning

    def _never_chosen(self) -> list:
        """Labels of the alternatives no (positively weighted) situation chooses."""
        counts = engine.chosen_counts(self)
        return [engine.plain_label(a) for a, c in zip(self.design.alternatives, counts) if c <= 0]

    def _separation(self) -> str:
        """Why the maximum-likelihood estimate of the coefficients does not exist (``""``
        if it does): a never-chosen alternative, or a (quasi-)complete separation found by
        :func:`~choicemodels.models.separation.find_separation` (in memory; on Dask the
        divergence is reported without the exact test)."""
        never = self._never_chosen()
        cause = (f"alternative(s) {', '.join(map(repr, never))} are never chosen, so their "
                 "utilities run to -inf; " if never else "")
        if not engine.in_memory(self):
            return (f"{cause}the coefficients diverge: the data appear (quasi-)completely "
                    "separated. Fit an in-memory sample to find the variables that predict the "
                    "choice perfectly.")
        d = self.design
        known = d.chosen >= 0
        involved = find_separation(d.X[known], d.chosen[known], d.avail[known], d.names)
        if not involved:
            return ""
        return (
            f"the maximum-likelihood estimate does not exist: {cause}the data are "
            f"(quasi-)completely separated along {', '.join(involved)}; these coefficients "
            "diverge. Drop or merge the variables or alternatives that predict the choice "
            "perfectly."
        )

    # ---- statsmodels-style interface --------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        """Names of the K + P parameters: the K coefficients, then the P covariance parameters (probit)."""
        return list(self.design.names)

    @property
    def n_obs(self) -> int:
        """Number of choice situations N."""
        return self.design.n_obs

    def loglike(self, params: np.ndarray) -> float:
        r"""Weighted log-likelihood :math:`\ell(\theta) = \sum_i w_i \log P_{i c_i}(\theta)`.

        :math:`c_i` is the chosen alternative of situation i and :math:`w_i` its weight (1 when
        the model has no weights).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        float
            The log-likelihood at ``params``.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode")
        >>> round(m.loglike(np.zeros(5)), 4)  # equal shares: 210 log(1/4)
        -291.1218
        """
        return float(engine.block_sum(self, "_block_loglike", np.asarray(params, float))[0])

    def score(self, params: np.ndarray) -> np.ndarray:
        r"""Analytic gradient of :meth:`loglike`, :math:`g(\theta) = \sum_i w_i\, \partial \log P_{i c_i} / \partial \theta`.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K + P,)
            The gradient; zero at the maximum-likelihood estimate.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode")
        >>> r = m.fit()
        >>> bool(abs(m.score(r.params)).max() < 1e-6)
        True
        """
        return engine.block_sum(self, "_block_score", np.asarray(params, float))[0]

    def hessian(self, params: np.ndarray) -> np.ndarray:
        r"""Hessian of :meth:`loglike` (central differences of the analytic score).

        Column k is :math:`(g(\theta + h_k e_k) - g(\theta - h_k e_k)) / (2 h_k)` with
        :math:`h_k = 10^{-5}\max(1, |\theta_k|)`, symmetrised.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K + P, K + P)
            The symmetric matrix of second derivatives.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme", data=df, obs="individual", alt="mode")
        >>> m.hessian(np.zeros(5)).shape
        (5, 5)
        """
        params = np.asarray(params, float)
        steps = 1e-5 * np.maximum(1.0, np.abs(params))
        cols = []
        for k, h in enumerate(steps):
            e = np.zeros_like(params)
            e[k] = h
            cols.append((self.score(params + e) - self.score(params - e)) / (2 * h))
        hess = np.column_stack(cols)
        return (hess + hess.T) / 2

    def predict(self, params: np.ndarray) -> np.ndarray:
        r"""Choice probabilities :math:`P_{ij}(\theta)` of every alternative in every situation.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (N, J)
            Each row sums to one over the available alternatives; unavailable ones get 0.
            :meth:`frame` labels it.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> p = m.predict(m.fit().params)
        >>> p.shape, p[0].round(4).tolist()
        ((210, 4), [0.0984, 0.1959, 0.3746, 0.3311])
        """
        self._require_in_memory("predict")
        return self._probabilities(np.asarray(params, float), self.design.X, self.design.avail)

    def utilities(self, params: np.ndarray) -> np.ndarray:
        r"""Systematic utilities :math:`V = X\beta` (NaN for unavailable alternatives).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit); only the K coefficients
            :math:`\beta` are used.

        Returns
        -------
        ndarray, shape (N, J)
            :math:`V_{ij} = x_{ij}'\beta`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> m.utilities(m.fit().params)[0].round(4).tolist()
        [-1.665, -0.9762, -0.3278, -0.4513]
        """
        self._require_in_memory("utilities")
        beta = np.asarray(params, float)[: self.design.n_params]
        v = self.design.X @ beta
        return np.where(self.design.avail, v, np.nan)

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        """Label an (N, J) array: situations as rows, alternatives as columns.

        Parameters
        ----------
        values : ndarray, shape (N, J)
            One value per situation and alternative, e.g. :meth:`predict`'s probabilities.

        Returns
        -------
        pandas.DataFrame
            Indexed by the situation ids (named after the ``obs`` column), one column per
            alternative label.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> m.frame(m.predict(m.fit().params)).head(2).round(4)  # doctest: +NORMALIZE_WHITESPACE
                       air     bus     car   train
        individual
        1           0.0984  0.1959  0.3746  0.3311
        2           0.2566  0.0530  0.4641  0.2262
        """
        index = pd.Index(self.design.obs_ids, name=self.spec.get("obs") or "obs")
        return pd.DataFrame(values, index=index, columns=list(self.design.alternatives))

    def _weighted(self, values: np.ndarray) -> np.ndarray:
        w = self.design.weights
        if w is None:
            return values
        return values * (w if values.ndim == 1 else w[:, None])

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

        Maximises :math:`\ell(\theta) = \sum_i w_i \log P_{i c_i}(\theta)` from
        :meth:`start_params` (or ``start``). The covariance of the estimate is

        .. math::
            V_{\text{nonrobust}} = (-H)^{-1}, \qquad
            V_{\text{robust}} = H^{-1} \Big(\sum_i s_i s_i'\Big) H^{-1}, \qquad
            V_{\text{cluster}} = \tfrac{G}{G-1} H^{-1} \Big(\sum_g S_g S_g'\Big) H^{-1}

        with :math:`H` the Hessian at the estimate, :math:`s_i` the weighted score of situation
        i and :math:`S_g` the sum of the scores in cluster g (see
        :func:`choicemodels.inference.covariance`). Non-convergence is reported by a
        :class:`~choicemodels.ConvergenceWarning` (a :class:`~choicemodels.SeparationWarning`
        when the logit's estimate does not exist) and ``converged=False``; a Hessian that is
        not negative definite by a :class:`~choicemodels.HessianWarning` and NaN standard errors.
        A fit that runs longer than a few seconds shows a progress bar on stderr (a widget in
        Jupyter).

        Weights (``weights=`` with ``weight_type=``) maximise :math:`\sum_i w_i \ell_i`:

        * ``"frequency"`` (default; Stata's ``fweight``): :math:`w_i` whole numbers, each
          counting identical situations (non-integer weights are refused). Every reported
          number equals the fit on the data with situation *i* repeated :math:`w_i` times:
          ``nobs`` is :math:`\sum_i w_i`, and so are ``df_resid``, ``bic`` and the
          robust covariance (meat :math:`\sum_i w_i s_i s_i'`).
        * ``"sampling"`` (Stata's ``pweight``, Biogeme's weights): inverse selection
          probabilities, rescaled to sum to the number :math:`N_+` of situations with a
          positive weight (``nobs``), so estimates and statistics do not depend on their
          scale. The covariance is the sandwich
          :math:`H^{-1}(\sum_i w_i^2 s_i s_i')H^{-1}` (``"robust"``, the default) or its
          cluster form; ``"nonrobust"`` is refused. Stata's ``pweight`` covariance is this
          times :math:`N_+/(N_+ - 1)`.

        Parameters
        ----------
        start : array_like, shape (K + P,), optional
            Starting values; default :meth:`start_params`.
        maxiter : int, optional
            Maximum number of iterations; default 100 (logit) or 500 (probit). ``0`` returns
            ``start`` itself with its standard errors, not converged (a
            :class:`~choicemodels.ConvergenceWarning`), as statsmodels does: the way to
            standard errors at published estimates.
        tol : float, optional
            Convergence tolerance on the Newton decrement :math:`g'(-H)^{-1}g` (logit) or the
            BHHH decrement :math:`g'(S'S)^{-1}g` (probit); default 1e-8. Both are taken per
            unit weight (weights divided by their mean), so the estimate does not depend on
            the weights' scale. ``0`` runs to ``maxiter`` unless the gradient is exactly zero.
        method : str, optional
            Optimiser: ``"newton"`` for the logit (the default and only choice); ``"bfgs"``
            (default) or ``"bhhh"`` for the probit, see :class:`~choicemodels.Probit`.
        cov_type : {"nonrobust", "robust", "cluster", "opg"}, optional
            Covariance of the estimates: inverse information (the Hessian's), sandwich,
            sandwich over the clusters in ``groups``, or ``"opg"``, the inverse of the outer
            product of the scores (BHHH; the standard errors mlogit prints for nested logits);
            default ``"nonrobust"``, or ``"robust"`` with sampling weights.
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
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> r = m.fit(cov_type="robust")
        >>> r.converged, r.cov_type, round(r.llf, 3)
        (True, 'robust', -189.525)
        """
        return engine.fit(self, start=start, maxiter=maxiter, tol=tol, method=method,
                          cov_type=cov_type, groups=groups, progress=progress, stacklevel=3)

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        return ()

    # ---- elasticities -----------------------------------------------------------------
    def _perturbed(self, variable: str, marginal: bool):
        """Designs with ``variable`` moved up and down, one pair per alternative.

        Returns ``(labels, step, pairs)``: the row labels, the relative (elasticity) or
        absolute (marginal effect) step, and an iterator of ``(X_up, X_down)`` that builds
        one pair at a time (at most two extra copies of X in memory).
        """
        self._require_in_memory("an elasticity")
        d = self.design
        if self.data is None:
            if variable not in d.names:
                raise SpecificationError(f"unknown variable {variable!r}; the columns of X are {list(d.names)}.")
            k = d.names.index(variable)
            x = d.X[:, :, k]
            step = _REL_STEP if not marginal else _REL_STEP * max(1.0, float(np.abs(x).mean()))

            def array_pairs():
                up, down = d.X.copy(), d.X.copy()
                for j in range(d.n_alts):
                    up[:, :, k], down[:, :, k] = x, x
                    up[:, j, k] = x[:, j] + step if marginal else x[:, j] * (1 + step)
                    down[:, j, k] = x[:, j] - step if marginal else x[:, j] * (1 - step)
                    yield up, down

            return list(d.alternatives), step, array_pairs()
        spec = self.spec
        used = formula_variables(spec["formula"], functions=self.functions)
        if variable not in used:
            raise SpecificationError(
                f"{variable!r} is not a variable of the formula; it uses {list(used)}."
            )
        column = self.data[variable].astype(float)
        step = _REL_STEP if not marginal else _REL_STEP * max(1.0, float(column.abs().mean()))
        situation_level = bool((self.data.groupby(spec["obs"])[variable].nunique() <= 1).all())
        masks = (
            [("all", np.ones(len(self.data), bool))]
            if situation_level
            else [(a, (self.data[spec["alt"]] == a).to_numpy()) for a in d.alternatives]
        )

        def frame_pairs():
            for _, mask in masks:
                xs = []
                for sign in (1.0, -1.0):
                    moved = column + sign * step if marginal else column * (1 + sign * step)
                    frame = self.data.copy()
                    frame[variable] = np.where(mask, moved, column)
                    xs.append(self._design_for(frame).X)
                yield tuple(xs)

        return [m[0] for m in masks], step, frame_pairs()

    def _design_for(self, data: pd.DataFrame) -> Design:
        s = self.spec
        return design_from_formula(
            s["formula"], data, obs=s["obs"], alt=s["alt"], ref=s["ref"], avail=s["avail"],
            weights=None, alternatives=self.design.alternatives, require_choice=False,
            functions=self.functions, state=self.design.state,
        )

    def _responses(self, params_list, variable: str, marginal: bool, kind: str):
        """Elasticities (or marginal effects) at each parameter vector of ``params_list``.

        Returns ``(labels, arrays)`` with one array per parameter vector, reduced by
        ``kind``: ``"point"`` (N, rows, J) per situation; ``"mean"`` (rows, J) average over
        the situations where both alternatives are available; ``"aggregate"`` (rows, J)
        probability-weighted average (the response of the expected shares). Each perturbed
        design is built once and used for every parameter vector.
        """
        labels, step, pairs = self._perturbed(variable, marginal)
        avail = self.design.avail
        base = [self._probabilities(b, self.design.X, avail) for b in params_list]
        rows: list[list[np.ndarray]] = [[] for _ in params_list]
        for up, down in pairs:
            for b, p, out in zip(params_list, base, rows):
                dp = (self._probabilities(b, up, avail) - self._probabilities(b, down, avail)) / (2 * step)
                dp = np.where(avail, dp, np.nan)
                if kind == "aggregate":
                    dp = np.nansum(dp, axis=0) / (1.0 if marginal else np.sum(p, axis=0))
                else:
                    if not marginal:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            dp = np.where(p > 0, dp / p, np.nan)
                    if kind == "mean":
                        dp = np.nanmean(dp, axis=0)
                out.append(dp)
        return labels, [np.stack(r, axis=-2) for r in rows]

    def elasticities(
        self, params: np.ndarray, variable: str, *, marginal: bool = False, kind: str = "mean"
    ) -> pd.DataFrame:
        r"""Elasticities (or marginal effects) of the probabilities; rows: the alternative whose variable changes.

        Entry (j, k) is :math:`\partial \log P_k / \partial \log x_j` (or, with
        ``marginal=True``, :math:`\partial P_k / \partial x_j`): the response of the probability
        of alternative k to the variable of alternative j, computed by central differences of
        the probabilities (relative step :math:`10^{-4}`). For a situation-level variable the
        single row ``"all"`` moves it for every alternative at once.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.
        variable : str
            A variable of the formula (a data column), or for a model built with
            :meth:`from_arrays` a column name of X.
        marginal : bool, default False
            Marginal effects instead of elasticities.
        kind : {"mean", "aggregate", "point"}, default "mean"
            ``"mean"``: average over the situations where both alternatives are available;
            ``"aggregate"``: of the expected shares (probability-weighted average);
            ``"point"``: one block of rows per situation.

        Returns
        -------
        pandas.DataFrame
            Rows ``changed`` (J alternatives, or ``"all"``; with ``kind="point"`` a
            (situation, changed) MultiIndex), columns ``responding`` (J alternatives).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> m.elasticities(m.fit().params, "gc").round(3)  # doctest: +NORMALIZE_WHITESPACE
        responding    air    bus    car  train
        changed
        air        -0.802  0.320  0.320  0.320
        bus         0.168 -1.092  0.168  0.168
        car         0.293  0.293 -0.749  0.293
        train       0.353  0.353  0.353 -1.069
        """
        if kind not in ("mean", "aggregate", "point"):
            raise SpecificationError(f"kind must be 'mean', 'aggregate' or 'point', got {kind!r}.")
        labels, (m,) = self._responses([np.asarray(params, float)], variable, marginal, kind)
        columns = pd.Index(list(self.design.alternatives), name="responding")
        if kind == "point":
            index = pd.MultiIndex.from_product(
                [self.design.obs_ids, labels], names=[self.spec.get("obs") or "obs", "changed"])
            return pd.DataFrame(m.reshape(-1, m.shape[-1]), index=index, columns=columns)
        return pd.DataFrame(m, index=pd.Index(labels, name="changed"), columns=columns)

    def elasticity_jacobian(self, params: np.ndarray, variable: str) -> np.ndarray:
        r"""Derivative of the flattened mean elasticity matrix with respect to the parameters.

        Central differences of :meth:`elasticities` (``kind="mean"``) with steps
        :math:`10^{-6}\max(1, |\theta_k|)`; the delta-method standard errors of
        :meth:`ChoiceResults.elasticity_se <choicemodels.ChoiceResults.elasticity_se>` are
        :math:`\sqrt{\operatorname{diag}(D V D')}` for this Jacobian D.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters (probit), as in :attr:`param_names`.
        variable : str
            As in :meth:`elasticities`.

        Returns
        -------
        ndarray, shape (rows * J, K + P)
            Row ``r * J + k`` is the gradient of entry (r, k) of the elasticity matrix.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> m.elasticity_jacobian(m.fit().params, "gc").shape
        (16, 8)
        """
        params = np.asarray(params, float)
        steps = 1e-6 * np.maximum(1.0, np.abs(params))
        shifted = []
        for unit, h in zip(np.eye(params.size), steps):
            shifted += [params + h * unit, params - h * unit]
        _, mats = self._responses(shifted, variable, False, "mean")
        cols = [(mats[2 * k] - mats[2 * k + 1]).ravel() / (2 * steps[k]) for k in range(params.size)]
        return np.column_stack(cols)

    # ---- other data -------------------------------------------------------------------
    def without_alternatives(self, omit: list) -> ChoiceModel:
        """The same specification on the data without the alternatives in ``omit``.

        Situations that chose an omitted alternative are dropped, as are the omitted
        alternatives' rows in the others (the restricted model of the Hausman-McFadden test).
        For a model built with :meth:`from_arrays`, columns of X that are zero in what remains
        are dropped too.

        Parameters
        ----------
        omit : list
            Alternative labels to drop; not the reference, and at least two alternatives must
            remain.

        Returns
        -------
        Logit or Probit
            A new, unfitted model of the same class and options.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car")
        >>> m.without_alternatives(["air"])
        Logit('choice ~ gc + ttme | hinc'; N=152, J=3, K=6)
        """
        self._require_in_memory("a refit without alternatives")
        s = self.spec
        alts = list(self.design.alternatives)
        unknown = [a for a in omit if a not in alts]
        if unknown:
            raise SpecificationError(f"unknown alternatives {unknown}; the alternatives are {alts}.")
        if s["ref"] in omit:
            raise SpecificationError(f"cannot omit the reference alternative {s['ref']!r}; refit with another ref=.")
        if len(alts) - len(omit) < 2:
            raise SpecificationError("at least two alternatives must remain after omitting.")
        d = self.design
        keep_obs = ~np.isin(np.asarray(alts, dtype=object)[d.chosen], np.asarray(omit, dtype=object))
        if s["formula"] is None:
            keep = [j for j in range(d.n_alts) if alts[j] not in omit]
            X = d.X[keep_obs][:, keep]
            used = np.any(X != 0, axis=(0, 1))
            remap = np.cumsum(np.isin(np.arange(d.n_alts), keep)) - 1
            model = self.__class__.__new__(self.__class__)
            model._set_options(**self._options_without(omit))
            model._init_arrays(
                X[:, :, used], remap[d.chosen[keep_obs]], d.avail[keep_obs][:, keep],
                [n for n, u in zip(d.names, used) if u],
                None if d.weights is None else d.weights[keep_obs],
                s.get("weight_type") or "frequency",
            )
            return model
        obs_keep = set(np.asarray(d.obs_ids)[keep_obs].tolist())
        frame = self.data[self.data[s["obs"]].isin(obs_keep) & ~self.data[s["alt"]].isin(omit)]
        return self._same_spec(frame, self._options_without(omit))

    def _options_without(self, omit: list) -> dict:
        """The model's options for the same specification without the alternatives ``omit``."""
        return self._options()

    def _same_spec(self, data: pd.DataFrame, options: dict) -> ChoiceModel:
        s = self.spec
        return self.__class__(
            s["formula"], data, obs=s["obs"], alt=s["alt"], ref=s["ref"], avail=s["avail"],
            weights=s["weights"], weight_type=s.get("weight_type") or "frequency",
            functions=self.functions, **options,
        )

    def __repr__(self) -> str:
        """The model's class, formula and N, J, K.

        Returns
        -------
        str
            E.g. ``Logit('choice ~ gc + ttme'; N=210, J=4, K=2)``.
        """
        d = self.design
        what = self.spec["formula"] or f"arrays, {d.n_params} columns"
        return f"{self.model_name}({what!r}; N={d.n_obs}, J={d.n_alts}, K={d.n_params})"


def _weigh(design: Design, weight_type: WeightType, name: str | None) -> Design:
    """The design with its magnitudes checked (:func:`~choicemodels.checks.check_magnitudes`)
    and its weights checked or normalised for ``weight_type``."""
    X, w = design.X, design.weights
    largest = np.maximum(X.max(axis=(0, 1)), -X.min(axis=(0, 1))) if X.size else np.zeros(0)
    with np.errstate(over="ignore"):
        total = float(design.n_obs if w is None else w.sum())
    check_magnitudes(largest, design.names, total, None if w is None else (name or "weights"))
    if design.weights is None:
        return design
    weights = weights_of_type(design.weights, weight_type, name, design.obs_ids)
    return dataclasses.replace(design, weights=weights)
