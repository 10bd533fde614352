"""Events: one-off or periodic injections and losses of money (the SuMSy paper's stress scenarios,
section 6, docs/sources.md; docs/model.md section 1).

This module owns the ``[[events]]`` array of tables and the flows ``injection`` and ``loss``; its
kernels are :mod:`spms_mc_kernels.events` (CPU) and their CUDA twins.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import events as kernels
from spms_mc_kernels import rng

from ..core.config import Amount, Choice, Float, Int, ScenarioError, check_money_fits, key
from ..core.registry import Mechanism

MAX_EVENTS = (1 << 16) - rng.STREAM_EVENT_BASE  # stream ids are the low 16 bits of a stream key


@dataclass(frozen=True, slots=True, kw_only=True)
class EventConfig:
    kind: str = key("injection", Choice("injection", "loss"), "injection creates money; loss destroys a share of balances")
    tick: int = key(0, Int(0), "first tick of the event (after that tick's period start)")
    every: int = key(0, Int(0), "repeat every this many ticks; 0 = once")
    target: str = key("all", Choice("all", "households", "firms", "one"), "accounts the event applies to")
    account: int = key(0, Int(0), "the account when target = one")
    share: float = key(1.0, Float(0, 1, lo_open=True), "random share of the target accounts hit (the same ones each time)")
    amount: float = key(0.0, Amount(), "injection: amount per account, currency units")
    fraction: float = key(0.0, Float(0, 1), "loss: share of each balance destroyed")


class EventsCUDA:
    """The CUDA wrappers of the events's kernels (:mod:`spms_mc_kernels.cuda`), mixed into
    :class:`~spms_mc.core.backend.CUDABackend`: same names and results as the CPU kernels."""

    def inject(self, balance, lo, hi, amount, share, skey):
        return int(self._run(self.k.inject, hi - lo, balance, lo, hi, amount, share, skey, totals=1)[0])

    def lose(self, balance, lo, hi, fraction, share, skey):
        return int(self._run(self.k.lose, hi - lo, balance, lo, hi, fraction, share, skey, totals=1)[0])


class EventsBatch:
    """Events for a batch of members on one GPU: the schedule of :class:`Events` (:meth:`Events.due`,
    its plan), one launch per event for all members, each drawing on its own member's stream."""

    def __init__(self, engine, mechanism: Events):
        e = self.e = engine
        self.ev = mechanism
        self.keys = [e.cuda.to_device(np.array([rng.stream_key(k, 0, rng.STREAM_EVENT_BASE + j) for k in e.keys],
                                               np.uint64)) for j in range(len(mechanism.plan))]

    def on_tick(self, tick: int) -> None:
        e = self.e
        sumsy = e.parts.get("sumsy")
        for j, (ev, lo, hi, _) in enumerate(self.ev.plan):
            if not self.ev.due(ev, tick):
                continue
            if sumsy is not None and sumsy.s.transactional:
                sumsy.accrue(e.no_participants, lo, hi - lo, tick)
            if ev.kind == "injection":
                amount = e.sc.minor(ev.amount)
                for ledger in e.ledgers:
                    ledger.guard(amount * (hi - lo), f"injection at tick {tick}")
                t = e.totals(e.kb.inject, hi - lo, e.balance, lo, hi, np.int64(amount), ev.share, self.keys[j])
                for m, ledger in enumerate(e.ledgers):
                    ledger.create("injection", int(t[m, 0]))
            else:
                t = e.totals(e.kb.lose, hi - lo, e.balance, lo, hi, ev.fraction, ev.share, self.keys[j])
                for m, ledger in enumerate(e.ledgers):
                    ledger.destroy("loss", int(t[m, 0]))


class Events(Mechanism):
    """One-off or periodic injections and losses (SuMSy paper section 6, stress scenarios)."""

    name = "events"
    order = 20
    table_arrays = {"events": EventConfig}
    cpu_kernels = {"inject": kernels.inject, "lose": kernels.lose}
    cuda_methods = EventsCUDA
    batch_methods = EventsBatch
    flows = {"injection": "created: money injected into accounts", "loss": "destroyed: a share of balances lost"}

    @classmethod
    def enabled(cls, sc) -> bool:
        return bool(sc.events)

    @classmethod
    def switches(cls, sc) -> list[str]:
        return ["events"]

    @classmethod
    def check_scenario(cls, sc) -> None:
        r, p, n = sc.run, sc.population, sc.n_accounts
        if len(sc.events) > MAX_EVENTS:
            raise ScenarioError(f"events: {len(sc.events)} events; accepted: at most {MAX_EVENTS} (each draws on its "
                                f"own random stream, and stream ids have 16 bits)")
        for i, e in enumerate(sc.events):
            where = f"events[{i}]"
            if e.tick >= r.ticks:
                raise ScenarioError(f"{where}.tick = {e.tick} is after the run; accepted: 0 .. {r.ticks - 1}")
            if e.target == "one" and e.account >= n:
                raise ScenarioError(f"{where}.account = {e.account} is not an account (0 .. {n - 1})")
            if e.target == "firms" and p.firms == 0:
                raise ScenarioError(f"{where}.target = 'firms' but population.firms = 0")
            if e.kind == "injection" and e.amount <= 0:
                raise ScenarioError(f"{where}: an injection needs amount > 0")
            if e.kind == "loss" and e.fraction <= 0:
                raise ScenarioError(f"{where}: a loss needs fraction > 0")
            check_money_fits(sc, f"{where}.amount", e.amount, n)

    @classmethod
    def shrink(cls, sc, small_population) -> dict:
        n = small_population.households + small_population.firms
        F = small_population.firms
        return {"events": tuple(dataclasses.replace(e, tick=0, every=1, account=min(e.account, n - 1),
                                                    target="all" if e.target == "firms" and F == 0 else e.target)
                                for e in sc.events)}

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["events[].every"] if any(e.every > 0 for e in sc.events) else []

    def __init__(self, *a):
        super().__init__(*a)
        kinds = {e.kind for e in self.sc.events}
        self.creates = ("injection",) if "injection" in kinds else ()
        self.destroys = ("loss",) if "loss" in kinds else ()
        self.sumsy = None
        H, F = self.state.n_households, self.state.n_firms
        self.plan = []
        for k, e in enumerate(self.sc.events):
            lo, hi = {"all": (0, H + F), "households": (0, H), "firms": (H, H + F),
                      "one": (e.account, e.account + 1)}[e.target]
            skey = np.uint64(rng.stream_key(self.key, 0, rng.STREAM_EVENT_BASE + k))
            self.plan.append((e, lo, hi, skey))

    def flows_booked(self) -> tuple[str, ...]:
        return self.creates + self.destroys

    def bind(self, others) -> None:
        """In the transactional SuMSy variant, accounts are accrued before an event touches them."""
        self.sumsy = others.get("sumsy")

    def due(self, e, tick: int) -> bool:
        """Whether event e acts at tick ``tick``; event ticks count from the end of ``run.burn_in``."""
        tick -= self.sc.run.burn_in
        return tick == e.tick or (e.every > 0 and tick > e.tick and (tick - e.tick) % e.every == 0)

    def on_tick(self, tick: int) -> None:
        st, b = self.state, self.backend
        for e, lo, hi, skey in self.plan:
            if not self.due(e, tick):
                continue
            if self.sumsy is not None and self.sumsy.transactional:
                self.sumsy.touch(np.arange(lo, hi, dtype=np.int64), hi - lo, tick)
            if e.kind == "injection":
                amount = self.sc.minor(e.amount)
                self.ledger.guard(amount * (hi - lo), f"injection at tick {tick}")
                self.ledger.create("injection", b.inject(st.balance, lo, hi, np.int64(amount), e.share, skey))
            else:
                self.ledger.destroy("loss", b.lose(st.balance, lo, hi, e.fraction, e.share, skey))
