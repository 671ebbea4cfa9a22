"""Bundled datasets against independent sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from choicemodels import datasets
from choicemodels.datasets import list_datasets, load_dataset, load_swissmetro, load_travel_mode


def test_travel_mode_equals_statsmodels_copy():
    from statsmodels.datasets import modechoice

    ref = modechoice.load_pandas().data
    df = load_travel_mode()
    assert df.shape == (840, 9)
    assert list(df.columns) == ["individual", "mode", "choice", "ttme", "invc", "invt", "gc", "hinc", "psize"]
    assert df["mode"].tolist() == ref["mode"].map({1: "air", 2: "train", 3: "bus", 4: "car"}).tolist()
    for column in ref.columns.drop("mode"):
        np.testing.assert_array_equal(df[column].to_numpy(dtype=float), ref[column].to_numpy(), err_msg=column)
    assert df.groupby("individual")["choice"].sum().eq(1).all()


def test_travel_mode_descr():
    df, descr = load_travel_mode(return_descr=True)
    assert descr is datasets.TRAVEL_MODE_DESCR and "Greene" in descr and len(df) == 840


def test_swissmetro_published_properties():
    df, descr = load_swissmetro(return_descr=True)
    assert df.shape == (10_728, 28) and "Bierlaire" in descr
    # nine stated choice situations per respondent (Swissmetro data description)
    assert df["ID"].nunique() == 1_192 and df.groupby("ID").size().eq(9).all()
    # Biogeme's Swissmetro examples keep PURPOSE 1 or 3 and known choices: 6,768 situations
    assert (df["PURPOSE"].isin([1, 3]) & (df["CHOICE"] != 0)).sum() == 6_768
    for column in ("TRAIN_AV", "SM_AV", "CAR_AV"):
        assert set(df[column].unique()) <= {0, 1}
    assert set(df["CHOICE"].unique()) == {0, 1, 2, 3}
    # nobody chose an alternative that was not available
    for code, column in ((1, "TRAIN_AV"), (2, "SM_AV"), (3, "CAR_AV")):
        assert not ((df["CHOICE"] == code) & (df[column] == 0)).any()


def test_list_and_load_by_name():
    names = list_datasets()
    assert {"travel_mode", "swissmetro"} <= set(names)
    pd.testing.assert_frame_equal(load_dataset("travel_mode"), load_travel_mode())
    try:
        load_dataset("travel_mood")
    except ValueError as exc:
        assert "Did you mean 'travel_mode'" in str(exc)
    else:
        raise AssertionError("unknown dataset accepted")


def test_loaders_return_fresh_frames():
    a = load_travel_mode()
    a.loc[0, "gc"] = -1.0
    assert load_travel_mode().loc[0, "gc"] == 70.0


def test_fishing_published_properties():
    """mlogit's Fishing data: 1,182 anglers, four modes; the shares of the chosen modes
    mlogit prints (beach 0.11337, boat 0.35364, charter 0.38240, pier 0.15059) and the
    first rows of ``head(Fishing)`` in mlogit's documentation."""
    wide, descr = datasets.load_fishing(wide=True, return_descr=True)
    assert descr is datasets.FISHING_DESCR and "Herriges" in descr
    assert wide.shape == (1182, 10)
    shares = wide["mode"].value_counts(normalize=True)
    for mode, share in {"beach": 0.11337, "boat": 0.35364, "charter": 0.38240, "pier": 0.15059}.items():
        assert abs(shares[mode] - share) < 5e-6, mode
    assert wide.iloc[0].tolist() == ["charter", 157.93, 157.93, 157.93, 182.93, 0.0678, 0.0503, 0.2601,
                                     0.5391, 7083.3317]
    assert wide.iloc[2][["price.boat", "catch.charter"]].tolist() == [24.334, 1.0266]


def test_fishing_long_layout_matches_the_wide_file():
    wide = datasets.load_fishing(wide=True)
    long = datasets.load_fishing()
    assert long.shape == (4728, 6)
    assert list(long.columns) == ["id", "alt", "income", "price", "catch", "mode"]
    assert long.groupby("id")["mode"].sum().eq(1).all()
    chosen = long[long["mode"] == 1].set_index("id")["alt"]
    assert chosen.tolist() == wide["mode"].tolist()
    for stem in ("price", "catch"):
        as_wide = long.pivot(index="id", columns="alt", values=stem)
        for mode in ("beach", "pier", "boat", "charter"):
            np.testing.assert_array_equal(as_wide[mode].to_numpy(), wide[f"{stem}.{mode}"].to_numpy())
    pd.testing.assert_frame_equal(load_dataset("fishing"), long)
    assert "fishing" in list_datasets()


def test_heating_cooling_published_properties():
    """mlogit's HC data: 250 houses, seven systems; the shares of the chosen systems mlogit
    prints in its nested-logit exercise (ec 0.004, ecc 0.016, er 0.032, erc 0.004, gc 0.096,
    gcc 0.744, hpc 0.104) and the first row of ``head(HC)`` (mlogit 2.0-0, in dollars)."""
    wide, descr = datasets.load_heating_cooling(wide=True, return_descr=True)
    assert descr is datasets.HEATING_COOLING_DESCR and "Train" in descr
    assert wide.shape == (250, 18)
    shares = wide["depvar"].value_counts(normalize=True)
    published = {"ec": 0.004, "ecc": 0.016, "er": 0.032, "erc": 0.004, "gc": 0.096, "gcc": 0.744, "hpc": 0.104}
    assert shares.to_dict() == pytest.approx(published, abs=1e-12)
    assert wide.iloc[0].tolist() == ["erc", 970, 786, 879, 1136, 2408, 2450, 737, 2728,
                                     226, 409, 385, 173, 226, 409, 385, 295, 20]
    long = datasets.load_heating_cooling()
    assert long.shape == (1750, 8) and long.groupby("id")["depvar"].sum().eq(1).all()
    chosen = long[long["depvar"] == 1].set_index("id")["alt"]
    assert chosen.tolist() == wide["depvar"].tolist()
    as_wide = long.pivot(index="id", columns="alt", values="och")
    np.testing.assert_array_equal(as_wide["hpc"].to_numpy(), wide["och.hpc"].to_numpy())
    pd.testing.assert_frame_equal(load_dataset("heating_cooling"), long)
    import hashlib

    digest = hashlib.sha256(datasets._path("heating_cooling.csv").read_bytes()).hexdigest()
    assert digest == "2514df78addcdbe43ce03cfb5aea2e91892c190c7bea6bf780dbea561ffd9a6f"  # data/README.md


def test_fishing_file_is_the_documented_one():
    import hashlib

    digest = hashlib.sha256(datasets._path("fishing.csv").read_bytes()).hexdigest()
    assert digest == "5f05655943e55ea81fd63ef6012d9eae7bd52b88714d04d8dcb80c6c004b030a"  # data/README.md


def test_electricity_published_properties():
    """mlogit's Electricity: 361 households, 4,308 choice situations (8 to 12 each), four
    suppliers; the choice frequencies mlogit prints for it (1: 0.22702, 2: 0.26393,
    3: 0.23816, 4: 0.27089) and the first rows of its ``head(Electricity)``."""
    wide, descr = datasets.load_electricity(wide=True, return_descr=True)
    assert descr is datasets.ELECTRICITY_DESCR and "Revelt" in descr
    assert wide.shape == (4308, 26)
    assert wide["id"].nunique() == 361
    sizes = wide.groupby("id").size()
    assert sizes.min() == 8 and sizes.max() == 12 and sizes.sum() == 4308
    shares = wide["choice"].value_counts(normalize=True)
    for alt, share in {1: 0.22702, 2: 0.26393, 3: 0.23816, 4: 0.27089}.items():
        assert abs(shares[alt] - share) < 5e-6, alt
    assert wide.iloc[0].tolist() == [4, 1, 7, 9, 0, 0, 5, 1, 0, 5, 0, 1, 0, 0, 1, 0, 0, 1,
                                     0, 0, 0, 1, 0, 0, 1, 0]
    # a TOD or seasonal rate replaces the fixed price: pf is 0 exactly there
    for j in range(1, 5):
        rate = (wide[f"tod{j}"] + wide[f"seas{j}"]).to_numpy()
        assert set(rate) <= {0, 1}
        np.testing.assert_array_equal(wide[f"pf{j}"].to_numpy() == 0, rate == 1)


def test_electricity_long_layout_matches_the_wide_file():
    wide = datasets.load_electricity(wide=True)
    long = datasets.load_electricity()
    assert long.shape == (17232, 10)
    assert list(long.columns) == ["id", "chid", "alt", "choice", "pf", "cl", "loc", "wk", "tod", "seas"]
    assert (long.dtypes == "int64").all()
    assert long.groupby("chid")["choice"].sum().eq(1).all()
    chosen = long[long["choice"] == 1].set_index("chid")["alt"]
    assert chosen.tolist() == wide["choice"].tolist()
    # the panel: one household per situation, the household of the wide row
    assert long.groupby("chid")["id"].nunique().eq(1).all()
    assert long.groupby("chid")["id"].first().tolist() == wide["id"].tolist()
    for stem in ("pf", "cl", "loc", "wk", "tod", "seas"):
        as_wide = long.pivot(index="chid", columns="alt", values=stem)
        for j in range(1, 5):
            np.testing.assert_array_equal(as_wide[j].to_numpy(), wide[f"{stem}{j}"].to_numpy())
    pd.testing.assert_frame_equal(load_dataset("electricity"), long)
    assert "electricity" in list_datasets()


def test_electricity_file_is_the_documented_one():
    import hashlib

    digest = hashlib.sha256(datasets._path("electricity.csv").read_bytes()).hexdigest()
    assert digest == "15b2ff508f6c602da5190aa59922c327554e8cb5e54e2acccf08272a3285ecf9"  # data/README.md


def test_train_published_properties():
    """mlogit's Train: 235 travellers, 2,929 choice situations; the choices A 1,474 and B
    1,455, and the first row of ``head(Train)`` in mlogit's documentation."""
    wide, descr = datasets.load_train(wide=True, return_descr=True)
    assert descr is datasets.TRAIN_DESCR and "Ben-Akiva" in descr
    assert wide.shape == (2929, 11)
    assert wide["id"].nunique() == 235 and wide["choiceid"].tolist() == list(range(1, 2930))
    assert wide["choice"].value_counts().to_dict() == {"A": 1474, "B": 1455}
    assert wide.iloc[0].tolist() == [1, 1, "A", 2400, 4000, 150, 150, 0, 0, 1, 1]
    for stem, values in (("change", set(range(5))), ("comfort", {0, 1, 2})):
        for alt in "AB":
            assert set(wide[f"{stem}_{alt}"]) <= values


def test_train_long_layout_matches_the_wide_file():
    wide = datasets.load_train(wide=True)
    long = datasets.load_train()
    assert long.shape == (5858, 8)
    assert list(long.columns) == ["id", "chid", "alt", "choice", "price", "time", "change", "comfort"]
    assert long.groupby("chid")["choice"].sum().eq(1).all()
    chosen = long[long["choice"] == 1].set_index("chid")["alt"]
    assert chosen.tolist() == wide["choice"].tolist()
    for stem in ("price", "time", "change", "comfort"):
        as_wide = long.pivot(index="chid", columns="alt", values=stem)
        for alt in "AB":
            np.testing.assert_array_equal(as_wide[alt].to_numpy(), wide[f"{stem}_{alt}"].to_numpy())
    pd.testing.assert_frame_equal(load_dataset("train"), long)


def test_train_file_is_the_documented_one():
    import hashlib

    digest = hashlib.sha256(datasets._path("train.csv").read_bytes()).hexdigest()
    assert digest == "a0bb9d0e0ff1f1b17aba286085ce3306bef38fe7accb0df9efe8fa002fb82d5b"  # data/README.md


def test_train_reproduces_mlogit_vignette_logit():
    """The conditional logit of mlogit's mixed logit vignette on ``Train`` (mlogit 1.1-3,
    ``vignettes/c5.mxl``): all attributes with the opposite sign, price / 100 * 2.20371,
    time / 60, no constants; printed estimates price 0.06735804 (SE 0.003393252), time
    1.72055142 (0.160351702), change 0.32634094 (0.059489152), comfort 0.94572555
    (0.064945464)."""
    import choicemodels as cm

    df = datasets.load_train()
    df = df.assign(price=-df["price"] / 100 * 2.20371, time=-df["time"] / 60,
                   change=-df["change"], comfort=-df["comfort"])
    r = cm.Logit("choice ~ price + time + change + comfort | 0", data=df, obs="chid", alt="alt").fit()
    published = {"price": (0.06735804, 0.003393252), "time": (1.72055142, 0.160351702),
                 "change": (0.32634094, 0.059489152), "comfort": (0.94572555, 0.064945464)}
    for name, (value, se) in published.items():
        assert abs(r.params[name] - value) < 5e-7 * max(1.0, abs(value)), name
        assert abs(r.bse[name] - se) < 5e-6 * se, name
