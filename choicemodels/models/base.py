"""What logit and probit models share: data handling, the fit driver, predictions.

A model holds a validated :class:`~choicemodels.formula.Design` and the specification
that rebuilds it from new data. ``fit`` never mutates the model; it returns a new
:class:`~choicemodels.results.ChoiceResults`.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from choicemodels.data import validate_arrays
from choicemodels.exceptions import (
    ChoiceDataError,
    ConvergenceWarning,
    HessianWarning,
    SpecificationError,
)
from choicemodels.formula import Design, design_from_formula
from choicemodels.inference import check_cov_options, covariance
from choicemodels.models.optimize import OptimizeOutcome
from choicemodels.progress import fit_progress
from choicemodels.results import ChoiceResults

__all__ = ["ChoiceModel", "model_from_spec"]

_REL_STEP = 1e-4  # relative step of the variable for numerical elasticities


class ChoiceModel:
    """Base class of :class:`~choicemodels.Logit` and :class:`~choicemodels.Probit`."""

    model_name: ClassVar[str] = "ChoiceModel"
    default_method: ClassVar[str] = "newton"  # the optimiser fit(method=None) uses

    def __new__(cls, formula: str | None = None, data: Any = None, *args: Any, **kwargs: Any):
        """A Dask DataFrame as ``data`` selects the distributed variant of the model."""
        from choicemodels.distributed import distributed_class, is_dask_frame

        return super().__new__(distributed_class(cls) if is_dask_frame(data) else cls)

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
    ) -> None:
        design = self._build_design(
            formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights
        )
        spec = {
            "formula": formula, "obs": obs, "alt": alt, "avail": avail, "weights": weights,
            "ref": _plain_label(design.alternatives[design.ref]),
            "alternatives": [_plain_label(a) for a in design.alternatives],
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
    ) -> ChoiceModel:
        """Model from arrays: X (N, J, K) float, chosen (N,) int in 0..J-1, avail (N, J) 0/1.

        Alternatives are labelled 0..J-1 with reference 0; the K columns of X are used as
        given (constants are columns of X). A C-contiguous float64 X with every alternative
        available is used without a copy, as in statsmodels: do not modify it in place while
        the model is in use.
        """
        model = cls.__new__(cls)
        model._init_arrays(X, chosen, avail, names, weights)
        return model

    _build_design = staticmethod(design_from_formula)

    def _init_arrays(self, X, chosen, avail, names, weights) -> None:
        design = validate_arrays(X, chosen, avail=avail, weights=weights, names=names)
        spec = {"formula": None, "ref": 0, "alternatives": list(range(design.n_alts)),
                "names": list(design.names)}
        self._init(design, None, spec)

    def _init(self, design: Design, data: pd.DataFrame | None, spec: dict) -> None:
        self.design = design
        self.data = data
        self.spec = {"model": self.model_name, **spec, "options": self._options()}

    # ---- to be provided by the subclasses ---------------------------------------------
    def _set_options(self) -> None:
        """Store the estimation options (validated); the base class has none."""

    def _options(self) -> dict:
        return {}

    def _probabilities(self, params: np.ndarray, X: np.ndarray, avail: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _maximize(self, start: np.ndarray, *, maxiter, tol, method) -> OptimizeOutcome:
        raise NotImplementedError

    def start_params(self) -> np.ndarray:
        raise NotImplementedError

    def loglike_obs(self, params: np.ndarray) -> np.ndarray:
        """(N,) log-likelihood of each situation (unweighted)."""
        raise NotImplementedError

    def score_obs(self, params: np.ndarray) -> np.ndarray:
        """(N, P) score of each situation (unweighted)."""
        raise NotImplementedError

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        """Model-specific checks after the optimiser: (converged, message, warning category)."""
        return outcome.converged, outcome.message, ConvergenceWarning

    # ---- statsmodels-style interface --------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        return list(self.design.names)

    @property
    def n_obs(self) -> int:
        return self.design.n_obs

    def loglike(self, params: np.ndarray) -> float:
        """Weighted log-likelihood."""
        return float(np.sum(self._weighted(self.loglike_obs(np.asarray(params, float)))))

    def score(self, params: np.ndarray) -> np.ndarray:
        """Analytic gradient of :meth:`loglike`."""
        return self._weighted(self.score_obs(np.asarray(params, float))).sum(axis=0)

    def hessian(self, params: np.ndarray) -> np.ndarray:
        """Hessian of :meth:`loglike` (central differences of the analytic score)."""
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
        """(N, J) choice probabilities (zero for unavailable alternatives)."""
        return self._probabilities(np.asarray(params, float), self.design.X, self.design.avail)

    def utilities(self, params: np.ndarray) -> np.ndarray:
        """(N, J) systematic utilities :math:`V = X\\beta` (NaN for unavailable alternatives)."""
        beta = np.asarray(params, float)[: self.design.n_params]
        v = self.design.X @ beta
        return np.where(self.design.avail, v, np.nan)

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        """Label an (N, J) array: situations as rows, alternatives as columns."""
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
        cov_type: str = "nonrobust",
        groups: np.ndarray | None = None,
        progress: bool | None = None,
    ) -> ChoiceResults:
        """Maximum-likelihood fit; returns a new results object.

        ``cov_type``: ``"nonrobust"`` (inverse information), ``"robust"`` (sandwich) or
        ``"cluster"`` (sandwich over the clusters in ``groups``, one label per situation).
        Non-convergence is reported by a :class:`ConvergenceWarning` and ``converged=False``.
        A fit that runs longer than a few seconds shows a progress bar on stderr (a widget
        in Jupyter); ``progress=False`` turns it off.
        """
        groups = check_cov_options(cov_type, groups, self.n_obs)
        x0 = self._check_start(start)
        t0 = time.perf_counter()
        with fit_progress(f"{self.model_name} fit", enabled=progress):
            outcome = self._maximize(x0, maxiter=maxiter, tol=tol, method=method)
        fit_time = time.perf_counter() - t0
        converged, message, category = self._diagnose(outcome)
        params = outcome.x
        hess = outcome.H if outcome.H is not None else self.hessian(params)
        scores = None if cov_type == "nonrobust" else self._robust_scores(params)
        cov, note = covariance(hess, scores, cov_type=cov_type, groups=groups)
        if note:
            involved = _weak_directions(hess, self.param_names)
            note = f"{note} (weakly identified: {', '.join(involved)})" if involved else note
            warnings.warn(f"standard errors are NaN: {note}", HessianWarning, stacklevel=2)
        if not converged:
            warnings.warn(
                f"{self.model_name} did not converge after {outcome.n_iter} iterations: {message}",
                category, stacklevel=2,
            )
        return ChoiceResults(
            model_name=self.model_name,
            param_names=tuple(self.param_names),
            estimates=params,
            covariance=cov,
            cov_type=cov_type,
            cov_note=note,
            llf=float(outcome.f),
            llnull=self._loglike_equal_shares(),
            ll_constants=self._loglike_constants(),
            nobs=self.n_obs,
            alternatives=tuple(_plain_label(a) for a in self.design.alternatives),
            converged=bool(converged),
            n_iter=int(outcome.n_iter),
            message=message,
            spec=self.spec,
            n_beta=self.design.n_params,
            fit_time=fit_time,
            extra_info=self._extra_info(),
            optimizer=str(method or self.default_method),
            gradient_norm=float(np.linalg.norm(outcome.g)),
            choice_counts=tuple(self._chosen_counts().tolist()),
            model=self,
        )

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        return ()

    def _robust_scores(self, params: np.ndarray) -> np.ndarray:
        """(N, P) weighted scores S whose products S'S form the sandwich's meat."""
        return self._weighted(self.score_obs(params))

    def _check_start(self, start) -> np.ndarray:
        n = len(self.param_names)
        if start is None:
            return self.start_params()
        start = np.asarray(start, dtype=float)
        if start.shape != (n,) or not np.all(np.isfinite(start)):
            raise SpecificationError(
                f"start must be {n} finite values, one per parameter {self.param_names}; "
                f"got shape {start.shape}."
            )
        return start

    def _chosen_counts(self) -> np.ndarray:
        """(J,) weighted number of situations choosing each alternative."""
        d = self.design
        return np.bincount(d.chosen, weights=d.weights, minlength=d.n_alts).astype(float)

    def _loglike_equal_shares(self) -> float:
        n_avail = self.design.avail.sum(axis=1)
        return float(np.sum(self._weighted(-np.log(n_avail))))

    def _loglike_constants(self) -> float:
        r"""Log-likelihood of the model with alternative-specific constants only.

        It depends on the data only through the (weighted) counts of each (availability
        pattern, chosen alternative) cell, so the constants-only logit is fitted on those
        cells; with every alternative available it equals :math:`\sum_j n_j \log(n_j / N)`.
        """
        d = self.design
        if d.avail.all():
            weights = np.ones(d.n_obs) if d.weights is None else d.weights
            counts = np.bincount(d.chosen, weights=weights, minlength=d.n_alts)
            counts = counts[counts > 0]
            return float(np.sum(counts * np.log(counts / counts.sum())))
        return constants_only_loglike(*choice_cells(d.avail, d.chosen, d.weights), d.ref)

    # ---- elasticities -----------------------------------------------------------------
    def _perturbed(self, variable: str, marginal: bool):
        """Designs with ``variable`` moved up and down, one pair per alternative.

        Returns ``(labels, step, pairs)``: the row labels, the relative (elasticity) or
        absolute (marginal effect) step, and an iterator of ``(X_up, X_down)`` that builds
        one pair at a time (at most two extra copies of X in memory).
        """
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
        from choicemodels.formula import formula_variables

        spec = self.spec
        used = formula_variables(spec["formula"])
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
        """Elasticities (or marginal effects) of the probabilities; rows: the alternative whose variable changes.

        ``kind``: ``"mean"`` (average over situations), ``"aggregate"`` (of the expected
        shares: probability-weighted) or ``"point"`` (one block of rows per situation).
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
        """(rows * J, P) derivative of the flattened mean elasticity matrix w.r.t. the parameters."""
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
        """The same specification on the data without the alternatives in ``omit``."""
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
            model._set_options(**self._options())
            model._init_arrays(
                X[:, :, used], remap[d.chosen[keep_obs]], d.avail[keep_obs][:, keep],
                [n for n, u in zip(d.names, used) if u],
                None if d.weights is None else d.weights[keep_obs],
            )
            return model
        obs_keep = set(np.asarray(d.obs_ids)[keep_obs].tolist())
        frame = self.data[self.data[s["obs"]].isin(obs_keep) & ~self.data[s["alt"]].isin(omit)]
        return self._same_spec(frame)

    def _same_spec(self, data: pd.DataFrame) -> ChoiceModel:
        s = self.spec
        return self.__class__(
            s["formula"], data, obs=s["obs"], alt=s["alt"], ref=s["ref"], avail=s["avail"],
            weights=s["weights"], **s["options"],
        )

    def __repr__(self) -> str:
        d = self.design
        what = self.spec["formula"] or f"arrays, {d.n_params} columns"
        return f"{self.model_name}({what!r}; N={d.n_obs}, J={d.n_alts}, K={d.n_params})"


def choice_cells(
    avail: np.ndarray, chosen: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (availability pattern, chosen alternative) cells of the situations and their
    weighted counts: avail (G, J) bool, chosen (G,), counts (G,)."""
    n_obs, n_alts = avail.shape
    if n_alts <= 40:  # availability pattern as an exact binary number (float64 BLAS)
        key = (avail @ 2.0 ** np.arange(n_alts)) * n_alts + chosen
    else:
        key = np.column_stack((avail, chosen))
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=np.ones(n_obs) if weights is None else weights)
    return avail[first], chosen[first], counts


def constants_only_loglike(
    avail: np.ndarray, chosen: np.ndarray, weights: np.ndarray, ref: int
) -> float:
    """Maximised weighted log-likelihood of a logit with one constant per non-``ref`` alternative.

    avail (G, J) bool, chosen (G,), weights (G,): one row per group of situations.
    """
    from choicemodels.kernels.logit import logit_loglike_derivatives
    from choicemodels.models.optimize import newton_maximize

    n, n_alts = avail.shape
    keep = [j for j in range(n_alts) if j != ref]
    X = np.zeros((n, n_alts, len(keep)))
    X[:, keep, np.arange(len(keep))] = 1.0
    X *= avail[:, :, None]
    fun = lambda b: logit_loglike_derivatives(b, X, chosen, avail, weights)  # noqa: E731
    return float(newton_maximize(fun, np.zeros(len(keep)), maxiter=100, tol=1e-12).f)


def _weak_directions(hessian: np.ndarray, names: list[str]) -> list[str]:
    """Parameters that load on the flattest direction of the Hessian."""
    if not np.all(np.isfinite(hessian)):
        return []
    vals, vecs = np.linalg.eigh(-(hessian + hessian.T) / 2)
    v = vecs[:, 0]
    return [n for n, c in zip(names, v) if abs(c) > 0.2]


def _plain_label(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def model_from_spec(spec: dict, data: pd.DataFrame) -> ChoiceModel:
    """A model of the stored specification on new data (for prediction; choice column optional)."""
    from choicemodels.models.logit import Logit
    from choicemodels.models.probit import Probit

    cls = {"Logit": Logit, "Probit": Probit}[spec["model"]]
    if spec["formula"] is None:
        raise SpecificationError(
            "models built with from_arrays predict in-sample only; build the model with a "
            "formula to predict on new data."
        )
    model = cls.__new__(cls)
    model._set_options(**spec["options"])
    if not isinstance(data, pd.DataFrame):
        raise ChoiceDataError(f"data must be a pandas DataFrame in long format, got {type(data).__name__}.")
    design = design_from_formula(
        spec["formula"], data, obs=spec["obs"], alt=spec["alt"], ref=spec["ref"],
        avail=spec["avail"], weights=None, alternatives=tuple(spec["alternatives"]),
        require_choice=False,
    )
    model._init(design, data, {k: v for k, v in spec.items() if k not in ("model", "options")})
    return model
