"""Simulation error of the mixed logit's log-likelihood by kind of draws, against draws.

    python benchmarks/mixed_draws_error.py                  # figure mixed_draws_error.png
    python benchmarks/mixed_draws_error.py --seeds 5 --draws 50,200,800

Electricity (Revelt and Train's panel: 361 households, 12 situations each, J = 4), at
fixed parameters (xlogit's published 600-draw estimates), in two specifications:
two random coefficients (``pf``, ``cl`` normal, the other four fixed) and all six random.
For each kind of draws (scrambled Halton, scrambled Sobol, MLHS, pseudo-random) and number
of draws R, the simulated log-likelihood is computed with ``--seeds`` independent draw sets
(``rng`` = 0, 1, ...); the table and the figure give its standard deviation over the sets
(the simulation error) and, on a log-log scale, the reference slope of pseudo-random
draws, R^(-1/2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

VARS = ("pf", "cl", "loc", "wk", "tod", "seas")
#: xlogit's documentation, examples/mixed_logit_model.ipynb (Electricity, n_draws=600)
MEANS = {"pf": -0.9972102, "cl": -0.2196812, "loc": 2.2901807, "wk": 1.6943247,
         "tod": -9.6752279, "seas": -9.6961836}
SDS = {"pf": 0.2207255, "cl": 0.4115547, "loc": 1.7840255, "wk": 1.2296227,
       "tod": 2.2757059, "seas": 1.4862206}
SPECS = {"2 random (pf, cl)": ("pf", "cl"), "6 random": VARS}
KINDS = ("halton", "sobol", "mlhs", "pseudo")


def spread(random: tuple[str, ...], kind: str, draws: int, seeds: int) -> float:
    """Standard deviation over ``seeds`` draw sets of the simulated log-likelihood."""
    import choicemodels as cm

    df = cm.datasets.load_electricity()
    values = []
    for seed in range(seeds):
        m = cm.MixedLogit(f"choice ~ {' + '.join(VARS)} | 0", data=df, obs="chid", alt="alt",
                          panel="id", random={v: "normal" for v in random}, draws=draws,
                          sequence=kind, rng=seed)
        params = [MEANS[v] for v in m.design.names] + [SDS[v] for v in random]
        values.append(m.loglike(np.array(params)))
    return float(np.std(values, ddof=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", default="25,50,100,200,400,800,1600")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--figure", type=Path, default=HERE / "mixed_draws_error.png")
    args = parser.parse_args()
    draws = [int(r) for r in args.draws.split(",")]
    table = {}
    for label, random in SPECS.items():
        print(f"\n## {label}: sd of the simulated log-likelihood over {args.seeds} draw sets\n")
        print("| draws | " + " | ".join(KINDS) + " | pseudo / halton |")
        print("|---:|" + "---:|" * (len(KINDS) + 1))
        for R in draws:
            row = {kind: spread(random, kind, R, args.seeds) for kind in KINDS}
            table[label, R] = row
            print(f"| {R:,} | " + " | ".join(f"{row[k]:.3f}" for k in KINDS)
                  + f" | {row['pseudo'] / row['halton']:.1f} |", flush=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SPECS), figsize=(10, 4), sharey=True)
    for ax, label in zip(axes, SPECS):
        for kind in KINDS:
            ax.loglog(draws, [table[label, R][kind] for R in draws], "o-", label=kind)
        first = table[label, draws[0]]["pseudo"]
        ax.loglog(draws, [first * (draws[0] / R) ** 0.5 for R in draws], "k:",
                  label="R^(-1/2)")
        ax.set_title(f"Electricity, {label}")
        ax.set_xlabel("draws per household R")
    axes[0].set_ylabel("sd of the simulated log-likelihood")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
