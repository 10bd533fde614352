"""The ``ai_bau`` baseline in two tables (issue 13's closing checks):

1. **No start-up transients**: the first two years, period by period, of the price level, loans
   outstanding, bank capital and defaults of one ``ai_bau`` member at 10^4 households, beside the
   economy without wealth dynamics, burn-in or per-borrower credit limits (``ai_bau_fixed_equity``,
   the ``ai_bau`` of before);
2. **The K-shape**: the top-1 % share of net wealth at the start and after 20 years, with the
   automation path and without it (``economy.automation = false``), mean +- standard error over
   members on common random numbers.

Usage::

    python benchmarks/ai_bau_baseline.py                 # 8 members of 10^4 households (~2 min on 2 cores)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import spms_mc


def first_two_years(name: str, households: int, seed: int) -> dict[str, np.ndarray]:
    sc = spms_mc.load_scenario(name, {"population.households": households, "run.ticks": 720, "run.sample_every": 30})
    ds = spms_mc.simulate(sc, seed=seed)
    return {v: ds[v].values[0] for v in ("price_level", "loans_outstanding", "bank_capital", "defaults")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    new, old = (first_two_years(n, args.households, args.seed) for n in ("ai_bau", "ai_bau_fixed_equity"))
    print(f"First two years, one member of {args.households} households (sample after each 30-tick period):")
    print("| period | price level | loans | bank capital | defaults | before: price level | loans | bank capital "
          "| defaults |\n|---|---|---|---|---|---|---|---|---|")
    for k in range(len(new["price_level"])):
        cells = [f"{d['price_level'][k]:.3f} | {d['loans_outstanding'][k]:,.0f} | {d['bank_capital'][k]:,.0f} | "
                 f"{d['defaults'][k]:.0f}" for d in (new, old)]
        print(f"| {k} | " + " | ".join(cells) + " |")

    years = 20
    over = {"population.households": args.households, "run.ticks": years * 360, "run.sample_every": 360}
    tops = {}
    for automation in (True, False):
        sc = spms_mc.load_scenario("ai_bau", {**over, "economy.automation": automation})
        tops[automation] = np.array([spms_mc.simulate(sc, seed=args.seed, member=m).top1_share_wealth.values[0]
                                     for m in range(args.members)])
    print(f"\nTop-1 % share of net wealth, ai_bau, {args.members} members of {args.households} households "
          f"(mean +- s.e.):")
    print("| run | start | after 10 years | after 20 years | rise |\n|---|---|---|---|---|")

    def cell(x):
        return f"{x.mean() * 100:.2f} +- {x.std(ddof=1) / np.sqrt(len(x)) * 100:.2f}"

    for automation, t in tops.items():
        print(f"| {'with' if automation else 'without'} automation | {cell(t[:, 0])} | {cell(t[:, 10])} | "
              f"{cell(t[:, -1])} | {cell(t[:, -1] - t[:, 0])} |")
    diff = (tops[True][:, -1] - tops[True][:, 0]) - (tops[False][:, -1] - tops[False][:, 0])
    print(f"| difference (paired) | | | | {cell(diff)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
