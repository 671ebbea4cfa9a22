"""Covariance estimators and specification tests (Wald and z tests of linear restrictions,
LR, Vuong, Hausman-McFadden)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.rendering import PrintsAsSummary, Summary, Table

# The tests on fitted models take ChoiceResults (annotated by name only: results.py is the
# next layer up and imports this module).

__all__ = [
    "TestResult",
    "covariance",
    "lr_test",
    "vuong_test",
    "hausman_mcfadden",
    "linear_restrictions",
    "wald_test",
    "t_test",
]

CovType = Literal["nonrobust", "robust", "cluster", "opg"]
COV_TYPES: tuple[str, ...] = ("nonrobust", "robust", "cluster", "opg")


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
        V_{\text{cluster}} = \tfrac{G}{G-1} H^{-1} \Big(\sum_g S_g S_g'\Big) H^{-1}, \qquad
        V_{\text{opg}} = \Big(\sum_i s_i s_i'\Big)^{-1}

    with :math:`H` the Hessian of the (weighted) log-likelihood, :math:`s_i` the score
    row of situation *i* and :math:`S_g` the sum of the rows in cluster *g*. With weights
    :math:`w_i` the rows are (the models build them):

    * frequency weights: :math:`\sqrt{w_i}\,\partial\ell_i/\partial\beta` for
      ``"robust"`` and ``"opg"`` (the meat :math:`\sum_i w_i s_i s_i'` of the data with situation *i*
      repeated :math:`w_i` times) and :math:`w_i\,\partial\ell_i/\partial\beta` for
      ``"cluster"`` (a situation's copies share its cluster);
    * sampling weights, normalised to sum to the number of situations:
      :math:`w_i\,\partial\ell_i/\partial\beta`, the linearisation (pseudo-likelihood)
      variance of Stata's ``pweight`` and Biogeme. Stata multiplies the robust covariance by
      :math:`N/(N-1)`; like statsmodels' HC0 and Biogeme, this package does not (with or
      without weights), so that unit sampling weights give the unweighted robust errors.

    Parameters
    ----------
    hessian : (K, K) Hessian of the log-likelihood at the estimate.
    scores : (N, K) score rows as above; needed for robust, cluster and opg.
    groups : (N,) cluster labels for ``cov_type="cluster"``.

    Returns
    -------
    cov : (K, K); all NaN when the Hessian is not negative definite.
    note : empty string, or the reason the covariance is not available.
    """
    k = hessian.shape[0]
    bread, note = _inverse_information(-np.asarray(hessian, dtype=float), "the Hessian")
    if note or cov_type == "nonrobust":
        return bread, note
    if cov_type == "opg":
        return _inverse_information(scores.T @ scores, "the outer product of the scores")
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


def _inverse_information(info: np.ndarray, what: str) -> tuple[np.ndarray, str]:
    """Inverse of a symmetric positive-definite information matrix, or NaN and the reason.

    The checks work on :math:`D^{-1/2} I D^{-1/2}`, :math:`D = \\operatorname{diag}(I)`, so
    that rescaling a variable (x 1e6) does not make the matrix look singular.
    """
    k = info.shape[0]
    nan = np.full((k, k), np.nan)
    negative = "is not negative definite" if what == "the Hessian" else "is not positive definite"
    if not np.all(np.isfinite(info)):
        return nan, f"{what} has non-finite entries"
    diag = np.diag(info)
    if np.any(diag <= 0):
        return nan, f"{what} {negative}"
    root = np.sqrt(diag)
    scaled = info / np.outer(root, root)
    try:
        chol = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        return nan, f"{what} {negative}"
    eig = np.linalg.eigvalsh(scaled)
    if eig[0] <= eig[-1] * 1e-13:
        return nan, f"{what} is numerically singular"
    inv_chol = np.linalg.inv(chol)
    return (inv_chol.T @ inv_chol) / np.outer(root, root), ""


def check_cov_options(
    cov_type: str | None, groups, n_obs: int, weight_type: str | None = None
) -> tuple[CovType, np.ndarray | None]:
    """Validate ``cov_type`` and ``groups`` at the ``fit`` boundary.

    ``cov_type=None`` is ``"robust"`` with sampling weights and ``"nonrobust"`` otherwise.
    Sampling weights make the inverse information inconsistent for the variance of the
    estimator (the weighted likelihood is not a likelihood), so ``"nonrobust"`` is refused
    with them, as in Stata and Biogeme; ``"robust"`` and ``"cluster"`` remain.

    Returns
    -------
    cov_type : the covariance type to compute.
    groups : the cluster labels as an array (``None`` unless ``"cluster"``).
    """
    if cov_type is None:
        cov_type = "robust" if weight_type == "sampling" else "nonrobust"
    if cov_type not in COV_TYPES:
        raise SpecificationError(
            f"cov_type must be one of {', '.join(map(repr, COV_TYPES))}; got {cov_type!r}."
        )
    if cov_type in ("nonrobust", "opg") and weight_type == "sampling":
        raise SpecificationError(
            f"cov_type={cov_type!r} is not valid with sampling weights: the inverse of the "
            "weighted information does not estimate the variance of the estimator. Use "
            "cov_type='robust' (the default with sampling weights) or 'cluster'."
        )
    if cov_type != "cluster":
        if groups is not None:
            raise SpecificationError("groups= is only used with cov_type='cluster'.")
        return cov_type, None
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
    return cov_type, groups


@dataclass(frozen=True, repr=False)
class TestResult(PrintsAsSummary):
    """Result of a specification test: ``statistic``, ``df``, ``p_value``.

    Returned by :func:`lr_test`, :func:`vuong_test`, :func:`hausman_mcfadden` and
    :meth:`~choicemodels.ChoiceResults.wald_test`; the parameters are also the attributes of the same names. Prints as
    a one-row table (:meth:`summary`; HTML in notebooks).

    Parameters
    ----------
    name : str
        Name of the test, printed as the title.
    statistic : float
        The test statistic.
    df : float
        Degrees of freedom of its chi-square reference distribution (1 for Vuong's normal
        z statistic).
    p_value : float
        The p-value.
    note : str, default ""
        A remark printed below the numbers (e.g. a generalised inverse was used).

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> t = cm.lr_test(cm.Logit("choice ~ gc + ttme", **kw).fit(),
    ...                cm.Logit("choice ~ gc + ttme | hinc", **kw).fit())
    >>> t.df, round(t.statistic, 3)
    (3, 20.903)
    """

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    df: float
    p_value: float
    note: str = ""

    def summary(self) -> Summary:
        """The test as a one-row table, the note below it.

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary` (text, HTML, LaTeX, CSV, Markdown)
            titled "Specification test"; its ``table`` has one row, named by the test,
            with the columns ``statistic``, ``df`` and ``p-value``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> t = cm.TestResult("Wald test", 3.84, 1, 0.05)
        >>> t.summary().table
                   statistic  df  p-value
        Wald test       3.84   1     0.05
        >>> print(t.summary().as_markdown())
        ### Specification test
        <BLANKLINE>
        |  | statistic | df | p-value |
        |---|---:|---:|---:|
        | Wald test | 3.840 | 1 | 0.050 |
        <BLANKLINE>
        """
        frame = pd.DataFrame({"statistic": [self.statistic], "df": [self.df], "p-value": [self.p_value]},
                             index=[self.name])
        kinds = {"statistic": "stat", "df": "count", "p-value": "stat"}
        return Summary("Specification test", tables=(Table("", frame, kinds, na_rep="nan"),),
                       notes=(self.note,) if self.note else ())


def lr_test(restricted: ChoiceResults, unrestricted: ChoiceResults) -> TestResult:
    r"""Likelihood-ratio test of nested models: :math:`2(\ell_u - \ell_r) \sim \chi^2_{k_u - k_r}`.

    Valid when the restricted model is the unrestricted one with some parameters fixed
    (for example a logit without some variables), both fitted on the same situations.

    Parameters
    ----------
    restricted : ChoiceResults
        Fit of the smaller model, with :math:`k_r` parameters.
    unrestricted : ChoiceResults
        Fit of the larger model, with :math:`k_u > k_r` parameters, on the same data.

    Returns
    -------
    TestResult
        Statistic :math:`2(\ell_u - \ell_r)`, df :math:`k_u - k_r`, and the chi-square
        p-value; a negative statistic (the restricted fit is better, so a fit did not
        converge) is noted.

    Raises
    ------
    SpecificationError
        If ``unrestricted`` does not have more parameters, or the models were fitted on
        different situations (different numbers, different situation ids, or, for results
        read from files, different :meth:`~choicemodels.ChoiceResults.situation_fingerprint`).

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> print(cm.lr_test(cm.Logit("choice ~ gc + ttme", **kw).fit(),
    ...                  cm.Logit("choice ~ gc + ttme | hinc", **kw).fit()))  # doctest: +NORMALIZE_WHITESPACE
                                  Specification test
    ==============================================================================
                                                   statistic         df    p-value
    ------------------------------------------------------------------------------
    Likelihood-ratio test                             20.903          3    0.00011
    ==============================================================================
    """
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
    situation_order(restricted, unrestricted, "a likelihood-ratio test")
    stat = 2.0 * (unrestricted.llf - restricted.llf)
    note = "" if stat >= 0 else "negative statistic: the restricted fit has the higher likelihood"
    return TestResult("Likelihood-ratio test", stat, df, float(stats.chi2.sf(max(stat, 0.0), df)), note)


def vuong_test(results_a: ChoiceResults, results_b: ChoiceResults) -> TestResult:
    r"""Vuong's test of non-nested models fitted on the same situations.

    .. math::
        z = \frac{\sum_i m_i - \tfrac{k_a - k_b}{2}\log N}{\sqrt{N}\,\operatorname{sd}(m)},
        \qquad m_i = \ell_{a,i} - \ell_{b,i}

    (the second term is Schwarz's correction). Positive z favours model a; the p-value is
    two-sided. The uncorrected statistic is given in the note. The per-situation
    log-likelihoods are paired by situation id (``paired_loglike_differences``), so the
    order of the rows in either fit's data does not matter.

    Parameters
    ----------
    results_a : ChoiceResults
        Fit of the first model (e.g. a logit), with :math:`k_a` parameters.
    results_b : ChoiceResults
        Fit of the second model (e.g. a probit) on the same N situations, with
        :math:`k_b` parameters.

    Returns
    -------
    TestResult
        The corrected z as ``statistic`` (``df`` 1), its two-sided normal p-value, and the
        uncorrected z in ``note``.

    Raises
    ------
    SpecificationError
        If the models were fitted on different situations (the message counts those of
        each fit the other lacks and names some), or have identical per-situation
        log-likelihoods.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> print(cm.vuong_test(cm.Logit("choice ~ gc + ttme | hinc", **kw).fit(),
    ...                     cm.Probit("choice ~ gc + ttme | hinc", **kw).fit()))  # doctest: +NORMALIZE_WHITESPACE
                                  Specification test
    ==============================================================================
                                                   statistic         df    p-value
    ------------------------------------------------------------------------------
    Vuong test (Schwarz-corrected)                     3.792          1    0.00015
    ==============================================================================
    Notes:
    [1] uncorrected z = 3.7918; the sign favours the first model
    """
    m = paired_loglike_differences(results_a, results_b)
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


def _examples(ids: np.ndarray, k: int = 5) -> str:
    shown = ", ".join(repr(i.item() if isinstance(i, np.generic) else i) for i in ids[:k])
    return shown + (", ..." if len(ids) > k else "")


def situation_order(
    first: ChoiceResults, second: ChoiceResults, test: str, *, subset: bool = False
) -> np.ndarray | None:
    """Where each situation of ``first`` is in ``second``: positions ``pos`` (N_first,)
    with ``second``'s situation ``pos[i]`` the same id as ``first``'s situation ``i``.

    ``None`` when either fit does not know its situation ids (results read from a file,
    data on Dask workers); the fits' situation fingerprints must then be equal where both
    are known (``subset=False``). With ``subset=False`` the two fits must have the same
    situations, with ``subset=True`` those of ``first`` must be among those of ``second``.

    Raises
    ------
    SpecificationError
        Naming how many situations of each fit the other lacks, with examples.
    """
    ids_a, ids_b = first._situation_ids(), second._situation_ids()
    if ids_a is None or ids_b is None:
        prints = first.situation_fingerprint(), second.situation_fingerprint()
        if not subset and all(prints) and prints[0] != prints[1]:
            raise SpecificationError(
                "the two fits have different situations (the fingerprints of their situation "
                f"ids differ: {prints[0]} and {prints[1]}); {test} compares the fits on the "
                "same situations. Fit both models on the same data."
            )
        return None
    pos = pd.Index(ids_b).get_indexer(ids_a)
    only_a = ids_a[pos < 0]
    only_b = np.asarray([]) if subset else ids_b[pd.Index(ids_a).get_indexer(ids_b) < 0]
    if only_a.size or only_b.size:
        if subset:
            detail = (f"{only_a.size} of the {ids_a.size} situations of the restricted fit are "
                      f"not in the full fit (e.g. {_examples(only_a)})")
            need = "needs the restricted fit on a subset of the full fit's situations"
        else:
            parts = [f"{ids.size} only in the {which} fit (e.g. {_examples(ids)})" if ids.size
                     else f"0 only in the {which} fit"
                     for ids, which in ((only_a, "first"), (only_b, "second"))]
            detail = f"the two fits have different situations: {parts[0]} and {parts[1]}"
            need = "compares the fits on the same situations"
        raise SpecificationError(f"{detail}; {test} {need}. Fit both models on the same data.")
    return pos


def paired_loglike_differences(results_a: ChoiceResults, results_b: ChoiceResults) -> np.ndarray:
    r"""(N,) differences :math:`m_i = \ell_{a,i} - \ell_{b,i}` of the per-situation
    log-likelihoods of two fits, paired by situation id, in the order of ``results_a``.

    Raises
    ------
    SpecificationError
        If the two fits were made on different situations.
    """
    la, lb = results_a.loglike_obs(), results_b.loglike_obs()
    pos = situation_order(results_a, results_b, "Vuong's test")
    if pos is None:
        if la.shape != lb.shape:
            raise SpecificationError(
                f"the models were fitted on different situations ({la.size} and {lb.size}); "
                "Vuong's test needs the same data."
            )
        return la - lb
    return la - lb[pos]


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
    full model efficient. When :math:`\hat V_r - \hat V_f` is not positive definite a
    generalised inverse over its positive eigenvalues is used and q is its rank (noted).

    Parameters
    ----------
    full : ChoiceResults
        Fit on all alternatives.
    restricted : ChoiceResults, optional
        Fit of the same model without some alternatives (and without the situations that
        chose them); give either this or ``omit``.
    omit : list or tuple, optional
        Alternatives to drop; the restricted model is refitted here
        (:meth:`ChoiceResults.refit_without <choicemodels.ChoiceResults.refit_without>`).

    Returns
    -------
    TestResult
        Statistic H, df q and the chi-square p-value; a small p-value rejects IIA.

    Raises
    ------
    SpecificationError
        If both or neither of ``restricted`` and ``omit`` are given, the models share no
        coefficient, or ``restricted`` was fitted on situations that ``full`` does not have
        (its situations must be a subset of the full fit's).

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> full = cm.Logit("choice ~ gc + ttme | hinc", **kw).fit()
    >>> print(cm.hausman_mcfadden(full, omit=["air"]))  # doctest: +NORMALIZE_WHITESPACE
                                  Specification test
    ==============================================================================
                                                   statistic         df    p-value
    ------------------------------------------------------------------------------
    Hausman-McFadden IIA test                         34.416          6   5.59e-06
    ==============================================================================
    """
    if (restricted is None) == (omit is None):
        raise SpecificationError("give either restricted= (a fitted subset model) or omit= (alternatives to drop).")
    if full.spec.get("weight_type") == "sampling":
        raise SpecificationError(
            "the Hausman-McFadden test needs the efficient (unweighted or frequency-weighted) fit: "
            "with sampling weights the difference of the covariances does not estimate the "
            "variance of the difference. Compare the models by a Wald test instead."
        )
    if restricted is None:
        restricted = full.refit_without(list(omit))
    else:
        situation_order(restricted, full, "the Hausman-McFadden test", subset=True)
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


# ---- linear restrictions: Wald and z tests -------------------------------------------------
_NAME_CHAR = r"[\w.:]"  # characters that may continue a coefficient name
_TOKENS = re.compile(
    r"(?P<param>_b\d+_)|(?P<number>\d*\.?\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<other>\(?[A-Za-z][^-+*/=,\s]*)|(?P<op>[-+*/=,()\s])"
)


def linear_restrictions(
    restrictions: str | Sequence[str] | np.ndarray,
    param_names: Sequence[str],
    q: float | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    r"""Linear restrictions :math:`R b = q` from text or from a matrix.

    Parameters
    ----------
    restrictions : text such as ``"gc = ttme, hinc:air = 0"`` (restrictions separated by
        commas, or a list of such strings), parsed by patsy's
        :meth:`~patsy.DesignInfo.linear_constraint` (``+ - * /``, numbers, parentheses; a
        side without ``=`` equals 0); or the matrix R, shape (r, P) or (P,).
    param_names : the P coefficient names.
    q : (r,) right-hand sides for a matrix R (default 0); with text, write them in it.

    Returns
    -------
    R : (r, P), q : (r,), labels : one readable restriction per row.
    """
    names = list(param_names)
    if isinstance(restrictions, str) or (
        isinstance(restrictions, (list, tuple)) and restrictions
        and all(isinstance(t, str) for t in restrictions)
    ):
        if q is not None:
            raise SpecificationError(
                "q= goes with a matrix R; with restrictions as text write the constants in "
                "it, e.g. 'gc = -0.02'."
            )
        text = restrictions if isinstance(restrictions, str) else ", ".join(restrictions)
        R, q = _parse_restrictions(text, names)
    else:
        try:
            R = np.atleast_2d(np.asarray(restrictions, dtype=float))
        except (TypeError, ValueError):
            raise SpecificationError(
                "restrictions must be text such as 'gc = ttme' or a numeric matrix R of shape "
                f"(r, {len(names)}); got {type(restrictions).__name__}."
            ) from None
        if R.ndim != 2 or R.shape[1] != len(names) or R.shape[0] == 0:
            raise SpecificationError(
                f"R must have shape (r, P) = (r, {len(names)}), one column per coefficient "
                f"{names}; got shape {np.shape(restrictions)}."
            )
        q = np.zeros(R.shape[0]) if q is None else np.asarray(q, dtype=float)
        if q.ndim == 0:
            q = np.full(R.shape[0], float(q))
        if q.shape != (R.shape[0],):
            raise SpecificationError(f"q must have shape (r,) = ({R.shape[0]},) to match R; got {q.shape}.")
        if not (np.all(np.isfinite(R)) and np.all(np.isfinite(q))):
            raise SpecificationError("R and q must be finite.")
    if not np.any(R, axis=1).all():
        raise SpecificationError(
            f"restriction {int(np.flatnonzero(~np.any(R, axis=1))[0]) + 1} involves no coefficient."
        )
    if np.linalg.matrix_rank(R) < R.shape[0]:
        raise SpecificationError(
            f"the {R.shape[0]} restrictions are linearly dependent (rank {np.linalg.matrix_rank(R)}); "
            "drop the redundant ones."
        )
    return R, q, [_render(row, c, names) for row, c in zip(R, q)]


def _parse_restrictions(text: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Text to (R, q) with patsy, the coefficient names first replaced by plain tokens
    (patsy reads a leading parenthesis, as in ``(Intercept):air``, as grouping)."""
    import patsy

    order = sorted(range(len(names)), key=lambda k: -len(names[k]))
    pattern = re.compile("|".join(
        f"(?<!{_NAME_CHAR}){re.escape(names[k])}(?!{_NAME_CHAR})" for k in order))
    index = {names[k]: k for k in order}
    coded = pattern.sub(lambda m: f"_b{index[m.group(0)]}_", text) if names else text
    unknown = [_strip_parens(m.group("other")) for m in _TOKENS.finditer(coded) if m.group("other")]
    if unknown:
        raise SpecificationError(
            f"restriction {text!r} names unknown coefficients {unknown}; the coefficients are {names}."
        )
    try:
        constraint = patsy.DesignInfo([f"_b{k}_" for k in range(len(names))]).linear_constraint(coded)
    except patsy.PatsyError as err:
        reason = str(err).splitlines()[0]
        raise SpecificationError(f"cannot read the restriction {text!r}: {reason}.") from None
    return np.asarray(constraint.coefs, float), np.asarray(constraint.constants, float).ravel()


def _strip_parens(token: str) -> str:
    if token.startswith("(") and ")" not in token:
        token = token[1:]
    if token.endswith(")") and "(" not in token:
        token = token[:-1]
    return token


def _render(row: np.ndarray, constant: float, names: list[str]) -> str:
    """A restriction as text: ``gc - ttme = 0``, ``2*hinc:air + gc = 1``."""
    terms = []
    for c, name in zip(row, names):
        if c == 0:
            continue
        size = "" if abs(c) == 1 else f"{abs(c):.10g}*"
        sign = "-" if c < 0 else "+"
        terms.append(f"{sign} {size}{name}" if terms else f"{'-' if c < 0 else ''}{size}{name}")
    return f"{' '.join(terms)} = {constant:.10g}"


def _restricted(results: ChoiceResults, restrictions, q) -> tuple:
    """(R b - q, R V R', labels) for the results' estimate and covariance."""
    R, q, labels = linear_restrictions(restrictions, results.param_names, q)
    if not np.all(np.isfinite(results.covariance)):
        raise SpecificationError(
            f"the covariance of the estimates is not available ({results.cov_note or 'NaN entries'}); "
            "no Wald or z test can be computed."
        )
    return R @ results.estimates - q, R @ results.covariance @ R.T, labels


def wald_test(
    results: ChoiceResults,
    restrictions: str | Sequence[str] | np.ndarray,
    q: float | np.ndarray | None = None,
) -> TestResult:
    r"""Wald test of the linear restrictions :math:`R b = q` (chi-square form).

    .. math::
        W = (R\hat b - q)' (R \hat V R')^{-1} (R\hat b - q) \sim \chi^2_r

    under the null, with :math:`\hat V` the covariance of the results (its ``cov_type``).
    ``restrictions`` as in ``linear_restrictions``: ``"gc = ttme, hinc:air = 0"`` or a
    matrix R with optional ``q``. Equals statsmodels' ``wald_test(..., use_f=False)``.
    """
    d, V, labels = _restricted(results, restrictions, q)
    stat = float(d @ np.linalg.solve(V, d))
    return TestResult("Wald test", stat, len(d), float(stats.chi2.sf(stat, len(d))),
                      "H0: " + "; ".join(labels))


def t_test(
    results: ChoiceResults,
    restrictions: str | Sequence[str] | np.ndarray,
    q: float | np.ndarray | None = None,
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    r"""One z test per restriction of :math:`R b = q`.

    A DataFrame with one row per restriction (indexed by the restriction as text) and the
    columns ``estimate`` (:math:`r_k'\hat b - q_k`, the amount by which the estimate misses
    the restriction), ``std err`` (:math:`\sqrt{r_k'\hat V r_k}`), ``z``, ``P>|z|``
    (two-sided, normal) and the ``1 - alpha`` confidence bounds of the estimate. With
    :math:`q = 0` these are statsmodels' ``t_test(...).summary_frame()`` for a
    maximum-likelihood model; statsmodels' ``coef`` is :math:`r_k'\hat b` without the
    :math:`q_k`.
    """
    d, V, labels = _restricted(results, restrictions, q)
    se = np.sqrt(np.diag(V))
    z = d / se
    crit = stats.norm.isf(alpha / 2)
    return pd.DataFrame(
        {"estimate": d, "std err": se, "z": z, "P>|z|": 2 * stats.norm.sf(np.abs(z)),
         f"[{alpha / 2:g}": d - crit * se, f"{1 - alpha / 2:g}]": d + crit * se},
        index=pd.Index(labels, name="restriction"),
    )
