"""Bank-credit money: the published two-sector post-Keynesian model.

Kuypers, S., Goorden, T., Delepierre, B. (2021), *Computational Analysis of the Properties of
Post-Keynesian Endogenous Money Systems*, JRFM 14, 335 (the comparison model of the SuMSy paper,
`seeds/sumsy_money_supply_model.md`, section 2). A bank sector and a private sector; money exists
only as the private sector's deposits, created when the bank lends and destroyed when principal is
repaid. Each cycle (one period), in this order:

1. the instalments due are repaid (loans of maturity m, equal principal instalments): money and
   debt fall by R;
2. the private sector pays the bank its net retained profit ``P = floor(p x D)`` on the debt D at
   the start of the cycle; it becomes bank equity, so that money; + bank equity = debt always;
3. new loans: in ``growth`` mode just enough for money to grow at g per cycle,
   ``L = floor((1 + g) M) - (M - R - P)`` (none if that is negative) - the new loans refinance the
   payments, so money never runs out; in ``loan_ratio`` mode ``L = floor(LR x (M - R - P))``, a
   share of what is left after paying.

With money growing at g the debt-to-money ratio follows, whatever the maturity,
``D/M(t) = (p ((1 + p)/(1 + g))^t - g) / (p - g)`` (1 + t p/(1 + p) when p = g), bounded only when
p < g. When the private sector cannot pay (money after payments and new loans would be <= 0, as in
``loan_ratio`` mode once debt service outgrows the loans) the run stops cleanly with the reason (:class:`~spms_mc.engine.SimulationStopped`). Ledger flows: ``credit``
(created), ``repayment`` and ``interest`` (destroyed: deposits paid to the bank become its equity).
"""
from __future__ import annotations

import math
from collections import deque

from .processes import Process


class PKEndogenousMoney(Process):
    name = "pk_endogenous"
    creates = ("credit",)
    destroys = ("repayment", "interest")
    output_units = {"loans_outstanding": "currency units", "bank_capital": "currency units",
                    "debt_ratio": "1", "new_lending": "currency units"}

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
        from .ledger import INT64_MAX, MoneyOverflowError

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
        from .engine import SimulationStopped

        money = int(self.state.balance[0])
        due = self.schedule.popleft()
        self.schedule.append(0)
        profit = int(math.floor(self.p * self.debt))
        left = money - due - profit
        if self.mode == "growth":  # lending refinances the payments: money always grows at g
            new = max(int(math.floor((1.0 + self.g) * money)) - left, 0)
        else:  # a share of what is left after the payments
            new = int(math.floor(self.lr * left)) if left > 0 else 0
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

    def outputs(self) -> dict[str, float]:
        money = int(self.state.balance[0])
        out = {"loans_outstanding": self.debt, "bank_capital": self.equity,
               "debt_ratio": self.debt / money if money > 0 else math.nan, "new_lending": self.lent}
        self.lent = 0
        return out
