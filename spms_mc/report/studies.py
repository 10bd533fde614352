"""Study helpers behind the notebooks: each runs ensembles and returns tidy xarray results with the
analytic reference beside the measurement.

* :func:`convergence_study` - SuMSy money stock against |eligible| x GI / d and convergence time
  against d (SuMSy paper, the SuMSy paper (docs/sources.md), conclusions 3 and 5). Without
  rounding the stock follows ``M_x = M* (1 - (1 - d)^x)`` from zero, so it first stays within
  ``rtol`` of ``M*`` after ``ceil(ln(rtol) / ln(1 - d))`` periods.
* :func:`distribution_study` - exchange rules against their analytic stationary laws: the pooled
  random split (saving propensity lambda = 0) is exponential with Gini 1/2 (Dragulescu & Yakovenko
  2000); with lambda > 0 the law is close to a gamma distribution of shape n = 1 + 3 lambda / (1 - lambda)
  (Patriarca, Chakraborti & Kaski 2004, Phys. Rev. E 70, 016104), whose Gini is
  Gamma(n + 1/2) / (n Gamma(n) sqrt(pi)); the yard sale without redistribution condenses (Gini -> 1).
* :func:`regime_comparison` - the seed papers' K-shape question (docs/sources.md) with the mechanisms built so far: a
  yard-sale economy with wealth-attained advantage, with and without SuMSy guaranteed income and
  demurrage, on the same seeds; reports when the top-1 % share crosses the lock-in threshold
  (0.40, the predistribution essay (docs/sources.md)).
* :func:`lock_in_years` and :func:`lock_in_study` - when the top 1 % lock in: the year the top-1 %
  share of net wealth first reaches ``run.lock_in_threshold`` in the ``ai_bau`` baseline (median
  and 90 % band across members), and its sensitivity to the automation speed and to the share of
  the profits automation adds that goes to households already holding capital (docs/model.md
  section 3a); :func:`plot_lock_in` draws it.
* :func:`lock_in_window_study` - the lock-in window (docs/model.md section 6, the predistribution
  essay's "Why the window is closing"): a reform preset (``predistribution`` by default) with its
  reforms started at ``reform.start_year`` under ``reform.lock_in_rule``, swept over the start year
  and the automation speed on the same seeds; per point the final top-1 % share of net wealth, the
  lock-in year and the share of members whose reform was blocked (the top-1 % share was at or above
  ``run.lock_in_threshold`` when it was due to start); :func:`plot_lock_in_window` draws it.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.config import load_scenario


def _store(path, name):
    if path is not None:
        return Path(path)
    return Path(tempfile.mkdtemp(prefix="spms_mc_")) / f"{name}.zarr"


def theoretical_convergence_periods(d: float, rtol: float) -> int:
    return int(math.ceil(math.log(rtol) / math.log(1.0 - d)))


def convergence_study(demurrage=(0.01, 0.02, 0.05, 0.1), *, households=2000, members=4, periods=600,
                      seed=0, rtol=0.01, store=None, scheduler="sync") -> xr.Dataset:
    """Money stock vs |eligible| x GI / d, and convergence time vs d, for a sweep over d."""
    from ..ensemble.api import run_ensemble

    sc = load_scenario("sumsy", {"population.households": households, "run.ticks": 30 * periods,
                                 "sweep.sumsy.demurrage": list(demurrage)})
    ds = run_ensemble(sc, members=members, seed=seed, store=_store(store, "convergence"), scheduler=scheduler,
                      overwrite=True)
    conv = ds.spms.convergence(rtol=rtol)
    period = sc.run.period
    theory = [theoretical_convergence_periods(d, rtol) * period for d in demurrage]
    final = ds["money_stock"].isel(time=-1)
    return xr.Dataset({
        "closed_form": ds["money_stock_closed_form"],
        "final_money_stock": final.mean("member"),
        "final_relative_error": conv["final_relative_error"].mean("member"),
        "convergence_tick": conv["convergence_tick"].mean("member"),
        "convergence_tick_theory": ("sumsy_demurrage", np.array(theory, float)),
        "money_stock": ds["money_stock"].mean("member"),
    }, attrs={"rtol": rtol, "households": households, "members": members}).rename({"sumsy_demurrage": "d"})


def gamma_gini(n: float) -> float:
    """Gini coefficient of a gamma distribution of shape n."""
    return math.exp(math.lgamma(n + 0.5) - math.lgamma(n) - math.log(n)) / math.sqrt(math.pi)


def distribution_study(*, households=20_000, ticks=400, seed=0) -> tuple[xr.Dataset, dict]:
    """Stationary balance distributions of the exchange rules against their analytic laws.

    Returns (table, balances): the table has the measured and analytic Gini per rule; balances
    maps each rule to its final household balances (currency units) for histograms.
    """
    from ..engine.member import Engine

    cases = {
        "saving_propensity, lambda = 0": ({"exchange.saving_propensity": 0.0}, 0.5),
        "saving_propensity, lambda = 0.5": ({"exchange.saving_propensity": 0.5}, gamma_gini(1 + 3 * 0.5 / 0.5)),
        "random_fraction, f = 0.5": ({"exchange.rule": "random_fraction", "exchange.fraction": 0.5}, np.nan),
        "yard_sale, 20 % stake": ({"exchange.rule": "yard_sale", "exchange.fraction": 0.2}, 1.0),
    }
    names, measured, analytic, balances = [], [], [], {}
    for name, (over, law) in cases.items():
        sc = load_scenario("kinetic_exchange", {"population.households": households, "run.ticks": ticks,
                                                "run.sample_every": ticks, **over})
        eng = Engine(sc, seed)
        res = eng.run()
        names.append(name)
        measured.append(res.stats["gini"][-1])
        analytic.append(law)
        balances[name] = eng.state.balance[: sc.population.households] / sc.run.minor_units
    table = xr.Dataset({"gini": ("rule", measured), "gini_analytic": ("rule", analytic)},
                       coords={"rule": names},
                       attrs={"households": households, "ticks": ticks,
                              "note": "yard sale: the Gini tends to 1 as ticks grow; random_fraction has no "
                                      "closed form"})
    return table, balances


def first_crossing(series: xr.DataArray, threshold: float) -> xr.DataArray:
    """First tick at which ``series`` (..., time) reaches ``threshold``; NaN if never."""
    from ..engine.output import first_crossing as crossing

    first = crossing(series.values, series["tick"].values, threshold)
    return xr.DataArray(first, dims=series.dims[:-1],
                        coords={d: series[d] for d in series.dims[:-1] if d in series.coords})


def regime_comparison(*, households=1000, members=4, ticks=6000, seed=0, zeta=1.0, threshold=0.40,
                      store_dir=None, scheduler="sync") -> xr.Dataset:
    """Yard-sale exchange with wealth-attained advantage, without and with SuMSy, on the same seeds.

    Returns the two ensembles side by side (dim ``regime``) with ``top1_cross_tick``, the first
    tick each member's top-1 % share reaches ``threshold``.
    """
    from ..ensemble.api import run_ensemble
    from .pages import load

    base = {"population.households": households, "run.ticks": ticks, "run.sample_every": 30,
            "population.initial_balance": 2000.0, "exchange.rule": "yard_sale", "exchange.fraction": 0.2,
            "exchange.zeta": zeta}
    folder = Path(store_dir) if store_dir else Path(tempfile.mkdtemp(prefix="spms_mc_regimes_"))
    paths = []
    for name, over in (("no_reform", {"sumsy.enabled": False, "name": "no_reform"}),
                       ("sumsy", {"sumsy.enabled": True, "name": "sumsy", "sumsy.demurrage": 0.02})):
        sc = load_scenario("sumsy", {**base, **over})
        path = folder / f"{name}.zarr"
        run_ensemble(sc, members=members, seed=seed, store=path, scheduler=scheduler, overwrite=True)
        paths.append(path)
    ds, _ = load(paths)
    ds["top1_cross_tick"] = first_crossing(ds["top1_share"].transpose(..., "time"), threshold)
    ds["top1_cross_tick"].attrs.update(units="ticks", threshold=threshold,
                                       description="first tick the top-1 % share reaches the threshold (NaN: never)")
    ds.attrs["stores"] = [str(p) for p in paths]
    return ds


def lock_in_years(ds: xr.Dataset, ticks_per_year: float | None = None, levels=(0.05, 0.5, 0.95)) -> xr.Dataset:
    """The lock-in year of each member and its quantiles across members (``ds.spms.lock_in``)."""
    from ..ensemble import accessor  # noqa: F401  (registers ds.spms)

    return ds.spms.lock_in(ticks_per_year, levels)


def lock_in_study(*, households=10_000, members=8, automation_years=(10.0, 20.0, 30.0),
                  owner_shares=(0.5, 0.75, 1.0), seed=0, store=None, scheduler="local") -> xr.Dataset:
    """The ``ai_bau`` baseline swept over ``economy.automation_years`` (how fast the labour share
    falls) and ``wealth.owner_share_of_ai_profits`` (how much of the profits automation adds goes to
    the households already holding capital): :func:`lock_in_years` of the ensemble."""
    from ..ensemble.api import run_ensemble

    sc = load_scenario("ai_bau", {"population.households": households,
                                  "population.firms": max(1, min(100, households // 100)),
                                  "sweep.economy.automation_years": list(automation_years),
                                  "sweep.wealth.owner_share_of_ai_profits": list(owner_shares)})
    ds = run_ensemble(sc, members=members, seed=seed, store=_store(store, "ai_bau_lock_in"), scheduler=scheduler,
                      overwrite=True).load()
    out = lock_in_years(ds, sc.economy.ticks_per_year)
    out.attrs.update(households=households, members=members, seed=seed, threshold=sc.run.lock_in_threshold)
    return out


def plot_lock_in(summary: xr.Dataset, path) -> None:
    """Median lock-in year (with the 90 % band) against the automation speed, one line per owner
    share, into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = summary["years_quantile"]
    speed, share = "economy_automation_years", "wealth_owner_share_of_ai_profits"
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for v in q[share].values:
        line = q.sel({share: v})
        x = line[speed].values
        mid, lo, hi = (np.where(np.isfinite(a), a, np.nan) for a in
                       (line.sel(quantile=0.5).values, line.sel(quantile=0.05).values, line.sel(quantile=0.95).values))
        ax.plot(x, mid, marker="o", label=f"owner share {v:g}")
        ax.fill_between(x, lo, hi, alpha=0.2)
    ax.set_xlabel("years the labour share takes to fall (economy.automation_years)")
    ax.set_ylabel("years until the top 1 % hold 40 %")
    ax.set_title(f"ai_bau: top-1 % lock-in ({summary.attrs.get('members', '?')} members, median and 90 % band)")
    ax.legend(title="share of AI profits to capital holders", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _censored_quantiles(years: xr.DataArray, levels) -> xr.DataArray:
    """Quantiles across members of a time to an event that may never come (NaN): a member without it
    counts as later than every member with it, so a quantile among those is NaN (not within the run)."""
    q = years.fillna(np.inf).quantile(list(levels), dim="member", method="inverted_cdf")
    return q.where(np.isfinite(q))


def lock_in_window_study(start_years=(0, 5, 10, 15, 20, 25), automation_years=(10, 20, 30), *,
                         preset="predistribution", rule="block", households=10_000, members=4, seed=0,
                         store=None, scheduler="local", overrides=None) -> xr.Dataset:
    """When must the reforms start? ``preset`` with ``reform.enabled``, ``reform.lock_in_rule =
    rule``, swept over ``reform.start_year`` and ``economy.automation_years`` in one ensemble (every
    grid point sees the same members' draws).

    Returns a Dataset on dims ``start_year`` x ``automation_years`` (and ``member`` for the
    per-member values):

    * ``final_top1`` (member) and ``final_top1_quantile`` (dim ``quantile``: 0.05, 0.5, 0.95): the
      top-1 % share of household net wealth at the end of the run;
    * ``lock_in_year`` (member; ``top1_cross_tick / economy.ticks_per_year``, NaN: never within the
      run) and ``lock_in_year_quantile``: its quantiles with a member that never locks in counted
      as later than every one that does (so the median is NaN when half the members or more never
      lock in); ``never`` is the share of members that never lock in;
    * ``blocked`` (member; ``reform_level`` at the end == 0: the reform never started) and
      ``blocked_share``; ``start_top1`` (member): the top-1 % share the reform found at its start
      (``reform_start_top1_share``).

    ``overrides`` are extra scenario overrides (e.g. ``run.ticks``, ``run.lock_in_threshold``);
    ``population.firms`` defaults to ``households // 100`` (1 to 100) as in :func:`lock_in_study`.
    """
    from ..ensemble.api import run_ensemble

    over = {"population.households": households, "population.firms": max(1, min(100, households // 100)),
            **(overrides or {}),
            "reform.enabled": True, "reform.lock_in_rule": rule,
            "sweep.reform.start_year": [float(y) for y in start_years],
            "sweep.economy.automation_years": [float(a) for a in automation_years]}
    sc = load_scenario(preset, over)
    ds = run_ensemble(sc, members=members, seed=seed, store=_store(store, f"{preset}_lock_in_window"),
                      scheduler=scheduler, overwrite=True).load()
    ds = ds.rename({"reform_start_year": "start_year", "economy_automation_years": "automation_years"})
    levels = (0.05, 0.5, 0.95)
    final = ds["top1_share_wealth"].isel(time=-1).drop_vars("tick", errors="ignore")
    years = ds["top1_cross_tick"] / sc.economy.ticks_per_year
    blocked = ds["reform_level"].isel(time=-1).drop_vars("tick", errors="ignore") == 0
    dims = ("start_year", "automation_years", "member")
    out = xr.Dataset({
        "final_top1": final.transpose(*dims),
        "final_top1_quantile": final.quantile(list(levels), dim="member").transpose(*dims[:2], "quantile"),
        "lock_in_year": years.transpose(*dims),
        "lock_in_year_quantile": _censored_quantiles(years, levels).transpose(*dims[:2], "quantile"),
        "never": years.isnull().mean("member").transpose(*dims[:2]),
        "blocked": blocked.transpose(*dims),
        "blocked_share": blocked.mean("member").transpose(*dims[:2]),
        "start_top1": ds["reform_start_top1_share"].isel(time=-1).drop_vars("tick", errors="ignore").transpose(*dims),
    })
    for name, units, text in (
            ("final_top1", "1", "top-1 % share of household net wealth at the end of the run"),
            ("final_top1_quantile", "1", "its quantiles across members"),
            ("lock_in_year", "years", "years until the top-1 % share first reaches run.lock_in_threshold (NaN: never)"),
            ("lock_in_year_quantile", "years", ("quantiles across members, a member that never locks in counted "
                                                "as later than all (NaN: not within the run)")),
            ("never", "1", "share of members whose top-1 % never reaches the threshold"),
            ("blocked", "1", "the reform never started (reform_level at the end = 0)"),
            ("blocked_share", "1", "share of members whose reform was blocked"),
            ("start_top1", "1", "top-1 % share of net wealth when the reform was due to start")):
        out[name].attrs.update(units=units, description=text)
    out.attrs.update(preset=preset, rule=rule, households=households, members=members, seed=seed,
                     threshold=sc.run.lock_in_threshold, years=sc.run.ticks / sc.economy.ticks_per_year)
    return out


def plot_lock_in_window(summary: xr.Dataset, path) -> None:
    """Two panels against the reform's start year, one line per automation speed: the final top-1 %
    share of net wealth (median and 90 % band; crosses where most members' reform was blocked) and
    the lock-in year (median and 90 % band); into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    x = summary["start_year"].values
    thr = float(summary.attrs.get("threshold", 0.40))
    for i, a in enumerate(summary["automation_years"].values):
        color = f"C{i}"
        q = summary["final_top1_quantile"].sel(automation_years=a) * 100
        ax1.plot(x, q.sel(quantile=0.5).values, marker="o", color=color, label=f"{a:g} years")
        ax1.fill_between(x, q.sel(quantile=0.05).values, q.sel(quantile=0.95).values, color=color, alpha=0.15)
        blocked = summary["blocked_share"].sel(automation_years=a).values > 0.5
        if blocked.any():
            ax1.plot(x[blocked], q.sel(quantile=0.5).values[blocked], ls="none", marker="x", ms=11, color="k")
        ly = summary["lock_in_year_quantile"].sel(automation_years=a)
        ax2.plot(x, ly.sel(quantile=0.5).values, marker="o", color=color, label=f"{a:g} years")
        ax2.fill_between(x, ly.sel(quantile=0.05).values, ly.sel(quantile=0.95).values, color=color, alpha=0.15)
    ax1.axhline(thr * 100, color="k", lw=0.8, ls="--", label=f"lock-in ({thr:.0%})")
    ax1.plot([], [], ls="none", marker="x", color="k", label="reform blocked (most members)")
    ax1.set_xlabel("year the reforms start (reform.start_year)")
    ax1.set_ylabel("top-1 % share of net wealth at the end (%)")
    ax1.set_title(f"final top-1 % share ({summary.attrs.get('years', 30):g} years; median, 90 % band)")
    ax1.legend(title="automation over", fontsize=8)
    ax1.grid(alpha=0.3)
    lim = [min(x), max(x)]
    ax2.plot(lim, lim, color="k", lw=0.8, ls=":", label="lock-in = start year")
    ax2.set_xlabel("year the reforms start (reform.start_year)")
    ax2.set_ylabel(f"years until the top 1 % hold {thr:.0%}")
    ax2.set_title("lock-in year (median, 90 % band; missing: not within the run)")
    ax2.legend(title="automation over", fontsize=8)
    ax2.grid(alpha=0.3)
    fig.suptitle(f"{summary.attrs.get('preset', '?')}, lock-in rule {summary.attrs.get('rule', '?')!r}: "
                 f"{summary.attrs.get('members', '?')} members x {summary.attrs.get('households', '?')} households")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
