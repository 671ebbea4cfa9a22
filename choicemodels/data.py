"""Choice data: validation of every input, and reshaping between long and wide layouts.

Long format is the native layout: one row per (choice situation, alternative). A
:class:`ChoiceData` is the validated index of such a frame: which situation and which
alternative each available row belongs to, the (N, J) availability mask, the chosen
alternative of each situation and the situation weights. Every input check of the package
lives in this module; the formula layer and the models call it and never re-check.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from choicemodels.exceptions import ChoiceDataError, SpecificationError

if TYPE_CHECKING:
    from choicemodels.formula import Design

__all__ = [
    "ChoiceData",
    "wide_to_long",
    "long_to_wide",
    "validate_arrays",
    "check_identification",
    "check_columns",
    "check_finite",
    "check_weight_type",
    "weights_of_type",
    "weighted_nobs",
]

_SHOW = 3  # how many offending identifiers an error message lists


def _first(values: Any) -> list:
    """The first few offending identifiers, as plain Python values."""
    return [v.item() if isinstance(v, np.generic) else v for v in list(values)[:_SHOW]]


def _plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def check_columns(frame: pd.DataFrame, names: Sequence[str], what: str,
                  error: type[ValueError] = ChoiceDataError) -> None:
    """Raise if a requested column is absent, suggesting the closest existing names.

    Parameters
    ----------
    frame : DataFrame whose columns are searched.
    names : the column names requested.
    what : how the request is described in the message (e.g. ``"obs="``).
    error : the exception type raised.
    """
    columns = [str(c) for c in frame.columns]
    for name in names:
        if name not in frame.columns:
            close = difflib.get_close_matches(str(name), columns, n=3, cutoff=0.5)
            hint = f" Did you mean {close}?" if close else ""
            raise error(
                f"{what} names column {name!r}, which is not in the data.{hint} "
                f"The columns are {columns[:20]}{' ...' if len(columns) > 20 else ''}."
            )


def check_finite(values: np.ndarray, name: str, situations: np.ndarray) -> None:
    """Raise :class:`ChoiceDataError` if ``values`` holds NaN or infinity.

    Parameters
    ----------
    values : ndarray, shape (n,), float
    name : the variable named in the message.
    situations : ndarray, shape (n,), the situation identifier of each value.
    """
    bad = ~np.isfinite(values)
    if bad.any():
        ids = pd.unique(situations[bad])
        raise ChoiceDataError(
            f"{name!r} has {int(bad.sum())} missing or infinite values in available rows "
            f"(situations {_first(ids)}{' ...' if len(ids) > _SHOW else ''}). "
            "Drop those situations or impute the values."
        )


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """A column as float64; a non-numeric entry raises naming the value."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ChoiceDataError(
            f"column {name!r} must be numeric but holds the non-numeric value "
            f"{column.iloc[i]!r} (row {_plain(column.index[i])!r}). Convert or drop it."
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _zero_one(column: pd.Series, name: str, role: str) -> np.ndarray:
    """A 0/1 (or boolean) column as a bool array; anything else raises."""
    values = _numeric(column, name) if not pd.api.types.is_bool_dtype(column) else None
    if values is None:
        return column.to_numpy(dtype=bool)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = _first(pd.unique(column[bad]))
        raise ChoiceDataError(
            f"{role} column {name!r} must hold only 0/1 (or True/False); found {shown} "
            f"in {int(bad.sum())} rows. Recode it."
        )
    return values == 1.0


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


def _situation_weights(column: pd.Series, name: str, obs_codes: np.ndarray, obs_ids: np.ndarray,
                       N: int) -> np.ndarray:
    """Per-situation weights, shape (N,); constant within situations, >= 0, not all 0."""
    values = _numeric(column, name)
    check_finite(values, name, obs_ids[obs_codes])
    w = np.empty(N)
    w[obs_codes] = values
    varies = values != w[obs_codes]
    if varies.any():
        raise ChoiceDataError(
            f"weights column {name!r} must be constant within each situation; it varies in "
            f"situations {_first(pd.unique(obs_ids[obs_codes[varies]]))}. Use one weight per situation."
        )
    if (w < 0).any():
        raise ChoiceDataError(
            f"weights column {name!r} has negative values (situations {_first(obs_ids[w < 0])}); "
            "weights must be non-negative."
        )
    if not (w > 0).any():
        raise ChoiceDataError(f"weights column {name!r} is zero everywhere; at least one weight must be positive.")
    return w


WeightType = Literal["frequency", "sampling"]


def check_weight_type(weight_type: Any) -> WeightType:
    """Validate ``weight_type=`` (``"frequency"`` or ``"sampling"``)."""
    if not isinstance(weight_type, str) or weight_type not in ("frequency", "sampling"):
        raise SpecificationError(
            f"weight_type must be 'frequency' (counts of identical situations, Stata's fweight) "
            f"or 'sampling' (inverse selection probabilities, Stata's pweight); got {weight_type!r}."
        )
    return weight_type


def weights_of_type(w: np.ndarray, weight_type: WeightType, name: str, obs_ids: np.ndarray) -> np.ndarray:
    r"""Situation weights ready for estimation, by ``weight_type``.

    ``"frequency"``: each weight counts identical situations, so it must be a whole number
    (as Stata's ``fweight``); returned unchanged. ``"sampling"``: rescaled to sum to the
    number :math:`N_+` of situations with a positive weight,
    :math:`\tilde w_i = w_i N_+ / \sum_k w_k` (only their ratios carry information).

    Parameters
    ----------
    w : ndarray, shape (N,), validated weights (finite, non-negative, not all zero).
    weight_type : ``"frequency"`` or ``"sampling"``.
    name : the weight column named in messages.
    obs_ids : ndarray, shape (N,), situation identifiers named in messages.
    """
    if weight_type == "frequency":
        fractional = w != np.round(w)
        if fractional.any():
            raise ChoiceDataError(
                f"weights column {name!r} holds non-integer values ({_first(w[fractional])} in "
                f"situations {_first(obs_ids[fractional])}); frequency weights count identical "
                "situations and must be whole numbers. For survey (sampling) weights pass "
                "weight_type='sampling'."
            )
        return w
    return w * (np.count_nonzero(w) / w.sum())


def weighted_nobs(w: np.ndarray | None, weight_type: WeightType | None) -> int | None:
    """The number of observations the results report: the sum of frequency weights, the
    number of positively weighted situations for sampling weights; ``None`` unweighted."""
    if w is None:
        return None
    return int(round(float(w.sum()))) if weight_type == "frequency" else int(np.count_nonzero(w))


def _within_moments(X: np.ndarray, avail: np.ndarray, chunk_bytes: int = 1 << 20):
    """Column minimum and maximum over available entries, and the (K, K) Gram matrix D'D
    of the within-situation deviations, accumulated over cache-sized chunks of situations.

    Reductions run over (n, J K) views (numpy reduces a short trailing axis slowly) and the
    situation means are one matrix product with J stacked identities."""
    N, J, K = X.shape
    step = max(1, chunk_bytes // (8 * J * K))
    low, high = np.full(K, np.inf), np.full(K, -np.inf)
    gram = np.zeros((K, K))
    stacked = np.tile(np.eye(K), (J, 1))  # (J K, K)

    def column_extreme(values: np.ndarray, reduce) -> np.ndarray:
        return reduce(reduce(values.reshape(len(values), J * K), axis=0).reshape(J, K), axis=0)

    for start in range(0, N, step):
        x, a = X[start:start + step], avail[start:start + step, :, None]
        n = len(x)
        if a.all():
            low = np.minimum(low, column_extreme(x, np.min))
            high = np.maximum(high, column_extreme(x, np.max))
            d = (x - (x.reshape(n, J * K) @ (stacked / J))[:, None, :]).reshape(-1, K)
        else:
            low = np.minimum(low, column_extreme(np.where(a, x, np.inf), np.min))
            high = np.maximum(high, column_extreme(np.where(a, x, -np.inf), np.max))
            mean = x.sum(axis=1, keepdims=True) / a.sum(axis=1, keepdims=True)  # unavailable x are 0
            d = ((x - mean) * a).reshape(-1, K)
        gram += d.T @ d
    return low, high, gram


def check_identification(X: np.ndarray, avail: np.ndarray, names: Sequence[str], *,
                         generic: Sequence[str] = ()) -> None:
    """Raise :class:`SpecificationError` if the coefficients of ``X`` are not identified.

    Choice probabilities depend on X only through differences between the alternatives of
    a situation, so coefficient k is identified only if column k varies within some
    situation, and the coefficients jointly only if the within-situation deviations

    .. math:: D_{njk} = a_{nj} \\left(X_{njk} - \\bar X_{nk}\\right),
       \\quad \\bar X_{nk} = \\frac{\\sum_j a_{nj} X_{njk}}{\\sum_j a_{nj}}

    stacked into an (N J, K) matrix have full column rank K.

    Parameters
    ----------
    X : ndarray, shape (N, J, K), unavailable entries zero.
    avail : ndarray, shape (N, J), bool.
    names : the K coefficient names used in messages.
    generic : names of part-1 (generic) coefficients; a situation-level variable among
        them gets its own message.
    """
    N, J, K = X.shape
    if K > N:
        raise SpecificationError(
            f"the model has more coefficients (K={K}) than choice situations (N={N}); "
            "use more data or fewer variables."
        )
    low, high, gram = _within_moments(X, avail)
    for k in np.flatnonzero(low == high):
        raise SpecificationError(
            f"column {names[k]!r} is constant (every available value is {low[k]:g}); its "
            "coefficient is not identified. Remove it (constants come from part 2 of the formula)."
        )
    scale = np.sqrt(np.diag(gram))
    tiny = scale <= 1e-12 * np.maximum(np.maximum(np.abs(low), np.abs(high)), 1e-300)
    for k in np.flatnonzero(tiny):
        name = names[k]
        if name in generic:
            raise SpecificationError(
                f"{name!r} is in part 1 (generic coefficients) but does not vary across the "
                f"alternatives of any situation (a situation-level variable), so it is not "
                f"identified. Move it to part 2: 'choice ~ ... | {name}'."
            )
        raise SpecificationError(
            f"column {name!r} does not vary across the alternatives of any situation; its "
            "coefficient is not identified. Remove it or make it alternative-specific."
        )
    eigval, eigvec = np.linalg.eigh(gram / np.outer(scale, scale))
    null = eigval < 1e-10 * eigval[-1]
    if null.any():
        involved = np.any(np.abs(eigvec[:, null]) > 1e-4, axis=1)
        culprits = [names[k] for k in np.flatnonzero(involved)]
        raise SpecificationError(
            f"columns {culprits} are perfectly collinear (within situations); their "
            "coefficients are not identified. Drop one of them."
        )


def validate_arrays(
    X: Any,
    chosen: Any,
    avail: Any = None,
    weights: Any = None,
    names: Sequence[str] | None = None,
) -> Design:
    """Validate array inputs of ``from_arrays`` and return a :class:`Design`.

    Alternatives are labelled 0..J-1 and the reference is 0; the K columns of X are used as
    given (constants are columns of X).

    Parameters
    ----------
    X : array_like, shape (N, J, K), numeric.
    chosen : array_like, shape (N,), integers in 0..J-1.
    avail : array_like, shape (N, J), 0/1 or bool, optional (default: all available).
    weights : array_like, shape (N,), optional, non-negative, not all zero.
    names : K coefficient names (default ``x0 .. x{K-1}``).

    Returns
    -------
    Design. Its X is the caller's array itself when that is a C-contiguous float64 array with
    every alternative available (changing it afterwards changes the model), else a copy
    with unavailable entries set to zero.
    """
    from choicemodels.formula import Design  # formula imports this module

    X = _array(X, "X", 3, "(N, J, K)")
    N, J, K = X.shape
    if N == 0:
        raise ChoiceDataError("X has no situations (N = 0); nothing to estimate.")
    if J < 2:
        raise ChoiceDataError(f"X must have shape (N, J, K) with J >= 2 alternatives; got J = {J}.")
    if K == 0:
        raise SpecificationError("X has no columns (K = 0); there is nothing to estimate.")
    chosen_f = _array(chosen, "chosen", 1, "(N,)")
    if chosen_f.shape[0] != N:
        raise ChoiceDataError(f"chosen must have shape (N,) = ({N},) to match X; got {chosen_f.shape}.")
    if not np.all(np.isfinite(chosen_f)) or np.any(chosen_f != np.round(chosen_f)) \
            or np.any((chosen_f < 0) | (chosen_f > J - 1)):
        bad = ~np.isin(chosen_f, np.arange(J))
        raise ChoiceDataError(
            f"chosen must hold integers 0..J-1 = 0..{J - 1}; situations {_first(np.flatnonzero(bad))} "
            f"hold {_first(chosen_f[bad])}."
        )
    chosen_i = chosen_f.astype(np.int64)
    if avail is None:
        avail_b = np.ones((N, J), bool)
    else:
        avail_f = _array(avail, "avail", 2, "(N, J)")
        if avail_f.shape != (N, J):
            raise ChoiceDataError(f"avail must have shape (N, J) = ({N}, {J}) to match X; got {avail_f.shape}.")
        if not np.isin(avail_f, (0.0, 1.0)).all():
            raise ChoiceDataError(f"avail must hold only 0/1 (or booleans); found {_first(np.unique(avail_f[~np.isin(avail_f, (0.0, 1.0))]))}.")
        avail_b = avail_f == 1.0
    not_av = ~avail_b[np.arange(N), chosen_i]
    if not_av.any():
        raise ChoiceDataError(
            f"{int(not_av.sum())} chosen alternatives are marked unavailable "
            f"(situations {_first(np.flatnonzero(not_av))}). Fix avail or chosen."
        )
    never = ~avail_b.any(axis=0)
    if never.any():
        raise ChoiceDataError(f"alternatives {_first(np.flatnonzero(never))} are never available; drop them from X.")
    names = tuple(f"x{k}" for k in range(K)) if names is None else tuple(str(n) for n in names)
    if len(names) != K:
        raise SpecificationError(f"names must give the K = {K} columns of X; got {len(names)} names.")
    if len(set(names)) != K:
        raise SpecificationError(f"names must be unique; got {list(names)}.")
    # the caller's float64 array is used as it is (as statsmodels does; a copy of a large
    # X costs seconds and doubles the memory), otherwise a float64 copy with unavailable
    # entries set to zero
    X = np.ascontiguousarray(X) if avail_b.all() else np.where(avail_b[:, :, None], X, 0.0)
    step = max(1, (1 << 22) // (J * K))  # chunks: no X-sized boolean temporary
    if not all(np.isfinite(X[s:s + step]).all() for s in range(0, N, step)):
        # unavailable entries are 0 now; name the columns at fault
        situations = np.nonzero(avail_b)[0]
        for k in range(K):
            check_finite(X[:, :, k][avail_b], names[k], situations)
    w = None
    if weights is not None:
        w = _array(weights, "weights", 1, "(N,)")
        if w.shape[0] != N:
            raise ChoiceDataError(f"weights must have shape (N,) = ({N},) to match X; got {w.shape}.")
        w = _situation_weights(pd.Series(w), "weights", np.arange(N), np.arange(N), N)
    check_identification(X, avail_b, names)
    return Design(X=X, chosen=chosen_i, avail=avail_b, weights=w, names=names,
                  alternatives=tuple(range(J)), ref=0, obs_ids=np.arange(N))


def _array(value: Any, name: str, ndim: int, shape: str) -> np.ndarray:
    """``value`` as a float64 array with ``ndim`` axes; errors state the expected shape."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ChoiceDataError(f"{name} must be a numeric array of shape {shape}.") from None
    if arr.ndim != ndim:
        raise ChoiceDataError(f"{name} must have shape {shape}; got an array of shape {arr.shape}.")
    return arr


# ---------------------------------------------------------------- wide <-> long


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
        Alternative-varying columns; default: every other column that varies within
        some situation. They become ``f"{column}{sep}{label}"`` (or ``f"{label}{sep}{column}"``
        with ``alt_position="prefix"``); columns left entirely empty are dropped.
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
    if varying is None:
        rest = [c for c in long.columns if c not in roles and c != avail]
        varies = full.frame[rest].groupby(full.row_obs, sort=False).nunique(dropna=False).max() > 1
        varying = [c for c in rest if varies.get(c, False)]
    else:
        varying = list(varying)
        check_columns(long, varying, "varying=")
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
