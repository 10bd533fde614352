"""spms_mc - Monte Carlo simulator of monetary regimes for an economy where AI capital captures a
growing share of income (docs/design.md, docs/model.md; the layers: docs/architecture.md).

Public interface::

    import spms_mc
    sc = spms_mc.load_scenario("sumsy").with_overrides({"population.households": 100_000})
    ds = spms_mc.simulate(sc, seed=7)        # one member -> xarray.Dataset
    ds.spms.summary()                        # the accessor works on any result

This module is the composition root: importing it registers the built-in mechanisms
(:mod:`spms_mc.mechanisms`) and the ``ds.spms`` accessor.
"""
from __future__ import annotations

from . import mechanisms  # noqa: F401  (registers the built-in mechanisms)
from .core.config import Scenario, ScenarioError, load_scenario, preset_names
from .core.errors import IdentityError, LedgerError, MoneyOverflowError
from .core.version import VERSION as __version__
from .engine.simulate import simulate
from .ensemble.api import open_ensemble, run_ensemble



def validate(only=None) -> list[dict]:
    """Every published or closed-form reference the project claims, run and compared: one row each
    (source, quantity, published, ours, difference, passed). See :mod:`spms_mc.report.validate`."""
    from .report.validate import validate as run

    return run(only)


__all__ = ["Scenario", "ScenarioError", "LedgerError", "IdentityError", "MoneyOverflowError", "load_scenario",
           "preset_names", "simulate", "run_ensemble", "open_ensemble", "validate", "__version__"]
