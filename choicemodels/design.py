"""The numerical design of a choice model: the arrays every estimator works on.

A :class:`Design` is what the data layer hands to the models: attributes X (N, J, K), the
chosen alternative, the availability mask, the weights and the labels (coefficient names,
alternatives, reference, situation ids). It is built by :func:`choicemodels.formula.design_from_formula`
from a DataFrame or by :func:`choicemodels.checks.validate_arrays` from arrays, and
holds no logic.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Design"]


@dataclass(frozen=True, eq=False)
class Design:
    """Numerical design of a choice model.

    Attributes
    ----------
    X : ndarray, shape (N, J, K), float64
        Attributes of every alternative in every situation; rows of unavailable
        alternatives are zero.
    chosen : ndarray, shape (N,), int64
        Index (0..J-1) of the chosen alternative; -1 where no choice is known
        (prediction data).
    avail : ndarray, shape (N, J), bool
        Availability of each alternative.
    weights : ndarray, shape (N,), float64, or None
        Per-situation weights.
    names : tuple of str, length K
        Coefficient names (API.md spelling).
    alternatives : tuple, length J
        Alternative labels in column order.
    ref : int
        Index of the reference alternative.
    obs_ids : ndarray, shape (N,)
        Situation identifiers, in row order of X.
    """

    X: np.ndarray
    chosen: np.ndarray
    avail: np.ndarray
    weights: np.ndarray | None
    names: tuple[str, ...]
    alternatives: tuple
    ref: int
    obs_ids: np.ndarray

    @property
    def n_obs(self) -> int:
        return self.X.shape[0]

    @property
    def n_alts(self) -> int:
        return self.X.shape[1]

    @property
    def n_params(self) -> int:
        return self.X.shape[2]
