"""Results of a fitted choice model: estimates, inference, summary, save and load."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.design import DesignState
from choicemodels.exceptions import SpecificationError
from choicemodels.formula import check_formula
from choicemodels.inference import COV_TYPES
from choicemodels.rendering import PrintsAsSummary, Summary, Table, forg

__all__ = ["ChoiceResults", "ModelKind", "Summary", "RatioResult", "WtpDistribution", "load_results",
           "register_model_kind"]

_FORMAT_VERSION = 2  # 2: typed labels and non-finite floats as tagged objects
_READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class ModelKind:
    """What results need of a kind of model, registered by the models package at import.

    Attributes
    ----------
    name : the model's ``model_name`` (``spec["model"]``), e.g. ``"Logit"``.
    rebuild : ``rebuild(spec, data, fitted)``, the model of a stored specification on new
        data (for predictions; the choice column may be absent), with the design state (and
        formula functions) of ``fitted``, the fitted model, or for results read from a file
        (``fitted=None``) with ``spec["design_state"]``.
    error_covariance : ``error_covariance(spec, theta)``, the covariance of the error
        differences as a labelled frame, or ``None`` for models whose errors have a fixed
        covariance.
    mixing : the functions of results of a random-coefficients model, by name
        (``"random_covariance"``, ``"random_distribution"``, ``"individual_params"``),
        each ``fun(results, ...)``, or ``None``.
    summary_extras : ``summary_extras(results, alpha) -> (tables, notes)``, the model's
        own tables and notes added to :meth:`ChoiceResults.summary`, or ``None``.
    """

    name: str
    rebuild: Callable[[dict, pd.DataFrame, Any], Any]
    error_covariance: Callable[[dict, np.ndarray], pd.DataFrame] | None = None
    mixing: Mapping[str, Callable[..., pd.DataFrame]] | None = None
    summary_extras: Callable[[Any, float], tuple[tuple[Table, ...], tuple[str, ...]]] | None = None


_MODEL_KINDS: dict[str, ModelKind] = {}


def register_model_kind(
    name: str,
    rebuild: Callable[[dict, pd.DataFrame, Any], Any],
    error_covariance: Callable[[dict, np.ndarray], pd.DataFrame] | None = None,
    mixing: Mapping[str, Callable[..., pd.DataFrame]] | None = None,
    summary_extras: Callable[[Any, float], tuple[tuple[Table, ...], tuple[str, ...]]] | None = None,
) -> None:
    """Register what results of the model ``name`` need to predict and to report its errors.

    Called once per model class by the module that defines it, so that this module, which
    holds plain results, never imports a model.
    """
    _MODEL_KINDS[name] = ModelKind(name, rebuild, error_covariance, mixing, summary_extras)


def _model_kind(name: str) -> ModelKind:
    try:
        return _MODEL_KINDS[name]
    except KeyError:
        raise SpecificationError(
            f"no model of kind {name!r} is known; the known kinds are {sorted(_MODEL_KINDS)}."
        ) from None


@dataclass(frozen=True, repr=False)
class RatioResult(PrintsAsSummary):
    r"""A ratio of two coefficients, :math:`\hat b_n / \hat b_d`, with its delta-method error.

    Built by :meth:`~choicemodels.ChoiceResults.wtp`; the parameters are also the attributes of the same
    names. Prints as a one-row table (``print(r)``, or ``r`` at the console; HTML in
    notebooks).

    Parameters
    ----------
    numerator : str
        Name of the coefficient :math:`b_n`.
    denominator : str
        Name of the coefficient :math:`b_d`.
    estimate : float
        The ratio :math:`\hat b_n / \hat b_d`.
    se : float
        Its delta-method standard error :math:`\sqrt{g' V g}`,
        :math:`g = (1/b_d, -b_n/b_d^2)`.
    conf_int : tuple of (float, float)
        The Wald interval :math:`\text{estimate} \pm z_{1-\alpha/2}\,\text{se}`.
    alpha : float, default 0.05
        One minus the coverage of ``conf_int``.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
    >>> w = r.wtp("ttme", "gc")
    >>> w.numerator, w.denominator, round(w.estimate, 4)
    ('ttme', 'gc', 8.7359)
    >>> [round(float(b), 3) for b in w.conf_int]
    [1.249, 16.223]
    """

    numerator: str
    denominator: str
    estimate: float
    se: float
    conf_int: tuple[float, float]
    alpha: float = 0.05

    def summary(self) -> Summary:
        """The ratio as a one-row table with its z-test and interval.

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary` (text, HTML, LaTeX, CSV, Markdown);
            its ``table`` has the columns ``estimate``, ``std err``, ``z``, ``P>|z|`` and
            the interval bounds.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.wtp("ttme", "gc").summary().table[["estimate", "std err", "z"]].round(3)
                   estimate  std err      z
        ttme / gc     8.736     3.82  2.287
        """
        lo, hi = self.conf_int
        z = self.estimate / self.se if self.se > 0 else np.nan
        frame = pd.DataFrame(
            {"estimate": [self.estimate], "std err": [self.se], "z": [z],
             "P>|z|": [2 * stats.norm.sf(abs(z))], f"[{self.alpha / 2:g}": [lo],
             f"{1 - self.alpha / 2:g}]": [hi]},
            index=[f"{self.numerator} / {self.denominator}"],
        )
        return Summary(
            "Ratio of coefficients", tables=(Table("", frame, _estimate_kinds(frame), na_rep="nan"),),
            notes=("Delta-method standard error: sqrt(g' V g), g = (1/b_d, -b_n/b_d^2).",),
        )


@dataclass(frozen=True, repr=False)
class WtpDistribution(PrintsAsSummary):
    r"""The distribution over persons of a ratio of coefficients when one of them is random.

    Built by :meth:`~choicemodels.ChoiceResults.wtp` on mixed logit results (a ratio of two
    fixed coefficients is a :class:`~choicemodels.results.RatioResult`). With a random numerator
    :math:`\beta_n` and a fixed denominator :math:`b_d` the ratio
    :math:`\beta_n / b_d` is the numerator's distribution rescaled, in closed form (a
    normal numerator gives a normal ratio; a lognormal :math:`\pm e^{b + s z}` a lognormal
    ratio with mean :math:`\pm e^{b + s^2/2}/b_d`, median :math:`\pm e^{b}/b_d` and sd
    :math:`e^{b + s^2/2}\sqrt{e^{s^2} - 1}/|b_d|`). With a random denominator it is
    simulated from ``draws`` draws of the random coefficients at the estimates (their
    correlation included); the mean and sd of the ratio then exist only where the
    denominator keeps away from zero (a lognormal one, or a uniform or triangular one whose
    support excludes zero): never with a normal denominator, for which they are NaN and
    ``mean_exists`` is false. Standard errors are delta-method ones (at fixed draws when
    simulated). The parameters are also the attributes of the same names.

    Parameters
    ----------
    numerator : str
        Name of the numerator's coefficient.
    denominator : str
        Name of the denominator's coefficient.
    distribution : str
        The ratio's family (``"normal"``, ``"lognormal"``, ``"-lognormal"``, ``"uniform"``,
        ``"triangular"``) or ``"simulated"``.
    table : pandas.DataFrame
        Rows ``mean``, ``median``, ``sd`` and the quantiles ``q0.05``, ``q0.25``,
        ``q0.75``, ``q0.95``; columns ``estimate``, ``std err`` and the Wald interval.
    draws : int
        Simulation draws (0 for a closed form).
    mean_exists : bool
        Whether the ratio's mean (and sd) exist.
    notes : tuple of str
        How the numbers were computed.

    Examples
    --------
    >>> import numpy as np
    >>> import choicemodels as cm
    >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
    >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
    >>> r = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6, draws=50,
    ...                               random={"x0": "normal"}).fit()
    >>> w = r.wtp("x0", "x1")
    >>> w.distribution, w.draws, bool(np.isclose(w.mean, r.params["x0"] / r.params["x1"]))
    ('normal', 0, True)
    """

    numerator: str
    denominator: str
    distribution: str
    table: pd.DataFrame
    draws: int
    mean_exists: bool
    notes: tuple[str, ...] = ()

    @property
    def mean(self) -> float:
        """The ratio's mean over persons (NaN where it does not exist)."""
        return float(self.table.loc["mean", "estimate"])

    @property
    def median(self) -> float:
        """The ratio's median over persons."""
        return float(self.table.loc["median", "estimate"])

    @property
    def sd(self) -> float:
        """The ratio's standard deviation over persons (NaN where it does not exist)."""
        return float(self.table.loc["sd", "estimate"])

    def summary(self) -> Summary:
        """The distribution's statistics as a table with standard errors and intervals.

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary` whose ``table`` is :attr:`table`.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> r = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6, draws=50,
        ...                               random={"x0": "normal"}).fit()
        >>> r.wtp("x0", "x1").summary().table.index.tolist()
        ['mean', 'median', 'sd', 'q0.05', 'q0.25', 'q0.75', 'q0.95']
        """
        title = f"Distribution of {self.numerator} / {self.denominator} ({self.distribution})"
        return Summary(title, tables=(Table("", self.table, _estimate_kinds(self.table), na_rep="nan"),),
                       notes=self.notes)


@dataclass(frozen=True, eq=False, repr=False)
class ChoiceResults(PrintsAsSummary):
    r"""Results of a fitted logit or probit model.

    Primary quantities are fields; everything else is derived. ``model`` links back to the
    fitted model (absent after :func:`load_results`; pass ``data=`` to predict then).
    Results are built by :meth:`Logit.fit <choicemodels.Logit.fit>` and
    :meth:`Probit.fit <choicemodels.Probit.fit>`, and read back by :func:`load_results`;
    the parameters below are also the attributes of the same names. Prints as
    :meth:`summary` at the console and in notebooks. Shapes: N situations,
    J alternatives, K utility coefficients, P covariance parameters (probit).

    Parameters
    ----------
    model_name : str
        ``"Logit"`` or ``"Probit"``.
    param_names : tuple of str, length K + P
        Names of the estimated parameters: the K coefficients, then the P covariance
        parameters.
    estimates : ndarray, shape (K + P,)
        The maximum-likelihood estimate :math:`\hat\theta` (stored read-only).
    covariance : ndarray, shape (K + P, K + P)
        Estimated covariance of :math:`\hat\theta` (stored read-only); NaN when the Hessian
        is not negative definite.
    cov_type : {"nonrobust", "robust", "cluster", "opg"}
        How ``covariance`` was estimated.
    cov_note : str
        Why the covariance is not available, or ``""``.
    llf : float
        Maximised log-likelihood :math:`\ell(\hat\theta)`.
    llnull : float
        Log-likelihood of equal shares, :math:`-\sum_i w_i \log J_i` (:attr:`ll_equal_shares`).
    ll_constants : float
        Maximised log-likelihood of the logit with alternative-specific constants only.
    nobs : int
        Number of choice situations N.
    alternatives : tuple
        The J alternative labels, in column order.
    converged : bool
        Whether the optimiser met its convergence criterion.
    n_iter : int
        Iterations of the optimiser.
    message : str
        Why the optimiser stopped.
    spec : dict
        The specification (formula, columns, reference, alternatives, model options) that
        rebuilds the model on new data.
    n_beta : int
        Number K of utility coefficients; the first K entries of ``estimates``.
    fit_time : float, optional
        Seconds spent in the optimiser (NaN if unknown).
    extra_info : tuple of (str, str) pairs, optional
        Model-specific lines of the summary (probit: covariance, integration, draws, seed).
    optimizer : str, optional
        Name of the maximiser (e.g. ``"Newton"``, ``"BFGS"``).
    gradient_norm : float, optional
        Euclidean norm of the log-likelihood's gradient at the estimate.
    choice_counts : tuple of float, length J, optional
        (Weighted) number of situations choosing each alternative (empty in files saved
        before it existed).
    situations : str, optional
        Fingerprint of the set of situation ids (order-free), by which the tests that
        combine two fits check that results read from a file were fitted on the same
        situations; ``""`` when unknown. Results of a fit in memory compute it from the
        model when saved (:meth:`situation_fingerprint`).
    model : Logit or Probit, optional
        The fitted model (None after :func:`load_results`).

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
    >>> r.nobs, r.k_params, r.converged
    (210, 8, True)
    >>> round(r.llf, 3), round(r.rho2, 4)
    (-189.525, 0.349)
    """

    model_name: str
    param_names: tuple[str, ...]
    estimates: np.ndarray
    covariance: np.ndarray
    cov_type: str
    cov_note: str
    llf: float
    llnull: float
    ll_constants: float
    nobs: int
    alternatives: tuple
    converged: bool
    n_iter: int
    message: str
    spec: dict[str, Any]
    n_beta: int
    fit_time: float = float("nan")
    extra_info: tuple[tuple[str, str], ...] = ()
    optimizer: str = ""
    gradient_norm: float = float("nan")
    choice_counts: tuple[float, ...] = ()
    situations: str = ""
    model: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("estimates", "covariance"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # ---- estimates and inference ---------------------------------------------------
    @property
    def params(self) -> pd.Series:
        r"""Estimated parameters :math:`\hat\theta`, a :class:`pandas.Series` indexed by name."""
        return pd.Series(self.estimates, index=list(self.param_names), name="params")

    @property
    def bse(self) -> pd.Series:
        r"""Standard errors :math:`\sqrt{\operatorname{diag} \hat V}`, a :class:`pandas.Series` indexed by name."""
        return pd.Series(np.sqrt(np.diag(self.covariance)), index=list(self.param_names), name="bse")

    @property
    def tvalues(self) -> pd.Series:
        r"""Wald z statistics :math:`\hat\theta_k / \operatorname{se}_k`, a :class:`pandas.Series` indexed by name."""
        return (self.params / self.bse).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        r"""Two-sided p-values :math:`2(1 - \Phi(|z_k|))` of the z statistics, a :class:`pandas.Series`."""
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=list(self.param_names), name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        r"""Wald confidence intervals: columns ``0`` (lower) and ``1`` (upper), as in statsmodels.

        .. math:: \hat\theta_k \pm z_{1-\alpha/2}\, \operatorname{se}_k

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the coverage: 0.05 gives 95 % intervals.

        Returns
        -------
        pandas.DataFrame
            One row per parameter, columns ``0`` and ``1``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.conf_int().round(4).head(2)
                   0       1
        gc   -0.0199 -0.0019
        ttme -0.1160 -0.0749
        """
        z = stats.norm.isf(alpha / 2)
        p, s = self.params, self.bse
        return pd.DataFrame({0: p - z * s, 1: p + z * s})

    def cov_params(self) -> pd.DataFrame:
        r"""Estimated covariance matrix :math:`\hat V` of the parameters, labelled.

        Returns
        -------
        pandas.DataFrame
            (K + P) x (K + P), rows and columns named by ``param_names``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.cov_params().shape
        (8, 8)
        >>> bool((r.cov_params().to_numpy().diagonal() ** 0.5 == r.bse.to_numpy()).all())
        True
        """
        names = list(self.param_names)
        return pd.DataFrame(self.covariance, index=names, columns=names)

    def wald_test(self, restrictions: str | list[str] | np.ndarray, q: float | np.ndarray | None = None):
        r"""Wald (chi-square) test of linear restrictions :math:`R b = q` on the coefficients.

        .. math::
            W = (R\hat b - q)' (R \hat V R')^{-1} (R\hat b - q) \sim \chi^2_r

        under the null, with :math:`\hat V` the covariance of these results (their
        ``cov_type``); statsmodels' ``wald_test(..., use_f=False)``. See
        :func:`~choicemodels.inference.wald_test`.

        Parameters
        ----------
        restrictions : str, list of str or array_like
            Text such as ``"gc = ttme"`` or ``"gc = ttme, hinc:air = 0"`` (restrictions
            separated by commas, or one per list item; ``+ - * /``, numbers and
            parentheses; a side without ``=`` equals 0), or the matrix R, shape (r, K + P),
            one column per entry of ``param_names``.
        q : float or array_like, shape (r,), optional
            Right-hand sides for a matrix R (default 0); with text, write them in it.

        Returns
        -------
        TestResult
            ``statistic`` W, ``df`` r and the chi-square ``p_value``; the note states
            the restrictions. Prints as a one-row table.

        Raises
        ------
        SpecificationError
            If a restriction names an unknown coefficient, R has the wrong shape, the
            restrictions are linearly dependent, or the covariance is not available.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> w = r.wald_test("gc = ttme, hinc:air = 0")
        >>> w.df, round(w.statistic, 3), w.note
        (2, 53.686, 'H0: gc - ttme = 0; hinc:air = 0')
        >>> print(r.wald_test("gc = ttme"))  # doctest: +NORMALIZE_WHITESPACE
                                      Specification test
        ==============================================================================
                                                       statistic         df    p-value
        ------------------------------------------------------------------------------
        Wald test                                         53.420          1   2.69e-13
        ==============================================================================
        Notes:
        [1] H0: gc - ttme = 0
        """
        from choicemodels.inference import wald_test

        return wald_test(self, restrictions, q)

    def t_test(
        self, restrictions: str | list[str] | np.ndarray, q: float | np.ndarray | None = None,
        *, alpha: float = 0.05,
    ) -> pd.DataFrame:
        r"""One z test per linear restriction of :math:`R b = q`.

        For the restriction :math:`r_k' b = q_k`: the estimate :math:`r_k'\hat b - q_k`
        (the amount by which the estimate misses the restriction), its standard error
        :math:`\sqrt{r_k'\hat V r_k}`, z, the two-sided normal p-value and the
        (1 - ``alpha``) interval. With :math:`q = 0` these are statsmodels'
        ``t_test(...).summary_frame()``. See :func:`~choicemodels.inference.t_test`.

        Parameters
        ----------
        restrictions : str, list of str or array_like
            Text such as ``"gc = ttme, hinc:air = 0"`` or the matrix R, shape (r, K + P),
            as in :meth:`wald_test`.
        q : float or array_like, shape (r,), optional
            Right-hand sides for a matrix R (default 0); with text, write them in it.
        alpha : float, default 0.05
            One minus the coverage of the intervals.

        Returns
        -------
        pandas.DataFrame
            One row per restriction, indexed by the restriction as text (index name
            ``restriction``); columns ``estimate``, ``std err``, ``z``, ``P>|z|`` and the
            interval bounds (``[0.025`` and ``0.975]`` for ``alpha=0.05``).

        Raises
        ------
        SpecificationError
            As for :meth:`wald_test`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.t_test("gc = ttme, hinc:air = 0")[["estimate", "std err", "z"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
                       estimate  std err       z
        restriction
        gc - ttme = 0    0.0845   0.0116  7.3089
        hinc:air = 0    -0.0054   0.0115 -0.4661
        """
        from choicemodels.inference import t_test

        return t_test(self, restrictions, q, alpha=alpha)

    # ---- fit statistics -------------------------------------------------------------
    # Two baselines, named as the packages users come from name them: Biogeme's rho2 is
    # measured against equal shares (its "init" / "null" log-likelihood); statsmodels' and
    # mlogit's McFadden R2, llr and llr_pvalue against the constants-only model.
    @property
    def ll_equal_shares(self) -> float:
        r"""Log-likelihood of equal shares, :math:`-\sum_n \log J_n` (Biogeme's null model)."""
        return self.llnull

    @property
    def k_params(self) -> int:
        """Number of estimated parameters (utility and error-structure parameters)."""
        return len(self.param_names)

    @property
    def k_constant(self) -> int:
        """Number of alternative-specific constants (parameters named ``(Intercept)...``)."""
        return sum(name.startswith("(Intercept)") for name in self.param_names)

    @property
    def df_model(self) -> int:
        """Model degrees of freedom as in statsmodels: parameters other than the constants."""
        return self.k_params - self.k_constant

    @property
    def df_resid(self) -> float:
        """Residual degrees of freedom as in statsmodels: ``nobs - k_params``."""
        return self.nobs - self.k_params

    @property
    def rho2(self) -> float:
        r"""Biogeme's :math:`\rho^2 = 1 - \ell / \ell_{\text{equal shares}}`."""
        return 1.0 - self.llf / self.ll_equal_shares

    @property
    def rho2_adj(self) -> float:
        r"""Biogeme's adjusted :math:`\bar\rho^2 = 1 - (\ell - K) / \ell_{\text{equal shares}}`."""
        return 1.0 - (self.llf - self.k_params) / self.ll_equal_shares

    @property
    def prsquared(self) -> float:
        r"""McFadden's pseudo-:math:`R^2 = 1 - \ell / \ell_{\text{constants}}` (statsmodels, mlogit)."""
        return 1.0 - self.llf / self.ll_constants

    @property
    def llr(self) -> float:
        r"""Likelihood-ratio statistic against the constants-only model, :math:`2 (\ell - \ell_c)`."""
        return 2.0 * (self.llf - self.ll_constants)

    @property
    def llr_pvalue(self) -> float:
        """Chi-square p-value of :attr:`llr` with :attr:`df_model` degrees of freedom."""
        return float(stats.chi2.sf(self.llr, self.df_model))

    @property
    def aic(self) -> float:
        r"""Akaike's information criterion :math:`-2\ell + 2(K + P)`."""
        return -2.0 * self.llf + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        r"""Schwarz's Bayesian information criterion :math:`-2\ell + (K + P)\log N`."""
        return -2.0 * self.llf + np.log(self.nobs) * self.k_params

    @property
    def beta(self) -> pd.Series:
        """The utility coefficients (without covariance parameters)."""
        return self.params.iloc[: self.n_beta]

    # ---- model-based quantities -----------------------------------------------------
    def _model_for(self, data: pd.DataFrame | None) -> Any:
        if data is not None:
            return _model_kind(self.spec["model"]).rebuild(self.spec, data, self.model)
        if self.model is None:
            raise SpecificationError(
                "these results were loaded from a file and hold no data; pass data= "
                "(a long DataFrame with the model's columns)."
            )
        return self.model

    def predict(
        self, data: pd.DataFrame | None = None, *, kind: Literal["probability", "utility"] = "probability"
    ) -> pd.DataFrame:
        r"""Choice probabilities (or systematic utilities), one row per situation.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            New long data with the model's columns (the choice column may be absent); default:
            the estimation data. Needed for results read by :func:`load_results`.
        kind : {"probability", "utility"}, default "probability"
            :math:`P_{ij}` (zero for unavailable alternatives) or :math:`V_{ij} = x_{ij}'\hat\beta`
            (NaN for unavailable alternatives).

        Returns
        -------
        pandas.DataFrame
            N x J, indexed by situation id, one column per alternative.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.predict().head(2).round(4)  # doctest: +NORMALIZE_WHITESPACE
                       air     bus     car   train
        individual
        1           0.0984  0.1959  0.3746  0.3311
        2           0.2566  0.0530  0.4641  0.2262
        >>> new = df[df.individual == 1].drop(columns="choice")
        >>> r.predict(new, kind="utility").round(4)  # doctest: +NORMALIZE_WHITESPACE
                      air     bus     car   train
        individual
        1          -1.665 -0.9762 -0.3278 -0.4513
        """
        model = self._model_for(data)
        if kind == "probability":
            values = model.predict(self.estimates)
        elif kind == "utility":
            values = model.utilities(self.estimates)
        else:
            raise SpecificationError(f"kind must be 'probability' or 'utility', got {kind!r}.")
        return model.frame(values)

    def loglike_obs(self) -> np.ndarray:
        r"""Log-likelihood contribution of each situation at the estimate, :math:`\log P_{i c_i}(\hat\theta)` (unweighted).

        Returns
        -------
        ndarray, shape (N,)
            Sums to ``llf`` when the model has no weights.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> ll = r.loglike_obs()
        >>> ll.shape, round(float(ll.sum()), 3)
        ((210,), -189.525)
        """
        return self._model_for(None).loglike_obs(self.estimates)

    def situation_fingerprint(self) -> str:
        """Fingerprint of the set of situations the model was fitted on, whatever their order.

        A hash of the situation ids: two fits of the same situations, in any row order,
        have the same fingerprint, and fits of different situations (almost surely)
        different ones. Saved with the results, so that :func:`~choicemodels.lr_test` and
        :func:`~choicemodels.vuong_test` can check results read from files.

        Returns
        -------
        str
            32 hexadecimal digits, or ``""`` when the ids are not known (data on Dask
            workers, or a file saved before fingerprints were stored).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> kw = dict(obs="individual", alt="mode", ref="car")
        >>> a = cm.Logit("choice ~ gc | hinc", data=df, **kw).fit()
        >>> b = cm.Logit("choice ~ ttme", data=df.sample(frac=1.0, random_state=1), **kw).fit()
        >>> c = cm.Logit("choice ~ ttme", data=df[df.individual > 1], **kw).fit()
        >>> a.situation_fingerprint() == b.situation_fingerprint() != c.situation_fingerprint()
        True
        """
        ids = self._situation_ids()
        if ids is None:
            return self.situations
        hashes = np.sort(pd.util.hash_array(ids))
        return hashlib.sha256(hashes.tobytes()).hexdigest()[:32]

    def _situation_ids(self) -> np.ndarray | None:
        """(N,) ids of the fit's situations in the order of :meth:`loglike_obs`, or ``None``
        when they are not known (results read from a file, data on Dask workers)."""
        design = getattr(self.model, "design", None)
        ids = getattr(design, "obs_ids", None)
        return None if ids is None else np.asarray(ids)

    def elasticities(
        self, variable: str, data: pd.DataFrame | None = None, *, kind: str = "mean"
    ) -> pd.DataFrame:
        r"""Elasticity matrix of the probabilities with respect to ``variable``.

        Entry (j, k) is the mean over situations of
        :math:`\partial \log P_k / \partial \log x_j`, the response of the probability of
        alternative k to the variable of alternative j (own elasticities on the diagonal).
        For a situation-level variable the single row ``"all"`` gives
        :math:`\partial \log P_k / \partial \log z`. Computed by central differences of the
        model's probabilities; see :meth:`elasticity_se` for delta-method standard errors.

        ``kind="mean"`` averages the point elasticities over situations; ``"aggregate"``
        gives the elasticities of the expected shares (probability-weighted average);
        ``"point"`` returns one block of rows per situation.

        Parameters
        ----------
        variable : str
            A variable of the formula (a data column; for a model built with ``from_arrays``,
            a column name of X).
        data : pandas.DataFrame, optional
            Long data to evaluate on; default: the estimation data.
        kind : {"mean", "aggregate", "point"}, default "mean"
            How the situations are combined, see above.

        Returns
        -------
        pandas.DataFrame
            Rows ``changed`` (the alternative whose variable moves, or ``"all"``), columns
            ``responding``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.elasticities("hinc").round(4)  # doctest: +NORMALIZE_WHITESPACE
        responding     air    bus     car   train
        changed
        all         0.3889 -0.413  0.5746 -1.3795
        """
        return self._model_for(data).elasticities(self.estimates, variable, kind=kind)

    def elasticity_se(self, variable: str, data: pd.DataFrame | None = None) -> pd.DataFrame:
        r"""Delta-method standard errors of :meth:`elasticities`.

        :math:`\operatorname{se}(E_{jk}) = \sqrt{d_{jk}' \hat V d_{jk}}` with
        :math:`d_{jk} = \partial E_{jk} / \partial \theta` by central differences
        (:meth:`Logit.elasticity_jacobian <choicemodels.Logit.elasticity_jacobian>`).

        Parameters
        ----------
        variable : str
            As in :meth:`elasticities`.
        data : pandas.DataFrame, optional
            Long data to evaluate on; default: the estimation data.

        Returns
        -------
        pandas.DataFrame
            Same shape and labels as ``elasticities(variable)``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.elasticity_se("gc").round(3)  # doctest: +NORMALIZE_WHITESPACE
        responding    air    bus    car  train
        changed
        air         0.337  0.138  0.138  0.138
        bus         0.074  0.459  0.074  0.074
        car         0.122  0.122  0.321  0.122
        train       0.145  0.145  0.145  0.457
        """
        model = self._model_for(data)
        jac = model.elasticity_jacobian(self.estimates, variable)  # (rows*cols, P)
        var = np.einsum("ap,pq,aq->a", jac, self.covariance, jac)
        point = model.elasticities(self.estimates, variable)
        return pd.DataFrame(np.sqrt(var).reshape(point.shape), index=point.index, columns=point.columns)

    def marginal_effects(
        self, variable: str, data: pd.DataFrame | None = None, *, kind: str = "mean"
    ) -> pd.DataFrame:
        r"""Marginal effects :math:`\partial P_k / \partial x_j` (rows j, columns k); ``kind`` as in :meth:`elasticities`.

        Parameters
        ----------
        variable : str
            As in :meth:`elasticities`.
        data : pandas.DataFrame, optional
            Long data to evaluate on; default: the estimation data.
        kind : {"mean", "aggregate", "point"}, default "mean"
            As in :meth:`elasticities`.

        Returns
        -------
        pandas.DataFrame
            Rows ``changed``, columns ``responding``; each row sums to zero (the probabilities
            sum to one).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> me = r.marginal_effects("gc")
        >>> round(float(me.loc["air", "air"]), 4), bool(abs(me.sum(axis=1)).max() < 1e-9)
        (-0.0013, True)
        """
        return self._model_for(data).elasticities(self.estimates, variable, marginal=True, kind=kind)

    def wtp(self, numerator: str, denominator: str,
            alpha: float = 0.05) -> RatioResult | WtpDistribution:
        r"""Ratio of two coefficients, e.g. willingness to pay for time.

        The ratio :math:`b_n / b_d` with delta-method standard error
        :math:`\sqrt{g' V g}`, :math:`g = (1/b_d, -b_n/b_d^2)`. Willingness to pay for a
        unit of a good attribute is usually quoted as ``-wtp(attribute, cost)``. On mixed
        logit results with a random numerator or denominator the ratio varies over persons:
        its distribution is returned (:class:`~choicemodels.results.WtpDistribution`: mean, median, sd and
        quantiles, in closed form over a fixed denominator, simulated over a random one).

        Parameters
        ----------
        numerator : str
            Name of the coefficient :math:`b_n`.
        denominator : str
            Name of the coefficient :math:`b_d` (usually the cost coefficient).
        alpha : float, default 0.05
            One minus the coverage of the Wald interval.

        Returns
        -------
        RatioResult
            ``estimate``, ``se`` and ``conf_int`` of the ratio; prints as a one-row table.
        WtpDistribution
            Instead, on mixed logit results where either coefficient is random.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> w = r.wtp("ttme", "gc")  # dollars per minute of terminal time
        >>> round(w.estimate, 4), round(w.se, 3)
        (8.7359, 3.82)
        >>> print(w)  # doctest: +NORMALIZE_WHITESPACE
                                    Ratio of coefficients
        ==============================================================================
                       estimate    std err          z      P>|z|     [0.025     0.975]
        ------------------------------------------------------------------------------
        ttme / gc        8.7359      3.820      2.287      0.022      1.249     16.223
        ==============================================================================
        Notes:
        [1] Delta-method standard error: sqrt(g' V g), g = (1/b_d, -b_n/b_d^2).
        """
        for name in (numerator, denominator):
            if name not in self.param_names:
                raise SpecificationError(
                    f"unknown coefficient {name!r}; the model has {list(self.param_names)}."
                )
        mixing = _model_kind(self.model_name).mixing
        if mixing is not None and "wtp" in mixing:
            distribution = mixing["wtp"](self, numerator, denominator, alpha)
            if distribution is not None:  # a random numerator or denominator
                return distribution
        i, j = self.param_names.index(numerator), self.param_names.index(denominator)
        bn, bd = self.estimates[i], self.estimates[j]
        g = np.array([1 / bd, -bn / bd**2])
        v = self.covariance[np.ix_([i, j], [i, j])]
        se = float(np.sqrt(g @ v @ g))
        z = stats.norm.isf(alpha / 2)
        est = float(bn / bd)
        return RatioResult(numerator, denominator, est, se, (est - z * se, est + z * se), alpha)

    def error_covariance(self) -> pd.DataFrame:
        r"""Probit: (J-1) x (J-1) covariance of the error differences :math:`e_j - e_{ref}`.

        Indexed by the non-reference alternatives, in the model's normalisation: ``"iid"``
        :math:`I + 11'` (unit-variance errors), ``"heteroskedastic"``
        :math:`\operatorname{diag}(s_j^2) + 11'` (:math:`s_{ref} = 1`), ``"unstructured"``
        :math:`\Omega_{00} = 1`. Works on loaded results too.

        Returns
        -------
        pandas.DataFrame
            :math:`\hat\Omega`, rows and columns the non-reference alternatives.

        Raises
        ------
        SpecificationError
            For logit results (their error covariance is fixed, not estimated).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car",
        ...               cov="iid").fit()
        >>> r.error_covariance()  # iid: I + 11'  # doctest: +NORMALIZE_WHITESPACE
                     air  bus  train
        alternative
        air          2.0  1.0    1.0
        bus          1.0  2.0    1.0
        train        1.0  1.0    2.0
        """
        error_covariance = _model_kind(self.model_name).error_covariance
        if error_covariance is None:
            raise SpecificationError(
                f"error_covariance() is defined for probit results; a {self.model_name} has "
                "no estimated error covariance (its errors are iid with a fixed scale)."
            )
        return error_covariance(self.spec, self.estimates[self.n_beta:])

    def error_correlation(self) -> pd.DataFrame:
        r"""Correlation matrix of :meth:`error_covariance`.

        :math:`\hat\Omega_{jk} / \sqrt{\hat\Omega_{jj} \hat\Omega_{kk}}`.

        Returns
        -------
        pandas.DataFrame
            (J-1) x (J-1), ones on the diagonal.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car",
        ...               cov="iid").fit()
        >>> r.error_correlation()  # doctest: +NORMALIZE_WHITESPACE
                     air  bus  train
        alternative
        air          1.0  0.5    0.5
        bus          0.5  1.0    0.5
        train        0.5  0.5    1.0
        """
        cov = self.error_covariance()
        sd = np.sqrt(np.diag(cov.to_numpy()))
        return cov / np.outer(sd, sd)

    # ---- random coefficients (mixed logit) --------------------------------------------
    def _mixing(self, name: str) -> Callable[..., pd.DataFrame]:
        mixing = _model_kind(self.model_name).mixing
        if mixing is None:
            raise SpecificationError(
                f"{name}() is defined for mixed logit results; a {self.model_name} has no "
                "random coefficients."
            )
        return mixing[name]

    def random_covariance(self, correlation: bool = False) -> pd.DataFrame:
        r"""Mixed logit: covariance :math:`LL'` of the random coefficients, with
        delta-method standard errors.

        For a lognormal coefficient :math:`\pm e^{c}` it is the covariance of its normal
        part c. Uncorrelated coefficients give a diagonal matrix of their variances
        (``sd.x`` squared: for uniform and triangular ones the squared half-width).

        Parameters
        ----------
        correlation : bool, default False
            The correlation matrix instead (its delta-method standard errors too).

        Returns
        -------
        pandas.DataFrame
            Rows the random coefficients; columns ``("estimate", name)`` (the matrix,
            ``frame["estimate"]``) and ``("std err", name)``.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> r = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6, draws=50,
        ...                               random={"x0": "normal", "x1": "normal"},
        ...                               correlated=True).fit()
        >>> r.random_covariance()["estimate"].shape
        (2, 2)
        """
        return self._mixing("random_covariance")(self, correlation)

    def random_distribution(self) -> pd.DataFrame:
        r"""Mixed logit: mean, median and standard deviation of each random coefficient.

        Of the coefficient itself, with delta-method standard errors: for a lognormal
        :math:`\pm e^{b + s z}` the mean :math:`\pm e^{b + s^2/2}`, the median
        :math:`\pm e^b` and the sd :math:`e^{b + s^2/2}\sqrt{e^{s^2} - 1}`; for normal,
        uniform and triangular ones the mean and median b and the sd :math:`|s|`,
        :math:`|s|/\sqrt 3`, :math:`|s|/\sqrt 6` (s the half-width for the last two). The
        sign of s is not identified; only :math:`|s|` enters.

        Returns
        -------
        pandas.DataFrame
            One row per random coefficient; columns ``distribution``, ``mean``,
            ``mean se``, ``median``, ``median se``, ``sd``, ``sd se``.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> r = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6, draws=50,
        ...                               random={"-x1": "lognormal"}).fit()
        >>> r.random_distribution().loc["x1", "distribution"]
        '-lognormal'
        """
        return self._mixing("random_distribution")(self)

    def individual_params(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        r"""Mixed logit on panel data: each person's conditional mean of the random
        coefficients (Revelt and Train), :math:`\sum_r \beta_{nr} L_{nr} / \sum_r L_{nr}`
        over the person's draws, :math:`L_{nr}` the probability of the person's choices.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Long data with the model's columns, the choice and the panel column included;
            default: the estimation data (needed for results read from a file).

        Returns
        -------
        pandas.DataFrame
            One row per person (indexed by person id), one column per random coefficient.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> r = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6, draws=50,
        ...                               random={"x0": "normal"}).fit()
        >>> r.individual_params().shape
        (100, 1)
        """
        return self._mixing("individual_params")(self, data)

    def refit_without(self, omit: list) -> ChoiceResults:
        """The same model fitted without the alternatives in ``omit`` (and the situations choosing them).

        The restricted fit of the Hausman-McFadden test (:func:`~choicemodels.hausman_mcfadden`);
        the covariance is always ``"nonrobust"``.

        Parameters
        ----------
        omit : list
            Alternative labels to drop (not the reference).

        Returns
        -------
        ChoiceResults
            Results of the restricted model.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r2 = r.refit_without(["air"])
        >>> r2.nobs, r2.alternatives
        (152, ('bus', 'car', 'train'))
        """
        model = self._model_for(None)
        return model.without_alternatives(omit).fit(cov_type="nonrobust")

    # ---- rendering ------------------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        """Estimates and fit in one table, statsmodels-like; print it or render it with
        ``as_text()``, ``as_html()``, ``as_latex()``, ``as_csv()`` or ``as_markdown()``.

        Shows the formula, the model and estimation facts (optimiser, iterations, final
        gradient norm, weighting), the fit statistics against both baselines (see the
        notes), the coefficients with z-tests and (1 - ``alpha``) intervals, for a probit
        the covariance and correlation of the error differences with delta-method
        standard errors (:meth:`error_covariance_table`; the raw covariance parameters stay
        in :attr:`params`), and the observed choice frequencies.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the coverage of the intervals (0.05 gives 95 % intervals).

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary`: ``print`` it, or use its
            ``as_text()``, ``as_html()``, ``as_latex()``, ``as_csv()`` and
            ``as_markdown()``; its ``table`` is the coefficient table as a DataFrame.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> s = r.summary()
        >>> print("\\n".join(s.as_text().splitlines()[:5]))  # doctest: +NORMALIZE_WHITESPACE
                                           Logit results
        ===================================================================================
        Formula: choice ~ gc + ttme | hinc
        Dep. variable:                             choice  Log-likelihood:        -189.5252
        Model:                                      Logit  LL equal shares:       -291.1218
        >>> s.table.round(4).head(2)
                coef  std err       z   P>|z|  [0.025  0.975]
        gc   -0.0109   0.0046 -2.3819  0.0172 -0.0199 -0.0019
        ttme -0.0955   0.0105 -9.1147  0.0000 -0.1160 -0.0749
        >>> list(r.summary(alpha=0.1).table.columns[-2:])
        ['[0.05', '0.95]']
        """
        probit = self.model_name == "Probit"
        shown = self.n_beta if probit else self.k_params
        table = _estimates_frame(self.params, self.bse, self.conf_int(alpha), alpha).iloc[:shown]
        tables = [Table("Coefficients", table, _estimate_kinds(table), na_rep="nan")]
        if probit and self.k_params > self.n_beta:
            tables += self._error_tables(alpha)
        extras = _MODEL_KINDS.get(self.model_name)
        extra_tables, extra_notes = (
            extras.summary_extras(self, alpha) if extras and extras.summary_extras else ((), ()))
        tables += extra_tables
        if self.choice_counts:
            tables.append(self._frequency_table())
        formula = self.spec.get("formula")
        lead = (("Formula", formula),) if formula else ()
        left = (
            ("Dep. variable", formula.split("~")[0].strip() if formula else "chosen (array)"),
            ("Model", self.model_name),
            ("Situations", str(self.nobs)),
            ("Alternatives", str(len(self.alternatives))),
            ("Weighting", _weighting(self.spec)),
            ("Covariance type", self.cov_type),
            ("Optimizer", _OPTIMIZERS.get(self.optimizer, self.optimizer) or "n/a"),
            ("Converged", str(self.converged)),
            ("Iterations", str(self.n_iter)),
            ("Gradient norm", forg(self.gradient_norm, 3)),
        ) + self.extra_info
        right = (
            ("Log-likelihood", f"{self.llf:.4f}"),
            ("LL equal shares", f"{self.ll_equal_shares:.4f}"),
            ("LL constants only", f"{self.ll_constants:.4f}"),
            ("rho2", f"{self.rho2:.4f}"),
            ("adj. rho2", f"{self.rho2_adj:.4f}"),
            ("Pseudo R2 (McFadden)", f"{self.prsquared:.4f}"),
            (f"LR chi2({self.df_model})", forg(self.llr, 4)),
            ("LR p-value", forg(self.llr_pvalue, 3)),
            ("Parameters", str(self.k_params)),
            ("AIC", f"{self.aic:.2f}"),
            ("BIC", f"{self.bic:.2f}"),
        )
        return Summary(f"{self.model_name} results", left, tuple(tables),
                       self._notes() + tuple(extra_notes), lead, right)

    def _notes(self) -> tuple[str, ...]:
        notes = []
        if self.cov_note:
            notes.append(f"Standard errors are not available: {self.cov_note}.")
        if not self.converged:
            notes.append(f"The optimiser did not converge: {self.message}")
        notes.append(
            "rho2 and adj. rho2 are measured against equal shares (LL equal shares, Biogeme's "
            "null log-likelihood); Pseudo R2 (McFadden), LR chi2 and its p-value against the "
            "model with alternative-specific constants only (LL constants only, as statsmodels "
            f"and mlogit), with {self.df_model} degrees of freedom (parameters other than constants)."
        )
        notes.append(f"Standard errors: {_COV_TYPES.get(self.cov_type, self.cov_type)}.")
        ref = self.spec.get("ref")
        if ref is not None:
            notes.append(f"Reference alternative: {ref}.")
        if self.model_name == "MixedLogit":
            notes.append(
                "Random coefficients: sd.x is the standard deviation (normal; of the log for "
                "lognormal) or the half-width (uniform, triangular), chol.a:b the Cholesky "
                "factor of correlated ones; their sign is not identified, and the table of "
                "the coefficients' distribution reports the absolute value (delta-method "
                "standard errors)."
            )
        if self.model_name == "Probit":
            raw = list(self.param_names[self.n_beta:])
            if raw:
                notes.append(
                    f"The error covariance is estimated through {', '.join(raw)} (in params and "
                    "cov_params()); shown here as the covariance and correlation of the error "
                    f"differences e_j - e_{ref} with delta-method standard errors."
                )
            else:
                notes.append(
                    f"Errors iid N(0, 1): the differences e_j - e_{ref} have covariance I + 11', "
                    "fixed by the normalisation."
                )
        return tuple(notes)

    def _error_tables(self, alpha: float) -> list[Table]:
        entries = self.error_covariance_table(alpha)
        frame = entries.astype(object)
        fixed = entries["std err"].to_numpy() == 0
        frame.loc[fixed, frame.columns[1]] = "(fixed)"
        frame.loc[fixed, frame.columns[2:]] = ""
        kinds = _estimate_kinds(frame)
        ref = self.spec.get("ref")
        is_corr = entries.index.str.startswith("corr(")
        return [
            Table(f"Covariance of the error differences e_j - e_{ref}", frame[~is_corr], kinds, "nan"),
            Table(f"Correlation of the error differences e_j - e_{ref}", frame[is_corr], kinds, "nan"),
        ]

    def _frequency_table(self) -> Table:
        counts = np.asarray(self.choice_counts, dtype=float)
        weighted = _weighting(self.spec) != "unweighted"
        frame = pd.DataFrame(
            {"weighted count" if weighted else "chosen": counts, "share": counts / counts.sum()},
            index=pd.Index([str(a) for a in self.alternatives], name="alternative"),
        )
        kinds = {frame.columns[0]: "count", "share": "coef"}
        return Table("Chosen alternatives" + (" (weighted)" if weighted else ""), frame, kinds)

    def error_covariance_table(self, alpha: float = 0.05) -> pd.DataFrame:
        r"""Probit: the entries of :meth:`error_covariance` and :meth:`error_correlation`
        with delta-method standard errors, z-tests and (1 - ``alpha``) intervals.

        Rows ``var(j)`` and ``cov(j,k)`` (the lower triangle of :math:`\Omega`, the
        covariance of the error differences against the reference) then ``corr(j,k)``.
        With :math:`f(\theta)` these entries as a function of the covariance parameters,
        :math:`\operatorname{se}(f_i)^2 = G_i V_\theta G_i'`, :math:`G = \partial f / \partial\theta`
        by central differences (step :math:`10^{-5}\max(1, |\theta_p|)`). Entries fixed by
        the normalisation have standard error 0 and no test.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the coverage of the intervals.

        Returns
        -------
        pandas.DataFrame
            One row per entry (``var(j)``, ``cov(j,k)``, then ``corr(j,k)``); columns
            ``estimate``, ``std err``, ``z``, ``P>|z|`` and the interval bounds (``[0.025``
            and ``0.975]`` for ``alpha=0.05``); z and P>|z| are NaN for fixed entries.

        Examples
        --------
        iid errors: the differences against ``car`` have covariance :math:`I + 11'`, fixed
        by the normalisation (standard error 0).

        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
        ...               ref="car", integration="quadrature").fit()
        >>> r.error_covariance_table()[["estimate", "std err"]].round(4).head(3)
                      estimate  std err
        var(air)           2.0      0.0
        cov(bus,air)       1.0      0.0
        var(bus)           2.0      0.0
        >>> round(float(r.error_covariance_table().loc["corr(train,bus)", "estimate"]), 4)
        0.5
        """
        omega = self.error_covariance()
        labels = [str(a) for a in omega.index]
        theta = self.estimates[self.n_beta:]
        v_theta = self.covariance[self.n_beta:, self.n_beta:]

        error_covariance = _model_kind(self.model_name).error_covariance

        def entries(t: np.ndarray) -> np.ndarray:
            return _covariance_entries(error_covariance(self.spec, t).to_numpy(dtype=float))[1]

        names, value = _covariance_entries(omega.to_numpy(dtype=float), labels)
        jac = np.zeros((value.size, theta.size))
        for p, h in enumerate(1e-5 * np.maximum(1.0, np.abs(theta))):
            step = np.zeros_like(theta)
            step[p] = h
            jac[:, p] = (entries(theta + step) - entries(theta - step)) / (2 * h)
        fixed = np.all(jac == 0, axis=1)
        se = np.sqrt(np.einsum("ip,pq,iq->i", jac, v_theta, jac))
        se[fixed] = 0.0
        crit = stats.norm.isf(alpha / 2)
        ci = pd.DataFrame({0: value - crit * se, 1: value + crit * se}, index=names)
        frame = _estimates_frame(pd.Series(value, index=names), pd.Series(se, index=names), ci, alpha)
        frame.loc[fixed, ["z", "P>|z|"]] = np.nan
        return frame.rename(columns={"coef": "estimate"})

    # ---- persistence ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Standard-JSON form of every field except ``model``, with a format version.

        Arrays become nested lists and tuples lists. What JSON cannot hold is written as a
        tagged object: a non-finite float as ``{"$float": "nan"}`` (``"inf"``, ``"-inf"``),
        a pandas Timestamp as ``{"$timestamp": "2020-01-03T00:00:00", "tz": null}``, a
        ``datetime``, ``date``, ``timedelta`` or Timedelta likewise, a numpy scalar as
        ``{"$numpy": "|i1", "value": 3}``, a tuple (a label made of several values) as
        ``{"$tuple": [...]}``; :func:`load_results` reads them back as the same values of
        the same types.

        Returns
        -------
        dict
            Plain Python (dict, list, str, int, float, bool, None) that ``json.dumps`` writes
            without NaN or Infinity tokens; :meth:`save` writes it.

        Raises
        ------
        SpecificationError
            If a field (a label, an option of the specification) has a type that cannot be
            saved, naming the field.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> d = r.to_dict()
        >>> d["format_version"], d["model_name"], d["param_names"][:2]
        (2, 'Logit', ['gc', 'ttme'])
        """
        out: dict[str, Any] = {"format_version": _FORMAT_VERSION}
        for f in fields(self):
            if f.name == "model":
                continue
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif f.name == "extra_info":
                value = [list(pair) for pair in value]
            elif f.name == "situations":
                value = self.situation_fingerprint()
            elif f.name not in ("alternatives", "spec"):  # numbers, not labels: as Python's
                value = _python_scalars(value)
            out[f.name] = _encode(list(value) if isinstance(value, tuple) else value, f.name)
        return out

    def save(self, path: str | Path) -> None:
        """Write the results to a JSON file (lossless: floats are written with full precision).

        The file is standard JSON (:meth:`to_dict`). It is written safely: to a new file in
        the same folder, flushed to disk, then renamed over ``path`` in one step, so that a
        full disk, an error or a kill while writing leaves any earlier file at ``path`` as
        it was. The fitted model and its data are not saved; :func:`load_results` reads the
        file back.

        Parameters
        ----------
        path : str or pathlib.Path
            File to write (replaced if it exists).

        Raises
        ------
        SpecificationError
            If a field cannot be saved (see :meth:`to_dict`); nothing is written then.
        OSError
            If the file cannot be written (the earlier file, if any, is kept).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "logit.json"
        >>> r.save(path)
        >>> cm.load_results(path).params.equals(r.params)
        True
        """
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        _write_atomically(Path(path), text.encode("utf-8"))


_OPTIMIZERS = {"newton": "Newton", "bfgs": "BFGS (BHHH start)", "bhhh": "BHHH"}
_COV_TYPES = {
    "nonrobust": "nonrobust, the inverse of the negative Hessian",
    "robust": "robust, the sandwich H^-1 (sum of s_i s_i') H^-1",
    "cluster": "cluster-robust, the sandwich over the clusters' summed scores",
}


def _weighting(spec: dict) -> str:
    """``"unweighted"``, ``"weighted (frequency)"``, ``"weighted (sampling)"`` (``"weighted"``
    when the kind is not recorded)."""
    kind = spec.get("weight_type")
    if kind:
        return f"weighted ({kind})"
    return "weighted" if spec.get("weights") else "unweighted"


def _estimates_frame(value: pd.Series, se: pd.Series, ci: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The columns of a coefficient table: coef, std err, z, P>|z| and the interval."""
    z = value / se
    return pd.DataFrame({
        "coef": value, "std err": se, "z": z, "P>|z|": 2 * stats.norm.sf(np.abs(z)),
        f"[{alpha / 2:g}": ci[0], f"{1 - alpha / 2:g}]": ci[1],
    })


def _estimate_kinds(frame: pd.DataFrame) -> dict:
    """How the columns of an estimates table are written: the estimate with 4 decimals,
    the p-value with 3, the rest (standard error, z, interval) as statsmodels' forg with 3."""
    kinds = {c: "stat" for c in frame.columns}
    return kinds | {frame.columns[0]: "coef", "P>|z|": "pvalue"}


def _covariance_entries(omega: np.ndarray, labels: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Names and values of the lower triangle of a covariance matrix, then of its correlations."""
    m = omega.shape[0]
    labels = labels or [str(k) for k in range(m)]
    sd = np.sqrt(np.diag(omega))
    names, values = [], []
    for k in range(m):
        for l in range(k + 1):
            names.append(f"var({labels[k]})" if k == l else f"cov({labels[k]},{labels[l]})")
            values.append(omega[k, l])
    for k in range(m):
        for l in range(k):
            names.append(f"corr({labels[k]},{labels[l]})")
            values.append(omega[k, l] / (sd[k] * sd[l]))
    return names, np.array(values)


# ---- the results file -----------------------------------------------------------------
class _Invalid(Exception):
    """What is wrong with a results file (turned into a SpecificationError naming it)."""


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode(value: Any, where: str) -> Any:
    """``value`` as standard JSON values; what JSON lacks as tagged objects (see ``to_dict``)."""
    if isinstance(value, np.generic):  # first: np.str_ and np.float64 are str and float too
        if value.dtype.kind in "mM":  # datetime64 / timedelta64: the count of its unit
            inner: Any = int(value.astype(np.int64))
        else:
            inner = _encode(value.item(), where)
        return {"$numpy": value.dtype.str, "value": inner}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if value is pd.NaT:
        return {"$timestamp": "NaT", "tz": None}
    if isinstance(value, pd.Timestamp):
        return {"$timestamp": value.isoformat(), "tz": None if value.tz is None else str(value.tz)}
    if isinstance(value, pd.Timedelta):
        return {"$timedelta": int(value.value)}
    if isinstance(value, dt.timedelta):
        return {"$duration": value // dt.timedelta(microseconds=1)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, np.ndarray):  # e.g. a transform's state stored in the specification
        if value.dtype.kind not in "biufUMmO":
            raise SpecificationError(f"cannot save {where}: arrays of dtype {value.dtype} have no file form.")
        flat = value.ravel()
        items = [_encode(v if value.dtype.kind == "O" else flat.dtype.type(v), f"{where}[{k}]")
                 for k, v in enumerate(flat)]
        return {"$ndarray": value.dtype.str, "shape": list(value.shape), "values": items}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{k}]") for k, v in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, f"{where}.{k}") for k, v in value.items()}
        return {"$items": [[_encode(k, where), _encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
    raise SpecificationError(
        f"cannot save {where}: a value of type {type(value).__name__} ({value!r}) has no file "
        "form; labels and options may be None, bool, int, float, str, numpy scalars, "
        "datetimes, dates, pandas Timestamps and Timedeltas, and lists, tuples, dicts and "
        "numpy arrays of these."
    )


def _python_scalars(value: Any) -> Any:
    """Numpy scalars (also inside tuples) as the Python scalars of the same value."""
    if isinstance(value, tuple):
        return tuple(_python_scalars(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def _decode(value: Any, where: str) -> Any:
    """The inverse of :func:`_encode`; raises :class:`_Invalid` on what it never writes."""
    if isinstance(value, list):
        return [_decode(v, f"{where}[{k}]") for k, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tags = [k for k in value if k.startswith("$")]
    if not tags:
        return {k: _decode(v, f"{where}.{k}") for k, v in value.items()}
    tag = tags[0]
    inner = value["value"] if tag == "$numpy" and "value" in value else value[tag]
    expected = {"$numpy": {"$numpy", "value"}, "$timestamp": {"$timestamp", "tz"},
                "$ndarray": {"$ndarray", "shape", "values"}}.get(tag, {tag})
    if set(value) != expected:
        raise _Invalid(f"{where} is a tagged value with the keys {sorted(value)}, expected {sorted(expected)}")
    try:
        if tag == "$float" and inner in _FLOATS:
            return _FLOATS[inner]
        if tag == "$numpy" and isinstance(value["$numpy"], str) and isinstance(inner, (int, float, bool, str, dict)):
            dtype = np.dtype(value["$numpy"])
            if dtype.kind in "mM":
                if type(inner) is not int:
                    raise ValueError("a datetime64 or timedelta64 is stored as an integer")
                return dtype.type(inner, np.datetime_data(dtype)[0])
            if dtype.kind not in "biufU":
                raise ValueError(f"dtype {dtype} is not a numpy scalar this package writes")
            return dtype.type(_decode(inner, where))
        if tag == "$timestamp" and isinstance(inner, str) and isinstance(value["tz"], (str, type(None))):
            stamp = pd.Timestamp(inner)
            tz = value["tz"]
            return stamp if tz is None else stamp.tz_convert(tz)
        if tag == "$timedelta" and type(inner) is int:
            return pd.Timedelta(inner, unit="ns")
        if tag == "$duration" and type(inner) is int:
            return dt.timedelta(microseconds=inner)
        if tag == "$datetime" and isinstance(inner, str):
            return dt.datetime.fromisoformat(inner)
        if tag == "$date" and isinstance(inner, str):
            return dt.date.fromisoformat(inner)
        if tag == "$ndarray" and isinstance(inner, str) and isinstance(value["values"], list):
            dtype = np.dtype(inner)
            if dtype.kind not in "biufUMmO":
                raise ValueError(f"dtype {dtype} is not an array dtype this package writes")
            items = [_decode(v, f"{where}[{k}]") for k, v in enumerate(value["values"])]
            array = np.empty(len(items), dtype=dtype)
            array[:] = items if dtype.kind != "O" else np.array(items + [None], dtype=object)[:-1]
            return array.reshape(tuple(value["shape"]))
        if tag == "$tuple" and isinstance(inner, list):
            return tuple(_decode(v, f"{where}[{k}]") for k, v in enumerate(inner))
        if tag == "$items" and isinstance(inner, list) and all(
            isinstance(p, list) and len(p) == 2 for p in inner
        ):
            return {_label(_decode(k, where), where): _decode(v, where) for k, v in inner}
    except (ValueError, TypeError, OverflowError, KeyError) as err:  # KeyError: unknown time zone
        raise _Invalid(f"{where} holds an invalid {tag} value {inner!r} ({err})") from None
    raise _Invalid(f"{where} holds an invalid or unknown tagged value {value!r}")


def _label(value: Any, where: str) -> Any:
    """A decoded alternative label (a hashable scalar)."""
    if isinstance(value, (list, dict)):
        raise _Invalid(f"{where} must hold scalar labels, got {type(value).__name__}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise _Invalid(message)


def _floats(value: Any, name: str, size: int) -> np.ndarray:
    _check(isinstance(value, list) and all(_is_number(v) for v in value),
           f"{name} must be a list of numbers")
    _check(len(value) == size, f"{name} has {len(value)} entries, expected {size} (one per parameter)")
    return np.array(value, dtype=float)


def _fields_from_file(raw: Any) -> dict[str, Any]:
    """The fields of ``ChoiceResults`` from a decoded file, checked; raises :class:`_Invalid`."""
    _check(isinstance(raw, dict), f"the file holds a JSON {type(raw).__name__}, not an object of results")
    version = raw.get("format_version")
    _check(version is not None, "it has no format_version: not a choicemodels results file")
    _check(type(version) is int and version in _READABLE_VERSIONS,
           f"unknown results format version {version!r} (this version reads {list(_READABLE_VERSIONS)})")
    known = {f.name: f for f in fields(ChoiceResults) if f.name != "model"}
    unknown = sorted(set(raw) - set(known) - {"format_version"})
    _check(not unknown, f"unknown fields {unknown}")
    missing = [n for n, f in known.items() if f.default is MISSING and n not in raw]
    _check(not missing, f"missing fields {missing}")
    out = {name: _decode(raw[name], name) for name in known if name in raw}

    for name in ("model_name", "cov_type", "cov_note", "message", "optimizer", "situations"):
        if name in out:
            _check(isinstance(out[name], str), f"{name} must be a string, got {out[name]!r}")
    if _MODEL_KINDS:
        _check(out["model_name"] in _MODEL_KINDS,
               f"unknown model kind {out['model_name']!r} (known: {sorted(_MODEL_KINDS)})")
    _check(out["cov_type"] in COV_TYPES,
           f"cov_type must be one of {', '.join(COV_TYPES)}, got {out['cov_type']!r}")
    for name in ("llf", "llnull", "ll_constants", "fit_time", "gradient_norm"):
        if name in out:
            _check(_is_number(out[name]), f"{name} must be a number, got {out[name]!r}")
            out[name] = float(out[name])
    for name in ("nobs", "n_iter", "n_beta"):
        _check(type(out[name]) is int and out[name] >= 0,
               f"{name} must be a non-negative integer, got {out[name]!r}")
    _check(type(out["converged"]) is bool, f"converged must be true or false, got {out['converged']!r}")

    names = out["param_names"]
    _check(isinstance(names, list) and names and all(isinstance(n, str) for n in names),
           "param_names must be a non-empty list of strings")
    _check(len(set(names)) == len(names), "param_names has duplicates")
    k = len(names)
    _check(out["n_beta"] <= k, f"n_beta is {out['n_beta']}, more than the {k} parameters")
    out["param_names"] = tuple(names)
    out["estimates"] = _floats(out["estimates"], "estimates", k)
    cov = out["covariance"]
    _check(isinstance(cov, list) and len(cov) == k and all(isinstance(row, list) for row in cov),
           f"covariance must be a list of {k} rows (a {k} x {k} matrix)")
    out["covariance"] = np.array([_floats(row, f"covariance[{i}]", k) for i, row in enumerate(cov)])

    alts = out["alternatives"]
    _check(isinstance(alts, list) and len(alts) >= 2, "alternatives must be a list of at least two labels")
    out["alternatives"] = tuple(_label(a, "alternatives") for a in alts)
    if "choice_counts" in out:
        counts = out["choice_counts"]
        _check(isinstance(counts, list) and len(counts) in (0, len(alts))
               and all(_is_number(c) for c in counts),
               f"choice_counts must be a list of {len(alts)} numbers (one per alternative)")
        out["choice_counts"] = tuple(float(c) for c in counts)
    if "extra_info" in out:
        info = out["extra_info"]
        _check(isinstance(info, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in info),
            "extra_info must be a list of [name, value] string pairs")
        out["extra_info"] = tuple(tuple(p) for p in info)

    spec = out["spec"]
    _check(isinstance(spec, dict), "spec must be an object")
    _check(spec.get("model") == out["model_name"],
           f"spec.model is {spec.get('model')!r} but model_name is {out['model_name']!r}")
    if spec.get("ref") is not None:
        _check(spec["ref"] in out["alternatives"],
               f"spec.ref {spec['ref']!r} is not one of the alternatives")
    formula = spec.get("formula")
    _check(formula is None or isinstance(formula, str), f"spec.formula must be a string, got {formula!r:.80}")
    try:  # a formula from a file is data: the strict grammar, checked before anything runs
        if formula is not None:
            check_formula(formula)
    except SpecificationError as err:
        raise _Invalid(f"spec.formula is not a valid formula ({err})") from None
    try:
        if spec.get("design_state") is not None:
            DesignState.from_dict(spec["design_state"])
    except SpecificationError as err:
        raise _Invalid(f"spec.design_state is invalid ({err})") from None
    return out


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a new file in the same folder: written, flushed
    and synced to disk, then renamed over ``path`` (one step), so that ``path`` holds either
    its earlier content or all of ``data``, never a part."""
    given, path = path, Path(os.path.realpath(path))  # through a symbolic link, as open() would
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as err:  # name the file asked for (a missing folder, no permission)
        raise type(err)(err.errno, err.strerror, str(given)) from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # keep the replaced file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def load_results(path: str | Path) -> ChoiceResults:
    """Read results written by :meth:`ChoiceResults.save`.

    The file's structure is checked before anything is built from it: its format version,
    the fields and their types, the shapes of the estimates and the covariance, the model
    kind. Files of format version 1 (which wrote non-finite floats as bare ``NaN`` tokens)
    are read too.

    Parameters
    ----------
    path : str or pathlib.Path
        A JSON file written by :meth:`ChoiceResults.save`.

    Returns
    -------
    ChoiceResults
        Equal in every field to the saved results, without ``model``: pass ``data=`` to
        :meth:`~ChoiceResults.predict` and :meth:`~ChoiceResults.elasticities`.

    Raises
    ------
    SpecificationError
        If the file is not valid results (truncated, altered, or another kind of file): the
        message names the file and what is wrong with it.
    OSError
        If the file cannot be read (it does not exist, permissions).

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "logit.json"
    >>> r.save(path)
    >>> loaded = cm.load_results(path)
    >>> loaded.model is None, loaded.llf == r.llf
    (True, True)
    >>> loaded.predict(df).shape
    (210, 4)
    """
    data = Path(path).read_bytes()
    try:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _Invalid(f"it is not UTF-8 text (byte {err.start})") from None
        try:
            fields_ = _fields_from_file(json.loads(text))
        except json.JSONDecodeError as err:
            raise _Invalid(
                f"it is not complete JSON ({err.msg} at line {err.lineno}, column {err.colno}; "
                f"the file has {len(data)} bytes and may be truncated)"
            ) from None
        except RecursionError:
            raise _Invalid("it is nested too deeply to be results") from None
    except _Invalid as err:
        raise SpecificationError(f"cannot load results from {str(path)!r}: {err}.") from None
    return ChoiceResults(**fields_)
