"""choicemodels: multinomial logit and multinomial probit side by side.

Simulate random-utility choice data, estimate logit and probit models, and compare them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from choicemodels.exceptions import (
    BoundWarning,
    ApproximationWarning,
    ChoiceDataError,
    ConvergenceWarning,
    HessianWarning,
    SeparationWarning,
    SpecificationError,
)

from choicemodels import datasets
from choicemodels.data import ChoiceData, long_to_wide, wide_to_long
from choicemodels.inference import TestResult, hausman_mcfadden, lr_test, vuong_test
from choicemodels.models.cross_nested import CrossNestedLogit
from choicemodels.models.logit import Logit
from choicemodels.models.mixed import MixedLogit
from choicemodels.models.nested import NestedLogit
from choicemodels.models.probit import Probit
from choicemodels.results import ChoiceResults, load_results
from choicemodels.simulate import (
    GumbelMaxCheck,
    SimulatedData,
    gumbel_max_check,
    inverse_softmax,
    log_softmax,
    logsumexp,
    simulate_choices,
    simulate_dataset,
    softmax,
    softmax_jacobian,
)
from choicemodels.compare import Comparison, compare, compare_models
from choicemodels.montecarlo import DGP, MonteCarloResult, monte_carlo

try:  # the version is written once, in pyproject.toml, and read from the installed metadata
    __version__ = _version("choicemodels")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BoundWarning",
    "ChoiceDataError",
    "ConvergenceWarning",
    "HessianWarning",
    "ApproximationWarning",
    "SeparationWarning",
    "SpecificationError",
    "ChoiceData",
    "ChoiceResults",
    "CrossNestedLogit",
    "Logit",
    "MixedLogit",
    "NestedLogit",
    "Probit",
    "TestResult",
    "datasets",
    "hausman_mcfadden",
    "load_results",
    "long_to_wide",
    "lr_test",
    "vuong_test",
    "wide_to_long",
    "GumbelMaxCheck",
    "SimulatedData",
    "gumbel_max_check",
    "inverse_softmax",
    "log_softmax",
    "logsumexp",
    "simulate_choices",
    "simulate_dataset",
    "softmax",
    "softmax_jacobian",
    "Comparison",
    "compare",
    "compare_models",
    "DGP",
    "MonteCarloResult",
    "monte_carlo",
    "__version__",
]
