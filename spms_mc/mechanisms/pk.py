"""The pk mechanism: bank-credit money in the published two-sector post-Keynesian model.

Kuypers, S., Goorden, T., Delepierre, B. (2021), *Computational Analysis of the Properties of
Post-Keynesian Endogenous Money Systems*, JRFM 14, 335 (the comparison model of the SuMSy paper,
docs/sources.md, section 2; docs/model.md section 4). A bank sector and a private sector; money exists
only as the private sector's deposits, created when the bank lends and destroyed when principal is
repaid. Each cycle (one period), in this order:

1. the instalments due are repaid (loans of maturity m, equal principal instalments): money and
   debt fall by R;
2. the private sector pays the bank its net retained profit ``P = floor(p x D)`` on the debt D at
   the start of the cycle; it becomes bank equity, so that money; + bank equity = debt always;
3. new loans: in ``growth`` mode just enough for money to grow at g per cycle,
   ``L = floor((1 + g) M) - (M - R - P)`` (none if that is negative) - the new loans refinance the
   payments, so money never runs out; in ``loan_ratio`` mode the new loans are the share LR of the
   money after lending, ``L = floor(LR (M - R - P) / (1 - LR))``, as the paper's code computes them
   (its prose says "a share of the money"; the code is the reference). With LR = 15 %, p = 0.8 %,
   m = 20 this reproduces the paper's stable case (money growth 4.75 % per cycle, D/M 120.25 % after
   500 cycles) and with p = 0.9 % its collapse (money reaches zero after 193 cycles).

With money growing at g the debt-to-money ratio follows, whatever the maturity,
``D/M(t) = (p ((1 + p)/(1 + g))^t - g) / (p - g)`` (1 + t p/(1 + p) when p = g), bounded only when
p < g. When the private sector cannot pay (money after payments and new loans would be <= 0, as in
``loan_ratio`` mode once debt service outgrows the loans) the run stops cleanly with the reason (:class:`~spms_mc.core.errors.SimulationStopped`). Ledger flows: ``credit``
(created), ``repayment`` and ``interest`` (destroyed: deposits paid to the bank become its equity).

This module owns the ``[pk]`` section, the flows ``credit``, ``repayment`` and ``interest``, the
outputs ``loans_outstanding``, ``bank_capital``, ``debt_ratio`` and ``new_lending``, and the
identity money + bank equity = debt, checked while running.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ..core import registry
from ..core.config import Amount, Bool, Choice, Float, Int, ScenarioError, key
from ..core.errors import MoneyOverflowError, SimulationStopped
from ..core.ledger import INT64_MAX
from ..core.registry import Identity, Mechanism, Output
from .credit import Bank


@dataclass(frozen=True, slots=True, kw_only=True)
class PKConfig:
    """Kuypers, Goorden & Delepierre (2021), JRFM 14, 335: two-sector post-Keynesian endogenous money."""

    enabled: bool = key(False, Bool, "the published two-sector bank-credit model (one cycle = one period)")
    initial_money: float = key(1_000_000.0, Amount(0, lo_open=True), "money (= debt) at the start, currency units")
    maturity: int = key(10, Int(1, 10_000), "loan maturity m in cycles, repaid in equal principal instalments")
    retained_profit: float = key(0.02, Float(0, 1), "net retained bank profit p per cycle, a share of outstanding debt")
    mode: str = key("growth", Choice("growth", "loan_ratio"),
                    "growth: lend so money grows at `growth`; loan_ratio: new loans are `loan_ratio` of the "
                    "money after lending (the paper's code)")
    growth: float = key(0.03, Float(-1, 10, lo_open=True), "growth mode: money growth rate g per cycle")
    loan_ratio: float = key(0.1, Float(0, 1, hi_open=True),
                            "loan_ratio mode: LR, new loans as a share of the money after payments and lending, "
                            "L = LR (M - R - P) / (1 - LR)")


class PKEndogenousMoney(Mechanism):
    """The two-sector model, one cycle per period (see the module docstring)."""

    name = "pk_endogenous"
    order = 10
    sections = {"pk": PKConfig}
    unsweepable = ("pk.enabled",)
    flows = {k: Bank.flows[k] for k in ("credit", "repayment", "interest")}
    outputs = {**{k: Bank.outputs[k] for k in ("loans_outstanding", "bank_capital", "new_lending")},
               "debt_ratio": Output("1", "debt-to-money ratio D/M")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        if not sc.pk.enabled:
            return
        others = [k for m in registry.mechanisms() if m is not cls and m.enabled(sc) for k in m.switches(sc)]
        if sc.population.firms > 0:
            others.append("population.firms > 0")
        if others or sc.population.households != 1:
            raise ScenarioError("pk.enabled is the two-sector model alone: it needs population.households = 1 "
                                "(the private sector) and no other mechanism (enabled here: "
                                + ", ".join(others or ["none"]) + ")")

    def identities(self) -> list[Identity]:
        return [Identity("pk: money + bank equity = debt", "private-sector deposits + bank equity",
                         lambda: int(self.state.balance[0]) + self.equity, "loans outstanding", lambda: self.debt)]

    def __init__(self, *a):
        super().__init__(*a)
        pk = self.sc.pk
        self.p, self.m, self.mode, self.g, self.lr = pk.retained_profit, pk.maturity, pk.mode, pk.growth, pk.loan_ratio
        self.debt = 0
        self.equity = 0
        self.lent = 0  # since the last sample
        self.schedule: deque[int] = deque([0] * self.m)  # instalments due in the next m cycles
        # the initial money is a loan taken before the first cycle: part of the starting state
        # (like initial balances), so it is not booked as a flow; D/M = 1 at tick 0
        self._book_loan(self.sc.minor(self.sc.pk.initial_money))
        self.lent = 0

    def _book_loan(self, amount: int) -> None:
        if self.debt + amount > INT64_MAX:
            raise MoneyOverflowError(f"loans outstanding would exceed the int64 range ({self.debt + amount} minor "
                                     f"units); lower pk.initial_money or run.minor_units")
        base, rest = divmod(amount, self.m)
        for k in range(self.m):  # the remainder is repaid with the last instalment: exact
            self.schedule[k] += base + (rest if k == self.m - 1 else 0)
        self.state.balance[0] += amount
        self.debt += amount
        self.lent += amount

    def _lend(self, amount: int) -> None:
        """New loan: money and debt rise; its principal is repaid in m equal instalments."""
        if amount <= 0:
            return
        self.ledger.guard(amount, "bank lending")
        self._book_loan(amount)
        self.ledger.create("credit", amount)

    def on_period_start(self, tick: int) -> None:
        money = int(self.state.balance[0])
        due = self.schedule.popleft()
        self.schedule.append(0)
        profit = int(math.floor(self.p * self.debt))
        left = money - due - profit
        if self.mode == "growth":  # lending refinances the payments: money always grows at g
            new = max(int(math.floor((1.0 + self.g) * money)) - left, 0)
        else:  # the share LR of the money after lending: L = LR (left + L)
            new = int(math.floor(self.lr * left / (1.0 - self.lr))) if left > 0 else 0
        if left + new <= 0:
            raise SimulationStopped(
                f"money stock reached zero at tick {tick}: the private sector holds {money} minor units but owes "
                f"{due} principal + {profit} retained profit (debt {self.debt}, debt/money {self.debt / money:.4g}) "
                f"and new lending ({new}) does not cover it")
        self._lend(new)
        self.state.balance[0] -= due + profit
        self.debt -= due
        self.equity += profit
        self.ledger.destroy("repayment", due)
        self.ledger.destroy("interest", profit)

    def sample(self) -> dict[str, float]:
        money = int(self.state.balance[0])
        out = {"loans_outstanding": self.debt, "bank_capital": self.equity,
               "debt_ratio": self.debt / money if money > 0 else math.nan, "new_lending": self.lent}
        self.lent = 0
        return out
