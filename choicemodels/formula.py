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
``C(x)``, ``center(x)`` and interactions ``a:b`` work in every part. A formula is data,
not code: it is parsed once and every term is checked against the grammar of
:mod:`choicemodels.grammar` before anything is evaluated, and its terms are counted before
any column is built. The built :class:`~choicemodels.design.Design` carries its
:class:`~choicemodels.design.DesignState` (transform moments and factor levels learned on
its data), with which the same formula builds the same coding on other data.

Column order of the K coefficients:
part 1 in formula order; part 2 with all constants first, then each variable for every
non-reference alternative (``hinc:air, hinc:bus, hinc:train``); part 3 each variable for
every alternative. Alternatives are in sorted order unless given.

Shape vocabulary used throughout the package: N choice situations, J alternatives,
K coefficients, R simulation draws.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from patsy.parse_formula import parse_formula as _patsy_tree

from choicemodels.checks import (_numeric, _plain, _zero_one, check_columns, check_finite, check_identification,
                                 check_not_datetime)
from choicemodels.data import ChoiceData
from choicemodels.design import Design, DesignState, FactorState
from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.grammar import check_functions, check_term, term_names

__all__ = ["Design", "DesignState", "FormulaParts", "parse_formula", "formula_variables", "check_formula",
           "check_term_count", "design_from_formula", "formula_response", "learns_from_data", "learn_state"]


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


@dataclass(frozen=True)
class _Parsed:
    """A formula parsed once: the response, each part's parse tree, each part's checked terms.

    Nothing is expanded or evaluated: ``trees`` are patsy's parse trees (interactions and
    powers not yet multiplied out) and ``codes`` the Python code of each factor, every one
    checked against :mod:`choicemodels.grammar`.
    """

    formula: str
    response: str
    trees: tuple
    codes: tuple[tuple[str, ...], ...]
    variables: tuple[str, ...]
    functions: dict


def _parse(formula: str, functions: Mapping[str, object] | None = None) -> _Parsed:
    """Split, parse and check ``formula`` (see :class:`_Parsed`)."""
    if not isinstance(formula, str):
        raise SpecificationError(f"formula must be a string like 'choice ~ x | z | w', got {type(formula).__name__}.")
    functions = check_functions(functions)
    sides = _split_top(formula, "~")
    if len(sides) != 2:
        raise SpecificationError(
            f"formula {_show(formula)} must have exactly one '~' separating the choice column from "
            "the variables, e.g. 'choice ~ gc + ttme | hinc | invt'."
        )
    response = sides[0].strip()
    if not response:
        raise SpecificationError(f"formula {_show(formula)} has no response; write the 0/1 choice column left of '~'.")
    texts = _split_top(sides[1], "|")
    if len(texts) > 3:
        raise SpecificationError(
            f"formula {_show(formula)} has {len(texts)} parts; at most three are allowed "
            "('generic | situation-level | alternative-specific')."
        )
    trees, codes, variables = [], [], []
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            raise SpecificationError(
                f"part {number} of formula {_show(formula)} is empty; write 0 for no variables "
                "(or 1 in part 2 for constants only)."
            )
        try:
            tree = _balanced(_patsy_tree(text))
        except Exception as exc:  # patsy's parser raises several types on bad syntax
            raise SpecificationError(f"part {number} of formula {_show(formula)} cannot be parsed: {exc}") from None
        part_codes = []
        for node in _walk(tree):
            if node.type == "~" and (node is not tree or len(node.args) == 2):  # the root is a unary '~'
                raise SpecificationError(f"part {number} of formula {_show(formula)} contains '~'.")
            if node.type == "PYTHON_EXPR":
                code = patsy.EvalFactor(node.token.extra).code
                for name in term_names(check_term(code, functions)):
                    if name not in variables:
                        variables.append(name)
                part_codes.append(code)
        trees.append(tree)
        codes.append(tuple(part_codes))
    return _Parsed(formula, response, tuple(trees), tuple(codes), tuple(variables), functions)


def _show(formula: str, limit: int = 200) -> str:
    """The formula quoted for a message (a long one cut after ``limit`` characters)."""
    return repr(formula) if len(formula) <= limit else repr(formula[:limit]) + f" ... ({len(formula)} characters)"


def _balanced(node):
    """The parse tree with each chain of '+' as a balanced tree (the same terms, in order).

    patsy's parser makes ``a + b + c + ...`` a left-deep chain, which its evaluation walks
    recursively (about 1,000 terms exhaust Python's recursion limit); '+' is associative
    (ordered union of terms), so a balanced chain gives the same terms with depth log2(n).
    """
    from patsy.parse_formula import ParseNode

    def operands(n) -> list:
        out, stack = [], [n]
        while stack:
            m = stack.pop()
            if m.type == "+" and len(m.args) == 2:
                stack.extend(reversed(m.args))
            else:
                out.append(m)
        return out

    def build(items: list, origin):
        if len(items) == 1:
            return items[0]
        mid = len(items) // 2
        return ParseNode("+", None, [build(items[:mid], origin), build(items[mid:], origin)], origin)

    if node.type == "+" and len(node.args) == 2:
        items = [_balanced(m) for m in operands(node)]
        return build(items, node.origin)
    if not node.args:
        return node
    return ParseNode(node.type, node.token, [_balanced(a) for a in node.args], node.origin)


def _walk(node) -> list:
    """The nodes of a patsy parse tree, depth first, left to right."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.args))
    return out


def _terms(parsed: _Parsed) -> tuple[FormulaParts, list[list]]:
    """Expand the parse trees into :class:`FormulaParts` and the patsy terms of each part."""
    formula = parsed.formula
    termlists = []
    for number, tree in enumerate(parsed.trees, start=1):
        try:
            desc = patsy.ModelDesc.from_formula(tree)
        except Exception as exc:
            raise SpecificationError(f"part {number} of formula {_show(formula)} cannot be parsed: {exc}") from None
        termlists.append(list(desc.rhs_termlist))
    while len(termlists) < 3:
        termlists.append([patsy.INTERCEPT] if len(termlists) == 1 else [])
    first, second, third = termlists
    if patsy.INTERCEPT not in first and first:
        raise SpecificationError(
            f"'0'/'-1' in part 1 of {_show(formula)} has no effect: part 1 never has constants. "
            "Alternative-specific constants belong to part 2; drop them with 'choice ~ x | 0'."
        )
    names = [tuple(t.name() for t in terms if t != patsy.INTERCEPT) for terms in termlists]
    parts = FormulaParts(parsed.response, names[0], names[1], names[2], patsy.INTERCEPT in second)
    return parts, [[t for t in terms if t != patsy.INTERCEPT] for terms in termlists]


def parse_formula(formula: str, *, functions: Mapping[str, object] | None = None) -> FormulaParts:
    """Parse a three-part choice formula.

    Parameters
    ----------
    formula : ``"response ~ part1 | part2 | part3"``; parts 2 and 3 may be omitted.
    functions : extra functions the terms may call, by name (see :mod:`choicemodels.grammar`).

    Returns
    -------
    FormulaParts

    Raises
    ------
    SpecificationError
        For anything that is not a valid formula, including any term outside the grammar
        of :mod:`choicemodels.grammar` (nothing is evaluated).

    Examples
    --------
    >>> parse_formula("choice ~ gc + ttme | hinc | invt")
    FormulaParts(response='choice', generic=('gc', 'ttme'), situation=('hinc',), specific=('invt',), intercept=True)
    """
    return _terms(_parse(formula, functions))[0]


def formula_variables(formula: str, *, functions: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """The DataFrame columns the explanatory part of ``formula`` uses.

    The response is not included. ``"choice ~ np.log(gc) + ttme | hinc | I(invt / 60)"``
    uses ``('gc', 'ttme', 'hinc', 'invt')``, in order of first appearance. The formula is
    parsed and checked, not expanded or evaluated.
    """
    return _parse(formula, functions).variables


def formula_response(formula: str, *, functions: Mapping[str, object] | None = None) -> str:
    """The response (choice column) of ``formula``, left of ``~``; the formula is checked
    (as in :func:`parse_formula`), not expanded or evaluated.

    Examples
    --------
    >>> formula_response("choice ~ gc + ttme | hinc")
    'choice'
    """
    return _parse(formula, functions).response


def check_formula(formula: str) -> None:
    """Check a formula in the strict grammar, without data and without evaluating anything.

    Strict: only the functions of :data:`choicemodels.grammar.ALLOWED_FUNCTIONS` are
    allowed, never user functions. This is the check for every formula that does not come
    from the user's own Python code: the command line, and a formula read from a results
    file (check it when the file is loaded, so that a tampered file fails there, naming the
    file, and not at a later prediction).

    Raises
    ------
    SpecificationError
        Naming the term outside the grammar, or the syntax error.

    Examples
    --------
    >>> check_formula("choice ~ np.log(gc) + ttme | center(hinc) | I(invt / 60)")
    >>> check_formula("choice ~ gc + I(__import__('os').getpid())")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    choicemodels.exceptions.SpecificationError: formula term "I(__import__('os').getpid())": a call to ...
    """
    _parse(formula, None)


# ---- counting terms before anything is evaluated ------------------------------------------
_MAX_TERMS = 1_000_000


class _TooMany(Exception):
    pass


def _count_terms(tree, limit: int) -> int:
    """A lower bound on the columns of one part, from its parse tree (nothing evaluated).

    Each term (a set of factors, as patsy expands ``a*b``, ``a/b``, ``(a+b)**p``) whose
    factors are all outside ``C(...)`` gives at least one column. Raises :class:`_TooMany`
    as soon as the count passes ``limit`` while no later subtraction can lower it.
    """
    index: dict[str, int] = {}
    monotone = not any(n.type == "-" and len(n.args) == 2 and any(a.type == "PYTHON_EXPR" for a in _walk(n.args[1]))
                       for n in _walk(tree))

    def guard(terms: set) -> set:
        if len(terms) > _MAX_TERMS or (monotone and len(terms) > limit):
            raise _TooMany
        return terms

    def expand(node) -> set:
        kind, args = node.type, node.args
        if kind == "PYTHON_EXPR":
            return {1 << index.setdefault(patsy.EvalFactor(node.token.extra).code, len(index))}
        if kind in ("ZERO", "ONE", "NUMBER") or len(args) == 1:  # constants, unary +/-
            return set() if kind in ("ZERO", "ONE", "NUMBER", "-") else expand(args[0])
        left, right = expand(args[0]), (expand(args[1]) if kind != "**" else None)
        if kind == "+":
            return guard(left | right)
        if kind == "-":
            return left - right
        if kind == ":":
            return guard({a | b for a in left for b in right})
        if kind == "*":
            return guard(left | right | {a | b for a in left for b in right})
        if kind == "/":
            whole = 0
            for a in left:
                whole |= a
            return guard(left | {whole | b for b in right})
        if kind == "**":
            try:
                power = int(args[1].token.extra)
            except (AttributeError, TypeError, ValueError):
                return left  # patsy's expansion reports the bad power
            result, step = set(left), set(left)
            for _ in range(max(power - 1, 0)):
                step = guard({a | b for a in left for b in step})
                if step <= result:
                    break
                result = guard(result | step)
            return result
        return set()

    terms = expand(tree)
    categorical = 0
    for code, i in index.items():
        if code.startswith("C("):
            categorical |= 1 << i
    return sum(1 for t in terms if t and not t & categorical)


def _too_many(N: int, K: str, how: str) -> SpecificationError:
    return SpecificationError(
        f"the model has more coefficients (K{K}) than choice situations (N={N}){how}; use more "
        "data or fewer variables (a power (a + b + ...)**p multiplies out into every interaction "
        "up to order p)."
    )


def _check_term_count(parsed: _Parsed, N: int, J: int) -> None:
    """Raise before the terms are multiplied out if a part surely has more columns than N."""
    for tree, m in zip(parsed.trees, (1, J - 1, J)):
        try:
            _count_terms(tree, N // max(m, 1))
        except _TooMany:
            raise _too_many(N, " > N", ", counted from the formula's terms before evaluating any column") from None


def _check_columns_count(parts: FormulaParts, termlists: list, N: int, J: int) -> None:
    """Raise before any column is evaluated if the terms give more columns than N.

    Each term without a ``C(...)`` factor gives at least one column (exactly one when all
    its factors are numeric), so the count is exact for formulas without categoricals.
    """
    counts = [sum(1 for t in terms if not any(f.code.startswith("C(") for f in t.factors)) for terms in termlists]
    exact = all(len(terms) == c for terms, c in zip(termlists, counts))
    K = counts[0] + (J - 1) * (parts.intercept + counts[1]) + J * counts[2]
    if K > N:
        raise _too_many(N, f"={K}" if exact else f" >= {K}", "")


def check_term_count(formula: str, n_obs: int, n_alts: int, *,
                     functions: Mapping[str, object] | None = None) -> None:
    """Raise if ``formula`` surely has more coefficients than ``n_obs`` situations.

    For a backend that learns N and J before building any design (Dask): the terms are
    counted on the parse tree (nothing evaluated, and a power is not multiplied out once
    the count passes N), then exactly for formulas without ``C(...)``:
    :math:`K = K_1 + (J - 1)(c + K_2) + J K_3` with :math:`c` the constants.

    Examples
    --------
    >>> check_term_count("choice ~ gc + ttme | hinc", 8, 4)  # K = 2 + 3 * (1 + 1) = 8
    >>> check_term_count("choice ~ gc + ttme | hinc", 7, 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    choicemodels.exceptions.SpecificationError: the model has more coefficients (K=8) than choice situations (N=7); ...
    """
    parsed = _parse(formula, functions)
    _check_term_count(parsed, n_obs, n_alts)
    parts, termlists = _terms(parsed)
    _check_columns_count(parts, termlists, n_obs, n_alts)


# ---- evaluating the terms -----------------------------------------------------------------
_NO_NA = patsy.NAAction(NA_types=[])


def _environment(functions: dict) -> patsy.EvalEnvironment:
    return patsy.EvalEnvironment([{"np": np, "numpy": np, **functions}])


def _column_of(code: str) -> str | None:
    """The column a bare factor (``x``, ``C(x, ...)``, ``Q("x")``, ``C(Q("x"), ...)``) stands for."""
    tree = ast.parse(code, mode="eval").body
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "C":
        tree = tree.args[0]
    if isinstance(tree, ast.Name):
        return tree.id
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Q":
        return tree.args[0].value
    return None


def _with_levels(code: str, levels: tuple) -> str:
    """The factor ``code`` as a categorical with the fit's ``levels`` fixed."""
    tree = ast.parse(code, mode="eval").body
    listed = ast.List([ast.Constant(level) for level in levels], ast.Load())
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "C":
        tree.keywords = [k for k in tree.keywords if k.arg != "levels"] + [ast.keyword("levels", listed)]
    else:
        tree = ast.Call(ast.Name("C", ast.Load()), [tree], [ast.keyword("levels", listed)])
    return ast.unparse(ast.fix_missing_locations(tree))


# numpy >= 2 writes a level as "np.float64(2.0)"; the names show it as "2.0", as numpy 1 did
_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|bool|str_|complex)\w*\((.*?)\)(?=\])")


def _state_of(info) -> tuple[tuple[FactorState, ...], tuple[str, ...]]:
    """The factor states and column names (without the intercept) of a patsy DesignInfo."""
    factors = []
    for factor, finfo in info.factor_infos.items():
        transforms = {name: dict(vars(obj)) for name, obj in finfo.state.get("transforms", {}).items()}
        levels = tuple(_plain(level) for level in finfo.categories) if finfo.type == "categorical" else ()
        factors.append(FactorState(factor.code, finfo.type, levels, transforms))
    return tuple(factors), tuple(_NUMPY_REPR.sub(r"\1", n) for n in info.column_names if n != "Intercept")


def _check_levels(finfo: FactorState, env_data: dict) -> None:
    """A level of a bare categorical column that the fit never saw raises naming both."""
    column = _column_of(finfo.code)
    if column is None or column not in env_data:
        return
    values = pd.unique(pd.Series(np.asarray(env_data[column], dtype=object)))
    unseen = [_plain(v) for v in values if _plain(v) not in set(finfo.levels)]
    if unseen:
        raise ChoiceDataError(
            f"column {column!r} (term {finfo.code!r}) holds the level {unseen[0]!r}"
            f"{f' (and {len(unseen) - 1} more)' if len(unseen) > 1 else ''}, which the fit data never had; "
            f"the model knows only {list(finfo.levels)}. Drop those rows or refit with them."
        )


def _builder(terms: list, env_data: dict, env, state: tuple | None):
    """patsy's DesignInfo of one part: learned from ``env_data``, or with the fitted ``state``."""
    if state is None:
        return patsy.design_matrix_builders([[patsy.INTERCEPT] + terms], lambda: iter([env_data]), env, _NO_NA)[0]
    fitted = {f.code: f for f in state}
    replace = {}
    for term in terms:
        for factor in term.factors:
            finfo = fitted.get(factor.code)
            if finfo is None:
                raise SpecificationError(
                    f"the stored design state has no factor {factor.code!r}; it belongs to another formula."
                )
            if finfo.kind == "categorical":
                _check_levels(finfo, env_data)
                replace[factor] = patsy.EvalFactor(_with_levels(factor.code, finfo.levels))
    terms = [patsy.Term([replace.get(f, f) for f in t.factors]) for t in terms]
    info = patsy.design_matrix_builders([[patsy.INTERCEPT] + terms], lambda: iter([env_data]), env, _NO_NA)[0]
    original = {v: k for k, v in replace.items()}
    for factor, finfo in info.factor_infos.items():
        stored = fitted[original.get(factor, factor).code]
        if finfo.type != stored.kind:
            raise ChoiceDataError(
                f"term {stored.code!r} was {stored.kind} in the fit data but is {finfo.type} here; "
                "give the column the fit's type."
            )
        for name, obj in finfo.state.get("transforms", {}).items():
            if name not in (stored.transforms or {}):
                raise SpecificationError(f"the stored design state lacks transform {name!r} of {stored.code!r}.")
            unknown = sorted(set(stored.transforms[name]) ^ set(vars(obj)))
            if unknown:
                raise SpecificationError(
                    f"the stored design state of {stored.code!r} has the wrong attributes {unknown}."
                )
            obj.__dict__.update(stored.transforms[name])
    return info


def _evaluate(terms: list, env_data: dict, frame: pd.DataFrame, row_ids: np.ndarray, env,
              state: tuple | None) -> tuple[np.ndarray, list[str], tuple]:
    """Columns of the patsy terms on the available rows: (n_rows, p), names and the state."""
    if not terms:
        return np.zeros((len(frame), 0)), [], ((), ())
    try:
        with np.errstate(all="ignore"):  # non-finite results are reported below, by name
            info = _builder(terms, env_data, env, None if state is None else state[0])
            matrix = patsy.build_design_matrices([info], env_data, NA_action=_NO_NA, return_type="matrix")[0]
    except patsy.PatsyError as exc:
        raise SpecificationError(f"a formula term cannot be evaluated: {exc}") from None
    for factor, finfo in info.factor_infos.items():
        if finfo.type == "categorical" and not factor.code.startswith("C("):
            for name in term_names(check_term(factor.code)):
                if name in frame.columns:
                    _numeric(frame[name], name)  # raises naming the non-numeric value
    keep = [i for i, n in enumerate(info.column_names) if n != "Intercept"]
    values = np.asarray(matrix, dtype=np.float64)[:, keep]
    if state is None:
        state = _state_of(info)
        names = list(state[1])
    else:
        names = list(state[1])
        if len(names) != len(keep):
            raise SpecificationError(
                f"the stored design state has {len(names)} columns but the formula gives {len(keep)} here."
            )
    for k, name in enumerate(names):
        check_finite(values[:, k], name, row_ids)
    return values, names, state


_LEARNING = frozenset({"C", "center", "standardize", "scale"})


def learns_from_data(formula: str, *, functions: Mapping[str, object] | None = None) -> bool:
    """Whether the columns of ``formula`` depend on the data beyond each row's own values.

    True if a term calls ``center``, ``standardize``, ``scale``, ``C`` or a user function
    (which may be a stateful transform): then a design built on part of the data (a Dask
    partition, new data) needs the state of the whole fit data (:func:`learn_state`).

    Examples
    --------
    >>> learns_from_data("choice ~ np.log(gc) | I(hinc / 10)"), learns_from_data("choice ~ gc | center(hinc)")
    (False, True)
    """
    parsed = _parse(formula, functions)
    learning = _LEARNING | set(parsed.functions)
    for codes in parsed.codes:
        for code in codes:
            for node in ast.walk(ast.parse(code, mode="eval")):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in learning:
                    return True
    return False


def learn_state(
    formula: str,
    chunks: Callable[[], Iterable[pd.DataFrame]],
    *,
    avail: str | None = None,
    functions: Mapping[str, object] | None = None,
) -> DesignState:
    """The design state of ``formula`` learned over data that arrive in chunks.

    For data split into blocks (Dask partitions): the transforms (``center``,
    ``standardize``, ``scale``) accumulate their moments over all chunks and ``C(x)``
    collects the levels of all chunks, so that the designs of the chunks built with
    ``design_from_formula(..., state=learn_state(...))`` are the rows of the design of the
    whole data. Only the available rows count, as in :func:`design_from_formula`.

    Parameters
    ----------
    formula : the three-part formula.
    chunks : called once per pass over the data (patsy makes up to three), it returns an
        iterable of long DataFrames holding the formula's columns (and ``avail``).
    avail : the 0/1 availability column, if any.
    functions : extra functions the terms may call, as in :func:`design_from_formula`.

    Returns
    -------
    DesignState
    """
    parsed = _parse(formula, functions)
    _, termlists = _terms(parsed)

    def available():
        for frame in chunks():
            if len(frame) == 0:
                continue
            check_columns(frame, parsed.variables, f"formula {_show(formula)}", SpecificationError)
            if avail is not None:
                frame = frame.loc[_zero_one(frame[avail], avail, "availability")]
            yield frame

    # a text column reads as numbers only if it does in every chunk, as on the whole data
    text = frozenset(name for frame in available() for name in parsed.variables
                     if not _model_frame(frame, (name,))[name].dtype == np.float64)

    def frames():
        for frame in available():
            yield _model_frame(frame, parsed.variables, text)

    env = _environment(parsed.functions)
    learned = []
    for terms in termlists:
        if not terms:
            learned.append(((), ()))
            continue
        try:
            with np.errstate(all="ignore"):
                info = patsy.design_matrix_builders([[patsy.INTERCEPT] + terms], frames, env, _NO_NA)[0]
        except patsy.PatsyError as exc:
            raise SpecificationError(f"a formula term cannot be evaluated: {exc}") from None
        learned.append(_state_of(info))
    return DesignState(tuple(f for f, _ in learned), tuple(c for _, c in learned))


def _text_columns(state: DesignState | None) -> frozenset:
    """The columns whose fitted levels are text: kept as text on other data, even where
    those data's values all read as numbers (a subset holding only the levels "1" and "2")."""
    if state is None:
        return frozenset()
    return frozenset(_column_of(f.code) for part in state.parts for f in part
                     if f.kind == "categorical" and any(isinstance(v, str) for v in f.levels))


def _model_frame(frame: pd.DataFrame, variables: Sequence[str], text: frozenset = frozenset()) -> dict:
    """The used columns for patsy: numbers and booleans as float64, others as they are
    (text that reads as numbers as float64, unless the column is in ``text``)."""
    out = {}
    for name in variables:
        column = frame[name]
        check_not_datetime(column, name)
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        elif name in text:
            out[name] = column
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
    functions: Mapping[str, object] | None = None,
    state: DesignState | Mapping | None = None,
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
    functions : extra functions the formula's terms may call, by name, e.g.
        ``{"log1p": np.log1p}``; by default only those of
        :data:`choicemodels.grammar.ALLOWED_FUNCTIONS`. Every term is checked against that
        grammar before any is evaluated (a formula is data, not code).
    state : the :attr:`Design.state` of a fitted design (or its ``to_dict()`` form): the
        transforms (``center``, ``standardize``, ``scale``) and factor levels (``C(x)``) are
        those learned on the fit data instead of ``data``'s, so the columns mean the same; a
        level the fit never saw raises.

    Returns
    -------
    Design with X of shape (N, J, K), rows of unavailable alternatives zero, and the
    ``state`` it was built with (or learned).

    Raises
    ------
    SpecificationError
        For a term outside the formula grammar, unknown columns, or (with the
        identification checks) a formula that surely has more coefficients than situations,
        all before any column is evaluated.
    ChoiceDataError
        For bad data (see :class:`~choicemodels.data.ChoiceData`), datetime columns, or a
        categorical level the fitted ``state`` does not know.

    Examples
    --------
    >>> from choicemodels.datasets import load_travel_mode
    >>> d = design_from_formula("choice ~ gc | hinc", load_travel_mode(), obs="individual",
    ...                         alt="mode", ref="car")
    >>> d.names
    ('gc', '(Intercept):air', '(Intercept):bus', '(Intercept):train', 'hinc:air', 'hinc:bus', 'hinc:train')
    """
    parsed = _parse(formula, functions)
    if isinstance(state, Mapping):
        state = DesignState.from_dict(state)
    elif state is not None and not isinstance(state, DesignState):
        raise SpecificationError(f"state= must be a Design's state (DesignState or dict), got {type(state).__name__}.")
    if not isinstance(data, pd.DataFrame):
        raise ChoiceDataError(f"data must be a pandas DataFrame in long format, got {type(data).__name__}.")
    variables = parsed.variables
    check_columns(data, variables, f"formula {_show(formula)}", SpecificationError)
    cd = ChoiceData.from_long(data, obs=obs, alt=alt, choice=parsed.response, avail=avail, weights=weights,
                              alternatives=alternatives, require_choice=require_choice)
    identify = require_choice if check_identified is None else check_identified
    if identify:
        _check_term_count(parsed, cd.n_obs, cd.n_alts)
    parts, termlists = _terms(parsed)
    if identify:
        _check_columns_count(parts, termlists, cd.n_obs, cd.n_alts)
    ref_index = _resolve_ref(ref, cd.alternatives)
    J = cd.n_alts
    env_data = _model_frame(cd.frame, variables, _text_columns(state))
    env = _environment(parsed.functions)
    row_ids = cd.obs_ids[cd.row_obs]
    stored = [None] * 3 if state is None else list(zip(state.parts, state.columns))
    (m1, n1, s1), (m2, n2, s2), (m3, n3, s3) = (
        _evaluate(t, env_data, cd.frame, row_ids, env, st) for t, st in zip(termlists, stored))
    state = DesignState((s1[0], s2[0], s3[0]), (s1[1], s2[1], s3[1])) if state is None else state

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
        raise SpecificationError(f"formula {_show(formula)} has no coefficients to estimate.")
    X = cd.to_array(np.concatenate(blocks, axis=1))
    if identify:
        check_identification(X, cd.avail, names, generic=n1)
    return Design(X=X, chosen=cd.chosen, avail=cd.avail, weights=cd.weights, names=tuple(names),
                  alternatives=cd.alternatives, ref=ref_index, obs_ids=cd.obs_ids, state=state)
