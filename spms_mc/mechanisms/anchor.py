"""The nominal anchor of the Shared Prosperity Monetary System: an NGDP level path or an inflation
target, steered by issuance and withdrawal over the public money rail (docs/model.md section 5; the
SPMS post, sections 7 ("low, stable positive inflation, or a stable nominal-GDP path") and 11.2
("the central bank retains the ability to expand or contract supply in line with macro targets"),
docs/sources.md).

The target, from the reported run's first settled period (value ``X_0``: nominal spending per
period for ``target = "ngdp"``, the price level for ``"inflation"``), ``p`` periods later:

* ``discretisation = "compound"`` (the default): ``X*_p = X_0 (1 + g)^(p / periods_per_year)``, the
  path compounds every period at the yearly rate g (so a quarter's factor is (1 + g)^(1/4));
* ``"linear"``: ``X*_p = X_0 (1 + g p / periods_per_year)``, simple growth of the start value.

Each period the gap ``e_p = (X*_p - X_p) / X*_p`` of the period just settled sets the issuance,
``(gain e_p + integral sum_{q <= p} e_q) x`` that period's nominal spending (a proportional-integral
rule: the integral term removes the lag a proportional rule keeps behind a growing path), paid
equally per capita over the rail when positive and withdrawn in proportion to the households' money
when negative. With ``bottom50_floor`` > 0 the rule also
has a distributional term: while the bottom 50 %'s share of net wealth (at the last sample) is below
the floor, ``bottom50_transfer`` of nominal spending goes to the half of households with the least
money.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.config import Bool, Choice, Float, ScenarioError, key
from ..core.registry import Mechanism, Output


@dataclass(frozen=True, slots=True, kw_only=True)
class AnchorConfig:
    """The nominal anchor (docs/model.md section 5)."""

    enabled: bool = key(False, Bool, "an NGDP level path or an inflation target steered over the rail (needs "
                                     "rail.enabled)")
    target: str = key("ngdp", Choice("ngdp", "inflation"), "what is anchored: nominal spending per period or the "
                                                           "price level")
    growth: float = key(0.04, Float(-0.5, 1), "g: yearly growth of the NGDP path, or the inflation target")
    discretisation: str = key("compound", Choice("compound", "linear"),
                              "compound: (1 + g)^(p / periods per year); linear: 1 + g p / periods per year")
    gain: float = key(1.0, Float(0, 10), "issuance per period as a share of nominal spending, per unit of gap")
    integral: float = key(0.05, Float(0, 10), "issuance per period as a share of nominal spending, per unit of the "
                                             "gaps summed over past periods (0: a proportional rule)")
    bottom50_floor: float = key(0.0, Float(0, 1), "distributional term: the bottom 50 %'s net-wealth share below "
                                                  "which extra transfers go to them (0: off)")
    bottom50_transfer: float = key(0.0, Float(0, 1), "extra transfer per period to the bottom 50 % (by money), as "
                                                     "a share of nominal spending")


def check_anchor(sc) -> None:
    a = sc.anchor
    if a.enabled and not sc.rail.enabled:
        raise ScenarioError("anchor.enabled issues and withdraws over the rail: it needs rail.enabled = true")
    if a.enabled and a.bottom50_floor > 0 and not sc.wealth.enabled:
        raise ScenarioError("anchor.bottom50_floor reads the net-wealth shares: it needs wealth.enabled = true")


def target_path(start: float, growth: float, periods: int, periods_per_year: float, discretisation: str) -> float:
    """The anchored value ``periods`` periods after the start (see the module)."""
    if discretisation == "linear":
        return start * (1.0 + growth * periods / periods_per_year)
    return start * (1.0 + growth) ** (periods / periods_per_year)


class NominalAnchor(Mechanism):
    """NGDP level or inflation targeting through the public money rail."""

    name = "anchor"
    order = 46
    sections = {"anchor": AnchorConfig}
    unsweepable = ("anchor.enabled", "anchor.target")
    outputs = {"anchor_gap": Output("1", "(target - actual) / target of the anchored value, the period settled "
                                         "last"),
               "anchor_target": Output("1", "the anchored value's target over its start value"),
               "anchor_issuance": Output("currency units", "net money the anchor issued (+) or withdrew (-) over "
                                                           "the rail during the interval")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_anchor(sc)

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["anchor.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        self.cfg = sc.anchor
        self.burn_in = sc.run.burn_in
        self.periods_per_year = sc.economy.ticks_per_year / sc.run.period
        self.start = None
        self.periods = 0
        self.gap = math.nan
        self.gap_sum = 0.0
        self.target_ratio = math.nan
        self.issued = 0
        self.bottom50 = math.nan
        self.economy = self.rail = None

    def bind(self, others) -> None:
        self.economy, self.rail = others["economy"], others["rail"]

    def value(self) -> float:
        last = self.economy.last
        return last["nominal_spending"] if self.cfg.target == "ngdp" else last["price_level"]

    def on_period_start(self, tick: int) -> None:
        if tick <= self.burn_in or tick == 0:  # the first settled period of the reported run sets X_0
            return
        a = self.cfg
        x = self.value()
        if not x > 0:
            return
        if self.start is None:
            self.start = x
        target = target_path(self.start, a.growth, self.periods, self.periods_per_year, a.discretisation)
        self.periods += 1
        self.gap = (target - x) / target
        self.gap_sum += self.gap
        self.target_ratio = target / self.start
        nominal = self.economy.last["nominal_spending"]
        signal = a.gain * self.gap + a.integral * self.gap_sum
        amount = math.floor(abs(signal) * nominal)
        if signal > 0:
            self.issued += self.rail.pay_per_capita(amount, "anchor issuance")
        elif signal < 0:
            self.issued -= self.rail.withdraw_amount(amount)
        if a.bottom50_floor > 0 and self.bottom50 < a.bottom50_floor:
            extra = math.floor(a.bottom50_transfer * nominal)
            poorest = self.rail.bottom_accounts(0.5)
            if poorest.shape[0]:
                self.issued += self.rail.pay_to(poorest, extra // poorest.shape[0], "anchor distributional transfer")

    def sample_by_wealth(self, net_wealth, cutoffs):
        """Records the bottom 50 %'s share of net wealth for the distributional term."""
        import numpy as np

        if self.cfg.bottom50_floor <= 0:
            return {}
        total = float(net_wealth.sum())
        low = np.sort(net_wealth)[: net_wealth.shape[0] // 2]
        self.bottom50 = float(low.sum()) / total if total > 0 else math.nan
        return {}

    def sample(self) -> dict[str, float]:
        out = {"anchor_gap": self.gap, "anchor_target": self.target_ratio, "anchor_issuance": self.issued}
        self.issued = 0
        return out
