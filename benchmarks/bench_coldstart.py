"""First use against cached use: ``choicemodels compare`` and first fits in fresh processes.

    python benchmarks/bench_coldstart.py              # 3 cold and 3 warm runs of each case
    python benchmarks/bench_coldstart.py --repeat 5
    python benchmarks/bench_coldstart.py --skip heteroskedastic
    python benchmarks/bench_coldstart.py --routes --skip compare,import,logit,heteroskedastic
    git worktree add /tmp/before <commit>           # then, before and after in one run:
    python benchmarks/bench_coldstart.py --baseline /tmp/before

Each case runs in a new Python process (``sys.executable``, from the repository root, so
that this checkout's package is the one imported). Cold: numba's cache folder
(``NUMBA_CACHE_DIR``) is a new empty temporary folder, as on a fresh install; warm: the
same folder again, as filled by the cold run. Each repetition takes a new folder. With
``--baseline DIR`` the same runs are made with the package of another checkout, taking
turns with this one (one cold/warm pair each), so that both see the same load. Cases:

- ``compare``: the whole command ``python -m choicemodels compare`` (bundled TravelMode
  data, 210 situations, 4 alternatives; a logit and iid and unstructured probits), wall
  time as seen by the caller;
- ``import``: ``import choicemodels`` alone;
- ``logit`` and ``heteroskedastic``: a process that imports the package, loads TravelMode
  and fits ``cm.Logit`` or ``cm.Probit(..., cov="heteroskedastic")``; the process's wall
  time and the fit's own time (``fit()`` only).

Printed: the median over repetitions, cold minus warm, the files numba wrote into the
cache folder (so one sees that the cache went there), and for each numba function compiled
in a cold process its compile time as numba records it (``compiler_lock``, which includes
the functions it calls and compiles).

``--routes`` adds the measurements behind ``kernels.logit.NUMPY_MAX_SIZE``: one evaluation
of the logit log-likelihood, gradient and Hessian by numpy and by the compiled pass (warm,
default threads), best of 7, for X of 2^12 to 2^19 elements, in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMULA = "choice ~ gc + ttme | hinc"

#: Child program of the fit cases: prints one JSON line with the times, the numba functions
#: compiled in this process (with numba's compile timer) and whether numba was imported.
FIT_CHILD = """
import json, sys, time
start = time.perf_counter()
import choicemodels as cm
imported = time.perf_counter()
df = cm.datasets.load_travel_mode()
kind = sys.argv[1]
kw = dict(data=df, obs="individual", alt="mode", ref="car")
model = (cm.Logit({formula!r}, **kw) if kind == "logit"
         else cm.Probit({formula!r}, cov=kind, **kw))
t = time.perf_counter()
result = model.fit()
fit = time.perf_counter() - t
compiled = {{}}
if "numba" in sys.modules:
    from numba.core.registry import CPUDispatcher
    for name, module in list(sys.modules.items()):
        if not name.startswith("choicemodels.kernels"):
            continue
        for attr, obj in vars(module).items():
            objs = [obj]
            if callable(getattr(obj, "cache_info", None)) and obj.cache_info().currsize:
                objs = [obj()]  # a functools.cache around the compiling function
            for d in objs:
                if isinstance(d, CPUDispatcher) and sum(d.stats.cache_misses.values()):
                    for meta in d.get_metadata().values():
                        compiled[f"{{name}}.{{d.py_func.__name__}}"] = meta["timers"]["compiler_lock"]
print(json.dumps({{"import": imported - start, "fit": fit, "llf": result.llf,
                   "numba imported": "numba" in sys.modules, "compiled": compiled}}))
""".format(formula=FORMULA)


def run(args: list[str], cache: str, root: Path) -> tuple[float, str]:
    """Wall seconds of ``python args`` run from ``root`` with ``NUMBA_CACHE_DIR=cache``, and
    its stdout."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, *args], cwd=root, env=env, check=True,
                         capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout


def cached_files(cache: str) -> list[str]:
    """Files numba wrote into the cache folder (relative paths)."""
    return sorted(str(p.relative_to(cache)) for p in Path(cache).rglob("*") if p.is_file())


def case_args(case: str) -> list[str]:
    if case == "compare":
        return ["-m", "choicemodels", "compare"]
    if case == "import":
        return ["-c", "import choicemodels"]
    return ["-c", FIT_CHILD, case]


def measure(case: str, repeat: int, roots: list[Path]) -> dict[Path, dict]:
    """Cold then warm runs of one case, ``repeat`` times, each with a new cache folder, the
    checkouts ``roots`` taking turns."""
    results = {root: {"rows": {"cold": [], "warm": [], "cold fit": [], "warm fit": []},
                      "files": [], "compiled": {}, "numba": set()} for root in roots}
    for _ in range(repeat):
        for root in roots:
            res = results[root]
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
                for state in ("cold", "warm"):
                    seconds, out = run(case_args(case), cache, root)
                    res["rows"][state].append(seconds)
                    if case in ("logit", "heteroskedastic"):
                        child = json.loads(out.strip().splitlines()[-1])
                        res["rows"][f"{state} fit"].append(child["fit"])
                        res["numba"].add(child["numba imported"])
                        if state == "cold":
                            for name, t in child["compiled"].items():
                                res["compiled"].setdefault(name, []).append(t)
                    if state == "cold":
                        res["files"] = cached_files(cache)
    return results


def in_tree_cache_files(root: Path) -> list[str]:
    """numba cache files next to the package's sources (not read when NUMBA_CACHE_DIR is set)."""
    return sorted(str(p.relative_to(root)) for p in (root / "choicemodels").rglob("*.nb[ic]"))


LABELS = {"compare": "choicemodels compare (process)", "import": "import choicemodels",
          "logit": "first logit fit", "heteroskedastic": "first heteroskedastic fit"}


def report(root: Path, results: dict[str, dict]) -> None:
    """Medians table, cache files and compile times of one checkout."""
    print(f"\n{root}")
    print(f"{'case':<40s}{'cold s':>9s}{'warm s':>9s}{'cold - warm':>13s}   runs (cold | warm)")
    for case, res in results.items():
        for key in ("", " fit"):
            cold, warm = res["rows"][f"cold{key}"], res["rows"][f"warm{key}"]
            if not cold:
                continue
            label = LABELS[case] + (" (fit() only)" if key else
                                    " (process)" if case in ("logit", "heteroskedastic") else "")
            c, w = statistics.median(cold), statistics.median(warm)
            runs = " ".join(f"{x:.2f}" for x in cold) + " | " + " ".join(f"{x:.2f}" for x in warm)
            print(f"{label:<40s}{c:9.3f}{w:9.3f}{c - w:13.3f}   {runs}")
    for case, res in results.items():
        print(f"  {case}: numba cache files written by the cold run: {len(res['files'])}")
        for name in res["files"]:
            print(f"    {name}")
        if res["numba"]:
            print(f"    numba imported by the fit: {sorted(res['numba'])}")
        for name, times in sorted(res["compiled"].items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"    compiled {name}: {statistics.median(times):.2f} s "
                  f"({' '.join(f'{t:.2f}' for t in times)})")


def routes(repeat: int = 7) -> None:
    """Per-evaluation seconds of the numpy route and the compiled pass, by size of X."""
    import numpy as np

    sys.path.insert(0, str(ROOT))  # this checkout's package, as in the child processes
    from choicemodels.kernels import logit

    def best(threshold: int, *args) -> float:
        logit.NUMPY_MAX_SIZE = threshold
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            logit.logit_loglike_derivatives(*args)
            times.append(time.perf_counter() - start)
        return min(times)

    default = logit.NUMPY_MAX_SIZE
    print(f"\nlogit ll + gradient + Hessian, one evaluation, best of {repeat} "
          f"(NUMPY_MAX_SIZE = {default:,})")
    print(f"{'N x J x K':>20s}{'elements':>10s}{'numpy ms':>10s}{'compiled ms':>13s}{'ratio':>7s}")
    rng = np.random.default_rng(0)
    try:
        for J, K in ((4, 8), (5, 6), (10, 10)):
            for power in range(12, 20):
                N = max(1, 2**power // (J * K))
                X = rng.standard_normal((N, J, K))
                args = (np.linspace(-1.0, 1.0, K), X, rng.integers(0, J, N), np.ones((N, J), bool))
                best(-1, *args)  # compiles or loads the compiled pass
                numpy_s, compiled_s = best(1 << 62, *args), best(-1, *args)
                print(f"{f'{N} x {J} x {K}':>20s}{N * J * K:10,d}{numpy_s * 1e3:10.3f}"
                      f"{compiled_s * 1e3:13.3f}{numpy_s / compiled_s:7.2f}")
    finally:
        logit.NUMPY_MAX_SIZE = default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold/warm pairs per case (default 3)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="another checkout to measure in the same run (e.g. an earlier commit)")
    parser.add_argument("--routes", action="store_true",
                        help="also time the numpy route against the compiled logit pass by size")
    parser.add_argument("--skip", default="", help="comma-separated cases to leave out: "
                        "compare, import, logit, heteroskedastic")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    cases = [c for c in ("compare", "import", "logit", "heteroskedastic") if c not in skip]

    roots = [ROOT] if args.baseline is None else [Path(args.baseline).resolve(), ROOT]
    for root in roots:
        stale = in_tree_cache_files(root)
        if stale:
            print(f"({len(stale)} numba cache files next to the sources of {root}: not used, "
                  "NUMBA_CACHE_DIR comes first)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} before; {args.repeat} cold and warm runs per case, medians")
    by_case = {case: measure(case, args.repeat, roots) for case in cases}
    if cases:
        for root in roots:
            report(root, {case: by_case[case][root] for case in cases})
    if args.routes:
        routes()
    print(f"\nload average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
