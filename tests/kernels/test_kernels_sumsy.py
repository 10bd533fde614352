"""SuMSy kernels (guaranteed income + demurrage) vs the slow oracle loops in ``oracles``."""
import math

import numpy as np
import pytest
from spms_mc_kernels import sumsy

import oracles as O

E = np.empty(0, np.int64)
FLAT = (np.array([0.0]), np.array([0.02]))
TIERS = (np.array([0.0, 5_000.0, 50_000.0, 500_000.0]), np.array([0.0, 0.01, 0.05, 0.2]))


def _accounts(n, seed, hi=2_000_000):
    r = np.random.default_rng(seed)
    balance = r.integers(0, hi, size=n).astype(np.int64)
    balance[:3] = [0, 1, hi]  # edges
    # period sums of 30 start-of-tick balances, not tied to the end balance (money moved)
    period_sum = (r.integers(0, hi, size=n) * 30 + r.integers(0, 30, size=n)).astype(np.int64)
    flags = r.integers(0, 4, size=n).astype(np.uint8)  # ELIGIBLE and ACTIVE bits mixed
    return balance, period_sum, flags


def _settle(balance, *args):
    b = balance.copy()
    got = sumsy.settle_period(b, *args)
    want_b, dem, tax, gi = O.settle_period(balance, *args)
    assert tuple(int(v) for v in got) == (dem, tax, gi)
    np.testing.assert_array_equal(b, want_b)
    assert int(b.sum()) - int(balance.sum()) == gi - dem - tax
    assert b.min() >= 0
    return b, dem, tax, gi


# ------------------------------------------------------------------------------- tiered_charge
@pytest.mark.parametrize("tiers", [FLAT, TIERS,
                                   (np.array([100.0]), np.array([0.5])),
                                   (np.array([0.0, 1.0]), np.array([0.3, 0.7]))])
def test_tiered_charge_matches_oracle(tiers):
    lo, rate = tiers
    xs = [0.0, 0.5, 1.0, 99.0, 100.0, 100.5, 4_999.999, 5_000.0, 5_001.0, 49_999.0, 50_000.0,
          1e5, 499_999.0, 500_000.0, 1e7, 1e12]
    xs += list(np.random.default_rng(0).uniform(0, 1e6, 200))
    for x in xs:
        got = sumsy.tiered_charge(x, lo, rate)
        assert got == O.tiered_charge(x, lo, rate), x
        exact = O.tiered_charge_exact(x, lo, rate)
        assert abs(got - float(exact)) <= 1e-12 * max(1.0, float(exact))


def test_tiered_charge_closed_forms():
    lo, rate = TIERS
    # 0 on [0,5000), 1% on [5000,50000), 5% on [50000,500000), 20% above
    assert sumsy.tiered_charge(5_000.0, lo, rate) == 0.0
    assert sumsy.tiered_charge(50_000.0, lo, rate) == pytest.approx(450.0, rel=1e-15)
    assert sumsy.tiered_charge(600_000.0, lo, rate) == pytest.approx(450 + 22_500 + 20_000,
                                                                     rel=1e-15)
    assert sumsy.tiered_charge(1234.0, *FLAT) == pytest.approx(24.68, rel=1e-15)
    assert sumsy.tiered_charge(-5.0, *FLAT) == 0.0


# -------------------------------------------------------------------------------- settle_period
@pytest.mark.parametrize("use_average", [True, False])
@pytest.mark.parametrize("tiers", [FLAT, TIERS], ids=["flat", "tiers"])
@pytest.mark.parametrize("buffer", [0, 25_000])
@pytest.mark.parametrize("tax_rate", [0.0, 0.013])
def test_settle_period_matches_oracle(use_average, tiers, buffer, tax_rate):
    balance, period_sum, flags = _accounts(257, 1)
    b, dem, tax, gi = _settle(balance, period_sum, use_average, 30, flags, True, np.int64(1000),
                              np.int64(buffer), E, tiers[0], tiers[1], tax_rate)
    assert dem > 0
    assert (tax > 0) == (tax_rate > 0)
    assert gi == 1000 * int(np.count_nonzero(flags & 1))


@pytest.mark.parametrize("use_average", [True, False])
def test_settle_period_buffer_by_account(use_average):
    balance, period_sum, flags = _accounts(300, 2)
    bba = np.random.default_rng(3).integers(0, 1_500_000, size=300).astype(np.int64)
    bba[flags & 1 == 0] = 0  # lent buffers: non-eligible may hold some too
    bba[5] = 3_000_000
    _settle(balance, period_sum, use_average, 30, flags, True, np.int64(700), np.int64(10**9),
            bba, *TIERS, 0.0)  # the scalar buffer is ignored when buffers are per account
    _settle(balance, period_sum, use_average, 30, flags, True, np.int64(700), np.int64(0),
            bba, *FLAT, 0.05)


def test_settle_period_non_eligible_get_no_gi_and_no_buffer():
    balance = np.array([10_000, 10_000, 10_000, 10_000], np.int64)
    flags = np.array([1, 0, 3, 2], np.uint8)
    b = balance.copy()
    dem, tax, gi = sumsy.settle_period(b, E, False, 30, flags, True, np.int64(500),
                                       np.int64(5_000), E, *FLAT, 0.0)
    # eligible: 2% of (10000 - 5000) = 100, +500 GI; non-eligible: 2% of 10000 = 200, no GI
    assert b.tolist() == [10_400, 9_800, 10_400, 9_800]
    assert (dem, tax, gi) == (600, 0, 1000)


def test_settle_period_no_charge_is_gi_only():
    balance, period_sum, flags = _accounts(100, 4)
    b, dem, tax, gi = _settle(balance, period_sum, True, 30, flags, False, np.int64(1234),
                              np.int64(0), E, *TIERS, 0.5)
    assert dem == tax == 0
    np.testing.assert_array_equal(b - balance, np.where(flags & 1, 1234, 0))


def test_settle_period_rounding_and_caps():
    # average base far above the end balance: demurrage capped at the balance, then tax at 0
    balance = np.array([100, 100, 0, 49, 50, 1_000_000], np.int64)
    period_sum = np.array([3_000_000, 30 * 100, 30 * 5_000, 30 * 49, 30 * 50, 30 * 1_000_000],
                          np.int64)
    flags = np.zeros(6, np.uint8)
    tl, tr = np.array([0.0]), np.array([0.5])
    b = balance.copy()
    dem, tax, gi = sumsy.settle_period(b, period_sum, True, 30, flags, True, np.int64(0),
                                       np.int64(0), E, tl, tr, 0.25)
    # dem = floor(0.5 base) capped at b; tax = floor(0.25 base) capped at b - dem
    assert b.tolist() == [0, 100 - 50 - 25, 0, 49 - 24 - 12, 50 - 25 - 12, 1_000_000 - 750_000]
    assert (dem, tax) == (100 + 50 + 0 + 24 + 25 + 500_000, 0 + 25 + 0 + 12 + 12 + 250_000)
    assert gi == 0


def test_settle_period_fixed_point_inactive_account():
    # paper conclusion 1: an inactive eligible account tends to GI / d (demurrage before GI)
    gi, d = 100_000, 0.05
    b = np.zeros(1, np.int64)
    flags = np.ones(1, np.uint8)
    tl, tr = np.array([0.0]), np.array([d])
    for p in range(400):
        sumsy.settle_period(b, E, False, 30, flags, p > 0, np.int64(gi), np.int64(0), E, tl, tr,
                            0.0)
    assert abs(int(b[0]) - gi / d) <= 1 / d  # within the floor rounding's fixed-point drift


def test_settle_period_empty():
    b = np.empty(0, np.int64)
    assert tuple(sumsy.settle_period(b, b, True, 30, np.empty(0, np.uint8), True, np.int64(5),
                                     np.int64(0), E, *FLAT, 0.1)) == (0, 0, 0)


# ---------------------------------------------------------------------- accumulate / charge base
def test_accumulate_period_and_sum_charge_base():
    r = np.random.default_rng(5)
    ps = np.full(50, -7, np.int64)
    want = None
    for t in range(30):
        bal = r.integers(0, 10**9, size=50).astype(np.int64)
        want = O.accumulate_period(bal, want if want is not None else ps, t == 0)
        sumsy.accumulate_period(bal, ps, t == 0)
        np.testing.assert_array_equal(ps, want)
        assert sumsy.sum_charge_base(bal, ps, True, t + 1) == \
            O.sum_charge_base(bal, ps, True, t + 1)
        assert sumsy.sum_charge_base(bal, ps, False, 30) == O.sum_charge_base(bal, ps, False, 30)
    assert sumsy.sum_charge_base(bal, ps, True, 30) == float(int(ps.sum())) / 30.0


# ------------------------------------------------------------------------------ transactional
def _accrue_state(n, seed):
    r = np.random.default_rng(seed)
    balance = r.integers(0, 3_000_000, size=n).astype(np.int64)
    last = r.integers(0, 60, size=n).astype(np.int64)
    flags = r.integers(0, 4, size=n).astype(np.uint8)
    return balance, last, flags


@pytest.mark.parametrize("tiers", [FLAT, TIERS], ids=["flat", "tiers"])
@pytest.mark.parametrize("buffer", [0, 40_000])
def test_accrue_account_matches_oracle(tiers, buffer):
    balance, last, flags = _accrue_state(120, 6)
    b, lt = balance.copy(), last.copy()
    ob, ol = [int(v) for v in balance], [int(v) for v in last]
    for i in range(120):
        for tick in (int(last[i]) - 1, int(last[i]), int(last[i]) + 1, 75, 90, 200):
            got = sumsy.accrue_account(i, tick, b, lt, flags, 30, np.int64(999), np.int64(buffer),
                                       E, *tiers)
            want = O.accrue_account(i, tick, ob, ol, flags, 30, 999, buffer, E, *tiers)
            assert tuple(int(v) for v in got) == want, (i, tick)
            assert b[i] == ob[i] and lt[i] == ol[i]
    assert b.min() >= 0


def test_accrue_account_noop_when_not_behind():
    b = np.array([5_000], np.int64)
    lt = np.array([10], np.int64)
    f = np.ones(1, np.uint8)
    for tick in (3, 9, 10):
        assert tuple(sumsy.accrue_account(0, tick, b, lt, f, 30, np.int64(300), np.int64(0), E,
                                          *FLAT)) == (0, 0)
        assert b[0] == 5_000 and lt[0] == 10


def test_accrue_gi_schedule_pays_exactly_gi_per_period():
    # accrued in uneven steps, GI sums to floor(gi * t / period): exactly gi per full period
    gi, period = np.int64(1001), 30
    b = np.zeros(1, np.int64)
    lt = np.zeros(1, np.int64)
    f = np.ones(1, np.uint8)
    zero = (np.array([0.0]), np.array([0.0]))
    total = 0
    for tick in (1, 2, 7, 13, 29, 30, 31, 45, 59, 60, 61, 90):
        _, acc = sumsy.accrue_account(0, tick, b, lt, f, period, gi, np.int64(0), E, *zero)
        total += int(acc)
        assert total == (1001 * tick) // period
    assert total == 3 * 1001 and b[0] == total


def test_accrue_demurrage_pro_rata():
    b = np.array([1_000_000, 1_000_000], np.int64)
    lt = np.array([0, 0], np.int64)
    f = np.array([0, 1], np.uint8)
    d, g = sumsy.accrue_account(0, 15, b, lt, f, 30, np.int64(600), np.int64(0), E, *FLAT)
    assert (d, g) == (10_000, 0) and b[0] == 990_000  # 2% * 1e6 * 15/30
    d, g = sumsy.accrue_account(1, 10, b, lt, f, 30, np.int64(600), np.int64(100_000), E, *FLAT)
    assert (d, g) == (math.floor(0.02 * 900_000 * 10 / 30), 200) and b[1] == 1_000_000 - 6_000 + 200


@pytest.mark.parametrize("subset", [False, True])
@pytest.mark.parametrize("use_bba", [False, True])
def test_accrue_accounts_matches_oracle(subset, use_bba):
    n = 200
    balance, last, flags = _accrue_state(n, 7)
    bba = (np.random.default_rng(8).integers(0, 2_000_000, size=n).astype(np.int64)
           if use_bba else E)
    if subset:
        part = np.sort(np.random.default_rng(9).choice(n, size=77, replace=False)).astype(np.int64)
        npart = 77
    else:
        part, npart = E, n
    for tick in (30, 45, 46):  # repeated ticks: the second visit of an account is a no-op
        b, lt = balance.copy(), last.copy()
        got = sumsy.accrue_accounts(part, npart, tick, b, lt, flags, 30, np.int64(1_000),
                                    np.int64(30_000), bba, *TIERS)
        wb, wl, dem, gi = O.accrue_accounts(part, npart, tick, balance, last, flags, 30, 1_000,
                                            30_000, bba, *TIERS)
        assert tuple(int(v) for v in got) == (dem, gi)
        np.testing.assert_array_equal(b, wb)
        np.testing.assert_array_equal(lt, wl)
        assert int(b.sum() - balance.sum()) == gi - dem
        balance, last = b, lt


@pytest.mark.parametrize("use_average", [True, False])
@pytest.mark.parametrize("prefix", [0, 7, 20])
def test_settle_period_eligible_prefix_equals_reading_flags(use_average, prefix):
    """The flat-rate path may skip reading flags when eligibility is a prefix: same results."""
    rs = np.random.default_rng(prefix)
    n = 20
    balance = rs.integers(0, 10**9, n).astype(np.int64)
    period_sum = rs.integers(0, 30 * 10**9, n).astype(np.int64)
    flags = np.zeros(n, np.uint8)
    flags[:prefix] = 3
    args = (period_sum, use_average, 30, flags, True, np.int64(200_000), np.int64(10**6), E,
            np.array([0.0]), np.array([0.01]), 0.0)
    a, b = balance.copy(), balance.copy()
    ta = sumsy.settle_period(a, *args)
    tb = sumsy.settle_period(b, *args, prefix)
    assert ta == tb
    np.testing.assert_array_equal(a, b)
