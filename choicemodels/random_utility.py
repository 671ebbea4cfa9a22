"""Random-utility choices: error generators and :func:`simulate_choices`.

A decision maker in situation :math:`n` chooses the alternative with the largest utility
:math:`U_{nj} = V_{nj} + T \\varepsilon_{nj}`, with errors iid standard Gumbel
(multinomial logit), normal, iid or with a J x J covariance :math:`\\Sigma`
(multinomial probit), or nested GEV: Gumbel margins, logistic dependence inside each nest
and independence across nests (nested logit), drawn exactly by Stephenson's (2003)
positive-stable construction (:mod:`choicemodels.kernels.gev`). The argmax runs over cache-sized blocks of situations with the
errors drawn in place; the dataset simulator and the Gumbel-max check use the same
generators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Literal

import numpy as np

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.kernels import gev as _gev
from choicemodels.kernels import softmax as _k
from choicemodels.memory import check_memory
from choicemodels.softmax import _check_temperature, _check_utilities

__all__ = ["simulate_choices"]

Errors = Literal["gumbel", "normal", "nested", "cross_nested"]
ERRORS = ("gumbel", "normal", "nested", "cross_nested")
GEV_ERRORS = ("nested", "cross_nested")
RNG = int | np.random.Generator | None

# Rows of V handled per pass of the simulators: small enough to stay in cache.
_CHUNK_ELEMENTS = 1 << 15


def _generator(rng: RNG) -> np.random.Generator:
    return np.random.default_rng(rng)


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


def _nested_noise(nest_of: np.ndarray, iv: np.ndarray) -> NoiseFn:
    """Noise maker for :math:`D + \\varepsilon`, :math:`\\varepsilon` nested GEV
    (:func:`choicemodels.kernels.gev.nested_errors`); each row takes J + 2M standard
    exponentials (M nests with :math:`\\lambda < 1`), so the stream runs in row order."""
    width = nest_of.size + 2 * int((iv < 1).sum())

    def noise(keys: np.ndarray, D: np.ndarray, rng: np.random.Generator) -> None:
        _gev.nested_errors(keys, rng.standard_exponential((keys.shape[0], width)), nest_of, iv)
        np.add(D, keys, out=keys)

    return noise


def _check_nests(nests, iv, J: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated nesting of J alternatives -> ``nest_of`` (J,) int and ``iv`` (K,).

    ``nests``: a list of lists of alternative indices, or a mapping nest name -> such a
    list; every alternative in exactly one nest. ``iv``: one value per nest, a sequence in
    the nests' order or a mapping by nest name, each in (0, 1].
    """
    if nests is None or iv is None:
        raise SpecificationError(
            "errors='nested' needs nests (lists of alternative indices, or a dict name -> list) "
            "and iv (one value in (0, 1] per nest)."
        )
    if isinstance(nests, Mapping):
        names, members = list(nests), list(nests.values())
    elif isinstance(nests, (str, bytes)) or not hasattr(nests, "__iter__"):
        raise SpecificationError(f"nests must be a list of lists of alternative indices or a dict, got {nests!r}.")
    else:
        members = list(nests)
        names = list(range(len(members)))
    if not members:
        raise SpecificationError("nests is empty; give every alternative a nest.")
    nest_of = np.full(J, -1, np.intp)
    for k, (name, alts) in enumerate(zip(names, members)):
        alts = [alts] if np.ndim(alts) == 0 else np.asarray(alts, dtype=object).ravel().tolist()
        if not alts:
            raise SpecificationError(f"nest {name!r} is empty; drop it or give it alternatives.")
        for j in alts:
            if not (isinstance(j, (int, np.integer)) and not isinstance(j, (bool, np.bool_)) and 0 <= j < J):
                raise SpecificationError(
                    f"nest {name!r} names alternative {(int(j) if isinstance(j, np.integer) else j)!r}, but the alternatives are the column "
                    f"indices 0..{J - 1} of V."
                )
            if nest_of[j] >= 0:
                raise SpecificationError(
                    f"alternative {int(j)} is in two nests, {names[nest_of[j]]!r} and {name!r}; "
                    "put every alternative in exactly one nest."
                )
            nest_of[j] = k
    missing = np.flatnonzero(nest_of < 0)
    if missing.size:
        raise SpecificationError(
            f"alternatives {missing.tolist()} are in no nest; put every alternative in exactly "
            "one nest (a nest of one alternative with iv 1 leaves it on its own)."
        )
    return nest_of, _check_iv(iv, names)


def _check_iv(iv, names: list) -> np.ndarray:
    """Validated nest parameters ``iv`` of the nests ``names`` -> (K,) floats in (0, 1]:
    a sequence in the nests' order or a mapping by nest name."""
    if isinstance(iv, Mapping):
        if set(iv) != set(names):
            raise SpecificationError(
                f"iv must give one value for each nest {names}; got values for {list(iv)}."
            )
        iv = [iv[name] for name in names]
    try:
        lam = np.asarray(iv, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"iv must be numbers, one per nest: {exc}") from None
    if lam.shape != (len(names),):
        raise SpecificationError(f"iv must have one value per nest ({len(names)}), got shape {lam.shape}.")
    bad = ~((lam > 0) & (lam <= 1))  # NaN is bad too
    if bad.any():
        culprits = ", ".join(f"{names[k]!r}: {lam[k]!r}" for k in np.flatnonzero(bad))
        raise SpecificationError(
            f"iv must lie in (0, 1] for the errors to be a GEV distribution; nests {culprits}."
        )
    return lam


def _plain(label):
    """A numpy scalar label as the Python scalar."""
    return label.item() if isinstance(label, np.generic) else label


def _allocations(nests, labels: list, known: str) -> tuple[list, np.ndarray]:
    """Validated cross-nested nests -> nest names and allocations (J, M) over ``labels``.

    ``nests``: a mapping nest name -> its alternatives, as a list (allocations left open)
    or a mapping alternative -> allocation (a number in [0, 1] fixes it, ``None`` leaves it
    open); a list of such nests is named ``nest0, nest1, ...``. In the result a fixed
    allocation is its value, an open one NaN and an alternative outside a nest 0. Every
    alternative needs a nest, and its fixed allocations must leave room to sum to one:
    exactly one if none is open, less than one if some are. ``known`` describes the
    alternatives in the messages.
    """
    example = "e.g. {'existing': {'train': 0.5, 'car': 1.0}, 'public': {'train': 0.5, 'metro': 1.0}}"
    if isinstance(nests, Mapping):
        names, groups = list(nests), list(nests.values())
        for name in names:
            if not isinstance(name, str) or not name:
                raise SpecificationError(f"nest names must be non-empty strings; got {name!r}.")
    elif isinstance(nests, (str, bytes)) or not hasattr(nests, "__iter__"):
        raise SpecificationError(f"nests must be a dict of nest name -> alternatives ({example}); got {nests!r}.")
    else:
        groups = list(nests)
        names = [f"nest{k}" for k in range(len(groups))]
    if not groups:
        raise SpecificationError(f"nests is empty; give every alternative a nest ({example}).")
    index = {_plain(a): j for j, a in enumerate(labels)}
    alloc = np.zeros((len(labels), len(names)))
    unknown = []
    for m, (name, members) in enumerate(zip(names, groups)):
        if isinstance(members, Mapping):
            pairs = list(members.items())
        elif isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
            raise SpecificationError(
                f"nest {name!r} must list its alternatives (a list, or a dict alternative -> "
                f"allocation); got {members!r}.")
        else:
            pairs = [(a, None) for a in members]
        if not pairs:
            raise SpecificationError(f"nest {name!r} is empty; give it at least one alternative or remove it.")
        seen = set()
        for a, value in pairs:
            a = _plain(a)
            if a not in index:
                unknown.append(f"{a!r} (nest {name!r})")
                continue
            if a in seen:
                raise SpecificationError(f"nest {name!r} lists alternative {a!r} twice; list it once.")
            seen.add(a)
            if value is None:
                alloc[index[a], m] = np.nan
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise SpecificationError(
                    f"the allocation of {a!r} to nest {name!r} must be a number in [0, 1] (or None "
                    f"to estimate it); got {value!r}.")
            if not 0 <= value <= 1:  # NaN too
                what = "negative" if value < 0 else "not in [0, 1]"
                raise SpecificationError(
                    f"the allocation of {a!r} to nest {name!r} is {what} ({value!r}); allocations "
                    "are shares of the alternative in [0, 1] that sum to one over its nests.")
            alloc[index[a], m] = float(value)
    if unknown:
        raise SpecificationError(f"unknown alternative(s) in nests: {', '.join(unknown)}; the alternatives are {known}.")
    for j, label in enumerate(labels):
        row = alloc[j]
        open_ = np.isnan(row)
        fixed = float(row[~open_].sum())
        if not open_.any() and not (row > 0).any():
            raise SpecificationError(
                f"alternative {_plain(label)!r} is in no nest (or only with allocation 0); add it to "
                "at least one nest.")
        where = [names[m] for m in np.flatnonzero(row != 0)]
        if not open_.any() and abs(fixed - 1.0) > 1e-9:
            raise SpecificationError(
                f"the allocations of alternative {_plain(label)!r} to nests {where} sum to {fixed:.6g}, "
                "not 1; they must sum to one over its nests (leave one open, None, to take the rest).")
        if open_.any() and fixed >= 1.0 - 1e-9:
            open_names = [names[m] for m in np.flatnonzero(open_)]
            raise SpecificationError(
                f"the fixed allocations of alternative {_plain(label)!r} sum to {fixed:.6g}, which "
                f"leaves nothing for its open allocation(s) in nests {open_names}: the allocations "
                "cannot sum to one. Lower the fixed ones or drop it from those nests.")
    return names, alloc


def _check_cross_nests(nests, iv, J: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated cross-nested errors of J alternatives -> ``log_alpha`` (J, M) (``-inf``
    outside a nest) and ``iv`` (M,) in (0, 1].

    ``nests`` as for :func:`_allocations`, alternatives as the column indices of V; each
    alternative may leave one allocation open (``None``, or listed in a plain list), which
    takes the rest of its unit.
    """
    if nests is None or iv is None:
        raise SpecificationError(
            "errors='cross_nested' needs nests (a dict nest name -> {alternative index: "
            "allocation}) and iv (one value in (0, 1] per nest)."
        )
    names, alloc = _allocations(nests, list(range(J)), f"the column indices 0..{J - 1} of V")
    for j in range(J):
        open_ = np.isnan(alloc[j])
        if open_.sum() > 1:
            raise SpecificationError(
                f"alternative {j} has no allocation in nests {[names[m] for m in np.flatnonzero(open_)]}; "
                "give all but one of them, e.g. {'a': {" + f"{j}: 0.5" + "}, ...}; the last takes the rest.")
        alloc[j, open_] = 1.0 - alloc[j, ~open_].sum()
    with np.errstate(divide="ignore"):
        return np.log(alloc), _check_iv(iv, names)


def _cross_nested_noise(log_alpha: np.ndarray, iv: np.ndarray) -> NoiseFn:
    """Noise maker for :math:`D + \\varepsilon`, :math:`\\varepsilon` cross-nested GEV
    (:func:`choicemodels.kernels.gev.cross_nested_errors`); each row takes one standard
    exponential per (alternative, nest) pair plus two per nest with :math:`\\lambda < 1`."""
    width = int(np.isfinite(log_alpha).sum()) + 2 * int((iv < 1).sum())

    def noise(keys: np.ndarray, D: np.ndarray, rng: np.random.Generator) -> None:
        _gev.cross_nested_errors(keys, rng.standard_exponential((keys.shape[0], width)), log_alpha, iv)
        np.add(D, keys, out=keys)

    return noise


def _noise_for(errors: str, J: int, cov, nests, iv) -> NoiseFn:
    """Validated error options -> the noise maker of :func:`_argmax_blocks`."""
    if errors not in ERRORS:
        raise SpecificationError(
            f"errors must be 'gumbel' or 'normal' (or 'nested' or 'cross_nested', with nests and iv), got {errors!r}."
        )
    if cov is not None and errors != "normal":
        raise SpecificationError("cov applies to normal errors only; drop it or use errors='normal'.")
    if errors not in GEV_ERRORS and (nests is not None or iv is not None):
        raise SpecificationError(
            "nests and iv apply to nested errors only; drop them or use errors='nested' "
            "(or 'cross_nested')."
        )
    if errors == "gumbel":
        return _gumbel_noise
    if errors == "normal":
        return _normal_noise(None if cov is None else _covariance_factor(cov, J))
    if errors == "cross_nested":
        return _cross_nested_noise(*_check_cross_nests(nests, iv, J))
    return _nested_noise(*_check_nests(nests, iv, J))


def _argmax_blocks(
    V: np.ndarray, T: float, n: int, noise: NoiseFn, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Index of the largest :math:`(V_{nj} - m_n)/T + \\text{noise}_{nj}`, :math:`m_n = \\max_j V_{nj}`,
    for consecutive cache-sized blocks of rows.

    Kernel: V (N, J) or (1, J) broadcast to ``n`` rows, finite or ``-inf`` (unavailable),
    at least one finite per row. Yields (rows,) intp arrays, views of one buffer that the
    next block overwrites, so memory stays O(block) whatever ``n``; the random stream is
    consumed in row order, so results do not depend on the block size.
    """
    J = V.shape[1]
    rows = max(1, _CHUNK_ELEMENTS // J)
    keys_buf = np.empty((min(rows, n), J))
    shift_buf = np.empty_like(keys_buf)
    out_buf = np.empty(min(rows, n), np.intp)
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
        out = out_buf[: stop - start]
        keys.argmax(axis=1, out=out)
        yield out


def _argmax_choices(
    V: np.ndarray, T: float, n: int, noise: NoiseFn, rng: np.random.Generator
) -> np.ndarray:
    """The chosen alternatives of :func:`_argmax_blocks`, all ``n`` of them: (n,) int64."""
    out = np.empty(n, np.int64)
    start = 0
    for block in _argmax_blocks(V, T, n, noise, rng):
        out[start:start + block.size] = block
        start += block.size
    return out


def _argmax_counts(
    V: np.ndarray, T: float, n: int, noise: NoiseFn, rng: np.random.Generator
) -> np.ndarray:
    """How often each of the J alternatives is chosen among the ``n`` rows of
    :func:`_argmax_blocks` ((J,) int64), in memory O(block) whatever ``n``."""
    counts = np.zeros(V.shape[1], np.int64)
    for block in _argmax_blocks(V, T, n, noise, rng):
        counts += np.bincount(block, minlength=counts.size)
    return counts


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
    nests=None,
    iv=None,
    rng: RNG = None,
) -> np.ndarray:
    """Simulate random-utility choices :math:`\\arg\\max_j V_{nj} + T\\varepsilon_{nj}`.

    Parameters
    ----------
    V : array_like, shape (N, J)
        Systematic utilities; ``-inf`` marks an unavailable alternative.
    errors : {"gumbel", "normal", "nested", "cross_nested"}
        ``"gumbel"``: iid standard Gumbel, so that
        :math:`P(j) = \\operatorname{softmax}(V/T)_j` (logit). ``"normal"``: standard
        normal, iid or with covariance ``cov`` (probit). ``"nested"``: nested GEV with
        ``nests`` and ``iv``, joint distribution function
        :math:`\\exp(-\\sum_k (\\sum_{j \\in k} e^{-\\varepsilon_j/\\lambda_k})^{\\lambda_k})`, so that
        :math:`P(j) = e^{V_j/\\lambda_k} S_k^{\\lambda_k - 1} / \\sum_m S_m^{\\lambda_m}`,
        :math:`S_k = \\sum_{i \\in k} e^{V_i/\\lambda_k}` (nested logit, with V/T for V).
        ``"cross_nested"``: cross-nested GEV with allocations :math:`\\alpha_{jm}` (in
        ``nests``) and ``iv``, distribution function
        :math:`\\exp(-\\sum_m (\\sum_j (\\alpha_{jm} e^{-\\varepsilon_j})^{1/\\lambda_m})^{\\lambda_m})`,
        drawn exactly (:func:`choicemodels.kernels.gev.cross_nested_errors`), so that the
        choices follow the cross-nested logit (:class:`~choicemodels.CrossNestedLogit`).
    temperature : float > 0
        Error scale T, for both error families.
    cov : array_like, shape (J, J), optional
        Covariance :math:`\\Sigma` of normal errors (positive semi-definite); default identity.
    avail : array_like of bool, broadcastable to (N, J), optional
        Unavailable alternatives are never chosen.
    nests : list of lists of int, or dict of str to list of int, optional
        Nested errors only: the nests, as column indices of V; every alternative in
        exactly one nest. Cross-nested errors: a dict nest name -> {index: allocation},
        each alternative's allocations summing to one (one may be ``None``, the rest).
    iv : sequence of float, or dict of str to float, optional
        Nested and cross-nested errors: the nest parameters :math:`\\lambda_k \\in (0, 1]`, in the
        order of ``nests`` or keyed by nest name (1: independent errors in the nest).
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
    >>> simulate_choices([[0.0, 0.0, 0.0]], "nested", nests={"a": [0, 1], "b": [2]},
    ...                  iv={"a": 0.5, "b": 1.0}, rng=0).shape
    (1,)
    """
    if errors not in ERRORS:
        raise SpecificationError(
            f"errors must be 'gumbel' or 'normal' (or 'nested' or 'cross_nested', with nests and iv), got {errors!r}."
        )
    T = _check_temperature(temperature)
    try:
        V = np.asarray(V)
    except (TypeError, ValueError):
        pass  # _check_utilities names the problem
    if isinstance(V, np.ndarray) and V.ndim == 2:
        # beyond V itself: a float copy, the checks' boolean temporaries, the masked copy,
        # and the (N,) choices
        copies = 3 + 8 * (V.dtype != np.float64) + 8 * (avail is not None)
        check_memory(
            float(V.size) * copies + 8.0 * V.shape[0],
            f"simulate_choices with V of shape {V.shape}",
            "the number of rows of V (simulate them in batches)",
        )
    V, avail, _ = _check_utilities(V, avail)
    if V.ndim != 2:
        raise ChoiceDataError(f"V must have shape (N, J), got {V.ndim} dimensions {V.shape}.")
    noise = _noise_for(errors, V.shape[1], cov, nests, iv)
    return _argmax_choices(_mask_unavailable(V, avail), T, V.shape[0], noise, _generator(rng))
