"""Bad input: a clear, typed error at the boundary, before any numerics.

Every rule below raises :class:`~choicemodels.ChoiceDataError` (the data) or
:class:`~choicemodels.SpecificationError` (the model), both ``ValueError`` subclasses, with a
message naming the column, the first offending situations or the parameter, and the fix.
Each rule has one test asserting the type and the words of the message; the data-layer
rules are tested on ``design_from_formula`` / ``validate_arrays`` in
``tests/test_bad_input_data.py`` ("data" below), the rest here ("here"), through the public
constructors ``cm.Logit`` / ``cm.Probit`` / ``from_arrays`` and ``fit``.

Values
    1. NaN or infinite value in a used variable ............ data: test_nan_in_used_variable,
       test_inf_created_by_transformation, test_array_nan_is_named; here:
       test_infinite_value_in_variable, test_infinite_value_in_arrays,
       test_every_model_rejects_bad_data_at_construction
    2. NaN or infinite weight ................................ data: test_nan_in_weights;
       here: test_infinite_weight, test_nan_weight_in_arrays
    3. NaN / infinite availability ........................... data: test_nan_in_availability;
       here: test_infinite_availability
    4. non-numeric value in a numeric variable (named) ...... data: test_non_numeric_value_is_named;
       here: test_non_numeric_availability_and_weight
    5. missing situation id or alternative label ............. here: test_missing_id_or_label
Choices
    6. situation without a chosen alternative ................ data: test_situation_without_chosen_alternative
    7. situation with more than one .......................... data: test_situation_with_two_chosen
    8. choice column not 0/1 ................................. data: test_choice_not_zero_one;
       here: test_fractional_choice
    9. wide data: choice not a label of the alternatives ..... data: test_wide_choice_not_a_label
   10. from_arrays: chosen not in 0..J-1 ..................... data: test_array_bad_dtype_and_chosen_range;
       here: test_from_arrays_chosen_not_an_index
Availability
   11. chosen alternative marked unavailable ................. data: test_chosen_alternative_unavailable,
       test_wide_chosen_alternative_unavailable; here: test_from_arrays_chosen_unavailable
   12. availability not 0/1 .................................. data: test_availability_not_zero_one;
       here: test_from_arrays_availability_not_zero_one
   13. situation with no available alternative .............. data: test_situation_without_available_alternative
   14. alternative never available ........................... data: test_alternative_never_available,
       test_alternative_never_available_arrays
Structure
   15. duplicate (situation, alternative) rows .............. data: test_duplicate_rows
   16. empty data ............................................ data: test_empty_data; here: test_from_arrays_empty
   17. a single alternative .................................. data: test_single_alternative;
       here: test_from_arrays_single_alternative, test_wide_single_alternative
   18. data not a DataFrame / formula not a string .......... here: test_data_not_a_dataframe,
       test_formula_not_a_string
Names
   19. unknown column in the formula (closest names) ......... data: test_unknown_formula_column_suggests,
       test_unknown_response_column
   20. unknown column in a role argument (closest names) .... data: test_unknown_role_column_suggests (obs=);
       here: test_unknown_role_columns (alt=, avail=, weights=, choice=)
   21. ref not among the alternatives ........................ data: test_ref_not_an_alternative
   22. malformed formula ..................................... data: test_malformed_formula;
       fuzzed in tests/test_formula.py::test_random_strings_parse_or_raise_specification_error
Identification
   23. situation-level variable in part 1 ................... data: test_situation_level_variable_in_part_one;
       here: test_from_arrays_column_without_variation_within_situations
   24. constant column ........................................ data: test_constant_column
   25. perfectly collinear columns (named) .................. data: test_collinear_columns_are_named;
       here: test_collinear_from_arrays, test_collinear_across_parts
   26. more parameters than situations ...................... data: test_more_parameters_than_situations
   27. from_arrays: names not one per column of X ........... here: test_from_arrays_names
Weights
   28. negative weights ...................................... data: test_negative_weights; here: test_negative_weight_in_arrays
   29. all-zero weights ...................................... data: test_all_zero_weights
   30. weights varying within a situation ................... data: test_weights_vary_within_situation
Fit options
   31. groups of the wrong length for clustered errors ...... here: test_cluster_groups_wrong_length
   32. cluster errors without groups / groups without cluster here: test_cluster_needs_groups,
       test_groups_without_cluster
   33. a single cluster ...................................... here: test_single_cluster
   34. unknown cov_type / method; bad start .................. here: test_unknown_cov_type,
       test_unknown_fit_method, test_start_of_the_wrong_length
Probit options
   35. free covariance with two alternatives (not identified)  here: test_probit_free_covariance_needs_three_alternatives
   36. draws < 1 or not an int ............................... here: test_probit_draws
   37. unknown sequence / cov / integration ................. here: test_probit_unknown_option
   38. integration that cannot serve the covariance / J ...... here: test_probit_integration_mismatch
   39. genz integration cannot fit; bad rng / antithetic .... here: test_probit_genz_cannot_fit,
       test_probit_bad_rng_and_antithetic
from_arrays shapes and dtypes (expected shape in N/J/K letters)
   40. X, chosen, avail, weights of the wrong shape .......... data: test_array_shape_error_names_letters;
       here: test_from_arrays_shapes
   41. non-numeric X or chosen ............................... data: test_array_bad_dtype_and_chosen_range;
       here: test_from_arrays_dtypes
Results
   42. unknown coefficient / variable / alternative in a result method
       ....................................................... here: test_results_unknown_names
   43. prediction data without a model column ............... here: test_predict_data_missing_column
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm
from choicemodels.exceptions import ChoiceDataError, SpecificationError

ROLES = dict(obs="individual", alt="mode")
N_TRAVEL = 210


@pytest.fixture
def df() -> pd.DataFrame:
    return cm.datasets.load_travel_mode()


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 3, 2)), np.zeros(20, dtype=int)


def logit(df, formula="choice ~ gc", **kw):
    return cm.Logit(formula, data=df, **{**ROLES, **kw})


# ---- values ----------------------------------------------------------------------------------


def test_infinite_value_in_variable(df):
    df.loc[7, "gc"] = np.inf  # row 7 belongs to individual 2
    with pytest.raises(ChoiceDataError, match=r"'gc' has 1 missing or infinite values in available rows "
                       r"\(situations \[2\]\)\. Drop those situations or impute"):
        logit(df)


def test_infinite_value_in_arrays(arrays):
    X, chosen = arrays
    X[3, 1, 0] = -np.inf
    with pytest.raises(ChoiceDataError, match=r"'price' has 1 missing or infinite .*situations \[3\]"):
        cm.Logit.from_arrays(X, chosen, names=["price", "time"])


@pytest.mark.parametrize("model", [cm.Logit, cm.Probit])
def test_every_model_rejects_bad_data_at_construction(df, model):
    df.loc[df.individual == 11, "ttme"] = np.nan
    with pytest.raises(ChoiceDataError, match=r"'ttme' has 4 missing or infinite .*situations \[11\]"):
        model("choice ~ gc + ttme", data=df, **ROLES)


def test_infinite_weight(df):
    df["w"] = np.where(df.individual == 7, np.inf, 1.0)
    with pytest.raises(ChoiceDataError, match=r"'w' has 4 missing or infinite values .*situations \[7\]"):
        logit(df, weights="w")


def test_nan_weight_in_arrays(arrays):
    X, chosen = arrays
    w = np.ones(20)
    w[19] = np.nan
    with pytest.raises(ChoiceDataError, match=r"'weights' has 1 missing or infinite .*situations \[19\]"):
        cm.Logit.from_arrays(X, chosen, weights=w)


def test_infinite_availability(df):
    df["av"] = np.where(df.index == 7, np.inf, 1.0)
    with pytest.raises(ChoiceDataError, match=r"availability column 'av' must hold only 0/1.*\[inf\] in 1 rows\. Recode"):
        logit(df, avail="av")


def test_non_numeric_availability_and_weight(df):
    df["av"] = pd.Series(1, index=df.index, dtype=object)
    df.loc[7, "av"] = "yes"
    with pytest.raises(ChoiceDataError, match=r"'av' must be numeric .*non-numeric value 'yes' \(row 7\)"):
        logit(df, avail="av")
    df["w"] = pd.Series(1.0, index=df.index, dtype=object)
    df.loc[df.individual == 7, "w"] = "heavy"
    with pytest.raises(ChoiceDataError, match=r"'w' must be numeric .*non-numeric value 'heavy' \(row 24\)"):
        logit(df, weights="w")


@pytest.mark.parametrize("column, role", [("individual", "obs"), ("mode", "alt")])
def test_missing_id_or_label(df, column, role):
    df[column] = df[column].astype(object)
    df.loc[7, column] = None
    with pytest.raises(ChoiceDataError, match=rf"{role} column '{column}' has 1 missing values \(rows \[7\]\)\. Fill or drop"):
        logit(df)


# ---- choices and availability ----------------------------------------------------------------


def test_fractional_choice(df):
    df["choice"] = df["choice"] + 0.5
    with pytest.raises(ChoiceDataError, match=r"choice column 'choice' must hold only 0/1.*\[0\.5, 1\.5\] in 840 rows"):
        logit(df)


def test_from_arrays_chosen_not_an_index(arrays):
    X, _ = arrays
    chosen = np.zeros(20)
    chosen[[4, 9]] = [1.5, -1]
    with pytest.raises(ChoiceDataError, match=r"chosen must hold integers 0..J-1 = 0..2; situations \[4, 9\] hold \[1\.5, -1\.0\]"):
        cm.Probit.from_arrays(X, chosen)


def test_from_arrays_chosen_unavailable(arrays):
    X, chosen = arrays
    avail = np.ones((20, 3))
    avail[[2, 5], 0] = 0
    with pytest.raises(ChoiceDataError, match=r"2 chosen alternatives are marked unavailable \(situations \[2, 5\]\)\. Fix avail"):
        cm.Logit.from_arrays(X, chosen, avail=avail)


def test_from_arrays_availability_not_zero_one(arrays):
    X, chosen = arrays
    avail = np.ones((20, 3))
    avail[3, 2] = 0.5
    with pytest.raises(ChoiceDataError, match=r"avail must hold only 0/1 \(or booleans\); found \[0\.5\]"):
        cm.Logit.from_arrays(X, chosen, avail=avail)


# ---- structure -------------------------------------------------------------------------------


def test_from_arrays_empty():
    with pytest.raises(ChoiceDataError, match=r"X has no situations \(N = 0\)"):
        cm.Logit.from_arrays(np.zeros((0, 3, 1)), np.zeros(0))


def test_from_arrays_single_alternative():
    with pytest.raises(ChoiceDataError, match=r"shape \(N, J, K\) with J >= 2 alternatives; got J = 1"):
        cm.Logit.from_arrays(np.zeros((4, 1, 1)), np.zeros(4))


def test_wide_single_alternative():
    wide = pd.DataFrame({"y": ["a", "a"], "x_a": [1.0, 2.0]})
    with pytest.raises(ChoiceDataError, match=r"alternatives must list at least two alternatives; got \['a'\]"):
        cm.wide_to_long(wide, alternatives=["a"], choice="y")


def test_data_not_a_dataframe(df):
    with pytest.raises(ChoiceDataError, match=r"data must be a pandas DataFrame in long format, got ndarray"):
        logit(df.to_numpy())


def test_formula_not_a_string(df):
    with pytest.raises(SpecificationError, match=r"formula must be a string like 'choice ~ x \| z \| w', got int"):
        logit(df, formula=42)


# ---- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("roles, words", [
    ({"alt": "modes"}, r"alt= names column 'modes', which is not in the data\. Did you mean \['mode'\]"),
    ({"avail": "availability"}, r"avail= names column 'availability', which is not in the data\. The columns are \["),
    ({"weights": "hincc"}, r"weights= names column 'hincc', which is not in the data\. Did you mean \['hinc'"),
])
def test_unknown_role_columns(df, roles, words):
    with pytest.raises(ChoiceDataError, match=words):
        logit(df, **roles)


def test_unknown_wide_choice_column():
    wide = pd.DataFrame({"y": ["a", "b"], "x_a": [1.0, 2.0], "x_b": [2.0, 1.0]})
    with pytest.raises(ChoiceDataError, match=r"choice= names column 'yy', which is not in the data\. Did you mean \['y'\]"):
        cm.wide_to_long(wide, alternatives=["a", "b"], choice="yy")


# ---- identification --------------------------------------------------------------------------


def test_from_arrays_column_without_variation_within_situations(arrays):
    X, chosen = arrays
    X[:, :, 1] = np.arange(20)[:, None]  # a situation-level value copied to every alternative
    with pytest.raises(SpecificationError, match=r"column 'income' does not vary across the alternatives of any "
                       r"situation; its coefficient is not identified\. Remove it"):
        cm.Logit.from_arrays(X, chosen, names=["price", "income"])


def test_collinear_from_arrays(arrays):
    X, chosen = arrays
    X = np.concatenate([X, (X[:, :, :1] - 3 * X[:, :, 1:])], axis=2)
    with pytest.raises(SpecificationError, match=r"columns \['a', 'b', 'c'\] are perfectly collinear \(within situations\).*Drop one"):
        cm.Probit.from_arrays(X, chosen, names=["a", "b", "c"])


def test_collinear_across_parts(df):
    # a generic coefficient and the same variable with alternative-specific coefficients
    with pytest.raises(SpecificationError, match=r"columns \['gc', 'gc:air', 'gc:bus', 'gc:car', 'gc:train'\] are perfectly collinear"):
        logit(df, formula="choice ~ gc | hinc | gc")


def test_from_arrays_names(arrays):
    X, chosen = arrays
    with pytest.raises(SpecificationError, match=r"names must give the K = 2 columns of X; got 1 names"):
        cm.Logit.from_arrays(X, chosen, names=["price"])
    with pytest.raises(SpecificationError, match=r"names must be unique; got \['p', 'p'\]"):
        cm.Logit.from_arrays(X, chosen, names=["p", "p"])


# ---- weights ---------------------------------------------------------------------------------


def test_negative_weight_in_arrays(arrays):
    X, chosen = arrays
    w = np.ones(20)
    w[[6, 8]] = -1.0
    with pytest.raises(ChoiceDataError, match=r"'weights' has negative values \(situations \[6, 8\]\); weights must be non-negative"):
        cm.Logit.from_arrays(X, chosen, weights=w)


# ---- fit options -----------------------------------------------------------------------------


@pytest.fixture
def travel_logit(df):
    return logit(df)


def test_cluster_groups_wrong_length(travel_logit):
    with pytest.raises(ChoiceDataError, match=rf"groups must hold one label per choice situation: expected length "
                       rf"{N_TRAVEL} \(N\), got shape \(10,\)"):
        travel_logit.fit(cov_type="cluster", groups=np.arange(10))


def test_cluster_needs_groups(travel_logit):
    with pytest.raises(SpecificationError, match=r"cov_type='cluster' needs groups=: one cluster label per choice situation"):
        travel_logit.fit(cov_type="cluster")


def test_groups_without_cluster(travel_logit):
    with pytest.raises(SpecificationError, match=r"groups= is only used with cov_type='cluster'"):
        travel_logit.fit(cov_type="robust", groups=np.arange(N_TRAVEL))


def test_single_cluster(travel_logit):
    with pytest.raises(ChoiceDataError, match=r"groups must contain at least two distinct clusters"):
        travel_logit.fit(cov_type="cluster", groups=np.zeros(N_TRAVEL))


def test_unknown_cov_type(travel_logit):
    with pytest.raises(SpecificationError, match=r"cov_type must be one of 'nonrobust', 'robust', 'cluster', 'opg'; got 'sandwich'"):
        travel_logit.fit(cov_type="sandwich")


def test_unknown_fit_method(df, travel_logit):
    with pytest.raises(SpecificationError, match=r"Logit is fitted by method='newton'; got 'bfgs'"):
        travel_logit.fit(method="bfgs")
    with pytest.raises(SpecificationError, match=r"method must be one of 'bfgs', 'bhhh'; got 'newton'"):
        cm.Probit("choice ~ gc", data=df, **ROLES).fit(method="newton")


def test_start_of_the_wrong_length(travel_logit):
    with pytest.raises(SpecificationError, match=r"start must be 4 finite values, one per parameter \['gc', "
                       r"'\(Intercept\):bus', '\(Intercept\):car', '\(Intercept\):train'\]; got shape \(2,\)"):
        travel_logit.fit(start=[0.0, 1.0])
    with pytest.raises(SpecificationError, match=r"start must be 4 finite values"):
        travel_logit.fit(start=[0.0, np.nan, 0.0, 0.0])


# ---- probit options --------------------------------------------------------------------------


@pytest.fixture
def binary(df) -> pd.DataFrame:
    two = df[df["mode"].isin(["air", "car"])]
    return two[two.individual.isin(two.individual[two.choice == 1])]


@pytest.mark.parametrize("cov", ["unstructured", "heteroskedastic"])
def test_probit_free_covariance_needs_three_alternatives(binary, cov):
    with pytest.raises(SpecificationError, match=rf"cov='{cov}' is not identified with two alternatives: .*Use cov='iid'"):
        cm.Probit("choice ~ gc", data=binary, **ROLES, cov=cov)
    X = np.random.default_rng(1).normal(size=(30, 2, 1))
    with pytest.raises(SpecificationError, match=r"not identified with two alternatives"):
        cm.Probit.from_arrays(X, np.zeros(30), cov=cov)


@pytest.mark.parametrize("draws", [0, -5, 2.5, True])
def test_probit_draws(df, draws):
    with pytest.raises(SpecificationError, match=rf"draws must be an int >= 1 \(GHK draws per situation\); got {draws!r}"):
        cm.Probit("choice ~ gc", data=df, **ROLES, draws=draws)


@pytest.mark.parametrize("option, value, allowed", [
    ("sequence", "latin", "'halton', 'sobol', 'pseudo'"),
    ("cov", "full", "'iid', 'heteroskedastic', 'unstructured'"),
    ("integration", "montecarlo", "'auto', 'ghk', 'quadrature', 'closed', 'genz', 'me', 'ovus', 'ovbs'"),
])
def test_probit_unknown_option(df, option, value, allowed):
    with pytest.raises(SpecificationError, match=rf"{option} must be one of {allowed}; got '{value}'"):
        cm.Probit("choice ~ gc", data=df, **ROLES, **{option: value})


def test_probit_integration_mismatch(df):
    with pytest.raises(SpecificationError, match=r"integration='quadrature' needs independent errors.*Use integration='ghk'"):
        cm.Probit("choice ~ gc", data=df, **ROLES, cov="unstructured", integration="quadrature")
    with pytest.raises(SpecificationError, match=r"integration='closed' covers at most three alternatives; these data have J = 4"):
        cm.Probit("choice ~ gc", data=df, **ROLES, integration="closed")


def test_probit_genz_cannot_fit(df):
    model = cm.Probit("choice ~ gc", data=df, **ROLES, integration="genz")
    with pytest.raises(SpecificationError, match=r"integration='genz' gives the log-likelihood only.*use integration='auto' or 'ghk' to fit"):
        model.fit()


def test_probit_bad_rng_and_antithetic(df):
    with pytest.raises(SpecificationError, match=r"rng must be a non-negative int seed or a Generator; got -1"):
        cm.Probit("choice ~ gc", data=df, **ROLES, rng=-1)
    with pytest.raises(SpecificationError, match=r"rng must be an int seed, a numpy Generator or None; got str"):
        cm.Probit("choice ~ gc", data=df, **ROLES, rng="seed")
    with pytest.raises(SpecificationError, match=r"antithetic must be True or False; got 'yes'"):
        cm.Probit("choice ~ gc", data=df, **ROLES, antithetic="yes")


# ---- from_arrays shapes and dtypes -----------------------------------------------------------


@pytest.mark.parametrize("model", [cm.Logit, cm.Probit])
def test_from_arrays_shapes(arrays, model):
    X, chosen = arrays
    cases = [
        (dict(X=X[:, :, 0], chosen=chosen), r"X must have shape \(N, J, K\); got an array of shape \(20, 3\)"),
        (dict(X=X, chosen=np.zeros(21)), r"chosen must have shape \(N,\) = \(20,\) to match X; got \(21,\)"),
        (dict(X=X, chosen=chosen[:, None]), r"chosen must have shape \(N,\); got an array of shape \(20, 1\)"),
        (dict(X=X, chosen=chosen, avail=np.ones((20, 2))), r"avail must have shape \(N, J\) = \(20, 3\) to match X; got \(20, 2\)"),
        (dict(X=X, chosen=chosen, weights=np.ones(19)), r"weights must have shape \(N,\) = \(20,\) to match X; got \(19,\)"),
        (dict(X=X, chosen=chosen, weights=np.ones((20, 1))), r"weights must have shape \(N,\); got an array of shape \(20, 1\)"),
    ]
    for kwargs, words in cases:
        X_, chosen_ = kwargs.pop("X"), kwargs.pop("chosen")
        with pytest.raises(ChoiceDataError, match=words):
            model.from_arrays(X_, chosen_, **kwargs)
    with pytest.raises(SpecificationError, match=r"X has no columns \(K = 0\)"):
        model.from_arrays(np.zeros((4, 3, 0)), np.zeros(4))


def test_from_arrays_dtypes(arrays):
    X, chosen = arrays
    with pytest.raises(ChoiceDataError, match=r"X must be a numeric array of shape \(N, J, K\)"):
        cm.Logit.from_arrays(np.full((20, 3, 1), "cheap", dtype=object), chosen)
    with pytest.raises(ChoiceDataError, match=r"chosen must be a numeric array of shape \(N,\)"):
        cm.Logit.from_arrays(X, ["car"] * 20)
    with pytest.raises(ChoiceDataError, match=r"avail must be a numeric array of shape \(N, J\)"):
        cm.Logit.from_arrays(X, chosen, avail=np.full((20, 3), "yes"))


# ---- results ---------------------------------------------------------------------------------


@pytest.fixture
def travel_results(df):
    return logit(df, formula="choice ~ gc + ttme | hinc", ref="car").fit()


def test_results_unknown_names(travel_results):
    with pytest.raises(SpecificationError, match=r"unknown coefficient 'gcc'; the model has \['gc', 'ttme'"):
        travel_results.wtp("gcc", "ttme")
    with pytest.raises(SpecificationError, match=r"'income' is not a variable of the formula; it uses \['gc', 'ttme', 'hinc'\]"):
        travel_results.elasticities("income")
    with pytest.raises(SpecificationError, match=r"unknown alternatives \['boat'\]; the alternatives are \['air', 'bus', 'car', 'train'\]"):
        cm.hausman_mcfadden(travel_results, omit=["boat"])
    with pytest.raises(SpecificationError, match=r"cannot omit the reference alternative 'car'; refit with another ref="):
        cm.hausman_mcfadden(travel_results, omit=["car"])


def test_predict_data_missing_column(df, travel_results):
    with pytest.raises(SpecificationError, match=r"names column 'gc', which is not in the data"):
        travel_results.predict(df.drop(columns="gc"))
