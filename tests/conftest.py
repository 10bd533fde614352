"""Shared pytest configuration: hypothesis profiles.

* ``ci`` (default): deterministic (``derandomize=True``), 60 examples per property, no deadline
  (the first example of a property pays the numba compile time), failing examples printed as a
  reproduction blob.
* ``dev``: randomized exploration with more examples, for local bug hunting.

Select with ``HYPOTHESIS_PROFILE=dev pytest ...``.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    print_blob=True,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The engine checks the exact stock-flow identity after every tick throughout the test suite
# (runs default to once per period); subprocesses inherit it.
os.environ.setdefault("SPMS_MC_CHECK_LEDGER", "tick")
