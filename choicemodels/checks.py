"""Input checks: columns, finite and 0/1 values, weights, identification, array inputs.

The checks every entry point shares: the long-format validation of
:class:`~choicemodels.data.ChoiceData`, the formula layer and the models' ``from_arrays``
call them and never re-check. Each raises :class:`~choicemodels.ChoiceDataError` (bad
data) or :class:`~choicemodels.SpecificationError` (a bad request) naming the column,
situation or parameter at fault and the fix.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from choicemodels.design import Design
from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = [
    "validate_arrays",
    "check_identification",
    "check_columns",
    "check_finite",
    "check_not_datetime",
    "check_weight_type",
    "weights_of_type",
    "weighted_nobs",
    "WeightType",
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
        if name in frame.columns and int((frame.columns == name).sum()) > 1:
            raise ChoiceDataError(
                f"{what} names column {name!r}, which appears {int((frame.columns == name).sum())} times "
                "in the data; rename or drop the duplicates (e.g. df.loc[:, ~df.columns.duplicated()])."
            )
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


def check_not_datetime(column: pd.Series, name: str) -> None:
    """Raise :class:`ChoiceDataError` for a datetime or timedelta column.

    pandas stores them as integer counts of its storage unit, so using them as numbers
    would make the coefficients depend on that unit; the message shows the conversion.
    """
    kind = None
    if pd.api.types.is_datetime64_any_dtype(column) or isinstance(column.dtype, pd.PeriodDtype):
        kind = "datetime"
    elif pd.api.types.is_timedelta64_dtype(column):
        kind = "timedelta"
    elif column.dtype == object and len(column):
        first = column.dropna()[:1]
        if len(first) and isinstance(first.iloc[0], (pd.Timestamp, pd.Timedelta, np.datetime64, np.timedelta64)):
            kind = "datetime" if isinstance(first.iloc[0], (pd.Timestamp, np.datetime64)) else "timedelta"
    if kind == "datetime":
        raise ChoiceDataError(
            f"column {name!r} holds datetimes, which have no unit as numbers; convert it to a "
            f"number in a unit you choose, e.g. df[{name!r}] = (t - t.min()) / pd.Timedelta(\"1h\") "
            f"with t = df[{name!r}] (hours since the first)."
        )
    if kind == "timedelta":
        raise ChoiceDataError(
            f"column {name!r} holds time spans (timedelta), which have no unit as numbers; convert it, "
            f"e.g. df[{name!r}] = df[{name!r}] / pd.Timedelta(\"1h\") (hours)."
        )


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """A column as float64; a non-numeric entry raises naming the value."""
    check_not_datetime(column, name)
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
        missing = column.isna().to_numpy()
        if missing.any():
            raise ChoiceDataError(
                f"{role} column {name!r} has {int(missing.sum())} missing values (rows "
                f"{_first(column.index[missing])}); every row needs True/False (1/0). Fill them "
                f"(e.g. df[{name!r}].fillna(False)) or drop those rows."
            )
        return column.to_numpy(dtype=bool)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = _first(pd.unique(column[bad]))
        raise ChoiceDataError(
            f"{role} column {name!r} must hold only 0/1 (or True/False); found {shown} "
            f"in {int(bad.sum())} rows. Recode it."
        )
    return values == 1.0



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
    check_magnitudes(np.maximum(high, -low), names, N)  # before the overflowed gram is used
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


# ---------------------------------------------------------------- magnitudes
#: Largest admissible sum of weights times a squared variable. The Hessian and the outer
#: product of the scores add :math:`w_i x_{ijk}^2`-sized terms over the situations, so
#: :math:`\sum_i w_i \cdot \max|x_k|^2` must stay finite in float64 (1.8e308); 1e300 leaves
#: eight orders of magnitude for the J alternatives and the rounding of the sums.
MAGNITUDE_LIMIT = 1e300


def check_magnitudes(
    largest: np.ndarray,
    names: Sequence[str],
    total_weight: float,
    weights_name: str | None = None,
) -> None:
    r"""Refuse variables or weights so large that the likelihood's sums overflow.

    With :math:`W = \sum_i w_i` (N unweighted) and :math:`m_k = \max_{ij} |x_{ijk}|`, every
    sum the fit forms (utilities :math:`x'\beta` at :math:`\beta \sim 1/m_k`, gradients,
    Hessians, outer products of the scores) is finite when :math:`W \le` 1e300 and
    :math:`W m_k^2 \le` 1e300 (:data:`MAGNITUDE_LIMIT`) for every column k; beyond, scipy
    and numpy fail deep inside with "array must not contain infs or NaNs" or "Eigenvalues
    did not converge".

    Parameters
    ----------
    largest : (K,) largest absolute value of each column of X.
    names : K column (coefficient) names named in messages.
    total_weight : :math:`W`, the sum of the weights (N unweighted).
    weights_name : the weight column named in messages (``None`` unweighted).

    Raises
    ------
    ChoiceDataError
        Naming the weight column or the variable, its largest value and the fix.
    """
    if weights_name is not None and not (np.isfinite(total_weight)
                                         and total_weight <= MAGNITUDE_LIMIT):
        raise ChoiceDataError(
            f"weights column {weights_name!r} sums to {total_weight:.3g}, beyond "
            f"{MAGNITUDE_LIMIT:.0e}: the log-likelihood's sums would overflow. Divide the "
            "weights by a constant (sampling weights: only their ratios matter)."
        )
    with np.errstate(over="ignore"):
        bound = np.sqrt(MAGNITUDE_LIMIT / max(float(total_weight), 1.0))
        too_large = ~(np.asarray(largest, dtype=np.float64) <= bound)
    if too_large.any():
        k = int(np.flatnonzero(too_large)[0])
        raise ChoiceDataError(
            f"variable {names[k]!r} holds values up to {float(largest[k]):.3g} in absolute "
            f"value; with a total weight of {float(total_weight):.3g} situations the fit's sums "
            f"of squares would overflow (limit {bound:.3g}, from sum(w) * max|x|^2 <= "
            f"{MAGNITUDE_LIMIT:.0e}). Rescale the variable (e.g. divide it by 1e100): its "
            "coefficient scales inversely."
        )


__all__ += ["MAGNITUDE_LIMIT", "check_magnitudes"]
