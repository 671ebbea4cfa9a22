"""Simulation spread of the mixed logits of mlogit's ``Train`` vignette at its 100 draws.

    python benchmarks/train_simulation_error.py              # seeds 1..40, all three models
    python benchmarks/train_simulation_error.py --seeds 10 --json spread.json

mlogit's vignette "The random parameters (or mixed) logit model" (``c5.mxl``, mlogit
1.0-0 to 1.1-3) fits, on the Train data with every attribute's sign reversed, price / 100 *
2.20371 and time / 60, a panel mixed logit with normal ``time``, ``change`` and ``comfort``
at R = 100 Halton draws: uncorrelated (``Train.mxlu``), correlated (``Train.mxlc``) and
with ``time`` and ``comfort`` correlated only (``Train.mxlc2``). This script fits the
three with ``cm.MixedLogit`` over independent draw sets (``rng`` = 1 .. ``--seeds``) and
prints, for every quantity the vignette prints, the mean and the standard deviation over
the draw sets: the simulation spread of the estimator at 100 draws, which sets the
tolerances of ``tests/test_mixed_published.py``. Standard errors are the outer product of
the per-person scores (``cov_type="opg"``), the BHHH covariance that mlogit reports after
``method = "bhhh"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RANDOM = ("time", "change", "comfort")
FORMULA = "choice ~ price + time + change + comfort | 0"
MODELS = {"mxlu": False, "mxlc": True, "mxlc2": ["time", "comfort"]}


def train_data():
    """The vignette's data: all four attributes reversed, price in euros, time in hours."""
    import choicemodels as cm

    df = cm.datasets.load_train()
    for column in ("price", "time", "change", "comfort"):
        df[column] = -df[column]
    df["price"] = df["price"] / 100 * 2.20371
    df["time"] = df["time"] / 60
    return df


def fit(df, correlated, seed: int, draws: int = 100):
    import choicemodels as cm

    model = cm.MixedLogit(FORMULA, data=df, obs="chid", alt="alt", panel="id",
                          random={v: "normal" for v in RANDOM}, correlated=correlated,
                          draws=draws, sequence="halton", rng=seed)
    return model.fit(cov_type="opg")


def wald(r, names: list[str]) -> float:
    """Wald statistic of ``names`` = 0."""
    idx = [r.param_names.index(n) for n in names]
    theta = np.asarray(r.estimates)[idx]
    return float(theta @ np.linalg.solve(np.asarray(r.covariance)[np.ix_(idx, idx)], theta))


def summarise(r) -> dict[str, float]:
    """Every figure of the vignette that this fit has, by the vignette's names."""
    out = {"llf": float(r.llf), "converged": float(r.converged)}
    out.update({n: float(v) for n, v in r.params.items()})
    dist = r.random_distribution()
    cov = r.random_covariance()
    cor = r.random_covariance(correlation=True)
    names = [v for v in RANDOM if v in dist.index]
    for v in names:
        out[f"sd.{v}"], out[f"se.sd.{v}"] = float(dist.loc[v, "sd"]), float(dist.loc[v, "sd se"])
        out[f"var.{v}"] = float(cov[("estimate", v)][v])
        out[f"se.var.{v}"] = float(cov[("std err", v)][v])
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if cov[("std err", b)][a] == 0:  # not correlated: zero by construction
                continue
            out[f"cov.{a}:{b}"] = float(cov[("estimate", b)][a])
            out[f"se.cov.{a}:{b}"] = float(cov[("std err", b)][a])
            out[f"cor.{a}:{b}"] = float(cor[("estimate", b)][a])
            out[f"se.cor.{a}:{b}"] = float(cor[("std err", b)][a])
    out["wtp.time"] = out["time"] / out["price"]
    out["wtp.sd.time"] = out["sd.time"] / out["price"]
    chol = [n for n in r.param_names if n.startswith("chol.")]
    if len(chol) == 6:
        out["wald.chol"] = wald(r, chol)
        out["wald.offdiag"] = wald(r, [n for n in chol if n.split(".")[1].split(":")[0]
                                       != n.split(":")[1]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="draw sets: rng = 1 .. SEEDS")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--json", type=Path, help="write every fit's figures to this file")
    args = parser.parse_args()
    df = train_data()
    runs: dict[str, list[dict]] = {name: [] for name in MODELS}
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        for name, correlated in MODELS.items():
            runs[name].append(summarise(fit(df, correlated, seed, args.draws)))
        runs["mxlc"][-1]["lr.mxlc-mxlu"] = 2 * (runs["mxlc"][-1]["llf"] - runs["mxlu"][-1]["llf"])
    print(f"{args.seeds} draw sets x 3 models at {args.draws} draws: "
          f"{time.perf_counter() - start:.0f} s\n")
    for name, fits in runs.items():
        print(f"## {name}: converged {sum(f['converged'] for f in fits):.0f} of {len(fits)}")
        print("| figure | mean | sd over draw sets |\n|---|---:|---:|")
        for key in fits[0]:
            if key == "converged":
                continue
            values = np.array([f[key] for f in fits])
            print(f"| {key} | {values.mean():.4f} | {values.std(ddof=1):.4f} |")
        print()
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
