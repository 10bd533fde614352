"""Distribution statistics of account balances in O(n log n): sort, then one serial pass.

The Lorenz curve is the piecewise-linear curve through ``(k/n, C_k/C_n)``, ``C_k`` the sum of the k
smallest balances; it is evaluated at any population share q by linear interpolation within the
account at position ``q*n``. Shares follow from it: bottom 50 % = L(0.5), top p = 1 - L(1 - p).
The Gini coefficient is ``sum_i (2i - n - 1) x_(i) / (n sum x)`` (i = 1..n, ascending), which equals
one minus twice the area under that Lorenz curve. Cumulative sums are exact integers; the float
sums run in ascending order in one thread, so the results are the same bits on every machine.
With a zero total the shares and the Gini are undefined and returned as NaN.

The values may come as two ascending runs (two halves sorted at the same time on two cores):
the pass merges them on the fly, in the same ascending order as one sorted array, so the results
are identical bit for bit and no merged copy is needed.
"""
import numpy as np

from ._jit import kernel


@kernel
def distribution_stats_runs(a, b, grid, lorenz_out):
    """Statistics of the values of two ascending runs ``a`` and ``b`` (either may be empty).

    Fills ``lorenz_out[m] = L(grid[m])`` (``grid`` ascending in [0, 1]) and returns
    ``(gini, top1_share, top10_share, bottom50_share, mean, median, total)``; mean, median and total
    in the values' units.
    """
    na, nb = a.shape[0], b.shape[0]
    n = na + nb
    ng = grid.shape[0]
    points = np.empty(ng + 3)
    points[:ng] = grid
    points[ng] = 0.99
    points[ng + 1] = 0.90
    points[ng + 2] = 0.50
    order = np.argsort(points, kind="mergesort")
    values = np.full(points.shape[0], np.nan)
    if n == 0:
        lorenz_out[:] = np.nan
        return np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0
    total = np.int64(0)
    for i in range(na):
        total += a[i]
    for i in range(nb):
        total += b[i]
    weighted = 0.0
    cum = np.int64(0)
    ia = 0
    ib = 0
    m = 0
    lo_mid = np.int64(0)
    hi_mid = np.int64(0)
    for k in range(n):  # the k-th smallest value, taken from whichever run holds it
        if ib >= nb or (ia < na and a[ia] <= b[ib]):
            v = a[ia]
            ia += 1
        else:
            v = b[ib]
            ib += 1
        while m < order.shape[0] and np.int64(np.floor(points[order[m]] * n)) <= k:
            if total > 0:
                values[order[m]] = (cum + (points[order[m]] * n - k) * v) / total
            m += 1
        if k == n // 2 - 1:
            lo_mid = v
        if k == n // 2:
            hi_mid = v
        weighted += (2.0 * (k + 1) - n - 1.0) * v
        cum += v
    if total > 0:
        while m < order.shape[0]:  # points at q n >= n
            values[order[m]] = 1.0
            m += 1
        gini = weighted / (n * np.float64(total))
    else:
        gini = np.nan
    lorenz_out[:] = values[:ng]
    top1 = 1.0 - values[ng]
    top10 = 1.0 - values[ng + 1]
    bottom50 = values[ng + 2]
    mean = np.float64(total) / n
    if n % 2 == 1:
        median = np.float64(hi_mid)
    else:
        median = 0.5 * (np.float64(lo_mid) + np.float64(hi_mid))
    return gini, top1, top10, bottom50, mean, median, total


@kernel
def distribution_stats(sorted_x, grid, lorenz_out):
    """Statistics of one ascending int64 array (see :func:`distribution_stats_runs`)."""
    return distribution_stats_runs(sorted_x, sorted_x[:0], grid, lorenz_out)
