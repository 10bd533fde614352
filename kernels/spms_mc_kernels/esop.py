"""Employee stock ownership plans on arrays (docs/model.md section 6; the predistribution essay's
"worker equity design").

Per household: ``esop_units`` (units of the equity index allocated to it in the plan, vested or
not), ``esop_wages`` (wages paid to it in the current plan year) and ``hired`` (the tick its current
spell of service began; -1 while it does not work).

* Vesting after y completed years of service (``y = (t - hired) // ticks_per_year``, exact at every
  anniversary), in millionths of the allocation: a cliff after n years vests all at ``y >= n`` and
  nothing before; graded vesting of rate p from year k vests ``min(1, p (y - k + 1))`` at ``y >= k``
  (ERISA's six-year graded schedule is p = 0.2, k = 2). Vested units are ``floor(units x fraction)``
  with the fraction in millionths (``p`` is taken in whole millionths).
* Service: a household that works and has no spell begins one (hire or re-hire; earlier service
  does not count again); one that has a spell and no longer works separates: its vested units
  become its own (``equity``), the rest is forfeited to the plan.
* Contribution at a plan year's end: each household in service with wages w gets ``floor(share x w
  / P)`` newly issued units, plus ``floor(forfeited x w / W)`` of the forfeited units (W the
  wages of all such households, the quotient kept 1e-12 below the exact one so the floors never
  exceed the pool; the rest stays with the plan).
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel
from .economy import is_employed

PPM = 1_000_000  # vesting fractions are in millionths


@kernel
def vested_units(units, years, start_years, rate_ppm):
    """Units vested of ``units`` after ``years`` completed years of service: none before
    ``start_years``; then all (``rate_ppm`` = 0: a cliff) or ``min(1, rate (years - start + 1))``
    (graded, rate in millionths)."""
    if years < start_years or units <= 0:
        return np.int64(0)
    if rate_ppm <= 0:
        return units
    frac = min(np.int64(PPM), rate_ppm * (years - start_years + 1))
    return (units * frac) // PPM


@kernel(parallel=True)
def esop_service(equity, esop_units, esop_wages, hired, kind, employer, skill_weight, displacement, firm_factor,
                 skey_displacement, wage_bill, weight_sum, tick, ticks_per_year, start_years, rate_ppm):
    """One period start of the plan: hires and re-hires begin a spell, separations take their vested
    units and forfeit the rest, the wages of the period are added to the plan year's. Returns
    (vested units handed over, units forfeited, separations, hires)."""
    handed = np.int64(0)
    forfeited = np.int64(0)
    separations = np.int64(0)
    hires = np.int64(0)
    for i in prange(kind.shape[0]):
        k = kind[i]
        f = employer[i]
        if is_employed(k, i, firm_factor[f], displacement, skey_displacement):
            if hired[i] < 0:
                hired[i] = tick
                hires += 1
            if weight_sum[f] > 0:
                esop_wages[i] += (wage_bill[f] * skill_weight[k]) // weight_sum[f]
        elif hired[i] >= 0:
            u = esop_units[i]
            v = vested_units(u, (tick - hired[i]) // ticks_per_year, start_years, rate_ppm)
            equity[i] += v
            handed += v
            forfeited += u - v
            esop_units[i] = 0
            esop_wages[i] = 0
            hired[i] = -1
            separations += 1
    return handed, forfeited, separations, hires


@kernel(parallel=True)
def esop_wage_total(esop_wages, hired):
    """Wages of the plan year of the households in service."""
    total = np.int64(0)
    for i in prange(esop_wages.shape[0]):
        if hired[i] >= 0:
            total += esop_wages[i]
    return total


@kernel(parallel=True)
def esop_contribute(esop_units, esop_wages, hired, share, price, forfeited, inv_wages):
    """A plan year's contribution and the reallocation of forfeited units (module docstring); the
    year's wages are reset. Returns (units issued, units reallocated)."""
    issued = np.int64(0)
    reallocated = np.int64(0)
    for i in prange(esop_units.shape[0]):
        w = esop_wages[i]
        if w > 0 and hired[i] >= 0:
            u = np.int64(math.floor(share * w / price))
            r = np.int64(math.floor(forfeited * (w * inv_wages))) if forfeited > 0 else np.int64(0)
            esop_units[i] += u + r
            issued += u
            reallocated += r
        esop_wages[i] = 0
    return issued, reallocated


@kernel(parallel=True)
def add_vested_value(out, esop_units, hired, tick, ticks_per_year, start_years, rate_ppm, price):
    """``out[i] += floor(vested units x price)`` of every household in service (its vested part of
    the plan, at the market price)."""
    for i in prange(out.shape[0]):
        if hired[i] >= 0 and esop_units[i] > 0:
            v = vested_units(esop_units[i], (tick - hired[i]) // ticks_per_year, start_years, rate_ppm)
            out[i] += np.int64(math.floor(v * price))
