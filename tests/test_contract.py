"""One contract suite run over every model: Logit, NestedLogit (one nest of two alternatives,
and the same with ``equal_iv``), CrossNestedLogit (one alternative in two nests), MixedLogit
(one normal coefficient; a normal and a negative lognormal one, correlated), and Probit with
each error covariance and each integration method that can fit it.

The contract: ``fit`` returns a new results object and leaves the model and the user's
DataFrame unchanged; probabilities lie in [0, 1], sum to one over the available alternatives
and are zero for the unavailable ones; the log-likelihood is <= 0, not below the
equal-shares log-likelihood, and equals the sum of the log-probabilities of the chosen
alternatives; the same ``rng`` gives the same result; ``save`` / ``load_results`` round-trips
every result kind exactly; the summary renders as text and HTML.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

# (model class, options) for every fittable combination; J = 3 data, so closed forms apply
MODELS = {
    "logit": (cm.Logit, {}),
    # J = 3: alt1 and alt2 share a nest (one free iv), alt0 stands alone
    "nested": (cm.NestedLogit, {"nests": {"one": ["alt0"], "two": ["alt1", "alt2"]}}),
    "nested-equal-iv": (cm.NestedLogit, {"nests": {"one": ["alt0"], "two": ["alt1", "alt2"]},
                                         "equal_iv": True}),
    # alt1 in both nests with its allocation fixed at one half (with the allocation free, each
    # choice of the shared alternative ends on the boundary, an iv or the allocation at 0, on
    # these iid-normal data: the fit reports that it did not converge)
    "cross-nested": (cm.CrossNestedLogit, {"nests": {"a": {"alt0": 1.0, "alt1": 0.5},
                                                     "b": {"alt1": 0.5, "alt2": 1.0}}}),
    "mixed": (cm.MixedLogit, {"random": {"x1": "normal"}, "draws": 50, "rng": 1}),
    "mixed-correlated": (cm.MixedLogit, {"random": {"x1": "normal", "-x2": "lognormal"},
                                         "correlated": True, "draws": 50, "sequence": "sobol",
                                         "rng": 1}),
    **{
        f"probit-{cov}-{integration}": (cm.Probit, {"cov": cov, "integration": integration,
                                                     "draws": 50, "rng": 1})
        for cov in ("iid", "heteroskedastic", "unstructured")
        for integration in ("auto", "ghk", "quadrature", "closed")
        if not (cov == "unstructured" and integration == "quadrature")
    },
}
SIMULATED = ("ghk",)  # integrations whose results depend on the draws


@pytest.fixture(scope="module")
def sim() -> cm.SimulatedData:
    # J = 3 with random availability (avail column), a situation-level variable and constants
    return cm.simulate_dataset(150, 3, {"x1": 1.0, "x2": -0.5}, asc=[0.3, -0.2],
                               gamma={"z": [0.5, -0.5]}, errors="normal", avail_prob=0.8, rng=4)


def build(sim: cm.SimulatedData, key: str, data: pd.DataFrame | None = None, **override):
    cls, options = MODELS[key]
    return cls(sim.formula, data=sim.data if data is None else data, **sim.columns,
               **{**options, **override})


@pytest.fixture(scope="module")
def fitted(sim):
    """Model, results and the data the model was built on, once per model key."""
    cache = {}

    def get(key: str):
        if key not in cache:
            data = sim.data.copy()
            model = build(sim, key, data)
            cache[key] = (model, model.fit(), data)
        return cache[key]

    return get


def model_state(model) -> dict:
    d = model.design
    state = {f: np.array(getattr(d, f), copy=True) for f in ("X", "chosen", "avail", "obs_ids")}
    state.update(names=d.names, alternatives=d.alternatives, ref=d.ref, spec=repr(model.spec),
                 param_names=list(model.param_names))
    return state


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k])
        else:
            assert a[k] == b[k], k


keys = pytest.mark.parametrize("key", list(MODELS))


@keys
def test_fit_returns_new_results_and_changes_nothing(sim, key):
    data = sim.data.copy()
    before = data.copy(deep=True)
    model = build(sim, key, data)
    state = model_state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a regular fit warns about nothing
        r1 = model.fit()
        r2 = model.fit(cov_type="robust")
    assert isinstance(r1, cm.ChoiceResults) and r1 is not r2
    assert r1.converged and r1.n_iter > 0
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert_same_state(model_state(model), state)
    # a second fit of the unchanged model finds the same estimate
    np.testing.assert_array_equal(r2.estimates, r1.estimates)
    assert list(r1.params.index) == model.param_names
    assert np.all(np.isfinite(r1.bse)) and np.all(r1.bse > 0)


@keys
def test_probabilities_over_available_alternatives(sim, fitted, key):
    model, r, data = fitted(key)
    avail = data.pivot(index="obs", columns="alt", values="avail").to_numpy().astype(bool)
    for p in (model.predict(r.estimates), r.predict().to_numpy(),
              model.predict(r.estimates + 0.3)):  # also away from the estimate
        assert p.shape == avail.shape
        assert np.all((p >= 0) & (p <= 1))
        np.testing.assert_array_equal(p[~avail], 0.0)
        method = getattr(model, "method", "exact")
        if method != "ghk":
            # logit and closed forms are exact; 64-node Gauss-Hermite quadrature loses
            # accuracy when the error scales differ (measured: 2e-8 at s = (1, 2.3, 1.2))
            hetero = method == "quadrature" and model.structure == "heteroskedastic"
            atol = 1e-7 if hetero else 1e-12
            np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=atol)
    assert (~avail).sum() > 20  # the data do exercise unavailability


@pytest.mark.parametrize("key", [k for k, (_, o) in MODELS.items() if o.get("integration") in SIMULATED])
def test_simulated_probabilities_sum_to_one_up_to_simulation_error(sim, fitted, key):
    # GHK simulates each alternative's probability separately, so a row sums to one only up
    # to the simulation error: the gap to one (and to the exact probabilities) shrinks
    # with the number of draws
    model, r, _ = fitted(key)
    exact = build(sim, key, integration="auto").predict(r.estimates)
    gaps = []
    for draws in (50, 500):
        p = build(sim, key, draws=draws).predict(r.estimates)
        gaps.append((np.abs(p.sum(axis=1) - 1).max(), np.abs(p - exact).max()))
    assert gaps[1][0] < gaps[0][0] / 4 and gaps[1][1] < gaps[0][1] / 4
    assert gaps[0][0] < 0.05 and gaps[1][1] < 0.005


@keys
def test_loglikelihood_is_the_log_probability_of_the_choices(sim, fitted, key):
    model, r, data = fitted(key)
    chosen = data[data.choice == 1].set_index("obs").loc[model.design.obs_ids, "alt"]
    p = r.predict()
    p_chosen = np.array([p.loc[i, a] for i, a in chosen.items()])
    assert r.llf <= 0
    assert r.llf == pytest.approx(np.log(p_chosen).sum(), rel=1e-12)
    assert r.llf == pytest.approx(model.loglike(r.estimates), rel=1e-12)
    # equal shares: -sum_i log(number of available alternatives of situation i)
    n_avail = data.groupby("obs")["avail"].sum()
    assert r.llnull == pytest.approx(-np.log(n_avail).sum(), rel=1e-12)
    assert r.llf > r.llnull + 10  # the data carry real signal


@keys
def test_same_rng_same_result(sim, fitted, key):
    _, r, _ = fitted(key)
    again = build(sim, key).fit()
    np.testing.assert_array_equal(again.estimates, r.estimates)
    np.testing.assert_array_equal(again.covariance, r.covariance)
    assert again.llf == r.llf
    cls, options = MODELS[key]
    if cls in (cm.Probit, cm.MixedLogit):
        seeded = [build(sim, key, rng=np.random.default_rng(7)).fit().estimates for _ in range(2)]
        np.testing.assert_array_equal(seeded[0], seeded[1])
        other = build(sim, key, rng=2).fit()
        if options.get("integration", "ghk") in SIMULATED:  # other draws, another simulated likelihood
            assert other.llf != r.llf
        else:  # exact integration does not use the draws at all
            assert other.llf == r.llf


@keys
@pytest.mark.parametrize("cov_type", ["nonrobust", "robust", "cluster"])
def test_save_load_round_trip_is_exact(sim, fitted, key, cov_type, tmp_path):
    model, _, data = fitted(key)
    groups = None if cov_type != "cluster" else model.design.obs_ids % 17
    r = model.fit(cov_type=cov_type, groups=groups)
    path = tmp_path / "results.json"
    r.save(path)
    back = cm.load_results(path)
    assert back.model is None
    assert back.to_dict() == r.to_dict()
    pd.testing.assert_series_equal(back.params, r.params, check_exact=True)
    pd.testing.assert_series_equal(back.bse, r.bse, check_exact=True)
    pd.testing.assert_frame_equal(back.cov_params(), r.cov_params(), check_exact=True)
    for stat in ("llf", "llnull", "rho2", "aic", "bic", "nobs", "df_model", "converged", "n_iter"):
        assert getattr(back, stat) == getattr(r, stat), stat
    assert str(back.summary()) == str(r.summary())
    new = data[data.obs < 20]
    pd.testing.assert_frame_equal(back.predict(new), r.predict(new), check_exact=True)
    if r.model_name == "Probit":
        pd.testing.assert_frame_equal(back.error_covariance(), r.error_covariance(), check_exact=True)


@keys
def test_summary_renders(fitted, key):
    _, r, _ = fitted(key)
    text = str(r.summary())
    html = r._repr_html_()
    for name in r.param_names:
        assert name in text and name in html
    assert f"{r.llf:.4f}" in text and f"{r.llf:.4f}" in html
    assert f"{r.params.iloc[0]:.4f}" in text
    assert html.count("<table") >= 2
    assert "not available" not in text and "did not converge" not in text


@pytest.mark.parametrize("rng", [2**40, None])
def test_genz_predicts_and_evaluates_with_any_seed(sim, fitted, rng):
    # integration="genz" (scipy's randomised lattice rule, abseps 1e-6) cannot fit but must
    # evaluate with any recorded seed, including 64-bit ones, and agree with the closed forms
    model, r, _ = fitted("probit-unstructured-closed")
    genz = build(sim, "probit-unstructured-closed", integration="genz", rng=rng)
    p = genz.predict(r.estimates)
    np.testing.assert_allclose(p, model.predict(r.estimates), rtol=0, atol=1e-5)
    assert genz.loglike(r.estimates) == pytest.approx(r.llf, abs=1e-3)
