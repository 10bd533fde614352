"""Reports: PNG figures and a self-contained HTML page from ensemble stores (``spms-mc report``).

Figures (matplotlib, imported lazily - nothing of it in the simulation path):

* ``money_stock.png`` - the money stock of every member, per grid point or regime, with the
  closed form ``|eligible| x GI / d`` (SuMSy paper, conclusion 3) where one applies;
* ``fan_charts.png`` - Gini, top-1 % and bottom-50 % shares: median and 5-95 % / 25-75 % bands
  across members;
* ``lorenz.png`` - Lorenz curves at chosen ticks, median and 5-95 % band, with the equality line;
* ``regimes.png`` - regime comparison panels when the data has a ``regime`` dimension (one store
  with that dim, or several stores given together, one regime each);
* ``sweep.png`` - final values against the swept parameters (lines for one swept key, heat maps for
  two or more) when the store has swept dimensions.

``index.html`` embeds the figures, a summary table and the scenario that produced the data. A store
with unfinished members is reported on its finished members, and the page says how many are
missing; a store with none finished, or a path that is not a spms_mc store, is a clear error.
"""
from __future__ import annotations

import base64
import datetime
import html
import io
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


def label(point: dict) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in point.items()) or "all members"


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
        ax.set_title(label(point), fontsize=8)
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
            _band(ax, t, v, f"C{k}", label(point))
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
            _band(ax, t, _sel(ds[var], point).transpose("member", "time").values, f"C{k}", label(point))
        if var == "top1_share_wealth":
            ax.axhline(LOCK_IN, color="k", lw=0.8, ls="--", label="lock-in threshold")
        unit = ds[var].attrs.get("units", "")
        ax.set_title(f"{title}: median, 25-75 %, 5-95 %", fontsize=9)
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
            ax.plot(q, med, color=f"C{k}", lw=1.5, label=label(point))
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


def fig_sweep(ds, plt):
    dims = [d for d in lead_dims(ds) if d != "regime"]
    final = ds.isel(time=-1).mean("member")
    variables = [("gini", "final Gini (mean over members)"), ("top1_share", "final top-1 % share")]
    if "money_stock_closed_form" in ds:
        rel = (ds["money_stock"].isel(time=-1) / ds["money_stock_closed_form"]).mean("member")
        final = final.assign(money_ratio=rel)
        variables.append(("money_ratio", "final money stock / closed form"))
    fig, axes = plt.subplots(1, len(variables), figsize=(5.2 * len(variables), 4.2), squeeze=False,
                             layout="constrained")
    for ax, (var, title) in zip(axes.flat, variables):
        da = final[var]
        rest = {d: 0 for d in da.dims if d not in dims[:2]}
        da = da.isel(rest) if rest else da
        if len(dims) == 1:
            ax.plot(ds[dims[0]].values, da.values, marker="o")
            ax.set_xlabel(dims[0])
            ax.set_ylabel(title)
        else:
            img = ax.imshow(da.transpose(dims[0], dims[1]).values, origin="lower", aspect="auto", cmap="viridis")
            ax.set_yticks(range(ds.sizes[dims[0]]), [_fmt(v) for v in ds[dims[0]].values])
            ax.set_xticks(range(ds.sizes[dims[1]]), [_fmt(v) for v in ds[dims[1]].values])
            ax.set_ylabel(dims[0])
            ax.set_xlabel(dims[1])
            fig.colorbar(img, ax=ax, label=title)
        ax.set_title(title + (f" ({', '.join(f'{d} = first value' for d in dims[2:])})" if dims[2:] else ""),
                     fontsize=9)
    fig.suptitle("Sweep: final values at the last tick")
    return fig


# ------------------------------------------------------------------------------------------------
# tables and the page
# ------------------------------------------------------------------------------------------------
REPORT_FILES = ("money_stock.png", "fan_charts.png", "lorenz.png", "regime_variables.png", "regimes.png",
                "sweep.png", "index.html")


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
        row = {"point": label(point), "members": int(ds.sizes["member"])}
        for var in ("money_stock", "gini", "top1_share", "bottom50_share", "median_balance"):
            # the last sample of this point (stores of other lengths leave later samples empty)
            series = _sel(ds[var], point).transpose("member", "time").values.astype(float)
            sampled = np.flatnonzero(np.isfinite(series).any(axis=0))
            v = series[:, sampled[-1]] if sampled.size else series[:, -1]
            row[var] = f"{np.nanmean(v):.6g} ± {np.nanstd(v):.2g}" if np.isfinite(v).any() else "-"
        rows.append(row)
    return rows


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
    figures = [("money_stock.png", "Money stock per member", fig_money_stock(ds, plt))]
    if max(_households(t) for t in scenarios) > 1:  # a distribution of one account is no distribution
        figures += [("fan_charts.png", "Inequality across members", fig_fan_charts(ds, plt)),
                    ("lorenz.png", "Lorenz curves", fig_lorenz(ds, plt, lorenz_ticks))]
    regime_fig = fig_regime_variables(ds, plt)
    if regime_fig is not None:
        figures.append(("regime_variables.png", "Regime variables", regime_fig))
    if "regime" in ds.dims:
        figures.append(("regimes.png", "Regime comparison", fig_regimes(ds, plt, info["different"])))
    if [d for d in lead_dims(ds) if d != "regime"]:
        figures.append(("sweep.png", "Sweep", fig_sweep(ds, plt)))
    blocks = []
    for name, title, fig in figures:
        data = _png(fig)
        plt.close(fig)
        (out / name).write_bytes(data)
        blocks.append(f'<h2>{html.escape(title)}</h2>\n<img alt="{html.escape(title)}" '
                      f'src="data:image/png;base64,{base64.b64encode(data).decode()}">')
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
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
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
