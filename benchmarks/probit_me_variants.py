"""Two more of Bhat's (2018) analytic variants, measured before building them: TVBS and
OVBS screened in pairs, against "ovbs" and "ovus" and GHK on the known-truth design.

    python benchmarks/probit_me_variants.py                 # J = 10, 150 situations (~10 min)
    python benchmarks/probit_me_variants.py --alts 5 --cases 300

Situations of the ``--bias`` design of ``bench_probit_me.py`` at the truth (coefficients
(1, -0.5, 0.5, 0.8, -1) on five standard normal attributes, error covariance 0.5 I + 0.5 R,
choices drawn from the model), each (J - 1)-dimensional orthant probability in
Gibson-Glasbey-Elston order. Reference: Genz's algorithm
(:func:`scipy.stats.multivariate_normal.cdf`, absolute error 1e-9, relative 1e-6).

Both variants condition on two variables at a time: the pair's exact truncated moments
move the rest by their regression on it. With :math:`F = \\log\\Phi_2(x_p; S_{pp})`,
:math:`g = \\nabla F` and :math:`H = \\nabla^2 F` (the truncated pair has mean
:math:`-S_{pp} g` and covariance :math:`S_{pp} + S_{pp} H S_{pp}`),

.. math:: x_r \\leftarrow x_r + S_{rp}\\, g, \\qquad S_{rr} \\leftarrow S_{rr} + S_{rp} H S_{pr},

the bivariate form of the univariate (Mendell-Elston) step of :mod:`choicemodels.kernels.me`.

- ``tvbs``: Bhat's two-variate bivariate screening with his quadrivariate approximation
  :math:`\\Phi_4 \\approx \\Phi_3(1,2,3)\\,\\Phi_2^{T}(3,4)/\\Phi_1^{T}(3)` (T: the state after
  truncating the pair (1, 2)). Its bivariate factors cancel between steps, leaving
  :math:`\\log P \\approx \\sum_k \\log\\Phi_3^{T_k}(2k, 2k+1, 2k+2) - \\sum_{k \\ge 1}
  \\log\\Phi_1^{T_k}(2k)`, :math:`T_k` the state after k pairs.
- ``ovbs-pairs``: OVBS's trivariate-over-bivariate ratios, but the variables before each
  ratio's block screened in pairs instead of one at a time.

Values only, row by row in NumPy: a measurement, not an implementation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import special
from scipy.stats import multivariate_normal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from bench_probit_me import _known_truth_covariance  # noqa: E402
from choicemodels.kernels.draws import uniform_draws  # noqa: E402
from choicemodels.kernels.ghk import ghk_log_prob  # noqa: E402
from choicemodels.kernels.me import conditioning_order, orthant_log_prob  # noqa: E402
from choicemodels.kernels.mvn import _LOG_SQRT_2PI, bvn_log_cdf  # noqa: E402
from choicemodels.kernels.tvn import tvn_log_cdf  # noqa: E402


def block_log_cdf(x: np.ndarray, cov: np.ndarray) -> float:
    """log Pr(w < x), w ~ N(0, cov), for 1 to 3 variables (the package's closed forms)."""
    sd = np.sqrt(np.diag(cov))
    h, corr = x / sd, cov / np.outer(sd, sd)
    if len(x) == 1:
        return float(special.log_ndtr(h[0]))
    if len(x) == 2:
        return float(bvn_log_cdf(h[:1], h[1:], corr[0, 1:2])[0])
    return float(tvn_log_cdf(h[None], corr[[0, 0, 1], [1, 2, 2]][None])[0])


def pair_log_derivatives(x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian in x of log Phi_2(x; cov), from Phi_2's derivatives
    d1 = phi(h1) Phi((h2 - r h1)/sqrt(1 - r^2)), d12 = phi_2, d11 = -h1 d1 - r phi_2."""
    sd = np.sqrt(np.diag(cov))
    h, r = x / sd, cov[0, 1] / (sd[0] * sd[1])
    rt = np.sqrt(1.0 - r * r)
    log_p = block_log_cdf(x, cov)
    d1 = np.exp(-0.5 * h[0] ** 2 - _LOG_SQRT_2PI + special.log_ndtr((h[1] - r * h[0]) / rt) - log_p)
    d2 = np.exp(-0.5 * h[1] ** 2 - _LOG_SQRT_2PI + special.log_ndtr((h[0] - r * h[1]) / rt) - log_p)
    quad = (h[0] ** 2 - 2 * r * h[0] * h[1] + h[1] ** 2) / (2 * rt**2)
    d12 = np.exp(-quad - np.log(2 * np.pi * rt) - log_p)
    g = np.array([d1, d2])
    hess = np.array([[-h[0] * d1 - r * d12, d12], [d12, -h[1] * d2 - r * d12]]) - np.outer(g, g)
    return g / sd, hess / np.outer(sd, sd)


def condition(x: np.ndarray, cov: np.ndarray, first: int, width: int) -> None:
    """Condition the state (x, cov) on variables first..first+width-1 (1 or 2), in place."""
    block = slice(first, first + width)
    if width == 1:
        sd = np.sqrt(cov[first, first])
        alpha = x[first] / sd
        lam = np.exp(-0.5 * alpha**2 - _LOG_SQRT_2PI - special.log_ndtr(alpha))
        g, hess = np.array([lam / sd]), np.array([[-lam * (alpha + lam) / sd**2]])
    else:
        g, hess = pair_log_derivatives(x[block], cov[block, block])
    rest = slice(first + width, None)
    c = cov[rest, block].copy()
    x[rest] += c @ g
    cov[rest, rest] += c @ hess @ c.T


def tvbs(b: np.ndarray, sigma: np.ndarray) -> float:
    """Bhat's TVBS (see the module), variables in the given order."""
    x, cov = b.astype(float), sigma.astype(float)
    m, log_p, first = len(b), 0.0, 0
    while True:
        end = min(first + 3, m)
        log_p += block_log_cdf(x[first:end], cov[first:end, first:end])
        if first:
            log_p -= block_log_cdf(x[first:first + 1], cov[first:first + 1, first:first + 1])
        if end == m:
            return log_p
        condition(x, cov, first, 2)
        first += 2


def ovbs_pairs(b: np.ndarray, sigma: np.ndarray) -> float:
    """OVBS with the variables before each trivariate block screened in pairs."""
    m = len(b)
    log_p = block_log_cdf(b[:3], sigma[:3, :3])
    for s in range(3, m):
        x, cov = b.astype(float), sigma.astype(float)
        done = 0
        while done < s - 2:
            width = 2 if done + 1 < s - 2 else 1
            condition(x, cov, done, width)
            done += width
        trio, pair = slice(s - 2, s + 1), slice(s - 2, s)
        log_p += block_log_cdf(x[trio], cov[trio, trio]) - block_log_cdf(x[pair], cov[pair, pair])
    return log_p


def situations(n_alts: int, cases: int, rng: np.random.Generator):
    """Limits and covariances (GGE order) of ``cases`` situations of the known-truth design,
    with Genz's log P."""
    cov = _known_truth_covariance(n_alts, np.random.default_rng(n_alts))
    beta = np.array([1.0, -0.5, 0.5, 0.8, -1.0])
    b_all, sigma_all, ref = [], [], []
    for _ in range(cases):
        utility = rng.standard_normal((n_alts, 5)) @ beta
        chosen = int(np.argmax(utility + rng.multivariate_normal(np.zeros(n_alts), cov)))
        others = [j for j in range(n_alts) if j != chosen]
        a = np.eye(n_alts)[others] - np.eye(n_alts)[chosen]
        sigma, b = a @ cov @ a.T, utility[chosen] - utility[others]
        order = conditioning_order(b[None], sigma)[0]
        b, sigma = b[order], sigma[np.ix_(order, order)]
        b_all.append(b)
        sigma_all.append(sigma)
        ref.append(np.log(multivariate_normal.cdf(b, cov=sigma, abseps=1e-9, releps=1e-6,
                                                  maxpts=5_000_000, rng=rng)))
    return np.array(b_all), np.array(sigma_all), np.array(ref)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alts", type=int, default=10)
    p.add_argument("--cases", type=int, default=150)
    p.add_argument("--seed", type=int, default=2)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    b, sigma, ref = situations(args.alts, args.cases, rng)
    rows = range(len(b))
    estimates = {name: orthant_log_prob(b, sigma, variant=name,
                                        which=np.arange(len(b)))[0]
                 for name in ("ovbs", "ovus")}
    estimates["tvbs"] = np.array([tvbs(b[i], sigma[i]) for i in rows])
    estimates["ovbs-pairs"] = np.array([ovbs_pairs(b[i], sigma[i]) for i in rows])
    for draws in (500, 5000, 20000):
        u = uniform_draws(len(b), b.shape[1] - 1, draws, sequence="halton", rng=args.seed)
        estimates[f"GHK R={draws}"] = np.array([
            ghk_log_prob(b[i:i + 1], np.linalg.cholesky(sigma[i]), u[i:i + 1])[0][0] for i in rows])
    print(f"J = {args.alts}, {len(b)} situations; error in log P against Genz")
    print(f"{'method':>12} {'mean |err|':>11} {'mean err':>10} {'max |err|':>10}")
    for name, est in estimates.items():
        err = est - ref
        print(f"{name:>12} {np.abs(err).mean():>11.2e} {err.mean():>+10.2e} {np.abs(err).max():>10.2e}")


if __name__ == "__main__":
    main()
