"""Distribution statistics of account balances in O(n log n): sort once, then one serial pass.

The Lorenz curve is the piecewise-linear curve through ``(k/n, C_k/C_n)``, ``C_k`` the sum of the k
smallest balances; it is evaluated at any population share q by linear interpolation within the
account at position ``q*n``. Shares follow from it: bottom 50 % = L(0.5), top p = 1 - L(1 - p).
The Gini coefficient is ``sum_i (2i - n - 1) x_(i) / (n sum x)`` (i = 1..n, ascending), which equals
one minus twice the area under that Lorenz curve. Cumulative sums are exact integers; the float
sums run in index order in one thread, so the results are the same bits on every machine.
With a zero total the shares and the Gini are undefined and returned as NaN.
"""
import numpy as np

from ._jit import kernel


@kernel
def lorenz_at(sorted_x, cumsum_before, total, q):
    n = sorted_x.shape[0]
    pos = q * n
    k = np.int64(np.floor(pos))
    if k >= n:
        return 1.0
    return (cumsum_before + (pos - k) * sorted_x[k]) / total


@kernel
def distribution_stats(sorted_x, grid, lorenz_out):
    """Statistics of ascending int64 values.

    Fills ``lorenz_out[m] = L(grid[m])`` (``grid`` ascending in [0, 1]) and returns
    ``(gini, top1_share, top10_share, bottom50_share, mean, median, total)``; mean, median and total
    in the values' units.
    """
    n = sorted_x.shape[0]
    points = np.empty(grid.shape[0] + 3)
    points[: grid.shape[0]] = grid
    points[grid.shape[0]] = 0.99
    points[grid.shape[0] + 1] = 0.90
    points[grid.shape[0] + 2] = 0.50
    order = np.argsort(points, kind="mergesort")
    values = np.full(points.shape[0], np.nan)

    total = np.int64(0)
    for i in range(n):
        total += sorted_x[i]
    if n == 0:
        lorenz_out[:] = np.nan
        return np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0
    weighted = 0.0
    for i in range(n):
        weighted += (2.0 * (i + 1) - n - 1.0) * sorted_x[i]
    if total > 0:
        # walk the requested points in ascending order alongside the cumulative sum
        cum = np.int64(0)
        k = 0
        for m in range(points.shape[0]):
            idx = order[m]
            target = np.int64(np.floor(points[idx] * n))
            while k < target and k < n:
                cum += sorted_x[k]
                k += 1
            values[idx] = lorenz_at(sorted_x, cum, total, points[idx])
        gini = weighted / (n * np.float64(total))
    else:
        gini = np.nan
    lorenz_out[:] = values[: grid.shape[0]]
    top1 = 1.0 - values[grid.shape[0]]
    top10 = 1.0 - values[grid.shape[0] + 1]
    bottom50 = values[grid.shape[0] + 2]
    mean = np.float64(total) / n
    if n % 2 == 1:
        median = np.float64(sorted_x[n // 2])
    else:
        median = 0.5 * (np.float64(sorted_x[n // 2 - 1]) + np.float64(sorted_x[n // 2]))
    return gini, top1, top10, bottom50, mean, median, total
