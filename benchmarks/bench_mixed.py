"""Mixed logit on panel data: choicemodels against xlogit and Biogeme.

    python benchmarks/bench_mixed.py                    # Electricity at 500 and 2,000 draws
    python benchmarks/bench_mixed.py --large            # simulated N=100,000 x J=5, K=5 random, 500 draws
    python benchmarks/bench_mixed.py --draws 100 --persons 40 --skip biogeme   # a quick check
    python benchmarks/bench_mixed.py --draws 100        # mlogit's draws: ours, xlogit, Biogeme
    python benchmarks/bench_mixed.py --json out.json    # also write every result (estimates, SEs)

The model is xlogit's documented Electricity example (Revelt and Train's data, bundled as
``cm.datasets.load_electricity()``): six independent normal coefficients ``pf, cl, loc, wk,
tod, seas``, no constants, one set of draws per person across that person's situations
(the panel likelihood). The large workload simulates ``N`` situations in panels of
``--panel-size`` situations per person, J alternatives, K normal random coefficients
(means ``linspace(-1, 1, K)``, standard deviations 0.5), standard normal attributes,
Gumbel errors.

Ours is ``cm.MixedLogit(formula, data, obs, alt, panel=, random=, draws=, sequence="halton",
rng=0).fit()`` (the construction, with its input checks, is timed apart). xlogit
(``MixedLogit.fit``, Halton draws, its default BFGS) and Biogeme (``log(MonteCarlo(
PanelLikelihoodTrajectory(exp(loglogit))))``, MLHS normal draws, JAX-compiled, BFGS without
second derivatives, BHHH standard errors: see ``fit_biogeme``) run in the peers virtual
environment (``bash benchmarks/setup_peers.sh``; ``PEERS_VENV`` points to another one).
An earlier formulation (``logit`` inside the trajectory, Biogeme's default analytic second
derivatives) did not finish on Electricity: its JAX compilation ran for more than 15
minutes, and without compilation the fit had reached a log-likelihood of -4,200 after 23
minutes (measured since at 100 draws: with the analytic Hessian the compilation takes about
3 minutes, then 5 s per log-likelihood, gradient and Hessian, 4.4 GB). This one compiles
in about 30 s, then takes 0.5 s per log-likelihood and gradient at 100 draws (12 s
uncompiled, ``BIOGEME_JIT=0``). Biogeme evaluates every draw of every person at once (3 GB
at 100 draws and 6.4 GB at 500 on Electricity, about linear in the draws), so it runs on
Electricity only. Each package runs in a fresh subprocess
(Biogeme in a temporary working directory: it writes files there), reading the data from a
.npz file; the timed fit follows the import and an untimed warm-up fit on the first 20
persons at 20 draws, and the fastest of ``--repeat`` timed fits is reported. Columns: wall
and CPU seconds, simulated log-likelihood at the estimate, its distance to ours, the largest
distance of a coefficient to ours in our standard errors (standard deviations compared in
absolute value: their sign is not identified), ratio = peer seconds / our seconds, and the
child's peak resident memory (``ru_maxrss``, which includes the loaded data). The simulated
log-likelihoods differ by the simulation error of each package's draws as well as by the
optimum each optimiser stops at, so distances of a few tenths at 500 draws are expected.

Electricity at mlogit's 100 draws (``--draws 100``, 2026-12-06, quiet machine, 2 cores;
ours on both cores, xlogit on one, Biogeme as it runs), estimates (our cluster-robust,
xlogit's and Biogeme's BHHH standard errors):

| package | seconds | CPU seconds | log-likelihood | iterations | peak MB |
|---|---:|---:|---:|---:|---:|
| choicemodels | 0.28 | 0.51 | -3979.721 | 14 | 300 |
| xlogit 0.2.7 | 2.12 | 2.12 | -3952.488 | 21 | 243 |
| Biogeme 3.3.2 | 152.79 | 209.43 | -3979.114 | 167 | 3144 |

| coefficient | choicemodels | xlogit | Biogeme |
|---|---:|---:|---:|
| pf | -0.9381 (0.0513) | -0.9734 (0.0343) | -0.9455 (0.0255) |
| cl | -0.1799 (0.0367) | -0.2056 (0.0133) | -0.1927 (0.0146) |
| loc | 2.1557 (0.1521) | 2.0757 (0.0804) | 2.1001 (0.0872) |
| wk | 1.4339 (0.0944) | 1.4756 (0.0652) | 1.5250 (0.0649) |
| tod | -8.7318 (0.4740) | -9.0525 (0.2872) | -8.7614 (0.2138) |
| seas | -8.8537 (0.4249) | -9.1038 (0.2890) | -9.0205 (0.2062) |
| sd.pf | 0.1832 (0.0306) | 0.2199 (0.0108) | -0.1989 (0.0108) |
| sd.cl | 0.3709 (0.0358) | 0.3783 (0.0185) | 0.3881 (0.0171) |
| sd.loc | 1.6279 (0.1629) | 1.4830 (0.0813) | 1.5551 (0.0876) |
| sd.wk | 0.9732 (0.1255) | 1.0001 (0.0742) | 0.9482 (0.0627) |
| sd.tod | 2.0990 (0.2708) | 2.2895 (0.1107) | 2.1052 (0.0941) |
| sd.seas | 1.4759 (0.2671) | 1.1809 (0.1090) | 1.3263 (0.0823) |

xlogit's unscrambled Halton draws (primes 2 to 13, 100 dropped, blocks per person) are
mlogit's: its estimates are those of mlogit's exercise e3 to the 4 digits shown, and its
log-likelihood is mlogit's -3952.5. Ours (scrambled Halton) and Biogeme's (MLHS) are 27
lower, within 0.6 of each other: at 100 draws the unscrambled sequence gives a higher
simulated log-likelihood than scrambled ones on average (benchmarks/mixed_simulation_error.py:
-3976.5 over scrambled sets at xlogit's published estimates; the same holds on Train, see
tests/test_mixed_published.py). Biogeme's fit (the same, run alone): 167 iterations, 376
log-likelihood and 209 gradient evaluations, 3 min 9 s in its optimiser; the rest is
compilation and its BHHH matrix.

At 500 draws (``--draws 500``; ours and xlogit fastest of 3, Biogeme in a separate run
beside ours at 1.14 s):

| package | seconds | CPU seconds | log-likelihood | iterations | peak MB |
|---|---:|---:|---:|---:|---:|
| choicemodels | 0.94 | 1.73 | -3901.957 | 12 | 321 |
| xlogit 0.2.7 | 12.69 | 12.67 | -3891.718 | 23 | 698 |
| Biogeme 3.3.2 | 215.37 | 351.39 | -3918.165 | 111 | 6442 |

| coefficient | choicemodels | xlogit | Biogeme |
|---|---:|---:|---:|
| pf | -0.9972 (0.0565) | -0.9941 (0.0361) | -1.0029 (0.0278) |
| cl | -0.2329 (0.0308) | -0.2259 (0.0145) | -0.2245 (0.0201) |
| loc | 2.2131 (0.1466) | 2.2936 (0.0892) | 2.2511 (0.1179) |
| wk | 1.5483 (0.1004) | 1.6228 (0.0711) | 1.6282 (0.0837) |
| tod | -9.3776 (0.5028) | -9.5705 (0.3097) | -9.3025 (0.2270) |
| seas | -9.5704 (0.4883) | -9.5880 (0.3093) | -9.5363 (0.2221) |
| sd.pf | 0.2210 (0.0307) | 0.2169 (0.0118) | -0.2447 (0.0149) |
| sd.cl | 0.4138 (0.0341) | 0.3890 (0.0195) | -0.4117 (0.0204) |
| sd.loc | 1.7736 (0.1383) | 1.8215 (0.1026) | 1.7854 (0.1071) |
| sd.wk | 1.1485 (0.1019) | 1.2272 (0.0850) | 1.1866 (0.0854) |
| sd.tod | 2.3668 (0.2824) | 2.4149 (0.1330) | 2.2159 (0.1304) |
| sd.seas | 1.4811 (0.1197) | 1.4010 (0.1281) | 1.2081 (0.1595) |

Each package's log-likelihood is under its own draws. Under ours, the three sets of
estimates give -3901.957 (ours), -3904.479 (xlogit's) and -3905.615 (Biogeme's) at 500
draws, and -3979.721, -3985.274 and -3982.863 at 100: Biogeme's lower log-likelihood at
500 draws comes from its MLHS draws, not from an optimum it missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from child_process import child_result

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = Path(os.environ.get("PEERS_VENV", HERE / ".peers-venv")) / "bin" / "python"
PEERS = ("xlogit", "biogeme")
#: Biogeme expands the panel likelihood symbolically and evaluates every draw of every
#: person at once; on the large workload that is tens of GB, so it runs on Electricity only
SMALL_ONLY = ("biogeme",)
IMPORTS = {"ours": "choicemodels", "xlogit": "xlogit", "biogeme": "biogeme.biogeme"}
WARMUP_PERSONS, WARMUP_DRAWS = 20, 20
ELECTRICITY_VARS = ("pf", "cl", "loc", "wk", "tod", "seas")
SETUP: dict[str, float] = {}
#: Biogeme 3.3 compiles its expressions with JAX's XLA (BIOGEME_JIT=0 evaluates them
#: without compilation: about 12 s per log-likelihood and gradient on Electricity at 100
#: draws, against 0.5 s compiled)
USE_JIT = os.environ.get("BIOGEME_JIT", "1") == "1"


def electricity_arrays(persons: int = 0) -> dict[str, np.ndarray]:
    """Electricity as arrays: X (N, 4, 6), chosen (N,), person (N,) (first ``persons`` if > 0)."""
    sys.path.insert(0, str(HERE.parent))
    from choicemodels.datasets import load_electricity

    df = load_electricity().sort_values(["chid", "alt"])
    if persons:
        df = df[df["id"] <= sorted(df["id"].unique())[persons - 1]]
    N, J = df["chid"].nunique(), df["alt"].nunique()
    X = df[list(ELECTRICITY_VARS)].to_numpy(dtype=np.float64).reshape(N, J, len(ELECTRICITY_VARS))
    chosen = df["choice"].to_numpy().reshape(N, J).argmax(axis=1)
    person = df["id"].to_numpy().reshape(N, J)[:, 0]
    return {"X": X, "chosen": chosen, "person": person, "names": np.array(ELECTRICITY_VARS)}


def simulate(N: int, J: int, K: int, panel_size: int, *, rng: int = 0) -> dict[str, np.ndarray]:
    """Panel mixed logit data: N situations, ``panel_size`` per person, K normal coefficients."""
    gen = np.random.default_rng(rng)
    persons = -(-N // panel_size)
    mean, sd = np.linspace(-1.0, 1.0, K), np.full(K, 0.5)
    beta = mean + sd * gen.standard_normal((persons, K))  # one draw per person
    person = np.repeat(np.arange(persons), panel_size)[:N]
    X = gen.standard_normal((N, J, K))
    U = np.einsum("njk,nk->nj", X, beta[person]) + gen.gumbel(size=(N, J))
    return {"X": X, "chosen": U.argmax(axis=1), "person": person + 1,
            "names": np.array([f"x{k}" for k in range(K)])}


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _long(X, chosen, person):
    """Long arrays: rows (N J, K), y, situation ids, alternatives, persons."""
    N, J, K = X.shape
    alts = np.tile(np.arange(J), N)
    y = (alts == np.repeat(chosen, J)).astype(np.int64)
    return X.reshape(N * J, K), y, np.repeat(np.arange(N), J), alts, np.repeat(person, J)


# ---------------------------------------------------------------------------------------
# each fit returns (loglik, {name: estimate}, {name: standard error}, iterations); names
# are ours: the mean keeps the variable's name, the standard deviation is sd.<name>


def fit_ours(X, chosen, person, names, draws):
    """``cm.MixedLogit`` through the public API, on the long DataFrame."""
    import pandas as pd

    import choicemodels as cm

    Xl, y, ids, alts, persons = _long(X, chosen, person)
    df = pd.DataFrame(Xl, columns=list(names))
    df["obs"], df["alt"], df["person"], df["choice"] = ids, alts, persons, y
    start, cpu_start = time.perf_counter(), time.process_time()
    model = cm.MixedLogit(f"choice ~ {' + '.join(names)} | 0", data=df, obs="obs", alt="alt",
                          panel="person", random={n: "normal" for n in names},
                          draws=draws, sequence="halton", rng=0)
    SETUP["seconds"] = time.perf_counter() - start
    SETUP["cpu"] = time.process_time() - cpu_start
    res = model.fit()
    return (float(res.llf), {k: float(v) for k, v in res.params.items()},
            {k: float(v) for k, v in res.bse.items()}, int(res.n_iter))


def fit_xlogit(X, chosen, person, names, draws):
    """xlogit's ``MixedLogit`` as in its documented Electricity example (Halton draws)."""
    from xlogit import MixedLogit

    Xl, y, ids, alts, persons = _long(X, chosen, person)
    m = MixedLogit()
    m.fit(X=Xl, y=y, varnames=list(names), alts=alts, ids=ids, panels=persons,
          randvars={n: "n" for n in names}, n_draws=draws, halton=True, random_state=0,
          verbose=0)
    return (float(m.loglikelihood), dict(zip(m.coeff_names, map(float, m.coeff_))),
            dict(zip(m.coeff_names, map(float, m.stderr))), int(m.total_iter))


def fit_biogeme(X, chosen, person, names, draws):
    """Biogeme: ``log(MonteCarlo(PanelLikelihoodTrajectory(exp(loglogit))))``, its panel
    mixed logit (the person's log-probabilities summed, then exponentiated), BFGS without
    second derivatives (its trust-region BFGS with simple bounds), standard errors from
    its BHHH matrix over the persons (its finite-difference Hessian was not negative
    definite on Electricity at 100 draws)."""
    import pandas as pd
    from biogeme.biogeme import BIOGEME
    from biogeme.database import Database
    from biogeme.expressions import (Beta, Draws, MonteCarlo, PanelLikelihoodTrajectory,
                                     Variable, exp, log)
    from biogeme.models import loglogit

    N, J, K = X.shape
    cols = {f"{n}_{j}": X[:, j, k] for j in range(J) for k, n in enumerate(names)}
    cols["CHOICE"], cols["PERSON"] = chosen.astype(np.int64), person.astype(np.int64)
    db = Database("mixed", pd.DataFrame(cols))
    db.panel("PERSON")
    coef = {n: Beta(n, 0.0, None, None, 0) + Beta(f"sd.{n}", 0.1, None, None, 0)
            * Draws(f"{n}_rnd", "NORMAL_MLHS") for n in names}
    V = {j: sum(coef[n] * Variable(f"{n}_{j}") for n in names) for j in range(J)}
    logprob = loglogit(V, {j: 1 for j in range(J)}, Variable("CHOICE"))
    loglik = log(MonteCarlo(PanelLikelihoodTrajectory(exp(logprob))))
    model = BIOGEME(db, loglik, number_of_draws=draws, seed=1, use_jit=USE_JIT,
                    optimization_algorithm="simple_bounds", second_derivatives=0.0,
                    calculating_second_derivatives="never", generate_html=False,
                    generate_yaml=False, generate_netcdf=False, save_iterations=False)
    model.model_name = "mixed"
    res = model.estimate()
    values = res.get_beta_values()
    se = {n: float(res.get_parameter_std_err(n)) for n in values}
    return (float(res.final_log_likelihood), {str(k): float(v) for k, v in values.items()},
            {str(k): v for k, v in se.items()},
            int(res.optimization_messages.get("Number of iterations", -1)))


# ---------------------------------------------------------------------------------------
# subprocess protocol


def run_child(package: str, data: str, draws: int, repeat: int) -> None:
    """Fit ``package`` on the .npz at ``data`` ``repeat`` times; print one JSON line."""
    with np.load(data) as z:
        X, chosen, person, names = z["X"], z["chosen"], z["person"], list(z["names"])
    importlib.import_module(IMPORTS[package])  # import time is not fit time
    fit = globals()[f"fit_{package}"]
    warm = person <= np.unique(person)[min(WARMUP_PERSONS, len(np.unique(person))) - 1]
    fit(X[warm], chosen[warm], person[warm], names, WARMUP_DRAWS)  # compilation, caches
    times = []
    for _ in range(repeat):
        SETUP.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        ll, params, bse, n_iter = fit(X, chosen, person, names, draws)
        times.append((time.perf_counter() - start - SETUP.get("seconds", 0.0),
                      time.process_time() - cpu_start - SETUP.get("cpu", 0.0)))
    seconds, cpu = min(times)
    result = dict(seconds=seconds, cpu=cpu, all_seconds=[t for t, _ in times], ll=ll,
                  params=params, bse=bse, n_iter=n_iter, peak_mb=peak_mb())
    if SETUP:
        result["setup_seconds"] = SETUP["seconds"]
    print("RESULT " + json.dumps(result))


def run_in_subprocess(python: Path, package: str, data: Path, draws: int, timeout: float,
                      repeat: int) -> dict:
    return child_result(__file__, python, [package, data, draws, repeat], timeout)


def largest_distance(r: dict, ours: dict) -> float:
    """Largest |peer - ours| / our SE over the coefficients (sd.* in absolute value)."""
    worst = 0.0
    for name, value in ours["params"].items():
        if name not in r["params"]:
            return float("nan")
        a, b = r["params"][name], value
        if name.startswith("sd."):
            a, b = abs(a), abs(b)
        worst = max(worst, abs(a - b) / ours["bse"][name])
    return worst


def print_row(label: str, r: dict, ours: dict) -> None:
    if "error" in r:
        print(f"| {label} | {r['error']} | | | | | | |", flush=True)
        return
    nan = float("nan")
    has_ours = "ll" in ours
    dll = abs(r["ll"] - ours["ll"]) if has_ours else nan
    dpar = largest_distance(r, ours) if has_ours else nan
    ratio = r["seconds"] / ours["seconds"] if has_ours else nan
    print(f"| {label} | {r['seconds']:.2f} | {r['cpu']:.2f} | {r['ll']:.3f} | {dll:.3f} "
          f"| {dpar:.2f} | {ratio:.2f} | {r['peak_mb']:.0f} |", flush=True)


def print_estimates(results: dict[str, dict]) -> None:
    """Estimates (standard errors) side by side."""
    done = {k: v for k, v in results.items() if "params" in v}
    if not done:
        return
    names = list(next(iter(done.values()))["params"])
    print("\n| coefficient | " + " | ".join(done) + " |")
    print("|---|" + "---:|" * len(done))
    for name in names:
        cells = [f"{r['params'].get(name, float('nan')):.4f} ({r['bse'].get(name, float('nan')):.4f})"
                 for r in done.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| log-likelihood | " + " | ".join(f"{r['ll']:.3f}" for r in done.values()) + " |")
    print("| iterations | " + " | ".join(str(r["n_iter"]) for r in done.values()) + " |",
          flush=True)


def bench(title: str, arrays: dict, draws: int, packages: list[str], timeout: float,
          repeat: int) -> dict[str, dict]:
    X = arrays["X"]
    N, J, K = X.shape
    print(f"\n## {title}: N={N:,} situations, {len(np.unique(arrays['person'])):,} persons, "
          f"J={J}, K={K} random, {draws:,} draws (fastest of {repeat} timed fits)\n", flush=True)
    print("| package | seconds | CPU seconds | log-likelihood | abs(ll - ours) | "
          "max abs(coef - ours) / SE | ratio | peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, **arrays)
        for package in packages:
            python = Path(sys.executable) if package == "ours" else PEERS_PYTHON
            r = run_in_subprocess(python, package, data, draws, timeout, repeat)
            results[package] = r
            print_row("choicemodels MixedLogit.fit()" if package == "ours" else package, r,
                      results.get("ours", {}))
    print_estimates(results)
    ours = results.get("ours", {})
    if "setup_seconds" in ours:
        print(f"\nchoicemodels: {ours['n_iter']} iterations; the construction (input checks) "
              f"took {ours['setup_seconds']:.2f} s more.")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true",
                        help="the simulated workload instead of Electricity")
    parser.add_argument("--draws", default=None,
                        help="comma-separated draw counts (default 500,2000; --large: 500)")
    parser.add_argument("--persons", type=int, default=0,
                        help="Electricity: the first PERSONS persons only (default: all 361)")
    parser.add_argument("--n", type=int, default=100_000, help="--large: situations")
    parser.add_argument("--alts", type=int, default=5, help="--large: alternatives")
    parser.add_argument("--k", type=int, default=5, help="--large: random coefficients")
    parser.add_argument("--panel-size", type=int, default=10,
                        help="--large: situations per person")
    parser.add_argument("--skip", default="", help="comma-separated packages to leave out "
                                                   "(ours, xlogit, biogeme)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per package")
    parser.add_argument("--repeat", type=int, default=1, help="timed fits per package")
    parser.add_argument("--json", type=Path, help="write all results to this file")
    parser.add_argument("--child", nargs=4, metavar=("PACKAGE", "NPZ", "DRAWS", "REPEAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1], int(args.child[2]), int(args.child[3]))
        return
    skip = set(filter(None, args.skip.split(",")))
    packages = [p for p in ("ours", *PEERS) if p not in skip
                and not (args.large and p in SMALL_ONLY)]
    draws = [int(d) for d in (args.draws or ("500" if args.large else "500,2000")).split(",")]
    if args.large:
        title = "simulated"
        arrays = simulate(args.n, args.alts, args.k, args.panel_size)
    else:
        title = "Electricity" + (f" (first {args.persons} persons)" if args.persons else "")
        arrays = electricity_arrays(args.persons)
    everything = {}
    for r in draws:
        everything[f"{title} {r} draws"] = bench(title, arrays, r, packages, args.timeout,
                                                 args.repeat)
        if args.json:  # after each workload, so that a long run keeps what it has done
            args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
