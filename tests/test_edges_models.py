"""Edges of the models: separation in the probit, size checks of the GHK draws,
magnitudes at the array boundary, the same data rules in memory and on Dask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import choicemodels as cm

FORMULA = "choice ~ gc | hinc"


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


def _without_choices_of(df, label):
    drop = df.loc[(df["mode"] == label) & (df["choice"] == 1), "individual"]
    return df[~df["individual"].isin(drop)]


# ---- separation ---------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["bus", "air"])
@pytest.mark.parametrize("cls,options", [(cm.Logit, {}), (cm.Probit, {"method": "bfgs"}),
                                         (cm.Probit, {"method": "bhhh"})])
def test_a_never_chosen_alternative_warns_of_separation_naming_it(travel, label, cls, options):
    data = _without_choices_of(travel, label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.HessianWarning)
        with pytest.warns(cm.SeparationWarning, match=f"'{label}' are never chosen"):
            r = cls(FORMULA, data, obs="individual", alt="mode", ref="car").fit(
                progress=False, maxiter=60, **options)
    assert not r.converged
    assert r.params[f"(Intercept):{label}"] < -5  # the constant runs towards -inf


def test_probit_warns_of_a_variable_that_separates_the_choice():
    # x predicts the choice perfectly: alternative 1 is chosen exactly when x > 0
    rng = np.random.default_rng(1)
    n = 200
    x = rng.standard_normal(n)
    X = np.zeros((n, 3, 3))
    X[:, 1, 0] = x
    X[:, 1, 1] = 1.0
    X[:, 2, 2] = 1.0
    chosen = np.where(x > 0, 1, np.where(rng.random(n) < 0.5, 0, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cm.HessianWarning)
        with pytest.warns(cm.SeparationWarning, match="separated along x0"):
            r = cm.Probit.from_arrays(X, chosen).fit(progress=False)
    assert not r.converged


def test_probit_without_separation_converges_silently(travel):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cm.Probit(FORMULA, travel, obs="individual", alt="mode").fit(progress=False)
    assert r.converged


# ---- size of the GHK draws ----------------------------------------------------------------
def test_ghk_draws_beyond_the_memory_are_refused_at_construction(travel):
    with pytest.raises(cm.SpecificationError, match=r"GHK draws \(1000000000 x 210 x 3\).*draws"):
        cm.Probit(FORMULA, travel, obs="individual", alt="mode", integration="ghk",
                  draws=10**9, sequence="pseudo")
    # Halton draws are one point set and a shift per situation: R x (J - 1) doubles
    with pytest.raises(cm.SpecificationError, match=r"GHK points \(100000000000 x 3\).*draws"):
        cm.Probit(FORMULA, travel, obs="individual", alt="mode", integration="ghk",
                  draws=10**11)
    X = np.zeros((1000, 4, 1))
    X[:, 1:, 0] = 1.0
    with pytest.raises(cm.SpecificationError, match="lower draws"):
        cm.Probit.from_arrays(X, np.zeros(1000, int), cov="unstructured", draws=10**12)


def test_ghk_draws_that_fit_are_accepted(travel):
    m = cm.Probit(FORMULA, travel, obs="individual", alt="mode", integration="ghk", draws=50)
    assert m.uniforms.shape == (210, 50, 2)
    # a million Halton draws per situation: 2e6 points held, not 4.2e8 draws
    m = cm.Probit(FORMULA, travel, obs="individual", alt="mode", integration="ghk",
                  draws=10**6)
    assert m.uniforms.points.nbytes + m.uniforms.shift.nbytes < 8 * 2 * (10**6 + 210) + 1
    # exact integration uses no draws: any number is accepted
    cm.Probit(FORMULA, travel, obs="individual", alt="mode", draws=10**12)


# ---- magnitudes at the boundary -------------------------------------------------------------
@pytest.mark.parametrize("cls", [cm.Logit, cm.Probit])
@pytest.mark.parametrize("column,factor,named", [("gc", 1e300, "'gc'"), ("hinc", 1e150, "'hinc:"),
                                                 ("gc", 1e160, "'gc'")])
def test_variables_whose_squares_overflow_are_refused_naming_them(travel, cls, column, factor,
                                                                   named):
    data = travel.assign(**{column: travel[column] * factor})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow before the check
        with pytest.raises(cm.ChoiceDataError, match=f"variable {named}.*Rescale"):
            cls(FORMULA, data, obs="individual", alt="mode")


@pytest.mark.parametrize("weight_type", ["sampling", "frequency"])
def test_weights_whose_sum_overflows_are_refused_naming_the_column(travel, weight_type):
    data = travel.assign(big=1e300)
    with pytest.raises(cm.ChoiceDataError, match="weights column 'big' sums to"):
        cm.Logit(FORMULA, data, obs="individual", alt="mode", weights="big",
                 weight_type=weight_type)


def test_the_magnitude_bound_takes_the_weights_into_account(travel):
    # 1e140 is fine for 210 unit-weight situations, not with weights of 1e30 each
    data = travel.assign(gc=travel["gc"] * 1e140, w=1e30)
    r = cm.Logit(FORMULA, data, obs="individual", alt="mode").fit()
    assert r.converged and np.isfinite(r.bse).all()
    with pytest.raises(cm.ChoiceDataError, match="variable 'gc'.*total weight of 2.1e\\+32"):
        cm.Logit(FORMULA, data, obs="individual", alt="mode", weights="w",
                 weight_type="frequency")


def test_arrays_with_overflowing_values_are_refused():
    X = np.random.default_rng(0).standard_normal((100, 3, 2))
    X[5, 1, 1] = -1e200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(cm.ChoiceDataError, match="variable 'x1' holds values up to 1e\\+200"):
            cm.Logit.from_arrays(X, np.zeros(100, int))


# ---- Dask: the same data rules as in memory ---------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def _categorical_ids(travel, kind):
    ids = travel["individual"]
    if kind == "int":
        return travel.assign(individual=ids.astype("category"))
    if kind == "str":
        return travel.assign(individual=("p" + ids.astype(str)).astype("category"))
    return travel.assign(individual=ids.astype("category").cat.as_ordered())


@pytest.mark.parametrize("kind", ["int", "str", "ordered"])
@pytest.mark.parametrize("known", [True, False])
def test_dask_accepts_categorical_situation_ids_like_memory(client, travel, kind, known):
    dd = pytest.importorskip("dask.dataframe")
    data = _categorical_ids(travel, kind)
    mem = cm.Logit(FORMULA, data, obs="individual", alt="mode").fit()
    ddf = dd.from_pandas(data, npartitions=3)
    if not known:
        ddf = ddf.assign(individual=ddf["individual"].cat.as_unknown())
    r = cm.Logit(FORMULA, ddf, obs="individual", alt="mode").fit()
    np.testing.assert_allclose(r.params.values, mem.params.values, rtol=1e-10)
    assert r.llf == pytest.approx(mem.llf, rel=1e-12) and r.nobs == mem.nobs == 210


def test_dask_probit_with_categorical_ids_uses_the_same_draws(client, travel):
    dd = pytest.importorskip("dask.dataframe")
    data = _categorical_ids(travel, "str")
    options = {"integration": "ghk", "draws": 20, "rng": 3}
    mem = cm.Probit(FORMULA, data, obs="individual", alt="mode", **options)
    dist = cm.Probit(FORMULA, dd.from_pandas(data, npartitions=2), obs="individual",
                     alt="mode", **options)
    b = mem.start_params()
    assert dist.loglike(b) == pytest.approx(mem.loglike(b), rel=1e-12)
