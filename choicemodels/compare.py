"""Logit and probit side by side: :func:`compare_models` fits them and compares.

The runner behind ``choicemodels compare``: one logit and one probit per error structure
on the same data, handed to :func:`compare`. The module also gathers the public names of
the comparison layer: :class:`Comparison` and :func:`compare`
(:mod:`choicemodels.comparison`), the error scales (:mod:`choicemodels.scales`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from choicemodels.comparison import Comparison, compare
from choicemodels.progress import bar
from choicemodels.scales import LOGIT_SCALE, SLOPE_RATIO, error_scale

__all__ = [
    "Comparison",
    "compare",
    "compare_models",
    "error_scale",
    "LOGIT_SCALE",
    "SLOPE_RATIO",
]


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
    """Fit a logit and one probit per ``probit_cov`` on the same data and compare them.

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
    probit_cov : str or sequence of str, default ("iid", "unstructured")
        Probit error structures to fit (``"iid"``, ``"heteroskedastic"``,
        ``"unstructured"``). With two alternatives only ``"iid"`` is identified; the others
        are skipped with a note.
    integration : str, optional
        Probit integration method (``None``: the probit's default, ``"auto"``).
    draws : int, optional
        GHK draws per situation (``None``: the probit's default).
    sequence : str, optional
        Sequence of the GHK draws (``None``: the probit's default).
    rng : int, numpy.random.Generator or None, default 0
        Seed of the probits' draws.
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
        The logit first, then the probits in the order of ``probit_cov``.

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
    """
    from choicemodels.models.logit import Logit
    from choicemodels.models.probit import Probit

    columns = dict(obs=obs, alt=alt, ref=ref, avail=avail, weights=weights, weight_type=weight_type)
    logit = Logit(formula, data, **columns)
    covs = [probit_cov] if isinstance(probit_cov, str) else list(probit_cov)
    remarks = []
    if logit.design.n_alts == 2 and any(c != "iid" for c in covs):
        skipped = [c for c in covs if c != "iid"]
        covs = [c for c in covs if c == "iid"]
        remarks.append(f"Two alternatives: only the iid probit is identified; skipped {skipped}.")
    options = {k: v for k, v in dict(integration=integration, draws=draws, sequence=sequence).items()
               if v is not None}
    fit_options = dict(cov_type=cov_type, groups=groups, maxiter=maxiter, progress=progress)
    models = bar(enabled=progress, total=1 + len(covs), desc="compare: fitting logit",
                 unit=" models")
    try:
        results = [logit.fit(**fit_options)]
        for cov in covs:
            if models is not None:
                models.update(1)
                models.set_description(f"compare: fitting probit ({cov})", refresh=False)
            probit = Probit(formula, data, **columns, cov=cov, rng=rng, **options)
            results.append(probit.fit(**fit_options, method=method))
    finally:
        if models is not None:
            models.close()
    c = compare(*results, ratio_to=ratio_to, variable=variable)
    return Comparison(c.results, c.labels, c.ratio_to, c.variable, tuple(remarks))
