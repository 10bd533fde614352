"""Guaranteed income and demurrage kernels (SuMSy).

Implements the core dynamics of the SuMSy paper (docs/sources.md, section 3.1.3; docs/model.md
section 1): at the start of period x every account first pays demurrage
``D_{x-1} = d * WA_{x-1}`` on its time-weighted average balance over the previous period (or its
end balance), then every GI-eligible account receives GI. The pair is atomic (one pass). With this
order an inactive eligible account tends to GI/d (the paper's conclusion 1); the other order would
give GI(1-d)/d.

Extensions (paper section 5): a demurrage-free buffer per eligible account (5.1), possibly moved
between accounts (buffer lending; a per-account buffer array then replaces the scalar), tiered
demurrage applied like income-tax brackets (5.2), and a fixed-rate or on-demand governance tax
charged on the same base in the same pass (section 4.5). The *transactional* variant accrues GI
and demurrage pro rata over the ticks since an account was last touched.

Rounding rule (documented contract): every charge is rounded down to a whole minor unit, in the
account holder's favour, and is capped at the balance, so no balance ever goes negative; GI is
exact. Nothing is rounded into existence, so no remainder arises and the ledger books the exact
integer totals each kernel returns.
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel

ELIGIBLE = np.uint8(1)  # flag bit: receives GI and the demurrage-free buffer
ACTIVE = np.uint8(2)  # flag bit: takes part in exchange between households


@kernel
def tiered_charge(excess, tier_lower, tier_rate):
    """Charge on ``excess`` (float, minor units) under brackets ``(lower bound, rate)``.

    Brackets work like income-tax brackets: bracket k charges ``rate[k]`` on the part of the
    excess between ``lower[k]`` and ``lower[k+1]``. A flat rate d is the single bracket (0, d).
    Terms are added in bracket order, so the float result is the same on every device.
    """
    total = 0.0
    nt = tier_lower.shape[0]
    for k in range(nt):
        lo = tier_lower[k]
        if excess <= lo:
            break
        top = excess
        if k + 1 < nt and tier_lower[k + 1] < excess:
            top = tier_lower[k + 1]
        total += tier_rate[k] * (top - lo)
    return total


@kernel
def account_buffer(i, flags, buffer, buffer_by_account):
    """Demurrage-free buffer of account i (minor units): the scalar for eligible accounts, or
    the per-account value when buffers have been lent (``buffer_by_account`` non-empty)."""
    if buffer_by_account.shape[0] > 0:
        return buffer_by_account[i]
    if flags[i] & ELIGIBLE:
        return buffer
    return np.int64(0)


@kernel(parallel=True)
def settle_period(balance, period_sum, use_average, period_ticks, flags, charge, gi, buffer,
                  buffer_by_account, tier_lower, tier_rate, tax_rate, eligible_prefix=-1):
    """Period boundary for every account: demurrage (+ tax) on the last period, then GI.

    Parameters
    ----------
    balance : int64[n]          balances, updated in place
    period_sum : int64[n]       sum of the start-of-tick balances over the period (average base)
    use_average : bool          demurrage on the time-weighted average (else on the end balance)
    period_ticks : int          ticks in the period that just ended (the averaging length)
    flags : uint8[n]            ELIGIBLE / ACTIVE bits
    charge : bool               False at the very first period start: GI only
    gi : int64                  guaranteed income per eligible account, minor units
    buffer : int64              demurrage-free buffer of eligible accounts, minor units
    buffer_by_account : int64[n] or int64[0]   per-account buffers when buffers are lent
    tier_lower, tier_rate : float64[k]         demurrage brackets (minor units, rate per period)
    tax_rate : float64          governance tax per period on the same base (0: none)
    eligible_prefix : int       when >= 0, the caller guarantees that exactly the accounts
                                ``0 .. eligible_prefix-1`` have the ELIGIBLE flag, so the flat-rate
                                path need not read ``flags`` (a quarter faster: it is memory-bound)

    Returns
    -------
    (demurrage, tax, gi) totals in minor units.
    """
    dem_total = np.int64(0)
    tax_total = np.int64(0)
    gi_total = np.int64(0)
    n = balance.shape[0]
    if (tier_lower.shape[0] == 1 and tier_lower[0] == 0.0 and tax_rate == 0.0
            and buffer_by_account.shape[0] == 0):
        # the common case - one flat rate, a scalar buffer, no tax - branch-free so it vectorises;
        # rate * excess is what tiered_charge computes for the single bracket (0, rate)
        rate = tier_rate[0] if charge else 0.0
        for i in prange(n):
            b = balance[i]
            if eligible_prefix >= 0:
                e = np.int64(i < eligible_prefix)
            else:
                e = np.int64(flags[i] & ELIGIBLE)
            base = period_sum[i] / period_ticks if use_average else np.float64(b)
            dem = min(np.int64(math.floor(rate * max(base - buffer * e, 0.0))), b)
            balance[i] = b - dem + gi * e
            dem_total += dem
            gi_total += gi * e
        return dem_total, tax_total, gi_total
    for i in prange(n):
        b = balance[i]
        if charge:
            if use_average:
                base = period_sum[i] / period_ticks
            else:
                base = np.float64(b)
            excess = base - account_buffer(i, flags, buffer, buffer_by_account)
            dem = np.int64(0)
            if excess > 0.0:
                dem = np.int64(math.floor(tiered_charge(excess, tier_lower, tier_rate)))
                if dem > b:
                    dem = b
            tax = np.int64(0)
            if tax_rate > 0.0:
                tax = np.int64(math.floor(tax_rate * base))
                if tax > b - dem:
                    tax = b - dem
            b = b - dem - tax
            dem_total += dem
            tax_total += tax
        if flags[i] & ELIGIBLE:
            b += gi
            gi_total += gi
        balance[i] = b
    return dem_total, tax_total, gi_total


@kernel(parallel=True)
def sum_charge_base(balance, period_sum, use_average, period_ticks):
    """Sum over accounts of the demurrage base (average or end balance), as a float.

    Used by on-demand governance funding to size the fraction F of the upper bound g. Summed in
    fixed integer arithmetic then divided once, so the result does not depend on thread count.
    """
    total = np.int64(0)
    for i in prange(balance.shape[0]):
        if use_average:
            total += period_sum[i]
        else:
            total += balance[i]
    if use_average:
        return total / period_ticks
    return np.float64(total)


@kernel(parallel=True)
def accumulate_period(balance, period_sum, first_tick):
    """Add this tick's start-of-tick balances to the period sum (overwrite on the first tick)."""
    for i in prange(balance.shape[0]):
        if first_tick:
            period_sum[i] = balance[i]
        else:
            period_sum[i] += balance[i]


@kernel
def accrue_account(i, tick, balance, last_tick, flags, period_ticks, gi, buffer,
                   buffer_by_account, tier_lower, tier_rate):
    """Transactional SuMSy: bring account i up to ``tick``; returns (demurrage, gi).

    Over the ``tick - last_tick[i]`` ticks since it was last touched the balance was constant,
    so the pro-rata demurrage on it is exact up to rounding down. GI accrues on a cumulative
    schedule ``floor(GI * t / period)``, so a full period always pays exactly GI. Demurrage is
    charged on the balance before the accrued GI is added, as in the periodic variant.
    """
    last = last_tick[i]
    if last >= tick:
        return np.int64(0), np.int64(0)
    b = balance[i]
    elapsed = tick - last
    excess = np.float64(b) - account_buffer(i, flags, buffer, buffer_by_account)
    dem = np.int64(0)
    if excess > 0.0:
        dem = np.int64(math.floor(tiered_charge(excess, tier_lower, tier_rate) * elapsed
                                  / period_ticks))
        if dem > b:
            dem = b
    acc = np.int64(0)
    if flags[i] & ELIGIBLE:
        acc = (gi * tick) // period_ticks - (gi * last) // period_ticks
    balance[i] = b - dem + acc
    last_tick[i] = tick
    return dem, acc


@kernel(parallel=True)
def accrue_accounts(participants, n_accounts, tick, balance, last_tick, flags, period_ticks, gi,
                    buffer, buffer_by_account, tier_lower, tier_rate):
    """Accrue a set of touched accounts (``participants``; all ``n_accounts`` when empty)."""
    dem_total = np.int64(0)
    gi_total = np.int64(0)
    for k in prange(n_accounts):
        i = np.int64(k) if participants.shape[0] == 0 else np.int64(participants[k])
        dem, acc = accrue_account(i, tick, balance, last_tick, flags, period_ticks, gi, buffer,
                                  buffer_by_account, tier_lower, tier_rate)
        dem_total += dem
        gi_total += acc
    return dem_total, gi_total
