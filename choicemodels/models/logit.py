"""Multinomial and conditional logit."""

from __future__ import annotations


import numpy as np

from choicemodels.exceptions import ConvergenceWarning, SeparationWarning
from choicemodels.kernels.logit import (
    logit_loglike_derivatives,
    logit_probabilities,
    logit_scores,
)
from choicemodels.kernels.softmax import log_softmax
from choicemodels.models import engine
from choicemodels.models.base import ChoiceModel
from choicemodels.models.optimize import OptimizeOutcome, newton_maximize
from choicemodels.models.separation import divergence_suspected
from choicemodels.results import register_model_kind

__all__ = ["Logit"]

#: Fits on at least this many situations start from an estimate on a subsample.
WARM_START_MIN_OBS = 50_000
#: The subsample: every n-th situation, N / 50 of them but at least ``WARM_START_SUBSAMPLE``
#: and at most ``WARM_START_SUBSAMPLE_MAX`` (a distributed fit gathers it on the client).
WARM_START_SUBSAMPLE = 2_000
WARM_START_SUBSAMPLE_MAX = 200_000


class Logit(ChoiceModel):
    r"""Conditional / multinomial logit.

    .. math::
        P_{ij} = \frac{\exp(x_{ij}'\beta)}{\sum_{k \in A_i} \exp(x_{ik}'\beta)}

    over the alternatives :math:`A_i` available in situation *i*; the log-likelihood
    :math:`\sum_i w_i \log P_{i c_i}` is maximised by Newton's method on the analytic
    Hessian :math:`-\sum_i w_i X_i'(\operatorname{diag} p_i - p_i p_i')X_i`. The errors are
    iid standard Gumbel, so the scale is fixed (error standard deviation
    :math:`\pi/\sqrt 6`) and the K coefficients :math:`\beta` are the only parameters (P = 0).
    Shapes: N situations, J alternatives, K coefficients.

    Parameters
    ----------
    formula : str
        Three-part formula, e.g. ``"choice ~ gc + ttme | hinc | invt"``: generic
        coefficients | situation-level variables with alternative-specific coefficients
        (and constants) | alternative-specific coefficients; see the module ``choicemodels.formula``.
    data : pandas.DataFrame
        Long format, one row per (situation, alternative); never modified. A Dask DataFrame
        fits on the active Dask client.
    obs : str
        Column of the situation id.
    alt : str
        Column of the alternative label.
    ref : object, optional
        Reference alternative of the constants and part-2 coefficients (default: the first
        label in sorted order).
    avail : str, optional
        0/1 availability column; unavailable alternatives may also simply have no row.
    weights : str, optional
        Per-situation weight column (constant within a situation, non-negative).
    weight_type : {"frequency", "sampling"}, default "frequency"
        ``"frequency"``: whole numbers counting identical situations (Stata's fweight);
        ``"sampling"``: inverse selection probabilities (Stata's pweight), normalised to sum
        to the number of situations, with a robust covariance; see
        :meth:`~choicemodels.Logit.fit`.
    functions : dict of str to callable, optional
        Extra functions the formula's terms may call, by name, e.g. ``{"log1p": np.log1p}``,
        beyond the allowed ones (see the module ``choicemodels.grammar``). Python API only: they
        are not saved with the results, and results read from a file predict with the
        strict grammar.

    Examples
    --------
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode", ref="car").fit()
    >>> round(r.llf, 3)
    -189.525
    """

    model_name = "Logit"
    methods = ("newton",)
    default_maxiter = 100

    def start_params(self) -> np.ndarray:
        """Zeros, or on large data the estimate on a subsample.

        On ``WARM_START_MIN_OBS`` (50,000) situations or more, the start is the estimate on
        every n-th situation (2 % of them, 2,000 to 200,000), or zeros if that fit does not
        converge.

        Newton from zeros typically takes 7 full evaluations of the log-likelihood, gradient
        and Hessian; from the subsample's estimate, whose error is of the order of its
        standard errors, about 4, and the subsample's own fit costs a fraction of one.

        Returns
        -------
        ndarray, shape (K,)
            The starting coefficients.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> cm.Logit("choice ~ gc | 0", data=df, obs="individual", alt="mode").start_params()
        array([0.])
        """
        d = self.design
        zeros = np.zeros(d.n_params)
        if d.n_obs < WARM_START_MIN_OBS:
            return zeros
        size = min(max(WARM_START_SUBSAMPLE, d.n_obs // 50), WARM_START_SUBSAMPLE_MAX)
        X, chosen, avail, weights = engine.subsample(self, d.n_obs // size)
        weights = None if weights is None else weights / np.mean(weights)  # scale-free stop
        outcome = newton_maximize(
            lambda b: logit_loglike_derivatives(b, X, chosen, avail, weights),
            zeros, maxiter=15, tol=1.0,
        )
        return outcome.x if outcome.converged and np.all(np.isfinite(outcome.x)) else zeros

    def _probabilities(self, params, X, avail):
        return logit_probabilities(params, X, avail)

    # ---- block functions (on the situations of this model's design) -------------------
    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        d = self.design
        logp = log_softmax(d.X @ params, avail=d.avail)
        return logp[np.arange(d.n_obs), d.chosen]

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        d = self.design
        return logit_scores(params, d.X, d.chosen, d.avail)

    def _block_derivatives(self, beta: np.ndarray, hessian: bool = True):
        """Weighted log-likelihood, gradient (K,) and Hessian (K, K) (or None) of the block."""
        d = self.design
        return logit_loglike_derivatives(beta, d.X, d.chosen, d.avail, d.weights, hessian=hessian,
                                         threads=self._threads)

    def loglike(self, params: np.ndarray) -> float:
        return float(self._derivatives(params, hessian=False)[0])

    def score(self, params: np.ndarray) -> np.ndarray:
        return self._derivatives(params, hessian=False)[1]

    def hessian(self, params: np.ndarray) -> np.ndarray:
        r"""Analytic Hessian :math:`-\sum_i w_i X_i'(\operatorname{diag} p_i - p_i p_i')X_i`.

        :math:`X_i` (J, K) holds the attributes of situation i and :math:`p_i` (J,) its
        probabilities at ``params`` (0 for unavailable alternatives).

        Parameters
        ----------
        params : array_like, shape (K,)
            Coefficients, as in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K, K)
            Negative semi-definite; its inverse's negative is the nonrobust covariance.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.Logit("choice ~ gc | 0", data=df, obs="individual", alt="mode")
        >>> m.hessian(np.zeros(1)).round(1)
        array([[-108706.1]])
        """
        return self._derivatives(params)[2]

    def _diagnose(self, outcome: OptimizeOutcome) -> tuple[bool, str, type[Warning]]:
        if not divergence_suspected(outcome):
            return outcome.converged, outcome.message, ConvergenceWarning
        message = self._separation()
        if message:
            return False, message, SeparationWarning
        return outcome.converged, outcome.message, ConvergenceWarning


register_model_kind("Logit", Logit._from_spec)
