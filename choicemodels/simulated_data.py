"""Simulated choice datasets: :func:`simulate_dataset` and :class:`SimulatedData`.

Attributes are drawn, utilities formed from known coefficients and choices drawn by the
random-utility simulators of :mod:`choicemodels.random_utility`; the result is a
long-format frame ready for the models, with the truth that generated it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from choicemodels.exceptions import SpecificationError
from choicemodels.memory import check_memory
from choicemodels.random_utility import (
    RNG,
    Errors,
    ERRORS,
    _argmax_choices,
    _check_cross_nests,
    _check_nests,
    _generator,
    _mask_unavailable,
    _noise_for,
)
from choicemodels.softmax import _check_temperature

__all__ = ["simulate_dataset", "SimulatedData"]


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
    errors : {"gumbel", "normal", "nested", "cross_nested"}
        Distribution of the errors :math:`\varepsilon`.
    temperature : float
        Error scale T.
    cov : ndarray, shape (J, J), or None
        Covariance of the normal errors before scaling by T (identity when iid); None for
        Gumbel and nested errors.
    alternatives : tuple of str
        Labels ``alt0, alt1, ...``; the first (sorted) is the reference with constant 0.
    nests : dict of str to tuple of str (or to dict of str to float), or None
        Nested errors: the nests, by alternative label (``NestedLogit``'s ``nests``).
        Cross-nested errors: nest -> {alternative label: true allocation}, members with a
        positive allocation only (``CrossNestedLogit``'s ``nests`` with every allocation fixed).
    iv : dict of str to float, or None
        Nested and cross-nested errors: the true nest parameters :math:`\lambda_k` (``iv:<nest>``).

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
    nests: dict[str, tuple[str, ...] | dict[str, float]] | None = None
    iv: dict[str, float] | None = None

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
        :math:`\Sigma = (\pi^2/6) I`; for nested errors
        :math:`\Sigma_{ij} = (\pi^2/6)(1 - \lambda_k^2)` for :math:`i \ne j` in nest k (the
        correlation of the logistic model), 0 across nests.

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
        if self.errors == "cross_nested":
            raise SpecificationError(
                "cross-nested GEV errors have no closed-form covariance; estimate it from "
                "draws (cm.simulate_choices with errors='cross_nested')."
            )
        J = len(self.alternatives)
        S = np.eye(J) * np.pi**2 / 6 if self.cov is None else self.cov
        if self.nests is not None:
            position = {a: j for j, a in enumerate(self.alternatives)}
            for name, alts in self.nests.items():
                idx = [position[a] for a in alts]
                block = np.full((len(idx), len(idx)), 1 - self.iv[name] ** 2)
                np.fill_diagonal(block, 1.0)
                S[np.ix_(idx, idx)] = block * np.pi**2 / 6
        M = np.hstack([-np.ones((J - 1, 1)), np.eye(J - 1)])
        labels = list(self.alternatives[1:])
        return pd.DataFrame(self.temperature**2 * M @ S @ M.T, index=labels, columns=labels)

    def truth(self) -> dict:
        """JSON-ready description of the data-generating process.

        Returns
        -------
        dict
            ``formula``, ``params``, ``errors``, ``temperature``, ``cov`` (nested lists or
            None), ``alternatives``, ``columns``, ``n_obs``, and for nested errors ``nests``
            and ``iv``.

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
        } | ({} if self.nests is None else
             {"nests": {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in self.nests.items()},
              "iv": dict(self.iv)})


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
    nests=None,
    iv=None,
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
    errors : {"gumbel", "normal", "nested", "cross_nested"}, default "gumbel"
        Error distribution, as in :func:`simulate_choices`; ``"nested"`` draws the exact
        nested GEV errors of a nested logit with ``nests`` and ``iv``, ``"cross_nested"``
        those of a cross-nested logit (allocations in ``nests``).
    cov : array_like, shape (J, J), optional
        Covariance of normal errors, as in :func:`simulate_choices`; default identity.
    temperature : float > 0, default 1.0
        Error scale T, as in :func:`simulate_choices`.
    avail_prob : float in (0, 1], optional
        Each alternative is available with this probability, independently; situations
        with none available are redrawn. Adds the 0/1 column ``avail``.
    nests : list of lists, or dict of str to list (or to dict), optional
        Nested errors only: the nests, by alternative index (0..J-1) or label
        (``alt0``..); a list names them ``nest0, nest1, ...``. Cross-nested errors: each
        nest a dict alternative -> allocation (an alternative's allocations sum to one;
        one may be ``None``, the rest).
    iv : sequence of float, or dict of str to float, optional
        Nested and cross-nested errors: the nest parameters :math:`\lambda_k \in (0, 1]`.
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
    >>> nested = simulate_dataset(500, 3, [1.0], errors="nested",
    ...                           nests={"a": ["alt0", "alt1"], "b": ["alt2"]}, iv=[0.5, 1.0], rng=0)
    >>> nested.nests, nested.iv
    ({'a': ('alt0', 'alt1'), 'b': ('alt2',)}, {'a': 0.5, 'b': 1.0})
    >>> cross = simulate_dataset(500, 3, [1.0], errors="cross_nested", iv=[0.5, 0.7],
    ...                          nests={"a": {"alt0": 1.0, "alt1": 0.3}, "b": {"alt1": 0.7, "alt2": 1.0}},
    ...                          rng=0)
    >>> cross.nests
    {'a': {'alt0': 1.0, 'alt1': 0.3}, 'b': {'alt1': 0.7, 'alt2': 1.0}}
    """
    N, J = int(n_obs), int(n_alts)
    if N != n_obs or N < 1:
        raise ValueError(f"n_obs must be a positive integer, got {n_obs!r}.")
    if J != n_alts or J < 2:
        raise ValueError(f"n_alts must be an integer >= 2, got {n_alts!r}.")
    T = _check_temperature(temperature)
    generic = _coefficients(beta, "x")
    # peak: X and V, then the frame's columns (obs, alt, choice, the variables, avail)
    # held twice while the DataFrame is built (measured: within 1 column of this)
    columns = 3 + len(generic) + len(gamma or {}) + (avail_prob is not None)
    check_memory(
        8.0 * N * J * (2 * columns + len(generic) + 1),
        f"simulate_dataset with n_obs={N} situations of n_alts={J} alternatives and "
        f"{len(generic) + len(gamma or {})} variables",
        "n_obs or n_alts",
    )
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
    if errors not in ERRORS:
        raise SpecificationError(
            f"errors must be 'gumbel' or 'normal' (or 'nested' or 'cross_nested', with nests and iv), got {errors!r}."
        )
    width = len(str(J - 1))
    alternatives = tuple(f"alt{j:0{width}d}" for j in range(J))
    nests = _nest_indices(nests, alternatives)
    noise = _noise_for(errors, J, cov, nests, iv)
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
    chosen = _argmax_choices(_mask_unavailable(V, avail), T, N, noise, gen)

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
    nests_out = iv_out = None
    if errors == "nested":
        nest_of, lam = _check_nests(nests, iv, J)
        names = list(nests) if isinstance(nests, Mapping) else [f"nest{k}" for k in range(lam.size)]
        nests_out = {str(name): tuple(alternatives[j] for j in np.flatnonzero(nest_of == k))
                     for k, name in enumerate(names)}
        iv_out = {str(name): float(v) for name, v in zip(names, lam)}
    if errors == "cross_nested":
        log_alpha, lam = _check_cross_nests(nests, iv, J)
        names = list(nests) if isinstance(nests, Mapping) else [f"nest{k}" for k in range(lam.size)]
        nests_out = {str(name): {alternatives[j]: float(np.exp(log_alpha[j, k]))
                                 for j in np.flatnonzero(np.isfinite(log_alpha[:, k]))}
                     for k, name in enumerate(names)}
        iv_out = {str(name): float(v) for name, v in zip(names, lam)}
    return SimulatedData(
        data=pd.DataFrame(frame),
        formula=f"choice ~ {part1} | {part2}",
        params=pd.Series(params, dtype=np.float64),
        errors=errors,
        temperature=T,
        cov=cov_out,
        alternatives=alternatives,
        nests=nests_out,
        iv=iv_out,
    )


def _nest_indices(nests, alternatives: tuple[str, ...]):
    """``nests`` with alternative labels replaced by their indices (indices and other values kept)."""
    if nests is None or isinstance(nests, (str, bytes)):
        return nests
    position = {a: j for j, a in enumerate(alternatives)}

    def index(alts):
        if isinstance(alts, Mapping):  # cross-nested: alternative -> allocation
            return {position.get(a, a) if isinstance(a, str) else a: v for a, v in alts.items()}
        if isinstance(alts, (str, bytes)) or not hasattr(alts, "__iter__"):
            alts = [alts]
        return [position.get(a, a) if isinstance(a, str) else a for a in alts]

    if isinstance(nests, Mapping):
        return {name: index(alts) for name, alts in nests.items()}
    return [index(alts) for alts in nests]
