"""Counter-based RNG kernels vs the Python-int oracle, bit for bit, plus sanity statistics."""
import math

import numpy as np
import pytest
from numba import njit
from spms_mc_kernels import rng

import oracles as O

EDGE = [0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**63 + 1,
        2**64 - 2, 2**64 - 1, O.GOLDEN, O.MIX_M1, O.MIX_M2]


def _inputs(n, seed):
    r = np.random.default_rng(seed)
    return EDGE + [int(v) for v in r.integers(0, 2**64, size=n, dtype=np.uint64)]


@njit
def _uniforms(skey, start, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.draw_uniform(skey, start + i)
    return out


@njit
def _permutation(skey, n):
    half = rng.feistel_half_bits(n)
    out = np.empty(n, np.int64)
    for x in range(n):
        out[x] = rng.permute(skey, x, half, n)
    return out


# --------------------------------------------------------------------------------- bit-exactness
def test_mix64_matches_oracle():
    for z in _inputs(2000, 1):
        assert int(rng.mix64(np.uint64(z))) == O.mix64(z), z


def test_mix64_known_values():
    # SplitMix64 reference: the first output of a generator seeded with 0 is mix64(GOLDEN)
    assert int(rng.mix64(np.uint64(0))) == 0
    assert O.mix64(O.GOLDEN) == 0xE220A8397B1DCDAF
    assert int(rng.mix64(np.uint64(O.GOLDEN))) == 0xE220A8397B1DCDAF
    assert int(rng.mix64(np.uint64(2 * O.GOLDEN % 2**64))) == 0x6E789E6AA1B965F4


def test_mix64_is_a_bijection_on_a_sample():
    xs = _inputs(5000, 2)
    assert len({O.mix64(x) for x in set(xs)}) == len(set(xs))


def test_member_key_matches_oracle():
    roots = [0, 1, 7, 2**32, 2**63, 2**64 - 1]
    members = [0, 1, 2, 255, 10_000, 2**40, 2**63 - 1, 2**64 - 1]
    for r in roots:
        for m in members:
            assert int(rng.member_key(np.uint64(r), np.uint64(m))) == O.member_key(r, m), (r, m)


def test_stream_key_matches_oracle():
    keys = _inputs(40, 3)
    ticks = [0, 1, 29, 30, 365_000, 2**47, 2**48 - 1, 2**48 + 5]  # tick << 16 wraps above 2**48
    streams = [0, 1, 2, 3, 7, 1024, 1030, 2**16 - 1]
    for k in keys:
        for t in ticks:
            for s in streams:
                assert int(rng.stream_key(np.uint64(k), np.uint64(t), np.uint64(s))) \
                    == O.stream_key(k, t, s), (k, t, s)


def test_stream_key_accepts_plain_int_tick_and_stream():
    k = np.uint64(O.member_key(7, 3))
    for t in (0, 5, 1000):
        for s in (1, 2, 1024):
            assert int(rng.stream_key(k, t, s)) == O.stream_key(int(k), t, s)


def test_draw_u64_uniform_other_match_oracle():
    skeys = _inputs(25, 4)
    idx = [0, 1, 2, 10, 999, 2**31, 2**40, 2**63 - 2]
    for sk in skeys:
        usk = np.uint64(sk)
        for i in idx:
            assert int(rng.draw_u64(usk, i)) == O.draw_u64(sk, i)
            u = rng.draw_uniform(usk, i)
            assert u == O.draw_uniform(sk, i)  # exact equality of doubles
            assert 0.0 <= u < 1.0
        for n in (2, 3, 10, 1001):
            for i in range(0, n, max(1, n // 7)):
                assert rng.draw_other(usk, i, n) == O.draw_other(sk, i, n), (sk, i, n)


def test_draw_uniform_edge_top_bits():
    # the largest possible draw maps to 1 - 2**-53 < 1, the smallest to 0
    assert O.draw_uniform(0, 0) == float(O.draw_u64(0, 0) >> 11) * 2.0**-53
    assert float((2**64 - 1) >> 11) * 2.0**-53 == 1.0 - 2.0**-53


def test_draw_other_never_returns_index_and_is_in_range():
    for s in range(20):
        sk = np.uint64(O.stream_key(O.member_key(s, 0), 0, 2))
        for n in (2, 3, 4, 5, 17, 100):
            for i in range(n):
                j = rng.draw_other(sk, i, n)
                assert 0 <= j < n and j != i, (s, n, i, j)


def test_draw_other_largest_uniform_stays_below_n_minus_1():
    # the largest draw, 1 - 2**-53, times (n - 1) must still truncate below n - 1, else
    # draw_other could return n (out of range) for some n
    top = 1.0 - 2.0**-53
    ns = list(range(2, 5000)) + [2**k + d for k in range(12, 53) for d in (-1, 0, 1)]
    for n in ns:
        assert int(top * (n - 1)) <= n - 2, n


def test_draw_other_two_accounts_is_deterministic_partner():
    sk = np.uint64(12345)
    assert rng.draw_other(sk, 0, 2) == 1
    assert rng.draw_other(sk, 1, 2) == 0


def test_draw_other_covers_all_others():
    n = 6
    for i in range(n):
        seen = {rng.draw_other(np.uint64(O.stream_key(99, t, 2)), i, n) for t in range(300)}
        assert seen == set(range(n)) - {i}


# ---------------------------------------------------------------------------------- permutations
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 15, 16, 17, 100, 255, 256, 257, 1000, 2000])
def test_permute_matches_oracle(n):
    sk = O.stream_key(O.member_key(7, 0), 3, O.STREAM_PAIRING)
    assert rng.feistel_half_bits(n) == O.feistel_half_bits(n)
    assert _permutation(np.uint64(sk), n).tolist() == O.permutation(sk, n)


def test_feistel_half_bits_oracle_and_domain():
    for n in list(range(0, 3000)) + [2**20 - 1, 2**20, 2**20 + 1, 10**8]:
        half = rng.feistel_half_bits(n)
        assert half == O.feistel_half_bits(n), n
        assert 2 ** (2 * half) >= n
        assert n <= 1 or 2 ** (2 * half) < 4 * n  # expected cycle walks < 4


def test_permute_is_bijection_small_n():
    for n in range(1, 2001):
        sk = np.uint64(O.stream_key(n, n, O.STREAM_PAIRING))
        p = _permutation(sk, n)
        assert np.array_equal(np.sort(p), np.arange(n)), n


@pytest.mark.parametrize("n", [4093, 65_536, 65_537, 100_003, 1 << 20])
def test_permute_is_bijection_large_n(n):
    p = _permutation(np.uint64(O.stream_key(11, 0, 3)), n)
    assert np.array_equal(np.bincount(p, minlength=n), np.ones(n, np.int64))


def test_permute_is_keyed():
    n = 1000
    perms = {tuple(_permutation(np.uint64(O.stream_key(5, t, O.STREAM_PAIRING)), n))
             for t in range(20)}
    assert len(perms) == 20
    assert tuple(range(n)) not in perms
    # two keys disagree on most positions
    a = _permutation(np.uint64(1), n)
    b = _permutation(np.uint64(2), n)
    assert np.count_nonzero(a != b) > 0.9 * n


# -------------------------------------------------------------------------------- independence
def test_member_keys_distinct():
    for root in (0, 1, 2**64 - 1):
        keys = {int(rng.member_key(np.uint64(root), np.uint64(m))) for m in range(5000)}
        assert len(keys) == 5000
    across = {int(rng.member_key(np.uint64(r), np.uint64(m))) for r in range(50) for m in range(50)}
    assert len(across) == 2500


def test_stream_keys_distinct():
    key = np.uint64(O.member_key(3, 1))
    ks = {int(rng.stream_key(key, t, s)) for t in range(200) for s in (1, 2, 3, 4, 5, 6, 7, 1024)}
    assert len(ks) == 1600


def test_draws_independent_of_evaluation_order():
    sk = np.uint64(O.stream_key(O.member_key(42, 5), 17, 1))
    n = 5000
    fwd = np.array([rng.draw_uniform(sk, i) for i in range(n)])
    rev = np.array([rng.draw_uniform(sk, i) for i in reversed(range(n))])[::-1]
    perm = np.random.default_rng(0).permutation(n)
    shuffled = np.empty(n)
    for i in perm:
        shuffled[i] = rng.draw_uniform(sk, int(i))
    assert np.array_equal(fwd, rev)
    assert np.array_equal(fwd, shuffled)
    assert np.array_equal(fwd, _uniforms(sk, 0, n))
    assert np.array_equal(fwd[1234:], _uniforms(sk, 1234, n - 1234))  # a chunk starting mid-way
    assert np.array_equal(fwd[:50], [O.draw_uniform(int(sk), i) for i in range(50)])


# -------------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("member", [0, 1, 2])
def test_uniform_mean_and_ks(member):
    n = 200_000
    sk = np.uint64(O.stream_key(O.member_key(2024, member), 1, 1))
    u = _uniforms(sk, 0, n)
    # mean: sd 1/sqrt(12 n); allow 5 sd
    assert abs(u.mean() - 0.5) < 5.0 / math.sqrt(12.0 * n)
    # variance 1/12: sd of the sample variance ~ sqrt(1/180 / n)
    assert abs(u.var() - 1.0 / 12.0) < 5.0 * math.sqrt(1.0 / 180.0 / n)
    # Kolmogorov-Smirnov: sup |F_n - F| < 1.95 / sqrt(n) (the 0.1 % critical value)
    s = np.sort(u)
    i = np.arange(1, n + 1)
    d = max(np.max(i / n - s), np.max(s - (i - 1) / n))
    assert d < 1.95 / math.sqrt(n)
    # serial correlation of consecutive draws ~ N(0, 1/n)
    c = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(c) < 5.0 / math.sqrt(n)


def test_uniforms_of_different_members_uncorrelated():
    n = 100_000
    a = _uniforms(np.uint64(O.stream_key(O.member_key(1, 0), 0, 1)), 0, n)
    b = _uniforms(np.uint64(O.stream_key(O.member_key(1, 1), 0, 1)), 0, n)
    assert abs(np.corrcoef(a, b)[0, 1]) < 5.0 / math.sqrt(n)
    assert not np.array_equal(a, b)


def test_backend_fill_kernels_match_the_oracle():
    """The bulk fills used to draw initial balances and the active subset."""
    from spms_mc.core.backend import permutation_array, uniform_array

    sk = O.stream_key(O.member_key(5, 2), 0, 7)
    u = uniform_array(np.uint64(sk), 500)
    assert u.tolist() == [O.draw_uniform(sk, i) for i in range(500)]
    for n in (1, 2, 3, 1000, 5000):
        p = permutation_array(np.uint64(sk), n, O.feistel_half_bits(n))
        assert p.tolist() == O.permutation(sk, n)
