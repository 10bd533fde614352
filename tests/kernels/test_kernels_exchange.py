"""Kinetic exchange kernels vs oracles that rebuild every draw and pairing with the oracle RNG."""
import numpy as np
import pytest
from spms_mc_kernels import exchange, rng

import oracles as O

E = np.empty(0, np.int64)
SEED, MEMBER = 20240601, 3
KEY = O.member_key(SEED, MEMBER)


def skey(tick, stream):
    """Stream key computed by the oracle (never by the kernel)."""
    return O.stream_key(KEY, tick, stream)


def _balances(n, seed, hi=10**7):
    r = np.random.default_rng(seed)
    b = r.integers(0, hi, size=n).astype(np.int64)
    edges = np.array([hi, 0, 1, 2], np.int64)[:n]
    b[:edges.size] = edges
    return b


def _subset(n, k, seed):
    # unordered subset: participant positions do not follow account order
    return np.random.default_rng(seed).choice(n, size=k, replace=False).astype(np.int64)


CASES = [("everyone", 301, None), ("subset", 400, 173), ("two", 2, None), ("subset_two", 9, 2),
         ("odd", 7, None)]


def _part(n, k):
    return (E, n) if k is None else (_subset(n, k, n + k), k)


def test_oracle_stream_keys_equal_kernel_stream_keys():
    assert int(rng.member_key(np.uint64(SEED), np.uint64(MEMBER))) == KEY
    for t in (0, 1, 99):
        for s in (1, 2, 3, 4, 5):
            assert int(rng.stream_key(np.uint64(KEY), t, s)) == skey(t, s)


# -------------------------------------------------------------------------- random fraction
@pytest.mark.parametrize("name,n,k", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("fraction", [0.1, 1.0])
def test_random_fraction_matches_oracle(name, n, k, fraction):
    balance = _balances(n, 1)
    part, npart = _part(n, k)
    for tick in range(3):
        sf, st = skey(tick, O.STREAM_EXCHANGE_FRACTION), skey(tick, O.STREAM_EXCHANGE_TARGET)
        b = balance.copy()
        scratch = np.full(npart, -1, np.int64)
        debit = exchange.random_fraction_debit(b, scratch, part, npart, np.uint64(sf), fraction)
        credit = exchange.random_fraction_credit(b, scratch, part, npart, np.uint64(st))
        want_b, pays, total = O.random_fraction(balance, part, npart, sf, st, fraction)
        assert scratch.tolist() == pays
        assert int(debit) == int(credit) == total
        np.testing.assert_array_equal(b, want_b)
        assert int(b.sum()) == int(balance.sum())
        assert b.min() >= 0
        if k is not None:  # non-participants untouched
            others = np.setdiff1d(np.arange(n), part)
            np.testing.assert_array_equal(b[others], balance[others])
        balance = b


def test_random_fraction_debit_phase_alone():
    balance = np.array([1_000_000, 0, 37, 10**12], np.int64)
    b = balance.copy()
    scratch = np.zeros(4, np.int64)
    sf = skey(5, 1)
    total = exchange.random_fraction_debit(b, scratch, E, 4, np.uint64(sf), 0.5)
    want = [int(np.floor(O.draw_uniform(sf, k) * 0.5 * float(balance[k]))) for k in range(4)]
    assert scratch.tolist() == want and int(total) == sum(want)
    np.testing.assert_array_equal(b, balance - np.array(want))
    assert scratch[1] == 0


def test_random_fraction_fraction_zero_moves_nothing():
    balance = _balances(50, 2)
    b = balance.copy()
    scratch = np.zeros(50, np.int64)
    assert exchange.random_fraction_debit(b, scratch, E, 50, np.uint64(skey(0, 1)), 0.0) == 0
    assert exchange.random_fraction_credit(b, scratch, E, 50, np.uint64(skey(0, 2))) == 0
    np.testing.assert_array_equal(b, balance)


def test_random_fraction_single_participant_keeps_money():
    balance = np.array([1_000_000, 0], np.int64)  # account 1 is not a participant (n_part = 1)
    b = balance.copy()
    scratch = np.zeros(2, np.int64)
    exchange.random_fraction_debit(b, scratch, E, 1, np.uint64(skey(0, 1)), 1.0)
    exchange.random_fraction_credit(b, scratch, E, 1, np.uint64(skey(0, 2)))
    np.testing.assert_array_equal(b, balance)


# ------------------------------------------------------------------------- saving propensity
@pytest.mark.parametrize("name,n,k", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("give", [1.0, 0.35])
def test_saving_propensity_matches_oracle(name, n, k, give):
    balance = _balances(n, 3)
    part, npart = _part(n, k)
    for tick in range(3):
        sp, ss = skey(tick, O.STREAM_PAIRING), skey(tick, O.STREAM_PAIR_SHARE)
        b = balance.copy()
        pooled = exchange.saving_propensity_exchange(b, part, npart, np.uint64(sp), np.uint64(ss),
                                                     give)
        want_b, want_pooled = O.saving_propensity(balance, part, npart, sp, ss, give)
        assert int(pooled) == want_pooled
        np.testing.assert_array_equal(b, want_b)
        assert int(b.sum()) == int(balance.sum())
        assert b.min() >= 0
        balance = b


def test_saving_propensity_pairs_are_disjoint_and_odd_one_sits_out():
    n = 11
    sp = skey(0, O.STREAM_PAIRING)
    pairs = O.pairs(sp, n, E)
    flat = [a for p in pairs for a in p]
    assert len(flat) == len(set(flat)) == 10
    idle = (set(range(n)) - set(flat)).pop()
    balance = _balances(n, 4)
    b = balance.copy()
    exchange.saving_propensity_exchange(b, E, n, np.uint64(sp), np.uint64(skey(0, 4)), 1.0)
    assert b[idle] == balance[idle]


def test_saving_propensity_give_zero_is_identity():
    balance = _balances(64, 5)
    b = balance.copy()
    assert exchange.saving_propensity_exchange(b, E, 64, np.uint64(1), np.uint64(2), 0.0) == 0
    np.testing.assert_array_equal(b, balance)


# ---------------------------------------------------------------------------------- yard sale
@pytest.mark.parametrize("name,n,k", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("zeta", [0.0, 0.7, 50.0])
def test_yard_sale_matches_oracle(name, n, k, zeta):
    balance = _balances(n, 6)
    part, npart = _part(n, k)
    for tick in range(3):
        mean = O.sum_participants(balance, part, npart) / npart
        sp, sc = skey(tick, O.STREAM_PAIRING), skey(tick, O.STREAM_PAIR_COIN)
        b = balance.copy()
        moved = exchange.yard_sale_exchange(b, part, npart, np.uint64(sp), np.uint64(sc), 0.25,
                                            zeta, mean)
        want_b, want_moved = O.yard_sale(balance, part, npart, sp, sc, 0.25, zeta, mean)
        assert int(moved) == want_moved
        np.testing.assert_array_equal(b, want_b)
        assert int(b.sum()) == int(balance.sum())
        assert b.min() >= 0
        balance = b


def test_yard_sale_extreme_advantage_richer_always_wins():
    # zeta huge: p_i clips to 1 when i is richer, 0 when poorer; equal balances stay 50/50
    n = 200
    balance = np.arange(n, dtype=np.int64) * 1000 + 1000
    b = balance.copy()
    sp = skey(9, O.STREAM_PAIRING)
    exchange.yard_sale_exchange(b, E, n, np.uint64(sp), np.uint64(skey(9, 5)), 0.5, 1e9,
                                float(balance.mean()))
    for i, j in O.pairs(sp, n, E):
        rich, poor = (i, j) if balance[i] > balance[j] else (j, i)
        stake = balance[poor] // 2
        assert b[rich] == balance[rich] + stake and b[poor] == balance[poor] - stake


def test_yard_sale_zero_mean_ignores_zeta():
    balance = np.zeros(10, np.int64)
    b = balance.copy()
    assert exchange.yard_sale_exchange(b, E, 10, np.uint64(1), np.uint64(2), 0.5, 3.0, 0.0) == 0
    np.testing.assert_array_equal(b, balance)


# ------------------------------------------------------------------ collect / credit / sums
@pytest.mark.parametrize("k", [None, 37])
def test_collect_credit_sum_match_oracle(k):
    n = 120
    balance = _balances(n, 7)
    part, npart = _part(n, k)
    assert int(exchange.sum_participants(balance, part, npart)) == \
        O.sum_participants(balance, part, npart)
    for rate in (0.0, 0.013, 0.5, 1.0):
        b = balance.copy()
        got = exchange.collect_fraction(b, part, npart, rate)
        want_b, want = O.collect_fraction(balance, part, npart, rate)
        assert int(got) == want
        np.testing.assert_array_equal(b, want_b)
        assert b.min() >= 0
    b = balance.copy()
    got = exchange.credit_each(b, part, npart, np.int64(777))
    want_b, want = O.credit_each(balance, part, npart, 777)
    assert int(got) == want == 777 * npart
    np.testing.assert_array_equal(b, want_b)


def test_participant_helper():
    p = np.array([5, 3, 9], np.int64)
    assert [exchange.participant(k, p) for k in range(3)] == [5, 3, 9]
    assert [exchange.participant(k, E) for k in range(3)] == [0, 1, 2]


def test_yard_sale_with_redistribution_conserves_with_sink():
    # the regime's chi step: collect, credit equal shares, remainder to a sink
    n = 97
    balance = _balances(n, 8)
    b = balance.copy()
    exchange.yard_sale_exchange(b, E, n, np.uint64(skey(1, 3)), np.uint64(skey(1, 5)), 0.3, 0.1,
                                float(balance.mean()))
    pool = int(exchange.collect_fraction(b, E, n, 0.02))
    each = pool // n
    assert int(exchange.credit_each(b, E, n, np.int64(each))) == each * n
    sink = pool - each * n
    assert 0 <= sink < n
    assert int(b.sum()) + sink == int(balance.sum())


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("n", [1, 2, 37, 1000])
def test_fused_debit_equals_accumulate_then_debit(first, n):
    """The all-participants debit with SuMSy's period bookkeeping fused in is the two kernels in one."""
    from spms_mc_kernels import sumsy

    rs = np.random.default_rng(n)
    balance = rs.integers(0, 10**9, n).astype(np.int64)
    psum = rs.integers(0, 10**10, n).astype(np.int64)
    a_bal, a_sum, a_scr = balance.copy(), psum.copy(), np.zeros(n, np.int64)
    sumsy.accumulate_period(a_bal, a_sum, first)
    ta = exchange.random_fraction_debit(a_bal, a_scr, E, n, np.uint64(skey(3, 1)), 0.3)
    b_bal, b_sum, b_scr = balance.copy(), psum.copy(), np.zeros(n, np.int64)
    tb = exchange.random_fraction_debit_accumulate(b_bal, b_scr, b_sum, first, np.uint64(skey(3, 1)), 0.3)
    assert ta == tb
    for x, y in ((a_bal, b_bal), (a_sum, b_sum), (a_scr, b_scr)):
        np.testing.assert_array_equal(x, y)
