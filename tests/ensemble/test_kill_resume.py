"""Kills at any point of a run, each followed by ``--resume``, give the store of an uninterrupted run.

The whole ``spms-mc run`` command runs in its own process group (``start_new_session=True``) and is
killed with SIGKILL to the group (``os.killpg``), dask workers included. Kills during store
creation use the test hook of :mod:`spms_mc.ensemble.store`: ``SPMS_MC_TEST_CREATE_PAUSE="N:S"``
pauses the template writer for S seconds after the N-th object written (before the rename when
N exceeds the template's objects) and says so on stderr, where the test waits for it.
"""
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import spms_mc
from spms_mc.ensemble import store as zstore

OVERRIDES = {"population.households": 10000, "run.ticks": 1800}
MEMBERS = 6
SEED = 5


@pytest.fixture(scope="module")
def ref_path(tmp_path_factory):
    """The store of the uninterrupted run, made in this process."""
    path = tmp_path_factory.mktemp("ref") / "ref.zarr"
    sc = spms_mc.load_scenario("sumsy", OVERRIDES)
    spms_mc.run_ensemble(sc, members=MEMBERS, seed=SEED, store=path, scheduler="sync")
    return path


@pytest.fixture(scope="module")
def reference(ref_path):
    return zstore.open_store(ref_path)


def assert_identical(path, ref) -> None:
    """Every variable, coordinate and the fingerprint equal, bit for bit (NaN where NaN)."""
    ds = zstore.open_store(path)
    assert set(ds.data_vars) == set(ref.data_vars)
    assert dict(ds.sizes) == dict(ref.sizes)
    assert ds["done"].values.tolist() == [1] * MEMBERS
    for name in list(ref.data_vars) + list(ref.coords):
        a, b = ds[name].values, ref[name].values
        assert a.dtype == b.dtype, name
        if a.dtype.kind in "fiu":
            assert a.tobytes() == b.tobytes(), name
        else:
            assert np.array_equal(a, b), name
    assert ds.attrs == ref.attrs


def _cli(path, *extra):
    args = []
    for k, v in OVERRIDES.items():
        args += ["--set", f"{k}={v}"]
    return [sys.executable, "-m", "spms_mc", "run", "sumsy", *args, "--members", str(MEMBERS),
            "--seed", str(SEED), "--out", str(path), "--quiet", *extra]


def _resume(path, *extra):
    r = subprocess.run(_cli(path, "--resume", *extra), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return r


def _kill(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def _wait_for_line(proc, marker: str, timeout: float) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    buf, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        if sel.select(timeout=0.5):
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith(marker):
                    return line
    _kill(proc)
    raise AssertionError(f"no {marker!r} line on stderr: {buf.decode(errors='replace')[-2000:]}")


def _done_count(path) -> int:
    """Finished members: one stored chunk of ``done`` per finished member (0 is not stored)."""
    chunks = path / "done" / "c"
    try:
        return len([f for f in chunks.iterdir() if not f.name.endswith(".partial")])
    except OSError:
        return 0


# writes into the template: 1 = the root group without attributes, 2 = with them (fingerprint),
# 20 = about half the arrays' metadata, 10**6 = all of it and the first member, before the rename
@pytest.mark.parametrize("after", [1, 2, 20, 10**6])
def test_killed_during_store_creation_then_resumed_equals_uninterrupted(tmp_path, reference, after):
    path = tmp_path / "s.zarr"
    env = {**os.environ, zstore.PAUSE_ENV: f"{after}:60"}
    proc = subprocess.Popen(_cli(path, "--scheduler", "sync"), env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    _wait_for_line(proc, zstore.PAUSE_ENV, 120)
    _kill(proc)
    store_after_kill = path.exists()
    r = _resume(path, "--scheduler", "sync")
    assert_identical(path, reference)
    # atomic creation: the kill left no store at the path, only a temporary folder, removed by --resume
    assert not store_after_kill
    assert "left by an interrupted creation" in r.stderr
    assert zstore.partials(path) == []


@pytest.mark.parametrize("where,extra", [
    ("mid", ("--scheduler", "sync")),
    ("end", ("--scheduler", "sync")),
    ("mid", ("--scheduler", "local", "--workers", "2")),
])
def test_killed_mid_fan_out_or_near_the_end_then_resumed_equals_uninterrupted(tmp_path, reference, where, extra):
    path = tmp_path / "s.zarr"
    target = 2 if where == "mid" else MEMBERS - 1
    proc = subprocess.Popen(_cli(path, *extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and _done_count(path) < target and proc.poll() is None:
        time.sleep(0.002)
    _kill(proc)
    done = int(zstore.done_mask(path).sum())
    assert target <= done < MEMBERS, "the kill should land mid-run"
    r = _resume(path, *extra)
    assert f"{MEMBERS - done} task(s) computed ({done} already done)" in r.stdout
    assert_identical(path, reference)


def _sync_resume(path):
    from spms_mc.ensemble.fanout import run_ensemble_with_summary

    sc = spms_mc.load_scenario("sumsy", OVERRIDES)
    return run_ensemble_with_summary(sc, MEMBERS, SEED, path, scheduler="sync", resume=True)


def test_resume_rebuilds_a_store_left_incomplete_and_keeps_what_is_not_its_own(tmp_path, ref_path, reference):
    import shutil

    # an older version's interrupted creation: the template written in place, partly, no member done
    path = tmp_path / "old.zarr"
    shutil.copytree(ref_path, path)
    shutil.rmtree(path / "done" / "c")
    for name in ("flows_created", "gini", "member"):
        shutil.rmtree(path / name)
    _, summary = _sync_resume(path)
    assert any("rebuilding it" in n for n in summary["notes"])
    assert summary["done_before"] == 0 and summary["computed"] == MEMBERS
    assert_identical(path, reference)

    # killed before the root metadata had its attributes: array metadata and coordinates only
    (path / "zarr.json").unlink()
    shutil.rmtree(path / "done" / "c")
    for var in reference.data_vars:
        shutil.rmtree(path / var / "c", ignore_errors=True)
    _, summary = _sync_resume(path)
    assert any("incomplete store without metadata" in n for n in summary["notes"])
    assert_identical(path, reference)

    # the same debris of another run (other fingerprint) is refused and left alone
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["fingerprint"] = "0" * 64
    (path / "zarr.json").write_text(json.dumps(meta))
    shutil.rmtree(path / "done" / "c")
    with pytest.raises(zstore.StoreError, match="belongs to a different run"):
        _sync_resume(path)
    assert (path / "zarr.json").exists()

    # a folder that is no store of ours is refused and left alone
    other = tmp_path / "mine.zarr"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(zstore.StoreError, match="not a zarr v3 store|not a spms_mc store"):
        _sync_resume(other)
    assert (other / "notes.txt").read_text() == "keep me"

    # stale temporary folders (their creator is gone) are removed; a running creation's is kept
    fresh = tmp_path / "fresh.zarr"
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".fresh.zarr{zstore.PARTIAL}{dead.pid}-deadbeef-{host}"
    live = tmp_path / f".fresh.zarr{zstore.PARTIAL}{os.getpid()}-cafebabe-{host}"
    for p in (stale, live):
        (p / "done").mkdir(parents=True)
    _, summary = _sync_resume(fresh)
    assert not stale.exists() and live.exists()
    assert any(str(stale) in n for n in summary["notes"])
    assert_identical(fresh, reference)
