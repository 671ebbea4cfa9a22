"""Simulators against closed forms: softmax for Gumbel errors, orthant probabilities for normal ones."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import optimize, special, stats

import choicemodels as cm
import choicemodels.random_utility as random_utility
from choicemodels.exceptions import ChoiceDataError, SpecificationError


def assert_frequencies_match(chosen, probabilities, sd=4.5):
    """Counts of each alternative within ``sd`` binomial standard deviations of sum_n p_nj.

    ``probabilities`` is (N, J) or (J,) for N identical situations.
    """
    P = np.broadcast_to(probabilities, (chosen.size, np.shape(probabilities)[-1]))
    counts = np.bincount(chosen, minlength=P.shape[1])
    expected = P.sum(axis=0)
    spread = np.sqrt((P * (1 - P)).sum(axis=0))
    z = (counts - expected) / np.where(spread > 0, spread, 1)
    assert np.all(np.abs(z) < sd), (counts, expected, z)
    assert np.all(counts[expected == 0] == 0)


def orthant_probabilities(V, cov, T=1.0):
    """P(j) = P(U_k - U_j < 0 for all k != j) with U = V + T e, e ~ N(0, cov), by differencing."""
    J = len(V)
    out = np.empty(J)
    for j in range(J):
        others = [k for k in range(J) if k != j]
        M = np.zeros((J - 1, J))
        M[np.arange(J - 1), others] = 1
        M[:, j] = -1
        S = T**2 * M @ cov @ M.T
        # e_k - e_j < V_j - V_k for all k != j
        out[j] = stats.multivariate_normal.cdf(
            V[j] - V[others], mean=np.zeros(J - 1), cov=S, abseps=1e-6, releps=1e-6, rng=0
        )
    return out


# ----------------------------------------------------------------------------- simulate_choices


def test_gumbel_frequencies_match_softmax_in_heterogeneous_situations():
    rng = np.random.default_rng(10)
    V = rng.normal(scale=1.5, size=(200_000, 4))
    chosen = cm.simulate_choices(V, rng=11)
    assert chosen.dtype == np.int64 and chosen.shape == (200_000,)
    assert_frequencies_match(chosen, special.softmax(V, axis=1))


@pytest.mark.parametrize("T", [0.25, 3.0])
def test_gumbel_temperature_scales_the_errors(T):
    V = np.array([1.0, 0.0, -0.5])
    chosen = cm.simulate_choices(np.tile(V, (100_000, 1)), temperature=T, rng=12)
    assert_frequencies_match(chosen, special.softmax(V / T))


def test_correlated_normal_frequencies_match_orthant_probabilities():
    V = np.array([0.2, 0.0, -0.3, 0.5])
    A = np.array([[1.0, 0.5, 0.0, 0.2], [0.0, 1.2, 0.3, 0.0], [0.0, 0.0, 0.8, -0.4], [0.0, 0.0, 0.0, 0.6]])
    cov = A.T @ A
    T = 1.3
    chosen = cm.simulate_choices(np.tile(V, (200_000, 1)), "normal", temperature=T, cov=cov, rng=13)
    assert_frequencies_match(chosen, orthant_probabilities(V, cov, T))


def test_iid_normal_frequencies_match_orthant_probabilities_and_the_binary_closed_form():
    V = np.array([0.4, -0.2, 0.0])
    chosen = cm.simulate_choices(np.tile(V, (200_000, 1)), "normal", rng=14)
    assert_frequencies_match(chosen, orthant_probabilities(V, np.eye(3)))
    # J = 2: P(0) = Phi((V0 - V1) / (T sqrt 2))
    T = 0.7
    chosen = cm.simulate_choices(np.tile([0.3, 0.0], (100_000, 1)), "normal", temperature=T, rng=15)
    p0 = stats.norm.cdf(0.3 / (T * np.sqrt(2)))
    assert_frequencies_match(chosen, [p0, 1 - p0])


def test_singular_covariance_is_accepted():
    # e1 = e0 exactly: alternatives 0 and 1 differ only through V, so 1 is never chosen over 0
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    V = np.array([0.1, 0.0, 0.0])
    chosen = cm.simulate_choices(np.tile(V, (50_000, 1)), "normal", cov=cov, rng=16)
    assert not np.any(chosen == 1)
    # P(0) = P(e2 - e0 < 0.1) with var(e2 - e0) = 2
    assert_frequencies_match(chosen, [stats.norm.cdf(0.1 / np.sqrt(2)), 0.0, stats.norm.sf(0.1 / np.sqrt(2))])


@pytest.mark.parametrize("errors", ["gumbel", "normal"])
def test_unavailable_alternatives_are_never_chosen(errors):
    rng = np.random.default_rng(17)
    V = rng.normal(size=(100_000, 4))
    avail = rng.random((100_000, 4)) < 0.6
    avail[~avail.any(axis=1), 0] = True
    chosen = cm.simulate_choices(V, errors, avail=avail, rng=18)
    assert avail[np.arange(V.shape[0]), chosen].all()
    same = cm.simulate_choices(np.where(avail, V, -np.inf), errors, rng=18)
    assert_array_equal(same, chosen)
    if errors == "gumbel":
        assert_frequencies_match(chosen, special.softmax(np.where(avail, V, -np.inf), axis=1))


def test_same_seed_same_draws_and_generators_advance():
    V = np.random.default_rng(19).normal(size=(1000, 3))
    for errors in ("gumbel", "normal"):
        a = cm.simulate_choices(V, errors, rng=5)
        assert_array_equal(a, cm.simulate_choices(V, errors, rng=np.random.default_rng(5)))
        assert not np.array_equal(a, cm.simulate_choices(V, errors, rng=6))
    gen = np.random.default_rng(7)
    assert not np.array_equal(cm.simulate_choices(V, rng=gen), cm.simulate_choices(V, rng=gen))


def test_results_do_not_depend_on_the_block_size(monkeypatch):
    V = np.random.default_rng(20).normal(size=(5000, 3))
    cov = np.array([[1.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 2.0]])
    reference = [cm.simulate_choices(V, rng=1), cm.simulate_choices(V, "normal", cov=cov, rng=1)]
    monkeypatch.setattr(random_utility, "_CHUNK_ELEMENTS", 7)
    assert_array_equal(cm.simulate_choices(V, rng=1), reference[0])
    assert_array_equal(cm.simulate_choices(V, "normal", cov=cov, rng=1), reference[1])


def test_extreme_utilities_and_temperatures():
    V = np.array([0.5, 0.0, -1.0])
    base = cm.simulate_choices(np.tile(V, (20_000, 1)), rng=21)
    # the same model on a scale of 1e300: identical draws, no overflow
    with np.errstate(over="raise", invalid="raise"):
        huge = cm.simulate_choices(np.tile(V * 1e300, (20_000, 1)), temperature=1e300, rng=21)
    assert_array_equal(huge, base)
    big = np.finfo(np.float64).max
    span = cm.simulate_choices([[-big, big, 0.0], [big, -big, big]], rng=22)
    assert span[0] == 1 and span[1] in (0, 2)
    # near-zero temperature picks the largest utility
    assert_array_equal(cm.simulate_choices(np.tile(V, (100, 1)), temperature=1e-12, rng=23), 0)


def test_simulate_choices_validation():
    V = np.zeros((3, 2))
    with pytest.raises(SpecificationError, match="errors must be 'gumbel' or 'normal'"):
        cm.simulate_choices(V, "logistic")
    with pytest.raises(SpecificationError, match="cov applies to normal errors only"):
        cm.simulate_choices(V, cov=np.eye(2))
    with pytest.raises(SpecificationError, match=r"cov must have shape \(2, 2\)"):
        cm.simulate_choices(V, "normal", cov=np.eye(3))
    with pytest.raises(SpecificationError, match="symmetric"):
        cm.simulate_choices(V, "normal", cov=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(SpecificationError, match="positive semi-definite; its smallest eigenvalue is -1"):
        cm.simulate_choices(V, "normal", cov=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(SpecificationError, match="finite"):
        cm.simulate_choices(V, "normal", cov=[[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(ChoiceDataError, match=r"shape \(N, J\)"):
        cm.simulate_choices([1.0, 2.0])
    with pytest.raises(ChoiceDataError, match="no available alternative"):
        cm.simulate_choices(V, avail=[[1, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match="temperature"):
        cm.simulate_choices(V, temperature=0)


# ----------------------------------------------------------------------------- simulate_dataset


def fit_conditional_logit(sim):
    """Maximum likelihood with scipy (log_softmax, BFGS), columns built from the long data by hand."""
    d = sim.data
    N, J = d["obs"].nunique(), len(sim.alternatives)
    cols = {}
    for name in sim.params.index:
        if ":" in name:
            var, alt = name.split(":")
            value = 1.0 if var == "(Intercept)" else d[var].to_numpy()
            cols[name] = np.where(d["alt"] == alt, value, 0.0)
        else:
            cols[name] = d[name].to_numpy()
    X = np.stack([cols[n] for n in sim.params.index], axis=1).reshape(N, J, -1)
    y = d["choice"].to_numpy().reshape(N, J).argmax(axis=1)

    def negloglik(b):
        logp = special.log_softmax(X @ b, axis=1)
        p = np.exp(logp)
        grad = (X[np.arange(N), y] - np.einsum("nj,njk->nk", p, X)).sum(axis=0)
        return -logp[np.arange(N), y].sum(), -grad

    b = optimize.minimize(negloglik, np.zeros(X.shape[2]), jac=True, method="BFGS").x
    p = special.softmax(X @ b, axis=1)
    xbar = np.einsum("nj,njk->nk", p, X)
    info = np.einsum("nj,njk,njl->kl", p, X, X) - xbar.T @ xbar
    return b, np.sqrt(np.diag(np.linalg.inv(info)))


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_logit_recovers_the_truth_from_a_gumbel_dataset(T):
    sim = cm.simulate_dataset(
        4000, 3, {"price": -1.0, "time": 0.5}, asc=[0.5, -0.5], gamma={"income": [1.0, -1.0]},
        temperature=T, rng=30,
    )
    assert sim.formula == "choice ~ price + time | income"
    est, se = fit_conditional_logit(sim)
    z = (est - sim.scaled_params.to_numpy()) / se
    assert np.all(np.abs(z) < 4), dict(zip(sim.params.index, z))


def test_dataset_layout():
    sim = cm.simulate_dataset(50, 12, [1.0, -2.0], rng=31)
    d = sim.data
    assert len(d) == 50 * 12
    assert list(d.columns) == ["obs", "alt", "choice", "x1", "x2"]
    assert sim.alternatives[0] == "alt00" and sorted(sim.alternatives) == list(sim.alternatives)
    assert (d.groupby("obs")["choice"].sum() == 1).all()
    assert list(sim.params.index) == ["x1", "x2"] + [f"(Intercept):alt{j:02d}" for j in range(1, 12)]
    assert sim.formula == "choice ~ x1 + x2 | 1"
    assert sim.columns == {"obs": "obs", "alt": "alt"}
    truth = sim.truth()
    assert truth["params"]["x2"] == -2.0 and truth["n_obs"] == 50
    assert_array_equal(
        cm.simulate_dataset(50, 12, [1.0, -2.0], rng=31).data["choice"], d["choice"]
    )


def test_dataset_with_availability():
    sim = cm.simulate_dataset(3000, 4, {"x": 1.0}, avail_prob=0.5, rng=32)
    d = sim.data
    assert sim.columns["avail"] == "avail"
    assert (d.loc[d["choice"] == 1, "avail"] == 1).all()
    assert (d.groupby("obs")["avail"].sum() >= 1).all()
    # each alternative available with probability 0.5 given at least one: 0.5 / (1 - 0.5**4)
    share = d["avail"].mean()
    p = 0.5 / (1 - 0.5**4)
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / len(d))


def test_probit_dataset_shares_match_orthant_probabilities():
    cov = np.array([[1.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0], [0.0, 0.0, 1.5, -0.3], [0.0, 0.0, -0.3, 0.8]])
    asc = [0.3, -0.2, 0.1]
    sim = cm.simulate_dataset(100_000, 4, {"x": 0.0}, asc=asc, errors="normal", cov=cov, rng=33)
    chosen = sim.data["choice"].to_numpy().reshape(-1, 4).argmax(axis=1)
    assert_frequencies_match(chosen, orthant_probabilities(np.r_[0.0, asc], cov))
    # error_covariance: T^2 M cov M', checked against a Monte Carlo covariance of differences
    e = np.random.default_rng(34).multivariate_normal(np.zeros(4), cov, size=400_000)
    diffs = e[:, 1:] - e[:, [0]]
    assert np.allclose(sim.error_covariance().to_numpy(), np.cov(diffs.T), atol=0.02)
    assert list(sim.error_covariance().index) == ["alt1", "alt2", "alt3"]


def test_simulate_dataset_validation():
    with pytest.raises(SpecificationError, match=r"asc needs 2 finite values"):
        cm.simulate_dataset(10, 3, [1.0], asc=[1.0])
    with pytest.raises(SpecificationError, match=r"gamma\['z'\] needs 2"):
        cm.simulate_dataset(10, 3, [1.0], gamma={"z": [1.0, 2.0, 3.0]})
    with pytest.raises(SpecificationError, match="distinct identifiers"):
        cm.simulate_dataset(10, 3, {"choice": 1.0})
    with pytest.raises(ValueError, match="n_alts must be an integer >= 2"):
        cm.simulate_dataset(10, 1, [1.0])
    with pytest.raises(ValueError, match="avail_prob"):
        cm.simulate_dataset(10, 3, [1.0], avail_prob=0.0)
    with pytest.raises(SpecificationError, match="cov applies to normal errors only"):
        cm.simulate_dataset(10, 3, [1.0], cov=np.eye(3))


# ----------------------------------------------------------------------------- Gumbel-max check


def test_gumbel_max_check_statistic_matches_scipy_chisquare():
    check = cm.gumbel_max_check([1.0, 0.0, -1.0, 0.5], draws=200_000, temperature=0.8, rng=40)
    probabilities = special.softmax(np.array([1.0, 0.0, -1.0, 0.5]) / 0.8)
    assert np.allclose(check.probabilities, probabilities, rtol=1e-14)
    ref = stats.chisquare(check.frequencies, check.draws * probabilities)
    assert np.isclose(check.statistic, ref.statistic, rtol=1e-12)
    assert np.isclose(check.p_value, ref.pvalue, rtol=1e-9)
    assert check.df == 3 and check.frequencies.sum() == 200_000


def test_gumbel_max_check_p_values_are_uniform_for_the_correct_sampler():
    V = [0.5, 0.0, -1.0]
    p = [cm.gumbel_max_check(V, draws=20_000, rng=seed).p_value for seed in range(40)]
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert min(p) > 1e-4


def test_gumbel_max_check_rejects_normal_errors():
    check = cm.gumbel_max_check([0.5, 0.0, -1.0], draws=200_000, errors="normal", rng=41)
    assert check.p_value < 1e-12


def test_gumbel_max_check_with_an_unavailable_alternative_and_rendering():
    check = cm.gumbel_max_check([0.0, -np.inf, 1.0], draws=10_000, rng=42)
    assert check.frequencies[1] == 0 and check.df == 1
    text = str(check)
    assert "softmax" in text and f"{check.frequencies[2]:d}" in text and "df = 1" in text
    assert "<table>" in check._repr_html_()
    with pytest.raises(ChoiceDataError, match="one vector"):
        cm.gumbel_max_check(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        cm.gumbel_max_check([0.0, 1.0], draws=0)
