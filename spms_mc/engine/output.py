"""The output schema: raw member results into the xarray Dataset of docs/design.md, "Output dataset".

The engine's own variables are described here (:data:`DESCRIPTIONS`); each mechanism describes its
outputs (:attr:`~spms_mc.core.registry.Mechanism.outputs`), and :func:`descriptions` joins them.

Money variables are float64 in currency units; the exact ledger (``flows_created``,
``flows_destroyed``) is int64 in minor units, and the same flows in currency units are
``money_created``, ``money_destroyed``. Every variable carries ``units`` and ``description``
attributes; the dataset attributes hold the resolved scenario TOML, the root seed and package
versions.
"""
from __future__ import annotations

import platform

import numpy as np
import xarray as xr

from ..core import registry
from ..core.version import VERSION
from .member import STAT_NAMES, RunResult, quantile_grid

DESCRIPTIONS = {
    "money_stock": ("currency units", "money stock: all accounts, institutional accounts included"),
    "flows_created": ("minor units", "money created per ledger flow during the interval ending at the sample"),
    "flows_destroyed": ("minor units", "money destroyed per ledger flow during the interval ending at the sample"),
    "money_created": ("currency units", "money created per ledger flow during the interval ending at the sample "
                                        "(flows_created in currency units)"),
    "money_destroyed": ("currency units", "money destroyed per ledger flow during the interval ending at the sample "
                                          "(flows_destroyed in currency units)"),
    "gini": ("1", "Gini coefficient of household balances"),
    "top1_share": ("1", "share of household money held by the richest 1 %"),
    "top10_share": ("1", "share of household money held by the richest 10 %"),
    "bottom50_share": ("1", "share of household money held by the poorest 50 %"),
    "mean_balance": ("currency units", "mean household balance"),
    "median_balance": ("currency units", "median household balance"),
    "lorenz": ("1", "Lorenz curve of household balances on the population-share grid"),
    "tracked_balance": ("currency units", "balance of each tracked account"),
    "balances": ("currency units", "every account's balance at the snapshot ticks (households, then firms)"),
    "top1_cross_tick": ("ticks", "first sampled tick at which the top-1 % share of household net wealth (of "
                                 "money where the regime has no other holdings, or where net wealth is no base for "
                                 "shares: its total not positive or a share outside [0, 1]; attribute `base`) "
                                 "reaches run.lock_in_threshold (NaN: never) - the lock-in monitor of the "
                                 "predistribution essay, docs/sources.md"),
    "gini_wealth": ("1", "Gini coefficient of household net wealth (money + equity at capitalised dividends - loans). "
                         "Net wealth can be negative: the Gini then compares gaps with a mean pulled down by the "
                         "debts and can exceed 1, so read it beside the top shares (top1_share_wealth, "
                         "top10_share_wealth), which stay meaningful"),
    "next9_share_wealth": ("1", "share of household net wealth held by the next 9 % (90th to 99th percentile; the "
                                "Fed's Distributional Financial Accounts group)"),
    "next40_share_wealth": ("1", "share of household net wealth held by the next 40 % (50th to 90th percentile)"),
    "top1_share_wealth": ("1", "share of household net wealth held by the richest 1 %"),
    "top10_share_wealth": ("1", "share of household net wealth held by the richest 10 %"),
    "bottom50_share_wealth": ("1", "share of household net wealth held by the poorest 50 %"),
    "mean_balance_wealth": ("currency units", "mean household net wealth"),
    "median_balance_wealth": ("currency units", "median household net wealth"),
    "lorenz_wealth": ("1", "Lorenz curve of household net wealth on the population-share grid"),
    "sink_balance": ("currency units", "balance of the rounding sink (remainders of equal splits)"),
}


def descriptions() -> dict[str, tuple[str, str]]:
    """(units, description) of every variable: the engine's and every registered mechanism's."""
    return {**DESCRIPTIONS, **{k: (v.units, v.description) for k, v in registry.output_docs().items()}}


def versions() -> dict[str, str]:
    import numba
    import zarr

    return {"spms_mc": VERSION, "numpy": np.__version__, "numba": numba.__version__,
            "xarray": xr.__version__, "zarr": zarr.__version__, "python": platform.python_version()}


def long_name(description: str) -> str:
    """A short label for plots (CF's ``long_name``): the description's first clause."""
    cut = len(description)
    for sep in (": ", " (", "; ", ", ", " - "):
        k = description.find(sep)
        if 0 < k < cut:
            cut = k
    return description[:cut]


def shares_are_meaningful(stats: dict[str, np.ndarray]) -> bool:
    """Whether shares of this distribution mean what they say: its total is positive and every
    sampled top-1 % share lies in [0, 1] (not so where debts outweigh the assets, as with money
    created only as loans)."""
    top1, mean = np.asarray(stats["top1_share"]), np.asarray(stats["mean_balance"])
    sampled = np.isfinite(top1)
    return bool(sampled.any() and np.all((top1[sampled] >= 0) & (top1[sampled] <= 1))
                and np.all(mean[np.isfinite(mean)] > 0))


def first_crossing(values: np.ndarray, ticks: np.ndarray, threshold: float) -> np.ndarray:
    """First tick at which ``values[..., time]`` reaches ``threshold``; NaN where it never does."""
    above = np.asarray(values) >= threshold
    return np.where(above.any(-1), ticks[np.argmax(above, axis=-1)], np.nan).astype(float)


def closed_form_money_stock(sc) -> float | None:
    """|eligible| x GI / d (paper conclusion 3), when the scenario is one where it holds: SuMSy with
    flat demurrage, no buffer, no governance, no firms, and no enabled mechanism that prevents it
    (recurring events, the economy, bank credit: :meth:`Mechanism.closed_form_blockers`)."""
    on = registry.enabled(sc)
    if "sumsy" not in {m.name for m in on} or sc.population.firms > 0:
        return None
    if any(m.closed_form_blockers(sc) for m in on):
        return None
    s = sc.sumsy
    return sc.n_eligible * s.guaranteed_income / s.demurrage


def to_dataset(res: RunResult) -> xr.Dataset:
    sc = res.scenario
    scale = 1.0 / sc.run.minor_units
    dims_t = ("member", "time")
    data = {
        "money_stock": (dims_t, res.money_stock[None] * scale),
        "flows_created": (dims_t + ("flow",), res.flows_created[None]),
        "flows_destroyed": (dims_t + ("flow",), res.flows_destroyed[None]),
        "money_created": (dims_t + ("flow",), res.flows_created[None] * scale),
        "money_destroyed": (dims_t + ("flow",), res.flows_destroyed[None] * scale),
        "lorenz": (dims_t + ("quantile",), res.lorenz[None]),
    }
    for name in STAT_NAMES:
        v = res.stats[name]
        data[name] = (dims_t, (v * scale if name.endswith("balance") else v)[None])
    for name, v in res.stats_wealth.items():
        data[f"{name}_wealth"] = (dims_t, (v * scale if name.endswith("balance") else v)[None])
    if res.stats_wealth:  # the DFA groups: top 1 %, next 9 %, next 40 %, bottom 50 %
        w = res.stats_wealth
        data["next9_share_wealth"] = (dims_t, (w["top10_share"] - w["top1_share"])[None])
        data["next40_share_wealth"] = (dims_t, (1.0 - w["top10_share"] - w["bottom50_share"])[None])
    if res.lorenz_wealth is not None:
        data["lorenz_wealth"] = (dims_t + ("quantile",), res.lorenz_wealth[None])
    if res.tracked.shape[1]:
        data["tracked_balance"] = (dims_t + ("tracked",), res.tracked[None] * scale)
    for name, v in res.extra.items():
        unit = res.extra_units.get(name, "currency units")
        data[name] = (dims_t, (v * scale if unit == "currency units" else v.astype(float))[None])
    if res.snapshots is not None:
        data["balances"] = (("member", "snapshot", "account"), res.snapshots[None] * scale)
    top1 = res.stats["top1_share"]
    base = "money"
    if res.stats_wealth and shares_are_meaningful(res.stats_wealth):  # of net wealth where it is a base for shares
        top1, base = res.stats_wealth["top1_share"], "net wealth"
    data["top1_cross_tick"] = (("member",), first_crossing(top1[None], res.ticks, sc.run.lock_in_threshold))
    for m in registry.enabled(sc):
        for name, (series, threshold) in m.crossings.items():
            if series in res.extra:
                section, k = threshold.split(".")
                data[name] = (("member",), first_crossing(res.extra[series][None].astype(float), res.ticks,
                                                          getattr(getattr(sc, section), k)))
    coords = {
        "member": [res.member],
        "tick": ("time", res.ticks),
        "quantile": quantile_grid(sc),
        "flow": np.array(res.flows, dtype=object),  # variable-length strings: in the zarr v3 spec
    }
    if res.tracked.shape[1]:
        coords["tracked"] = np.array(sc.run.track, np.int64)
    if res.snapshots is not None:
        coords["snapshot_tick"] = ("snapshot", np.array(sc.run.snapshot_ticks, np.int64))
    if res.stop_reason:  # a run that stopped early: the samples it never reached are missing
        for name, (dims, values) in list(data.items()):
            if "time" in dims and np.issubdtype(values.dtype, np.floating):
                values = values.copy()
                values[:, res.samples_taken:] = np.nan
                data[name] = (dims, values)
    ds = xr.Dataset(data, coords=coords)
    for name, (units, desc) in descriptions().items():
        if name in ds:
            ds[name].attrs.update(long_name=long_name(desc), units=units, description=desc)
    ds["top1_cross_tick"].attrs["base"] = base
    ds["tick"].attrs.update(long_name="tick", units="ticks", description="ticks completed when the sample was taken")
    ds["quantile"].attrs.update(long_name="population share", units="1",
                                description="population share (poorest first)")
    ds["member"].attrs.update(long_name="ensemble member", units="1",
                              description="member index: its random draws depend on (root seed, member) only")
    ds["flow"].attrs.update(long_name="ledger flow", units="1", description="the name of a ledger flow")
    if "tracked" in ds.coords:
        ds["tracked"].attrs.update(long_name="tracked account", units="1", description="account index")
    if "snapshot_tick" in ds.coords:
        ds["snapshot_tick"].attrs.update(long_name="snapshot tick", units="ticks",
                                         description="ticks completed when the balances were copied")
    target = closed_form_money_stock(sc)
    ds.attrs.update(
        scenario=sc.to_toml(), scenario_name=sc.name, root_seed=str(res.seed), stop_reason=res.stop_reason,
        minor_units=sc.run.minor_units, period=sc.run.period, process_order=" -> ".join(res.process_order),
        **({"money_stock_closed_form": target} if target is not None else {}),
        **{f"version_{k}": v for k, v in versions().items()},
    )
    return ds.set_xindex("tick")
