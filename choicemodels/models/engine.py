r"""The estimation engine: one fit driver for every model, wherever its data live.

A model supplies block functions: methods that evaluate its likelihood on the situations
of its own in-memory :class:`~choicemodels.formula.Design` and return tuples of sums
(log-likelihood, gradient (P,), Hessian or outer product of the scores (P, P)), and the
per-situation scores of the sandwich. The engine asks for those sums over all the blocks
of a model:

* in memory there is one block, the model itself;
* on a Dask DataFrame every partition holds an in-memory model of the same class and
  options on its own situations (:func:`partition_blocks`), the block functions run there
  and :func:`~choicemodels.distributed.map_sum` adds the sums they return.

On top of these sums the engine runs the fit (:func:`fit`): start values, the optimiser's
outcome and the model's diagnostics, the covariance (nonrobust, robust, cluster), the
warnings and the assembly of :class:`~choicemodels.results.ChoiceResults`.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from choicemodels.data import weighted_nobs
from choicemodels.distributed import map_parts, map_sum, persist_parts
from choicemodels.exceptions import HessianWarning, SpecificationError
from choicemodels.inference import check_cov_options, covariance
from choicemodels.kernels.logit import logit_loglike_derivatives
from choicemodels.models.optimize import (
    OptimizeOutcome,
    bfgs_opg_maximize,
    bounded_newton_maximize,
    newton_maximize,
    per_unit_weight,
    scaled_outcome,
)
from choicemodels.progress import fit_progress, ticking
from choicemodels.results import ChoiceResults

if TYPE_CHECKING:
    from choicemodels.formula import Design

__all__ = [
    "block_sum",
    "choice_cells",
    "constants_only_loglike",
    "fit",
    "gather_blocks",
    "in_memory",
    "kept_on_workers",
    "maximize",
    "partition_blocks",
    "plain_label",
    "score_rows",
    "subsample",
]


# ---- where the blocks are -----------------------------------------------------------
def in_memory(model: Any) -> bool:
    """Whether the model's situations are in memory (one block: the model itself)."""
    return model._parts is None


def partition_blocks(model: Any) -> tuple:
    """One in-memory model of ``model``'s class and options per partition of its
    distributed design, kept where the partitions are (futures on the workers)."""
    task = partial(_partition_model, cls=type(model), options=model._options())
    panels = getattr(model.design, "panels", None)
    if panels is None:
        return persist_parts(task, model.design.parts)
    return persist_parts(task, model.design.parts, panels)


def _partition_model(d: Design, panel_rows: Any = None, *, cls: type, options: dict) -> Any:
    """The in-memory model of one partition (probit draws keyed by situation id; a panel
    mixed logit's by person id, from the partition's (situation, person) pairs)."""
    model = cls.__new__(cls)
    model._set_options(**options)
    model._threads = 1  # one task per worker thread
    if panel_rows is not None:
        model._set_partition_panel(d, panel_rows)
    model._init(d, None, {"formula": None})
    return model


def block_sum(model: Any, name: str, *args: Any) -> tuple:
    """``getattr(block, name)(*args)`` summed over the blocks of ``model`` (tuples, elementwise)."""
    if model._parts is None:
        return getattr(model, name)(*args)
    return map_sum(_block_call, model._parts, name, args)


def _block_call(block: Any, name: str, args: tuple) -> Any:
    return getattr(block, name)(*args)


def gather_blocks(model: Any, task: Callable[[Any], Any]) -> list:
    """``[task(block) for block in blocks]``, run where the blocks are."""
    if model._parts is None:
        return [task(model)]
    return map_parts(task, model._parts)


def kept_on_workers(what: str) -> SpecificationError:
    """The error of a per-situation quantity asked of a model whose data stay on Dask workers."""
    return SpecificationError(
        f"{what} is per situation and the data stay on the Dask workers; compute it on an "
        "in-memory sample, e.g. results.predict(data=df) with a pandas DataFrame df."
    )


# ---- block helpers ------------------------------------------------------------------
def every_nth(design: Design, every: int) -> tuple:
    """``(X, chosen, avail, weights)`` of every ``every``-th situation of a design, contiguous
    (``weights`` ``None`` if unweighted)."""
    rows = slice(None, None, every)
    X, chosen, avail = (np.ascontiguousarray(a[rows]) for a in (design.X, design.chosen, design.avail))
    weights = None if design.weights is None else np.ascontiguousarray(design.weights[rows])
    return X, chosen, avail, weights


def _block_every_nth(block: Any, every: int) -> tuple:
    return every_nth(block.design, every)


def subsample(model: Any, every: int) -> tuple:
    """Every ``every``-th situation of each block, gathered: ``(X, chosen, avail, weights)``."""
    if model._parts is None:
        return every_nth(model.design, every)
    pieces = gather_blocks(model, partial(_block_every_nth, every=every))
    X, chosen, avail, weights = (list(column) for column in zip(*pieces))
    return (np.concatenate(X), np.concatenate(chosen), np.concatenate(avail),
            None if weights[0] is None else np.concatenate(weights))


def score_rows(
    scores: np.ndarray, weights: np.ndarray | None, weight_type: str | None, cov_type: str
) -> np.ndarray:
    """(N, P) rows whose outer products make the sandwich's meat (see
    :func:`~choicemodels.inference.covariance`): the (N, P) unweighted ``scores`` times the
    weights, or times their square roots for frequency weights and ``"robust"``."""
    if weights is None:
        return scores
    if cov_type in ("robust", "opg") and weight_type == "frequency":
        weights = np.sqrt(weights)
    return scores * weights[:, None]


def _block_meat(block: Any, params: np.ndarray, weight_type: str | None) -> tuple:
    rows = score_rows(block.score_obs(params), block.design.weights, weight_type, "robust")
    return (rows.T @ rows,)


def robust_scores(model: Any, params: np.ndarray, cov_type: str) -> np.ndarray:
    """Rows R of the sandwich's meat R'R: the weighted per-situation scores in memory; on
    Dask, (P, P) rows of the meat summed over the partitions (``"robust"`` only)."""
    weight_type = model.spec.get("weight_type")
    if model._parts is None:
        return score_rows(model.score_obs(params), model.design.weights, weight_type, cov_type)
    (meat,) = map_sum(_block_meat, model._parts, np.asarray(params, float), weight_type)
    vals, vecs = np.linalg.eigh(meat)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))).T


class _Counts(dict):
    """Weighted counts by key whose ``+`` adds them key by key (a reduction by ``map_sum``)."""

    def __add__(self, other: dict) -> _Counts:
        out = _Counts(self)
        for key, count in other.items():
            out[key] = out.get(key, 0.0) + count
        return out


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


def _constants_cells(block: Any) -> tuple:
    """Weighted counts of the (availability pattern, chosen alternative) cells: all the
    constants-only logit needs of the data."""
    d = block.design
    avail, chosen, counts = choice_cells(d.avail, d.chosen, d.weights)
    keys = np.column_stack((avail, chosen)).tolist()
    return (_Counts(zip(map(tuple, keys), counts.tolist())),)


def constants_only_loglike(
    avail: np.ndarray, chosen: np.ndarray, weights: np.ndarray, ref: int
) -> float:
    """Maximised weighted log-likelihood of a logit with one constant per non-``ref`` alternative.

    avail (G, J) bool, chosen (G,), weights (G,): one row per group of situations.
    """
    n, n_alts = avail.shape
    keep = [j for j in range(n_alts) if j != ref]
    X = np.zeros((n, n_alts, len(keep)))
    X[:, keep, np.arange(len(keep))] = 1.0
    X *= avail[:, :, None]
    scale = float(np.mean(weights))  # per unit weight: the stopping rule is scale-free
    fun = lambda b: logit_loglike_derivatives(b, X, chosen, avail, weights / scale)  # noqa: E731
    return scale * float(newton_maximize(fun, np.zeros(len(keep)), maxiter=100, tol=1e-12).f)


# ---- fit statistics -----------------------------------------------------------------
def nobs(model: Any) -> int:
    """Observations reported: N, the sum of frequency weights, or the number of positively
    weighted situations (sampling weights)."""
    if model._parts is not None:
        return model.design.nobs
    n = weighted_nobs(model.design.weights, model.spec.get("weight_type"))
    return model.n_obs if n is None else n


def loglike_equal_shares(model: Any) -> float:
    r""":math:`\sum_i w_i \log(1 / |A_i|)`."""
    if model._parts is not None:
        return model.design.ll_equal_shares
    n_avail = model.design.avail.sum(axis=1)
    return float(np.sum(model._weighted(-np.log(n_avail))))


def loglike_constants(model: Any) -> float:
    r"""Log-likelihood of the model with alternative-specific constants only.

    It depends on the data only through the (weighted) counts of each (availability
    pattern, chosen alternative) cell, so the constants-only logit is fitted on those
    cells; with every alternative available it equals :math:`\sum_j n_j \log(n_j / N)`.
    """
    d = model.design
    if model._parts is not None:
        (cells,) = map_sum(_constants_cells, model._parts)
        keys, counts = np.array(list(cells)), np.array(list(cells.values()))
        return constants_only_loglike(keys[:, :-1].astype(bool), keys[:, -1], counts, d.ref)
    if d.avail.all():
        weights = np.ones(d.n_obs) if d.weights is None else d.weights
        counts = np.bincount(d.chosen, weights=weights, minlength=d.n_alts)
        counts = counts[counts > 0]
        return float(np.sum(counts * np.log(counts / counts.sum())))
    return constants_only_loglike(*choice_cells(d.avail, d.chosen, d.weights), d.ref)


def chosen_counts(model: Any) -> np.ndarray:
    """(J,) weighted number of situations choosing each alternative."""
    d = model.design
    if model._parts is not None:
        (cells,) = map_sum(_constants_cells, model._parts)
        chosen = np.array([key[-1] for key in cells], dtype=int)
        return np.bincount(chosen, weights=list(cells.values()), minlength=d.n_alts)
    return np.bincount(d.chosen, weights=d.weights, minlength=d.n_alts).astype(float)


# ---- the fit ------------------------------------------------------------------------
def check_start(model: Any, start: Any) -> np.ndarray:
    """``start`` as (K + P,) finite floats, or the model's start values if ``None``."""
    n = len(model.param_names)
    if start is None:
        return model.start_params()
    start = np.asarray(start, dtype=float)
    if start.shape != (n,) or not np.all(np.isfinite(start)):
        raise SpecificationError(
            f"start must be {n} finite values, one per parameter {model.param_names}; "
            f"got shape {start.shape}."
        )
    return start


def weight_scale(model: Any) -> float:
    """The mean weight of the model's situations (1 unweighted): the unit the optimisers
    work in (see :func:`~choicemodels.models.optimize.per_unit_weight`)."""
    if model.n_obs == 0:
        return 1.0
    if model._parts is not None:
        return float(model.design.nobs) / model.n_obs if model.spec.get("weight_type") else 1.0
    w = model.design.weights
    return 1.0 if w is None else float(np.mean(w))


def check_iterations(maxiter: Any, tol: Any, default_maxiter: int) -> tuple[int, float]:
    """``(maxiter, tol)`` validated, ``None`` replaced by the defaults (``default_maxiter``,
    1e-8); 0 is honoured for both."""
    if maxiter is None:
        maxiter = default_maxiter
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise SpecificationError(f"maxiter must be an int >= 0; got {maxiter!r}.")
    if tol is None:
        tol = 1e-8
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) \
            or not np.isfinite(tol) or tol < 0:
        raise SpecificationError(f"tol must be a finite number >= 0; got {tol!r}.")
    return int(maxiter), float(tol)


#: At most this many BHHH steps before Newton's (``model.newton_warmup``): where the scores
#: of a parameter vanish (a mixed logit's standard deviation near 0) BHHH crawls, while
#: Newton with the exact Hessian converges in a few steps.
NEWTON_WARMUP_MAXITER = 10


def maximize(
    model: Any, start: np.ndarray, *, maxiter: int | None, tol: float | None, method: str | None
) -> OptimizeOutcome:
    """Run the optimiser ``method`` (default ``model.default_method``) on the model's sums,
    per unit weight (the result in the units of the weighted sums).

    ``"newton"``: Newton's method on the log-likelihood, gradient and Hessian
    (:meth:`_derivatives`), after BHHH steps while their decrement exceeds
    ``model.newton_warmup`` where the model sets it (at most ``NEWTON_WARMUP_MAXITER``);
    ``"bhhh"``: Newton steps with the outer product of the scores
    in place of the Hessian, and ``"bfgs"``: BFGS started from that metric, both on
    :meth:`_sums`, stopped early where ``model._boundary`` names a boundary. Where
    ``model._param_bounds()`` gives bounds, Newton and BHHH take projected steps
    (:func:`~choicemodels.models.optimize.bounded_newton_maximize`); BFGS is refused.
    """
    methods = model.methods
    if len(methods) == 1 and method not in (None, *methods):
        raise SpecificationError(f"{model.model_name} is fitted by method={methods[0]!r}; got {method!r}.")
    method = method or model.default_method
    if not isinstance(method, str) or method not in methods:
        raise SpecificationError(
            f"method must be one of {', '.join(repr(a) for a in methods)}; got {method!r}."
        )
    maxiter, tol = check_iterations(maxiter, tol, model.default_maxiter)
    scale = weight_scale(model)
    bounds = model._param_bounds()
    if bounds is not None and method == "bfgs":
        raise SpecificationError(
            f"{model.model_name} with bounds on its parameters is fitted by method='newton' or "
            "'bhhh' (projected Newton steps); got 'bfgs'."
        )

    def newton(fun, x0, iterations=maxiter):
        if bounds is None:
            return newton_maximize(fun, x0, maxiter=iterations, tol=tol)
        return bounded_newton_maximize(fun, x0, *bounds, maxiter=iterations, tol=tol)

    sums = per_unit_weight(ticking(model._sums), scale)  # ticking: fit()'s progress bar

    def bhhh(params):
        ll, g, opg = sums(params)
        return ll, g, -opg

    if method == "newton":
        warm_iter = 0
        if model.newton_warmup is not None:
            warm = newton_maximize(bhhh, start, maxiter=min(maxiter, NEWTON_WARMUP_MAXITER),
                                   tol=model.newton_warmup / scale)
            start, warm_iter = warm.x, warm.n_iter
        out = newton(per_unit_weight(ticking(model._derivatives), scale), start,
                     maxiter - warm_iter)
        return dataclasses.replace(scaled_outcome(out, scale), n_iter=out.n_iter + warm_iter)
    if method == "bhhh":
        out = newton(bhhh, start)
        # the outer product of scores steers the search; standard errors need the Hessian
        return dataclasses.replace(scaled_outcome(out, scale), H=None)
    out = bfgs_opg_maximize(sums, start, maxiter=maxiter, tol=tol,
                            stop=lambda x: bool(model._boundary(x)))
    return scaled_outcome(out, scale)


def _weak_directions(hessian: np.ndarray, names: list[str]) -> list[str]:
    """Parameters that load on the flattest direction of the Hessian."""
    if not np.all(np.isfinite(hessian)):
        return []
    vals, vecs = np.linalg.eigh(-(hessian + hessian.T) / 2)
    v = vecs[:, 0]
    return [n for n, c in zip(names, v) if abs(c) > 0.2]


def plain_label(label: Any) -> Any:
    """A numpy scalar label as the Python scalar (labels stored in the specification)."""
    return label.item() if isinstance(label, np.generic) else label


def fit(
    model: Any,
    *,
    start: np.ndarray | None,
    maxiter: int | None,
    tol: float | None,
    method: str | None,
    cov_type: str | None,
    groups: np.ndarray | None,
    progress: bool | None,
    stacklevel: int = 2,
) -> ChoiceResults:
    """Maximum-likelihood fit of ``model`` (see :meth:`ChoiceModel.fit
    <choicemodels.models.base.ChoiceModel.fit>`); warnings point ``stacklevel`` frames up."""
    if cov_type == "cluster" and model._parts is not None:
        raise SpecificationError(
            "cov_type='cluster' needs the per-situation scores, which stay on the Dask "
            "workers; use cov_type='nonrobust' or 'robust'."
        )
    weight_type = model.spec.get("weight_type")
    cov_type, groups = check_cov_options(cov_type, groups, model.n_obs, weight_type)
    x0 = check_start(model, start)
    t0 = time.perf_counter()
    with fit_progress(f"{model.model_name} fit", enabled=progress):
        outcome = maximize(model, x0, maxiter=maxiter, tol=tol, method=method)
    fit_time = time.perf_counter() - t0
    converged, message, category = model._diagnose(outcome)
    params = outcome.x
    hess = outcome.H if outcome.H is not None else model.hessian(params)
    scores = None if cov_type == "nonrobust" else robust_scores(model, params, cov_type)
    cov, note = covariance(hess, scores, cov_type=cov_type, groups=groups)
    if note:
        involved = _weak_directions(hess, model.param_names)
        note = f"{note} (weakly identified: {', '.join(involved)})" if involved else note
        warnings.warn(f"standard errors are NaN: {note}", HessianWarning, stacklevel=stacklevel + 1)
    if not converged:
        warnings.warn(
            f"{model.model_name} did not converge after {outcome.n_iter} iterations: {message}",
            category, stacklevel=stacklevel + 1,
        )
    return ChoiceResults(
        model_name=model.model_name,
        param_names=tuple(model.param_names),
        estimates=params,
        covariance=cov,
        cov_type=cov_type,
        cov_note=note,
        llf=float(outcome.f),
        llnull=loglike_equal_shares(model),
        ll_constants=loglike_constants(model),
        nobs=nobs(model),
        alternatives=tuple(plain_label(a) for a in model.design.alternatives),
        converged=bool(converged),
        n_iter=int(outcome.n_iter),
        message=message,
        spec=model.spec,
        n_beta=model.design.n_params,
        fit_time=fit_time,
        extra_info=model._extra_info(),
        optimizer=str(method or model.default_method),
        gradient_norm=float(np.linalg.norm(outcome.g)),
        choice_counts=tuple(chosen_counts(model).tolist()),
        model=model,
    )
