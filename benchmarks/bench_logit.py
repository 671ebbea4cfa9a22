"""Conditional logit fit: choicemodels against xlogit, larch, pylogit, biogeme and statsmodels.

    python benchmarks/bench_logit.py            # N=100,000 x J=5 x K=6, then 1,000,000 x 10 x 10
    python benchmarks/bench_logit.py --small    # the small workload only
    python benchmarks/bench_logit.py --large    # the large workload only
    python benchmarks/bench_logit.py --skip pylogit,biogeme   # leave peers out
    python benchmarks/bench_logit.py --repeat 5  # timed fits per package (default 3 small, 1 large)

Data: generic coefficients, no constants, standard normal attributes, Gumbel errors. Each
peer runs in the peers virtual environment (``bash benchmarks/setup_peers.sh``) in its own
subprocess and temporary working directory, reading the data from a .npz file; the timed fit
follows the package's import and an untimed warm-up fit on 500 situations (one-time
compilation, lazy imports), and the fastest of ``--repeat`` timed fits is reported, for every
package alike (as ``timeit`` does). Reported: wall and CPU seconds (all threads) of the fit, the
subprocess's peak resident memory, and ``floor``, one pass over X (``X @ beta``) measured in
the same run. Peers missing from the environment are reported and skipped.
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
PEERS = ("xlogit", "larch", "pylogit", "biogeme")
#: pylogit and biogeme build dense long/wide frames and are far slower: small workload only
SMALL_ONLY = ("pylogit", "biogeme", "statsmodels")
#: packages too slow or memory-hungry for the full data fit the first situations only:
#: statsmodels loops over groups in Python; pylogit 1.0.1 densifies its (N J, N) row-to-
#: situation map (373 GiB at N = 100,000); biogeme 3.3 takes 7-13 s for 2,000 situations
#: here and was still running after 20 minutes on all 100,000
SUBSET_N = {"statsmodels": 10_000, "pylogit": 5_000, "biogeme": 2_000}
WARMUP_N = 500
SETUP: dict[str, float] = {}
IMPORTS = {
    "ours": "choicemodels", "kernel": "choicemodels",
    "statsmodels": "statsmodels.discrete.conditional_models", "xlogit": "xlogit",
    "larch": "larch", "pylogit": "pylogit", "biogeme": "biogeme.biogeme",
}
WORKLOADS = {"small": (100_000, 5, 6), "large": (1_000_000, 10, 10)}
DEFAULT_REPEAT = {"small": 3, "large": 1}


def simulate(N: int, J: int, K: int, *, rng: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (N, J, K), chosen (N,), true beta (K,), built without full-size temporaries."""
    rng = np.random.default_rng(rng)
    beta = np.linspace(-1.0, 1.0, K)
    X = rng.standard_normal((N, J, K))
    U = (X.reshape(N * J, K) @ beta).reshape(N, J)
    U += rng.gumbel(size=(N, J))
    return X, U.argmax(axis=1), beta


def peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------
# our fit (runs in a subprocess too, so its peak memory is measured the same way)


def fit_ours(X: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray, int]:
    """``cm.Logit.from_arrays(X, chosen).fit()``; the construction (input validation) is
    timed apart and reported as ``setup_seconds``."""
    import choicemodels as cm

    start, cpu_start = time.perf_counter(), time.process_time()
    model = cm.Logit.from_arrays(X, chosen)
    SETUP["seconds"] = time.perf_counter() - start
    SETUP["cpu"] = time.process_time() - cpu_start
    res = model.fit()
    return float(res.llf), np.asarray(res.params), int(res.n_iter)


def fit_kernel(X: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray, int]:
    """The logit kernel and Newton's method alone, without the model around them."""
    from choicemodels.kernels.logit import logit_loglike_derivatives
    from choicemodels.models.optimize import newton_maximize

    avail = np.ones(X.shape[:2], dtype=bool)
    out = newton_maximize(
        lambda b: logit_loglike_derivatives(b, X, chosen, avail), np.zeros(X.shape[2])
    )
    return out.f, out.x, out.n_iter


def fit_statsmodels(X: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray, int]:
    """statsmodels' ConditionalLogit (a Python loop over groups) on ``X`` as given."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    N, J, K = X.shape
    endog = (np.arange(J)[None, :] == chosen[:, None]).ravel().astype(float)
    model = ConditionalLogit(endog, X.reshape(N * J, K), groups=np.repeat(np.arange(N), J))
    res = model.fit(disp=False)
    return float(res.llf), np.asarray(res.params), -1


# ---------------------------------------------------------------------------------------
# peers (these functions run inside the peers venv: they must not import choicemodels)


def _long(X, chosen):
    N, J, K = X.shape
    ids = np.repeat(np.arange(N), J)
    alts = np.tile(np.arange(J), N)
    y = (alts == np.repeat(chosen, J)).astype(np.int64)
    return X.reshape(N * J, K), y, ids, alts


def fit_xlogit(X, chosen):
    from xlogit import MultinomialLogit

    N, J, K = X.shape
    Xl, y, ids, alts = _long(X, chosen)
    names = [f"x{k}" for k in range(K)]
    m = MultinomialLogit()
    m.fit(X=Xl, y=y, varnames=names, alts=alts, ids=ids, fit_intercept=False, verbose=0)
    return float(m.loglikelihood), np.asarray(m.coeff_), int(m.total_iter)


def fit_larch(X, chosen):
    import larch as lx
    import pandas as pd
    from larch import PX

    N, J, K = X.shape
    Xl, y, ids, alts = _long(X, chosen)
    names = [f"x{k}" for k in range(K)]
    df = pd.DataFrame(Xl, columns=names)
    df["chose"] = y.astype(np.float64)
    df.index = pd.MultiIndex.from_arrays([ids, alts + 1], names=["caseid", "altid"])
    ds = lx.Dataset.construct.from_idca(df)
    m = lx.Model(ds)
    m.utility_ca = sum((PX(n) for n in names[1:]), PX(names[0]))
    m.choice_ca_var = "chose"
    m.availability_any = True
    r = m.maximize_loglike(stderr=False, quiet=True)
    pnames = list(m.pnames)
    x = np.array([m.pvals[pnames.index(n)] for n in names])
    return float(r["loglike"]), x, int(r.get("n_iter", r.get("nit", -1)) or -1)


def _patch_pylogit_for_python311():
    import collections
    import collections.abc

    import numpy as _np
    import scipy.sparse as sp

    for name in ("Iterable", "Mapping", "Sequence"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if not hasattr(_np, "in1d"):
        _np.in1d = _np.isin
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        if not hasattr(cls, "A"):
            cls.A = property(lambda self: self.toarray())


def fit_pylogit(X, chosen):
    _patch_pylogit_for_python311()
    from collections import OrderedDict

    import pandas as pd
    import pylogit as pl

    N, J, K = X.shape
    Xl, y, ids, alts = _long(X, chosen)
    names = [f"x{k}" for k in range(K)]
    df = pd.DataFrame(Xl, columns=names)
    df["obs"], df["alt"], df["choice"] = ids + 1, alts + 1, y
    spec = OrderedDict((n, [list(range(1, J + 1))]) for n in names)
    m = pl.create_choice_model(
        data=df, alt_id_col="alt", obs_id_col="obs", choice_col="choice",
        specification=spec, model_type="MNL", names=OrderedDict((n, [n]) for n in names),
    )
    m.fit_mle(np.zeros(K), print_res=False, just_point=False)
    return float(m.log_likelihood), np.asarray(m.params), -1


def fit_biogeme(X, chosen):
    import biogeme.biogeme as bio
    import pandas as pd
    from biogeme import models
    from biogeme.database import Database
    from biogeme.expressions import Beta, Variable

    N, J, K = X.shape
    cols = {f"x{j}_{k}": X[:, j, k] for j in range(J) for k in range(K)}
    cols["CHOICE"] = chosen.astype(np.int64)
    db = Database("bench", pd.DataFrame(cols))
    betas = [Beta(f"b{k}", 0.0, None, None, 0) for k in range(K)]
    V = {j: sum(betas[k] * Variable(f"x{j}_{k}") for k in range(K)) for j in range(J)}
    av = {j: 1 for j in range(J)}
    model = bio.BIOGEME(db, models.loglogit(V, av, Variable("CHOICE")))
    model.model_name = "bench"
    for attr in ("generate_html", "generate_yaml", "generate_pickle", "save_iterations"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False)
            except Exception:
                pass
    res = model.estimate()
    values = res.get_beta_values()
    x = np.array([values[f"b{k}"] for k in range(K)])
    return float(res.final_log_likelihood), x, int(getattr(res, "number_of_iterations", -1) or -1)


# ---------------------------------------------------------------------------------------
# subprocess protocol


def run_child(package: str, data: str, subset: int = 0, repeat: int = 1) -> None:
    """Fit ``package`` on the .npz at ``data`` (its first ``subset`` situations if > 0)
    ``repeat`` times and print one JSON line with the fastest fit (as ``timeit`` does: the
    slower repeats measure other load on the machine, or a processor not yet at speed)."""
    with np.load(data) as z:
        X, chosen = z["X"], z["chosen"]
    if subset:
        X, chosen = X[:subset], chosen[:subset]
    if package == "pylogit":
        _patch_pylogit_for_python311()
    importlib.import_module(IMPORTS[package])  # import time is not fit time
    fit = globals()[f"fit_{package}"]
    fit(X[:WARMUP_N], chosen[:WARMUP_N])  # nor one-time compilation (larch's numba) or caches
    times = []
    for _ in range(repeat):
        SETUP.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        ll, params, n_iter = fit(X, chosen)
        times.append((time.perf_counter() - start - SETUP.get("seconds", 0.0),
                      time.process_time() - cpu_start - SETUP.get("cpu", 0.0)))
    seconds, cpu = min(times)
    result = dict(seconds=seconds, cpu=cpu, all_seconds=[t for t, _ in times], ll=ll,
                  params=list(map(float, params)), n_iter=n_iter, peak_mb=peak_mb())
    if SETUP:
        result["setup_seconds"] = SETUP["seconds"]
    print("RESULT " + json.dumps(result))


def run_in_subprocess(
    python: Path, package: str, data: Path, timeout: float, subset: int = 0, repeat: int = 1
) -> dict:
    return child_result(__file__, python, [package, data, subset, repeat], timeout)


def floor_seconds(X: np.ndarray, reps: int = 5) -> float:
    """Fastest of ``reps`` single passes over X (``X @ beta``)."""
    N, J, K = X.shape
    beta = np.ones(K)
    best = np.inf
    for _ in range(reps):
        start = time.perf_counter()
        X.reshape(N * J, K) @ beta
        best = min(best, time.perf_counter() - start)
    return best


def print_row(label: str, r: dict, ours: dict) -> None:
    """One table row; ``ratio`` is seconds over ours (for a subset fit: ours on that subset)."""
    if "error" in r:
        print(f"| {label} | failed: {r['error']} | | | | | | |", flush=True)
        return
    ref = ours
    if "ours_ll" in r:
        ref = {"ll": r["ours_ll"], "seconds": r["ours_seconds"], "cpu": r["ours_cpu"]}
    nan = float("nan")
    dll = abs(r["ll"] - ref["ll"]) if "ll" in ref else nan
    ratio = r["seconds"] / ref["seconds"] if "seconds" in ref else nan
    cpu_ratio = r["cpu"] / ref["cpu"] if "cpu" in ref else nan
    print(f"| {label} | {r['seconds']:.3f} | {r['cpu']:.3f} | {r['ll']:.4f} | {dll:.2e} "
          f"| {ratio:.2f} | {cpu_ratio:.2f} | {r['peak_mb']:.0f} |", flush=True)


def bench(name: str, N: int, J: int, K: int, timeout: float, skip: set[str], repeat: int) -> None:
    X, chosen, _ = simulate(N, J, K)
    floor = floor_seconds(X)
    print(f"\n## {name}: N={N:,} x J={J} x K={K}  (X: {X.nbytes / 1e6:.0f} MB, "
          f"one pass over X: {floor:.4f} s; fastest of {repeat} timed fits per package)\n",
          flush=True)
    print("| package | seconds | CPU seconds | log-likelihood | abs(ll - ours) | ratio | "
          "CPU ratio | peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, X=X, chosen=chosen)
        del X
        ours = run_in_subprocess(Path(sys.executable), "ours", data, timeout, repeat=repeat)
        jobs = [("choicemodels Logit.fit()", Path(sys.executable), "ours"),
                ("choicemodels kernel + Newton", Path(sys.executable), "kernel")]
        if name == "small" and "statsmodels" not in skip:
            jobs.append(("statsmodels", Path(sys.executable), "statsmodels"))
        for peer in PEERS:
            if not (name != "small" and peer in SMALL_ONLY) and peer not in skip:
                jobs.append((peer, PEERS_PYTHON, peer))
        jobs = [(f"{label} (first {SUBSET_N[pkg]:,})" if pkg in SUBSET_N else label, py, pkg)
                for label, py, pkg in jobs]
        results: dict[str, dict] = {}
        for label, python, package in jobs:
            if not python.exists():
                r = {"error": "no peers venv: bash benchmarks/setup_peers.sh"}
            elif package == "ours":
                r = ours
            elif package in SUBSET_N:
                n = SUBSET_N[package]
                r = run_in_subprocess(python, package, data, timeout, n, repeat)
                ref = run_in_subprocess(Path(sys.executable), "ours", data, timeout, n, repeat)
                if "error" not in ref:
                    r.update(ours_ll=ref["ll"], ours_seconds=ref["seconds"], ours_cpu=ref["cpu"])
            else:
                r = run_in_subprocess(python, package, data, timeout, repeat=repeat)
            print_row(label, r, ours)
            results[package] = r
    print(f"| floor (one X @ beta) | {floor:.4f} | | | | | | |")
    if "n_iter" in ours:
        print(f"\nchoicemodels: Logit.fit() seconds of each timed fit: "
              f"{', '.join(f'{t:.3f}' for t in ours['all_seconds'])}.")
        print(f"choicemodels: {ours['n_iter']} Newton iterations, fit = "
              f"{ours['seconds'] / floor:.0f} passes over X; Logit.from_arrays (input "
              f"validation) took {ours['setup_seconds']:.3f} s more. Ratio = peer seconds / "
              "Logit.fit() seconds, CPU ratio the same for CPU time (all threads), which is less "
              "sensitive to other load on the machine (subset fits: against our fit of the "
              "same subset).")
        xlogit = results.get("xlogit", {})
        if "seconds" in xlogit:
            total = ours["seconds"] + ours["setup_seconds"]
            print(f"choicemodels: with Logit.from_arrays counted too ({total:.3f} s), xlogit "
                  f"takes {xlogit['seconds'] / total:.1f} times as long.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small workload only")
    parser.add_argument("--large", action="store_true", help="large workload only")
    parser.add_argument("--skip", default="", help="comma-separated peers to leave out")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per fit")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed fits per package, the fastest reported (default: 3 on the "
                             "small workload, 1 on the large)")
    parser.add_argument("--child", nargs=4, metavar=("PACKAGE", "NPZ", "SUBSET", "REPEAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1], int(args.child[2]), int(args.child[3]))
        return
    names = ["small"] if args.small else ["large"] if args.large else ["small", "large"]
    for name in names:
        repeat = args.repeat or DEFAULT_REPEAT[name]
        bench(name, *WORKLOADS[name], timeout=args.timeout, skip=set(args.skip.split(",")),
              repeat=repeat)


if __name__ == "__main__":
    main()
