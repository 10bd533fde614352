"""Reports: figures that show what their titles say, an HTML page, clear errors."""
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import spms_mc
from spms_mc.core.config import parse_sweeps
from spms_mc.report import pages as rep

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "sweep.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 150, "run.ticks": 30 * 120,
                                         **parse_sweeps(["sumsy.demurrage=0.05,0.1",
                                                         "sumsy.guaranteed_income=1000,2000"])})
    spms_mc.run_ensemble(sc, members=3, seed=1, store=path, scheduler="sync")
    return path


def check_figure(fig):
    """Every visible panel has a title, labelled axes and data; every figure has a legend."""
    legends = list(fig.legends)
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title(), "panel without a title"
        assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axes in {ax.get_title()!r}"
        has_data = any(len(line.get_xdata()) > 1 and np.isfinite(np.asarray(line.get_ydata(), float)).any()
                       for line in ax.get_lines()) or ax.images or ax.collections
        assert has_data, f"empty panel {ax.get_title()!r}"
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    return legends


def test_figures_are_labelled_and_not_empty(sweep_store):
    ds, _ = rep.load(sweep_store)
    plt = rep._plt()
    for make in (rep.fig_money_stock, rep.fig_fan_charts, rep.fig_lorenz):
        fig = make(ds, plt)
        assert check_figure(fig), f"{make.__name__}: no legend"
        plt.close(fig)
    fig = rep.fig_sweep(ds, plt)
    check_figure(fig)
    assert len(fig.axes[0].images) == 1  # a heat map over the two swept keys
    plt.close(fig)
    # units are in the labels
    fig = rep.fig_money_stock(ds, plt)
    assert "currency units" in fig.axes[0].get_ylabel() and "tick" in fig.axes[0].get_xlabel()
    # the closed form is drawn at |eligible| x GI / d of each panel
    ys = sorted(line.get_ydata()[0] for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() == "--")
    assert ys == sorted([150 * gi / d for d in (0.05, 0.1) for gi in (1000, 2000)])
    plt.close(fig)


def test_report_writes_pngs_and_a_self_contained_page(sweep_store, tmp_path):
    page = rep.report(sweep_store, tmp_path / "out")
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["fan_charts.png", "lorenz.png", "money_stock.png", "sweep.png"]
    for p in (tmp_path / "out").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4
    assert "sumsy.demurrage = 0.05, sumsy.guaranteed_income = 1000" in text  # the summary table
    assert "[sweep]" in text and "not finished" not in text


def test_incomplete_store_reports_finished_members(tmp_path):
    path = tmp_path / "part.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 300})
    spms_mc.run_ensemble(sc, members=4, seed=2, store=path, scheduler="sync")
    xr.Dataset({"done": (("member",), np.zeros(1, np.int8))}).to_zarr(
        path, region={"member": slice(2, 3)}, zarr_format=3, consolidated=False)
    ds, info = rep.load(path)
    assert ds.sizes["member"] == 3 and ds["member"].values.tolist() == [0, 1, 3]
    assert info["missing"] == 1
    text = rep.report(path, tmp_path / "out").read_text()
    assert "1 of 4 member runs are not finished" in text


def test_regime_comparison_from_two_stores(tmp_path):
    paths = []
    for name, over in (("a", {"sumsy.enabled": False}), ("b", {})):
        sc = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 300, "name": name,
                                             "population.initial_balance": 100.0, **over})
        paths.append(tmp_path / f"{name}.zarr")
        spms_mc.run_ensemble(sc, members=2, seed=3, store=paths[-1], scheduler="sync")
    ds, _ = rep.load(paths)
    assert ds["regime"].values.tolist() == ["a", "b"]
    plt = rep._plt()
    fig = rep.fig_regimes(ds, plt)
    check_figure(fig)
    plt.close(fig)
    rep.report(paths, tmp_path / "cmp")
    assert (tmp_path / "cmp" / "regimes.png").exists()


def test_bad_input_is_a_clear_error(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(rep.ReportError, match="not a zarr v3 store|not a spms_mc store"):
        rep.load(tmp_path / "plain")
    with pytest.raises(rep.ReportError, match="does not exist"):
        rep.load(tmp_path / "missing.zarr")
    r = subprocess.run([sys.executable, "-m", "spms_mc", "report", str(tmp_path / "plain"), "--out",
                        str(tmp_path / "o")], check=False, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    path = tmp_path / "none.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 60})
    spms_mc.run_ensemble(sc, members=1, seed=0, store=path, scheduler="sync")
    xr.Dataset({"done": (("member",), np.zeros(1, np.int8))}).to_zarr(
        path, region={"member": slice(0, 1)}, zarr_format=3, consolidated=False)
    with pytest.raises(rep.ReportError, match="no member is finished yet"):
        rep.load(path)


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a store")
    return path


@pytest.mark.parametrize("args, msg", [
    (["{tmp}/missing.zarr", "--out", "{tmp}/o"], "missing.zarr does not exist; accepted: a store written by"),
    (["{tmp}", "--out", "{tmp}/o"], "is not a zarr v3 store"),
    (["{afile}", "--out", "{tmp}/o"], "afile is not a zarr v3 store"),
    (["{store}", "--out", "{afile}"], "afile is a file, not a folder; accepted: a folder"),
    (["{store}", "--out", "{afile}/o"], "afile is a file, so no folder can be made below it"),
    (["{store}", "--out", "{store}/figures"], "is inside the store"),
    (["{store}", "--out", "{tmp}/o", "--lorenz-tick", "7"],
     "--lorenz-tick 7: not sampled in this store; accepted: the sampled ticks 0, 30, ..., 3600 (every 30 ticks)"),
    (["{store}", "--out", "{tmp}/o", "--lorenz-tick", "30", "--lorenz-tick", "-30"],
     "--lorenz-tick -30: not sampled"),
    (["{store}", "--out", "{tmp}/o"] + [f"--lorenz-tick={30 * k}" for k in range(13)], "at most 12 ticks"),
    (["{store}", "{store}", "--out", "{tmp}/o"], "is given twice; accepted: each store once"),
])
def test_report_input_errors_exit_2_before_any_work(args, msg, sweep_store, afile, tmp_path, capsys):
    """Each bad input of `spms-mc report` is one line naming what was wrong and what is accepted."""
    from spms_mc.face.cli import main

    argv = ["report"] + [a.format(tmp=tmp_path, afile=afile, store=sweep_store) for a in args]
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and msg in err
    assert not (tmp_path / "o").exists() and not (sweep_store / "figures").exists()


def test_lorenz_ticks_are_sampled_ticks_each_once(sweep_store, tmp_path):
    ds, _ = rep.load(sweep_store)
    assert rep.check_lorenz_ticks(ds, [60, 30, 60]) == [60, 30]
    assert rep.check_lorenz_ticks(ds, None) is None
    with pytest.raises(rep.ReportError, match="must be integers"):
        rep.check_lorenz_ticks(ds, [30.5])
    rep.report(sweep_store, tmp_path / "o", lorenz_ticks=[30, 3600])
    assert (tmp_path / "o" / "lorenz.png").exists()


def test_same_named_stores_in_two_folders_are_told_apart(tmp_path):
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 60})
    paths = [tmp_path / d / "s.zarr" for d in ("a", "b")]
    for p in paths:
        spms_mc.run_ensemble(sc, members=1, seed=0, store=p, scheduler="sync")
    ds, _ = rep.load(paths)
    assert len(set(ds["regime"].values.tolist())) == 2


def test_stores_that_are_not_common_seed_runs_are_refused_unless_allowed(tmp_path):
    """The README's old pair, scaled down: a yard sale with seed 7 and 2 members beside a SuMSy run
    with seed 0, 1 member and another length."""
    a = spms_mc.load_scenario("yard_sale", {"population.households": 100, "run.ticks": 300, "name": "no_reform"})
    b = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 600})
    spms_mc.run_ensemble(a, members=2, seed=7, store=tmp_path / "no_reform.zarr", scheduler="sync")
    spms_mc.run_ensemble(b, members=1, seed=0, store=tmp_path / "sumsy.zarr", scheduler="sync")
    paths = [tmp_path / "no_reform.zarr", tmp_path / "sumsy.zarr"]
    with pytest.raises(rep.ReportError, match="not common-seed runs") as err:
        rep.report(paths, tmp_path / "out")
    for what in ("root seed 7 (no_reform.zarr) vs 0 (sumsy.zarr)", "members 2", "ticks 300", "--allow-different"):
        assert what in str(err.value)
    page = rep.report(paths, tmp_path / "out", allow_different=True).read_text()
    assert "not common-seed runs" in page and "on the same seeds" not in page


def test_report_cleans_its_own_old_files_and_shows_command_date_and_differences(tmp_path):
    paths = []
    for name, over in (("a", {"sumsy.demurrage": 0.05}), ("b", {})):
        sc = spms_mc.load_scenario("sumsy", {"population.households": 60, "run.ticks": 120, "name": name, **over})
        paths.append(tmp_path / f"{name}.zarr")
        spms_mc.run_ensemble(sc, members=2, seed=3, store=paths[-1], scheduler="sync")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.png").write_bytes(b"stale")  # a figure this report does not draw
    (out / "mine.txt").write_text("keep")
    page = rep.report(paths, out).read_text()
    assert not (out / "sweep.png").exists() and (out / "mine.txt").read_text() == "keep"
    assert "command: <code>" in page and " UTC" in page and "this report by spms_mc" in page
    assert "How the scenarios differ" in page and "sumsy.demurrage" in page and "[run]" not in page
    # one account: no distribution panels
    one = spms_mc.load_scenario("gl_sim")
    spms_mc.run_ensemble(one, members=1, seed=0, store=tmp_path / "one.zarr", scheduler="sync")
    rep.report(tmp_path / "one.zarr", tmp_path / "one")
    assert not (tmp_path / "one" / "lorenz.png").exists() and not (tmp_path / "one" / "fan_charts.png").exists()


def test_sweep_heat_map_cells_carry_the_median_and_5_95_band(sweep_store):
    """Two swept keys: each cell of the heat maps names the median and the 5-95 % band across
    members, recomputed here from the store as written."""
    ds, _ = rep.load(sweep_store)
    plt = rep._plt()
    fig = rep.fig_sweep(ds, plt)
    ax = fig.axes[0]
    assert "final Gini" in ax.get_title() and "5-95 %" in ax.get_title()
    store = xr.open_zarr(sweep_store, consolidated=False).load()
    d0, d1 = [d for d in store["gini"].dims if d not in ("member", "time")]
    assert {ax.get_ylabel(), ax.get_xlabel()} == {"sumsy.demurrage", "sumsy.guaranteed_income"}
    final = store["gini"].isel(time=-1).transpose(d0, d1, "member").values
    lo, med, hi = np.quantile(final, [0.05, 0.5, 0.95], axis=-1)
    cells = {tuple(np.round(t.get_position()).astype(int)): t.get_text() for t in ax.texts}
    assert len(cells) == med.size
    for a in range(med.shape[0]):
        for b in range(med.shape[1]):
            assert cells[(b, a)] == f"{med[a, b]:.3g}\n[{lo[a, b]:.3g}, {hi[a, b]:.3g}]"
    np.testing.assert_allclose(ax.images[0].get_array(), med, rtol=1e-12)
    assert np.any(hi > lo)
    plt.close(fig)


def test_a_gini_above_one_is_explained():
    """Net wealth can be negative, so its Gini can exceed 1: the panel and the page say so."""
    ticks = np.array([0, 10, 20])
    ds = xr.Dataset({"money_stock": (("member", "time"), np.ones((2, 3))),
                     "gini_wealth": (("member", "time"), [[0.5, 0.9, 1.3], [0.4, 0.8, 0.95]])},
                    coords={"tick": ("time", ticks)})
    note = rep.gini_above_one_note(ds)
    assert "gini_wealth (up to 1.3)" in note and "can be" in note and "negative" in note
    plt = rep._plt()
    fig = rep.fig_regime_variables(ds, plt)
    assert "above 1: net wealth can be negative" in fig.axes[0].get_title()
    assert any(line.get_label().startswith("Gini = 1") for line in fig.axes[0].get_lines())
    plt.close(fig)
    below = ds.assign(gini_wealth=ds["gini_wealth"].clip(max=1.0))
    assert rep.gini_above_one_note(below) == ""
    fig = rep.fig_regime_variables(below, plt)
    assert "above 1" not in fig.axes[0].get_title()
    plt.close(fig)
