"""Turn raw member results into the xarray Dataset of DESIGN.md "Output dataset".

Money variables are float64 in currency units; the exact ledger (``flows_created``,
``flows_destroyed``) is int64 in minor units. Every variable carries ``units`` and ``description``
attributes; the dataset attributes hold the resolved scenario TOML, the root seed and package
versions.
"""
from __future__ import annotations

import platform

import numpy as np
import xarray as xr

from .engine import STAT_NAMES, RunResult, quantile_grid

DESCRIPTIONS = {
    "money_stock": ("currency units", "money stock: all accounts, institutional accounts included"),
    "flows_created": ("minor units", "money created per ledger flow during the interval ending at the sample"),
    "flows_destroyed": ("minor units", "money destroyed per ledger flow during the interval ending at the sample"),
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
                                 "money where the regime has no other holdings) reaches run.lock_in_threshold "
                                 "(NaN: never) - the lock-in monitor of seeds/predistribution_ai_age.md"),
    "gini_wealth": ("1", "Gini coefficient of household net wealth (money + equity at capitalised dividends - loans)"),
    "top1_share_wealth": ("1", "share of household net wealth held by the richest 1 %"),
    "top10_share_wealth": ("1", "share of household net wealth held by the richest 10 %"),
    "bottom50_share_wealth": ("1", "share of household net wealth held by the poorest 50 %"),
    "mean_balance_wealth": ("currency units", "mean household net wealth"),
    "median_balance_wealth": ("currency units", "median household net wealth"),
    "lorenz_wealth": ("1", "Lorenz curve of household net wealth on the population-share grid"),
    "labour_share": ("1", "wages paid over firm revenue in the period settled last"),
    "unemployment": ("1", "share of households without work (unemployed from the start or displaced by AI)"),
    "price_level": ("1", "nominal spending over real output of the period settled last (first period = 1)"),
    "real_output": ("base-period currency units", "real output of the period settled last: the first period's "
                                                  "nominal spending grown at economy.ai_output_growth"),
    "nominal_spending": ("currency units", "firm revenue of the period settled last (consumption, investment, "
                                           "government)"),
    "wages": ("currency units", "wages paid to households during the interval"),
    "dividends": ("currency units", "firm and bank dividends paid to households during the interval"),
    "equity_value": ("currency units", "the equity index at capitalised dividends (last dividend per unit over the "
                                       "discount rate per period)"),
    "defaults": ("1", "borrowers that defaulted during the interval"),
    "capital_ratio": ("1", "bank capital over loans outstanding"),
    "sink_balance": ("currency units", "balance of the rounding sink (remainders of equal splits)"),
    "governance_balance": ("currency units", "balance of the governance account"),
    "demurrage_collected": ("currency units", "demurrage charged during the interval (destroyed or to governance)"),
    "governance_spending": ("currency units", "governance spending paid to households during the interval"),
    "loans_outstanding": ("currency units", "bank loans outstanding (debt of the borrowers)"),
    "bank_capital": ("currency units", "bank equity built from retained profits"),
    "debt_ratio": ("1", "debt-to-money ratio D/M"),
    "new_lending": ("currency units", "new bank loans during the interval (refinancing included)"),
    "sumsy_money_stock": ("currency units", "money stock of the SuMSy run replayed on the same seed"),
    "sumsy_gini": ("1", "Gini coefficient of household balances in the SuMSy run replayed"),
    "sumsy_top1_share": ("1", "top-1 % share of household money in the SuMSy run replayed"),
    "sumsy_top10_share": ("1", "top-10 % share of household money in the SuMSy run replayed"),
    "sumsy_bottom50_share": ("1", "bottom-50 % share of household money in the SuMSy run replayed"),
    "sumsy_mean_balance": ("currency units", "mean household balance in the SuMSy run replayed"),
    "sumsy_median_balance": ("currency units", "median household balance in the SuMSy run replayed"),
    "sumsy_demurrage_collected": ("currency units", "demurrage charged in the SuMSy run replayed"),
}


def versions() -> dict[str, str]:
    import numba
    import zarr

    from . import __version__

    return {"spms_mc": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "xarray": xr.__version__, "zarr": zarr.__version__, "python": platform.python_version()}


def first_crossing(values: np.ndarray, ticks: np.ndarray, threshold: float) -> np.ndarray:
    """First tick at which ``values[..., time]`` reaches ``threshold``; NaN where it never does."""
    above = np.asarray(values) >= threshold
    return np.where(above.any(-1), ticks[np.argmax(above, axis=-1)], np.nan).astype(float)


def closed_form_money_stock(sc) -> float | None:
    """|eligible| x GI / d (paper conclusion 3), when the scenario is one where it holds: flat
    demurrage, no buffer, no governance, no recurring events (one-off shocks decay)."""
    s = sc.sumsy
    if (not s.enabled or s.tiers or sc.economy.enabled or sc.bank.enabled or s.demurrage <= 0 or s.demurrage_free_buffer > 0
            or sc.governance.funding != "none" or sc.population.firms > 0
            or any(e.every > 0 for e in sc.events)):
        return None
    return sc.n_eligible * s.guaranteed_income / s.demurrage


def to_dataset(res: RunResult) -> xr.Dataset:
    sc = res.scenario
    scale = 1.0 / sc.run.minor_units
    dims_t = ("member", "time")
    data = {
        "money_stock": (dims_t, res.money_stock[None] * scale),
        "flows_created": (dims_t + ("flow",), res.flows_created[None]),
        "flows_destroyed": (dims_t + ("flow",), res.flows_destroyed[None]),
        "lorenz": (dims_t + ("quantile",), res.lorenz[None]),
    }
    for name in STAT_NAMES:
        v = res.stats[name]
        data[name] = (dims_t, (v * scale if name.endswith("balance") else v)[None])
    for name, v in res.stats_wealth.items():
        data[f"{name}_wealth"] = (dims_t, (v * scale if name.endswith("balance") else v)[None])
    if res.lorenz_wealth is not None:
        data["lorenz_wealth"] = (dims_t + ("quantile",), res.lorenz_wealth[None])
    if res.tracked.shape[1]:
        data["tracked_balance"] = (dims_t + ("tracked",), res.tracked[None] * scale)
    for name, v in res.extra.items():
        unit = res.extra_units.get(name, "currency units")
        data[name] = (dims_t, (v * scale if unit == "currency units" else v.astype(float))[None])
    if res.snapshots is not None:
        data["balances"] = (("member", "snapshot", "account"), res.snapshots[None] * scale)
    top1 = res.stats_wealth.get("top1_share", res.stats["top1_share"])  # of net wealth where there is one
    data["top1_cross_tick"] = (("member",), first_crossing(top1[None], res.ticks, sc.run.lock_in_threshold))
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
    for name, (units, desc) in DESCRIPTIONS.items():
        if name in ds:
            ds[name].attrs.update(units=units, description=desc)
    ds["tick"].attrs.update(units="ticks", description="ticks completed when the sample was taken")
    ds["quantile"].attrs.update(units="1", description="population share (poorest first)")
    target = closed_form_money_stock(sc)
    ds.attrs.update(
        scenario=sc.to_toml(), scenario_name=sc.name, root_seed=str(res.seed), stop_reason=res.stop_reason,
        minor_units=sc.run.minor_units, period=sc.run.period, process_order=" -> ".join(res.process_order),
        **({"money_stock_closed_form": target} if target is not None else {}),
        **{f"version_{k}": v for k, v in versions().items()},
    )
    return ds.set_xindex("tick")
