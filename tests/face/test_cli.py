"""The command line, end to end in a subprocess (as a user runs it)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import spms_mc
from spms_mc.ensemble import store


def cli(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "spms_mc", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def test_scenarios_and_show():
    out = cli("scenarios").stdout
    for name in spms_mc.preset_names():
        assert name in out
    toml = cli("show", "sumsy", "--set", "sumsy.demurrage=0.03").stdout
    assert "demurrage = 0.03" in toml


def test_run_writes_a_store_equal_to_simulate(tmp_path):
    out = tmp_path / "s.zarr"
    r = cli("run", "sumsy", "--set", "population.households=200", "--set", "run.ticks=240",
            "--members", "3", "--seed", "7", "--out", str(out))
    assert "3 member(s)" in r.stdout and "final money stock" in r.stdout
    ds = store.open_store(out)
    assert ds.sizes["member"] == 3 and ds["done"].values.tolist() == [1, 1, 1]
    sc = spms_mc.load_scenario("sumsy", {"population.households": 200, "run.ticks": 240})
    for m in range(3):
        one = spms_mc.simulate(sc, seed=7, member=m)
        for v in one.data_vars:
            assert np.array_equal(ds[v].isel(member=[m]).values, one[v].values, equal_nan=True), v
    # refuses to overwrite unless asked
    r = cli("run", "sumsy", "--out", str(out), check=False)
    assert r.returncode != 0 and "--overwrite" in (r.stderr + r.stdout)


def test_run_of_a_wealth_regime_reports_the_dfa_groups_and_the_lock_in_year(tmp_path):
    out = tmp_path / "w.zarr"
    r = cli("run", "ai_bau", "--set", "population.households=400", "--set", "population.firms=4",
            "--set", "run.ticks=720", "--set", "run.burn_in=60", "--set", "run.lock_in_threshold=0.33",
            "--members", "2", "--scheduler", "sync", "--out", str(out))
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith("net wealth at the end: top 1 % ") and "bottom 50 %" in line, r.stdout
    lock = spms_mc.open_ensemble(out).spms.lock_in()
    years = lock["years"].values
    assert np.all(np.isfinite(years)) and np.all(years <= 2.0)  # 0.324 -> 0.33 within the 2 years
    assert f"after {lock['years_quantile'].values[1]:.1f} years (median" in line


def test_run_of_cete_and_predistribution_report_the_threshold_and_the_bond_coverage(tmp_path):
    small = ["--set", "population.households=400", "--set", "population.firms=10", "--set", "run.ticks=1440",
             "--set", "run.burn_in=60", "--set", "fund.pomv_first_lag=1", "--set", "fund.pomv_last_lag=2"]
    r = cli("run", "predistribution", *small, "--out", str(tmp_path / "p.zarr"))
    line = r.stdout.strip().splitlines()[-1]
    ds = spms_mc.open_ensemble(tmp_path / "p.zarr")
    coverage = float(ds.bond_fee_revenue.sum()) / float(ds.bond_service_due.sum())
    assert line.startswith("bonds: ") and f"covered {coverage * 100:.0f} %" in line, r.stdout
    r = cli("run", "cete", *small[:-4], "--set", "cete.adoption_start=0.5", "--out", str(tmp_path / "c.zarr"))
    line = r.stdout.strip().splitlines()[-1]
    share = spms_mc.open_ensemble(tmp_path / "c.zarr").cete_backed_share.isel(time=-1).values.mean()
    assert line.startswith(f"CETE: {share * 100:.1f} % of household purchases backed at the end"), r.stdout


def test_compare_prints_and_writes_the_summary_and_report_overlays_it(tmp_path):
    out = tmp_path / "cmp"
    small = ["--set", "population.households=300", "--set", "population.firms=3", "--set", "run.ticks=720",
             "--set", "run.burn_in=60", "--set", "run.sample_every=360"]
    r = cli("compare", "ai_bau", "cete", *small, "--members", "2", "--seed", "4", "--scheduler", "sync",
            "--out", str(out))
    assert "2 regimes x 2 member(s), seed 4" in r.stdout and "| top1_share |" in r.stdout
    assert (out / "summary.md").read_text().strip() in r.stdout and (out / "summary.csv").exists()
    ds = spms_mc.open_ensemble(out)
    assert ds["regime"].values.tolist() == ["ai_bau", "cete"] and ds.sizes["member"] == 2
    cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert (tmp_path / "rep" / "regimes.png").exists()
    bad = cli("compare", "ai_bau", "--out", str(tmp_path / "x"), check=False)
    assert bad.returncode == 2 and "at least two regimes" in bad.stderr
    # the tidy export round-trips through pandas
    import pandas as pd

    samples = ds.sizes["time"]
    for name, read in (("t.csv", pd.read_csv), ("t.parquet", pd.read_parquet)):
        cli("export", str(out), "--out", str(tmp_path / name))
        df = read(tmp_path / name)
        assert list(df.columns[:3]) == ["regime", "member", "tick"] and len(df) == 2 * 2 * samples
        row = df[(df.regime == "cete") & (df.member == 1) & (df.tick == 360)].iloc[0]
        assert row["top1_share_wealth"] == ds["top1_share_wealth"].sel(regime="cete").isel(member=1).sel(
            tick=360).item()
        assert np.isnan(df[df.regime == "ai_bau"]["cete_backed_share"]).all()
    r = cli("export", str(out), "--out", str(tmp_path / "x.txt"), check=False)
    assert r.returncode == 2 and "--format csv|parquet" in r.stderr
    r = cli("export", str(out), "--out", str(tmp_path / "x.csv"), "--var", "lorenz", check=False)
    assert r.returncode == 2 and "not sampled series" in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["run", "sumsy", "--set", "sumsy.demurrage=2", "--out", "x.zarr"], "sumsy.demurrage = 2"),
    (["run", "sumsy", "--set", "sumsy.nope=1", "--out", "x.zarr"], "unknown key 'sumsy.nope'"),
    (["run", "nope", "--out", "x.zarr"], "unknown scenario 'nope'"),
    (["run", "sumsy", "--scheduler", "mpi", "--out", "x.zarr"], "mpi"),
    (["run", "sumsy", "--scheduler", "tcp://127.0.0.1:1", "--out", "x.zarr"], "no dask scheduler answers at"),
    (["run", "sumsy", "--scheduler", "tcp://somewhere", "--out", "x.zarr"], "accepted: tcp://HOST:PORT"),
    (["run", "sumsy", "--out", "afile/x.zarr"], "afile is a file; accepted: a new STORE.zarr path"),
    (["run", "sumsy", "--members", "0", "--out", "x.zarr"], "Invalid value for '--members'"),
    (["report", "x.zarr", "--out", "o"], "x.zarr does not exist; accepted: a store written by"),
])
def test_bad_input_exits_2_with_a_message(args, msg, tmp_path):
    (tmp_path / "afile").write_text("not a store")
    r = subprocess.run([sys.executable, "-m", "spms_mc", *args], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert msg in r.stderr and len(r.stderr.splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_a_bad_ledger_check_mode_is_refused_before_work(tmp_path):
    r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--out", "x.zarr"], capture_output=True,
                       text=True, cwd=tmp_path, env={**os.environ, "SPMS_MC_CHECK_LEDGER": "always"})
    assert r.returncode == 2 and "SPMS_MC_CHECK_LEDGER = 'always'; accepted: tick, period, off" in r.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_job_options_dask_jobqueue_refuses_are_bad_input(tmp_path):
    pytest.importorskip("dask_jobqueue")
    for job, msg in (("nope=1", "unexpected keyword argument 'nope'"), ("cores=abc", "given: cores=abc")):
        r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--scheduler", "slurm", "--job", job,
                            "--dry-run", "--out", "x.zarr"], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 2 and msg in r.stderr and "accepted: options of dask_jobqueue's SLURMCluster" in r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_open_store_refuses_foreign_paths(tmp_path):
    with pytest.raises(store.StoreError, match="does not exist"):
        store.open_store(tmp_path / "none.zarr")
    (tmp_path / "plain").mkdir()
    with pytest.raises(store.StoreError):
        store.open_store(tmp_path / "plain")


def test_bench_quick_prints_ratios():
    """A smoke test of `spms-mc bench`: the figures themselves are checked by benchmarks/, not here."""
    r = cli("bench", "--quick")
    for name in ("sumsy_settle_average", "sumsy_settle_end", "sumsy_tick", "memory_per_household", "economy_tick",
                 "cete_tick"):
        assert name in r.stdout
    assert "read_modify_write" in r.stdout and "scatter_add" in r.stdout


def test_status_reports_members_done_and_missing(tmp_path):
    import zarr

    path = tmp_path / "s.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 60})
    spms_mc.run_ensemble(sc, members=3, seed=0, store=path, scheduler="sync")
    r = cli("status", str(path))
    assert "3 of 3 tasks done (3 members); complete" in r.stdout
    zarr.open_array(str(path / "done"), mode="r+")[1] = 0  # as if member 1 had been killed
    r = cli("status", str(path), check=False)
    assert r.returncode == 1 and "2 of 3 tasks done" in r.stdout and "members not finished: 1" in r.stdout
    assert "--resume" in r.stdout
