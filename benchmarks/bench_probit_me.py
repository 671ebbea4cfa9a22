"""Analytic probit approximations ("me", "ovus", "ovbs"): accuracy against Genz and GHK, and speed.

    python benchmarks/bench_probit_me.py --accuracy              # J = 3, 5, 10, 20
    python benchmarks/bench_probit_me.py --accuracy --cases 20   # a quick check
    python benchmarks/bench_probit_me.py --speed                 # N = 10,000, J = 10
    python benchmarks/bench_probit_me.py --speed --n-obs 2000 --no-fit
    python benchmarks/bench_probit_me.py --bias                  # J = 5, 10; 5 replications
    python benchmarks/bench_probit_me.py --bias --alts 5 --reps 2 --n-obs 1000 --bias-draws 500
    python benchmarks/bench_probit_me.py --bias --alts 10 --reps 3 --n-obs 10000  # GHK R = 5,000
    python benchmarks/bench_probit_me.py --bias --alts 10 --variants ovbs:gge,ovus:gge --yardsticks 500,5000
    python benchmarks/bench_probit_me.py --scaling               # J = 3..20, N = 2,000..20,000

``--accuracy``: for each J and error correlation rho, ``--cases`` random choice
situations: error covariance :math:`D^{1/2}((1 - \\rho) I + \\rho R) D^{1/2}` with R a random
correlation matrix (normalised :math:`WW'`, W standard normal J x J) and standard deviations
uniform in (0.5, 2), utilities standard normal, chosen alternative uniform. The
(J-1)-dimensional probability of the chosen alternative is computed by "me", "ovus" and "ovbs"
(:func:`choicemodels.kernels.me.orthant_log_prob`; plain: in the given order, "+gge":
in Gibson-Glasbey-Elston order, here found at the case itself, in a fit at the start
values), by GHK with 20,000 scrambled Halton
draws (:func:`choicemodels.kernels.ghk.ghk_log_prob`) and by Genz's algorithm
(:func:`scipy.stats.multivariate_normal.cdf`, absolute error 1e-6, the reference).
Columns: mean and maximum absolute error in P, and the median and 90th percentile of the
relative error :math:`|\\hat P/P - 1|`.

``--speed``: unstructured covariance (random Cholesky parameters), all alternatives
available, K = 5 standard normal attributes, choices uniform at random (the chosen
alternative often improbable: many far-tail states) and then drawn from the model at
the parameters of the evaluation; time of one log-likelihood + gradient
(:func:`choicemodels.kernels.probit.probit_loglike`) by "ovbs", "ovus", "me" and GHK with R = 500
(draws generated before timing), best of ``--repeat``; then (unless ``--no-fit``)
unstructured fits by "ovus" and "ovbs" on data simulated with a known covariance.

``--bias``: known truth, ``--reps`` replications for each J in ``--alts``: N = ``--n-obs``
situations simulated with coefficients (1, -0.5, 0.5, 0.8, -1) on five attributes and
error covariance :math:`0.5 I + 0.5 R` (R a random correlation matrix, one per J). On
the same data an unstructured probit is fitted by each of ``--variants`` (default: "ovbs",
"ovus" and "me" conditioning in Gibson-Glasbey-Elston order fixed at the start,
``me_order="gge"``, the default, and "ovus" and "me" in the given order), and by GHK with ``--bias-draws`` scrambled Halton draws, the reference:
GHK's simulated log-likelihood is maximised by Newton steps from the first approximate
estimate with that fit's Hessian as a fixed metric (each step one GHK pass, values and
scores), to a decrement :math:`g'H^{-1}g` below 1e-4 (about 0.01 standard errors), which
costs a handful of GHK passes instead of a BFGS run's dozens. Reported per fit: the
differences of the coefficients and of the covariance parameters from GHK's, in GHK
standard errors (OPG at the GHK estimate), with the sign of the coefficients' mean
difference; at the end, each parameter's bias, the mean of its difference over the
replications; the scale of the coefficients against GHK's (the mean of
:math:`\\hat\\beta_k / \\hat\\beta_{k,GHK}`) and against the truth; then the means over
replications. ``--yardsticks 500,5000`` also fits GHK with 500 and with 5,000 other draws
(another seed; rows ``ghk500'``, ``ghk5000'``) by the same Newton steps and compares them
with the reference in the same way: how far GHK itself lands from the reference, the
method the approximations replace (R = 500) and the reference's own simulation noise.

``--scaling``: time of one log-likelihood + gradient (as ``--speed``, all
alternatives available, unstructured) by GHK with ``--draws`` draws and by "ovbs", "ovus"
and "me", against J (``--scaling-alts``) at N = ``--n-obs``, and against N
(``--scaling-n``) at J = ``--n-alts``; printed and drawn (log-log) into
``benchmarks/probit_me_scaling.png``.
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
from bench_probit import best_time  # noqa: E402
from choicemodels.kernels.draws import uniform_draws  # noqa: E402
from choicemodels.kernels.ghk import ghk_log_prob  # noqa: E402
from choicemodels.kernels.me import orthant_log_prob  # noqa: E402
from choicemodels.kernels.mvn import cov_start, diff_covariance, n_cov_params  # noqa: E402
from choicemodels.kernels.probit import ANALYTIC as VARIANTS  # noqa: E402
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
                                                        order=order)[0][0]))
           for name in VARIANTS for suffix, order in (("", "given"), ("+gge", "gge"))}
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
            for name in VARIANTS + tuple(v + "+gge" for v in VARIANTS) + ("ghk",):
                est = np.array([r[name] for r in rows])
                err = np.abs(est - ref)
                rel = err / ref
                print(f"{n_alts:>3} {rho:>4.1f} {name:>8} {err.mean():>10.2e} {err.max():>10.2e} "
                      f"{np.median(rel):>10.2e} {np.quantile(rel, 0.9):>10.2e}", flush=True)


def loglike_times(n_obs: int, n_alts: int, draws: int, repeat: int, seed: int,
                  simulated: bool = False) -> dict:
    """Best time of one unstructured log-likelihood + gradient by each variant and GHK:
    choices uniform at random, or (``simulated``) drawn from the model at the parameters
    where it is evaluated."""
    rng = np.random.default_rng(seed)
    n_beta = 5
    X = rng.standard_normal((n_obs, n_alts, n_beta))
    theta = cov_start("unstructured", n_alts) + 0.2 * rng.standard_normal(
        n_cov_params("unstructured", n_alts))
    beta = np.linspace(-1, 1, n_beta)
    params = np.r_[beta, theta]
    if simulated:  # utility differences against alternative 0, errors N(0, Omega)
        omega = diff_covariance(theta, "unstructured", n_alts)[0]
        gain = (X[:, 1:] - X[:, :1]) @ beta + rng.standard_normal(
            (n_obs, n_alts - 1)) @ np.linalg.cholesky(omega).T
        chosen = np.where(gain.max(axis=1) > 0, gain.argmax(axis=1) + 1, 0)
    else:
        chosen = rng.integers(0, n_alts, n_obs)
    groups = group_situations(chosen, np.ones((n_obs, n_alts), bool))
    u = uniform_draws(n_obs, max(n_alts - 2, 0), draws, sequence="halton", rng=seed)
    times = {}
    for method in VARIANTS + ("ghk",):
        extra = {"uniforms": u} if method == "ghk" else {}

        def run(method=method, extra=extra, X=X, groups=groups):
            return probit_loglike(params, X, groups, structure="unstructured", ref=0,
                                  method=method, grad=True, **extra)

        run(X=X[:50], groups=group_situations(chosen[:50], np.ones((50, n_alts), bool)))  # compile
        times[method] = best_time(run, repeat)
    return times


def speed(n_obs: int, n_alts: int, draws: int, repeat: int, fit: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_beta = 5
    for simulated in (False, True):
        times = loglike_times(n_obs, n_alts, draws, repeat, seed, simulated=simulated)
        print(f"log-likelihood + gradient, N = {n_obs:,}, J = {n_alts}, unstructured "
              f"(P = {n_cov_params('unstructured', n_alts)}), K = {n_beta}, best of {repeat}, "
              + ("choices drawn from the model:" if simulated else "choices at random:"))
        for method, seconds in times.items():
            label = f"ghk R = {draws}" if method == "ghk" else method
            print(f"  {label:>14}: {seconds:8.3f} s   ghk / this = {times['ghk'] / seconds:6.1f}")
    if not fit:
        return
    cov = random_error_covariance(n_alts, 0.5, rng)
    beta = {f"x{k}": v for k, v in enumerate(np.linspace(-1, 1, n_beta))}
    sim = cm.simulate_dataset(n_obs, n_alts, beta, errors="normal", cov=cov, rng=seed)
    for variant in ("ovus", "ovbs"):
        model = cm.Probit(sim.formula.split("|")[0] + "| 0", data=sim.data, **sim.columns,
                          cov="unstructured", integration=variant)
        start = time.perf_counter()
        r = model.fit(progress=False)
        seconds = time.perf_counter() - start
        print(f"unstructured fit by {variant!r}, N = {n_obs:,}, J = {n_alts} "
              f"({len(r.params)} parameters): {seconds:.1f} s, converged {r.converged}, "
              f"{r.n_iter} iterations, fit_time {r.fit_time:.1f} s")


def _known_truth_covariance(n_alts: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal((n_alts, n_alts))
    corr = w @ w.T
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    return 0.5 * np.eye(n_alts) + 0.5 * corr


APPROXIMATIONS = ("ovbs:gge", "ovus:gge", "me:gge", "ovus:given", "me:given")


def ghk_newton(model, start: np.ndarray, metric: np.ndarray, tol: float = 1e-4,
               max_steps: int = 8) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Maximise GHK's simulated log-likelihood from ``start`` by Newton steps with a fixed
    metric (``metric``: the inverse of minus an approximate Hessian), halving a step that
    lowers the log-likelihood, until the decrement g' metric g < ``tol``. Returns the
    estimate, the per-situation scores there, the last decrement and the steps taken."""
    x = np.asarray(start, float)
    ll, scores = model._loglike_scores(x, grad=True)  # one pass: values and scores
    f, g = ll.sum(), scores.sum(axis=0)
    for step in range(max_steps + 1):
        decrement = float(g @ metric @ g)
        if decrement < tol or step == max_steps:
            return x, scores, decrement, step
        direction = metric @ g
        for _ in range(10):
            trial = x + direction
            ll_t, scores_t = model._loglike_scores(trial, grad=True)
            if ll_t.sum() >= f - 1e-9:
                break
            direction = direction / 2
        x, f, g, scores = trial, ll_t.sum(), scores_t.sum(axis=0), scores_t
    return x, scores, decrement, max_steps


def bias(alts: list[int], reps: int, n_obs: int, ghk_draws: int, seed: int,
         first_rep: int = 0, ghk_steps: int = 8,
         variants: tuple[str, ...] = APPROXIMATIONS, yardsticks: tuple[int, ...] = ()) -> None:
    truth = {"x1": 1.0, "x2": -0.5, "x3": 0.5, "x4": 0.8, "x5": -1.0}
    names = list(truth)
    print(f"estimates against GHK ({ghk_draws} draws) on the same data, in GHK standard "
          f"errors (OPG); N = {n_obs:,}, unstructured, {reps} replications")
    print(f"{'J':>3} {'rep':>3} {'method':>10} {'mean|z| b':>9} {'max|z| b':>9} {'mean z b':>9} "
          f"{'mean|z| cov':>11} {'max|z| cov':>10} {'scale b':>8} {'vs truth':>8} {'conv':>5} "
          f"{'time s':>7}")
    summary: dict = {}
    signed: dict = {}  # (J, method): z of every parameter, one array per replication
    for n_alts in alts:
        cov = _known_truth_covariance(n_alts, np.random.default_rng(seed + n_alts))
        # the truth in the model's normalisation (differences against alt0, Omega_00 = 1)
        a = np.eye(n_alts)[1:] - np.eye(n_alts)[0]
        true_scale = np.sqrt((a @ cov @ a.T)[0, 0])
        true_beta = np.array(list(truth.values())) / true_scale
        for rep in range(first_rep, first_rep + reps):
            sim = cm.simulate_dataset(n_obs, n_alts, truth, errors="normal", cov=cov,
                                      rng=seed + 1000 * n_alts + rep)
            formula = "choice ~ " + " + ".join(names) + " | 0"
            fits = {}
            for method in variants:
                variant, order = method.split(":")
                model = cm.Probit(formula, data=sim.data, **sim.columns, cov="unstructured",
                                  integration=variant, me_order=order)
                began = time.perf_counter()
                r = model.fit(progress=False)
                fits[method] = (r.estimates, r.converged,
                                              time.perf_counter() - began, model)
            # GHK: Newton steps from the first converged approximation, with its Hessian
            first = next(k for k, v in fits.items() if v[1])
            est0, _, _, approx_model = fits[first]
            metric = np.linalg.inv(-approx_model.hessian(est0))
            ghk = cm.Probit(formula, data=sim.data, **sim.columns, cov="unstructured",
                            integration="ghk", draws=ghk_draws, rng=seed + rep)
            began = time.perf_counter()
            ref, scores, decrement, steps = ghk_newton(ghk, est0, metric, max_steps=ghk_steps)
            ghk_seconds = time.perf_counter() - began
            del ghk  # its draws: N x R x (J - 2) doubles
            ref_se = np.sqrt(np.diag(np.linalg.inv(scores.T @ scores)))
            fits["ghk"] = (ref, decrement < 1e-4, ghk_seconds, None)
            print(f"    GHK from {first}: {steps} Newton steps, decrement {decrement:.1e}, "
                  f"{ghk_seconds:.0f} s", flush=True)
            for k, draws in enumerate(yardsticks, start=1):  # GHK itself, other draws
                other = cm.Probit(formula, data=sim.data, **sim.columns, cov="unstructured",
                                  integration="ghk", draws=draws, rng=seed + rep + 7919 * k)
                began = time.perf_counter()
                est, _, decrement, steps = ghk_newton(other, est0, metric, max_steps=ghk_steps)
                fits[f"ghk{draws}'"] = (est, decrement < 1e-4, time.perf_counter() - began, None)
                del other
            for method, (est, converged, seconds, _) in fits.items():
                z = (est - ref) / ref_se
                zb, zc = z[:len(names)], np.abs(z[len(names):])
                scale = float(np.mean(est[:len(names)] / ref[:len(names)]))
                level = float(np.mean(est[:len(names)] / true_beta))
                row = (np.abs(zb).mean(), np.abs(zb).max(), zb.mean(), zc.mean(), zc.max(),
                       scale, level)
                summary.setdefault((n_alts, method), []).append(row)
                signed.setdefault((n_alts, method), []).append(z)
                print(f"{n_alts:>3} {rep:>3} {method:>10} {row[0]:>9.2f} {row[1]:>9.2f} "
                      f"{row[2]:>+9.2f} {row[3]:>11.2f} {row[4]:>10.2f} {row[5]:>8.3f} "
                      f"{row[6]:>8.3f} {str(converged):>5} {seconds:>7.1f}", flush=True)
    print("means over replications:")
    for (n_alts, method), rows in summary.items():
        m = np.mean(rows, axis=0)
        print(f"{n_alts:>3} {'all':>3} {method:>10} {m[0]:>9.2f} {m[1]:>9.2f} {m[2]:>+9.2f} "
              f"{m[3]:>11.2f} {m[4]:>10.2f} {m[5]:>8.3f} {m[6]:>8.3f}")
    print("bias: the mean over replications of each parameter's z (coefficients; the largest "
          "|mean| of the covariance parameters)")
    for (n_alts, method), zs in signed.items():
        bias_z = np.mean(zs, axis=0)
        print(f"{n_alts:>3} {method:>10} " + " ".join(f"{v:+.2f}" for v in bias_z[:len(names)])
              + f"   cov max |bias| {np.abs(bias_z[len(names):]).max():.2f}")


def scaling(alts: list[int], sizes: list[int], n_obs: int, n_alts: int, draws: int,
            repeat: int, seed: int, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    print(f"log-likelihood + gradient, unstructured, K = 5, best of {repeat} (seconds)")
    print(f"{'J':>3} {'N':>7} {'ghk R=' + str(draws):>10} {'ovbs':>8} {'ovus':>8} {'me':>8} "
          f"{'ghk/ovbs':>9} {'ghk/ovus':>9}")
    by_j = {j: loglike_times(n_obs, j, draws, repeat, seed) for j in alts}
    by_n = {n: loglike_times(n, n_alts, draws, repeat, seed) for n in sizes}
    for (j, n), t in [*(((j, n_obs), t) for j, t in by_j.items()),
                      *(((n_alts, n), t) for n, t in by_n.items())]:
        print(f"{j:>3} {n:>7,} {t['ghk']:>10.3f} {t['ovbs']:>8.3f} {t['ovus']:>8.3f} "
              f"{t['me']:>8.3f} {t['ghk'] / t['ovbs']:>9.1f} {t['ghk'] / t['ovus']:>9.1f}")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, table, label, fixed in ((axes[0], by_j, "J (alternatives)", f"N = {n_obs:,}"),
                                    (axes[1], by_n, "N (situations)", f"J = {n_alts}")):
        x = list(table)
        for method, name in (("ghk", f"GHK, R = {draws}"), ("ovbs", "ovbs"), ("ovus", "ovus"),
                             ("me", "me")):
            ax.plot(x, [table[k][method] for k in x], "o-", label=name)
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="seconds",
               title=f"log-likelihood + gradient, {fixed}")
        ax.set_xticks(x, [f"{v:,}" for v in x])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)
    print(f"figure: {figure}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accuracy", action="store_true")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--bias", action="store_true")
    p.add_argument("--scaling", action="store_true")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--ghk-steps", type=int, default=8,
                   help="--bias: most Newton steps of the GHK reference fit")
    p.add_argument("--first-rep", type=int, default=0,
                   help="--bias: number of the first replication (to add replications later)")
    p.add_argument("--bias-draws", type=int, default=5000)
    p.add_argument("--variants", default=",".join(APPROXIMATIONS),
                   help="--bias: the fits to compare with GHK, as variant:order")
    p.add_argument("--yardsticks", default="",
                   help="--bias: GHK fits with other draws to compare too, as draws,draws")
    p.add_argument("--scaling-alts", default="3,5,10,15,20")
    p.add_argument("--scaling-n", default="2000,5000,10000,20000")
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
    if not (args.accuracy or args.speed or args.bias or args.scaling):
        args.accuracy = args.speed = True
    if args.accuracy:
        accuracy(args.cases, [int(a) for a in args.alts.split(",")],
                 [float(r) for r in args.rhos.split(",")], args.ghk_draws, args.seed)
    if args.speed:
        speed(args.n_obs, args.n_alts, args.draws, args.repeat, not args.no_fit, args.seed)
    if args.bias:
        alts = ([5, 10] if args.alts == p.get_default("alts")
                else [int(a) for a in args.alts.split(",")])
        bias(alts, args.reps, args.n_obs, args.bias_draws, args.seed, args.first_rep,
             args.ghk_steps, tuple(args.variants.split(",")),
             tuple(int(r) for r in args.yardsticks.split(",") if r))
    if args.scaling:
        scaling([int(a) for a in args.scaling_alts.split(",")],
                [int(n) for n in args.scaling_n.split(",")], args.n_obs, args.n_alts,
                args.draws, args.repeat, args.seed,
                Path(__file__).resolve().parent / "probit_me_scaling.png")


if __name__ == "__main__":
    main()
