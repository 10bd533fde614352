"""Where kernels run. The mechanisms call kernels through a backend object, picked by ``run.backend``.

:class:`CPUBackend` binds the numba CPU kernels; :class:`CUDABackend` provides the same names with
the same semantics on one member's device arrays (:mod:`spms_mc_kernels.cuda`). A batch of members
on one GPU has its own engine, :mod:`spms_mc.engine.batch`.
"""
from __future__ import annotations

import numpy as np
from numba import prange
from spms_mc_kernels import economy, events, exchange, metrics, reduce, sumsy
from spms_mc_kernels._jit import kernel
from spms_mc_kernels.rng import draw_uniform, permute


@kernel(parallel=True)
def _uniform_fill(skey, out):
    for i in prange(out.shape[0]):
        out[i] = draw_uniform(skey, i)


@kernel(parallel=True)
def _permutation_fill(skey, half, out):
    n = out.shape[0]
    for i in prange(n):
        out[i] = permute(skey, i, half, n)


def uniform_array(skey, n: int) -> np.ndarray:
    out = np.empty(n)
    _uniform_fill(np.uint64(skey), out)
    return out


def permutation_array(skey, n: int, half: int) -> np.ndarray:
    out = np.empty(n, np.int64)
    _permutation_fill(np.uint64(skey), half, out)
    return out


class CPUBackend:
    """Numba CPU kernels, parallel over accounts where a kernel is marked parallel.

    ``CPUBackend(parallel=False)`` binds the serial twins instead (same results, no launch cost),
    which the engine uses for small populations.
    """

    name = "cpu"

    def __init__(self, parallel: bool = True):
        self.parallel = parallel
        if not parallel:
            for name in dir(type(self)):
                k = getattr(type(self), name)
                if hasattr(k, "serial"):
                    setattr(self, name, k.serial)

    settle_period = staticmethod(sumsy.settle_period)
    sum_charge_base = staticmethod(sumsy.sum_charge_base)
    accumulate_period = staticmethod(sumsy.accumulate_period)
    accrue_accounts = staticmethod(sumsy.accrue_accounts)
    random_fraction_debit = staticmethod(exchange.random_fraction_debit)
    random_fraction_debit_accumulate = staticmethod(exchange.random_fraction_debit_accumulate)
    random_fraction_credit = staticmethod(exchange.random_fraction_credit)
    saving_propensity_exchange = staticmethod(exchange.saving_propensity_exchange)
    yard_sale_exchange = staticmethod(exchange.yard_sale_exchange)
    collect_fraction = staticmethod(exchange.collect_fraction)
    credit_each = staticmethod(exchange.credit_each)
    sum_participants = staticmethod(exchange.sum_participants)
    inject = staticmethod(events.inject)
    lose = staticmethod(events.lose)
    sum_int64 = staticmethod(reduce.sum_int64)
    min_int64 = staticmethod(reduce.min_int64)
    distribution_stats = staticmethod(metrics.distribution_stats)
    distribution_stats_runs = staticmethod(metrics.distribution_stats_runs)
    employment_weights = staticmethod(economy.employment_weights)
    pay_households = staticmethod(economy.pay_households)
    spending_shortfall = staticmethod(economy.spending_shortfall)
    consume = staticmethod(economy.consume)
    service_loans = staticmethod(economy.service_loans)
    debit_or_borrow = staticmethod(economy.debit_or_borrow)
    add_holdings = staticmethod(economy.add_holdings)

    def adopt(self, state) -> None:
        state.host_buffer = state.scratch

    @staticmethod
    def to_host(src, out) -> None:
        np.copyto(out, src)

    @staticmethod
    def read_range(values, lo: int, hi: int) -> np.ndarray:
        """A host copy of ``values[lo:hi]`` (a few institutional or firm accounts)."""
        return values[lo:hi].copy()

    @staticmethod
    def write_range(values, lo: int, new) -> None:
        values[lo:lo + len(new)] = new

    @staticmethod
    def add_range(values, lo: int, amounts) -> None:
        values[lo:lo + len(amounts)] += amounts

    @staticmethod
    def gather(values, index) -> np.ndarray:
        return values[index]


def get_backend(name: str, parallel: bool = True):
    if name == "cpu":
        return CPUBackend(parallel)
    if name == "cuda":
        return CUDABackend()
    raise ValueError(f"run.backend = {name!r} is not available; accepted: cpu, cuda")


class CUDABackend:
    """numba.cuda twins of the CPU kernels (:mod:`spms_mc_kernels.cuda`), same names, same results.

    The member's per-account arrays live on the device (:meth:`adopt`); totals come back as exact
    integers. Small host arrays given by a process (an index set) are copied over when passed.
    Runs on an NVIDIA GPU, or on numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, small sizes:
    how the CPU-only CI tests it).
    """

    name = "cuda"
    parallel = True

    def __init__(self):
        from numba import cuda

        if not cuda.is_available():
            raise ValueError("run.backend = 'cuda' needs an NVIDIA GPU with a working CUDA driver and none was "
                             "found (install the extra: pip install 'spms_mc[cuda]'; for tests without a GPU "
                             "set NUMBA_ENABLE_CUDASIM=1 before starting Python); accepted here: cpu")
        from spms_mc_kernels import cuda as ck

        self.cuda, self.k = cuda, ck
        self._empty = cuda.to_device(np.empty(0, np.int64))

    # -- memory ---------------------------------------------------------------------------------
    def dev(self, a):
        if isinstance(a, np.ndarray):
            return self._empty if a.size == 0 and a.dtype == np.int64 else self.cuda.to_device(a)
        return a

    def adopt(self, state) -> None:
        """Move a freshly allocated state's per-account arrays to the device."""
        state.host_buffer = state.scratch  # the sort buffer of the metrics stays on the host
        for name in ("balance", "flags", "participants"):
            setattr(state, name, self.dev(getattr(state, name)))
        for name, values in state.arrays.items():
            state.arrays[name] = self.dev(values)
        state.scratch = self.cuda.device_array(state.n_households, np.int64)

    def to_host(self, src, out) -> None:
        src.copy_to_host(out)

    def gather(self, values, index) -> np.ndarray:
        return np.array([values[int(i)] for i in index], np.int64)

    _sort_rows = None

    def sorted_to_host(self, values, out) -> None:
        """Sort ``values`` on the device (a bitonic network, :mod:`spms_mc_kernels.cuda_batch`) and
        copy them, ascending, into the host array ``out``: the metrics then need only the serial
        pass on the host, not a host sort (about 4 s for 10^8 balances on two cores)."""
        from spms_mc_kernels import cuda_batch as kb

        n = values.shape[0]
        width = 1 << max(0, (n - 1).bit_length())
        if self._sort_rows is None or self._sort_rows.shape[1] != width:
            self._sort_rows = self.cuda.device_array((1, width), np.int64)
        kb.pad_rows[kb.grid(width, 1)](values.reshape(1, n), n, self._sort_rows)
        kb.sort_rows(self._sort_rows)
        self._sort_rows[0, :n].copy_to_host(out)

    def read_range(self, values, lo: int, hi: int) -> np.ndarray:
        return values[lo:hi].copy_to_host() if hi > lo else np.zeros(0, np.int64)

    def write_range(self, values, lo: int, new) -> None:
        if len(new):
            values[lo:lo + len(new)].copy_to_device(np.ascontiguousarray(new, np.int64))

    def add_range(self, values, lo: int, amounts) -> None:
        amounts = np.ascontiguousarray(amounts, np.int64)
        if amounts.shape[0]:
            self.k.add_range[self.k.blocks(amounts.shape[0]), self.k.THREADS](values, lo, self.dev(amounts))

    def _totals(self, n=1, fill=0):
        return self.cuda.to_device(np.full(n, fill, np.int64))

    def _run(self, kernel, n, *args, totals=0):
        t = self._totals(totals) if totals else None
        kernel[self.k.blocks(n), self.k.THREADS](*args, *((t,) if t is not None else ()))
        return t.copy_to_host() if t is not None else None

    # -- kernels --------------------------------------------------------------------------------
    def settle_period(self, balance, period_sum, use_average, period, flags, charge, gi, buffer, bba,
                      tier_lower, tier_rate, tax_rate, eligible_prefix=-1):
        t = self._run(self.k.settle_period, balance.shape[0], balance, self.dev(period_sum), use_average, period,
                      flags, charge, gi, buffer, self.dev(bba), self.dev(tier_lower), self.dev(tier_rate),
                      tax_rate, totals=3)
        return int(t[0]), int(t[1]), int(t[2])

    def sum_charge_base(self, balance, period_sum, use_average, period):
        t = self._run(self.k.sum_charge_base, balance.shape[0], balance, self.dev(period_sum), use_average,
                      totals=1)
        return t[0] / period if use_average else float(t[0])

    def accumulate_period(self, balance, period_sum, first):
        self._run(self.k.accumulate_period, balance.shape[0], balance, period_sum, first)

    def accrue_accounts(self, participants, n, tick, balance, last_tick, flags, period, gi, buffer, bba,
                        tier_lower, tier_rate):
        t = self._run(self.k.accrue_accounts, n, self.dev(participants), n, tick, balance, last_tick, flags,
                      period, gi, buffer, self.dev(bba), self.dev(tier_lower), self.dev(tier_rate), totals=2)
        return int(t[0]), int(t[1])

    def random_fraction_debit(self, balance, scratch, participants, n, skey, fraction):
        return int(self._run(self.k.random_fraction_debit, n, balance, scratch, self.dev(participants), n, skey,
                             fraction, self._empty, False, False, totals=1)[0])

    def random_fraction_debit_accumulate(self, balance, scratch, period_sum, first, skey, fraction):
        n = balance.shape[0]
        return int(self._run(self.k.random_fraction_debit, n, balance, scratch, self._empty, n, skey, fraction,
                             period_sum, True, first, totals=1)[0])

    def random_fraction_credit(self, balance, scratch, participants, n, skey):
        self._run(self.k.random_fraction_credit, n, balance, scratch, self.dev(participants), n, skey)

    def saving_propensity_exchange(self, balance, participants, n, skey_pair, skey_share, give):
        self._run(self.k.saving_propensity_exchange, n // 2 + 1, balance, self.dev(participants), n, skey_pair,
                  skey_share, give, self.k.feistel_half_bits(n))

    def yard_sale_exchange(self, balance, participants, n, skey_pair, skey_coin, fraction, zeta, mean):
        self._run(self.k.yard_sale_exchange, n // 2 + 1, balance, self.dev(participants), n, skey_pair,
                  skey_coin, fraction, zeta, mean, self.k.feistel_half_bits(n))

    def collect_fraction(self, balance, participants, n, rate):
        return int(self._run(self.k.collect_fraction, n, balance, self.dev(participants), n, rate, totals=1)[0])

    def credit_each(self, balance, participants, n, amount):
        self._run(self.k.credit_each, n, balance, self.dev(participants), n, amount)
        return int(amount) * n

    def sum_participants(self, balance, participants, n):
        return int(self._run(self.k.sum_participants, n, balance, self.dev(participants), n, totals=1)[0])

    def inject(self, balance, lo, hi, amount, share, skey):
        return int(self._run(self.k.inject, hi - lo, balance, lo, hi, amount, share, skey, totals=1)[0])

    def lose(self, balance, lo, hi, fraction, share, skey):
        return int(self._run(self.k.lose, hi - lo, balance, lo, hi, fraction, share, skey, totals=1)[0])

    def _sum_min(self, values):
        t = self.cuda.to_device(np.array([0, np.iinfo(np.int64).max], np.int64))
        self.k.sum_and_min[self.k.blocks(values.shape[0]), self.k.THREADS](values, t)
        return t.copy_to_host()

    def sum_int64(self, values):
        return int(self._sum_min(values)[0])

    def min_int64(self, values):
        return int(self._sum_min(values)[1])

    # -- production economy and bank credit -------------------------------------------------------
    def _per_firm(self, partial, sums) -> None:
        """The per-firm sums in the caller's (chunk, firm) array: row 0 holds them, the rest are 0."""
        partial[:] = 0
        sums.copy_to_host(partial[0])

    def employment_weights(self, kind, employer, skill_weight, displacement, firm_factor, skey, partial):
        weights = self.cuda.to_device(np.zeros(partial.shape[1], np.int64))
        t = self._run(self.k.employment_weights, kind.shape[0], kind, employer, self.dev(skill_weight), displacement,
                      self.dev(firm_factor), skey, weights, totals=1)
        self._per_firm(partial, weights)
        return int(t[0])

    def pay_households(self, balance, plan, kind, employer, equity, skill_weight, displacement, firm_factor, skey,
                       wage_bill, weight_sum, dividend_pool, inv_units, tax_rate, a1, a2, subsistence):
        t = self._run(self.k.pay_households, plan.shape[0], balance, plan, kind, employer, equity,
                      self.dev(skill_weight), displacement, self.dev(firm_factor), skey, self.dev(wage_bill),
                      self.dev(np.ascontiguousarray(weight_sum)), dividend_pool, inv_units, tax_rate, a1, a2,
                      subsistence, totals=4)
        return tuple(int(x) for x in t)

    def spending_shortfall(self, balance, plan, k, period):
        return int(self._run(self.k.spending_shortfall, balance.shape[0], balance, plan, k, period, totals=1)[0])

    def consume(self, balance, plan, loans, k, period, lend, grant, cdf, skey, partial):
        sales = self.cuda.to_device(np.zeros(partial.shape[1], np.int64))
        t = self._run(self.k.consume, balance.shape[0], balance, plan, loans, k, period, lend, grant, self.dev(cdf),
                      skey, sales, totals=2)
        self._per_firm(partial, sales)
        return int(t[0]), int(t[1])

    def service_loans(self, balance, loans, lo, hi, rate, maturity, limit):
        t = self._run(self.k.service_loans, hi - lo, balance, loans, lo, hi, rate, maturity, limit, totals=6)
        return tuple(int(x) for x in t)

    def debit_or_borrow(self, balance, loans, debits, lend, grant):
        t = self._run(self.k.debit_or_borrow, balance.shape[0], balance, loans, debits, lend, grant, totals=2)
        return int(t[0]), int(t[1])

    def add_holdings(self, out, units, loans, price) -> None:
        """Holdings added on the device to the net wealth in the host array ``out`` (the metrics'
        sort buffer, which holds the money copied from the device)."""
        dev_out = self.cuda.to_device(out)
        self._run(self.k.add_holdings, out.shape[0], dev_out, self.dev(units), self.dev(loans), price)
        dev_out.copy_to_host(out)

    distribution_stats = staticmethod(metrics.distribution_stats)  # on the host copy (see Engine)
    distribution_stats_runs = staticmethod(metrics.distribution_stats_runs)
