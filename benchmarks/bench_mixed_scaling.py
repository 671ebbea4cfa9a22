"""Mixed logit: cost of one evaluation against draws, situations and threads, and peak memory
against draws.

    python benchmarks/bench_mixed_scaling.py            # simulated panels, J=5, K=5 random
    python benchmarks/bench_mixed_scaling.py --quick    # smaller sizes, to check it runs

For each size, the median of ``--repeat`` evaluations of the simulated log-likelihood with
its gradient (the pass BHHH and BFGS steps take) and with the analytic Hessian (Newton's
pass), on 1 thread and on every available core. Linear scaling shows as a constant time per
situation x draw (the last columns). Peak memory: ``ru_maxrss`` of a fresh process that
builds the model and fits it, against draws (the draws themselves, P x K x R doubles, are
the only array that grows with R).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def simulate(N: int, J: int, K: int, panel_size: int, *, rng: int = 0):
    """Panel mixed logit data: N situations, ``panel_size`` per person, K normal coefficients."""
    gen = np.random.default_rng(rng)
    persons = N // panel_size
    person = np.repeat(np.arange(persons), panel_size)
    beta = np.linspace(-1, 1, K) + 0.5 * gen.standard_normal((persons, K))
    X = gen.standard_normal((person.size, J, K))
    V = np.einsum("njk,nk->nj", X, beta[person])
    chosen = np.argmax(V + gen.gumbel(size=V.shape), axis=1)
    return X, chosen, person


def model(N: int, J: int, K: int, draws: int, panel_size: int = 10):
    import choicemodels as cm

    X, chosen, person = simulate(N, J, K, panel_size)
    m = cm.MixedLogit.from_arrays(X, chosen, panel=person, draws=draws,
                                  random={f"x{k}": "normal" for k in range(K)})
    return m


def median_seconds(fun, repeat: int) -> float:
    fun()  # compile, draws
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def pass_table(sizes: list[tuple[int, int]], J: int, K: int, repeat: int) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"\n## One evaluation, J={J}, K={K} random, panels of 10 (median of {repeat})\n")
    print(f"| N | draws | gradient, 1 thread (s) | gradient, {cores} threads (s) | Hessian, 1 "
          f"thread (s) | Hessian, {cores} threads (s) | gradient ns per situation x draw "
          "(1 thread) | Hessian ns per situation x draw (1 thread) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for N, R in sizes:
        m = model(N, J, K, R)
        p = m.start_params() + 0.1
        row = []
        for fun in (m._sums, m._derivatives):
            for threads in (1, None):
                m._threads = threads
                row.append(median_seconds(lambda: fun(p), repeat))
        per = [row[0] / (N * R) * 1e9, row[2] / (N * R) * 1e9]
        print(f"| {N:,} | {R:,} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} "
              f"| {per[0]:.1f} | {per[1]:.1f} |", flush=True)


def child_fit(N: int, J: int, K: int, R: int) -> None:
    m = model(N, J, K, R)
    t = time.perf_counter()
    r = m.fit(progress=False)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak, "n_iter": r.n_iter,
                                  "converged": bool(r.converged)}))


def memory_table(N: int, J: int, K: int, draws: list[int]) -> None:
    print(f"\n## Fit against draws: N={N:,}, J={J}, K={K} random (fresh process each)\n")
    print("| draws | fit (s) | iterations | peak MB | draws' own MB (P x K x R) | X's MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for R in draws:
        out = subprocess.run([sys.executable, __file__, "--child", str(N), str(J), str(K), str(R)],
                             capture_output=True, text=True, check=True)
        line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
        r = json.loads(line[len("RESULT "):])
        print(f"| {R:,} | {r['seconds']:.2f} | {r['n_iter']} | {r['peak_mb']:.0f} "
              f"| {N // 10 * K * R * 8 / 2**20:.0f} | {N * J * K * 8 / 2**20:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_fit(*args.child)
        return
    J, K = 5, 5
    if args.quick:
        pass_table([(2_000, 100), (2_000, 200), (4_000, 100)], J, K, 1)
        memory_table(2_000, J, K, [50, 100])
        return
    pass_table([(10_000, 250), (10_000, 500), (10_000, 1000), (10_000, 2000),
                (20_000, 500), (40_000, 500), (100_000, 500)], J, K, args.repeat)
    memory_table(20_000, J, K, [250, 500, 1000, 2000, 4000])


if __name__ == "__main__":
    main()
