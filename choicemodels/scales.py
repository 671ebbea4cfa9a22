r"""Error scales: why logit and probit coefficients differ, and the scale that aligns them.

Why the raw coefficients differ
-------------------------------
A random-utility model :math:`U_{nj} = x_{nj}'\beta + \varepsilon_{nj}` only identifies
:math:`\beta / \sigma`, the coefficients relative to the scale :math:`\sigma` of the errors:
multiplying every utility by a constant changes no choice. Each model fixes the scale
differently:

* logit: :math:`\varepsilon_{nj}` iid standard Gumbel (the Gumbel-max trick turns
  :math:`\arg\max_j (V_j + \varepsilon_j)` into the softmax), with
  :math:`\operatorname{Var}\varepsilon = \pi^2/6`, so :math:`\sigma = \pi/\sqrt 6 \approx 1.2825`;
* iid probit here: :math:`\varepsilon_{nj} \sim N(0, 1)`, so :math:`\sigma = 1` and the
  differences :math:`\varepsilon_{nj} - \varepsilon_{n,ref}` have variance 2;
* probits with a free covariance: :math:`\sigma^2` is half the mean variance of the error
  differences against the reference, read from ``error_covariance()``.

Dividing each model's coefficients by its :math:`\sigma` (:func:`error_scale`) puts them on
the scale of unit-variance errors, so logit :math:`\beta/1.2825` is comparable with iid
probit :math:`\beta`. Ratios of coefficients (willingness to pay) are scale-free.

The binary rule of thumb, stated precisely
------------------------------------------
With two alternatives the error difference is logistic (variance :math:`\pi^2/3`) in the
logit and :math:`N(0, 2)` in our iid probit. Matching variances gives
:math:`\beta_{logit}/\beta_{probit} = \pi/\sqrt 6 \approx 1.283`; matching the slopes of the
probabilities at :math:`P = 1/2` (densities :math:`1/4` and :math:`1/(2\sqrt\pi)`) gives
:math:`2/\sqrt\pi \approx 1.128`. The textbook "1.6 to 1.8" refers to a binary probit whose
error *difference* has unit variance: :math:`4/\sqrt{2\pi} \approx 1.596` and
:math:`\pi/\sqrt 3 \approx 1.814`, i.e. our ratios times :math:`\sqrt 2`.
:class:`Comparison` measures the ratio on the data at hand and prints it.
"""


from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from choicemodels.results import ChoiceResults

__all__ = ["error_scale", "LOGIT_SCALE", "SLOPE_RATIO"]


LOGIT_SCALE = float(np.pi / np.sqrt(6.0))
"""Standard deviation of a standard Gumbel error, :math:`\\pi/\\sqrt 6 \\approx 1.2825`."""

SLOPE_RATIO = float(2.0 / np.sqrt(np.pi))
"""Logit / iid-probit coefficient ratio equating the slopes of the binary probability at
:math:`P = 1/2` (logistic density 1/4, :math:`N(0, 2)` density :math:`1/(2\\sqrt\\pi)`):
:math:`2/\\sqrt\\pi \\approx 1.128`."""


def error_scale(result: ChoiceResults) -> float:
    r"""Per-alternative error standard deviation :math:`\sigma` fixed by a model's normalisation.

    Logit: :math:`\pi/\sqrt 6`. Probit: :math:`\sqrt{\operatorname{mean}_j
    \operatorname{Var}(\varepsilon_j - \varepsilon_{ref}) / 2}`, from
    ``result.error_covariance()`` ((J-1) x (J-1)); for iid unit-variance errors this is 1.
    Coefficients divided by :math:`\sigma` are on the scale of unit-variance errors.

    Parameters
    ----------
    result : ChoiceResults
        A fitted logit or probit.

    Returns
    -------
    float
        :math:`\sigma`.

    Examples
    --------
    >>> import choicemodels as cm
    >>> from choicemodels.compare import error_scale
    >>> df = cm.datasets.load_travel_mode()
    >>> r = cm.Logit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode").fit()
    >>> round(error_scale(r), 4)
    1.2825
    """
    if result.model_name == "Logit":
        return LOGIT_SCALE
    omega = result.error_covariance().to_numpy(dtype=float)
    return float(np.sqrt(np.mean(np.diag(omega)) / 2.0))
