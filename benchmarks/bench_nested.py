"""Nested logit fit: choicemodels against Biogeme and larch, and against our own logit.

    python benchmarks/bench_nested.py            # N=100,000 x J=5 x K=6, then 1,000,000 x 10 x 10
    python benchmarks/bench_nested.py --small    # the small workload only
    python benchmarks/bench_nested.py --large    # the large workload only
    python benchmarks/bench_nested.py --skip biogeme   # leave peers out
    python benchmarks/bench_nested.py --repeat 5  # timed fits per package (default 3 small, 1 large)

Data: generic coefficients ``linspace(-1, 1, K)``, no constants, standard normal attributes,
two nests (the first ``J // 2`` alternatives, then the rest) with ``iv = (0.5, 0.8)``; the
choices are drawn from the nested-logit probabilities. Fitted by ``cm.NestedLogit`` (Newton
on the analytic Hessian), by ``cm.Logit`` on the same data (the reference of the "2x our
logit" target) and by the nested logits of Biogeme and larch from the peers environment
(``bash benchmarks/setup_peers.sh``). The runner is ``bench_logit.py``'s: each package in a
fresh subprocess (and temporary working directory: Biogeme writes files) reading an .npz,
import and an untimed warm-up fit on 2,000 situations excluded (our compiled pass starts
above 1,000 situations here), the fastest of ``--repeat``
timed fits reported. Biogeme is fitted once, on the first 2,000 situations only (it takes
minutes per thousand situations here, JAX compilation included), against our fit of the
same subset.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from child_process import child_result

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_logit's helpers, also in the peers environment
from bench_logit import PEERS_PYTHON, _long, floor_seconds, peak_mb  # noqa: E402

PEERS = ("larch", "biogeme")
SUBSET_N = {"biogeme": 2_000}
ONE_FIT = ("biogeme",)  # too slow for repeated timed fits
IMPORTS = {"ours": "choicemodels", "logit": "choicemodels", "larch": "larch",
           "biogeme": "biogeme.biogeme"}
WORKLOADS = {"small": (100_000, 5, 6), "large": (1_000_000, 10, 10)}
DEFAULT_REPEAT = {"small": 3, "large": 1}
IV = (0.5, 0.8)
SETUP: dict[str, float] = {}
#: the warm-up fit's situations: enough for our compiled pass (beyond the numpy route's size)
WARMUP_N = 2_000


def nests_of(J: int) -> dict[str, list[int]]:
    """The two nests: alternatives 0 .. J//2 - 1, then the rest."""
    return {"a": list(range(J // 2)), "b": list(range(J // 2, J))}


def simulate(N: int, J: int, K: int, *, rng: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (N, J, K) and choices (N,) drawn from the nested-logit probabilities, in chunks."""
    sys.path.insert(0, str(HERE.parent))  # this checkout's package
    from choicemodels.kernels.nested import nested_log_probabilities

    rng = np.random.default_rng(rng)
    beta = np.linspace(-1.0, 1.0, K)
    nest_of = np.zeros(J, dtype=int)
    nest_of[nests_of(J)["b"]] = 1
    X = rng.standard_normal((N, J, K))
    chosen = np.empty(N, dtype=np.int64)
    avail = np.ones((min(N, 100_000), J), dtype=bool)
    for start in range(0, N, 100_000):
        Xc = X[start:start + 100_000]
        P = np.exp(nested_log_probabilities(Xc @ beta, np.array(IV), avail[:len(Xc)], nest_of))
        u = rng.random((len(Xc), 1))
        chosen[start:start + len(Xc)] = np.minimum((P.cumsum(axis=1) < u).sum(axis=1), J - 1)
    return X, chosen


# ---------------------------------------------------------------------------------------
# our fits (in a subprocess too, so that peak memory is measured the same way)


def fit_ours(X: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray, int]:
    """``cm.NestedLogit.from_arrays(X, chosen, nests=...).fit()``; the construction (input
    validation) is timed apart."""
    import choicemodels as cm

    start, cpu_start = time.perf_counter(), time.process_time()
    model = cm.NestedLogit.from_arrays(X, chosen, nests=nests_of(X.shape[1]))
    SETUP["seconds"] = time.perf_counter() - start
    SETUP["cpu"] = time.process_time() - cpu_start
    res = model.fit()
    return float(res.llf), np.asarray(res.params), int(res.n_iter)


def fit_logit(X: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray, int]:
    """``cm.Logit.from_arrays(X, chosen).fit()`` on the same data (construction apart)."""
    import choicemodels as cm

    start, cpu_start = time.perf_counter(), time.process_time()
    model = cm.Logit.from_arrays(X, chosen)
    SETUP["seconds"] = time.perf_counter() - start
    SETUP["cpu"] = time.process_time() - cpu_start
    res = model.fit()
    return float(res.llf), np.asarray(res.params), int(res.n_iter)


# ---------------------------------------------------------------------------------------
# peers (these run inside the peers venv: they must not import choicemodels)


def fit_larch(X, chosen):
    """larch: the logsum parameter of a nest is our ``iv`` (normalised at the top)."""
    import larch as lx
    import pandas as pd
    from larch import PX

    N, J, K = X.shape
    Xl, y, ids, alts = _long(X, chosen)
    names = [f"x{k}" for k in range(K)]
    df = pd.DataFrame(Xl, columns=names)
    df["chose"] = y.astype(np.float64)
    df.index = pd.MultiIndex.from_arrays([ids, alts + 1], names=["caseid", "altid"])
    m = lx.Model(lx.Dataset.construct.from_idca(df))
    m.utility_ca = sum((PX(n) for n in names[1:]), PX(names[0]))
    m.choice_ca_var = "chose"
    m.availability_any = True
    for nest, members in nests_of(J).items():
        m.graph.new_node(parameter=f"mu_{nest}", children=[j + 1 for j in members], name=nest)
    r = m.maximize_loglike(stderr=False, quiet=True)
    pnames = list(m.pnames)
    x = np.array([m.pvals[pnames.index(n)] for n in names + ["mu_a", "mu_b"]])
    return float(r["loglike"]), x, int(r.get("n_iter", r.get("nit", -1)) or -1)


def fit_biogeme(X, chosen):
    """Biogeme's ``lognested``: its nest parameter is ``mu = 1 / iv`` (bounded to [0.05, 20])."""
    import biogeme.biogeme as bio
    import pandas as pd
    from biogeme import models
    from biogeme.database import Database
    from biogeme.expressions import Beta, Variable
    from biogeme.nests import NestsForNestedLogit, OneNestForNestedLogit

    N, J, K = X.shape
    cols = {f"x{j}_{k}": X[:, j, k] for j in range(J) for k in range(K)}
    cols["CHOICE"] = chosen.astype(np.int64)
    db = Database("bench", pd.DataFrame(cols))
    betas = [Beta(f"b{k}", 0.0, None, None, 0) for k in range(K)]
    V = {j: sum(betas[k] * Variable(f"x{j}_{k}") for k in range(K)) for j in range(J)}
    av = {j: 1 for j in range(J)}
    nests = NestsForNestedLogit(
        choice_set=list(range(J)),
        tuple_of_nests=tuple(
            OneNestForNestedLogit(nest_param=Beta(f"mu_{n}", 1.0, 0.05, 20.0, 0),
                                  list_of_alternatives=members, name=n)
            for n, members in nests_of(J).items()),
    )
    model = bio.BIOGEME(db, models.lognested(V, av, nests, Variable("CHOICE")))
    model.model_name = "bench_nested"
    for attr in ("generate_html", "generate_yaml", "generate_pickle", "save_iterations"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False)
            except Exception:
                pass
    res = model.estimate()
    values = res.get_beta_values()
    x = np.array([values[f"b{k}"] for k in range(K)] + [1 / values["mu_a"], 1 / values["mu_b"]])
    return float(res.final_log_likelihood), x, int(getattr(res, "number_of_iterations", -1) or -1)


# ---------------------------------------------------------------------------------------
# subprocess protocol (as bench_logit.py's)


def run_child(package: str, data: str, subset: int = 0, repeat: int = 1) -> None:
    """Fit ``package`` on the .npz ``repeat`` times; print one JSON line with the fastest
    fit, the peak memory and the peak before the timed fits (data loaded, warm-up done)."""
    with np.load(data) as z:
        X, chosen = z["X"], z["chosen"]
    if subset:
        X, chosen = X[:subset], chosen[:subset]
    if package in ("ours", "logit"):
        sys.path.insert(0, str(HERE.parent))
    importlib.import_module(IMPORTS[package])
    fit = globals()[f"fit_{package}"]
    fit(X[:WARMUP_N], chosen[:WARMUP_N])  # one-time compilation and caches
    before = peak_mb()
    times = []
    for _ in range(repeat):
        SETUP.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        ll, params, n_iter = fit(X, chosen)
        times.append((time.perf_counter() - start - SETUP.get("seconds", 0.0),
                      time.process_time() - cpu_start - SETUP.get("cpu", 0.0)))
    seconds, cpu = min(times)
    print("RESULT " + json.dumps(dict(
        seconds=seconds, cpu=cpu, all_seconds=[t for t, _ in times], ll=ll,
        params=list(map(float, params)), n_iter=n_iter, peak_mb=peak_mb(), before_mb=before,
        setup_seconds=SETUP.get("seconds", 0.0))))


def run_in_subprocess(python: Path, package: str, data: Path, timeout: float, subset: int = 0,
                      repeat: int = 1) -> dict:
    return child_result(__file__, python, [package, data, subset, repeat], timeout)


def print_row(label: str, r: dict, ref: dict, x_mb: float) -> None:
    """One row; ``ratio`` is seconds over ``ref``'s (ours on the same situations)."""
    if "error" in r:
        print(f"| {label} | failed: {r['error']} | | | | | | | |", flush=True)
        return
    dll = abs(r["ll"] - ref["ll"])
    print(f"| {label} | {r['seconds']:.3f} | {r['cpu']:.3f} | {r['ll']:.4f} | {dll:.2e} "
          f"| {r['seconds'] / ref['seconds']:.2f} | {r['n_iter']} | {r['peak_mb']:.0f} "
          f"| {(r['peak_mb'] - r['before_mb']) / x_mb:.2f} |", flush=True)


def bench(name: str, N: int, J: int, K: int, timeout: float, skip: set[str], repeat: int) -> None:
    X, chosen = simulate(N, J, K)
    x_mb = X.nbytes / 2**20
    floor = floor_seconds(X)
    print(f"\n## {name}: N={N:,} x J={J} x K={K}, nests {nests_of(J)}, iv={IV}  "
          f"(X: {x_mb:.0f} MiB, one pass over X: {floor:.4f} s; fastest of {repeat} timed "
          "fits per package)\n", flush=True)
    print("| package | seconds | CPU seconds | log-likelihood | abs(ll - ours) | ratio to ours "
          "| iterations | peak MiB | fit's extra memory / X |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, X=X, chosen=chosen)
        del X
        me = Path(sys.executable)
        ours = run_in_subprocess(me, "ours", data, timeout, repeat=repeat)
        if "error" in ours:
            print(f"| choicemodels NestedLogit.fit() | failed: {ours['error']} |")
            return
        print_row("choicemodels NestedLogit.fit()", ours, ours, x_mb)
        logit = run_in_subprocess(me, "logit", data, timeout, repeat=repeat)
        print_row("choicemodels Logit.fit() (not nested)", logit, ours, x_mb)
        fastest = np.inf
        for peer in PEERS:
            if peer in skip:
                continue
            if not PEERS_PYTHON.exists():
                print(f"| {peer} | failed: no peers venv: bash benchmarks/setup_peers.sh |")
                continue
            n = SUBSET_N.get(peer, 0)
            r = run_in_subprocess(PEERS_PYTHON, peer, data, timeout, n,
                                  1 if peer in ONE_FIT else repeat)
            ref = ours
            if n:
                ref = run_in_subprocess(me, "ours", data, timeout, n, repeat)
            label = f"{peer} (first {n:,})" if n else peer
            print_row(label, r, ref if "error" not in ref else ours, x_mb)
            if "error" not in r and "error" not in ref:
                fastest = min(fastest, r["seconds"] / ref["seconds"])
    print(f"| floor (one X @ beta) | {floor:.4f} | | | | | | | |")
    print(f"\nchoicemodels NestedLogit: {ours['n_iter']} Newton iterations, seconds of each timed "
          f"fit {', '.join(f'{t:.3f}' for t in ours['all_seconds'])}; from_arrays (input "
          f"validation) {ours['setup_seconds']:.3f} s more. iv estimates "
          f"{np.round(ours['params'][-2:], 4).tolist()} (truth {list(IV)}).")
    if "error" not in logit:
        print(f"NestedLogit / Logit on the same data: {ours['seconds'] / logit['seconds']:.2f} "
              "(target <= 2).")
    if np.isfinite(fastest):
        print(f"Fastest peer / NestedLogit: {fastest:.1f} (target >= 10; subset fits against our "
              "fit of the same subset).")
    print("Extra memory: the child's peak resident memory during the timed fits minus its peak "
          "before them (data loaded, warm-up done), over the size of X.")


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
        bench(name, *WORKLOADS[name], timeout=args.timeout, skip=set(args.skip.split(",")),
              repeat=args.repeat or DEFAULT_REPEAT[name])


if __name__ == "__main__":
    main()
