r"""The map-and-reduce backend of fits on Dask DataFrames: data larger than memory.

A Dask DataFrame in long format (any partitioning) as ``data=`` of :class:`~choicemodels.Logit`
or :class:`~choicemodels.Probit` (or any model) fits on the active Dask client
(``dask.distributed.Client``, ``LocalCluster`` or a real cluster; without a client, Dask's
local scheduler). This module knows no model:

1. if the partitions may split a situation (their ranges of ``obs`` overlap), the rows are
   shuffled on ``obs`` so that every situation lies in one partition;
2. the sorted alternative labels are computed once over all the data; every partition is
   validated by the in-memory rules (:class:`~choicemodels.ChoiceDataError`) and turned into a
   :class:`~choicemodels.formula.Design` with those alternatives, persisted on the workers;
3. the estimation engine (:mod:`choicemodels.models.engine`) keeps one in-memory model per
   partition and, at every evaluation of the likelihood, maps the model's block functions
   over the partitions with :func:`map_sum`, which adds the sums they return: the
   log-likelihood, the gradient (P,) and the Hessian or the outer product of the scores
   (P, P). Only parameters and these sums travel.

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
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from choicemodels.checks import check_magnitudes
from choicemodels.data import _resolve_alternatives, check_columns, weights_of_type
from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.design import DesignState
from choicemodels.formula import (
    Design,
    _resolve_ref,
    check_term_count,
    design_from_formula,
    formula_response,
    formula_variables,
    learn_state,
    learns_from_data,
    parse_formula,
)

__all__ = [
    "DistributedDesign",
    "distributed_design",
    "is_dask_frame",
    "map_parts",
    "map_sum",
    "persist_parts",
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
    state : the design state (transform moments, factor levels) of the whole data, which
        every partition's design was built with.
    panels : with ``panel=``, one frame per partition (futures, as ``parts``) of the
        distinct (``obs``, ``panel``) pairs of its rows: every person's situations lie in one
        partition; else ``None``.
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
    state: DesignState | None = None
    panels: tuple | None = None

    weights = None  # weights are applied inside the partitions


# ---- tasks run on the workers ------------------------------------------------------------
def _id_values(obs: pd.Series) -> pd.Series:
    """The situation ids as values that order as in memory: a categorical column as its
    labels (object), since an unordered categorical has no minimum."""
    return obs.astype(object) if isinstance(obs.dtype, pd.CategoricalDtype) else obs


def _obs_range(obs: pd.Series) -> pd.DataFrame:
    """One row (low, high): the range of the situation ids of a partition (none if empty;
    ``None`` if the ids cannot be ordered, which sends the rows to a shuffle)."""
    obs = _id_values(obs)
    if len(obs) == 0:
        return pd.DataFrame({"low": obs.iloc[:0], "high": obs.iloc[:0]})
    try:
        return pd.DataFrame({"low": [obs.min()], "high": [obs.max()]})
    except TypeError:  # ids of mixed types
        return pd.DataFrame({"low": [None], "high": [None]}, dtype=object)


def _partition_design(frame: pd.DataFrame, roles: dict) -> Design | None:
    """The validated design of one partition (``None`` if it is empty)."""
    if len(frame) == 0:
        return None
    d = design_from_formula(
        roles["formula"], frame, obs=roles["obs"], alt=roles["alt"], ref=roles["ref"],
        avail=roles["avail"], weights=roles["weights"], alternatives=roles["alternatives"],
        check_identified=False, functions=roles["functions"], state=roles["state"],
    )
    if d.weights is not None and roles["weight_type"] == "frequency":  # whole numbers
        weights_of_type(d.weights, "frequency", roles["weights"], d.obs_ids)
    return d


def _panel_rows(frame: pd.DataFrame, obs: str, panel: str) -> pd.DataFrame:
    """The distinct (situation, person) pairs of a partition's rows."""
    return frame[[obs, panel]].drop_duplicates()


def _scale_weights(d: Design, factor: float) -> Design:
    """The design with its weights multiplied by ``factor`` (sampling weights' normalisation)."""
    return dataclasses.replace(d, weights=d.weights * factor)


def _names_of(d: Design | None) -> tuple[tuple[str, ...], DesignState | None] | None:
    return None if d is None else (d.names, d.state)


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


def persist_parts(task: Callable, parts: Sequence, *others: Sequence) -> tuple:
    """``task(part, *other)`` for every partition (and the partition's entries of
    ``others``), kept where the parts are (futures or in memory)."""
    if parts and hasattr(parts[0], "client"):
        return tuple(parts[0].client.map(task, parts, *others, pure=False))
    return tuple(task(*entries) for entries in zip(parts, *others))


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
    functions: Mapping[str, Callable] | None = None,
    panel: str | None = None,
) -> DistributedDesign:
    """Validate a Dask DataFrame in long format and persist one design per partition.

    Parameters as in :func:`~choicemodels.formula.design_from_formula`; ``data`` is a Dask
    DataFrame with one row per (situation, alternative), situations possibly split across
    partitions. Frequency weights are checked (whole numbers) in every partition; sampling
    weights are normalised over all partitions to sum to the number of positively
    weighted situations, as in memory. The formula's terms are counted against N before
    any is evaluated, and stateful transforms (``center``, ``standardize``, ``scale``)
    and ``C(...)`` levels are learned over all partitions (one state, as in memory). With
    ``panel`` (a person column, for a mixed logit's panel likelihood) no person is split:
    where persons span partitions the rows are shuffled on ``panel``, and the (situation,
    person) pairs of every partition are persisted beside its design (``panels``).
    """
    import dask

    meta = data._meta
    variables = formula_variables(formula, functions=functions)
    check_columns(meta, variables, f"formula {formula!r}", SpecificationError)
    roles = [("obs=", obs), ("alt=", alt), ("the response (choice column)", formula_response(formula, functions=functions))]
    roles += [(role, name) for role, name in (("avail=", avail), ("weights=", weights),
                                              ("panel=", panel)) if name]
    for role, name in roles:
        check_columns(meta, [name], role)
    used = list(dict.fromkeys([name for _, name in roles] + list(variables)))
    data = data[used]

    unit = panel or obs  # what a partition must hold whole: persons, or situations
    ids_meta = _id_values(meta[unit].iloc[:0])
    ranges_meta = pd.DataFrame({"low": ids_meta, "high": ids_meta})
    labels, ranges, n_situations = dask.compute(
        data[alt].drop_duplicates(), data[unit].map_partitions(_obs_range, meta=ranges_meta),
        data[obs].nunique(),
    )
    if len(labels) == 0:
        raise ChoiceDataError("the data are empty (no rows); nothing to estimate.")
    alternatives = _resolve_alternatives(pd.Series(np.asarray(labels)), alt, None)
    check_term_count(formula, int(n_situations), len(alternatives), functions=functions)
    parts_of_formula = parse_formula(formula, functions=functions)
    ref_index = _resolve_ref(ref, alternatives)
    state = None
    if learns_from_data(formula, functions=functions):  # row values only: before any shuffle
        columns = list(dict.fromkeys(list(variables) + ([avail] if avail else [])))
        delayed_parts = data[columns].to_delayed()
        state = learn_state(formula, lambda: (dask.compute(p)[0] for p in delayed_parts),
                            avail=avail, functions=functions)
    if _situations_split(ranges):
        data = data.shuffle(on=unit)
    spec = {"formula": formula, "obs": obs, "alt": alt, "ref": alternatives[ref_index],
            "avail": avail, "weights": weights, "weight_type": weight_type,
            "alternatives": alternatives, "functions": functions, "state": state}
    designs = [dask.delayed(_partition_design)(p, spec) for p in data.to_delayed()]
    client = _active_client()
    designs = client.compute(designs) if client is not None else dask.compute(*designs)
    described = map_parts(_names_of, designs)
    parts = tuple(d for d, about in zip(designs, described) if about is not None)
    panels = None
    if panel is not None:
        rows = [dask.delayed(_panel_rows)(p, obs, panel) for p in data.to_delayed()]
        rows = client.compute(rows) if client is not None else dask.compute(*rows)
        panels = tuple(r for r, about in zip(rows, described) if about is not None)
    names, first_state = next(about for about in described if about is not None)
    state = first_state if state is None else state
    n_obs, ll_shares, avail_counts, total_weight, n_positive, DtD, largest = map_sum(_summary, parts)
    never = np.flatnonzero(avail_counts == 0)
    if never.size:
        raise ChoiceDataError(
            f"alternatives {[alternatives[j] for j in never]} of {alt!r} are never available "
            f"(in {avail!r}); drop their rows."
        )
    check_magnitudes(largest, names, float(n_obs if weights is None else total_weight), weights)
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
        nobs=nobs, state=state, panels=panels,
    )
