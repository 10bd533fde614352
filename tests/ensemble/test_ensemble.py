"""Ensembles: bit-identical stores on any scheduler, resume after kills, sweeps, summaries."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr

import spms_mc
from spms_mc.ensemble import store as zstore
from spms_mc.core.config import ScenarioError, parse_sweeps

SMALL = {"population.households": 400, "run.ticks": 300}


def assert_stores_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    assert dict(a.sizes) == dict(b.sizes)
    for v in a.data_vars:
        assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v
    for c in a.coords:
        assert np.array_equal(a[c].values, b[c].values), c
    assert a.attrs["fingerprint"] == b.attrs["fingerprint"]


def test_sync_one_worker_two_workers_and_simulate_agree(tmp_path):
    sc = spms_mc.load_scenario("sumsy", SMALL)
    stores = {}
    for name, kw in {"sync": {"scheduler": "sync"}, "w1": {"scheduler": "local", "workers": 1},
                     "w2": {"scheduler": "local", "workers": 2}}.items():
        stores[name] = spms_mc.run_ensemble(sc, members=5, seed=21, store=tmp_path / f"{name}.zarr", **kw)
    assert_stores_equal(stores["sync"], stores["w1"])
    assert_stores_equal(stores["sync"], stores["w2"])
    ds = stores["w2"]
    assert ds["done"].values.tolist() == [1] * 5
    for m in range(5):
        one = spms_mc.simulate(sc, seed=21, member=m)
        for v in one.data_vars:
            assert np.array_equal(ds[v].isel(member=[m]).values, one[v].values, equal_nan=True), (m, v)


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_local_workers_join_this_process(kind, tmp_path, monkeypatch):
    """The local scheduler computes in this process from the start; the other workers are threads
    of it (small populations: serial kernels, which release the GIL) or worker processes that take
    tasks once they are up (forced here by lowering the threshold). Both compute, and the store is
    that of sync."""
    import os

    from spms_mc.ensemble import fanout

    if kind == "processes":
        monkeypatch.setattr(fanout, "_min_parallel", lambda: 0)
    sc = spms_mc.load_scenario("sumsy", {"population.households": 3000, "run.ticks": 3000})
    _, summary = fanout.run_ensemble_with_summary(sc, members=12, seed=2, store=tmp_path / "l.zarr",
                                                  scheduler="local", workers=2)
    assert len(summary["summaries"]) == 11  # every task but the template (run first, here) reported back
    workers = {(t["pid"], t["thread"]) for t in summary["summaries"]}
    assert len(workers) == 2, workers
    pids = {pid for pid, _ in workers}
    assert pids == {os.getpid()} if kind == "threads" else (os.getpid() in pids and len(pids) == 2), workers
    sync = spms_mc.run_ensemble(sc, members=12, seed=2, store=tmp_path / "s.zarr", scheduler="sync")
    assert_stores_equal(sync, spms_mc.open_ensemble(tmp_path / "l.zarr"))


def test_local_workers_times_numba_threads_fit_the_cores(tmp_path):
    from spms_mc.ensemble.fanout import cores, run_ensemble_with_summary

    sc = spms_mc.load_scenario("sumsy", {"population.households": 200, "run.ticks": 60})
    # a one-worker cluster first (all cores to it): its setting must not leak into the next one
    _, one = run_ensemble_with_summary(sc, members=3, seed=1, store=tmp_path / "one.zarr",
                                       scheduler="local", workers=1)
    assert {t["numba_threads"] for t in one["summaries"]} == {cores()}
    _, summary = run_ensemble_with_summary(sc, members=6, seed=1, store=tmp_path / "t.zarr",
                                           scheduler="local", workers=2)
    tasks = summary["summaries"]
    assert len(tasks) == 5  # the first member ran here, as the store's template
    pids = {t["pid"] for t in tasks}
    threads = {t["numba_threads"] for t in tasks}
    assert len(pids) <= 2 and len(pids) * max(threads) <= max(cores(), 2)
    assert threads == {max(1, cores() // 2)}


def test_sweep_grid_lands_in_one_store(tmp_path):
    sc = spms_mc.load_scenario("sumsy", {**SMALL, "population.households": 100, "run.ticks": 90,
                                         **parse_sweeps(["sumsy.demurrage=0.01,0.05,0.1",
                                                         "sumsy.guaranteed_income=1000,2000"])})
    ds = spms_mc.run_ensemble(sc, members=8, seed=4, store=tmp_path / "grid.zarr", scheduler="sync")
    assert ds["money_stock"].dims == ("sumsy_demurrage", "sumsy_guaranteed_income", "member", "time")
    assert ds.sizes["sumsy_demurrage"] == 3 and ds.sizes["sumsy_guaranteed_income"] == 2 and ds.sizes["member"] == 8
    assert ds["sumsy_demurrage"].values.tolist() == [0.01, 0.05, 0.1]
    assert ds["sumsy_guaranteed_income"].values.tolist() == [1000, 2000]
    assert ds["sumsy_demurrage"].attrs["key"] == "sumsy.demurrage"  # the dotted key kept
    assert ds.attrs["sweep"] == "sumsy.demurrage,sumsy.guaranteed_income"
    assert int(ds["done"].sum()) == 48
    # each grid point is the scenario with those values, and members keep their draws across points
    pt = sc.at((2, 0))
    assert pt.sumsy.demurrage == 0.1 and pt.sumsy.guaranteed_income == 1000 and not pt.sweep
    one = spms_mc.simulate(pt, seed=4, member=5)
    got = ds["gini"].sel(sumsy_demurrage=0.1, sumsy_guaranteed_income=1000).isel(member=5).values  # keywords
    assert np.array_equal(got, one["gini"].values[0], equal_nan=True)
    np.testing.assert_allclose(ds["money_stock_closed_form"].values,
                               [[1e7, 2e7], [2e6, 4e6], [1e6, 2e6]])
    # a swept GI doubles the money created at every point of the grid
    created = ds["flows_created"].sel(flow="gi").sum("time").values
    assert np.array_equal(created[:, 1], 2 * created[:, 0])


def test_sweep_of_a_shape_changing_key_is_refused():
    with pytest.raises(ScenarioError, match="run.ticks.* cannot be swept"):
        spms_mc.load_scenario("sumsy", parse_sweeps(["run.ticks=100,200"]))
    with pytest.raises(ScenarioError, match=r"in \[sweep\]: sumsy.demurrage = 1.5 is out of range"):
        spms_mc.load_scenario("sumsy", parse_sweeps(["sumsy.demurrage=0.1,1.5"]))


def test_resume_refuses_a_different_run_and_existing_store_needs_a_flag(tmp_path):
    path = tmp_path / "r.zarr"
    sc = spms_mc.load_scenario("sumsy", SMALL)
    spms_mc.run_ensemble(sc, members=2, seed=1, store=path, scheduler="sync")
    with pytest.raises(zstore.StoreError, match="--resume .* or --overwrite"):
        spms_mc.run_ensemble(sc, members=2, seed=1, store=path, scheduler="sync")
    for other, what in ((dict(scenario=sc.with_overrides({"sumsy.demurrage": 0.02}), members=2, seed=1), "scenario"),
                        (dict(scenario=sc, members=2, seed=2), "seed")):
        with pytest.raises(zstore.StoreError, match=f"belongs to a different run.*differs: {what}"):
            spms_mc.run_ensemble(store=path, scheduler="sync", resume=True, **other)
    with pytest.raises(zstore.StoreError, match="holds 2 members; --members 1 would leave some out"):
        spms_mc.run_ensemble(sc, members=1, seed=1, store=path, scheduler="sync", resume=True)
    again = spms_mc.run_ensemble(sc, members=2, seed=1, store=path, scheduler="sync", resume=True)
    assert again["done"].values.tolist() == [1, 1]
    # a patch release of numpy or numba changes no result: the fingerprint ignores it
    vers = {"spms_mc": "1.2.3", "numpy": "2.3.1", "numba": "0.68.1", "xarray": "2025.1"}
    same = zstore.fingerprint("x", 1, vers)
    assert zstore.fingerprint("x", 1, {**vers, "numpy": "2.3.5", "numba": "0.68.2", "xarray": "2026.1"}) == same
    assert zstore.fingerprint("x", 1, {**vers, "numba": "0.69.0"}) != same
    assert zstore.fingerprint("x", 1, {**vers, "spms_mc": "1.2.4"}) != same
    fresh = spms_mc.run_ensemble(sc, members=2, seed=2, store=path, scheduler="sync", overwrite=True)
    assert fresh.attrs["root_seed"] == "2"


def test_resume_with_more_members_grows_the_store_into_the_larger_ensemble(tmp_path):
    from spms_mc.core.config import parse_sweeps

    sc = spms_mc.load_scenario("sumsy", {**SMALL, **parse_sweeps(["sumsy.demurrage=0.05,0.1"])})
    grown = tmp_path / "grown.zarr"
    spms_mc.run_ensemble(sc, members=2, seed=4, store=grown, scheduler="sync")
    ds = spms_mc.run_ensemble(sc, members=5, seed=4, store=grown, scheduler="sync", resume=True).load()
    fresh = spms_mc.run_ensemble(sc, members=5, seed=4, store=tmp_path / "fresh.zarr", scheduler="sync").load()
    assert ds["done"].values.all() and ds.attrs["members"] == 5
    assert ds["member"].values.tolist() == [0, 1, 2, 3, 4]
    for v in fresh.data_vars:
        assert np.array_equal(ds[v].values, fresh[v].values, equal_nan=True), v


def _done_count(path) -> int:
    """Finished members, counted cheaply: one stored chunk of `done` per finished member (zarr does
    not store chunks equal to the fill value 0, and the template writes no data)."""
    chunks = path / "done" / "c"
    return len(list(chunks.iterdir())) if chunks.exists() else 0


def _cli_run(path, members, *extra):
    return [sys.executable, "-m", "spms_mc", "run", "sumsy", "--set", "population.households=30000",
            "--set", "run.ticks=2000", "--members", str(members), "--seed", "8", "--out", str(path),
            "--quiet", *extra]


def test_whole_command_killed_then_resumed_equals_uninterrupted(tmp_path):
    members = 6
    ref = spms_mc.run_ensemble(spms_mc.load_scenario("sumsy", {"population.households": 30000,
                                                               "run.ticks": 2000}),
                               members=members, seed=8, store=tmp_path / "ref.zarr", scheduler="sync")
    path = tmp_path / "killed.zarr"
    proc = subprocess.Popen(_cli_run(path, members, "--scheduler", "sync"))
    deadline = time.time() + 120
    while time.time() < deadline and _done_count(path) < 1:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = zstore.done_mask(path)
    assert 1 <= done.sum() < members, "the kill should land mid-run"
    r = subprocess.run(_cli_run(path, members, "--scheduler", "sync", "--resume"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"{members - int(done.sum())} task(s) computed ({int(done.sum())} already done)" in r.stdout
    assert_stores_equal(zstore.open_store(path), ref)


def test_worker_killed_mid_run_loses_nothing(tmp_path):
    from distributed import Client, LocalCluster

    sc = spms_mc.load_scenario("sumsy", {"population.households": 30000, "run.ticks": 4000})
    ref = spms_mc.run_ensemble(sc, members=8, seed=8, store=tmp_path / "ref.zarr", scheduler="sync")
    path = tmp_path / "w.zarr"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        errors = []

        def go():
            try:
                spms_mc.run_ensemble(sc, members=8, seed=8, store=path, scheduler=cluster.scheduler_address)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=go)
        t.start()
        deadline = time.time() + 120
        while time.time() < deadline and _done_count(path) < 2:  # the first member runs here, then workers
            time.sleep(0.01)
        at_kill = _done_count(path)
        victim = list(client.scheduler_info()["workers"])[0]
        # the worker dies without answering; its nanny restarts it and its tasks are rescheduled
        client.run(os._exit, 1, workers=[victim], on_error="ignore")
        t.join(300)
        assert not errors, errors
    assert at_kill < 8, "the kill should land mid-run"
    ds = zstore.open_store(path)
    assert ds["done"].values.tolist() == [1] * 8
    assert_stores_equal(ds, ref)


def test_accessor_summaries_match_numpy(tmp_path):
    sc = spms_mc.load_scenario("sumsy", {"population.households": 200, "run.ticks": 30 * 150,
                                         "sumsy.demurrage": 0.05})
    ds = spms_mc.run_ensemble(sc, members=4, seed=2, store=tmp_path / "a.zarr", scheduler="sync")
    ms = ds["money_stock"].values
    fan = ds.spms.fan("money_stock", levels=(0.1, 0.5, 0.9))
    np.testing.assert_allclose(fan.sel(level=0.5).values, np.quantile(ms, 0.5, axis=0))
    np.testing.assert_allclose(ds.spms.mean_gini().values, ds["gini"].values.mean(axis=0))
    conv = ds.spms.convergence(rtol=0.01)
    target = 200 * 2000 / 0.05
    rel = np.abs(ms - target) / target
    for m in range(4):
        inside = np.flatnonzero(rel[m] > 0.01)
        expect = ds["tick"].values[inside[-1] + 1]
        assert conv["convergence_tick"].values[m] == expect
    assert np.all(conv["final_relative_error"].values < 1e-3)
    summ = ds.spms.summary()
    assert summ["gini_mean"].item() == pytest.approx(ds["gini"].values[:, -1].mean())
    assert ds.spms.missing() == 0


def test_snapshots_of_every_account(tmp_path):
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 120,
                                         "run.snapshot_ticks": [0, 60, 120]})
    ds = spms_mc.run_ensemble(sc, members=2, seed=3, store=tmp_path / "s.zarr", scheduler="sync")
    assert ds["balances"].dims == ("member", "snapshot", "account")
    assert ds["snapshot_tick"].values.tolist() == [0, 60, 120]
    total = ds["balances"].sum("account").values
    at = ds["money_stock"].sel(tick=[0, 60, 120]).values - ds["sink_balance"].sel(tick=[0, 60, 120]).values
    np.testing.assert_allclose(total, at, rtol=1e-12)


@pytest.mark.parametrize("kind,marker", [("slurm", "#SBATCH"), ("pbs", "#PBS")])
def test_batch_job_script_dry_run(kind, marker):
    pytest.importorskip("dask_jobqueue")
    script = spms_mc.run_ensemble("sumsy", store="unused.zarr", scheduler=kind, dry_run=True,
                                  jobqueue={"cores": 4, "memory": "8GB", "walltime": "01:00:00"})
    assert marker in script and "NUMBA_NUM_THREADS=1" in script and "dask_worker" in script
    assert not os.path.exists("unused.zarr")


@pytest.mark.parametrize("kind,submit", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_a_batch_scheduler_without_its_submit_command_is_refused_before_any_work(kind, submit, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no qsub
    with pytest.raises(ScenarioError, match=f"{submit}, which is not on PATH"):
        spms_mc.run_ensemble("sumsy", members=2, store=tmp_path / "x.zarr", scheduler=kind)
    assert not (tmp_path / "x.zarr").exists()


def test_bad_scheduler_and_members():
    with pytest.raises(ScenarioError, match="accepted: local, sync, tcp://HOST:PORT, slurm, pbs"):
        spms_mc.run_ensemble("sumsy", store="x.zarr", scheduler="mpi")
    with pytest.raises(ScenarioError, match="members must be a positive integer"):
        spms_mc.run_ensemble("sumsy", members=0, store="x.zarr")


def test_an_ensemble_without_a_store_comes_back_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sc = spms_mc.load_scenario("sumsy", SMALL)
    ds = spms_mc.run_ensemble(sc, members=2, seed=5, store=None, scheduler="sync")
    assert not list(tmp_path.iterdir())  # nothing written here
    one = spms_mc.simulate(sc, seed=5, member=1)
    assert np.array_equal(ds["money_stock"].isel(member=1).values, one["money_stock"].isel(member=0).values)
    assert ds["done"].values.all() and not ds["money_stock"].chunks  # loaded, not lazy
