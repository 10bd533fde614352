"""The lock-in window: when must the reforms start? The ``predistribution`` preset (the sovereign AI
wealth fund, AI infrastructure bonds and ESOPs on the ``ai_bau`` baseline) with its reforms started
at ``reform.start_year`` under the lock-in rule ``block`` (a reform whose start finds the top-1 %
share of net wealth at or above 40 % never starts), swept over the start year and the automation
speed on the same seeds (:func:`spms_mc.report.studies.lock_in_window_study`). Prints a markdown
table per (automation speed, start year): the final top-1 % share, the lock-in year and the share
of members whose reform was blocked; draws both against the start year.

Usage::

    python benchmarks/lock_in_window.py      # 7 members x 2*10^4 households, 18 points (~9 min on 2 cores)
    python benchmarks/lock_in_window.py --preset cete --rule weaken --figure window.png
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from spms_mc.report.studies import lock_in_window_study, plot_lock_in_window

FIGURE = "docs/gallery/lock_in_window/lock_in_window.png"


def _fmt(v, pct=False, digits=1):
    if not np.isfinite(v):
        return "never"
    return f"{v * 100:.{digits}f}" if pct else f"{v:.{digits}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="predistribution")
    ap.add_argument("--rule", default="block", choices=("none", "block", "weaken"))
    ap.add_argument("--start-years", default="0,5,10,15,20,25")
    ap.add_argument("--automation-years", default="10,20,30")
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--members", type=int, default=7)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--figure", default=FIGURE, help="PNG of the two panels ('' for none)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    starts = [float(v) for v in args.start_years.split(",")]
    speeds = [float(v) for v in args.automation_years.split(",")]
    t0 = time.perf_counter()
    out = lock_in_window_study(starts, speeds, preset=args.preset, rule=args.rule, households=args.households,
                               members=args.members, seed=args.seed)
    wall = time.perf_counter() - t0
    thr = out.attrs["threshold"]
    print(f"{args.preset}, reform.lock_in_rule = {args.rule!r}, threshold {thr:.0%}: {args.members} members x "
          f"{args.households} households, seed {args.seed}, {len(starts) * len(speeds)} points on the same members, "
          f"{wall:.0f} s. Median [5 %, 95 %] across members; a lock-in year quantile is 'never' when it falls on "
          f"members that do not reach {thr:.0%} within {out.attrs['years']:g} years.")
    print("| automation years | reform start year | top-1 % at the start (median) | final top-1 % | lock-in year "
          "| never locked in | reform blocked |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for a in speeds:
        for s in starts:
            p = out.sel(automation_years=a, start_year=s)
            fq = p["final_top1_quantile"].values
            lq = p["lock_in_year_quantile"].values
            start = float(np.median(p["start_top1"].values))
            print(f"| {a:g} | {s:g} | {_fmt(start, True)} % | {_fmt(fq[1], True)} [{_fmt(fq[0], True)}, "
                  f"{_fmt(fq[2], True)}] % | {_fmt(lq[1])} [{_fmt(lq[0])}, {_fmt(lq[2])}] | "
                  f"{float(p['never']):.0%} | {float(p['blocked_share']):.0%} |")
            rows.append({"automation_years": a, "start_year": s, "start_top1_median": start,
                         "final_top1": fq.tolist(), "lock_in_year": [v if np.isfinite(v) else None for v in lq],
                         "never": float(p["never"]), "blocked_share": float(p["blocked_share"])})
    if args.figure:
        plot_lock_in_window(out, args.figure)
        print(f"figure: {args.figure}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"preset": args.preset, "rule": args.rule, "households": args.households,
                       "members": args.members, "seed": args.seed, "wall_s": wall, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
