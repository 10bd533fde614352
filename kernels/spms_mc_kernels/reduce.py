"""Deterministic reductions. Integer sums are exact, so any thread count gives the same bits."""
import numpy as np
from numba import prange

from ._jit import kernel


@kernel(parallel=True)
def sum_int64(values):
    """Exact sum of an int64 array (the caller guarantees it cannot overflow)."""
    total = np.int64(0)
    for i in prange(values.shape[0]):
        total += values[i]
    return total


@kernel(parallel=True)
def min_int64(values):
    """Smallest element of a non-empty int64 array (negative-balance check)."""
    m = values[0]
    for i in prange(values.shape[0]):
        m = min(m, values[i])
    return m
