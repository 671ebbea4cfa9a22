"""Reshaping between the wide layout (one row per situation) and the long layout.

:func:`wide_to_long` and :func:`long_to_wide` validate as they go (through
:class:`~choicemodels.data.ChoiceData` and :mod:`choicemodels.checks`), so a reshaped
frame is ready for a model.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from choicemodels.checks import _first, _zero_one, check_columns
from choicemodels.choicedata import ChoiceData
from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = ["wide_to_long", "long_to_wide"]


def _column(stem: str, label: Any, sep: str, alt_position: str) -> str:
    return f"{label}{sep}{stem}" if alt_position == "prefix" else f"{stem}{sep}{label}"


def wide_to_long(
    wide: pd.DataFrame,
    *,
    alternatives: Sequence[Hashable] | Mapping[Any, Hashable],
    choice: str | None,
    varying: Sequence[str] | None = None,
    avail: str | None = None,
    obs: str | None = None,
    sep: str = "_",
    alt_position: Literal["suffix", "prefix"] = "suffix",
    alt_name: str = "alt",
) -> pd.DataFrame:
    """Reshape a wide frame (one row per situation) to long format (one row per alternative).

    An alternative-varying attribute ``stem`` of alternative ``label`` is the column
    ``f"{stem}{sep}{label}"`` (``alt_position="suffix"``, as in R's ``reshape``/``dfidx``
    and ``pandas.wide_to_long``) or ``f"{label}{sep}{stem}"`` (``"prefix"``, e.g.
    Swissmetro's ``TRAIN_TT``). Each stem becomes one long column named ``stem``; a stem
    missing for some alternative is NaN there. Every other column is situation-level and
    repeated on each row.

    Parameters
    ----------
    wide : pandas.DataFrame
        One row per choice situation. Never modified.
    alternatives : sequence or mapping
        Labels used in the column names, in the order wanted; or a mapping from
        the codes of the ``choice`` column to those labels (Swissmetro: ``{1: "TRAIN",
        2: "SM", 3: "CAR"}``).
    choice : str or None
        Column holding the chosen alternative's label (or code); in the long frame the
        same name holds 0/1. None if there is no choice column.
    varying : sequence of str, optional
        Attribute stems; default: every stem found for any alternative.
    avail : str, optional
        Stem of the 0/1 availability columns (``"AV"`` for ``TRAIN_AV``); an
        alternative without such a column is always available.
    obs : str, optional
        Column identifying situations (must be unique); default: the index, whose name
        (or ``"obs"``) names the long column.
    sep : str, default "_"
        Separator between stem and label in the column names.
    alt_position : {"suffix", "prefix"}, default "suffix"
        Whether the label follows (``cost_bus``) or precedes (``TRAIN_TT``) the stem.
    alt_name : str, default "alt"
        Name of the long alternative column.

    Returns
    -------
    pandas.DataFrame
        Columns obs, ``alt_name``, situation-level columns, stems, ``choice``;
        N J rows ordered by situation then alternative, fresh RangeIndex.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"id": [1, 2], "mode": ["bus", "car"], "cost_bus": [1.0, 2.0],
    ...                      "cost_car": [3.0, 4.0], "income": [10, 20]})
    >>> wide_to_long(wide, alternatives=["bus", "car"], choice="mode", obs="id")
       id  alt  income  cost  mode
    0   1  bus      10   1.0     1
    1   1  car      10   3.0     0
    2   2  bus      20   2.0     0
    3   2  car      20   4.0     1

    Swissmetro's prefixed columns and coded choices:

    >>> import choicemodels as cm
    >>> sm = cm.datasets.load_swissmetro()
    >>> long = wide_to_long(sm[sm.CHOICE != 0].head(1), alternatives={1: "TRAIN", 2: "SM", 3: "CAR"},
    ...                     choice="CHOICE", avail="AV", alt_position="prefix", alt_name="mode")
    >>> long[["mode", "CHOICE", "TT", "CO", "AV"]]
        mode  CHOICE   TT  CO  AV
    0  TRAIN       0  112  48   1
    1     SM       1   63  52   1
    2    CAR       0  117  65   1
    """
    if not isinstance(wide, pd.DataFrame):
        raise ChoiceDataError(f"wide must be a pandas DataFrame, got {type(wide).__name__}.")
    if alt_position not in ("suffix", "prefix"):
        raise SpecificationError(f"alt_position must be 'suffix' or 'prefix', got {alt_position!r}.")
    if len(wide) == 0:
        raise ChoiceDataError("the wide data are empty (no rows).")
    codes = dict(alternatives) if isinstance(alternatives, Mapping) else {a: a for a in alternatives}
    labels = list(codes.values())
    if len(labels) < 2:
        raise ChoiceDataError(f"alternatives must list at least two alternatives; got {labels}.")
    if len(set(labels)) != len(labels):
        raise SpecificationError(f"alternatives repeats a label: {labels}.")
    if choice is not None:
        check_columns(wide, [choice], "choice=")
    if obs is not None:
        check_columns(wide, [obs], "obs=")
        obs_values, obs_name = wide[obs].to_numpy(), obs
    else:
        obs_values, obs_name = wide.index.to_numpy(), wide.index.name or "obs"
    if pd.Series(obs_values).duplicated().any():
        where = f"column {obs!r}" if obs is not None else "the index"
        dups = _first(pd.unique(obs_values[pd.Series(obs_values).duplicated().to_numpy()]))
        raise ChoiceDataError(f"situation ids in {where} must be unique; repeated: {dups}. Pass obs= a unique id.")

    stems = _stems(wide.columns, labels, sep, alt_position) if varying is None else list(varying)
    if avail is not None and avail not in stems:
        stems.append(avail)
    names = {s: {a: _column(s, a, sep, alt_position) for a in labels} for s in stems}
    for s in stems:
        if s != avail and not any(c in wide.columns for c in names[s].values()):
            check_columns(wide, [names[s][labels[0]]], f"varying stem {s!r}")
    used = {c for s in stems for c in names[s].values()} | {choice, obs}
    fixed = [c for c in wide.columns if c not in used]
    n, J = len(wide), len(labels)

    out = {obs_name: np.repeat(obs_values, J), alt_name: np.tile(np.array(labels, dtype=object), n)}
    for c in fixed:
        out[c] = np.repeat(wide[c].to_numpy(), J)
    for s in stems:
        default = 1 if s == avail else np.nan
        block = [wide[c].to_numpy() if c in wide.columns else np.full(n, default) for c in names[s].values()]
        out[s] = np.column_stack(block).ravel()
    long = pd.DataFrame(out)
    if avail is not None:
        is_av = _zero_one(long[avail], avail, "availability")
    if choice is not None:
        chosen_code = wide[choice]
        unknown = ~chosen_code.isin(list(codes))
        if unknown.any():
            raise ChoiceDataError(
                f"choice column {choice!r} must hold one of the alternatives {list(codes)}; "
                f"{int(unknown.sum())} situations hold {_first(pd.unique(chosen_code[unknown]))} "
                f"(first: {_first(obs_values[unknown.to_numpy()])}). Drop them or fix the column."
            )
        position = pd.Index(list(codes)).get_indexer(chosen_code)
        is_chosen = (np.arange(J)[None, :] == position[:, None]).ravel()
        if avail is not None and (is_chosen & ~is_av).any():
            bad = np.asarray(long[obs_name])[is_chosen & ~is_av]
            raise ChoiceDataError(
                f"the chosen alternative is marked unavailable in {avail!r} for situations "
                f"{_first(bad)}. Fix the availability or the choice column."
            )
        long[choice] = is_chosen.astype(np.int64)
    for c in fixed + stems:
        if long[c].dtype == object:
            long[c] = long[c].infer_objects()
    return long


def _stems(columns: pd.Index, labels: list, sep: str, alt_position: str) -> list[str]:
    """Attribute stems found in column names, in order of first appearance."""
    stems: list[str] = []
    for c in map(str, columns):
        for a in map(str, labels):
            if alt_position == "prefix" and c.startswith(a + sep) and len(c) > len(a + sep):
                stem = c[len(a + sep):]
            elif alt_position == "suffix" and c.endswith(sep + a) and len(c) > len(sep + a):
                stem = c[: -len(sep + a)]
            else:
                continue
            if stem not in stems:
                stems.append(stem)
    return stems


def long_to_wide(
    long: pd.DataFrame,
    *,
    obs: str,
    alt: str,
    choice: str | None = None,
    varying: Sequence[str] | None = None,
    avail: str | None = None,
    alternatives: Sequence[Hashable] | Mapping[Any, Hashable] | None = None,
    sep: str = "_",
    alt_position: Literal["suffix", "prefix"] = "suffix",
) -> pd.DataFrame:
    """Reshape long choice data to wide format; the inverse of :func:`wide_to_long`.

    ``wide_to_long(long_to_wide(long, ...), ...)`` restores ``long`` up to row order,
    absent rows and dtypes, and ``long_to_wide(wide_to_long(wide, ...), ...)`` restores
    ``wide`` up to column order.

    Parameters
    ----------
    long : pandas.DataFrame
        One row per (situation, alternative). Never modified.
    obs : str
        Situation column.
    alt : str
        Alternative column.
    choice : str, optional
        0/1 column; in the wide frame it holds the chosen label (or its code when
        ``alternatives`` is a mapping code -> label).
    varying : sequence of str, optional
        Columns to treat as alternative-varying even where they do not vary (an
        alternative's attribute that happens to be equal across alternatives). Every other
        column that varies within some situation is varying too, listed or not, so that no
        value is lost; the rest are situation-level. Varying columns become
        ``f"{column}{sep}{label}"`` (or ``f"{label}{sep}{column}"`` with
        ``alt_position="prefix"``), the listed ones first; columns left entirely empty are
        dropped.
    avail : str, optional
        0/1 availability column (treated as varying); absent rows get 0. If rows are
        absent and ``avail`` is None, availability columns with stem ``"avail"`` are added.
    alternatives : sequence or mapping, optional
        Label order (default sorted), or a mapping code -> label as in
        :func:`wide_to_long`.
    sep : str, default "_"
        Separator between column name and label.
    alt_position : {"suffix", "prefix"}, default "suffix"
        Whether the label follows or precedes the column name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``obs`` (one row per situation, in order of first appearance):
        situation-level columns, then the varying columns stem by stem, then ``choice``.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"id": [1, 2], "mode": ["bus", "car"], "cost_bus": [1.0, 2.0],
    ...                      "cost_car": [3.0, 4.0], "income": [10, 20]})
    >>> long = wide_to_long(wide, alternatives=["bus", "car"], choice="mode", obs="id")
    >>> long_to_wide(long, obs="id", alt="alt", choice="mode")  # doctest: +NORMALIZE_WHITESPACE
        income  cost_bus  cost_car mode
    id
    1       10       1.0       3.0  bus
    2       20       2.0       4.0  car
    """
    codes = None
    if isinstance(alternatives, Mapping):
        codes = {label: code for code, label in alternatives.items()}
        alternatives = list(alternatives.values())
    data = ChoiceData.from_long(long, obs=obs, alt=alt, choice=choice, avail=avail,
                                alternatives=alternatives, require_choice=choice is not None)
    full = ChoiceData.from_long(long, obs=obs, alt=alt, choice=None, alternatives=data.alternatives,
                                require_choice=False)
    labels, N, J = data.alternatives, data.n_obs, data.n_alts
    roles = {obs, alt, choice}
    given = [] if varying is None else list(varying)
    if varying is not None:
        check_columns(long, given, "varying=")
    # a column that varies within some situation is varying, listed or not: as a
    # situation-level column it would keep only each situation's first value
    rest = [c for c in long.columns if c not in roles and c != avail and c not in given]
    varies = full.frame[rest].groupby(full.row_obs, sort=False).nunique(dropna=False).max() > 1
    varying = given + [c for c in rest if varies.get(c, False)]
    fixed = [c for c in long.columns if c not in roles and c not in varying and c != avail]
    first_row = np.unique(full.row_obs, return_index=True)[1]
    wide = {c: long[c].to_numpy()[first_row] for c in fixed}
    stems = varying + ([avail] if avail is not None else [])
    if avail is None and not data.avail.all():
        stems.append("avail")
    for s in stems:
        if s == "avail" and avail is None:
            values = data.avail.astype(np.int64)
        elif s == avail:
            values = np.zeros((N, J), np.int64)
            values[full.row_obs, full.row_alt] = _zero_one(long[avail], avail, "availability")
        else:
            column = long[s].to_numpy()
            values = np.full((N, J), np.nan, dtype=object if column.dtype == object else np.float64)
            values[full.row_obs, full.row_alt] = column
        for j, a in enumerate(labels):
            if values.dtype != object and np.isnan(values[:, j]).all():
                continue
            col = pd.Series(values[:, j])
            wide[_column(s, a, sep, alt_position)] = col.infer_objects() if values.dtype == object else col
    if choice is not None:
        chosen = np.array(labels, dtype=object)[data.chosen]
        wide[choice] = pd.Series(chosen).map(codes).to_numpy() if codes else pd.Series(chosen).infer_objects()
    out = pd.DataFrame(wide)
    out.index = pd.Index(data.obs_ids, name=obs)
    return out
