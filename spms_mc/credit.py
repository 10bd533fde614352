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

import dataclasses
import math
from collections import deque

import numpy as np
from spms_mc_kernels.economy import SHARE_MARGIN
from spms_mc_kernels.metrics import distribution_stats

from .processes import Process
from .state import EMPTY, SINK


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


# ---------------------------------------------------------------------------------------------
# bank-credit money for many borrowers (MODEL.md section 4)
# ---------------------------------------------------------------------------------------------
class Bank:
    """The banking sector of a member: loans outstanding, capital, the capital-ratio limit on new
    lending, loan service and defaults, and dividends to its shareholders.

    Balance sheet, exactly: loans - (deposits the bank created net of those it took back) = capital -
    initial capital. Lending creates deposits (``credit``); instalments destroy them
    (``repayment``); interest paid turns deposits into bank capital (``interest``); a default takes
    the borrower's deposits (``default``, a recovery) and writes the loan off against capital;
    declared dividends leave capital and become shareholders' deposits when paid
    (``bank_dividend``, the period after).
    """

    creates = ("credit", "bank_dividend")
    destroys = ("repayment", "interest", "default")
    output_units = {"defaults": "1", "capital_ratio": "1"}

    def __init__(self, owner: Process):
        """The bank of the process ``owner``: its scenario, state and backend, and the ledger the
        engine gives it (read through the owner, which gets it after construction)."""
        sc, b = owner.sc, owner.sc.bank
        self.owner, self.state, self.backend = owner, owner.state, owner.backend
        self.rate, self.maturity, self.ratio, self.payout = b.interest, b.maturity, b.capital_ratio, b.payout
        self.capital = sc.minor(b.initial_capital)
        self.loans = 0
        self.dividend_due = 0
        self.profit = 0
        self.lent = 0
        self.defaults = 0

    @property
    def ledger(self):
        return self.owner.ledger

    def headroom(self) -> int:
        """New loans the capital ratio still allows."""
        if self.capital <= 0:
            return 0
        return max(math.floor(self.capital / self.ratio) - self.loans, 0)

    def grant(self, demand: int) -> float:
        """Share of a credit demand granted: all while the capital ratio holds after lending, else
        pro rata what it allows (``SHARE_MARGIN`` keeps the floored grants within the headroom)."""
        if demand <= 0:
            return 1.0
        room = self.headroom()
        return 1.0 if room >= demand else room * SHARE_MARGIN / demand

    def lend(self, amount: int, what: str = "bank lending") -> None:
        amount = int(amount)
        if amount:
            self.ledger.guard(amount, what)
            self.ledger.create("credit", amount)
            self.loans += amount
            self.lent += amount

    def service(self, lo: int, hi: int, limit: int) -> None:
        """Interest and instalments of accounts lo..hi-1; refinancing up to ``limit``; defaults."""
        st, led = self.state, self.ledger
        interest, repaid, refinanced, recovered, written_off, defaults = self.backend.service_loans(
            st.balance, st.loans, lo, hi, self.rate, self.maturity, np.int64(limit))
        self.lend(refinanced, "refinancing")
        led.destroy("interest", interest)
        led.destroy("repayment", repaid)
        led.destroy("default", recovered)
        self.loans -= int(repaid) + int(written_off)
        gain = int(interest) + int(recovered) - int(written_off)
        self.capital += gain
        self.profit += gain
        self.defaults += int(defaults)

    def declare_dividend(self) -> None:
        """End of the bank's period: ``payout`` of a positive profit leaves capital, to be paid."""
        if self.profit > 0:
            due = int(math.floor(self.payout * self.profit))
            self.capital -= due
            self.dividend_due += due
        self.profit = 0

    def pay_dividend(self) -> int:
        """Book the declared dividends as created deposits; returns the amount to distribute."""
        due, self.dividend_due = self.dividend_due, 0
        if due:
            self.ledger.guard(due, "bank dividends")
            self.ledger.create("bank_dividend", due)
        return due

    def outputs(self) -> dict:
        out = {"loans_outstanding": self.loans, "bank_capital": self.capital, "new_lending": self.lent,
               "defaults": float(self.defaults),
               "capital_ratio": self.capital / self.loans if self.loans else math.nan}
        self.lent = 0
        self.defaults = 0
        return out


class SumsyReplay(Process):
    """The SuMSy paper's comparison run (`seeds/sumsy_money_supply_model.md`, closing notes): "for
    each agent, perform the exact same transactions (same random seed) and top up 'missing' wealth
    with loans".

    A SuMSy run with the same seed and member is carried along inside this process (its own state
    and exact ledger; bit-identical to running the SuMSy scenario alone). Every tick each household
    pays, in this bank-credit economy, exactly what it paid in the SuMSy run, to the same payee; a
    household short of money borrows the difference (rationed pro rata if the bank's capital ratio
    binds). There is no GI and no demurrage here: money enters only as loans. Loans pay interest and
    amortise at each period start; bank dividends go in equal parts to the bank's shareholders, the
    first ``ceil(bank.shareholder_share x H)`` households (households are exchangeable here).
    """

    name = "bank_credit_replay"
    creates = Bank.creates
    destroys = Bank.destroys

    def __init__(self, *a):
        from .config import BankConfig
        from .ledger import Ledger
        from .processes import build_processes, flow_names
        from .state import allocate

        super().__init__(*a)
        sc = self.sc
        self.output_units = dict(Bank.output_units)
        self.shadow_sc = dataclasses.replace(sc, bank=BankConfig())
        self.shadow = allocate(self.shadow_sc, self.key)
        self.backend.adopt(self.shadow)
        self.inner = build_processes(self.shadow_sc, self.shadow, None, self.backend, self.key)
        self.shadow_ledger = Ledger(flow_names(self.inner), self._shadow_money(), sc.run.period)
        for p in self.inner:
            p.ledger = self.shadow_ledger
            self.output_units.update({f"sumsy_{k}": v for k, v in p.output_units.items()})
        self.exchange = self.inner[-1]
        self.bank = Bank(self)
        self.H = self.state.n_households
        self.owners = max(1, math.ceil(sc.bank.shareholder_share * self.H))
        self.owner_index = np.arange(self.owners, dtype=np.int64)
        self.limit = sc.minor(sc.bank.household_credit_limit)
        self.report = sc.bank.report_sumsy
        if self.report:
            self.output_units.update({f"sumsy_{k}": "1" for k in ("gini", "top1_share", "top10_share",
                                                                  "bottom50_share")})

    def _shadow_money(self) -> int:
        return int(self.backend.sum_int64(self.shadow.balance)) + int(self.shadow.institutions.sum())

    def on_period_start(self, tick: int) -> None:
        st = self.state
        due = self.bank.pay_dividend()
        if due:
            each = due // self.owners
            self.backend.credit_each(st.balance, self.owner_index, self.owners, np.int64(each))
            st.institutions[SINK] += due - each * self.owners
        self.bank.service(0, self.H, self.limit)
        self.bank.declare_dividend()
        for p in self.inner:
            p.on_period_start(tick)

    def on_tick(self, tick: int) -> None:
        for p in self.inner:
            p.on_tick(tick)
        st, b, bank = self.state, self.backend, self.bank
        debits = self.shadow.scratch
        grant = 1.0
        if bank.headroom() < self.shadow_ledger.expected:  # the demand (at most the debits) may exceed it
            grant = bank.grant(int(b.spending_shortfall(st.balance, debits, 0, 1)))
        paid, borrowed = b.debit_or_borrow(st.balance, st.loans, debits, True, grant)
        bank.lend(borrowed)
        b.random_fraction_credit(st.balance, debits, EMPTY, self.H, self.exchange.last_keys[1])

    def check(self, tick: int) -> None:
        self.shadow_ledger.check(self._shadow_money(), tick)

    def wealth(self, out) -> bool:
        """Net wealth: money - loans, plus an equal part of the bank's capital for its owners."""
        st = self.state
        self.backend.net_wealth(st.balance, EMPTY, st.loans, 0.0, out)
        out[:self.owners] += self.bank.capital // self.owners
        return True

    def outputs(self) -> dict:
        out = self.bank.outputs()
        if self.report:
            vals = np.empty(self.H, np.int64)
            self.backend.to_host(self.shadow.balance[:self.H], vals)
            vals.sort()
            g, t1, t10, b50, mean, median, _ = distribution_stats(vals, np.linspace(0, 1, 2), np.empty(2))
            out.update(sumsy_money_stock=self.shadow_ledger.expected, sumsy_gini=g, sumsy_top1_share=t1,
                       sumsy_top10_share=t10, sumsy_bottom50_share=b50, sumsy_mean_balance=int(round(mean)),
                       sumsy_median_balance=int(round(median)))
            for p in self.inner:
                out.update({f"sumsy_{k}": v for k, v in p.outputs().items()})
        return out

