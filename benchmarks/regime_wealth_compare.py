"""Net wealth under five regimes on the same seeds: ``ai_bau`` (business as usual), ``spms``,
``predistribution``, ``cete`` (the three reform presets on the ``ai_bau`` baseline, reforms from
the run's start) and ``sumsy_vs_credit`` (the exchange model's bank-credit replay of a SuMSy run, a
different kind of model: no production economy, no calibration to the US). Each is an ensemble of
the same members (root seed and member indices); the economy presets share the household count.
Prints the top-1 % share of household net wealth at the start and after 10, 20 and 30 years, the
bottom-50 % share after 30 years (medians across members) and the lock-in year (the first year the
top-1 % share reaches ``run.lock_in_threshold``, 40 %), and draws both shares over time.

``sumsy_vs_credit`` is run with the same household count and, by default, the economy presets'
30 reported years (``run.ticks = 10800``; its own default is 18000 ticks, 50 "years" of 360 ticks);
``--own-size`` keeps its preset's households and ticks. Its households start with no money and its
bank-credit money is created as loans, so household net wealth (money - loans) sums to little and
its top-1 % share of it is not a share (it starts at 1 and exceeds 1): the table adds its shares of
household *money*, for the bank-credit run and for the SuMSy run it replays (``sumsy_*``), and the
figure draws those (dashed).

Usage::

    python benchmarks/regime_wealth_compare.py     # 14 members x 5*10^4 households (~10 min on 2 cores)
    python benchmarks/regime_wealth_compare.py --members 2 --households 5000 --figure /tmp/cmp.png
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import spms_mc
from spms_mc.engine.output import first_crossing

PRESETS = ["ai_bau", "spms", "predistribution", "cete", "sumsy_vs_credit"]
FIGURE = "docs/figures/regime_wealth_compare.png"
YEARS = (10, 20, 30)


def _at_year(ds, var, tpy, year):
    """Median across members of ``var`` at the sample of tick ``year * tpy`` (NaN where not sampled)."""
    ticks = ds["tick"].values
    j = np.flatnonzero(ticks == round(year * tpy))
    return float(np.median(ds[var].values[:, j[0]])) if j.size else float("nan")


def _lock_cell(cross_ticks, tpy):
    years = np.asarray(cross_ticks, float) / tpy
    n, hit = years.size, int(np.isfinite(years).sum())
    # quantiles with a member that never locks in counted as later than every one that does
    q = np.quantile(np.where(np.isfinite(years), years, np.inf), [0.05, 0.5, 0.95], method="inverted_cdf")
    f = [f"{v:.1f}" if np.isfinite(v) else "never" for v in q]
    return f"{f[1]} [{f[0]}, {f[2]}]", f"{hit}/{n}"


def _pct(v):
    return f"{v * 100:.1f}" if np.isfinite(v) else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("presets", nargs="*", default=PRESETS)
    ap.add_argument("--members", type=int, default=14)
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--own-size", action="store_true", help="run sumsy_vs_credit at its preset's size")
    ap.add_argument("--figure", default=FIGURE, help="PNG ('' for none)")
    args = ap.parse_args(argv)
    results, walls = {}, {}
    ticks_economy = spms_mc.load_scenario("ai_bau").run.ticks
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            over = {"population.households": args.households}
            if name == "sumsy_vs_credit":
                over = {} if args.own_size else {**over, "run.ticks": ticks_economy}
            t0 = time.perf_counter()
            try:
                sc = spms_mc.load_scenario(name, over)
            except spms_mc.ScenarioError as e:  # keep the preset's own size
                print(f"{name}: overrides {over} refused ({e}); run at its own size", file=sys.stderr)
                sc = spms_mc.load_scenario(name)
            ds = spms_mc.run_ensemble(sc, members=args.members, seed=args.seed,
                                      store=str(Path(tmp) / f"{name}.zarr"), overwrite=True).load()
            walls[name] = time.perf_counter() - t0
            results[name] = (sc, ds)
    thr = next(iter(results.values()))[0].run.lock_in_threshold
    print(f"{args.members} members, seed {args.seed}, the same members in every regime; "
          + ", ".join(f"`{n}` {sc.population.households} households x {sc.run.ticks} ticks in {walls[n]:.0f} s"
                      for n, (sc, _) in results.items())
          + f" ({sum(walls.values()):.0f} s in all). Shares of household net wealth, medians across members; "
            f"lock-in: the first year the top-1 % share reaches {thr:.0%}, median [5 %, 95 %] (a member that "
            f"never does counts as later than all).")
    print("| regime | top-1 % at start | top-1 % after 10 years | after 20 years | after 30 years | "
          "bottom-50 % after 30 years | lock-in year median [5-95 %] | members locked in |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for name, (sc, ds) in results.items():
        tpy = sc.economy.ticks_per_year
        series = [(f"`{name}`", "top1_share_wealth", "bottom50_share_wealth", ds["top1_cross_tick"].values)]
        if name == "sumsy_vs_credit":  # its net-wealth shares are not shares: add its money shares
            ticks = ds["tick"].values
            series[0] = (f"`{name}` (net wealth, not a share: see below)",) + series[0][1:]
            for label, top, bottom in (("bank credit, shares of money", "top1_share", "bottom50_share"),
                                       ("its SuMSy run, shares of money", "sumsy_top1_share",
                                        "sumsy_bottom50_share")):
                cross = first_crossing(np.nan_to_num(ds[top].values, nan=0.0), ticks, thr)
                series.append((f"`{name}`: {label}", top, bottom, cross))
        for label, top, bottom, cross in series:
            cells = [_pct(_at_year(ds, top, tpy, y)) for y in (0,) + YEARS]
            lock, hit = _lock_cell(cross, tpy)
            print(f"| {label} | " + " | ".join(cells) + f" | {_pct(_at_year(ds, bottom, tpy, 30))} | {lock} | {hit} |")
            rows.append((name, label, top, bottom))
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)  # shares of money at tick 0 (none yet)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.2))
        color = 0
        for name, label, top, bottom in rows:
            sc, ds = results[name]
            if name == "sumsy_vs_credit" and top == "top1_share_wealth":
                continue  # not a share (see the docstring)
            t = ds["tick"].values / sc.economy.ticks_per_year
            style = {"color": f"C{color}", "ls": "--" if name == "sumsy_vs_credit" else "-"}
            color += 1
            short = label.strip("`").replace("`", "")
            for ax, var in ((ax1, top), (ax2, bottom)):
                v = ds[var].values * 100
                ax.plot(t, np.nanmedian(v, axis=0), label=short, **style)
                if v.shape[0] > 1:
                    ax.fill_between(t, np.nanpercentile(v, 5, axis=0), np.nanpercentile(v, 95, axis=0),
                                    color=style["color"], alpha=0.15)
        ax1.axhline(thr * 100, color="k", lw=0.8, ls=":", label=f"lock-in ({thr:.0%})")
        ax1.set_ylabel("top-1 % share (%)")
        ax1.set_title("top-1 % share (net wealth; dashed: money)")
        ax2.set_ylabel("bottom-50 % share (%)")
        ax2.set_title("bottom-50 % share (net wealth; dashed: money)")
        for ax in (ax1, ax2):
            ax.set_xlabel("years from the start of the reported run (2019 for the economy presets)")
            ax.grid(alpha=0.3)
        ax1.legend(fontsize=7)
        n = {sc.population.households for sc, _ in results.values()}
        fig.suptitle(f"{args.members} members each (median, 90 % band), {'/'.join(str(h) for h in sorted(n))} "
                     f"households; dashed: sumsy_vs_credit, shares of household money")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
        print(f"figure: {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
