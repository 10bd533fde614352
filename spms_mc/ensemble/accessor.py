"""``ds.spms``: the common summaries of an ensemble (or of one member) as an xarray accessor.

* ``fan(var, levels)``: quantiles across members per tick (fan-chart data);
* ``mean_gini()``: the Gini coefficient averaged over members;
* ``convergence(var, target, rtol)``: per member, the first tick from which ``var`` stays within
  ``rtol`` of ``target`` (default: the store's closed form, e.g. |eligible| x GI/d) and the final
  relative error;
* ``summary()``: the final value of the key variables across members (mean, std, quantiles);
* ``lock_in()``: the year each member's top-1 % share (of net wealth where there is one) first
  reaches ``run.lock_in_threshold``, and its quantiles across members;
* ``missing()``: how many (grid point, member) tasks are not written yet;
* ``to_dataframe(variables)``: the sampled series in long (tidy) form, one row per regime, sweep
  point, member and sample, with ``tick`` a column.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

SUMMARY_VARS = ("money_stock", "gini", "top1_share", "top10_share", "bottom50_share", "mean_balance",
                "median_balance")


@xr.register_dataset_accessor("spms")
class SpmsAccessor:
    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def fan(self, var: str = "money_stock", levels=(0.05, 0.25, 0.5, 0.75, 0.95)) -> xr.DataArray:
        """Quantiles of ``var`` across members (dim ``level``), for fan charts."""
        da = self._ds[var]
        return da.chunk({"member": -1}).quantile(list(levels), dim="member").rename(quantile="level") \
            if da.chunks else da.quantile(list(levels), dim="member").rename(quantile="level")

    def mean_gini(self) -> xr.DataArray:
        return self._ds["gini"].mean("member")

    def convergence(self, var: str = "money_stock", target: float | None = None,
                    rtol: float = 0.01) -> xr.Dataset:
        """First tick from which ``var`` stays within ``rtol`` of ``target``, per member (NaN: never)."""
        ds = self._ds
        if target is None and var == "money_stock":
            target = ds["money_stock_closed_form"] if "money_stock_closed_form" in ds else \
                ds.attrs.get("money_stock_closed_form")
        if target is None:
            raise ValueError(f"no closed-form target known for {var!r}: pass target=")
        rel = (abs(ds[var] - target) / abs(target)).transpose(..., "time")
        outside = (rel > rtol).values
        ticks = ds["tick"].values
        # index of the last sample outside the band; converged from the next one on
        last_out = np.where(outside.any(-1), outside.shape[-1] - 1 - np.argmax(outside[..., ::-1], -1), -1)
        conv = np.where(last_out + 1 < len(ticks), ticks[np.minimum(last_out + 1, len(ticks) - 1)], np.nan)
        dims = rel.dims[:-1]
        return xr.Dataset({"convergence_tick": (dims, conv.astype(float)),
                           "final_relative_error": rel.isel(time=-1).drop_vars("tick", errors="ignore")},
                          coords={d: rel[d] for d in dims if d in rel.coords}, attrs={"rtol": rtol})

    def summary(self, levels=(0.05, 0.5, 0.95)) -> xr.Dataset:
        """Final values of the key variables across members: mean, std and quantiles."""
        last = self._ds[[v for v in SUMMARY_VARS if v in self._ds]].isel(time=-1)
        out = {}
        for v in last.data_vars:
            da = last[v].load()
            out[f"{v}_mean"] = da.mean("member")
            out[f"{v}_std"] = da.std("member")
            for q in levels:
                out[f"{v}_q{int(round(q * 100)):02d}"] = da.quantile(q, dim="member").drop_vars("quantile")
        return xr.Dataset(out).drop_vars("tick", errors="ignore")

    def lock_in(self, ticks_per_year: float | None = None, levels=(0.05, 0.5, 0.95)) -> xr.Dataset:
        """The year (from the start of the reported run) each member's top-1 % share first reaches
        ``run.lock_in_threshold`` (``top1_cross_tick``), summarised across members.

        Returns ``years`` (NaN: never within the run), ``years_quantile`` (dim ``quantile``; a
        member that never crosses counts as later than every one that does, so a quantile beyond the
        members that cross is +inf) and ``never`` (the share of members that never cross).
        ``ticks_per_year`` defaults to the scenario's ``economy.ticks_per_year`` (360).
        """
        if ticks_per_year is None:
            import tomllib

            ticks_per_year = tomllib.loads(self._ds.attrs["scenario"]).get("economy", {}).get("ticks_per_year", 360)
        years = self._ds["top1_cross_tick"].load() / ticks_per_year
        q = years.fillna(np.inf).quantile(list(levels), dim="member", method="inverted_cdf")
        out = xr.Dataset({"years": years, "years_quantile": q, "never": years.isnull().mean("member")})
        out["years"].attrs.update(units="years", description="years until the top-1 % share first reaches "
                                                             "run.lock_in_threshold (NaN: never)")
        out["years_quantile"].attrs.update(units="years", description="quantiles across members (+inf: beyond the "
                                                                      "members that cross within the run)")
        out["never"].attrs.update(units="1", description="share of members whose top-1 % never reaches the "
                                                         "threshold")
        return out

    def to_dataframe(self, variables=None):
        """The sampled series as a long pandas DataFrame: columns ``regime`` (a comparison), one per
        swept key (named by the dotted key, e.g. ``sumsy.demurrage``), ``member``, ``tick`` and one per variable (every variable on
        (..., member, time) without further dimensions, unless ``variables`` names them). Money in
        currency units, as in the Dataset; the exact per-flow integers stay in the Dataset."""
        ds = self._ds
        series = [v for v in ds.data_vars if "time" in ds[v].dims and "member" in ds[v].dims]
        lead = {d for v in series for d in ds[v].dims} - {"member", "time"}
        extra_dims = {"quantile", "flow", "tracked", "snapshot", "account"}
        lead -= extra_dims
        allowed = lead | {"member", "time"}
        names = list(variables) if variables else sorted(v for v in series if set(ds[v].dims) <= allowed)
        bad = [v for v in names if v not in ds or not set(ds[v].dims) <= allowed or "time" not in ds[v].dims]
        if bad:
            ok = [v for v in series if set(ds[v].dims) <= allowed]
            raise ValueError(f"{bad} are not sampled series of this store; accepted: {', '.join(ok)}")
        sub = ds[names]
        sub = sub.drop_vars([c for c in sub.coords if c not in sub.dims and c != "tick"])
        df = sub.to_dataframe().reset_index()
        if "tick" not in df:  # the time coordinate holds the ticks (opened stores), or is the sample index
            time = df["time"].to_numpy()
            df["tick"] = time if "time" in ds.indexes else np.asarray(ds["tick"].values)[time]
        order = [d for d in ("regime",) if d in df] + sorted(d for d in lead if d != "regime" and d in df)
        df = df[order + ["member", "tick"] + names]
        return df.rename(columns={d: ds[d].attrs["key"] for d in order if "key" in ds[d].attrs})

    def missing(self) -> int:
        if "done" not in self._ds:
            return 0
        return int((self._ds["done"].values == 0).sum())
