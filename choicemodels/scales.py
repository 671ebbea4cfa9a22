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
  differences against the reference, read from ``error_covariance()``;
* nested logit: standard Gumbel margins with correlation :math:`1 - \lambda_k^2` between
  two alternatives of nest k, so the same definition gives
  :math:`\sigma^2 = (\pi^2/6)\operatorname{mean}_{j \ne ref} c_j` with
  :math:`c_j = \lambda_k^2` when j shares the reference's nest k and 1 otherwise
  (:math:`\operatorname{Var}(\varepsilon_j - \varepsilon_{ref}) = 2(\pi^2/6) c_j`);
  every :math:`\lambda = 1` gives the logit's :math:`\pi/\sqrt 6`.

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

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from choicemodels.results import ChoiceResults

__all__ = ["error_scale", "nested_error_scale", "LOGIT_SCALE", "SLOPE_RATIO"]


LOGIT_SCALE = float(np.pi / np.sqrt(6.0))
"""Standard deviation of a standard Gumbel error, :math:`\\pi/\\sqrt 6 \\approx 1.2825`."""

SLOPE_RATIO = float(2.0 / np.sqrt(np.pi))
"""Logit / iid-probit coefficient ratio equating the slopes of the binary probability at
:math:`P = 1/2` (logistic density 1/4, :math:`N(0, 2)` density :math:`1/(2\\sqrt\\pi)`):
:math:`2/\\sqrt\\pi \\approx 1.128`."""


def error_scale(result: ChoiceResults) -> float:
    r"""Per-alternative error standard deviation :math:`\sigma` fixed by a model's normalisation.

    Every model: :math:`\sigma = \sqrt{\operatorname{mean}_{j \ne ref}
    \operatorname{Var}(\varepsilon_j - \varepsilon_{ref}) / 2}`. Logit:
    :math:`\pi/\sqrt 6`, and so is a mixed logit's (its Gumbel kernel's; the random
    coefficients' heterogeneity is not counted). Probit: from ``result.error_covariance()`` ((J-1) x (J-1)); for
    iid unit-variance errors this is 1. Nested logit: :func:`nested_error_scale` of its
    ``iv`` estimates. Coefficients divided by :math:`\sigma` are on the scale of
    unit-variance errors.

    Parameters
    ----------
    result : ChoiceResults
        A fitted logit, nested logit or probit.

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
    if result.model_name in ("Logit", "MixedLogit"):  # the mixed logit's Gumbel kernel
        return LOGIT_SCALE
    if result.model_name == "NestedLogit":
        return nested_error_scale(result.spec, result.params)
    omega = result.error_covariance().to_numpy(dtype=float)
    return float(np.sqrt(np.mean(np.diag(omega)) / 2.0))


def nested_error_scale(spec: Mapping, params: Mapping[str, float]) -> float:
    r"""Error scale :math:`\sigma` of a nested logit: the logit's, shrunk by the reference's nest.

    The nested logit's errors have standard Gumbel margins (variance :math:`\pi^2/6`) and
    correlation :math:`1 - \lambda_k^2` within nest k, none across nests, so

    .. math::
        \sigma^2 = \frac{1}{J-1}\sum_{j \ne ref}
            \frac{\operatorname{Var}(\varepsilon_j - \varepsilon_{ref})}{2}
          = \frac{\pi^2}{6}\,\frac{1}{J-1}\sum_{j \ne ref} c_j, \qquad
        c_j = \begin{cases}\lambda_k^2 & j, ref \in k \\ 1 & \text{otherwise,}\end{cases}

    the definition of :func:`error_scale` for every model.

    Parameters
    ----------
    spec : mapping
        The results' ``spec``: ``alternatives``, ``ref`` and ``options["nests"]`` (nest name
        -> alternatives) and ``options["equal_iv"]``.
    params : mapping of str to float
        Estimates by name: ``iv:<nest>`` (or ``iv`` with ``equal_iv``); a nest without one
        has :math:`\lambda = 1`.

    Returns
    -------
    float
        :math:`\sigma`.

    Examples
    --------
    >>> from choicemodels.scales import nested_error_scale
    >>> spec = {"alternatives": ["a", "b", "c"], "ref": "a",
    ...         "options": {"nests": {"n1": ["a", "b"], "n2": ["c"]}, "equal_iv": False}}
    >>> round(nested_error_scale(spec, {"iv:n1": 0.5}), 4)  # sqrt(pi^2/6 * (0.25 + 1) / 2)
    1.0139
    """
    options = spec["options"]
    alternatives = [str(a) for a in spec["alternatives"]]
    ref = str(spec["ref"]) if spec.get("ref") is not None else alternatives[0]
    home = next(k for k, members in options["nests"].items() if ref in map(str, members))
    name = "iv" if options.get("equal_iv") else f"iv:{home}"
    lam = float(params[name]) if name in params else 1.0
    size = len(options["nests"][home])
    # the other J-1 alternatives: size-1 of them share the reference's nest
    c = ((size - 1) * lam**2 + (len(alternatives) - size)) / (len(alternatives) - 1)
    return float(LOGIT_SCALE * np.sqrt(c))
