"""A formula is data, not code: every term is checked on its syntax tree before anything runs.

The payloads below would run a shell command, open a file or reach Python's internals if a
term were evaluated; each must raise a SpecificationError naming the term, and leave no
file behind. A property test builds random terms outside the grammar and checks that none
of them reaches patsy's evaluation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choicemodels.cli import main
from choicemodels.datasets import load_travel_mode
from choicemodels.exceptions import SpecificationError
from choicemodels.formula import check_formula, design_from_formula, formula_variables, parse_formula
from choicemodels.grammar import ALLOWED_FUNCTIONS, check_term

ROLES = dict(obs="individual", alt="mode", ref="car")


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    return load_travel_mode()


@pytest.fixture
def no_evaluation(monkeypatch):
    """Any evaluation of a term by patsy fails the test (not a SpecificationError)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a formula term was evaluated")

    monkeypatch.setattr(patsy.EvalEnvironment, "eval", refuse)
    monkeypatch.setattr(patsy.EvalFactor, "eval", refuse)


PAYLOADS = [
    ("choice ~ gc + I(ttme + 0*__import__('os').system('touch pwned')) | hinc", "__import__"),
    ("choice ~ gc + I(eval(\"__import__('os').system('touch pwned')\"))", "eval"),
    ("choice ~ gc + I(exec(\"open('pwned', 'w')\"))", "exec"),
    ("choice ~ gc + I(open('pwned', 'w').close() or 0)", "open"),
    ("choice ~ gc | I(hinc.__class__.__mro__[1].__subclasses__())", "__subclasses__"),
    ("choice ~ gc | I(hinc + hinc.__class__)", "attribute access"),
    ("choice ~ gc + I((lambda: __import__('os').system('touch pwned'))())", "lambda"),
    ("choice ~ gc + I([open('pwned', 'w') for _ in range(1)])", "comprehension"),
    ("choice ~ gc + I(gc[0])", "indexing"),
    ("choice ~ gc + I(f'{open(\"pwned\", \"w\")}')", "f-string"),
    ("choice ~ gc + I((pwned := gc))", "assignment"),
    ("choice ~ gc + np.loadtxt('pwned')", "np.loadtxt"),
    ("choice ~ gc + numpy.save('pwned', gc)", "numpy.save"),
    ("choice ~ gc + Q('__builtins__')", "Q"),
    ("choice ~ gc + getattr(gc, 'sum')()", "getattr"),
    ("choice ~ gc + I(10 ** 10 ** 10)", "power of constants"),
    ("choice ~ gc + I('x' * 10 ** 9)", "string"),
]


@pytest.mark.parametrize("formula, culprit", PAYLOADS)
def test_payload_raises_before_evaluation_and_leaves_no_file(formula, culprit, travel, tmp_path,
                                                              monkeypatch, no_evaluation):
    monkeypatch.chdir(tmp_path)
    for call in (lambda: design_from_formula(formula, travel, **ROLES), lambda: check_formula(formula),
                 lambda: parse_formula(formula), lambda: formula_variables(formula)):
        with pytest.raises(SpecificationError, match=r"formula term .*not allowed in a formula") as err:
            call()
        assert culprit in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["fit", "compare"])
def test_command_line_payload_exits_2_and_runs_nothing(command, capsys, tmp_path, monkeypatch, no_evaluation):
    monkeypatch.chdir(tmp_path)
    code = main([command, "--dataset", "travel_mode", "--formula",
                 "choice ~ gc + I(ttme + 0*__import__('os').system('touch pwned')) | hinc"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "__import__" in err and "not allowed in a formula" in err
    assert list(tmp_path.iterdir()) == []


def test_functions_extend_the_grammar_in_python_only(travel):
    formula = "choice ~ gc + log1p(ttme) | hinc"
    with pytest.raises(SpecificationError, match=r"a call to 'log1p' is not allowed.*functions="):
        design_from_formula(formula, travel, **ROLES)
    d = design_from_formula(formula, travel, functions={"log1p": np.log1p}, **ROLES)
    k = d.names.index("log1p(ttme)")
    first = travel[travel.individual == 1].set_index("mode").loc[["air", "bus", "car", "train"], "ttme"]
    np.testing.assert_allclose(d.X[0, :, k], np.log1p(first.to_numpy()), rtol=1e-15)
    for bad in ({"__import__": __import__}, {"os.system": print}, {"f": 3}):
        with pytest.raises(SpecificationError, match="functions="):
            design_from_formula(formula, travel, functions=bad, **ROLES)


def test_a_reference_level_for_c(travel):
    data = travel.assign(size=travel["psize"].map({1: "one", 2: "two"}).fillna("more"))
    d = design_from_formula("choice ~ gc | C(size, Treatment('two'))", data, **ROLES)
    assert [n for n in d.names if n.endswith(":air")] == [
        "(Intercept):air", "C(size, Treatment('two'))[T.more]:air", "C(size, Treatment('two'))[T.one]:air"]
    for bad in ("C(size, Treatment(__import__('os')))", "C(size, Treatment('a', 'b'))", "Treatment('two')",
                "C(size, Sum())"):
        with pytest.raises(SpecificationError, match="not allowed in a formula"):
            check_term(bad)


def test_everything_the_grammar_allows_still_works(travel):
    data = travel.assign(size=travel["psize"].map({1: "one", 2: "two"}).fillna("more"),
                         **{"my col": travel["gc"]})
    formula = ("choice ~ np.log(gc) + np.sqrt(ttme) + np.abs(-gc) + I(gc ** 2 / 1000) + I(ttme > 30) "
               "+ Q('my col'):ttme | center(hinc) + standardize(psize) + C(size) | scale(invt) + np.exp(-invt / 1000)")
    check_formula(formula)
    d = design_from_formula(formula, data, **ROLES)
    assert d.n_params == 6 + 3 + 3 * 4 + 4 * 2  # generic, constants, 4 columns x 3, 2 x 4
    air = d.X[:, 0, :]  # air is available in every situation, in situation order 1..210
    hinc = travel.groupby("individual")["hinc"].first().to_numpy()
    np.testing.assert_allclose(air[:, d.names.index("center(hinc):air")], hinc - travel["hinc"].mean(), rtol=1e-12)
    gc_air = travel[travel["mode"] == "air"]["gc"].to_numpy()
    np.testing.assert_allclose(air[:, d.names.index("I(gc ** 2 / 1000)")], gc_air**2 / 1000, rtol=1e-15)


# ---- the property: any term outside the grammar raises before evaluation ----------------------
_column = st.sampled_from(["gc", "ttme", "hinc"])
_allowed_call = st.sampled_from(["I", "np.log", "np.exp", "np.sqrt", "np.abs", "center", "scale"])
_identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)


@st.composite
def _forbidden(draw) -> str:
    """A Python expression that holds one construct outside the grammar, somewhere inside."""
    x = draw(_column)
    name = draw(_identifier.filter(lambda n: n not in ALLOWED_FUNCTIONS and n not in ("np", "numpy")))
    attr = draw(_identifier)
    core = draw(st.sampled_from([
        f"{x}.{attr}", f"{x}[{draw(st.integers(-3, 3))}]", f"{x}[:]", f"{name}({x})", f"np.{attr}_({x})",
        f"(lambda {name}: {name})({x})", f"[{x} for {name} in {x}]", f"{{{x} for {name} in {x}}}",
        f"({x} for {name} in {x})", f"{{{x}: 1}}", f"f'{{{x}}}'", f"({name} := {x})",
        f"{x} if {x} else 0", f"{x} and {x}", f"not {x}", f"{x} << 2", f"{x} @ {x}", f"{x} is None",
        f"'{attr}' + {x}", f"b'{attr}'", f"1j * {x}", f"*{x}", f"__{attr}", f"__import__('{attr}')",
        f"{x}.__class__", f"Q({x})", f"I({x}, **{{}})", "2 ** 2 ** 200", f"{{'{attr}'}}",
    ]))
    for _ in range(draw(st.integers(0, 3))):  # wrap it in allowed constructs
        wrapper = draw(st.sampled_from(["call", "binop", "compare", "unary"]))
        if wrapper == "call":
            core = f"{draw(_allowed_call)}({core})"
        elif wrapper == "binop":
            core = f"({draw(_column)} {draw(st.sampled_from(['+', '-', '*', '/', '**']))} ({core}))"
        elif wrapper == "compare":
            core = f"({core}) > {draw(st.integers(0, 9))}"
        else:
            core = f"-({core})"
    return core


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=_forbidden(), part=st.integers(0, 2))
def test_any_term_outside_the_grammar_raises_before_evaluation(term, part, travel, no_evaluation):
    parts = ["gc", "hinc", "invt"]
    parts[part] = f"{parts[part]} + I({term})" if part != 0 or term.startswith("*") else f"gc + {term}"
    formula = "choice ~ " + " | ".join(parts)
    with pytest.raises(SpecificationError):
        design_from_formula(formula, travel, **ROLES)
    with pytest.raises(SpecificationError):
        check_term(f"I({term})")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_accepted_only_as_a_checked_term(text):
    """check_term on arbitrary text raises SpecificationError or returns a tree within the grammar."""
    try:
        tree = check_term(text)
    except SpecificationError:
        return
    import ast

    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.Subscript, ast.Lambda, ast.NamedExpr, ast.JoinedStr))
        assert not isinstance(node, ast.Attribute) or id(node) in called
        if isinstance(node, ast.Call):
            assert ast.unparse(node.func) in ALLOWED_FUNCTIONS


# ---- the property on random syntax trees: in the grammar iff no forbidden node inside -------
_ALLOWED_LEAVES = st.sampled_from(["gc", "ttme", "hinc", "2", "0.5", "True"])
_FORBIDDEN_LEAVES = st.sampled_from(["__import__", "b'x'", "None", "1j", "...", "'s'"])
_ALLOWED_NODES = ["({} + {})", "({} * {})", "({} - {})", "({} / {})", "({} > {})", "({} == {})", "-({})",
                  "np.log({})", "np.sqrt({})", "I({})", "center({})", "({} ** 2)"]
_FORBIDDEN_NODES = ["({}).real", "({})[{}]", "(lambda: {})", "[{} for _ in {}]", "({} if {} else 0)",
                    "({} and {})", "(_w := {})", "foo({})", "{{{}: {}}}", "({}, {})", "({} << {})", "(not {})",
                    "np.save({})", "getattr({}, 'x')", "exec({})", "({})()", "{{{}}}", "({} is {})"]


def _fill(template: str, children: list[tuple]) -> tuple[str, bool, bool, bool]:
    count = template.count("{}")
    parts = (children * count)[:count]
    return (template.format(*[p[0] for p in parts]), any(p[1] for p in parts), any(p[2] for p in parts),
            any(p[3] for p in parts))


_COLUMNS = ("gc", "ttme", "hinc")


@st.composite
def _tree(draw, depth: int = 3) -> tuple[str, bool, bool, bool]:
    """(source, a construct outside the grammar occurs in it, it uses a column, it holds a power)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 9)) == 0:
            return draw(_FORBIDDEN_LEAVES), True, False, False
        leaf = draw(_ALLOWED_LEAVES)
        return leaf, False, leaf in _COLUMNS, False
    children = [draw(_tree(depth - 1)), draw(_tree(depth - 1))]
    if draw(st.integers(0, 4)) == 0:
        source, _, column, power = _fill(draw(st.sampled_from(_FORBIDDEN_NODES)), children)
        return source, True, column, power
    template = draw(st.sampled_from(_ALLOWED_NODES))
    source, bad, column, power = _fill(template, children)
    if "**" in template:  # a power of constants may not hold another power (unbounded growth)
        bad, power = bad or (power and not column), True
    return source, bad, column, power


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_tree())
def test_random_trees_are_accepted_exactly_when_inside_the_grammar(tree, travel, no_evaluation):
    source, forbidden = tree[:2]
    if forbidden:
        with pytest.raises(SpecificationError):
            check_term(f"I({source})")
        with pytest.raises(SpecificationError):
            design_from_formula(f"choice ~ gc | hinc + I({source})", travel, **ROLES)
    else:
        check_term(f"I({source})")  # accepted, and nothing evaluated by the check
