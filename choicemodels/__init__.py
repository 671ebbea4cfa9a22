"""choicemodels: multinomial logit and multinomial probit side by side.

Simulate random-utility choice data, estimate logit and probit models, and compare them.
"""

from __future__ import annotations

from choicemodels.exceptions import (
    ChoiceDataError,
    ConvergenceWarning,
    HessianWarning,
    SeparationWarning,
    SpecificationError,
)

__version__ = "0.1.0"

__all__ = [
    "ChoiceDataError",
    "ConvergenceWarning",
    "HessianWarning",
    "SeparationWarning",
    "SpecificationError",
    "__version__",
]
