"""Random-utility choices: error generators and :func:`simulate_choices`.

A decision maker in situation :math:`n` chooses the alternative with the largest utility
:math:`U_{nj} = V_{nj} + T \\varepsilon_{nj}`, with errors iid standard Gumbel
(multinomial logit) or normal, iid or with a J x J covariance :math:`\\Sigma`
(multinomial probit). The argmax runs over cache-sized blocks of situations with the
errors drawn in place; the dataset simulator and the Gumbel-max check use the same
generators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np

from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.kernels import softmax as _k
from choicemodels.memory import check_memory
from choicemodels.softmax import _check_temperature, _check_utilities

__all__ = ["simulate_choices"]

Errors = Literal["gumbel", "normal"]
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
    if errors == "gumbel":
        if cov is not None:
            raise SpecificationError("cov applies to normal errors only; drop it or use errors='normal'.")
        noise = _gumbel_noise
    else:
        noise = _normal_noise(None if cov is None else _covariance_factor(cov, V.shape[1]))
    return _argmax_choices(_mask_unavailable(V, avail), T, V.shape[0], noise, _generator(rng))
