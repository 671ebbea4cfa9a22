"""The fitted design state (transform moments, factor levels) in every later design.

Every design rebuilt from the formula after the fit (perturbed data for elasticities,
``predict(data=)``, results read from a file, the partitions of a Dask fit) must code the
variables as the fit did: ``center(hinc)`` subtracts the fit data's mean of ``hinc``, not
the new data's, and ``C(x)`` keeps the fit's levels. The references are independent of the
state: the same model with the raw variable (``center`` only shifts the constants, so the
log-likelihood and the elasticities are those of the raw model) and the in-sample
prediction of the fitted model, rows picked by situation id.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

ROLES = {"obs": "individual", "alt": "mode", "ref": "car"}
CENTERED = "choice ~ gc + ttme | center(hinc)"
CODED = "choice ~ gc + ttme | hinc + C(party)"


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    df = cm.datasets.load_travel_mode()
    # party size as three levels with enough situations each (114 / 58 / 38)
    df["party"] = np.where(df["psize"] >= 3, "3+", df["psize"].astype(int).astype(str))
    return df


@pytest.fixture(scope="module")
def fits(travel):
    out = {}
    for formula in (CENTERED, CODED, "choice ~ gc + ttme | hinc"):
        out[formula] = cm.Logit(formula, data=travel, **ROLES).fit()
    return out


def _subset(travel: pd.DataFrame, ids) -> pd.DataFrame:
    return travel[travel["individual"].isin(ids)].drop(columns="choice")


def test_centred_model_has_the_elasticities_of_the_raw_model(fits):
    raw, centred = fits["choice ~ gc + ttme | hinc"], fits[CENTERED]
    assert centred.llf == pytest.approx(raw.llf, rel=1e-12)
    expected = raw.model.elasticities(raw.params, "hinc")
    got = centred.model.elasticities(centred.params, "hinc")
    # before: the perturbed data were re-centred, giving -0.204 for all four modes
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(expected.to_numpy().ravel(), [0.389, -0.413, 0.575, -1.380], atol=5e-4)
    effects = centred.model.elasticities(centred.params, "hinc", marginal=True)
    np.testing.assert_allclose(effects.to_numpy(),
                               raw.model.elasticities(raw.params, "hinc", marginal=True).to_numpy(),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("formula", [CENTERED, CODED])
@pytest.mark.parametrize("which", ["mixed", "fewer levels"])
def test_prediction_on_a_subset_equals_the_in_sample_rows(fits, travel, formula, which):
    r = fits[formula]
    if which == "mixed":
        ids = [travel.loc[travel["party"] == level, "individual"].iloc[0] for level in ("1", "2", "3+")]
    else:  # only the levels "1" and "2", which read as numbers
        ids = travel.loc[travel["party"].isin(["1", "2"]), "individual"].unique()[:6].tolist()
    sub = _subset(travel, ids)
    assert sub["party"].nunique() == (3 if which == "mixed" else 2)
    for kind in ("probability", "utility"):
        expected = r.predict(kind=kind).loc[ids]
        pd.testing.assert_frame_equal(r.predict(data=sub, kind=kind), expected, rtol=1e-12)


def test_an_unseen_level_raises_naming_column_and_level(fits, travel):
    sub = _subset(travel, [3, 7]).copy()
    sub.loc[sub["individual"] == 7, "party"] = "9"
    with pytest.raises(cm.ChoiceDataError, match=r"party.*'9'|'9'.*party"):
        fits[CODED].predict(data=sub)


@pytest.mark.parametrize("formula", [CENTERED, CODED])
def test_saved_results_predict_with_the_fitted_state(fits, travel, formula, tmp_path):
    r = fits[formula]
    path = tmp_path / "r.json"
    r.save(path)
    loaded = cm.load_results(path)
    sub = _subset(travel, [10, 20, 30, 40])
    pd.testing.assert_frame_equal(loaded.predict(data=sub), r.predict().loc[[10, 20, 30, 40]], rtol=1e-12)
    pd.testing.assert_frame_equal(loaded.predict(data=sub), r.predict(data=sub), rtol=1e-12)
    assert "center(hinc)" in str(loaded.summary()) or formula != CENTERED


def test_summary_prints_the_formula(fits):
    assert CODED in str(fits[CODED].summary())


def _tampered(path, edit) -> None:
    raw = json.loads(path.read_text())
    edit(raw["spec"])
    path.write_text(json.dumps(raw))


def test_a_tampered_formula_fails_at_load_and_runs_nothing(fits, tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    fits[CENTERED].save(path)
    _tampered(path, lambda spec: spec.update(
        formula="choice ~ gc + I(ttme + 0*__import__('os').system('touch pwned')) | center(hinc)"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cm.SpecificationError, match=r"r\.json.*formula.*__import__"):
        cm.load_results(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_tampered_design_state_fails_at_load(fits, tmp_path):
    path = tmp_path / "r.json"
    fits[CENTERED].save(path)
    _tampered(path, lambda spec: spec["design_state"].update(parts="nothing"))
    with pytest.raises(cm.SpecificationError, match=r"r\.json.*design state"):
        cm.load_results(path)


def test_files_without_a_stored_state(fits, travel, tmp_path):
    """Files written before the state was stored: formulas that learn nothing predict as
    before; a stateful one raises a clear error instead of re-learning from the new data."""
    sub = _subset(travel, [3, 7, 50])
    for formula, works in ((CENTERED, False), ("choice ~ gc + ttme | hinc", True)):
        path = tmp_path / "old.json"
        fits[formula].save(path)
        _tampered(path, lambda spec: spec.pop("design_state"))
        loaded = cm.load_results(path)
        if works:
            pd.testing.assert_frame_equal(loaded.predict(data=sub), fits[formula].predict().loc[[3, 7, 50]],
                                          rtol=1e-12)
        else:
            with pytest.raises(cm.SpecificationError, match="design state"):
                loaded.predict(data=sub)


def test_user_functions_stay_in_the_python_api(travel, tmp_path):
    formula = "choice ~ gc + ttme | lg(hinc)"
    m = cm.Logit(formula, data=travel, functions={"lg": np.log1p}, **ROLES)
    r = m.fit()
    travel_log = travel.assign(lhinc=np.log1p(travel["hinc"]))
    raw = cm.Logit("choice ~ gc + ttme | lhinc", data=travel_log, **ROLES).fit()
    assert r.llf == pytest.approx(raw.llf, rel=1e-12)
    assert "functions" not in r.spec
    sub = _subset(travel, [3, 7])
    pd.testing.assert_frame_equal(r.predict(data=sub), r.predict().loc[[3, 7]], rtol=1e-12)
    # chain rule: d log P / d log hinc = (d log P / d log lhinc) * hinc / ((1 + hinc) lhinc)
    hinc = travel.groupby("individual")["hinc"].first().to_numpy()
    factor = (hinc / ((1 + hinc) * np.log1p(hinc)))[:, None]
    got = m.elasticities(r.params, "hinc", kind="point").to_numpy()
    expected = raw.model.elasticities(raw.params, "lhinc", kind="point").to_numpy() * factor
    # both are central differences with relative step 1e-4: they agree to O(step^2)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    path = tmp_path / "r.json"
    r.save(path)
    with pytest.raises(cm.SpecificationError, match=r"lg\(hinc\)"):
        cm.load_results(path)


def test_probit_prediction_on_a_subset_uses_the_fitted_state(travel):
    r = cm.Probit(CENTERED, data=travel, cov="iid", **ROLES).fit()
    sub = _subset(travel, [3, 7, 50])
    pd.testing.assert_frame_equal(r.predict(data=sub), r.predict().loc[[3, 7, 50]], rtol=1e-10)


def test_dask_fit_with_a_stateful_transform_equals_the_in_memory_fit(travel):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    formula = "choice ~ gc + ttme | center(hinc) + C(party)"
    expected = cm.Logit(formula, data=travel, **ROLES).fit()
    shuffled = travel.sample(frac=1.0, random_state=3)  # partitions split situations
    # sorted by party: the first partitions hold only the levels "1" and "2", which read as numbers
    by_level = travel.sort_values(["party", "individual"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        got = cm.Logit(formula, data=dd.from_pandas(shuffled, npartitions=4, sort=False), **ROLES).fit()
        grouped = cm.Logit(formula, data=dd.from_pandas(by_level, npartitions=4, sort=False), **ROLES).fit()
    assert list(grouped.params.index) == list(expected.params.index)
    np.testing.assert_allclose(grouped.params.to_numpy(), expected.params.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.params.to_numpy(), expected.params.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.bse.to_numpy(), expected.bse.to_numpy(), rtol=1e-8)
    assert got.llf == pytest.approx(expected.llf, rel=1e-12)
    sub = _subset(travel, [3, 7, 50])
    pd.testing.assert_frame_equal(got.predict(data=sub), expected.predict().loc[[3, 7, 50]], rtol=1e-9)


def test_dask_refuses_a_huge_formula_before_expanding_it(travel):
    dd = pytest.importorskip("dask.dataframe")
    small = travel[travel["individual"] <= 5]
    formula = "choice ~ (gc + ttme + invc + invt + hinc + psize)**6"  # 63 terms on 5 situations
    with pytest.raises(cm.SpecificationError, match="more coefficients"):
        cm.Logit(formula, data=dd.from_pandas(small, npartitions=2), **ROLES)
