"""The production economy and bank credit on arrays (docs/model.md sections 3 and 4).

Households ``0 .. H-1`` carry a type (``AI_COMPLEMENTARY``, ``ROUTINE``, ``UNEMPLOYED``), an
employer (a firm index), units of the economy-wide equity index, a planned spending for the
period and, with bank credit, a loan principal. Firms are few (F ~ 10^3): their per-firm sums are
kept per chunk of households (``partial[chunk, firm]``) and added up by the caller, so no atomics
are needed and, the sums being integers, the result does not depend on thread count.

Rounding rules (every one leaves money in some account; nothing is lost):

* wages: firm f's bill ``W_f`` is split by skill weight, ``floor(W_f * s_i / S_f)`` in exact integer
  arithmetic; what the floors leave goes to the rounding sink (the economy mechanism books it there);
* dividends: ``floor(pool * e_i / E)`` computed in float64 with a relative margin of 1e-12 below the
  exact quotient, so the floors can never add up to more than the pool; the rest goes to the sink;
* tax: ``floor(theta * gross)`` withheld at source;
* planned spending (Godley & Lavoie 2007, *Monetary Economics*, ch. 3, model SIM):
  ``C = max(floor(a1 * YD + a2 * H_{-1}), subsistence)`` with ``H_{-1}`` the balance before this
  period's income; it
  is spent in ``period`` exact integer slices ``floor(C (k+1)/period) - floor(C k/period)``;
* loans: interest ``floor(rate * L)``, principal instalment ``ceil(L / maturity)`` (amortisation on
  the declining balance).
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel
from .rng import draw_uniform

AI_COMPLEMENTARY = 0
ROUTINE = 1
UNEMPLOYED = 2
SHARE_MARGIN = 1.0 - 1e-12  # keeps float pro-rata shares strictly below the exact quotient


@kernel
def pick_firm(cdf, u):
    """Index of the first entry of the ascending ``cdf`` (last entry 1.0) above u: ``searchsorted
    (cdf, u, 'right')`` by bisection."""
    lo = 0
    hi = cdf.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@kernel
def pick_firm_guided(cdf, guide, u):
    """:func:`pick_firm` in O(1) expected steps with a guide table (Chen & Asau 1974): ``guide[j]``
    is the first index whose cdf exceeds ``j / m`` (``m = len(guide)``, :func:`guide_table`), so the
    answer for u is found by a short scan from ``guide[floor(u m)]``. The same index as the
    bisection for every u: the scan steps back first should float rounding have put ``floor(u m)
    / m`` above u."""
    m = guide.shape[0]
    j = np.int64(u * m)
    if j >= m:
        j = m - 1
    i = guide[j]
    while i > 0 and cdf[i - 1] > u:
        i -= 1
    while cdf[i] <= u:
        i += 1
    return i


def guide_table(cdf, m: int):
    """The guide table of :func:`pick_firm_guided`: ``searchsorted(cdf, j / m, 'right')``, j < m."""
    return np.searchsorted(cdf, np.arange(m) / m, side="right").astype(np.int64)


@kernel
def is_employed(kind, i, firm_factor, displacement, skey_displacement):
    """A household works unless it is unemployed by type or a displaced routine worker: routine
    worker i of a firm with AI factor ``firm_factor`` is displaced while ``u_i < displacement *
    firm_factor`` (u_i fixed per household, so displacement only grows while ``displacement`` does)."""
    if kind == UNEMPLOYED:
        return False
    if kind == ROUTINE and displacement > 0.0:
        return draw_uniform(skey_displacement, i) >= displacement * firm_factor
    return True


@kernel
def chunk_bounds(c, n_chunks, n):
    return (c * n) // n_chunks, ((c + 1) * n) // n_chunks


@kernel(parallel=True)
def employment_weights(kind, employer, skill_weight, displacement, firm_factor, skey_displacement, partial):
    """``partial[c, f]`` = skill weight employed at firm f among the households of chunk c.

    Returns the number of households without work (unemployed by type or displaced).
    """
    n = kind.shape[0]
    n_chunks = partial.shape[0]
    jobless = np.int64(0)
    for c in prange(n_chunks):
        partial[c, :] = 0
        lo, hi = chunk_bounds(c, n_chunks, n)
        for i in range(lo, hi):
            k = kind[i]
            f = employer[i]
            if is_employed(k, i, firm_factor[f], displacement, skey_displacement):
                partial[c, f] += skill_weight[k]
            else:
                jobless += 1
    return jobless


@kernel(parallel=True)
def mark_jobless(kind, employer, firm_factor, displacement, skey_displacement, out):
    """``out[i]`` = 1 for every household without work (unemployed by type or displaced), else 0."""
    for i in prange(kind.shape[0]):
        out[i] = 0 if is_employed(kind[i], i, firm_factor[employer[i]], displacement, skey_displacement) else 1


@kernel(parallel=True)
def pay_benefits(balance, kind, employer, firm_factor, displacement, skey_displacement, benefit):
    """Credit ``benefit`` to every household without work (unemployed by type or displaced); returns
    the total paid (government money created, like Godley & Lavoie's government spending)."""
    paid = np.int64(0)
    for i in prange(kind.shape[0]):
        if not is_employed(kind[i], i, firm_factor[employer[i]], displacement, skey_displacement):
            balance[i] += benefit
            paid += benefit
    return paid


@kernel
def pay_household(i, balance, plan, kind, employer, equity, skill_weight, displacement, firm_factor,
                  skey_displacement, wage_bill, weight_sum, dividend_pool, inv_units, tax_rate, a1, a2, subsistence):
    """Household i's period start (the rule of :func:`pay_households`, shared with its CUDA twin):
    credits its income, sets its plan and returns (wage, dividend, tax, planned spending)."""
    k = kind[i]
    f = employer[i]
    wage = np.int64(0)
    if weight_sum[f] > 0 and is_employed(k, i, firm_factor[f], displacement, skey_displacement):
        wage = (wage_bill[f] * skill_weight[k]) // weight_sum[f]
    div = np.int64(0)
    if dividend_pool > 0:
        div = np.int64(math.floor(dividend_pool * (equity[i] * inv_units)))
    gross = wage + div
    tax = np.int64(math.floor(tax_rate * gross))
    income = gross - tax
    before = balance[i]
    want = max(np.int64(math.floor(a1 * income + a2 * before)), subsistence)
    plan[i] = want
    balance[i] = before + income
    return wage, div, tax, want


@kernel(parallel=True)
def pay_households(balance, plan, kind, employer, equity, skill_weight, displacement, firm_factor,
                   skey_displacement, wage_bill, weight_sum, dividend_pool, inv_units, tax_rate, a1, a2,
                   subsistence):
    """Pay wages and dividends to every household, withhold tax, and set the period's spending plan.

    The plan is at least ``subsistence`` (what a household must spend, borrowing it if bank credit
    lets it). Wage of i at firm f: ``wage_bill[f] * s_i // weight_sum[f]``; dividend: ``floor(dividend_pool *
    equity[i] * inv_units)`` with ``inv_units = SHARE_MARGIN / E``. Returns (wages, dividends, tax,
    planned spending) in total; the caller books what the floors left.
    """
    wages = np.int64(0)
    dividends = np.int64(0)
    taxes = np.int64(0)
    planned = np.int64(0)
    for i in prange(plan.shape[0]):
        wage, div, tax, want = pay_household(i, balance, plan, kind, employer, equity, skill_weight, displacement,
                                             firm_factor, skey_displacement, wage_bill, weight_sum, dividend_pool,
                                             inv_units, tax_rate, a1, a2, subsistence)
        wages += wage
        dividends += div
        taxes += tax
        planned += want
    return wages, dividends, taxes, planned


@kernel
def borrow_to_pay(want, b, lend, grant):
    """What an account with balance b pays of ``want``, and the loan it takes for it: with ``lend``
    the shortfall is borrowed (all of it when ``grant >= 1``, else ``floor(shortfall * grant)``);
    what is still missing is not paid. Returns (paid, loan)."""
    loan = np.int64(0)
    if want > b and lend:
        short = want - b
        loan = short if grant >= 1.0 else np.int64(math.floor(short * grant))
    return min(want, b + loan), loan


@kernel
def period_slice(plan, k, period):
    """Slice k of ``plan`` spread over ``period`` ticks: the slices add up to plan exactly."""
    return (plan * (k + 1)) // period - (plan * k) // period


@kernel(parallel=True)
def spending_shortfall(balance, plan, k, period):
    """Total by which this tick's spending slices exceed the balances (the credit demand); with
    ``k = 0, period = 1`` the slices are ``plan`` itself (a replayed tick's debits)."""
    short = np.int64(0)
    for i in prange(balance.shape[0]):
        s = period_slice(plan[i], k, period) - balance[i]
        if s > 0:
            short += s
    return short


@kernel(parallel=True)
def consume(balance, plan, loans, k, period, lend, grant, cdf, guide, skey_choice, partial):
    """Tick k of the period: each household spends its slice of the plan at a firm drawn with
    probability proportional to size (``cdf``, searched through its ``guide`` table); the amounts
    land in ``partial[chunk, firm]``.

    A slice above the balance is cut to the balance, unless ``lend``: then the shortfall is
    borrowed (``loans[i]`` grows, the deposit is created) - all of it when ``grant >= 1``, else
    ``floor(shortfall * grant)`` (credit rationed pro rata by the bank's capital). Returns (spent,
    borrowed).
    """
    n = balance.shape[0]
    n_chunks = partial.shape[0]
    spent = np.int64(0)
    borrowed = np.int64(0)
    for c in prange(n_chunks):
        partial[c, :] = 0
        lo, hi = chunk_bounds(c, n_chunks, n)
        for i in range(lo, hi):
            want = period_slice(plan[i], k, period)
            if want <= 0:
                continue
            pay, loan = borrow_to_pay(want, balance[i], lend, grant)
            if loan > 0:
                loans[i] += loan
                borrowed += loan
            balance[i] += loan - pay
            if pay > 0:
                partial[c, pick_firm_guided(cdf, guide, draw_uniform(skey_choice, i))] += pay
                spent += pay
    return spent, borrowed


@kernel
def credit_limit(i, limit, spread, skey_limit):
    """Account i's credit limit: ``limit``, or with ``spread`` > 0 ``floor(limit (1 - spread + 2
    spread u_i))``, u_i fixed per account (lenders' limits differ by borrower)."""
    if spread == 0.0:
        return limit
    return np.int64(math.floor(limit * (1.0 - spread + 2.0 * spread * draw_uniform(skey_limit, i))))


@kernel
def service_loan(i, balance, loans, rate, maturity, limit, spread, skey_limit):
    """Account i's loan at a period start (the rule of :func:`service_loans`, shared with its CUDA
    twin). Returns (interest, repaid, refinanced, recovered, written off, defaults) of account i."""
    zero = np.int64(0)
    L = loans[i]
    if L <= 0:
        return zero, zero, zero, zero, zero, zero
    limit = credit_limit(i, limit, spread, skey_limit)
    due_interest = np.int64(math.floor(rate * L))
    due_principal = (L + maturity - 1) // maturity
    due = due_interest + due_principal
    b = balance[i]
    if b >= due:
        balance[i] = b - due
        loans[i] = L - due_principal
        return due_interest, due_principal, zero, zero, zero, zero
    if L - due_principal + (due - b) <= limit:
        balance[i] = 0
        loans[i] = L - due_principal + (due - b)
        return due_interest, due_principal, due - b, zero, zero, zero
    balance[i] = 0
    loans[i] = 0
    return zero, zero, zero, b, L, np.int64(1)


@kernel(parallel=True)
def service_loans(balance, loans, lo, hi, rate, maturity, limit, spread, skey_limit):
    """Interest and principal instalment of every loan in accounts ``lo .. hi-1``.

    A borrower pays ``floor(rate L) + ceil(L / maturity)`` from its balance. One that cannot pay in
    full borrows the rest again (refinancing) if the new principal stays within its credit limit
    (:func:`credit_limit`);
    otherwise it defaults: the bank seizes its whole balance (a recovery) and writes the loan off.

    Returns (interest, principal repaid, refinanced, recovered, written off, defaults): the ledger
    books interest, repayment and recovered as destroyed money and refinanced as created money.
    """
    interest = np.int64(0)
    repaid = np.int64(0)
    refinanced = np.int64(0)
    recovered = np.int64(0)
    written_off = np.int64(0)
    defaults = np.int64(0)
    for i in prange(lo, hi):
        a, r, f, c, w, d = service_loan(i, balance, loans, rate, maturity, limit, spread, skey_limit)
        interest += a
        repaid += r
        refinanced += f
        recovered += c
        written_off += w
        defaults += d
    return interest, repaid, refinanced, recovered, written_off, defaults


@kernel(parallel=True)
def debit_or_borrow(balance, loans, debits, lend, grant):
    """Replay of another run's payments (the SuMSy paper's comparison run): account k pays
    ``debits[k]`` from its own balance; a shortfall is borrowed when ``lend`` (all of it when
    ``grant >= 1``, else ``floor(shortfall * grant)``). A payment the account still cannot make is
    cut to its balance and ``debits[k]`` is set to what was paid. Returns (paid, borrowed)."""
    paid = np.int64(0)
    borrowed = np.int64(0)
    for k in prange(balance.shape[0]):
        pay, loan = borrow_to_pay(debits[k], balance[k], lend, grant)
        if loan > 0:
            loans[k] += loan
            borrowed += loan
        balance[k] += loan - pay
        debits[k] = pay
        paid += pay
    return paid, borrowed


@kernel(parallel=True)
def add_holdings(out, units, loans, price):
    """``out[i] += floor(units[i] * price) - loans[i]`` (minor units; price per unit): a mechanism's
    holdings added to each household's net wealth. ``units`` or ``loans`` may be empty (none held)."""
    n = out.shape[0]
    has_units = units.shape[0] > 0
    has_loans = loans.shape[0] > 0
    for i in prange(n):
        w = np.int64(0)
        if has_units:
            w += np.int64(math.floor(units[i] * price))
        if has_loans:
            w -= loans[i]
        out[i] += w
