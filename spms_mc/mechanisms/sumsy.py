"""SuMSy: guaranteed income + demurrage, in the periodic or transactional variant, with governance
funding and buffer lending (the SuMSy paper, docs/sources.md: sections 3.1, 4.5, 5.1-5.3; the
mechanism of docs/model.md section 1).

This module owns the ``[sumsy]`` and ``[governance]`` sections, the state arrays ``period_sum``,
``last_tick`` and ``buffer_by_account``, the governance account, the flows ``gi``, ``demurrage`` and
``governance_surplus``, and the outputs ``demurrage_collected``, ``governance_spending`` and
``governance_balance``. Its kernels are :mod:`spms_mc_kernels.sumsy` (CPU) and their CUDA twins.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import sumsy as kernels
from spms_mc_kernels.sumsy import ELIGIBLE, tiered_charge

from ..core.config import (INT64_MAX, Amount, Bool, Choice, Float, ScenarioError, check_amount, check_money_fits, key,
                           number, table_rows)
from ..core.registry import Mechanism, Output
from ..core.state import EMPTY, SINK


def Tiers(key, v):
    """A validator: tiered demurrage ``[[lower_bound, rate], ...]``, bounds rising from 0."""
    rows = table_rows(key, v, "[lower_bound, rate] pairs")
    out = []
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise ScenarioError(f"{key}[{i}] must be [lower_bound, rate], got {row!r}")
        lower = number(f"{key}[{i}][0] (lower bound)", row[0], lo=0)
        rate = number(f"{key}[{i}][1] (rate)", row[1], lo=0, hi=1, hi_open=True)
        if i == 0 and lower != 0:
            raise ScenarioError(f"{key}[0] lower bound must be 0 (the first bracket starts at 0), got {lower}")
        if i > 0 and lower <= out[-1][0]:
            raise ScenarioError(f"{key} lower bounds must increase strictly; bracket {i} starts at {lower}")
        out.append((lower, rate))
    return tuple(out)


def Loans(key, v):
    """A validator: buffer loans ``[[lender, borrower, amount(, from_tick, until_tick)], ...]``."""
    rows = table_rows(key, v, "[lender, borrower, amount] or [lender, borrower, amount, from_tick, until_tick]")
    out = []
    for i, row in enumerate(rows):
        if len(row) not in (3, 5):
            raise ScenarioError(f"{key}[{i}] must be [lender, borrower, amount] or "
                                f"[lender, borrower, amount, from_tick, until_tick], got {row!r}")
        lender = number(f"{key}[{i}][0] (lender)", row[0], lo=0, integer=True)
        borrower = number(f"{key}[{i}][1] (borrower)", row[1], lo=0, integer=True)
        amount = number(f"{key}[{i}][2] (amount)", row[2], lo=0)
        start, until = 0, INT64_MAX
        if len(row) == 5:
            start = number(f"{key}[{i}][3] (from_tick)", row[3], lo=0, integer=True)
            until = number(f"{key}[{i}][4] (until_tick)", row[4], lo=start + 1, integer=True)
        if lender == borrower:
            raise ScenarioError(f"{key}[{i}]: an account cannot lend its buffer to itself")
        out.append((lender, borrower, amount, start, until))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class SumsyConfig:
    enabled: bool = key(True, Bool, "guaranteed income + demurrage on (false: money only moves)")
    guaranteed_income: float = key(2000.0, Amount(), "GI per eligible account per period, currency units")
    demurrage: float = key(0.01, Float(0, 1, hi_open=True), "demurrage rate per period, 0 <= d < 1")
    demurrage_free_buffer: float = key(0.0, Amount(), "demurrage-free buffer of each eligible account, currency units")
    tiers: tuple = key(None, Tiers, "tiered demurrage [[lower_bound, rate], ...] from 0 up; replaces the flat rate",
                       factory=tuple)
    demurrage_base: str = key("average", Choice("average", "end"),
                              "demurrage on the period's time-weighted average balance or on the end balance")
    mode: str = key("period", Choice("period", "transactional"),
                    "period: GI and demurrage at period starts; transactional: accrued pro rata when touched")
    buffer_loans: tuple = key(None, Loans, "buffer lending [[lender, borrower, amount(, from_tick, until_tick)], "
                              "...]: the lender can retract it at until_tick; amounts in currency units",
                              factory=tuple)

    def plain_values(self) -> dict:
        """Loans written back in their short form when they run for the whole run."""
        return {"buffer_loans": [[a, b, m] if (s, u) == (0, INT64_MAX) else [a, b, m, s, u]
                                 for a, b, m, s, u in self.buffer_loans]}


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceConfig:
    funding: str = key("none", Choice("none", "demurrage", "fixed_rate", "on_demand"),
                       "none; demurrage (collected demurrage funds governance, surplus destroyed); "
                       "fixed_rate (tax `rate` on balances); on_demand (up to `rate` of each balance, only what `budget` needs)")
    budget: float = key(0.0, Amount(), "governance spending per period, currency units, paid equally to eligible households")
    rate: float = key(0.0, Float(0, 1, hi_open=True), "fixed_rate: tax rate per period; on_demand: upper bound g")


def check_sumsy(sc) -> None:
    """Cross-checks of [sumsy] and [governance]."""
    s, g = sc.sumsy, sc.governance
    n = sc.n_accounts
    changes: dict[int, list] = {}
    for i, (lender, borrower, amount, start, until) in enumerate(s.buffer_loans):
        where = f"sumsy.buffer_loans[{i}]"
        if lender >= sc.n_eligible:
            raise ScenarioError(f"{where}: lender {lender} is not a GI-eligible household "
                                f"(eligible: 0 .. {sc.n_eligible - 1})")
        if borrower >= n:
            raise ScenarioError(f"{where}: borrower {borrower} is not an account (0 .. {n - 1})")
        check_amount(sc, f"{where}[2] (amount)", amount)
        changes.setdefault(lender, []).extend([(start, amount, i), (until, -amount, i)])
    for lender, ch in changes.items():  # what a lender has out at any time must fit its buffer
        out = 0.0
        for tick, amount, i in sorted(ch, key=lambda c: (c[0], c[1])):
            out += amount
            if out > s.demurrage_free_buffer + 1e-9:
                raise ScenarioError(f"sumsy.buffer_loans[{i}]: household {lender} lends {out} at tick {tick}, "
                                    f"more than its sumsy.demurrage_free_buffer = {s.demurrage_free_buffer}")
    if g.funding != "none" and not s.enabled:
        raise ScenarioError(f"governance.funding = {g.funding!r} needs sumsy.enabled = true")
    if g.funding != "none" and s.mode == "transactional":
        raise ScenarioError(f"governance.funding = {g.funding!r} needs sumsy.mode = 'period' (governance "
                            f"collects and spends at period starts)")
    if g.funding in ("fixed_rate", "on_demand") and g.rate <= 0:
        raise ScenarioError(f"governance.funding = {g.funding!r} needs governance.rate > 0")
    if g.funding == "none" and g.budget > 0:
        raise ScenarioError("governance.budget > 0 needs governance.funding (demurrage, fixed_rate or on_demand)")
    if g.funding != "none" and sc.n_eligible == 0:
        raise ScenarioError("governance spending goes to GI-eligible households: population.eligible_share is 0")
    for i, (lower, _) in enumerate(s.tiers):
        check_amount(sc, f"sumsy.tiers[{i}][0] (lower bound)", lower)
    check_money_fits(sc, "sumsy.guaranteed_income", s.guaranteed_income, n)
    if s.enabled and s.mode == "transactional" and sc.minor(s.guaranteed_income) * sc.run.ticks > INT64_MAX:
        # the accrual's cumulative schedule floor(GI x t / period) multiplies GI by the tick
        raise ScenarioError(f"sumsy.guaranteed_income = {s.guaranteed_income} times run.ticks = {sc.run.ticks} "
                            f"overflows int64 in the transactional accrual (GI x tick, in minor units); lower "
                            f"one of them or run.minor_units")
    check_money_fits(sc, "governance.budget", g.budget, n)


class SumsyCUDA:
    """The CUDA wrappers of SuMSy's kernels (:mod:`spms_mc_kernels.cuda`), mixed into
    :class:`~spms_mc.core.backend.CUDABackend`: same names and results as the CPU kernels."""

    def settle_period(self, balance, period_sum, use_average, period, flags, charge, gi, buffer, bba,
                      tier_lower, tier_rate, tax_rate, eligible_prefix=-1):
        t = self._run(self.k.settle_period, balance.shape[0], balance, self.dev(period_sum), use_average, period,
                      flags, charge, gi, buffer, self.dev(bba), self.dev(tier_lower), self.dev(tier_rate),
                      tax_rate, totals=3)
        return int(t[0]), int(t[1]), int(t[2])

    def sum_charge_base(self, balance, period_sum, use_average, period):
        t = self._run(self.k.sum_charge_base, balance.shape[0], balance, self.dev(period_sum), use_average,
                      totals=1)
        return t[0] / period if use_average else float(t[0])

    def accumulate_period(self, balance, period_sum, first):
        self._run(self.k.accumulate_period, balance.shape[0], balance, period_sum, first)

    def accrue_accounts(self, participants, n, tick, balance, last_tick, flags, period, gi, buffer, bba,
                        tier_lower, tier_rate):
        t = self._run(self.k.accrue_accounts, n, self.dev(participants), n, tick, balance, last_tick, flags,
                      period, gi, buffer, self.dev(bba), self.dev(tier_lower), self.dev(tier_rate), totals=2)
        return int(t[0]), int(t[1])


class SumsyBatch:
    """SuMSy for a batch of members on one GPU (:class:`~spms_mc.engine.batch.BatchEngine`): the rules
    of :class:`SumsyMoney` (its methods, called per member), each step one kernel launch for all
    members (:mod:`spms_mc_kernels.cuda_batch`). Transactional accruals are summed on the device and
    booked at period starts, checks and samples (:meth:`book`), so no tick copies totals back."""

    @staticmethod
    def device_bytes(sc) -> tuple[int, int]:
        """(bytes per member, bytes shared by the batch): the period sums or last-touched ticks; one
        row of buffers for the whole batch when buffers are lent."""
        s, n = sc.sumsy, sc.n_accounts
        return (8 * n if s.mode == "transactional" or s.demurrage_base == "average" else 0,
                8 * n if s.buffer_loans else 0)

    def __init__(self, engine, mechanism: SumsyMoney):
        e, s, st0 = engine, mechanism, mechanism.state
        self.e, self.s = e, s
        dev = e.cuda.to_device
        # period sums and last-touched ticks start at 0, one row per member (no columns when unused)
        e.period_sum = dev(np.zeros((e.M, st0.period_sum.shape[0]), np.int64))
        self.last_tick = dev(np.zeros((e.M, st0.last_tick.shape[0]), np.int64))
        self.tier_lower, self.tier_rate = dev(s.tier_lower), dev(s.tier_rate)
        # buffer loans are fixed by the scenario, so every member has the same per-account buffers: one
        # row, kept on the host by the mechanism (whose state is the first member's), copied up on change
        self.buffer_by_account = dev(st0.buffer_by_account)
        self.accrued = dev(np.zeros((e.M, 2), np.int64))  # (demurrage, gi) accrued since last booked
        self.collected = np.zeros(e.M, np.int64)
        self.spent = np.zeros(e.M, np.int64)
        self.gov_period_sum = np.zeros(e.M, np.int64)

    def on_period_start(self, tick: int) -> None:
        e, s = self.e, self.s
        self.book()  # before the guard: it bounds one period's GI from the booked stock
        if s.loan_changes:
            s._apply_loans(tick)
            self.buffer_by_account = e.cuda.to_device(s.state.buffer_by_account)
        for ledger in e.ledgers:
            ledger.guard(int(s.gi) * s.state.n_eligible, "guaranteed income")
        if s.transactional:
            self.accrue(e.no_participants, 0, e.N, tick)
            return
        charge = tick > 0
        bases = np.zeros(e.M)
        if charge and s.funding == "on_demand":
            sums, _ = e.row_sums(e.period_sum if s.use_average else e.balance)
            bases = [s.charge_base(int(total)) for total in sums]
        tax_rates = np.array([s.tax_rate(charge, base) for base in bases])
        t = e.totals(e.kb.settle_period, e.N, e.balance, e.period_sum, s.use_average, s.period, e.flags, charge,
                     s.gi, s.buffer, self.buffer_by_account, self.tier_lower, self.tier_rate,
                     e.cuda.to_device(tax_rates), columns=3)
        for m, ledger in enumerate(e.ledgers):
            dem, tax, gi = (int(x) for x in t[m])
            self.collected[m] += s.book_settlement(ledger, e.institutions[m], dem, tax, gi)
        if charge and s.funding != "none":
            n = s.state.n_eligible
            each = np.zeros(e.M, np.int64)
            for m, ledger in enumerate(e.ledgers):
                each[m], collected, spent = s.govern(ledger, e.institutions[m], int(self.gov_period_sum[m]))
                self.collected[m] += collected
                self.spent[m] += spent
            e.launch(e.kb.credit_each, n, e.balance, e.no_participants, n, e.cuda.to_device(each))

    def accrue(self, participants, lo: int, n: int, tick: int) -> None:
        """:meth:`SumsyMoney.touch` for every member: the transactional accrual of accounts lo .. lo+n-1
        (or of each member's first n participants), added to ``self.accrued`` on the device."""
        e, s = self.e, self.s
        e.launch(e.kb.accrue_accounts, n, participants, lo, n, tick, e.balance, self.last_tick, e.flags, s.period,
                 s.gi, s.buffer, self.buffer_by_account, self.tier_lower, self.tier_rate, self.accrued)

    def book(self) -> None:
        """Book the transactional accruals summed since the last call in each member's ledger."""
        if not self.s.transactional:
            return
        t = self.accrued.copy_to_host()
        if not t.any():
            return
        self.accrued = self.e.cuda.to_device(np.zeros_like(t))
        for m, ledger in enumerate(self.e.ledgers):
            self.collected[m] += self.s.book_accrual(ledger, int(t[m, 0]), int(t[m, 1]))

    def on_tick(self, tick: int) -> None:
        e, s = self.e, self.s
        if s.transactional:
            if s.exchanging:
                self.accrue(e.participants, 0, e.n_part, tick)
            return
        if s.use_average:
            first = tick % s.period == 0
            if s.accumulate_here:
                e.launch(e.kb.accumulate_period, e.N, e.balance, e.period_sum, first)
            if s.funding == "fixed_rate":
                gov = e.institutions[:, s.gov]
                self.gov_period_sum = gov.copy() if first else self.gov_period_sum + gov

    def sample(self) -> dict:
        """The outputs of :meth:`SumsyMoney.sample`, one value per member."""
        out = {"demurrage_collected": self.collected.copy()}
        self.collected[:] = 0
        if self.s.funding != "none":
            out["governance_spending"] = self.spent.copy()
            out["governance_balance"] = self.e.institutions[:, self.s.gov].copy()
            self.spent[:] = 0
        return out


class SumsyMoney(Mechanism):
    """Guaranteed income + demurrage, in the periodic or transactional variant, with governance.

    Periodic (the paper's core model): at each period start, demurrage on the last period's
    time-weighted average balance (of the start-of-tick balances, paper section 3.1.2) or end
    balance, then GI, as one atomic pass; then governance. Transactional: GI and demurrage accrue
    pro rata whenever an account takes part in exchange or an event, and for every account at
    period starts.

    Governance funding (paper 4.5 and 5.3): ``demurrage`` routes collected demurrage to the
    governance account, which pays ``budget`` to eligible households and destroys the surplus;
    ``fixed_rate`` taxes each account's demurrage base at ``rate`` into the governance account,
    which keeps what it does not spend and pays demurrage on it as a non-eligible account;
    ``on_demand`` takes the same fraction F of the upper bound ``rate`` from every account, with F
    just large enough for the budget, and spends it at once. Equal shares are rounded down; the
    remainder goes to the rounding sink.
    """

    name = "sumsy"
    order = 30
    sections = {"sumsy": SumsyConfig, "governance": GovernanceConfig}
    unsweepable = ("sumsy.enabled", "governance.funding")
    flows = {"gi": "created: guaranteed income",
             "demurrage": "destroyed: demurrage (to the governance account instead with demurrage funding)",
             "governance_surplus": "destroyed: what governance collected beyond its budget"}
    outputs = {
        "demurrage_collected": Output("currency units", "demurrage charged during the interval (destroyed or to "
                                                         "governance)"),
        "governance_spending": Output("currency units", "governance spending paid to households during the "
                                                         "interval"),
        "governance_balance": Output("currency units", "balance of the governance account"),
    }
    arrays = {"period_sum": "sum of the start-of-tick balances over the period (demurrage on the average)",
              "last_tick": "transactional: the tick up to which an account's GI and demurrage are accrued",
              "buffer_by_account": "demurrage-free buffer of each account when buffers are lent"}
    institutions = ("governance",)
    cpu_kernels = {"settle_period": kernels.settle_period, "sum_charge_base": kernels.sum_charge_base,
                   "accumulate_period": kernels.accumulate_period, "accrue_accounts": kernels.accrue_accounts}
    cuda_methods = SumsyCUDA
    batch_methods = SumsyBatch

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_sumsy(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        s = sc.sumsy
        b = 8 if s.mode == "transactional" or s.demurrage_base == "average" else 0  # last_tick / period_sum
        return b + (8 if s.buffer_loans else 0)

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        s, n = sc.sumsy, sc.n_accounts
        state.flags[:sc.n_eligible] |= ELIGIBLE  # a prefix: kernels may rely on it (settle_period's eligible_prefix)
        if s.mode == "period" and s.demurrage_base == "average":
            state.add_array("period_sum", np.zeros(n, np.int64))
        if s.mode == "transactional":
            state.add_array("last_tick", np.zeros(n, np.int64))
        if s.buffer_loans:
            buffers = np.zeros(n, np.int64)
            buffers[:sc.n_eligible] = sc.minor(s.demurrage_free_buffer)
            state.add_array("buffer_by_account", buffers)  # loans take effect at period starts, tick 0 included

    @classmethod
    def shrink(cls, sc, small_population) -> dict:
        if sc.sumsy.buffer_loans:
            return {"sumsy": dataclasses.replace(sc.sumsy, buffer_loans=((0, 1, 0.0, 0, 1),))}
        return {}

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        s = sc.sumsy
        why = [k for k, bad in (("sumsy.tiers", bool(s.tiers)), ("sumsy.demurrage = 0", s.demurrage <= 0),
                                ("sumsy.demurrage_free_buffer", s.demurrage_free_buffer > 0),
                                ("governance.funding", sc.governance.funding != "none")) if bad]
        return why

    def __init__(self, *a):
        super().__init__(*a)
        s, sc = self.sc.sumsy, self.sc
        self.destroys = ("demurrage",) + (("governance_surplus",)
                                          if sc.governance.funding in ("demurrage", "on_demand") else ())
        self.gov = self.state.institution("governance")
        self.period = sc.run.period
        self.gi = np.int64(sc.minor(s.guaranteed_income))
        self.buffer = np.int64(sc.minor(s.demurrage_free_buffer))
        tiers = s.tiers or ((0.0, s.demurrage),)
        self.tier_lower = np.array([sc.minor(lo) for lo, _ in tiers], np.float64)
        self.tier_rate = np.array([r for _, r in tiers], np.float64)
        self.use_average = s.demurrage_base == "average"
        self.transactional = s.mode == "transactional"
        g = sc.governance
        self.funding = g.funding
        self.budget = sc.minor(g.budget)
        self.gov_rate = g.rate
        self.gov_period_sum = 0
        self.collected = 0
        self.spent = 0
        self.accumulate_here = True  # False when the exchange does it in its debit pass
        # buffer lending (paper 5.1): (tick, lender, borrower, amount); negative amount = retraction
        self.loan_changes = sorted([(start, a, b, sc.minor(m)) for a, b, m, start, _ in s.buffer_loans] +
                                   [(until, a, b, -sc.minor(m)) for a, b, m, _, until in s.buffer_loans
                                    if until < sc.run.ticks])

    def _apply_loans(self, tick: int) -> None:
        """Loans and retractions due by this period start move buffer from lender to borrower."""
        buf = self.state.buffer_by_account
        while self.loan_changes and self.loan_changes[0][0] <= tick:
            _, lender, borrower, amount = self.loan_changes.pop(0)
            buf[lender] -= amount
            buf[borrower] += amount

    def on_period_start(self, tick: int) -> None:
        st, b = self.state, self.backend
        if self.loan_changes:
            self._apply_loans(tick)
        self.ledger.guard(int(self.gi) * st.n_eligible, "guaranteed income")
        if self.transactional:
            self.touch(EMPTY, st.n_accounts, tick)
            return
        charge = tick > 0
        base = 0.0
        if charge and self.funding == "on_demand":
            base = b.sum_charge_base(st.balance, st.period_sum, self.use_average, self.period)
        dem, tax, gi = b.settle_period(st.balance, st.period_sum, self.use_average and not self.average_is_balance,
                                       self.period, st.flags,
                                       charge, self.gi, self.buffer, st.buffer_by_account,
                                       self.tier_lower, self.tier_rate, self.tax_rate(charge, base), st.n_eligible)
        self.collected += self.book_settlement(self.ledger, st.institutions, dem, tax, gi)
        if charge and self.funding != "none":
            each, collected, spent = self.govern(self.ledger, st.institutions, self.gov_period_sum)
            self.backend.credit_each(st.balance, EMPTY, st.n_eligible, np.int64(each))  # eligible = first n
            self.collected += collected
            self.spent += spent

    # -- the rules of one member's period start, shared with the batched engine ---------------------
    def charge_base(self, total: int) -> float:
        """The demurrage base of all accounts from the sum of their period sums (or end balances)."""
        return total / self.period if self.use_average else float(total)

    def tax_rate(self, charge: bool, base: float) -> float:
        """The governance tax rate of a period start: ``fixed_rate``: the rate; ``on_demand``: the
        fraction F of the upper bound just large enough for the budget, given the demurrage base of
        all accounts (paper 5.3)."""
        if not charge or self.funding not in ("fixed_rate", "on_demand"):
            return 0.0
        if self.funding == "fixed_rate":
            return self.gov_rate
        ceiling = self.gov_rate * base
        return self.gov_rate * min(1.0, self.budget / ceiling) if ceiling > 0 else 0.0

    def book_settlement(self, ledger, institutions, dem, tax, gi) -> int:
        """Book a period start's totals in a member's ledger and institutional accounts: GI created;
        demurrage destroyed, or to the governance account with demurrage funding; the governance
        tax to the governance account. Returns the demurrage collected."""
        ledger.create("gi", gi)
        if self.funding == "demurrage":
            institutions[self.gov] += dem
        else:
            ledger.destroy("demurrage", dem)
        institutions[self.gov] += tax
        return int(dem)

    def govern(self, ledger, institutions, gov_period_sum: int) -> tuple[int, int, int]:
        """One period of governance spending for a member (paper 4.5 and 5.3): with ``fixed_rate``
        the governance account first pays demurrage on its own average (or end) balance as a
        non-eligible account; then it spends up to the budget in equal shares to the eligible
        households (rounded down, the remainder to the sink); with ``demurrage`` or ``on_demand``
        funding the surplus is destroyed. Books it all and returns ``(each household's share,
        demurrage collected, spent)``; the caller pays the shares."""
        n = self.state.n_eligible
        gov = int(institutions[self.gov])
        dem = 0
        if self.funding == "fixed_rate":
            base = (gov_period_sum / self.period) if self.use_average else float(gov)
            dem = min(int(np.floor(tiered_charge(base, self.tier_lower, self.tier_rate))), gov)
            gov -= dem
            ledger.destroy("demurrage", dem)
        spend = min(self.budget, gov)
        each = spend // n
        institutions[SINK] += spend - each * n
        gov -= spend
        if self.funding in ("demurrage", "on_demand"):
            ledger.destroy("governance_surplus", gov)
            gov = 0
        institutions[self.gov] = gov
        return each, dem, spend

    def book_accrual(self, ledger, dem, gi) -> int:
        """Book a transactional accrual (demurrage destroyed, GI created); returns the demurrage."""
        ledger.destroy("demurrage", dem)
        ledger.create("gi", gi)
        return int(dem)

    def on_tick(self, tick: int) -> None:
        st = self.state
        if self.transactional:
            if self.exchanging:
                self.touch(st.participants, st.n_participants, tick)
            return
        if self.use_average and not self.average_is_balance:
            first = tick % self.period == 0
            if self.accumulate_here:
                self.backend.accumulate_period(st.balance, st.period_sum, first)
            if self.funding == "fixed_rate":  # the only variant where governance keeps a balance
                gov = int(st.institutions[self.gov])
                self.gov_period_sum = gov if first else self.gov_period_sum + gov

    def touch(self, accounts: np.ndarray, n: int, tick: int) -> None:
        """Transactional variant: accrue GI and demurrage of accounts about to be used."""
        if not self.transactional:
            return
        st = self.state
        dem, gi = self.backend.accrue_accounts(accounts, n, tick, st.balance, st.last_tick, st.flags,
                                               self.period, self.gi, self.buffer, st.buffer_by_account,
                                               self.tier_lower, self.tier_rate)
        self.collected += self.book_accrual(self.ledger, dem, gi)

    def bind(self, others) -> None:
        """Transactional: the exchange's participants are accrued every tick before they trade.

        Periodic, on the average balance, with one-tick periods and nothing else running: the
        average over the period is the one start-of-tick balance, which nothing changes before the
        next settlement, so settlement reads the balance itself and the period sums are never kept
        (one pass over the balances a tick instead of two; the same bytes)."""
        self.exchanging = "exchange" in others
        self.average_is_balance = (not self.transactional and self.use_average and self.period == 1
                                   and self.funding == "none" and set(others) == {self.name})

    exchanging = False
    average_is_balance = False

    def flows_booked(self) -> tuple[str, ...]:
        return ("gi",) + self.destroys

    def output_units(self) -> dict[str, str]:
        names = ("demurrage_collected",) + (("governance_spending", "governance_balance")
                                            if self.funding != "none" else ())
        return {k: self.outputs[k].units for k in names}

    def sample(self) -> dict[str, float]:
        out = {"demurrage_collected": self.collected}
        self.collected = 0
        if self.funding != "none":
            out["governance_spending"] = self.spent
            out["governance_balance"] = int(self.state.institutions[self.gov])
            self.spent = 0
        return out
