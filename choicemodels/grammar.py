"""The grammar of a formula term: what a term may contain, checked before anything runs.

A formula is data, not code. Each term of a formula (``np.log(gc)``, ``I(hinc / 10)``,
``C(size)``) is parsed with :mod:`ast` and accepted only if it is built from

- column names (``gc``; a name that is not an identifier is written ``Q("my col")``),
- numbers and, where a comparison or a level needs them, strings (``I(mode == "air")``),
- the arithmetic operators ``+ - * / // % **``, the bitwise ``& | ^ ~`` and comparisons
  (a power without a column has a base without a power and a number exponent in
  [-100, 100], so no constant can grow without bound),
- calls to the allowed functions :data:`ALLOWED_FUNCTIONS` (``I``, ``C``, ``Q``,
  ``np.log``, ``np.exp``, ``np.sqrt``, ``np.abs``, ``center``, ``standardize``,
  ``scale``) and to the functions a Python caller passes explicitly by name; ``C`` may
  take a reference level, ``C(x, Treatment("b"))``, and its ``levels=[...]``.

Everything else (attribute access, subscripts, lambdas, comprehensions, f-strings,
assignment expressions, calls to any other function) raises a
:class:`~choicemodels.SpecificationError` naming the term, before any term is evaluated.
Interactions (``a:b``, ``a*b``) and powers of terms (``(a + b)**2``) belong to the formula
level around the terms and are not Python code.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Mapping

from choicemodels.exceptions import SpecificationError

__all__ = ["ALLOWED_FUNCTIONS", "check_term", "check_functions", "term_names"]

#: The functions a formula may call without being given any (``numpy.`` spellings too).
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    {"I", "C", "Q", "center", "standardize", "scale"}
    | {f"{module}.{f}" for module in ("np", "numpy") for f in ("log", "exp", "sqrt", "abs")}
)

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
           ast.BitAnd, ast.BitOr, ast.BitXor)
_UNARY = (ast.UAdd, ast.USub, ast.Invert)
_MAX_CONSTANT_POWER = 100


def check_functions(functions: Mapping[str, object] | None) -> dict[str, object]:
    """Validate the user's extra formula functions: identifiers mapped to callables."""
    if functions is None:
        return {}
    if not isinstance(functions, Mapping):
        raise SpecificationError(
            f"functions= must be a dict of name -> function, e.g. {{'log1p': np.log1p}}; "
            f"got {type(functions).__name__}."
        )
    for name, f in functions.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                or name.startswith("__"):
            raise SpecificationError(
                f"functions= key {name!r} is not a plain name; use identifiers like 'log1p'."
            )
        if not callable(f):
            raise SpecificationError(f"functions={{{name!r}: ...}} is not callable ({type(f).__name__}).")
    return dict(functions)


def _dotted(node: ast.expr) -> str | None:
    """``np.log`` -> "np.log", ``f`` -> "f"; anything else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _has_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _number(node: ast.AST) -> float | None:
    """The value of a plain (possibly signed) number constant, else None."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        return sign * node.value
    return None


class _Checker:
    """Walks one term's syntax tree; raises on the first construct outside the grammar."""

    def __init__(self, term: str, allowed: frozenset[str]):
        self.term = term
        self.allowed = allowed

    def fail(self, what: str, fix: str = "") -> None:
        raise SpecificationError(
            f"formula term {self.term!r}: {what} is not allowed in a formula (a formula is data, "
            f"not code: column names, numbers, arithmetic and comparisons, and calls to "
            f"{sorted(n for n in self.allowed if not n.startswith('numpy.'))}).{' ' + fix if fix else ''}"
        )

    def visit(self, node: ast.AST, strings: bool = False) -> None:
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                self.fail(f"the name {node.id!r}")
            return
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) in (int, float, bool) or (strings and isinstance(value, str)):
                return
            kind = "a string" if isinstance(value, str) else f"the constant {value!r}"
            self.fail(f"{kind} outside a comparison or Q()")
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINARY):
                self.fail(f"the operator {type(node.op).__name__}")
            if isinstance(node.op, ast.Pow) and not (_has_name(node.left) or _has_name(node.right)):
                exponent = _number(node.right)
                nested = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node.left))
                if nested or exponent is None or abs(exponent) > _MAX_CONSTANT_POWER:
                    self.fail("a power of constants other than (constants without a power) ** (a number "
                              "in [-100, 100])")
            self.visit(node.left)
            self.visit(node.right)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                self.fail(f"the operator {type(node.op).__name__}")
            self.visit(node.operand)
            return
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                self.visit(operand, strings=True)
            if any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in node.ops):
                self.fail("'is' / 'in'", "Compare with == or !=.")
            return
        if isinstance(node, ast.Call):
            self.visit_call(node)
            return
        if isinstance(node, ast.Tuple):
            self.fail("a comma", "Separate terms with '+', e.g. 'gc + ttme'.")
        if isinstance(node, ast.Subscript):
            self.fail(f"indexing ({ast.unparse(node)})", "A formula names whole columns, e.g. "
                      f"{ast.unparse(node.value)!r}; select rows in the DataFrame instead.")
        if isinstance(node, ast.Attribute):
            self.fail(f"attribute access ({ast.unparse(node)})")
        names = {ast.Lambda: "a lambda", ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment (:=)",
                 ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
                 ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
                 ast.BoolOp: "'and' / 'or'", ast.IfExp: "'if ... else'", ast.Starred: "'*' unpacking"}
        self.fail(names.get(type(node), f"a {type(node).__name__} expression"))

    def visit_call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name is None or name not in self.allowed:
            shown = name if name is not None else ast.unparse(node.func)
            self.fail(f"a call to {shown!r}", "Pass your own functions to the model with functions={...} "
                      "in Python, or compute the column in the DataFrame.")
        if name == "Q":
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant) \
                    or not isinstance(node.args[0].value, str):
                self.fail("Q() with anything but one column name in quotes", "Write Q(\"my column\").")
            if node.args[0].value.startswith("__"):
                self.fail(f"the name {node.args[0].value!r}")
            return
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                self.fail("'*' unpacking")
            if name == "C" and i == 1 and isinstance(arg, ast.Call) and _dotted(arg.func) == "Treatment":
                self.visit_treatment(arg)
                continue
            self.visit(arg)
        for kw in node.keywords:
            if kw.arg is None:
                self.fail("'**' unpacking")
            if name == "C" and kw.arg == "contrast" and isinstance(kw.value, ast.Call) \
                    and _dotted(kw.value.func) == "Treatment":
                self.visit_treatment(kw.value)
                continue
            if name == "C" and kw.arg == "levels" and isinstance(kw.value, (ast.List, ast.Tuple)):
                for element in kw.value.elts:
                    self.visit(element, strings=True)
                continue
            self.visit(kw.value)


    def visit_treatment(self, node: ast.Call) -> None:
        """``Treatment(reference)`` as the contrast of ``C(x, ...)``: one constant level."""
        values = list(node.args) + [kw.value for kw in node.keywords]
        if len(values) != 1 or any(kw.arg != "reference" for kw in node.keywords) \
                or not isinstance(values[0], ast.Constant) or type(values[0].value) not in (str, int, float, bool):
            self.fail(f"the contrast {ast.unparse(node)!r}", "Write C(x, Treatment('level')).")


def check_term(term: str, functions: Mapping[str, object] | None = None) -> ast.Expression:
    """Parse one formula term and check it against the grammar; nothing is evaluated.

    Parameters
    ----------
    term : the Python code of one factor, e.g. ``"np.log(gc)"``.
    functions : extra callable names allowed besides :data:`ALLOWED_FUNCTIONS`.

    Returns
    -------
    ast.Expression
        The parsed term.

    Raises
    ------
    SpecificationError
        Naming the term and the construct outside the grammar.

    Examples
    --------
    >>> check_term("I(hinc / 10) + np.log(gc)").body.__class__.__name__
    'BinOp'
    >>> check_term("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    choicemodels.exceptions.SpecificationError: formula term "__import__('os')": a call to '__import__' is ...
    """
    text = term.strip()
    if keyword.iskeyword(text):
        raise SpecificationError(
            f"formula term {text!r} is a Python keyword; write the column as Q({text!r})."
        )
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        words = [w for w in text.replace("(", " ").replace(")", " ").split() if keyword.iskeyword(w)]
        hint = f" A column named like the keyword {words[0]!r} is written Q({words[0]!r})." if words else ""
        raise SpecificationError(f"formula term {text!r} is not a valid expression ({exc}).{hint}") from None
    allowed = ALLOWED_FUNCTIONS | frozenset(functions or ())
    try:
        _Checker(text, allowed).visit(tree.body)
    except RecursionError:
        raise SpecificationError(f"formula term {text[:60]!r}... is nested too deeply.") from None
    return tree


def term_names(tree: ast.Expression) -> list[str]:
    """The data columns one checked term uses: names not called, and ``Q("...")`` strings."""
    skip: set[int] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            skip.update(id(n) for n in ast.walk(node.func))
            if _dotted(node.func) == "Q":
                found.append(node.args[0].value)
        elif isinstance(node, ast.keyword) and node.arg == "levels":
            skip.update(id(n) for n in ast.walk(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in skip and node.id not in found:
            found.append(node.id)
    return found
