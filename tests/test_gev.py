"""Nested GEV errors (Stephenson's construction) against closed forms.

Inside a nest of parameter a the errors have the joint distribution function
exp(-(sum_j exp(-e_j/a))^a); margins are standard Gumbel; the argmax follows the nested
logit P_j = exp(V_j/l_k) S_k^(l_k-1) / sum_m S_m^(l_m), S_k = sum_{i in k} exp(V_i/l_k).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats

import choicemodels as cm
import choicemodels.random_utility as random_utility
from choicemodels.exceptions import SpecificationError
from choicemodels.kernels import gev


def draw_errors(n, nest_of, iv, seed):
    """n rows of nested-GEV errors through the package's kernel."""
    nest_of, iv = np.asarray(nest_of), np.asarray(iv, dtype=float)
    width = nest_of.size + 2 * int((iv < 1).sum())
    out = np.empty((n, nest_of.size))
    gev.nested_errors(out, np.random.default_rng(seed).standard_exponential((n, width)), nest_of, iv)
    return out


def nested_logit_reference(V, nests, iv):
    """The nested logit written out term by term with scipy (V (J,), no unavailable alternatives)."""
    P = np.zeros(len(V))
    log_top = np.array([lam * special.logsumexp(np.asarray(V)[idx] / lam) for idx, lam in zip(nests, iv)])
    for idx, lam, top in zip(nests, iv, log_top):
        log_s = special.logsumexp(np.asarray(V)[idx] / lam)
        # P(nest) * P(j | nest)
        P[idx] = np.exp(top - special.logsumexp(log_top)) * np.exp(np.asarray(V)[idx] / lam - log_s)
    return P


# ----------------------------------------------------------------------------- the positive stable


@pytest.mark.parametrize("a", [0.1, 0.5, 0.9])
def test_positive_stable_laplace_transform(a):
    n = 400_000
    rng = np.random.default_rng(1)
    log_s = gev.positive_stable_log(np.array([a]), rng.standard_exponential((n, 1)),
                                    rng.standard_exponential((n, 1)))[:, 0]
    assert np.isfinite(log_s).all()
    for t in (0.3, 1.0, 3.0):
        sample = np.exp(-t * np.exp(log_s))  # in [0, 1]
        se = sample.std() / np.sqrt(n)
        assert abs(sample.mean() - np.exp(-t**a)) < 5 * se, (t, sample.mean(), np.exp(-t**a), se)


# ----------------------------------------------------------------------------- the errors


@pytest.mark.parametrize("a", [0.05, 0.3, 0.7, 1.0])
def test_margins_are_standard_gumbel(a):
    e = draw_errors(100_000, [0, 0, 0], [a], seed=2)
    for j in range(3):
        assert stats.kstest(e[:, j], stats.gumbel_r.cdf).pvalue > 0.001


@pytest.mark.parametrize("a", [0.2, 0.5, 0.8])
def test_pairs_in_a_nest_have_the_logistic_bivariate_cdf(a):
    n = 200_000
    e = draw_errors(n, [0, 0], [a], seed=3)
    for x, y in [(0.0, 0.0), (-0.5, 1.0), (1.5, 0.3), (2.0, 2.0)]:
        p = np.exp(-((np.exp(-x / a) + np.exp(-y / a)) ** a))
        hits = np.count_nonzero((e[:, 0] <= x) & (e[:, 1] <= y))
        assert abs(hits - n * p) < 5 * np.sqrt(n * p * (1 - p)), (x, y, hits / n, p)
        # and the dependence is real: independence would put the probability elsewhere
        independent = stats.gumbel_r.cdf(x) * stats.gumbel_r.cdf(y)
        assert abs(hits - n * independent) > 5 * np.sqrt(n * p * (1 - p))


def test_nests_are_independent_and_iv_one_is_iid_gumbel():
    n = 200_000
    e = draw_errors(n, [0, 0, 1, 1], [0.3, 1.0], seed=4)
    x, y = 0.5, -0.2
    for i, j in [(0, 2), (1, 3), (2, 3)]:  # across nests, and within the nest of parameter 1
        p = stats.gumbel_r.cdf(x) * stats.gumbel_r.cdf(y)
        hits = np.count_nonzero((e[:, i] <= x) & (e[:, j] <= y))
        assert abs(hits - n * p) < 5 * np.sqrt(n * p * (1 - p)), (i, j, hits / n, p)
    # a = 1 everywhere: exactly -log E, the logit's Gumbel draws
    draws = np.random.default_rng(5).standard_exponential((10, 3))
    out = np.empty((10, 3))
    gev.nested_errors(out, draws, np.array([0, 0, 1]), np.array([1.0, 1.0]))
    assert_array_equal(out, -np.log(draws))


# ----------------------------------------------------------------------------- the argmax


def test_nested_logit_kernel_matches_the_term_by_term_closed_form():
    rng = np.random.default_rng(6)
    V = rng.normal(scale=2, size=5)
    nests, iv = [[0, 3], [1, 2, 4]], [0.35, 0.8]
    nest_of = np.array([0, 1, 1, 0, 1])
    P = np.exp(gev.nested_logit_log_probabilities(V[None], nest_of, np.array(iv)))[0]
    assert_allclose(P, nested_logit_reference(V, nests, iv), rtol=1e-12)
    # finite in log space for utilities in the thousands and iv near 0
    logp = gev.nested_logit_log_probabilities(np.array([[3000.0, 2990.0, -4000.0]]), np.array([0, 0, 1]),
                                              np.array([1e-3, 1.0]))
    assert_allclose(np.exp(logp), [[1.0, 0.0, 0.0]], atol=1e-300)
    assert np.isfinite(logp).all()


def test_gumbel_max_check_matches_the_nested_logit_with_availability():
    V = np.array([0.4, -0.2, 0.9, 0.0, -np.inf, 0.3])
    nests = {"fly": [0, 1], "ground": [2, 3, 4], "walk": [5]}
    iv = {"fly": 0.25, "ground": 0.6, "walk": 1.0}
    check = cm.gumbel_max_check(V, draws=1_000_000, errors="nested", nests=nests, iv=iv, rng=7)
    # the reference, term by term, over the available alternatives
    expected = np.zeros(6)
    expected[[0, 1, 2, 3, 5]] = nested_logit_reference(V[[0, 1, 2, 3, 5]], [[0, 1], [2, 3], [4]],
                                                      [0.25, 0.6, 1.0])
    assert_allclose(check.probabilities, expected, rtol=1e-12)
    assert check.frequencies[4] == 0 and check.df == 4
    assert check.p_value > 0.001
    assert check.statistic == pytest.approx(
        stats.chisquare(check.frequencies[[0, 1, 2, 3, 5]], check.draws * expected[[0, 1, 2, 3, 5]]).statistic)
    # the logit's softmax is a different distribution here, and the test sees it
    softmax = np.zeros(6)
    softmax[[0, 1, 2, 3, 5]] = special.softmax(V[[0, 1, 2, 3, 5]])
    assert stats.chisquare(check.frequencies[[0, 1, 2, 3, 5]],
                           check.draws * softmax[[0, 1, 2, 3, 5]]).pvalue < 1e-10
    text = str(check.summary())
    assert "nested logit" in text and "nested errors" in text


def test_simulate_choices_nested_in_heterogeneous_situations_with_temperature():
    rng = np.random.default_rng(8)
    N, T = 300_000, 1.5
    V = rng.normal(size=(N, 4))
    avail = rng.random((N, 4)) > 0.2
    avail[:, 0] = True
    chosen = cm.simulate_choices(V, "nested", temperature=T, avail=avail, nests=[[0, 2], [1, 3]],
                                 iv=[0.4, 0.7], rng=9)
    assert avail[np.arange(N), chosen].all()
    P = np.exp(gev.nested_logit_log_probabilities(np.where(avail, V / T, -np.inf), np.array([0, 1, 0, 1]),
                                                  np.array([0.4, 0.7])))
    assert_allclose(P.sum(axis=1), 1.0)
    counts = np.bincount(chosen, minlength=4)
    z = (counts - P.sum(axis=0)) / np.sqrt((P * (1 - P)).sum(axis=0))
    assert np.all(np.abs(z) < 4.5), z


def test_iv_one_in_every_nest_reproduces_the_softmax():
    V = np.array([1.0, 0.0, -1.0, 0.5])
    check = cm.gumbel_max_check(V, draws=400_000, errors="nested", nests=[[0, 1], [2, 3]], iv=[1.0, 1.0], rng=10)
    assert_allclose(check.probabilities, special.softmax(V), rtol=1e-12)
    assert check.p_value > 0.001
    # and the draws are the logit's: the same choices as iid Gumbel errors (one nest per alternative)
    Vs = np.random.default_rng(11).normal(size=(2000, 4))
    assert_array_equal(cm.simulate_choices(Vs, "nested", nests=[[0], [1], [2], [3]], iv=[1, 1, 1, 1], rng=12),
                       cm.simulate_choices(Vs, rng=12))


def test_same_seed_same_draws_and_block_size_does_not_matter(monkeypatch):
    V = np.random.default_rng(13).normal(size=(3000, 3))
    kw = dict(nests=[[0, 1], [2]], iv=[0.5, 1.0])
    a = cm.simulate_choices(V, "nested", rng=5, **kw)
    assert_array_equal(a, cm.simulate_choices(V, "nested", rng=np.random.default_rng(5), **kw))
    assert not np.array_equal(a, cm.simulate_choices(V, "nested", rng=6, **kw))
    monkeypatch.setattr(random_utility, "_CHUNK_ELEMENTS", 7)
    assert_array_equal(cm.simulate_choices(V, "nested", rng=5, **kw), a)


# ----------------------------------------------------------------------------- bad input


def test_bad_nests_and_iv_raise_naming_the_fault():
    V = np.zeros((2, 3))
    with pytest.raises(SpecificationError, match=r"alternatives \[2\] are in no nest"):
        cm.simulate_choices(V, "nested", nests=[[0, 1]], iv=[0.5])
    with pytest.raises(SpecificationError, match="alternative 1 is in two nests, 'a' and 'b'"):
        cm.simulate_choices(V, "nested", nests={"a": [0, 1], "b": [1, 2]}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match="nest 1 names alternative 3"):
        cm.simulate_choices(V, "nested", nests=[[0, 1], [2, 3]], iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match="nest 'b' is empty"):
        cm.simulate_choices(V, "nested", nests={"a": [0, 1, 2], "b": []}, iv=[0.5, 0.5])
    for bad in (0.0, 1.5, -0.2, np.nan):
        with pytest.raises(SpecificationError, match=r"iv must lie in \(0, 1\].*'b'"):
            cm.simulate_choices(V, "nested", nests={"a": [0, 1], "b": [2]}, iv={"a": 0.5, "b": bad})
    with pytest.raises(SpecificationError, match="one value per nest"):
        cm.simulate_choices(V, "nested", nests=[[0, 1], [2]], iv=[0.5])
    with pytest.raises(SpecificationError, match="one value for each nest"):
        cm.simulate_choices(V, "nested", nests={"a": [0, 1], "b": [2]}, iv={"a": 0.5})
    with pytest.raises(SpecificationError, match="needs nests"):
        cm.simulate_choices(V, "nested")
    with pytest.raises(SpecificationError, match="apply to nested errors only"):
        cm.simulate_choices(V, nests=[[0, 1, 2]], iv=[0.5])
    with pytest.raises(SpecificationError, match="apply to nested errors only"):
        cm.gumbel_max_check([0.0, 1.0], iv=[0.5])
    with pytest.raises(SpecificationError, match=r"iv must lie in \(0, 1\]"):
        cm.gumbel_max_check([0.0, 1.0], errors="nested", nests=[[0, 1]], iv=[2.0])


# ----------------------------------------------------------------------------- simulate_dataset


@pytest.mark.parametrize("a", [0.3, 0.8])
def test_within_nest_correlation_is_one_minus_iv_squared(a):
    # the logistic model's correlation (Tiago de Oliveira), through SimulatedData.error_covariance
    e = draw_errors(400_000, [0, 0, 1], [a, 1.0], seed=14)
    sim = cm.simulate_dataset(10, 3, [1.0], errors="nested", nests=[[0, 1], [2]], iv=[a, 1.0], rng=0)
    M = np.hstack([-np.ones((2, 1)), np.eye(2)])
    d = e @ M.T
    d -= d.mean(axis=0)
    products = d[:, :, None] * d[:, None, :]
    empirical = products.mean(axis=0)
    se = products.std(axis=0) / np.sqrt(len(d))  # Monte Carlo error of each entry
    assert np.all(np.abs(sim.error_covariance().to_numpy() - empirical) < 5 * se)
    assert np.corrcoef(e[:, 0], e[:, 1])[0, 1] == pytest.approx(1 - a**2, abs=0.01)


def test_nested_dataset_shares_match_the_nested_logit_of_its_utilities():
    nests = {"fly": ["alt0", "alt3"], "ground": [1, 2]}
    sim = cm.simulate_dataset(100_000, 4, {"price": -1.0}, asc=[0.5, -0.3, 0.2], errors="nested",
                              nests=nests, iv={"fly": 0.3, "ground": 0.7}, temperature=1.5,
                              avail_prob=0.8, rng=15)
    assert sim.nests == {"fly": ("alt0", "alt3"), "ground": ("alt1", "alt2")}
    assert sim.truth()["iv"] == {"fly": 0.3, "ground": 0.7}
    d = sim.data
    V = (d["price"].to_numpy() * -1.0).reshape(-1, 4) + np.array([0.0, 0.5, -0.3, 0.2])
    avail = d["avail"].to_numpy().reshape(-1, 4).astype(bool)
    P = np.exp(gev.nested_logit_log_probabilities(np.where(avail, V / 1.5, -np.inf), np.array([0, 1, 1, 0]),
                                                  np.array([0.3, 0.7])))
    counts = d["choice"].to_numpy().reshape(-1, 4).sum(axis=0)
    z = (counts - P.sum(axis=0)) / np.sqrt((P * (1 - P)).sum(axis=0))
    assert np.all(np.abs(z) < 4.5), z
    # the logit of the same utilities is a different model, and the counts say so
    L = special.softmax(np.where(avail, V / 1.5, -np.inf), axis=1)
    assert np.max(np.abs((counts - L.sum(axis=0)) / np.sqrt((L * (1 - L)).sum(axis=0)))) > 10


def test_simulate_dataset_nested_validation():
    with pytest.raises(SpecificationError, match="nest 'b' names alternative 'car'"):
        cm.simulate_dataset(10, 3, [1.0], errors="nested", nests={"a": ["alt0", "alt1"], "b": ["car"]},
                            iv=[0.5, 1.0])
    with pytest.raises(SpecificationError, match=r"alternatives \[2\] are in no nest"):
        cm.simulate_dataset(10, 3, [1.0], errors="nested", nests=[["alt0", "alt1"]], iv=[0.5])
    with pytest.raises(SpecificationError, match="apply to nested errors only"):
        cm.simulate_dataset(10, 3, [1.0], nests=[[0, 1, 2]], iv=[0.5])


# ----------------------------------------------------------------------------- cross-nested GEV
# F(e) = exp(-sum_m (sum_j (alpha_jm exp(-e_j))^(1/l_m))^(l_m)): an alternative in several
# nests with allocations alpha_jm summing to one; the argmax follows the cross-nested logit
# P_j = sum_m (alpha_jm e^V_j)^(1/l_m) S_m^(l_m - 1) / sum_k S_k^(l_k).

CROSS_ALPHA = np.array([[1.0, 0.0, 0.0], [0.3, 0.7, 0.0], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6]])
CROSS_NESTS = {"a": {0: 1.0, 1: 0.3, 3: 0.2}, "b": {1: 0.7, 2: 0.5, 3: 0.2}, "c": {2: None, 3: None}}


def draw_cross_errors(n, alpha, iv, seed):
    """n rows of cross-nested GEV errors through the package's kernel."""
    log_alpha = np.log(np.where(alpha > 0, alpha, 1.0)) + np.where(alpha > 0, 0.0, -np.inf)
    width = int((alpha > 0).sum()) + 2 * int((np.asarray(iv) < 1).sum())
    out = np.empty((n, alpha.shape[0]))
    gev.cross_nested_errors(out, np.random.default_rng(seed).standard_exponential((n, width)),
                            log_alpha, np.asarray(iv, dtype=float))
    return out


def cross_nested_reference(V, alpha, iv):
    """The cross-nested logit term by term in plain probabilities (V (J,), all available)."""
    V, iv = np.asarray(V, dtype=float), np.asarray(iv, dtype=float)
    S = np.array([np.sum((alpha[:, m] * np.exp(V)) ** (1 / l)) for m, l in enumerate(iv)])
    G = np.sum(S**iv)
    return np.array([sum((alpha[j, m] * np.exp(V[j])) ** (1 / l) * S[m] ** (l - 1) for m, l in enumerate(iv))
                     for j in range(len(V))]) / G


def test_cross_nested_margins_are_standard_gumbel():
    e = draw_cross_errors(100_000, CROSS_ALPHA, [0.3, 0.6, 0.8], seed=20)
    for j in range(4):
        assert stats.kstest(e[:, j], stats.gumbel_r.cdf).pvalue > 0.001, j


def test_cross_nested_pairs_have_the_gev_joint_cdf():
    """P(e_1 <= x, e_3 <= y) against F of the pair: the other alternatives' terms drop out."""
    n, iv = 400_000, np.array([0.3, 0.6, 0.8])
    e = draw_cross_errors(n, CROSS_ALPHA, iv, seed=21)
    for (i, j), (x, y) in itertools.product([(1, 3), (2, 3), (0, 1)], [(0.0, 0.0), (-0.5, 1.0), (1.5, 0.3)]):
        G = sum(((CROSS_ALPHA[i, m] * np.exp(-x)) ** (1 / l) + (CROSS_ALPHA[j, m] * np.exp(-y)) ** (1 / l)) ** l
                for m, l in enumerate(iv))
        p = np.exp(-G)
        hits = np.count_nonzero((e[:, i] <= x) & (e[:, j] <= y))
        assert abs(hits - n * p) < 5 * np.sqrt(n * p * (1 - p)), (i, j, x, y, hits / n, p)


def test_cross_nested_kernel_matches_the_closed_form_and_the_nested_logit():
    rng = np.random.default_rng(22)
    V = rng.normal(scale=2, size=4)
    iv = np.array([0.35, 0.8, 0.5])
    log_alpha = np.log(np.where(CROSS_ALPHA > 0, CROSS_ALPHA, 1.0)) + np.where(CROSS_ALPHA > 0, 0.0, -np.inf)
    P = np.exp(gev.cross_nested_logit_log_probabilities(V[None], log_alpha, iv))[0]
    assert_allclose(P, cross_nested_reference(V, CROSS_ALPHA, iv), rtol=1e-12)
    # allocations 0/1 (one nest per alternative): the nested logit
    nest_of = np.array([0, 1, 1, 0, 1])
    V5 = rng.normal(size=5)
    one_hot = np.where(np.arange(2) == nest_of[:, None], 0.0, -np.inf)
    assert_allclose(gev.cross_nested_logit_log_probabilities(V5[None], one_hot, np.array([0.35, 0.8])),
                    gev.nested_logit_log_probabilities(V5[None], nest_of, np.array([0.35, 0.8])), rtol=1e-13)


def test_gumbel_max_check_matches_the_cross_nested_logit_with_availability():
    V = np.array([0.4, -0.2, 0.9, -np.inf, 0.3])
    nests = {"a": {0: 1.0, 1: 0.4, 3: 0.5}, "b": {1: None, 2: 0.3, 3: 0.5}, "c": [2, 4]}
    iv = {"a": 0.3, "b": 0.6, "c": 0.8}
    check = cm.gumbel_max_check(V, draws=1_000_000, errors="cross_nested", nests=nests, iv=iv, rng=23)
    alpha = np.array([[1.0, 0, 0], [0.4, 0.6, 0], [0, 0.3, 0.7], [0.5, 0.5, 0], [0, 0, 1.0]])
    assert_allclose(check.alphas, alpha, rtol=0, atol=1e-15)
    live = [0, 1, 2, 4]
    expected = np.zeros(5)
    expected[live] = cross_nested_reference(V[live], alpha[live], [0.3, 0.6, 0.8])
    assert_allclose(check.probabilities, expected, rtol=1e-12)
    assert check.frequencies[3] == 0 and check.df == 3
    assert check.p_value > 0.001
    assert check.statistic == pytest.approx(
        stats.chisquare(check.frequencies[live], check.draws * expected[live]).statistic)
    # other models of the same utilities are other distributions, and the test sees them:
    # the logit, and the nested logit that ignores the shared allocations
    for other in (special.softmax(V[live]),
                  nested_logit_reference(V[live], [[0, 1], [2, 3]], [0.3, 0.8])):
        assert stats.chisquare(check.frequencies[live], check.draws * other).pvalue < 1e-10
    assert "cross-nested logit" in str(check.summary())


def test_simulate_choices_cross_nested_in_heterogeneous_situations_with_temperature():
    rng = np.random.default_rng(24)
    N, T = 300_000, 1.5
    V = rng.normal(size=(N, 4))
    avail = rng.random((N, 4)) > 0.2
    avail[:, 0] = True
    iv = [0.3, 0.6, 0.8]
    chosen = cm.simulate_choices(V, "cross_nested", temperature=T, avail=avail, nests=CROSS_NESTS, iv=iv,
                                 rng=25)
    assert avail[np.arange(N), chosen].all()
    log_alpha = np.log(np.where(CROSS_ALPHA > 0, CROSS_ALPHA, 1.0)) + np.where(CROSS_ALPHA > 0, 0.0, -np.inf)
    P = np.exp(gev.cross_nested_logit_log_probabilities(np.where(avail, V / T, -np.inf), log_alpha,
                                                        np.array(iv)))
    assert_allclose(P.sum(axis=1), 1.0)
    counts = np.bincount(chosen, minlength=4)
    z = (counts - P.sum(axis=0)) / np.sqrt((P * (1 - P)).sum(axis=0))
    assert np.all(np.abs(z) < 4.5), z
    # same seed, same draws; the block size does not matter
    assert_array_equal(chosen[:1000], cm.simulate_choices(V[:1000], "cross_nested", temperature=T,
                                                          avail=avail[:1000], nests=CROSS_NESTS, iv=iv,
                                                          rng=25))


def test_cross_nested_dataset_truth_and_shares():
    nests = {"a": {"alt0": 1.0, "alt1": 0.3}, "b": {"alt1": None, "alt2": 1.0}}
    sim = cm.simulate_dataset(50_000, 3, {"price": -1.0}, asc=[0.5, -0.3], errors="cross_nested",
                              nests=nests, iv=[0.3, 0.6], rng=26)
    assert sim.nests == {"a": {"alt0": 1.0, "alt1": 0.3}, "b": {"alt1": 0.7, "alt2": 1.0}}
    assert sim.truth()["nests"] == sim.nests and sim.truth()["iv"] == {"a": 0.3, "b": 0.6}
    d = sim.data
    V = (d["price"].to_numpy() * -1.0).reshape(-1, 3) + np.array([0.0, 0.5, -0.3])
    alpha = np.array([[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]])
    log_alpha = np.log(np.where(alpha > 0, alpha, 1.0)) + np.where(alpha > 0, 0.0, -np.inf)
    P = np.exp(gev.cross_nested_logit_log_probabilities(V, log_alpha, np.array([0.3, 0.6])))
    counts = d["choice"].to_numpy().reshape(-1, 3).sum(axis=0)
    z = (counts - P.sum(axis=0)) / np.sqrt((P * (1 - P)).sum(axis=0))
    assert np.all(np.abs(z) < 4.5), z
    with pytest.raises(SpecificationError, match="no closed-form covariance"):
        sim.error_covariance()


def test_bad_cross_nests_raise_naming_the_fault():
    V = np.zeros((2, 3))
    with pytest.raises(SpecificationError, match=r"alternative 2 is in no nest"):
        cm.simulate_choices(V, "cross_nested", nests={"a": {0: 1.0, 1: 1.0}}, iv=[0.5])
    with pytest.raises(SpecificationError, match=r"alternative 1 has no allocation in nests \['a', 'b'\]"):
        cm.simulate_choices(V, "cross_nested", nests={"a": [0, 1], "b": [1, 2]}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match=r"allocations of alternative 1 to nests \['a', 'b'\] sum to 1.2"):
        cm.simulate_choices(V, "cross_nested", nests={"a": {0: 1.0, 1: 0.5}, "b": {1: 0.7, 2: 1.0}}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match="allocation of 1 to nest 'a' is negative"):
        cm.simulate_choices(V, "cross_nested", nests={"a": {0: 1.0, 1: -0.5}, "b": {1: None, 2: 1.0}}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match=r"unknown alternative\(s\) in nests: 3 \(nest 'b'\)"):
        cm.simulate_choices(V, "cross_nested", nests={"a": [0, 1], "b": [2, 3]}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match="nest 'b' is empty"):
        cm.simulate_choices(V, "cross_nested", nests={"a": [0, 1, 2], "b": {}}, iv=[0.5, 0.5])
    with pytest.raises(SpecificationError, match=r"iv must lie in \(0, 1\].*'b'"):
        cm.gumbel_max_check([0.0, 1.0], errors="cross_nested", nests={"a": [0], "b": [1]}, iv=[0.5, 1.5])
    with pytest.raises(SpecificationError, match="errors='cross_nested' needs nests"):
        cm.simulate_choices(V, "cross_nested", iv=[0.5])
    with pytest.raises(SpecificationError, match="nest 'b' names alternative 'car'|unknown alternative"):
        cm.simulate_dataset(10, 3, [1.0], errors="cross_nested", nests={"a": ["alt0", "alt1"], "b": ["car"]},
                            iv=[0.5, 1.0])
