"""The numerical design of a choice model: the arrays every estimator works on.

A :class:`Design` is what the data layer hands to the models: attributes X (N, J, K), the
chosen alternative, the availability mask, the weights and the labels (coefficient names,
alternatives, reference, situation ids). It is built by :func:`choicemodels.formula.design_from_formula`
from a DataFrame or by :func:`choicemodels.checks.validate_arrays` from arrays, and
holds no logic.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from choicemodels.exceptions import SpecificationError

__all__ = ["Design", "DesignState", "FactorState"]

_ARRAY_TYPES = {"float64": np.float64, "longdouble": np.longdouble, "int64": np.int64}


def _encode(value: Any, where: str) -> Any:
    """A transform's state value as JSON data (arrays exactly, longdouble digits included)."""
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        kind = "longdouble" if value.dtype == np.longdouble else str(value.dtype)
        if kind not in _ARRAY_TYPES:
            raise SpecificationError(f"{where}: an array of {value.dtype} cannot be stored.")
        return {"array": kind, "shape": list(value.shape), "values": [str(v) for v in value.ravel()]}
    raise SpecificationError(f"{where}: a {type(value).__name__} cannot be stored.")


def _decode(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        try:
            dtype = _ARRAY_TYPES[value["array"]]
            return np.array(value["values"], dtype=dtype).reshape(value["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecificationError(f"design state {where}: not a stored array ({exc}).") from None
    if isinstance(value, (bool, int, float)):
        return value
    raise SpecificationError(f"design state {where}: a transform holds a {type(value).__name__}, not a number.")


@dataclass(frozen=True, eq=False)
class FactorState:
    """What one formula factor learned from the fit data.

    Attributes
    ----------
    code : the factor's code, e.g. ``"center(hinc)"`` or ``"C(size)"``.
    kind : ``"numerical"`` or ``"categorical"``.
    levels : the categorical levels in column order (empty for numerical factors).
    transforms : the state of each stateful transform inside the factor (``center``,
        ``standardize``, ``scale``), by patsy's internal name: attribute -> value.
    """

    code: str
    kind: Literal["numerical", "categorical"]
    levels: tuple = ()
    transforms: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True, eq=False)
class DesignState:
    """The transform state and factor levels a formula design learned from its fit data.

    Rebuilding the design of the same formula on other data (prediction, perturbation for
    elasticities, loaded results) with this state reproduces the fit's coding: ``center(x)``
    subtracts the fit data's mean, ``C(x)`` keeps the fit's levels and columns. The state
    is plain data: :meth:`to_dict` is JSON-serialisable and :meth:`from_dict` validates it.

    Attributes
    ----------
    parts : the factors of each of the three formula parts.
    columns : the column names of each part (patsy spelling, before the alternatives).
    """

    parts: tuple[tuple[FactorState, ...], ...]
    columns: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict:
        """JSON-serialisable form (only str, numbers, bools, lists and dicts)."""
        parts = []
        for part in self.parts:
            factors = []
            for f in part:
                where = f"factor {f.code!r}"
                for level in f.levels:
                    if type(level) not in (str, int, float, bool):
                        raise SpecificationError(
                            f"{where}: the level {level!r} ({type(level).__name__}) cannot be stored; "
                            "use string or number levels."
                        )
                transforms = {name: {k: _encode(v, where) for k, v in attrs.items()}
                              for name, attrs in (f.transforms or {}).items()}
                factors.append({"code": f.code, "kind": f.kind, "levels": list(f.levels),
                                "transforms": transforms})
            parts.append(factors)
        return {"version": 1, "parts": parts, "columns": [list(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> DesignState:
        """Rebuild from :meth:`to_dict`'s output; a malformed state raises naming the fault."""
        def bad(what: str) -> SpecificationError:
            return SpecificationError(f"design state: {what}.")

        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise bad("not a version-1 design state (a dict with 'version': 1)")
        parts, columns = data.get("parts"), data.get("columns")
        if not isinstance(parts, list) or not isinstance(columns, list) or len(parts) != 3 or len(columns) != 3:
            raise bad("'parts' and 'columns' must be lists of three (one per formula part)")
        out = []
        for number, part in enumerate(parts, start=1):
            if not isinstance(part, list):
                raise bad(f"part {number} is not a list of factors")
            factors = []
            for f in part:
                if not isinstance(f, Mapping) or not isinstance(f.get("code"), str) \
                        or f.get("kind") not in ("numerical", "categorical") \
                        or not isinstance(f.get("levels"), list) or not isinstance(f.get("transforms"), Mapping):
                    raise bad(f"part {number} holds a malformed factor {f!r:.80}")
                where = f"factor {f['code']!r}"
                if any(type(level) not in (str, int, float, bool) for level in f["levels"]):
                    raise bad(f"{where} has a level that is not a string or number")
                transforms = {}
                for name, attrs in f["transforms"].items():
                    if not isinstance(attrs, Mapping):
                        raise bad(f"{where}: transform {name!r} is not a dict")
                    transforms[str(name)] = {str(k): _decode(v, where) for k, v in attrs.items()}
                factors.append(FactorState(f["code"], f["kind"], tuple(f["levels"]), transforms))
            out.append(tuple(factors))
        for names in columns:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise bad("'columns' must be lists of column names")
        return cls(tuple(out), tuple(tuple(c) for c in columns))


@dataclass(frozen=True, eq=False)
class Design:
    """Numerical design of a choice model.

    Attributes
    ----------
    X : ndarray, shape (N, J, K), float64
        Attributes of every alternative in every situation; rows of unavailable
        alternatives are zero.
    chosen : ndarray, shape (N,), int64
        Index (0..J-1) of the chosen alternative; -1 where no choice is known
        (prediction data).
    avail : ndarray, shape (N, J), bool
        Availability of each alternative.
    weights : ndarray, shape (N,), float64, or None
        Per-situation weights.
    names : tuple of str, length K
        Coefficient names (API.md spelling).
    alternatives : tuple, length J
        Alternative labels in column order.
    ref : int
        Index of the reference alternative.
    obs_ids : ndarray, shape (N,)
        Situation identifiers, in row order of X.
    state : DesignState or None
        What a formula design learned from its data (transform state, factor levels);
        pass it to :func:`~choicemodels.formula.design_from_formula` to build the same
        coding on other data. None for designs built from arrays.
    """

    X: np.ndarray
    chosen: np.ndarray
    avail: np.ndarray
    weights: np.ndarray | None
    names: tuple[str, ...]
    alternatives: tuple
    ref: int
    obs_ids: np.ndarray
    state: DesignState | None = None

    @property
    def n_obs(self) -> int:
        return self.X.shape[0]

    @property
    def n_alts(self) -> int:
        return self.X.shape[1]

    @property
    def n_params(self) -> int:
        return self.X.shape[2]
