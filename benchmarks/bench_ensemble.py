"""Ensemble overhead: the same ensemble through ``sync``, ``local --workers 1`` and ``local --workers 2``
(each a whole ``spms_mc.run_ensemble`` into a fresh store, wall clock, numba cache warm), and the
start-up of one local worker process (spawn, imports, numba cache load) measured on its own.

Targets (the performance issue): 1 local worker >= 0.95 x the speed of ``sync``; 2 local workers
>= 1.8 x one. The stores are checked equal to the ``sync`` one, so no speed is bought with a
different result.

    python benchmarks/bench_ensemble.py                      # 8 members x 5e4 accounts x 6000 ticks
    python benchmarks/bench_ensemble.py --repeats 3 --json ensemble.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np


def worker_start_seconds() -> float:
    """Wall time from asking for a one-worker LocalCluster until that worker has loaded spms_mc's
    kernels from the numba cache (what a local worker pays once)."""
    from spms_mc.ensemble.fanout import _local_cluster, warmup_task

    sc_toml = _sumsy_toml(1000, 60)
    t0 = time.perf_counter()
    cluster, client = _local_cluster(1, 1)
    try:
        client.wait_for_workers(1)
        client.run(warmup_task, sc_toml)
        return time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()


def _sumsy_toml(households: int, ticks: int) -> str:
    import spms_mc

    return spms_mc.load_scenario("sumsy", {"population.households": households, "run.ticks": ticks}).to_toml()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--ticks", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import spms_mc
    from spms_mc.ensemble.fanout import run_ensemble_with_summary

    sc = spms_mc.load_scenario("sumsy", {"population.households": args.households, "run.ticks": args.ticks})
    spms_mc.simulate(sc.with_overrides({"run.ticks": 60}), seed=0)  # kernels compiled and cached
    ways = {"sync": {"scheduler": "sync"}, "local_1": {"scheduler": "local", "workers": 1},
            "local_2": {"scheduler": "local", "workers": 2}}
    times: dict[str, list[float]] = {k: [] for k in ways}
    tmp = tempfile.mkdtemp(prefix="spms_mc_bench_ens_")
    try:
        for r in range(args.repeats):
            for name, kw in ways.items():
                path = os.path.join(tmp, f"{name}-{r}.zarr")
                t0 = time.perf_counter()
                ds, summary = run_ensemble_with_summary(sc, args.members, 7, path, **kw)
                times[name].append(time.perf_counter() - t0)
                if name != "sync":
                    ref = spms_mc.open_ensemble(os.path.join(tmp, f"sync-{r}.zarr"))
                    assert np.array_equal(ref["money_stock"].values, ds["money_stock"].values, equal_nan=True), name
                    assert np.array_equal(ref["gini"].values, ds["gini"].values, equal_nan=True), name
            for name in ways:
                shutil.rmtree(os.path.join(tmp, f"{name}-{r}.zarr"))
        start = statistics.median(worker_start_seconds() for _ in range(args.repeats))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"members": args.members, "households": args.households, "ticks": args.ticks, "repeats": args.repeats,
           "cores": len(os.sched_getaffinity(0)), "loadavg_at_end": os.getloadavg(), "seconds": times,
           "median_seconds": med, "worker_start_seconds": start,
           "one_worker_vs_sync": med["sync"] / med["local_1"], "two_workers_vs_one": med["local_1"] / med["local_2"]}
    print(f"{args.members} members x {args.households} accounts x {args.ticks} ticks, {out['cores']} cores, "
          f"median of {args.repeats} (load {os.getloadavg()[0]:.2f}):")
    for k, v in med.items():
        print(f"  {k:8s} {v:7.2f} s   ({', '.join(f'{x:.2f}' for x in times[k])})")
    print(f"  1 local worker vs sync: {out['one_worker_vs_sync']:.3f}x (target >= 0.95)")
    print(f"  2 local workers vs 1:   {out['two_workers_vs_one']:.3f}x (target >= 1.8)")
    print(f"  a local worker's start-up (spawn, imports, numba cache load): {start:.2f} s, paid once per worker")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
