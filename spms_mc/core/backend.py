"""Where kernels run. The mechanisms call kernels through a backend object, picked by ``run.backend``.

:class:`CPUBackend` binds the numba CPU kernels; :class:`CUDABackend` provides the same names with
the same semantics on one member's device arrays (:mod:`spms_mc_kernels.cuda`). The backends hold
the kernels every mechanism shares (sums, minima, equal shares, the distribution metrics, net-wealth
holdings, moving a member's state); each mechanism brings its own from the registry: a dict of
CPU kernels (:attr:`~spms_mc.core.registry.Mechanism.cpu_kernels`) and a class of CUDA wrappers
(:attr:`~spms_mc.core.registry.Mechanism.cuda_methods`) that the CUDA backend is composed with. A
batch of members on one GPU has its own engine, :mod:`spms_mc.engine.batch`.
"""
from __future__ import annotations

import numpy as np
from numba import prange
from spms_mc_kernels import economy, exchange, metrics, reduce
from spms_mc_kernels._jit import kernel
from spms_mc_kernels.rng import draw_uniform, permute

from . import registry


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
        kernels = {name: getattr(type(self), name) for name in dir(type(self))}
        for m in registry.mechanisms():  # each mechanism's own kernels (Mechanism.cpu_kernels)
            kernels.update(m.cpu_kernels)
        for name, k in kernels.items():
            if hasattr(k, "serial"):
                setattr(self, name, k if parallel else k.serial)

    credit_each = staticmethod(exchange.credit_each)
    sum_int64 = staticmethod(reduce.sum_int64)
    min_int64 = staticmethod(reduce.min_int64)
    distribution_stats = staticmethod(metrics.distribution_stats)
    distribution_stats_runs = staticmethod(metrics.distribution_stats_runs)
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
        mixins = tuple(m.cuda_methods for m in registry.mechanisms() if m.cuda_methods is not None)
        return type("CUDABackend", (CUDABackend, *mixins), {})()
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
    def credit_each(self, balance, participants, n, amount):
        self._run(self.k.credit_each, n, balance, self.dev(participants), n, amount)
        return int(amount) * n

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

    def add_holdings(self, out, units, loans, price) -> None:
        """Holdings added on the device to the net wealth in the host array ``out`` (the metrics'
        sort buffer, which holds the money copied from the device)."""
        dev_out = self.cuda.to_device(out)
        self._run(self.k.add_holdings, out.shape[0], dev_out, self.dev(units), self.dev(loans), price)
        dev_out.copy_to_host(out)

    distribution_stats = staticmethod(metrics.distribution_stats)  # on the host copy (see Engine)
    distribution_stats_runs = staticmethod(metrics.distribution_stats_runs)
