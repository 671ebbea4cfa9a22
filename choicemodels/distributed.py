r"""Fits on choice data larger than memory, mapped over the partitions of a Dask DataFrame.

A Dask DataFrame in long format (any partitioning) as ``data=`` of :class:`~choicemodels.Logit`
or :class:`~choicemodels.Probit` selects the distributed variant of the model, which runs on the
active Dask client (``dask.distributed.Client``, ``LocalCluster`` or a real cluster; without a
client, Dask's local scheduler):

1. if the partitions may split a situation (their ranges of ``obs`` overlap), the rows are
   shuffled on ``obs`` so that every situation lies in one partition;
2. the sorted alternative labels are computed once over all the data; every partition is
   validated by the in-memory rules (:class:`~choicemodels.ChoiceDataError`) and turned into a
   :class:`~choicemodels.formula.Design` with those alternatives, persisted on the workers;
3. every evaluation of the likelihood maps a chunk kernel over the partitions and adds the
   sums it returns: the log-likelihood, the gradient (P,) and the Hessian or the outer
   product of the scores (P, P). Only parameters and these sums travel.

The log-likelihood is a sum over situations, so the sums, the Newton steps and the estimates
are those of the in-memory fit up to the order of floating-point additions. Probit GHK draws
are keyed by situation id (:func:`~choicemodels.kernels.draws.keyed_uniform_draws`), so they do
not depend on the partitioning either.

Per-situation quantities (``loglike_obs``, ``predict``, elasticities) are not gathered from the
cluster: compute them on an in-memory sample with ``results.predict(data=df)``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, partial
from typing import Any

import numpy as np
import pandas as pd

from choicemodels.data import _resolve_alternatives, check_columns, weights_of_type
from choicemodels.exceptions import (
    ChoiceDataError,
    ConvergenceWarning,
    SeparationWarning,
    SpecificationError,
)
from choicemodels.formula import Design, _resolve_ref, design_from_formula, formula_variables, parse_formula
from choicemodels.kernels.logit import logit_loglike_derivatives, logit_scores
from choicemodels.kernels.mvn import cov_start
from choicemodels.models.base import ChoiceModel, choice_cells, constants_only_loglike, score_rows
from choicemodels.models.logit import Logit, every_nth
from choicemodels.models.optimize import OptimizeOutcome, newton_maximize
from choicemodels.models.probit import _LOGIT_SD, Probit
from choicemodels.models.separation import divergence_suspected
from choicemodels.results import ChoiceResults

__all__ = [
    "DistributedDesign",
    "DistributedLogit",
    "DistributedModel",
    "DistributedProbit",
    "distributed_class",
    "distributed_design",
    "is_dask_frame",
    "map_parts",
    "map_sum",
    "situation_keys",
]


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (without importing Dask)."""
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(data, dd.DataFrame)


def situation_keys(obs_ids: np.ndarray) -> np.ndarray:
    """(N,) uint64 keys of situation ids: pandas' stable hash, equal in every process."""
    return pd.util.hash_array(np.asarray(obs_ids))


@dataclass(frozen=True, eq=False)
class DistributedDesign:
    r"""Design of a model whose data stay on the Dask workers.

    Attributes
    ----------
    parts : tuple of futures (or of designs, without a ``dask.distributed`` client)
        One :class:`~choicemodels.formula.Design` per non-empty partition, held by the workers.
    names, alternatives, ref : as in :class:`~choicemodels.formula.Design`.
    n_obs, n_alts, n_params : N, J and K.
    ll_equal_shares : :math:`\sum_i w_i \log(1 / |A_i|)`.
    nobs : the number of observations reported: N, the sum of frequency weights or the
        number of positively weighted situations (sampling weights, which the partitions
        hold normalised to sum to it).
    """

    parts: tuple
    names: tuple[str, ...]
    alternatives: tuple
    ref: int
    n_obs: int
    n_alts: int
    n_params: int
    ll_equal_shares: float
    nobs: int

    weights = None  # weights are applied inside the partitions


# ---- tasks run on the workers ------------------------------------------------------------
def _obs_range(obs: pd.Series) -> pd.DataFrame:
    """One row (low, high): the range of the situation ids of a partition (none if empty)."""
    if len(obs) == 0:
        return pd.DataFrame({"low": obs.iloc[:0], "high": obs.iloc[:0]})
    return pd.DataFrame({"low": [obs.min()], "high": [obs.max()]})


def _partition_design(frame: pd.DataFrame, roles: dict) -> Design | None:
    """The validated design of one partition (``None`` if it is empty)."""
    if len(frame) == 0:
        return None
    d = design_from_formula(
        roles["formula"], frame, obs=roles["obs"], alt=roles["alt"], ref=roles["ref"],
        avail=roles["avail"], weights=roles["weights"], alternatives=roles["alternatives"],
        check_identified=False,
    )
    if d.weights is not None and roles["weight_type"] == "frequency":  # whole numbers
        weights_of_type(d.weights, "frequency", roles["weights"], d.obs_ids)
    return d


def _scale_weights(d: Design, factor: float) -> Design:
    """The design with its weights multiplied by ``factor`` (sampling weights' normalisation)."""
    return dataclasses.replace(d, weights=d.weights * factor)


def _names_of(d: Design | None) -> tuple[str, ...] | None:
    return None if d is None else d.names


def _summary(d: Design) -> tuple:
    """N, equal-shares log-likelihood, availability counts (J,), sum of weights, number of
    positive weights, and the identification sums: D'D (K, K) of the within-situation
    deviations :math:`D_{njk} = a_{nj}(X_{njk} - \\bar X_{nk})` and the largest |X| per
    column (K,)."""
    n_avail = d.avail.sum(axis=1)
    w = np.ones(d.n_obs) if d.weights is None else d.weights
    mean = d.X.sum(axis=1) / n_avail[:, None]  # unavailable entries of X are zero
    D = ((d.X - mean[:, None, :]) * d.avail[:, :, None]).reshape(-1, d.n_params)
    return (d.n_obs, float(w @ -np.log(n_avail)), d.avail.sum(axis=0), float(w.sum()),
            int(np.count_nonzero(w)), D.T @ D, _Max(np.abs(d.X).max(axis=(0, 1))))


class _Max(np.ndarray):
    """An array whose ``+`` is the elementwise maximum (a reduction by :func:`map_sum`)."""

    def __new__(cls, values: np.ndarray) -> _Max:
        return np.asarray(values).view(cls)

    def __add__(self, other: np.ndarray) -> _Max:
        return _Max(np.maximum(self, other))


def _logit_sums(d: Design, beta: np.ndarray, hessian: bool) -> tuple:
    return logit_loglike_derivatives(beta, d.X, d.chosen, d.avail, d.weights, hessian=hessian, threads=1)


class _Counts(dict):
    """Weighted counts by key whose ``+`` adds them key by key (a reduction by :func:`map_sum`)."""

    def __add__(self, other: dict) -> _Counts:
        out = _Counts(self)
        for key, count in other.items():
            out[key] = out.get(key, 0.0) + count
        return out


def _constants_cells(d: Design) -> tuple:
    """Weighted counts of the (availability pattern, chosen alternative) cells: all the
    constants-only logit needs of the data."""
    avail, chosen, counts = choice_cells(d.avail, d.chosen, d.weights)
    keys = np.column_stack((avail, chosen)).tolist()
    return (_Counts(zip(map(tuple, keys), counts.tolist())),)


def _logit_meat(d: Design, beta: np.ndarray, weight_type: str | None) -> tuple:
    rows = score_rows(logit_scores(beta, d.X, d.chosen, d.avail), d.weights, weight_type, "robust")
    return (rows.T @ rows,)


def _partition_model(d: Design, cls: type, options: dict) -> ChoiceModel:
    """The in-memory model of one partition (its draws keyed by situation id)."""
    model = cls.__new__(cls)
    model._set_options(**options)
    model._init(d, None, {"formula": None})
    return model


def _model_sums(model: ChoiceModel, params: np.ndarray) -> tuple:
    return model._sums(params)


def _model_loglike(model: ChoiceModel, params: np.ndarray) -> tuple:
    return (model.loglike(params),)


def _model_meat(model: ChoiceModel, params: np.ndarray, weight_type: str | None) -> tuple:
    rows = score_rows(model.score_obs(params), model.design.weights, weight_type, "robust")
    return (rows.T @ rows,)


# ---- driver on the client ----------------------------------------------------------------
def _active_client() -> Any:
    """The active ``dask.distributed`` client, or ``None``."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def map_sum(task: Callable, parts: Sequence, *args: Any) -> tuple:
    """Run ``task(part, *args)`` on every partition and add the returned tuples elementwise.

    ``parts`` are futures on the workers of a ``dask.distributed`` client (the tasks run
    there and only their results travel) or designs in memory. ``None`` entries stay
    ``None``; everything else (floats, arrays) is summed in partition order.
    """
    values = map_parts(partial(_call, task, args), parts)
    return tuple(
        None if column[0] is None else sum(column[1:], start=column[0])
        for column in zip(*values)
    )


def map_parts(task: Callable, parts: Sequence) -> list:
    """``[task(part) for part in parts]``, run where the parts are (workers or memory)."""
    if parts and hasattr(parts[0], "client"):
        client = parts[0].client
        return client.gather(client.map(task, parts, pure=False))
    return [task(part) for part in parts]


def persist_parts(task: Callable, parts: Sequence) -> tuple:
    """``task(part)`` for every partition, kept where the parts are (futures or in memory)."""
    if parts and hasattr(parts[0], "client"):
        return tuple(parts[0].client.map(task, parts, pure=False))
    return tuple(task(part) for part in parts)


def _call(task: Callable, args: tuple, part: Any) -> Any:
    return task(part, *args)


def _check_identified(DtD: np.ndarray, largest: np.ndarray, names: Sequence[str], generic: Sequence[str]) -> None:
    """The identification rules of :func:`~choicemodels.data.check_identification` on sums:
    every column varies within some situation and D'D has full rank."""
    scale = np.sqrt(np.diag(DtD))
    for k in np.flatnonzero(scale <= 1e-12 * np.maximum(largest, 1e-300)):
        hint = f" Move it to part 2: 'choice ~ ... | {names[k]}'." if names[k] in generic else " Remove it."
        raise SpecificationError(
            f"column {names[k]!r} does not vary across the alternatives of any situation "
            f"(constant or situation-level); its coefficient is not identified.{hint}"
        )
    eigval, eigvec = np.linalg.eigh(DtD / np.outer(scale, scale))
    null = eigval < 1e-10 * eigval[-1]
    if null.any():
        involved = np.any(np.abs(eigvec[:, null]) > 1e-4, axis=1)
        raise SpecificationError(
            f"columns {[names[k] for k in np.flatnonzero(involved)]} are perfectly collinear "
            "(within situations); their coefficients are not identified. Drop one of them."
        )


def _situations_split(ranges: pd.DataFrame) -> bool:
    """Whether the (low, high) obs ranges of the partitions overlap (or cannot be ordered)."""
    try:
        ranges = sorted(zip(ranges["low"], ranges["high"]))
        return any(nxt[0] <= prev[1] for prev, nxt in zip(ranges, ranges[1:]))
    except TypeError:
        return True


def distributed_design(
    formula: str,
    data: Any,
    *,
    obs: str,
    alt: str,
    ref: Hashable | None = None,
    avail: str | None = None,
    weights: str | None = None,
    weight_type: str = "frequency",
) -> DistributedDesign:
    """Validate a Dask DataFrame in long format and persist one design per partition.

    Parameters as in :func:`~choicemodels.formula.design_from_formula`; ``data`` is a Dask
    DataFrame with one row per (situation, alternative), situations possibly split across
    partitions. Frequency weights are checked (whole numbers) in every partition; sampling
    weights are normalised over all partitions to sum to the number of positively
    weighted situations, as in memory.
    """
    import dask

    parts_of_formula = parse_formula(formula)
    meta = data._meta
    variables = formula_variables(formula)
    check_columns(meta, variables, f"formula {formula!r}", SpecificationError)
    roles = [("obs=", obs), ("alt=", alt), ("the response (choice column)", parts_of_formula.response)]
    roles += [(role, name) for role, name in (("avail=", avail), ("weights=", weights)) if name]
    for role, name in roles:
        check_columns(meta, [name], role)
    used = list(dict.fromkeys([name for _, name in roles] + list(variables)))
    data = data[used]

    ranges_meta = pd.DataFrame({"low": meta[obs].iloc[:0], "high": meta[obs].iloc[:0]})
    labels, ranges = dask.compute(
        data[alt].drop_duplicates(), data[obs].map_partitions(_obs_range, meta=ranges_meta)
    )
    if len(labels) == 0:
        raise ChoiceDataError("the data are empty (no rows); nothing to estimate.")
    alternatives = _resolve_alternatives(pd.Series(np.asarray(labels)), alt, None)
    ref_index = _resolve_ref(ref, alternatives)
    if _situations_split(ranges):
        data = data.shuffle(on=obs)
    spec = {"formula": formula, "obs": obs, "alt": alt, "ref": alternatives[ref_index],
            "avail": avail, "weights": weights, "weight_type": weight_type,
            "alternatives": alternatives}
    designs = [dask.delayed(_partition_design)(p, spec) for p in data.to_delayed()]
    client = _active_client()
    designs = client.compute(designs) if client is not None else dask.compute(*designs)
    described = map_parts(_names_of, designs)
    parts = tuple(d for d, names in zip(designs, described) if names is not None)
    names = next(names for names in described if names is not None)
    n_obs, ll_shares, avail_counts, total_weight, n_positive, DtD, largest = map_sum(_summary, parts)
    never = np.flatnonzero(avail_counts == 0)
    if never.size:
        raise ChoiceDataError(
            f"alternatives {[alternatives[j] for j in never]} of {alt!r} are never available "
            f"(in {avail!r}); drop their rows."
        )
    if weights is not None and not total_weight > 0:
        raise ChoiceDataError(f"weights column {weights!r} is zero everywhere; at least one weight must be positive.")
    if len(names) > n_obs:
        raise SpecificationError(
            f"the model has more coefficients (K={len(names)}) than choice situations "
            f"(N={n_obs}); use more data or fewer variables."
        )
    _check_identified(DtD, largest, names, parts_of_formula.generic)
    nobs = int(n_obs)
    if weights is not None and weight_type == "sampling":
        factor = n_positive / total_weight
        parts = persist_parts(partial(_scale_weights, factor=factor), parts)
        ll_shares, nobs = ll_shares * factor, int(n_positive)
    elif weights is not None:
        nobs = int(round(total_weight))
    return DistributedDesign(
        parts=parts, names=names, alternatives=alternatives, ref=ref_index, n_obs=int(n_obs),
        n_alts=len(alternatives), n_params=len(names), ll_equal_shares=float(ll_shares),
        nobs=nobs,
    )


# ---- models ------------------------------------------------------------------------------
def _kept_on_workers(what: str) -> SpecificationError:
    return SpecificationError(
        f"{what} is per situation and the data stay on the Dask workers; compute it on an "
        "in-memory sample, e.g. results.predict(data=df) with a pandas DataFrame df."
    )


class DistributedModel:
    """Mixin of a model fitted on Dask data: likelihood sums mapped over the partitions.

    Subclasses provide ``_meat(params)``, the (P, P) meat of the robust sandwich (the sum
    of the outer products of the score rows of :func:`~choicemodels.models.base.score_rows`),
    and the model's likelihood sums through :func:`map_sum`.
    """

    _build_design = staticmethod(distributed_design)

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
        """Maximum-likelihood fit on the workers; as the in-memory ``fit`` without ``"cluster"``."""
        if cov_type == "cluster":
            raise SpecificationError(
                "cov_type='cluster' needs the per-situation scores, which stay on the Dask "
                "workers; use cov_type='nonrobust' or 'robust'."
            )
        return super().fit(start=start, maxiter=maxiter, tol=tol, method=method,
                           cov_type=cov_type, groups=groups, progress=progress)

    def _robust_scores(self, params: np.ndarray, cov_type: str) -> np.ndarray:
        """(P, P) rows R with R'R the sandwich's meat (``"robust"``; ``"cluster"`` is refused)."""
        vals, vecs = np.linalg.eigh(self._meat(np.asarray(params, float)))
        return (vecs * np.sqrt(np.clip(vals, 0.0, None))).T

    def _nobs(self) -> int:
        return self.design.nobs

    def _loglike_equal_shares(self) -> float:
        return self.design.ll_equal_shares

    def _loglike_constants(self) -> float:
        (cells,) = map_sum(_constants_cells, self.design.parts)
        keys, counts = np.array(list(cells)), np.array(list(cells.values()))
        return constants_only_loglike(keys[:, :-1].astype(bool), keys[:, -1], counts, self.design.ref)

    def _chosen_counts(self) -> np.ndarray:
        (cells,) = map_sum(_constants_cells, self.design.parts)
        chosen = np.array([key[-1] for key in cells], dtype=int)
        return np.bincount(chosen, weights=list(cells.values()), minlength=self.design.n_alts)

    def loglike_obs(self, params: np.ndarray) -> np.ndarray:
        raise _kept_on_workers("loglike_obs")

    def score_obs(self, params: np.ndarray) -> np.ndarray:
        raise _kept_on_workers("score_obs")

    def predict(self, params: np.ndarray) -> np.ndarray:
        raise _kept_on_workers("predict")

    def utilities(self, params: np.ndarray) -> np.ndarray:
        raise _kept_on_workers("utilities")

    def _perturbed(self, variable: str, marginal: bool):
        raise _kept_on_workers("an elasticity")

    def without_alternatives(self, omit: list):
        raise _kept_on_workers("a refit without alternatives")


class DistributedLogit(DistributedModel, Logit):
    """:class:`~choicemodels.Logit` on Dask data: Newton steps on sums over the partitions."""

    def _derivatives(self, beta: np.ndarray, hessian: bool = True):
        return map_sum(_logit_sums, self.design.parts, np.asarray(beta, float), hessian)

    def _meat(self, params: np.ndarray) -> np.ndarray:
        return map_sum(_logit_meat, self.design.parts, params, self.spec.get("weight_type"))[0]

    def _every_nth(self, every: int) -> tuple:
        """The warm start's subsample: every n-th situation of each partition, gathered."""
        pieces = map_parts(partial(every_nth, every=every), self.design.parts)
        X, chosen, avail, weights = (list(column) for column in zip(*pieces))
        return (np.concatenate(X), np.concatenate(chosen), np.concatenate(avail),
                None if weights[0] is None else np.concatenate(weights))

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        if divergence_suspected(outcome):
            message = (
                "the coefficients diverge: the data appear (quasi-)completely separated. Fit "
                "an in-memory sample to find the variables that predict the choice perfectly."
            )
            return False, message, SeparationWarning
        return outcome.converged, outcome.message, ConvergenceWarning


class DistributedProbit(DistributedModel, Probit):
    """:class:`~choicemodels.Probit` on Dask data.

    Every partition holds the in-memory probit of its situations (grouped situations and
    GHK draws keyed by situation id, made once on the worker); each evaluation adds their
    log-likelihoods, gradients and outer products of the scores.
    """

    @cached_property
    def _partition_models(self) -> tuple:
        task = partial(_partition_model, cls=Probit, options=self._options())
        return persist_parts(task, self.design.parts)

    def _sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return map_sum(_model_sums, self._partition_models, np.asarray(params, float))

    def _meat(self, params: np.ndarray) -> np.ndarray:
        return map_sum(_model_meat, self._partition_models, params, self.spec.get("weight_type"))[0]

    def loglike(self, params: np.ndarray) -> float:
        return float(map_sum(_model_loglike, self._partition_models, np.asarray(params, float))[0])

    def score(self, params: np.ndarray) -> np.ndarray:
        return self._sums(params)[1]

    def start_params(self) -> np.ndarray:
        """The in-memory start: the logit fit (on the partitions), rescaled to the probit's errors."""
        d = self.design
        out = newton_maximize(lambda b: map_sum(_logit_sums, d.parts, b, True),
                              np.zeros(d.n_params), maxiter=50, tol=1e-8)
        beta = out.x if np.all(np.isfinite(out.x)) else np.zeros(d.n_params)
        sd = 1.0 / np.sqrt(2.0) if self.structure == "unstructured" else 1.0
        return np.concatenate([beta / _LOGIT_SD * sd, cov_start(self.structure, d.n_alts)])


@cache
def distributed_class(cls: type) -> type:
    """The distributed variant of a model class (``cls`` itself if already distributed)."""
    if issubclass(cls, DistributedModel):
        return cls
    if issubclass(cls, Logit):
        return DistributedLogit
    if issubclass(cls, Probit):
        return DistributedProbit
    raise SpecificationError(f"{cls.__name__} cannot be fitted on a Dask DataFrame.")
