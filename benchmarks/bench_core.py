"""The core benchmarks at full size: ``spms_mc.bench.run`` plus an RSS cross-check of memory.

    python benchmarks/bench_core.py [--size 10000000] [--repeats 5] [--json results.json]

Prints the table of ``spms_mc.bench`` (GI + demurrage settlement over in-place read-modify-write,
full SuMSy tick over random scatter-add, peak traced bytes per household, and the ``ai_bau``
production-economy tick at N = min(size, 10^6) households and N/1000 firms in household-ticks/s,
with its ratio to the SuMSy tick at the same N) and, as a cross-check of the tracemalloc figure,
the growth of the resident set (Linux ``VmHWM`` - ``VmRSS`` before) of a fresh process that runs
the same ``simulate``. ``--json`` writes every repeat of every figure.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

RSS_SCRIPT = r"""
import sys
import spms_mc

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

n, ticks = int(sys.argv[1]), int(sys.argv[2])
spms_mc.simulate(spms_mc.load_scenario("sumsy").with_overrides(
    {"population.households": 1000, "run.ticks": ticks}), seed=1)
sc = spms_mc.load_scenario("sumsy").with_overrides({"population.households": n, "run.ticks": ticks})
before = status("VmRSS")
spms_mc.simulate(sc, seed=1)
print(status("VmHWM") - before)
"""


def rss_per_household(n: int, ticks: int) -> float | None:
    """Peak resident-set growth per household of simulate('sumsy') in a fresh process (Linux)."""
    try:
        res = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(n), str(ticks)],
                             capture_output=True, text=True, timeout=900, check=True)
        return int(res.stdout.strip().splitlines()[-1]) / n
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        print(f"RSS cross-check unavailable: {exc}", file=sys.stderr)
        return None


def main(argv=None) -> int:
    from spms_mc.face import bench

    ap = argparse.ArgumentParser(description="spms_mc core benchmarks as ratios to machine limits")
    ap.add_argument("--size", type=int, default=10_000_000, help="accounts for the settle and tick benchmarks "
                    "(memory and economy tick: min(size, 10^6) households)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="N = 10^5, 2 repeats (smoke test)")
    ap.add_argument("--json", help="write the results (every repeat) to this JSON file")
    a = ap.parse_args(argv)
    res = bench.run(size=a.size, repeats=a.repeats, quick=a.quick)
    mem = next(r for r in res["results"] if r["name"] == "memory_per_household")
    rss = rss_per_household(res["memory_size"], mem["details"]["ticks"])
    res["rss_per_household"] = rss
    if rss is not None:
        print(f"cross-check: peak RSS growth of simulate('sumsy') at N = {res['memory_size']:,} in a fresh "
              f"process: {rss:.1f} B/household (tracemalloc: {mem['measured']:.1f})")
    verdicts = ", ".join(f"{r['name']} {'PASS' if r['passed'] else 'FAIL'}" for r in res["results"])
    print(f"summary: {verdicts}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
