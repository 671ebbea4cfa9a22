"""Time building a formula design for 100,000 situations x 5 alternatives.

Run: python benchmarks/bench_design.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from choicemodels.formula import design_from_formula


def main(n_obs: int = 100_000, n_alts: int = 5, repeats: int = 3) -> None:
    rng = np.random.default_rng(0)
    rows = n_obs * n_alts
    df = pd.DataFrame({
        "id": np.repeat(np.arange(n_obs), n_alts),
        "alt": np.tile([f"a{j}" for j in range(n_alts)], n_obs),
        "cost": rng.normal(size=rows),
        "time": rng.uniform(1, 2, size=rows),
        "wait": rng.normal(size=rows),
        "income": np.repeat(rng.normal(size=n_obs), n_alts),
    })
    choice = np.zeros(rows, np.int64)
    choice[np.arange(n_obs) * n_alts + rng.integers(0, n_alts, n_obs)] = 1
    df["choice"] = choice
    formula = "choice ~ cost + np.log(time) | income | wait"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        d = design_from_formula(formula, df, obs="id", alt="alt")
        times.append(time.perf_counter() - start)
    print(f"{formula!r}: N={d.n_obs}, J={d.n_alts}, K={d.n_params}; "
          f"best {min(times):.2f} s, all {[round(t, 2) for t in times]}")


if __name__ == "__main__":
    main()
