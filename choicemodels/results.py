"""Results of a fitted choice model: estimates, inference, summary, save and load."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.exceptions import SpecificationError

if TYPE_CHECKING:
    from choicemodels.models.base import ChoiceModel

__all__ = ["ChoiceResults", "Summary", "RatioResult", "load_results"]

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class RatioResult:
    r"""A ratio of two coefficients, :math:`\hat b_n / \hat b_d`, with its delta-method error."""

    numerator: str
    denominator: str
    estimate: float
    se: float
    conf_int: tuple[float, float]
    alpha: float = 0.05

    def __str__(self) -> str:
        lo, hi = self.conf_int
        return (
            f"{self.numerator} / {self.denominator} = {self.estimate:.6g} "
            f"(se {self.se:.4g}; {100 * (1 - self.alpha):g}% CI [{lo:.6g}, {hi:.6g}])"
        )


@dataclass(frozen=True)
class Summary:
    """Printable summary of results: ``str()`` / ``as_text()`` and ``as_html()``."""

    title: str
    info: tuple[tuple[str, str], ...]
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def as_text(self) -> str:
        width = 78
        half = (len(self.info) + 1) // 2
        left, right = self.info[:half], self.info[half:]
        lines = [self.title.center(width), "=" * width]
        for i in range(half):
            a = f"{left[i][0] + ':':<20}{left[i][1]:>18}"
            b = f"{right[i][0] + ':':<20}{right[i][1]:>18}" if i < len(right) else ""
            lines.append(f"{a}  {b}".rstrip())
        lines.append("=" * width)
        tab = self.table.copy()
        body = tab.to_string(float_format=lambda v: f"{v:.4f}")
        lines.extend(body.splitlines())
        lines.append("=" * width)
        lines.extend(self.notes)
        return "\n".join(lines)

    def as_html(self) -> str:
        info = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in self.info)
        notes = "".join(f"<p>{n}</p>" for n in self.notes)
        return (
            f"<h4>{self.title}</h4><table>{info}</table>"
            f"{self.table.to_html(float_format=lambda v: f'{v:.4f}')}{notes}"
        )

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


@dataclass(frozen=True, eq=False)
class ChoiceResults:
    """Results of a fitted logit or probit model.

    Primary quantities are fields; everything else is derived. ``model`` links back to the
    fitted model (absent after :func:`load_results`; pass ``data=`` to predict then).
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
    model: ChoiceModel | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("estimates", "covariance"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # ---- estimates and inference ---------------------------------------------------
    @property
    def params(self) -> pd.Series:
        return pd.Series(self.estimates, index=list(self.param_names), name="params")

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.covariance)), index=list(self.param_names), name="bse")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.bse).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=list(self.param_names), name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals: columns ``0`` (lower) and ``1`` (upper), as in statsmodels."""
        z = stats.norm.isf(alpha / 2)
        p, s = self.params, self.bse
        return pd.DataFrame({0: p - z * s, 1: p + z * s})

    def cov_params(self) -> pd.DataFrame:
        names = list(self.param_names)
        return pd.DataFrame(self.covariance, index=names, columns=names)

    def wald_test(self, restrictions: str | list[str] | np.ndarray, q: float | np.ndarray | None = None):
        """Wald (chi-square) test of linear restrictions on the coefficients.

        ``restrictions``: text, e.g. ``"gc = ttme"`` or ``"gc = ttme, hinc:air = 0"``, or a
        matrix R (r, P) with right-hand sides ``q`` (default 0). Returns a
        :class:`~choicemodels.inference.TestResult` (statistic, df, p_value); see
        :func:`~choicemodels.inference.wald_test`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
        >>> r.wald_test("gc = ttme").df
        1
        """
        from choicemodels.inference import wald_test

        return wald_test(self, restrictions, q)

    def t_test(
        self, restrictions: str | list[str] | np.ndarray, q: float | np.ndarray | None = None,
        *, alpha: float = 0.05,
    ) -> pd.DataFrame:
        """One z test per linear restriction: a DataFrame with the estimate of ``R b - q``,
        its standard error, z, P>|z| and confidence bounds; see
        :func:`~choicemodels.inference.t_test`."""
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
        return -2.0 * self.llf + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        return -2.0 * self.llf + np.log(self.nobs) * self.k_params

    @property
    def beta(self) -> pd.Series:
        """The utility coefficients (without covariance parameters)."""
        return self.params.iloc[: self.n_beta]

    # ---- model-based quantities -----------------------------------------------------
    def _model_for(self, data: pd.DataFrame | None) -> ChoiceModel:
        if data is not None:
            from choicemodels.models.base import model_from_spec

            return model_from_spec(self.spec, data)
        if self.model is None:
            raise SpecificationError(
                "these results were loaded from a file and hold no data; pass data= "
                "(a long DataFrame with the model's columns)."
            )
        return self.model

    def predict(
        self, data: pd.DataFrame | None = None, *, kind: Literal["probability", "utility"] = "probability"
    ) -> pd.DataFrame:
        """Choice probabilities (or systematic utilities), one row per situation."""
        model = self._model_for(data)
        if kind == "probability":
            values = model.predict(self.estimates)
        elif kind == "utility":
            values = model.utilities(self.estimates)
        else:
            raise SpecificationError(f"kind must be 'probability' or 'utility', got {kind!r}.")
        return model.frame(values)

    def loglike_obs(self) -> np.ndarray:
        """(N,) log-likelihood contribution of each situation at the estimate (unweighted)."""
        return self._model_for(None).loglike_obs(self.estimates)

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
        """
        return self._model_for(data).elasticities(self.estimates, variable, kind=kind)

    def elasticity_se(self, variable: str, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Delta-method standard errors of :meth:`elasticities`."""
        model = self._model_for(data)
        jac = model.elasticity_jacobian(self.estimates, variable)  # (rows*cols, P)
        var = np.einsum("ap,pq,aq->a", jac, self.covariance, jac)
        point = model.elasticities(self.estimates, variable)
        return pd.DataFrame(np.sqrt(var).reshape(point.shape), index=point.index, columns=point.columns)

    def marginal_effects(
        self, variable: str, data: pd.DataFrame | None = None, *, kind: str = "mean"
    ) -> pd.DataFrame:
        r"""Marginal effects :math:`\partial P_k / \partial x_j` (rows j, columns k); ``kind`` as in :meth:`elasticities`."""
        return self._model_for(data).elasticities(self.estimates, variable, marginal=True, kind=kind)

    def wtp(self, numerator: str, denominator: str, alpha: float = 0.05) -> RatioResult:
        r"""Ratio of two coefficients, e.g. willingness to pay for time.

        The ratio :math:`b_n / b_d` with delta-method standard error
        :math:`\sqrt{g' V g}`, :math:`g = (1/b_d, -b_n/b_d^2)`. Willingness to pay for a
        unit of a good attribute is usually quoted as ``-wtp(attribute, cost)``.
        """
        for name in (numerator, denominator):
            if name not in self.param_names:
                raise SpecificationError(
                    f"unknown coefficient {name!r}; the model has {list(self.param_names)}."
                )
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
        """
        if self.model_name != "Probit":
            raise SpecificationError(
                f"error_covariance() is defined for probit results; a {self.model_name} has "
                "no estimated error covariance (its errors are iid with a fixed scale)."
            )
        from choicemodels.models.probit import error_covariance

        return error_covariance(self.spec, self.estimates[self.n_beta:])

    def error_correlation(self) -> pd.DataFrame:
        """Correlation matrix of :meth:`error_covariance`."""
        cov = self.error_covariance()
        sd = np.sqrt(np.diag(cov.to_numpy()))
        return cov / np.outer(sd, sd)

    def refit_without(self, omit: list) -> ChoiceResults:
        """The same model fitted without the alternatives in ``omit`` (and the situations choosing them)."""
        model = self._model_for(None)
        return model.without_alternatives(omit).fit(cov_type="nonrobust")

    # ---- rendering ------------------------------------------------------------------
    def summary(self, alpha: float = 0.05) -> Summary:
        ci = self.conf_int(alpha)
        lo, hi = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
        table = pd.DataFrame(
            {"coef": self.params, "std err": self.bse, "z": self.tvalues,
             "P>|z|": self.pvalues, lo: ci[0], hi: ci[1]}
        )
        info = (
            ("Model", self.model_name),
            ("Alternatives", str(len(self.alternatives))),
            ("Situations", str(self.nobs)),
            ("Parameters", str(self.k_params)),
            ("Covariance", self.cov_type),
            ("Converged", str(self.converged)),
            ("Iterations", str(self.n_iter)),
            ("Log-likelihood", f"{self.llf:.4f}"),
            ("LL equal shares", f"{self.llnull:.4f}"),
            ("LL constants only", f"{self.ll_constants:.4f}"),
            ("rho2", f"{self.rho2:.4f}"),
            ("adj. rho2", f"{self.rho2_adj:.4f}"),
            ("AIC", f"{self.aic:.2f}"),
            ("BIC", f"{self.bic:.2f}"),
        ) + self.extra_info
        notes = []
        if self.cov_note:
            notes.append(f"Standard errors are not available: {self.cov_note}.")
        if not self.converged:
            notes.append(f"The optimiser did not converge: {self.message}")
        ref = self.spec.get("ref")
        if ref is not None:
            notes.append(f"Reference alternative: {ref}.")
        return Summary(f"{self.model_name} results", info, table, tuple(notes))

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    # ---- persistence ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format_version": _FORMAT_VERSION}
        for f in fields(self):
            if f.name == "model":
                continue
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = _plain(value)
        return out

    def save(self, path: str | Path) -> None:
        """Write the results to a JSON file (lossless: floats are written with full precision)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))


def _plain(value: Any) -> Any:
    """Numpy scalars and containers to plain Python for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_results(path: str | Path) -> ChoiceResults:
    """Read results written by :meth:`ChoiceResults.save`."""
    raw = json.loads(Path(path).read_text())
    version = raw.pop("format_version", None)
    if version != _FORMAT_VERSION:
        raise SpecificationError(f"{path}: unknown results format version {version!r}.")
    raw["param_names"] = tuple(raw["param_names"])
    raw["alternatives"] = tuple(raw["alternatives"])
    raw["extra_info"] = tuple(tuple(x) for x in raw["extra_info"])
    raw["estimates"] = np.array(raw["estimates"], dtype=float)
    k = len(raw["param_names"])
    raw["covariance"] = np.array(raw["covariance"], dtype=float).reshape(k, k)
    return ChoiceResults(**raw)
