"""Packaging: every third-party module the project imports is declared in pyproject.toml.

A fresh ``pip install -e ".[test]"`` must bring everything the test suite, the notebooks,
the benchmarks and the docs import; a module that is only present because it happened to be
installed by hand would pass locally and fail on a new machine. The check reads the sources
with :mod:`ast` (imports inside functions too, and the code cells of the notebooks), drops the
standard library and the project's own modules, maps each import name to the distributions
that provide it (:func:`importlib.metadata.packages_distributions`) and looks for one of them
among the requirements of pyproject.toml (names compared after PEP 503 normalisation).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
#: folders whose imports must be declared; data/ installs as choicemodels._datafiles
FOLDERS = ("choicemodels", "data", "tests", "notebooks", "benchmarks", "docs")
#: calls that import the module named by their first (string) argument
IMPORTING_CALLS = {"import_module", "importorskip", "find_spec", "__import__"}


def normalise(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, f"pyproject.toml: cannot read the requirement {spec!r}"
    return normalise(match.group(1))


def declared() -> dict[str, list[str]]:
    """Normalised distribution name -> where pyproject.toml declares it."""
    project = PYPROJECT["project"]
    where: dict[str, list[str]] = {}
    for spec in project.get("dependencies", []):
        where.setdefault(requirement_name(spec), []).append("dependencies")
    for extra, specs in project.get("optional-dependencies", {}).items():
        for spec in specs:
            where.setdefault(requirement_name(spec), []).append(f"[{extra}]")
    return where


def source_files() -> Iterator[Path]:
    """The .py and .ipynb files of FOLDERS, each once, without hidden or build folders."""
    seen: set[Path] = set()
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            parts = path.relative_to(REPO).parts
            if any(p.startswith((".", "_build", "__pycache__")) for p in parts[:-1]):
                continue  # .ipynb_checkpoints, benchmarks/.peers-venv, docs/_build
            if path.suffix in (".py", ".ipynb") and path.is_file() and path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def python_source(path: Path) -> str:
    """A .py file's text, or a notebook's code cells with IPython magics and shell lines dropped."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    cells = json.loads(text)["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(lines)


def imported_modules(tree: ast.AST) -> Iterator[tuple[str, int, bool]]:
    """(top-level module name, line, at module level) for every absolute import in ``tree``.

    "At module level" means executed on import of the file: not inside a function and not
    inside a ``try`` (an import guarded by ``except ImportError`` is optional).
    """
    lazy: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Try)):
            lazy |= {id(n) for n in ast.walk(node) if n is not node}
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lazy |= {id(n) for n in ast.walk(node) if n is not node}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in IMPORTING_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            yield name.split(".")[0], node.lineno, id(node) not in lazy


def local_modules(path: Path) -> set[str]:
    """Names the file can import from the project itself: the package and, as a script, test
    module, notebook or conf.py run from their own folder, the modules beside it."""
    siblings = {p.stem for p in path.parent.glob("*.py")}
    siblings |= {p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()}
    return {"choicemodels"} | siblings


def third_party_imports() -> Iterator[tuple[str, Path, int, bool]]:
    for path in source_files():
        try:
            tree = ast.parse(python_source(path), filename=str(path))
        except SyntaxError as exc:  # a file the check cannot read is a failure, not a pass
            pytest.fail(f"{path.relative_to(REPO)} does not parse: {exc}")
        local = local_modules(path)
        for module, line, top in imported_modules(tree):
            if module not in sys.stdlib_module_names and module not in local and module != "__future__":
                yield module, path, line, top


@cache
def installed() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def distributions(module: str) -> frozenset[str]:
    """Normalised names of the installed distributions providing ``module``; a module that
    is not installed is assumed to come from the distribution of the same name."""
    return frozenset(normalise(d) for d in installed().get(module, [module]))


def test_every_import_is_declared() -> None:
    where = declared()
    missing: dict[str, str] = {}
    for module, path, line, _ in third_party_imports():
        if module not in missing and not distributions(module) & where.keys():
            missing[module] = f"{path.relative_to(REPO)}:{line}"
    assert not missing, "imported but declared nowhere in pyproject.toml: " + "; ".join(
        f"{module} (imported in {at}; distribution {', '.join(sorted(distributions(module)))})"
        for module, at in sorted(missing.items())
    )


def test_package_imports_at_module_level_are_runtime_dependencies() -> None:
    """``import choicemodels`` on a plain install (no extras) must not need an extra: the
    package imports optional packages only inside the functions that use them."""
    runtime = {name for name, places in declared().items() if "dependencies" in places}
    offending = sorted(
        f"{module} ({path.relative_to(REPO)}:{line})"
        for module, path, line, top in third_party_imports()
        if top and path.is_relative_to(REPO / "choicemodels") and not distributions(module) & runtime
    )
    assert not offending, "module-level imports of packages outside [project.dependencies]: " + ", ".join(
        offending
    )


def test_the_checks_find_imports() -> None:
    """The scan itself works: it sees a lazy import, a notebook cell and a dynamic import."""
    found = {(m, p.relative_to(REPO).as_posix(), top) for m, p, _, top in third_party_imports()}
    assert ("numpy", "choicemodels/random_utility.py", True) in found
    assert any(m == "matplotlib" and p.startswith("choicemodels/") and not top for m, p, top in found)
    assert any(m == "matplotlib" and p.startswith("notebooks/") for m, p, _ in found)
    assert ("nbclient", "tests/test_notebooks.py", True) in found  # pytest.importorskip("nbclient")
    tree = ast.parse("import a.b\nfrom c import d\ntry:\n    import e\nexcept ImportError:\n    pass\n"
                     "def f():\n    import g\nimportlib.import_module('h.i')\n")
    assert sorted((m, top) for m, _, top in imported_modules(tree)) == [
        ("a", True), ("c", True), ("e", False), ("g", False), ("h", True)
    ]
    assert normalise("Dask_ML.core") == normalise("dask-ml-core") == "dask-ml-core"


# ---------------------------------------------------------------------------------------
# metadata others cite and depend on (pyproject.toml is what the wheel and sdist carry)


def test_metadata_has_license_authors_and_classifiers() -> None:
    trove = pytest.importorskip("trove_classifiers")
    project = PYPROJECT["project"]
    assert project["license"] == "BSD-3-Clause"  # an SPDX expression (PEP 639)
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License") and "The choicemodels developers" in text
    assert project["authors"] and all(a.get("name") or a.get("email") for a in project["authors"])
    classifiers = project["classifiers"]
    unknown = [c for c in classifiers if c not in trove.classifiers or c in trove.deprecated_classifiers]
    assert not unknown, f"not valid trove classifiers: {unknown}"
    # with a licence expression, PEP 639 forbids licence classifiers (setuptools refuses them)
    assert not [c for c in classifiers if c.startswith("License ::")]
    # the Python versions named are the ones requires-python admits
    minimum = tuple(int(x) for x in re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"]).groups())
    named = [tuple(int(x) for x in c.rsplit(" ", 1)[1].split(".")) for c in classifiers
             if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert named and min(named) == minimum


def test_version_is_written_once() -> None:
    """``choicemodels.__version__`` is the installed distribution's version, which is
    pyproject.toml's; the citation and the changelog name the same version."""
    from importlib.metadata import version

    import choicemodels

    assert choicemodels.__version__ == version("choicemodels") == PYPROJECT["project"]["version"]
    assert "version" not in PYPROJECT["project"].get("dynamic", [])
    citation = (REPO / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    assert re.search(r'^version: "?([^"\n]+)"?$', citation, re.M).group(1) == choicemodels.__version__
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d\d-\d\d)$", changelog, re.M)
    assert released, "CHANGELOG.md has no released version"
    date = re.search(r'^date-released: "?([\d-]+)"?$', citation, re.M).group(1)
    assert (choicemodels.__version__, date) == released[0], "CITATION.cff and CHANGELOG.md disagree"
    assert "## [Unreleased]" in changelog


def test_api_reference_documents_every_public_name() -> None:
    """docs/api.rst has an autodoc entry for every name in ``choicemodels.__all__``."""
    import choicemodels

    documented: set[str] = set()
    module = "choicemodels"
    for line in (REPO / "docs" / "api.rst").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        elif m := re.match(r"\.\. auto(?:class|function|exception|data|module):: (\S+)", line):
            name = m.group(1)
            documented.add(name if name.startswith("choicemodels.") else f"{module}.{name}")
    missing = [n for n in choicemodels.__all__ if n != "__version__" and f"choicemodels.{n}" not in documented]
    assert not missing, f"docs/api.rst does not document {missing}"
    assert "__version__" in (REPO / "docs" / "api.rst").read_text(encoding="utf-8")
