"""The public money rail of the Shared Prosperity Monetary System: a public issuer (the central bank's
retail digital money) that pays money straight into household accounts and withdraws it (docs/model.md
section 5; the SPMS post, sections 4 (the productivity-linked public money rail) and 11.2 - 11.3
(money creation over the rail, helicopter-style injections), docs/sources.md).

Each period start, after the economy (and the wealth fund) settled:

* a per-capita transfer, ``per_capita`` to every household (created, flow ``rail_transfer``);
* a targeted transfer, ``targeted`` to every household without work (``target = "unemployed"``)
  or to the ``bottom_share`` of households with the least money (``target = "bottom"``: exactly
  ``floor(bottom_share x H)`` households, the lowest balances, ties broken by index);
* a withdrawal, ``withdrawal_fee`` from every household, cut to its balance (destroyed, flow
  ``rail_withdrawal``): a fee or tax collected over the rail.

With ``holding_cap`` > 0, households hold rail money beside their bank deposits: each household's
money up to the cap is on the rail (the post's section 11.3: caps and tiered interest keep banks'
funding manageable). Rail holdings earn ``holding_interest`` a year (created, flow
``rail_interest``; money above the cap earns nothing from the rail), and the bank pays
``bank_funding_spread`` a year on the deposits it lost, replacing them with dearer funding: the
cost leaves its capital, so a larger rail tightens its capital ratio and its lending.

Other mechanisms pay over the rail through :meth:`PublicRail.pay_per_capita` and
:meth:`PublicRail.withdraw_per_capita` (the counter-cyclical rule, the nominal anchor), so every
unit created or destroyed is a named ledger flow of the rail. The rail money stock is what the
rail created less what it withdrew.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.config import (
    Amount,
    Bool,
    Choice,
    Float,
    ScenarioError,
    check_money_fits,
    key,
)
from ..core.registry import Mechanism, Output
from ..core.state import EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class RailConfig:
    """The public money rail (docs/model.md section 5)."""

    enabled: bool = key(False, Bool, "the public money rail: transfers and withdrawals straight to accounts "
                                     "(needs economy.enabled)")
    per_capita: float = key(0.0, Amount(), "transfer to every household each period, currency units (created)")
    targeted: float = key(0.0, Amount(), "transfer to each targeted household each period, currency units")
    target: str = key("unemployed", Choice("unemployed", "bottom"),
                      "who gets the targeted transfer: households without work, or the bottom_share with the "
                      "least money")
    bottom_share: float = key(0.5, Float(0, 1), "target = bottom: share of households with the least money")
    withdrawal_fee: float = key(0.0, Amount(), "taken from every household each period (cut to its balance), "
                                               "currency units (destroyed)")
    holding_cap: float = key(0.0, Amount(), "rail money a household holds beside its bank deposits: its money up "
                                            "to this cap, currency units (0: none)")
    holding_interest: float = key(0.0, Float(0, 1), "yearly interest on rail holdings up to the cap (the first "
                                                    "tier; money above the cap earns nothing from the rail)")
    bank_funding_spread: float = key(0.0, Float(0, 1), "yearly cost to the bank of replacing the deposits held "
                                                       "on the rail (out of its capital)")


def check_rail(sc) -> None:
    r = sc.rail
    if r.enabled and not sc.economy.enabled:
        raise ScenarioError("rail.enabled needs economy.enabled = true (the rail pays the economy's households)")
    if r.enabled and sc.run.backend != "cpu":
        raise ScenarioError(f"rail.enabled runs on the CPU only; run.backend = {sc.run.backend!r} (accepted: 'cpu')")
    n = sc.population.households
    check_money_fits(sc, "rail.per_capita", r.per_capita, n, on=r.enabled)
    check_money_fits(sc, "rail.targeted", r.targeted, n, on=r.enabled)


class PublicRail(Mechanism):
    """Transfers and withdrawals over the public money rail."""

    name = "rail"
    order = 43
    sections = {"rail": RailConfig}
    unsweepable = ("rail.enabled",)
    flows = {"rail_transfer": "created: transfers paid over the public money rail",
             "rail_withdrawal": "destroyed: fees and taxes withdrawn over the public money rail",
             "rail_interest": "created: interest on rail holdings up to the cap (tiered remuneration)"}
    outputs = {"rail_money_stock": Output("currency units", "money the rail created less what it withdrew, since "
                                                            "the start"),
               "rail_holdings": Output("currency units", "money households hold on the rail (each up to "
                                                         "rail.holding_cap) at the last period start"),
               "rail_interest": Output("currency units", "interest paid on rail holdings during the interval"),
               "bank_funding_cost": Output("currency units", "the bank's cost of replacing the deposits held on "
                                                             "the rail, during the interval"),
               "rail_transfers": Output("currency units", "transfers paid over the rail during the interval"),
               "rail_withdrawals": Output("currency units", "money withdrawn over the rail during the interval")}
    cpu_kernels = {}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_rail(sc)

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["rail.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        self.H = self.state.n_households
        self.burn_in = self.sc.run.burn_in
        self.stock = 0
        self.transfers = 0
        self.withdrawals = 0
        self.holdings = 0
        self.interest = 0
        self.funding_cost = 0
        per_year = self.sc.economy.ticks_per_year / self.sc.run.period
        r = self.sc.rail
        self.interest_rate = (1.0 + r.holding_interest) ** (1.0 / per_year) - 1.0
        self.spread_rate = (1.0 + r.bank_funding_spread) ** (1.0 / per_year) - 1.0
        self.economy = None

    def bind(self, others) -> None:
        self.economy = others["economy"]

    # -- the rail's operations, for every mechanism that pays over it ------------------------------
    def pay_per_capita(self, total: int, what: str) -> int:
        """Pay ``floor(total / H)`` to every household (created); returns what was paid."""
        each = int(total) // self.H
        if each <= 0:
            return 0
        paid = each * self.H
        self.ledger.guard(paid, what)
        self.backend.credit_each(self.state.balance, EMPTY, self.H, np.int64(each))
        self._created(paid)
        return paid

    def pay_to(self, accounts: np.ndarray, each: int, what: str) -> int:
        """Pay ``each`` to every listed household (created); returns what was paid."""
        if each <= 0 or accounts.shape[0] == 0:
            return 0
        paid = int(each) * accounts.shape[0]
        self.ledger.guard(paid, what)
        self.backend.credit_each(self.state.balance, accounts, accounts.shape[0], np.int64(each))
        self._created(paid)
        return paid

    def withdraw_per_capita(self, each: int) -> int:
        """Take ``each`` from every household, cut to its balance (destroyed); returns the total."""
        if each <= 0:
            return 0
        host = self._balances()
        return self._take(host, np.minimum(host, each))

    def withdraw_amount(self, amount: int) -> int:
        """Take about ``amount`` from the households in proportion to their money, ``floor(rate x
        balance)`` each with ``rate = amount / their total`` (at most all of it; destroyed); returns
        the total taken."""
        if amount <= 0:
            return 0
        host = self._balances()
        total = int(host.sum())
        if total <= 0:
            return 0
        return self._take(host, np.floor(host * min(amount / total, 1.0)).astype(np.int64))

    def _balances(self) -> np.ndarray:
        host = np.empty(self.H, np.int64)
        self.backend.to_host(self.state.balance[:self.H], host)
        return host

    def _take(self, host: np.ndarray, take: np.ndarray) -> int:
        """Withdraw ``take`` (per household, at most ``host``, their balances); returns the total."""
        self.backend.write_range(self.state.balance, 0, host - take)
        total = int(take.sum())
        self.ledger.destroy("rail_withdrawal", total)
        self.stock -= total
        self.withdrawals += total
        return total

    def _created(self, amount: int) -> None:
        self.ledger.create("rail_transfer", amount)
        self.stock += amount
        self.transfers += amount

    def bottom_accounts(self, share: float) -> np.ndarray:
        """The ``floor(share x H)`` households with the least money (ties broken by index), ascending."""
        k = int(share * self.H)
        if k <= 0:
            return np.zeros(0, np.int64)
        host = self._balances()
        order = np.lexsort((np.arange(self.H), host))  # by balance, then index
        return np.sort(order[:k]).astype(np.int64)

    # -- its own period start ------------------------------------------------------------------
    def on_period_start(self, tick: int) -> None:
        if tick < self.burn_in:
            return
        sc, r = self.sc, self.sc.rail
        self.pay_per_capita(sc.minor(r.per_capita) * self.H, "rail per-capita transfer")
        each = sc.minor(r.targeted)
        if each:
            if r.target == "unemployed":
                jobless = self.economy.jobless_accounts()
            else:
                jobless = self.bottom_accounts(r.bottom_share)
            self.pay_to(jobless, each, "rail targeted transfer")
        self.withdraw_per_capita(sc.minor(r.withdrawal_fee))
        cap = sc.minor(r.holding_cap)
        if cap > 0:
            self._hold(cap)

    def _hold(self, cap: int) -> None:
        """Households hold their money up to ``cap`` on the rail: it earns the first tier's interest
        (created), and the bank pays for the deposits it lost (out of its capital)."""
        st = self.state
        host = self._balances()
        held = np.minimum(host, cap)
        self.holdings = int(held.sum())
        if self.interest_rate > 0:
            pay = np.floor(self.interest_rate * held).astype(np.int64)
            total = int(pay.sum())
            if total:
                self.ledger.guard(total, "rail interest")
                self.backend.write_range(st.balance, 0, host + pay)
                self.ledger.create("rail_interest", total)
                self.stock += total
                self.interest += total
        bank = self.economy.bank
        if bank is not None and self.spread_rate > 0:
            cost = int(np.floor(self.spread_rate * self.holdings))
            bank.pay_funding_cost(cost)
            self.funding_cost += cost

    def sample(self) -> dict[str, float]:
        out = {"rail_money_stock": self.stock, "rail_transfers": self.transfers, "rail_withdrawals": self.withdrawals,
               "rail_holdings": self.holdings, "rail_interest": self.interest, "bank_funding_cost": self.funding_cost}
        self.transfers = self.withdrawals = self.interest = self.funding_cost = 0
        return out
