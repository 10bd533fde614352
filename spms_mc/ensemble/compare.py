"""Regimes side by side on common random numbers (``spms-mc compare``, :func:`compare`).

Every regime runs the same members: member i of every regime is ``simulate(sc_regime, seed,
member=i)``. Its draws come from counter-based streams keyed by (root seed, member, stream, tick,
account) (docs/design.md, "Randomness"), and each mechanism draws on its own fixed stream numbers
(``spms_mc_kernels.rng.STREAM_*``), never on a position in a shared sequence. So a mechanism that
two regimes share draws exactly the same numbers in both, whatever else either regime runs: the
household types, employers, AI intensities, displacement thresholds, firm draws and equity ranks of
the production economy are the same in ``ai_bau``, ``spms``, ``predistribution`` and ``cete``, and
their differences in outcome come from the regimes, not from luck.

A compare store is one zarr v3 hierarchy: a root group whose attributes hold the comparison (the
regimes, members, seed and overrides) and one child group per regime, each an ensemble store of its
own (resumable as any ensemble): ``xr.open_zarr(STORE, group="cete")`` opens one regime,
``xr.open_datatree(STORE, engine="zarr")`` the tree. Regimes are groups, not slices of one array
per variable, because they report different variables (a fund, bonds, tokens).
:func:`open_compare` (and :func:`spms_mc.open_ensemble`, ``spms-mc report``) opens it as one
Dataset with a ``regime`` dimension; a variable that a regime does not have is NaN there.

:func:`compare_summary` gives, per regime, the final Gini of money and of net wealth, the four
wealth-group shares, the money stock, the lock-in year and the yearly dividend per capita where
present, each as the median and 90 % band across members; the paired differences against the first
regime with their band; and the variance reduction the common random numbers buy: the variance of
the difference of two independent draws, ``var(A) + var(B)``, over the variance of the paired
difference ``var(B - A)``.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.config import ScenarioError, load_scenario
from . import store as zstore

ROOT_META = "zarr.json"
COMPARE_ATTR = "spms_mc_compare"  # the root group's attribute holding the comparison
LEVELS = (0.05, 0.5, 0.95)
METRICS = (  # (name, variable at the last sample, what)
    ("gini_money", "gini", "Gini of household money"),
    ("gini_wealth", "gini_wealth", "Gini of household net wealth"),
    ("top1_share", "top1_share_wealth", "top-1 % share of net wealth"),
    ("next9_share", "next9_share_wealth", "next-9 % share of net wealth"),
    ("next40_share", "next40_share_wealth", "next-40 % share of net wealth"),
    ("bottom50_share", "bottom50_share_wealth", "bottom-50 % share of net wealth"),
    ("money_stock", "money_stock", "money stock (currency units)"),
    ("lock_in_year", None, "years until the top-1 % share reaches run.lock_in_threshold (NaN: never)"),
    ("dividend_per_capita", None, "fund dividend per capita a year, over the run (currency units)"),
)


SHARES = ("top1_share", "next9_share", "next40_share", "bottom50_share")


class CompareError(ValueError):
    """A comparison that cannot be made as asked (the message names what and what is accepted)."""


def _regime_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return safe or "regime"


def compare(regimes, *, members: int = 8, seed: int = 0, store="compare", overrides: dict | None = None,
            scheduler: str = "local", workers: int | None = None, resume: bool = False, overwrite: bool = False,
            progress=None) -> xr.Dataset:
    """Run each regime (preset name or TOML path) on the same ``members`` and ``seed`` into the
    compare folder ``store``; ``overrides`` apply to every regime. Returns :func:`open_compare`."""
    from .fanout import run_ensemble

    regimes = list(regimes)
    if len(regimes) < 2:
        raise CompareError(f"compare needs at least two regimes, got {regimes}; accepted: preset names or TOML files")
    scenarios = []
    for r in regimes:  # every scenario checked before any work starts
        try:
            scenarios.append(load_scenario(r, overrides or {}))
        except ScenarioError as exc:
            raise ScenarioError(f"regime {r!r}: {exc}") from None
    names = [_regime_name(sc.name) for sc in scenarios]
    if len(set(names)) != len(names):
        raise CompareError(f"the regimes' names repeat ({names}); accepted: regimes with different names (set "
                           f"`name` in a TOML file to tell two versions of a preset apart)")
    if any(sc.sweep for sc in scenarios):
        raise CompareError("compare runs regimes without sweeps; accepted: scenarios without a [sweep] table (run a "
                           "sweep with `spms-mc run --sweep`)")
    folder = Path(store)
    manifest = {"regimes": names, "members": int(members), "seed": int(seed), "overrides": overrides or {}}
    if folder.exists() and any(folder.iterdir()):
        before = _manifest(folder)
        if before is None:
            raise CompareError(f"{folder} exists and is not a compare store; accepted: a new or empty folder, or a "
                               f"compare store with --resume or --overwrite")
        if not (resume or overwrite):
            raise CompareError(f"{folder} already holds a comparison; pass --resume to complete it or --overwrite "
                               f"to replace it")
        same = {k: v for k, v in before.items() if k != "members"} == {k: v for k, v in manifest.items()
                                                                        if k != "members"}
        if resume and not (same and manifest["members"] >= before["members"]):
            raise CompareError(f"{folder} holds a different comparison ({json.dumps(before, sort_keys=True)}); "
                               f"accepted: the same regimes, seed and overrides with --resume (as many members or "
                               f"more: more grow every regime), or --overwrite")
        if overwrite:
            for child in [folder / n for n in before["regimes"]] + [folder / ROOT_META]:
                zstore.remove(child)
    folder.mkdir(parents=True, exist_ok=True)
    _write_root(folder, manifest)
    total = members * len(names)
    for k, (name, sc) in enumerate(zip(names, scenarios)):
        step = None if progress is None else (lambda done, _, base=k * members: progress(base + done, total))
        run_ensemble(sc, members, seed, folder / name, scheduler=scheduler, workers=workers,
                     resume=resume and (folder / name).exists(), overwrite=overwrite or not resume,
                     progress=step)
    zstore.consolidate(folder)  # the whole hierarchy: plain xr.open_zarr(group=...) and open_datatree read it in one go
    return open_compare(folder)


def _write_root(folder: Path, manifest: dict) -> None:
    """The root group's metadata (zarr v3 ``zarr.json``), written atomically: the comparison in its
    attributes; the regimes' stores are its child groups."""
    import os

    meta = {"zarr_format": 3, "node_type": "group",
            "attributes": {COMPARE_ATTR: manifest, "description": "spms_mc regime comparison on common random "
                                                                  "numbers: one child group per regime"}}
    tmp = folder / f".{ROOT_META}.{os.getpid()}"
    tmp.write_text(json.dumps(meta, sort_keys=True, indent=2))
    os.replace(tmp, folder / ROOT_META)


def _manifest(folder) -> dict | None:
    try:
        meta = json.loads((Path(folder) / ROOT_META).read_text())
    except (OSError, ValueError):
        return None
    found = (meta.get("attributes") or {}).get(COMPARE_ATTR) if isinstance(meta, dict) else None
    return found if isinstance(found, dict) and "regimes" in found else None


def is_compare_store(path) -> bool:
    return _manifest(path) is not None


def regime_stores(path) -> list[Path]:
    """The regimes' ensemble stores (child groups) of a compare store, in the regimes' order."""
    folder = Path(path)
    return [folder / name for name in _manifest(folder)["regimes"]]


def open_compare(path, *, only_done: bool = False) -> xr.Dataset:
    """A compare folder as one Dataset with a ``regime`` dimension (a variable a regime lacks is NaN
    there; flows a regime does not book are 0)."""
    folder = Path(path)
    if not is_compare_store(folder):
        raise CompareError(f"{folder} is not a compare store (no root group with {COMPARE_ATTR!r}); accepted: a "
                           f"store written by `spms-mc compare`")
    names = _manifest(folder)["regimes"]
    parts = [zstore.open_store(p, only_done=only_done).load() for p in regime_stores(folder)]
    variables = sorted(set().union(*(p.data_vars for p in parts)))
    filled = []
    for p in parts:
        p = p.assign_coords(flow=np.array([str(f) for f in p["flow"].values], dtype=object))
        for v in variables:
            if v not in p:
                template = next(q[v] for q in parts if v in q)
                dims = [d for d in template.dims if d in p.dims]
                shape = [p.sizes[d] for d in dims]
                p[v] = (dims, np.full(shape, np.nan))
                p[v].attrs.update(template.attrs)
        filled.append(p)
    flows = sorted(set().union(*(set(p["flow"].values) for p in filled)))
    filled = [p.reindex(flow=np.array(flows, dtype=object), fill_value=0) for p in filled]
    ds = xr.concat(filled, dim=xr.DataArray(names, dims="regime", name="regime"), join="outer",
                   combine_attrs="drop_conflicts", coords="minimal", compat="override")
    ds.attrs["scenarios"] = json.dumps({n: p.attrs.get("scenario", "") for n, p in zip(names, parts)})
    return ds


def last_sample(ds: xr.Dataset) -> int:
    """The index of one regime's last sample: regimes may run different lengths, and the comparison's
    time axis is the union of their ticks (a shorter regime is NaN after its end)."""
    sampled = np.isfinite(np.asarray(ds["money_stock"].values, float))
    sampled = sampled.reshape(-1, sampled.shape[-1]).any(axis=0)
    return int(np.flatnonzero(sampled)[-1]) if sampled.any() else sampled.size - 1


def _per_member(ds: xr.Dataset, metric: str, var: str | None, scenario: dict) -> xr.DataArray | None:
    tpy = scenario.get("economy", {}).get("ticks_per_year", 360)
    end = last_sample(ds)
    if metric == "lock_in_year":
        return ds["top1_cross_tick"] / tpy if "top1_cross_tick" in ds else None
    if metric == "dividend_per_capita":
        if "dividend_per_capita" not in ds:
            return None
        ticks = ds["tick"].values
        years = (ticks[end] - ticks[0]) / tpy
        run = ds["dividend_per_capita"].isel(time=slice(0, end + 1))
        return run.sum("time", skipna=False) / years if years > 0 else None
    if var not in ds:
        return None
    return ds[var].isel(time=end).drop_vars("tick", errors="ignore")


def compare_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per regime and metric: ``value`` (median, 5 %, 95 % across members), ``difference`` (the
    paired difference against the first regime, same quantiles) and ``variance_reduction``
    (``(var(A) + var(B)) / var(B - A)``; NaN where undefined, inf where the paired difference does
    not vary)."""
    regimes = list(ds["regime"].values)
    scenarios = json.loads(ds.attrs.get("scenarios", "{}"))
    value = np.full((len(regimes), len(METRICS), len(LEVELS)), np.nan)
    diff = np.full_like(value, np.nan)
    reduction = np.full((len(regimes), len(METRICS)), np.nan)
    for m, (metric, var, _) in enumerate(METRICS):
        per = []
        for r in regimes:
            sc = tomllib.loads(scenarios.get(r, "")) if scenarios.get(r) else {}
            x = _per_member(ds.sel(regime=r), metric, var, sc)
            x = None if x is None else np.asarray(x.values, float).ravel()
            if metric in SHARES and x is not None and ((x < 0) | (x > 1)).any():
                x = None  # net wealth is no base for shares (it sums to about 0: money created as loans)
            per.append(x)
        base = per[0]
        for k, x in enumerate(per):
            if x is None or np.all(np.isnan(x)):
                continue
            value[k, m] = np.nanquantile(x, LEVELS)
            if base is None or k == 0:
                continue
            d = x - base
            if np.all(np.isnan(d)):
                continue
            diff[k, m] = np.nanquantile(d, LEVELS)
            ok = ~np.isnan(d)
            if ok.sum() >= 2:
                paired = float(np.var(d[ok], ddof=1))
                unpaired = float(np.var(x[ok], ddof=1) + np.var(base[ok], ddof=1))
                reduction[k, m] = unpaired / paired if paired > 0 else (math.inf if unpaired > 0 else math.nan)
    coords = {"regime": regimes, "metric": [m[0] for m in METRICS], "quantile": list(LEVELS)}
    out = xr.Dataset({"value": (("regime", "metric", "quantile"), value),
                      "difference": (("regime", "metric", "quantile"), diff),
                      "variance_reduction": (("regime", "metric"), reduction)}, coords=coords)
    out["value"].attrs.update(description="quantiles across members of each metric at the end of the run")
    out["difference"].attrs.update(description=f"quantiles across members of the paired difference against "
                                               f"{regimes[0]!r} (member by member, the same seeds)")
    out["variance_reduction"].attrs.update(description="(var(A) + var(B)) / var(B - A): how much less the paired "
                                                       "difference varies than that of independent runs")
    out["metric"].attrs.update(description="; ".join(f"{n}: {w}" for n, _, w in METRICS))
    ticks = ds["tick"].values
    out["end_tick"] = ("regime", np.array([int(ticks[last_sample(ds.sel(regime=r))]) for r in regimes]),
                       {"units": "ticks", "description": "the tick of each regime's last sample (its final values)"})
    return out


def format_summary(summary: xr.Dataset) -> str:
    """The summary as a Markdown table: median [5 %, 95 %] per regime, then the paired difference
    against the first regime and the variance reduction."""
    regimes = list(summary["regime"].values)
    metrics = [m for m in summary["metric"].values if np.isfinite(summary["value"].sel(metric=m)).any()]

    def cell(q) -> str:
        q = np.asarray(q, float)
        if np.all(np.isnan(q)):
            return "-"
        size = np.nanmax(np.abs(q))
        digits = 4 if size < 1 else (2 if size < 100 else 1)
        return f"{q[1]:.{digits}f} [{q[0]:.{digits}f}, {q[2]:.{digits}f}]"

    lines = ["| metric | " + " | ".join(regimes) + " |", "|---" * (len(regimes) + 1) + "|"]
    for m in metrics:
        lines.append(f"| {m} | " + " | ".join(cell(summary['value'].sel(regime=r, metric=m).values)
                                                for r in regimes) + " |")
    shareless = [r for r in regimes if "gini_wealth" in metrics
                 and np.isfinite(summary["value"].sel(regime=r, metric="gini_wealth")).any()
                 and not np.isfinite(summary["value"].sel(regime=r, metric="top1_share")).any()]
    if shareless:
        lines += ["", f"no wealth-group shares for {', '.join(shareless)}: household net wealth is no base for "
                      f"shares there (it sums to about 0 where money is created as loans; shares fall outside "
                      f"[0, 1])"]
    if "end_tick" in summary and len(set(summary["end_tick"].values.tolist())) > 1:
        ends = ", ".join(f"{r} {int(t)}" for r, t in zip(regimes, summary["end_tick"].values))
        lines += ["", f"the regimes run different lengths (last tick: {ends}): final values are each regime's own "
                      f"last sample"]
    lines += ["", f"paired difference against {regimes[0]} (median [5 %, 95 %]) and variance reduction from "
                  f"common random numbers:", "",
              "| metric | " + " | ".join(regimes[1:]) + " |", "|---" * len(regimes) + "|"]
    for m in metrics:
        cells = []
        for r in regimes[1:]:
            red = float(summary["variance_reduction"].sel(regime=r, metric=m))
            red_s = "-" if math.isnan(red) else ("inf" if math.isinf(red) else f"{red:.3g}x")
            cells.append(f"{cell(summary['difference'].sel(regime=r, metric=m).values)}, {red_s}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
