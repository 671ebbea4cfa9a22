"""Three-part choice formulas turned into design arrays.

``"choice ~ gc + ttme | hinc | invt"`` (as in R's mlogit):

1. part 1, alternative-varying variables with one generic coefficient each (``gc``);
   ``0`` alone means none. Part 1 never has an intercept.
2. part 2, situation-level variables with one coefficient per non-reference alternative
   (``hinc:air``), plus alternative-specific constants ``(Intercept):air`` unless ``0`` or
   ``-1`` appears there. Omitted part 2 means constants only.
3. part 3, alternative-varying variables with one coefficient per alternative
   (``invt:air``, ..., all alternatives).

Every term is evaluated by patsy on the long frame, so ``np.log(x)``, ``I(x / 100)``,
``C(x)`` and interactions ``a:b`` work in every part. Column order of the K coefficients:
part 1 in formula order; part 2 with all constants first, then each variable for every
non-reference alternative (``hinc:air, hinc:bus, hinc:train``); part 3 each variable for
every alternative. Alternatives are in sorted order unless given.

Shape vocabulary used throughout the package: N choice situations, J alternatives,
K coefficients, R simulation draws.
"""

from __future__ import annotations

import ast
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from choicemodels.checks import _numeric, _plain, check_columns, check_finite, check_identification
from choicemodels.data import ChoiceData
from choicemodels.design import Design
from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = ["Design", "FormulaParts", "parse_formula", "formula_variables", "design_from_formula"]


@dataclass(frozen=True)
class FormulaParts:
    """The parsed parts of a three-part formula (patsy term names).

    Attributes
    ----------
    response : name of the 0/1 choice column.
    generic : part-1 terms (generic coefficients).
    situation : part-2 terms (one coefficient per non-reference alternative).
    specific : part-3 terms (one coefficient per alternative).
    intercept : whether alternative-specific constants are included.
    """

    response: str
    generic: tuple[str, ...]
    situation: tuple[str, ...]
    specific: tuple[str, ...]
    intercept: bool


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` outside parentheses, brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _terms(formula: str) -> tuple[FormulaParts, list[list]]:
    """Parse ``formula`` into :class:`FormulaParts` and the patsy terms of each part."""
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string like 'choice ~ x | z | w', got {type(formula).__name__}.")
    sides = _split_top(formula, "~")
    if len(sides) != 2:
        raise SpecificationError(
            f"formula {formula!r} must have exactly one '~' separating the choice column from "
            "the variables, e.g. 'choice ~ gc + ttme | hinc | invt'."
        )
    response = sides[0].strip()
    if not response:
        raise SpecificationError(f"formula {formula!r} has no response; write the 0/1 choice column left of '~'.")
    texts = _split_top(sides[1], "|")
    if len(texts) > 3:
        raise SpecificationError(
            f"formula {formula!r} has {len(texts)} parts; at most three are allowed "
            "('generic | situation-level | alternative-specific')."
        )
    termlists = []
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            raise SpecificationError(
                f"part {number} of formula {formula!r} is empty; write 0 for no variables "
                "(or 1 in part 2 for constants only)."
            )
        try:
            desc = patsy.ModelDesc.from_formula(text)
        except Exception as exc:  # patsy's parser raises several types on bad syntax
            raise SpecificationError(f"part {number} of formula {formula!r} cannot be parsed: {exc}") from None
        if desc.lhs_termlist:
            raise SpecificationError(f"part {number} of formula {formula!r} contains '~'.")
        termlists.append(list(desc.rhs_termlist))
    while len(termlists) < 3:
        termlists.append([patsy.INTERCEPT] if len(termlists) == 1 else [])
    first, second, third = termlists
    if patsy.INTERCEPT not in first and first:
        raise SpecificationError(
            f"'0'/'-1' in part 1 of {formula!r} has no effect: part 1 never has constants. "
            "Alternative-specific constants belong to part 2; drop them with 'choice ~ x | 0'."
        )
    names = [tuple(t.name() for t in terms if t != patsy.INTERCEPT) for terms in termlists]
    parts = FormulaParts(response, names[0], names[1], names[2], patsy.INTERCEPT in second)
    return parts, [[t for t in terms if t != patsy.INTERCEPT] for terms in termlists]


def parse_formula(formula: str) -> FormulaParts:
    """Parse a three-part choice formula.

    Parameters
    ----------
    formula : ``"response ~ part1 | part2 | part3"``; parts 2 and 3 may be omitted.

    Returns
    -------
    FormulaParts

    Raises
    ------
    SpecificationError
        For anything that is not a valid formula.

    Examples
    --------
    >>> parse_formula("choice ~ gc + ttme | hinc | invt")
    FormulaParts(response='choice', generic=('gc', 'ttme'), situation=('hinc',), specific=('invt',), intercept=True)
    """
    return _terms(formula)[0]


def _names_in(code: str) -> list[str]:
    """Data variables used by one patsy factor (names not called or dotted; Q("...") strings)."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return [code.strip()]
    skip: set[int] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            skip.add(id(node.func))
            if isinstance(node.func, ast.Name) and node.func.id == "Q" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                found.append(str(node.args[0].value))
        elif isinstance(node, ast.Attribute):
            skip.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in skip and node.id not in found:
            found.append(node.id)
    return found


def formula_variables(formula: str) -> tuple[str, ...]:
    """The DataFrame columns the explanatory part of ``formula`` uses.

    The response is not included. ``"choice ~ np.log(gc) + ttme | hinc | I(invt / 60)"``
    uses ``('gc', 'ttme', 'hinc', 'invt')``, in order of first appearance.
    """
    variables: list[str] = []
    for terms in _terms(formula)[1]:
        for term in terms:
            for factor in term.factors:
                for name in _names_in(factor.code):
                    if name not in variables:
                        variables.append(name)
    return tuple(variables)


_ENV = patsy.EvalEnvironment([{"np": np, "numpy": np}])
_NO_NA = patsy.NAAction(NA_types=[])


def _evaluate(terms: list, env_data: dict, frame: pd.DataFrame, row_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Columns of the patsy terms on the available rows: (n_rows, p) and their names."""
    if not terms:
        return np.zeros((len(frame), 0)), []
    try:
        with np.errstate(all="ignore"):  # non-finite results are reported below, by name
            matrix = patsy.dmatrix(patsy.ModelDesc([], [patsy.INTERCEPT] + terms), env_data,
                                   NA_action=_NO_NA, eval_env=_ENV, return_type="matrix")
    except patsy.PatsyError as exc:
        raise SpecificationError(f"a formula term cannot be evaluated: {exc}") from None
    info = matrix.design_info
    for factor, finfo in info.factor_infos.items():
        if finfo.type == "categorical" and not factor.code.startswith("C("):
            for name in _names_in(factor.code):
                if name in frame.columns:
                    _numeric(frame[name], name)  # raises naming the non-numeric value
    keep = [i for i, n in enumerate(info.column_names) if n != "Intercept"]
    values = np.asarray(matrix, dtype=np.float64)[:, keep]
    names = [info.column_names[i] for i in keep]
    for k, name in enumerate(names):
        check_finite(values[:, k], name, row_ids)
    return values, names


def _model_frame(frame: pd.DataFrame, variables: Sequence[str]) -> dict:
    """The used columns for patsy: numbers and booleans as float64, others as they are."""
    out = {}
    for name in variables:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            numbers = pd.to_numeric(column, errors="coerce")
            convertible = not (numbers.isna() & column.notna()).any()
            out[name] = numbers.to_numpy(dtype=np.float64, na_value=np.nan) if convertible else column
    return out


def _resolve_ref(ref: Hashable | None, alternatives: tuple) -> int:
    """Index of the reference alternative (default: first label in sorted order)."""
    if ref is None:
        try:
            return alternatives.index(sorted(alternatives)[0])
        except TypeError:
            return 0
    ref = _plain(ref)
    if ref not in alternatives:
        import difflib

        close = difflib.get_close_matches(str(ref), [str(a) for a in alternatives], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SpecificationError(f"ref={ref!r} is not among the alternatives {list(alternatives)}.{hint}")
    return alternatives.index(ref)


def design_from_formula(
    formula: str,
    data: pd.DataFrame,
    *,
    obs: str,
    alt: str,
    ref: Hashable | None = None,
    avail: str | None = None,
    weights: str | None = None,
    alternatives: Sequence[Hashable] | None = None,
    require_choice: bool = True,
    check_identified: bool | None = None,
) -> Design:
    """Build the design arrays of a three-part formula on long data.

    With :math:`a_{nj}` the availability and :math:`z` the row values of a term,

    .. math::
        X_{nj,\\text{gc}} = a_{nj}\\,\\text{gc}_{nj},\\quad
        X_{nj,\\text{hinc:}m} = a_{nj}\\,\\text{hinc}_{nj}\\,[j = m],\\quad
        X_{nj,\\text{(Intercept):}m} = a_{nj}\\,[j = m].

    Parameters
    ----------
    formula : e.g. ``"choice ~ gc + ttme | hinc | invt"``, see the module docstring.
    data : DataFrame, long format (one row per situation and alternative). Never modified.
    obs, alt : situation and alternative columns.
    ref : reference alternative (default: the first label in sorted order).
    avail, weights : optional availability (0/1) and per-situation weight columns.
    alternatives : fixes the alternatives and their order (e.g. the training alternatives
        when predicting on new data); default: the sorted labels of ``alt``.
    require_choice : if False the response column may be absent and ``chosen`` is -1.
    check_identified : run the identification checks (constant or collinear columns, a
        situation-level variable in part 1, more coefficients than situations); default:
        ``require_choice`` (estimation data yes, prediction data no).

    Returns
    -------
    Design with X of shape (N, J, K), rows of unavailable alternatives zero.

    Examples
    --------
    >>> from choicemodels.datasets import load_travel_mode
    >>> d = design_from_formula("choice ~ gc | hinc", load_travel_mode(), obs="individual",
    ...                         alt="mode", ref="car")
    >>> d.names
    ('gc', '(Intercept):air', '(Intercept):bus', '(Intercept):train', 'hinc:air', 'hinc:bus', 'hinc:train')
    """
    parts, termlists = _terms(formula)
    if not isinstance(data, pd.DataFrame):
        raise ChoiceDataError(f"data must be a pandas DataFrame in long format, got {type(data).__name__}.")
    variables = formula_variables(formula)
    check_columns(data, variables, f"formula {formula!r}", SpecificationError)
    cd = ChoiceData.from_long(data, obs=obs, alt=alt, choice=parts.response, avail=avail, weights=weights,
                              alternatives=alternatives, require_choice=require_choice)
    ref_index = _resolve_ref(ref, cd.alternatives)
    J = cd.n_alts
    env_data = _model_frame(cd.frame, variables)
    row_ids = cd.obs_ids[cd.row_obs]
    (m1, n1), (m2, n2), (m3, n3) = (_evaluate(t, env_data, cd.frame, row_ids) for t in termlists)

    onehot = (cd.row_alt[:, None] == np.arange(J)[None, :]).astype(np.float64)
    others = [j for j in range(J) if j != ref_index]
    labels = [str(a) for a in cd.alternatives]
    blocks, names = [m1], list(n1)
    if parts.intercept:
        blocks.append(onehot[:, others])
        names += [f"(Intercept):{labels[j]}" for j in others]
    blocks.append((m2[:, :, None] * onehot[:, None, others]).reshape(len(m2), -1))
    names += [f"{v}:{labels[j]}" for v in n2 for j in others]
    blocks.append((m3[:, :, None] * onehot[:, None, :]).reshape(len(m3), -1))
    names += [f"{v}:{labels[j]}" for v in n3 for j in range(J)]
    if not names:
        raise SpecificationError(f"formula {formula!r} has no coefficients to estimate.")
    X = cd.to_array(np.concatenate(blocks, axis=1))
    if require_choice if check_identified is None else check_identified:
        check_identification(X, cd.avail, names, generic=n1)
    return Design(X=X, chosen=cd.chosen, avail=cd.avail, weights=cd.weights, names=tuple(names),
                  alternatives=cd.alternatives, ref=ref_index, obs_ids=cd.obs_ids)
