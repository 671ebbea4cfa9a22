"""Throughput of the Gumbel-max choice simulator, in situation-alternative draws per second.

Run: ``python benchmarks/bench_simulate.py``. Single core: BLAS/OpenMP threads are pinned to 1
before numpy loads, and the timer is the process's CPU time, so that other load on the
machine does not count. Compares ``simulate_choices`` with plain whole-array routes:
``-log(-log U)`` from ``Generator.random`` in place, ``Generator.gumbel``, and
``-log E`` from ``Generator.standard_exponential``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402

import choicemodels as cm  # noqa: E402

DRAWS = 10_000_000  # N * J per call
REPEATS = 5


def loglog_uniform(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keys = rng.random(V.shape)
    np.log(keys, out=keys)
    np.negative(keys, out=keys)
    np.log(keys, out=keys)
    np.subtract(V, keys, out=keys)
    return keys.argmax(axis=1)


def generator_gumbel(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keys = rng.gumbel(size=V.shape)
    keys += V
    return keys.argmax(axis=1)


def log_exponential(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keys = rng.standard_exponential(V.shape)
    np.log(keys, out=keys)
    np.subtract(V, keys, out=keys)
    return keys.argmax(axis=1)


def package(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cm.simulate_choices(V, rng=rng)


def package_normal(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cm.simulate_choices(V, "normal", rng=rng)


def draws_per_second(route, V: np.ndarray) -> float:
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(REPEATS):
        start = time.process_time()
        route(V, rng)
        best = min(best, time.process_time() - start)
    return V.size / best


def main() -> None:
    routes = {
        "cm.simulate_choices (gumbel)": package,
        "-log(-log U), Generator.random": loglog_uniform,
        "Generator.gumbel": generator_gumbel,
        "-log E, Generator.standard_exponential": log_exponential,
        "cm.simulate_choices (iid normal)": package_normal,
    }
    print(f"draws per second (best of {REPEATS}, {DRAWS:.0e} draws per call, one thread, CPU time)")
    print(f"{'route':42s}" + "".join(f"{'J=' + str(J):>10s}" for J in (3, 5, 10)))
    for name, route in routes.items():
        cells = []
        for J in (3, 5, 10):
            V = np.random.default_rng(1).normal(size=(DRAWS // J, J))
            cells.append(f"{draws_per_second(route, V) / 1e6:8.1f} M")
        print(f"{name:42s}" + "".join(f"{c:>10s}" for c in cells))


if __name__ == "__main__":
    main()
