"""Injection and loss events (SuMSy paper section 6, stress scenarios).

An event targets the accounts ``[lo, hi)``, all of them (``share >= 1``) or the subset whose
counter-based draw ``u_i < share`` (the same subset at every occurrence: the key does not depend
on the tick). An injection creates ``amount`` on each targeted account; a loss destroys
``floor(fraction * balance)`` of each (rounded down, never below zero).
"""
import numpy as np
from numba import prange

from ._jit import kernel
from .money import floor_share
from .rng import draw_uniform


@kernel
def is_targeted(skey, i, share):
    return share >= 1.0 or draw_uniform(skey, i) < share


@kernel(parallel=True)
def inject(balance, lo, hi, amount, share, skey):
    """Create ``amount`` on each targeted account; returns the total created."""
    total = np.int64(0)
    for i in prange(lo, hi):
        if is_targeted(skey, i, share):
            balance[i] += amount
            total += amount
    return total


@kernel(parallel=True)
def lose(balance, lo, hi, fraction, share, skey):
    """Destroy ``floor(fraction * b)`` of each targeted account; returns the total destroyed."""
    total = np.int64(0)
    for i in prange(lo, hi):
        if is_targeted(skey, i, share):
            b = balance[i]
            gone = floor_share(fraction, b)
            balance[i] = b - gone
            total += gone
    return total


@kernel(parallel=True)
def count_targeted(lo, hi, share, skey):
    """How many accounts an event targets (for the overflow guard before an injection)."""
    total = np.int64(0)
    for i in prange(lo, hi):
        if is_targeted(skey, i, share):
            total += 1
    return total
