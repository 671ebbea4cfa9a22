"""Quasi-random draws for simulated likelihoods: GHK (probit) and mixed logit.

The draws are generated once, before estimation, and kept fixed for the whole
optimisation (common random numbers), so the simulated log-likelihood is a smooth,
deterministic function of the parameters.

Layout: one sequence of ``N * R`` points in ``D`` dimensions is generated and split into
consecutive blocks of ``R`` points, block ``i`` belonging to situation ``i``. With a
scrambled (randomised quasi-Monte Carlo) Halton or Sobol sequence every block is itself
well spread over the unit cube, and different blocks are different parts of one
low-discrepancy sequence, so situations do not share draws. The scrambling is randomised
with ``rng``: different seeds give independent replications, the same seed gives the
same draws.

Shapes: N situations (or persons, for a mixed logit on panel data: one draw matrix per
person), R draws per situation, D dimensions (``J - 2`` suffices for GHK with J
alternatives: the last of the ``J - 1`` truncated dimensions needs no draw; the number of
random coefficients for a mixed logit).

Sequences: scrambled Halton (with the first ``discard`` points of the sequence dropped, as
Train (2009, sec. 9.3.3) recommends), scrambled Sobol, modified Latin hypercube sampling
(``"mlhs"``, Hess, Train and Polak 2006: in each dimension the R points
:math:`(r + u)/R`, r = 0..R-1, one uniform shift u, the order shuffled independently per
dimension) and plain pseudo-random numbers.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

__all__ = [
    "MixedSequence", "RotatedDraws", "Sequence", "StandardKind", "keyed_rotated_draws",
    "keyed_uniform_draws", "standard_draws", "uniform_draws",
]

#: The sequences of the probit's GHK draws.
Sequence = Literal["halton", "sobol", "pseudo"]
#: The sequences of the mixed logit's draws.
MixedSequence = Literal["halton", "sobol", "mlhs", "pseudo"]
#: The standard distributions of :func:`standard_draws`.
StandardKind = Literal["normal", "uniform", "triangular"]

# Keep every draw strictly inside (0, 1): the GHK recursion applies ndtri(u * q).
_EPS = 2.0**-53


def uniform_draws(
    n_obs: int,
    n_dims: int,
    n_draws: int,
    *,
    sequence: Sequence = "halton",
    antithetic: bool = False,
    discard: int = 0,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Uniform draws on the open unit cube, ``R`` per situation.

    Parameters
    ----------
    n_obs, n_dims, n_draws : int
        N situations, D dimensions, R draws per situation.
    sequence : {"halton", "sobol", "mlhs", "pseudo"}
        Scrambled Halton, scrambled Sobol (both from :mod:`scipy.stats.qmc`), modified
        Latin hypercube sampling per situation, or plain pseudo-random numbers from ``rng``.
        Sobol points come in powers of two: the first ``2**ceil(log2(N * R))`` points are
        generated and the first ``N * R`` kept (a prefix of a scrambled Sobol sequence is
        still a low-discrepancy set).
    antithetic : bool
        If true, draws ``r`` and ``r + ceil(R / 2)`` of each situation are mirror
        images ``u`` and ``1 - u`` (for odd R the last mirrored draw is dropped).
    discard : int, default 0
        Halton only: the first ``discard`` points of the sequence are skipped.
    rng : int or numpy.random.Generator, keyword-only
        Seed for the scrambling (or for the pseudo-random numbers).

    Returns
    -------
    ndarray, shape (N, R, D)
        Draws in ``[2**-53, 1 - 2**-53]``.

    Examples
    --------
    >>> u = uniform_draws(3, 2, 8, sequence="sobol", rng=0)
    >>> u.shape
    (3, 8, 2)
    """
    rng = np.random.default_rng(rng)
    n_base = (n_draws + 1) // 2 if antithetic else n_draws
    n_points = n_obs * n_base
    if n_dims == 0 or n_points == 0:
        return np.empty((n_obs, n_draws, n_dims))
    if sequence == "pseudo":
        points = rng.random((n_points, n_dims))
    elif sequence == "halton":
        halton = qmc.Halton(n_dims, scramble=True, rng=rng)
        if discard:
            halton.fast_forward(int(discard))
        points = halton.random(n_points)
    elif sequence == "sobol":
        power = int(np.ceil(np.log2(n_points)))
        points = qmc.Sobol(n_dims, scramble=True, rng=rng).random_base2(power)[:n_points]
    elif sequence == "mlhs":
        points = _mlhs(rng.random((n_obs, n_base, n_dims)), rng.random((n_obs, 1, n_dims)))
    else:
        raise ValueError(f"unknown sequence {sequence!r}; use 'halton', 'sobol', 'mlhs' or 'pseudo'")
    u = points.reshape(n_obs, n_base, n_dims)
    if antithetic:
        u = np.concatenate([u, 1.0 - u], axis=1)[:, :n_draws]
    return np.clip(u, _EPS, 1.0 - _EPS)


def _mlhs(order_keys: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Modified Latin hypercube points: (n, R, D) with ``(rank + shift) / R`` in each
    dimension, the ranks (0..R-1) ordered by ``order_keys`` (n, R, D) and ``shift`` (n, 1, D)
    uniform."""
    n_draws = order_keys.shape[1]
    ranks = np.argsort(order_keys, axis=1)
    return (ranks + shift) / n_draws


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective mix of uint64 values (vectorised)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _keyed_uniforms(keys: np.ndarray, seed: np.uint64, n_cols: int) -> np.ndarray:
    """(N, n_cols) uniforms in [0, 1), entry (i, c) a hash of (seed, keys[i], c)."""
    with np.errstate(over="ignore"):
        base = _mix64(np.asarray(keys, dtype=np.uint64) ^ seed)
        counters = (np.arange(1, n_cols + 1, dtype=np.uint64) * _GOLDEN)[None, :]
        bits = _mix64(base[:, None] + counters)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


class RotatedDraws(NamedTuple):
    r"""Keyed quasi-random draws held as one point set and a shift per situation.

    Situation i's draws are :math:`u_{ir} = (p_r + s_i) \bmod 1`, then, with
    ``antithetic``, :math:`1 - u` for the draws from ``len(points)`` on, clipped into
    ``[2**-53, 1 - 2**-53]``: the (N, R, D) array of :func:`keyed_uniform_draws`, in
    memory O((N + R) D). The GHK kernel forms each draw as it uses it.
    """

    points: np.ndarray  #: (R_base, D) the shared scrambled points
    shift: np.ndarray  #: (N, D) each situation's rotation
    n_draws: int  #: R
    antithetic: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, R, D), as the array it stands for."""
        return len(self.shift), self.n_draws, self.shift.shape[1]

    def take(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The draws of situations ``rows`` as an array (n, R, D)."""
        u = np.mod(self.points[None] + self.shift[rows][:, None, :], 1.0)
        if self.antithetic:
            u = np.concatenate([u, 1.0 - u], axis=1)[:, :self.n_draws]
        return np.clip(u, _EPS, 1.0 - _EPS)


def keyed_rotated_draws(
    keys: np.ndarray,
    n_dims: int,
    n_draws: int,
    *,
    sequence: Literal["halton", "sobol"] = "halton",
    antithetic: bool = False,
    discard: int = 0,
    rng: int | np.random.Generator | None = None,
) -> RotatedDraws:
    """:func:`keyed_uniform_draws` of a Halton or Sobol sequence, unexpanded.

    Parameters
    ----------
    keys, n_dims, n_draws, sequence, antithetic, discard, rng
        As in :func:`keyed_uniform_draws`.

    Returns
    -------
    RotatedDraws
        Whose :meth:`~RotatedDraws.take` is :func:`keyed_uniform_draws`'s array, bit for
        bit.

    Examples
    --------
    >>> keys = np.array([7, 3, 11], dtype=np.uint64)
    >>> lazy = keyed_rotated_draws(keys, 2, 4, rng=0)
    >>> bool(np.array_equal(lazy.take(), keyed_uniform_draws(keys, 2, 4, rng=0)))
    True
    """
    if sequence not in ("halton", "sobol"):
        raise ValueError(f"rotated draws need sequence 'halton' or 'sobol', not {sequence!r}")
    rng = np.random.default_rng(rng)
    seed = np.uint64(rng.integers(2**63, dtype=np.uint64))
    keys = np.asarray(keys, dtype=np.uint64)
    n_base = (n_draws + 1) // 2 if antithetic else n_draws
    if n_dims == 0 or n_base == 0 or keys.size == 0:
        return RotatedDraws(np.zeros((n_base, n_dims)), np.zeros((keys.size, n_dims)),
                            n_draws, antithetic)
    points = uniform_draws(1, n_dims, n_base, sequence=sequence, discard=discard, rng=rng)[0]
    return RotatedDraws(points, _keyed_uniforms(keys, seed, n_dims), n_draws, antithetic)


def keyed_uniform_draws(
    keys: np.ndarray,
    n_dims: int,
    n_draws: int,
    *,
    sequence: Sequence = "halton",
    antithetic: bool = False,
    discard: int = 0,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    r"""Uniform draws keyed by situation: the draws of a situation depend only on its key.

    A situation's draws do not depend on which other situations are present or on their
    order, so data split into any partitions get the same draws. With ``"halton"`` or
    ``"sobol"``, one scrambled set of R points :math:`p_r` is shared and situation i gets it
    shifted modulo 1 by its own uniform vector :math:`s_i` (a Cranley-Patterson rotation):
    :math:`u_{ir} = (p_r + s_i) \bmod 1`, a randomised quasi-Monte Carlo set per situation,
    independent across situations. With ``"mlhs"`` each situation's modified Latin hypercube
    (its shuffles and shift) and with ``"pseudo"`` every draw is its own hash. Entries
    come from a counter-based generator: the SplitMix64 mix of (seed, key, counter).

    Parameters
    ----------
    keys : ndarray of uint64, shape (N,)
        One key per situation (e.g. a hash of its id); equal keys get equal draws.
    n_dims, n_draws : int
        D dimensions, R draws per situation.
    sequence, antithetic, discard : as in :func:`uniform_draws`.
    rng : int or numpy.random.Generator, keyword-only
        Seed of the shared point set and of the keyed streams.

    Returns
    -------
    ndarray, shape (N, R, D)
        Draws in ``[2**-53, 1 - 2**-53]``.

    Examples
    --------
    >>> keys = np.array([7, 3, 11], dtype=np.uint64)
    >>> u = keyed_uniform_draws(keys, 2, 4, rng=0)
    >>> bool(np.array_equal(u[1], keyed_uniform_draws(keys[1:2], 2, 4, rng=0)[0]))
    True
    """
    if sequence in ("halton", "sobol"):
        return keyed_rotated_draws(keys, n_dims, n_draws, sequence=sequence,
                                   antithetic=antithetic, discard=discard, rng=rng).take()
    rng = np.random.default_rng(rng)
    seed = np.uint64(rng.integers(2**63, dtype=np.uint64))
    keys = np.asarray(keys, dtype=np.uint64)
    n_base = (n_draws + 1) // 2 if antithetic else n_draws
    if n_dims == 0 or n_base == 0 or keys.size == 0:
        return np.empty((keys.size, n_draws, n_dims))
    if sequence == "pseudo":
        u = _keyed_uniforms(keys, seed, n_base * n_dims).reshape(-1, n_base, n_dims)
    elif sequence == "mlhs":
        hashed = _keyed_uniforms(keys, seed, (n_base + 1) * n_dims).reshape(-1, n_base + 1, n_dims)
        u = _mlhs(hashed[:, 1:], hashed[:, :1])
    else:
        raise ValueError(f"unknown sequence {sequence!r}; use 'halton', 'sobol', 'mlhs' or 'pseudo'")
    if antithetic:
        u = np.concatenate([u, 1.0 - u], axis=1)[:, :n_draws]
    return np.clip(u, _EPS, 1.0 - _EPS)


def standard_draws(u: np.ndarray, kinds: list[StandardKind]) -> np.ndarray:
    r"""Uniform draws mapped, column by column, to standard distributions.

    ``"normal"``: :math:`\Phi^{-1}(u)`; ``"uniform"``: :math:`2u - 1`, uniform on
    [-1, 1] (sd :math:`1/\sqrt 3`); ``"triangular"``: the symmetric triangular
    distribution on [-1, 1] (sd :math:`1/\sqrt 6`), :math:`\sqrt{2u} - 1` for
    :math:`u < 1/2` and :math:`1 - \sqrt{2(1 - u)}` above.

    Parameters
    ----------
    u : ndarray, shape (..., D)
        Draws in (0, 1), e.g. from :func:`keyed_uniform_draws`.
    kinds : list of {"normal", "uniform", "triangular"}, length D
        The distribution of each column.

    Returns
    -------
    ndarray, shape (..., D)
        The transformed draws (a new array).

    Examples
    --------
    >>> standard_draws(np.array([[0.5, 0.75, 0.125]]), ["normal", "uniform", "triangular"])
    array([[ 0. ,  0.5, -0.5]])
    """
    out = np.empty(np.shape(u))
    for d, kind in enumerate(kinds):
        x = u[..., d]
        if kind == "normal":
            out[..., d] = ndtri(x)
        elif kind == "uniform":
            out[..., d] = 2.0 * x - 1.0
        elif kind == "triangular":
            out[..., d] = np.where(x < 0.5, np.sqrt(2.0 * x) - 1.0, 1.0 - np.sqrt(2.0 * (1.0 - x)))
        else:
            raise ValueError(f"unknown kind {kind!r}; use 'normal', 'uniform' or 'triangular'")
    return out
