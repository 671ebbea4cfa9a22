"""The figure of a comparison: coefficients on a common scale, elasticity heat maps.

Drawn from plain tables (the scaled coefficients and standard errors, the elasticity
matrices), so the plot knows nothing of the models; :meth:`Comparison.plot
<choicemodels.Comparison.plot>` passes them. Needs matplotlib (the ``plot`` extra),
imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["plot_comparison"]


def plot_comparison(coef: pd.DataFrame, se: pd.DataFrame, labels: Sequence[str],
                    elasticities: Mapping[str, pd.DataFrame], variable: str | None, *,
                    alpha: float = 0.05, dpi: int = 150):
    """Matplotlib figure: each coefficient on its own panel, the elasticity heat maps below.

    Parameters
    ----------
    coef, se : pandas.DataFrame, shape (K, M)
        Coefficients and standard errors divided by each model's error scale, one column
        per model (named by ``labels``).
    labels : sequence of str, length M
        The model names, in column order.
    elasticities : mapping of str to pandas.DataFrame, shape (J, J)
        One elasticity matrix per model (may be empty: no heat maps).
    variable : str or None
        The variable of the elasticities, named in the titles.
    alpha, dpi : float, int
        The interval level and the resolution, as for :meth:`Comparison.plot
        <choicemodels.Comparison.plot>`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt


    z = stats.norm.isf(alpha / 2)
    names, n_el = list(coef.index), len(elasticities)
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig = plt.figure(figsize=(3.0 * max(ncol, n_el, 1) + 1.0, 1.1 + (0.4 + 0.28 * len(labels)) * 2 * nrow
                              + (3.6 if n_el else 0.0)), dpi=dpi, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.2 * nrow, 3.6]) if n_el else (fig, None)
    top.suptitle(f"Coefficients / error scale ({100 * (1 - alpha):g}% intervals)")
    axes = top.subplots(nrow, ncol, squeeze=False)
    y = np.arange(len(labels))
    for ax, name in zip(axes.flat, names):
        for m, lab in enumerate(labels):
            ax.errorbar(coef.loc[name, lab], m, xerr=z * se.loc[name, lab], fmt="o", ms=4,
                        capsize=2, color=f"C{m}")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, labels, fontsize="small")
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("coefficient / scale", fontsize="small")
        ax.set_ylabel("model", fontsize="small")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if n_el:
        mats = {lab: e.to_numpy(dtype=float) for lab, e in elasticities.items()}
        lim = max(float(np.nanmax(np.abs(m))) for m in mats.values()) or 1.0
        el_axes = bottom.subplots(1, n_el, squeeze=False)[0]
        for ax, (lab, e) in zip(el_axes, elasticities.items()):
            m = mats[lab]
            im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks(range(m.shape[1]), e.columns, rotation=45)
            ax.set_yticks(range(m.shape[0]), e.index)
            for (i, j), v in np.ndenumerate(m):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 * lim else "black")
            ax.set_title(lab, fontsize="small")
            ax.set_xlabel("responding alternative")
            ax.set_ylabel(f"{variable} changed for")
        bottom.suptitle(f"Elasticities w.r.t. {variable} (one colour scale)")
        bottom.colorbar(im, ax=list(el_axes), shrink=0.8, label="elasticity")
    return fig
