"""Full probit fits: wall time (estimates and standard errors) and recovery of the truth.

Simulated data with correlated normal errors (J = 4, K = 3 generic coefficients, no
constants), an unstructured covariance estimated by GHK, and TravelMode for reference.
"Recovered" compares the identified quantities (beta / sqrt(Omega_00) and the covariance
of the error differences normalised by Omega_00) with the truth: the largest |z| over them.

Run: ``python benchmarks/bench_probit_fit.py`` (add ``--quick`` for the first case only).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import choicemodels as cm
from choicemodels.models.probit import error_covariance_se

SIGMA = np.array([
    [1.0, 0.5, 0.2, 0.0],
    [0.5, 1.5, 0.3, 0.2],
    [0.2, 0.3, 1.0, 0.4],
    [0.0, 0.2, 0.4, 2.0],
])
BETA = {"x1": 1.0, "x2": -0.5, "x3": 0.5}


def _max_z(r: cm.ChoiceResults, sim: cm.SimulatedData) -> tuple[float, float]:
    """Largest |z| of the coefficients and of the free covariance entries against the truth."""
    A = np.delete(np.eye(4), 0, axis=0) - np.eye(4)[0]
    omega = A @ sim.cov @ A.T
    names = list(BETA)
    z_beta = (r.params[names] - sim.params[names] / np.sqrt(omega[0, 0])) / r.bse[names]
    k = r.n_beta
    se = error_covariance_se(r.spec, r.estimates[k:], r.covariance[k:, k:]).to_numpy()
    free = np.tril(np.ones_like(se, bool)) & (se > 0)
    z_cov = (r.error_covariance().to_numpy() - omega / omega[0, 0])[free] / se[free]
    return float(np.abs(z_beta).max()), float(np.abs(z_cov).max())


def simulated_case(n_obs: int, draws: int) -> dict:
    sim = cm.simulate_dataset(n_obs, 4, BETA, errors="normal", cov=SIGMA, rng=2024)
    t0 = time.perf_counter()
    model = cm.Probit("choice ~ x1 + x2 + x3 | 0", data=sim.data, **sim.columns,
                      cov="unstructured", draws=draws, rng=0)
    r = model.fit()
    wall = time.perf_counter() - t0
    z_beta, z_cov = _max_z(r, sim)
    return {"case": f"simulated N={n_obs}, J=4, K=3", "draws": draws, "P": r.k_params,
            "iter": r.n_iter, "fit s": r.fit_time, "total s": wall, "llf": r.llf,
            "max|z| beta": z_beta, "max|z| cov": z_cov, "converged": r.converged}


def travel_case() -> dict:
    df = cm.datasets.load_travel_mode()
    t0 = time.perf_counter()
    r = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
                  ref="car", cov="unstructured", rng=0).fit()
    wall = time.perf_counter() - t0
    return {"case": "TravelMode N=210, J=4", "draws": 500, "P": r.k_params, "iter": r.n_iter,
            "fit s": r.fit_time, "total s": wall, "llf": r.llf, "max|z| beta": float("nan"),
            "max|z| cov": float("nan"), "converged": r.converged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the N = 2,000 case")
    args = parser.parse_args()
    rows = [simulated_case(2000, 500)]
    if not args.quick:
        rows += [simulated_case(6000, 300), travel_case()]
    header = f"{'case':<30}{'draws':>6}{'P':>4}{'iter':>6}{'fit s':>8}{'total s':>9}" \
             f"{'llf':>12}{'max|z| b':>10}{'max|z| cov':>11}{'conv':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['case']:<30}{r['draws']:>6}{r['P']:>4}{r['iter']:>6}{r['fit s']:>8.2f}"
              f"{r['total s']:>9.2f}{r['llf']:>12.3f}{r['max|z| beta']:>10.2f}"
              f"{r['max|z| cov']:>11.2f}{str(r['converged']):>6}")
    print("'total s' includes the model build, start values and standard errors.")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("error", cm.ConvergenceWarning)
        main()
