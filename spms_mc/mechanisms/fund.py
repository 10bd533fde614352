"""The AI & Productivity Wealth Fund of the Shared Prosperity Monetary System (docs/model.md section
5; the SPMS post, sections 3 (the fund), 6 (rule-based distribution) and 8 (wealth dynamics),
docs/sources.md).

The fund is an institutional account (``fund``, part of the money stock) that also holds units of
the equity index beside the households (:mod:`spms_mc.mechanisms.wealth`). Each period start, after
the production economy has settled:

**Inflows** (each optional):

* a windfall tax, ``windfall_tax`` x the profit of each AI-intensive firm (AI intensity factor >=
  ``ai_intensity_min``) above ``windfall_margin`` x its revenue; and data and compute fees,
  ``data_fee`` per unit of AI output (the automated share ``s(t)`` of real output, in base-period
  currency units) charged to firms by AI intensity x revenue. Both are levied by the economy out of
  the period's profit, before dividends (:meth:`WealthFund.levy`);
* resource rents, ``resource_rent`` a year growing at ``resource_rent_growth`` (money from outside
  the economy: created, flow ``resource_rent``);
* scrip issuance: firms issue ``scrip_rate`` a year of the units outstanding to the fund, diluting
  the other holders;
* the fund's share of dividends, pro rata to its units (before the households' weighted split).

``invest_share`` of the money inflows of a period is invested: ``foreign_share`` of it abroad (the
money leaves the economy, flow ``fund_foreign_investment``; the holdings earn ``foreign_return`` a
year, paid in each period, flow ``fund_foreign_income``), as Norway's fund invests outside Norway,
and the rest in the domestic equity index at the market price (from the firm sector, as a household
buy: ``u = floor(a / P)`` units for ``ceil(u P)``).

**Payout** (``payout_rule``; each year's amount is fixed at the year's first period start and paid
in equal parts over its periods, the remainder in the last). MV is the fund's market value, units x
price + money; ``MV_y`` its value at the end of year y, ``MV_-1`` the value at the start:

* ``pomv``: ``rate x mean(MV_{y-last} .. MV_{y-first})``, the percent-of-market-value rule of
  Alaska's statute (AS 37.13.140, since 2018: 5 % of the average of the first five of the
  preceding six fiscal years, lags 2 .. 6). Years before the start are missing: the mean is over
  the available years of the window, and the start value alone while none is;
* ``start_of_year``: ``rate x MV_{y-1}``, Norway's fiscal rule (about 3 % of the fund's value at the
  start of the year);
* ``smoothing``: ``S_y = w S_{y-1} (1 + pi_{y-1}) + (1 - w) rate MV_{y-1}``, the endowment
  (Tobin / Yale) rule, pi the price level's change over the year just ended; ``S_0 = rate MV_-1``;
* ``realised_income``: Alaska's dividend rule before 2018 (AS 37.13.145): income available =
  ``realised_share`` (21 %) x the fund's realised income (its dividends) over the last
  ``realised_years`` (5) years, capped at the income of the year just ended plus the undistributed
  reserve; ``realised_payout_share`` (half) of it is paid;
* with ``cap_at_earnings`` a payout never exceeds the undistributed earnings (dividends received
  less payouts made), and never the fund's money.

The payout is split into per-capita dividends (``dividend_share``, equal to every eligible
household: ``floor(D / n)`` each, the remainder stays in the fund), universal services
(``services_share``, spending on firms by size, next period's revenue, reported per capita) and
retention (the rest stays in the fund).

This module owns ``[fund]``, the institution ``fund``, the flow ``resource_rent``, the fund's units
(identity: the units the households and the fund hold = those at the start + issued + scrip -
bought back) and its outputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.config import (
    Amount,
    Bool,
    Choice,
    Float,
    Int,
    ScenarioError,
    check_money_fits,
    key,
)
from ..core.registry import Identity, Mechanism, Output
from ..core.state import EMPTY
from .reform import reform_level, reform_start

PAYOUT_RULES = ("none", "pomv", "start_of_year", "smoothing", "realised_income")


@dataclass(frozen=True, slots=True, kw_only=True)
class FundConfig:
    """The AI & Productivity Wealth Fund (docs/model.md section 5)."""

    enabled: bool = key(False, Bool, "the AI & Productivity Wealth Fund (needs wealth.enabled)")
    windfall_tax: float = key(0.0, Float(0, 1), "tax on AI-intensive firms' profit above the windfall margin")
    windfall_margin: float = key(0.1, Float(0, 1), "profit margin (share of revenue) above which profit is windfall")
    ai_intensity_min: float = key(1.0, Float(0), "AI intensity (relative to the mean firm) from which a firm is "
                                                "AI-intensive")
    data_fee: float = key(0.0, Float(0, 1), "fee per unit of AI output (the automated share of real output), "
                                            "as a share of it")
    resource_rent: float = key(0.0, Amount(), "resource rents paid in from outside each year, currency units")
    resource_rent_growth: float = key(0.0, Float(-0.5, 1), "yearly growth of the resource rents")
    scrip_rate: float = key(0.0, Float(0, 1), "share of the units outstanding firms issue to the fund each year")
    initial_ownership: float = key(0.0, Float(0, 1, hi_open=True),
                                   "the fund's share of all units at the start (issued to it then, diluting the "
                                   "households)")
    invest_share: float = key(1.0, Float(0, 1), "share of the fund's money inflows invested in equity")
    foreign_share: float = key(0.0, Float(0, 1), "share of the investment that buys equity abroad (money leaves "
                                                 "the economy) instead of the domestic index")
    foreign_return: float = key(0.05, Float(-0.5, 1), "yearly return of the foreign holdings, paid in each period")
    payout_rule: str = key("pomv", Choice(*PAYOUT_RULES), "how the yearly payout is set (see the module)")
    payout_rate: float = key(0.05, Float(0, 1), "rate of the pomv, start_of_year and smoothing rules")
    pomv_first_lag: int = key(2, Int(1, 1000), "pomv: most recent year-end in the window, in years back")
    pomv_last_lag: int = key(6, Int(1, 1000), "pomv: oldest year-end in the window, in years back")
    smoothing_weight: float = key(0.7, Float(0, 1), "smoothing: weight w of last year's payout")
    realised_share: float = key(0.21, Float(0, 1), "realised_income: share of the realised income available")
    realised_years: int = key(5, Int(1, 1000), "realised_income: years of realised income summed")
    realised_payout_share: float = key(0.5, Float(0, 1), "realised_income: share of the available income paid")
    cap_at_earnings: bool = key(False, Bool, "cap every payout at the undistributed earnings")
    dividend_share: float = key(1.0, Float(0, 1), "share of the payout paid as equal per-capita dividends")
    services_share: float = key(0.0, Float(0, 1), "share of the payout spent on universal services (firms)")
    retention_share: float = key(0.0, Float(0, 1), "share of the payout kept in the fund")


SPLIT_KEYS = ("fund.dividend_share", "fund.services_share", "fund.retention_share")


def check_fund(sc) -> None:
    f = sc.fund
    if not f.enabled:
        return
    if not sc.wealth.enabled:
        raise ScenarioError("fund.enabled needs wealth.enabled = true (the fund holds equity bought on its market)")
    split = f.dividend_share + f.services_share + f.retention_share
    if abs(split - 1.0) > 1e-9:
        raise ScenarioError(f"{', '.join(SPLIT_KEYS)} must add up to 1; got {f.dividend_share} + "
                            f"{f.services_share} + {f.retention_share} = {split:.6g}")
    if f.pomv_first_lag > f.pomv_last_lag:
        raise ScenarioError(f"fund.pomv_first_lag = {f.pomv_first_lag} exceeds fund.pomv_last_lag = "
                            f"{f.pomv_last_lag}; accepted: first <= last (years back)")
    years = (sc.run.ticks / sc.economy.ticks_per_year)
    if f.payout_rule == "pomv" and f.pomv_last_lag > years:
        raise ScenarioError(f"fund.pomv_last_lag = {f.pomv_last_lag} years is longer than the run ({years:g} years); "
                            f"accepted: 1 .. {max(1, int(years))}")
    if f.payout_rule == "realised_income" and f.realised_years > years:
        raise ScenarioError(f"fund.realised_years = {f.realised_years} is longer than the run ({years:g} years); "
                            f"accepted: 1 .. {max(1, int(years))}")
    if sc.economy.ticks_per_year % sc.run.period:
        raise ScenarioError(f"the fund pays out by year: economy.ticks_per_year = {sc.economy.ticks_per_year} must "
                            f"be a multiple of run.period = {sc.run.period}")
    check_money_fits(sc, "fund.resource_rent", f.resource_rent, 1)


# ---------------------------------------------------------------------------------------------
# payout rules: pure functions of the fund's history (tested against hand calculations)
# ---------------------------------------------------------------------------------------------
def pomv_payout(year_end_values: list[float], start_value: float, year: int, rate: float, first: int,
                last: int) -> float:
    """``rate`` x the mean of the year-end values ``first`` .. ``last`` years before ``year`` (year-end
    k is ``year_end_values[k]``, k = 0, 1, ...; the start value counts as year-end -1). Years
    before the start are missing: the mean is over those of the window that exist, and the start
    value alone while none does."""
    values = [start_value if k == -1 else year_end_values[k] for k in range(year - last, year - first + 1)
              if -1 <= k < len(year_end_values)]
    return rate * (sum(values) / len(values) if values else start_value)


def start_of_year_payout(value_at_start_of_year: float, rate: float) -> float:
    """``rate`` x the fund's value on the first day of the year."""
    return rate * value_at_start_of_year


def smoothing_payout(previous: float | None, inflation: float, value: float, rate: float, weight: float) -> float:
    """``w S_{y-1} (1 + pi) + (1 - w) rate MV``; the first year (no previous payout) ``rate MV``."""
    if previous is None:
        return rate * value
    return weight * previous * (1.0 + inflation) + (1.0 - weight) * rate * value


def realised_income_payout(incomes: list[float], reserve: float, share: float, years: int,
                           payout_share: float) -> tuple[float, float]:
    """Alaska's rule before 2018: available = ``share`` x the realised income of the last ``years``
    years (``incomes``, oldest first; fewer at the start), capped at the last year's income plus
    the undistributed ``reserve``; ``payout_share`` of it is paid. Returns (payout, available)."""
    if not incomes:
        return 0.0, 0.0
    available = min(share * sum(incomes[-years:]), incomes[-1] + reserve)
    available = max(available, 0.0)
    return payout_share * available, available


# ---------------------------------------------------------------------------------------------
# the mechanism
# ---------------------------------------------------------------------------------------------
class WealthFund(Mechanism):
    """The AI & Productivity Wealth Fund: inflows, equity holdings, payout rules and their split."""

    name = "fund"
    order = 42
    sections = {"fund": FundConfig}
    unsweepable = ("fund.enabled", "fund.payout_rule")
    institutions = ("fund",)
    flows = {"resource_rent": "created: resource rents paid into the wealth fund from outside the economy",
             "fund_foreign_investment": "destroyed: money the wealth fund sends abroad to buy foreign equity",
             "fund_foreign_income": "created: returns on the wealth fund's foreign holdings paid in from abroad"}
    outputs = {
        "fund_value": Output("currency units", "the fund's market value: its units at the equity price + its money"),
        "fund_ownership_share": Output("1", "the fund's share of all equity units"),
        "fund_money": Output("currency units", "the fund's money"),
        "fund_inflows": Output("currency units", "windfall tax, data fees, resource rents and dividends the fund "
                                                 "received during the interval"),
        "fund_payout": Output("currency units", "the fund's payout during the interval (dividends + services)"),
        "dividend_per_capita": Output("currency units", "fund dividend paid to each eligible household during "
                                                        "the interval"),
        "services_per_capita": Output("currency units per household", "universal services the fund paid for "
                                                                      "during the interval, per household"),
    }

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_fund(sc)

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["fund.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        f = sc.fund
        self.cfg = f
        self.H, self.F = self.state.n_households, self.state.n_firms
        self.index = self.state.institution_names.index("fund")
        self.tpy = sc.economy.ticks_per_year
        self.periods_per_year = self.tpy // sc.run.period
        self.burn_in = sc.run.burn_in
        self.n_eligible = sc.n_eligible
        self.units = 0  # equity units the fund holds
        self.foreign = 0.0  # foreign holdings at cost plus reinvested nothing (minor units)
        self.foreign_rate = (1.0 + f.foreign_return) ** (1.0 / self.periods_per_year) - 1.0
        self.scrip_units = 0  # units issued to it as scrip
        self.initial_units = 0  # units issued to it at the start (fund.initial_ownership)
        self.rent = sc.minor(f.resource_rent) / self.periods_per_year  # per period, growing
        self.keep_scrip = (1.0 + f.scrip_rate) ** (1.0 / self.periods_per_year) - 1.0
        self.year_end_values: list[float] = []
        self.start_value = None
        self.incomes: list[float] = []  # realised income (dividends) per year, oldest first
        self.income_year = 0.0
        self.reserve = 0.0
        self.previous_payout = None
        self.price_year_ago = None
        self.earned = 0.0  # dividends received
        self.paid = 0.0  # payouts made
        self.year_payout = 0
        self.year_paid = 0
        self.period_in_year = 0
        self.inflow_money = 0  # money inflows of the period not yet invested
        self.interval = {"fund_inflows": 0, "fund_payout": 0, "dividend_per_capita": 0, "services_per_capita": 0.0}
        self.topup = 1.0  # the counter-cyclical rule's factor on the payout (1: none)
        self.economy = self.market = None

    def bind(self, others) -> None:
        self.economy, self.market = others["economy"], others["wealth"]
        self.market.holders.append(self)
        self.economy.profit_levies.append(self)
        self.reform = others.get("reform")

    @property
    def money(self) -> int:
        return int(self.state.institutions[self.index])

    def _add_money(self, amount: int) -> None:
        self.state.institutions[self.index] += amount

    def value(self) -> float:
        """Market value in minor units: units at the market price + foreign holdings + money."""
        return self.units * self.market.price + self.foreign + self.money

    def identities(self) -> list[Identity]:
        return [Identity("fund: units held = units at the start + bought on the market + scrip received",
                         "the fund's units", lambda: self.units, "start + bought + scrip",
                         lambda: self.initial_units + self.market.issued_to.get("fund", 0) + self.scrip_units)]

    # -- called by the economy and the market --------------------------------------------------
    def levy(self, tick: int, revenue: np.ndarray, profit: np.ndarray, automation: float, real_output: float,
             firm_factor: np.ndarray) -> np.ndarray:
        """Windfall tax and data fees of each firm, out of its profit (never more than it); the
        caller takes them from the firms' balances and this adds them to the fund."""
        f = self.cfg
        levy = np.zeros(self.F, np.int64)
        level = reform_level(self.reform, tick, self.burn_in)  # the fund starts with the reported run or reform
        if level == 0.0:
            return levy
        if f.windfall_tax > 0:
            windfall = np.maximum(profit - np.floor(f.windfall_margin * revenue), 0)
            levy += np.where(firm_factor >= f.ai_intensity_min, np.floor(f.windfall_tax * level * windfall),
                             0).astype(np.int64)
        if f.data_fee > 0 and automation > 0:
            fee = f.data_fee * level * automation * real_output  # minor units this period
            weight = firm_factor * revenue
            if weight.sum() > 0:
                levy += np.floor(fee * weight / weight.sum()).astype(np.int64)
        levy = np.minimum(levy, np.maximum(profit, 0))
        total = int(levy.sum())
        if total:
            self._add_money(total)
            self.inflow_money += total
            self.interval["fund_inflows"] += total
        return levy

    def take_dividend(self, pool: int, total: int) -> int:
        """The fund's share of a dividend pool, ``floor(pool x units / total)`` for ``total`` units
        outstanding; the rest is the households' (and the other holders')."""
        if pool <= 0 or self.units <= 0 or total <= 0:
            return 0
        part = pool * self.units // total
        self._add_money(part)
        self.inflow_money += part
        self.income_year += part
        self.earned += part
        self.interval["fund_inflows"] += part
        return part

    # -- the fund's own period start ---------------------------------------------------------
    def on_period_start(self, tick: int) -> None:
        f = self.cfg
        calendar = tick - reform_start(self.reform, self.burn_in)
        level = reform_level(self.reform, tick, self.burn_in)
        if calendar < 0 or level == 0.0:
            return  # the fund starts with the reported run or the reform
        market = self.market
        if self.start_value is None:
            share = f.initial_ownership
            if share > 0:  # an existing fund: units issued to it at the start
                self.initial_units = math.floor(share / (1.0 - share) * market.units)
                self.units += self.initial_units
            self.start_value = self.value()
            self.price_year_ago = self.economy.last["price_level"]
        # resource rents (created) and scrip
        rent = math.floor(self.rent * level * (1.0 + f.resource_rent_growth) ** (calendar / self.tpy))
        if rent:
            self.ledger.guard(rent, "resource rents")
            self.ledger.create("resource_rent", rent)
            self._add_money(rent)
            self.inflow_money += rent
            self.interval["fund_inflows"] += rent
        income = math.floor(self.foreign_rate * self.foreign) if self.foreign > 0 else 0
        if income > 0:  # the foreign holdings' return, paid in from abroad
            self.ledger.guard(income, "the fund's foreign income")
            self.ledger.create("fund_foreign_income", income)
            self._add_money(income)
            self.inflow_money += income
            self.income_year += income
            self.earned += income
            self.interval["fund_inflows"] += income
        if self.keep_scrip > 0:
            scrip = math.floor(self.keep_scrip * level * (market.units + self.units))
            self.units += scrip
            self.scrip_units += scrip
            market.scrip += scrip
        # the payout: fixed at the year's first period start, paid in equal parts
        if calendar % self.tpy == 0:
            self._new_year(calendar // self.tpy)
        self._pay_period()
        # invest the period's money inflows at the market price, keeping the cash the rest of this
        # year's payout needs
        keep = self.year_payout - self.year_paid
        invest = math.floor(f.invest_share * min(self.inflow_money, max(self.money - keep, 0)))
        self.inflow_money = 0
        abroad = math.floor(f.foreign_share * invest)
        if abroad > 0:
            self.ledger.destroy("fund_foreign_investment", abroad)
            self._add_money(-abroad)
            self.foreign += abroad
            invest -= abroad
        if invest > 0 and market.price > 0:
            units, cost = market.sell_to_holder("fund", invest)
            self.units += units
            self._add_money(-cost)

    def _new_year(self, year: int) -> None:
        f = self.cfg
        value = self.value()
        if year > 0:
            self.year_end_values.append(value)
            self.incomes.append(self.income_year)
            self.income_year = 0.0
        at_start = self.start_value if year == 0 else value
        price_now = self.economy.last["price_level"]
        inflation = price_now / self.price_year_ago - 1.0 if self.price_year_ago else 0.0
        self.price_year_ago = price_now
        rule = f.payout_rule
        if rule == "pomv":
            amount = pomv_payout(self.year_end_values, self.start_value, year, f.payout_rate, f.pomv_first_lag,
                                 f.pomv_last_lag)
        elif rule == "start_of_year":
            amount = start_of_year_payout(at_start, f.payout_rate)
        elif rule == "smoothing":
            amount = smoothing_payout(self.previous_payout, inflation, at_start, f.payout_rate, f.smoothing_weight)
            self.previous_payout = amount
        elif rule == "realised_income":
            amount, _ = realised_income_payout(self.incomes, self.reserve, f.realised_share, f.realised_years,
                                               f.realised_payout_share)
            if self.incomes:
                self.reserve += self.incomes[-1] - amount
        else:
            amount = 0.0
        amount *= self.topup
        if f.cap_at_earnings:
            amount = min(amount, max(self.earned - self.paid, 0.0))
        self.year_payout = max(math.floor(amount), 0)
        self.year_paid = 0
        self.period_in_year = 0

    def _pay_period(self) -> None:
        st, b, f = self.state, self.backend, self.cfg
        k, n = self.period_in_year, self.periods_per_year
        self.period_in_year += 1
        # this period's part, and what earlier periods of the year could not pay for want of money
        due = (self.year_payout * (k + 1)) // n - self.year_paid
        due = min(due, self.money)
        if due <= 0:
            return
        self.year_paid += due
        dividends = math.floor(f.dividend_share * due)
        services = math.floor(f.services_share * due)
        each = dividends // self.n_eligible if self.n_eligible else 0
        if each:
            b.credit_each(st.balance, EMPTY, self.n_eligible, np.int64(each))
        paid_dividends = each * self.n_eligible
        if services:
            from .economy import split_by_weight

            bought = split_by_weight(services, self.economy.weights)
            b.add_range(st.balance, self.H, bought)
            self.economy.revenue += bought
        self._add_money(-(paid_dividends + services))
        self.paid += paid_dividends + services
        self.interval["fund_payout"] += paid_dividends + services
        self.interval["dividend_per_capita"] += each
        self.interval["services_per_capita"] += services / self.H

    # -- outputs -------------------------------------------------------------------------------
    def sample(self) -> dict[str, float]:
        market = self.market
        total = market.units + self.units
        out = {"fund_value": int(self.value()), "fund_ownership_share": self.units / total if total else math.nan,
               "fund_money": self.money, "fund_inflows": self.interval["fund_inflows"],
               "fund_payout": self.interval["fund_payout"],
               "dividend_per_capita": self.interval["dividend_per_capita"],
               "services_per_capita": self.interval["services_per_capita"] / self.sc.run.minor_units}
        self.interval = {k: 0 for k in self.interval}
        return out
