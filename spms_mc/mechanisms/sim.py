"""Godley & Lavoie's model SIM, and its variant SIMEX, solved period by period as the book does
(*Monetary Economics*, 2007, ch. 3; docs/sources.md; docs/model.md section 3).

One household, one firm paying all its revenue as wages (W N = Y), a government buying G from the
firm and taxing income at the rate theta. Each period (at each period start, one period per
``run.period`` ticks):

* **SIM**, the within-period solution: consumption depends on this period's disposable income,
  ``C = a1 YD + a2 H_-1`` with ``YD = (1 - theta) Y`` and ``Y = C + G``, so
  ``Y = (G + a2 H_-1) / (1 - a1 (1 - theta))`` (equations 3.1-3.11 solved simultaneously, as the
  book's tables and the SFC packages sfcr and pysolve compute them);
* **SIMEX**, expectations: households spend out of the disposable income they expect, last
  period's, ``C = a1 YD_-1 + a2 H_-1``, and ``Y = C + G`` (section 3.7).

Money is exact: amounts are int64 minor units. ``C`` is rounded down to a minor unit, ``Y = C + G``
exactly, the tax ``T = floor(theta Y)``, ``YD = Y - T``; the household's money grows by
``YD - C`` and the government's spending creates ``G`` (flow ``government_spending``) while the
tax destroys ``T`` (flow ``tax``), so ``dH = G - T`` exactly. With G = 20, theta = 0.2,
a1 = 0.6, a2 = 0.4 from zero SIM gives Y = 38.462, 47.929, ... -> Y* = G / theta = 100, and the
household holds H* = 80 (the book's Table 3.4, to its printed digits with ``run.minor_units`` =
10^6). The steady state is the same for SIMEX.

This module owns the ``[sim]`` section, the flows ``government_spending`` and ``tax``, and the
outputs ``income``, ``consumption``, ``disposable_income`` and ``taxes``. It books no kernel: one
household and one firm are a few scalars.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..core import registry
from ..core.config import Amount, Bool, Choice, Float, ScenarioError, check_money_fits, key
from ..core.registry import Identity, Mechanism, Output


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Godley & Lavoie's model SIM (Monetary Economics, ch. 3)."""

    enabled: bool = key(False, Bool, "model SIM: one household, one firm, government money (needs 1 household, 1 firm)")
    variant: str = key("sim", Choice("sim", "simex"),
                       "sim: consumption out of this period's income (solved within the period); simex: out of the "
                       "disposable income expected, last period's")
    government_spending: float = key(20.0, Amount(), "G: government spending per period, currency units")
    tax_rate: float = key(0.2, Float(0, 1, lo_open=True, hi_open=True), "theta: tax on income")
    propensity_income: float = key(0.6, Float(0, 1, hi_open=True), "alpha1: propensity to consume out of income")
    propensity_wealth: float = key(0.4, Float(0, 1, lo_open=True),
                                   "alpha2: propensity to consume out of money held at the start of the period")


OUTPUTS = {
    "income": Output("currency units", "national income Y = C + G of the last period solved"),
    "consumption": Output("currency units", "household consumption C of the last period solved"),
    "disposable_income": Output("currency units", "household disposable income YD = Y - T of the last period solved"),
    "taxes": Output("currency units", "taxes T = floor(theta Y) of the last period solved"),
}


class GodleyLavoieSim(Mechanism):
    """Model SIM or SIMEX, one period per ``run.period`` ticks (see the module docstring)."""

    name = "sim"
    order = 40
    sections = {"sim": SimConfig}
    unsweepable = ("sim.enabled",)
    flows = {"government_spending": "created: government spending on firms (SIM)",
             "tax": "destroyed: income tax withheld from wages and dividends (SIM)"}
    outputs = OUTPUTS

    @classmethod
    def check_scenario(cls, sc) -> None:
        s, p = sc.sim, sc.population
        if not s.enabled:
            return
        others = [k for m in registry.mechanisms() if m is not cls and m.enabled(sc) for k in m.switches(sc)]
        if p.households != 1 or p.firms != 1 or others:
            raise ScenarioError(f"sim.enabled is model SIM alone: it needs population.households = 1 (here "
                                f"{p.households}), population.firms = 1 (here {p.firms}) and no other mechanism "
                                f"(enabled here: {', '.join(others) or 'none'})")
        check_money_fits(sc, "sim.government_spending", s.government_spending * sc.run.ticks, 1)

    def __init__(self, *a):
        super().__init__(*a)
        s = self.sc.sim
        self.variant = s.variant
        self.G = self.sc.minor(s.government_spending)
        self.theta, self.a1, self.a2 = s.tax_rate, s.propensity_income, s.propensity_wealth
        self.expected_yd = 0  # SIMEX: last period's disposable income
        self.last = {k: 0 for k in OUTPUTS}
        self.initial = int(self.state.balance[0])  # population.initial_balance
        self.created = self.destroyed = 0

    def on_period_start(self, tick: int) -> None:
        st = self.state
        held = int(st.balance[0])  # H_-1
        if self.variant == "sim":
            # Y = C + G with C = a1 (1 - theta) Y + a2 H_-1, solved for C
            c = math.floor((self.a1 * (1.0 - self.theta) * self.G + self.a2 * held)
                           / (1.0 - self.a1 * (1.0 - self.theta)))
        else:
            c = math.floor(self.a1 * self.expected_yd + self.a2 * held)
        y = c + self.G
        t = math.floor(self.theta * y)
        yd = y - t
        self.ledger.guard(self.G, "government spending")
        self.ledger.create("government_spending", self.G)
        self.ledger.destroy("tax", t)
        self.created += self.G
        self.destroyed += t
        st.balance[0] = held + yd - c  # the firm's balance: G + C in, Y out as wages, stays 0
        self.expected_yd = yd
        self.last = {"income": y, "consumption": c, "disposable_income": yd, "taxes": t}

    def sample(self) -> dict:
        return dict(self.last)

    def identities(self) -> list[Identity]:
        st = self.state
        return [Identity("sim: household money = government spending - taxes, cumulated",
                         "household money", lambda: int(st.balance[0]), "spending - taxes since the start",
                         lambda: self.created - self.destroyed + self.initial)]
