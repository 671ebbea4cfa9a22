r"""Monte Carlo studies: simulate from a known random-utility model, fit models, score them.

Each replication draws attributes :math:`x_{njk} \sim N(0, 1)` (N situations, J
alternatives, K attributes), utilities

.. math:: U_{nj} = x_{nj}'\beta + \alpha_j + T\varepsilon_{nj}

with Gumbel, iid normal, correlated normal or nested-logit (GEV) errors (:class:`DGP`),
simulates the choices (:func:`choicemodels.simulate_choices`; nested errors are drawn
exactly, not from the probabilities) and fits every model. Only scale-free quantities
are comparable across models, so the study scores

* the ratios :math:`\beta_k / \beta_1` (delta-method intervals),
* the coefficients over the error scale, :math:`\beta_k / \sigma` with :math:`\sigma^2` half
  the mean variance of the error differences against alternative 0 (intervals where the
  model fixes :math:`\sigma`: logit :math:`\pi/\sqrt 6`, iid probit 1; and for the nested
  logit, whose :math:`\sigma` is a function of its ``iv`` (:func:`choicemodels.scales.nested_error_scale`),
  by the delta method),
* the choice probabilities at an evaluation point ``x_eval`` (delta-method intervals),
  whose truth is the softmax (Gumbel), a multivariate normal orthant probability or the
  nested logit's closed form (nested errors);
* with nested errors also the coefficients themselves, ``xk`` (truth :math:`\beta_k/T`: the
  logit and the nested logit fix the scale of the Gumbel margins), and each nest's
  ``iv:<nest>`` (for the models that estimate it).

Replication r uses the r-th child of ``np.random.default_rng(rng).spawn(reps)``, so the
results do not depend on ``n_jobs``.
"""

from __future__ import annotations

import inspect
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.comparison import display_name
from choicemodels.exceptions import SpecificationError
from choicemodels.kernels.gev import nested_logit_log_probabilities
from choicemodels.progress import bar
from choicemodels.random_utility import _check_nests
from choicemodels.rendering import Summary, Table
from choicemodels.scales import LOGIT_SCALE, error_scale, nested_error_scale
from choicemodels.simulate import simulate_choices

__all__ = ["DGP", "MonteCarloResult", "monte_carlo"]

_GUMBEL_VAR = np.pi**2 / 6
_CDF_ABS_ERROR = 1e-7  # target absolute error of the true normal orthant probabilities


@dataclass(frozen=True)
class DGP:
    r"""A random-utility data-generating process with K generic attributes.

    .. math:: U_{nj} = x_{nj}'\beta + \alpha_j + T\varepsilon_{nj}, \qquad x_{njk} \sim N(0, 1)

    with :math:`\alpha_0 = 0` and errors iid standard Gumbel, normal with covariance
    ``cov`` (J, J), or nested logit (GEV: standard Gumbel margins, correlation
    :math:`1 - \lambda_k^2` within nest k) with ``nests`` and ``iv``. The parameters are also
    the attributes of the same names (stored as tuples, ``nests`` as a dict of tuples;
    ``x_eval`` filled with its default).

    Parameters
    ----------
    beta : sequence of float
        K generic coefficients (attributes named ``x1..xK``).
    n_alts : int, default 3
        Number of alternatives J >= 2.
    errors : {"gumbel", "normal", "nested"}, default "gumbel"
        ``"gumbel"`` (logit is well specified), ``"normal"`` (probit is) or ``"nested"``
        (the nested logit with ``nests`` is).
    cov : (J, J) nested sequence of float, optional
        Covariance of normal errors (symmetric positive semi-definite; default identity).
    asc : sequence of J-1 floats, optional
        Constants of alternatives 1..J-1 (alternative 0 is the reference); when given
        (zeros included) the fitted models estimate constants ``asc1..``.
    temperature : float > 0, default 1.0
        Error scale T.
    x_eval : (J, K) nested sequence of float, optional
        Attributes of the evaluation point for the probabilities; default:
        attribute 1 spread evenly over [-0.5, 0.5] across the alternatives, others 0.
    nests : dict of str to sequence of int, or list of lists of int, optional
        Nested errors only: the nests as alternative indices 0..J-1, every alternative in
        exactly one (a list names them ``nest0, nest1, ...``). Pass the same dict as
        ``nests`` of :class:`~choicemodels.NestedLogit` in ``models``.
    iv : sequence of float, or dict of str to float, optional
        Nested errors only: each nest's :math:`\lambda` in (0, 1], in the order of ``nests``
        or by name.

    Examples
    --------
    >>> import choicemodels as cm
    >>> dgp = cm.DGP(beta=(1.0, -0.5))
    >>> dgp.names, round(dgp.scale, 4)
    (['x1', 'x2'], 1.2825)
    >>> dgp.x_eval
    ((-0.5, 0.0), (0.0, 0.0), (0.5, 0.0))
    >>> bus = cm.DGP(beta=(1.0, -0.5), errors="nested", nests={"car": [0], "bus": [1, 2]},
    ...              iv=[1.0, 0.5])
    >>> bus.nests, bus.iv, round(bus.scale, 4)
    ({'car': (0,), 'bus': (1, 2)}, (1.0, 0.5), 1.2825)
    """

    beta: tuple[float, ...]
    n_alts: int = 3
    errors: Literal["gumbel", "normal"] = "gumbel"
    cov: tuple[tuple[float, ...], ...] | None = None
    asc: tuple[float, ...] | None = None
    temperature: float = 1.0
    x_eval: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)
    nests: dict[str, tuple[int, ...]] | None = None
    iv: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        beta = tuple(float(b) for b in np.atleast_1d(self.beta))
        object.__setattr__(self, "beta", beta)
        J, K = int(self.n_alts), len(beta)
        if J < 2 or K < 1 or not np.all(np.isfinite(beta)):
            raise SpecificationError(f"a DGP needs n_alts >= 2 and finite beta; got n_alts={self.n_alts}, beta={beta}.")
        if self.errors not in ("gumbel", "normal", "nested"):
            raise SpecificationError(f"errors must be 'gumbel', 'normal' or 'nested', got {self.errors!r}.")
        if self.errors == "nested":
            nest_of, lam = _check_nests(self.nests, self.iv, J)  # errors name the fault
            names = (list(self.nests) if isinstance(self.nests, Mapping)
                     else [f"nest{k}" for k in range(lam.size)])
            object.__setattr__(self, "nests", {str(n): tuple(int(j) for j in np.flatnonzero(nest_of == k))
                                               for k, n in enumerate(names)})
            object.__setattr__(self, "iv", tuple(float(v) for v in lam))
        elif self.nests is not None or self.iv is not None:
            raise SpecificationError("nests and iv apply to nested errors only; use errors='nested'.")
        if self.cov is not None:
            if self.errors != "normal":
                raise SpecificationError("cov applies to normal errors only; use errors='normal'.")
            cov = np.asarray(self.cov, dtype=float)
            if cov.shape != (J, J) or not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov)[0] < -1e-12:
                raise SpecificationError(f"cov must be a symmetric positive semi-definite ({J}, {J}) matrix.")
            object.__setattr__(self, "cov", tuple(map(tuple, cov.tolist())))
        if self.asc is not None:
            asc = tuple(float(a) for a in self.asc)
            if len(asc) != J - 1:
                raise SpecificationError(f"asc needs {J - 1} values (alternatives 1..{J - 1}), got {len(asc)}.")
            object.__setattr__(self, "asc", asc)
        if not self.temperature > 0:
            raise SpecificationError(f"temperature must be > 0, got {self.temperature!r}.")
        x_eval = np.zeros((J, K))
        x_eval[:, 0] = np.linspace(-0.5, 0.5, J)
        if self.x_eval is not None:
            x_eval = np.asarray(self.x_eval, dtype=float)
            if x_eval.shape != (J, K):
                raise SpecificationError(f"x_eval must have shape ({J}, {K}) (J, K), got {x_eval.shape}.")
        object.__setattr__(self, "x_eval", tuple(map(tuple, x_eval.tolist())))

    @classmethod
    def red_bus_blue_bus(cls, rho: float = 0.9, beta: Sequence[float] = (1.0, -0.5)) -> DGP:
        r"""Three alternatives, normal errors; alternatives 1 and 2 (the buses) correlate by rho.

        .. math::
            \Sigma = \begin{pmatrix} 1 & 0 & 0 \\ 0 & 1 & \rho \\ 0 & \rho & 1 \end{pmatrix}

        Close substitutes violate the logit's IIA: a probit with an unstructured covariance
        recovers the substitution pattern, the logit cannot.

        Parameters
        ----------
        rho : float, default 0.9
            Correlation of the errors of alternatives 1 and 2, in [-1, 1].
        beta : sequence of float, default (1.0, -0.5)
            Generic coefficients.

        Returns
        -------
        DGP
            With ``n_alts=3``, ``errors="normal"`` and the covariance above.

        Examples
        --------
        >>> import choicemodels as cm
        >>> dgp = cm.DGP.red_bus_blue_bus(rho=0.9)
        >>> dgp.cov
        ((1.0, 0.0, 0.0), (0.0, 1.0, 0.9), (0.0, 0.9, 1.0))
        """
        cov = ((1.0, 0.0, 0.0), (0.0, 1.0, rho), (0.0, rho, 1.0))
        return cls(beta=tuple(beta), n_alts=3, errors="normal", cov=cov)

    @property
    def names(self) -> list[str]:
        """Coefficient names of the fitted models: ``x1..xK`` then ``asc1..`` if constants."""
        consts = [] if self.asc is None else [f"asc{j}" for j in range(1, self.n_alts)]
        return [f"x{k + 1}" for k in range(len(self.beta))] + consts

    def _nest_of(self) -> np.ndarray:
        """(J,) nest index of each alternative (nested errors)."""
        out = np.empty(self.n_alts, dtype=np.intp)
        for k, members in enumerate(self.nests.values()):
            out[list(members)] = k
        return out

    def _sigma(self) -> np.ndarray:
        J = self.n_alts
        if self.errors == "nested":
            nest_of, lam = self._nest_of(), np.asarray(self.iv)
            same = nest_of[:, None] == nest_of[None, :]
            corr = np.where(same, 1.0 - lam[nest_of][:, None] ** 2, 0.0)
            np.fill_diagonal(corr, 1.0)
            return corr * _GUMBEL_VAR
        return np.eye(J) * _GUMBEL_VAR if self.errors == "gumbel" else np.asarray(self.cov if self.cov is not None else np.eye(J))

    @property
    def scale(self) -> float:
        r"""True :math:`\sigma`: :math:`T\sqrt{\operatorname{mean}_j \operatorname{Var}(\varepsilon_j - \varepsilon_0)/2}`."""
        J = self.n_alts
        M = np.hstack([-np.ones((J - 1, 1)), np.eye(J - 1)])
        return float(self.temperature * np.sqrt(np.mean(np.diag(M @ self._sigma() @ M.T)) / 2))

    def design(self, x: np.ndarray) -> np.ndarray:
        """(N, J, K) attributes -> (N, J, K + J-1 constants) design of the fitted models.

        Parameters
        ----------
        x : ndarray, shape (N, J, K)
            Attributes.

        Returns
        -------
        ndarray, shape (N, J, K) or (N, J, K + J - 1)
            ``x`` itself without constants; with ``asc``, ``x`` followed by J-1 dummy columns
            (alternative j's dummy is 1 in column K + j - 1).

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> dgp = cm.DGP(beta=(1.0,), asc=(0.5, -0.5))
        >>> dgp.design(np.zeros((2, 3, 1)))[0]
        array([[0., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.]])
        """
        if self.asc is None:
            return x
        n, J = x.shape[:2]
        consts = np.broadcast_to(np.eye(J)[:, 1:], (n, J, J - 1))
        return np.concatenate([x, consts], axis=2)

    def utilities(self, x: np.ndarray) -> np.ndarray:
        r"""(N, J) systematic utilities :math:`V_{nj} = x_{nj}'\beta + \alpha_j` of (N, J, K) attributes.

        Parameters
        ----------
        x : ndarray, shape (N, J, K)
            Attributes.

        Returns
        -------
        ndarray, shape (N, J)
            Systematic utilities, constants included (:math:`\alpha_0 = 0`).

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> cm.DGP(beta=(1.0,), asc=(0.5, -0.5)).utilities(np.ones((1, 3, 1)))
        array([[1. , 1.5, 0.5]])
        """
        v = x @ np.asarray(self.beta)
        return v if self.asc is None else v + np.concatenate([[0.0], self.asc])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        r"""(J,) exact choice probabilities at one (J, K) point.

        Gumbel: :math:`\operatorname{softmax}(V/T)`. Normal: :math:`P_j = \Phi_{J-1}(V_j - V_{-j};
        T^2 D_j \Sigma D_j')` with :math:`D_j` differencing against j (Genz's algorithm in
        scipy, absolute error about 1e-7). Nested: the nested logit of :math:`V/T`.

        Parameters
        ----------
        x : array_like, shape (J, K)
            Attributes of one choice situation.

        Returns
        -------
        ndarray, shape (J,)
            Probabilities summing to one.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> dgp = cm.DGP(beta=(1.0, -0.5))
        >>> dgp.probabilities(np.asarray(dgp.x_eval)).round(4)
        array([0.1863, 0.3072, 0.5065])
        >>> bus = cm.DGP.red_bus_blue_bus(rho=0.9)
        >>> bus.probabilities(np.asarray(bus.x_eval)).round(4)
        array([0.2324, 0.0963, 0.6712])
        """
        v = self.utilities(np.asarray(x)[None])[0]
        T = self.temperature
        if self.errors == "gumbel":
            z = v / T - np.max(v / T)
            return np.exp(z) / np.exp(z).sum()
        if self.errors == "nested":
            return np.exp(nested_logit_log_probabilities((v / T)[None], self._nest_of(), np.asarray(self.iv)))[0]
        J, sigma = self.n_alts, self._sigma()
        out = np.empty(J)
        for j in range(J):
            others = [k for k in range(J) if k != j]
            D = np.zeros((J - 1, J))
            D[np.arange(J - 1), others] = 1.0
            D[:, j] = -1.0
            cov = T**2 * D @ sigma @ D.T
            upper = v[j] - v[others]
            out[j] = (stats.norm.cdf(upper[0] / np.sqrt(cov[0, 0])) if J == 2
                      else stats.multivariate_normal.cdf(upper, mean=np.zeros(J - 1), cov=cov,
                                                         abseps=_CDF_ABS_ERROR, releps=0, rng=0))
        return out

    def truth(self) -> dict[str, float]:
        r"""True value of every scored quantity.

        Returns
        -------
        dict of str to float
            ``"xk / x1"`` (ratios, k >= 2), ``"xk / scale"`` (:math:`\beta_k/\sigma`) and
            ``"P(j) at x_eval"`` (:meth:`probabilities` at ``x_eval``); with nested errors
            also ``"xk"`` (:math:`\beta_k/T`) and ``"iv:<nest>"`` for each nest of two or more
            alternatives.

        Examples
        --------
        >>> import choicemodels as cm
        >>> {k: round(v, 4) for k, v in cm.DGP(beta=(1.0, -0.5)).truth().items()}
        {'x2 / x1': -0.5, 'x1 / scale': 0.7797, 'x2 / scale': -0.3898, 'P(0) at x_eval': 0.1863, 'P(1) at x_eval': 0.3072, 'P(2) at x_eval': 0.5065}
        """
        b, s = self.beta, self.scale
        out = {f"x{k + 1} / x1": b[k] / b[0] for k in range(1, len(b))}
        out.update({f"x{k + 1} / scale": b[k] / s for k in range(len(b))})
        p = self.probabilities(np.asarray(self.x_eval))
        out.update({f"P({j}) at x_eval": float(p[j]) for j in range(self.n_alts)})
        if self.errors == "nested":
            out.update({f"x{k + 1}": b[k] / self.temperature for k in range(len(b))})
            out.update({f"iv:{name}": lam for (name, members), lam in zip(self.nests.items(), self.iv)
                        if len(members) > 1})
        return out


ModelSpec = type | tuple[type, dict]


def _model_label(spec: ModelSpec) -> str:
    cls, options = spec if isinstance(spec, tuple) else (spec, {})
    return display_name(cls.model_name, options.get("cov"))


def _scaled_coefficients(result, n_beta: int) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\beta_k/\sigma(\theta)` of a nested logit and delta-method standard errors
    (central differences of :func:`~choicemodels.scales.nested_error_scale`)."""
    names, theta = list(result.param_names), result.estimates

    def scaled(t: np.ndarray) -> np.ndarray:
        return t[:n_beta] / nested_error_scale(result.spec, dict(zip(names, t)))

    jac = np.empty((n_beta, theta.size))
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        e = np.zeros_like(theta)
        e[i] = h
        jac[:, i] = (scaled(theta + e) - scaled(theta - e)) / (2 * h)
    return scaled(theta), np.sqrt(np.einsum("kp,pq,kq->k", jac, result.covariance, jac))


def _fixed_scale(result) -> float | None:
    """The error scale a model fixes by normalisation, else None (estimated)."""
    if result.model_name == "Logit":
        return LOGIT_SCALE
    if result.spec.get("options", {}).get("cov") == "iid":
        return 1.0
    return None


def _score(
    dgp: DGP, result, model_cls: type, options: dict, X: np.ndarray, chosen: np.ndarray
) -> dict[str, tuple[float, float]]:
    """(estimate, standard error) of every scored quantity for one fit on (X (N, J, K), chosen (N,))."""
    b, V = result.params, result.cov_params()
    out = {}
    for k in range(1, len(dgp.beta)):
        ratio = result.wtp(f"x{k + 1}", "x1")
        out[f"x{k + 1} / x1"] = (ratio.estimate, ratio.se)
    fixed = _fixed_scale(result)
    s = error_scale(result) if fixed is None else fixed
    K = len(dgp.beta)
    nested = result.model_name == "NestedLogit"
    if nested:
        est, se = _scaled_coefficients(result, K)
    for k in range(K):
        name = f"x{k + 1}"
        if nested:
            out[f"{name} / scale"] = (float(est[k]), float(se[k]))
            continue
        se_k = np.sqrt(V.loc[name, name]) / fixed if fixed is not None else np.nan
        out[f"{name} / scale"] = (b[name] / s, se_k)
    if dgp.errors == "nested":
        if result.model_name in ("Logit", "NestedLogit"):  # the scale of Gumbel margins
            out.update({f"x{k + 1}": (b[f"x{k + 1}"], np.sqrt(V.loc[f"x{k + 1}", f"x{k + 1}"]))
                        for k in range(K)})
        out.update({n: (b[n], np.sqrt(V.loc[n, n])) for n in result.param_names if n.startswith("iv:")})
    # the evaluation point rides along as an extra (last) situation of the fitted sample
    X_eval = np.concatenate([X, dgp.design(np.asarray(dgp.x_eval)[None])])
    evaluator = model_cls.from_arrays(X_eval, np.append(chosen, 0), names=dgp.names, **options)
    theta = result.estimates
    p = evaluator.predict(theta)[-1]
    jac = np.empty((dgp.n_alts, theta.size))
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        e = np.zeros_like(theta)
        e[i] = h
        jac[:, i] = (evaluator.predict(theta + e)[-1] - evaluator.predict(theta - e)[-1]) / (2 * h)
    se_p = np.sqrt(np.einsum("jp,pq,jq->j", jac, result.covariance, jac))
    out.update({f"P({j}) at x_eval": (float(p[j]), float(se_p[j])) for j in range(dgp.n_alts)})
    return out


def _replicate(task: tuple[int, DGP, dict, list, int, np.random.Generator]) -> tuple[list[dict], list[dict]]:
    """One replication: simulate, fit every model, score. Returns (quantity rows, fit rows)."""
    rep, dgp, truth, models, n_obs, gen = task
    x = gen.standard_normal((n_obs, dgp.n_alts, len(dgp.beta)))
    cov = None if dgp.cov is None else np.asarray(dgp.cov)
    nested = {} if dgp.errors != "nested" else {"nests": {k: list(v) for k, v in dgp.nests.items()},
                                                "iv": list(dgp.iv)}
    chosen = simulate_choices(dgp.utilities(x), errors=dgp.errors, temperature=dgp.temperature,
                              cov=cov, rng=gen, **nested)
    X = dgp.design(x)
    rows, fits = [], []
    for label, (cls, options) in models:
        opts = dict(options)
        if "rng" in inspect.signature(cls.from_arrays).parameters:
            opts.setdefault("rng", int(gen.integers(2**63)))
        model = cls.from_arrays(X, chosen, names=dgp.names, **opts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            result = model.fit(progress=False)  # the study has its own bar
            elapsed = time.perf_counter() - t0
        fits.append({"rep": rep, "model": label, "loglike": result.llf, "fit time": elapsed,
                     "converged": result.converged})
        for quantity, (est, se) in _score(dgp, result, cls, opts, X, chosen).items():
            if quantity not in truth:  # e.g. the iv of a nest the DGP does not have
                continue
            rows.append({"rep": rep, "model": label, "quantity": quantity, "estimate": est,
                         "se": se, "truth": truth[quantity], "converged": result.converged})
    return rows, fits


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Outcome of :func:`monte_carlo`.

    The parameters are also the attributes of the same names.

    Parameters
    ----------
    estimates : pandas.DataFrame
        One row per (replication, model, quantity): columns ``rep``, ``model``,
        ``quantity``, ``estimate``, ``se``, ``truth``, ``converged``.
    fits : pandas.DataFrame
        One row per (replication, model): ``rep``, ``model``, ``loglike``, ``fit time``,
        ``converged``.
    dgp : DGP
        The true model of the study.
    n_obs : int
        Situations per dataset N.
    reps : int
        Number of replications.

    Examples
    --------
    >>> import choicemodels as cm
    >>> mc = cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=300, reps=10, rng=0)
    >>> mc.estimates.shape, mc.fits.shape
    ((60, 7), (10, 5))
    """

    estimates: pd.DataFrame
    fits: pd.DataFrame
    dgp: DGP
    n_obs: int
    reps: int

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        r"""Per model and quantity: truth, mean, bias, RMSE, coverage, replications used.

        Coverage is the share of converged replications whose interval
        :math:`\hat\theta \pm z_{1-\alpha/2}\,\widehat{se}` contains the truth (NaN when the
        model gives no standard error); ``mean loglike`` and ``mean fit time (s)`` repeat per
        model. Non-converged replications are left out (``n`` counts the rest).

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the nominal coverage of the intervals.

        Returns
        -------
        pandas.DataFrame
            Indexed by (model, quantity); columns ``truth``, ``mean``, ``bias``, ``rmse``,
            ``coverage``, ``n``, ``mean loglike``, ``mean fit time (s)``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> mc = cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=300, reps=10, rng=0)
        >>> mc.summary()[["truth", "bias", "coverage", "n"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                              truth   bias  coverage   n
        model quantity
        logit x2 / x1        -0.500 -0.039       0.9  10
              x1 / scale      0.780  0.006       0.8  10
              x2 / scale     -0.390 -0.024       1.0  10
              P(0) at x_eval  0.186 -0.000       0.8  10
              P(1) at x_eval  0.307 -0.001       0.9  10
              P(2) at x_eval  0.506  0.001       0.8  10
        """
        z = stats.norm.isf(alpha / 2)
        d = self.estimates[self.estimates["converged"]].copy()
        d["error"] = d["estimate"] - d["truth"]
        d["covered"] = np.where(d["se"].notna(), (d["error"].abs() <= z * d["se"]).astype(float), np.nan)
        g = d.groupby(["model", "quantity"], sort=False)
        out = pd.DataFrame({
            "truth": g["truth"].first(),
            "mean": g["estimate"].mean(),
            "bias": g["error"].mean(),
            "rmse": g["error"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
            "coverage": g["covered"].mean(),
            "n": g["estimate"].size(),
        })
        fits = self.fits.groupby("model", sort=False).agg(
            **{"mean loglike": ("loglike", "mean"), "mean fit time (s)": ("fit time", "mean")}
        )
        return out.join(fits, on="model")

    def report(self, alpha: float = 0.05) -> Summary:
        """:meth:`summary` as printable tables, one per model (text, HTML, LaTeX, CSV, Markdown).

        Each model's table is titled with its mean log-likelihood and mean fit time; the
        facts of the design (replications, N, J, errors, temperature, beta) head it.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the nominal coverage of the intervals (as in :meth:`summary`).

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary`, one table per model, rows by
            quantity, columns ``truth``, ``mean``, ``bias``, ``rmse``, ``coverage`` and
            ``n``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> mc = cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=300, reps=10, rng=0)
        >>> rep = mc.report()
        >>> print("\\n".join(rep.as_text().splitlines()[:5]))  # doctest: +NORMALIZE_WHITESPACE
                    Monte Carlo: 10 replications, N=300, J=3, gumbel errors
        ================================================================================
        Replications:                                        10  Errors:          gumbel
        Situations (N):                                     300  Temperature:          1
        Alternatives (J):                                     3  beta:           1, -0.5
        >>> rep.tables[0].frame[["truth", "bias", "coverage"]].round(3).head(2)  # doctest: +NORMALIZE_WHITESPACE
                    truth   bias  coverage
        quantity
        x2 / x1     -0.50 -0.039       0.9
        x1 / scale   0.78  0.006       0.8
        >>> mc.report(alpha=0.1).notes[0][:60]
        'Coverage: share of the converged replications whose 90% inte'
        """
        table = self.summary(alpha)
        tables = []
        for model, rows in table.groupby(level="model", sort=False):
            first = rows.iloc[0]
            title = (f"{model}: mean log-likelihood {first['mean loglike']:.4f}, "
                     f"mean fit time {first['mean fit time (s)']:.3g} s")
            frame = rows.droplevel("model").drop(columns=["mean loglike", "mean fit time (s)"])
            tables.append(Table(title, frame, {"coverage": "coef", "n": "count"}))
        d = self.dgp
        info = (("Replications", str(self.reps)), ("Situations (N)", str(self.n_obs)),
                ("Alternatives (J)", str(d.n_alts)))
        right = (("Errors", d.errors), ("Temperature", f"{d.temperature:g}"),
                 ("beta", ", ".join(f"{b:g}" for b in d.beta)))
        if d.errors == "nested":
            right += (("iv", ", ".join(f"{k} {v:g}" for k, v in zip(d.nests, d.iv))),)
        notes = (f"Coverage: share of the converged replications whose {100 * (1 - alpha):g}% "
                 "interval contains the truth (blank where the model gives no standard error); "
                 "n counts the converged replications.",)
        title = (f"Monte Carlo: {self.reps} replications, N={self.n_obs}, J={d.n_alts}, "
                 f"{d.errors} errors")
        return Summary(title, info, tuple(tables), notes, info_right=right)

    def __str__(self) -> str:
        """The study's report as text (the console shows the same table).

        Returns
        -------
        str
            The table as plain text.
        """
        return self.report().as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.report().as_html()

    def plot(self, *, dpi: int = 150):
        """Matplotlib figure: the distribution of each quantity per model, truth as a line.

        One box plot panel per quantity (three per row), one box per model, over the converged
        replications; needs matplotlib (the ``plot`` extra).

        Parameters
        ----------
        dpi : int, default 150
            Resolution of the figure in dots per inch.

        Returns
        -------
        matplotlib.figure.Figure
            The figure.

        Examples
        --------
        >>> import choicemodels as cm
        >>> mc = cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=300, reps=10, rng=0)
        >>> fig = mc.plot()
        >>> len(fig.axes)
        6
        >>> import matplotlib.pyplot as plt
        >>> plt.close(fig)
        """
        import matplotlib.pyplot as plt

        quantities = list(dict.fromkeys(self.estimates["quantity"]))
        models = list(dict.fromkeys(self.estimates["model"]))
        ncol = min(3, len(quantities))
        nrow = -(-len(quantities) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False, dpi=dpi)
        for ax, q in zip(axes.flat, quantities):
            d = self.estimates[(self.estimates["quantity"] == q) & self.estimates["converged"]]
            ax.boxplot([d.loc[d["model"] == m, "estimate"].to_numpy() for m in models])
            ax.set_xticks(range(1, len(models) + 1), models, rotation=20, fontsize="small")
            ax.axhline(d["truth"].iloc[0], color="crimson", lw=1, label="truth")
            ax.set_title(q, fontsize="small")
            ax.set_xlabel("model", fontsize="small")
            ax.set_ylabel("estimate", fontsize="small")
        for ax in list(axes.flat)[len(quantities):]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize="small")
        fig.tight_layout()
        return fig


def monte_carlo(
    *,
    dgp: DGP,
    models: Sequence[ModelSpec] | None = None,
    n_obs: int = 1000,
    reps: int = 100,
    rng: int | np.random.Generator | None = None,
    n_jobs: int | None = 1,
    progress: bool | None = None,
) -> MonteCarloResult:
    r"""Simulate ``reps`` datasets from ``dgp``, fit every model on each, score the fits.

    Each replication draws attributes :math:`x_{njk} \sim N(0, 1)`, simulates the choices
    from ``dgp`` and fits every model on the arrays (``from_arrays``). The scored
    quantities are scale-free: coefficient ratios, coefficients over the error scale and
    the probabilities at ``dgp.x_eval`` (see the module ``choicemodels.montecarlo``).

    Parameters
    ----------
    dgp : DGP
        The true random-utility model.
    models : sequence of model classes or (class, dict) pairs, optional
        Model classes, or ``(class, options)`` pairs such as
        ``(cm.Probit, {"cov": "unstructured", "draws": 200})``; default ``[cm.Logit]``.
        Models that take ``rng`` get a seed drawn from the replication's stream.
    n_obs : int, default 1000
        Situations per dataset N.
    reps : int, default 100
        Number of replications.
    rng : int, numpy.random.Generator or None, optional
        Seed of the study; replication r uses child r of ``default_rng(rng).spawn(reps)``,
        so the results do not depend on ``n_jobs``.
    n_jobs : int or None, default 1
        Worker processes (``-1``: all cores; 1 or None: in this process).
    progress : bool or None, optional
        Progress bar over the replications (``tqdm.auto``: a widget in Jupyter, stderr
        elsewhere), shown once the study runs longer than a few seconds; on by default,
        ``False`` turns it off.

    Returns
    -------
    MonteCarloResult
        Per-replication estimates and fits; ``summary()`` gives bias, RMSE and coverage.

    Examples
    --------
    >>> import choicemodels as cm
    >>> mc = cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=300, reps=10, rng=0)
    >>> mc.summary().loc[("logit", "x2 / x1"), ["truth", "n"]].tolist()
    [-0.5, 10.0]
    """
    if not isinstance(dgp, DGP):
        raise SpecificationError(f"dgp must be a choicemodels.DGP, got {type(dgp).__name__}.")
    if int(reps) != reps or reps < 1 or int(n_obs) != n_obs or n_obs < 2:
        raise SpecificationError(f"reps and n_obs must be positive integers (n_obs >= 2); got {reps}, {n_obs}.")
    if models is None:
        from choicemodels.models.logit import Logit

        models = [Logit]
    specs = []
    for spec in models:
        cls, options = spec if isinstance(spec, tuple) else (spec, {})
        if not (isinstance(cls, type) and hasattr(cls, "from_arrays")):
            raise SpecificationError(f"each model must be a model class or (class, options), got {spec!r}.")
        specs.append((_model_label(spec), (cls, dict(options))))
    labels = [s[0] for s in specs]
    if len(set(labels)) != len(labels):
        raise SpecificationError(f"the models must differ; got {labels}.")
    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs or 1))
    children = np.random.default_rng(rng).spawn(int(reps))
    truth = dgp.truth()
    tasks = [(r, dgp, truth, specs, int(n_obs), g) for r, g in enumerate(children)]
    if workers == 1:
        outputs = map(_replicate, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        outputs = pool.map(_replicate, tasks, chunksize=max(1, reps // (8 * workers)))
    try:
        shown = bar(outputs, enabled=progress, total=int(reps), desc="Monte Carlo", unit=" replications")
        collected = list(outputs if shown is None else shown)
    finally:
        if pool is not None:
            pool.shutdown()
    rows = [row for rep_rows, _ in collected for row in rep_rows]
    fits = [row for _, rep_fits in collected for row in rep_fits]
    return MonteCarloResult(pd.DataFrame(rows), pd.DataFrame(fits), dgp, int(n_obs), int(reps))
