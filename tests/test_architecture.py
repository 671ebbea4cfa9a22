"""The package's imports follow the layer order of ARCHITECTURE.md and form no cycle.

Every module of ``choicemodels`` is parsed with :mod:`ast`; every import counts, at module
level, inside functions and under ``if TYPE_CHECKING:``. A module may import from its own
layer and the layers before it, never from a later one, and the imports may not form a
ring (within a layer either).
"""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "choicemodels"

# The layer order, first (lowest) to last; written once here and once in ARCHITECTURE.md
# (the fenced ``layers`` block), which test_architecture_md_lists_the_same_layers compares.
# Module names are relative to the package: "kernels.*" is every kernel module, "__init__"
# the package itself.
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("foundation", frozenset({"exceptions", "progress", "rendering", "memory"})),
    ("kernels", frozenset({"kernels", "kernels.*"})),
    ("design", frozenset({"design"})),
    ("checks", frozenset({"checks"})),
    ("data", frozenset({"choicedata", "reshape", "data"})),
    ("formula", frozenset({"grammar", "formula"})),
    ("sources", frozenset({"datasets", "softmax", "random_utility", "simulated_data", "gumbel_max", "simulate"})),
    ("inference", frozenset({"inference"})),
    ("results", frozenset({"results"})),
    ("backend", frozenset({"distributed"})),
    ("models", frozenset({"models", "models.*"})),
    ("analysis", frozenset({"scales", "compare_plot", "comparison", "compare", "montecarlo"})),
    ("interface", frozenset({"cli_io", "cli", "__main__", "__init__"})),
]



def module_name(path: Path) -> str:
    """``choicemodels/models/base.py`` -> ``models.base``; a package's ``__init__`` -> its name."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _dotted(name: str) -> str | None:
    """A full dotted name inside the package as a key of MODULES (its longest module prefix)."""
    if name != "choicemodels" and not name.startswith("choicemodels."):
        return None
    parts = name.split(".")[1:]
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return "__init__"


def _is_module(name: str) -> bool:
    return name.startswith("choicemodels.") and name.removeprefix("choicemodels.") in MODULES


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str) -> list[tuple[str, int, bool]]:
    """(imported package module, line, only under TYPE_CHECKING) for every import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base_parts = ["choicemodels"] + (package.split(".") if package and package != "__init__" else [])
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            typing_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[tuple[str, int, bool]] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package of this module, level - 1 up
                anchor = base_parts[:len(base_parts) - (node.level - 1)]
                source = ".".join(anchor + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from choicemodels import datasets`` imports the module datasets
            targets = [f"{source}.{a.name}" if _is_module(f"{source}.{a.name}") else source for a in node.names]
        for target in targets:
            resolved = _dotted(target)
            if resolved is not None and resolved != module:
                found.add((resolved, node.lineno, id(node) in typing_only))
    return sorted(found, key=lambda f: (f[1], f[0]))


def layer_of(module: str) -> int:
    hits = [i for i, (_, patterns) in enumerate(LAYERS) if any(fnmatchcase(module, p) for p in patterns)]
    assert len(hits) == 1, (
        f"module {module!r} is in {len(hits)} layers; place it in exactly one (LAYERS here and the "
        "layers block of ARCHITECTURE.md)"
    )
    return hits[0]


def import_graph() -> dict[str, list[tuple[str, int, bool]]]:
    return {module: imports_of(module) for module in MODULES}


def layer_violations(graph: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    out = []
    for module, imports in graph.items():
        for target, line, typing in imports:
            if layer_of(target) > layer_of(module):
                out.append(f"{module} (line {line}{', TYPE_CHECKING' if typing else ''}) imports {target}: "
                           f"layer {LAYERS[layer_of(module)][0]!r} may not import the later layer "
                           f"{LAYERS[layer_of(target)][0]!r}")
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def import_edges() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imps} for m, imps in import_graph().items()}


def test_every_module_has_one_layer():
    for module in MODULES:
        layer_of(module)
    for _, patterns in LAYERS:  # no stale pattern
        for pattern in patterns:
            assert any(fnmatchcase(m, pattern) for m in MODULES), f"layer pattern {pattern!r} matches no module"


def test_imports_follow_the_layer_order():
    violations = layer_violations(import_graph())
    assert not violations, "imports against the layer order of ARCHITECTURE.md:\n" + "\n".join(violations)


def test_no_import_cycles():
    rings = cycles(import_edges())
    assert not rings, f"import cycles: {rings}"


def test_architecture_md_lists_the_same_layers():
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"^```layers\n(.*?)^```", text, re.S | re.M)
    assert block, "ARCHITECTURE.md has no ```layers block"
    listed = []
    for line in block.group(1).splitlines():
        name, _, patterns = line.partition(":")
        listed.append((name.strip(), frozenset(patterns.split())))
    assert listed == LAYERS


# ------------------------------------------------------------ the checker itself


def test_the_scan_sees_every_kind_of_import():
    """Imports inside functions and under TYPE_CHECKING are found, and resolved to modules."""
    formula = {t for t, _, _ in imports_of("formula")}
    assert {"checks", "data", "design", "exceptions"} <= formula
    cli = {(t, typing) for t, _, typing in imports_of("cli")}
    assert ("compare", False) in cli  # imported inside a function
    assert ("models.logit", False) in cli
    comparison = {(t, typing) for t, _, typing in imports_of("comparison")}
    assert ("results", True) in comparison
    init = {t for t, _, _ in imports_of("__init__")}
    assert "datasets" in init  # from choicemodels import datasets: the module, not the package


def test_the_checks_fail_on_a_ring_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert layer_of("checks") < layer_of("formula") < layer_of("models.logit") < layer_of("__init__")
    upward = layer_violations({"checks": [("formula", 7, False)], "results": [("inference", 3, True)],
                               "formula": [("checks", 1, False)]})
    assert upward == ["checks (line 7) imports formula: layer 'checks' may not import the later layer 'formula'"]
    with pytest.raises(AssertionError, match="in 0 layers"):
        layer_of("nowhere")
