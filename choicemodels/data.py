"""Choice data: the public face of the data layer.

Long format is the native layout: one row per (choice situation, alternative). The layer
is split by job, and this module gathers its public names:

* :mod:`choicemodels.checks`: every input check (columns, finite and 0/1 values, weights,
  identification) and :func:`validate_arrays`, the array boundary of ``from_arrays``;
* :mod:`choicemodels.choicedata`: :class:`ChoiceData`, the validated index of a long frame;
* :mod:`choicemodels.reshape`: :func:`wide_to_long` and :func:`long_to_wide`.

Shape vocabulary: N choice situations, J alternatives, K coefficients.
"""

from __future__ import annotations

from choicemodels import checks
from choicemodels.checks import (
    WeightType,
    check_columns,
    check_finite,
    check_identification,
    check_weight_type,
    validate_arrays,
    weighted_nobs,
    weights_of_type,
)
from choicemodels.choicedata import ChoiceData
from choicemodels.choicedata import _resolve_alternatives as _resolve_alternatives  # used by the Dask backend
from choicemodels.reshape import long_to_wide, wide_to_long

__all__ = ["ChoiceData", "wide_to_long", "long_to_wide", *checks.__all__]
