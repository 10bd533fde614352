"""SPMS against business as usual on the same seeds: ``ai_bau``, ``spms`` and ``spms_alaska`` (and
any other presets named), each an ensemble of the same members (common random numbers). Prints the
top-1 % share of net wealth over time (median and 90 % band across members), the fund's dividend
per capita and the year of lock-in (``run.lock_in_threshold``, or "not within the run"), and draws
the top-1 % share over time.

Usage::

    python benchmarks/spms_compare.py --figure docs/figures/spms_compare.png   # 8 members x 10^4 households (~3 min on 2 cores)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import spms_mc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("presets", nargs="*", default=["ai_bau", "spms", "spms_alaska"])
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            sc = spms_mc.load_scenario(name, {"population.households": args.households, "run.sample_every": 360})
            ds = spms_mc.run_ensemble(sc, members=args.members, seed=args.seed,
                                      store=str(Path(tmp) / f"{name}.zarr"), overwrite=True).load()
            results[name] = (sc, ds)
    years = [0, 10, 20, 30]
    print(f"{args.members} members x {args.households} households, seed {args.seed}, the same members in every "
          f"regime. Top-1 % share of net wealth, median [5 %, 95 %]:")
    print("| regime | " + " | ".join(f"year {y}" for y in years) + " | lock-in year | dividend per capita a year "
          "(year 10 / 20 / 30) |")
    print("|---" * (len(years) + 3) + "|")
    for name, (sc, ds) in results.items():
        tpy = sc.economy.ticks_per_year
        ticks = ds["tick"].values
        top = ds["top1_share_wealth"].values  # member, time
        cells = []
        for y in years:
            j = int(np.flatnonzero(ticks == y * tpy)[0]) if (y * tpy) in ticks else None
            if j is None:
                cells.append("-")
                continue
            v = top[:, j] * 100
            cells.append(f"{np.median(v):.1f} [{np.percentile(v, 5):.1f}, {np.percentile(v, 95):.1f}]")
        lock = ds.spms.lock_in()
        q = lock["years_quantile"].values
        lock_cell = "not within the run" if not np.isfinite(q[1]) else f"{q[1]:.1f} [{q[0]:.1f}, " + (
            f"{q[2]:.1f}]" if np.isfinite(q[2]) else "not within the run]")
        if "dividend_per_capita" in ds:
            per_year = []
            for y in (10, 20, 30):
                sel = (ticks > (y - 1) * tpy) & (ticks <= y * tpy)
                per_year.append(f"{np.median(ds['dividend_per_capita'].values[:, sel].sum(axis=1)):,.0f}")
            div = " / ".join(per_year)
        else:
            div = "-"
        print(f"| `{name}` | " + " | ".join(cells) + f" | {lock_cell} | {div} |")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, (sc, ds) in results.items():
            t = ds["tick"].values / sc.economy.ticks_per_year
            top = ds["top1_share_wealth"].values * 100
            ax.plot(t, np.median(top, axis=0), label=name)
            ax.fill_between(t, np.percentile(top, 5, axis=0), np.percentile(top, 95, axis=0), alpha=0.2)
        thr = next(iter(results.values()))[0].run.lock_in_threshold * 100
        ax.axhline(thr, color="k", lw=0.8, ls="--", label=f"lock-in ({thr:.0f} %)")
        ax.set_xlabel("years from 2019")
        ax.set_ylabel("top-1 % share of net wealth (%)")
        ax.set_title(f"{args.members} members each, median and 90 % band")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
