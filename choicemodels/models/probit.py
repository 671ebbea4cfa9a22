r"""Multinomial probit: normal errors with an iid, heteroskedastic or unstructured covariance.

Shapes: N situations, J alternatives, K coefficients, P covariance parameters, R draws,
M = J - 1.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping
from functools import cached_property, partial
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from choicemodels.data import WeightType
from choicemodels.distributed import DistributedDesign, situation_keys
from choicemodels.exceptions import (
    ApproximationWarning,
    ConvergenceWarning,
    SeparationWarning,
    SpecificationError,
)
from choicemodels.kernels.draws import (
    RotatedDraws,
    Sequence,
    keyed_rotated_draws,
    keyed_uniform_draws,
)
from choicemodels.kernels.mvn import Structure, cov_param_names, cov_start, diff_covariance
from choicemodels.kernels.probit import (
    ANALYTIC,
    Method,
    SituationGroup,
    auto_method,
    choice_probabilities,
    group_situations,
    probit_loglike_obs,
)
from choicemodels.kernels.logit import logit_loglike_derivatives
from choicemodels.memory import check_memory
from choicemodels.models import engine
from choicemodels.models.base import ChoiceModel, draw_seed
from choicemodels.models.optimize import (
    OptimizeOutcome,
    bfgs_opg_maximize,
    per_unit_weight,
)
from choicemodels.results import register_model_kind

__all__ = ["Probit", "error_covariance", "error_covariance_se"]

Integration = Literal["auto", "ghk", "quadrature", "closed", "genz", "me", "ovus", "ovbs"]

MeOrder = Literal["gge", "given"]
FitMethod = Literal["bfgs", "bhhh"]

_CHECK_SITUATIONS = 500  # me_check: GHK on at most this many situations
_CHECK_DRAWS = 2000  # ... with this many draws
_CHECK_TOL = 0.05  # ... warns above this mean absolute difference of log P
_LOGIT_SD = np.pi / np.sqrt(6.0)  # standard deviation of a standard Gumbel error
_LOG_SD_FLOOR = -7.0
#: Utility differences (in units of the reference error's sd) beyond which a probability is
#: below 1e-100 for any covariance parameters in the search's range: suspected separation.
_SEPARATED_UTILITY = 50.0  # a log standard deviation below this signals a vanishing variance


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise SpecificationError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}."
        )
    return value


class Probit(ChoiceModel):
    r"""Multinomial probit.

    .. math::
        U_{ij} = x_{ij}'\beta + e_{ij}, \qquad
        d_i = (e_{ij} - e_{i,ref})_{j \ne ref} \sim N(0, \Omega(\theta)),

    .. math::
        P_{ic} = \Phi_m\big(b_i;\ A_c \Omega A_c'\big), \quad
        b_{ik} = V_{ic} - V_{ij_k},

    over the other available alternatives :math:`j_1..j_m` (:math:`A_c` differences the
    errors against c). Parameters: ``beta`` (K) then ``theta`` (P), see
    :mod:`choicemodels.kernels.mvn`. Normalisation (scale):

    * ``"iid"``: :math:`e_j \sim N(0, 1)`, :math:`\Omega = I + 11'`; P = 0. With two
      alternatives the coefficients are :math:`\sqrt 2` times those of a binary probit
      whose latent error has variance 1.
    * ``"heteroskedastic"``: independent :math:`e_j \sim N(0, s_j^2)`, :math:`s_{ref} = 1`,
      ``theta = log s_j``; P = J - 1; J >= 3.
    * ``"unstructured"``: :math:`\Omega = LL'`, :math:`L` lower-triangular with
      :math:`L_{00} = \Omega_{00} = 1` (the first non-reference difference has variance 1,
      so an iid model appears with :math:`\Omega = (I + 11')/2`); P = J(J-1)/2 - 1; J >= 3.

    Integration (``integration``): ``"auto"`` uses the exact method when there is one
    (one-dimensional ``"quadrature"`` for independent errors, ``"closed"`` forms for an
    unstructured covariance with J <= 3), else ``"ghk"``; ``"genz"`` (scipy's
    :func:`~scipy.stats.multivariate_normal.cdf`) is a slow reference for
    :meth:`loglike` and :meth:`predict` only. ``"me"``, ``"ovus"`` and ``"ovbs"`` are
    Bhat's (2018) analytic approximations (Mendell-Elston, and its one-variate univariate
    and bivariate screening refinements; :mod:`choicemodels.kernels.me`): no draws,
    smooth, O(J^3) per situation, with the exact gradient of the approximation.
    ``"ovus"`` is exact for J <= 3 and ``"ovbs"`` for J <= 4; ``"ovbs"`` is the most
    accurate and about twice as costly as ``"ovus"`` (see ``benchmarks/README.md`` for
    their measured errors). They take no ``draws``, ``sequence`` or ``antithetic``. They
    condition on the error differences one at a time, and the order matters: by default
    (``me_order="gge"``) each situation's order is Gibson, Glasbey and Elston's (the least
    likely difference first), decided once at :meth:`start_params` and held fixed, so the
    log-likelihood stays smooth. In the given order (``me_order="given"``, alternatives in
    column order) the errors are 3 to 5 times larger and systematic in the probability,
    and they load on the normalising difference (conditioned on first), which sets the
    coefficients' scale: at J = 10 the coefficients came out 22 % low in a simulation
    (11 % in GGE order, within 3 standard errors of the truth), while their ratios were
    recovered either way. Against GHK with 5,000 draws on the same data (J = 10,
    N = 10,000, 5 replications) the coefficients in GGE order were on average 0.09 GHK
    standard errors away by ``"ovbs"`` (0.00 to 0.21), 0.17 by ``"ovus"`` (0.01 to 0.39)
    and 0.33 by ``"me"``; ``"ovus"`` in the given order 0.7 to 1.7. GHK with 500 draws
    itself landed 0.13 away (0.03 to 0.31), but ``"ovbs"``'s covariance parameters are
    biased systematically (up to 0.28 standard errors on average over the replications,
    against 0.11 for GHK with 500 draws); at J = 5 ``"ovbs"`` was within 0.1 for every
    parameter. Check with ``me_check=True`` or against GHK. GHK uses ``draws`` uniform draws per
    situation from ``sequence``, generated once from the seed ``rng`` and fixed during the
    fit (common random numbers). ``rng`` is recorded as an int seed in ``spec["options"]``
    (drawn once from a Generator or fresh entropy if not an int), so results reproduce.

    The fit starts from a logit on the same design, rescaled to the probit's error scale,
    and maximises the (simulated) log-likelihood with the analytic gradient:
    ``method="bfgs"`` (default) is BFGS started from the BHHH metric (the outer product of
    the per-situation scores), ``"bhhh"`` takes BHHH steps throughout; both stop when the
    BHHH decrement :math:`g'(S'S)^{-1}g` falls below ``tol`` (default 1e-8). Standard
    errors invert forward differences of the analytic gradient (:meth:`hessian`); robust
    ones use the per-situation scores.

    Shapes: N situations, J alternatives, K coefficients, P covariance parameters, R draws.

    Parameters
    ----------
    formula : str
        Three-part formula, e.g. ``"choice ~ gc + ttme | hinc | invt"``, as for
        :class:`~choicemodels.Logit`.
    data : pandas.DataFrame
        Long format, one row per (situation, alternative); never modified. A Dask DataFrame
        fits on the active Dask client.
    obs : str
        Column of the situation id.
    alt : str
        Column of the alternative label.
    ref : object, optional
        Reference alternative: of the constants and part-2 coefficients, and of the error
        differences (default: the first label in sorted order).
    avail : str, optional
        0/1 availability column; unavailable alternatives may also simply have no row.
    weights : str, optional
        Per-situation weight column (constant within a situation, non-negative).
    weight_type : {"frequency", "sampling"}, default "frequency"
        ``"frequency"``: whole numbers counting identical situations (Stata's fweight);
        ``"sampling"``: inverse selection probabilities (Stata's pweight), normalised to sum
        to the number of situations, with a robust covariance; see
        :meth:`~choicemodels.Logit.fit`.
    cov : {"iid", "heteroskedastic", "unstructured"}, default "iid"
        Error covariance structure, normalised as above.
    integration : {"auto", "ghk", "quadrature", "closed", "genz", "me", "ovus", "ovbs"}, default "auto"
        How the choice probabilities are integrated, see above.
    draws : int, optional
        GHK draws per situation (R; default 500); unused by the exact methods, refused by
        the analytic ones.
    sequence : {"halton", "sobol", "pseudo"}, optional
        GHK draws (default ``"halton"``): scrambled Halton or Sobol (randomised quasi-Monte
        Carlo), held as one point set and a shift per situation (memory (N + R)(J - 2)
        doubles), or pseudo-random, held as N x R x (J - 2) doubles; refused by the analytic
        methods.
    antithetic : bool, default False
        Mirror the draws (u and 1 - u).
    rng : int, numpy.random.Generator or None, optional
        Seed of the draws.
    me_check : bool, default False
        With ``"me"``, ``"ovus"`` or ``"ovbs"``: after the fit, compare the approximation's log
        probabilities at the estimates with GHK's (2,000 scrambled Halton draws) on a
        subsample of at most 500 situations, and warn
        (:class:`~choicemodels.ApproximationWarning`) where they differ by more than
        0.05 on average. In-memory data only.
    me_order : {"gge", "given"}, optional
        With ``"me"``, ``"ovus"`` or ``"ovbs"``: the order in which each situation's error
        differences are conditioned on. ``"gge"`` (the default for in-memory data) is Gibson,
        Glasbey and Elston's order (at each step the least likely remaining difference first;
        :func:`~choicemodels.kernels.me.conditioning_order`), decided once per situation
        at :meth:`start_params` and held fixed, so the log-likelihood stays smooth; it
        cuts the approximation's error by a factor of 2 to 4 and, with it, the bias of the
        estimates (see above). ``"given"`` takes the other alternatives in column order
        (the default, and the only order, for a Dask DataFrame, whose partitions do not
        share the start values). Predictions use the order at the parameters predicted at.
    functions : dict of str to callable, optional
        Extra functions the formula's terms may call, by name, e.g. ``{"log1p": np.log1p}``,
        beyond the allowed ones (see the module ``choicemodels.grammar``). Python API only: they
        are not saved with the results, and results read from a file predict with the
        strict grammar.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> m = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
    ...               ref="car", cov="iid")
    >>> r = m.fit()
    >>> r.converged, round(r.llf, 3)
    (True, -197.173)
    >>> r.error_covariance().shape
    (3, 3)
    """

    model_name = "Probit"
    methods = get_args(FitMethod)
    default_method = "bfgs"
    default_maxiter = 500

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        ref: Any = None,
        avail: str | None = None,
        weights: str | None = None,
        weight_type: WeightType = "frequency",
        cov: Structure = "iid",
        integration: Integration = "auto",
        draws: int | None = None,
        sequence: Sequence | None = None,
        antithetic: bool = False,
        rng: int | np.random.Generator | None = None,
        me_check: bool = False,
        me_order: MeOrder | None = None,
        functions: Mapping[str, Callable] | None = None,
    ) -> None:
        self._set_options(cov=cov, integration=integration, draws=draws, sequence=sequence,
                          antithetic=antithetic, rng=rng, me_check=me_check, me_order=me_order)
        super().__init__(formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
                         weight_type=weight_type, functions=functions)

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        chosen: np.ndarray,
        *,
        avail: np.ndarray | None = None,
        names: list[str] | None = None,
        weights: np.ndarray | None = None,
        weight_type: WeightType = "frequency",
        cov: Structure = "iid",
        integration: Integration = "auto",
        draws: int | None = None,
        sequence: Sequence | None = None,
        antithetic: bool = False,
        rng: int | np.random.Generator | None = None,
        me_check: bool = False,
        me_order: MeOrder | None = None,
    ) -> Probit:
        r"""Probit from arrays: X (N, J, K), chosen (N,) in 0..J-1, avail (N, J) 0/1.

        Alternatives are labelled 0..J-1 with reference 0; the K columns of X are used as
        given (constants are columns of X); probit options as in the class.

        Parameters
        ----------
        X : array_like, shape (N, J, K)
            Attributes of every alternative in every situation; :math:`V_{ij} = x_{ij}'\beta`.
        chosen : array_like of int, shape (N,)
            Index of the chosen alternative, in 0..J-1.
        avail : array_like of bool or 0/1, shape (N, J), optional
            Availability; default: every alternative available.
        names : list of str, optional
            Names of the K columns of X; default ``x0 .. x{K-1}``.
        weights : array_like, shape (N,), optional
            Per-situation weights (non-negative, not all zero).
        weight_type : {"frequency", "sampling"}, default "frequency"
            How ``weights`` are read, as for the formula interface (see :class:`Probit`).
        cov : {"iid", "heteroskedastic", "unstructured"}, default "iid"
            Error covariance structure, see :class:`Probit`.
        integration : {"auto", "ghk", "quadrature", "closed", "genz", "me", "ovus", "ovbs"}, default "auto"
            How the probabilities are integrated, see :class:`Probit`.
        draws : int, optional
            GHK draws per situation (R; default 500).
        sequence : {"halton", "sobol", "pseudo"}, optional
            Sequence of the GHK draws (default ``"halton"``).
        antithetic : bool, default False
            Mirror the draws (u and 1 - u).
        rng : int, numpy.random.Generator or None, optional
            Seed of the draws.
        me_check : bool, default False
            GHK spot check of the analytic approximation after the fit, see :class:`Probit`.
        me_order : {"gge", "given"}, optional
            Order of conditioning of the analytic approximations, see :class:`Probit`.

        Returns
        -------
        Probit
            An unfitted model.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(0).standard_normal((300, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], errors="normal", rng=0)
        >>> m = cm.Probit.from_arrays(X, chosen, names=["price", "time"])
        >>> m.method  # iid errors: exact one-dimensional quadrature
        'quadrature'
        >>> m.fit().params.round(2).tolist()  # truth: [1.0, -0.5]
        [0.91, -0.57]
        """
        model = cls.__new__(cls)
        model._set_options(cov=cov, integration=integration, draws=draws, sequence=sequence,
                           antithetic=antithetic, rng=rng, me_check=me_check, me_order=me_order)
        model._init_arrays(X, chosen, avail, names, weights, weight_type)
        return model

    # ---- options ----------------------------------------------------------------------
    def _set_options(self, *, cov, integration, draws, sequence, antithetic, rng,
                     me_check=False, me_order=None) -> None:
        self.structure: Structure = _choice(cov, "cov", get_args(Structure))
        self.integration = _choice(integration, "integration", get_args(Integration))
        if self.integration in ANALYTIC:
            given = [name for name, value in (("draws", draws), ("sequence", sequence))
                     if value is not None] + (["antithetic"] if antithetic is True else [])
            if given:
                raise SpecificationError(
                    f"integration={self.integration!r} is an analytic approximation and uses "
                    f"no draws; drop {', '.join(given)} (options of integration='ghk')."
                )
        if not isinstance(me_check, (bool, np.bool_)):
            raise SpecificationError(f"me_check must be True or False; got {me_check!r}.")
        if me_check and self.integration not in ANALYTIC:
            raise SpecificationError(
                f"me_check checks the analytic approximations against GHK; it needs "
                f"integration='me', 'ovus' or 'ovbs', got integration={self.integration!r}."
            )
        self.me_check = bool(me_check)
        if me_order is not None:
            _choice(me_order, "me_order", get_args(MeOrder))
            if self.integration not in ANALYTIC:
                raise SpecificationError(
                    f"me_order orders the analytic approximations' conditioning; it needs "
                    f"integration='me', 'ovus' or 'ovbs', got integration={self.integration!r}."
                )
        self.me_order: MeOrder | None = me_order
        draws = 500 if draws is None else draws
        sequence = "halton" if sequence is None else sequence
        if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
            raise SpecificationError(f"draws must be an int >= 1 (GHK draws per situation); got {draws!r}.")
        self.draws = int(draws)
        self.sequence: Sequence = _choice(sequence, "sequence", get_args(Sequence))
        if not isinstance(antithetic, (bool, np.bool_)):
            raise SpecificationError(f"antithetic must be True or False; got {antithetic!r}.")
        self.antithetic = bool(antithetic)
        self.seed = draw_seed(rng)

    def _options(self) -> dict:
        analytic = self.integration in ANALYTIC
        options = {"cov": self.structure, "integration": self.integration,
                   "draws": None if analytic else self.draws,
                   "sequence": None if analytic else self.sequence,
                   "antithetic": self.antithetic, "rng": self.seed}
        if not analytic:
            return options
        return {**options, "me_check": self.me_check, "me_order": self.me_order}

    def _init(self, design, data, spec) -> None:
        n_alts = design.n_alts
        if self.structure != "iid" and n_alts == 2:
            raise SpecificationError(
                f"cov={self.structure!r} is not identified with two alternatives: only the "
                "variance of the single error difference matters and it fixes the scale. "
                "Use cov='iid'."
            )
        if self.integration == "quadrature" and self.structure == "unstructured":
            raise SpecificationError(
                "integration='quadrature' needs independent errors (cov='iid' or "
                "'heteroskedastic'); an unstructured covariance couples the dimensions. "
                "Use integration='ghk' (or 'auto')."
            )
        if self.integration == "closed" and n_alts > 3:
            raise SpecificationError(
                f"integration='closed' covers at most three alternatives; these data have "
                f"J = {n_alts}. Use integration='auto', 'ghk' or 'quadrature'."
            )
        self.method: Method = (
            auto_method(self.structure, n_alts) if self.integration == "auto" else self.integration
        )
        if self.method in ANALYTIC and self.me_order is None:
            # the order is fixed at the start values, which partitions of a distributed
            # design do not see: those keep the given order
            self.me_order = "given" if isinstance(design, DistributedDesign) else "gge"
        if self.me_order == "gge" and isinstance(design, DistributedDesign):
            raise SpecificationError(
                "me_order='gge' fixes the order of conditioning at the start values, which "
                "the partitions of a Dask DataFrame do not share; use me_order='given' (the "
                "default there) or fit in memory."
            )
        if self.method == "ghk" and not isinstance(design, DistributedDesign):
            # pseudo-random draws are held as an array (N, R, J - 2), Halton and Sobol
            # draws as one point set (R, J - 2) and a shift per situation (each partition
            # of a Dask DataFrame checks its own situations on its worker)
            n_obs = design.n_obs
            if self.sequence == "pseudo":
                check_memory(8.0 * self.draws * n_obs * (n_alts - 1),
                             f"the GHK draws ({self.draws} x {n_obs} x {n_alts - 1})", "draws")
            else:
                check_memory(8.0 * (self.draws + n_obs) * (n_alts - 1),
                             f"the GHK points ({self.draws} x {n_alts - 1})", "draws")
        super()._init(design, data, spec)

    @cached_property
    def groups(self) -> tuple[SituationGroup, ...]:
        """Situations grouped by (chosen, available set) for the likelihood kernel.

        A tuple of :class:`~choicemodels.kernels.probit.SituationGroup`: the chosen
        alternative, the other available ones and the rows (situations) of the group.
        """
        return group_situations(self.design.chosen, self.design.avail)

    @cached_property
    def uniforms(self) -> np.ndarray | RotatedDraws | None:
        """(N, R, J - 2) fixed GHK draws (None for the exact methods).

        Keyed by situation id (:func:`~choicemodels.kernels.draws.keyed_uniform_draws`):
        a situation's draws depend on the seed and its id only, not on row order or on
        how the data are partitioned. Halton and Sobol draws are held unexpanded
        (:class:`~choicemodels.kernels.draws.RotatedDraws`, memory O((N + R) J)), the
        pseudo-random ones as an array.
        """
        if self.method != "ghk":
            return None
        d = self.design
        draws = keyed_rotated_draws if self.sequence in ("halton", "sobol") \
            else keyed_uniform_draws
        return draws(situation_keys(d.obs_ids), max(d.n_alts - 2, 0), self.draws,
                     sequence=self.sequence, antithetic=self.antithetic, rng=self.seed)

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        simulated = self.method == "ghk"
        integration = f"{self.method} (auto)" if self.integration == "auto" else self.method
        none = "none (analytic approximation)" if self.method in ANALYTIC else "none (exact)"
        return (
            ("Error covariance", self.structure),
            ("Integration", integration),
            ("Draws", str(self.draws) if simulated else none),
            ("Sequence", f"{self.sequence}{', antithetic' if self.antithetic else ''}"
             if simulated else none),
            ("Seed", str(self.seed)),
        )

    # ---- likelihood -------------------------------------------------------------------
    @property
    def param_names(self) -> list[str]:
        r"""Names of the K coefficients, then of the P covariance parameters.

        ``log_sd(j)`` (heteroskedastic: log error standard deviation of alternative j),
        ``L(j,k)`` and ``log_L(j,j)`` (unstructured: the Cholesky factor of :math:`\Omega`,
        diagonal entries on the log scale).
        """
        d = self.design
        return list(d.names) + cov_param_names(self.structure, list(d.alternatives), d.ref)

    def _kernel_options(self) -> dict:
        return {"structure": self.structure, "ref": self.design.ref, "method": self.method,
                "uniforms": self.uniforms, "genz_rng": self.seed % 2**32,  # scipy: 32-bit seeds
                "threads": self._threads}

    @cached_property
    def _order_at(self) -> np.ndarray | None:
        """Parameters at which the analytic routes fix their order of conditioning: the
        start values with ``me_order="gge"``, else None (the given order)."""
        if self.method not in ANALYTIC or self.me_order != "gge":
            return None
        return self.start_params()

    def _loglike_scores(self, params: np.ndarray, grad: bool):
        if grad and self.method == "genz":
            raise SpecificationError(
                "integration='genz' gives the log-likelihood only (no analytic gradient); "
                "use integration='auto' or 'ghk' to fit, and 'genz' to check loglike()."
            )
        return probit_loglike_obs(np.asarray(params, float), self.design.X, self.groups,
                                  grad=grad, order_at=self._order_at, **self._kernel_options())

    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        return self._loglike_scores(params, grad=False)[0]

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        return self._loglike_scores(params, grad=True)[1]

    def hessian(self, params: np.ndarray) -> np.ndarray:
        r"""Hessian of :meth:`loglike`: forward differences of the analytic score.

        Column k is :math:`(g(\theta + h_k e_k) - g(\theta)) / h_k` with
        :math:`h_k = 10^{-6}\max(1, |\theta_k|)`, symmetrised; P + 1 score evaluations
        (half of central differences; the truncation error, of order h, is far below the
        sampling error of the standard errors).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            Coefficients, then covariance parameters, as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K + P, K + P)
            The symmetric matrix of second derivatives.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
        ...               ref="car", cov="heteroskedastic")
        >>> m.hessian(m.start_params()).shape
        (11, 11)
        """
        params = np.asarray(params, float)
        g0 = self.score(params)
        steps = 1e-6 * np.maximum(1.0, np.abs(params))
        hess = np.column_stack([
            (self.score(params + h * np.eye(params.size)[k]) - g0) / h for k, h in enumerate(steps)
        ])
        return (hess + hess.T) / 2

    def _probabilities(self, params, X, avail):
        order = "gge" if self.method in ANALYTIC and self.me_order == "gge" else "given"
        return choice_probabilities(np.asarray(params, float), X, avail, order=order,
                                    **self._kernel_options())

    # ---- estimation -------------------------------------------------------------------
    def start_params(self) -> np.ndarray:
        r"""Logit estimates rescaled to the probit's error scale, and the iid covariance.

        Gumbel errors have sd :math:`\pi/\sqrt 6`; the probit errors have sd 1 (iid,
        heteroskedastic) or :math:`1/\sqrt 2` (unstructured, :math:`\Omega_{00} = 1`).

        Returns
        -------
        ndarray, shape (K + P,)
            :math:`\hat\beta_{logit} \cdot \sigma_{probit} / (\pi/\sqrt 6)`, then the covariance
            parameters of independent unit-variance errors.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Probit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
        ...               ref="car", cov="heteroskedastic")
        >>> start = m.start_params()
        >>> round(float(start[0]), 4), start[-3:].tolist()  # gc: -0.0109 / 1.2825
        (-0.0085, [0.0, 0.0, 0.0])
        """
        d = self.design
        beta = self._logit_estimate(maxiter=50, tol=1e-8)
        sd = 1.0 / np.sqrt(2.0) if self.structure == "unstructured" else 1.0
        beta = beta / _LOGIT_SD
        if self.method in ANALYTIC and self.structure != "iid" and d.n_alts >= 4:
            beta = self._iid_probit_beta(beta)
        return np.concatenate([beta * sd, cov_start(self.structure, d.n_alts)])

    def _iid_probit_beta(self, beta: np.ndarray) -> np.ndarray:
        """The iid probit's estimate (exact quadrature), started from ``beta``; ``beta``
        itself if that fit fails. The start of the analytic methods with many
        alternatives: the correlated fit then begins at the iid maximum."""
        sums = per_unit_weight(partial(engine.block_sum, self, "_block_iid_sums"),
                               engine.weight_scale(self))
        with np.errstate(all="ignore"):
            out = bfgs_opg_maximize(sums, beta, maxiter=200, tol=1e-6)
        return out.x if np.all(np.isfinite(out.x)) and np.isfinite(out.f) else beta

    def _block_iid_sums(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Block function of :meth:`_iid_probit_beta`: :meth:`_block_sums` of the iid probit."""
        with np.errstate(all="ignore"):
            ll, scores = probit_loglike_obs(beta, self.design.X, self.groups, structure="iid",
                                            ref=self.design.ref, method="quadrature", grad=True)
        return self._weighted_sums(ll, scores)

    def _block_logit_derivatives(self, beta: np.ndarray) -> tuple:
        """Block function of the start: the logit's log-likelihood, gradient and Hessian on
        the situations with a known choice."""
        d = self.design
        X, chosen, avail, w = d.X, d.chosen, d.avail, d.weights
        known = chosen >= 0
        if not known.all():
            X, chosen, avail = X[known], chosen[known], avail[known]
            w = None if w is None else w[known]
        return logit_loglike_derivatives(beta, X, chosen, avail, w, threads=self._threads)

    def _block_sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r"""Weighted totals: log-likelihood, gradient (K + P,) and the outer product of the
        scores :math:`\sum_i w_i s_i s_i'` (K + P, K + P); ``-inf`` outside the domain."""
        with np.errstate(all="ignore"):  # trial points outside the domain are rejected below
            ll, scores = self._loglike_scores(params, grad=True)
        return self._weighted_sums(ll, scores)

    def _weighted_sums(self, ll: np.ndarray, scores: np.ndarray) -> tuple:
        """``(sum w ll, sum w s, sum w s s')``; ``-inf`` and NaNs if any is not finite."""
        size = scores.shape[1]
        if not np.all(np.isfinite(ll)) or not np.all(np.isfinite(scores)):
            return -np.inf, np.full(size, np.nan), np.full((size, size), np.nan)
        w = self.design.weights
        ws = scores if w is None else scores * w[:, None]
        return float(np.sum(ll if w is None else w * ll)), ws.sum(axis=0), ws.T @ scores

    def _boundary(self, params: np.ndarray) -> str:
        """Which error variance has run to zero at ``params`` (``""`` if none).

        A log standard deviation (``log_sd``, ``log_L``) below -7, i.e. a standard deviation
        below 1/1000 of the reference scale; for ``"heteroskedastic"`` errors also the
        reference alternative's own, whose vanishing shows as every ``log_sd`` above +7
        (the coefficients growing with them).
        """
        names = self.param_names[self.design.n_params:]
        theta = np.asarray(params, float)[self.design.n_params:]
        low = [n for n, v in zip(names, theta) if n.startswith("log_") and v < _LOG_SD_FLOOR]
        if low:
            return f"{', '.join(low)} run(s) towards -inf"
        if self.structure == "heteroskedastic" and theta.min() > -_LOG_SD_FLOOR:
            ref = self.design.alternatives[self.design.ref]
            return (f"{', '.join(names)} run towards +inf with the coefficients, i.e. the error "
                    f"standard deviation of the reference alternative {ref!r} towards 0 (with "
                    f"another ref= it shows, sooner, as log_sd({ref}) towards -inf)")
        return ""

    def _separation_suspected(self, outcome: OptimizeOutcome) -> bool:
        """Whether the coefficients may be diverging (then the exact test runs)."""
        if self._never_chosen():
            return True
        if not engine.in_memory(self):
            return False
        if not outcome.converged and not self._boundary(outcome.x):
            return True
        d = self.design
        with np.errstate(all="ignore"):
            V = d.X @ outcome.x[:d.n_params]
        V = np.where(d.avail, V, np.nan)
        spread = np.nanmax(V, axis=1) - np.nanmin(V, axis=1)
        return not np.all(spread[np.isfinite(spread)] < _SEPARATED_UTILITY) \
            or not np.all(np.isfinite(spread))

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        """Warn of separation as the logit does (a never-chosen alternative, or utilities
        whose differences exceed :data:`_SEPARATED_UTILITY`: the exact test then decides),
        and name the covariance parameters running to a zero variance when the fit stalls;
        with ``me_check``, check the analytic approximation at the estimates."""
        if self.me_check and engine.in_memory(self):
            self._check_approximation(outcome.x)
        if self._separation_suspected(outcome):
            message = self._separation()
            if message:
                return False, message, SeparationWarning
        if outcome.converged:
            return True, outcome.message, ConvergenceWarning
        vanishing = self._boundary(outcome.x)
        if not vanishing:
            return False, outcome.message, ConvergenceWarning
        return False, (
            f"{outcome.message}; {vanishing}: the maximum lies on the boundary where an error "
            "variance is zero. Use a simpler cov= (e.g. 'iid') or check the data of those "
            "alternatives."
        ), ConvergenceWarning


    def _check_approximation(self, params: np.ndarray) -> float:
        r"""Mean :math:`|\log\hat P_i - \log\hat P_i^{GHK}|` over a subsample (every n-th
        situation, at most :data:`_CHECK_SITUATIONS`), GHK with :data:`_CHECK_DRAWS`
        scrambled Halton draws; an :class:`~choicemodels.ApproximationWarning` where it
        exceeds :data:`_CHECK_TOL`."""
        d = self.design
        every = max(1, -(-d.n_obs // _CHECK_SITUATIONS))
        X, chosen, avail, _ = engine.every_nth(d, every)
        groups = group_situations(chosen, avail)
        options = {"structure": self.structure, "ref": d.ref}
        ours, _ = probit_loglike_obs(params, X, groups, method=self.method,
                                     order_at=self._order_at, **options)
        uniforms = keyed_uniform_draws(situation_keys(d.obs_ids[::every]), max(d.n_alts - 2, 0),
                                       _CHECK_DRAWS, sequence="halton", rng=self.seed)
        ghk, _ = probit_loglike_obs(params, X, groups, method="ghk", uniforms=uniforms, **options)
        known = chosen >= 0
        error = float(np.mean(np.abs(ours - ghk)[known])) if known.any() else 0.0
        if error > _CHECK_TOL:
            warnings.warn(
                f"integration={self.method!r}: its log choice probabilities at the estimates "
                f"differ from GHK's ({_CHECK_DRAWS} draws) by {error:.3g} on average over "
                f"{int(known.sum())} situations (tolerance {_CHECK_TOL}); the approximation "
                "may bias the estimates. Compare with a fit by integration='ghk'.",
                ApproximationWarning, stacklevel=5,
            )
        return error


def _structure_of(spec: dict) -> tuple[str, list, int]:
    labels = list(spec["alternatives"])
    return spec["options"]["cov"], labels, labels.index(spec["ref"])


def error_covariance(spec: dict, theta: np.ndarray) -> pd.DataFrame:
    r"""(J-1) x (J-1) covariance :math:`\Omega` of the error differences against ``ref``.

    Indexed by the non-reference alternatives in column order, in the model's
    normalisation (iid: :math:`I + 11'`; unstructured: :math:`\Omega_{00} = 1`).
    """
    structure, labels, ref = _structure_of(spec)
    omega = diff_covariance(np.asarray(theta, float), structure, len(labels))[0]
    others = [a for j, a in enumerate(labels) if j != ref]
    return pd.DataFrame(omega, index=pd.Index(others, name="alternative"), columns=others)


def error_covariance_se(spec: dict, theta: np.ndarray, cov_theta: np.ndarray) -> pd.DataFrame:
    r"""Delta-method standard errors of :func:`error_covariance`.

    :math:`\operatorname{se}(\Omega_{kl})^2 = g_{kl}' V_\theta g_{kl}`,
    :math:`g_{kl} = \partial\Omega_{kl}/\partial\theta` (analytic), :math:`V_\theta` (P, P)
    the covariance of the estimated ``theta``. Fixed entries have standard error 0.
    """
    structure, labels, ref = _structure_of(spec)
    d_omega = diff_covariance(np.asarray(theta, float), structure, len(labels))[1]  # (P, M, M)
    var = np.einsum("pkl,pq,qkl->kl", d_omega, np.asarray(cov_theta, float), d_omega)
    frame = error_covariance(spec, theta)
    return pd.DataFrame(np.sqrt(var), index=frame.index, columns=frame.columns)


register_model_kind("Probit", Probit._from_spec, error_covariance)
