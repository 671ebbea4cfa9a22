"""Analytic probit approximations ("me", "ovus"): accuracy against Genz and GHK, and speed.

    python benchmarks/bench_probit_me.py --accuracy              # J = 3, 5, 10, 20
    python benchmarks/bench_probit_me.py --accuracy --cases 20   # a quick check
    python benchmarks/bench_probit_me.py --speed                 # N = 10,000, J = 10
    python benchmarks/bench_probit_me.py --speed --n-obs 2000 --no-fit

``--accuracy``: for each J and error correlation rho, ``--cases`` random choice
situations: error covariance :math:`D^{1/2}((1 - \\rho) I + \\rho R) D^{1/2}` with R a random
correlation matrix (normalised :math:`WW'`, W standard normal J x J) and standard deviations
uniform in (0.5, 2), utilities standard normal, chosen alternative uniform. The
(J-1)-dimensional probability of the chosen alternative is computed by "me" and "ovus"
(:func:`choicemodels.kernels.me.orthant_log_prob`; "+asc": with the variables in
ascending order of their standardised limits, not used by the model), by GHK with 20,000 scrambled Halton
draws (:func:`choicemodels.kernels.ghk.ghk_log_prob`) and by Genz's algorithm
(:func:`scipy.stats.multivariate_normal.cdf`, absolute error 1e-6, the reference).
Columns: mean and maximum absolute error in P, and the median and 90th percentile of the
relative error :math:`|\\hat P/P - 1|`.

``--speed``: unstructured covariance (random Cholesky parameters), all alternatives
available, K = 5 standard normal attributes; time of one log-likelihood + gradient
(:func:`choicemodels.kernels.probit.probit_loglike`) by "ovus", "me" and GHK with R = 500
(draws generated before timing), best of ``--repeat``; then (unless ``--no-fit``) an
unstructured ``Probit.from_arrays(..., integration="ovus").fit()`` on data simulated with
a known covariance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import multivariate_normal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import choicemodels as cm  # noqa: E402
from choicemodels.kernels.draws import uniform_draws  # noqa: E402
from choicemodels.kernels.ghk import ghk_log_prob  # noqa: E402
from choicemodels.kernels.me import orthant_log_prob  # noqa: E402
from choicemodels.kernels.mvn import cov_start, n_cov_params  # noqa: E402
from choicemodels.kernels.probit import group_situations, probit_loglike  # noqa: E402


def random_error_covariance(n_alts: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    """J x J error covariance with correlations shrunk towards a random correlation matrix."""
    w = rng.standard_normal((n_alts, n_alts))
    r = w @ w.T
    r /= np.sqrt(np.outer(np.diag(r), np.diag(r)))
    corr = (1.0 - rho) * np.eye(n_alts) + rho * r
    sd = rng.uniform(0.5, 2.0, n_alts)
    return corr * np.outer(sd, sd)


def accuracy_case(n_alts: int, rho: float, rng: np.random.Generator, draws: int) -> dict:
    """One situation: P of the chosen alternative by each method."""
    cov = random_error_covariance(n_alts, rho, rng)
    utility = rng.standard_normal(n_alts)
    c = int(rng.integers(n_alts))
    others = np.array([j for j in range(n_alts) if j != c])
    a = -np.eye(n_alts)[[c] * len(others)] + np.eye(n_alts)[others]
    sigma = a @ cov @ a.T
    b = (utility[c] - utility[others])[None, :]
    out = {name + suffix: float(np.exp(orthant_log_prob(b, sigma, variant=name,
                                                        ascending=bool(suffix))[0][0]))
           for name in ("me", "ovus") for suffix in ("", "+asc")}
    u = uniform_draws(1, len(others) - 1, draws, sequence="halton", rng=rng)
    out["ghk"] = float(np.exp(ghk_log_prob(b, np.linalg.cholesky(sigma), u)[0][0]))
    out["genz"] = float(multivariate_normal.cdf(b[0], cov=sigma, abseps=1e-6, releps=0,
                                                maxpts=2_000_000, rng=rng))
    return out


def accuracy(cases: int, alts: list[int], rhos: list[float], draws: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print(f"{'J':>3} {'rho':>4} {'method':>8} {'mean abs':>10} {'max abs':>10} "
          f"{'med rel':>10} {'p90 rel':>10}")
    for n_alts in alts:
        for rho in rhos:
            rows = [accuracy_case(n_alts, rho, rng, draws) for _ in range(cases)]
            ref = np.array([r["genz"] for r in rows])
            for name in ("me", "ovus", "me+asc", "ovus+asc", "ghk"):
                est = np.array([r[name] for r in rows])
                err = np.abs(est - ref)
                rel = err / ref
                print(f"{n_alts:>3} {rho:>4.1f} {name:>8} {err.mean():>10.2e} {err.max():>10.2e} "
                      f"{np.median(rel):>10.2e} {np.quantile(rel, 0.9):>10.2e}", flush=True)


def best_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def speed(n_obs: int, n_alts: int, draws: int, repeat: int, fit: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_beta = 5
    X = rng.standard_normal((n_obs, n_alts, n_beta))
    chosen = rng.integers(0, n_alts, n_obs)
    groups = group_situations(chosen, np.ones((n_obs, n_alts), bool))
    theta = cov_start("unstructured", n_alts) + 0.2 * rng.standard_normal(
        n_cov_params("unstructured", n_alts))
    params = np.r_[np.linspace(-1, 1, n_beta), theta]
    u = uniform_draws(n_obs, n_alts - 2, draws, sequence="halton", rng=seed)
    times = {}
    for method in ("ovus", "me", "ghk"):
        extra = {"uniforms": u} if method == "ghk" else {}

        def run(method=method, extra=extra):
            return probit_loglike(params, X, groups, structure="unstructured", ref=0,
                                  method=method, grad=True, **extra)

        if method != "ghk":
            probit_loglike(params, X[:50], group_situations(chosen[:50], np.ones((50, n_alts), bool)),
                           structure="unstructured", ref=0, method=method, grad=True)  # compile
        times[method] = best_time(run, repeat)
    print(f"log-likelihood + gradient, N = {n_obs:,}, J = {n_alts}, unstructured "
          f"(P = {theta.size}), K = {n_beta}, best of {repeat}:")
    for method, seconds in times.items():
        label = f"ghk R = {draws}" if method == "ghk" else method
        print(f"  {label:>14}: {seconds:8.3f} s   ghk / this = {times['ghk'] / seconds:6.1f}")
    if not fit:
        return
    cov = random_error_covariance(n_alts, 0.5, rng)
    beta = {f"x{k}": v for k, v in enumerate(np.linspace(-1, 1, n_beta))}
    sim = cm.simulate_dataset(n_obs, n_alts, beta, errors="normal", cov=cov, rng=seed)
    model = cm.Probit(sim.formula.split("|")[0] + "| 0", data=sim.data, **sim.columns,
                      cov="unstructured", integration="ovus")
    start = time.perf_counter()
    r = model.fit(progress=False)
    seconds = time.perf_counter() - start
    print(f"unstructured fit by 'ovus', N = {n_obs:,}, J = {n_alts} "
          f"({len(r.params)} parameters): {seconds:.1f} s, converged {r.converged}, "
          f"{r.n_iter} iterations, fit_time {r.fit_time:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accuracy", action="store_true")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--alts", default="3,5,10,20")
    p.add_argument("--rhos", default="0,0.3,0.6,0.9")
    p.add_argument("--ghk-draws", type=int, default=20_000)
    p.add_argument("--n-obs", type=int, default=10_000)
    p.add_argument("--n-alts", type=int, default=10)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-fit", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if not (args.accuracy or args.speed):
        args.accuracy = args.speed = True
    if args.accuracy:
        accuracy(args.cases, [int(a) for a in args.alts.split(",")],
                 [float(r) for r in args.rhos.split(",")], args.ghk_draws, args.seed)
    if args.speed:
        speed(args.n_obs, args.n_alts, args.draws, args.repeat, not args.no_fit, args.seed)


if __name__ == "__main__":
    main()
