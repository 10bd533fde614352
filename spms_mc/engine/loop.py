"""The tick loop that both engines run - one member on the CPU or GPU (:mod:`.member`) and a batch
of members on one GPU (:mod:`.batch`): hooks in order, checks at the ledger's cadence, samples,
snapshots and progress, in the order docs/design.md ("Order within a tick") documents."""
from __future__ import annotations

import os
import time

import numpy as np

from ..core.errors import SimulationStopped

CHECK_MODES = ("tick", "period", "off")


def check_mode(sc) -> str:
    """How often identities are checked: ``run.check_ledger``, or ``SPMS_MC_CHECK_LEDGER`` when set
    (the test suite sets "tick"; checking never changes results, so it is not part of the scenario
    fingerprint)."""
    mode = os.environ.get("SPMS_MC_CHECK_LEDGER") or sc.run.check_ledger
    if mode not in CHECK_MODES:
        raise ValueError(f"SPMS_MC_CHECK_LEDGER = {mode!r}; accepted: {', '.join(CHECK_MODES)}")
    return mode


def run_ticks(sc, sample_ticks: np.ndarray, *, on_period, on_tick, check, sample, snapshot, progress=None,
              end_burn_in=()):
    """Run ``run.burn_in`` unreported ticks, then ``run.ticks`` ticks; returns ``(samples_taken,
    stop_reason)``.

    ``on_period`` and ``on_tick`` are the hooks in order; ``check(t)`` checks every identity after
    tick t (t = -1: the initial state); ``sample(j, t)`` takes sample j after tick t; ``snapshot(k,
    t)`` stores snapshot k after tick t; ``progress(done, total)`` is called at most every 0.25 s;
    ``end_burn_in`` are called once after a burn-in. A hook that raises :class:`SimulationStopped`
    ends the run there, keeping the samples taken.

    With a burn-in of B ticks the hooks see ticks 0 .. B + T - 1; the samples, snapshots and
    progress count from the end of the burn-in (sample tick c is the state after B + c ticks).
    """
    mode = check_mode(sc)
    period, T, B = sc.run.period, sc.run.ticks, sc.run.burn_in
    every_tick, every_period = mode == "tick", mode == "period"
    check(-1)
    for t in range(B):
        if t % period == 0:
            for f in on_period:
                f(t)
        for f in on_tick:
            f(t)
        if every_tick or (every_period and (t + 1) % period == 0):
            check(t)
    if B:
        for f in end_burn_in:
            f()
        check(B - 1)
    snap_at = {t: k for k, t in enumerate(sc.run.snapshot_ticks)}
    if 0 in snap_at:
        snapshot(snap_at[0], B - 1)
    sample(0, B - 1)
    last_report = time.perf_counter()
    j, next_sample = 1, int(sample_ticks[1])
    stop_reason = ""
    for t in range(B, B + T):
        try:
            if t % period == 0:
                for f in on_period:
                    f(t)
            for f in on_tick:
                f(t)
        except SimulationStopped as stop:
            stop_reason = str(stop)
            break
        if every_tick or (every_period and (t + 1) % period == 0):
            check(t)
        done = t + 1 - B
        if done == next_sample:
            sample(j, t)
            j += 1
            next_sample = int(sample_ticks[j]) if j < len(sample_ticks) else -1
        if snap_at and done in snap_at:
            snapshot(snap_at[done], t)
        if progress is not None:
            now = time.perf_counter()
            if now - last_report > 0.25 or done == T:
                progress(done, T)
                last_report = now
    if mode != "off":
        check(B + T - 1)
    return j, stop_reason
