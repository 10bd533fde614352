"""Where kernels run. The processes call kernels through a backend object; this is the CPU one.

The CUDA backend (a later issue) provides the same names with the same semantics. A backend is
picked by ``run.backend``.
"""
from __future__ import annotations

import numpy as np
from numba import prange
from spms_mc_kernels import events, exchange, metrics, reduce, sumsy
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


def get_backend(name: str, parallel: bool = True):
    if name == "cpu":
        return CPUBackend(parallel)
    raise ValueError(f"run.backend = {name!r} is not available; accepted: cpu")
