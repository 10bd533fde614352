"""Distribution statistics vs the O(n^2) / exact-rational oracle; reductions; machine loops."""
import math

import numpy as np
import pytest
from spms_mc_kernels import bandwidth, metrics, reduce

import oracles as O

GRID = np.array([0.0, 0.01, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999, 1.0])


def stats(x, grid=GRID):
    xs = np.ascontiguousarray(np.sort(np.asarray(x, np.int64)))
    lor = np.full(grid.shape[0], -1.0)
    out = metrics.distribution_stats(xs, grid, lor)
    return lor, out


def _samples():
    r = np.random.default_rng(0)
    return {
        "one": np.array([5]),
        "two": np.array([1, 3]),
        "small": np.array([0, 0, 1, 7, 7, 100]),
        "uniform": r.integers(0, 10**6, size=101),
        "expo": np.floor(r.exponential(10**5, size=400)).astype(np.int64),
        "pareto": np.floor(1000 * (r.pareto(1.2, size=257) + 1)).astype(np.int64),
        "sparse": np.where(r.random(300) < 0.05, r.integers(1, 10**9, 300), 0),
        "n1000": r.integers(0, 10**4, size=1000),
    }


@pytest.mark.parametrize("name", list(_samples()))
def test_distribution_stats_matches_oracle(name):
    x = _samples()[name]
    lor, (gini, top1, top10, bottom50, mean, median, total) = stats(x)
    w_lor, w_gini, w_top1, w_top10, w_b50, w_mean, w_median, w_total = O.distribution_stats(x, GRID)
    assert int(total) == w_total == int(np.sum(x))
    assert gini == pytest.approx(w_gini, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(lor, w_lor, rtol=0, atol=1e-12)
    assert top1 == pytest.approx(w_top1, abs=1e-12)
    assert top10 == pytest.approx(w_top10, abs=1e-12)
    assert bottom50 == pytest.approx(w_b50, abs=1e-12)
    assert mean == w_mean
    assert median == w_median
    assert lor[0] == 0.0 and lor[-1] == 1.0


def test_shares_consistent_with_lorenz():
    x = _samples()["pareto"]
    lor, (_, top1, top10, bottom50, *_r) = stats(x)
    i = {q: k for k, q in enumerate(GRID)}
    assert top1 == 1.0 - lor[i[0.99]]
    assert top10 == 1.0 - lor[i[0.9]]
    assert bottom50 == lor[i[0.5]]


def test_gini_is_one_minus_twice_lorenz_area():
    x = _samples()["expo"]
    n = x.size
    grid = np.arange(n + 1) / n  # the Lorenz vertices: trapezoid rule is exact there
    lor, (gini, *_r) = stats(x, grid)
    area = float(np.sum((lor[1:] + lor[:-1]) / 2) / n)
    assert gini == pytest.approx(1.0 - 2.0 * area, abs=1e-12)


def test_unsorted_grid_is_filled_in_place():
    x = _samples()["uniform"]
    grid = np.array([0.9, 0.1, 0.5, 0.0, 1.0, 0.33])
    lor, _ = stats(x, grid)
    np.testing.assert_allclose(lor, [O.lorenz(x, q) for q in grid], atol=1e-12, rtol=0)


@pytest.mark.parametrize("n", [1, 2, 10, 1000])
def test_gini_all_equal_is_zero(n):
    _, (gini, top1, top10, bottom50, mean, median, total) = stats(np.full(n, 4242))
    assert gini == 0.0
    assert mean == median == 4242.0 and total == 4242 * n
    if n >= 100:  # the shares are the population shares (exact at a vertex up to rounding)
        assert top1 == pytest.approx(0.01, abs=1e-12)
        assert top10 == pytest.approx(0.1, abs=1e-12)
        assert bottom50 == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 999, 10_000])
def test_gini_one_holder_is_n_minus_1_over_n(n):
    x = np.zeros(n, np.int64)
    x[-1] = 10**9
    lor, (gini, top1, *_r) = stats(x)
    assert gini == pytest.approx((n - 1) / n, rel=1e-14)
    if n >= 100:
        assert top1 == 1.0
        assert lor[GRID.tolist().index(0.99)] == 0.0


def test_gini_of_exponential_sample_is_about_half():
    n = 200_000
    x = np.floor(np.random.default_rng(1).exponential(10**6, size=n)).astype(np.int64)
    _, (gini, top1, top10, bottom50, mean, median, _t) = stats(x)
    # the sampling sd of the Gini here is ~ 0.6/sqrt(n) ~ 0.0013
    assert gini == pytest.approx(0.5, abs=0.01)
    # exponential law closed forms: top share p -> p (1 - ln p), so L(0.5) = 1 - 0.5 (1 + ln 2)
    assert top10 == pytest.approx(0.1 * (1 - math.log(0.1)), abs=0.01)
    assert bottom50 == pytest.approx(1 - 0.5 * (1 - math.log(0.5)), abs=0.01)
    assert median == pytest.approx(10**6 * math.log(2), rel=0.02)


def test_zero_total_gives_nan():
    lor, (gini, top1, top10, bottom50, mean, median, total) = stats(np.zeros(7, np.int64))
    assert math.isnan(gini) and math.isnan(top1) and math.isnan(top10) and math.isnan(bottom50)
    assert np.isnan(lor).all()
    assert total == 0 and mean == 0.0 and median == 0.0


def test_empty_gives_nan():
    lor, (gini, top1, top10, bottom50, mean, median, total) = stats(np.zeros(0, np.int64))
    assert all(math.isnan(v) for v in (gini, top1, top10, bottom50, mean, median))
    assert np.isnan(lor).all() and total == 0


def test_median_even_and_odd():
    assert stats([1, 2, 3, 10])[1][5] == 2.5
    assert stats([1, 2, 3, 10, 11])[1][5] == 3.0


def test_sum_and_min_int64():
    r = np.random.default_rng(2)
    for n in (1, 2, 7, 1000, 100_001):
        v = r.integers(-(2**40), 2**40, size=n).astype(np.int64)
        assert int(reduce.sum_int64(v)) == sum(int(a) for a in v)
        assert int(reduce.min_int64(v)) == min(int(a) for a in v)
    assert int(reduce.sum_int64(np.zeros(0, np.int64))) == 0
    v = np.full(10, 5, np.int64)
    v[7] = -1
    assert reduce.min_int64(v) == -1


def test_bandwidth_loops():
    a = np.arange(10, dtype=np.int64)
    bandwidth.read_modify_write(a)
    assert a.tolist() == list(range(1, 11))
    dst = np.zeros(10, np.int64)
    bandwidth.copy(dst, a)
    assert dst.tolist() == a.tolist()
    b = np.zeros(4, np.int64)
    j = np.array([0, 3, 3, 1, 0], np.int64)
    bandwidth.scatter_add(b, j, np.array([1, 2, 3, 4, 5], np.int64))
    assert b.tolist() == [6, 4, 0, 5]


@pytest.mark.parametrize("n,split", [(1, 0), (1, 1), (2, 1), (101, 50), (1000, 500), (1000, 0), (1001, 1000)])
def test_two_sorted_runs_give_the_bits_of_one_sorted_array(n, split):
    """Sorting two halves at once and merging them on the fly changes nothing, to the bit."""
    rs = np.random.default_rng(n + split)
    x = rs.integers(0, 50, n).astype(np.int64) * rs.integers(1, 10**6)  # with ties
    grid = np.linspace(0.0, 1.0, 101)
    one, two = np.empty(101), np.empty(101)
    ref = metrics.distribution_stats(np.sort(x), grid, one)
    got = metrics.distribution_stats_runs(np.sort(x[:split]), np.sort(x[split:]), grid, two)
    assert np.array_equal(one, two, equal_nan=True)
    assert all((a == b) or (np.isnan(a) and np.isnan(b)) for a, b in zip(ref, got))
