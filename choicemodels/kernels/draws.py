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

__all__ = ["Sequence", "uniform_draws"]

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
