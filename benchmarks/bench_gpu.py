"""GPU benchmarks of the CUDA backend, as ratios to the device's own limits measured in the same run.

    python benchmarks/bench_gpu.py                 # on a machine with an NVIDIA GPU (N = 10^8)
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_gpu.py --size 512 --repeats 1   # smoke test, no GPU

* ``settle``: the GI + demurrage kernel (flat 1 %, average base, every account eligible) in
  accounts/s over the device copy kernel's elements/s (one read + one write of int64, 16 B).
  Target >= 0.70.
* ``exchange``: one tick of random exchange (debit with the period bookkeeping fused in, then the
  atomic scatter-add credit) in account-ticks/s. Target >= 5e9 at N = 10^8.
* ``sample``: the distribution metrics of one sample of the N balances: sorted on the device and
  copied back for the serial pass (what the engine does), against copying and sorting on the host.
* ``batch``: a whole batch of ``sumsy`` members on the device (:class:`spms_mc.engine.batch.BatchEngine`,
  default 1000 members x 10^4 households x 3600 ticks, ledger checked every period, a sample every
  period with the metrics computed on the device), wall-clock seconds of ``run()`` after the
  kernels are compiled. Target < 60 s.
* ``identity``: the ``sumsy`` and ``kinetic_exchange`` presets (10^4 households, 3600 and 1000
  ticks) on the CPU and on the GPU with the same seed, single members and a batch of members:
  every variable of the datasets must be equal byte for byte.

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
    ap.add_argument("--batch-members", type=int, default=1000)
    ap.add_argument("--batch-households", type=int, default=10_000)
    ap.add_argument("--batch-ticks", type=int, default=3600)
    ap.add_argument("--identity-households", type=int, default=10_000)
    ap.add_argument("--identity-ticks", type=int, default=None, help="default: 3600 (sumsy), 1000 (kinetic)")
    ap.add_argument("--identity-members", type=int, default=4, help="members of the batch compared with the CPU")
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
           "exchange_account_ticks_per_s": statistics.median(ex), "exchange_target": 5e9}
    out.update(sample(cuda, balance, n, min(a.repeats, 3)))
    balance = period_sum = flags = scratch = dst = None  # free the device memory before the batch
    print(f"device: {out['device']}, N = {n:,}, {a.repeats} repeat(s), medians")
    print(f"settle (GI + demurrage)  {out['settle_accounts_per_s']:.3g} accounts/s vs copy "
          f"{out['copy_elements_per_s']:.3g} elements/s: ratio {out['settle_ratio']:.3f} (target >= 0.70)")
    print(f"random exchange tick     {out['exchange_account_ticks_per_s']:.3g} account-ticks/s (target >= 5e9)",
          flush=True)
    print(f"one sample (metrics)     {out['sample_seconds_device_sort']:.3g} s with the sort on the device vs "
          f"{out['sample_seconds_host_sort']:.3g} s copying to the host and sorting there", flush=True)
    out.update(batch(a))
    print(f"batch of {a.batch_members} members x {a.batch_households:,} households x {a.batch_ticks} ticks of "
          f"sumsy: {out['batch_seconds']:.2f} s ({out['batch_account_ticks_per_s']:.3g} account-ticks/s; "
          f"kernels compiled in {out['batch_compile_seconds']:.1f} s before; target < 60 s)", flush=True)
    out["identity"] = identity(a)
    for case, verdict in out["identity"].items():
        print(f"CPU vs GPU {case:34s} {verdict}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


def sample(cuda, balance, n, repeats) -> dict:
    """Seconds of one sample's distribution metrics of n balances on the device: sorted on the GPU
    then the serial pass on the host (what the engine does), against copying and sorting on the host."""
    from spms_mc.core.backend import CUDABackend
    from spms_mc_kernels.metrics import distribution_stats

    backend, grid, lorenz = CUDABackend(), np.linspace(0.0, 1.0, 101), np.empty(101)
    host = np.empty(n, np.int64)
    backend.sorted_to_host(balance, host)  # compile
    device = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.sorted_to_host(balance, host)
        on_device = distribution_stats(host, grid, lorenz)
        device.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    balance.copy_to_host(host)
    host.sort()
    on_host = distribution_stats(host, grid, lorenz)
    host_s = time.perf_counter() - t0
    assert on_device == on_host
    return {"sample_seconds_device_sort": statistics.median(device), "sample_seconds_host_sort": host_s}


def batch(a) -> dict:
    """A whole batch run of ``sumsy`` members (seconds of ``BatchEngine.run`` after compilation)."""
    import spms_mc
    from spms_mc.engine.batch import BatchEngine
    from spms_mc.engine.warmup import warmup

    sc = spms_mc.load_scenario("sumsy", {"population.households": a.batch_households, "run.ticks": a.batch_ticks,
                                         "run.backend": "cuda"})
    compile_s = warmup(sc, batch=True)
    engine = BatchEngine(sc, 2026, range(a.batch_members))
    t0 = time.perf_counter()
    results = engine.run()
    seconds = time.perf_counter() - t0
    assert len(results) == a.batch_members
    return {"batch_members": a.batch_members, "batch_households": a.batch_households, "batch_ticks": a.batch_ticks,
            "batch_seconds": seconds, "batch_compile_seconds": compile_s, "batch_target_seconds": 60.0,
            "batch_account_ticks_per_s": a.batch_members * a.batch_households * a.batch_ticks / seconds}


def identity(a) -> dict:
    """The ``sumsy`` and ``kinetic_exchange`` presets on the CPU and on the GPU, same seed: single
    members through the CUDA backend and a batch of members; every variable must be byte-identical."""
    import spms_mc
    from spms_mc.engine.batch import simulate_batch

    out = {}
    for preset, ticks in (("sumsy", 3600), ("kinetic_exchange", 1000)):
        sc = spms_mc.load_scenario(preset, {"population.households": a.identity_households,
                                            "run.ticks": a.identity_ticks or ticks})
        gpu = sc.with_overrides({"run.backend": "cuda"})
        members = list(range(a.identity_members))
        cpu = [spms_mc.simulate(sc, seed=11, member=m) for m in members]
        single = spms_mc.simulate(gpu, seed=11, member=0)
        batched = simulate_batch(gpu, 11, members)
        for label, pairs in (("single member", [(cpu[0], single)]), (f"batch of {len(members)}", zip(cpu, batched))):
            bad = sorted({v for c, g in pairs for v in c.data_vars
                          if not np.array_equal(c[v].values, g[v].values, equal_nan=True)})
            out[f"{preset}, {label}"] = "identical" if not bad else "DIFFERENT: " + ", ".join(bad)
    return out


if __name__ == "__main__":
    main()
