"""Batched CUDA kernels: many members of one scenario advanced together, one launch per process.

The per-account arrays of a batch are 2-D, ``(member, account)``; a launch covers every member
with a 2-D grid (``blockIdx.y`` is the member, ``x`` the account or pair), so a block never mixes
members. Each member's draws are keyed by its own member key (``member_keys[m]``): the stream key
``member_stream(member_keys, m, tick, stream)`` is computed on the device by every thread, which is
two SplitMix64 rounds and saves a host-to-device copy per tick. Every per-account rule is the
single-member kernel's (:mod:`spms_mc_kernels.cuda`, itself the CPU one), so member m of a batch
gives the same bytes as ``Engine(sc, seed, m)`` on the CPU.

Per-member totals (demurrage, injections, row sums for the ledger) are summed within a block in
shared memory and added with one integer atomic per block: exact and order-free.

Metrics on the device: each member's household balances are copied into a row padded with
INT64_MAX to a power of two, sorted by a bitonic network (one launch per stage, all members at
once), then :func:`distribution_stats` runs the CPU's serial pass (:mod:`spms_mc_kernels.metrics`)
with one thread per member, in the same ascending order and with the same float expressions, so
the Gini, the shares and the Lorenz curve have the CPU's bits (FMA contraction is off, see
:func:`spms_mc_kernels.cuda.no_fma_contraction`). Only these aggregates are copied back.
"""
import math

import numpy as np
from numba import cuda, int64

from .cuda import THREADS, account_buffer, accrue_account, tiered_charge
from .events import is_targeted
from .exchange import fraction_payment, pool_and_split, yard_sale_bet
from .money import floor_share
from .rng import draw_other, draw_uniform, permute, stream_key
from .sumsy import ELIGIBLE

INT64_MAX = np.iinfo(np.int64).max


# Block reductions use the dynamic shared memory of the launch (one int64 per thread): one buffer
# per block, which numba's CUDA simulator also gives without the race of its static shared arrays
# (those are created on first use by whichever thread comes first).
SHARED_BYTES = THREADS * 8


def grid(n: int, members: int) -> tuple:
    """Launch configuration ``(blocks, threads, stream, shared bytes)`` covering ``n`` items of each
    of ``members`` members: ``kernel[grid(n, M)](...)``."""
    return (max(1, (int(n) + THREADS - 1) // THREADS), int(members)), (THREADS, 1), 0, SHARED_BYTES


@cuda.jit(device=True)
def block_sum(value):
    """Sum of ``value`` over the threads of the block, valid on thread 0 (every thread must call)."""
    buf = cuda.shared.array(0, int64)
    t = cuda.threadIdx.x
    cuda.syncthreads()  # readers of a previous call are done
    buf[t] = value
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if t < s:
            buf[t] += buf[t + s]
        cuda.syncthreads()
        s //= 2
    return buf[0]


@cuda.jit(device=True)
def block_min(value):
    """Minimum of ``value`` over the threads of the block, valid on thread 0."""
    buf = cuda.shared.array(0, int64)
    t = cuda.threadIdx.x
    cuda.syncthreads()
    buf[t] = value
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if t < s and buf[t + s] < buf[t]:
            buf[t] = buf[t + s]
        cuda.syncthreads()
        s //= 2
    return buf[0]


@cuda.jit(device=True)
def add_total(totals, m, k, value):
    """``totals[m, k] += `` the block's sum of ``value``."""
    s = block_sum(value)
    if cuda.threadIdx.x == 0 and s != 0:
        cuda.atomic.add(totals, (m, k), s)


@cuda.jit(device=True)
def member_participant(m, k, participants):
    """Account of participant k of member m (k itself when every household takes part)."""
    if participants.shape[1] == 0:
        return np.int64(k)
    return np.int64(participants[m, k])


@cuda.jit(device=True)
def member_stream(member_keys, m, tick, stream):
    """Key of the draws of member m at (tick, stream) (``rng.stream_key`` of its member key)."""
    return np.uint64(stream_key(np.uint64(member_keys[m]), tick, stream))


@cuda.jit(device=True)
def position():
    """(member, index within the member) of this thread."""
    return cuda.blockIdx.y, np.int64(cuda.blockIdx.x) * cuda.blockDim.x + cuda.threadIdx.x


# --- SuMSy ----------------------------------------------------------------------------------------
@cuda.jit
def settle_period(balance, period_sum, use_average, period_ticks, flags, charge, gi, buffer, buffer_by_account,
                  tier_lower, tier_rate, tax_rates, totals):
    """The period boundary of every member (``settle_period`` of the CPU): totals[m] = (dem, tax, gi).

    ``buffer_by_account`` (empty: the scalar ``buffer`` of eligible accounts) is one row for all
    members: buffer loans are fixed by the scenario, so every member lends the same buffers."""
    m, i = position()
    dem = np.int64(0)
    tax = np.int64(0)
    paid = np.int64(0)
    if i < balance.shape[1]:
        b = balance[m, i]
        if charge:
            base = period_sum[m, i] / period_ticks if use_average else np.float64(b)
            excess = base - account_buffer(i, flags[m], buffer, buffer_by_account)
            if excess > 0.0:
                dem = min(np.int64(math.floor(tiered_charge(excess, tier_lower, tier_rate))), b)
            tax_rate = tax_rates[m]
            if tax_rate > 0.0:
                tax = min(np.int64(math.floor(tax_rate * base)), b - dem)
            b = b - dem - tax
        if flags[m, i] & ELIGIBLE:
            b += gi
            paid = gi
        balance[m, i] = b
    add_total(totals, m, 0, dem)
    add_total(totals, m, 1, tax)
    add_total(totals, m, 2, paid)


@cuda.jit
def accrue_accounts(participants, lo, n, tick, balance, last_tick, flags, period_ticks, gi, buffer,
                    buffer_by_account, tier_lower, tier_rate, totals):
    """Transactional SuMSy (``accrue_accounts`` of the CPU) for every member: accounts ``lo + k``
    for k < n, or member m's participants k < n when ``participants`` has columns (then lo = 0).
    totals[m] = (demurrage, gi). The rule is the single-member twin's, on member m's rows."""
    m, k = position()
    dem = np.int64(0)
    acc = np.int64(0)
    if k < n:
        i = lo + member_participant(m, k, participants)
        dem, acc = accrue_account(i, tick, balance[m], last_tick[m], flags[m], period_ticks, gi, buffer,
                                  buffer_by_account, tier_lower, tier_rate)
    add_total(totals, m, 0, dem)
    add_total(totals, m, 1, acc)


@cuda.jit
def accumulate_period(balance, period_sum, first_tick):
    m, i = position()
    if i < balance.shape[1]:
        if first_tick:
            period_sum[m, i] = balance[m, i]
        else:
            period_sum[m, i] += balance[m, i]


# --- exchange -------------------------------------------------------------------------------------
@cuda.jit
def random_fraction_debit(balance, scratch, participants, n_part, member_keys, tick, stream, fraction, period_sum,
                          fused, first_tick):
    """Phase 1 of random exchange; with ``fused`` also the period bookkeeping (everyone takes part)."""
    m, k = position()
    if k >= n_part:
        return
    i = member_participant(m, k, participants)
    b = balance[m, i]
    if fused:
        if first_tick:
            period_sum[m, i] = b
        else:
            period_sum[m, i] += b
    pay = np.int64(0)
    if n_part >= 2:
        pay = fraction_payment(draw_uniform(member_stream(member_keys, m, tick, stream), k), fraction, b)
    balance[m, i] = b - pay
    scratch[m, k] = pay


@cuda.jit
def random_fraction_credit(balance, scratch, participants, n_part, member_keys, tick, stream):
    m, k = position()
    if k < n_part and n_part >= 2:
        target = member_participant(m, draw_other(member_stream(member_keys, m, tick, stream), k, n_part), participants)
        cuda.atomic.add(balance, (m, target), scratch[m, k])


@cuda.jit(device=True)
def member_pair(m, k, skey_pair, half, n_part, participants):
    return (member_participant(m, permute(skey_pair, 2 * k, half, n_part), participants),
            member_participant(m, permute(skey_pair, 2 * k + 1, half, n_part), participants))


@cuda.jit
def saving_propensity_exchange(balance, participants, n_part, member_keys, tick, stream_pair, stream_share, give,
                               half):
    m, k = position()
    if k >= n_part // 2:
        return
    i, j = member_pair(m, k, member_stream(member_keys, m, tick, stream_pair), half, n_part, participants)
    balance[m, i], balance[m, j], _ = pool_and_split(balance[m, i], balance[m, j],
                                                     draw_uniform(member_stream(member_keys, m, tick, stream_share), k), give)


@cuda.jit
def yard_sale_exchange(balance, participants, n_part, member_keys, tick, stream_pair, stream_coin, stake_fraction,
                       zeta, mean_balances, half):
    m, k = position()
    if k >= n_part // 2:
        return
    i, j = member_pair(m, k, member_stream(member_keys, m, tick, stream_pair), half, n_part, participants)
    balance[m, i], balance[m, j], _ = yard_sale_bet(balance[m, i], balance[m, j],
                                                    draw_uniform(member_stream(member_keys, m, tick, stream_coin), k),
                                                    stake_fraction, zeta, mean_balances[m])


@cuda.jit
def collect_fraction(balance, participants, n_part, rate, totals):
    m, k = position()
    take = np.int64(0)
    if k < n_part:
        i = member_participant(m, k, participants)
        take = floor_share(rate, balance[m, i])
        balance[m, i] -= take
    add_total(totals, m, 0, take)


@cuda.jit
def credit_each(balance, participants, n_part, amounts):
    """Every participant k < n_part of member m receives ``amounts[m]``."""
    m, k = position()
    if k < n_part:
        balance[m, member_participant(m, k, participants)] += amounts[m]


@cuda.jit
def sum_participants(balance, participants, n_part, totals):
    m, k = position()
    v = np.int64(0)
    if k < n_part:
        v = balance[m, member_participant(m, k, participants)]
    add_total(totals, m, 0, v)


# --- events ---------------------------------------------------------------------------------------
@cuda.jit
def inject(balance, lo, hi, amount, share, event_keys, totals):
    m, k = position()
    i = lo + k
    made = np.int64(0)
    if i < hi and is_targeted(np.uint64(event_keys[m]), i, share):
        balance[m, i] += amount
        made = amount
    add_total(totals, m, 0, made)


@cuda.jit
def lose(balance, lo, hi, fraction, share, event_keys, totals):
    m, k = position()
    i = lo + k
    gone = np.int64(0)
    if i < hi and is_targeted(np.uint64(event_keys[m]), i, share):
        gone = floor_share(fraction, balance[m, i])
        balance[m, i] -= gone
    add_total(totals, m, 0, gone)


# --- ledger and metrics ---------------------------------------------------------------------------
@cuda.jit
def row_sum_min(values, sums, mins):
    """``sums[m] += `` and ``mins[m] = min(mins[m], ...)`` over row m (mins start at INT64_MAX)."""
    m, i = position()
    v = np.int64(0)
    lo = np.int64(INT64_MAX)
    if i < values.shape[1]:
        v = values[m, i]
        lo = v
    s = block_sum(v)
    least = block_min(lo)
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(sums, m, s)
        cuda.atomic.min(mins, m, least)


@cuda.jit
def gather(values, index, out):
    m, k = position()
    if k < index.shape[0]:
        out[m, k] = values[m, index[k]]


@cuda.jit
def pad_rows(values, n, padded):
    """``padded[m] = values[m, :n]`` then INT64_MAX up to the padded width (a power of two)."""
    m, i = position()
    if i < padded.shape[1]:
        padded[m, i] = values[m, i] if i < n else INT64_MAX


@cuda.jit
def bitonic_stage(rows, j, k):
    """One compare-exchange stage (distance j, block size k) of a bitonic sort of every row."""
    m, i = position()
    partner = i ^ j
    if i < rows.shape[1] and partner > i:
        a = rows[m, i]
        b = rows[m, partner]
        if (a > b) == ((i & k) == 0):
            rows[m, i] = b
            rows[m, partner] = a


def sort_rows(rows) -> None:
    """Sort every row of a device array whose width is a power of two, ascending."""
    width = rows.shape[1]
    launch = grid(width, rows.shape[0])
    k = 2
    while k <= width:
        j = k // 2
        while j > 0:
            bitonic_stage[launch](rows, j, k)
            j //= 2
        k *= 2


@cuda.jit
def distribution_stats(rows, n, points, order, n_grid, values, stats):
    """One thread per member: the CPU's ``distribution_stats`` of the first n (sorted) values of
    its row. ``points`` is the grid followed by 0.99, 0.90, 0.50, ``order`` their stable ascending
    order; fills ``values[m, :]`` (L at each point; NaN where undefined) and ``stats[m, :]`` =
    (gini, top1, top10, bottom50, mean, median, total)."""
    m = cuda.grid(1)
    if m >= rows.shape[0]:
        return
    n_points = points.shape[0]
    for p in range(n_points):
        values[m, p] = math.nan
    if n == 0:
        for p in range(7):
            stats[m, p] = math.nan
        stats[m, 6] = 0.0
        return
    total = np.int64(0)
    for k in range(n):
        total += rows[m, k]
    weighted = 0.0
    cum = np.int64(0)
    q = 0
    lo_mid = np.int64(0)
    hi_mid = np.int64(0)
    for k in range(n):
        v = rows[m, k]
        while q < n_points and np.int64(math.floor(points[order[q]] * n)) <= k:
            if total > 0:
                values[m, order[q]] = (cum + (points[order[q]] * n - k) * v) / total
            q += 1
        if k == n // 2 - 1:
            lo_mid = v
        if k == n // 2:
            hi_mid = v
        weighted += (2.0 * (k + 1) - n - 1.0) * v
        cum += v
    gini = math.nan
    if total > 0:
        while q < n_points:
            values[m, order[q]] = 1.0
            q += 1
        gini = weighted / (n * np.float64(total))
    stats[m, 0] = gini
    stats[m, 1] = 1.0 - values[m, n_grid]
    stats[m, 2] = 1.0 - values[m, n_grid + 1]
    stats[m, 3] = values[m, n_grid + 2]
    stats[m, 4] = np.float64(total) / n
    if n % 2 == 1:
        stats[m, 5] = np.float64(hi_mid)
    else:
        stats[m, 5] = 0.5 * (np.float64(lo_mid) + np.float64(hi_mid))
    stats[m, 6] = np.float64(total)


@cuda.jit
def copy_rows(dst, src):
    """The device's own limit for the batch layout: one read and one write of each int64."""
    m, i = position()
    if i < src.shape[1]:
        dst[m, i] = src[m, i]
