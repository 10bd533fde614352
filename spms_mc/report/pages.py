"""Reports: PNG figures and a self-contained HTML page from ensemble stores (``spms-mc report``).

Figures (matplotlib, imported lazily - nothing of it in the simulation path):

* ``money_stock.png`` - the money stock of every member, per grid point or regime, with the
  closed form ``|eligible| x GI / d`` (SuMSy paper, conclusion 3) where one applies;
* ``fan_charts.png`` - Gini, top-1 % and bottom-50 % shares: median and 5-95 % / 25-75 % bands
  across members;
* ``lorenz.png`` - Lorenz curves at chosen ticks, median and 5-95 % band, with the equality line;
* ``regimes.png`` - regime comparison panels when the data has a ``regime`` dimension (one store
  with that dim, or several stores given together, one regime each);
* ``sweep.png`` - final values against the swept parameters when the store has swept dimensions:
  for one swept key the median across members with its 5-95 % band as error bars (series sharing an
  axis shifted sideways), for two or more heat maps of the median with each cell's band;
* ``law.png`` - the household balances of the last snapshot (``run.snapshot_ticks``), pooled over
  members, as a density histogram against the stationary law of the saving-propensity exchange
  (exponential at lambda = 0, gamma of shape 1 + 3 lambda / (1 - lambda) above), with the
  Kolmogorov-Smirnov distance, where that law applies (the exchange alone, no other mechanism).

``index.html`` embeds the figures, a summary table and the scenario that produced the data. A store
with unfinished members is reported on its finished members, and the page says how many are
missing; a store with none finished, or a path that is not a spms_mc store, is a clear error.
"""
from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from ..ensemble import store as zstore

CORE_DIMS = {"member", "time", "quantile", "flow", "tracked", "snapshot", "account"}
LOCK_IN = 0.40  # top-1 % share lock-in threshold (the predistribution essay, docs/sources.md)
MAX_PANELS = 12
MAX_LINES = 8
SHARES = (("gini", "Gini coefficient"), ("top1_share", "top-1 % share"),
          ("bottom50_share", "bottom-50 % share"))


class ReportError(RuntimeError):
    """The input cannot be reported (not a spms_mc store, nothing finished, ...)."""


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
def _expand(paths) -> list[Path]:
    """Store paths, a compare folder (``spms-mc compare``) replaced by its regimes' stores."""
    from ..ensemble.compare import is_compare_store, regime_stores

    out = []
    for p in ([paths] if isinstance(paths, (str, Path)) else paths):
        out += regime_stores(p) if is_compare_store(p) else [Path(p)]
    return out


def _run_facts(ds: xr.Dataset) -> dict:
    ticks = ds["tick"].values
    return {"root seed": str(ds.attrs.get("root_seed", "?")), "members": int(ds.sizes.get("member", 0)),
            "ticks": int(ticks[-1]) if ticks.size else 0}


def check_comparable(facts: list[tuple[str, dict]]) -> str:
    """'' when every store ran the same root seed, members and ticks (common random numbers), else a
    line naming what differs."""
    diffs = []
    for key in ("root seed", "members", "ticks"):
        values = [f[key] for _, f in facts]
        if len(set(values)) > 1:
            diffs.append(f"{key} " + " vs ".join(f"{v} ({Path(p).name})" for (p, _), v in zip(facts, values)))
    return "; ".join(diffs)


def load(paths, *, allow_different: bool = False) -> tuple[xr.Dataset, dict]:
    """Open one or more stores; several become a ``regime`` dimension (a compare folder is its
    regimes' stores). Stores that are not common-seed runs (root seed, members or ticks differ) are
    refused unless ``allow_different``. Returns (data, info); ``info["different"]`` says what
    differs ('' for common-seed runs)."""
    paths = _expand(paths)
    if not paths:
        raise ReportError("no store given; accepted: one or more stores written by `spms-mc run --out STORE.zarr`")
    seen = {}
    for p in paths:
        if p.resolve() in seen:
            twice = f"{p} is given twice" if str(p) == str(seen[p.resolve()]) else \
                f"{seen[p.resolve()]} and {p} are the same store"
            raise ReportError(f"{twice}; accepted: each store once (several stores are compared side by side, "
                              f"one regime each)")
        seen[p.resolve()] = p
    parts, info, facts = [], {"stores": [], "missing": 0, "total": 0, "different": ""}, []
    for p in paths:
        try:
            ds = zstore.open_store(p)
        except zstore.StoreError as exc:
            raise ReportError(f"{exc}; accepted: a store written by `spms-mc run --out STORE.zarr`") from None
        facts.append((str(p), _run_facts(ds)))
        done = ds["done"].values
        total, finished = done.size, int(done.sum())
        info["stores"].append({"path": str(p), "name": ds.attrs.get("scenario_name", p.stem),
                               "finished": finished, "total": total})
        info["missing"] += total - finished
        info["total"] += total
        if finished == 0:
            raise ReportError(f"{p}: no member is finished yet (0 of {total}); resume the run first")
        # members unfinished at any grid point are left out (their values are fill values)
        member_done = done.reshape(-1, ds.sizes["member"]).min(axis=0) == 1
        parts.append(ds.isel(member=np.flatnonzero(member_done)).load())
    if len(parts) == 1:
        return parts[0], info
    info["different"] = check_comparable(facts)
    if info["different"] and not allow_different:
        raise ReportError(f"the stores are not common-seed runs, so their differences mix the regimes with luck: "
                          f"{info['different']}; accepted: stores run with the same --seed, --members and "
                          f"run.ticks (`spms-mc compare` runs them so), or --allow-different to report them anyway")
    names = [s["name"] for s in info["stores"]]
    if len(set(names)) != len(names):
        names = [f"{n} ({Path(s['path']).stem})" for n, s in zip(names, info["stores"])]
    if len(set(names)) != len(names):  # same scenario name and same file name: the paths tell them apart
        names = [f"{n} ({s['path']})" for n, s in zip([s["name"] for s in info["stores"]], info["stores"])]
    # an empty flow list round-trips through zarr as float: give every part string flow names
    parts = [p.assign_coords(flow=np.array([str(f) for f in p["flow"].values], dtype=object))
             if "flow" in p.coords else p for p in parts]
    common = set.intersection(*(set(p.data_vars) for p in parts))
    parts = [p[sorted(common)].drop_vars("done", errors="ignore") for p in parts]
    members = min(p.sizes["member"] for p in parts)
    parts = [p.isel(member=slice(0, members)) for p in parts]
    try:
        ds = xr.concat(parts, dim=xr.DataArray(names, dims="regime", name="regime"), join="outer",
                       combine_attrs="drop_conflicts", coords="minimal", compat="override")
    except ValueError as exc:
        raise ReportError(f"the stores cannot be compared side by side: {exc}") from None
    return ds, info


def lead_dims(ds: xr.Dataset) -> list[str]:
    """Dimensions of grid points and regimes (everything outside the per-member core)."""
    return [d for d in ds["money_stock"].dims if d not in CORE_DIMS]


def grid_points(ds: xr.Dataset) -> list[dict]:
    dims = lead_dims(ds)
    if not dims:
        return [{}]
    idx = np.indices([ds.sizes[d] for d in dims]).reshape(len(dims), -1).T
    return [{d: ds[d].values[i] if d in ds.coords else i for d, i in zip(dims, row)} for row in idx]


def label(point: dict, ds: xr.Dataset | None = None) -> str:
    """A grid point in words; with ``ds``, each swept dimension named by its key (:func:`dim_label`)."""
    return ", ".join(f"{dim_label(ds, k) if ds is not None else k} = {_fmt(v)}" for k, v in point.items()) \
        or "all members"


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _sel(da: xr.DataArray, point: dict) -> xr.DataArray:
    return da.sel(point) if point else da


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------
def _plt():
    try:
        import matplotlib
    except ImportError:
        raise ReportError("reports need matplotlib: python -m pip install 'spms_mc[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ticks(ds) -> np.ndarray:
    return ds["tick"].values


def _panels(n: int):
    cols = min(n, 3)
    rows = -(-n // cols)
    return rows, cols


def fig_money_stock(ds, plt):
    points = grid_points(ds)[:MAX_PANELS]
    rows, cols = _panels(len(points))
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False, layout="constrained")
    t = _ticks(ds)
    for ax, point in zip(axes.flat, points):
        ms = _sel(ds["money_stock"], point).transpose("member", "time").values
        for k, row in enumerate(ms):
            ax.plot(t, row, color="C0", lw=0.8, alpha=0.5, label="members" if k == 0 else None)
        target = None
        if "money_stock_closed_form" in ds:
            target = float(_sel(ds["money_stock_closed_form"], point).values)
        elif "money_stock_closed_form" in ds.attrs:
            target = float(ds.attrs["money_stock_closed_form"])
        if target is not None and np.isfinite(target):
            ax.axhline(target, color="k", ls="--", lw=1, label="|eligible| x GI / d")
        ax.set_title(label(point, ds), fontsize=8)
        ax.set_xlabel("tick (days)")
        ax.set_ylabel("money stock (currency units)")
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(points):]:
        ax.set_visible(False)
    fig.suptitle(f"Money stock of {ds.sizes['member']} member(s)")
    return fig


def _band(ax, t, values, color, name):
    """Median line and 25-75 / 5-95 % bands of values (member, time)."""
    with warnings.catch_warnings():  # samples where every member is undefined (no money yet)
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    ax.fill_between(t, q[0], q[4], color=color, alpha=0.15, lw=0)
    ax.fill_between(t, q[1], q[3], color=color, alpha=0.3, lw=0)
    ax.plot(t, q[2], color=color, lw=1.5, label=name)


def fig_fan_charts(ds, plt):
    points = grid_points(ds)[:MAX_LINES]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2 + 0.2 * len(points)), squeeze=False, layout="constrained")
    t = _ticks(ds)
    for ax, (var, title) in zip(axes.flat, SHARES):
        for k, point in enumerate(points):
            v = _sel(ds[var], point).transpose("member", "time").values
            _band(ax, t, v, f"C{k}", label(point, ds))
        ax.set_title(f"{title}: median, 25-75 % and 5-95 % of members", fontsize=9)
        ax.set_xlabel("tick (days)")
        ax.set_ylabel(f"{title} (share, 0-1)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=8)
    fig.suptitle("Distribution of household money across members")
    return fig


# the regime's own variables, shown when a store has them (docs/model.md section 8)
REGIME_VARIABLES = (("labour_share", "labour share"), ("unemployment", "unemployment"),
                    ("price_level", "price level"), ("top1_share_wealth", "top-1 % share of net wealth"),
                    ("gini_wealth", "Gini of net wealth"), ("loans_outstanding", "loans outstanding"),
                    ("bank_capital", "bank capital"), ("debt_ratio", "debt / money"),
                    ("sumsy_money_stock", "money stock of the SuMSy run replayed"),
                    ("sumsy_gini", "Gini of the SuMSy run replayed"),
                    ("sumsy_top1_share", "top-1 % share in the SuMSy run replayed"))


GINIS = ("gini", "gini_wealth", "sumsy_gini")


def _max(da) -> float:
    v = np.asarray(da.values, float)
    return float(np.nanmax(v)) if np.isfinite(v).any() else np.nan


def gini_above_one_note(ds) -> str:
    """A page note for each Gini that exceeds 1 somewhere (net wealth can be negative), else ''."""
    above = [(v, _max(ds[v])) for v in GINIS if v in ds and _max(ds[v]) > 1]
    if not above:
        return ""
    which = ", ".join(f"{v} (up to {m:.3g})" for v, m in above)
    return (f"<p>A Gini above 1 ({html.escape(which)}) is no error: net wealth (money + equity - loans) can be "
            f"negative, and the Gini then compares the gaps with a mean pulled down by the debts, so it is no "
            f"longer bounded by 1. Read it beside the top shares.</p>")


def fig_regime_variables(ds, plt):
    """Fan charts of the regime variables the store holds (None if it holds none)."""
    present = [(v, t) for v, t in REGIME_VARIABLES if v in ds]
    if not present:
        return None
    points = grid_points(ds)[:MAX_LINES]
    rows = -(-len(present) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(15, 3.8 * rows + 0.2 * len(points)), squeeze=False,
                             layout="constrained")
    t = _ticks(ds)
    for ax, (var, title) in zip(axes.flat, present):
        for k, point in enumerate(points):
            _band(ax, t, _sel(ds[var], point).transpose("member", "time").values, f"C{k}", label(point, ds))
        if var == "top1_share_wealth":
            ax.axhline(LOCK_IN, color="k", lw=0.8, ls="--", label="lock-in threshold")
        above = var in GINIS and _max(ds[var]) > 1
        if above:
            ax.axhline(1.0, color="k", lw=0.8, ls=":", label="Gini = 1 (the bound while no one is in debt)")
        unit = ds[var].attrs.get("units", "")
        ax.set_title(f"{title}: median, 25-75 %, 5-95 %" + ("\nabove 1: net wealth can be negative" if above else ""),
                     fontsize=9)
        ax.set_xlabel("tick (days)")
        ax.set_ylabel(f"{title} ({unit})" if unit and unit != "1" else title)
    for ax in list(axes.flat)[len(present):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=8)
    fig.suptitle("Regime variables across members")
    return fig


def default_lorenz_ticks(ds) -> list[int]:
    t = _ticks(ds)
    usable = [int(x) for x in t if x > 0] or [int(t[-1])]
    picks = [usable[0], usable[len(usable) // 2], usable[-1]]
    return sorted(set(picks))


def _describe_ticks(ticks: list[int]) -> str:
    if len(ticks) <= 12:
        return ", ".join(map(str, ticks))
    steps = set(np.diff(ticks).tolist())
    if len(steps) == 1:
        return f"{ticks[0]}, {ticks[1]}, ..., {ticks[-1]} (every {steps.pop()} ticks)"
    return f"{', '.join(map(str, ticks[:4]))}, ..., {', '.join(map(str, ticks[-2:]))} ({len(ticks)} sampled ticks)"


def check_lorenz_ticks(ds, ticks) -> list[int] | None:
    """The Lorenz ticks asked for, each once, in order (None: the defaults); a tick that was not
    sampled is refused, naming the sampled ones."""
    if not ticks:
        return None
    sampled = [int(x) for x in _ticks(ds)]
    bad = [t for t in ticks if isinstance(t, bool) or not isinstance(t, (int, np.integer))]
    if bad:
        raise ReportError(f"Lorenz ticks must be integers, got {bad!r}; accepted: {_describe_ticks(sampled)}")
    asked = list(dict.fromkeys(int(t) for t in ticks))
    missing = [t for t in asked if t not in set(sampled)]
    if missing:
        raise ReportError(f"--lorenz-tick {', '.join(map(str, missing))}: not sampled in this store; accepted: "
                          f"the sampled ticks {_describe_ticks(sampled)}")
    if len(asked) > MAX_PANELS:
        raise ReportError(f"--lorenz-tick given {len(asked)} times; accepted: at most {MAX_PANELS} ticks "
                          f"(one panel each)")
    return asked


def check_out(out_dir, stores=()) -> Path:
    """The output folder, checked before any work: an existing folder or one that can be made, outside
    the stores reported; a file, or a path below a file, is refused."""
    out = Path(out_dir)
    accepted = "accepted: a folder (existing or new) for the PNGs and index.html"
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is a file, not a folder; {accepted}")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"--out {out}: {parent} is a file, so no folder can be made below it; {accepted}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"--out {out}: {parent} is not writable; {accepted} that you can write to")
    where = out.resolve()
    for st in stores:
        st = Path(st).resolve()
        if where == st or st in where.parents:
            raise ReportError(f"--out {out} is inside the store {st}; {accepted}, outside the stores")
    return out


def fig_lorenz(ds, plt, ticks=None):
    ticks = ticks or default_lorenz_ticks(ds)
    points = grid_points(ds)[:MAX_LINES]
    fig, axes = plt.subplots(1, len(ticks), figsize=(4.6 * len(ticks), 4.6 + 0.2 * len(points)), squeeze=False,
                             layout="constrained")
    q = ds["quantile"].values
    for ax, tk in zip(axes.flat, ticks):
        for k, point in enumerate(points):
            lz = _sel(ds["lorenz"], point).sel(tick=tk).transpose("member", "quantile").values
            with warnings.catch_warnings():  # a regime not sampled at this tick (stores of other lengths)
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, med, hi = np.nanquantile(lz, [0.05, 0.5, 0.95], axis=0)
            ax.fill_between(q, lo, hi, color=f"C{k}", alpha=0.25, lw=0)
            ax.plot(q, med, color=f"C{k}", lw=1.5, label=label(point, ds))
        ax.plot([0, 1], [0, 1], color="k", ls=":", lw=1, label="equality")
        ax.set_title(f"Lorenz curve at tick {tk} (median, 5-95 %)", fontsize=9)
        ax.set_xlabel("population share, poorest first")
        ax.set_ylabel("share of household money")
        ax.set_aspect("equal")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize=8)
    return fig


def fig_regimes(ds, plt, different: str = ""):
    regimes = list(ds["regime"].values)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), squeeze=False, layout="constrained")
    t = _ticks(ds)
    panels = [("money_stock", "money stock (currency units)")] + [(v, f"{n} (share, 0-1)") for v, n in SHARES]
    for ax, (var, ylab) in zip(axes.flat, panels):
        for k, r in enumerate(regimes):
            v = ds[var].sel(regime=r)
            extra = [d for d in lead_dims(ds) if d != "regime"]
            if extra:
                v = v.isel({d: 0 for d in extra})
            _band(ax, t, v.transpose("member", "time").values, f"C{k}", str(r))
        if var == "top1_share":
            ax.axhline(LOCK_IN, color="k", ls=":", lw=1, label=f"lock-in threshold {LOCK_IN:g}")
        ax.set_xlabel("tick (days)")
        ax.set_ylabel(ylab)
        ax.set_title(ylab.split(" (")[0] + " by regime", fontsize=9)
        ax.legend(fontsize=8)
    if different:
        fig.suptitle(f"Regime comparison, NOT common-seed runs ({different}); median and bands across members",
                     fontsize=9)
    else:
        fig.suptitle("Regime comparison on the same seeds (median and bands across members)")
    return fig


BAND = (0.05, 0.5, 0.95)  # the across-member band of the sweep figure: 5 %, median, 95 %
MARKERS = "osD^vPX*"


def dim_label(ds, dim: str) -> str:
    """The swept key a dimension stands for (its coordinate's ``key`` attribute, else its name)."""
    return str(ds[dim].attrs.get("key", dim)) if dim in ds.variables else dim


def final_values(da: xr.DataArray) -> xr.DataArray:
    """Each member's value at the last sample of its grid point that any member reached (stores of
    other lengths leave later samples empty): dims (lead dims..., member)."""
    lead = [d for d in da.dims if d not in ("member", "time")]
    v = da.transpose(*lead, "member", "time").values.astype(float)
    sampled = np.isfinite(v).any(axis=-2)
    last = v.shape[-1] - 1 - np.argmax(sampled[..., ::-1], axis=-1)
    out = np.take_along_axis(v, np.broadcast_to(last[..., None, None], v.shape[:-1] + (1,)), axis=-1)[..., 0]
    return xr.DataArray(out, dims=(*lead, "member"), coords={d: da[d] for d in lead if d in da.coords})


def member_band(values: np.ndarray) -> np.ndarray:
    """The 5 %, 50 % and 95 % quantiles across members (last axis) of ``values``: (3, ...)."""
    with warnings.catch_warnings():  # points where every member is undefined
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(values, BAND, axis=-1)


def sweep_panels(ds) -> list[tuple[str, str, list[tuple[str, xr.DataArray]]]]:
    """The sweep figure's panels: (title, y label, [(series name, final values (lead dims...,
    member))]). One store: the three shares share a panel (money stock / closed form its own);
    several regimes: one panel per statistic, one series per regime."""
    stats = [("gini", "Gini"), ("top1_share", "top-1 % share"), ("bottom50_share", "bottom-50 % share")]
    finals = {v: final_values(ds[v]) for v, _ in stats}
    if "money_stock_closed_form" in ds and np.isfinite(np.asarray(ds["money_stock_closed_form"].values, float)).any():
        finals["money_ratio"] = final_values(ds["money_stock"]) / ds["money_stock_closed_form"]
        stats.append(("money_ratio", "money stock / closed form"))
    if "regime" not in lead_dims(ds):
        panels = [("final inequality", "share (0-1)", [(name, finals[v]) for v, name in stats[:3]])]
        if "money_ratio" in finals:
            panels.append(("final money stock / |eligible| x GI / d", "ratio", [(stats[3][1], finals["money_ratio"])]))
        return panels
    regimes = list(ds["regime"].values)
    return [(f"final {name}", "ratio" if v == "money_ratio" else "share (0-1)",
             [(str(r), finals[v].sel(regime=r, drop=True)) for r in regimes[:MAX_LINES]])
            for v, name in stats[:2] + stats[3:]]


def _dodge(x: np.ndarray, n: int) -> np.ndarray:
    """x offsets of n series sharing an axis: spread over 15 % of the smallest gap between x values."""
    if n < 2:
        return np.zeros(max(n, 1))
    ux = np.unique(x[np.isfinite(x)])
    gap = float(np.min(np.diff(ux))) if ux.size > 1 else (abs(float(ux[0])) if ux.size and ux[0] else 1.0)
    return (np.arange(n) - (n - 1) / 2) * 0.15 * gap / (n - 1)


def fig_sweep(ds, plt):
    """Final values against the swept keys: for one swept key, the median across members with its
    5-95 % band as error bars, series sharing an axis dodged; for two or more, heat maps of the
    median with each cell's band written in it (or, for large grids, a second row of band widths)."""
    dims = [d for d in lead_dims(ds) if d != "regime"]
    members = int(ds.sizes["member"])
    no_band = members < 2
    what = "1 member: no band" if no_band else f"median of {members} members, 5-95 % band"
    fixed = {d: 0 for d in dims[2:]}
    fixed_note = f" ({', '.join(f'{dim_label(ds, d)} = {_fmt(ds[d].values[0])}' for d in dims[2:])})" if fixed else ""
    panels = sweep_panels(ds)
    if len(dims) == 1:
        dim = dims[0]
        raw = ds[dim].values
        numeric = np.issubdtype(raw.dtype, np.number) and not np.issubdtype(raw.dtype, np.bool_)
        x = raw.astype(float) if numeric else np.arange(raw.size, dtype=float)
        fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.4), squeeze=False, layout="constrained")
        for ax, (title, ylab, series) in zip(axes.flat, panels):
            offsets = _dodge(x, len(series))
            for k, ((name, da), off) in enumerate(zip(series, offsets)):
                lo, med, hi = member_band(da.transpose(dim, "member").values)
                style = {"color": f"C{k}", "marker": MARKERS[k % len(MARKERS)], "ls": "-", "lw": 1, "label": name}
                if no_band:
                    ax.plot(x + off, med, **style)
                else:
                    ax.errorbar(x + off, med, yerr=[med - lo, hi - med], capsize=3, **style)
            if not numeric:
                ax.set_xticks(x, [_fmt(v) for v in raw])
            ax.set_xlabel(dim_label(ds, dim))
            ax.set_ylabel(ylab)
            ax.set_title(f"{title} ({what})", fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("Sweep: final values at the last tick" + (
            "; series sharing an axis are shifted sideways so they do not overlap" if len(panels[0][2]) > 1 else ""))
        return fig
    regimes = "regime" in lead_dims(ds)
    cells = [(f"{name}: {title}" if regimes else f"final {name}" if len(series) > 1 else title, name, da)
             for title, _, series in panels for name, da in series][:MAX_PANELS]
    n0, n1 = ds.sizes[dims[0]], ds.sizes[dims[1]]
    annotate = n0 * n1 <= 36
    band_panel = not (annotate or no_band)  # a large grid: the band widths in a panel of their own
    shown = []
    for title, name, da in cells:
        da = da.isel(fixed) if fixed else da
        lo, med, hi = member_band(da.transpose(dims[0], dims[1], "member").values)
        cell = "; cells: median [5 %, 95 %]" if annotate and not no_band else ""
        shown.append((med, f"{title}\n{what}{cell}{fixed_note}", name, (lo, med, hi) if annotate else None))
        if band_panel:
            shown.append((hi - lo, f"{title}\nwidth of the 5-95 % band of {members} members{fixed_note}",
                          f"{name}: 95 % - 5 %", None))
    rows, cols = _panels(len(shown))
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.4 * rows), squeeze=False, layout="constrained")
    for ax, (values, head, bar, text) in zip(axes.flat, shown):
        img = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
        ax.set_yticks(range(n0), [_fmt(v) for v in ds[dims[0]].values])
        ax.set_xticks(range(n1), [_fmt(v) for v in ds[dims[1]].values])
        ax.set_ylabel(dim_label(ds, dims[0]))
        ax.set_xlabel(dim_label(ds, dims[1]))
        bar_ = fig.colorbar(img, ax=ax, label=bar)
        bar_.ax.ticklabel_format(useOffset=False)
        ax.set_title(head, fontsize=8)
        if text is None:
            continue
        lo, med, hi = text
        for a in range(n0):
            for b in range(n1):
                words = f"{med[a, b]:.3g}" if no_band else f"{med[a, b]:.3g}\n[{lo[a, b]:.3g}, {hi[a, b]:.3g}]"
                dark = np.isfinite(med[a, b]) and img.norm(med[a, b]) < 0.5
                ax.text(b, a, words, ha="center", va="center", fontsize=8, color="w" if dark else "k")
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.suptitle("Sweep: final values at the last tick")
    return fig


# ------------------------------------------------------------------------------------------------
# balances against the stationary law of kinetic exchange
# ------------------------------------------------------------------------------------------------
def law_shape(lam: float) -> float:
    """Shape n = 1 + 3 lambda / (1 - lambda) of the gamma law of the saving-propensity exchange
    (Patriarca, Chakraborti & Kaski 2004; n = 1 at lambda = 0: the exponential law)."""
    return 1.0 + 3.0 * lam / (1.0 - lam)


def law_density(x, mean: float, shape: float) -> np.ndarray:
    """Density of the stationary law: exponential exp(-x/m)/m for shape 1, else gamma of that
    shape and scale m / shape (mean m)."""
    x = np.asarray(x, float)
    if shape == 1.0:
        return np.exp(-x / mean) / mean
    scale = mean / shape
    with np.errstate(divide="ignore"):
        log = (shape - 1) * np.log(x) - x / scale - math.lgamma(shape) - shape * math.log(scale)
    return np.where(x > 0, np.exp(log), 0.0)


def law_cdf(x, mean: float, shape: float) -> np.ndarray:
    """Distribution function of :func:`law_density`: closed form for the exponential, the density
    integrated on a fine grid (trapezoids; error far below any sampling distance) for the gamma."""
    x = np.asarray(x, float)
    if shape == 1.0:
        return -np.expm1(-np.maximum(x, 0) / mean)
    grid = np.linspace(0.0, max(float(np.max(x, initial=0.0)), mean), 20_001)
    pdf = law_density(grid, mean, shape)
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(grid))])
    return np.interp(x, grid, np.minimum(cdf, 1.0))


def ks_distance(sample, cdf) -> float:
    """Kolmogorov-Smirnov statistic sup |F_n - F| of a sample against a distribution function."""
    x = np.sort(np.asarray(sample, float))
    f = cdf(x)
    n = x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def stationary_law(sc) -> tuple[str, float] | str:
    """(name, gamma shape) of the stationary law of the household balances, or why none applies.
    As in the distribution study (:func:`spms_mc.report.studies.distribution_study`): only the
    saving-propensity exchange has one (exponential at lambda = 0, gamma of shape
    1 + 3 lambda / (1 - lambda) above); the random-fraction rule has no closed form and the yard
    sale condenses. Any other mechanism (SuMSy's income and demurrage, events that inject money,
    the production economy, banks) changes the law."""
    from ..core import registry

    on = [m.name for m in registry.enabled(sc)]
    if on != ["exchange"]:
        others = [n for n in on if n != "exchange"]
        return (f"the exchange runs with {', '.join(others)}, which change the money stock or its flows"
                if others else "no exchange between households")
    x = sc.exchange
    if x.rule == "random_fraction":
        return "the random-fraction exchange has no closed-form stationary law"
    if x.rule == "yard_sale":
        return "the yard sale has no stationary law: money condenses"
    if sc.population.active_share < 1:
        return "only part of the households exchange (population.active_share < 1)"
    lam = float(x.saving_propensity)
    if lam == 0:
        return "exponential", 1.0
    return "gamma", law_shape(lam)


def _point_scenario(ds, point: dict, scenarios: list[str]):
    """The resolved scenario of one grid point: its regime's scenario with the point's swept values."""
    from ..core.config import scenario_from_dict

    text = scenarios[list(ds["regime"].values).index(point["regime"])] if "regime" in point else scenarios[0]
    data = tomllib.loads(text)
    swept = data.pop("sweep", {})
    over = {}
    for dim, v in point.items():
        if dim == "regime":
            continue
        key = dim_label(ds, dim)
        over[key] = next((w for w in swept.get(key, []) if w == v), v.item() if hasattr(v, "item") else v)
    sc = scenario_from_dict(data)
    return sc.with_overrides(over) if over else sc


def law_cases(ds, scenarios: list[str]) -> tuple[list[dict], list[str]]:
    """The grid points whose last snapshot of household balances has an analytic stationary law
    (pooled over members, with the law's mean m, shape and Kolmogorov-Smirnov distance), and a line
    for each point that has none. Empty when the store holds no balances."""
    from ..core.config import ScenarioError

    if "balances" not in ds:
        return [], []
    cases, skipped = [], []
    for point in grid_points(ds):
        where = label(point, ds)
        try:
            sc = _point_scenario(ds, point, scenarios)
        except (ScenarioError, tomllib.TOMLDecodeError, ValueError) as exc:
            skipped.append(f"{where}: its scenario cannot be read ({exc})")
            continue
        law = stationary_law(sc)
        if isinstance(law, str):
            skipped.append(f"{where}: {law}")
            continue
        bal = _sel(ds["balances"], point).transpose("member", "snapshot", "account").values.astype(float)
        bal = bal[:, :, : sc.population.households]
        filled = np.flatnonzero(np.isfinite(bal).any(axis=(0, 2)))
        if not filled.size:
            skipped.append(f"{where}: no balances stored")
            continue
        k = int(filled[-1])
        tick = int(ds["snapshot_tick"].values[k]) if "snapshot_tick" in ds.variables else None
        if tick == 0:
            skipped.append(f"{where}: the only snapshot is the initial state (tick 0); add a later tick to "
                           f"run.snapshot_ticks")
            continue
        x = bal[:, k, :].ravel()
        x = x[np.isfinite(x)]
        mean = float(x.mean())
        if not mean > 0:
            skipped.append(f"{where}: the mean balance is {mean:g}, so the law has no scale")
            continue
        name, shape = law
        cases.append({"point": point, "where": where, "law": name, "shape": shape, "mean": mean, "tick": tick,
                      "balances": x, "members": bal.shape[0],
                      "ks": ks_distance(x, lambda v, m=mean, n=shape: law_cdf(v, m, n)),
                      "saving_propensity": float(sc.exchange.saving_propensity)})
    return cases, skipped


def law_label(case: dict) -> str:
    if case["law"] == "exponential":
        return f"exponential exp(-x/m)/m, m = {case['mean']:.4g}"
    return f"gamma, shape n = {case['shape']:.4g}, scale m/n (m = {case['mean']:.4g})"


def fig_law(cases: list[dict], plt):
    """Density histograms of the pooled balances with the analytic density over them (log y)."""
    cases = cases[:MAX_PANELS]
    rows, cols = _panels(len(cases))
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.2 * rows), squeeze=False, layout="constrained")
    for ax, c in zip(axes.flat, cases):
        x = c["balances"]
        top = float(x.max()) if x.max() > 0 else c["mean"]
        dens, _, _ = ax.hist(x, bins=np.linspace(0, top, 51), density=True, color="C0", alpha=0.6,
                                 label=f"balances at tick {c['tick']} ({c['members']} members, N = {x.size})")
        grid = np.linspace(0, top, 400)
        ax.plot(grid, law_density(grid, c["mean"], c["shape"]), color="k", lw=1.5, label="analytic " + law_label(c))
        ax.set_yscale("log")
        positive = dens[dens > 0]
        if positive.size:
            ax.set_ylim(bottom=positive.min() / 3)
        ax.set_xlabel("household balance (currency units)")
        ax.set_ylabel("density (1 / currency unit)")
        lam = f"lambda = {c['saving_propensity']:g}"
        ax.set_title(f"{c['where']}: {lam}, {c['law']} law\nKolmogorov-Smirnov distance D = {c['ks']:.3g} "
                     f"(1.36/sqrt(N) = {1.36 / math.sqrt(x.size):.2g})", fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(cases):]:
        ax.set_visible(False)
    fig.suptitle("Household balances at the last snapshot against the stationary law of the exchange")
    return fig


# ------------------------------------------------------------------------------------------------
# tables and the page
# ------------------------------------------------------------------------------------------------
REPORT_FILES = ("money_stock.png", "fan_charts.png", "lorenz.png", "regime_variables.png", "regimes.png",
                "sweep.png", "law.png", "index.html")


def _households(scenario_toml: str) -> int:
    try:
        return int(tomllib.loads(scenario_toml).get("population", {}).get("households", 2))
    except tomllib.TOMLDecodeError:
        return 2


def _flat(table: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def scenario_differences(names: list[str], scenarios: list[str]) -> str:
    """An HTML table of the scenario keys whose values differ between the stores (the rest are
    the same in all)."""
    flat = [_flat(tomllib.loads(t)) if t else {} for t in scenarios]
    keys = sorted({k for f in flat for k in f} - {"description"})
    differ = [k for k in keys if len({repr(f.get(k)) for f in flat}) > 1]
    if not differ:
        return "<p>The stores ran the same scenario.</p>"
    head = "<tr><th>key</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    body = "".join("<tr><td>" + html.escape(k) + "</td>" + "".join(
        f"<td>{html.escape(repr(f.get(k, '-')))}</td>" for f in flat) + "</tr>" for k in differ)
    return f"<p>{len(differ)} of {len(keys)} keys differ; all others are equal.</p><table>{head}{body}</table>"


def summary_rows(ds) -> list[dict]:
    rows = []
    for point in grid_points(ds):
        row = {"point": label(point, ds), "members": int(ds.sizes["member"])}
        for var in ("money_stock", "gini", "top1_share", "bottom50_share", "median_balance"):
            # the last sample of this point (stores of other lengths leave later samples empty)
            series = _sel(ds[var], point).transpose("member", "time").values.astype(float)
            sampled = np.flatnonzero(np.isfinite(series).any(axis=0))
            v = series[:, sampled[-1]] if sampled.size else series[:, -1]
            row[var] = f"{np.nanmean(v):.6g} ± {np.nanstd(v):.2g}" if np.isfinite(v).any() else "-"
        rows.append(row)
    return rows


def law_table(cases: list[dict]) -> str:
    """An HTML table of the law figure's panels: law, its parameters and the KS distance."""
    head = ("<tr><th>point</th><th>law</th><th>lambda</th><th>shape n</th><th>mean m</th><th>snapshot tick</th>"
            "<th>balances N</th><th>KS distance D</th><th>1.36/sqrt(N)</th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(c['where'])}</td><td>{c['law']}</td><td>{c['saving_propensity']:g}</td>"
        f"<td>{c['shape']:.4g}</td><td>{c['mean']:.6g}</td><td>{c['tick']}</td><td>{c['balances'].size}</td>"
        f"<td>{c['ks']:.3g}</td><td>{1.36 / math.sqrt(c['balances'].size):.2g}</td></tr>" for c in cases)
    return (f"<p>Household balances at the last snapshot, pooled over members, against the stationary law of the "
            f"saving-propensity exchange: exponential at lambda = 0 (Dragulescu &amp; Yakovenko 2000), close to "
            f"a gamma law of shape n = 1 + 3 lambda / (1 - lambda) and scale m / n above (Patriarca, Chakraborti "
            f"&amp; Kaski 2004); m is the mean balance. D is the Kolmogorov-Smirnov distance from the law's "
            f"distribution function; 1.36/sqrt(N) is the 5 % critical value for N independent draws (the "
            f"balances of one member are not independent: they share one money stock).</p>"
            f"<table>{head}{body}</table>")


def _law_skipped(skipped: list[str]) -> str:
    if not skipped:
        return ""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in skipped[:MAX_PANELS])
    more = f"<li>... and {len(skipped) - MAX_PANELS} more</li>" if len(skipped) > MAX_PANELS else ""
    return f"<p>No analytic stationary law is drawn for:</p><ul>{items}{more}</ul>"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def report(paths, out_dir, *, lorenz_ticks=None, allow_different: bool = False) -> Path:
    """Write the figures and ``index.html`` for one store (or several, one regime each, or a compare
    folder); several stores must be common-seed runs unless ``allow_different``."""
    check_out(out_dir)
    plt = _plt()
    ds, info = load(paths, allow_different=allow_different)
    lorenz_ticks = check_lorenz_ticks(ds, lorenz_ticks)
    out = check_out(out_dir, [s["path"] for s in info["stores"]])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"--out {out}: the folder cannot be made ({exc.strerror or exc}); accepted: a folder "
                          f"(existing or new) for the PNGs and index.html") from None
    for name in REPORT_FILES:  # the report's own files from an earlier report into this folder
        (out / name).unlink(missing_ok=True)
    scenarios = [zstore.open_store(s["path"]).attrs.get("scenario", "") for s in info["stores"]]
    figures = [("money_stock.png", "Money stock per member", fig_money_stock(ds, plt), "")]
    if max(_households(t) for t in scenarios) > 1:  # a distribution of one account is no distribution
        figures += [("fan_charts.png", "Inequality across members", fig_fan_charts(ds, plt), ""),
                    ("lorenz.png", "Lorenz curves", fig_lorenz(ds, plt, lorenz_ticks), "")]
    regime_fig = fig_regime_variables(ds, plt)
    if regime_fig is not None:
        figures.append(("regime_variables.png", "Regime variables", regime_fig, ""))
    if "regime" in ds.dims:
        figures.append(("regimes.png", "Regime comparison", fig_regimes(ds, plt, info["different"]), ""))
    if [d for d in lead_dims(ds) if d != "regime"]:
        figures.append(("sweep.png", "Sweep", fig_sweep(ds, plt), ""))
    cases, skipped = law_cases(ds, scenarios)
    if cases:
        figures.append(("law.png", "Balances against the stationary law", fig_law(cases, plt),
                        law_table(cases) + _law_skipped(skipped)))
    gini_note = gini_above_one_note(ds)  # under the panel that shows it (else under the first figure)
    at = next((k for k, f in enumerate(figures) if f[0] == "regime_variables.png"),
              next((k for k, f in enumerate(figures) if f[0] == "fan_charts.png"), 0))
    figures[at] = figures[at][:3] + (figures[at][3] + gini_note,)
    blocks = []
    for name, title, fig, note in figures:
        data = _png(fig)
        plt.close(fig)
        (out / name).write_bytes(data)
        blocks.append(f'<h2>{html.escape(title)}</h2>\n<img alt="{html.escape(title)}" '
                      f'src="data:image/png;base64,{base64.b64encode(data).decode()}">{note}')
    if skipped and not cases:
        blocks.append("<h2>Balances against the stationary law</h2>\n" + _law_skipped(skipped))
    rows = summary_rows(ds)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    missing = (f'<p class="warn">{info["missing"]} of {info["total"]} member runs are not finished; '
               f"this report shows the finished ones.</p>" if info["missing"] else "")
    if info["different"]:
        missing += (f'<p class="warn">These stores are not common-seed runs ({html.escape(info["different"])}): '
                    f"their differences mix the regimes with sampling noise.</p>")
    stores = "".join(f"<li>{html.escape(s['path'])}: {html.escape(s['name'])}, {s['finished']}/{s['total']} "
                     f"finished</li>" for s in info["stores"])
    if len(info["stores"]) > 1:
        scenario_html = "<h2>How the scenarios differ</h2>\n" + scenario_differences(
            [s["name"] for s in info["stores"]], scenarios)
    else:
        scenario_html = f"<h2>Scenario</h2><pre>{html.escape(scenarios[0])}</pre>"
    from ..core.version import VERSION

    command = " ".join(["spms-mc", *sys.argv[1:]]) if Path(sys.argv[0]).name in ("spms-mc", "__main__.py") \
        else f"spms_mc.report.pages.report({[str(s['path']) for s in info['stores']]!r}, {str(out_dir)!r})"
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = sorted({str(zstore.open_store(s["path"]).attrs.get("version_spms_mc", "?")) for s in info["stores"]})
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>spms_mc report</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
img{{max-width:100%}} table{{border-collapse:collapse}} td,th{{border:1px solid #bbb;padding:3px 8px;font-size:90%}}
pre{{background:#f4f4f4;padding:1em;overflow:auto}} .warn{{color:#a40;font-weight:bold}}</style></head>
<body><h1>spms_mc report</h1>
<ul>{stores}</ul>
<p>root seed {html.escape(str(ds.attrs.get("root_seed", "?")))}; runs made with spms_mc {html.escape(", ".join(versions))}; this report by spms_mc {html.escape(VERSION)} on {made}</p>
<p>command: <code>{html.escape(command)}</code></p>
{missing}
<h2>Summary at the last tick (mean ± std across members)</h2>
<table><tr>{head}</tr>{body}</table>
{chr(10).join(blocks)}
{scenario_html}
</body></html>
"""
    (out / "index.html").write_text(page)
    return out / "index.html"
