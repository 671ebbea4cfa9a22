"""Multinomial probit kernels: GHK log-likelihood (and analytic gradient) timings.

    python benchmarks/bench_probit.py              # N=10,000 x J=5, R=500
    python benchmarks/bench_probit.py --n-obs 2000 --draws 200

Workload: unstructured error covariance (random positive-definite, scale-normalised),
all alternatives available, K=3 standard normal attributes, scrambled Halton draws fixed
before timing. Rows of the table:

- ``ghk loglike`` / ``ghk loglike + gradient``: :func:`choicemodels.kernels.probit.probit_loglike`;
- ``quadrature loglike + gradient (iid)``: the exact iid kernel on the same data;
- ``scipy mvn.cdf loop``: a Python loop of ``scipy.stats.multivariate_normal.cdf`` (its
  default tolerance) over a subsample of situations, extrapolated linearly to N;
- ``floor``: one ``scipy.special.ndtr`` and one ``ndtri`` over all N x R x (J-1) values,
  in chunks of 2**20, the arithmetic a GHK pass cannot avoid.

Each time is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import special
from scipy.stats import multivariate_normal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from choicemodels.kernels.draws import uniform_draws  # noqa: E402
from choicemodels.kernels.mvn import (  # noqa: E402
    cov_start,
    diff_covariance,
    difference_matrix,
    n_cov_params,
)
from choicemodels.kernels.probit import group_situations, probit_loglike  # noqa: E402


def best_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def floor(n_values: int, rng: np.random.Generator) -> None:
    chunk = 2**20
    x = rng.normal(size=chunk)
    u = rng.random(chunk)
    for start in range(0, n_values, chunk):
        size = min(chunk, n_values - start)
        special.ndtr(x[:size])
        special.ndtri(u[:size])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-obs", type=int, default=10_000)
    parser.add_argument("--n-alts", type=int, default=5)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--scipy-sample", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n_obs, n_alts, n_draws = args.n_obs, args.n_alts, args.draws

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_obs, n_alts, 3))
    chosen = rng.integers(0, n_alts, n_obs)
    avail = np.ones((n_obs, n_alts), bool)
    groups = group_situations(chosen, avail)
    theta = cov_start("unstructured", n_alts) + 0.3 * rng.normal(
        size=n_cov_params("unstructured", n_alts)
    )
    params = np.r_[0.8, -0.5, 0.3, theta]
    start = time.perf_counter()
    uniforms = uniform_draws(n_obs, n_alts - 2, n_draws, sequence="halton", rng=1)
    draws_time = time.perf_counter() - start

    kw = dict(structure="unstructured", ref=0, method="ghk", uniforms=uniforms)
    t_ll = best_time(lambda: probit_loglike(params, X, groups, **kw), args.repeat)
    t_grad = best_time(lambda: probit_loglike(params, X, groups, grad=True, **kw), args.repeat)
    t_quad = best_time(
        lambda: probit_loglike(params[:3], X, groups, structure="iid", ref=0,
                               method="quadrature", grad=True),
        args.repeat,
    )
    n_values = n_obs * n_draws * (n_alts - 1)
    t_floor = best_time(lambda: floor(n_values, np.random.default_rng(2)), args.repeat)

    omega, _ = diff_covariance(theta, "unstructured", n_alts)
    utility = X @ params[:3]
    sample = np.arange(min(args.scipy_sample, n_obs))

    def scipy_loop() -> None:
        for i in sample:
            c = chosen[i]
            others = np.flatnonzero(np.arange(n_alts) != c)
            diff = difference_matrix(c, others, 0, n_alts)
            multivariate_normal.cdf(utility[i, c] - utility[i, others],
                                    cov=diff @ omega @ diff.T, rng=0)

    t_scipy = best_time(scipy_loop, 1) * n_obs / sample.size

    print(f"N={n_obs:,} J={n_alts} R={n_draws} (unstructured covariance, Halton draws; "
          f"draw generation {draws_time:.2f} s, once)")
    print(f"scipy loop timed on {sample.size} situations and extrapolated to N")
    rows = [
        ("ghk loglike", t_ll),
        ("ghk loglike + gradient", t_grad),
        ("quadrature loglike + gradient (iid)", t_quad),
        ("scipy mvn.cdf loop (extrapolated)", t_scipy),
        ("floor: ndtr + ndtri over N*R*(J-1)", t_floor),
    ]
    print(f"{'':38s}{'seconds':>10s}{'x floor':>10s}{'scipy / this':>14s}")
    for name, seconds in rows:
        print(f"{name:38s}{seconds:10.3f}{seconds / t_floor:10.2f}{t_scipy / seconds:14.1f}")


if __name__ == "__main__":
    main()
