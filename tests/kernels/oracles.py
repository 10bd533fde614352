"""Slow, obviously-correct reference implementations of the kernels in ``spms_mc_kernels``.

Everything here is written independently of the kernels: no kernel is imported or called. The RNG
uses Python integers masked to 64 bits; the money kernels are plain Python loops over accounts in
the order a reader would write them down from the docstrings / docs/design.md contracts. Floating-point
expressions that feed a ``floor`` are written in the same evaluation order as the documented
formula (``u * fraction * b`` is ``(u * fraction) * b``), because the contract is bit-exact
agreement, and IEEE-754 double arithmetic is deterministic for a fixed order.

Amounts are Python ints; arrays are returned as new ``int64`` NumPy arrays (inputs are not
modified).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

# ---------------------------------------------------------------------------------------------
# counter-based RNG (SplitMix64 output function, Python ints)
# ---------------------------------------------------------------------------------------------
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX_M1 = 0xBF58476D1CE4E5B9
MIX_M2 = 0x94D049BB133111EB

STREAM_EXCHANGE_FRACTION = 1
STREAM_EXCHANGE_TARGET = 2
STREAM_PAIRING = 3
STREAM_PAIR_SHARE = 4
STREAM_PAIR_COIN = 5
STREAM_EVENT_BASE = 1024


def u64(x) -> int:
    """Any integer (Python or NumPy) reduced modulo 2**64 to a Python int."""
    return int(x) & MASK64


def mix64(z) -> int:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014) on Python ints."""
    z = u64(z)
    z = ((z ^ (z >> 30)) * MIX_M1) & MASK64
    z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
    return z ^ (z >> 31)


def member_key(root_seed, member) -> int:
    return mix64(mix64(u64(root_seed) + GOLDEN) + (u64(member) + 1) * GOLDEN)


def stream_key(key, tick, stream) -> int:
    counter = ((u64(tick) << 16) & MASK64) | u64(stream)
    return mix64(u64(key) ^ mix64(counter + GOLDEN))


def draw_u64(skey, index) -> int:
    return mix64(u64(skey) + (u64(index) + 1) * GOLDEN)


def draw_uniform(skey, index) -> float:
    """Top 53 bits as a double in [0, 1): exact, since (x >> 11) < 2**53."""
    return float(draw_u64(skey, index) >> 11) / float(1 << 53)


def draw_other(skey, index, n) -> int:
    j = int(draw_uniform(skey, index) * (n - 1))  # u >= 0: int() truncation == floor
    return j + 1 if j >= index else j


def feistel_half_bits(n) -> int:
    bits = max(1, (int(n) - 1).bit_length())  # smallest bits >= 1 with 2**bits >= n
    return (bits + 1) // 2


def feistel(skey, x, half) -> int:
    mask = (1 << half) - 1
    left, right = (int(x) >> half) & mask, int(x) & mask
    for r in range(4):
        f = mix64(u64(skey) + (right + 1) * GOLDEN + r) & mask
        left, right = right, left ^ f
    return (left << half) | right


def permute(skey, x, n) -> int:
    half = feistel_half_bits(n)
    y = feistel(skey, x, half)
    while y >= n:  # cycle walking
        y = feistel(skey, y, half)
    return y


def permutation(skey, n) -> list[int]:
    return [permute(skey, x, n) for x in range(n)]


# ---------------------------------------------------------------------------------------------
# SuMSy
# ---------------------------------------------------------------------------------------------
ELIGIBLE = 1


def tiered_charge(excess: float, tier_lower, tier_rate) -> float:
    """Bracketed charge: bracket k charges rate[k] on the part of ``excess`` in
    [lower[k], lower[k+1]) (the last bracket is open above); brackets added in order."""
    total = 0.0
    nt = len(tier_lower)
    for k in range(nt):
        lo = float(tier_lower[k])
        hi = float(tier_lower[k + 1]) if k + 1 < nt else math.inf
        part = min(excess, hi) - lo
        if part > 0.0:
            total += float(tier_rate[k]) * part
    return total


def tiered_charge_exact(excess, tier_lower, tier_rate) -> Fraction:
    """The same bracket formula in exact rational arithmetic (for tolerance checks)."""
    excess = Fraction(excess)
    total = Fraction(0)
    nt = len(tier_lower)
    for k in range(nt):
        lo = Fraction(float(tier_lower[k]))
        part = excess - lo
        if k + 1 < nt:
            part = min(excess, Fraction(float(tier_lower[k + 1]))) - lo
        if part > 0:
            total += Fraction(float(tier_rate[k])) * part
    return total


def buffer_of(i, flags, buffer, buffer_by_account) -> int:
    if len(buffer_by_account) > 0:
        return int(buffer_by_account[i])
    return int(buffer) if int(flags[i]) & ELIGIBLE else 0


def settle_period(balance, period_sum, use_average, period_ticks, flags, charge, gi, buffer,
                  buffer_by_account, tier_lower, tier_rate, tax_rate):
    """Returns (new_balance, demurrage_total, tax_total, gi_total)."""
    out = [int(b) for b in balance]
    dem_t = tax_t = gi_t = 0
    for i in range(len(out)):
        b = out[i]
        if charge:
            base = float(int(period_sum[i])) / float(period_ticks) if use_average else float(b)
            excess = base - float(buffer_of(i, flags, buffer, buffer_by_account))
            dem = 0
            if excess > 0.0:
                dem = min(math.floor(tiered_charge(excess, tier_lower, tier_rate)), b)
            tax = 0
            if tax_rate > 0.0:
                tax = min(math.floor(tax_rate * base), b - dem)
            b -= dem + tax
            dem_t += dem
            tax_t += tax
        if int(flags[i]) & ELIGIBLE:
            b += int(gi)
            gi_t += int(gi)
        out[i] = b
    return np.array(out, np.int64), dem_t, tax_t, gi_t


def sum_charge_base(balance, period_sum, use_average, period_ticks) -> float:
    if use_average:
        return float(sum(int(v) for v in period_sum)) / float(period_ticks)
    return float(sum(int(v) for v in balance))


def accumulate_period(balance, period_sum, first_tick):
    if first_tick:
        return np.array([int(b) for b in balance], np.int64)
    return np.array([int(s) + int(b) for s, b in zip(period_sum, balance)], np.int64)


def accrue_account(i, tick, balance, last_tick, flags, period_ticks, gi, buffer,
                   buffer_by_account, tier_lower, tier_rate):
    """Transactional SuMSy for one account; mutates the given Python lists, returns (dem, gi)."""
    last = int(last_tick[i])
    if last >= tick:
        return 0, 0
    b = int(balance[i])
    elapsed = tick - last
    excess = float(b) - float(buffer_of(i, flags, buffer, buffer_by_account))
    dem = 0
    if excess > 0.0:
        dem = min(math.floor(tiered_charge(excess, tier_lower, tier_rate) * elapsed / period_ticks),
                  b)
    acc = 0
    if int(flags[i]) & ELIGIBLE:
        acc = (int(gi) * tick) // period_ticks - (int(gi) * last) // period_ticks
    balance[i] = b - dem + acc
    last_tick[i] = tick
    return dem, acc


def accrue_accounts(participants, n_accounts, tick, balance, last_tick, flags, period_ticks, gi,
                    buffer, buffer_by_account, tier_lower, tier_rate):
    """Returns (new_balance, new_last_tick, dem_total, gi_total)."""
    bal = [int(b) for b in balance]
    last = [int(t) for t in last_tick]
    idx = range(n_accounts) if len(participants) == 0 else [int(p) for p in participants]
    dem_t = gi_t = 0
    for i in idx:
        d, g = accrue_account(i, tick, bal, last, flags, period_ticks, gi, buffer,
                              buffer_by_account, tier_lower, tier_rate)
        dem_t += d
        gi_t += g
    return np.array(bal, np.int64), np.array(last, np.int64), dem_t, gi_t


# ---------------------------------------------------------------------------------------------
# exchange
# ---------------------------------------------------------------------------------------------
def _accounts(participants, n_part):
    if len(participants) == 0:
        return list(range(n_part))
    return [int(p) for p in participants[:n_part]]


def random_fraction(balance, participants, n_part, skey_fraction, skey_target, fraction):
    """Debit every participant by floor(u_k * fraction * b) of its start balance, then credit each
    payment to a uniform random other participant. Returns (new_balance, payments, total)."""
    acc = _accounts(participants, n_part)
    bal = [int(b) for b in balance]
    pays = []
    for k, i in enumerate(acc):
        b = bal[i]
        pay = min(math.floor(draw_uniform(skey_fraction, k) * fraction * float(b)), b)
        bal[i] = b - pay
        pays.append(pay)
    for k in range(n_part):
        bal[acc[draw_other(skey_target, k, n_part)]] += pays[k]
    return np.array(bal, np.int64), pays, sum(pays)


def pairs(skey_pair, n_part, participants):
    """Disjoint pairs (i, j) of accounts, pair k = positions permute(2k), permute(2k+1)."""
    acc = _accounts(participants, n_part)
    return [(acc[permute(skey_pair, 2 * k, n_part)], acc[permute(skey_pair, 2 * k + 1, n_part)])
            for k in range(n_part // 2)]


def saving_propensity(balance, participants, n_part, skey_pair, skey_share, give):
    """Returns (new_balance, pooled_total)."""
    bal = [int(b) for b in balance]
    pooled = 0
    for k, (i, j) in enumerate(pairs(skey_pair, n_part, participants)):
        bi, bj = bal[i], bal[j]
        put_i = min(math.floor(give * float(bi)), bi)
        put_j = min(math.floor(give * float(bj)), bj)
        pool = put_i + put_j
        share_i = min(math.floor(draw_uniform(skey_share, k) * float(pool)), pool)
        bal[i] = bi - put_i + share_i
        bal[j] = bj - put_j + pool - share_i
        pooled += pool
    return np.array(bal, np.int64), pooled


def yard_sale(balance, participants, n_part, skey_pair, skey_coin, stake_fraction, zeta, mean):
    """Returns (new_balance, moved_total)."""
    bal = [int(b) for b in balance]
    moved = 0
    for k, (i, j) in enumerate(pairs(skey_pair, n_part, participants)):
        bi, bj = bal[i], bal[j]
        stake = math.floor(stake_fraction * float(min(bi, bj)))
        p = 0.5
        if zeta != 0.0 and mean > 0.0:
            p = min(max(0.5 * (1.0 + zeta * float(bi - bj) / mean), 0.0), 1.0)
        if draw_uniform(skey_coin, k) < p:
            bal[i], bal[j] = bi + stake, bj - stake
        else:
            bal[i], bal[j] = bi - stake, bj + stake
        moved += stake
    return np.array(bal, np.int64), moved


def collect_fraction(balance, participants, n_part, rate):
    bal = [int(b) for b in balance]
    total = 0
    for i in _accounts(participants, n_part):
        take = min(math.floor(rate * float(bal[i])), bal[i])
        bal[i] -= take
        total += take
    return np.array(bal, np.int64), total


def credit_each(balance, participants, n_part, amount):
    bal = [int(b) for b in balance]
    for i in _accounts(participants, n_part):
        bal[i] += int(amount)
    return np.array(bal, np.int64), int(amount) * n_part


def sum_participants(balance, participants, n_part):
    return sum(int(balance[i]) for i in _accounts(participants, n_part))


# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------
def targeted(skey, lo, hi, share) -> list[int]:
    return [i for i in range(lo, hi) if share >= 1.0 or draw_uniform(skey, i) < share]


def inject(balance, lo, hi, amount, share, skey):
    bal = [int(b) for b in balance]
    total = 0
    for i in targeted(skey, lo, hi, share):
        bal[i] += int(amount)
        total += int(amount)
    return np.array(bal, np.int64), total


def lose(balance, lo, hi, fraction, share, skey):
    bal = [int(b) for b in balance]
    total = 0
    for i in targeted(skey, lo, hi, share):
        gone = min(math.floor(fraction * float(bal[i])), bal[i])
        bal[i] -= gone
        total += gone
    return np.array(bal, np.int64), total


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------
def gini(x) -> float:
    """Gini by the mean absolute difference: sum_ij |x_i - x_j| / (2 n^2 mean), exact rationals."""
    x = [int(v) for v in x]
    n, total = len(x), sum(x)
    if n == 0 or total == 0:
        return math.nan
    s = sum(abs(a - b) for a in x for b in x)
    return float(Fraction(s, 2 * n * total))  # 2 n^2 mean = 2 n total


def lorenz(x, q) -> float:
    """Linear interpolation, at population share q, of the points (k/n, C_k / C_n), C_k the sum of
    the k smallest values; exact rationals, q taken at its exact binary value."""
    xs = sorted(int(v) for v in x)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return math.nan
    pos = Fraction(q) * n
    k = math.floor(pos)
    if k >= n:
        return 1.0
    return float((sum(xs[:k]) + (pos - k) * xs[k]) / total)


def distribution_stats(x, grid):
    """(lorenz_at_grid, gini, top1, top10, bottom50, mean, median, total)."""
    n = len(x)
    total = sum(int(v) for v in x)
    lor = [lorenz(x, q) for q in grid]
    if n == 0:
        return lor, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, 0
    return (lor, gini(x), 1.0 - lorenz(x, 0.99), 1.0 - lorenz(x, 0.90), lorenz(x, 0.50),
            total / n, float(np.median(np.asarray(x, dtype=np.float64))), total)
