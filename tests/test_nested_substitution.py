"""Substitution in the nested logit: elasticities and marginal effects against Train's closed
forms, and the logit / nested logit / probit substitution tables side by side.

The closed forms (Train 2009, *Discrete Choice Methods with Simulation*, 2nd ed., section
4.2.3, with the inclusive-value parameter :math:`\\lambda_k` of the top-normalised form): for
an attribute :math:`x_m` of alternative m in nest k with coefficient :math:`\\beta`, the
elasticity of :math:`P_i` is

* own (i = m): :math:`\\beta x_m [(1 - P_m) + (1/\\lambda_k - 1)(1 - P_{m|k})]`,
* cross, i in the same nest: :math:`-\\beta x_m [P_m + (1/\\lambda_k - 1) P_{m|k}]`,
* cross, i in another nest: :math:`-\\beta x_m P_m`,

and the marginal effect is the elasticity times :math:`P_i / x_m`. The probabilities used
here are computed from the data columns directly (not through the package's design).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
ALTS = ["air", "bus", "car", "train"]


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    return cm.datasets.load_travel_mode()


def closed_form(data: pd.DataFrame, params: pd.Series, nests: dict, variable: str, *,
                marginal: bool = False) -> np.ndarray:
    """(N, J, J) Train's elasticities (or marginal effects) [n, changed m, responding i]."""
    wide = {c: data.pivot(index="individual", columns="mode", values=c)[ALTS].to_numpy()
            for c in ("gc", "ttme", "hinc")}
    V = params["gc"] * wide["gc"] + params["ttme"] * wide["ttme"]
    for j, a in enumerate(ALTS):
        if a != "car":
            V[:, j] += params[f"(Intercept):{a}"] + params[f"hinc:{a}"] * wide["hinc"][:, j]
    nest_of = np.array([next(k for k, v in nests.items() if a in v) for a in ALTS])
    lam = np.array([float(params.get(f"iv:{k}", 1.0)) for k in nest_of])
    # P_j = P_{j|k} Q_k with P_{j|k} = e^{V_j/l} / S_k and Q_k = S_k^l / sum_m S_m^l_m
    e = np.exp(V / lam)
    S = {k: e[:, nest_of == k].sum(axis=1) for k in nests}
    lam_k = {k: float(params.get(f"iv:{k}", 1.0)) for k in nests}
    denom = sum(S[k] ** lam_k[k] for k in nests)
    cond = np.column_stack([e[:, j] / S[nest_of[j]] for j in range(len(ALTS))])
    P = np.column_stack([cond[:, j] * S[nest_of[j]] ** lam[j] / denom for j in range(len(ALTS))])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    x, b = wide[variable], params[variable]
    out = np.empty((len(V), len(ALTS), len(ALTS)))
    for m in range(len(ALTS)):
        d = 1.0 / lam[m] - 1.0
        for i in range(len(ALTS)):
            if i == m:
                slope = b * ((1 - P[:, m]) + d * (1 - cond[:, m]))
            elif nest_of[i] == nest_of[m]:
                slope = -b * (P[:, m] + d * cond[:, m])
            else:
                slope = -b * P[:, m]
            # d log P_i / d x_m = slope: elasticity x_m * slope, marginal effect P_i * slope
            out[:, m, i] = slope * (P[:, i] if marginal else x[:, m])
    return out


def as_cube(frame: pd.DataFrame, n: int) -> np.ndarray:
    """A ``kind="point"`` frame (rows (situation, changed), columns responding) as (N, J, J)."""
    return frame[ALTS].to_numpy().reshape(n, len(ALTS), len(ALTS))


@pytest.fixture(scope="module")
def fly_ground(travel):
    nests = {"fly": ["air"], "ground": ["train", "bus", "car"]}
    r = cm.NestedLogit(FORMULA, data=travel, obs="individual", alt="mode", ref="car",
                       nests=nests).fit()
    return nests, r


def test_fitted_point_elasticities_are_trains_closed_form(travel, fly_ground):
    nests, r = fly_ground
    iv = float(r.params["iv:ground"])
    assert 0.3 < iv < 0.9  # a nest that matters: within and across differ
    expected = closed_form(travel, r.params, nests, "gc")
    got = as_cube(r.elasticities("gc", kind="point"), r.nobs)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # mean over situations, as the default kind reports
    mean = r.elasticities("gc").loc[ALTS, ALTS].to_numpy()
    np.testing.assert_allclose(mean, expected.mean(axis=0), rtol=1e-6, atol=1e-9)
    # a rise in the train's cost pushes more towards bus and car (same nest) than towards
    # air (another nest): the logit's equal cross-elasticities of a row are broken
    train, bus, car, air = (ALTS.index(a) for a in ("train", "bus", "car", "air"))
    assert min(mean[train, bus], mean[train, car]) > 1.5 * mean[train, air] > 0


def test_fitted_marginal_effects_are_trains_closed_form(travel, fly_ground):
    nests, r = fly_ground
    expected = closed_form(travel, r.params, nests, "ttme", marginal=True)
    got = as_cube(r.marginal_effects("ttme", kind="point"), r.nobs)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(got.sum(axis=2), 0.0, atol=1e-10)  # shares sum to one


@pytest.mark.parametrize("iv", [(0.35, 0.8), (1.0, 1.0), (1.3, 0.6)])
def test_two_nests_at_given_parameters(travel, iv):
    # two nests of two, at parameters away from any estimate (iv > 1 included)
    nests = {"land": ["bus", "train"], "other": ["air", "car"]}
    m = cm.NestedLogit(FORMULA, data=travel, obs="individual", alt="mode", ref="car", nests=nests)
    rng = np.random.default_rng(3)
    beta = {"gc": -0.02, "ttme": -0.05, "(Intercept):air": 3.0, "(Intercept):bus": 1.5,
            "(Intercept):train": 2.0, "hinc:air": 0.01, "hinc:bus": -0.01, "hinc:train": -0.03}
    params = pd.Series({**{k: v * (1 + 0.1 * rng.standard_normal()) for k, v in beta.items()},
                        "iv:land": iv[0], "iv:other": iv[1]})[m.param_names]
    expected = closed_form(travel, params, nests, "gc")
    got = as_cube(m.elasticities(params.to_numpy(), "gc", kind="point"), len(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    if iv == (1.0, 1.0):  # the logit: every cross-elasticity in a row equal (IIA)
        cross = got[:, 0, 1:]
        np.testing.assert_allclose(cross, cross[:, :1].repeat(3, axis=1), rtol=1e-6)


# ---- the substitution tables of a comparison ---------------------------------------------


def test_comparison_tables_are_trains_closed_form(travel, fly_ground):
    nests, nested = fly_ground
    logit = cm.Logit(FORMULA, data=travel, obs="individual", alt="mode", ref="car").fit()
    c = cm.compare(logit, nested)
    cross = c.cross_elasticities()
    for r, lab in ((logit, "logit"), (nested, "nested logit")):
        iv_nests = nests if lab == "nested logit" else {"all": ALTS}  # the logit: one nest, iv 1
        mean = closed_form(travel, r.params, iv_nests, "gc").mean(axis=0)  # [changed, responding]
        for (m, i), value in cross[lab].items():
            assert value == pytest.approx(mean[ALTS.index(m), ALTS.index(i)], rel=1e-6)
        # within / across: per changed alternative with partners in and out of its nest
        ratios = []
        for m in ("bus", "car", "train"):  # air is alone in its nest
            j = ALTS.index(m)
            within = [mean[j, ALTS.index(i)] for i in nests["ground"] if i != m]
            ratios.append(np.mean(within) / mean[j, ALTS.index("air")])
        assert c.nest_substitution().loc[lab, "within / across"] == pytest.approx(np.mean(ratios), rel=1e-6)
    assert list(cross["same nest"]) == [
        (m in nests["ground"]) and (i in nests["ground"]) for m, i in cross.index]


def test_red_bus_blue_bus_told_by_three_models():
    # exact nested-GEV data: alt1 and alt2 (the buses) share a nest with iv 0.3, alt0 (the
    # car) stands alone; the logit must substitute proportionally, the nested logit and the
    # unstructured probit pull the substitution into the bus nest
    nests = {"car": ["alt0"], "bus": ["alt1", "alt2"]}
    sim = cm.simulate_dataset(3000, 3, {"x1": 1.0, "x2": -0.5}, asc=[0.3, 0.3], errors="nested",
                              nests=nests, iv=[1.0, 0.3], rng=5)
    c = cm.compare(sim.data, sim.formula, **sim.columns, models=["logit", "nested", "probit"],
                   nests=nests, ratio_to="x1")
    nested = c.results[c.labels.index("nested logit")]
    assert abs(nested.params["iv:bus"] - 0.3) < 3 * nested.bse["iv:bus"]
    ratio = c.nest_substitution()["within / across"]
    assert ratio["logit"] == pytest.approx(1.0, abs=1e-6)
    assert ratio["nested logit"] > 2.5
    assert ratio["probit (unstructured)"] > 2.5
    assert abs(ratio["probit (iid)"] - 1.0) < 0.2  # iid probit: close to proportional
    assert c.tests().loc["logit vs nested logit", "p-value"] < 1e-10
