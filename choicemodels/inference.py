"""Covariance estimators and specification tests (Wald, LR, Vuong, Hausman-McFadden)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.rendering import Summary, Table

if TYPE_CHECKING:
    from choicemodels.results import ChoiceResults

__all__ = ["TestResult", "covariance", "lr_test", "vuong_test", "hausman_mcfadden"]

CovType = Literal["nonrobust", "robust", "cluster"]


def covariance(
    hessian: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    cov_type: CovType = "nonrobust",
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    r"""Covariance of the maximum-likelihood estimator.

    .. math::
        V_{\text{nonrobust}} = (-H)^{-1}, \qquad
        V_{\text{robust}} = H^{-1} \Big(\sum_i s_i s_i'\Big) H^{-1}, \qquad
        V_{\text{cluster}} = \tfrac{G}{G-1} H^{-1} \Big(\sum_g S_g S_g'\Big) H^{-1}

    with :math:`s_i` the (weighted) score of situation *i* and :math:`S_g` the sum of the
    scores in cluster *g*.

    Parameters
    ----------
    hessian : (K, K) Hessian of the log-likelihood at the estimate.
    scores : (N, K) per-situation scores (weighted); needed for robust and cluster.
    groups : (N,) cluster labels for ``cov_type="cluster"``.

    Returns
    -------
    cov : (K, K); all NaN when the Hessian is not negative definite.
    note : empty string, or the reason the covariance is not available.
    """
    k = hessian.shape[0]
    neg = -np.asarray(hessian, dtype=float)
    if not np.all(np.isfinite(neg)):
        return np.full((k, k), np.nan), "the Hessian has non-finite entries"
    # scale-free checks: work on D^{-1/2}(-H)D^{-1/2}, D = diag(-H), so that rescaling a
    # variable (x 1e6) does not make the Hessian look singular
    diag = np.diag(neg)
    if np.any(diag <= 0):
        return np.full((k, k), np.nan), "the Hessian is not negative definite"
    root = np.sqrt(diag)
    scaled = neg / np.outer(root, root)
    try:
        chol = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan), "the Hessian is not negative definite"
    eig = np.linalg.eigvalsh(scaled)
    if eig[0] <= eig[-1] * 1e-13:
        return np.full((k, k), np.nan), "the Hessian is numerically singular"
    inv_chol = np.linalg.inv(chol)
    bread = (inv_chol.T @ inv_chol) / np.outer(root, root)  # (-H)^{-1}
    if cov_type == "nonrobust":
        return bread, ""
    if cov_type == "robust":
        meat = scores.T @ scores
    else:
        _, codes = np.unique(groups, return_inverse=True)
        n_groups = codes.max() + 1
        sums = np.zeros((n_groups, k))
        np.add.at(sums, codes, scores)
        meat = n_groups / (n_groups - 1) * (sums.T @ sums)
    cov = bread @ meat @ bread
    return (cov + cov.T) / 2, ""


def check_cov_options(cov_type: str, groups, n_obs: int) -> np.ndarray | None:
    """Validate ``cov_type`` and ``groups`` at the ``fit`` boundary; return groups as an array."""
    if cov_type not in ("nonrobust", "robust", "cluster"):
        raise SpecificationError(
            f"cov_type must be 'nonrobust', 'robust' or 'cluster', got {cov_type!r}."
        )
    if cov_type != "cluster":
        if groups is not None:
            raise SpecificationError("groups= is only used with cov_type='cluster'.")
        return None
    if groups is None:
        raise SpecificationError(
            "cov_type='cluster' needs groups=: one cluster label per choice situation."
        )
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_obs:
        raise ChoiceDataError(
            f"groups must hold one label per choice situation: expected length {n_obs} (N), "
            f"got shape {groups.shape}."
        )
    if len(np.unique(groups)) < 2:
        raise ChoiceDataError("groups must contain at least two distinct clusters.")
    return groups


@dataclass(frozen=True)
class TestResult:
    """Result of a specification test: ``statistic``, ``df``, ``p_value``."""

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    df: float
    p_value: float
    note: str = ""

    def summary(self) -> Summary:
        """The test as a one-row table (text, HTML, LaTeX, CSV, Markdown)."""
        frame = pd.DataFrame({"statistic": [self.statistic], "df": [self.df], "p-value": [self.p_value]},
                             index=[self.name])
        kinds = {"statistic": "stat", "df": "count", "p-value": "stat"}
        return Summary("Specification test", tables=(Table("", frame, kinds, na_rep="nan"),),
                       notes=(self.note,) if self.note else ())

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def lr_test(restricted: ChoiceResults, unrestricted: ChoiceResults) -> TestResult:
    r"""Likelihood-ratio test of nested models: :math:`2(\ell_u - \ell_r) \sim \chi^2_{k_u - k_r}`."""
    df = unrestricted.k_params - restricted.k_params
    if df <= 0:
        raise SpecificationError(
            f"the unrestricted model must have more parameters than the restricted one "
            f"(got {unrestricted.k_params} and {restricted.k_params}); swap the arguments?"
        )
    if unrestricted.nobs != restricted.nobs:
        raise SpecificationError(
            f"the models were fitted on different numbers of situations "
            f"({restricted.nobs} and {unrestricted.nobs}); an LR test needs the same data."
        )
    stat = 2.0 * (unrestricted.llf - restricted.llf)
    note = "" if stat >= 0 else "negative statistic: the restricted fit has the higher likelihood"
    return TestResult("Likelihood-ratio test", stat, df, float(stats.chi2.sf(max(stat, 0.0), df)), note)


def vuong_test(results_a: ChoiceResults, results_b: ChoiceResults) -> TestResult:
    r"""Vuong's test of non-nested models fitted on the same situations.

    .. math::
        z = \frac{\sum_i m_i - \tfrac{k_a - k_b}{2}\log N}{\sqrt{N}\,\operatorname{sd}(m)},
        \qquad m_i = \ell_{a,i} - \ell_{b,i}

    (the second term is Schwarz's correction). Positive z favours model a; the p-value is
    two-sided. The uncorrected statistic is given in the note.
    """
    la = results_a.loglike_obs()
    lb = results_b.loglike_obs()
    if la.shape != lb.shape:
        raise SpecificationError(
            f"the models were fitted on different situations ({la.size} and {lb.size}); "
            "Vuong's test needs the same data."
        )
    m = la - lb
    n = m.size
    sd = m.std(ddof=1)
    if not sd > 0:
        raise SpecificationError("the two models give identical per-situation log-likelihoods.")
    raw = m.sum() / (np.sqrt(n) * sd)
    corr = (m.sum() - (results_a.k_params - results_b.k_params) / 2 * np.log(n)) / (np.sqrt(n) * sd)
    p = 2 * stats.norm.sf(abs(corr))
    favoured = "first" if corr > 0 else "second"
    note = f"uncorrected z = {raw:.4f}; the sign favours the {favoured} model"
    return TestResult("Vuong test (Schwarz-corrected)", float(corr), 1, float(p), note)


def hausman_mcfadden(
    full: ChoiceResults,
    restricted: ChoiceResults | None = None,
    *,
    omit: list | tuple | None = None,
) -> TestResult:
    r"""Hausman-McFadden test of independence of irrelevant alternatives.

    Compares the coefficients of the full model with those of the same model fitted on a
    subset of alternatives (``restricted``, or refitted here without the alternatives in
    ``omit``):

    .. math::
        H = (\hat b_r - \hat b_f)'(\hat V_r - \hat V_f)^{-1}(\hat b_r - \hat b_f) \sim \chi^2_q

    over the q coefficients both models estimate. Under IIA both are consistent and the
    full model efficient.
    """
    if (restricted is None) == (omit is None):
        raise SpecificationError("give either restricted= (a fitted subset model) or omit= (alternatives to drop).")
    if restricted is None:
        restricted = full.refit_without(list(omit))
    common = [n for n in restricted.param_names if n in full.param_names]
    if not common:
        raise SpecificationError("the two models share no coefficients.")
    d = restricted.params[common].to_numpy() - full.params[common].to_numpy()
    v = restricted.cov_params().loc[common, common].to_numpy() - full.cov_params().loc[common, common].to_numpy()
    vals, vecs = np.linalg.eigh((v + v.T) / 2)
    keep = vals > vals.max() * 1e-10 if vals.max() > 0 else np.zeros_like(vals, bool)
    q = int(keep.sum())
    if q == 0:
        return TestResult("Hausman-McFadden IIA test", 0.0, 0, 1.0, "the covariance difference is not positive: the test is not informative")
    proj = vecs[:, keep].T @ d
    stat = float(np.sum(proj**2 / vals[keep]))
    note = "" if q == len(common) else f"generalised inverse: rank {q} of {len(common)}"
    return TestResult("Hausman-McFadden IIA test", stat, q, float(stats.chi2.sf(stat, q)), note)
