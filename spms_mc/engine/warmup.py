"""Compile every kernel a scenario uses before the timed or fanned-out runs: a tiny copy of the
scenario run once, on the CPU engine or as a batch on the GPU."""
from __future__ import annotations

import time

from ..core.config import Scenario
from ..core.registry import mechanisms
from .batch import BatchEngine
from .member import Engine


def warmup(sc: Scenario, batch: bool = False) -> float:
    """Compile every kernel ``sc`` uses by running a tiny copy of it; returns the seconds taken.

    Compiling before the timed run (and, for ensembles, once per worker before the fan-out) keeps
    compilation out of throughput figures and away from concurrent cache writers. The copy keeps
    every process and option of ``sc`` but has 8 households, one period and one sample; it is built
    with ``dataclasses.replace`` (indices are clamped, so it needs no validation). With ``batch``
    the copy runs as a batch of two members (:mod:`spms_mc.engine.batch`, the batched CUDA kernels).
    """
    t0 = time.perf_counter()
    small = tiny_copy(sc)
    if batch:
        BatchEngine(small, 0, [0, 1]).run()
    else:
        Engine(small, 0, 0).run()
    return time.perf_counter() - t0


def tiny_copy(sc: Scenario) -> Scenario:
    """``sc`` with 8 households (2 firms), one period and one sample: every mechanism and option
    kept (each mechanism shrinks its own options to fit, :meth:`Mechanism.shrink`)."""
    from dataclasses import replace

    p = sc.population
    H, F = min(p.households, 8), min(p.firms, 2)
    pop = replace(p, households=H, firms=F,
                  active_share=p.active_share if p.active_share == 1.0 else 0.5)
    ticks = sc.run.period + 1
    run = replace(sc.run, ticks=ticks, sample_every=ticks, track=(0,), check_ledger="tick",
                  burn_in=sc.run.period if sc.run.burn_in else 0,
                  snapshot_ticks=(ticks,) if sc.run.snapshot_ticks else ())
    changes = {}
    for m in mechanisms():
        changes.update(m.shrink(sc, pop))
    return sc.replace(population=pop, run=run, **changes)
