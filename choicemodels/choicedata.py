"""Validated long-format choice data: :class:`ChoiceData`.

Long format is the native layout: one row per (choice situation, alternative). A
:class:`ChoiceData` is the validated index of such a frame: which situation and which
alternative each available row belongs to, the (N, J) availability mask, the chosen
alternative of each situation and the situation weights. The checks themselves live in
:mod:`choicemodels.checks`.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from choicemodels.checks import _SHOW, _first, _plain, _situation_weights, _zero_one, check_columns
from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = ["ChoiceData"]


@dataclass(frozen=True, eq=False)
class ChoiceData:
    """Validated long-format choice data.

    Built with :meth:`from_long`, never directly. ``frame`` holds the available rows only
    (a new frame; the user's DataFrame is never modified); row ``i`` of it belongs to
    situation ``row_obs[i]`` and alternative ``row_alt[i]``. The parameters are also the
    attributes of the same names. Shapes: N situations, J alternatives, n_rows available
    rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The available rows, in the original row order.
    obs : str
        Name of the situation column.
    alt : str
        Name of the alternative column.
    obs_ids : ndarray, shape (N,)
        Situation identifiers in order of first appearance.
    alternatives : tuple, length J
        Alternative labels in column order.
    row_obs : ndarray, shape (n_rows,), int64
        Situation index of each row of ``frame``.
    row_alt : ndarray, shape (n_rows,), int64
        Alternative index of each row of ``frame``.
    avail : ndarray, shape (N, J), bool
        Availability of each alternative in each situation.
    chosen : ndarray, shape (N,), int64
        Index of the chosen alternative, -1 if unknown.
    weights : ndarray, shape (N,), float64, or None
        Situation weights.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> d = cm.ChoiceData.from_long(df, obs="individual", alt="mode")
    >>> d.n_obs, d.n_alts, d.alternatives
    (210, 4, ('air', 'bus', 'car', 'train'))
    >>> d.chosen[:3]  # individual 1, 2 and 3 chose the car
    array([2, 2, 2])
    """

    frame: pd.DataFrame
    obs: str
    alt: str
    obs_ids: np.ndarray
    alternatives: tuple
    row_obs: np.ndarray
    row_alt: np.ndarray
    avail: np.ndarray
    chosen: np.ndarray
    weights: np.ndarray | None

    @property
    def n_obs(self) -> int:
        """Number of choice situations N."""
        return len(self.obs_ids)

    @property
    def n_alts(self) -> int:
        """Number of alternatives J."""
        return len(self.alternatives)

    def to_array(self, values: np.ndarray) -> np.ndarray:
        """Scatter row values, shape (n_rows, ...), into an array of shape (N, J, ...).

        Entries of unavailable alternatives are zero.

        Parameters
        ----------
        values : array_like, shape (n_rows, ...)
            One value (or array) per row of ``frame``, in its order.

        Returns
        -------
        ndarray, shape (N, J, ...), float64
            ``out[row_obs[i], row_alt[i]] = values[i]``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> d = cm.ChoiceData.from_long(df, obs="individual", alt="mode")
        >>> gc = d.to_array(d.frame["gc"].to_numpy())
        >>> gc.shape, gc[0].tolist()  # air, bus, car, train
        ((210, 4), [70.0, 70.0, 30.0, 71.0])
        """
        values = np.asarray(values, dtype=np.float64)
        out = np.zeros((self.n_obs, self.n_alts) + values.shape[1:])
        out[self.row_obs, self.row_alt] = values
        return out

    @classmethod
    def from_long(
        cls,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        choice: str | None = "choice",
        avail: str | None = None,
        weights: str | None = None,
        alternatives: Sequence[Hashable] | None = None,
        require_choice: bool = True,
    ) -> ChoiceData:
        """Validate a long DataFrame (one row per situation and alternative).

        Parameters
        ----------
        data : pandas.DataFrame
            Long format; never modified.
        obs : str
            Column identifying the choice situation.
        alt : str
            Column holding the alternative label.
        choice : str or None, default "choice"
            0/1 column marking the chosen alternative (exactly one per situation).
        avail : str, optional
            0/1 availability column. Unavailable alternatives may also simply
            have no row; both give the same (N, J) availability mask.
        weights : str, optional
            Per-situation weight column (constant within a situation,
            non-negative, not all zero).
        alternatives : sequence, optional
            The alternative labels in column order. Default: the sorted labels
            found in ``alt``. When given (e.g. the training alternatives of a model used on
            new data), other labels are an error and alternatives may be absent.
        require_choice : bool, default True
            If False, ``choice`` is ignored and ``chosen`` is -1 (prediction).

        Returns
        -------
        ChoiceData
            The validated index of the data.

        Raises
        ------
        ChoiceDataError
            For any violation of the rules above; the message names the column, shows the
            offending situations or values and says how to fix it.
        SpecificationError
            If ``alternatives`` is given with repeated labels.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> new = df[df["mode"] != "bus"].drop(columns="choice")  # prediction data without the bus
        >>> d = cm.ChoiceData.from_long(new, obs="individual", alt="mode", require_choice=False,
        ...                             alternatives=["air", "bus", "car", "train"])
        >>> d.avail[0].tolist(), d.chosen[:3].tolist()
        ([True, False, True, True], [-1, -1, -1])
        >>> cm.ChoiceData.from_long(df, obs="individual", alt="modes")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        choicemodels.exceptions.ChoiceDataError: alt= names column 'modes', which is not in the data. Did you mean ['mode']? ...
        """
        if not isinstance(data, pd.DataFrame):
            raise ChoiceDataError(f"data must be a pandas DataFrame in long format, got {type(data).__name__}.")
        for role, name in (("obs=", obs), ("alt=", alt)):
            check_columns(data, [name], role)
        for role, name in (("avail=", avail), ("weights=", weights)):
            if name is not None:
                check_columns(data, [name], role)
        if require_choice:
            if choice is None:
                raise ChoiceDataError("choice= is required to mark the chosen alternatives.")
            check_columns(data, [choice], "the response (choice column)")
        if len(data) == 0:
            raise ChoiceDataError("the data are empty (no rows); nothing to estimate.")

        obs_col, alt_col = data[obs], data[alt]
        for role, name, col in (("obs", obs, obs_col), ("alt", alt, alt_col)):
            if col.isna().any():
                rows = _first(data.index[col.isna().to_numpy()])
                raise ChoiceDataError(
                    f"{role} column {name!r} has {int(col.isna().sum())} missing values "
                    f"(rows {rows}). Fill or drop those rows."
                )
        given = alternatives
        alternatives = _resolve_alternatives(alt_col, alt, alternatives)
        J = len(alternatives)
        alt_codes = pd.Index(alternatives).get_indexer(alt_col)
        if (alt_codes < 0).any():
            unknown = _first(pd.unique(alt_col[alt_codes < 0]))
            raise ChoiceDataError(
                f"column {alt!r} holds alternatives {unknown} that are not among the model's "
                f"alternatives {list(alternatives)}. Drop those rows."
            )
        obs_codes, obs_ids = pd.factorize(obs_col, sort=False)
        obs_ids = np.asarray(obs_ids)
        N = len(obs_ids)

        key = obs_codes.astype(np.int64) * J + alt_codes
        dup = pd.Series(key).duplicated(keep=False).to_numpy()
        if dup.any():
            pairs = list(zip(obs_col[dup].tolist(), alt_col[dup].tolist()))
            raise ChoiceDataError(
                f"{int(dup.sum())} rows repeat a ({obs!r}, {alt!r}) pair, e.g. {pairs[:_SHOW]}; "
                "each situation may list each alternative once. Drop the duplicates."
            )

        is_avail = np.ones(len(data), bool) if avail is None else _zero_one(data[avail], avail, "availability")
        is_chosen = None
        if require_choice:
            is_chosen = _zero_one(data[choice], choice, "choice")
            wrong = is_chosen & ~is_avail
            if wrong.any():
                ids = _first(pd.unique(obs_col[wrong]))
                raise ChoiceDataError(
                    f"{int(wrong.sum())} chosen alternatives are marked unavailable in {avail!r} "
                    f"(situations {ids}). Fix the availability or the choice column."
                )

        avail_mat = np.zeros((N, J), bool)
        avail_mat[obs_codes[is_avail], alt_codes[is_avail]] = True
        empty = ~avail_mat.any(axis=1)
        if empty.any():
            raise ChoiceDataError(
                f"{int(empty.sum())} situations have no available alternative "
                f"({obs!r} {_first(obs_ids[empty])}). Drop them."
            )
        if J < 2:
            raise ChoiceDataError(
                f"column {alt!r} holds a single alternative {list(alternatives)}; a choice needs "
                "at least two."
            )

        never = ~avail_mat.any(axis=0)
        if given is None and never.any():
            raise ChoiceDataError(
                f"alternatives {[alternatives[j] for j in np.flatnonzero(never)]} of {alt!r} are never "
                f"available (in {avail!r}); drop their rows."
            )
        row_obs = obs_codes[is_avail].astype(np.int64)
        row_alt = alt_codes[is_avail].astype(np.int64)
        chosen = np.full(N, -1, np.int64)
        if is_chosen is not None:
            chosen = _chosen_index(is_chosen[is_avail], row_obs, row_alt, N, obs_ids, choice, obs)
        w = None if weights is None else _situation_weights(
            data[weights], weights, obs_codes, obs_ids, N
        )
        return cls(
            frame=data.loc[is_avail] if avail is not None else data,
            obs=obs, alt=alt, obs_ids=obs_ids, alternatives=alternatives,
            row_obs=row_obs, row_alt=row_alt, avail=avail_mat, chosen=chosen, weights=w,
        )


def _resolve_alternatives(alt_col: pd.Series, alt: str, alternatives: Sequence[Hashable] | None) -> tuple:
    """The alternative labels in column order (default: sorted)."""
    if alternatives is not None:
        alternatives = tuple(_plain(a) for a in alternatives)
        if len(set(alternatives)) != len(alternatives):
            raise SpecificationError(f"alternatives= repeats a label: {list(alternatives)}.")
        return alternatives
    labels = [_plain(a) for a in pd.unique(alt_col)]
    try:
        return tuple(sorted(labels))
    except TypeError:
        raise ChoiceDataError(
            f"the labels in {alt!r} cannot be sorted (mixed types: {labels[:5]}); "
            "make them all strings or all numbers."
        ) from None


def _chosen_index(is_chosen: np.ndarray, row_obs: np.ndarray, row_alt: np.ndarray, N: int,
                  obs_ids: np.ndarray, choice: str, obs: str) -> np.ndarray:
    """Index of the single chosen alternative of each situation, shape (N,)."""
    count = np.bincount(row_obs, weights=is_chosen, minlength=N)
    for bad, what in ((count == 0, "none"), (count > 1, "more than one")):
        if bad.any():
            raise ChoiceDataError(
                f"{choice!r} must mark exactly one chosen alternative per {obs!r}; "
                f"{int(bad.sum())} situations have {what} (first: {_first(obs_ids[bad])}). "
                "Drop them or fix the column."
            )
    chosen = np.empty(N, np.int64)
    chosen[row_obs[is_chosen]] = row_alt[is_chosen]
    return chosen
