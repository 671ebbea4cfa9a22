"""Hypothesis profiles: the default test run draws the same examples every time
(``derandomize``), so that a failure reproduces; ``HYPOTHESIS_PROFILE=explore`` draws
fresh examples on every run to search for new counterexamples."""

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
