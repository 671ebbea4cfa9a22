"""Frequency and sampling weights.

Frequency weights are checked against the fit on the data with every situation repeated
as many times as its weight says, in every number the results report. Sampling weights
are checked against their sandwich covariance written out here from the formulas
(normalised weights, Stata's ``pweight`` rule), independently of the package's code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

FORMULA = "choice ~ gc + ttme | hinc"
ROLES = {"obs": "individual", "alt": "mode", "ref": "car"}

#: every number the results report that weights may change
STATISTICS = ("llf", "ll_constants", "ll_equal_shares", "rho2", "rho2_adj", "prsquared", "llr",
              "llr_pvalue", "aic", "bic")
COUNTS = ("nobs", "df_resid", "df_model", "k_params")


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


@pytest.fixture(scope="module")
def weighted(travel):
    """TravelMode with frequency weights 0, 1, 2, 3 (situations of weight 0 drop out), the
    same data expanded (situation i repeated w_i times), and clusters: pairs of
    individuals, each pair with a positive total weight, kept by the copies."""
    ids = travel["individual"].unique()
    w = pd.Series(np.arange(len(ids)) % 4, index=ids)
    cluster = pd.Series(np.arange(len(ids)) // 2, index=ids)
    frame = travel.assign(w=travel["individual"].map(w))
    copies = [travel[travel["individual"] == i].assign(individual=f"{i}-{c}", original=i)
              for i in ids for c in range(w[i])]
    expanded = pd.concat(copies, ignore_index=True)
    expanded_clusters = expanded.groupby("individual", sort=False)["original"].first().map(cluster)
    return frame, expanded, cluster.to_numpy(), expanded_clusters.to_numpy(), w


def _assert_same_results(a, b, *, rtol: float, bse_rtol: float) -> None:
    for name in COUNTS:
        assert getattr(a, name) == getattr(b, name), name
    np.testing.assert_allclose(a.params, b.params, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(a.bse, b.bse, rtol=bse_rtol)
    for name in STATISTICS:
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=rtol), name


@pytest.mark.parametrize("cov_type", ["nonrobust", "robust", "cluster", "opg"])
def test_frequency_weighted_logit_equals_the_expanded_data(weighted, cov_type):
    frame, expanded, clusters, expanded_clusters, w = weighted
    fits = [
        cm.Logit(FORMULA, data=frame, **ROLES, weights="w").fit(
            cov_type=cov_type, groups=clusters if cov_type == "cluster" else None),
        cm.Logit(FORMULA, data=expanded, **ROLES).fit(
            cov_type=cov_type, groups=expanded_clusters if cov_type == "cluster" else None),
    ]
    a, b = fits
    assert a.nobs == w.sum() == 313 and b.nobs == 313  # 210 situations, weights summing to 313
    assert a.df_resid == 313 - 8
    assert a.spec["weight_type"] == "frequency" and b.spec["weight_type"] is None
    _assert_same_results(a, b, rtol=1e-12, bse_rtol=1e-12)


def test_frequency_weighted_probit_equals_the_expanded_data(weighted):
    """An iid probit by Gauss-Hermite quadrature: deterministic, no draws."""
    frame, expanded, *_ = weighted
    options = {"cov": "iid", "integration": "quadrature"}
    a_model = cm.Probit(FORMULA, data=frame, **ROLES, weights="w", **options)
    b_model = cm.Probit(FORMULA, data=expanded, **ROLES, **options)
    for cov_type in ("nonrobust", "robust"):
        a, b = (m.fit(cov_type=cov_type, tol=1e-14) for m in (a_model, b_model))
        assert a.nobs == 313 and a.converged and b.converged
        # standard errors come from forward differences of the score (step 1e-6), which
        # turn rounding differences of the sums (1e-16) into about 1e-9
        _assert_same_results(a, b, rtol=1e-12, bse_rtol=1e-7)


def test_frequency_weights_must_be_whole_numbers(travel, weighted):
    frame = weighted[0].assign(w=lambda d: d["w"] * 0.5)
    with pytest.raises(cm.ChoiceDataError, match=r"weights column 'w' holds non-integer values "
                       r"\(\[0.5, 1.5, 0.5\] in situations \[2, 4, 6\]\).*weight_type='sampling'"):
        cm.Logit(FORMULA, data=frame, **ROLES, weights="w")
    X = np.random.default_rng(0).normal(size=(20, 3, 2))
    with pytest.raises(cm.ChoiceDataError, match=r"'weights' holds non-integer values \(\[1.5\] in situations \[3\]\)"):
        cm.Probit.from_arrays(X, np.arange(20) % 3, weights=np.r_[1.0, 2.0, 1.0, 1.5, np.ones(16)])


def test_weight_type_is_checked(travel, weighted):
    with pytest.raises(cm.SpecificationError, match=r"weight_type must be 'frequency' .* or 'sampling' .*got 'pweight'"):
        cm.Logit(FORMULA, data=weighted[0], **ROLES, weights="w", weight_type="pweight")


# ---- sampling weights --------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey():
    """J = 3 logit data on arrays with unequal sampling weights, three of them zero."""
    rng = np.random.default_rng(11)
    n, J = 300, 3
    X = rng.normal(size=(n, J, 3))
    X[:, 1:, 2] = np.eye(2)[None].repeat(n, 0)[:, :, 0]  # a constant of alternative 1
    chosen = (X @ np.array([1.0, -0.5, 0.3]) + rng.gumbel(size=(n, J))).argmax(axis=1)
    w = rng.uniform(0.2, 3.0, n)
    w[[5, 50, 150]] = 0.0
    return X, chosen, w


def _stata_pweight_covariance(X, chosen, w, beta, groups=None):
    r"""The sandwich of a weighted logit written out from the formulas.

    Normalised weights :math:`\tilde w_i = w_i N_+ / \sum_k w_k` (N_+ positive weights),
    scores :math:`s_i = X_i'(y_i - p_i)`, Hessian :math:`H = -\sum_i \tilde w_i X_i'
    (\operatorname{diag} p_i - p_i p_i') X_i`, meat :math:`\sum_i \tilde w_i^2 s_i s_i'`
    (or over clusters :math:`\tfrac{G}{G-1}\sum_g S_g S_g'`, :math:`S_g = \sum_{i \in g}
    \tilde w_i s_i`). Stata reports this times :math:`N_+/(N_+ - 1)`.
    """
    n_pos = np.count_nonzero(w)
    wt = w * n_pos / w.sum()
    v = X @ beta
    p = np.exp(v - v.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.eye(X.shape[1])[chosen]
    s = np.einsum("njk,nj->nk", X, y - p)
    H = np.zeros((X.shape[2],) * 2)
    for i in range(X.shape[0]):
        H -= wt[i] * X[i].T @ (np.diag(p[i]) - np.outer(p[i], p[i])) @ X[i]
    if groups is None:
        meat = (wt[:, None] * s).T @ (wt[:, None] * s)
    else:
        labels = np.unique(groups)
        S = np.array([(wt[groups == g, None] * s[groups == g]).sum(axis=0) for g in labels])
        meat = len(labels) / (len(labels) - 1) * S.T @ S
    Hinv = np.linalg.inv(H)
    return Hinv @ meat @ Hinv, wt, s, n_pos


def test_sampling_weights_give_the_pweight_sandwich(survey):
    X, chosen, w = survey
    r = cm.Logit.from_arrays(X, chosen, weights=w, weight_type="sampling").fit(tol=1e-12)
    assert r.cov_type == "robust"  # the default with sampling weights
    V, wt, s, n_pos = _stata_pweight_covariance(X, chosen, w, r.params.to_numpy())
    # the estimate solves the weighted score equations
    np.testing.assert_allclose((wt[:, None] * s).sum(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(r.cov_params().to_numpy(), V, rtol=1e-9)
    # Stata's pweight covariance carries the factor N/(N-1); the package's does not
    stata = V * n_pos / (n_pos - 1)
    np.testing.assert_allclose(r.cov_params().to_numpy() * n_pos / (n_pos - 1), stata, rtol=1e-9)
    assert r.nobs == n_pos == 297 and r.df_resid == 297 - 3
    # the log-likelihoods are sums over the normalised weights
    ll_shares = -np.log(3) * wt.sum()
    assert r.ll_equal_shares == pytest.approx(ll_shares, rel=1e-12)
    assert wt.sum() == pytest.approx(297, rel=1e-14)
    assert r.spec["weight_type"] == "sampling"


def test_sampling_weights_with_clusters(survey):
    X, chosen, w = survey
    groups = np.arange(len(chosen)) // 3
    r = cm.Logit.from_arrays(X, chosen, weights=w, weight_type="sampling").fit(
        cov_type="cluster", groups=groups, tol=1e-12)
    V, *_ = _stata_pweight_covariance(X, chosen, w, r.params.to_numpy(), groups)
    np.testing.assert_allclose(r.cov_params().to_numpy(), V, rtol=1e-9)


@pytest.mark.parametrize("cov_type", ["nonrobust", "opg"])
def test_sampling_weights_refuse_the_information_covariances(survey, cov_type):
    X, chosen, w = survey
    m = cm.Logit.from_arrays(X, chosen, weights=w, weight_type="sampling")
    with pytest.raises(cm.SpecificationError, match=rf"cov_type='{cov_type}' is not valid with sampling weights"):
        m.fit(cov_type=cov_type)


def test_sampling_weight_scale_does_not_matter(survey):
    X, chosen, w = survey
    fits = [cm.Logit.from_arrays(X, chosen, weights=c * w, weight_type="sampling").fit()
            for c in (1.0, 7.3, 1e-4)]
    for other in fits[1:]:
        _assert_same_results(other, fits[0], rtol=1e-10, bse_rtol=1e-10)


def test_unit_sampling_weights_give_the_unweighted_robust_fit(survey):
    """No small-sample factor: the robust errors of the unweighted fit (statsmodels' HC0,
    checked in test_logit.py) are those of unit sampling weights."""
    X, chosen, _ = survey
    a = cm.Logit.from_arrays(X, chosen, weights=np.full(len(chosen), 2.5), weight_type="sampling").fit()
    b = cm.Logit.from_arrays(X, chosen).fit(cov_type="robust")
    _assert_same_results(a, b, rtol=1e-12, bse_rtol=1e-10)


def test_sampling_weighted_probit_is_robust_by_default(survey):
    X, chosen, w = survey
    r = cm.Probit.from_arrays(X, chosen, weights=w, weight_type="sampling", integration="quadrature").fit()
    assert r.cov_type == "robust" and r.nobs == 297
    # scale invariance holds for the probit too
    r2 = cm.Probit.from_arrays(X, chosen, weights=40 * w, weight_type="sampling",
                               integration="quadrature").fit()
    np.testing.assert_allclose(r2.params, r.params, rtol=1e-10)
    np.testing.assert_allclose(r2.bse, r.bse, rtol=1e-8)


# ---- the specification records the weight type ------------------------------------------
def test_weight_type_is_recorded_and_survives_save_and_load(weighted, survey, tmp_path):
    frame = weighted[0]
    X, chosen, w = survey
    results = {
        None: cm.Logit(FORMULA, data=frame, **ROLES).fit(),
        "frequency": cm.Logit(FORMULA, data=frame, **ROLES, weights="w").fit(),
        "sampling": cm.Logit.from_arrays(X, chosen, weights=w, weight_type="sampling").fit(),
    }
    for kind, r in results.items():
        assert r.spec["weight_type"] == kind
        r.save(tmp_path / "r.json")
        loaded = cm.load_results(tmp_path / "r.json")
        assert loaded.spec["weight_type"] == kind
        assert loaded.nobs == r.nobs and loaded.cov_type == r.cov_type


def test_refit_without_an_alternative_keeps_the_weights(weighted):
    frame, _, _, _, w = weighted
    r = cm.Logit(FORMULA, data=frame, **ROLES, weights="w").fit()
    sub = r.refit_without(["air"])
    assert sub.spec["weight_type"] == "frequency"
    kept = frame[frame["choice"].eq(1) & frame["mode"].ne("air")]["individual"]
    assert sub.nobs == w[kept].sum()


def test_hausman_mcfadden_refuses_sampling_weights(travel):
    data = travel.assign(w=travel.groupby("individual")["hinc"].transform("first") / 30 + 0.5)
    r = cm.Logit("choice ~ gc + ttme | hinc", data, obs="individual", alt="mode", ref="car",
                 weights="w", weight_type="sampling").fit()
    with pytest.raises(cm.SpecificationError, match="Hausman-McFadden test needs the efficient"):
        cm.hausman_mcfadden(r, omit=["air"])
