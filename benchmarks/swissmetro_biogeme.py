"""Biogeme's Swissmetro nested logit (example b09nested) next to ours, in one run.

    python benchmarks/swissmetro_biogeme.py     # needs the peers venv (benchmarks/setup_peers.sh)

Biogeme runs in the peers virtual environment, in a subprocess with a temporary working
directory (it writes report files there), on the bundled Swissmetro file with b09nested's
filters and variables: PURPOSE 1 or 3, a known choice, costs zero for GA holders, train and
car available in the SP part only, times and costs in hundreds. Train and car share the nest
"existing" (Biogeme's ``mu = 1 / iv:existing``), Swissmetro stands alone. Printed: both
packages' log-likelihoods, estimates, and standard errors: inverse Hessian (Biogeme's
Rao-Cramer), robust and BHHH (``cov_type="opg"``), with Biogeme's ``mu`` converted to ``iv``
by the delta method, their largest differences, and the seconds
of each estimation (the fit only, after the import and the data preparation).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = Path(os.environ.get("PEERS_VENV", HERE / ".peers-venv")) / "bin" / "python"
NAMES = ["asc_car", "asc_train", "cost", "time", "iv:existing"]

BIOGEME_B09 = r"""
import json, sys, time
import pandas as pd
import biogeme.biogeme as bio
import biogeme.database as db
from biogeme import models
from biogeme.expressions import Beta, Variable
from biogeme.nests import NestsForNestedLogit, OneNestForNestedLogit
from biogeme.results_processing.variance_covariance import EstimateVarianceCovariance as Cov

df = pd.read_csv(sys.argv[1], sep="\t")
df = df[df["PURPOSE"].isin([1, 3]) & (df["CHOICE"] != 0)]
database = db.Database("swissmetro", df)
CHOICE, GA, SP = Variable("CHOICE"), Variable("GA"), Variable("SP")
asc_car, asc_train = Beta("asc_car", 0, None, None, 0), Beta("asc_train", 0, None, None, 0)
b_time, b_cost = Beta("time", 0, None, None, 0), Beta("cost", 0, None, None, 0)
mu = Beta("mu_existing", 1, 1, 10, 0)
sp = SP != 0
v = {
    1: asc_train + b_time * Variable("TRAIN_TT") / 100 + b_cost * Variable("TRAIN_CO") * (GA == 0) / 100,
    2: b_time * Variable("SM_TT") / 100 + b_cost * Variable("SM_CO") * (GA == 0) / 100,
    3: asc_car + b_time * Variable("CAR_TT") / 100 + b_cost * Variable("CAR_CO") / 100,
}
av = {1: Variable("TRAIN_AV") * sp, 2: Variable("SM_AV"), 3: Variable("CAR_AV") * sp}
existing = OneNestForNestedLogit(nest_param=mu, list_of_alternatives=[1, 3], name="existing")
nests = NestsForNestedLogit(choice_set=[1, 2, 3], tuple_of_nests=(existing,))
the_biogeme = bio.BIOGEME(database, models.lognested(v, av, nests, CHOICE))
the_biogeme.model_name = "b09nested"
start = time.perf_counter()
results = the_biogeme.estimate()
seconds = time.perf_counter() - start
table = {name: {"value": value, **{kind.value: results.get_parameter_std_err(name, kind)
                                    for kind in (Cov.RAO_CRAMER, Cov.ROBUST, Cov.BHHH)}}
         for name, value in results.get_beta_values().items()}
print(json.dumps({"seconds": seconds, "llf": results.final_loglikelihood, "table": table}))
"""


def swissmetro_long(sm: pd.DataFrame) -> pd.DataFrame:
    """b09nested's data in long form: one row per (situation, alternative 1/2/3)."""
    sm = sm[sm["PURPOSE"].isin([1, 3]) & (sm["CHOICE"] != 0)].reset_index(drop=True)
    sp = (sm["SP"] != 0).astype(int)
    ga = (sm["GA"] == 0).astype(int)
    columns = {
        1: (sm["TRAIN_TT"], sm["TRAIN_CO"] * ga, sm["TRAIN_AV"] * sp),
        2: (sm["SM_TT"], sm["SM_CO"] * ga, sm["SM_AV"]),
        3: (sm["CAR_TT"], sm["CAR_CO"], sm["CAR_AV"] * sp),
    }
    frames = [
        pd.DataFrame({"obs": sm.index, "alt": alt, "choice": (sm["CHOICE"] == alt).astype(int),
                      "time": tt / 100.0, "cost": co / 100.0, "av": av,
                      "asc_train": float(alt == 1), "asc_car": float(alt == 3)})
        for alt, (tt, co, av) in columns.items()
    ]
    return pd.concat(frames, ignore_index=True).sort_values(["obs", "alt"], ignore_index=True)


def run_biogeme(sm: pd.DataFrame) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "swissmetro.dat"
        sm.to_csv(path, sep="\t", index=False)
        proc = subprocess.run([str(PEERS_PYTHON), "-c", BIOGEME_B09, str(path)], cwd=tmp,
                              capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"biogeme failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    import choicemodels as cm

    sm = cm.datasets.load_swissmetro()
    long = swissmetro_long(sm)
    model = cm.NestedLogit("choice ~ asc_car + asc_train + cost + time | 0", data=long, obs="obs",
                           alt="alt", avail="av", nests={"existing": [1, 3], "future": [2]})
    start = time.perf_counter()
    ours = model.fit()
    seconds = time.perf_counter() - start
    robust, opg = model.fit(cov_type="robust"), model.fit(cov_type="opg")

    if not PEERS_PYTHON.exists():
        sys.exit(f"no peers venv at {PEERS_PYTHON}: run bash benchmarks/setup_peers.sh")
    bio = run_biogeme(sm)
    table = pd.DataFrame(bio["table"]).T
    mu = table.loc["mu_existing", "value"]
    # delta method: iv = 1 / mu, se(iv) = se(mu) / mu^2
    theirs = table.rename(columns={"Rao-Cramer": "se", "Robust": "robust se", "BHHH": "opg se"})
    theirs.loc["mu_existing"] = [1 / mu, *(theirs.loc["mu_existing"].iloc[1:] / mu**2)]
    theirs = theirs.rename(index={"mu_existing": "iv:existing"}).loc[NAMES]
    mine = pd.DataFrame({"value": ours.params, "se": ours.bse, "robust se": robust.bse,
                         "opg se": opg.bse}).loc[NAMES]
    side = pd.concat({"choicemodels": mine, "biogeme": theirs}, axis=1)
    pd.set_option("display.width", 140)
    print("Swissmetro nested logit (Biogeme example b09nested), 6,768 situations\n")
    print(side.to_string(float_format=lambda x: f"{x:.6f}"))
    print(f"\nlog-likelihood: choicemodels {ours.llf:.6f}   biogeme {bio['llf']:.6f}   "
          f"difference {ours.llf - bio['llf']:.2e}")
    print("largest |difference| / biogeme's se: "
          f"estimates {np.max(np.abs(mine['value'] - theirs['value']) / theirs['se']):.1e}, "
          f"se {np.max(np.abs(mine['se'] / theirs['se'] - 1)):.1e} (relative), "
          f"robust se {np.max(np.abs(mine['robust se'] / theirs['robust se'] - 1)):.1e}, "
          f"opg se {np.max(np.abs(mine['opg se'] / theirs['opg se'] - 1)):.1e} (relative)")
    print(f"estimation seconds: choicemodels {seconds:.3f}   biogeme {bio['seconds']:.3f}   "
          f"ratio {bio['seconds'] / seconds:.1f}x")


if __name__ == "__main__":
    main()
