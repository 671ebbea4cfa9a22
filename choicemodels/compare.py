"""Logit, nested logit and probit side by side: :func:`compare_models` fits them and compares.

The runner behind ``choicemodels compare``: the models named in ``models`` (a logit, a
nested logit, one probit per error structure) on the same data, handed to
:class:`Comparison`. :func:`compare` takes fitted results, or data and a formula (then it
runs :func:`compare_models`). The module also gathers the public names of the comparison
layer: :class:`Comparison` (:mod:`choicemodels.comparison`), the error scales
(:mod:`choicemodels.scales`).

Adding a model kind to the runner: write a
builder ``_name(formula, data, columns, options) -> list[_Planned]`` beside ``_logit``,
put it into ``_BUILDERS`` under the name users write in ``models``, add its options to
``_Options`` (and to :func:`compare_models`' keywords, validated in ``_check_models``),
and, where its name should read differently in the tables, to ``comparison._NAMES``
(used by ``comparison.display_name``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from choicemodels.comparison import Comparison
from choicemodels.comparison import compare as _compare_results
from choicemodels.exceptions import SpecificationError
from choicemodels.progress import bar
from choicemodels.results import ChoiceResults
from choicemodels.scales import LOGIT_SCALE, SLOPE_RATIO, error_scale

__all__ = [
    "Comparison",
    "compare",
    "compare_models",
    "error_scale",
    "LOGIT_SCALE",
    "MODEL_NAMES",
    "SLOPE_RATIO",
]


@dataclass(frozen=True)
class _Options:
    """The per-kind options of one :func:`compare_models` run (what a builder may read)."""

    nests: Mapping[str, Sequence] | None
    equal_iv: bool
    probit_cov: tuple[str, ...]
    probit: dict  # integration, draws, sequence: those given
    rng: Any
    method: str | None
    mixed: dict  # random, correlated, panel, draws, sequence: those given


@dataclass(frozen=True)
class _Planned:
    """One model to fit: what the progress bar says, how to build it, extra fit options."""

    description: str
    build: Callable[[], Any]
    fit_options: dict


def _logit(formula, data, columns, options: _Options) -> list[_Planned]:
    from choicemodels.models.logit import Logit

    return [_Planned("logit", lambda: Logit(formula, data, **columns), {})]


def _nested(formula, data, columns, options: _Options) -> list[_Planned]:
    from choicemodels.models.nested import NestedLogit

    return [_Planned("nested logit", lambda: NestedLogit(formula, data, **columns, nests=options.nests,
                                                         equal_iv=options.equal_iv), {})]


def _probit(formula, data, columns, options: _Options) -> list[_Planned]:
    from choicemodels.models.probit import Probit

    def build(cov):
        return lambda: Probit(formula, data, **columns, cov=cov, rng=options.rng, **options.probit)

    return [_Planned(f"probit ({cov})", build(cov), {"method": options.method})
            for cov in options.probit_cov]


def _mixed(formula, data, columns, options: _Options) -> list[_Planned]:
    from choicemodels.models.mixed import MixedLogit

    return [_Planned("mixed logit", lambda: MixedLogit(formula, data, **columns, rng=options.rng,
                                                       **options.mixed), {})]


_BUILDERS: dict[str, Callable[..., list[_Planned]]] = {
    "logit": _logit, "nested": _nested, "mixed": _mixed, "probit": _probit,
}
MODEL_NAMES = tuple(_BUILDERS)
"""The names :func:`compare_models` and ``choicemodels compare --models`` accept."""


def _check_models(models: Sequence[str] | str, nests, equal_iv, mixed: Mapping[str, Any]) -> list[str]:
    """The validated list of model names (the faults named, with the fix)."""
    names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise SpecificationError(f"models is empty; name two or more of {list(MODEL_NAMES)}.")
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise SpecificationError(
            f"unknown model(s) {unknown} in models; choose from {list(MODEL_NAMES)}.")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SpecificationError(f"models names {twice} more than once; name each model once.")
    if "nested" in names and nests is None:
        raise SpecificationError(
            "models includes 'nested', which needs nests: a dict nest name -> alternatives, "
            "e.g. nests={'fly': ['air'], 'ground': ['train', 'bus', 'car']}.")
    if "nested" not in names and (nests is not None or equal_iv):
        given = "nests" if nests is not None else "equal_iv"
        raise SpecificationError(
            f"{given} applies to the nested logit, which models {names} does not include; add "
            "'nested' to models (e.g. models=['logit', 'nested', 'probit']) or drop it.")
    if "mixed" in names and mixed.get("random") is None:
        raise SpecificationError(
            "models includes 'mixed', which needs random: a dict coefficient -> distribution, "
            "e.g. random={'gc': 'normal', '-ttme': 'lognormal'}.")
    given = [k for k in ("random", "correlated", "panel") if mixed.get(k) not in (None, False)]
    if "mixed" not in names and given:
        raise SpecificationError(
            f"{', '.join(given)} applies to the mixed logit, which models {names} does not "
            "include; add 'mixed' to models (e.g. models=['logit', 'mixed', 'probit']) or drop it.")
    return names


def _n_alternatives(data, alt: str) -> int | None:
    """Distinct labels of the ``alt`` column (None when it cannot be read here)."""
    try:
        count = data[alt].nunique()
    except (KeyError, TypeError, AttributeError):
        return None  # the model's own checks name the fault
    return int(count.compute() if hasattr(count, "compute") else count)


def compare_models(
    formula: str,
    data: pd.DataFrame,
    *,
    obs: str,
    alt: str,
    ref: Any = None,
    avail: str | None = None,
    weights: str | None = None,
    weight_type: str = "frequency",
    models: Sequence[str] = ("logit", "probit"),
    nests: Mapping[str, Sequence] | None = None,
    equal_iv: bool = False,
    random: Mapping[str, str] | None = None,
    correlated: bool | list[str] = False,
    panel: str | None = None,
    probit_cov: Sequence[str] = ("iid", "unstructured"),
    integration: str | None = None,
    draws: int | None = None,
    sequence: str | None = None,
    rng: int | np.random.Generator | None = 0,
    method: str | None = None,
    cov_type: str | None = None,
    groups: np.ndarray | None = None,
    maxiter: int | None = None,
    ratio_to: str | None = None,
    variable: str | None = None,
    progress: bool | None = None,
) -> Comparison:
    """Fit a logit, a nested logit, a mixed logit and probits on the same data and compare them.

    By default a logit and one probit per ``probit_cov``; ``models`` chooses the kinds, in
    the order of the output (``"probit"`` stands for one probit per ``probit_cov``).

    Parameters
    ----------
    formula : str
        Three-part formula, as for :class:`~choicemodels.Logit`.
    data : pandas.DataFrame
        Long format, one row per (situation, alternative).
    obs : str
        Column of the situation id.
    alt : str
        Column of the alternative label.
    ref : object, optional
        Reference alternative (default: the first label in sorted order).
    avail : str, optional
        0/1 availability column.
    weights : str, optional
        Per-situation weight column.
    weight_type : {"frequency", "sampling"}, default "frequency"
        How the weights count, as for :class:`~choicemodels.Logit`.
    models : sequence of {"logit", "nested", "mixed", "probit"}, default ("logit", "probit")
        The model kinds to fit (``MODEL_NAMES``), each once.
    nests : dict of str to list, optional
        Nest name -> alternatives, for the nested logit (needed with ``"nested"`` and only
        then), as for :class:`~choicemodels.NestedLogit`.
    equal_iv : bool, default False
        One ``iv`` for every nest of the nested logit.
    random : dict of str to str, optional
        Coefficient -> distribution of the mixed logit (needed with ``"mixed"`` and only
        then), as for :class:`~choicemodels.MixedLogit`.
    correlated : bool or list of str, default False
        The mixed logit's correlated random coefficients.
    panel : str, optional
        Column of the person id, for the mixed logit's panel likelihood (one set of draws per
        person; its Vuong tests against the other models then pair persons, not situations).
    probit_cov : str or sequence of str, default ("iid", "unstructured")
        Probit error structures to fit (``"iid"``, ``"heteroskedastic"``,
        ``"unstructured"``). With two alternatives only ``"iid"`` is identified; the others
        are skipped with a note.
    integration : str, optional
        Probit integration method (``None``: the probit's default, ``"auto"``).
    draws : int, optional
        GHK draws per situation of the probits and draws per person of the mixed logit
        (``None``: each model's default).
    sequence : str, optional
        Sequence of those draws (``None``: each model's default).
    rng : int, numpy.random.Generator or None, default 0
        Seed of the probits' and the mixed logit's draws.
    method : str, optional
        Optimiser of the probit fits (``None``: the probit's default).
    cov_type : {"nonrobust", "robust", "cluster", "opg"}, optional
        Covariance of the estimates for every model (default: each model's, nonrobust or
        robust with sampling weights).
    groups : array_like, shape (N,), optional
        One cluster label per situation, for ``cov_type="cluster"``.
    maxiter : int, optional
        Iteration limit of every fit (``None``: each model's default).
    ratio_to : str, optional
        As for :func:`compare`.
    variable : str, optional
        As for :func:`compare`.
    progress : bool or None, optional
        On by default: when the fits run longer than a few seconds, a progress bar over the models (and one
        per probit fit) on stderr, a widget in Jupyter; ``False`` turns it off.

    Returns
    -------
    Comparison
        The models in the order of ``models``, the probits in the order of ``probit_cov``.

    Raises
    ------
    SpecificationError
        For an unknown or repeated model name, ``"nested"`` without ``nests``, ``nests``
        (or ``equal_iv``) without ``"nested"``, ``"mixed"`` without ``random``, ``random``
        (``correlated``, ``panel``) without ``"mixed"``, and as the models do for their inputs.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
    ...                       ref="car", probit_cov="iid")
    >>> c.labels
    ('logit', 'probit (iid)')
    >>> c.fit_statistics()["converged"].tolist()
    [True, True]
    >>> c3 = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
    ...                        ref="car", models=["logit", "nested", "probit"], probit_cov="iid",
    ...                        nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
    >>> c3.labels
    ('logit', 'nested logit', 'probit (iid)')
    >>> c3.tests()["test"].tolist()
    ['LR (nested)', 'Vuong', 'Vuong']
    """
    mixed = {"random": random, "correlated": correlated, "panel": panel}
    names = _check_models(models, nests, equal_iv, mixed)
    simulation = {k: v for k, v in dict(draws=draws, sequence=sequence).items() if v is not None}
    columns = dict(obs=obs, alt=alt, ref=ref, avail=avail, weights=weights, weight_type=weight_type)
    covs = [probit_cov] if isinstance(probit_cov, str) else list(probit_cov)
    remarks = []
    if "probit" in names and any(c != "iid" for c in covs) and _n_alternatives(data, alt) == 2:
        skipped = [c for c in covs if c != "iid"]
        covs = [c for c in covs if c == "iid"]
        remarks.append(f"Two alternatives: only the iid probit is identified; skipped {skipped}.")
    options = _Options(
        nests=nests, equal_iv=equal_iv, probit_cov=tuple(covs), rng=rng, method=method,
        probit=simulation | ({} if integration is None else {"integration": integration}),
        mixed=mixed | simulation,
    )
    plan = [p for name in names for p in _BUILDERS[name](formula, data, columns, options)]
    fit_options = dict(cov_type=cov_type, groups=groups, maxiter=maxiter, progress=progress)
    shown = bar(enabled=progress, total=len(plan), desc=f"compare: fitting {plan[0].description}",
                unit=" models")
    results = []
    try:
        for i, planned in enumerate(plan):
            if shown is not None and i:
                shown.update(1)
                shown.set_description(f"compare: fitting {planned.description}", refresh=False)
            results.append(planned.build().fit(**fit_options, **planned.fit_options))
    finally:
        if shown is not None:
            shown.close()
    c = _compare_results(*results, ratio_to=ratio_to, variable=variable)
    return Comparison(c.results, c.labels, c.ratio_to, c.variable, tuple(remarks))


def compare(
    *results: Any,
    labels: Sequence[str] | None = None,
    ratio_to: str | None = None,
    variable: str | None = None,
    formula: str | None = None,
    obs: str | None = None,
    alt: str | None = None,
    ref: Any = None,
    avail: str | None = None,
    weights: str | None = None,
    models: Sequence[str] = ("logit", "probit"),
    nests: Mapping[str, Sequence] | None = None,
    equal_iv: bool = False,
    random: Mapping[str, str] | None = None,
    correlated: bool | list[str] = False,
    panel: str | None = None,
    draws: int | None = None,
    rng: int | np.random.Generator | None = 0,
    progress: bool | None = None,
) -> Comparison:
    """Compare fitted models of the same choice situations, or fit them on data and compare.

    ``compare(r1, r2, ...)`` takes fitted results. ``compare(data, formula, obs=..., alt=...,
    models=[...], nests=...)`` fits the models first, with :func:`compare_models` (which
    has every option: probit structures, integration, covariance type, ...).

    Parameters
    ----------
    *results : ChoiceResults, or a DataFrame and a formula
        Two or more fitted results (``Logit(...).fit()``, ``NestedLogit(...).fit()``,
        ``Probit(...).fit()``) of the same N situations; or long data and (unless given
        as ``formula=``) the three-part formula.
    labels : sequence of str, optional
        Names of the models (default from the model and its covariance option).
    ratio_to : str, optional
        Coefficient for the scale-free ratios (default: first shared non-constant).
    variable : str, optional
        Variable of the elasticity matrices (default: ``ratio_to``; ``""`` for none).
    formula : str, optional
        With data: the formula, if not given after the data.
    obs, alt : str, optional
        With data: the columns of the situation id and of the alternative label.
    ref : object, optional
        With data: the reference alternative.
    avail, weights : str, optional
        With data: the 0/1 availability and the per-situation weight columns.
    models : sequence of {"logit", "nested", "mixed", "probit"}, default ("logit", "probit")
        With data: the models to fit, as for :func:`compare_models`.
    nests : dict of str to list, optional
        With data: the nested logit's nests (with ``"nested"`` in ``models`` only).
    equal_iv : bool, default False
        With data: one ``iv`` for every nest of the nested logit.
    random : dict of str to str, optional
        With data: the mixed logit's random coefficients (with ``"mixed"`` in ``models``
        only), as for :class:`~choicemodels.MixedLogit`.
    correlated : bool or list of str, default False
        With data: the mixed logit's correlated random coefficients.
    panel : str, optional
        With data: the mixed logit's person column.
    draws : int, optional
        With data: draws of the probits (per situation) and the mixed logit (per person).
    rng : int, numpy.random.Generator or None, default 0
        With data: seed of the probits' and the mixed logit's draws.
    progress : bool or None, optional
        With data: progress bars of the fits, as for :func:`compare_models`.

    Returns
    -------
    Comparison
        The models side by side; ``print()`` it or read its tables.

    Raises
    ------
    SpecificationError
        Fewer than two models, models of different situations, bad ``labels`` or
        ``ratio_to``; data options given with fitted results; as :func:`compare_models`.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> c = cm.compare(cm.Logit("choice ~ gc + ttme | hinc", **kw).fit(),
    ...                cm.Probit("choice ~ gc + ttme | hinc", **kw).fit())
    >>> c.labels
    ('logit', 'probit (iid)')
    >>> c.table()["coef / scale"].loc["gc"].round(4)
    model
    logit          -0.0085
    probit (iid)   -0.0082
    Name: gc, dtype: float64
    >>> c = cm.compare(df, "choice ~ gc + ttme | hinc", obs="individual", alt="mode", ref="car",
    ...                models=["logit", "nested", "probit"],
    ...                nests={"fly": ["air"], "ground": ["train", "bus", "car"]})
    >>> c.labels
    ('logit', 'nested logit', 'probit (iid)', 'probit (unstructured)')
    """
    if results and not isinstance(results[0], ChoiceResults):
        data, rest = results[0], results[1:]
        if len(rest) > 1 or (rest and (formula is not None or not isinstance(rest[0], str))):
            raise SpecificationError(
                "compare(data, formula, obs=..., alt=...) takes the data and one formula "
                f"(a string, or formula=); got {len(rest)} more positional argument(s).")
        formula = rest[0] if rest else formula
        missing = [k for k, v in (("formula", formula), ("obs", obs), ("alt", alt)) if v is None]
        if missing:
            raise SpecificationError(f"compare with data needs {', '.join(missing)} as well.")
        c = compare_models(formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
                           models=models, nests=nests, equal_iv=equal_iv, random=random,
                           correlated=correlated, panel=panel, draws=draws, rng=rng,
                           ratio_to=ratio_to, variable=variable, progress=progress)
        if labels is None:
            return c
        relabelled = _compare_results(*c.results, labels=labels, ratio_to=c.ratio_to,
                                      variable=c.variable or "")
        return Comparison(relabelled.results, relabelled.labels, c.ratio_to, c.variable, c.remarks)
    given = [k for k, v in dict(formula=formula, obs=obs, alt=alt, ref=ref, avail=avail,
                                weights=weights, nests=nests, random=random, panel=panel,
                                draws=draws).items() if v is not None]
    given += [k for k, v in (("models", tuple(models) != ("logit", "probit")), ("equal_iv", equal_iv),
                             ("correlated", correlated)) if v]
    if given:
        raise SpecificationError(
            f"{', '.join(given)} apply when compare is given data (compare(data, formula, ...)); "
            "with fitted results, fit the models yourself and pass the results.")
    return _compare_results(*results, labels=labels, ratio_to=ratio_to, variable=variable)
