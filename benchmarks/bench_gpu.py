"""GPU benchmarks of the CUDA backend, as ratios to the device's own limits measured in the same run.

    python benchmarks/bench_gpu.py                 # on a machine with an NVIDIA GPU (N = 10^8)
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_gpu.py --size 512 --repeats 1   # smoke test, no GPU

* ``settle``: the GI + demurrage kernel (flat 1 %, average base, every account eligible) in
  accounts/s over the device copy kernel's elements/s (one read + one write of int64, 16 B).
  Target >= 0.70.
* ``exchange``: one tick of random exchange (debit with the period bookkeeping fused in, then the
  atomic scatter-add credit) in account-ticks/s. Target >= 5e9 at N = 10^8.
* The batched-members benchmark (1000 members x 10^4 accounts x 3600 ticks of ``sumsy``) waits for
  the batched kernels of the CUDA issue and is reported as not measured.

Times come from CUDA events around the kernel launches; medians of ``--repeats``. On the simulator
the figures are meaningless (it runs threads in Python): there it only checks that the script runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np


def timed(cuda, fn) -> float:
    """Seconds of ``fn``'s kernels: CUDA events on a GPU (wall clock on the simulator, whose events
    do not time anything)."""
    start, stop = cuda.event(), cuda.event()
    t0 = time.perf_counter()
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    ms = start.elapsed_time(stop)
    return ms / 1e3 if ms > 0 else time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    from numba import cuda

    if not cuda.is_available():
        print("no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for a smoke test on the simulator)", file=sys.stderr)
        return {}
    from spms_mc_kernels import cuda as ck

    n = a.size
    blocks, threads = ck.blocks(n), ck.THREADS
    gen = np.random.default_rng(1)
    host = np.floor(gen.exponential(100_000.0, n)).astype(np.int64)
    balance = cuda.to_device(host)
    period_sum = cuda.to_device(host * 30)
    flags = cuda.to_device(np.full(n, 3, np.uint8))
    scratch = cuda.device_array(n, np.int64)
    dst = cuda.device_array(n, np.int64)
    empty = cuda.to_device(np.empty(0, np.int64))
    lower, rate = cuda.to_device(np.array([0.0])), cuda.to_device(np.array([0.01]))
    totals = cuda.to_device(np.zeros(3, np.int64))

    def settle():
        ck.settle_period[blocks, threads](balance, period_sum, True, 30, flags, True, np.int64(200_000),
                                          np.int64(0), empty, lower, rate, 0.0, totals)

    def tick():
        ck.random_fraction_debit[blocks, threads](balance, scratch, empty, n, np.uint64(7), 0.1, period_sum,
                                                  True, False, totals)
        ck.random_fraction_credit[blocks, threads](balance, scratch, empty, n, np.uint64(8))

    def limit():
        ck.copy[blocks, threads](dst, balance)

    for f in (settle, tick, limit):  # compile and warm up
        f()
    cuda.synchronize()
    ratios, rates, limits, ex = [], [], [], []
    for _ in range(a.repeats):
        t_lim, t_set = timed(cuda, limit), timed(cuda, settle)
        limits.append(n / t_lim)
        rates.append(n / t_set)
        ratios.append(t_lim / t_set)
        ex.append(n / timed(cuda, tick))
    try:
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else str(name)
    except AttributeError:  # the simulator has no device object
        name = "numba CUDA simulator"
    out = {"device": name, "n": n, "repeats": a.repeats,
           "settle_accounts_per_s": statistics.median(rates), "copy_elements_per_s": statistics.median(limits),
           "settle_ratio": statistics.median(ratios), "settle_target": 0.70,
           "exchange_account_ticks_per_s": statistics.median(ex), "exchange_target": 5e9,
           "batch_1000x1e4x3600": "not measured: batched members are not implemented yet"}
    print(f"device: {out['device']}, N = {n:,}, {a.repeats} repeat(s), medians")
    print(f"settle (GI + demurrage)  {out['settle_accounts_per_s']:.3g} accounts/s vs copy "
          f"{out['copy_elements_per_s']:.3g} elements/s: ratio {out['settle_ratio']:.3f} (target >= 0.70)")
    print(f"random exchange tick     {out['exchange_account_ticks_per_s']:.3g} account-ticks/s (target >= 5e9)")
    print(f"batch of 1000 members    {out['batch_1000x1e4x3600']}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
