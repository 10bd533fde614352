"""``simulate``: one member of a scenario, run by the engine, as an xarray Dataset."""
from __future__ import annotations

from ..core.config import Scenario, load_scenario
from .member import Engine
from .output import to_dataset


def simulate(scenario, seed: int = 0, *, member: int = 0, progress=None):
    """Run one member of ``scenario`` (a Scenario, a preset name or a TOML path) -> xarray.Dataset.

    The same ``(scenario, seed, member)`` gives bit-identical results on any thread count.
    ``progress``, if given, is called as ``progress(ticks_done, ticks_total)``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return to_dataset(Engine(scenario, seed, member).run(progress))
