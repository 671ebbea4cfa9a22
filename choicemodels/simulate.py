"""Random-utility models: choice probabilities, choice simulators, the Gumbel-max check.

A decision maker in situation :math:`n` chooses the alternative with the largest utility

.. math::

    U_{nj} = V_{nj} + T \\varepsilon_{nj}, \\qquad j = 1, \\dots, J,

with systematic utilities :math:`V` (N, J), a temperature (error scale) :math:`T > 0`, and
errors that are iid standard Gumbel (multinomial logit) or normal, iid or with a J x J
covariance :math:`\\Sigma` (multinomial probit). With Gumbel errors the choice
probabilities are the softmax :math:`P_{nj} = e^{V_{nj}/T} / \\sum_k e^{V_{nk}/T}`
(the Gumbel-max trick), which :func:`gumbel_max_check` verifies by simulation.

The softmax functions here validate their input and call the pure kernels in
:mod:`choicemodels.kernels.softmax`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.kernels import softmax as _k
from choicemodels.rendering import Summary, Table

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "inverse_softmax",
    "softmax_jacobian",
    "simulate_choices",
    "simulate_dataset",
    "gumbel_max_check",
    "SimulatedData",
    "GumbelMaxCheck",
]

Errors = Literal["gumbel", "normal"]
RNG = int | np.random.Generator | None

# Rows of V handled per pass of the simulators: small enough to stay in cache.
_CHUNK_ELEMENTS = 1 << 15


# --------------------------------------------------------------------------- validation


def _check_temperature(temperature: float) -> float:
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        t = np.nan
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}.")
    return t


def _first(index: np.ndarray, k: int = 5) -> list:
    """The first k positions of ``np.argwhere`` output, as ints (1-D) or tuples."""
    return [int(row[0]) if len(row) == 1 else tuple(int(i) for i in row) for row in index[:k]]


def _check_utilities(
    V, avail, axis: int = -1, name: str = "V"
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Float utilities, boolean availability broadcast to V's shape, normalised axis."""
    try:
        V = np.asarray(V, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ChoiceDataError(f"{name} must be a numeric array of utilities: {exc}") from None
    if V.ndim == 0:
        raise ChoiceDataError(f"{name} must have at least one axis of alternatives, got a scalar.")
    if not -V.ndim <= axis < V.ndim:
        raise ValueError(f"axis {axis} is out of range for {name} with {V.ndim} dimensions.")
    axis %= V.ndim
    if avail is not None:
        a = np.asarray(avail)
        if a.dtype != bool:
            if not np.isin(a, (0, 1)).all():
                raise ChoiceDataError("avail must hold booleans or 0/1 flags.")
            a = a.astype(bool)
        try:
            avail = np.broadcast_to(a, V.shape)
        except ValueError:
            raise ChoiceDataError(
                f"avail of shape {a.shape} does not broadcast to {name}'s shape {V.shape}."
            ) from None
    if avail is None and np.isfinite(V).all():  # the common case, one pass
        return V, avail, axis
    considered = np.ones(V.shape, bool) if avail is None else avail
    bad = considered & (np.isnan(V) | (V == np.inf))
    if bad.any():
        raise ChoiceDataError(
            f"{name} has NaN or +inf utilities for available alternatives at "
            f"{_first(np.argwhere(bad))} ({int(bad.sum())} in all); use finite values, "
            "-inf or avail=False for unavailable alternatives."
        )
    none = ~np.any(considered & (V > -np.inf), axis=axis)
    if none.any():
        raise ChoiceDataError(
            f"{name} has no available alternative (all -inf or avail False) in "
            f"{int(none.sum())} slices along axis {axis} (first: {_first(np.argwhere(none))})."
        )
    return V, avail, axis


def _check_probabilities(p, name: str = "p") -> np.ndarray:
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ChoiceDataError(f"{name} must be a numeric array of probabilities: {exc}") from None
    if p.ndim == 0:
        raise ChoiceDataError(f"{name} must have a last axis of alternatives, got a scalar.")
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        raise ChoiceDataError(
            f"{name} must be finite and >= 0; bad entries at {_first(np.argwhere(bad))}."
        )
    return p


def _generator(rng: RNG) -> np.random.Generator:
    return np.random.default_rng(rng)


# --------------------------------------------------------------------------- softmax family


def softmax(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    """Multinomial-logit choice probabilities, exact for any finite utilities.

    .. math:: p_j = \\frac{e^{V_j/T}}{\\sum_{k \\text{ available}} e^{V_k/T}}

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0
        Scale T of the Gumbel errors; :math:`T \\to 0` tends to the argmax (ties shared).
    axis : int
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives get probability exactly 0 (their
        utilities are ignored and may be NaN).

    Returns
    -------
    ndarray, shape of V

    Examples
    --------
    >>> softmax([1e300, 1e300, -1e308])
    array([0.5, 0.5, 0. ])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.softmax(V, T, axis, avail)


def log_softmax(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    r"""Log choice probabilities :math:`V_j/T - \log\sum_k e^{V_k/T}`.

    Same arguments as :func:`softmax`. Unavailable alternatives get ``-inf``; available ones
    a finite value (clipped at the most negative float64 when the true value is smaller).

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0, default 1.0
        Scale T of the Gumbel errors; :math:`T \to 0` tends to the hard maximum.
    axis : int, default -1
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives are left out (their utilities are ignored
        and may be NaN).

    Returns
    -------
    ndarray, shape of V
        :math:`\log p_j`, computed without forming :math:`p` (exact where :math:`p_j`
        underflows).

    Examples
    --------
    >>> log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    >>> log_softmax([0.0, 1.0, -np.inf])
    array([-1.31326169, -0.31326169,        -inf])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.log_softmax(V, T, axis, avail)


def logsumexp(V, temperature: float = 1.0, axis: int = -1, avail=None) -> np.ndarray:
    r"""Smoothed maximum :math:`T \log \sum_{j \text{ available}} e^{V_j/T}` over ``axis``.

    The expected maximum utility (log-sum, inclusive value) of the logit model, minus
    Euler's constant times T. Same arguments as :func:`softmax`; ``axis`` is removed.

    Parameters
    ----------
    V : array_like, shape (..., J, ...)
        Utilities; alternatives on ``axis``. ``-inf`` marks an unavailable alternative.
    temperature : float > 0, default 1.0
        Scale T of the Gumbel errors; :math:`T \to 0` tends to the hard maximum.
    axis : int, default -1
        Axis of the alternatives.
    avail : array_like of bool, broadcastable to V, optional
        Availability; unavailable alternatives are left out (their utilities are ignored
        and may be NaN).

    Returns
    -------
    ndarray or float
        Shape of V without ``axis``.

    Examples
    --------
    >>> float(logsumexp([1e308, 1e308]))
    1e+308
    >>> logsumexp([[1.0, 2.0], [3.0, np.nan]], avail=[[1, 1], [1, 0]])
    array([2.31326169, 3.        ])
    """
    T = _check_temperature(temperature)
    V, avail, axis = _check_utilities(V, avail, axis)
    return _k.logsumexp(V, T, axis, avail)


def inverse_softmax(p, ref: int = 0) -> np.ndarray:
    """Utilities that reproduce probabilities: log-ratios :math:`\\log(p_j / p_{ref})`.

    Parameters
    ----------
    p : array_like, shape (..., J)
        Probabilities (non-negative; only ratios matter). A zero gives ``-inf``.
    ref : int
        Index of the reference alternative, whose utility becomes 0; needs :math:`p_{ref} > 0`.

    Returns
    -------
    ndarray, shape (..., J)
        ``softmax(inverse_softmax(p)) == p`` for probability vectors.

    Examples
    --------
    >>> inverse_softmax([0.25, 0.5, 0.25])
    array([0.        , 0.69314718, 0.        ])
    """
    p = _check_probabilities(p)
    J = p.shape[-1]
    if not -J <= int(ref) < J or int(ref) != ref:
        raise ValueError(f"ref must be an integer index in [0, {J}), got {ref!r}.")
    zero = p[..., ref] == 0
    if zero.any():
        raise ChoiceDataError(
            f"p[..., {ref}] (the reference alternative) must be > 0; it is 0 at "
            f"{_first(np.argwhere(np.atleast_1d(zero)))}. Choose another ref."
        )
    return _k.inverse_softmax(p, int(ref) % J)


def softmax_jacobian(p, temperature: float = 1.0) -> np.ndarray:
    r"""Jacobian of the softmax, :math:`\partial p_j/\partial V_k = (\operatorname{diag}(p) - pp^\top)/T`.

    Parameters
    ----------
    p : array_like, shape (..., J)
        Softmax probabilities (batched over leading axes).
    temperature : float > 0, default 1.0
        Scale T of the softmax :math:`p = \operatorname{softmax}(V/T)`.

    Returns
    -------
    ndarray, shape (..., J, J)
        Symmetric; each row sums to zero.

    Examples
    --------
    >>> softmax_jacobian([0.5, 0.5])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    >>> softmax_jacobian([0.5, 0.5], temperature=2.0)
    array([[ 0.125, -0.125],
           [-0.125,  0.125]])
    """
    T = _check_temperature(temperature)
    return _k.softmax_jacobian(_check_probabilities(p), T)


# --------------------------------------------------------------------------- simulators

NoiseFn = Callable[[np.ndarray, np.ndarray, np.random.Generator], None]


def _gumbel_noise(keys: np.ndarray, D: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``keys`` (n, J) with :math:`D + G`, G standard Gumbel as :math:`-\\log E`, E ~ Exp(1)."""
    rng.standard_exponential(out=keys)
    np.log(keys, out=keys)
    np.subtract(D, keys, out=keys)


def _normal_noise(factor: np.ndarray | None) -> NoiseFn:
    """Noise maker for :math:`D + L z`, z standard normal, :math:`LL^\\top = \\Sigma` (L None: identity)."""

    def noise(keys: np.ndarray, D: np.ndarray, rng: np.random.Generator) -> None:
        if factor is None:
            rng.standard_normal(out=keys)
        else:
            keys[...] = rng.standard_normal(keys.shape) @ factor.T
        np.add(D, keys, out=keys)

    return noise


def _argmax_choices(
    V: np.ndarray, T: float, n: int, noise: NoiseFn, rng: np.random.Generator
) -> np.ndarray:
    """Index of the largest :math:`(V_{nj} - m_n)/T + \\text{noise}_{nj}`, :math:`m_n = \\max_j V_{nj}`.

    Kernel: V (N, J) or (1, J) broadcast to ``n`` rows, finite or ``-inf`` (unavailable),
    at least one finite per row. Works through cache-sized blocks of rows; the random
    stream is consumed in row order, so results do not depend on the block size.
    Returns (n,) int64.
    """
    J = V.shape[1]
    rows = max(1, _CHUNK_ELEMENTS // J)
    keys_buf = np.empty((min(rows, n), J))
    shift_buf = np.empty_like(keys_buf)
    out = np.empty(n, np.intp)
    # Row shifts V - max(V) matter only when |V|/T is large or -inf marks unavailable
    # alternatives; below 2**10 the keys V/T + noise are already exact to 2**-42.
    magnitude = max(V.max(), -V.min())  # inf when some alternative is unavailable
    shift = not magnitude / T <= 2.0**10
    broadcast = V.shape[0] == 1
    if broadcast:
        D = _k.shifted_utilities(V, T)[0]
        unavailable = D == -np.inf
        shift = bool(unavailable.any())
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        keys = keys_buf[: stop - start]
        if not broadcast:
            D = V[start:stop]
            if shift:
                with np.errstate(over="ignore", invalid="ignore"):
                    D = np.subtract(D, D.max(axis=1, keepdims=True), out=shift_buf[: stop - start])
            if T != 1.0:
                with np.errstate(over="ignore"):
                    D = np.divide(D, T, out=shift_buf[: stop - start])
            if shift:  # unavailable, or so unlikely that the shift reached -inf
                unavailable = D == -np.inf
        noise(keys, D, rng)
        if shift:  # a -inf + inf key would be NaN, which argmax would pick
            np.copyto(keys, -np.inf, where=unavailable)
        keys.argmax(axis=1, out=out[start:stop])
    return out.astype(np.int64, copy=False)


def _covariance_factor(cov, J: int) -> np.ndarray:
    """Validated J x J covariance -> factor L with :math:`LL^\\top = \\Sigma` (PSD allowed)."""
    try:
        S = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"cov must be a numeric J x J matrix: {exc}") from None
    if S.shape != (J, J):
        raise SpecificationError(f"cov must have shape ({J}, {J}) for J={J} alternatives, got {S.shape}.")
    if not np.isfinite(S).all():
        raise SpecificationError("cov must be finite.")
    scale = max(float(np.abs(S).max()), np.finfo(float).tiny)
    if not np.allclose(S, S.T, rtol=0, atol=1e-12 * scale):
        raise SpecificationError(f"cov must be symmetric; max |cov - cov.T| = {np.abs(S - S.T).max():.3g}.")
    lam, Q = np.linalg.eigh((S + S.T) / 2)
    if lam[0] < -1e-10 * scale:
        raise SpecificationError(
            f"cov must be positive semi-definite; its smallest eigenvalue is {lam[0]:.3g}."
        )
    return Q * np.sqrt(np.clip(lam, 0, None))


def _mask_unavailable(V: np.ndarray, avail: np.ndarray | None) -> np.ndarray:
    """Utilities with ``-inf`` where ``avail`` is False."""
    return V if avail is None or avail.all() else np.where(avail, V, -np.inf)


def simulate_choices(
    V,
    errors: Errors = "gumbel",
    temperature: float = 1.0,
    cov=None,
    avail=None,
    *,
    rng: RNG = None,
) -> np.ndarray:
    """Simulate random-utility choices :math:`\\arg\\max_j V_{nj} + T\\varepsilon_{nj}`.

    Parameters
    ----------
    V : array_like, shape (N, J)
        Systematic utilities; ``-inf`` marks an unavailable alternative.
    errors : {"gumbel", "normal"}
        ``"gumbel"``: iid standard Gumbel, so that
        :math:`P(j) = \\operatorname{softmax}(V/T)_j` (logit). ``"normal"``: standard
        normal, iid or with covariance ``cov`` (probit).
    temperature : float > 0
        Error scale T, for both error families.
    cov : array_like, shape (J, J), optional
        Covariance :math:`\\Sigma` of normal errors (positive semi-definite); default identity.
    avail : array_like of bool, broadcastable to (N, J), optional
        Unavailable alternatives are never chosen.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same choices.

    Returns
    -------
    ndarray, shape (N,), int64
        Index of the chosen alternative.

    Examples
    --------
    >>> simulate_choices([[0.0, 1.0, -2.0], [5.0, 0.0, 0.0]], rng=0).shape
    (2,)
    """
    if errors not in ("gumbel", "normal"):
        raise SpecificationError(f"errors must be 'gumbel' or 'normal', got {errors!r}.")
    T = _check_temperature(temperature)
    V, avail, _ = _check_utilities(V, avail)
    if V.ndim != 2:
        raise ChoiceDataError(f"V must have shape (N, J), got {V.ndim} dimensions {V.shape}.")
    if errors == "gumbel":
        if cov is not None:
            raise SpecificationError("cov applies to normal errors only; drop it or use errors='normal'.")
        noise = _gumbel_noise
    else:
        noise = _normal_noise(None if cov is None else _covariance_factor(cov, V.shape[1]))
    return _argmax_choices(_mask_unavailable(V, avail), T, V.shape[0], noise, _generator(rng))


# --------------------------------------------------------------------------- datasets

_RESERVED = ("obs", "alt", "choice", "avail")


@dataclass(frozen=True, eq=False)
class SimulatedData:
    r"""A simulated long-format choice dataset and the truth that generated it.

    Fit it with ``cm.Logit(sim.formula, data=sim.data, **sim.columns)`` (or ``Probit``).
    Built by :func:`simulate_dataset`; the parameters are also the attributes of the same
    names.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per (situation, alternative): ``obs``, ``alt``, ``choice`` (0/1), the
        alternative attributes, the situation variables, and ``avail`` (0/1) if some
        alternatives were made unavailable.
    formula : str
        Three-part formula whose coefficients are exactly ``params``.
    params : pandas.Series
        True coefficients on the utility scale of :math:`U = V + T\varepsilon`.
    errors : {"gumbel", "normal"}
        Distribution of the errors :math:`\varepsilon`.
    temperature : float
        Error scale T.
    cov : ndarray, shape (J, J), or None
        Covariance of the normal errors before scaling by T (identity when iid); None for Gumbel.
    alternatives : tuple of str
        Labels ``alt0, alt1, ...``; the first (sorted) is the reference with constant 0.

    Examples
    --------
    >>> import choicemodels as cm
    >>> sim = cm.simulate_dataset(500, 3, {"price": -1.0, "time": -0.5}, asc=[0.5, -0.5], rng=0)
    >>> sim.data.shape, sim.alternatives
    ((1500, 5), ('alt0', 'alt1', 'alt2'))
    >>> r = cm.Logit(sim.formula, data=sim.data, **sim.columns).fit()
    >>> r.params.round(2).tolist(), sim.params.tolist()
    ([-1.08, -0.47, 0.53, -0.66], [-1.0, -0.5, 0.5, -0.5])
    """

    data: pd.DataFrame = field(repr=False)
    formula: str
    params: pd.Series = field(repr=False)
    errors: Errors
    temperature: float
    cov: np.ndarray | None = field(repr=False)
    alternatives: tuple[str, ...]

    @property
    def columns(self) -> dict[str, str]:
        """Column roles for the model constructors: ``obs``, ``alt`` and ``avail`` if present."""
        roles = {"obs": "obs", "alt": "alt"}
        if "avail" in self.data.columns:
            roles["avail"] = "avail"
        return roles

    @property
    def scaled_params(self) -> pd.Series:
        """Coefficients divided by T: what a logit estimates when the errors are Gumbel."""
        return self.params / self.temperature

    def error_covariance(self) -> pd.DataFrame:
        r"""Covariance of the error differences against the reference, :math:`T^2 M\Sigma M^\top`.

        :math:`M` maps the J errors to :math:`\varepsilon_j - \varepsilon_{ref}` for the
        other alternatives ((J-1) x (J-1), indexed by them). For Gumbel errors
        :math:`\Sigma = (\pi^2/6) I`.

        Returns
        -------
        pandas.DataFrame
            (J-1) x (J-1), rows and columns the non-reference alternatives; compare with a
            probit's :meth:`ChoiceResults.error_covariance <choicemodels.ChoiceResults.error_covariance>`
            after dividing by the variance that fixes its scale.

        Examples
        --------
        >>> import choicemodels as cm
        >>> sim = cm.simulate_dataset(100, 3, [1.0], errors="normal", temperature=2.0,
        ...                           cov=[[1, 0, 0], [0, 1, 0.5], [0, 0.5, 1]], rng=0)
        >>> sim.error_covariance()
              alt1  alt2
        alt1   8.0   6.0
        alt2   6.0   8.0
        """
        J = len(self.alternatives)
        S = np.eye(J) * np.pi**2 / 6 if self.cov is None else self.cov
        M = np.hstack([-np.ones((J - 1, 1)), np.eye(J - 1)])
        labels = list(self.alternatives[1:])
        return pd.DataFrame(self.temperature**2 * M @ S @ M.T, index=labels, columns=labels)

    def truth(self) -> dict:
        """JSON-ready description of the data-generating process.

        Returns
        -------
        dict
            ``formula``, ``params``, ``errors``, ``temperature``, ``cov`` (nested lists or
            None), ``alternatives``, ``columns`` and ``n_obs``.

        Examples
        --------
        >>> import choicemodels as cm
        >>> sim = cm.simulate_dataset(500, 3, {"price": -1.0}, rng=0)
        >>> t = sim.truth()
        >>> t["params"], t["n_obs"]
        ({'price': -1.0, '(Intercept):alt1': 0.0, '(Intercept):alt2': 0.0}, 500)
        """
        return {
            "formula": self.formula,
            "params": {k: float(v) for k, v in self.params.items()},
            "errors": self.errors,
            "temperature": self.temperature,
            "cov": None if self.cov is None else self.cov.tolist(),
            "alternatives": list(self.alternatives),
            "columns": self.columns,
            "n_obs": int(self.data["obs"].nunique()),
        }


def _coefficients(beta, default_prefix: str) -> dict[str, float]:
    if isinstance(beta, Mapping):
        return {str(k): float(v) for k, v in beta.items()}
    values = np.atleast_1d(np.asarray(beta, dtype=np.float64))
    return {f"{default_prefix}{k + 1}": float(v) for k, v in enumerate(values)}


def _alternative_coefficients(values, J: int, what: str) -> np.ndarray:
    """Length-(J-1) coefficients of the non-reference alternatives, as a length-J row with 0 first."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.shape != (J - 1,) or not np.isfinite(v).all():
        raise SpecificationError(
            f"{what} needs {J - 1} finite values (one per non-reference alternative alt1..), "
            f"got {np.asarray(values).tolist()}."
        )
    return np.concatenate([[0.0], v])


def simulate_dataset(
    n_obs: int,
    n_alts: int,
    beta,
    *,
    asc: Sequence[float] | None = None,
    gamma: Mapping[str, Sequence[float]] | None = None,
    errors: Errors = "gumbel",
    cov=None,
    temperature: float = 1.0,
    avail_prob: float | None = None,
    rng: RNG = None,
) -> SimulatedData:
    r"""Simulate a long-format random-utility dataset with known coefficients.

    .. math::

        U_{nj} = x_{nj}^\top \beta + \alpha_j + z_n^\top \gamma_j + T\varepsilon_{nj},
        \qquad \alpha_0 = 0,\ \gamma_0 = 0,

    with attributes :math:`x_{nj}` and situation variables :math:`z_n` iid standard normal.
    The reference alternative ``alt0`` (first in sorted order, the models' default
    ``ref``) has its constant and situation coefficients normalised to 0.

    Parameters
    ----------
    n_obs : int
        Number of situations N.
    n_alts : int
        Number of alternatives J (>= 2).
    beta : mapping name -> float, or sequence of K floats (named ``x1..xK``)
        Generic coefficients of the alternative-varying attributes (formula part 1).
    asc : sequence of J-1 floats, optional
        Constants of ``alt1..``; default 0 (they are estimated all the same).
    gamma : mapping name -> J-1 floats, optional
        Situation-level variables and their coefficients for ``alt1..`` (formula part 2).
    errors : {"gumbel", "normal"}, default "gumbel"
        Error distribution, as in :func:`simulate_choices`.
    cov : array_like, shape (J, J), optional
        Covariance of normal errors, as in :func:`simulate_choices`; default identity.
    temperature : float > 0, default 1.0
        Error scale T, as in :func:`simulate_choices`.
    avail_prob : float in (0, 1], optional
        Each alternative is available with this probability, independently; situations
        with none available are redrawn. Adds the 0/1 column ``avail``.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same data.

    Returns
    -------
    SimulatedData
        The data, the formula and the true coefficients.

    Examples
    --------
    >>> sim = simulate_dataset(500, 3, {"price": -1.0, "time": -0.5}, asc=[0.5, -0.5], rng=0)
    >>> sim.formula
    'choice ~ price + time | 1'
    >>> sim.data.head(3)
       obs   alt  choice     price      time
    0    0  alt0       0  0.125730 -0.132105
    1    0  alt1       1  0.640423  0.104900
    2    0  alt2       0 -0.535669  0.361595
    """
    N, J = int(n_obs), int(n_alts)
    if N != n_obs or N < 1:
        raise ValueError(f"n_obs must be a positive integer, got {n_obs!r}.")
    if J != n_alts or J < 2:
        raise ValueError(f"n_alts must be an integer >= 2, got {n_alts!r}.")
    T = _check_temperature(temperature)
    generic = _coefficients(beta, "x")
    situation = {str(k): _alternative_coefficients(v, J, f"gamma[{k!r}]") for k, v in (gamma or {}).items()}
    alpha = np.zeros(J) if asc is None else _alternative_coefficients(asc, J, "asc")
    names = list(generic) + list(situation)
    bad = [n for n in names if not n.isidentifier() or n in _RESERVED]
    if bad or len(set(names)) != len(names):
        raise SpecificationError(
            f"variable names must be distinct identifiers other than {_RESERVED}; got {names}."
        )
    if not all(np.isfinite(list(generic.values()))):
        raise SpecificationError(f"beta must be finite, got {generic}.")
    if avail_prob is not None and not 0 < avail_prob <= 1:
        raise ValueError(f"avail_prob must lie in (0, 1], got {avail_prob!r}.")
    if errors not in ("gumbel", "normal"):
        raise SpecificationError(f"errors must be 'gumbel' or 'normal', got {errors!r}.")
    if errors == "gumbel" and cov is not None:
        raise SpecificationError("cov applies to normal errors only; drop it or use errors='normal'.")
    factor = None if cov is None else _covariance_factor(cov, J)
    gen = _generator(rng)

    X = gen.standard_normal((N, J, len(generic)))
    Z = gen.standard_normal((N, len(situation)))
    V = X @ np.fromiter(generic.values(), float, len(generic)) + alpha
    for k, g in enumerate(situation.values()):
        V += Z[:, k : k + 1] * g
    avail = None
    if avail_prob is not None:
        avail = gen.random((N, J)) < avail_prob
        empty = ~avail.any(axis=1)
        while empty.any():
            avail[empty] = gen.random((int(empty.sum()), J)) < avail_prob
            empty = ~avail.any(axis=1)
    noise = _gumbel_noise if errors == "gumbel" else _normal_noise(factor)
    chosen = _argmax_choices(_mask_unavailable(V, avail), T, N, noise, gen)

    width = len(str(J - 1))
    alternatives = tuple(f"alt{j:0{width}d}" for j in range(J))
    frame = {
        "obs": np.repeat(np.arange(N), J),
        "alt": np.tile(np.array(alternatives, dtype=object), N),
        "choice": (np.arange(J) == chosen[:, None]).astype(np.int64).ravel(),
    }
    frame.update({name: X[:, :, k].ravel() for k, name in enumerate(generic)})
    frame.update({name: np.repeat(Z[:, k], J) for k, name in enumerate(situation)})
    if avail is not None:
        frame["avail"] = avail.astype(np.int64).ravel()

    part1 = " + ".join(generic) or "0"
    part2 = " + ".join(situation) or "1"
    params = dict(generic)
    params.update({f"(Intercept):{a}": alpha[j] for j, a in enumerate(alternatives) if j})
    for name, g in situation.items():
        params.update({f"{name}:{a}": g[j] for j, a in enumerate(alternatives) if j})
    cov_out = None
    if errors == "normal":
        cov_out = np.eye(J) if cov is None else np.array(cov, dtype=np.float64)
        cov_out.setflags(write=False)
    return SimulatedData(
        data=pd.DataFrame(frame),
        formula=f"choice ~ {part1} | {part2}",
        params=pd.Series(params, dtype=np.float64),
        errors=errors,
        temperature=T,
        cov=cov_out,
        alternatives=alternatives,
    )


# --------------------------------------------------------------------------- Gumbel-max check


@dataclass(frozen=True, eq=False)
class GumbelMaxCheck:
    r"""Simulated choice frequencies against the softmax probabilities.

    Built by :func:`gumbel_max_check`; the parameters are also the attributes of the same
    names.

    Parameters
    ----------
    frequencies : ndarray, shape (J,), int64
        How often each alternative had the largest :math:`V_j/T + \varepsilon_j`.
    probabilities : ndarray, shape (J,)
        :math:`\operatorname{softmax}(V/T)`, the probabilities under Gumbel errors.
    statistic : float
        Pearson chi-square :math:`\sum_j (f_j - R p_j)^2 / (R p_j)` over alternatives with
        :math:`p_j > 0` (inf if an alternative with :math:`p_j = 0` was chosen).
    p_value : float
        Upper tail of the chi-square distribution with ``df`` degrees of freedom.
    df : int
        Number of alternatives with :math:`p_j > 0`, minus one.
    draws : int
        Number of simulated choices R.
    temperature : float
        Error scale T.
    errors : {"gumbel", "normal"}, default "gumbel"
        Errors used to simulate (``"normal"`` shows the check rejecting a wrong sampler).

    Examples
    --------
    >>> import choicemodels as cm
    >>> check = cm.gumbel_max_check([1.0, 0.0, -1.0], draws=100_000, rng=0)
    >>> check.df, round(check.p_value, 3)
    (2, 0.633)
    >>> check.expected.round(1)
    array([66524.1, 24472.8,  9003.1])
    """

    frequencies: np.ndarray
    probabilities: np.ndarray
    statistic: float
    p_value: float
    df: int
    draws: int
    temperature: float
    errors: Errors = "gumbel"

    @property
    def expected(self) -> np.ndarray:
        """Expected counts :math:`R p_j`."""
        return self.draws * self.probabilities

    _TITLE = "Gumbel-max check: argmax(V/T + error) frequencies vs softmax(V/T)"

    def _verdict(self) -> str:
        return (
            f"Pearson chi-square = {self.statistic:.3f}, df = {self.df}, p-value = {self.p_value:.4g} "
            f"({self.draws} draws, {self.errors} errors, temperature {self.temperature:g})"
        )

    def summary(self) -> Summary:
        """Frequencies, shares, softmax probabilities and expected counts per alternative,
        with the chi-square test (text, HTML, LaTeX, CSV, Markdown).

        Returns
        -------
        Summary
            A :class:`~choicemodels.rendering.Summary`: one row per alternative, columns
            ``frequency``, ``share``, ``softmax`` and ``expected``; the Pearson chi-square
            test in the note.

        Examples
        --------
        >>> import choicemodels as cm
        >>> s = cm.gumbel_max_check([1.0, 0.0, -1.0], draws=100_000, rng=0).summary()
        >>> s.table[["frequency", "softmax"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
                     frequency  softmax
        alternative
        0                66503   0.6652
        1                24565   0.2447
        2                 8932   0.0900
        >>> print(s.notes[0])
        Pearson chi-square = 0.915, df = 2, p-value = 0.633 (100000 draws, gumbel errors, temperature 1)
        """
        frame = pd.DataFrame(
            {"frequency": self.frequencies, "share": self.frequencies / self.draws,
             "softmax": self.probabilities, "expected": self.expected},
            index=pd.RangeIndex(self.frequencies.size, name="alternative"),
        )
        return Summary(self._TITLE, tables=(Table("", frame, {"frequency": "count"}),),
                       notes=(self._verdict(),))

    def __str__(self) -> str:
        """The check's table and chi-square test as text (the console shows the same table).

        Returns
        -------
        str
            The table as plain text.
        """
        return self.summary().as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _pearson(frequencies: np.ndarray, probabilities: np.ndarray, draws: int) -> tuple[float, int, float]:
    """Pearson chi-square statistic, degrees of freedom and p-value."""
    possible = probabilities > 0
    df = int(possible.sum()) - 1
    if frequencies[~possible].any():
        return np.inf, df, 0.0
    expected = draws * probabilities[possible]
    statistic = float(np.sum((frequencies[possible] - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else 1.0
    return statistic, df, p_value


def gumbel_max_check(
    V,
    draws: int = 1_000_000,
    temperature: float = 1.0,
    *,
    errors: Errors = "gumbel",
    rng: RNG = None,
) -> GumbelMaxCheck:
    r"""Check the Gumbel-max trick: :math:`\arg\max_j (V_j/T + G_j) \sim \operatorname{softmax}(V/T)`.

    Simulates ``draws`` choices from one vector of utilities and compares the frequencies
    with the softmax probabilities by Pearson's chi-square test (reliable when the
    expected counts :math:`R p_j` are at least about 5).

    Parameters
    ----------
    V : array_like, shape (J,)
        Utilities of one choice situation; ``-inf`` marks an unavailable alternative.
    draws : int, default 1_000_000
        Number of simulated choices R.
    temperature : float > 0, default 1.0
        Error scale T.
    errors : {"gumbel", "normal"}, default "gumbel"
        ``"normal"`` draws iid standard normal errors instead, which the test should reject.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same frequencies.

    Returns
    -------
    GumbelMaxCheck
        Frequencies, softmax probabilities and the chi-square test.

    Examples
    --------
    >>> check = gumbel_max_check([1.0, 0.0, -1.0], draws=100_000, rng=0)
    >>> int(check.frequencies.sum()), round(check.p_value, 3)
    (100000, 0.633)
    >>> gumbel_max_check([1.0, 0.0, -1.0], draws=100_000, errors="normal", rng=0).p_value
    0.0
    """
    if errors not in ("gumbel", "normal"):
        raise SpecificationError(f"errors must be 'gumbel' or 'normal', got {errors!r}.")
    T = _check_temperature(temperature)
    V, _, _ = _check_utilities(V, None)
    if V.ndim != 1:
        raise ChoiceDataError(f"V must be one vector of J utilities, got shape {V.shape}.")
    R = int(draws)
    if R != draws or R < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}.")
    noise = _gumbel_noise if errors == "gumbel" else _normal_noise(None)
    chosen = _argmax_choices(V[None, :], T, R, noise, _generator(rng))
    frequencies = np.bincount(chosen, minlength=V.size)
    probabilities = _k.softmax(V, T)
    statistic, df, p_value = _pearson(frequencies, probabilities, R)
    for a in (frequencies, probabilities):
        a.setflags(write=False)
    return GumbelMaxCheck(frequencies, probabilities, statistic, p_value, df, R, T, errors)
