"""`spms-mc compare`: regimes on common random numbers, each regime's slice equal to `simulate` of
that regime member by member, the summary's quantiles and paired differences from the raw values,
clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import spms_mc
from spms_mc.ensemble.compare import CompareError, compare, compare_summary, format_summary

SMALL = {"population.households": 600, "population.firms": 6, "run.ticks": 1080, "run.burn_in": 360,
         "run.sample_every": 360}


@pytest.fixture(scope="module")
def cmp(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "cmp"
    ds = compare(["ai_bau", "cete", "predistribution"], members=3, seed=11, store=path, scheduler="sync",
                 overrides={**SMALL, "fund.pomv_first_lag": 1, "fund.pomv_last_lag": 2})
    return path, ds


def test_each_regime_slice_is_simulate_of_that_regime_bit_for_bit(cmp):
    path, ds = cmp
    assert ds["regime"].values.tolist() == ["ai_bau", "cete", "predistribution"]
    for regime in ("ai_bau", "cete", "predistribution"):
        sc = spms_mc.load_scenario(regime, {**SMALL, "fund.pomv_first_lag": 1, "fund.pomv_last_lag": 2})
        for m in range(3):
            one = spms_mc.simulate(sc, seed=11, member=m)
            part = ds.sel(regime=regime).isel(member=m)
            for v in one.data_vars:
                a, b = part[v].values, one[v].isel(member=0).values
                if "flow" in one[v].dims:  # the flows of the union of regimes: this regime's
                    a = part[v].sel(flow=one["flow"].values).values
                assert np.array_equal(a, b, equal_nan=True), (regime, m, v)
    # a variable a regime does not have is NaN there
    assert np.isnan(ds["cete_backed_share"].sel(regime="ai_bau").values).all()
    assert spms_mc.open_ensemble(path)["regime"].size == 3


def test_regimes_of_different_lengths_are_summarised_at_their_own_end(tmp_path):
    """kinetic_exchange runs 1000 ticks, yard_sale 20000: each regime's final values are its own last
    sample (the comparison's time axis is the union of their ticks), as simulate gives them."""
    over = {"population.households": 200}
    ds = compare(["kinetic_exchange", "yard_sale"], members=2, seed=4, store=tmp_path / "d", scheduler="sync",
                 overrides=over)
    s = compare_summary(ds)
    ends = dict(zip(s["regime"].values, s["end_tick"].values.tolist()))
    for regime in ("kinetic_exchange", "yard_sale"):
        sc = spms_mc.load_scenario(regime, over)
        assert ends[regime] == sc.run.ticks
        finals = [spms_mc.simulate(sc, seed=4, member=m)["gini"].values[0, -1] for m in range(2)]
        assert np.allclose(s["value"].sel(regime=regime, metric="gini_money").values,
                           np.quantile(finals, (0.05, 0.5, 0.95)))
    assert "run different lengths" in format_summary(s)


def test_no_wealth_group_shares_where_net_wealth_is_no_base(tmp_path):
    """sumsy_vs_credit's bank-credit money is created as loans: household net wealth sums to about 0
    and its "shares" fall outside [0, 1]; the summary gives none, and says why."""
    over = {"population.households": 100, "run.ticks": 1800}
    ds = compare(["sumsy", "sumsy_vs_credit"], members=2, seed=1, store=tmp_path / "c", scheduler="sync",
                 overrides=over)
    raw = ds["top1_share_wealth"].sel(regime="sumsy_vs_credit").isel(time=-1).values
    assert ((raw < 0) | (raw > 1)).any()
    s = compare_summary(ds)
    assert np.isnan(s["value"].sel(regime="sumsy_vs_credit", metric="top1_share")).all()
    assert np.isfinite(s["value"].sel(regime="sumsy_vs_credit", metric="gini_money")).all()
    assert "no wealth-group shares for sumsy_vs_credit" in format_summary(s)


def test_the_summary_is_the_quantiles_of_the_raw_values(cmp):
    _, ds = cmp
    s = compare_summary(ds)
    top = ds["top1_share_wealth"].isel(time=-1).values  # regime, member
    for k, r in enumerate(ds["regime"].values):
        assert np.allclose(s["value"].sel(regime=r, metric="top1_share").values,
                           np.quantile(top[k], (0.05, 0.5, 0.95)))
        if k == 0:  # the reference: no difference with itself
            assert np.isnan(s["difference"].sel(regime=r)).all()
            continue
        d = top[k] - top[0]
        assert np.allclose(s["difference"].sel(regime=r, metric="top1_share").values,
                           np.quantile(d, (0.05, 0.5, 0.95)))
        with np.errstate(divide="ignore"):  # a difference that does not vary: an infinite reduction
            red = (np.var(top[k], ddof=1) + np.var(top[0], ddof=1)) / np.var(d, ddof=1)
        assert s["variance_reduction"].sel(regime=r, metric="top1_share") == pytest.approx(red)
    # dividends per capita only where a fund pays them
    div = s["value"].sel(metric="dividend_per_capita")
    assert np.isnan(div.sel(regime="ai_bau")).all() and (div.sel(regime="predistribution") > 0).all()
    table = format_summary(s)
    assert "| top1_share |" in table and "paired difference against ai_bau" in table


def test_compare_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(CompareError, match="at least two regimes"):
        compare(["ai_bau"], store=tmp_path / "x")
    with pytest.raises(CompareError, match="names repeat"):
        compare(["ai_bau", "ai_bau"], store=tmp_path / "x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "f").write_text("x")
    with pytest.raises(CompareError, match="not a compare store"):
        compare(["ai_bau", "cete"], store=tmp_path / "busy")
    with pytest.raises(spms_mc.ScenarioError, match="regime 'predistribution': fund.pomv_last_lag = 40"):
        compare(["ai_bau", "predistribution"], store=tmp_path / "y", overrides={"fund.pomv_last_lag": 40})
    assert not (tmp_path / "y").exists()  # refused before any work


def test_a_comparison_is_not_overwritten_by_accident_and_resumes(cmp, tmp_path):
    path, _ = cmp
    manifest = json.loads((path / "zarr.json").read_text())["attributes"]["spms_mc_compare"]
    with pytest.raises(CompareError, match="--resume"):
        compare(["ai_bau", "cete", "predistribution"], members=3, seed=11, store=path, scheduler="sync",
                overrides={**SMALL, "fund.pomv_first_lag": 1, "fund.pomv_last_lag": 2})
    with pytest.raises(CompareError, match="different comparison"):
        compare(["ai_bau", "cete"], members=3, seed=11, store=path, scheduler="sync", resume=True,
                overrides=manifest["overrides"])
    again = compare(["ai_bau", "cete", "predistribution"], members=3, seed=11, store=path, scheduler="sync",
                    resume=True, overrides=manifest["overrides"])
    assert again["regime"].size == 3
    with pytest.raises(CompareError, match="different comparison"):  # fewer members: refused
        compare(["ai_bau", "cete", "predistribution"], members=2, seed=11, store=path, scheduler="sync",
                resume=True, overrides=manifest["overrides"])


def test_a_finished_store_opens_with_plain_xarray_without_a_warning(cmp):
    import warnings

    import xarray as xr

    path, _ = cmp
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(path, group="cete")  # one zarr hierarchy: a regime is a group
        tree = xr.open_datatree(path, engine="zarr")
    assert ds["cete_backed_share"].sizes["member"] == 3 and dict(ds.chunks)["member"] == (1, 1, 1)
    assert sorted(tree.children) == ["ai_bau", "cete", "predistribution"]
    assert tree.attrs["spms_mc_compare"]["regimes"] == ["ai_bau", "cete", "predistribution"]
    assert "cete_backed_share" in tree["cete"].dataset and "cete_backed_share" not in tree["ai_bau"].dataset


def test_a_sweep_store_selects_by_tick_and_has_consistent_chunks(tmp_path):
    import warnings

    import xarray as xr

    from spms_mc.core.config import parse_sweeps

    sc = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 120,
                                         **parse_sweeps(["sumsy.demurrage=0.05,0.1"])})
    ds = spms_mc.run_ensemble(sc, members=2, seed=1, store=tmp_path / "sw.zarr", scheduler="sync")
    assert dict(ds.chunks)["sumsy_demurrage"] == (1, 1)  # the closed form is chunked like the rest
    at = ds.sel(time=60)  # the time coordinate holds the ticks
    assert at["tick"].item() == 60 and np.array_equal(at["money_stock"].values, ds.sel(tick=60)["money_stock"].values)
    df = ds.spms.to_dataframe(["money_stock"])
    assert list(df.columns) == ["sumsy.demurrage", "member", "tick", "money_stock"] and len(df) == 2 * 2 * 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = xr.open_zarr(tmp_path / "sw.zarr")
    assert dict(plain.chunks)["member"] == (1, 1)
