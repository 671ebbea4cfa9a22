"""ChoiceData, array validation and wide <-> long reshaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choicemodels.data import ChoiceData, long_to_wide, validate_arrays, wide_to_long
from choicemodels.datasets import load_swissmetro, load_travel_mode

SWISS = dict(alternatives={1: "TRAIN", 2: "SM", 3: "CAR"}, choice="CHOICE", avail="AV",
             alt_position="prefix", alt_name="mode")


def test_choice_data_of_unbalanced_sets():
    long = pd.DataFrame({
        "id": [7, 7, 7, 3, 3, 5, 5, 5],
        "alt": ["b", "a", "c", "c", "a", "a", "b", "c"],
        "y": [0, 1, 0, 1, 0, 0, 0, 1],
        "av": [1, 1, 1, 1, 1, 1, 0, 1],
    })
    cd = ChoiceData.from_long(long, obs="id", alt="alt", choice="y", avail="av")
    assert cd.alternatives == ("a", "b", "c")
    np.testing.assert_array_equal(cd.obs_ids, [7, 3, 5])
    np.testing.assert_array_equal(cd.avail, [[1, 1, 1], [1, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(cd.chosen, [0, 2, 2])
    assert len(cd.frame) == 7
    arr = cd.to_array(np.arange(7.0) + 1)
    np.testing.assert_array_equal(arr, [[2, 1, 3], [5, 0, 4], [6, 0, 7]])


def test_validate_arrays_design():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3, 2))
    avail = np.ones((20, 3), bool)
    avail[::4, 1] = False
    chosen = np.where(avail[:, 2], 2, 0)
    d = validate_arrays(X, chosen.astype(float), avail=avail.astype(int), weights=np.full(20, 2.0),
                        names=["cost", "time"])
    assert d.alternatives == (0, 1, 2) and d.ref == 0 and d.names == ("cost", "time")
    assert d.chosen.dtype == np.int64 and d.X.dtype == np.float64
    assert not d.X[~avail].any()
    np.testing.assert_array_equal(d.X[avail], X[avail])
    np.testing.assert_array_equal(d.obs_ids, np.arange(20))
    assert validate_arrays(X, chosen).names == ("x0", "x1")


def test_wide_to_long_matches_pandas_wide_to_long():
    rng = np.random.default_rng(2)
    wide = pd.DataFrame({
        "id": [11, 12, 13, 14],
        "pick": ["bus", "car", "rail", "car"],
        "income": [10.0, 20.0, 30.0, 40.0],
        **{f"{s}_{a}": rng.normal(size=4) for s in ("cost", "time") for a in ("bus", "car", "rail")},
    })
    before = wide.copy()
    long = wide_to_long(wide, alternatives=["bus", "car", "rail"], choice="pick", obs="id")
    pd.testing.assert_frame_equal(wide, before)
    ref = (pd.wide_to_long(wide.drop(columns="pick"), stubnames=["cost", "time"], i="id", j="alt",
                           sep="_", suffix=r"\w+").reset_index().sort_values(["id", "alt"]).reset_index(drop=True))
    got = long.sort_values(["id", "alt"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)
    picked = got.loc[got["pick"] == 1, "alt"].tolist()
    assert picked == ["bus", "car", "rail", "car"]
    assert got.groupby("id")["pick"].sum().eq(1).all()


def test_swissmetro_wide_long_round_trip():
    wide = load_swissmetro()
    wide = wide[wide.CHOICE != 0]
    long = wide_to_long(wide, **SWISS)
    assert len(long) == 3 * len(wide)
    # independent check: chosen labels against the CHOICE coding 1/2/3
    chosen = long.loc[long.CHOICE == 1, "mode"].map({"TRAIN": 1, "SM": 2, "CAR": 3}).to_numpy()
    np.testing.assert_array_equal(chosen, wide.CHOICE.to_numpy())
    car = long[long["mode"] == "CAR"]
    np.testing.assert_array_equal(car["TT"].to_numpy(), wide.CAR_TT.to_numpy())
    np.testing.assert_array_equal(car["AV"].to_numpy(), wide.CAR_AV.to_numpy())
    assert car["HE"].isna().all()  # CAR has no headway column
    back = long_to_wide(long, obs="obs", alt="mode", varying=["TT", "CO", "HE", "SEATS"],
                        **{k: v for k, v in SWISS.items() if k != "alt_name"})
    assert set(back.columns) == set(wide.columns)
    pd.testing.assert_frame_equal(back[wide.columns], wide.rename_axis("obs"), check_dtype=False)


def test_travel_mode_long_wide_long_round_trip():
    long = load_travel_mode()
    wide = long_to_wide(long, obs="individual", alt="mode", choice="choice")
    assert wide.shape == (210, 2 + 4 * 4 + 1)
    ref = long.pivot(index="individual", columns="mode", values="invt")
    np.testing.assert_array_equal(wide["invt_bus"].to_numpy(), ref["bus"].to_numpy())
    assert list(wide.columns[:2]) == ["hinc", "psize"]  # situation-level columns detected
    again = wide_to_long(wide, alternatives=["air", "train", "bus", "car"], choice="choice", alt_name="mode")
    pd.testing.assert_frame_equal(again[long.columns], long, check_dtype=False)


def test_unbalanced_long_to_wide_adds_availability():
    long = load_travel_mode()
    drop = (long["mode"] == "bus") & (long.choice == 0) & (long.individual <= 20)
    wide = long_to_wide(long[~drop], obs="individual", alt="mode", choice="choice")
    np.testing.assert_array_equal(wide["avail_bus"].to_numpy()[:20], 1 - drop.to_numpy()[2:80:4])
    assert wide["avail_car"].eq(1).all() and wide["invt_bus"].isna().sum() == drop.sum()
    again = wide_to_long(wide, alternatives=["air", "bus", "car", "train"], choice="choice",
                         avail="avail", alt_name="mode")
    cd_again = ChoiceData.from_long(again, obs="individual", alt="mode", avail="avail")
    cd = ChoiceData.from_long(long[~drop], obs="individual", alt="mode")
    np.testing.assert_array_equal(cd_again.avail, cd.avail)
    np.testing.assert_array_equal(cd_again.chosen, cd.chosen)


def test_long_to_wide_keeps_every_column_that_varies_within_a_situation():
    # TravelMode: listing only gc kept the first row's ttme, invc and invt of each situation
    long = load_travel_mode()
    wide = long_to_wide(long, obs="individual", alt="mode", choice="choice", varying=["gc"])
    assert list(wide.columns[:2]) == ["hinc", "psize"]
    for stem in ("gc", "ttme", "invc", "invt"):
        ref = long.pivot(index="individual", columns="mode", values=stem)
        for mode in ref.columns:
            np.testing.assert_array_equal(wide[f"{stem}_{mode}"].to_numpy(), ref[mode].to_numpy())
    # a listed column that does not vary is still made varying, as asked
    wide = long_to_wide(long, obs="individual", alt="mode", choice="choice", varying=["hinc"])
    np.testing.assert_array_equal(wide["hinc_bus"].to_numpy(), long.hinc.to_numpy()[::4])
    assert "hinc" not in wide.columns and "ttme_air" in wide.columns


@st.composite
def long_frames(draw):
    """Long frames of 1-5 situations over 2-4 alternatives, some rows absent (never the chosen
    one), with columns constant within situations, varying, varying in one situation only,
    or holding strings; and any subset of those columns to list as varying."""
    n, J = draw(st.integers(1, 5)), draw(st.integers(2, 4))
    labels = ["a", "b", "c", "d"][:J]
    rows = []
    for i in range(n):
        chosen = draw(st.integers(0, J - 1))
        other = draw(st.integers(0, J - 2))
        other += other >= chosen  # a second alternative, so that there is a choice
        present = [j for j in range(J) if j in (chosen, other) or draw(st.booleans())]
        rows += [(i, j, int(j == chosen)) for j in present]
    m = len(rows)
    values = st.integers(-3, 3).map(float)
    columns = {}
    for k, kind in enumerate(draw(st.lists(st.sampled_from(["situation", "alt", "one", "text"]),
                                           min_size=1, max_size=4))):
        by_obs = draw(st.lists(values, min_size=n, max_size=n))
        if kind == "situation":
            col = [by_obs[i] for i, _, _ in rows]
        elif kind == "alt":
            col = draw(st.lists(values, min_size=m, max_size=m))
        elif kind == "one":  # constant within every situation but one row
            col = [by_obs[i] for i, _, _ in rows]
            col[draw(st.integers(0, m - 1))] += 10.0
        else:
            col = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=m, max_size=m))
        columns[f"v{k}"] = col
    frame = pd.DataFrame({"obs": [r[0] for r in rows], "alt": [labels[r[1]] for r in rows],
                          "choice": [r[2] for r in rows], **columns})
    varying = draw(st.lists(st.sampled_from(list(columns)), unique=True))
    return frame, labels, varying


@settings(max_examples=120, deadline=None)
@given(long_frames())
def test_long_wide_long_keeps_every_value_of_every_column(case):
    long, labels, varying = case
    wide = long_to_wide(long, obs="obs", alt="alt", choice="choice", varying=varying)
    unbalanced = len(long) < len(labels) * long.obs.nunique()
    labels = sorted(long.alt.unique())  # the alternatives that occur
    back = wide_to_long(wide, alternatives=labels, choice="choice",
                        avail="avail" if unbalanced else None)
    if unbalanced:
        back = back[back.avail == 1]
    merged = long.merge(back, on=["obs", "alt"], how="outer", suffixes=("", "_back"), indicator=True)
    assert (merged["_merge"] == "both").all()  # the same (situation, alternative) rows
    for c in long.columns.drop(["obs", "alt"]):
        np.testing.assert_array_equal(merged[f"{c}_back"].to_numpy(), merged[c].to_numpy(), err_msg=c)
