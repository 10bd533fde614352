"""AI infrastructure bonds, the "war bond" model of the predistribution essay (docs/model.md section 6;
the essay's "2. AI Bonds": "Citizens buy AI infrastructure bonds used to build shared compute and
energy assets. AI firms pay to use this infrastructure, and usage revenue repays bondholders with
interest. Requirement: a durable revenue base from infrastructure access fees. Risk: platforms may
vertically integrate their own infrastructure to avoid paying usage fees", docs/sources.md).

**Issuance.** A public bond authority (institution ``bond_authority``, part of the money stock)
issues one vintage a year for ``issue_years`` years from the reforms' start (the reported run's
start, or ``reform.start_year``). Vintage y offers face value ``issue_share`` x the nominal spending
of the year before (the last period's, times the periods in a year) and is on sale through program
year y; it matures ``maturity_years`` after the year's start (a bond bought later in the year has a
shorter term, as in a Treasury reopening). Households buy with their savings: while a vintage is
on offer, ``purchase_share`` of every equity buy order goes to bonds instead (scaled down pro rata
when the orders exceed what is left of the offer), at par for a ``coupon`` bond and at the discount
``(1 + rate)^-T`` (T the years left to maturity) for a ``zero``-coupon bond; a buy of a gets ``u =
floor(a / price)`` of face for ``ceil(u price)``.

**The public capacity.** The proceeds are spent building public compute and energy capacity: bought
from the firms by size (next period's revenue), the capacity accumulating at cost and depreciating
at ``capacity_depreciation`` a year. It can serve AI output up to ``output_per_capacity`` a year per
currency unit of capacity.

**Usage fees.** An AI firm (AI intensity >= ``ai_intensity_min``) that has not integrated produces
AI output ``s(t) x intensity_f x R_f`` in a period (s the automation path's progress, R its
revenue); the fee base is that output as far as the capacity serves it (scaled down pro rata
beyond), and each firm pays ``floor(usage_fee x base_f)`` out of its profit, before dividends.

**Debt service** (:mod:`spms_mc_kernels.bonds`). Coupons are paid every period start, ``floor(face
x rate / periods per year)``; principal at the first period start at or after maturity. Fees are
collected first; the authority then pays from its money. A shortfall is, by ``shortfall``:
``rail``: created on the public money rail (flow ``bond_shortfall_cover``), so holders are paid on
schedule; ``defer``: each holder is paid ``floor(due x money / total due)`` and the unpaid rest is
added to its face value (it earns the coupon and is due again at the next period start).

**Vertical integration.** AI firms stop paying fees once they integrate, largest AI output first
(``integration = "path"``: the integrated share of AI firms rises linearly to ``integration_share``
over ``integration_years`` from the start), or (``"endogenous"``) a firm integrates at a year's end
when the fees it paid over the year exceeded ``integration_threshold`` x its profit over the year
(its own infrastructure then costs less than the fees), while fewer than ``integration_share`` of AI
firms have. Integration is permanent. Reported: the fee base, the fee revenue and the coverage
ratio, fee revenue over the debt service due.

**The surplus.** At each year's start, before that period's fees, the authority keeps a reserve
equal to the debt service due over the year just ended and pays the rest of its money to every
eligible household in equal parts (``floor``; the remainder stays): the public owns the capacity,
so fees beyond what the bonds need - and every fee once the last vintage is repaid - are its
dividend.

Bonds count in net wealth at face (coupon bonds) or at face discounted at ``rate`` to maturity
(zero-coupon). This module owns ``[bonds]``, the institution ``bond_authority``, the array
``bond_face`` (one row per vintage), the flow ``bond_shortfall_cover`` and the identity "face held =
sold + deferred - retired". Kernels: :mod:`spms_mc_kernels.bonds`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import bonds as kernels
from spms_mc_kernels.economy import SHARE_MARGIN

from ..core.config import Bool, Choice, Float, Int, ScenarioError, key
from ..core.registry import Identity, Mechanism, Output
from ..core.state import EMPTY
from .reform import reform_level, reform_start


@dataclass(frozen=True, slots=True, kw_only=True)
class BondsConfig:
    """AI infrastructure bonds (docs/model.md section 6)."""

    enabled: bool = key(False, Bool, "AI infrastructure bonds repaid from usage fees (needs wealth.enabled)")
    kind: str = key("coupon", Choice("coupon", "zero"), "coupon bonds sold at par, or zero-coupon bonds sold at a "
                                                        "discount")
    rate: float = key(0.03, Float(0, 1), "yearly coupon rate (coupon) or yield of the discount (zero)")
    issue_share: float = key(0.01, Float(0, 1), "face value offered each year, as a share of the year's nominal "
                                                "spending before")
    issue_years: int = key(5, Int(1, 50), "years with a new vintage (one a year from the start)")
    maturity_years: int = key(10, Int(1, 100), "years from a vintage's first day to its maturity")
    purchase_share: float = key(0.5, Float(0, 1), "share of each household's equity purchases that buys bonds while "
                                                  "a vintage is on offer")
    usage_fee: float = key(0.05, Float(0, 1), "fee per unit of AI output served by the public capacity, as a share "
                                              "of it")
    output_per_capacity: float = key(1.0, Float(0, lo_open=True), "yearly AI output one currency unit of public "
                                                                  "capacity can serve")
    capacity_depreciation: float = key(0.05, Float(0, 1), "yearly depreciation of the public capacity")
    shortfall: str = key("rail", Choice("rail", "defer"),
                         "a debt service the fees cannot pay: created on the public money rail, or deferred (the "
                         "unpaid rest added to the holders' face value)")
    ai_intensity_min: float = key(1.0, Float(0), "AI intensity (relative to the mean firm) from which a firm is an AI "
                                                 "firm that pays usage fees")
    integration: str = key("path", Choice("path", "endogenous"),
                           "how AI firms vertically integrate: along a linear path, or when the fees exceed a share "
                           "of their profit")
    integration_share: float = key(0.0, Float(0, 1), "share of AI firms that integrate at most (path: by "
                                                     "integration_years)")
    integration_years: float = key(10.0, Float(0, lo_open=True), "path: years from the start until "
                                                                 "integration_share is reached")
    integration_threshold: float = key(0.05, Float(0, lo_open=True),
                                       "endogenous: a firm integrates once its fees over a year exceed this share "
                                       "of its profit over the year")


def check_bonds(sc) -> None:
    b = sc.bonds
    if not b.enabled:
        return
    if not sc.wealth.enabled:
        raise ScenarioError("bonds.enabled needs wealth.enabled = true (households buy bonds with their savings)")
    if sc.economy.ticks_per_year % sc.run.period:
        raise ScenarioError(f"bonds pay by year: economy.ticks_per_year = {sc.economy.ticks_per_year} must be a "
                            f"multiple of run.period = {sc.run.period}")


class InfrastructureBonds(Mechanism):
    """AI infrastructure bonds, the public capacity they build and the usage fees that repay them."""

    name = "bonds"
    order = 48
    sections = {"bonds": BondsConfig}
    unsweepable = ("bonds.enabled", "bonds.issue_years")
    institutions = ("bond_authority",)
    flows = {"bond_shortfall_cover": "created: the public money rail covers the bond authority's debt service "
                                     "shortfall"}
    arrays = {"bond_face": "face value of each vintage of infrastructure bonds a household holds (vintage x household)"}
    outputs = {
        "bonds_outstanding": Output("currency units", "face value of infrastructure bonds the households hold"),
        "bond_sales": Output("currency units", "money households paid for new bonds during the interval"),
        "bond_service_paid": Output("currency units", "coupons and principal paid to households during the interval"),
        "bond_principal_retired": Output("currency units", "face value that came due during the interval"),
        "bond_deferred": Output("currency units", "debt service deferred (added to face value) during the interval"),
        "bond_service_due": Output("currency units", "coupons and principal due during the interval"),
        "bond_fee_base": Output("currency units", "AI output charged usage fees during the interval"),
        "bond_fee_revenue": Output("currency units", "usage fees the AI firms paid during the interval"),
        "bond_coverage": Output("1", "usage fees over the debt service due during the interval (NaN: none due)"),
        "bond_integrated_share": Output("1", "share of AI firms vertically integrated (paying no usage fees)"),
        "public_capacity": Output("currency units", "public compute and energy capacity built from bond proceeds, "
                                                    "at cost less depreciation"),
        "bond_authority_money": Output("currency units", "the bond authority's money (its reserve)"),
        "bond_surplus_per_capita": Output("currency units", "the authority's surplus paid to each eligible household "
                                                            "during the interval"),
    }
    cpu_kernels = {name: getattr(kernels, name) for name in ("bond_service_due", "pay_bond_service")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_bonds(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return 8.0 * sc.bonds.issue_years * sc.population.households / max(sc.n_accounts, 1)

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        state.add_array("bond_face", np.zeros((sc.bonds.issue_years, sc.population.households), np.int64))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["bonds.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        b = sc.bonds
        self.cfg = b
        self.H, self.F = self.state.n_households, self.state.n_firms
        self.index = self.state.institution_names.index("bond_authority")
        self.tpy = sc.economy.ticks_per_year
        self.periods_per_year = self.tpy // sc.run.period
        self.rate_p = b.rate / self.periods_per_year if b.kind == "coupon" else 0.0
        self.burn_in = sc.run.burn_in
        self.keep_capacity = (1.0 - b.capacity_depreciation) ** (1.0 / self.periods_per_year)
        self.capacity = 0.0  # minor units at cost
        self.offer = 0  # face value of the current vintage still on offer
        self.vintage = -1  # the vintage on offer (-1: none)
        self.sold = self.deferred = self.retired = 0  # face value counts of the identity
        self.proceeds = 0  # money from sales not yet spent on capacity
        self.integrated = np.zeros(self.F, bool)
        self.year_fees = np.zeros(self.F, np.int64)
        self.year_profit = np.zeros(self.F, np.int64)
        self.interval = dict.fromkeys(("bond_sales", "bond_service_paid", "bond_principal_retired", "bond_deferred",
                                       "bond_service_due", "bond_fee_base", "bond_fee_revenue",
                                       "bond_surplus_per_capita"), 0)
        self.year_due = 0  # debt service due over the current year (next year's reserve)
        self.next_settle_tick = 0  # the tick of the next period start (the market settles then)
        self.n_eligible = sc.n_eligible
        self.economy = self.market = self.reform = None
        self.ai_firms = np.zeros(0, np.int64)

    def bind(self, others) -> None:
        self.economy, self.market = others["economy"], others["wealth"]
        self.reform = others.get("reform")
        self.economy.profit_levies.append(self)
        self.market.subscribers.append(self)
        ff = self.economy.firm_factor
        ai = np.flatnonzero(ff >= self.cfg.ai_intensity_min)
        # the largest AI output first: AI intensity x size
        self.ai_firms = ai[np.argsort(-(ff[ai] * self.economy.weights[ai]), kind="stable")]

    @property
    def money(self) -> int:
        return int(self.state.institutions[self.index])

    def _add_money(self, amount: int) -> None:
        self.state.institutions[self.index] += amount

    def face_held(self) -> int:
        return sum(int(self.backend.sum_int64(row)) for row in self.state.bond_face)

    def identities(self) -> list[Identity]:
        return [Identity("bonds: face value held = sold + deferred - retired", "face value the households hold",
                         self.face_held, "sold + deferred - retired",
                         lambda: self.sold + self.deferred - self.retired)]

    def _start(self) -> int:
        return reform_start(self.reform, self.burn_in)

    def maturity_tick(self, vintage: int) -> int:
        return self._start() + (vintage + self.cfg.maturity_years) * self.tpy

    def price_per_face(self, vintage: int, tick: int) -> float:
        """Minor units paid per minor unit of face: 1 for a coupon bond, the discount to maturity for a
        zero-coupon bond (1 once due)."""
        if self.cfg.kind == "coupon":
            return 1.0
        years = max(self.maturity_tick(vintage) - tick, 0) / self.tpy
        return (1.0 + self.cfg.rate) ** -years

    # -- inside the economy's period start: fees, then debt service ----------------------------
    def levy(self, tick: int, revenue: np.ndarray, profit: np.ndarray, automation: float, real_output: float,
             firm_factor: np.ndarray) -> np.ndarray:
        """Usage fees of the AI firms that have not integrated, out of their profit; then the debt
        service of the vintages held. Returns each firm's fee."""
        fee = np.zeros(self.F, np.int64)
        if tick < self._start() or self.sold == 0 and self.capacity <= 0:
            return fee
        calendar = tick - self._start()
        if calendar > 0 and calendar % self.tpy == 0:  # a year's start: the surplus of the year just ended
            self._pay_surplus()
        c = self.cfg
        payers = self.ai_firms[~self.integrated[self.ai_firms]]
        output = np.zeros(self.F)
        output[payers] = automation * firm_factor[payers] * revenue[payers]
        wanted = float(output.sum())
        servable = self.capacity * c.output_per_capacity / self.periods_per_year
        if wanted > servable > 0:
            output *= servable / wanted
        elif servable <= 0:
            output[:] = 0.0
        fee = np.minimum(np.floor(c.usage_fee * output).astype(np.int64), np.maximum(profit, 0))
        total = int(fee.sum())
        self._add_money(total)
        self.year_fees += fee
        self.year_profit += np.maximum(profit, 0)
        self.interval["bond_fee_base"] += int(output.sum())
        self.interval["bond_fee_revenue"] += total
        self._service(tick)
        return fee

    def _service(self, tick: int) -> None:
        st, b = self.state, self.backend
        for v in range(min(self.vintage + 1, self.cfg.issue_years)):
            face = st.bond_face[v]
            redeem = tick >= self.maturity_tick(v)
            coupons, principal = b.bond_service_due(face, self.rate_p, redeem)
            due = int(coupons) + int(principal)
            if due <= 0:
                continue
            self.interval["bond_service_due"] += due
            self.year_due += due
            if due > self.money and self.cfg.shortfall == "rail":
                cover = due - self.money
                self.ledger.guard(cover, "the bond authority's shortfall")
                self.ledger.create("bond_shortfall_cover", cover)
                self._add_money(cover)
            grant = 1.0 if due <= self.money else self.money * SHARE_MARGIN / due
            paid, retired, deferred = b.pay_bond_service(st.balance[:self.H], face, self.rate_p, redeem, grant)
            self._add_money(-int(paid))
            self.retired += int(retired)
            self.deferred += int(deferred)
            self.interval["bond_service_paid"] += int(paid)
            self.interval["bond_principal_retired"] += int(retired)
            self.interval["bond_deferred"] += int(deferred)

    # -- inside the market's period start: households buy --------------------------------------
    def subscribe(self, order: np.ndarray) -> int:
        """Divert ``purchase_share`` of the buy orders into the vintage on offer (pro rata when they
        exceed what is left); returns the money paid."""
        if self.offer <= 0 or self.vintage < 0:
            return 0
        st, c = self.state, self.cfg
        tick = self.next_settle_tick
        price = self.price_per_face(self.vintage, tick)
        demand = c.purchase_share * float(order[order > 0].sum())
        if demand <= 0:
            return 0
        share = c.purchase_share * min(1.0, self.offer * price * SHARE_MARGIN / demand)
        paid, issued = self.backend.subscribe_pool(st.balance[:self.H], order, st.bond_face[self.vintage], share,
                                                   price)
        self.offer -= int(issued)
        self.sold += int(issued)
        self.proceeds += int(paid)
        self._add_money(int(paid))
        self.interval["bond_sales"] += int(paid)
        return int(paid)

    # -- the bonds' own period start: a new vintage, capacity, integration ------------------------
    def on_period_start(self, tick: int) -> None:
        self.next_settle_tick = tick + self.sc.run.period  # the next settle's tick, for a zero-coupon bond's price
        calendar = tick - self._start()
        if calendar < 0:
            return
        self.capacity *= self.keep_capacity
        if self.proceeds:  # spent on capacity: bought from the firms by size, next period's revenue
            from .economy import split_by_weight

            bought = split_by_weight(self.proceeds, self.economy.weights)
            self.backend.add_range(self.state.balance, self.H, bought)
            self.economy.revenue += bought
            self._add_money(-self.proceeds)
            self.capacity += self.proceeds
            self.proceeds = 0
        year, in_year = divmod(calendar, self.tpy)
        if in_year == 0:
            level = reform_level(self.reform, tick, self.burn_in)
            if year < self.cfg.issue_years and level > 0:
                nominal = self.economy.last["nominal_spending"] * self.periods_per_year
                self.vintage = year
                self.offer = math.floor(self.cfg.issue_share * level * nominal)
            else:
                self.offer = 0
            if year > 0 and self.cfg.integration == "endogenous":
                self._integrate_endogenous()

            self.year_fees[:] = 0
            self.year_profit[:] = 0
        if self.cfg.integration == "path":
            years = calendar / self.tpy
            share = self.cfg.integration_share * min(1.0, years / self.cfg.integration_years)
            self.integrated[self.ai_firms[:math.floor(share * len(self.ai_firms) + 1e-9)]] = True

    def _pay_surplus(self) -> None:
        """At a year's start the authority keeps a reserve of the debt service due over the year
        just ended and pays the rest of its money as equal per-capita dividends (the public owns the
        capacity; after the last redemption every fee is paid out this way)."""
        surplus = self.money - self.year_due
        self.year_due = 0
        each = surplus // self.n_eligible if surplus > 0 and self.n_eligible else 0
        if each > 0:
            self.backend.credit_each(self.state.balance, EMPTY, self.n_eligible, np.int64(each))
            self._add_money(-each * self.n_eligible)
            self.interval["bond_surplus_per_capita"] += each

    def _integrate_endogenous(self) -> None:
        c = self.cfg
        room = math.floor(c.integration_share * len(self.ai_firms) + 1e-9) - int(self.integrated.sum())
        for f in self.ai_firms:  # the largest AI output first
            if room <= 0:
                break
            if not self.integrated[f] and self.year_fees[f] > c.integration_threshold * self.year_profit[f]:
                self.integrated[f] = True
                room -= 1

    # -- outputs -------------------------------------------------------------------------------
    def holdings(self, out: np.ndarray) -> bool:
        """Each vintage at face (coupon) or at face discounted to maturity (zero-coupon)."""
        st = self.state
        for v in range(min(self.vintage + 1, self.cfg.issue_years)):
            self.backend.add_holdings(out, st.bond_face[v], st.bond_face[v][:0],
                                      self.price_per_face(v, self.next_settle_tick))
        return True

    def sample(self) -> dict[str, float]:
        iv = self.interval
        due = iv["bond_service_due"]
        n_ai = len(self.ai_firms)
        out = {**iv, "bonds_outstanding": self.face_held(),
               "bond_coverage": iv["bond_fee_revenue"] / due if due else math.nan,
               "bond_integrated_share": float(self.integrated[self.ai_firms].sum()) / n_ai if n_ai else math.nan,
               "public_capacity": int(self.capacity), "bond_authority_money": self.money}
        self.interval = dict.fromkeys(self.interval, 0)
        return out
