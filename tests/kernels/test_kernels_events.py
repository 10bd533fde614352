"""Injection / loss event kernels vs the oracle (targeted subsets rebuilt from oracle draws)."""
import math

import numpy as np
import pytest
from spms_mc_kernels import events

import oracles as O

KEY = O.member_key(77, 0)


def skey(k):
    return O.stream_key(KEY, 0, O.STREAM_EVENT_BASE + k)


def _balances(n, seed):
    b = np.random.default_rng(seed).integers(0, 5_000_000, size=n).astype(np.int64)
    b[0], b[1] = 0, 1
    return b


RANGES = [(0, 500), (0, 1), (100, 350), (499, 500), (200, 200)]
SHARES = [1.0, 1.5, 0.5, 0.1, 0.0]


@pytest.mark.parametrize("lo,hi", RANGES)
@pytest.mark.parametrize("share", SHARES)
def test_inject_matches_oracle(lo, hi, share):
    balance = _balances(500, 1)
    sk = skey(2)
    b = balance.copy()
    got = events.inject(b, lo, hi, np.int64(12_345), share, np.uint64(sk))
    want_b, want = O.inject(balance, lo, hi, 12_345, share, sk)
    assert int(got) == want
    np.testing.assert_array_equal(b, want_b)
    assert int(events.count_targeted(lo, hi, share, np.uint64(sk))) == \
        len(O.targeted(sk, lo, hi, share)) == want // 12_345
    outside = np.r_[0:lo, hi:500]
    np.testing.assert_array_equal(b[outside], balance[outside])


@pytest.mark.parametrize("lo,hi", RANGES)
@pytest.mark.parametrize("share", SHARES)
@pytest.mark.parametrize("fraction", [0.0, 0.2, 1.0])
def test_lose_matches_oracle(lo, hi, share, fraction):
    balance = _balances(500, 2)
    sk = skey(3)
    b = balance.copy()
    got = events.lose(b, lo, hi, fraction, share, np.uint64(sk))
    want_b, want = O.lose(balance, lo, hi, fraction, share, sk)
    assert int(got) == want
    np.testing.assert_array_equal(b, want_b)
    assert int(balance.sum()) - int(b.sum()) == want
    assert b.min() >= 0


def test_full_loss_empties_targeted_accounts():
    balance = _balances(100, 3)
    b = balance.copy()
    gone = events.lose(b, 10, 60, 1.0, 1.0, np.uint64(skey(0)))
    assert (b[10:60] == 0).all() and int(gone) == int(balance[10:60].sum())


def test_targeted_subset_is_the_same_at_every_occurrence_and_has_the_right_size():
    n, share = 20_000, 0.3
    sk = np.uint64(skey(4))
    b1 = np.zeros(n, np.int64)
    events.inject(b1, 0, n, np.int64(1), share, sk)
    events.inject(b1, 0, n, np.int64(1), share, sk)  # same key, same subset
    assert set(np.unique(b1).tolist()) <= {0, 2}
    count = int(events.count_targeted(0, n, share, sk))
    assert count == int((b1 == 2).sum())
    # binomial(n, share): 5 sd
    assert abs(count - n * share) < 5 * math.sqrt(n * share * (1 - share))


def test_targeting_independent_of_range_split():
    # the draw is keyed by account index, so splitting the range gives the same subset
    balance = _balances(1000, 5)
    sk = np.uint64(skey(6))
    a, b = balance.copy(), balance.copy()
    ta = events.lose(a, 0, 1000, 0.5, 0.4, sk)
    tb = events.lose(b, 600, 1000, 0.5, 0.4, sk) + events.lose(b, 0, 600, 0.5, 0.4, sk)
    assert int(ta) == int(tb)
    np.testing.assert_array_equal(a, b)


def test_is_targeted_helper():
    sk = skey(1)
    for i in range(200):
        assert events.is_targeted(np.uint64(sk), i, 0.5) == (O.draw_uniform(sk, i) < 0.5)
        assert events.is_targeted(np.uint64(sk), i, 1.0)
        assert not events.is_targeted(np.uint64(sk), i, 0.0)
