"""Fitted models side by side: the :class:`Comparison` tables and :func:`compare`.

Coefficients on a common error scale (:mod:`choicemodels.scales` explains why the raw
coefficients differ), scale-free ratios, fit statistics, predicted shares, tests
(likelihood ratio, Vuong) and elasticities, rendered as one summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.compare_plot import plot_comparison
from choicemodels.exceptions import SpecificationError
from choicemodels.inference import (
    TestResult,
    lr_test,
    paired_loglike_differences,
    situation_order,
    vuong_test,
)
from choicemodels.rendering import PrintsAsSummary, Summary, Table
from choicemodels.scales import LOGIT_SCALE, SLOPE_RATIO, error_scale

if TYPE_CHECKING:
    from choicemodels.results import ChoiceResults

__all__ = ["Comparison", "compare"]


# how a model kind is named in the tables (default: its model_name in lower case)
_NAMES = {"NestedLogit": "nested logit", "MixedLogit": "mixed logit",
          "CrossNestedLogit": "cross-nested logit"}


def display_name(model_name: str, cov: str | None = None) -> str:
    """A model's name in tables: ``"logit"``, ``"nested logit"``, ``"probit (iid)"``."""
    name = _NAMES.get(model_name, model_name.lower())
    return f"{name} ({cov})" if cov else name


def _label(result: ChoiceResults) -> str:
    return display_name(result.model_name, result.spec.get("options", {}).get("cov"))


def _restricts(small: ChoiceResults, big: ChoiceResults) -> bool:
    """Whether ``small`` is ``big`` with some parameters fixed (the LR test applies).

    Within a family: fewer parameters and coefficients among the other's (iid probit in
    unstructured probit, a smaller logit in a larger one). Across: a logit is the nested
    logit with every ``iv`` at 1, an interior point of the parameter space; and the mixed
    logit with every standard deviation at 0, a point on the boundary (see :func:`_boundary`).
    """
    if small.k_params >= big.k_params or not set(small.beta.index) <= set(big.beta.index):
        return False
    kinds = (small.model_name, big.model_name)
    return kinds[0] == kinds[1] or kinds in (("Logit", "NestedLogit"), ("Logit", "MixedLogit"))


def _boundary(small: ChoiceResults, big: ChoiceResults) -> bool:
    """Whether the restriction puts parameters on the boundary of the parameter space:
    a logit inside a mixed logit, whose standard deviations are 0 under the null."""
    return small.model_name != "MixedLogit" and big.model_name == "MixedLogit"


def _unique(labels: list[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} #{seen[lab]}")
    return tuple(out)


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(PrintsAsSummary):
    r"""Fitted choice models side by side.

    Only :math:`\beta/\sigma` is identified. The logit's errors are standard Gumbel (so that,
    by the Gumbel-max trick, :math:`\arg\max_j(V_j + \varepsilon_j)` has the softmax
    probabilities) with standard deviation :math:`\sigma = \pi/\sqrt 6 \approx 1.2825`; the
    iid probit's are :math:`N(0, 1)`, :math:`\sigma = 1`. So logit :math:`\beta / 1.2825`
    compares with iid-probit :math:`\beta`; ``coef / scale`` in :meth:`table` does this for
    every model (:func:`error_scale`; a nested logit's :math:`\sigma` comes from its error
    differences against the reference, correlated by :math:`1 - \lambda_k^2` within a nest). In the binary case the textbook logit/probit ratio
    1.6-1.8 refers to a probit whose error difference has variance 1; ours has variance 2,
    so the ratio here is 1.6/:math:`\sqrt 2` to 1.8/:math:`\sqrt 2`, i.e. 1.128 (equal slopes
    at P = 1/2) to 1.283 (equal variances). The printed notes give the ratio measured on
    the data at hand.

    Built by :func:`compare` or :func:`compare_models`; the parameters are also the
    attributes of the same names.

    Parameters
    ----------
    results : tuple of ChoiceResults
        Fitted results (logit, probit, ...) of the same choice situations.
    labels : tuple of str
        One name per model (default: ``"logit"``, ``"probit (iid)"``, ...).
    ratio_to : str, optional
        Coefficient that the scale-free ratios divide by (default: the first
        coefficient of the first model that every model has and that is not a constant).
    variable : str, optional
        Variable of the elasticity matrices (default: ``ratio_to``).
    remarks : tuple of str, optional
        Extra lines printed with the notes.

    Notes
    -----
    ``table()`` gives the coefficients; ``fit_statistics()``, ``shares()``, ``tests()``,
    ``elasticities()`` and ``scale_ratios()`` the rest; ``print(c)`` shows everything.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
    ...                       ref="car", probit_cov="iid")
    >>> c.labels, c.ratio_to
    (('logit', 'probit (iid)'), 'gc')
    >>> c.scales.round(4).tolist()
    [1.2825, 1.0]
    """

    results: tuple[ChoiceResults, ...]
    labels: tuple[str, ...]
    ratio_to: str | None = None
    variable: str | None = None
    remarks: tuple[str, ...] = ()

    # ---- coefficients -------------------------------------------------------------
    @cached_property
    def coefficient_names(self) -> list[str]:
        """Utility coefficients (no covariance parameters), in order of first appearance."""
        names: list[str] = []
        for r in self.results:
            names += [n for n in r.beta.index if n not in names]
        return names

    @cached_property
    def scales(self) -> pd.Series:
        r"""Error scale :math:`\sigma` of each model (:func:`error_scale`)."""
        return pd.Series([error_scale(r) for r in self.results], index=list(self.labels), name="scale")

    def _side_by_side(self, series: list[pd.Series]) -> pd.DataFrame:
        frame = pd.concat(series, axis=1, keys=list(self.labels))
        return frame.reindex(self.coefficient_names)

    def coefficients(self, *, scaled: bool = False) -> pd.DataFrame:
        r"""Utility coefficients, one column per model; ``scaled=True`` divides by the error scale.

        Parameters
        ----------
        scaled : bool, default False
            Divide each model's coefficients by its error scale :math:`\sigma`
            (:attr:`scales`), giving :math:`\beta/\sigma`, comparable across models.

        Returns
        -------
        pandas.DataFrame
            Rows :attr:`coefficient_names` (NaN where a model lacks the coefficient), one column
            per model.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.coefficients(scaled=True).loc[["gc", "ttme"]].round(4)
               logit  probit (iid)
        gc   -0.0085       -0.0082
        ttme -0.0744       -0.0578
        """
        cols = [r.beta / (s if scaled else 1.0) for r, s in zip(self.results, self.scales)]
        return self._side_by_side(cols)

    def std_errors(self, *, scaled: bool = False) -> pd.DataFrame:
        r"""Standard errors of :meth:`coefficients` (scaled ones treat the scale as known).

        Parameters
        ----------
        scaled : bool, default False
            Divide by each model's error scale :math:`\sigma`, as in :meth:`coefficients`.

        Returns
        -------
        pandas.DataFrame
            Same layout as :meth:`coefficients`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.std_errors().loc[["gc", "ttme"]].round(4)
               logit  probit (iid)
        gc    0.0046        0.0032
        ttme  0.0105        0.0060
        """
        cols = [r.bse.iloc[: r.n_beta] / (s if scaled else 1.0) for r, s in zip(self.results, self.scales)]
        return self._side_by_side(cols)

    def ratios(self) -> pd.DataFrame:
        r"""Scale-free ratios :math:`\beta_k / \beta_{ratio\_to}`, one column per model.

        Returns
        -------
        pandas.DataFrame
            Same layout as :meth:`coefficients`; the row ``ratio_to`` is 1.

        Raises
        ------
        SpecificationError
            If no coefficient is shared by every model (``ratio_to`` is None).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.ratios().loc[["gc", "ttme"]].round(3)  # ttme / gc: dollars per minute
              logit  probit (iid)
        gc    1.000         1.000
        ttme  8.736         7.059
        """
        if self.ratio_to is None:
            raise SpecificationError("no coefficient is shared by every model; pass ratio_to=.")
        return self._side_by_side([r.beta / r.beta[self.ratio_to] for r in self.results])

    def table(self) -> pd.DataFrame:
        """Coefficients side by side: raw, standard errors, scale-normalised, ratios.

        Columns are a two-level index (quantity, model).

        Returns
        -------
        pandas.DataFrame
            Rows :attr:`coefficient_names`; quantities ``coef``, ``std err``, ``coef / scale``
            and, when ``ratio_to`` is set, ``ratio to <ratio_to>``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> t = c.table()
        >>> list(dict.fromkeys(t.columns.get_level_values("quantity")))
        ['coef', 'std err', 'coef / scale', 'ratio to gc']
        >>> t.shape
        (8, 8)
        """
        parts = {"coef": self.coefficients(), "std err": self.std_errors(),
                 "coef / scale": self.coefficients(scaled=True)}
        if self.ratio_to is not None:
            parts[f"ratio to {self.ratio_to}"] = self.ratios()
        return pd.concat(parts, axis=1, names=["quantity", "model"])

    def scale_ratios(self) -> pd.DataFrame:
        r"""Logit / probit coefficient ratios measured on these data, per shared coefficient.

        One column per (logit, probit) pair; the row ``"expected"`` is
        :math:`\sigma_{logit}/\sigma_{probit}`, the ratio the error scales imply.

        Returns
        -------
        pandas.DataFrame
            Rows: the shared coefficients, then ``"expected"``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.scale_ratios().loc[["gc", "expected"]].round(3)
                  logit / probit (iid)
        gc                       1.334
        expected                 1.283
        """
        cols = {}
        for i, a in enumerate(self.results):
            for j, b in enumerate(self.results):
                if a.model_name == "Logit" and b.model_name != "Logit":
                    shared = [n for n in a.beta.index if n in b.beta.index]
                    ratio = a.beta[shared] / b.beta[shared]
                    expected = pd.Series({"expected": self.scales.iloc[i] / self.scales.iloc[j]})
                    cols[f"{self.labels[i]} / {self.labels[j]}"] = pd.concat([ratio, expected])
        return pd.DataFrame(cols)

    def measured_scale_ratio(self, *, min_abs_z: float = 2.0) -> pd.DataFrame:
        r"""Median logit / probit coefficient ratio per (logit, probit) pair.

        Over the shared coefficients with :math:`|z| \ge` ``min_abs_z`` in both models: the
        ratio of two estimates that are mostly noise (a constant near 0) says nothing about
        the scales. Columns ``median``, ``coefficients`` (how many), ``expected``
        (:math:`\sigma_{logit}/\sigma_{probit}`).

        Parameters
        ----------
        min_abs_z : float, default 2.0
            Smallest absolute z statistic, in both models, of a coefficient that is used.

        Returns
        -------
        pandas.DataFrame
            One row per (logit, probit) pair.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.measured_scale_ratio().round(3)
                              median  coefficients  expected
        logit / probit (iid)    1.53           6.0     1.283
        """
        rows = {}
        for i, a in enumerate(self.results):
            for j, b in enumerate(self.results):
                if a.model_name == "Logit" and b.model_name != "Logit":
                    za, zb = a.tvalues.iloc[: a.n_beta], b.tvalues.iloc[: b.n_beta]
                    used = [n for n in a.beta.index
                            if n in b.beta.index and abs(za[n]) >= min_abs_z and abs(zb[n]) >= min_abs_z]
                    ratio = a.beta[used] / b.beta[used]
                    rows[f"{self.labels[i]} / {self.labels[j]}"] = {
                        "median": float(ratio.median()) if used else np.nan,
                        "coefficients": len(used),
                        "expected": float(self.scales.iloc[i] / self.scales.iloc[j]),
                    }
        return pd.DataFrame(rows, index=["median", "coefficients", "expected"]).T

    # ---- fit ----------------------------------------------------------------------
    @cached_property
    def _predictions(self) -> list[np.ndarray | None]:
        return [None if r.model is None else r.model.predict(r.estimates) for r in self.results]

    def _design(self):
        for r in self.results:
            if r.model is not None:
                return r.model.design
        return None

    def fit_statistics(self) -> pd.DataFrame:
        """Log-likelihood, parameters, rho2, AIC, BIC, hit rate and fit time, one row per model.

        The hit rate is the (weighted) share of situations whose chosen alternative has the
        highest predicted probability.

        Returns
        -------
        pandas.DataFrame
            Columns ``log-likelihood``, ``parameters``, ``rho2``, ``adj. rho2``, ``AIC``,
            ``BIC``, ``hit rate``, ``fit time (s)``, ``converged``; one row per model.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.fit_statistics()["log-likelihood"].astype(float).round(3)
        logit          -189.525
        probit (iid)   -197.173
        Name: log-likelihood, dtype: float64
        """
        rows = {}
        for lab, r, p in zip(self.labels, self.results, self._predictions):
            hit = np.nan
            if p is not None:
                d = r.model.design
                hits = (np.argmax(p, axis=1) == d.chosen).astype(float)
                hit = float(np.average(hits, weights=d.weights))
            rows[lab] = {
                "log-likelihood": r.llf, "parameters": r.k_params, "rho2": r.rho2,
                "adj. rho2": r.rho2_adj, "AIC": r.aic, "BIC": r.bic, "hit rate": hit,
                "fit time (s)": r.fit_time, "converged": r.converged,
            }
        return pd.DataFrame(rows).T

    def shares(self) -> pd.DataFrame:
        """Observed choice shares and each model's mean predicted probabilities (weighted).

        A logit with a full set of constants reproduces the observed shares exactly.

        Returns
        -------
        pandas.DataFrame
            One row per alternative; columns ``observed`` and one per model.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.shares().round(4)  # doctest: +NORMALIZE_WHITESPACE
                     observed   logit  probit (iid)
        alternative
        air            0.2762  0.2762        0.2911
        bus            0.1429  0.1429        0.1335
        car            0.2810  0.2810        0.2691
        train          0.3000  0.3000        0.3062
        """
        d = self._design()
        alts = list(self.results[0].alternatives)
        cols = {}
        if d is not None:
            chosen = np.zeros((d.n_obs, d.n_alts))
            chosen[np.arange(d.n_obs), d.chosen] = 1.0
            cols["observed"] = np.average(chosen, axis=0, weights=d.weights)
        for lab, r, p in zip(self.labels, self.results, self._predictions):
            if p is not None:
                cols[lab] = np.average(p, axis=0, weights=r.model.design.weights)
        return pd.DataFrame(cols, index=pd.Index(alts, name="alternative"))

    # ---- tests --------------------------------------------------------------------
    def tests(self) -> pd.DataFrame:
        r"""Pairwise tests: Vuong's for models of different families, LR for nested ones.

        Vuong: :math:`z = \sum_i m_i / (\sqrt N \operatorname{sd}(m))` with
        :math:`m_i = \ell_{a,i} - \ell_{b,i}`, and the Schwarz-corrected
        :math:`z_S = (\sum_i m_i - \tfrac{k_a - k_b}{2} \log N) / (\sqrt N \operatorname{sd}(m))`;
        two-sided p-values; positive z favours the first model. Models of one family whose
        coefficients include the other's and that have more parameters (iid probit inside
        unstructured probit, a logit inside a larger logit), and a logit beside a nested
        logit with the same coefficients (the logit is every ``iv`` at 1), are taken as
        nested, where Vuong's normal limit does not apply: they get the LR test. So does a
        logit beside a mixed logit with the same coefficients (every standard deviation at
        0): ``"LR (boundary)"``, whose p-value from :math:`\chi^2_{df}` is conservative
        (the null puts the standard deviations on the boundary, where the statistic's
        limit is a mixture of chi-squares, :math:`\bar\chi^2`). With a panel mixed logit,
        Vuong's :math:`m_i` are per person: each model's log-likelihood summed over the
        person's situations.

        Returns
        -------
        pandas.DataFrame
            One row per pair of models (``"a vs b"``); columns ``test``, ``statistic``,
            ``p-value``, ``Schwarz z``, ``Schwarz p-value``, ``df``, ``favours``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> row = c.tests().loc["logit vs probit (iid)"]
        >>> row["test"], round(float(row["statistic"]), 4), row["favours"]
        ('Vuong', 3.7918, 'logit')
        """
        rows = []
        for i in range(len(self.results)):
            for j in range(i + 1, len(self.results)):
                a, b = self.results[i], self.results[j]
                pair = f"{self.labels[i]} vs {self.labels[j]}"
                small, big = (a, b) if a.k_params <= b.k_params else (b, a)
                if not _restricts(small, big):
                    rows.append(_vuong_row(pair, a, b, self.labels[i], self.labels[j]))
                    continue
                t = lr_test(small, big)
                test = "LR (boundary)" if _boundary(small, big) else "LR (nested)"
                rows.append({"pair": pair, "test": test, "statistic": t.statistic,
                             "p-value": t.p_value, "Schwarz z": np.nan,
                             "Schwarz p-value": np.nan, "df": t.df, "favours": ""})
        cols = ["test", "statistic", "p-value", "Schwarz z", "Schwarz p-value", "df", "favours"]
        if not rows:
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(rows).set_index("pair")[cols]

    # ---- substitution -------------------------------------------------------------
    @cached_property
    def _elasticities(self) -> dict[str, pd.DataFrame]:
        if self.variable is None:
            return {}
        return {lab: r.elasticities(self.variable) for lab, r in zip(self.labels, self.results)}

    def elasticities(self) -> dict[str, pd.DataFrame]:
        """Mean elasticity matrix of each model with respect to ``variable``.

        Rows: the alternative whose variable changes; columns: the responding probability.
        Under logit's IIA the cross-elasticities in a row are equal (proportional
        substitution); a probit with correlated errors lets them differ.

        Returns
        -------
        dict of str to pandas.DataFrame
            One matrix per model label (empty when ``variable`` is None), as
            :meth:`ChoiceResults.elasticities <choicemodels.ChoiceResults.elasticities>`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.elasticities()["logit"].round(3)  # doctest: +NORMALIZE_WHITESPACE
        responding    air    bus    car  train
        changed
        air        -0.802  0.320  0.320  0.320
        bus         0.168 -1.092  0.168  0.168
        car         0.293  0.293 -0.749  0.293
        train       0.353  0.353  0.353 -1.069
        """
        return dict(self._elasticities)

    def cross_elasticity_spread(self) -> pd.Series:
        r"""Largest over rows of :math:`(\max - \min) / |\text{mean}|` of the cross-elasticities.

        Zero (up to differencing error) under IIA; clearly positive when substitution is
        not proportional.

        Returns
        -------
        pandas.Series
            One value per model with a square elasticity matrix.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> c.cross_elasticity_spread().round(3)
        logit           0.000
        probit (iid)    0.257
        Name: cross-elasticity spread, dtype: float64
        """
        out = {}
        for lab, e in self._elasticities.items():
            m = e.to_numpy()
            if m.shape[0] != m.shape[1]:
                continue
            spreads = []
            for j in range(m.shape[0]):
                cross = np.delete(m[j], j)
                cross = cross[np.isfinite(cross)]
                if cross.size > 1 and np.abs(cross.mean()) > 0:
                    spreads.append((cross.max() - cross.min()) / abs(cross.mean()))
            out[lab] = max(spreads) if spreads else np.nan
        return pd.Series(out, name="cross-elasticity spread", dtype=float)

    @property
    def nests(self) -> dict[str, list] | None:
        """The nests of the first nested logit among the models (nest name -> alternatives), or None."""
        for r in self.results:
            nests = r.spec.get("options", {}).get("nests")
            if nests is not None:
                return {k: list(v) for k, v in nests.items()}
        return None

    def _nest_of(self, nests: Mapping[str, Sequence] | None) -> dict[str, str] | None:
        """Alternative label (as text) -> its nest, from ``nests`` or :attr:`nests`."""
        nests = self.nests if nests is None else nests
        if nests is None:
            return None
        alternatives = [str(a) for a in self.results[0].alternatives]
        home: dict[str, str] = {}
        for name, members in nests.items():
            for a in members:
                if str(a) not in alternatives:
                    raise SpecificationError(
                        f"nest {name!r} names {a!r}, which is not an alternative; the "
                        f"alternatives are {alternatives}.")
                if str(a) in home:
                    raise SpecificationError(
                        f"alternative {a!r} is in nests {home[str(a)]!r} and {name!r}; put it in one.")
                home[str(a)] = str(name)
        # an alternative left out stands in a nest of its own
        return {a: home.get(a, f"({a})") for a in alternatives}

    def _square_elasticities(self) -> dict[str, pd.DataFrame]:
        if self.variable is None:
            raise SpecificationError("no elasticity variable: pass variable= to compare.")
        mats = self._elasticities
        if any(e.shape[0] != e.shape[1] for e in mats.values()):
            raise SpecificationError(
                f"{self.variable!r} is a situation-level variable (one elasticity row, 'all'); "
                "cross-elasticities need an attribute that varies over the alternatives.")
        return mats

    def cross_elasticities(self, nests: Mapping[str, Sequence] | None = None) -> pd.DataFrame:
        r"""Cross-elasticities side by side: how each model lets the alternatives substitute.

        Entry (m, i) of a model is its mean :math:`\partial \log P_i / \partial \log x_m`
        for ``variable`` x, m the alternative whose x changes and i another one (as in
        :meth:`elasticities`). Under the logit's IIA all entries of one m are equal; a nested
        logit makes them larger within m's nest (by :math:`(1/\lambda_k - 1) P_{m|k}`
        before weighting, Train 2009, sec. 4.2.3); a probit's follow its error correlations.

        Parameters
        ----------
        nests : dict of str to list, optional
            Nest name -> alternatives, to mark the pairs within a nest; default :attr:`nests`
            (the nested logit's). An alternative in no nest stands alone.

        Returns
        -------
        pandas.DataFrame
            Rows: the (``changed``, ``responding``) pairs of distinct alternatives; columns:
            ``same nest`` (when nests are known), then one per model.

        Raises
        ------
        SpecificationError
            Without ``variable``, for a situation-level variable, or for nests that name
            unknown alternatives or one alternative twice.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
        >>> nests = {"fly": ["air"], "ground": ["train", "bus", "car"]}
        >>> c = cm.compare(cm.Logit("choice ~ gc + ttme | hinc", **kw).fit(),
        ...                cm.NestedLogit("choice ~ gc + ttme | hinc", **kw, nests=nests).fit())
        >>> c.cross_elasticities().loc["train"].round(3)  # doctest: +NORMALIZE_WHITESPACE
                    same nest  logit  nested logit
        responding
        air             False  0.353         0.387
        bus              True  0.353         0.668
        car              True  0.353         0.668
        """
        mats = self._square_elasticities()
        home = self._nest_of(nests)
        first = next(iter(mats.values()))
        pairs = [(m, i) for m in first.index for i in first.columns if m != i]
        index = pd.MultiIndex.from_tuples(pairs, names=["changed", "responding"])
        cols: dict[str, Any] = {}
        if home is not None:
            cols["same nest"] = [home[str(m)] == home[str(i)] for m, i in pairs]
        for lab, e in mats.items():
            cols[lab] = [float(e.loc[m, i]) for m, i in pairs]
        return pd.DataFrame(cols, index=index)

    def nest_substitution(self, nests: Mapping[str, Sequence] | None = None) -> pd.DataFrame:
        r"""Within-nest against across-nest cross-elasticities, one row per model.

        For each alternative m with a partner in its own nest and one outside it, the ratio
        of its mean within-nest to its mean across-nest cross-elasticity (from
        :meth:`cross_elasticities`); ``within / across`` averages these ratios over m. The
        logit's is 1 (IIA: proportional substitution); a nested logit with
        :math:`\lambda < 1` gives more than 1, the red bus drawing more from the blue bus
        than from the car; a probit's follows its estimated error correlations.

        Parameters
        ----------
        nests : dict of str to list, optional
            As for :meth:`cross_elasticities`; default :attr:`nests`.

        Returns
        -------
        pandas.DataFrame
            Columns ``within nest`` and ``across nests`` (means of the cross-elasticities of
            each kind) and ``within / across``; one row per model.

        Raises
        ------
        SpecificationError
            Without nests, or when no alternative has partners both inside and outside
            its nest, or as :meth:`cross_elasticities`.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
        >>> nests = {"fly": ["air"], "ground": ["train", "bus", "car"]}
        >>> c = cm.compare(cm.Logit("choice ~ gc + ttme | hinc", **kw).fit(),
        ...                cm.NestedLogit("choice ~ gc + ttme | hinc", **kw, nests=nests).fit())
        >>> c.nest_substitution()["within / across"].round(3)
        logit           1.000
        nested logit    1.804
        Name: within / across, dtype: float64
        """
        if self.nests is None and nests is None:
            raise SpecificationError("no nests to split the cross-elasticities by: pass nests=.")
        table = self.cross_elasticities(nests)
        same = table.pop("same nest").to_numpy(bool)
        changed = table.index.get_level_values("changed")
        rows = {}
        for lab in table.columns:
            e = table[lab].to_numpy()
            ratios = []
            for m in pd.unique(changed):
                mine = np.asarray(changed == m)
                within, across = e[mine & same], e[mine & ~same]
                if within.size and across.size:
                    ratios.append(within.mean() / across.mean())
            if not ratios:
                raise SpecificationError(
                    "no alternative has partners both inside and outside its nest; the nests "
                    "put every alternative alone or all together.")
            rows[lab] = {"within nest": e[same].mean(), "across nests": e[~same].mean(),
                         "within / across": float(np.mean(ratios))}
        return pd.DataFrame(rows).T

    # ---- rendering ----------------------------------------------------------------
    def notes(self) -> tuple[str, ...]:
        """Printed notes: the scale facts and the logit/probit ratios measured on these data.

        Returns
        -------
        tuple of str
            One paragraph per note, then the ``remarks``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> print(c.notes()[1])
        Measured logit / probit (iid): median coefficient ratio 1.530 over the 6 coefficients with |z| >= 2 in both (the error scales imply 1.283); x sqrt(2) = 2.164 against a probit whose error difference has variance 1.
        """
        out = [
            ("Scale: only beta/sigma is identified. Logit errors are standard Gumbel with sd "
             f"pi/sqrt(6) = {LOGIT_SCALE:.4f}; iid probit errors have sd 1 (differences: "
             "variance 2); 'coef / scale' divides by each model's sigma."),
        ]
        if any(r.model_name == "NestedLogit" for r in self.results):
            out[0] = out[0][:-1] + (
                "; nested-logit errors are standard Gumbel with correlation 1 - iv^2 within a "
                "nest, so its sigma^2 is half the mean variance of the error differences "
                "against the reference.")
        for pair, row in self.measured_scale_ratio().iterrows():
            if row["coefficients"] == 0:
                out.append(f"Measured {pair}: no coefficient has |z| >= 2 in both models.")
                continue
            med = row["median"]
            line = (f"Measured {pair}: median coefficient ratio {med:.3f} over the "
                    f"{int(row['coefficients'])} coefficients with |z| >= 2 in both (the error "
                    f"scales imply {row['expected']:.3f})")
            if pair.endswith("(iid)"):
                line += (f"; x sqrt(2) = {med * np.sqrt(2):.3f} against a probit whose error "
                         "difference has variance 1")
            out.append(line + ".")
        out.append(
            "Binary rule of thumb: logit/probit = 1.6 (slopes at P=1/2, 4/sqrt(2 pi)) to 1.8 "
            "(variances, pi/sqrt(3)) for a probit with unit-variance error difference; for "
            f"this package's iid probit divide by sqrt(2): {SLOPE_RATIO:.3f} to {LOGIT_SCALE:.3f}."
        )
        spread = self.cross_elasticity_spread()
        if not spread.empty:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in spread.items())
            out.append(
                f"Cross-elasticity spread ((max-min)/|mean| within a row; 0 = IIA's "
                f"proportional substitution): {parts}."
            )
        for lab, r in zip(self.labels, self.results):
            ivs = [n for n in r.param_names[r.n_beta:] if n == "iv" or n.startswith("iv:")]
            if ivs:
                parts = ", ".join(
                    f"{n} = {r.params[n]:.4f} (s.e. {r.bse[n]:.4f}, z for iv = 1: "
                    f"{(r.params[n] - 1) / r.bse[n]:.2f})" for n in ivs)
                out.append(f"{lab}: {parts}; iv = 1 in every nest is the logit, 0 < iv <= 1 is "
                           "consistent with random utility.")
        substitution = self._substitution()
        if substitution:
            ratio = substitution["nest_substitution"]["within / across"]
            parts = ", ".join(f"{k} {v:.3f}" for k, v in ratio.items())
            out.append(
                "Within-nest / across-nest cross-elasticity (1 = IIA; above 1: an alternative "
                f"draws more from its own nest): {parts}."
            )
        if any(r.model_name == "MixedLogit" for r in self.results):
            out.append(
                "Mixed logit: sigma is its Gumbel kernel's, pi/sqrt(6), as the logit's, so "
                "'coef / scale' of a random coefficient is its mean (b; for a lognormal one the "
                "mean of the log) on the logit's scale; the random coefficients add "
                "heterogeneity that varies with x and is not in sigma. Its elasticities and "
                "shares are simulated with the fit's draws.")
        for lab, r in zip(self.labels, self.results):
            if r.model_name == "MixedLogit":
                spread = ", ".join(f"{n} = {r.params[n]:.4f} (s.e. {r.bse[n]:.4f})"
                                   for n in r.param_names[r.n_beta:])
                out.append(f"{lab}: {spread}; all 0 is the logit.")
        if (self.tests()["test"] == "LR (boundary)").any():
            out.append(
                "LR (boundary): the logit is the mixed logit with every standard deviation at 0, "
                "on the boundary of the parameter space, so the LR statistic's null "
                "distribution is a mixture of chi-squares (chi-bar-square; 0.5 chi2(0) + 0.5 "
                "chi2(1) for one standard deviation, Self and Liang 1987), not chi2(df); the "
                "p-value shown uses chi2(df) and is conservative (too large).")
        if self.ratio_to is not None:
            out.append(f"Ratios divide by {self.ratio_to!r}; they do not depend on the scale.")
        return tuple(out) + self.remarks

    def _tables(self) -> list[Table]:
        table = self.table()
        quantities = list(dict.fromkeys(table.columns.get_level_values(0)))
        titles = {"coef": "Coefficients", "std err": "Standard errors",
                  "coef / scale": "Coefficients on a common scale (divided by the error scale)"}
        tables = [Table(titles.get(q, f"Ratios: coefficient / {self.ratio_to} (scale-free)"), table[q])
                  for q in quantities]
        tables += [
            Table("Fit", self.fit_statistics().T),
            Table("Choice shares: observed and predicted", self.shares()),
            Table("Tests", self.tests(), {"p-value": "pvalue", "Schwarz p-value": "pvalue", "df": "count"}),
        ]
        tables += [Table(f"Elasticities w.r.t. {self.variable}: {lab} (columns: responding)", e)
                    for lab, e in self._elasticities.items()]
        substitution = self._substitution()
        if substitution:
            cross = substitution["cross_elasticities"].copy()
            cross["same nest"] = cross["same nest"].map({True: "yes", False: "no"})
            tables += [
                Table(f"Cross-elasticities w.r.t. {self.variable}, side by side", cross),
                Table("Substitution within and across nests (cross-elasticities)",
                      substitution["nest_substitution"]),
            ]
        return tables

    def _substitution(self) -> dict[str, pd.DataFrame]:
        """:meth:`cross_elasticities` and :meth:`nest_substitution` when the comparison has
        nests and an alternative-varying ``variable`` (else empty): the summary's tables."""
        mats = self._elasticities
        if self.nests is None or not mats or any(e.shape[0] != e.shape[1] for e in mats.values()):
            return {}
        out = {"cross_elasticities": self.cross_elasticities()}
        try:
            out["nest_substitution"] = self.nest_substitution()
        except SpecificationError:  # every alternative alone or all in one nest
            return {}
        return out

    def summary(self) -> Summary:
        """Every table and note as a :class:`~choicemodels.rendering.Summary`: ``print`` it, or
        ``as_text()``, ``as_html()``, ``as_latex()``, ``as_csv()``, ``as_markdown()``.

        The tables, in order: coefficients, standard errors, coefficients divided by the
        error scale, ratios to ``ratio_to`` (when set), :meth:`fit_statistics`,
        :meth:`shares`, :meth:`tests` and the :meth:`elasticities` of each model; with
        nests (a nested logit among the models) and an alternative-varying ``variable``,
        :meth:`cross_elasticities` and :meth:`nest_substitution`; then the :meth:`notes`.

        Returns
        -------
        Summary
            The tables and notes; its ``table`` is the coefficient table.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> s = c.summary()
        >>> s.title
        'Comparison of 2 models: logit, probit (iid)'
        >>> [t.title for t in s.tables][4:7]
        ['Fit', 'Choice shares: observed and predicted', 'Tests']
        >>> s.table.round(4).head(2)
        model   logit  probit (iid)
        gc    -0.0109       -0.0082
        ttme  -0.0955       -0.0578
        """
        first = self.results[0]
        formulas = list(dict.fromkeys(r.spec.get("formula") for r in self.results if r.spec.get("formula")))
        info = (("Models", str(len(self.results))), ("Situations", str(first.nobs)),
                ("Alternatives", str(len(first.alternatives))))
        right = (("Reference", str(first.spec.get("ref"))),
                 ("Ratios to", str(self.ratio_to or "none")),
                 ("Elasticities of", str(self.variable or "none")))
        lead = tuple(("Formula", f) for f in formulas)
        title = f"Comparison of {len(self.results)} models: {', '.join(self.labels)}"
        return Summary(title, info, tuple(self._tables()), self.notes(), lead, right)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-ready) form of every table and note; NaN becomes None.

        Returns
        -------
        dict
            Keys ``models``, ``ratio_to``, ``variable``, ``coefficients``, ``fit``, ``shares``,
            ``tests``, ``scale_ratios``, ``measured_scale_ratio``, ``scales``,
            ``elasticities``, ``notes``; with nests (a nested logit among the models) and an
            alternative-varying ``variable`` also ``cross_elasticities`` (rows
            ``"changed -> responding"``) and ``nest_substitution``; tables as
            ``{row: {column: value}}``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> d = c.to_dict()
        >>> d["models"], d["scales"]["probit (iid)"]
        (['logit', 'probit (iid)'], 1.0)
        """
        table = self.table()
        table.columns = [" | ".join(map(str, c)) for c in table.columns]
        out: dict[str, Any] = {"models": list(self.labels), "ratio_to": self.ratio_to,
                               "variable": self.variable}
        for key, frame in (("coefficients", table), ("fit", self.fit_statistics()),
                           ("shares", self.shares()), ("tests", self.tests()),
                           ("scale_ratios", self.scale_ratios()),
                           ("measured_scale_ratio", self.measured_scale_ratio())):
            out[key] = _records(frame)
        out["scales"] = {k: float(v) for k, v in self.scales.items()}
        out["elasticities"] = {k: _records(v) for k, v in self._elasticities.items()}
        for key, frame in self._substitution().items():
            if key == "cross_elasticities":
                frame = frame.set_axis([f"{m} -> {i}" for m, i in frame.index], axis=0)
            out[key] = _records(frame)
        out["notes"] = list(self.notes())
        return out

    def plot(self, *, alpha: float = 0.05, dpi: int = 150):
        """Matplotlib figure: each coefficient on its own panel, the elasticity heat maps below.

        Coefficients are divided by each model's error scale (:func:`error_scale`) and
        drawn with (1 - ``alpha``) intervals, one panel per coefficient so that a slope of
        0.01 is not flattened beside a constant of 5. The heat maps of the elasticity
        matrices share one colour scale (symmetric about 0). Needs matplotlib (the ``plot``
        extra).

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the coverage of the intervals drawn around the coefficients.
        dpi : int, default 150
            Resolution of the figure in dots per inch.

        Returns
        -------
        matplotlib.figure.Figure
            The figure: the coefficient panels (four per row) on top, one heat map per
            model below (with their colour bar).

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> c = cm.compare_models("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode",
        ...                       ref="car", probit_cov="iid")
        >>> fig = c.plot(alpha=0.1, dpi=72)
        >>> fig.dpi, fig.subfigs[0].get_suptitle()
        (72, 'Coefficients / error scale (90% intervals)')
        >>> [ax.get_title() for ax in fig.axes[:3]]
        ['gc', 'ttme', '(Intercept):air']
        >>> import matplotlib.pyplot as plt
        >>> plt.close(fig)
        """
        return plot_comparison(self.coefficients(scaled=True), self.std_errors(scaled=True), self.labels,
                               self._elasticities, self.variable, alpha=alpha, dpi=dpi)


def _persons(a: ChoiceResults, b: ChoiceResults) -> np.ndarray | None:
    """(N,) the person of each of ``a``'s situations when either fit is a panel mixed logit
    (its likelihood is a product over the person's situations), else None."""
    for r in (a, b):
        model = r.model
        if r.model_name == "MixedLogit" and model is not None and model.panel is not None:
            person = model._persons[1]
            if r is a:
                return person
            pos = situation_order(a, b, "Vuong's test")
            return person if pos is None else person[pos]
    return None


def _vuong_row(pair: str, a: ChoiceResults, b: ChoiceResults, la: str, lb: str) -> dict:
    m = paired_loglike_differences(a, b)  # by situation id, as vuong_test
    person = _persons(a, b)
    if person is None:
        corrected: TestResult = vuong_test(a, b)
        z_s, p_s = corrected.statistic, corrected.p_value
    else:  # per person: a panel mixed logit's log-likelihood is one term per person
        m = np.bincount(person, weights=m)
        z_s = float((m.sum() - (a.k_params - b.k_params) / 2 * np.log(m.size))
                    / (np.sqrt(m.size) * m.std(ddof=1)))
        p_s = float(2 * stats.norm.sf(abs(z_s)))
    z = float(m.sum() / (np.sqrt(m.size) * m.std(ddof=1)))
    favours = la if z_s > 0 else lb
    return {"pair": pair, "test": "Vuong", "statistic": z, "p-value": float(2 * stats.norm.sf(abs(z))),
            "Schwarz z": z_s, "Schwarz p-value": p_s, "df": np.nan,
            "favours": favours}


def _records(frame: pd.DataFrame) -> dict:
    clean = frame.astype(object).where(pd.notna(frame), None)
    return {str(i): {str(c): _plain(v) for c, v in row.items()} for i, row in clean.iterrows()}


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _default_ratio_to(results: Sequence[ChoiceResults]) -> str | None:
    for name in results[0].beta.index:
        if "Intercept" in name:
            continue
        if all(name in r.beta.index for r in results) and all(r.beta[name] != 0 for r in results):
            return name
    return None


def compare(
    *results: ChoiceResults,
    labels: Sequence[str] | None = None,
    ratio_to: str | None = None,
    variable: str | None = None,
) -> Comparison:
    """Compare fitted models of the same choice situations.

    Parameters
    ----------
    *results : ChoiceResults
        Two or more fitted results (``Logit(...).fit()``, ``Probit(...).fit()``) of the
        same N situations.
    labels : sequence of str, optional
        Names of the models (default from the model and its covariance option).
    ratio_to : str, optional
        Coefficient for the scale-free ratios (default: first shared non-constant).
    variable : str, optional
        Variable of the elasticity matrices (default: ``ratio_to``; ``""`` for none).

    Returns
    -------
    Comparison
        The models side by side; ``print()`` it or read its tables.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> kw = dict(data=df, obs="individual", alt="mode", ref="car")
    >>> c = cm.compare(cm.Logit("choice ~ gc + ttme | hinc", **kw).fit(),
    ...                cm.Probit("choice ~ gc + ttme | hinc", **kw).fit())
    >>> c.labels
    ('logit', 'probit (iid)')
    >>> c.table()["coef / scale"].loc["gc"].round(4)
    model
    logit          -0.0085
    probit (iid)   -0.0082
    Name: gc, dtype: float64
    """
    if len(results) < 2:
        raise SpecificationError(f"compare needs at least two fitted models, got {len(results)}.")
    nobs = {r.nobs for r in results}
    if len(nobs) > 1:
        raise SpecificationError(
            f"the models were fitted on different numbers of situations {sorted(nobs)}; "
            "compare models of the same data."
        )
    labels = _unique([_label(r) for r in results]) if labels is None else tuple(labels)
    if len(labels) != len(results) or len(set(labels)) != len(labels):
        raise SpecificationError(f"labels must be {len(results)} distinct names, got {list(labels)}.")
    if ratio_to is None:
        ratio_to = _default_ratio_to(results)
    else:
        missing = [lab for lab, r in zip(labels, results) if ratio_to not in r.beta.index]
        if missing:
            raise SpecificationError(
                f"ratio_to={ratio_to!r} is not a coefficient of {missing}; choose one of "
                f"{list(results[0].beta.index)}."
            )
    if variable is None:
        variable = ratio_to
    return Comparison(tuple(results), labels, ratio_to, variable or None)
