"""Fits on Dask DataFrames against the in-memory fits of the same data.

The log-likelihood is a sum over situations, so a fit mapped over partitions must reproduce
the in-memory fit (itself checked against statsmodels in test_logit.py) up to the order of
the floating-point additions, whatever the partitioning. The cluster is a LocalCluster with
two worker processes, as the issue asks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import choicemodels as cm
from choicemodels.kernels.draws import keyed_uniform_draws
from choicemodels.models.base import ChoiceModel

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

FORMULA = "choice ~ x1 + x2 | income"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def _long_data(n_obs: int, *, rng: int) -> pd.DataFrame:
    """Logit data, J = 4, some alternatives unavailable, per-situation frequency weights
    ``w`` (1 to 3) and sampling weights ``sw``."""
    gen = np.random.default_rng(rng)
    J = 4
    alts = np.array(["bus", "car", "rail", "walk"])
    x1 = gen.normal(size=(n_obs, J))
    x2 = gen.uniform(0, 2, size=(n_obs, J))
    income = gen.gamma(2.0, 1.0, size=n_obs)
    avail = gen.random((n_obs, J)) > 0.15
    avail[:, 1] = True
    v = -1.0 * x1 + 0.5 * x2 + np.array([0.0, 0.3, -0.2, 0.4]) + np.outer(income, [0.0, 0.2, -0.1, 0.1])
    u = np.where(avail, v + gen.gumbel(size=(n_obs, J)), -np.inf)
    chosen = u.argmax(axis=1)
    ids = gen.permutation(10 * n_obs)[:n_obs] + 1000  # ids neither sorted nor contiguous
    frame = pd.DataFrame({
        "id": np.repeat(ids, J),
        "alt": np.tile(alts, n_obs),
        "choice": (np.arange(J)[None, :] == chosen[:, None]).astype(int).ravel(),
        "x1": x1.ravel(),
        "x2": x2.ravel(),
        "income": np.repeat(income, J),
        "av": avail.astype(int).ravel(),
        "w": np.repeat(gen.integers(1, 4, n_obs), J),
        "sw": np.repeat(gen.uniform(0.5, 2.0, n_obs), J),
    })
    return frame


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _long_data(800, rng=1)


def _dask(frame: pd.DataFrame, npartitions: int, *, seed: int) -> dd.DataFrame:
    """Rows in random order, so that partitions split situations."""
    return dd.from_pandas(frame.sample(frac=1.0, random_state=seed), npartitions=npartitions, sort=False)


def _assert_same_fit(r, ref, *, bse_rtol: float = 1e-8) -> None:
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-8)
    assert list(r.params.index) == list(ref.params.index)
    assert r.llf == pytest.approx(ref.llf, rel=1e-12)
    assert r.llnull == pytest.approx(ref.llnull, rel=1e-12)
    assert r.nobs == ref.nobs
    assert r.converged and ref.converged
    np.testing.assert_allclose(r.bse.to_numpy(), ref.bse.to_numpy(), rtol=bse_rtol)


# ---- keyed draws ---------------------------------------------------------------------
@pytest.mark.parametrize("sequence", ["halton", "sobol", "pseudo"])
def test_keyed_draws_are_uniform_and_independent_across_situations(sequence):
    keys = np.arange(4000, dtype=np.uint64) * 7919
    u = keyed_uniform_draws(keys, 2, 16, sequence=sequence, rng=3)
    assert u.shape == (4000, 16, 2)
    for d in range(2):
        assert stats.kstest(u[:, :, d].ravel(), "uniform").pvalue > 1e-3
    # the first draws of neighbouring keys are uncorrelated
    r = np.corrcoef(u[:-1, 0, 0], u[1:, 0, 0])[0, 1]
    assert abs(r) < 4 / np.sqrt(len(keys))


def test_keyed_draws_depend_only_on_the_key_and_seed():
    keys = np.array([5, 17, 2**40, 3], dtype=np.uint64)
    u = keyed_uniform_draws(keys, 3, 8, sequence="halton", rng=0)
    again = keyed_uniform_draws(keys[[3, 1]], 3, 8, sequence="halton", rng=0)
    np.testing.assert_array_equal(again, u[[3, 1]])
    other_seed = keyed_uniform_draws(keys, 3, 8, sequence="halton", rng=1)
    assert not np.allclose(other_seed, u)


def test_keyed_halton_draws_are_a_shifted_low_discrepancy_set():
    """Every situation's R points are the shared scrambled set shifted modulo 1: the
    per-situation mean of a smooth integrand is far more accurate than with pseudo draws."""
    keys = np.arange(500, dtype=np.uint64)
    f = lambda u: np.cos(2 * np.pi * u[..., 0]) + u[..., 1] ** 2  # noqa: E731, mean 1/3
    err_qmc = np.abs(f(keyed_uniform_draws(keys, 2, 64, sequence="halton", rng=0)).mean(axis=1) - 1 / 3)
    err_mc = np.abs(f(keyed_uniform_draws(keys, 2, 64, sequence="pseudo", rng=0)).mean(axis=1) - 1 / 3)
    assert np.sqrt(np.mean(err_qmc**2)) < 0.3 * np.sqrt(np.mean(err_mc**2))


# ---- logit ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logit_in_memory(data):
    m = cm.Logit(FORMULA, data=data, obs="id", alt="alt", ref="car", avail="av", weights="w")
    sampled = cm.Logit(FORMULA, data=data, obs="id", alt="alt", ref="car", avail="av", weights="sw",
                       weight_type="sampling")
    return {"nonrobust": m.fit(), "robust": m.fit(cov_type="robust"), "sampling": sampled.fit()}


@pytest.mark.parametrize(("npartitions", "cov_type"),
                         [(1, "nonrobust"), (4, "nonrobust"), (4, "robust"), (4, "sampling")])
def test_logit_equals_in_memory_fit_for_any_partitioning(client, data, logit_in_memory, npartitions, cov_type):
    """Frequency weights (non-robust and robust covariance) and sampling weights (normalised
    over all partitions, robust covariance by default)."""
    ddf = _dask(data, npartitions, seed=npartitions)
    if cov_type == "sampling":
        m = cm.Logit(FORMULA, data=ddf, obs="id", alt="alt", ref="car", avail="av", weights="sw",
                     weight_type="sampling")
        r = m.fit()
        assert r.cov_type == "robust" and r.nobs == 800 and r.spec["weight_type"] == "sampling"
    else:
        m = cm.Logit(FORMULA, data=ddf, obs="id", alt="alt", ref="car", avail="av", weights="w")
        r = m.fit(cov_type=cov_type)
        assert r.nobs == data.groupby("id")["w"].first().sum()  # frequency weights count
    assert isinstance(m, cm.Logit)
    ref = logit_in_memory[cov_type]
    _assert_same_fit(r, ref)
    assert isinstance(r, cm.ChoiceResults)
    assert r.rho2 == pytest.approx(ref.rho2, rel=1e-10)  # needs the constants-only fit too
    assert r.ll_constants == pytest.approx(ref.ll_constants, rel=1e-12)  # weights, availability


def test_logit_warm_start_gathers_every_nth_situation_of_the_partitions(client, data, logit_in_memory,
                                                                        monkeypatch):
    # large fits start from a subsample's estimate; here the threshold is lowered to the
    # test data's 800 situations
    monkeypatch.setattr(cm.models.logit, "WARM_START_MIN_OBS", 100)
    monkeypatch.setattr(cm.models.logit, "WARM_START_SUBSAMPLE", 400)
    kw = dict(obs="id", alt="alt", ref="car", avail="av", weights="w")
    in_memory = cm.Logit(FORMULA, data=data, **kw)
    distributed = cm.Logit(FORMULA, data=_dask(data, 4, seed=4), **kw)
    start = distributed.start_params()
    assert np.any(start != 0.0)
    # the subsample holds every other situation of each partition, not of the whole data
    reference = logit_in_memory["nonrobust"]
    np.testing.assert_allclose(start, in_memory.start_params(), atol=4 * reference.bse.max())
    _assert_same_fit(distributed.fit(), reference)
    _assert_same_fit(in_memory.fit(), reference)


def test_logit_from_parquet_partitions(client, data, logit_in_memory, tmp_path):
    """Situations written whole to several files: no shuffle is needed."""
    ordered = dd.from_pandas(data.sort_values(["id", "alt"]), npartitions=5, sort=False)
    ordered.to_parquet(tmp_path / "situations")
    ddf = dd.read_parquet(tmp_path / "situations")
    r = cm.Logit(FORMULA, data=ddf, obs="id", alt="alt", ref="car", avail="av", weights="w").fit()
    _assert_same_fit(r, logit_in_memory["nonrobust"])
    # the results predict on in-memory data like those of the in-memory fit
    sample = data[data["id"].isin(data["id"].unique()[:20])]
    pd.testing.assert_frame_equal(r.predict(data=sample), logit_in_memory["nonrobust"].predict(data=sample),
                                  rtol=1e-8)


def test_invalid_partition_raises_the_in_memory_error(client, data):
    bad = data.copy()
    first = bad["id"].iloc[0]
    bad.loc[bad["id"] == first, ["choice", "av"]] = 1  # every alternative chosen in one situation
    with pytest.raises(cm.ChoiceDataError, match="exactly one") as distributed_error:
        cm.Logit(FORMULA, data=_dask(bad, 3, seed=0), obs="id", alt="alt", avail="av")
    with pytest.raises(cm.ChoiceDataError, match="exactly one"):
        cm.Logit(FORMULA, data=bad, obs="id", alt="alt", avail="av")
    assert str(first) in str(distributed_error.value)


def test_fractional_frequency_weights_raise_the_in_memory_error(client, data):
    message = r"weights column 'sw' holds non-integer values .*weight_type='sampling'"
    with pytest.raises(cm.ChoiceDataError, match=message):
        cm.Logit(FORMULA, data=_dask(data, 3, seed=0), obs="id", alt="alt", avail="av", weights="sw")
    with pytest.raises(cm.ChoiceDataError, match=message):
        cm.Logit(FORMULA, data=data, obs="id", alt="alt", avail="av", weights="sw")


def test_unknown_column_and_unidentified_model_raise(client, data):
    ddf = _dask(data, 2, seed=0)
    with pytest.raises(cm.SpecificationError, match="x3"):
        cm.Logit("choice ~ x1 + x3", data=ddf, obs="id", alt="alt")
    twice = data.assign(x1b=2 * data["x1"])
    with pytest.raises(cm.SpecificationError, match="collinear"):
        cm.Logit("choice ~ x1 + x1b", data=_dask(twice, 2, seed=0), obs="id", alt="alt")
    with pytest.raises(cm.SpecificationError, match="income"):
        cm.Logit("choice ~ x1 + income", data=ddf, obs="id", alt="alt")


def test_per_situation_quantities_and_cluster_covariance_are_refused(client, data):
    m = cm.Logit(FORMULA, data=_dask(data, 2, seed=0), obs="id", alt="alt", avail="av")
    with pytest.raises(cm.SpecificationError, match="cluster"):
        m.fit(cov_type="cluster", groups=np.arange(m.n_obs))
    with pytest.raises(cm.SpecificationError, match="predict"):
        m.predict(np.zeros(len(m.param_names)))


# ---- probit --------------------------------------------------------------------------
PROBIT_OPTIONS = {  # frequency weights with GHK; sampling weights (robust covariance) exact
    "ghk": {"cov": "heteroskedastic", "integration": "ghk", "draws": 30, "rng": 5, "weights": "w"},
    "exact": {"cov": "iid", "weights": "sw", "weight_type": "sampling"},  # quadrature, no draws
    # analytic, J = 4; the given order of conditioning, the only one on Dask data
    "ovus": {"cov": "unstructured", "integration": "ovus", "me_order": "given", "weights": "w"},
}


@pytest.fixture(scope="module")
def probit_data() -> pd.DataFrame:
    return _long_data(400, rng=2)


def test_probit_refuses_an_order_fixed_at_the_start_values(client, probit_data):
    kw = {"obs": "id", "alt": "alt", "ref": "car", "avail": "av"}
    ddf = _dask(probit_data, 2, seed=0)
    with pytest.raises(cm.SpecificationError, match="me_order='gge' fixes the order"):
        cm.Probit(FORMULA, data=ddf, **kw, cov="unstructured", integration="ovus",
                  me_order="gge")
    default = cm.Probit(FORMULA, data=ddf, **kw, cov="unstructured", integration="ovus")
    assert default.me_order == "given"


@pytest.mark.parametrize("integration", sorted(PROBIT_OPTIONS))
def test_probit_equals_in_memory_fit_for_any_partitioning(client, probit_data, integration):
    """GHK draws are keyed by situation id, so every partitioning sees the same draws.

    Standard errors come from forward differences of the score (step 1e-6), which turn
    rounding differences of 1e-16 in the sums into about 1e-10 in the Hessian.
    """
    kw = {"obs": "id", "alt": "alt", "ref": "car", "avail": "av"}
    options = PROBIT_OPTIONS[integration]
    ref = cm.Probit(FORMULA, data=probit_data, **kw, **options).fit()
    for npartitions in (1, 4) if integration == "ghk" else (3,):
        ddf = _dask(probit_data, npartitions, seed=npartitions)
        r = cm.Probit(FORMULA, data=ddf, **kw, **options).fit()
        _assert_same_fit(r, ref, bse_rtol=1e-7)
        assert r.n_iter == ref.n_iter


# ---- a new model: block functions only -----------------------------------------------
class BlockLogit(ChoiceModel):
    """The conditional logit written as nothing but block functions, in plain numpy and
    scipy (none of the package's logit code), fitted by BHHH: the engine gives it the fit,
    the covariances, the fit statistics and the Dask fit."""

    model_name = "BlockLogit"
    methods = ("bhhh",)
    default_method = "bhhh"
    default_maxiter = 500

    def start_params(self):
        return np.zeros(self.design.n_params)

    def _probabilities(self, params, X, avail):
        return np.exp(special.log_softmax(np.where(avail, X @ params, -np.inf), axis=1))

    def _loglike_obs(self, params):
        d = self.design
        logp = special.log_softmax(np.where(d.avail, d.X @ params, -np.inf), axis=1)
        return logp[np.arange(d.n_obs), d.chosen]

    def _score_obs(self, params):
        d = self.design
        p = self._probabilities(params, d.X, d.avail)
        return d.X[np.arange(d.n_obs), d.chosen] - np.einsum("nj,njk->nk", p, d.X)

    def _block_sums(self, params):
        ll, s = self._loglike_obs(params), self._score_obs(params)
        w = np.ones(len(ll)) if self.design.weights is None else self.design.weights
        return float(w @ ll), w @ s, (s * w[:, None]).T @ s


def test_a_model_of_block_functions_fits_in_memory_and_on_dask(client, data, logit_in_memory):
    kw = {"obs": "id", "alt": "alt", "ref": "car", "avail": "av", "weights": "w"}
    ref = logit_in_memory["robust"]
    in_memory = BlockLogit(FORMULA, data=data, **kw).fit(cov_type="robust", tol=1e-12)
    # the same maximum as the logit (checked against statsmodels in test_logit.py); the
    # standard errors invert central differences of the score instead of the exact Hessian
    np.testing.assert_allclose(in_memory.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-7)
    assert in_memory.llf == pytest.approx(ref.llf, rel=1e-12)
    np.testing.assert_allclose(in_memory.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-6)
    assert (in_memory.nobs, in_memory.ll_constants) == (ref.nobs, pytest.approx(ref.ll_constants, rel=1e-12))
    assert "BlockLogit results" in str(in_memory.summary())
    groups = np.arange(800) // 4  # clusters of four situations
    cluster = BlockLogit(FORMULA, data=data, **kw).fit(cov_type="cluster", groups=groups, tol=1e-12)
    reference = cm.Logit(FORMULA, data=data, **kw).fit(cov_type="cluster", groups=groups)
    np.testing.assert_allclose(cluster.bse.to_numpy(), reference.bse.to_numpy(), rtol=1e-6)
    # on Dask: the same block functions mapped over the partitions
    on_dask = BlockLogit(FORMULA, data=_dask(data, 4, seed=7), **kw)
    _assert_same_fit(on_dask.fit(cov_type="robust", tol=1e-12), in_memory, bse_rtol=1e-7)
    with pytest.raises(cm.SpecificationError, match="score_obs"):
        on_dask.score_obs(np.zeros(len(on_dask.param_names)))

