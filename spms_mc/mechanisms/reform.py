"""When reforms start, and the lock-in window (docs/model.md section 6; the predistribution essay's
"Why the window is closing", docs/sources.md).

The essay's timing argument: wealth concentration buys political influence, which blocks structural
reform; "if top 1 % US wealth share approaches ~40 % (around 37 % today in this framing), leverage
effects can make major reform far harder". This mechanism gives the reforms of a scenario (the
wealth fund's inflows, the infrastructure bonds, the ESOP contributions and the CETE tokens) a start
year, and an optional rule that blocks or weakens a reform whose start finds the top-1 % share of
household net wealth at or above ``run.lock_in_threshold``:

* ``reform.start_year``: years after the reported run's start (after ``run.burn_in``); the reforms
  start at the first period start at or after it;
* ``reform.lock_in_rule``: ``none`` (the reform starts in full), ``block`` (it never starts) or
  ``weaken`` (every reform's rate - the fund's windfall tax, data fee, resource rents and scrip
  rate, the bonds' offer, the ESOP's payroll share, the CETE rate alpha - is multiplied by ``1 -
  reform.weakening``);
* the top-1 % share is measured at the start from the state: every household's money plus the
  holdings every mechanism adds (equity at the market price, bonds, pool shares, vested ESOP units,
  less loans), sorted; the top 1 % are the ranks from ``floor(0.99 H)``, as in the sampled
  statistics.

Each reform mechanism reads :attr:`ReformTiming.level` (0 before the start or when blocked, ``1 -
weakening`` when weakened, else 1) and :attr:`ReformTiming.start_tick`. Without ``reform.enabled``
every reform starts with the reported run, in full. This module owns ``[reform]`` and the outputs
``reform_level`` and ``reform_start_top1_share``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.config import Bool, Choice, Float, ScenarioError, key
from ..core.registry import Mechanism, Output

LOCK_IN_RULES = ("none", "block", "weaken")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReformConfig:
    """The reforms' start year and the lock-in rule (docs/model.md section 6)."""

    enabled: bool = key(False, Bool, "give the reforms (fund inflows, bonds, ESOP, CETE) a start year and a lock-in "
                                     "rule (needs wealth.enabled)")
    start_year: float = key(0.0, Float(0), "years after the reported run's start at which the reforms start")
    lock_in_rule: str = key("none", Choice(*LOCK_IN_RULES),
                            "what a start at a top-1 % net-wealth share >= run.lock_in_threshold does: none, block "
                            "(the reforms never start), weaken (their rates are cut by reform.weakening)")
    weakening: float = key(0.5, Float(0, 1), "weaken: share by which every reform's rate is cut")


def check_reform(sc) -> None:
    r = sc.reform
    if not r.enabled:
        return
    if not sc.wealth.enabled:
        raise ScenarioError("reform.enabled needs wealth.enabled = true (the lock-in rule reads net wealth)")
    years = sc.run.ticks / sc.economy.ticks_per_year
    if r.start_year * sc.economy.ticks_per_year >= sc.run.ticks:
        raise ScenarioError(f"reform.start_year = {r.start_year} is after the run ({years:g} years = run.ticks "
                            f"{sc.run.ticks} / economy.ticks_per_year {sc.economy.ticks_per_year}); accepted: 0 <= "
                            f"start_year < {years:g}")


def top1_share(net_wealth: np.ndarray) -> float:
    """Share of the total held by ranks ``floor(0.99 H)`` .. H-1 of the sorted values."""
    H = net_wealth.shape[0]
    if H == 0:
        return math.nan
    w = np.sort(net_wealth)
    total = int(w.sum())
    return int(w[(H * 99) // 100:].sum()) / total if total > 0 else math.nan


class ReformTiming(Mechanism):
    """The reforms' start and the lock-in rule (its level is read by the reform mechanisms)."""

    name = "reform"
    order = 39  # before the economy: a reform in force at a period start acts in that period start
    sections = {"reform": ReformConfig}
    unsweepable = ("reform.enabled",)
    uses_net_wealth = True
    outputs = {
        "reform_level": Output("1", "the reforms' strength: 0 before reform.start_year or when blocked, 1 - "
                                    "reform.weakening when weakened, else 1"),
        "reform_start_top1_share": Output("1", "top-1 % share of household net wealth when the reforms started "
                                               "(NaN before)"),
    }

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_reform(sc)

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        r = sc.reform
        self.cfg = r
        self.start_tick = sc.run.burn_in + math.ceil(r.start_year * sc.economy.ticks_per_year / sc.run.period
                                                     - 1e-9) * sc.run.period
        self.level = 0.0
        self.started = False
        self.top1_at_start = math.nan
        self.measure_net_wealth = None

    def on_period_start(self, tick: int) -> None:
        if self.started or tick < self.start_tick:
            return
        self.started = True
        buf = np.empty(self.state.n_households, np.int64)
        self.measure_net_wealth(buf)
        self.top1_at_start = top1_share(buf)
        locked = self.top1_at_start >= self.sc.run.lock_in_threshold
        rule = self.cfg.lock_in_rule
        if locked and rule == "block":
            self.level = 0.0
        elif locked and rule == "weaken":
            self.level = 1.0 - self.cfg.weakening
        else:
            self.level = 1.0

    def sample(self) -> dict[str, float]:
        return {"reform_level": self.level, "reform_start_top1_share": self.top1_at_start}


def reform_level(reform, tick: int, burn_in: int) -> float:
    """The strength of the reforms at a period start ``tick`` (after the reform mechanism's own
    period start): ``reform.level``, or without reform timing 1 from the reported run's start."""
    if reform is None:
        return 1.0 if tick >= burn_in else 0.0
    return reform.level if tick >= reform.start_tick else 0.0


def reform_start(reform, burn_in: int) -> int:
    """The tick the reforms start at (the reported run's start without reform timing)."""
    return burn_in if reform is None else reform.start_tick
