"""Tests that combine two fits pair them by situation id, not by position.

The same data with the rows in another order give the same estimates; Vuong's test, the
likelihood-ratio test, the Hausman-McFadden test and the comparison table must then give the
same statistics whichever order each fit's data had. Fits of different situations are
refused with a message that counts and names the situations that differ (the restricted fit
of the Hausman-McFadden test may hold a subset of the full fit's situations).
"""

from __future__ import annotations

import numpy as np
import pytest

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
SEEDS = range(4)


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def _kw(data):
    return dict(data=data, obs="individual", alt="mode", ref="car")


def _logit(data, formula=FORMULA):
    return cm.Logit(formula, **_kw(data)).fit()


def _probit(data):
    return cm.Probit(FORMULA, **_kw(data), integration="quadrature").fit()


@pytest.fixture(scope="module")
def base(travel):
    return {"logit": _logit(travel), "probit": _probit(travel),
            "small": _logit(travel, "choice ~ gc + ttme")}


def _shuffled(data, seed):
    """Every row in a new place (the rows of a situation are no longer adjacent)."""
    return data.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_any_row_order_gives_the_same_tests(travel, base, seed):
    shuffled = _shuffled(travel, seed)
    logit, probit, small = _logit(shuffled), _probit(shuffled), _logit(shuffled, "choice ~ gc + ttme")
    # the permutation really reorders the situations of the fits
    assert not np.array_equal(logit.model.design.obs_ids, base["logit"].model.design.obs_ids)
    np.testing.assert_allclose(logit.estimates, base["logit"].estimates, rtol=1e-9)
    np.testing.assert_allclose(probit.estimates, base["probit"].estimates, rtol=1e-9)

    reference = cm.vuong_test(base["logit"], base["probit"])
    # Schwarz-corrected z of the logit against the iid probit on TravelMode, as in the
    # package's documentation; a positional pairing of the shuffled fit gives about 0.4
    assert reference.statistic == pytest.approx(3.7918, abs=5e-5)
    naive = base["logit"].loglike_obs() - probit.loglike_obs()
    assert abs(naive.sum() / (np.sqrt(naive.size) * naive.std(ddof=1)) - 3.79) > 1.0
    for a, b in ((base["logit"], probit), (logit, base["probit"]), (logit, probit)):
        t = cm.vuong_test(a, b)
        assert t.statistic == pytest.approx(reference.statistic, rel=1e-8)
        assert t.p_value == pytest.approx(reference.p_value, rel=1e-6)
        assert t.note == reference.note
    # reversed: the same z with the opposite sign (apart from the Schwarz term's sign)
    assert cm.vuong_test(probit, base["logit"]).note.startswith(
        f"uncorrected z = {-float(reference.note.split()[3].rstrip(';')):.4f}")

    lr = cm.lr_test(base["small"], base["logit"])
    for s, b in ((small, base["logit"]), (base["small"], logit)):
        assert cm.lr_test(s, b).statistic == pytest.approx(lr.statistic, rel=1e-8)

    hm = cm.hausman_mcfadden(base["logit"], omit=["air"])
    for full, restricted in ((logit, base["logit"].refit_without(["air"])),
                             (base["logit"], logit.refit_without(["air"]))):
        assert cm.hausman_mcfadden(full, restricted).statistic == pytest.approx(hm.statistic, rel=1e-6)


def test_compare_prints_the_paired_row(travel, base):
    shuffled = _shuffled(travel, 11)
    c = cm.compare(base["logit"], _probit(shuffled))
    row = c.tests().loc["logit vs probit (iid)"]
    m = base["logit"].loglike_obs() - base["probit"].loglike_obs()  # same order: paired
    z = m.sum() / (np.sqrt(m.size) * m.std(ddof=1))
    assert row["test"] == "Vuong" and row["favours"] == "logit"
    assert row["statistic"] == pytest.approx(z, rel=1e-8)
    assert row["Schwarz z"] == pytest.approx(cm.vuong_test(base["logit"], base["probit"]).statistic,
                                             rel=1e-8)


def test_different_situations_are_refused(travel, base):
    ids = travel["individual"].unique()
    fewer = travel[~travel["individual"].isin(ids[:3])]
    with pytest.raises(cm.SpecificationError, match=r"3 only in the first fit \(e\.g\. 1, 2, 3\)"):
        cm.vuong_test(base["logit"], _probit(fewer))
    # same number of situations, different ones: a count alone cannot see it
    a = _logit(travel[travel["individual"] != ids[0]])
    b = _logit(travel[travel["individual"] != ids[1]], "choice ~ gc + ttme")
    assert a.nobs == b.nobs
    with pytest.raises(cm.SpecificationError, match=r"1 only in the first fit \(e\.g\. 1\)"):
        cm.lr_test(b, a)
    with pytest.raises(cm.SpecificationError, match=r"different situations"):
        cm.vuong_test(a, _probit(travel[travel["individual"] != ids[1]]))
    with pytest.raises(cm.SpecificationError, match=r"different situations"):
        cm.compare(a, _probit(travel[travel["individual"] != ids[1]])).tests()


def test_hausman_mcfadden_needs_a_subset(travel, base):
    ids = travel["individual"].unique()
    air = travel.loc[(travel["mode"] == "air") & (travel["choice"] == 1), "individual"]
    subset = travel[~travel["individual"].isin(air) & (travel["mode"] != "air")]
    restricted = _logit(subset)
    # a restricted fit on the full fit's situations less the air choosers is accepted
    expected = cm.hausman_mcfadden(base["logit"], omit=["air"]).statistic
    assert cm.hausman_mcfadden(base["logit"], restricted).statistic == pytest.approx(expected, rel=1e-8)
    # a full fit that lacks some of the restricted fit's situations is refused
    kept = [i for i in ids if i not in set(air)][:2]
    full = _logit(travel[~travel["individual"].isin(kept)])
    with pytest.raises(cm.SpecificationError, match=r"2 of the 152 situations of the restricted fit"):
        cm.hausman_mcfadden(full, restricted)


def test_results_read_from_files_are_checked_by_fingerprint(travel, base, tmp_path):
    ids = travel["individual"].unique()
    shuffled_big = _logit(_shuffled(travel, 5))
    fewer = _logit(travel[travel["individual"] != ids[0]], "choice ~ gc + ttme")
    for name, r in (("small", base["small"]), ("big", shuffled_big), ("other", fewer)):
        r.save(tmp_path / f"{name}.json")
    small, big, fewer = (cm.load_results(tmp_path / f"{n}.json") for n in ("small", "big", "other"))
    assert small.model is None and small.situation_fingerprint() == base["logit"].situation_fingerprint()
    lr = cm.lr_test(base["small"], base["logit"]).statistic
    assert cm.lr_test(small, big).statistic == pytest.approx(lr, rel=1e-8)
    assert cm.lr_test(small, shuffled_big).statistic == pytest.approx(lr, rel=1e-8)
    # same number of situations, one id differs: only the fingerprint tells
    swapped = travel.assign(individual=travel["individual"].replace({ids[0]: 10_000}))
    _logit(swapped, "choice ~ gc + ttme").save(tmp_path / "swapped.json")
    with pytest.raises(cm.SpecificationError, match="fingerprints of their situation ids differ"):
        cm.lr_test(cm.load_results(tmp_path / "swapped.json"), big)
    with pytest.raises(cm.SpecificationError, match="different numbers of situations"):
        cm.lr_test(fewer, big)


@pytest.mark.parametrize("seed", SEEDS)
def test_any_row_order_gives_the_same_predictions_and_elasticities(travel, base, seed):
    """Predictions are labelled by situation: shuffled rows give the same frame per situation,
    on the fitted data and on new data, and the same mean elasticities."""
    shuffled = _shuffled(travel, seed)
    for name, refit in (("logit", _logit(shuffled)), ("probit", _probit(shuffled))):
        ref = base[name]
        np.testing.assert_allclose(refit.params[ref.params.index], ref.params, rtol=1e-8)
        expected = ref.predict()
        got = refit.predict().loc[expected.index, expected.columns]
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-7, atol=1e-12)
        new_data = refit.predict(data=shuffled).loc[expected.index, expected.columns]
        np.testing.assert_allclose(new_data.to_numpy(), expected.to_numpy(), rtol=1e-7, atol=1e-12)
        e_ref, e_got = ref.elasticities("gc"), refit.elasticities("gc")
        np.testing.assert_allclose(e_got.loc[e_ref.index, e_ref.columns].to_numpy(), e_ref.to_numpy(),
                                   rtol=1e-6)
