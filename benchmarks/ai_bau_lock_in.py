"""When do the top 1 % lock in? The ``ai_bau`` baseline (the calibrated US economy continued from
2019 with AI automation): the year its top-1 % share of net wealth first reaches 40 %
(``run.lock_in_threshold``), median and 90 % band across members, swept over the automation speed
and the share of the profits automation adds that goes to households already holding capital
(:func:`spms_mc.report.studies.lock_in_study`).

Usage::

    python benchmarks/ai_bau_lock_in.py                        # 8 members, 10^4 households (~4 min on 2 cores)
    python benchmarks/ai_bau_lock_in.py --figure docs/figures/ai_bau_lock_in.png --json lock_in.json
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from spms_mc.report.studies import lock_in_study, plot_lock_in


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--figure", default=None, help="PNG of the sweep")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    out = lock_in_study(households=args.households, members=args.members, seed=args.seed)
    q = out["years_quantile"]
    speed, share = "economy_automation_years", "wealth_owner_share_of_ai_profits"
    print(f"ai_bau: years from 2019 until the top 1 % hold {out.attrs['threshold']:.0%} of net wealth "
          f"({args.members} members, {args.households} households): median [5 %, 95 %]")
    print("| automation_years | " + " | ".join(f"owner share {v:g}" for v in q[share].values) + " |")
    print("|---" * (1 + q[share].size) + "|")
    rows = {}
    for a in q[speed].values:
        cells = []
        for v in q[share].values:
            m, lo, hi = (float(q.sel({speed: a, share: v, "quantile": p})) for p in (0.5, 0.05, 0.95))
            never = float(out["never"].sel({speed: a, share: v}))
            cells.append(f"{m:.1f} [{lo:.1f}, {hi:.1f}]" + (f" ({never:.0%} never)" if never else ""))
            rows[f"{a:g},{v:g}"] = {"median": m, "p05": lo, "p95": hi, "never": never}
        print(f"| {a:g} | " + " | ".join(cells) + " |")
    if args.figure:
        plot_lock_in(out, args.figure)
        print(f"figure: {args.figure}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"households": args.households, "members": args.members, "seed": args.seed,
                       "years": {k: {kk: (vv if np.isfinite(vv) else None) for kk, vv in v.items()}
                                 for k, v in rows.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
