"""Hypothesis profiles: the default test run draws the same examples every time
(``derandomize``), so that a failure reproduces; ``HYPOTHESIS_PROFILE=explore`` draws
fresh examples on every run to search for new counterexamples."""

import os

import pandas as pd
import pytest
from hypothesis import settings

import choicemodels as cm

settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def swissmetro_long() -> pd.DataFrame:
    """Biogeme's Swissmetro examples' data in long form (alternatives 1 train, 2 Swissmetro,
    3 car): PURPOSE 1 or 3 and a known choice; costs zero for GA holders; car and train
    available in the SP part only; times and costs in hundreds. 6,768 situations."""
    sm = cm.datasets.load_swissmetro()
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
