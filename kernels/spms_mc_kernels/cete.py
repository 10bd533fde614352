"""Consumer Earned Tokenized Equities on arrays (docs/model.md section 7).

A purchase of ``pay`` minor units at a participating firm earns the consumer tokens worth ``alpha x
pay`` at the token price. In exact integers: alpha is in millionths (``alpha_ppm``) and the price in
millionths of a minor unit per unit, rounded up (``price_micro = ceil(P x 10^6)``, so a token is
never worth more than what was earned). The household's accrued value (``accrued[i]``, millionths of
a minor unit) grows by ``alpha_ppm x pay``; ``u = accrued // price_micro`` units are issued at once
and ``accrued`` keeps the remainder (less than one unit's worth), so at every tick

    sum(accrued) + sum over issues of u x price_micro = alpha_ppm x (participating purchases)

(plus the step schedule's bonuses), exactly. Tokens are units of the equity index (``equity``).
"""
import numpy as np
from numba import prange

from ._jit import kernel
from .economy import borrow_to_pay, chunk_bounds, period_slice, pick_firm_guided
from .rng import draw_uniform


@kernel
def earn_tokens(i, accrued, equity, value, price_micro):
    """Add ``value`` (millionths of a minor unit) to household i's accrued value and issue the whole
    units it buys; returns (units, their value in millionths)."""
    a = accrued[i] + value
    u = np.int64(a / price_micro)  # a float quotient, corrected to the exact floor (cheaper than idiv)
    while u * price_micro > a:
        u -= 1
    while (u + 1) * price_micro <= a:
        u += 1
    accrued[i] = a - u * price_micro
    equity[i] += u
    return u, u * price_micro


@kernel(parallel=True)
def consume_cete(balance, plan, loans, k, period, lend, grant, cdf, guide, skey_choice, partial, participating,
                 equity, accrued, period_backed, alpha_ppm, price_micro, track_period):
    """:func:`spms_mc_kernels.economy.consume` (the same draws, payments and loans) with tokens earned
    at participating firms (module docstring); with ``track_period`` each household's participating
    purchases of the period are added up in ``period_backed`` (the step schedule's base). Returns
    (spent, borrowed, participating purchases, units issued, their value in millionths)."""
    n = balance.shape[0]
    n_chunks = partial.shape[0]
    spent = np.int64(0)
    borrowed = np.int64(0)
    backed = np.int64(0)
    tokens = np.int64(0)
    value = np.int64(0)
    for c in prange(n_chunks):
        partial[c, :] = 0
        lo, hi = chunk_bounds(c, n_chunks, n)
        for i in range(lo, hi):  # the loop of economy.consume, written out again: a shared helper costs it 15 %
            want = period_slice(plan[i], k, period)
            if want <= 0:
                continue
            pay, loan = borrow_to_pay(want, balance[i], lend, grant)
            if loan > 0:
                loans[i] += loan
                borrowed += loan
            balance[i] += loan - pay
            if pay > 0:
                f = pick_firm_guided(cdf, guide, draw_uniform(skey_choice, i))
                partial[c, f] += pay
                spent += pay
                if participating[f]:
                    backed += pay
                    u, v = earn_tokens(i, accrued, equity, alpha_ppm * pay, price_micro)
                    tokens += u
                    value += v
                    if track_period:
                        period_backed[i] += pay
    return spent, borrowed, backed, tokens, value


@kernel
def step_rate(purchases, thresholds, rates_ppm, alpha_ppm):
    """The rate (millionths) of the highest step whose threshold the period's purchases reach;
    ``alpha_ppm`` below the first."""
    r = alpha_ppm
    for j in range(thresholds.shape[0]):
        if purchases >= thresholds[j]:
            r = rates_ppm[j]
    return r


@kernel(parallel=True)
def cete_bonus(period_backed, accrued, equity, thresholds, rates_ppm, alpha_ppm, price_micro):
    """The step schedule at a period's end: a household whose participating purchases reached a step
    earns ``(rate - alpha) x purchases`` more on the whole period's purchases (the purchase kernel
    paid alpha); the period's purchases are reset. Returns (units issued, their value, value
    earned), values in millionths of a minor unit."""
    tokens = np.int64(0)
    value = np.int64(0)
    earned = np.int64(0)
    for i in prange(period_backed.shape[0]):
        p = period_backed[i]
        if p > 0:
            extra = (step_rate(p, thresholds, rates_ppm, alpha_ppm) - alpha_ppm) * p
            if extra > 0:
                u, v = earn_tokens(i, accrued, equity, extra, price_micro)
                tokens += u
                value += v
                earned += extra
            period_backed[i] = 0
    return tokens, value, earned
