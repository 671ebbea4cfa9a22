"""Uniform draws for simulated probit likelihoods (GHK).

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

Shapes: N situations, R draws per situation, D dimensions (``J - 2`` suffices for GHK
with J alternatives: the last of the ``J - 1`` truncated dimensions needs no draw).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import qmc

__all__ = ["Sequence", "keyed_uniform_draws", "uniform_draws"]

Sequence = Literal["halton", "sobol", "pseudo"]

# Keep every draw strictly inside (0, 1): the GHK recursion applies ndtri(u * q).
_EPS = 2.0**-53


def uniform_draws(
    n_obs: int,
    n_dims: int,
    n_draws: int,
    *,
    sequence: Sequence = "halton",
    antithetic: bool = False,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Uniform draws on the open unit cube, ``R`` per situation.

    Parameters
    ----------
    n_obs, n_dims, n_draws : int
        N situations, D dimensions, R draws per situation.
    sequence : {"halton", "sobol", "pseudo"}
        Scrambled Halton, scrambled Sobol (both from :mod:`scipy.stats.qmc`) or plain
        pseudo-random numbers from ``rng``. Sobol points come in powers of two: the
        first ``2**ceil(log2(N * R))`` points are generated and the first ``N * R``
        kept (a prefix of a scrambled Sobol sequence is still a low-discrepancy set).
    antithetic : bool
        If true, draws ``r`` and ``r + ceil(R / 2)`` of each situation are mirror
        images ``u`` and ``1 - u`` (for odd R the last mirrored draw is dropped).
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
        points = qmc.Halton(n_dims, scramble=True, rng=rng).random(n_points)
    elif sequence == "sobol":
        power = int(np.ceil(np.log2(n_points)))
        points = qmc.Sobol(n_dims, scramble=True, rng=rng).random_base2(power)[:n_points]
    else:
        raise ValueError(f"unknown sequence {sequence!r}; use 'halton', 'sobol' or 'pseudo'")
    u = points.reshape(n_obs, n_base, n_dims)
    if antithetic:
        u = np.concatenate([u, 1.0 - u], axis=1)[:, :n_draws]
    return np.clip(u, _EPS, 1.0 - _EPS)


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


def keyed_uniform_draws(
    keys: np.ndarray,
    n_dims: int,
    n_draws: int,
    *,
    sequence: Sequence = "halton",
    antithetic: bool = False,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    r"""Uniform draws keyed by situation: the draws of a situation depend only on its key.

    A situation's draws do not depend on which other situations are present or on their
    order, so data split into any partitions get the same draws. With ``"halton"`` or
    ``"sobol"``, one scrambled set of R points :math:`p_r` is shared and situation i gets it
    shifted modulo 1 by its own uniform vector :math:`s_i` (a Cranley-Patterson rotation):
    :math:`u_{ir} = (p_r + s_i) \bmod 1`, a randomised quasi-Monte Carlo set per situation,
    independent across situations. With ``"pseudo"`` every draw is its own hash. Entries
    come from a counter-based generator: the SplitMix64 mix of (seed, key, counter).

    Parameters
    ----------
    keys : ndarray of uint64, shape (N,)
        One key per situation (e.g. a hash of its id); equal keys get equal draws.
    n_dims, n_draws : int
        D dimensions, R draws per situation.
    sequence, antithetic : as in :func:`uniform_draws`.
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
    rng = np.random.default_rng(rng)
    seed = np.uint64(rng.integers(2**63, dtype=np.uint64))
    keys = np.asarray(keys, dtype=np.uint64)
    n_base = (n_draws + 1) // 2 if antithetic else n_draws
    if n_dims == 0 or n_base == 0 or keys.size == 0:
        return np.empty((keys.size, n_draws, n_dims))
    if sequence == "pseudo":
        u = _keyed_uniforms(keys, seed, n_base * n_dims).reshape(-1, n_base, n_dims)
    elif sequence in ("halton", "sobol"):
        shared = uniform_draws(1, n_dims, n_base, sequence=sequence, rng=rng)  # (1, R, D)
        shift = _keyed_uniforms(keys, seed, n_dims)[:, None, :]
        u = np.mod(shared + shift, 1.0)
    else:
        raise ValueError(f"unknown sequence {sequence!r}; use 'halton', 'sobol' or 'pseudo'")
    if antithetic:
        u = np.concatenate([u, 1.0 - u], axis=1)[:, :n_draws]
    return np.clip(u, _EPS, 1.0 - _EPS)
