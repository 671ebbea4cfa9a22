"""CPU time of one compiled evaluation of the nested logit's and the logit's sums.

    python benchmarks/time_nested_kernel.py [--n 100000] [--j 5] [--k 6] [--repeat 30]

One thread (``threads=1``), CPU time (``time.process_time``), the fastest of ``--repeat``
evaluations of each order (0: log-likelihood, 1: + gradient, 2: + Hessian), after a warm-up
call that compiles. Data as ``bench_nested.py``: standard normal attributes, two nests.
Times the package of this checkout (put first on the import path), not an installed one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from choicemodels.kernels.logit import logit_loglike_derivatives  # noqa: E402
from choicemodels.kernels.nested import nested_loglike_derivatives  # noqa: E402


def best(functions, repeat):
    """The smallest CPU time of each function over ``repeat`` rounds, the functions taking
    turns (so that a busy spell of a shared machine slows all of them alike)."""
    for f in functions:
        f()
    times = [[] for _ in functions]
    for _ in range(repeat):
        for f, ts in zip(functions, times):
            t = time.process_time()
            f()
            ts.append(time.process_time() - t)
    return [min(ts) for ts in times]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--j", type=int, default=5)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    N, J, K = args.n, args.j, args.k
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, J, K))
    chosen = rng.integers(0, J, N)
    avail = np.ones((N, J), bool)
    nest_of = (np.arange(J) >= J // 2).astype(np.int64)
    beta, lam = np.linspace(-1, 1, K), np.array([0.5, 0.8])
    functions = [
        *(lambda order=order: nested_loglike_derivatives(beta, lam, X, chosen, avail, nest_of,
                                                         order=order, threads=1)
          for order in (0, 1, 2)),
        lambda: logit_loglike_derivatives(beta, X, chosen, avail, threads=1),
    ]
    times = best(functions, args.repeat)
    for order in (0, 1, 2):
        print(f"nested order {order}: {1e3 * times[order]:7.2f} ms")
    print(f"logit  order 2: {1e3 * times[3]:7.2f} ms")
    print(f"nested / logit (order 2): {times[2] / times[3]:.2f}")


if __name__ == "__main__":
    main()
