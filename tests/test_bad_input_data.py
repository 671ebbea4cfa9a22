"""One test per input-validation rule: error type and the words of the message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from choicemodels.data import ChoiceData, validate_arrays, wide_to_long
from choicemodels.datasets import load_swissmetro, load_travel_mode
from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.formula import design_from_formula

ROLES = dict(obs="individual", alt="mode")


@pytest.fixture
def df() -> pd.DataFrame:
    return load_travel_mode()


def design(formula, data, **kw):
    return design_from_formula(formula, data, **{**ROLES, **kw})


def test_nan_in_used_variable(df):
    df.loc[5, "gc"] = np.nan
    with pytest.raises(ChoiceDataError, match=r"'gc' has 1 missing or infinite .*situations \[2\]"):
        design("choice ~ gc", df)


def test_inf_created_by_transformation(df):
    with pytest.raises(ChoiceDataError, match=r"'np.log\(ttme\)' has 210 missing or infinite"):
        design("choice ~ np.log(ttme)", df)  # ttme is 0 for every car row


def test_nan_in_weights(df):
    df["w"] = 1.0
    df.loc[df.individual == 3, "w"] = np.nan
    with pytest.raises(ChoiceDataError, match=r"'w' has 4 missing or infinite .*\[3\]"):
        design("choice ~ gc", df, weights="w")


def test_nan_in_availability(df):
    df["av"] = 1.0
    df.loc[7, "av"] = np.nan
    with pytest.raises(ChoiceDataError, match=r"availability column 'av' must hold only 0/1.*nan"):
        design("choice ~ gc", df, avail="av")


def test_non_numeric_value_is_named(df):
    df["gc"] = df["gc"].astype(object)
    df.loc[10, "gc"] = "n/a"
    with pytest.raises(ChoiceDataError, match=r"'gc' must be numeric .*'n/a' \(row 10\)"):
        design("choice ~ gc", df)


def test_situation_without_chosen_alternative(df):
    df.loc[df.individual.isin([17, 40, 112, 150]), "choice"] = 0
    with pytest.raises(ChoiceDataError, match=r"exactly one chosen alternative per 'individual'; "
                       r"4 situations have none \(first: \[17, 40, 112\]\)\. Drop them"):
        design("choice ~ gc", df)


def test_situation_with_two_chosen(df):
    df.loc[df.individual == 9, "choice"] = 1
    with pytest.raises(ChoiceDataError, match=r"1 situations have more than one \(first: \[9\]\)"):
        design("choice ~ gc", df)


def test_choice_not_zero_one(df):
    df.loc[0, "choice"] = 2
    with pytest.raises(ChoiceDataError, match=r"choice column 'choice' must hold only 0/1.*\[2\]"):
        design("choice ~ gc", df)


def test_wide_choice_not_a_label():
    wide = load_swissmetro()  # 9 situations have CHOICE = 0 (unknown)
    with pytest.raises(ChoiceDataError, match=r"'CHOICE' must hold one of the alternatives \[1, 2, 3\]; "
                       r"9 situations hold \[0\]"):
        wide_to_long(wide, alternatives={1: "TRAIN", 2: "SM", 3: "CAR"}, choice="CHOICE",
                     avail="AV", alt_position="prefix")


def test_chosen_alternative_unavailable(df):
    df["av"] = 1
    df.loc[(df.individual == 4) & (df.choice == 1), "av"] = 0
    with pytest.raises(ChoiceDataError, match=r"1 chosen alternatives are marked unavailable in 'av' \(situations \[4\]\)"):
        design("choice ~ gc", df, avail="av")


def test_wide_chosen_alternative_unavailable():
    wide = pd.DataFrame({"y": ["a", "b"], "x_a": [1.0, 2.0], "x_b": [3.0, 5.0], "av_a": [0, 1], "av_b": [1, 1]})
    with pytest.raises(ChoiceDataError, match=r"chosen alternative is marked unavailable in 'av' for situations \[0\]"):
        wide_to_long(wide, alternatives=["a", "b"], choice="y", avail="av")


def test_availability_not_zero_one(df):
    df["av"] = 1
    df.loc[3, "av"] = 5
    with pytest.raises(ChoiceDataError, match=r"availability column 'av' must hold only 0/1.*\[5\]"):
        design("choice ~ gc", df, avail="av")


def test_duplicate_rows(df):
    dup = pd.concat([df, df.iloc[[4]]], ignore_index=True)
    with pytest.raises(ChoiceDataError, match=r"2 rows repeat a \('individual', 'mode'\) pair, e.g. \[\(2, 'air'\)"):
        design("choice ~ gc", dup)


def test_empty_data(df):
    with pytest.raises(ChoiceDataError, match="data are empty"):
        design("choice ~ gc", df.iloc[:0])


def test_single_alternative(df):
    one = df[df["mode"] == "car"]  # every individual keeps only car, chosen or not
    one = one.assign(choice=1)
    with pytest.raises(ChoiceDataError, match=r"'mode' holds a single alternative \['car'\]"):
        design("choice ~ gc", one)


def test_alternative_never_available(df):
    df["av"] = (df["mode"] != "bus").astype(int)
    df = df[~df.individual.isin(df.individual[(df["mode"] == "bus") & (df.choice == 1)])]
    with pytest.raises(ChoiceDataError, match=r"alternatives \['bus'\] of 'mode' are never available \(in 'av'\)"):
        design("choice ~ gc", df, avail="av", ref="car")


def test_given_alternative_absent_from_estimation_data(df):
    df = df[~df.individual.isin(df.individual[(df["mode"] == "bus") & (df.choice == 1)])]
    df = df[df["mode"] != "bus"]
    with pytest.raises(SpecificationError, match=r"'\(Intercept\):bus' is constant \(every available value is 0\)"):
        design("choice ~ gc", df, alternatives=["air", "bus", "car", "train"], ref="car")


def test_alternative_never_available_arrays():
    X = np.random.default_rng(0).normal(size=(6, 3, 1))
    avail = np.ones((6, 3))
    avail[:, 2] = 0
    with pytest.raises(ChoiceDataError, match=r"alternatives \[2\] are never available"):
        validate_arrays(X, np.zeros(6), avail=avail)


def test_situation_without_available_alternative(df):
    df["av"] = 1
    df.loc[df.individual == 8, "av"] = 0
    df.loc[df.individual == 8, "choice"] = 0
    with pytest.raises(ChoiceDataError, match=r"1 situations have no available alternative \('individual' \[8\]\)"):
        design("choice ~ gc", df, avail="av")


def test_unknown_formula_column_suggests(df):
    with pytest.raises(SpecificationError, match=r"names column 'gcc'.*Did you mean \['gc'"):
        design("choice ~ gcc + ttme", df)


def test_unknown_role_column_suggests(df):
    with pytest.raises(ChoiceDataError, match=r"obs= names column 'individuals'.*Did you mean \['individual'\]"):
        design_from_formula("choice ~ gc", df, obs="individuals", alt="mode")


def test_unknown_response_column(df):
    with pytest.raises(ChoiceDataError, match=r"names column 'choise'.*Did you mean \['choice'\]"):
        design("choise ~ gc", df)


def test_ref_not_an_alternative(df):
    with pytest.raises(SpecificationError, match=r"ref='cars' is not among the alternatives .*Did you mean 'car'"):
        design("choice ~ gc", df, ref="cars")


def test_situation_level_variable_in_part_one(df):
    with pytest.raises(SpecificationError, match=r"'hinc' is in part 1 .*situation-level variable.*Move it to part 2"):
        design("choice ~ gc + hinc", df)


def test_constant_column(df):
    df["one"] = 1.0
    with pytest.raises(SpecificationError, match=r"column 'one' is constant \(every available value is 1\)"):
        design("choice ~ gc + one", df)


def test_collinear_columns_are_named(df):
    df["gc_invt"] = 2 * df["gc"] - df["invt"]
    with pytest.raises(SpecificationError, match=r"columns \['gc', 'invt', 'gc_invt'\] are perfectly collinear"):
        design("choice ~ gc + ttme + invt + gc_invt", df)


def test_more_parameters_than_situations(df):
    small = df[df.individual <= 5]
    with pytest.raises(SpecificationError, match=r"more coefficients \(K=12\) than choice situations \(N=5\)"):
        design("choice ~ gc + ttme | hinc | invt", small)


def test_negative_weights(df):
    df["w"] = 1.0
    df.loc[df.individual == 6, "w"] = -2.0
    with pytest.raises(ChoiceDataError, match=r"'w' has negative values \(situations \[6\]\)"):
        design("choice ~ gc", df, weights="w")


def test_all_zero_weights(df):
    df["w"] = 0.0
    with pytest.raises(ChoiceDataError, match=r"'w' is zero everywhere"):
        design("choice ~ gc", df, weights="w")


def test_weights_vary_within_situation(df):
    df["w"] = 1.0
    df.loc[9, "w"] = 2.0  # row 9 belongs to individual 3
    with pytest.raises(ChoiceDataError, match=r"constant within each situation; it varies in situations \[3\]"):
        design("choice ~ gc", df, weights="w")


def test_array_shape_error_names_letters():
    with pytest.raises(ChoiceDataError, match=r"X must have shape \(N, J, K\); got an array of shape \(4, 3\)"):
        validate_arrays(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ChoiceDataError, match=r"chosen must have shape \(N,\) = \(4,\)"):
        validate_arrays(np.zeros((4, 3, 1)), np.zeros(5))
    with pytest.raises(ChoiceDataError, match=r"avail must have shape \(N, J\) = \(4, 3\)"):
        validate_arrays(np.zeros((4, 3, 1)), np.zeros(4), avail=np.ones((4, 2)))


def test_array_bad_dtype_and_chosen_range():
    with pytest.raises(ChoiceDataError, match=r"X must be a numeric array of shape \(N, J, K\)"):
        validate_arrays(np.array([[["a"]]]), [0])
    with pytest.raises(ChoiceDataError, match=r"chosen must hold integers 0..J-1 = 0..2; situations \[1\] hold \[3.0\]"):
        validate_arrays(np.zeros((2, 3, 1)), [0, 3])


def test_array_nan_is_named():
    X = np.random.default_rng(1).normal(size=(5, 3, 2))
    X[2, 1, 1] = np.nan
    with pytest.raises(ChoiceDataError, match=r"'time' has 1 missing or infinite values in available rows \(situations \[2\]\)"):
        validate_arrays(X, np.zeros(5), names=["cost", "time"])


def test_alternatives_outside_given_set(df):
    with pytest.raises(ChoiceDataError, match=r"'mode' holds alternatives \['bus'\] that are not among"):
        ChoiceData.from_long(df, obs="individual", alt="mode", alternatives=["air", "car", "train"])


@pytest.mark.parametrize("formula, words", [
    ("choice gc", "exactly one '~'"),
    ("choice ~ gc | hinc | invt | ttme", "has 4 parts"),
    ("choice ~ gc | | invt", "part 2 .* is empty"),
    ("choice ~ gc - 1", "part 1 never has constants"),
    ("choice ~ gc +", "cannot be parsed"),
    (" ~ gc", "no response"),
])
def test_malformed_formula(df, formula, words):
    with pytest.raises(SpecificationError, match=words):
        design(formula, df)


# ---- datetime columns, missing booleans, duplicated columns, formula typos ---------------------
def test_datetime_column_in_formula_shows_the_conversion(df):
    df["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["ttme"], unit="min")
    with pytest.raises(ChoiceDataError, match=r"'t' holds datetimes.*\(t - t.min\(\)\) / pd.Timedelta\(\"1h\"\)"):
        design("choice ~ gc + t", df)


def test_timedelta_column_in_formula_shows_the_conversion(df):
    df["wait"] = pd.to_timedelta(df["ttme"], unit="min")
    with pytest.raises(ChoiceDataError, match=r"'wait' holds time spans.*df\['wait'\] / pd.Timedelta\(\"1h\"\)"):
        design("choice ~ gc + wait", df)


def test_datetime_weights_are_refused(df):
    df["w"] = pd.Timestamp("2024-01-01")
    with pytest.raises(ChoiceDataError, match=r"'w' holds datetimes"):
        design("choice ~ gc", df, weights="w")


def test_boolean_choice_with_missing_value(df):
    df["choice"] = df["choice"].astype("boolean")
    df.loc[6, "choice"] = pd.NA
    with pytest.raises(ChoiceDataError, match=r"choice column 'choice' has 1 missing values \(rows \[6\]\).*fillna"):
        design("choice ~ gc", df)


def test_boolean_availability_with_missing_value(df):
    df["av"] = pd.array([True] * len(df), dtype="boolean")
    df.loc[9, "av"] = pd.NA
    with pytest.raises(ChoiceDataError, match=r"availability column 'av' has 1 missing values \(rows \[9\]\)"):
        design("choice ~ gc", df, avail="av")


def test_duplicated_column_names(df):
    twice = pd.concat([df, df[["gc"]]], axis=1)
    with pytest.raises(ChoiceDataError, match=r"'gc', which appears 2 times in the data; rename or drop"):
        design("choice ~ gc", twice)
    twice = pd.concat([df, df[["individual"]]], axis=1)
    with pytest.raises(ChoiceDataError, match=r"obs= names column 'individual', which appears 2 times"):
        design("choice ~ gc", twice)


def test_python_keyword_column_used_bare_suggests_q(df):
    df["class"] = df["gc"] * 2 + df["ttme"]
    with pytest.raises(SpecificationError, match=r"'class' is a Python keyword; write the column as Q\('class'\)"):
        design("choice ~ gc + class", df)
    assert design("choice ~ gc + Q('class')", df).names == ("gc", "Q('class')", "(Intercept):bus",
                                                           "(Intercept):car", "(Intercept):train")


def test_comma_between_terms(df):
    with pytest.raises(SpecificationError, match=r"term 'gc, ttme': a comma .*Separate terms with '\+'"):
        design("choice ~ gc, ttme", df)


def test_subscript_in_a_term(df):
    with pytest.raises(SpecificationError, match=r"term 'gc\[0\]': indexing .*names whole columns, e.g. 'gc'"):
        design("choice ~ gc[0] | hinc", df)
