"""The Gumbel-max check: simulated choice frequencies against the softmax.

With iid standard Gumbel errors the probability that alternative :math:`j` has the
largest utility :math:`V_j + T \\varepsilon_j` is the softmax
:math:`e^{V_j/T} / \\sum_k e^{V_k/T}`; :func:`gumbel_max_check` draws the choices and
compares the frequencies with the probabilities (Pearson's test). With nested GEV errors
(``errors="nested"``) the argmax follows the nested-logit probabilities, and with
cross-nested GEV errors (``errors="cross_nested"``) the cross-nested logit's, both computed
here in log space from the closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.kernels import gev as _gev
from choicemodels.kernels import softmax as _k
from choicemodels.random_utility import (
    ERRORS,
    RNG,
    Errors,
    _argmax_counts,
    _check_cross_nests,
    _check_nests,
    _generator,
    _noise_for,
)
from choicemodels.rendering import PrintsAsSummary, Summary, Table
from choicemodels.softmax import _check_temperature, _check_utilities

__all__ = ["gumbel_max_check", "GumbelMaxCheck"]


@dataclass(frozen=True, eq=False, repr=False)
class GumbelMaxCheck(PrintsAsSummary):
    r"""Simulated choice frequencies against the softmax (or nested-logit) probabilities.

    Built by :func:`gumbel_max_check`; the parameters are also the attributes of the same
    names.

    Parameters
    ----------
    frequencies : ndarray, shape (J,), int64
        How often each alternative had the largest :math:`V_j/T + \varepsilon_j`.
    probabilities : ndarray, shape (J,)
        :math:`\operatorname{softmax}(V/T)`, the probabilities under Gumbel errors; the
        nested-logit (cross-nested logit) probabilities of V/T for nested (cross-nested)
        errors.
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
    errors : {"gumbel", "normal", "nested", "cross_nested"}, default "gumbel"
        Errors used to simulate (``"normal"`` shows the check rejecting a wrong sampler).
    iv : ndarray, shape (K,), optional
        Nest parameters of nested and cross-nested errors, in the order of the nests.
    nest_of : ndarray, shape (J,), optional
        Nest of each alternative (0..K-1), for nested errors.
    alphas : ndarray, shape (J, K), optional
        Allocations of the alternatives to the nests (0 outside), for cross-nested errors.

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
    iv: np.ndarray | None = None
    nest_of: np.ndarray | None = None
    alphas: np.ndarray | None = None

    @property
    def expected(self) -> np.ndarray:
        """Expected counts :math:`R p_j`."""
        return self.draws * self.probabilities

    @property
    def _reference(self) -> str:
        return {"nested": "nested logit", "cross_nested": "cross-nested logit"}.get(self.errors, "softmax")

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
            ``frequency``, ``share``, ``softmax`` (``nested logit`` for nested errors) and
            ``expected``; the Pearson chi-square test in the note.

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
             self._reference: self.probabilities, "expected": self.expected},
            index=pd.RangeIndex(self.frequencies.size, name="alternative"),
        )
        title = f"Gumbel-max check: argmax(V/T + error) frequencies vs {self._reference}(V/T)"
        return Summary(title, tables=(Table("", frame, {"frequency": "count"}),),
                       notes=(self._verdict(),))


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
    nests=None,
    iv=None,
    rng: RNG = None,
) -> GumbelMaxCheck:
    r"""Check the Gumbel-max trick: :math:`\arg\max_j (V_j/T + G_j) \sim \operatorname{softmax}(V/T)`.

    Simulates ``draws`` choices from one vector of utilities and compares the frequencies
    with the softmax probabilities by Pearson's chi-square test (reliable when the
    expected counts :math:`R p_j` are at least about 5). With ``errors="nested"`` the
    errors are nested GEV, drawn exactly (not from the probabilities), and the reference is
    the nested logit: with :math:`W = V/T`,

    .. math::

        P_j = \frac{e^{W_j/\lambda_k} S_k^{\lambda_k - 1}}{\sum_m S_m^{\lambda_m}},
        \qquad S_k = \sum_{i \in k} e^{W_i/\lambda_k}, \quad j \in k.

    Parameters
    ----------
    V : array_like, shape (J,)
        Utilities of one choice situation; ``-inf`` marks an unavailable alternative.
    draws : int, default 1_000_000
        Number of simulated choices R. They are counted over cache-sized blocks, so
        memory does not grow with R; time does (about 0.1 s per million draws of three
        alternatives).
    temperature : float > 0, default 1.0
        Error scale T.
    errors : {"gumbel", "normal", "nested", "cross_nested"}, default "gumbel"
        ``"normal"`` draws iid standard normal errors instead, which the test should
        reject; ``"nested"`` draws nested GEV errors with ``nests`` and ``iv``;
        ``"cross_nested"`` draws cross-nested GEV errors (allocations in ``nests``), and
        the reference is the cross-nested logit (see
        :class:`~choicemodels.CrossNestedLogit`).
    nests : list of lists of int, or dict of str to list of int, optional
        Nested errors only: the nests, as indices of V; every alternative in exactly one.
        Cross-nested errors: a dict nest name -> {index: allocation}, each alternative's
        allocations summing to one (one of them may be ``None``: the rest).
    iv : sequence of float, or dict of str to float, optional
        Nested and cross-nested errors: the nest parameters :math:`\lambda_k \in (0, 1]`.
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
    >>> nested = gumbel_max_check([0.0, 0.0, 0.0], draws=100_000, errors="nested",
    ...                           nests=[[0, 1], [2]], iv=[0.5, 1.0], rng=0)
    >>> nested.probabilities.round(4), nested.p_value > 0.001
    (array([0.2929, 0.2929, 0.4142]), True)
    >>> cross = gumbel_max_check([0.0, 0.0, 0.0], draws=100_000, errors="cross_nested",
    ...                          nests={"a": {0: 1.0, 1: 0.5}, "b": {1: 0.5, 2: 1.0}},
    ...                          iv=[0.5, 0.5], rng=0)
    >>> cross.probabilities.round(4), cross.p_value > 0.001
    (array([0.4, 0.2, 0.4]), True)
    """
    if errors not in ERRORS:
        raise SpecificationError(
            f"errors must be 'gumbel' or 'normal' (or 'nested' or 'cross_nested', with nests and iv), got {errors!r}."
        )
    T = _check_temperature(temperature)
    V, _, _ = _check_utilities(V, None)
    if V.ndim != 1:
        raise ChoiceDataError(f"V must be one vector of J utilities, got shape {V.shape}.")
    R = int(draws)
    if R != draws or R < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}.")
    noise = _noise_for(errors, V.size, None, nests, iv)
    frequencies = _argmax_counts(V[None, :], T, R, noise, _generator(rng))
    nest_of = lam = alphas = None
    if errors == "nested":
        nest_of, lam = _check_nests(nests, iv, V.size)
        with np.errstate(over="ignore"):
            probabilities = np.exp(_gev.nested_logit_log_probabilities(V[None, :] / T, nest_of, lam)[0])
    elif errors == "cross_nested":
        log_alpha, lam = _check_cross_nests(nests, iv, V.size)
        alphas = np.exp(log_alpha)
        with np.errstate(over="ignore"):
            probabilities = np.exp(_gev.cross_nested_logit_log_probabilities(V[None, :] / T, log_alpha, lam)[0])
    else:
        probabilities = _k.softmax(V, T)
    statistic, df, p_value = _pearson(frequencies, probabilities, R)
    for a in (frequencies, probabilities, nest_of, lam, alphas):
        if a is not None:
            a.setflags(write=False)
    return GumbelMaxCheck(frequencies, probabilities, statistic, p_value, df, R, T, errors, lam, nest_of, alphas)
