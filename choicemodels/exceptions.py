"""Typed errors and warnings raised by choicemodels."""

from __future__ import annotations

__all__ = [
    "ChoiceDataError",
    "SpecificationError",
    "ConvergenceWarning",
    "SeparationWarning",
    "HessianWarning",
    "BoundWarning",
    "ApproximationWarning",
]


class ChoiceDataError(ValueError):
    """The data are not valid choice data (missing values, bad choice coding, ...)."""


class SpecificationError(ValueError):
    """The model specification is not valid or not identified."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before meeting its convergence criterion."""


class SeparationWarning(ConvergenceWarning):
    """The maximum-likelihood estimate does not exist (perfect or quasi-complete separation)."""


class HessianWarning(UserWarning):
    """The Hessian is not negative definite; standard errors are not available."""


class BoundWarning(UserWarning):
    """An estimate ended at a bound of its parameter space (e.g. a nested logit's ``iv``
    at its ``iv_bounds``)."""


class ApproximationWarning(UserWarning):
    """An analytic approximation's error, checked against simulation, exceeds its tolerance."""
