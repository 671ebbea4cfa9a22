"""Three-part formulas: names (API.md), values against hand-built designs, parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choicemodels.datasets import load_travel_mode
from choicemodels.exceptions import SpecificationError
from choicemodels.formula import FormulaParts, design_from_formula, formula_variables, parse_formula

ROLES = dict(obs="individual", alt="mode")
ALTS = ("air", "bus", "car", "train")


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return load_travel_mode()


def manual_value(df: pd.DataFrame, name: str) -> np.ndarray:
    """The (N, J) column of X for a coefficient name, built row by row from the DataFrame."""
    ids = list(dict.fromkeys(df["individual"]))
    out = np.zeros((len(ids), len(ALTS)))
    for _, row in df.iterrows():
        n, j = ids.index(row["individual"]), ALTS.index(row["mode"])
        if ":" in name:
            var, label = name.split(":")
            if row["mode"] != label:
                continue
            out[n, j] = 1.0 if var == "(Intercept)" else row[var]
        else:
            out[n, j] = row[name]
    return out


def test_names_and_values_match_hand_construction(df):
    d = design_from_formula("choice ~ gc + ttme | hinc | invt", df, ref="car", **ROLES)
    expected = (
        "gc", "ttme",
        "(Intercept):air", "(Intercept):bus", "(Intercept):train",
        "hinc:air", "hinc:bus", "hinc:train",
        "invt:air", "invt:bus", "invt:car", "invt:train",
    )
    assert d.names == expected
    assert d.alternatives == ALTS and d.ref == ALTS.index("car")
    assert d.X.shape == (210, 4, 12)
    for k, name in enumerate(expected):
        np.testing.assert_array_equal(d.X[:, :, k], manual_value(df, name), err_msg=name)
    chosen_mode = df.loc[df.choice == 1, "mode"].to_numpy()
    assert [ALTS[c] for c in d.chosen] == list(chosen_mode)
    np.testing.assert_array_equal(d.obs_ids, np.arange(1, 211))
    assert d.avail.all() and d.weights is None


def test_default_ref_is_first_sorted_label(df):
    d = design_from_formula("choice ~ gc | hinc", df, **ROLES)
    assert d.ref == 0
    assert d.names == ("gc", "(Intercept):bus", "(Intercept):car", "(Intercept):train",
                       "hinc:bus", "hinc:car", "hinc:train")


@pytest.mark.parametrize("formula, names", [
    ("choice ~ gc | 0", ("gc",)),
    ("choice ~ gc | -1 + hinc", ("gc", "hinc:air", "hinc:bus", "hinc:train")),
    ("choice ~ 0 | hinc", ("(Intercept):air", "(Intercept):bus", "(Intercept):train",
                           "hinc:air", "hinc:bus", "hinc:train")),
    ("choice ~ gc", ("gc", "(Intercept):air", "(Intercept):bus", "(Intercept):train")),
    ("choice ~ 0 | 0 | invt", ("invt:air", "invt:bus", "invt:car", "invt:train")),
])
def test_intercepts_and_empty_parts(df, formula, names):
    assert design_from_formula(formula, df, ref="car", **ROLES).names == names


def test_transformations_in_every_part(df):
    d = design_from_formula("choice ~ np.log(gc) | I(hinc / 10) | I(invt / 60)", df, ref="car", **ROLES)
    assert d.names[0] == "np.log(gc)"
    assert d.names[4] == "I(hinc / 10):air" and d.names[-1] == "I(invt / 60):train"
    np.testing.assert_allclose(d.X[:, :, 0], np.log(manual_value(df, "gc")))
    np.testing.assert_allclose(d.X[:, :, 4], manual_value(df, "hinc:air") / 10)
    np.testing.assert_allclose(d.X[:, :, -1], manual_value(df, "invt:train") / 60)


def test_interaction_and_categorical(df):
    data = df.assign(large=np.where(df["psize"] > 1, "yes", "no"))
    d = design_from_formula("choice ~ gc:ttme | C(large) | 0", data, ref="car", **ROLES)
    assert d.names[0] == "gc:ttme"
    np.testing.assert_allclose(d.X[:, :, 0], manual_value(df, "gc") * manual_value(df, "ttme"))
    k = d.names.index("C(large)[T.yes]:bus")
    big = (df.groupby("individual")["psize"].first() > 1).to_numpy()
    np.testing.assert_array_equal(d.X[:, 1, k], big.astype(float))
    assert not d.X[:, [0, 2, 3], k].any()


def test_unbalanced_choice_sets_equal_availability_column(df):
    drop = (df["mode"] == "train") & (df.choice == 0) & (df.individual % 3 == 0)
    absent = design_from_formula("choice ~ gc + ttme | hinc", df[~drop], ref="car", **ROLES)
    marked = design_from_formula("choice ~ gc + ttme | hinc", df.assign(av=(~drop).astype(int)),
                                 avail="av", ref="car", **ROLES)
    expected_avail = ~drop.to_numpy().reshape(210, 4)[:, [0, 2, 3, 1]]  # file order air,train,bus,car
    np.testing.assert_array_equal(absent.avail, expected_avail)
    np.testing.assert_array_equal(marked.avail, expected_avail)
    np.testing.assert_array_equal(absent.X, marked.X)
    assert not absent.X[~absent.avail].any()  # unavailable rows are zero
    full = design_from_formula("choice ~ gc + ttme | hinc", df, ref="car", **ROLES)
    np.testing.assert_array_equal(absent.X[absent.avail], full.X[absent.avail])


def test_prediction_data_without_choice_and_fixed_alternatives(df):
    new = df[df["mode"] != "bus"].drop(columns="choice").iloc[:30]
    d = design_from_formula("choice ~ gc | hinc", new, ref="car", alternatives=ALTS,
                            require_choice=False, **ROLES)
    assert d.alternatives == ALTS and (d.chosen == -1).all()
    assert not d.avail[:, 1].any() and not d.X[:, 1].any()
    assert d.names == design_from_formula("choice ~ gc | hinc", df, ref="car", **ROLES).names


def test_situations_keep_order_of_first_appearance(df):
    shuffled = df.sample(frac=1.0, random_state=3)
    d = design_from_formula("choice ~ gc", shuffled, **ROLES)
    np.testing.assert_array_equal(d.obs_ids, pd.unique(shuffled["individual"]))
    base = design_from_formula("choice ~ gc", df, **ROLES)
    order = d.obs_ids - 1
    np.testing.assert_array_equal(d.X, base.X[order])
    np.testing.assert_array_equal(d.chosen, base.chosen[order])


def test_weights_per_situation(df):
    w = df["individual"] % 5 + 1.0
    d = design_from_formula("choice ~ gc", df.assign(w=w), weights="w", **ROLES)
    np.testing.assert_array_equal(d.weights, np.arange(1, 211) % 5 + 1.0)


def test_user_dataframe_is_not_modified(df):
    data = df.assign(flag=df["psize"] > 1, size=np.where(df["psize"] > 2, "big", "small"),
                     hinc_text=df["hinc"].astype(str), av=1)
    before = data.copy(deep=True)
    d = design_from_formula("choice ~ gc + np.log(invt) | flag + C(size) + hinc_text | invc", data,
                            avail="av", **ROLES)
    k = d.names.index("hinc_text:bus")  # numbers stored as text are read as numbers
    np.testing.assert_array_equal(d.X[:, 1, k], df.groupby("individual")["hinc"].first())
    pd.testing.assert_frame_equal(data, before)


def test_parse_formula_parts():
    assert parse_formula("choice ~ gc + ttme | hinc | invt") == FormulaParts(
        "choice", ("gc", "ttme"), ("hinc",), ("invt",), True)
    assert parse_formula("y ~ 0 | income - 1") == FormulaParts("y", (), ("income",), (), False)
    assert parse_formula("y ~ x") == FormulaParts("y", ("x",), (), (), True)


def test_formula_variables():
    assert formula_variables("choice ~ np.log(gc) + ttme | hinc | I(invt / 60) + Q('psize')") == (
        "gc", "ttme", "hinc", "invt", "psize")
    assert formula_variables("choice ~ gc:ttme + gc | C(size) | 0") == ("gc", "ttme", "size")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abxy01~|+-*:/() .'\"[]{}^=%I@\\\n")), max_size=30) | st.text(max_size=20))
def test_random_strings_parse_or_raise_specification_error(text):
    try:
        parts = parse_formula(text)
    except SpecificationError:
        return
    assert isinstance(parts, FormulaParts) and parts.response


def test_terms_are_counted_before_any_column_is_evaluated(monkeypatch):
    """(x0 + ... + x13)**14 has 16,383 terms: refused from the count, no column evaluated."""
    import patsy

    def refuse(*args, **kwargs):
        raise AssertionError("a column was evaluated")

    monkeypatch.setattr(patsy.EvalFactor, "eval", refuse)
    monkeypatch.setattr(patsy.ModelDesc, "from_formula", refuse)  # nor multiplied out
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.standard_normal((6000, 14)), columns=[f"x{i}" for i in range(14)])
    wide = wide.assign(obs=np.repeat(np.arange(3000), 2), alt=np.tile([0, 1], 3000), choice=np.tile([1, 0], 3000))
    formula = "choice ~ (" + " + ".join(f"x{i}" for i in range(14)) + ")**14"
    with pytest.raises(SpecificationError, match=r"more coefficients \(K > N\) than choice situations \(N=3000\), "
                                                 r"counted from the formula's terms before evaluating any column"):
        design_from_formula(formula, wide, obs="obs", alt="alt")
    from choicemodels.formula import check_term_count

    with pytest.raises(SpecificationError, match=r"\(K > N\) than choice situations \(N=3000\)"):
        check_term_count(formula, 3000, 2)  # the same check for a backend that knows N and J first


@pytest.mark.parametrize("formula, K", [
    ("choice ~ (gc + ttme + invc)**2 | hinc", 6 + 3 + 3),  # 3 main effects, 3 pairs
    ("choice ~ gc*ttme - ttme | 0", 2),
    ("choice ~ gc/ttme | 0", 2),  # gc + gc:ttme
    ("choice ~ gc:ttme:gc + gc | 0 | invt", 2 + 4),
])
def test_term_count_matches_patsy(df, formula, K):
    """The count before evaluation equals the columns patsy builds (all factors numeric)."""
    from choicemodels.formula import _count_terms, _parse

    parsed = _parse(formula)
    counted = sum(m * _count_terms(tree, 10**6) for tree, m in zip(parsed.trees, (1, 3, 4)))
    d = design_from_formula(formula, df, ref="car", **ROLES)
    assert counted + (3 if "| 0" not in formula else 0) == d.n_params == K


def test_a_wide_formula_beyond_the_recursion_limit():
    """1,500 terms: patsy's own evaluation of a left-deep '+' chain exhausts the recursion
    limit near 1,000; the chain is balanced first, with the same terms in the same order."""
    rng = np.random.default_rng(1)
    K = 1500
    wide = pd.DataFrame(rng.standard_normal((100, K)), columns=[f"x{k}" for k in range(K)])
    wide = wide.assign(obs=np.repeat(np.arange(50), 2), alt=np.tile([0, 1], 50), choice=np.tile([1, 0], 50))
    formula = "choice ~ " + " + ".join(f"x{k}" for k in range(K)) + " | 0"
    assert parse_formula(formula).generic == tuple(f"x{k}" for k in range(K))
    d = design_from_formula(formula, wide, obs="obs", alt="alt", check_identified=False)
    np.testing.assert_array_equal(d.X.reshape(100, K), wide[[f"x{k}" for k in range(K)]].to_numpy())


def test_balancing_keeps_patsy_term_order():
    import patsy

    rhs = " + ".join(f"x{i % 9}:x{(i * 7) % 9}" if i % 3 else f"x{i % 9}" for i in range(40)) + " - x3 + x1*x2"
    expected = tuple(t.name() for t in patsy.ModelDesc.from_formula(rhs).rhs_termlist if t != patsy.INTERCEPT)
    assert parse_formula("y ~ " + rhs).generic == expected
    assert len(expected) > 10  # the sum really repeats and interacts terms
