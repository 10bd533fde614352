"""Citizen investment pools on arrays (docs/model.md section 5, risk-sharing finance).

A household buying equity may put a share of the order into the pool instead: it gets
``u = floor(a / NAV)`` pool shares for ``ceil(u NAV)`` (never more than ``a``), the rule of an equity
buy (:mod:`spms_mc_kernels.wealth`). The pool's income is paid to its shareholders pro rata:
``floor(income x shares_i x inv)`` with ``inv`` kept 1e-12 below ``1 / shares outstanding``, so the
floors never add up to more than the income.
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel
from .wealth import buy_units


@kernel(parallel=True)
def subscribe_pool(balance, order, pool_shares, share, nav):
    """Divert ``floor(share x order)`` of every buy order into pool shares at ``nav`` (minor units per
    share). The order shrinks by the diverted amount. Returns (money paid in, shares issued)."""
    paid = np.int64(0)
    issued = np.int64(0)
    for i in prange(order.shape[0]):
        o = order[i]
        if o > 0:
            a = min(np.int64(math.floor(share * o)), balance[i])
            if a > 0:
                u, cost = buy_units(a, nav)
                balance[i] -= cost
                pool_shares[i] += u
                order[i] = o - a
                paid += cost
                issued += u
    return paid, issued


@kernel(parallel=True)
def pay_pool_income(balance, pool_shares, income, inv_shares):
    """Pay ``floor(income x shares_i x inv_shares)`` to every holder; returns the total paid."""
    paid = np.int64(0)
    for i in prange(pool_shares.shape[0]):
        s = pool_shares[i]
        if s > 0:
            d = np.int64(math.floor(income * (s * inv_shares)))
            balance[i] += d
            paid += d
    return paid
