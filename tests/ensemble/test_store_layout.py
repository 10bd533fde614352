"""The store's layout: packed (sharded) once complete, idiomatic to open, grown and filled in slices
(`spms-mc init` + `--member-range`, the job-array pattern) with the bytes of one plain run."""
import os
import socket
import subprocess
import sys
import warnings
import numpy as np
import pytest
import slurm_cluster
import xarray as xr

import spms_mc
from spms_mc.core.config import ScenarioError, parse_sweeps
from spms_mc.ensemble import store as zstore
from spms_mc.ensemble.fanout import format_plan, parse_member_range, plan

SMALL = {"population.households": 40, "run.ticks": 90, "run.sample_every": 30, "run.snapshot_ticks": [90],
         **parse_sweeps(["sumsy.demurrage=0.01,0.05"])}
ARGS = ["--set", "population.households=40", "--set", "run.ticks=90", "--set", "run.sample_every=30",
        "--sweep", "sumsy.demurrage=0.01,0.05", "--seed", "5"]


def _files(path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.variables) == sorted(b.variables)
    for v in a.variables:
        assert a[v].dims == b[v].dims, v
        assert np.array_equal(a[v].values, b[v].values, equal_nan=a[v].dtype.kind == "f"), v
        assert a[v].attrs == b[v].attrs, v


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "spms_mc", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """6 members x 2 grid points, one sync run (packed at the end), and its unpacked twin."""
    d = tmp_path_factory.mktemp("plain")
    sc = spms_mc.load_scenario("sumsy", SMALL)
    spms_mc.run_ensemble(sc, members=6, seed=5, store=d / "p.zarr", scheduler="sync")
    return d / "p.zarr"


def test_a_finished_store_is_packed_and_reads_like_the_unpacked_one(plain, tmp_path):
    assert zstore.packed(plain)
    packed_files = _files(plain)
    unpacked = tmp_path / "u.zarr"
    os.system(f"cp -r {plain} {unpacked}")
    zstore.pack(unpacked, shards=False)
    assert not zstore.packed(unpacked)
    unpacked_files = _files(unpacked)
    # unpacked: a chunk per (grid point, member) and member variable (zarr skips chunks of fill values
    # only); packed: at most one shard and one zarr.json per array, and the root zarr.json
    ds = zstore.open_store(plain)
    member_vars = sum("member" in v.dims for v in ds.data_vars.values())
    assert packed_files <= 2 * len(ds.variables) + 1
    assert unpacked_files - packed_files > member_vars * (2 * 6 - 2)
    a, b = zstore.open_store(plain).load(), zstore.open_store(unpacked).load()
    b.attrs["packed"] = a.attrs["packed"]
    _same(a, b)
    assert a.attrs == b.attrs
    # sharding is zarr's own codec: a plain reader sees the shards, and the inner chunks are one member
    import zarr

    arr = zarr.open_array(str(plain / "money_stock"), mode="r")
    assert arr.shards == (2, 6, 4) and arr.chunks == (1, 1, 4)


def test_plain_xarray_opens_it_without_warning_and_idiomatically(plain):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = xr.open_zarr(plain)  # consolidated metadata: no warning
    assert "money_stock" in raw
    ds = spms_mc.open_ensemble(plain)
    assert dict(ds.chunks)["member"] == (1,) * 6  # ds.chunks is defined: one chunk per member
    assert ds.sel(time=60)["tick"].item() == 60
    assert ds["money_stock"].sel(sumsy_demurrage=0.05, time=90).shape == (6,)
    for v in ds.variables:
        assert "long_name" in ds[v].attrs and "units" in ds[v].attrs, v
    assert ds["money_stock_closed_form"].dims == ("sumsy_demurrage",)
    assert "money_stock_closed_form" not in ds.attrs  # the closed form in one place


def test_init_and_member_ranges_give_the_bytes_of_one_run(plain, tmp_path):
    out = tmp_path / "arr.zarr"
    r = _cli("init", "sumsy", *ARGS, "--set", "run.snapshot_ticks=[90]", "--members", "6", "--out", str(out),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 of 12 tasks done" in r.stdout
    r = _cli("status", str(out), cwd=tmp_path)
    assert r.returncode == 1 and "members not finished: 0, 1, 2, 3, 4, 5" in r.stdout
    for rng in ("4:6", "0:2", "1:5"):  # in any order, overlapping: done members are skipped
        r = _cli("run", "sumsy", *ARGS, "--set", "run.snapshot_ticks=[90]", "--out", str(out), "--member-range", rng,
                 "--scheduler", "sync", "--quiet", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert "complete, packed" in r.stdout
    r = _cli("status", str(out), cwd=tmp_path)
    assert r.returncode == 0 and "12 of 12 tasks done" in r.stdout and "packed" in r.stdout
    _same(zstore.open_store(plain).load(), zstore.open_store(out).load())


def test_member_range_input_errors(plain, tmp_path):
    sc = spms_mc.load_scenario("sumsy", SMALL)
    with pytest.raises(zstore.StoreError, match="spms-mc init"):
        spms_mc.run_ensemble(sc, None, seed=5, store=tmp_path / "none.zarr", member_range=(0, 2))
    with pytest.raises(ScenarioError, match="reaches past the 6 members"):
        spms_mc.run_ensemble(sc, None, seed=5, store=plain, member_range=(4, 8))
    with pytest.raises(ScenarioError, match="--members 7 differs from the 6 members"):
        spms_mc.run_ensemble(sc, 7, seed=5, store=plain, member_range=(0, 2))
    with pytest.raises(zstore.StoreError, match="different run"):
        spms_mc.run_ensemble(sc, None, seed=6, store=plain, member_range=(0, 2))
    for bad in ("3", "2:2", "a:b", "-1:3"):
        with pytest.raises(ScenarioError, match="accepted: A:B"):
            parse_member_range(bad)


def test_growing_a_packed_store_equals_a_fresh_larger_run(tmp_path):
    sc = spms_mc.load_scenario("sumsy", SMALL)
    spms_mc.run_ensemble(sc, members=2, seed=5, store=tmp_path / "g.zarr", scheduler="sync")
    assert zstore.packed(tmp_path / "g.zarr")
    spms_mc.run_ensemble(sc, members=4, seed=5, store=tmp_path / "g.zarr", scheduler="sync", resume=True)
    spms_mc.run_ensemble(sc, members=4, seed=5, store=tmp_path / "f.zarr", scheduler="sync")
    assert zstore.packed(tmp_path / "g.zarr")
    _same(zstore.open_store(tmp_path / "f.zarr").load(), zstore.open_store(tmp_path / "g.zarr").load())


def test_a_store_with_empty_and_scalar_arrays_packs(tmp_path):
    """Kinetic exchange books no ledger flow (a flow dim of size 0) and has a 0-d closed form."""
    sc = spms_mc.load_scenario("kinetic_exchange", {"population.households": 50, "run.ticks": 20})
    ds = spms_mc.run_ensemble(sc, members=2, seed=1, store=tmp_path / "k.zarr", scheduler="sync")
    assert zstore.packed(tmp_path / "k.zarr") and ds.sizes["flow"] == 0
    one = spms_mc.simulate(sc, seed=1, member=1)
    assert np.array_equal(ds["gini"].isel(member=1).values, one["gini"].values[0])
    assert np.isnan(ds["money_stock_closed_form"].values)


def test_a_store_a_killed_pack_moved_aside_is_put_back(plain, tmp_path):
    path = tmp_path / "k.zarr"
    os.system(f"cp -r {plain} {path}")
    # a pack killed between its two renames: the store moved aside by a process that is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    aside = tmp_path / f".k.zarr{zstore.REPLACED}{dead}-abcd1234-{socket.gethostname()}"
    os.rename(path, aside)
    zstore.remove_stale_partials(path)
    assert path.is_dir() and not aside.exists()
    assert zstore.open_store(path)["done"].values.all()


def test_dry_run_plans_tasks_bytes_and_files(plain, tmp_path):
    sc = spms_mc.load_scenario("sumsy", SMALL)
    p = plan(sc, 6, plain, member_range=(0, 3))
    assert p["tasks"] == 6 and p["to_compute"] == 0 and p["bytes_exact"]
    ds = zstore.open_store(plain)
    one = sum(v.isel(member=0).nbytes for v in ds.data_vars.values() if "member" in v.dims) // 2
    assert p["bytes_per_member"] == one
    # every array's zarr.json and shard, less shards of fill values only, which zarr does not write
    nan_only = sum(bool(np.isnan(v.values).all()) for v in ds.data_vars.values() if v.dtype.kind == "f")
    assert p["files_packed"] - nan_only == _files(plain)
    fresh = plan(sc, 6, tmp_path / "new.zarr", scheduler="sync")
    assert fresh["tasks"] == fresh["to_compute"] == 12 and not fresh["bytes_exact"]
    assert fresh["bytes_per_member"] >= one  # an upper bound: every output a mechanism may report
    text = format_plan(fresh)
    assert "12 task(s)" in text and "files" in text and not (tmp_path / "new.zarr").exists()
    r = _cli("run", "sumsy", *ARGS, "--members", "6", "--out", "d.zarr", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0 and "12 to compute" in r.stdout and not (tmp_path / "d.zarr").exists()


@pytest.mark.skipif(not slurm_cluster.available(),
                    reason="no SLURM here (Debian's slurm-wlm and munge: the test starts them when present)")
def test_slurm_job_array_fills_one_store_bit_identical_to_sync(plain, tmp_path):
    from slurm_cluster import single_node_slurm

    with single_node_slurm(tmp_path) as sbatch:
        out = tmp_path / "slurm.zarr"
        common = " ".join(ARGS + ["--set", "'run.snapshot_ticks=[90]'"])
        exe = f"{sys.executable} -m spms_mc"
        assert _cli("init", "sumsy", *ARGS, "--set", "run.snapshot_ticks=[90]", "--members", "6", "--out",
                    str(out), cwd=tmp_path).returncode == 0
        script = tmp_path / "array.sh"
        script.write_text("#!/bin/bash\n"
                          "A=$((SLURM_ARRAY_TASK_ID * 2)); B=$((A + 2))\n"
                          f"{exe} run sumsy {common} --out {out} --member-range $A:$B --scheduler sync --quiet\n")
        sbatch(["--array=0-2", "--wait", f"--output={tmp_path}/task-%a.log", str(script)])
        r = _cli("status", str(out), cwd=tmp_path)
        assert r.returncode == 0, r.stdout + "".join(p.read_text() for p in tmp_path.glob("task-*.log"))
        _same(zstore.open_store(plain).load(), zstore.open_store(out).load())
