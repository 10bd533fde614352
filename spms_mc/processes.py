"""Processes: one per economic mechanism; each calls kernels and books its flows.

No process loops over accounts in Python. A process has two hooks that the engine calls in the
regime's declared order: ``on_period_start(tick)`` at ticks where ``tick % period == 0`` and
``on_tick(tick)`` every tick (see :mod:`spms_mc.engine` for the order within a tick).

* :class:`SumsyMoney` - guaranteed income + demurrage, governance funding (SuMSy paper,
  `seeds/sumsy_money_supply_model.md` sections 3.1, 4.5, 5.1-5.3).
* :class:`Events` - injections and losses (paper section 6).
* :class:`Exchange` - kinetic exchange between households (MODEL.md section 2).
"""
from __future__ import annotations

import numpy as np
from spms_mc_kernels import rng
from spms_mc_kernels.sumsy import tiered_charge

from .config import Scenario
from .ledger import Ledger
from .state import EMPTY, GOVERNANCE, SINK, State


class Process:
    name = "process"
    creates: tuple[str, ...] = ()
    destroys: tuple[str, ...] = ()
    output_units: dict[str, str] = {}  # units of outputs() values that are not money in minor units

    def __init__(self, sc: Scenario, state: State, ledger: Ledger, backend, key: int):
        self.sc, self.state, self.ledger, self.backend, self.key = sc, state, ledger, backend, key

    def on_period_start(self, tick: int) -> None:
        pass

    def on_tick(self, tick: int) -> None:
        pass

    def outputs(self) -> dict[str, float]:
        """Process variables sampled with the outputs: name -> value in minor units since last."""
        return {}

    def wealth(self, out: np.ndarray) -> bool:
        """Fill ``out`` with each household's net wealth (minor units) and return True, for a
        process whose regime has holdings beside money (the ``_wealth`` outputs); else False."""
        return False

    def check(self, tick: int) -> None:
        """Exact identities of ledgers the process keeps beside the engine's (checked with it)."""


class SumsyMoney(Process):
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
    creates = ("gi",)

    def __init__(self, *a):
        super().__init__(*a)
        s, sc = self.sc.sumsy, self.sc
        self.destroys = ("demurrage",) + (("governance_surplus",)
                                          if sc.governance.funding in ("demurrage", "on_demand") else ())
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
            dem, gi = b.accrue_accounts(EMPTY, st.n_accounts, tick, st.balance, st.last_tick, st.flags,
                                        self.period, self.gi, self.buffer, st.buffer_by_account,
                                        self.tier_lower, self.tier_rate)
            self.ledger.destroy("demurrage", dem)
            self.ledger.create("gi", gi)
            self.collected += int(dem)
            return
        charge = tick > 0
        tax_rate = 0.0
        if charge and self.funding == "fixed_rate":
            tax_rate = self.gov_rate
        elif charge and self.funding == "on_demand":
            base = b.sum_charge_base(st.balance, st.period_sum, self.use_average, self.period)
            ceiling = self.gov_rate * base
            tax_rate = self.gov_rate * min(1.0, self.budget / ceiling) if ceiling > 0 else 0.0
        dem, tax, gi = b.settle_period(st.balance, st.period_sum, self.use_average, self.period, st.flags,
                                       charge, self.gi, self.buffer, st.buffer_by_account,
                                       self.tier_lower, self.tier_rate, tax_rate, st.n_eligible)
        self.ledger.create("gi", gi)
        self.collected += int(dem)
        if self.funding == "demurrage":
            st.institutions[GOVERNANCE] += dem
        else:
            self.ledger.destroy("demurrage", dem)
        st.institutions[GOVERNANCE] += tax
        if charge and self.funding != "none":
            self._govern()

    def _govern(self) -> None:
        st = self.state
        gov = int(st.institutions[GOVERNANCE])
        if self.funding == "fixed_rate":  # a non-eligible account: pays demurrage on its average
            base = (self.gov_period_sum / self.period) if self.use_average else float(gov)
            dem = min(int(np.floor(tiered_charge(base, self.tier_lower, self.tier_rate))), gov)
            gov -= dem
            self.ledger.destroy("demurrage", dem)
            self.collected += dem
        spend = min(self.budget, gov)
        each = spend // st.n_eligible
        self.backend.credit_each(st.balance, EMPTY, st.n_eligible, np.int64(each))  # eligible = first n
        st.institutions[SINK] += spend - each * st.n_eligible
        gov -= spend
        self.spent += spend
        if self.funding in ("demurrage", "on_demand"):
            self.ledger.destroy("governance_surplus", gov)
            gov = 0
        st.institutions[GOVERNANCE] = gov

    def on_tick(self, tick: int) -> None:
        st = self.state
        if self.transactional:
            if self.sc.exchange.rule != "none":
                self.touch(st.participants, st.n_participants, tick)
            return
        if self.use_average:
            first = tick % self.period == 0
            if self.accumulate_here:
                self.backend.accumulate_period(st.balance, st.period_sum, first)
            if self.funding == "fixed_rate":  # the only variant where governance keeps a balance
                gov = int(st.institutions[GOVERNANCE])
                self.gov_period_sum = gov if first else self.gov_period_sum + gov

    def touch(self, accounts: np.ndarray, n: int, tick: int) -> None:
        """Transactional variant: accrue GI and demurrage of accounts about to be used."""
        if not self.transactional:
            return
        st = self.state
        dem, gi = self.backend.accrue_accounts(accounts, n, tick, st.balance, st.last_tick, st.flags,
                                               self.period, self.gi, self.buffer, st.buffer_by_account,
                                               self.tier_lower, self.tier_rate)
        self.ledger.destroy("demurrage", dem)
        self.ledger.create("gi", gi)
        self.collected += int(dem)

    def outputs(self) -> dict[str, float]:
        out = {"demurrage_collected": self.collected}
        self.collected = 0
        if self.funding != "none":
            out["governance_spending"] = self.spent
            self.spent = 0
        return out


class Events(Process):
    """One-off or periodic injections and losses (SuMSy paper section 6, stress scenarios)."""

    name = "events"

    def __init__(self, *a, sumsy: SumsyMoney | None = None):
        super().__init__(*a)
        kinds = {e.kind for e in self.sc.events}
        self.creates = ("injection",) if "injection" in kinds else ()
        self.destroys = ("loss",) if "loss" in kinds else ()
        self.sumsy = sumsy
        H, F = self.state.n_households, self.state.n_firms
        self.plan = []
        for k, e in enumerate(self.sc.events):
            lo, hi = {"all": (0, H + F), "households": (0, H), "firms": (H, H + F),
                      "one": (e.account, e.account + 1)}[e.target]
            skey = np.uint64(rng.stream_key(self.key, 0, rng.STREAM_EVENT_BASE + k))
            self.plan.append((e, lo, hi, skey))

    def on_tick(self, tick: int) -> None:
        st, b = self.state, self.backend
        for e, lo, hi, skey in self.plan:
            if not (tick == e.tick or (e.every > 0 and tick > e.tick and (tick - e.tick) % e.every == 0)):
                continue
            if self.sumsy is not None and self.sumsy.transactional:
                self.sumsy.touch(np.arange(lo, hi, dtype=np.int64), hi - lo, tick)
            if e.kind == "injection":
                amount = self.sc.minor(e.amount)
                self.ledger.guard(amount * (hi - lo), f"injection at tick {tick}")
                self.ledger.create("injection", b.inject(st.balance, lo, hi, np.int64(amount), e.share, skey))
            else:
                self.ledger.destroy("loss", b.lose(st.balance, lo, hi, e.fraction, e.share, skey))


class Exchange(Process):
    """Kinetic exchange between active households; money moves, none is created or destroyed
    (the yard-sale redistribution's pooled remainder goes to the rounding sink)."""

    name = "exchange"
    KEY_BLOCK = 1024  # ticks of stream keys computed per kernel call
    STREAMS = {"random_fraction": (rng.STREAM_EXCHANGE_FRACTION, rng.STREAM_EXCHANGE_TARGET),
               "saving_propensity": (rng.STREAM_PAIRING, rng.STREAM_PAIR_SHARE),
               "yard_sale": (rng.STREAM_PAIRING, rng.STREAM_PAIR_COIN)}

    def __init__(self, *a):
        super().__init__(*a)
        x = self.sc.exchange
        self.rule = x.rule
        self.give = 1.0 - x.saving_propensity
        self.streams = np.array(self.STREAMS[x.rule], np.int64)
        self.keys = np.zeros((self.KEY_BLOCK, len(self.streams)), np.uint64)
        self.keys_from = -self.KEY_BLOCK
        st = self.state
        # bound once: this hook runs every tick, and at small N its Python cost is the tick's cost
        self.args = (st.balance, st.participants, st.n_participants)
        self.kernel = {"random_fraction": self._random_fraction, "saving_propensity": self._saving_propensity,
                       "yard_sale": self._yard_sale}[x.rule]

    def on_tick(self, tick: int) -> None:
        row = tick - self.keys_from
        if row >= self.KEY_BLOCK:
            self.keys_from, row = tick, 0
            rng.stream_keys(self.key, tick, self.streams, self.keys)
        k1, k2 = self.keys[row]
        self.tick = tick
        self.last_keys = (k1, k2)  # a replay of this tick's payments (bank.replay) draws the same targets
        self.kernel(k1, k2)

    def take_over_period_sums(self, sumsy: "SumsyMoney") -> bool:
        """Fuse SuMSy's period bookkeeping into the debit pass when the two passes cover the same
        accounts (every account is an active household) - one pass over the balances fewer."""
        st = self.state
        if (self.rule != "random_fraction" or not sumsy.use_average or sumsy.transactional
                or st.participants.shape[0] or st.n_accounts != st.n_participants):
            return False
        self.fused = sumsy
        sumsy.accumulate_here = False
        return True

    fused = None

    def _random_fraction(self, k_fraction, k_target) -> None:
        balance, part, n = self.args
        st = self.state
        if self.fused is not None:
            self.backend.random_fraction_debit_accumulate(balance, st.scratch, st.period_sum,
                                                          self.tick % self.fused.period == 0, k_fraction,
                                                          self.sc.exchange.fraction)
        else:
            self.backend.random_fraction_debit(balance, st.scratch, part, n, k_fraction, self.sc.exchange.fraction)
        self.backend.random_fraction_credit(balance, st.scratch, part, n, k_target)

    def _saving_propensity(self, k_pair, k_share) -> None:
        balance, part, n = self.args
        self.backend.saving_propensity_exchange(balance, part, n, k_pair, k_share, self.give)

    def _yard_sale(self, k_pair, k_coin) -> None:
        balance, part, n = self.args
        b, x, st = self.backend, self.sc.exchange, self.state
        mean = 0.0
        if x.zeta != 0.0:
            mean = b.sum_participants(balance, part, n) / n
        b.yard_sale_exchange(balance, part, n, k_pair, k_coin, x.fraction, x.zeta, mean)
        if x.chi > 0.0:
                pool = int(b.collect_fraction(st.balance, part, n, x.chi))
                each = pool // n
                b.credit_each(st.balance, part, n, np.int64(each))
                st.institutions[SINK] += pool - each * n


def flow_names(processes) -> list[str]:
    """The ledger flows of a list of processes, in order, each once."""
    flows: list[str] = []
    for p in processes:
        flows += [f for f in p.creates + p.destroys if f not in flows]
    return flows


def build_processes(sc: Scenario, state: State, ledger: Ledger, backend, key: int) -> list[Process]:
    """The regime: the processes of a scenario in their declared order."""
    args = (sc, state, ledger, backend, key)
    if sc.bank.replay == "sumsy":
        from .credit import SumsyReplay

        return [SumsyReplay(*args)]
    procs: list[Process] = []
    if sc.pk.enabled:
        from .credit import PKEndogenousMoney

        procs.append(PKEndogenousMoney(*args))
    sumsy = SumsyMoney(*args) if sc.sumsy.enabled else None
    if sc.events:
        procs.append(Events(*args, sumsy=sumsy))
    if sumsy is not None:
        procs.append(sumsy)
    if sc.economy.enabled:
        from .economy import ProductionEconomy

        procs.append(ProductionEconomy(*args))
    if sc.exchange.rule != "none":
        exchange = Exchange(*args)
        if sumsy is not None:
            exchange.take_over_period_sums(sumsy)
        procs.append(exchange)
    return procs
