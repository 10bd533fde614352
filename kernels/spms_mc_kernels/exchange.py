"""Kinetic exchange between accounts (docs/model.md section 2; references in docs/sources.md).

* ``random_fraction``: every participant pays a uniform random fraction (up to ``fraction``) of
  its start-of-tick balance to a uniform random other participant (Dragulescu & Yakovenko 2000,
  "Statistical mechanics of money", Eur. Phys. J. B 17, 723, family of kinetic exchange).
  Synchronous update in two phases: debits in parallel (each from its own balance, so never
  negative), then credits by scatter-add. Integer addition is associative, so the result does not
  depend on the order of the credits (serial here, atomics on a GPU).
* ``saving_propensity``: each tick participants are paired by a keyed random permutation; each
  pair pools what it does not save, ``floor((1 - lambda) * balance)`` each, and splits the pool at a
  uniform random share (Chakraborti & Chakrabarti 2000, Eur. Phys. J. B 17, 167). With lambda = 0
  this is the Dragulescu-Yakovenko random split whose stationary law is exponential.
* ``yard_sale``: paired accounts stake ``floor(fraction * min(w_i, w_j))`` on a coin flip whose
  probability of a win for i is ``(1 + zeta * (w_i - w_j) / mean) / 2`` clipped to [0, 1]
  (wealth-attained advantage), with redistribution ``chi`` toward the mean as a flat tax pooled
  and returned in equal shares: a discrete-time form of Boghosian's affine wealth model
  (Boghosian et al. 2017, Physica A 476, 15; Li et al. 2019, Physica A 516, 423).

Pairs are disjoint, so pair kernels run in parallel without atomics; all draws are counter-based
(:mod:`spms_mc_kernels.rng`) and keyed by participant position. Every amount is rounded down to a
whole minor unit; pooled remainders go to the caller's rounding sink.
"""
import math

import numpy as np
from numba import prange

from ._jit import kernel
from .money import floor_share
from .rng import draw_other, draw_uniform, feistel_half_bits, permute


@kernel
def participant(k, participants):
    """Account index of participant k: k itself when ``participants`` is empty (everyone)."""
    if participants.shape[0] == 0:
        return np.int64(k)
    return np.int64(participants[k])


# --- the per-account and per-pair rules, on scalars: shared by the CPU and CUDA kernels ---------
@kernel
def fraction_payment(u, fraction, b):
    """What an account with balance b pays for draw u: ``floor(u * fraction * b)``, at most b."""
    return min(np.int64(math.floor(u * fraction * b)), b)


@kernel
def pool_and_split(bi, bj, u, give):
    """Each party puts ``floor(give * balance)`` in the pool; i gets ``floor(u * pool)``, j the rest.
    Returns (new bi, new bj, pool)."""
    put_i = floor_share(give, bi)
    put_j = floor_share(give, bj)
    pool = put_i + put_j
    share_i = min(np.int64(math.floor(u * pool)), pool)
    return bi - put_i + share_i, bj - put_j + (pool - share_i), pool


@kernel
def yard_sale_bet(bi, bj, u, stake_fraction, zeta, mean_balance):
    """Stake ``floor(stake_fraction * min(bi, bj))``; i wins when u < (1 + zeta (bi - bj)/mean)/2
    (clipped to [0, 1]). Returns (new bi, new bj, stake)."""
    stake = np.int64(math.floor(stake_fraction * min(bi, bj)))
    p_i = 0.5
    if zeta != 0.0 and mean_balance > 0.0:
        p_i = min(max(0.5 * (1.0 + zeta * np.float64(bi - bj) / mean_balance), 0.0), 1.0)
    if u < p_i:
        return bi + stake, bj - stake, stake
    return bi - stake, bj + stake, stake


@kernel
def pair(k, skey_pair, half, n_part, participants):
    """Accounts of pair k: positions 2k and 2k+1 of the keyed permutation of the participants."""
    return (participant(permute(skey_pair, 2 * k, half, n_part), participants),
            participant(permute(skey_pair, 2 * k + 1, half, n_part), participants))


@kernel(parallel=True)
def random_fraction_debit(balance, scratch, participants, n_part, skey_fraction, fraction):
    """Phase 1: participant k pays ``floor(u_k * fraction * b)``; the amount goes to scratch[k].

    With fewer than two participants there is nobody to pay: nothing moves.
    """
    total = np.int64(0)
    if n_part < 2:
        return total
    for k in prange(n_part):
        i = participant(k, participants)
        b = balance[i]
        # fraction_payment written out: the hot loop vectorises only with the expression inline
        pay = min(np.int64(math.floor(draw_uniform(skey_fraction, k) * fraction * b)), b)
        balance[i] = b - pay
        scratch[k] = pay
        total += pay
    return total


@kernel(parallel=True)
def random_fraction_debit_accumulate(balance, scratch, period_sum, first_tick, skey_fraction, fraction):
    """Phase 1 when every account takes part, fused with the period bookkeeping of SuMSy: adds the
    start-of-tick balance to ``period_sum`` (overwrites it on the period's first tick) in the same
    pass. The same results as ``accumulate_period`` then ``random_fraction_debit``, one pass fewer."""
    total = np.int64(0)
    n = balance.shape[0]
    for k in prange(n):
        b = balance[k]
        if first_tick:
            period_sum[k] = b
        else:
            period_sum[k] += b
        pay = np.int64(0)
        if n >= 2:  # fraction_payment written out, as in random_fraction_debit
            pay = min(np.int64(math.floor(draw_uniform(skey_fraction, k) * fraction * b)), b)
        balance[k] = b - pay
        scratch[k] = pay
        total += pay
    return total


CREDIT_BLOCK = 256


@kernel
def random_fraction_credit(balance, scratch, participants, n_part, skey_target):
    """Phase 2: scratch[k] is credited to a uniform random other participant (needs n_part >= 2).

    Targets are drawn a block at a time (a loop with no memory dependence, which vectorises), then
    the block is scattered: the random stores then have many loads in flight.
    """
    total = np.int64(0)
    if n_part < 2:
        return total
    targets = np.empty(CREDIT_BLOCK, np.int64)
    for start in range(0, n_part, CREDIT_BLOCK):
        stop = min(start + CREDIT_BLOCK, n_part)
        for k in range(start, stop):
            targets[k - start] = participant(draw_other(skey_target, k, n_part), participants)
        for k in range(start, stop):
            amount = scratch[k]
            balance[targets[k - start]] += amount
            total += amount
    return total


@kernel(parallel=True)
def saving_propensity_exchange(balance, participants, n_part, skey_pair, skey_share, give):
    """Paired pool-and-split with saving propensity ``lambda = 1 - give``; returns the total pooled."""
    half = feistel_half_bits(n_part)
    pooled = np.int64(0)
    for k in prange(n_part // 2):
        i, j = pair(k, skey_pair, half, n_part, participants)
        balance[i], balance[j], pool = pool_and_split(balance[i], balance[j], draw_uniform(skey_share, k), give)
        pooled += pool
    return pooled


@kernel(parallel=True)
def yard_sale_exchange(balance, participants, n_part, skey_pair, skey_coin, stake_fraction, zeta,
                       mean_balance):
    """Paired yard-sale bets; returns the total amount that changed hands."""
    half = feistel_half_bits(n_part)
    moved = np.int64(0)
    for k in prange(n_part // 2):
        i, j = pair(k, skey_pair, half, n_part, participants)
        balance[i], balance[j], stake = yard_sale_bet(balance[i], balance[j], draw_uniform(skey_coin, k),
                                                      stake_fraction, zeta, mean_balance)
        moved += stake
    return moved


@kernel(parallel=True)
def collect_fraction(balance, participants, n_part, rate):
    """Take ``floor(rate * b)`` from each participant; returns the total taken."""
    total = np.int64(0)
    for k in prange(n_part):
        i = participant(k, participants)
        b = balance[i]
        take = floor_share(rate, b)
        balance[i] = b - take
        total += take
    return total


@kernel(parallel=True)
def credit_each(balance, participants, n_part, amount):
    """Add ``amount`` to each participant; returns the total credited."""
    for k in prange(n_part):
        balance[participant(k, participants)] += amount
    return amount * n_part


@kernel(parallel=True)
def sum_participants(balance, participants, n_part):
    """Exact integer sum of the participants' balances."""
    total = np.int64(0)
    for k in prange(n_part):
        total += balance[participant(k, participants)]
    return total
