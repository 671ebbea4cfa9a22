"""Logit fit on data larger than a worker's memory: Parquet partitions through a LocalCluster.

Writes N situations x J = 5 alternatives x K = 6 generic variables in long format as Parquet
files of whole situations, fits ``cm.Logit`` on ``dask.dataframe.read_parquet`` through a
LocalCluster whose memory limit per worker is well below the size of the data, and reports
the wall time, the peak resident memory of every worker, and the agreement with the
in-memory fit on a subsample that fits in memory (the first files, fitted both ways).

    python benchmarks/bench_scale.py                         # 10 million situations
    python benchmarks/bench_scale.py --n-obs 1000000 --workers 2 --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import choicemodels as cm

J, K = 5, 6
FORMULA = "choice ~ " + " + ".join(f"x{k}" for k in range(1, K + 1)) + " | 0"
BETA = np.array([-1.0, 0.5, 0.8, -0.3, 0.2, 1.2])
# Newton-decrement tolerance: with millions of situations the rounding of the summed gradient
# keeps the decrement near 1e-12, so the model's default (1e-14) cannot be reached.
TOL = 1e-8


def write_partitions(folder: Path, n_obs: int, per_file: int, seed: int) -> int:
    """Simulated logit data, ``per_file`` situations per Parquet file; returns the bytes in memory."""
    folder.mkdir(parents=True)
    in_memory = 0
    for i, start in enumerate(range(0, n_obs, per_file)):
        n = min(per_file, n_obs - start)
        rng = np.random.default_rng([seed, i])
        X = rng.normal(size=(n, J, K))
        chosen = (X @ BETA + rng.gumbel(size=(n, J))).argmax(axis=1)
        frame = pd.DataFrame(X.reshape(n * J, K), columns=[f"x{k}" for k in range(1, K + 1)])
        frame.insert(0, "id", np.repeat(np.arange(start, start + n), J))
        frame.insert(1, "alt", np.tile(np.arange(J), n))
        frame.insert(2, "choice", (np.arange(J)[None, :] == chosen[:, None]).ravel().astype(np.int8))
        frame.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
        in_memory += int(frame.memory_usage(index=False).sum())
    return in_memory


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-obs", type=int, default=10_000_000)
    parser.add_argument("--per-file", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--memory-limit", default="1.5GB", help="per worker")
    parser.add_argument("--subsample", type=int, default=1_000_000, help="situations fitted in memory too")
    parser.add_argument("--folder", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()

    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    root = Path(args.folder or tempfile.mkdtemp(prefix="bench_scale_"))
    folder = root / "situations"
    t0 = time.perf_counter()
    size = write_partitions(folder, args.n_obs, args.per_file, seed=0)
    print(f"wrote {args.n_obs:,} situations x J={J} x K={K} ({size / 1e9:.2f} GB as pandas, "
          f"{sum(f.stat().st_size for f in folder.iterdir()) / 1e9:.2f} GB Parquet) "
          f"in {time.perf_counter() - t0:.0f} s")

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=args.memory_limit, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        t0 = time.perf_counter()
        model = cm.Logit(FORMULA, data=dd.read_parquet(folder), obs="id", alt="alt")
        t_setup = time.perf_counter() - t0
        result = model.fit(tol=TOL)
        t_fit = time.perf_counter() - t0 - t_setup
        peaks = client.run(_peak_rss_bytes)
        print(f"distributed fit: {args.workers} workers x {args.memory_limit}: setup (read, "
              f"validate, persist) {t_setup:.0f} s, fit {t_fit:.0f} s ({result.n_iter} Newton "
              f"iterations), converged={result.converged}")
        print("peak memory per worker: " + ", ".join(f"{v / 1e9:.2f} GB" for v in peaks.values()))
        print("estimates:", np.round(result.params.to_numpy(), 4), "truth:", BETA)
        del model, result

        files = sorted(folder.iterdir())[: -(-args.subsample // args.per_file)]
        sub = dd.read_parquet(files)
        r_dist = cm.Logit(FORMULA, data=sub, obs="id", alt="alt").fit(tol=TOL)
    frame = pd.read_parquet(files)
    t0 = time.perf_counter()
    r_mem = cm.Logit(FORMULA, data=frame, obs="id", alt="alt").fit(tol=TOL)
    t_mem = time.perf_counter() - t0
    print(f"subsample of {r_mem.nobs:,} situations: in-memory fit {t_mem:.0f} s (with setup); "
          f"max |coef diff| {np.max(np.abs(r_dist.params - r_mem.params)):.1e}, "
          f"|llf diff| {abs(r_dist.llf - r_mem.llf):.1e} (llf {r_mem.llf:.4f}), "
          f"max rel. bse diff {np.max(np.abs(r_dist.bse / r_mem.bse - 1)):.1e}")
    if args.folder is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
