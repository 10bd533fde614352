"""Household saving into equity, the equity market and wealth-group sums on arrays (docs/model.md
section 3a).

Households ``0 .. H-1`` hold money (``balance``), units of the equity index (``equity``) and, with
bank credit, a loan. Net wealth before this period's income is ``w_i = balance_i + floor(units_i P)
- loan_i``; ``x_i = max(w_i, 0) / mean(w)`` is wealth relative to the mean.

Rules (every one in exact integer money; docs/model.md section 3a gives the sources):

* return weight (Fagereng, Guiso, Malacrino & Pistaferri 2020): ``omega_i = (1 + x_i)^h``; a unit
  held by household i earns ``omega_i`` times the dividend of a unit held at ``x = 0``. The pool
  is split as ``floor(pool * units_i * omega_i * inv)`` with ``inv = SHARE_MARGIN / sum_j units_j
  omega_j`` (the sum taken over fixed chunks in a fixed order, so it is the same bits on any
  thread count); the floors never add up to more than the pool, the rest goes to the sink;
* saving rate rising with wealth: ``s_i = s_lo + (s_hi - s_lo) x_i / (x_i + x_half)``; the
  household means to buy equity for ``floor(s_i YD_i)`` (YD: disposable income, dividends
  included, so they are reinvested by the same rule);
* spending plan (Godley & Lavoie's consumption function on what is not saved):
  ``C_i = max(floor(a1 (YD_i - save_i) + a2 H_i), subsistence)``, ``H_i`` the balance before the
  income;
* order: with ``room = H_i + YD_i - C_i`` the money left after the plan, a buy of ``min(save_i,
  room)`` when ``room >= 0``, else a sale worth ``min(-room, floor(units_i P))`` (equity is sold to
  finance spending when money runs short, before any borrowing);
* execution at price P (minor units per unit, float64): a buy of money ``a`` gets ``u =
  floor(a / P)`` units and pays ``ceil(u P)`` (never more than ``a``; the fraction of a minor unit
  rounded up is the issuer's); a sale of money ``v`` gives up ``u = min(units_i, ceil(v / P))``
  units and receives ``floor(u P)``. The counterparty of every trade is the firm sector, which
  issues the units bought and buys back the units sold; the caller books the money on the firms'
  accounts and the units in the issuance and buyback counts.
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel
from .economy import chunk_bounds, is_employed

GROUPS = 4  # top 1 %, next 9 %, next 40 %, bottom 50 % (the Fed's Distributional Financial Accounts)
TOP1, NEXT9, NEXT40, BOTTOM50 = 0, 1, 2, 3
# per-group sums of wealth_group_sums: households, disposable income, saving, dividends, units
G_COUNT, G_INCOME, G_SAVING, G_DIVIDENDS, G_UNITS = 0, 1, 2, 3, 4
G_FIELDS = 5


@kernel
def relative_wealth(money, units, loan, price, inv_mean_wealth):
    """``max(w, 0) / mean(w)`` of a household with net wealth ``w = money + floor(units P) - loan``."""
    w = money + np.int64(math.floor(units * price)) - loan
    if w <= 0:
        return 0.0
    return w * inv_mean_wealth


@kernel
def return_weight(x, h):
    """omega = (1 + x)^h: the dividend weight of a unit held at relative wealth x (1 when h = 0)."""
    if h == 0.0:
        return 1.0
    return (1.0 + x) ** h


@kernel
def loan_of(loans, i):
    if loans.shape[0] > 0:
        return loans[i]
    return np.int64(0)


@kernel(parallel=True)
def weighted_units(balance, equity, loans, price, inv_mean_wealth, h, partial):
    """``partial[c]`` = sum of ``units_i * omega_i`` over the households of chunk c (the caller adds
    the chunks in order)."""
    n = equity.shape[0]
    n_chunks = partial.shape[0]
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(c, n_chunks, n)
        s = 0.0
        for i in range(lo, hi):
            if equity[i] > 0:
                x = relative_wealth(balance[i], equity[i], loan_of(loans, i), price, inv_mean_wealth)
                s += equity[i] * return_weight(x, h)
        partial[c] = s


@kernel
def pay_and_save_household(i, balance, plan, order, income_out, dividend_out, kind, employer, equity, loans,
                           skill_weight, displacement, firm_factor, skey_displacement, wage_bill, weight_sum,
                           dividend_pool, inv_weighted_units, flat_dividend, tax_rate, a1, a2, subsistence, price,
                           inv_mean_wealth, h, s_lo, s_hi, x_half):
    """Household i's period start with saving (the rule of :func:`pay_and_save`). Returns (wage,
    dividend, tax, plan, buy order, sell order)."""
    k = kind[i]
    f = employer[i]
    wage = np.int64(0)
    if weight_sum[f] > 0 and is_employed(k, i, firm_factor[f], displacement, skey_displacement):
        wage = (wage_bill[f] * skill_weight[k]) // weight_sum[f]
    before = balance[i]
    x = relative_wealth(before, equity[i], loan_of(loans, i), price, inv_mean_wealth)
    div = flat_dividend
    if dividend_pool > 0 and equity[i] > 0:
        div += np.int64(math.floor(dividend_pool * (equity[i] * return_weight(x, h) * inv_weighted_units)))
    gross = wage + div
    tax = np.int64(math.floor(tax_rate * gross))
    income = gross - tax
    rate = s_lo + (s_hi - s_lo) * (x / (x + x_half))
    save = np.int64(math.floor(rate * income))
    want = max(np.int64(math.floor(a1 * (income - save) + a2 * before)), subsistence)
    after = before + income
    room = after - want
    buy = np.int64(0)
    sell = np.int64(0)
    if room >= 0:
        buy = min(save, room)
        order[i] = buy
    else:
        sell = min(-room, np.int64(math.floor(equity[i] * price)))
        order[i] = -sell
    plan[i] = want
    balance[i] = after
    income_out[i] = income
    dividend_out[i] = div
    return wage, div, tax, want, buy, sell


@kernel(parallel=True)
def pay_and_save(balance, plan, order, income_out, dividend_out, kind, employer, equity, loans, skill_weight,
                 displacement, firm_factor, skey_displacement, wage_bill, weight_sum, dividend_pool,
                 inv_weighted_units, flat_dividend, tax_rate, a1, a2, subsistence, price, inv_mean_wealth, h, s_lo,
                 s_hi, x_half):
    """Pay wages and dividends, withhold tax, set each household's spending plan and its equity order.

    Wages as :func:`spms_mc_kernels.economy.pay_households`; dividends weighted by wealth (module
    docstring) plus ``flat_dividend`` to every household; ``order[i]`` > 0 is a buy for that much
    money, < 0 a sale for that much. ``income_out`` and ``dividend_out`` keep each household's
    disposable income and dividend of the period (the outputs by wealth group). Returns (wages,
    dividends, tax, planned spending, buy orders, sell orders, sellers) in total.
    """
    wages = np.int64(0)
    dividends = np.int64(0)
    taxes = np.int64(0)
    planned = np.int64(0)
    buys = np.int64(0)
    sells = np.int64(0)
    sellers = np.int64(0)
    for i in prange(plan.shape[0]):
        wage, div, tax, want, buy, sell = pay_and_save_household(
            i, balance, plan, order, income_out, dividend_out, kind, employer, equity, loans, skill_weight,
            displacement, firm_factor, skey_displacement, wage_bill, weight_sum, dividend_pool, inv_weighted_units,
            flat_dividend, tax_rate, a1, a2, subsistence, price, inv_mean_wealth, h, s_lo, s_hi, x_half)
        wages += wage
        dividends += div
        taxes += tax
        planned += want
        buys += buy
        sells += sell
        if sell > 0:
            sellers += 1
    return wages, dividends, taxes, planned, buys, sells, sellers


@kernel
def buy_units(amount, price):
    """(units, cost) of a buy for at most ``amount``: ``u = floor(amount / P)`` units (one fewer
    while float rounding would make ``ceil(u P)`` exceed the amount), cost ``ceil(u P)``."""
    u = np.int64(math.floor(amount / price))
    cost = np.int64(math.ceil(u * price))
    while u > 0 and cost > amount:
        u -= 1
        cost = np.int64(math.ceil(u * price))
    return u, cost


@kernel
def sell_units(value, units, price):
    """(units, proceeds) of a sale worth ``value``: ``u = min(units, ceil(value / P))``, proceeds
    ``floor(u P)``."""
    u = np.int64(math.ceil(value / price))
    u = min(u, units)
    return u, np.int64(math.floor(u * price))


@kernel(parallel=True)
def execute_orders(balance, equity, order, price, grant_sell):
    """Execute every household's order at price P against the firm sector (module docstring).

    Buys are cut to the balance; sales are scaled by ``grant_sell`` (< 1 when the firms' cash
    cannot buy back all that is offered). ``order[i]`` becomes the money that moved (a buy's cost,
    minus a sale's proceeds). Returns (cost of buys, proceeds of sales, units bought, units sold).
    """
    cost_total = np.int64(0)
    proceeds_total = np.int64(0)
    bought = np.int64(0)
    sold = np.int64(0)
    for i in prange(order.shape[0]):
        o = order[i]
        if o > 0:
            amount = min(o, balance[i])
            u, cost = buy_units(amount, price)
            balance[i] -= cost
            equity[i] += u
            order[i] = cost
            cost_total += cost
            bought += u
        elif o < 0:
            value = -o
            if grant_sell < 1.0:
                value = np.int64(math.floor(value * grant_sell))
            u, proceeds = sell_units(value, equity[i], price)
            balance[i] += proceeds
            equity[i] -= u
            order[i] = -proceeds
            proceeds_total += proceeds
            sold += u
    return cost_total, proceeds_total, bought, sold


@kernel
def wealth_group(w, cut50, cut90, cut99):
    if w >= cut99:
        return TOP1
    if w >= cut90:
        return NEXT9
    if w >= cut50:
        return NEXT40
    return BOTTOM50


@kernel(parallel=True)
def wealth_group_sums(net_wealth, cut50, cut90, cut99, income, plan, dividend, equity, partial):
    """``partial[c, g, :]`` = (households, disposable income, saving = income - plan, dividends,
    units) of wealth group g among the households of chunk c. A household belongs to the highest
    group whose cutoff its net wealth reaches (ties at a cutoff go up)."""
    n = net_wealth.shape[0]
    n_chunks = partial.shape[0]
    for c in prange(n_chunks):
        partial[c, :, :] = 0
        lo, hi = chunk_bounds(c, n_chunks, n)
        for i in range(lo, hi):
            g = wealth_group(net_wealth[i], cut50, cut90, cut99)
            partial[c, g, G_COUNT] += 1
            partial[c, g, G_INCOME] += income[i]
            partial[c, g, G_SAVING] += income[i] - plan[i]
            partial[c, g, G_DIVIDENDS] += dividend[i]
            partial[c, g, G_UNITS] += equity[i]


@kernel
def kth_of_runs(a, b, k):
    """The k-th smallest (0-based) of the values of two ascending runs ``a`` and ``b``, by bisection
    on the number taken from ``a``."""
    na, nb = a.shape[0], b.shape[0]
    lo = max(0, k + 1 - nb)
    hi = min(k + 1, na)
    while lo < hi:  # i values from a, k + 1 - i from b
        i = (lo + hi) >> 1
        if a[i] < b[k - i]:
            lo = i + 1
        else:
            hi = i
    i = lo
    j = k + 1 - i
    best_a = a[i - 1] if i > 0 else np.iinfo(np.int64).min
    best_b = b[j - 1] if j > 0 else np.iinfo(np.int64).min
    return max(best_a, best_b)
