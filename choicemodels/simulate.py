"""Random-utility models: choice probabilities, choice simulators, the Gumbel-max check.

A decision maker in situation :math:`n` chooses the alternative with the largest utility

.. math::

    U_{nj} = V_{nj} + T \\varepsilon_{nj}, \\qquad j = 1, \\dots, J,

with systematic utilities :math:`V` (N, J), a temperature (error scale) :math:`T > 0`, and
errors that are iid standard Gumbel (multinomial logit) or normal, iid or with a J x J
covariance :math:`\\Sigma` (multinomial probit). With Gumbel errors the choice
probabilities are the softmax :math:`P_{nj} = e^{V_{nj}/T} / \\sum_k e^{V_{nk}/T}`
(the Gumbel-max trick), which :func:`gumbel_max_check` verifies by simulation.

The module gathers the public names of the layer, each defined where its job is done:
:mod:`choicemodels.softmax` (the softmax family), :mod:`choicemodels.random_utility`
(error generators and :func:`simulate_choices`), :mod:`choicemodels.simulated_data`
(:func:`simulate_dataset`) and :mod:`choicemodels.gumbel_max` (:func:`gumbel_max_check`).
"""

from __future__ import annotations

from choicemodels.gumbel_max import GumbelMaxCheck, gumbel_max_check
from choicemodels.random_utility import simulate_choices
from choicemodels.simulated_data import SimulatedData, simulate_dataset
from choicemodels.softmax import inverse_softmax, log_softmax, logsumexp, softmax, softmax_jacobian

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "inverse_softmax",
    "softmax_jacobian",
    "simulate_choices",
    "simulate_dataset",
    "gumbel_max_check",
    "SimulatedData",
    "GumbelMaxCheck",
]
