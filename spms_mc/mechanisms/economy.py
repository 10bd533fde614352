"""The production economy with AI automation, government money and bank credit (docs/model.md
sections 3 and 4; the SuMSy paper's comparison with post-Keynesian money, the abstract and section 2, and the
K-shape and top-1 % lock-in of the predistribution paper, docs/sources.md).

One accounting period is one production cycle. At each period start (:meth:`ProductionEconomy.
on_period_start`), in this order:

1. the automation path sets the labour share ``l_t`` and the share of routine workers displaced;
2. firms settle the last period: wage bill ``W_f = floor(l_t R_f)`` of their revenue R_f, split among
   their employees by skill weight; profit ``R_f - W_f - interest_f``, of which ``1 - retention`` is
   paid as dividends to the holders of the equity index, pro rata to their units (with last
   period's bank dividends); tax ``theta`` is withheld from wages and dividends and destroyed
   (government money, Godley & Lavoie's SIM); rounding remainders go to the sink;
3. households plan the period's spending ``C = floor(a1 YD + a2 H_{-1})`` (Godley & Lavoie 2007,
   *Monetary Economics*, ch. 3), ``H_{-1}`` their balance before this income, and at least the
   subsistence spending (which a household without income borrows, with bank credit); with
   ``government.unemployment_benefit`` the households without work are paid it first (created
   money); with wealth dynamics (:mod:`spms_mc.mechanisms.wealth`, bound as ``self.market``) this
   step is the market's: income weighted by wealth, saving into equity, the equity price and the
   execution of the orders;
4. with bank credit: every loan pays interest and a principal instalment; a borrower short of money
   refinances the rest up to its credit limit, beyond it defaults (its balance is recovered, the
   loan written off against bank capital); the bank declares ``payout`` of a positive profit as
   dividends, paid with the next period's dividends;
5. firms invest in other firms' goods at least ``investment x R_f`` (borrowing the shortfall with
   bank credit) and all the cash they still hold (retained profits are invested, not hoarded); the
   government spends G; both are next period's revenue, split across firms by size.

Every tick households spend one exact slice of their plan at a firm drawn by size; a slice above
the balance is borrowed with bank credit (rationed pro rata when the bank's capital ratio binds),
else cut to the balance. Real output grows at ``g_AI`` from the first period's nominal spending;
the price level is nominal spending over real output (1 in the first period). Net wealth is money
+ equity units valued at capitalised dividends (last period's dividend per unit over the
discount rate per period; with wealth dynamics the market's price) - loans. The automation path and
growth count from the end of ``run.burn_in``.

Simplifications, on purpose: households hold units of one economy-wide equity index (all firms pro
rata) rather than firm by firm; the labour share is the same in every firm, and a firm's AI
intensity sets how many of its routine workers are displaced.

This module owns the ``[economy]`` and ``[government]`` sections, the state arrays ``kind``,
``employer``, ``equity`` and ``plan``, the flows ``government_spending`` and ``tax`` (and, through
its :class:`~spms_mc.mechanisms.credit.Bank`, the bank's), its outputs, the equity holdings it adds
to net wealth, and the identity that equity units are conserved. Kernels:
:mod:`spms_mc_kernels.economy` and their CUDA twins.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import economy as kernels
from spms_mc_kernels import rng
from spms_mc_kernels.economy import AI_COMPLEMENTARY, ROUTINE, SHARE_MARGIN, UNEMPLOYED

from ..core.config import Amount, Bool, Choice, Float, Int, Scenario, ScenarioError, check_money_fits, key
from ..core.errors import MoneyOverflowError
from ..core.ledger import INT64_MAX
from ..core.registry import Identity, Mechanism, Output
from ..core.state import SINK, keyed_permutation, keyed_uniforms
from .credit import Bank

@dataclass(frozen=True, slots=True, kw_only=True)
class EconomyConfig:
    """The production economy with AI automation (docs/model.md section 3)."""

    enabled: bool = key(False, Bool, "the production economy: firms, wages, profits, consumption, AI automation")
    ai_complementary_share: float = key(0.2, Float(0, 1), "share of households that are AI-complementary workers")
    unemployed_share: float = key(0.05, Float(0, 1), "share of households without work at the start")
    skill_premium: float = key(2.0, Float(0.1, 100),
                               "wage weight of an AI-complementary worker relative to a routine one (in tenths)")
    consumption_income: float = key(0.6, Float(0, 1), "a1: share of last period's disposable income spent per period")
    consumption_wealth: float = key(0.4, Float(0, 1, lo_open=True),
                                    "a2: share of the balance held before the income spent per period")
    subsistence: float = key(0.0, Amount(), "least a household spends per period, currency units (borrowed "
                             "with bank credit when it lacks the money)")
    firm_size_exponent: float = key(1.0, Float(0, 5), "firm sizes follow (rank)^-exponent (1: Zipf, Axtell 2001)")
    retention: float = key(0.0, Float(0, 1), "share of profit firms keep instead of paying dividends")
    investment: float = key(0.0, Float(0, 1), "share of last period's revenue each firm spends on other firms' goods")
    labour_share_start: float = key(0.54, Float(0, 1), "labour share of firm revenue before automation, l0")
    labour_share_end: float = key(0.40, Float(0, 1), "labour share after automation, l_inf")
    automation: bool = key(True, Bool, "labour share and routine employment follow the logistic automation path")
    automation_start_year: float = key(0.0, Float(0), "year the automation path starts")
    automation_years: float = key(20.0, Float(0, lo_open=True), "years the logistic path takes from l0 to l_inf")
    automation_steepness: float = key(10.0, Float(0, lo_open=True), "steepness k of the logistic path (per path length)")
    routine_displacement: float = key(0.3, Float(0, 1), "share of routine workers displaced at full automation")
    ai_output_growth: float = key(0.02, Float(-0.5, 1), "real output growth per year from AI capital, g_AI")
    ticks_per_year: int = key(360, Int(1, 10**6), "ticks per year (automation path, growth, discounting)")
    discount_rate: float = key(0.05, Float(1e-4, 1), "yearly rate at which dividends are capitalised")
    equity_distribution: str = key("pareto", Choice("pareto", "equal"),
                                   "equity index units across households: Pareto calibrated to the top-1 % target, "
                                   "or equal")
    initial_top1_wealth_share: float = key(0.32, Float(0.01, 1, lo_open=True, hi_open=True),
                                           "pareto: top-1 % share of net wealth at the start (US today: about 0.32)")


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernmentConfig:
    """Government money as in Godley & Lavoie's model SIM: spending creates it, taxes destroy it."""

    enabled: bool = key(False, Bool, "government spending on firms and an income tax (needs economy.enabled)")
    spending: float = key(0.0, Amount(), "G: spending per period on firms (by size), currency units")
    income_tax: float = key(0.0, Float(0, 1, hi_open=True), "theta: tax withheld from wages and dividends")
    unemployment_benefit: float = key(0.0, Amount(), "paid each period to every household without work, currency "
                                                     "units (government money created, like its spending)")


def check_economy(sc) -> None:
    """Cross-checks of [economy] and [government]."""
    e, gov, p = sc.economy, sc.government, sc.population
    if e.enabled:
        if p.firms < 1:
            raise ScenarioError("economy.enabled needs firms: population.firms >= 1 (accepted: 1 .. households)")
        if p.firms > p.households:
            raise ScenarioError(f"population.firms = {p.firms} is more than population.households = "
                                f"{p.households}; the economy needs at least one household per firm "
                                f"(accepted: 1 .. {p.households})")
        if e.ai_complementary_share + e.unemployed_share > 1:
            raise ScenarioError(f"economy.ai_complementary_share + economy.unemployed_share = "
                                f"{e.ai_complementary_share + e.unemployed_share} exceeds 1 (the rest are routine workers)")
        if e.equity_distribution == "pareto":
            equity_alpha(sc)  # raises ScenarioError when the target cannot be reached
    if gov.enabled and not e.enabled:
        raise ScenarioError("government.enabled needs economy.enabled = true (the government buys from firms)")
    check_money_fits(sc, "government.spending", gov.spending, 1, on=gov.enabled)
    check_money_fits(sc, "government.unemployment_benefit", gov.unemployment_benefit, p.households, on=gov.enabled)


N_CHUNKS = 16  # household chunks of the per-firm sums; any value gives the same integers
UNITS_PER_HOUSEHOLD = 1_000_000  # mean equity index units of a household


# ---------------------------------------------------------------------------------------------
# calibration and initial conditions
# ---------------------------------------------------------------------------------------------
def period_rate(sc: Scenario) -> float:
    """The yearly discount rate as a rate per period."""
    e = sc.economy
    return (1.0 + e.discount_rate) ** (sc.run.period / e.ticks_per_year) - 1.0


def projected_spending(sc: Scenario) -> float:
    """Nominal spending per period the economy tends to, in currency units: G/theta with a SIM-like
    government that spends, else the money held at the start circulated by the consumption function (stationary:
    C = YD and H_{-1} = (1 - a1)/a2 YD, with M = H_{-1} + YD held when the plan is made)."""
    e, gov, p = sc.economy, sc.government, sc.population
    if gov.enabled and gov.income_tax > 0 and gov.spending > 0:
        return gov.spending / gov.income_tax
    money = p.initial_balance * p.households
    return e.consumption_wealth * money / (e.consumption_wealth + 1.0 - e.consumption_income)


def projected_equity_value(sc: Scenario) -> float:
    """Equity index value at the start: the projected dividends per period, capitalised."""
    e = sc.economy
    dividends = (1.0 - e.retention) * (1.0 - e.labour_share_start) * projected_spending(sc)
    return dividends / period_rate(sc)


def calibration_grid(households: int) -> int:
    """Quantile points the calibration uses: the population itself (at least 1000 points, at most
    2^18: beyond, the top share of a Pareto law hardly moves with the population)."""
    return min(max(households, 1000), 1 << 18)


def _top1_share(alpha: float, money: float, value: float, grid: int) -> float:
    q = (np.arange(grid) + 0.5) / grid
    x = (1.0 - q) ** (-1.0 / alpha)
    w = money / grid + value * x / x.sum()
    top = grid // 100
    return float(w[-top:].sum() / w.sum())


@functools.lru_cache(maxsize=256)
def _alpha_for(target: float, money: float, value: float, grid: int) -> float:
    if value <= 0:  # no profits projected: calibrate the equity units alone
        money = 0.0
        value = 1.0
    lo, hi = 1.0 + 1e-6, 1e3
    top_lo, top_hi = _top1_share(lo, money, value, grid), _top1_share(hi, money, value, grid)
    if not top_hi < target < top_lo:
        raise ScenarioError(f"economy.initial_top1_wealth_share = {target} cannot be reached with this much money "
                            f"beside equity; accepted: {top_hi:.4f} .. {top_lo:.4f} (or economy.equity_distribution "
                            f"= 'equal'). The money is population.initial_balance x population.households; the "
                            f"equity's projected value comes from economy.consumption_income, "
                            f"economy.consumption_wealth, economy.retention, economy.labour_share_start, "
                            f"economy.discount_rate, economy.ticks_per_year, run.period and, with a government, "
                            f"government.spending and government.income_tax")
    for _ in range(60):  # the top share falls as alpha grows
        mid = math.sqrt(lo * hi)
        if _top1_share(mid, money, value, grid) > target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def equity_alpha(sc: Scenario) -> float:
    """Pareto exponent of the equity units that makes the top-1 % share of net wealth at the start
    equal ``economy.initial_top1_wealth_share``, on the quantile grid of a large population with
    the starting money spread evenly and equity at its projected value (bisection). Populations
    below 100 households have no top 1 %: they get the exponent of 1000 households."""
    e, p = sc.economy, sc.population
    return _alpha_for(e.initial_top1_wealth_share, p.initial_balance * p.households, projected_equity_value(sc),
                      calibration_grid(p.households))


def firm_size_weights(sc: Scenario) -> np.ndarray:
    F = sc.population.firms
    w = (np.arange(F) + 1.0) ** (-sc.economy.firm_size_exponent)
    return w / w.sum()


def cumulative(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


def init_households(sc: Scenario, key, H: int):
    """Types (exact counts, a keyed random assignment), employers (by firm size) and equity units."""
    e = sc.economy
    ranks = keyed_permutation(np.uint64(rng.stream_key(key, 0, rng.STREAM_HOUSEHOLD_TYPE)), H)
    n_ai = round(e.ai_complementary_share * H)
    n_un = round(e.unemployed_share * H)
    kind = np.full(H, ROUTINE, np.uint8)
    kind[ranks < n_ai] = AI_COMPLEMENTARY
    kind[(ranks >= n_ai) & (ranks < n_ai + n_un)] = UNEMPLOYED
    cdf = cumulative(firm_size_weights(sc))
    u = keyed_uniforms(np.uint64(rng.stream_key(key, 0, rng.STREAM_EMPLOYER)), H)
    employer = np.searchsorted(cdf, u, side="right").astype(np.int32)
    if e.equity_distribution == "equal":
        equity = np.full(H, UNITS_PER_HOUSEHOLD, np.int64)
    else:
        alpha = equity_alpha(sc)
        q = (keyed_permutation(np.uint64(rng.stream_key(key, 0, rng.STREAM_EQUITY_RANK)), H) + 0.5) / H
        x = (1.0 - q) ** (-1.0 / alpha)
        equity = np.floor(x * (UNITS_PER_HOUSEHOLD / x.mean())).astype(np.int64)
    return kind, employer, equity


def automation_progress(sc: Scenario, tick: int) -> float:
    """s(t) in [0, 1]: a logistic in time, rescaled to run from 0 at the start year to 1 after
    ``automation_years`` (midpoint in the middle, steepness k)."""
    e = sc.economy
    if not e.automation:
        return 0.0
    return logistic_progress((tick / e.ticks_per_year - e.automation_start_year) / e.automation_years,
                             e.automation_steepness)


def logistic_progress(x: float, steepness: float) -> float:
    """A logistic of steepness k in x, rescaled to run from 0 at x = 0 to 1 at x = 1 (midpoint at 1/2;
    0 before, 1 after)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    sig = lambda z: 1.0 / (1.0 + math.exp(-steepness * (z - 0.5)))  # noqa: E731
    return (sig(x) - sig(0.0)) / (sig(1.0) - sig(0.0))


def labour_share_at(sc: Scenario, tick: int) -> float:
    e = sc.economy
    return e.labour_share_start + (e.labour_share_end - e.labour_share_start) * automation_progress(sc, tick)


def split_by_weight(amount: int, weights: np.ndarray) -> np.ndarray:
    """``amount`` split over firms by weight, each share rounded down; the rest to the first
    (largest) firm, so the parts add up to ``amount`` exactly."""
    parts = np.floor(amount * (weights * SHARE_MARGIN)).astype(np.int64)
    parts[0] += amount - int(parts.sum())
    return parts


class EconomyCUDA:
    """The CUDA wrappers of the production economy's kernels (:mod:`spms_mc_kernels.cuda`), mixed into
    :class:`~spms_mc.core.backend.CUDABackend`: same names and results as the CPU kernels."""

    def employment_weights(self, kind, employer, skill_weight, displacement, firm_factor, skey, partial):
        weights = self.cuda.to_device(np.zeros(partial.shape[1], np.int64))
        t = self._run(self.k.employment_weights, kind.shape[0], kind, employer, self.dev(skill_weight), displacement,
                      self.dev(firm_factor), skey, weights, totals=1)
        self._per_firm(partial, weights)
        return int(t[0])

    def pay_households(self, balance, plan, kind, employer, equity, skill_weight, displacement, firm_factor, skey,
                       wage_bill, weight_sum, dividend_pool, inv_units, tax_rate, a1, a2, subsistence):
        t = self._run(self.k.pay_households, plan.shape[0], balance, plan, kind, employer, equity,
                      self.dev(skill_weight), displacement, self.dev(firm_factor), skey, self.dev(wage_bill),
                      self.dev(np.ascontiguousarray(weight_sum)), dividend_pool, inv_units, tax_rate, a1, a2,
                      subsistence, totals=4)
        return tuple(int(x) for x in t)

    def pay_benefits(self, balance, kind, employer, firm_factor, displacement, skey, benefit):
        return int(self._run(self.k.pay_benefits, kind.shape[0], balance, kind, employer, self.dev(firm_factor),
                             displacement, skey, benefit, totals=1)[0])

    def consume(self, balance, plan, loans, k, period, lend, grant, cdf, guide, skey, partial):
        sales = self.cuda.to_device(np.zeros(partial.shape[1], np.int64))
        t = self._run(self.k.consume, balance.shape[0], balance, plan, loans, k, period, lend, grant, self.dev(cdf),
                      self.dev(guide), skey, sales, totals=2)
        self._per_firm(partial, sales)
        return int(t[0]), int(t[1])


# ---------------------------------------------------------------------------------------------
# the mechanism
# ---------------------------------------------------------------------------------------------
class ProductionEconomy(Mechanism):
    """Firms, wages, profits, consumption and AI automation; with ``[government]`` government money
    (SIM) and with ``[bank]`` bank-credit money for households and firms."""

    name = "economy"
    order = 40
    sections = {"economy": EconomyConfig, "government": GovernmentConfig}
    unsweepable = ("economy.enabled", "government.enabled")
    flows = {"government_spending": "created: government spending on firms (SIM)",
             "tax": "destroyed: income tax withheld from wages and dividends (SIM)",
             "unemployment_benefit": "created: benefits paid to households without work", **Bank.flows}
    outputs = {
        "labour_share": Output("1", "wages paid over firm revenue in the period settled last"),
        "unemployment": Output("1", "share of households without work (unemployed from the start or displaced "
                                    "by AI)"),
        "price_level": Output("1", "nominal spending over real output of the period settled last (first period "
                                   "= 1)"),
        "real_output": Output("base-period currency units", "real output of the period settled last: the first "
                                                             "period's nominal spending grown at "
                                                             "economy.ai_output_growth"),
        "nominal_spending": Output("currency units", "firm revenue of the period settled last (consumption, "
                                                     "investment, government)"),
        "wages": Output("currency units", "wages paid to households during the interval"),
        "dividends": Output("currency units", "firm and bank dividends paid to households (and to the wealth fund, "
                                              "when there is one) during the interval"),
        "equity_value": Output("currency units", "the equity index at capitalised dividends (last dividend per "
                                                 "unit over the discount rate per period; with wealth dynamics, "
                                                 "at the equity market's price)"),
    }
    arrays = {"kind": "household type: AI-complementary, routine or unemployed",
              "employer": "household's firm (index among the firms)",
              "equity": "units of the equity index each household holds",
              "plan": "spending a household plans for the period"}
    cpu_kernels = {name: getattr(kernels, name) for name in ("employment_weights", "pay_households", "consume",
                                                             "pay_benefits", "mark_jobless")}
    cuda_methods = EconomyCUDA

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_economy(sc)

    @classmethod
    def switches(cls, sc) -> list[str]:
        return super().switches(sc) + (["bank.enabled"] if sc.bank.enabled else [])

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return 1 + 4 + 8 + 8 + (8 if sc.bank.enabled else 0)  # type, employer, equity, plan; loans

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        H = sc.population.households
        kind, employer, equity = init_households(sc, key, H)
        state.add_array("kind", kind)
        state.add_array("employer", employer)
        state.add_array("equity", equity)
        state.add_array("plan", np.zeros(H, np.int64))
        if sc.bank.enabled:
            state.add_array("loans", np.zeros(sc.n_accounts, np.int64))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["economy.enabled"]

    def flows_booked(self) -> tuple[str, ...]:
        return self.creates + self.destroys

    def output_units(self) -> dict[str, str]:
        units = {k: v.units for k, v in self.outputs.items()}
        if self.bank is not None:
            units.update({k: v.units for k, v in Bank.outputs.items()})
        return units

    def identities(self) -> list[Identity]:
        st = self.state
        out = []
        if self.market is None:  # with the equity market, units change by issuance and buybacks (its identity)
            out.append(Identity("economy: equity units conserved (no issuance)", "units the households hold",
                                lambda: int(self.backend.sum_int64(st.equity)), "units at the start",
                                lambda: self.units))
        if self.bank is not None:
            out += self.bank.identities(lambda: int(self.backend.sum_int64(st.loans)))
        return out

    def __init__(self, *a):
        super().__init__(*a)
        sc, st = self.sc, self.state
        e, gov, bank = sc.economy, sc.government, sc.bank
        self.creates = (("government_spending",) if gov.enabled else ()) + (
            ("unemployment_benefit",) if gov.enabled and gov.unemployment_benefit > 0 else ()) + (
            Bank.creates if bank.enabled else ())
        self.destroys = (("tax",) if gov.enabled else ()) + (Bank.destroys if bank.enabled else ())
        self.H, self.F = st.n_households, st.n_firms
        self.period = sc.run.period
        self.a1, self.a2 = e.consumption_income, e.consumption_wealth
        self.tax = gov.income_tax if gov.enabled else 0.0
        self.G = sc.minor(gov.spending) if gov.enabled else 0
        self.benefit = sc.minor(gov.unemployment_benefit) if gov.enabled else 0
        self.weights = firm_size_weights(sc)
        self.cdf = cumulative(self.weights)
        self.guide = kernels.guide_table(self.cdf, 2 * self.F)  # the firm draw in O(1) expected steps
        ai = keyed_uniforms(np.uint64(rng.stream_key(self.key, 0, rng.STREAM_AI_INTENSITY)), self.F)
        # displacement at firm f scales with its AI intensity relative to the mean
        self.firm_factor = ai / ai.mean() if ai.mean() > 0 else np.zeros(self.F)
        self.skill_weight = np.array([round(10 * e.skill_premium), 10, 0], np.int64)
        self.skey_displacement = np.uint64(rng.stream_key(self.key, 0, rng.STREAM_DISPLACEMENT))
        self.partial = np.zeros((N_CHUNKS, self.F), np.int64)
        self.revenue = np.zeros(self.F, np.int64)  # this period's, paid out at the next period start
        self.units = int(self.backend.sum_int64(st.equity))
        self.inv_units = SHARE_MARGIN / self.units if self.units > 0 else 0.0
        self.rate_p = period_rate(sc)
        # equity valued at the projected dividends until the first ones are paid
        self.equity_price = sc.minor(projected_equity_value(sc)) / self.units if self.units else 0.0
        self.plan_total = 0
        # real output at the start: the spending the economy tends to (so P is about 1 there), else
        # the first period's nominal spending
        self.base_output = sc.minor(projected_spending(sc))
        self.base_tick = 0
        self.last = dict(labour_share=math.nan, unemployment=math.nan, price_level=1.0, real_output=math.nan,
                         nominal_spending=0, wages=0, dividends=0)
        # bank credit for households and firms
        self.bank = None
        if bank.enabled:
            self.bank = Bank(self)
        self.limits = (sc.minor(bank.household_credit_limit), sc.minor(bank.firm_credit_limit))
        self.market = None  # the equity market of wealth dynamics, when enabled (it binds itself)
        # charges on the firms' profit before dividends, in tick order (the fund's windfall tax and
        # data fees, the infrastructure bonds' usage fees): ``levy(tick, revenue, profit,
        # automation, real_output, firm_factor) -> per-firm amounts`` the caller takes from the firms
        self.profit_levies = []
        self.purchases = None  # the CETE token issuance on purchases, when enabled (it binds itself)
        self.period_wages = None  # (wage bill, skill weight employed) per firm of the period settled last
        self.riskshare = None  # the citizen pool, when enabled (it binds itself)
        self.displacement = 0.0
        self.burn_in = sc.run.burn_in

    # -- period start ---------------------------------------------------------------------
    def on_period_start(self, tick: int) -> None:
        sc, st, b, led = self.sc, self.state, self.backend, self.ledger
        H, F = self.H, self.F
        e = sc.economy
        calendar = tick - self.burn_in  # the automation path and growth start after the burn-in
        s = automation_progress(sc, calendar)
        ell = labour_share_at(sc, calendar)
        displacement = e.routine_displacement * s
        self.displacement = displacement
        jobless = b.employment_weights(st.kind, st.employer, self.skill_weight, displacement, self.firm_factor,
                                       self.skey_displacement, self.partial)
        weight_sum = self.partial.sum(axis=0)
        R = self.revenue.copy()
        self.revenue[:] = 0
        bank = self.bank
        # firm accounts (F of them) are handled on the host: read, changed, written back
        firm_loans = b.read_range(st.loans, H, H + F) if bank else None
        interest_f = np.floor(bank.rate * firm_loans).astype(np.int64) if bank else np.zeros(F, np.int64)
        wage_bill = np.where(weight_sum > 0, np.floor(ell * R), 0).astype(np.int64)
        if F and int(wage_bill.max()) * int(self.skill_weight.max()) > INT64_MAX:
            # pay_households splits a wage bill by skill weight as wage_bill * weight // weight_sum
            raise MoneyOverflowError(f"a firm's wage bill of {int(wage_bill.max())} minor units times the skill "
                                     f"weight {int(self.skill_weight.max())} overflows int64 at tick {tick}; lower "
                                     f"run.minor_units or economy.skill_premium")
        profit = np.maximum(R - wage_bill - interest_f, 0)
        for charge in self.profit_levies:  # windfall tax, data and usage fees, out of profit
            real = self.last["real_output"]
            levy = charge.levy(tick, R, profit, s, real if real == real else 0.0, self.firm_factor)
            profit = profit - levy
            b.add_range(st.balance, H, -levy)
        if self.riskshare is not None:  # the citizen pool's profit shares, before dividends
            due = self.riskshare.profit_share(profit)
            profit = profit - due
            b.add_range(st.balance, H, -due)
        payout = np.floor((1.0 - e.retention) * profit).astype(np.int64)
        b.add_range(st.balance, H, -(wage_bill + payout))
        pool = int(payout.sum()) + (bank.pay_dividend() if bank else 0)
        if self.benefit:  # before the plans are made: a benefit is part of the balance spending draws on
            led.guard(self.benefit * jobless, "unemployment benefits")
            led.create("unemployment_benefit", b.pay_benefits(st.balance, st.kind, st.employer, self.firm_factor,
                                                              displacement, self.skey_displacement,
                                                              np.int64(self.benefit)))
        if self.market is None:
            wages, dividends, taxes, self.plan_total = b.pay_households(
                st.balance, st.plan, st.kind, st.employer, st.equity, self.skill_weight, displacement,
                self.firm_factor, self.skey_displacement, wage_bill, weight_sum, np.float64(pool), self.inv_units,
                self.tax, self.a1, self.a2, np.int64(sc.minor(e.subsistence)))
        else:  # the dividends automation added: those of the labour share it took
            ai_pool = min(pool, math.floor((1.0 - e.retention) * max(e.labour_share_start - ell, 0.0) * int(R.sum())))
            wages, dividends, taxes, self.plan_total = self.market.settle(
                tick, wage_bill=wage_bill, weight_sum=weight_sum, skill_weight=self.skill_weight,
                displacement=displacement, firm_factor=self.firm_factor, skey_displacement=self.skey_displacement,
                pool=pool, ai_pool=ai_pool, tax_rate=self.tax, a1=self.a1, a2=self.a2,
                subsistence=np.int64(sc.minor(e.subsistence)))
        st.institutions[SINK] += int(wage_bill.sum()) - wages + pool - dividends
        self.period_wages = (wage_bill, weight_sum)
        led.destroy("tax", taxes)
        if bank:
            bank.service(0, H, self.limits[0])
            bank.service(H, H + F, self.limits[1])
            bank.declare_dividend()
        # firms invest (next period's revenue for the firms they buy from, by size): at least
        # `investment` of their revenue, borrowing the shortfall with bank credit, and all the cash
        # they hold beyond it - retained profits are invested, not hoarded
        invest = np.floor(e.investment * R).astype(np.int64)
        have = b.read_range(st.balance, H, H + F)
        if self.riskshare is not None and tick > 0:  # profit-sharing contracts before bank credit
            have += self.riskshare.finance(np.maximum(invest - have, 0))
        if bank:
            short = np.maximum(invest - have, 0)
            grant = bank.grant(int(short.sum()))
            loan = short if grant >= 1.0 else np.floor(short * grant).astype(np.int64)
            bank.lend(int(loan.sum()), "firm borrowing")
            b.add_range(st.loans, H, loan)
            have += loan
        invest = have if tick > 0 else np.zeros(F, np.int64)  # all the cash, at least the target
        if invest.any():
            bought = split_by_weight(int(invest.sum()), self.weights)
            b.write_range(st.balance, H, have - invest + bought)
            self.revenue += bought
        if self.market is not None:
            self.market.invest(int(invest.sum()), self.last["price_level"])
        if self.G:
            led.guard(self.G, "government spending")
            led.create("government_spending", self.G)
            bought = split_by_weight(self.G, self.weights)
            b.add_range(st.balance, H, bought)
            self.revenue += bought
        # what the period just settled looked like
        nominal = int(R.sum())
        if nominal > 0 and self.base_output == 0:
            self.base_output, self.base_tick = nominal, tick
        years = max(tick - max(self.base_tick, self.burn_in), 0) / e.ticks_per_year
        real = self.base_output * (1.0 + e.ai_output_growth) ** years
        if self.market is not None:
            real *= self.market.output_factor()
        elif tick > 0:
            per_unit = dividends / self.units if self.units else 0.0
            self.equity_price = per_unit / self.rate_p
        settled = tick > 0  # the period start at tick 0 settles nothing: P stays 1 until a period is settled
        self.last.update(labour_share=wages / nominal if nominal else math.nan, unemployment=jobless / H,
                         price_level=nominal / real if settled and self.base_output else 1.0,
                         real_output=real if self.base_output else math.nan, nominal_spending=nominal,
                         wages=self.last["wages"] + wages, dividends=self.last["dividends"] + dividends)

    # -- every tick -----------------------------------------------------------------------
    def on_tick(self, tick: int) -> None:
        st, b = self.state, self.backend
        k = tick % self.period
        grant = 1.0
        bank = self.bank
        if bank is not None:
            # the slices add up to at most plan/period + 1 each: only then can the demand exceed the room
            if bank.headroom() < self.plan_total // self.period + self.H + 1:
                grant = bank.grant(int(b.spending_shortfall(st.balance[:self.H], st.plan, k, self.period)))
        skey = np.uint64(rng.stream_key(self.key, tick, rng.STREAM_FIRM_CHOICE))
        if self.purchases is None:
            spent, borrowed = b.consume(st.balance[:self.H], st.plan, st.loans, k, self.period, bank is not None,
                                        grant, self.cdf, self.guide, skey, self.partial)
        else:  # the same purchases, issuing CETE tokens at participating firms
            spent, borrowed = self.purchases.consume(k, bank is not None, grant, skey, self.partial)
        if bank is not None:
            bank.lend(borrowed, "household borrowing")
        sales = self.partial.sum(axis=0)
        b.add_range(st.balance, self.H, sales)
        self.revenue += sales

    # -- outputs --------------------------------------------------------------------------
    def holdings(self, out: np.ndarray) -> bool:
        """Equity units at the index price, less the households' bank loans."""
        st = self.state
        loans = st.loans[:self.H] if self.bank is not None else st.loans
        self.backend.add_holdings(out, st.equity, loans, self.equity_price)
        return True

    def jobless_accounts(self) -> np.ndarray:
        """Indices of the households without work (unemployed by type or displaced), ascending."""
        st = self.state
        flags = np.empty(self.H, np.uint8)
        self.backend.mark_jobless(st.kind, st.employer, self.firm_factor, self.displacement, self.skey_displacement,
                                  flags)
        return np.flatnonzero(flags).astype(np.int64)

    def end_burn_in(self) -> None:
        """The reported run starts: real output is measured from the period settled last (price
        level 1 there)."""
        if self.last["nominal_spending"] > 0:
            self.base_output, self.base_tick = self.last["nominal_spending"], self.burn_in
            self.last.update(price_level=1.0, real_output=float(self.base_output))

    def sample(self) -> dict[str, float]:
        last = self.last
        units = self.market.all_units if self.market is not None else self.units
        out = {"labour_share": last["labour_share"], "unemployment": last["unemployment"],
               "price_level": last["price_level"], "real_output": last["real_output"] / self.sc.run.minor_units,
               "nominal_spending": last["nominal_spending"], "wages": last["wages"],
               "dividends": last["dividends"], "equity_value": int(self.equity_price * units)}
        last["wages"] = last["dividends"] = 0
        if self.bank is not None:
            out.update(self.bank.sample())
        return out
