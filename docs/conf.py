"""Sphinx configuration: the API reference (autodoc + numpydoc) and the teaching notebooks
(myst-nb, rendered from their stored outputs). Build: ``python -m sphinx -W docs docs/_build``."""

from importlib.metadata import version as _version

from sphinx.util.nodes import make_refnode

import choicemodels  # noqa: F401  (the build fails here, plainly, when the package does not import)

project = "choicemodels"
author = "The choicemodels developers"
copyright = "2026, The choicemodels developers"
release = _version("choicemodels")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "notebooks/README.md"]

# Strict about what is really broken: with -W, a reference to an object that is not
# documented, a module that does not import or malformed markup fails the build. Targets in
# other projects cannot be linked without their inventories (no network at build time).
nitpicky = True
nitpick_ignore_regex = [
    # the compiled kernels are private (pure numerics behind the documented models)
    (r"py:.*", r"choicemodels\.kernels(\..*)?"),
    (r"py:.*", r"(numpy|np|pandas|pd|scipy|dask|distributed|matplotlib|numba|patsy|statsmodels)(\..*)?"),
    (r"py:.*", r"(collections\.abc|typing|pathlib|importlib|os)\..*"),
    (r"py:class", r"(ArrayLike|NDArray|Generator|Sequence|Mapping|Callable|Hashable|Iterable|Path|Traversable)"),
]

# autodoc: members in source order, signatures with their annotations
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}

# numpydoc: parse the sections; the docstrings' style is checked by the tests, not here
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# myst-nb: the notebooks are shown with the outputs stored in them, never executed here
# (the test suite executes them)
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"choicemodels {release}"
html_theme_options = {"description": "Multinomial logit and probit, side by side"}


def _resolve_module_relative(app, env, node, contnode):
    """Docstrings name objects of their own module without the module (``:func:`error_scale```
    in choicemodels/comparison.py), while the reference documents them under the package
    (``choicemodels.Comparison``). Link such a name when exactly one documented object bears
    it; otherwise leave the reference unresolved (and the build fails on it)."""
    if node.get("refdomain") != "py" or "." in node["reftarget"].lstrip("~"):
        return None
    domain = env.get_domain("py")
    found = domain.find_obj(env, None, None, node["reftarget"].lstrip("~"), node["reftype"], 1)
    # an object documented under the package is also recorded under its defining module
    matches = {(e.docname, e.node_id): name for name, e in found if not e.aliased}
    if len(matches) != 1:
        return None
    ((docname, node_id), name), = matches.items()
    return make_refnode(app.builder, node["refdoc"], docname, node_id, contnode, name)


def setup(app):
    app.connect("missing-reference", _resolve_module_relative)
