"""spms_mc - Monte Carlo simulator of monetary regimes for an economy where AI capital captures a
growing share of income (see DESIGN.md and MODEL.md in the shared folder).

Public interface::

    import spms_mc
    sc = spms_mc.load_scenario("sumsy").with_overrides({"population.households": 100_000})
    ds = spms_mc.simulate(sc, seed=7)        # one member -> xarray.Dataset
"""
from __future__ import annotations

__version__ = "0.1.0"

from .config import Scenario, ScenarioError, load_scenario, preset_names  # noqa: E402
from .ledger import LedgerError, MoneyOverflowError  # noqa: E402


def run_ensemble(scenario, members: int = 1, seed: int = 0, store="ensemble.zarr", **kwargs):
    """Run an ensemble (members x sweep grid) into a zarr v3 store; returns it opened lazily.

    See :func:`spms_mc.ensemble.run_ensemble_with_summary` for the options (scheduler, workers,
    resume, overwrite, progress, jobqueue, dry_run).
    """
    from .ensemble import open_ensemble as _open, run_ensemble as _run

    out = _run(scenario, members, seed, store, **kwargs)
    return out if isinstance(out, str) else _open(store)


def open_ensemble(path, *, only_done: bool = False):
    """Open an ensemble store lazily; ``ds.spms`` has fan charts, convergence and summaries."""
    from .ensemble import open_ensemble as _open

    return _open(path, only_done=only_done)


def simulate(scenario, seed: int = 0, *, member: int = 0, progress=None):
    """Run one member of ``scenario`` (a Scenario, a preset name or a TOML path) -> xarray.Dataset.

    The same ``(scenario, seed, member)`` gives bit-identical results on any thread count.
    ``progress``, if given, is called as ``progress(ticks_done, ticks_total)``.
    """
    from .engine import Engine
    from .output import to_dataset

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return to_dataset(Engine(scenario, seed, member).run(progress))


__all__ = ["Scenario", "ScenarioError", "LedgerError", "MoneyOverflowError", "load_scenario",
           "preset_names", "simulate", "run_ensemble", "open_ensemble", "__version__"]
