"""Wealth dynamics of the production economy: saving into capital, an equity market, a capital
stock, returns rising with wealth, and net wealth in the four groups of the Federal Reserve's
Distributional Financial Accounts (docs/model.md section 3a; the K-shape and top-1 % lock-in of the
predistribution essay, docs/sources.md).

It works inside the production economy's period start (:mod:`spms_mc.mechanisms.economy`), which
calls :meth:`WealthDynamics.settle` in place of its plain pay-and-plan step, in this order:

1. **Income.** Wages as in the economy. Dividends are split over equity units weighted by
   ``omega_i = (1 + x_i)^h``, ``x_i`` the household's net wealth over the mean (``h =
   wealth.return_wealth_elasticity``): with h > 0, returns rise with wealth, as Fagereng, Guiso,
   Malacrino & Pistaferri (2020, *Econometrica* 88(1), "Heterogeneity and persistence in returns to
   wealth") find in Norwegian administrative data, where the return on net worth rises by several
   percentage points from the median to the top percentile. ``wealth.owner_share_of_ai_profits``
   of the dividends automation adds (``(1 - retention) (l0 - l_t) R``) go to the holders; the rest
   is paid equally to every household.
2. **Saving.** A household saves ``s(x) = s_lo + (s_hi - s_lo) x / (x + x_half)`` of its
   disposable income (dividends included: they are reinvested by the same rule) and spends the
   rest by Godley & Lavoie's consumption function, ``C = a1 (YD - S) + a2 H``. The saving rate
   rises with wealth, as Dynan, Skinner & Zeldes (2004, *JPE* 112(2), "Do the rich save more?")
   and Saez & Zucman (2016, *QJE* 131(2), section VI: the top 1 % save about a third of their
   income since the 1980s, the bottom 90 % about nothing) find. Savings buy equity; a household
   whose money falls short of its plan sells equity before it borrows.
3. **The equity market.** The price of a unit is capitalised expected earnings times a demand
   term, ``P_t = (D^e_t / r) exp(M f_t)``: ``D^e`` the expected dividend per unit (adaptive,
   ``D^e_t = D^e_{t-1} + lambda (D_t - D^e_{t-1})``, ``lambda = wealth.expectation_weight``), ``r``
   the discount rate per period (``economy.discount_rate``), ``f_t`` the households' net order
   flow over the market value (clipped so the demand term stays within ``e^-1 .. e``) and ``M =
   wealth.price_impact`` the flow multiplier of Gabaix & Koijen's inelastic-markets hypothesis
   (2021, NBER WP 28967: investing $1 in the stock market raises its value by about $5). The firm
   sector is the counterparty: it issues the units households buy and buys back the units they sell
   (out of its cash; sales it cannot pay for are scaled down pro rata). Money moves exactly: a buy
   of u units pays ``ceil(u P)``, a sale receives ``floor(u P)`` (:mod:`spms_mc_kernels.wealth`).
4. **Capital.** Firms invest all their cash each period (retained earnings, issuance proceeds and
   what they borrow, as the economy does), so they issue shares when investment exceeds retained
   earnings. The capital stock ``K_t = (1 - delta) K_{t-1} + I_t / P^goods`` (real, base-period
   currency units; ``K_0`` the equity's value at the start, Tobin's q = 1) raises real output:
   ``Y_t = Y_0 (1 + g)^t (K_t / K_0)^alpha`` (``alpha = wealth.capital_elasticity``), so output per
   worker grows with AI capital while automation displaces routine workers.

**Initial wealth.** Net wealth across households hits the four group shares
``wealth.initial_share_*`` exactly: log-linear in rank within the bottom 50 %, the next 40 % and
the next 9 % (the log-mean of each group's end points is its mean), Pareto with exponent
``wealth.top_pareto_alpha`` within the top 1 % (Vermeulen 2018, *Review of Income and Wealth*
64(2): about 1.3 - 1.5 for US wealth), each group then scaled to its share exactly. Households hold
money up to a common ceiling chosen so that the money adds up to ``population.initial_balance``
per household (the poor hold only money, the rich mostly equity), and equity for the rest. With
``run.burn_in`` the economy runs that many ticks first, unreported; the same distribution is then
laid over the settled totals (money, units at the settled price, loans kept) and the capital stock
set to the steady state of the settled investment, so the reported run starts from consistent stocks
and flows.

This module owns the ``[wealth]`` section, the arrays ``order``, ``income`` and ``dividend``, the
share issuance and buyback counts (the identity: units held = units at the start + issued - bought
back) and the outputs by wealth group. Kernels: :mod:`spms_mc_kernels.wealth` (CPU only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import rng
from spms_mc_kernels import wealth as kernels
from spms_mc_kernels.economy import SHARE_MARGIN
from spms_mc_kernels.wealth import (
    BOTTOM50,
    G_DIVIDENDS,
    G_FIELDS,
    G_INCOME,
    G_SAVING,
    G_UNITS,
    GROUPS,
    NEXT9,
    NEXT40,
    TOP1,
)

from ..core.config import Bool, Float, ScenarioError, key
from ..core.registry import Identity, Mechanism, Output
from ..core.state import SINK, keyed_permutation

GROUP_NAMES = {TOP1: "top1", NEXT9: "next9", NEXT40: "next40", BOTTOM50: "bottom50"}
GROUP_LABELS = {TOP1: "top 1 %", NEXT9: "next 9 %", NEXT40: "next 40 %", BOTTOM50: "bottom 50 %"}
GROUP_POPULATION = {TOP1: 0.01, NEXT9: 0.09, NEXT40: 0.40, BOTTOM50: 0.50}
UNITS_PER_SHARE = 1_000_000  # units are millionths of a share: the mean household starts with one share
N_CHUNKS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class WealthConfig:
    """Saving into equity, the equity market, capital, returns by wealth (docs/model.md section 3a)."""

    enabled: bool = key(False, Bool, "wealth dynamics: saving into equity, an equity market with issuance and "
                                     "buybacks, a capital stock (needs economy.enabled)")
    saving_rate_bottom: float = key(0.0, Float(0, 1), "s_lo: saving rate out of disposable income at zero net wealth")
    saving_rate_top: float = key(0.5, Float(0, 1), "s_hi: saving rate approached at the top of the distribution "
                                                   "(fitted to 1989-2019: 0.5)")
    saving_wealth_scale: float = key(5.0, Float(0, lo_open=True),
                                     "x_half: net wealth (in multiples of the mean) at which the saving rate is "
                                     "half-way from s_lo to s_hi")
    price_impact: float = key(5.0, Float(0, 100), "M: demand-term multiplier of the equity price (Gabaix & Koijen "
                                                  "2021: about 5)")
    expectation_weight: float = key(0.25, Float(0, 1, lo_open=True),
                                    "lambda: weight of the latest dividend in the expected dividend per period")
    return_wealth_elasticity: float = key(0.1, Float(0, 1),
                                          "h: a unit's dividend weight is (1 + x)^h at net wealth x times the mean "
                                          "(0: equal returns; fitted to 1989-2019: 0.1; Fagereng et al. 2020)")
    owner_share_of_ai_profits: float = key(1.0, Float(0, 1),
                                           "share of the dividends automation adds that goes to equity holders; "
                                           "the rest is paid equally to every household")
    capital_depreciation: float = key(0.05, Float(0, 1), "delta: yearly depreciation of the capital stock")
    capital_elasticity: float = key(0.33, Float(0, 1, hi_open=True),
                                    "alpha: elasticity of real output to the capital stock")
    initial_share_top1: float = key(0.324, Float(0, 1), "top 1 %'s share of net wealth at the start "
                                                        "(DFA 2019Q2: 0.324)")
    initial_share_next9: float = key(0.370, Float(0, 1), "next 9 %'s share at the start (DFA 2019Q2: 0.370)")
    initial_share_next40: float = key(0.287, Float(0, 1), "next 40 %'s share at the start (DFA 2019Q2: 0.287)")
    initial_share_bottom50: float = key(0.019, Float(0, 1), "bottom 50 %'s share at the start (DFA 2019Q2: 0.019)")
    top_pareto_alpha: float = key(1.5, Float(1, 10, lo_open=True),
                                  "Pareto exponent of net wealth within the top 1 % at the start")


SHARE_KEYS = ("initial_share_top1", "initial_share_next9", "initial_share_next40", "initial_share_bottom50")


def initial_shares(w: WealthConfig) -> tuple[float, float, float, float]:
    return tuple(getattr(w, k) for k in SHARE_KEYS)


# ---------------------------------------------------------------------------------------------
# the initial distribution
# ---------------------------------------------------------------------------------------------
def log_mean(a: float, b: float) -> float:
    """Mean of ``a (b/a)^t`` over t in [0, 1]: the logarithmic mean of a and b."""
    return a if a == b else (b - a) / math.log(b / a)


def _lower_end(mean: float, upper: float) -> float:
    """The lower end a of a log-linear segment with upper end ``upper`` and mean ``mean`` (0 < mean
    < upper), by bisection on log a (the log-mean rises with a)."""
    lo, hi = math.log(upper) - 200.0, math.log(upper)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if log_mean(math.exp(mid), upper) < mean:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def wealth_profile(shares, alpha: float) -> tuple[float, float, float, float]:
    """Net wealth (in multiples of the mean) at the 0th, 50th, 90th and 99th percentiles of a
    profile that is log-linear within the lower three groups and Pareto(alpha) within the top 1 %,
    with each group's mean ``share / population share``. Raises :class:`ScenarioError` naming the
    keys when no such profile exists (a group's mean above the next group's lowest wealth)."""
    top1, next9, next40, bottom50 = shares
    total = top1 + next9 + next40 + bottom50
    keys = ", ".join(f"wealth.{k} = {v}" for k, v in zip(SHARE_KEYS, shares))
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(f"the initial wealth shares must add up to 1; got {keys} (sum {total:.6g})")
    if min(shares) <= 0:
        raise ScenarioError(f"every initial wealth share must be positive (net wealth starts non-negative); got "
                            f"{keys}")
    means = (top1 / 0.01, next9 / 0.09, next40 / 0.40, bottom50 / 0.50)
    v99 = means[0] * (alpha - 1.0) / alpha  # a Pareto tail from v99 has mean v99 alpha / (alpha - 1)
    ends = [v99]
    for mean, what in zip(means[1:], ("next9", "next40", "bottom50")):
        upper = ends[-1]
        if not mean < upper:
            raise ScenarioError(
                f"wealth.initial_share_{what} cannot be reached: its group's mean net wealth ({mean:.4g} x the "
                f"mean) is not below the lowest net wealth of the group above ({upper:.4g} x the mean, from "
                f"the shares above it and wealth.top_pareto_alpha = {alpha}); accepted: shares whose means "
                f"per household fall from group to group steeply enough, such as the DFA's ({keys})")
        ends.append(_lower_end(mean, upper))
    return ends[3], ends[2], ends[1], ends[0]


def group_bounds(H: int) -> list[tuple[int, int]]:
    """Rank ranges (poorest first) of the four groups, as the distribution statistics cut them:
    bottom 50 % = ranks below floor(0.5 H), top 1 % = ranks from floor(0.99 H)."""
    c50, c90, c99 = (H * 50) // 100, (H * 90) // 100, (H * 99) // 100
    return [(c99, H), (c90, c99), (c50, c90), (0, c50)]  # in the order TOP1, NEXT9, NEXT40, BOTTOM50


def wealth_by_rank(shares, alpha: float, H: int) -> np.ndarray:
    """Net wealth of ranks 0 .. H-1 (poorest first) as fractions of the total: the profile of
    :func:`wealth_profile` at the rank midpoints, each group scaled to its share exactly."""
    v0, v50, v90, v99 = wealth_profile(shares, alpha)
    q = (np.arange(H) + 0.5) / H
    w = np.empty(H)
    for (lo, hi), (a, b, qa, qb) in zip(group_bounds(H)[1:], ((v90, v99, 0.9, 0.99), (v50, v90, 0.5, 0.9),
                                                              (v0, v50, 0.0, 0.5))):
        t = (q[lo:hi] - qa) / (qb - qa)
        w[lo:hi] = a * (b / a) ** t
    lo, hi = group_bounds(H)[0]
    w[lo:hi] = v99 * ((1.0 - q[lo:hi]) / 0.01) ** (-1.0 / alpha)
    for (lo, hi), share in zip(group_bounds(H), shares):
        if hi > lo:
            w[lo:hi] *= share / w[lo:hi].sum()
    return w / w.sum()


def money_ceiling(wealth: np.ndarray, money: float) -> float:
    """The ceiling c with ``sum(min(wealth, c)) = money`` (0 <= money <= sum(wealth))."""
    lo, hi = 0.0, float(wealth.max())
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.minimum(wealth, mid).sum() < money:
            lo = mid
        else:
            hi = mid
    return hi


def lay_out_wealth(sc, key, balance, equity, loans, total_money: int, total_units: int, price: float) -> None:
    """Set each household's money and equity units so that net wealth (money + units x price -
    loans) hits the group shares of ``[wealth]``: the households' money adds up to about
    ``total_money`` and their units to about ``total_units`` (floors), loans are kept. Ranks come
    from a keyed permutation (the member's equity-rank stream)."""
    w = sc.wealth
    H = balance.shape[0]
    loan_total = int(loans.sum()) if loans.shape[0] else 0
    net_total = total_money + total_units * price - loan_total
    if net_total <= 0:
        raise ScenarioError(f"the households' net wealth is {net_total / sc.run.minor_units:.6g} currency units, "
                            f"so wealth.initial_share_* cannot be laid out (raise population.initial_balance)")
    ranks = keyed_permutation(np.uint64(rng.stream_key(key, 0, rng.STREAM_EQUITY_RANK)), H)
    target = wealth_by_rank(initial_shares(w), w.top_pareto_alpha, H)[ranks] * net_total
    gross = target + (loans.astype(np.float64) if loans.shape[0] else 0.0)
    money = np.floor(np.minimum(gross, money_ceiling(gross, min(total_money, float(gross.sum()))))).astype(np.int64)
    units = np.floor((gross - money) / price).astype(np.int64) if price > 0 else np.zeros(H, np.int64)
    balance[:] = money
    equity[:] = np.maximum(units, 0)


def check_wealth(sc) -> None:
    w = sc.wealth
    if not w.enabled:
        return
    if not sc.economy.enabled:
        raise ScenarioError("wealth.enabled needs economy.enabled = true (households save into the firms' equity)")
    if sc.run.backend != "cpu":
        raise ScenarioError(f"wealth.enabled runs on the CPU only; run.backend = {sc.run.backend!r} (accepted: 'cpu')")
    if w.saving_rate_bottom > w.saving_rate_top:
        raise ScenarioError(f"wealth.saving_rate_bottom = {w.saving_rate_bottom} exceeds wealth.saving_rate_top = "
                            f"{w.saving_rate_top}; the saving rate rises with wealth (accepted: bottom <= top)")
    wealth_profile(initial_shares(w), w.top_pareto_alpha)  # raises when the shares cannot be reached
    if sc.population.initial_balance <= 0:
        raise ScenarioError("wealth.enabled needs population.initial_balance > 0 (households start with money "
                            "beside their equity)")


# ---------------------------------------------------------------------------------------------
# the mechanism
# ---------------------------------------------------------------------------------------------
def _group_outputs() -> dict[str, Output]:
    out = {}
    for g, name in GROUP_NAMES.items():
        label = GROUP_LABELS[g]
        out[f"return_{name}"] = Output("1/year", f"mean return on the equity of the {label} of net wealth in the "
                                                 f"period settled last: (dividends + units x price change) / "
                                                 f"(units x price before), per year")
        out[f"saving_rate_{name}"] = Output("1", f"saving rate of the {label} of net wealth in the period settled "
                                                 f"last: (disposable income - planned spending) / disposable "
                                                 f"income, over the group")
    return out


class WealthDynamics(Mechanism):
    """Saving into equity, the equity market, capital and returns by wealth, inside the production
    economy's period start (which calls :meth:`settle` and :meth:`invest`)."""

    name = "wealth"
    order = 41
    sections = {"wealth": WealthConfig}
    unsweepable = ("wealth.enabled",)
    outputs = {
        "equity_price": Output("currency units per share", "price of one share of the equity index "
                                                           "(capitalised expected dividends x the demand term)"),
        "shares_outstanding": Output("shares", "shares of the equity index the households hold"),
        "shares_issued": Output("shares", "shares the firms issued to households during the interval"),
        "shares_bought_back": Output("shares", "shares the firms bought back from households during the interval"),
        "capital_stock": Output("base-period currency units", "the firms' real capital stock"),
        **_group_outputs(),
    }
    arrays = {"order": "equity order of the period (money; > 0 buy, < 0 sale), then the money that moved",
              "income": "disposable income of the period settled last",
              "dividend": "dividend of the period settled last"}
    cpu_kernels = {name: getattr(kernels, name) for name in ("weighted_units", "pay_and_save", "execute_orders",
                                                             "wealth_group_sums")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_wealth(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return 8 + 8 + 8

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        from .economy import period_rate, projected_equity_value

        H = sc.population.households
        for name in ("order", "income", "dividend"):
            state.add_array(name, np.zeros(H, np.int64))
        total_units = int(state.equity.sum())
        value = sc.minor(projected_equity_value(sc))
        price = value / total_units if total_units else 0.0
        if not price > 0 or period_rate(sc) <= 0:
            raise ScenarioError("wealth.enabled needs equity with a positive value at the start: the economy must "
                                "project positive dividends (economy.labour_share_start < 1, economy.retention < 1)")
        loans = state.loans[:H] if state.loans.shape[0] else state.loans
        lay_out_wealth(sc, key, state.balance[:H], state.equity, loans, int(state.balance[:H].sum()), total_units,
                       price)

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["wealth.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc, st = self.sc, self.state
        w = sc.wealth
        self.cfg = w
        self.H, self.F = st.n_households, st.n_firms
        self.burn_in = sc.run.burn_in
        self.partial_units = np.zeros(N_CHUNKS)
        self.partial_groups = np.zeros((N_CHUNKS, GROUPS, G_FIELDS), np.int64)
        self.units_start = int(self.backend.sum_int64(st.equity))
        self.issued = 0
        self.bought_back = 0
        self.interval_issued = 0
        self.interval_bought_back = 0
        self.economy = None
        self.holders = []  # institutional holders beside the households (the fund, the citizen pool): they bind
        # mechanisms that take part of the households' buy orders (the citizen pool, infrastructure
        # bonds), in tick order: each has ``subscribe(order) -> money paid in``
        self.subscribers = []
        # units that reached household accounts other than through the market (CETE tokens issued
        # on purchases, vested ESOP units the plan hands over), by source
        self.received = {}
        self.issued_to = {}  # units issued on the market to each institutional holder, by name
        self.scrip = 0  # units issued to the fund as scrip
        self.settled = False  # whether a period start settled since the run (or its reported part) began
        self.price = 0.0
        self.price_before = 0.0
        self.expected = 0.0
        self.rate_p = 0.0
        self.capital = 0.0
        self.capital_start = 0.0  # set by the first investment
        self.capital_equity = 0.0
        self.last_investment = 0.0
        years_per_period = sc.run.period / sc.economy.ticks_per_year
        self.keep_capital = (1.0 - w.capital_depreciation) ** years_per_period
        self.periods_per_year = 1.0 / years_per_period

    def bind(self, others) -> None:
        from .economy import period_rate

        eco = others["economy"]
        self.economy = eco
        eco.market = self
        self.rate_p = period_rate(self.sc)
        self.price = self.price_before = eco.equity_price
        self.expected = self.price * self.rate_p
        self.capital_equity = self.price * self.units_start / self.sc.run.minor_units

    @property
    def units(self) -> int:
        """Units the households hold."""
        return self.units_start + self.issued - self.bought_back + sum(self.received.values())

    def receive(self, source: str, units: int) -> None:
        """Count ``units`` a mechanism put into household accounts outside the market (the caller
        adds them to the ``equity`` array)."""
        self.received[source] = self.received.get(source, 0) + int(units)

    @property
    def all_units(self) -> int:
        """Units outstanding: the households' and the institutional holders'."""
        return self.units + sum(h.units for h in self.holders)

    def sell_to_holder(self, holder: str, amount: int) -> tuple[int, int]:
        """The firm sector issues an institutional holder units for at most ``amount`` at the market
        price (the rule of a household buy); the money goes to the firms by size. Returns (units,
        cost)."""
        from spms_mc_kernels.wealth import buy_units

        from .economy import split_by_weight

        units, cost = buy_units(np.int64(amount), self.price)
        if cost:
            self.backend.add_range(self.state.balance, self.H, split_by_weight(int(cost), self.economy.weights))
        self.issued_to[holder] = self.issued_to.get(holder, 0) + int(units)
        return int(units), int(cost)

    def identities(self) -> list[Identity]:
        return [Identity("wealth: equity units held = units at the start + issued - bought back + received "
                         "outside the market", "units the households hold",
                         lambda: int(self.backend.sum_int64(self.state.equity)),
                         "units at the start + issued - bought back + received", lambda: self.units)]

    # -- inside the economy's period start ---------------------------------------------------
    def settle(self, tick, *, wage_bill, weight_sum, skill_weight, displacement, firm_factor, skey_displacement,
               pool, ai_pool, tax_rate, a1, a2, subsistence):
        """Pay wages and dividends, set plans and orders, price the equity and execute the orders;
        returns (wages, dividends, tax, planned spending) in total."""
        st, b, w, H = self.state, self.backend, self.cfg, self.H
        eco = self.economy
        loans = st.loans[:H] if eco.bank is not None else st.loans
        price, units = self.price, self.units
        money = int(b.sum_int64(st.balance[:H]))
        loan_total = int(b.sum_int64(loans)) if loans.shape[0] else 0
        net_total = money + math.floor(units * price) - loan_total
        inv_mean = H / net_total if net_total > 0 else 0.0
        self.settled = tick > 0
        outstanding = self.all_units
        held_part = sum(h.take_dividend(pool, outstanding) for h in self.holders)  # pro rata to their units
        flat = min(math.floor((1.0 - w.owner_share_of_ai_profits) * ai_pool), pool - held_part) // H
        owners_pool = pool - held_part - flat * H
        h = w.return_wealth_elasticity
        if h > 0:
            b.weighted_units(st.balance[:H], st.equity, loans, price, inv_mean, h, self.partial_units)
            weighted = float(sum(self.partial_units))  # chunks added in order: the same bits on any thread count
        else:
            weighted = float(units)
        inv_weighted = SHARE_MARGIN / weighted if weighted > 0 else 0.0
        s_lo, s_hi = w.saving_rate_bottom, w.saving_rate_top
        wages, dividends, taxes, planned, buys, sells, sellers = b.pay_and_save(
            st.balance[:H], st.plan, st.order, st.income, st.dividend, st.kind, st.employer, st.equity, loans,
            skill_weight, displacement, firm_factor, skey_displacement, wage_bill, weight_sum,
            np.float64(owners_pool), inv_weighted, np.int64(flat), tax_rate, a1, a2, subsistence, price, inv_mean, h,
            s_lo, s_hi, w.saving_wealth_scale)
        if tick >= self.burn_in:  # part of the buy orders goes into the pool or bonds instead
            for subscriber in self.subscribers:
                buys -= subscriber.subscribe(st.order)
        # the price: capitalised expected dividends, times the demand term
        if tick > 0 and outstanding > 0:
            self.expected += w.expectation_weight * ((owners_pool + held_part) / outstanding - self.expected)
        demand = 0.0
        if outstanding > 0 and price > 0:
            demand = max(-1.0, min(1.0, w.price_impact * (buys - sells) / (price * outstanding)))
        new_price = self.expected / self.rate_p * math.exp(demand)
        self.price_before, self.price = price, new_price
        eco.equity_price = new_price
        if new_price > 0 and (buys or sells):
            self._execute(new_price, buys, sells, sellers)
        return wages, dividends + held_part, taxes, planned

    def _execute(self, price, buys, sells, sellers) -> None:
        st, b, H, F = self.state, self.backend, self.H, self.F
        have = b.read_range(st.balance, H, H + F)
        capacity = int(have.sum()) - F  # what the firms can pay for buybacks, less a minor unit per firm
        # the most the roundings can move: a sale gets less than P + 1 above its value, a buy pays
        # less than 2 P + 2 below its order (floor of units, one fewer when float rounding demands)
        slack = (sellers + self.H) * (2.0 * price + 2.0)
        grant = 1.0 if sells == 0 else max(0.0, min(1.0, (capacity + buys - slack) / sells))
        cost, proceeds, bought, sold = b.execute_orders(st.balance[:H], st.equity, st.order, price, grant)
        net = int(cost) - int(proceeds)
        if net > 0:  # issuance proceeds beyond the buybacks, to the firms by size
            from .economy import split_by_weight

            b.add_range(st.balance, H, split_by_weight(net, self.economy.weights))
        elif net < 0:
            b.write_range(st.balance, H, have - take_from(have, -net))
        self.issued += int(bought)
        self.bought_back += int(sold)
        self.interval_issued += int(bought)
        self.interval_bought_back += int(sold)

    def invest(self, invested: int, price_level: float) -> None:
        """The firms invested ``invested`` (minor units) at the period start: the capital stock grows.
        The first investment sets the stock the economy starts with: the steady state of that
        investment, ``I / (1 - keep)`` per period (the equity's value when nothing depreciates)."""
        real = invested / self.sc.run.minor_units / price_level if price_level > 0 else 0.0
        self.last_investment = real
        if self.capital_start == 0.0 and real > 0:
            self.capital = real / (1.0 - self.keep_capital) if self.keep_capital < 1.0 else self.capital_equity
            self.capital_start = self.capital
        else:
            self.capital = self.keep_capital * self.capital + real

    def output_factor(self) -> float:
        """(K / K_0)^alpha: how much the capital stock raises real output."""
        if self.capital_start <= 0 or self.capital <= 0:
            return 1.0
        return (self.capital / self.capital_start) ** self.cfg.capital_elasticity

    def end_burn_in(self) -> None:
        """Lay the requested distribution over the totals the burn-in settled (units at the settled
        price); the capital stock's reference is the settled one."""
        st, H = self.state, self.H
        loans = st.loans[:H] if self.economy.bank is not None else st.loans
        total_money = int(self.backend.sum_int64(st.balance[:H]))
        balance, equity = st.balance[:H].copy(), st.equity.copy()
        lay_out_wealth(self.sc, self.key, balance, equity, loans, total_money, self.units, self.price)
        st.institutions[SINK] += total_money - int(balance.sum())
        self.backend.write_range(st.balance, 0, balance)
        self.backend.write_range(st.equity, 0, equity)
        self.units_start, self.issued, self.bought_back = int(equity.sum()), 0, 0
        self.received = {}
        self.interval_issued = self.interval_bought_back = 0
        if self.last_investment > 0 and self.keep_capital < 1.0:  # the steady state of the settled investment
            self.capital = self.last_investment / (1.0 - self.keep_capital)
        self.capital_start = self.capital
        self.settled = False

    # -- outputs -----------------------------------------------------------------------------
    def sample(self) -> dict[str, float]:
        minor = self.sc.run.minor_units
        out = {"equity_price": self.price * UNITS_PER_SHARE / minor,
               "shares_outstanding": self.units / UNITS_PER_SHARE,
               "shares_issued": self.interval_issued / UNITS_PER_SHARE,
               "shares_bought_back": self.interval_bought_back / UNITS_PER_SHARE,
               "capital_stock": self.capital}
        self.interval_issued = self.interval_bought_back = 0
        return out

    def sample_by_wealth(self, net_wealth: np.ndarray, cutoffs: tuple[int, int, int]) -> dict[str, float]:
        """Returns and saving rates of the four wealth groups (households grouped by the net-wealth
        cutoffs of the sample: the values at ranks floor(0.5 H), floor(0.9 H), floor(0.99 H))."""
        if not self.settled:  # no period of the reported run settled yet
            return {f"{kind}_{name}": math.nan for kind in ("return", "saving_rate") for name in GROUP_NAMES.values()}
        st = self.state
        self.backend.wealth_group_sums(net_wealth, *cutoffs, st.income, st.plan, st.dividend, st.equity,
                                       self.partial_groups)
        sums = self.partial_groups.sum(axis=0)
        out = {}
        change = self.price - self.price_before
        for g, name in GROUP_NAMES.items():
            income, units = sums[g, G_INCOME], sums[g, G_UNITS]
            value = units * self.price_before
            gain = sums[g, G_DIVIDENDS] + units * change
            out[f"return_{name}"] = gain / value * self.periods_per_year if value > 0 else math.nan
            out[f"saving_rate_{name}"] = sums[g, G_SAVING] / income if income > 0 else math.nan
        return out


def take_from(have: np.ndarray, amount: int) -> np.ndarray:
    """What each firm pays of ``amount`` (<= what they hold, less one minor unit each), pro rata to
    its cash ``have``: exact integer shares, the remainder from the firms with the most left."""
    total = int(have.sum())
    part = np.array([amount * int(h) // total for h in have], np.int64)
    rest = amount - int(part.sum())
    for f in np.argsort(-(have - part), kind="stable"):
        if rest <= 0:
            break
        step = min(rest, int(have[f] - part[f]))
        part[f] += step
        rest -= step
    if rest:
        raise RuntimeError(f"the firms cannot pay {amount} minor units of buybacks out of {total}")
    return part
