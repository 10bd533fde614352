"""CUDA twins of the CPU kernels (numba-cuda), SuMSy, events, exchange, metrics, the production
economy and bank credit (:mod:`spms_mc_kernels.economy`): one thread per account or pair, the same integer
money, the same rounding and the same counter-based draws, so a seed gives the same bytes on a GPU
as on the CPU. Imported only by the CUDA backend.

Every per-account rule is the CPU kernel's. The scalar helpers (the counter-based draws,
``permute``, ``floor_share``, ``is_targeted``, and the exchange rules ``fraction_payment``,
``pool_and_split``, ``yard_sale_bet``) are the same ``@njit`` functions, called from device code; the helpers that take arrays are compiled for the device from the same Python source
(participant lookup, buffers, brackets) or, where they call other array helpers (pairing, the
transactional accrual), are twins below, line for line the CPU ones (numba's CUDA simulator
cannot pass its arrays into CPU-compiled functions). Totals are integer atomic adds (exact,
order-free). The credit phase of random exchange, serial on the CPU, is an
atomic scatter-add here: integer addition is associative, so the result is the same.

The float expressions are single multiplications and divisions except the bracket sum of tiered
demurrage, ``total += rate * part``; to keep the same bits on a GPU that sum must not be contracted
into fused multiply-adds. numba-cuda does contract them (NVVM's default ``-fma=1``, even with
``fastmath=False``: ``a * b + c`` compiles to ``fma.rn.f64``), so importing this module switches
contraction off for every non-fastmath CUDA compilation of the process (:func:`no_fma_contraction`);
``tests/engine/cuda_ptx_check.py`` compiles every kernel to PTX and finds no ``fma`` instruction in it.
"""
import math

import numpy as np

if not hasattr(np, "row_stack"):  # numba-cuda registers an overload of np.row_stack (gone in newer numpy)
    np.row_stack = np.vstack

from numba import config, cuda  # noqa: E402

from . import economy as _economy
from . import exchange as _exchange
from . import sumsy as _sumsy
from .economy import borrow_to_pay, is_employed, period_slice
from .events import is_targeted
from .exchange import fraction_payment, pool_and_split, yard_sale_bet
from .money import floor_share
from .rng import draw_other, draw_uniform, feistel_half_bits, permute
from .sumsy import ELIGIBLE

# The simulator runs every thread as a Python thread: small blocks keep its tests quick.
THREADS = 32 if config.ENABLE_CUDASIM else 256


def no_fma_contraction() -> None:
    """Compile CUDA code with NVVM's ``-fma=0`` unless ``fastmath`` is asked for.

    The CPU kernels round every product and every sum separately (LLVM does not contract without
    fast-math flags); NVVM contracts ``a * b + c`` into one fused multiply-add by default, which
    rounds once and so gives other bits. numba-cuda passes no ``fma`` option of its own, so this
    wraps ``numba.cuda.cudadrv.nvvm.compile_ir`` (what its code generator calls) once per process.
    """
    if config.ENABLE_CUDASIM:
        return
    from numba.cuda.cudadrv import nvvm

    if getattr(nvvm.compile_ir, "no_fma", False):
        return
    original = nvvm.compile_ir

    def compile_ir(llvmir, **options):
        if not options.get("fastmath", False):
            options["fma"] = False
        return original(llvmir, **options)

    compile_ir.no_fma = True
    nvvm.compile_ir = compile_ir


no_fma_contraction()


def blocks(n: int) -> int:
    return max(1, (int(n) + THREADS - 1) // THREADS)


# --- device versions of the array-taking CPU helpers ------------------------------------------
# Leaf helpers are compiled for the device from the very same Python source as the CPU ones;
# helpers that call other array helpers are twins written out here, line for line the CPU ones.
participant = cuda.jit(device=True)(_exchange.participant.py_func)
tiered_charge = cuda.jit(device=True)(_sumsy.tiered_charge.py_func)
account_buffer = cuda.jit(device=True)(_sumsy.account_buffer.py_func)


@cuda.jit(device=True)
def pair(k, skey_pair, half, n_part, participants):
    return (participant(permute(skey_pair, 2 * k, half, n_part), participants),
            participant(permute(skey_pair, 2 * k + 1, half, n_part), participants))


@cuda.jit(device=True)
def accrue_account(i, tick, balance, last_tick, flags, period_ticks, gi, buffer, buffer_by_account, tier_lower,
                   tier_rate):
    last = last_tick[i]
    if last >= tick:
        return np.int64(0), np.int64(0)
    b = balance[i]
    elapsed = tick - last
    excess = np.float64(b) - account_buffer(i, flags, buffer, buffer_by_account)
    dem = np.int64(0)
    if excess > 0.0:
        dem = min(np.int64(math.floor(tiered_charge(excess, tier_lower, tier_rate) * elapsed / period_ticks)), b)
    acc = np.int64(0)
    if flags[i] & ELIGIBLE:
        acc = (gi * tick) // period_ticks - (gi * last) // period_ticks
    balance[i] = b - dem + acc
    last_tick[i] = tick
    return dem, acc


@cuda.jit
def settle_period(balance, period_sum, use_average, period_ticks, flags, charge, gi, buffer,
                  buffer_by_account, tier_lower, tier_rate, tax_rate, totals):
    i = cuda.grid(1)
    if i >= balance.shape[0]:
        return
    b = balance[i]
    if charge:
        base = period_sum[i] / period_ticks if use_average else np.float64(b)
        excess = base - account_buffer(i, flags, buffer, buffer_by_account)
        dem = np.int64(0)
        if excess > 0.0:
            dem = min(np.int64(math.floor(tiered_charge(excess, tier_lower, tier_rate))), b)
        tax = np.int64(0)
        if tax_rate > 0.0:
            tax = min(np.int64(math.floor(tax_rate * base)), b - dem)
        b = b - dem - tax
        cuda.atomic.add(totals, 0, dem)
        cuda.atomic.add(totals, 1, tax)
    if flags[i] & ELIGIBLE:
        b += gi
        cuda.atomic.add(totals, 2, gi)
    balance[i] = b


@cuda.jit
def sum_charge_base(balance, period_sum, use_average, totals):
    i = cuda.grid(1)
    if i < balance.shape[0]:
        cuda.atomic.add(totals, 0, period_sum[i] if use_average else balance[i])


@cuda.jit
def accumulate_period(balance, period_sum, first_tick):
    i = cuda.grid(1)
    if i < balance.shape[0]:
        if first_tick:
            period_sum[i] = balance[i]
        else:
            period_sum[i] += balance[i]


@cuda.jit
def accrue_accounts(participants, n_accounts, tick, balance, last_tick, flags, period_ticks, gi, buffer,
                    buffer_by_account, tier_lower, tier_rate, totals):
    k = cuda.grid(1)
    if k < n_accounts:
        dem, acc = accrue_account(participant(k, participants), tick, balance, last_tick, flags, period_ticks,
                                  gi, buffer, buffer_by_account, tier_lower, tier_rate)
        cuda.atomic.add(totals, 0, dem)
        cuda.atomic.add(totals, 1, acc)


@cuda.jit
def random_fraction_debit(balance, scratch, participants, n_part, skey_fraction, fraction, period_sum,
                          fused, first_tick, totals):
    """Phase 1; with ``fused`` it also does the period bookkeeping (every account takes part)."""
    k = cuda.grid(1)
    if k >= n_part:
        return
    i = participant(k, participants)
    b = balance[i]
    if fused:
        if first_tick:
            period_sum[i] = b
        else:
            period_sum[i] += b
    pay = fraction_payment(draw_uniform(skey_fraction, k), fraction, b) if n_part >= 2 else np.int64(0)
    balance[i] = b - pay
    scratch[k] = pay
    cuda.atomic.add(totals, 0, pay)


@cuda.jit
def random_fraction_credit(balance, scratch, participants, n_part, skey_target):
    k = cuda.grid(1)
    if k < n_part and n_part >= 2:
        cuda.atomic.add(balance, participant(draw_other(skey_target, k, n_part), participants), scratch[k])


@cuda.jit
def saving_propensity_exchange(balance, participants, n_part, skey_pair, skey_share, give, half):
    k = cuda.grid(1)
    if k >= n_part // 2:
        return
    i, j = pair(k, skey_pair, half, n_part, participants)
    balance[i], balance[j], _ = pool_and_split(balance[i], balance[j], draw_uniform(skey_share, k), give)


@cuda.jit
def yard_sale_exchange(balance, participants, n_part, skey_pair, skey_coin, stake_fraction, zeta, mean_balance,
                       half):
    k = cuda.grid(1)
    if k >= n_part // 2:
        return
    i, j = pair(k, skey_pair, half, n_part, participants)
    balance[i], balance[j], _ = yard_sale_bet(balance[i], balance[j], draw_uniform(skey_coin, k), stake_fraction,
                                              zeta, mean_balance)


@cuda.jit
def collect_fraction(balance, participants, n_part, rate, totals):
    k = cuda.grid(1)
    if k < n_part:
        i = participant(k, participants)
        take = floor_share(rate, balance[i])
        balance[i] -= take
        cuda.atomic.add(totals, 0, take)


@cuda.jit
def credit_each(balance, participants, n_part, amount):
    k = cuda.grid(1)
    if k < n_part:
        balance[participant(k, participants)] += amount


@cuda.jit
def sum_participants(balance, participants, n_part, totals):
    k = cuda.grid(1)
    if k < n_part:
        cuda.atomic.add(totals, 0, balance[participant(k, participants)])


@cuda.jit
def inject(balance, lo, hi, amount, share, skey, totals):
    i = lo + cuda.grid(1)
    if i < hi and is_targeted(skey, i, share):
        balance[i] += amount
        cuda.atomic.add(totals, 0, amount)


@cuda.jit
def lose(balance, lo, hi, fraction, share, skey, totals):
    i = lo + cuda.grid(1)
    if i < hi and is_targeted(skey, i, share):
        gone = floor_share(fraction, balance[i])
        balance[i] -= gone
        cuda.atomic.add(totals, 0, gone)


@cuda.jit
def sum_and_min(values, totals):
    """totals[0] += sum, totals[1] = min (totals[1] starts at INT64_MAX)."""
    i = cuda.grid(1)
    if i < values.shape[0]:
        cuda.atomic.add(totals, 0, values[i])
        cuda.atomic.min(totals, 1, values[i])


__all__ = ["THREADS", "blocks", "feistel_half_bits"]


@cuda.jit
def copy(dst, src):
    """The device's own limit for a one-read-one-write pass (16 B per int64 element)."""
    i = cuda.grid(1)
    if i < src.shape[0]:
        dst[i] = src[i]


# --- production economy and bank credit (twins of spms_mc_kernels.economy) ---------------------
# Per-firm sums (skill weight employed, sales) are integer atomic adds into one row of F firms
# where the CPU keeps one row per chunk of households; the caller adds the rows up, so the totals
# are the same integers.
# the per-household rules take arrays but call only scalar helpers: compiled from the CPU source
pick_firm_guided = cuda.jit(device=True)(_economy.pick_firm_guided.py_func)
pay_household = cuda.jit(device=True)(_economy.pay_household.py_func)
service_loan = cuda.jit(device=True)(_economy.service_loan.py_func)


@cuda.jit
def employment_weights(kind, employer, skill_weight, displacement, firm_factor, skey_displacement, weights, totals):
    i = cuda.grid(1)
    if i < kind.shape[0]:
        k = kind[i]
        f = employer[i]
        if is_employed(k, i, firm_factor[f], displacement, skey_displacement):
            cuda.atomic.add(weights, f, skill_weight[k])
        else:
            cuda.atomic.add(totals, 0, 1)


@cuda.jit
def pay_households(balance, plan, kind, employer, equity, skill_weight, displacement, firm_factor,
                   skey_displacement, wage_bill, weight_sum, dividend_pool, inv_units, tax_rate, a1, a2, subsistence,
                   totals):
    i = cuda.grid(1)
    if i < plan.shape[0]:
        wage, div, tax, want = pay_household(i, balance, plan, kind, employer, equity, skill_weight, displacement,
                                             firm_factor, skey_displacement, wage_bill, weight_sum, dividend_pool,
                                             inv_units, tax_rate, a1, a2, subsistence)
        cuda.atomic.add(totals, 0, wage)
        cuda.atomic.add(totals, 1, div)
        cuda.atomic.add(totals, 2, tax)
        cuda.atomic.add(totals, 3, want)


@cuda.jit
def pay_benefits(balance, kind, employer, firm_factor, displacement, skey_displacement, benefit, totals):
    i = cuda.grid(1)
    if i < kind.shape[0]:
        if not is_employed(kind[i], i, firm_factor[employer[i]], displacement, skey_displacement):
            balance[i] += benefit
            cuda.atomic.add(totals, 0, benefit)


@cuda.jit
def spending_shortfall(balance, plan, k, period, totals):
    i = cuda.grid(1)
    if i < balance.shape[0]:
        s = period_slice(plan[i], k, period) - balance[i]
        if s > 0:
            cuda.atomic.add(totals, 0, s)


@cuda.jit
def consume(balance, plan, loans, k, period, lend, grant, cdf, guide, skey_choice, sales, totals):
    i = cuda.grid(1)
    if i >= balance.shape[0]:
        return
    want = period_slice(plan[i], k, period)
    if want <= 0:
        return
    pay, loan = borrow_to_pay(want, balance[i], lend, grant)
    if loan > 0:
        loans[i] += loan
        cuda.atomic.add(totals, 1, loan)
    balance[i] += loan - pay
    if pay > 0:
        cuda.atomic.add(sales, pick_firm_guided(cdf, guide, draw_uniform(skey_choice, i)), pay)
        cuda.atomic.add(totals, 0, pay)


@cuda.jit
def service_loans(balance, loans, lo, hi, rate, maturity, limit, spread, skey_limit, totals):
    """totals = (interest, repaid, refinanced, recovered, written off, defaults)."""
    i = lo + cuda.grid(1)
    if i < hi:
        parts = service_loan(i, balance, loans, rate, maturity, limit, spread, skey_limit)
        for k in range(6):
            if parts[k] != 0:
                cuda.atomic.add(totals, k, parts[k])


@cuda.jit
def debit_or_borrow(balance, loans, debits, lend, grant, totals):
    k = cuda.grid(1)
    if k < balance.shape[0]:
        pay, loan = borrow_to_pay(debits[k], balance[k], lend, grant)
        if loan > 0:
            loans[k] += loan
            cuda.atomic.add(totals, 1, loan)
        balance[k] += loan - pay
        debits[k] = pay
        cuda.atomic.add(totals, 0, pay)


@cuda.jit
def add_holdings(out, units, loans, price):
    """Twin of :func:`spms_mc_kernels.economy.add_holdings`."""
    i = cuda.grid(1)
    if i < out.shape[0]:
        w = np.int64(0)
        if units.shape[0] > 0:
            w += np.int64(math.floor(units[i] * price))
        if loans.shape[0] > 0:
            w -= loans[i]
        out[i] += w


@cuda.jit
def add_range(values, lo, amounts):
    """``values[lo + j] += amounts[j]``: the firms' sales, investment and government purchases."""
    j = cuda.grid(1)
    if j < amounts.shape[0]:
        values[lo + j] += amounts[j]
