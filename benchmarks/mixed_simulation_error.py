"""Simulation error of the panel mixed logit on Electricity, independently of choicemodels' model.

    python benchmarks/mixed_simulation_error.py                # 100, 500, 600 and 2,000 draws
    python benchmarks/mixed_simulation_error.py --draws 600 --seeds 8

The simulated log-likelihood of xlogit's documented Electricity example (six independent
normal coefficients, panel by household) is written here in plain numpy, with its analytic
gradient, and evaluated at xlogit's published estimates (600 draws). With xlogit's draws
(unscrambled Halton, primes 2, 3, 5, 7, 11, 13, the first 100 points dropped, consecutive
blocks of R points per household) it reproduces xlogit's printed log-likelihood, -3888.465.

The simulation error at R draws is then measured over ``--seeds`` independent draw sets
(scrambled Halton from ``scipy.stats.qmc``, pseudo-random normals, MLHS):
- of the log-likelihood at those fixed parameters: its standard deviation over the draw sets;
- of the estimates, to first order: the maximiser of the simulated log-likelihood with draw
  set d is ``theta_d = theta - H^{-1} g_d(theta)`` (one Newton step from the published
  estimates ``theta``), with ``g_d`` the gradient under draw set d and H the Hessian (finite
  differences of the analytic gradient under xlogit's draws); the standard deviation of
  ``theta_d`` over the draw sets is the simulation standard deviation of each estimate.

These figures set the tolerances of tests/test_mixed_published.py. Also printed: standard
errors from the Hessian and from the outer product of the per-household scores (BHHH/OPG)
at the published estimates, which differ by more than the simulation error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, softmax
from scipy.stats import norm, qmc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARS = ("pf", "cl", "loc", "wk", "tod", "seas")
NAMES = [*VARS, *(f"sd.{v}" for v in VARS)]
#: xlogit's documentation, examples/mixed_logit_model.ipynb (Electricity, n_draws=600)
XLOGIT_DOCS = {"pf": -0.9972102, "cl": -0.2196812, "loc": 2.2901807, "wk": 1.6943247,
               "tod": -9.6752279, "seas": -9.6961836, "sd.pf": 0.2207255, "sd.cl": 0.4115547,
               "sd.loc": 1.7840255, "sd.wk": 1.2296227, "sd.tod": 2.2757059, "sd.seas": 1.4862206}


class Electricity:
    """X (N, J, K), chosen (N,), household index (N,) of the bundled data."""

    def __init__(self) -> None:
        from choicemodels.datasets import load_electricity

        df = load_electricity()
        self.N = df["chid"].nunique()
        self.X = df[list(VARS)].to_numpy(dtype=float).reshape(self.N, 4, len(VARS))
        self.chosen = df["choice"].to_numpy().reshape(self.N, 4).argmax(axis=1)
        self.person = df["id"].to_numpy().reshape(self.N, 4)[:, 0] - 1
        self.P = int(self.person.max()) + 1

    def scores(self, theta: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Simulated log-likelihood and per-household scores (P, 2K) with draws z (P, R, K)."""
        K = len(VARS)
        b, s = theta[:K], theta[K:]
        U = np.einsum("njk,nrk->nrj", self.X, (b + s * z)[self.person])  # (N, R, J)
        rows = np.arange(self.N)
        log_p = U[rows, :, self.chosen] - logsumexp(U, axis=2)  # (N, R)
        dx = self.X[rows, self.chosen][:, None, :] - np.einsum("nrj,njk->nrk", softmax(U, axis=2), self.X)
        log_l = np.zeros((self.P, z.shape[1]))
        np.add.at(log_l, self.person, log_p)  # log of the product over a household's situations
        D = np.zeros((self.P, z.shape[1], K))
        np.add.at(D, self.person, dx)
        w = softmax(log_l, axis=1)  # each draw's share of the household's simulated likelihood
        scores = np.hstack([np.einsum("pr,prk->pk", w, D), np.einsum("pr,prk->pk", w, D * z)])
        return float((logsumexp(log_l, axis=1) - np.log(z.shape[1])).sum()), scores


def halton_xlogit(P: int, R: int, drop: int = 100) -> np.ndarray:
    """xlogit's draws: unscrambled Halton, the first ``drop`` points dropped, (P, R, K)."""
    u = qmc.Halton(d=len(VARS), scramble=False).random(drop + P * R)[drop:]
    return norm.ppf(u).reshape(P, R, len(VARS))


def draws(kind: str, P: int, R: int, seed: int) -> np.ndarray:
    K = len(VARS)
    if kind == "halton":
        u = qmc.Halton(d=K, scramble=True, seed=seed).random(P * R).reshape(P, R, K)
    elif kind == "pseudo":
        return np.random.default_rng(seed).standard_normal((P, R, K))
    else:  # mlhs: one shifted grid per household and dimension, in random order
        gen = np.random.default_rng(seed)
        u = (np.arange(R)[None, :, None] + gen.uniform(size=(P, 1, K))) / R
        u = np.take_along_axis(u, np.argsort(gen.uniform(size=(P, R, K)), axis=1), axis=1)
    return norm.ppf(np.clip(u, 1e-15, 1 - 1e-15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", default="100,500,600,2000")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--kinds", default="halton", help="halton, pseudo, mlhs (comma-separated)")
    args = parser.parse_args()
    data = Electricity()
    theta = np.array([XLOGIT_DOCS[n] for n in NAMES])
    z0 = halton_xlogit(data.P, 600)
    ll0, s0 = data.scores(theta, z0)
    print(f"log-likelihood at xlogit's published estimates, xlogit's 600 Halton draws: {ll0:.3f} "
          f"(published: -3888.465); largest |gradient| {np.abs(s0.sum(0)).max():.3f}")
    h = 1e-5
    H = np.empty((len(theta), len(theta)))
    for i in range(len(theta)):
        step = np.zeros(len(theta))
        step[i] = h
        H[:, i] = (data.scores(theta + step, z0)[1].sum(0) - data.scores(theta - step, z0)[1].sum(0)) / (2 * h)
    H = (H + H.T) / 2
    se_hess = np.sqrt(np.diag(np.linalg.inv(-H)))
    se_opg = np.sqrt(np.diag(np.linalg.inv(s0.T @ s0)))
    print("\n| coefficient | published | SE Hessian | SE OPG |")
    print("|---|---:|---:|---:|")
    for n, v, a, o in zip(NAMES, theta, se_hess, se_opg):
        print(f"| {n} | {v:.4f} | {a:.4f} | {o:.4f} |")
    for R in (int(r) for r in args.draws.split(",")):
        for kind in args.kinds.split(","):
            lls, est = [], []
            for seed in range(args.seeds):
                ll, s = data.scores(theta, draws(kind, data.P, R, seed))
                lls.append(ll)
                est.append(theta - np.linalg.solve(H, s.sum(0)))
            est = np.array(est)
            sd = est.std(axis=0, ddof=1)
            print(f"\n{R} draws, {kind}, {args.seeds} draw sets: log-likelihood at the published "
                  f"estimates mean {np.mean(lls):.2f}, sd {np.std(lls, ddof=1):.2f}")
            print("| coefficient | simulation sd | in SE (Hessian) | mean of the estimates |")
            print("|---|---:|---:|---:|")
            for n, d, e, m in zip(NAMES, sd, se_hess, est.mean(axis=0)):
                print(f"| {n} | {d:.4f} | {d / e:.2f} | {m:.4f} |", flush=True)


if __name__ == "__main__":
    main()
