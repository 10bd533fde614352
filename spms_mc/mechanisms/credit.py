"""Bank-credit money for many borrowers (docs/model.md section 4): the banking sector a regime lends
through, and the SuMSy paper's comparison run, a bank-credit economy replaying a SuMSy run's
payments on the same seed (docs/sources.md, the SuMSy paper's closing notes).

This module owns the ``[bank]`` section, the ``loans`` state array, the flows ``credit``,
``bank_dividend``, ``repayment``, ``interest`` and ``default``, the bank's outputs and its
balance-sheet identities. :class:`Bank` is the component a mechanism with borrowers owns (the
production economy, :mod:`spms_mc.mechanisms.economy`); :class:`SumsyReplay` is the replay mechanism,
which runs alone. Kernels: ``service_loans``, ``debit_or_borrow``, ``spending_shortfall`` in
:mod:`spms_mc_kernels.economy`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import economy as kernels
from spms_mc_kernels import rng
from spms_mc_kernels.economy import SHARE_MARGIN
from spms_mc_kernels.metrics import distribution_stats

from ..core.config import Amount, Bool, Choice, Float, Int, ScenarioError, check_money_fits, key
from ..core.ledger import Ledger
from ..core.registry import Identity, Mechanism, Output, build_mechanisms, flow_names
from ..core.state import EMPTY, SINK, allocate


@dataclass(frozen=True, slots=True, kw_only=True)
class BankConfig:
    """Bank-credit money (docs/model.md section 4.1): banks lend to spenders short of money."""

    enabled: bool = key(False, Bool, "bank credit: spending beyond a balance is borrowed, creating deposits")
    interest: float = key(0.004, Float(0, 1), "interest rate per period on loans outstanding")
    maturity: int = key(60, Int(1, 10**6), "periods over which principal is amortised (instalment ceil(L/m))")
    capital_ratio: float = key(0.08, Float(0, 1, lo_open=True),
                               "the bank lends only while capital >= capital_ratio x loans (Basel-style)")
    initial_capital: float = key(1_000_000.0, Amount(), "bank capital at the start, currency units")
    payout: float = key(0.5, Float(0, 1), "share of a period's positive bank profit paid to its shareholders")
    household_credit_limit: float = key(20_000.0, Amount(),
                                        "largest loan a household can refinance into; beyond it, it defaults")
    firm_credit_limit: float = key(10_000_000.0, Amount(), "largest loan a firm can refinance into")
    credit_limit_spread: float = key(0.0, Float(0, 1, hi_open=True),
                                     "each borrower's credit limit is the limit x (1 - spread + 2 spread u), u "
                                     "uniform and fixed per borrower (0: one limit for all)")
    replay: str = key("none", Choice("none", "sumsy"),
                      "sumsy: replay the exchange of the SuMSy run with the same seed, shortfalls topped up "
                      "by loans (the SuMSy paper's comparison run)")
    shareholder_share: float = key(0.01, Float(0, 1, lo_open=True),
                                   "replay: share of households owning the bank (with the economy: equity holders)")
    report_sumsy: bool = key(False, Bool, "replay: also report the SuMSy run's money and distribution as sumsy_*")


def check_bank(sc) -> None:
    """Cross-checks of [bank]: a bank needs borrowers (the economy or the replay)."""
    bank, p, s, x = sc.bank, sc.population, sc.sumsy, sc.exchange
    economy = sc.economy.enabled
    if bank.replay != "none" and not bank.enabled:
        raise ScenarioError(f"bank.replay = {bank.replay!r} needs bank.enabled = true")
    if bank.report_sumsy and bank.replay != "sumsy":
        raise ScenarioError("bank.report_sumsy needs bank.replay = 'sumsy'")
    if bank.enabled and not economy and bank.replay == "none":
        raise ScenarioError("bank.enabled needs borrowers: economy.enabled = true (households and firms borrow "
                            "to spend) or bank.replay = 'sumsy' (the SuMSy paper's comparison run)")
    if bank.replay == "sumsy":
        need = [k for k, ok in (("sumsy.enabled = true", s.enabled),
                                ("exchange.rule = 'random_fraction'", x.rule == "random_fraction"),
                                ("population.active_share = 1", p.active_share == 1.0),
                                ("population.firms = 0", p.firms == 0),
                                ("economy.enabled = false", not economy),
                                ("no events", not sc.events)) if not ok]
        if need:
            raise ScenarioError("bank.replay = 'sumsy' replays the random_fraction exchange of a SuMSy run among all "
                                "households; it needs " + ", ".join(need))
    for what, amount, count in (("bank.initial_capital", bank.initial_capital, 1),
                                ("bank.household_credit_limit", bank.household_credit_limit, p.households),
                                ("bank.firm_credit_limit", bank.firm_credit_limit, p.firms)):
        check_money_fits(sc, what, amount, count, on=bank.enabled)


REPLAY_OUTPUTS = {
    "sumsy_money_stock": Output("currency units", "money stock of the SuMSy run replayed on the same seed"),
    "sumsy_gini": Output("1", "Gini coefficient of household balances in the SuMSy run replayed"),
    "sumsy_top1_share": Output("1", "top-1 % share of household money in the SuMSy run replayed"),
    "sumsy_top10_share": Output("1", "top-10 % share of household money in the SuMSy run replayed"),
    "sumsy_bottom50_share": Output("1", "bottom-50 % share of household money in the SuMSy run replayed"),
    "sumsy_mean_balance": Output("currency units", "mean household balance in the SuMSy run replayed"),
    "sumsy_median_balance": Output("currency units", "median household balance in the SuMSy run replayed"),
    "sumsy_demurrage_collected": Output("currency units", "demurrage charged in the SuMSy run replayed"),
}


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
    flows = {"credit": "created: new bank loans (deposits created by lending, refinancing included)",
             "bank_dividend": "created: bank dividends paid to its shareholders",
             "repayment": "destroyed: loan principal repaid",
             "interest": "destroyed: interest paid (deposits become bank capital)",
             "default": "destroyed: deposits of defaulting borrowers recovered by the bank"}
    outputs = {"loans_outstanding": Output("currency units", "bank loans outstanding (debt of the borrowers)"),
               "bank_capital": Output("currency units", "bank equity built from retained profits"),
               "new_lending": Output("currency units", "new bank loans during the interval (refinancing "
                                                        "included)"),
               "defaults": Output("1", "borrowers that defaulted during the interval"),
               "capital_ratio": Output("1", "bank capital over loans outstanding")}

    def __init__(self, owner: Mechanism):
        """The bank of the process ``owner``: its scenario, state and backend, and the ledger the
        engine gives it (read through the owner, which gets it after construction)."""
        sc, b = owner.sc, owner.sc.bank
        self.owner, self.state, self.backend = owner, owner.state, owner.backend
        self.rate, self.maturity, self.ratio, self.payout = b.interest, b.maturity, b.capital_ratio, b.payout
        self.limit_spread = b.credit_limit_spread
        self.skey_limit = np.uint64(rng.stream_key(owner.key, 0, rng.STREAM_CREDIT_LIMIT))
        self.capital = self.initial_capital = sc.minor(b.initial_capital)
        self.loans = 0
        self.deposits_created = 0  # by lending and dividends, since the start
        self.deposits_taken = 0  # by repayment, interest and recovery, since the start
        self.dividend_due = 0
        self.profit = 0
        self.lent = 0
        self.defaults = 0
        self.funding_paid = 0  # funding costs paid out of capital (deposits lost to the public rail)

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
            self.deposits_created += amount
            self.loans += amount
            self.lent += amount

    def service(self, lo: int, hi: int, limit: int) -> None:
        """Interest and instalments of accounts lo..hi-1; refinancing up to ``limit``; defaults."""
        st, led = self.state, self.ledger
        interest, repaid, refinanced, recovered, written_off, defaults = self.backend.service_loans(
            st.balance, st.loans, lo, hi, self.rate, self.maturity, np.int64(limit), self.limit_spread,
            self.skey_limit)
        self.lend(refinanced, "refinancing")
        led.destroy("interest", interest)
        led.destroy("repayment", repaid)
        led.destroy("default", recovered)
        self.deposits_taken += int(interest) + int(repaid) + int(recovered)
        self.loans -= int(repaid) + int(written_off)
        gain = int(interest) + int(recovered) - int(written_off)
        self.capital += gain
        self.profit += gain
        self.defaults += int(defaults)

    def pay_funding_cost(self, amount: int) -> None:
        """The bank replaces deposits it lost to the public money rail with dearer funding: the cost
        leaves its capital (no deposit moves)."""
        amount = int(amount)
        self.capital -= amount
        self.profit -= amount
        self.funding_paid += amount

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
            self.deposits_created += due
        return due

    def identities(self, loans_on_accounts) -> list[Identity]:
        """The bank's balance sheet, and its book against the borrowers' accounts."""
        return [
            Identity("bank: loans - net deposits created = capital + declared dividends + funding costs paid - "
                     "initial capital",
                     "loans - (deposits created - deposits taken back)",
                     lambda: self.loans - (self.deposits_created - self.deposits_taken),
                     "capital + dividends declared, not yet paid + funding costs paid - initial capital",
                     lambda: self.capital + self.dividend_due + self.funding_paid - self.initial_capital),
            Identity("bank: loans on the borrowers' accounts = loans on the bank's book",
                     "sum of the borrowers' loan principal", loans_on_accounts, "bank loans outstanding",
                     lambda: self.loans),
        ]

    def sample(self) -> dict:
        out = {"loans_outstanding": self.loans, "bank_capital": self.capital, "new_lending": self.lent,
               "defaults": float(self.defaults),
               "capital_ratio": self.capital / self.loans if self.loans else math.nan}
        self.lent = 0
        self.defaults = 0
        return out


class BankCUDA:
    """The CUDA wrappers of bank credit's kernels (:mod:`spms_mc_kernels.cuda`), mixed into
    :class:`~spms_mc.core.backend.CUDABackend`: same names and results as the CPU kernels."""

    def spending_shortfall(self, balance, plan, k, period):
        return int(self._run(self.k.spending_shortfall, balance.shape[0], balance, plan, k, period, totals=1)[0])

    def service_loans(self, balance, loans, lo, hi, rate, maturity, limit, spread, skey_limit):
        t = self._run(self.k.service_loans, hi - lo, balance, loans, lo, hi, rate, maturity, limit, spread,
                      skey_limit, totals=6)
        return tuple(int(x) for x in t)

    def debit_or_borrow(self, balance, loans, debits, lend, grant):
        t = self._run(self.k.debit_or_borrow, balance.shape[0], balance, loans, debits, lend, grant, totals=2)
        return int(t[0]), int(t[1])


class SumsyReplay(Mechanism):
    """The SuMSy paper's comparison run (docs/sources.md, the SuMSy paper's closing notes; docs/model.md section 4.2): "for
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
    order = 45
    sections = {"bank": BankConfig}
    unsweepable = ("bank.enabled", "bank.replay", "bank.report_sumsy")
    flows = Bank.flows
    outputs = {**Bank.outputs, **REPLAY_OUTPUTS}
    arrays = {"loans": "loan principal outstanding of each account (bank credit)"}
    # the bank's kernels, used by every mechanism that owns a Bank (the replay, the economy)
    cpu_kernels = {name: getattr(kernels, name) for name in ("service_loans", "debit_or_borrow",
                                                            "spending_shortfall")}
    cuda_methods = BankCUDA
    exclusive = True

    @classmethod
    def enabled(cls, sc) -> bool:
        return sc.bank.replay == "sumsy"

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_bank(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return 8 + 8 + 1 + 8 + 8  # loans; the SuMSy run replayed: its balances, flags, period sums, debits

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        state.add_array("loans", np.zeros(sc.n_accounts, np.int64))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["bank.replay"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        self.shadow_sc = sc.replace(bank=BankConfig())
        self.shadow = allocate(self.shadow_sc, self.key)
        self.backend.adopt(self.shadow)
        self.inner = build_mechanisms(self.shadow_sc, self.shadow, self.backend, self.key)
        self.shadow_ledger = Ledger(flow_names(self.inner), self._shadow_money(), sc.run.period)
        self.units = {k: v.units for k, v in Bank.outputs.items()}
        for p in self.inner:
            p.ledger = self.shadow_ledger
            self.units.update({f"sumsy_{k}": v for k, v in p.output_units().items()})
        self.exchange = self.inner[-1]
        self.bank = Bank(self)
        self.H = self.state.n_households
        self.owners = max(1, math.ceil(sc.bank.shareholder_share * self.H))
        self.owner_index = np.arange(self.owners, dtype=np.int64)
        self.limit = sc.minor(sc.bank.household_credit_limit)
        self.report = sc.bank.report_sumsy
        if self.report:
            self.units.update({k: v.units for k, v in REPLAY_OUTPUTS.items()})

    def flows_booked(self) -> tuple[str, ...]:
        return Bank.creates + Bank.destroys

    def output_units(self) -> dict[str, str]:
        return dict(self.units)

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

    def identities(self) -> list[Identity]:
        st = self.state
        return [Identity("replayed SuMSy run: stock-flow identity", "sum of its balances and institutions",
                         self._shadow_money, "its ledger's expected money stock",
                         lambda: self.shadow_ledger.expected),
                *self.bank.identities(lambda: int(self.backend.sum_int64(st.loans)))]

    def holdings(self, out) -> bool:
        """Net wealth: money - loans, plus an equal part of the bank's capital for its owners."""
        st = self.state
        self.backend.add_holdings(out, EMPTY, st.loans, 0.0)
        out[:self.owners] += self.bank.capital // self.owners
        return True

    def sample(self) -> dict:
        out = self.bank.sample()
        if self.report:
            vals = np.empty(self.H, np.int64)
            self.backend.to_host(self.shadow.balance[:self.H], vals)
            vals.sort()
            g, t1, t10, b50, mean, median, _ = distribution_stats(vals, np.linspace(0, 1, 2), np.empty(2))
            out.update(sumsy_money_stock=self.shadow_ledger.expected, sumsy_gini=g, sumsy_top1_share=t1,
                       sumsy_top10_share=t10, sumsy_bottom50_share=b50, sumsy_mean_balance=int(round(mean)),
                       sumsy_median_balance=int(round(median)))
            for p in self.inner:
                out.update({f"sumsy_{k}": v for k, v in p.sample().items()})
        return out
