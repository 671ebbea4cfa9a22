"""A design rebuilt on other data with the fitted state codes the columns as the fit did.

Stateful transforms (``center``, ``standardize``, ``scale``) keep the fit data's moments and
``C(x)`` keeps the fit's levels, so a design rebuilt on a subset of the situations, or on
perturbed data, equals the corresponding rows of the fitted design (or the closed form of
the perturbation), also after a round trip of the state through JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from choicemodels.datasets import load_travel_mode
from choicemodels.design import DesignState
from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.formula import design_from_formula

ROLES = dict(obs="individual", alt="mode", ref="car")
FORMULA = "choice ~ gc + center(ttme) | center(hinc) + standardize(psize) + C(size) | scale(invt)"


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    df = load_travel_mode()
    return df.assign(size=df["psize"].map({1: "single", 2: "couple"}).fillna("family"))


@pytest.fixture(scope="module")
def fitted(travel):
    return design_from_formula(FORMULA, travel, **ROLES)


def rebuild(data, state, formula=FORMULA):
    return design_from_formula(formula, data, require_choice=False, state=state, **ROLES)


def json_state(design):
    return json.loads(json.dumps(design.state.to_dict(), allow_nan=False))


def test_state_is_json_and_round_trips(fitted):
    data = json_state(fitted)
    assert DesignState.from_dict(json.loads(json.dumps(data))).to_dict() == data
    levels = {f["code"]: f["levels"] for part in data["parts"] for f in part}
    assert levels["C(size)"] == ["couple", "family", "single"]


@pytest.mark.parametrize("as_json", [False, True])
def test_subset_rebuilt_with_the_state_equals_the_fitted_rows(travel, fitted, as_json):
    keep = travel["individual"].isin(range(150, 211)) & (travel["psize"] > 1)  # no "single" left
    subset = travel[keep].drop(columns="choice")
    assert set(subset["size"]) == {"couple", "family"}
    state = json_state(fitted) if as_json else fitted.state
    d = rebuild(subset, state)
    assert d.names == fitted.names
    rows = np.flatnonzero(np.isin(fitted.obs_ids, d.obs_ids))
    np.testing.assert_array_equal(d.X, fitted.X[rows])  # bit for bit: the state is stored exactly
    relearned = design_from_formula(FORMULA.replace("C(size)", "C(size, levels=['couple', 'family', 'single'])"),
                                    subset, require_choice=False, **ROLES)
    assert not np.allclose(relearned.X, d.X)  # without the state, center() would use the subset's means


def test_center_keeps_the_fit_mean_and_standardize_its_moments(travel, fitted):
    sub = travel[travel["individual"] <= 20]
    d = rebuild(sub, json_state(fitted))
    air = d.X[:, 0, :]  # air is available everywhere; situations 1..20 in order
    hinc = sub.groupby("individual")["hinc"].first().to_numpy()
    psize = sub.groupby("individual")["psize"].first().to_numpy()
    full_psize = travel["psize"].to_numpy()  # one row per alternative, as patsy saw the fit data
    np.testing.assert_allclose(air[:, d.names.index("center(hinc):air")], hinc - travel["hinc"].mean(), rtol=1e-12)
    np.testing.assert_allclose(air[:, d.names.index("standardize(psize):air")],
                               (psize - full_psize.mean()) / full_psize.std(), rtol=1e-12)
    invt = sub[sub["mode"] == "air"]["invt"].to_numpy()
    full_invt = travel["invt"].to_numpy()  # scale() is patsy's alias of standardize()
    np.testing.assert_allclose(air[:, d.names.index("scale(invt):air")],
                               (invt - full_invt.mean()) / full_invt.std(), rtol=1e-12)


def test_perturbed_data_keep_the_fit_coding(travel, fitted):
    """The elasticity route: hinc * (1 + h) is centred at the fit mean, so the column moves by hinc * h."""
    h = 1e-4
    moved = travel.assign(hinc=travel["hinc"] * (1 + h)).drop(columns="choice")
    d = rebuild(moved, fitted.state)
    k = fitted.names.index("center(hinc):bus")
    bus = fitted.avail[:, 1]
    hinc = travel.groupby("individual")["hinc"].first().to_numpy()
    np.testing.assert_allclose(d.X[bus, 1, k] - fitted.X[bus, 1, k], hinc[bus] * h, rtol=1e-9)
    others = [i for i in range(fitted.n_params) if i != k and "hinc" not in fitted.names[i]]
    np.testing.assert_array_equal(d.X[:, :, others], fitted.X[:, :, others])


def test_a_level_the_fit_never_saw_raises_naming_column_and_level(travel, fitted):
    new = travel.assign(size=travel["size"].where(travel["individual"] != 7, "crowd")).drop(columns="choice")
    with pytest.raises(ChoiceDataError,
                       match=r"column 'size' .*level 'crowd'.*never had.*\['couple', 'family', 'single'\]"):
        rebuild(new, fitted.state)


def test_a_numeric_categorical_keeps_its_levels(travel):
    formula = "choice ~ gc | C(psize)"
    fit = design_from_formula(formula, travel, **ROLES)
    assert fit.names[4:7] == ("C(psize)[T.2.0]:air", "C(psize)[T.2.0]:bus", "C(psize)[T.2.0]:train")
    small = travel[travel["psize"].isin([2, 3])].drop(columns="choice")
    d = rebuild(small, json_state(fit), formula)
    rows = np.flatnonzero(np.isin(fit.obs_ids, d.obs_ids))
    np.testing.assert_array_equal(d.X, fit.X[rows])
    with pytest.raises(ChoiceDataError, match=r"'psize'.*level 9\.0"):
        rebuild(small.assign(psize=9), fit.state, formula)


def test_a_state_of_another_formula_or_a_tampered_state_raises(travel, fitted):
    with pytest.raises(SpecificationError, match=r"no factor 'np.log\(gc\)'"):
        rebuild(travel, fitted.state, "choice ~ np.log(gc) | center(hinc)")
    data = json_state(fitted)
    for broken, words in ((dict(data, version=2), "version-1"), (dict(data, parts=data["parts"][:2]), "three"),
                          ({**data, "parts": [[{"code": 1}], [], []]}, "malformed factor"), ([], "Design's state")):
        with pytest.raises(SpecificationError, match=words):
            rebuild(travel, broken)


def test_a_tampered_transform_state_raises(travel, fitted):
    data = json_state(fitted)
    factor = next(f for f in data["parts"][1] if f["code"] == "center(hinc)")
    (name, attrs), = factor["transforms"].items()
    for tampered, words in (({**attrs, "transform": 1.0}, "'transform'"), ({**attrs, "_sum": "os"}, "str")):
        factor["transforms"][name] = tampered
        with pytest.raises(SpecificationError, match=words):
            rebuild(travel, data)


def test_state_learned_over_chunks_gives_the_rows_of_the_whole_design(travel, fitted):
    """Data in blocks (Dask partitions): one state over all blocks, each block's design its rows."""
    from choicemodels.formula import learn_state, learns_from_data

    assert learns_from_data(FORMULA) and not learns_from_data("choice ~ np.log(gc) + I(ttme > 3) | hinc")
    assert learns_from_data("choice ~ gc | f(hinc)", functions={"f": np.log})

    ids = travel["individual"]
    blocks = [travel[ids <= 60], travel[(ids > 60) & (ids <= 61)], travel[ids > 61]]
    blocks[0] = blocks[0][blocks[0]["size"] != "single"]  # a block without one of the levels
    whole = pd.concat(blocks)
    reference = design_from_formula(FORMULA, whole, **ROLES)
    state = learn_state(FORMULA, lambda: iter(blocks))
    assert DesignState.from_dict(state.to_dict()).columns == reference.state.columns
    X = np.concatenate([rebuild(b, state).X for b in blocks])
    np.testing.assert_allclose(X, reference.X, rtol=1e-13, atol=1e-13)
    levels = FORMULA.replace("C(size)", "C(size, levels=['couple', 'family', 'single'])")
    own = design_from_formula(levels, blocks[0], require_choice=False, **ROLES).X
    assert not np.allclose(own, reference.X[:len(own)])  # a block centred on its own means differs


def test_a_reference_level_survives_the_rebuild(travel):
    formula = "choice ~ gc | C(size, Treatment('family'))"
    fit = design_from_formula(formula, travel, **ROLES)
    couples = travel[travel["size"] == "couple"].drop(columns="choice")
    d = rebuild(couples, json_state(fit), formula)
    rows = np.flatnonzero(np.isin(fit.obs_ids, d.obs_ids))
    np.testing.assert_array_equal(d.X, fit.X[rows])
    with pytest.raises(ChoiceDataError, match=r"column 'size' .*level 'crowd'"):
        rebuild(couples.assign(size="crowd"), fit.state, formula)


def test_a_boolean_term_keeps_both_levels(travel):
    formula = "choice ~ gc + I(ttme > 30) | hinc"
    fit = design_from_formula(formula, travel, **ROLES)
    quick = travel.assign(ttme=np.minimum(travel["ttme"], 30.0)).drop(columns="choice")  # all False
    d = rebuild(quick, json_state(fit), formula)
    k = fit.names.index("I(ttme > 30)[T.True]")
    assert d.names == fit.names and not d.X[:, :, k].any()
    np.testing.assert_array_equal(np.delete(d.X, k, axis=2), np.delete(fit.X, k, axis=2))
