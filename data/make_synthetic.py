"""Write the synthetic datasets ``synthetic_logit.csv`` and ``synthetic_probit.csv``.

Both are long-format simulations from :func:`choicemodels.simulate_dataset` with known
coefficients; the truth (formula, coefficients, error distribution, seed) goes to
``synthetic_truth.json``. Run from a checkout: ``python data/make_synthetic.py``.
Rerunning with the same seeds reproduces the files exactly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DATASETS = {
    "synthetic_logit": dict(
        n_obs=3000,
        n_alts=3,
        beta={"cost": -1.0, "time": -0.5},
        asc=[0.5, -0.5],
        gamma={"income": [0.8, -0.4]},
        errors="gumbel",
        rng=20240601,
    ),
    "synthetic_probit": dict(
        n_obs=2500,
        n_alts=4,
        beta={"cost": -1.0, "time": -0.5},
        asc=[0.3, -0.3, 0.0],
        gamma={"income": [0.5, -0.5, 0.25]},
        errors="normal",
        cov=[
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.5, 0.0],
            [0.0, 0.5, 1.0, 0.0],
            [0.0, 0.0, 0.0, 2.0],
        ],
        rng=20240602,
    ),
}


def main() -> None:
    import choicemodels as cm

    truth = {}
    for name, spec in DATASETS.items():
        sim = cm.simulate_dataset(**spec)
        path = HERE / f"{name}.csv"
        sim.data.to_csv(path, index=False, float_format="%.6g")
        truth[name] = {"file": path.name, "seed": spec["rng"], **sim.truth()}
        truth[name]["error_covariance_vs_ref"] = sim.error_covariance().to_numpy().tolist()
        print(f"{path.name}: {len(sim.data)} rows, {path.stat().st_size / 1e6:.2f} MB, {sim.formula}")
    (HERE / "synthetic_truth.json").write_text(json.dumps(truth, indent=2) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))  # run from a checkout
    main()
