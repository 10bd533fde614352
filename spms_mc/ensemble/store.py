"""Zarr v3 ensemble stores: created once from a template, filled task by task, resumable.

Layout: the in-memory dataset of one member with the sweep dimensions (one per swept key, named
by the key with ``_`` for ``.``, e.g. ``sumsy_demurrage``, the dotted key in the coordinate's ``key``
attribute) and ``member`` in front, every member-dependent
variable chunked one (grid point, member) per chunk. The store is created up front from a
template (``to_zarr(compute=False)``: shapes, coordinates, attributes; nothing computed), then
every task writes only its own region and, after its data, its ``done`` flag
(metadata-after-data), so concurrent writers never share a chunk and an interrupted run keeps
every finished member. Completion is never inferred from chunk presence (zarr 3 skips empty
chunks). Readers and writers here use ``consolidated=False`` (consolidated metadata is an extension
of zarr-python, not of the zarr v3 spec); once a run or resume has filled the store,
:func:`consolidate` adds it for other readers (a plain ``xr.open_zarr`` then opens without a
warning).

Once every member is done the store is packed (:func:`pack`): every variable rewritten with zarr
v3's sharding codec, the chunks inside a shard still one (grid point, member) each, so the file
count stops growing with members x variables. A store is unpacked before it grows, since concurrent
writers must never share a file.

The attributes hold the resolved scenario (TOML), the root seed, the member count, package
versions and a fingerprint of all of these; ``--resume`` refuses a store whose fingerprint
differs, because a resumed run must produce exactly what an uninterrupted one would.

Creation is atomic: the template and the first member(s) are written under a temporary name in the
store's parent folder (``.NAME.partial-PID-RANDOM-HOST``) and the folder is renamed into place only
when complete, so a kill during creation leaves no store at ``path`` - only a stale partial folder,
removed by the next run (:func:`remove_stale_partials`). A store at ``path`` without any finished
member (an older version's interrupted creation) holds nothing to keep: ``--resume`` rebuilds it
(:func:`resume_state`).

Test hook: with ``SPMS_MC_TEST_CREATE_PAUSE="N:SECONDS"`` in the environment, :func:`create` writes a
line ``SPMS_MC_TEST_CREATE_PAUSE: paused ...`` to stderr and sleeps SECONDS right after the N-th object
(a ``zarr.json`` or a coordinate chunk) written into the template, or just before the rename when the
template has fewer objects - so a test can kill the process mid-creation at a chosen point.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

INT_FILL = np.iinfo(np.int64).min
LAYOUT_VERSION = 2  # 2: sweep dimensions named sumsy_demurrage (not sumsy.demurrage)
PARTIAL = ".partial-"
PAUSE_ENV = "SPMS_MC_TEST_CREATE_PAUSE"
STALE_AFTER_S = 24 * 3600  # a partial folder of another host is stale after this long


class StoreError(RuntimeError):
    """A store path cannot be used as asked (exists, belongs to another run, not a spms_mc store)."""


def result_versions(versions: dict) -> dict:
    """The versions results may depend on: spms_mc's (the model and its kernels) in full, numpy's and
    numba's up to the minor release (a patch release changes no result: money is integer and the
    draws are counter-based); no other package."""
    keep = {}
    for k in ("spms_mc", "numpy", "numba"):
        if k in versions:
            v = str(versions[k])
            keep[k] = v if k == "spms_mc" else ".".join(v.split(".")[:2])
    return keep


def fingerprint(scenario_toml: str, seed: int, versions: dict) -> str:
    """What must be equal for a resumed run to produce the bytes of an uninterrupted one: the
    resolved scenario, the seed, the store layout and :func:`result_versions`. Not the member count:
    member i is the same whatever the count, so a store can grow (:func:`grow`)."""
    keep = result_versions(versions)
    blob = json.dumps({"scenario": scenario_toml, "seed": str(seed), "layout": LAYOUT_VERSION, "versions": keep},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _template(first: xr.Dataset, sweep: tuple, members: int) -> xr.Dataset:
    from ..core.config import sweep_dim

    lead_dims = tuple(sweep_dim(k) for k, _ in sweep) + ("member",)
    lead_shape = tuple(len(v) for _, v in sweep) + (members,)
    data = {}
    for name, var in first.data_vars.items():
        shape = lead_shape + var.shape[1:]
        chunks = (1,) * len(lead_shape) + var.shape[1:]
        fill = INT_FILL if np.issubdtype(var.dtype, np.integer) else np.nan
        data[name] = (lead_dims + var.dims[1:], da.full(shape, fill, dtype=var.dtype, chunks=chunks), var.attrs)
    data["done"] = (lead_dims, da.zeros(lead_shape, dtype=np.int8, chunks=(1,) * len(lead_shape)),
                    {"long_name": "member finished", "units": "1",
                     "description": "1 once the member's data is completely written"})
    coords = {k: v for k, v in first.coords.items() if k != "member"}
    coords["member"] = ("member", np.arange(members, dtype=np.int64), first["member"].attrs)
    from ..core.config import key_table

    docs = {key: doc for key, _, doc in key_table()}
    for k, values in sweep:
        coords[sweep_dim(k)] = (sweep_dim(k), np.asarray(values), {
            "key": k, "long_name": k, "units": "as the scenario key",
            "description": f"the swept scenario key {k}: {docs.get(k, '')}".rstrip(": ")})
    return xr.Dataset(data, coords=coords, attrs=first.attrs)


def create(path, first: xr.Dataset, *, sweep: tuple = (), members: int, attrs: dict,
           extra: dict | None = None, initial: tuple = (), position: tuple = (),
           sweep_dims: tuple = ()) -> None:
    """Create the store at ``path`` (which must not exist) with ``first`` (one member) as template.

    ``extra`` adds small variables without a member dim (e.g. per-grid-point closed forms), written
    with the template. An attribute set to None in ``attrs`` is removed. ``initial``: member datasets
    (at grid ``position``) written, with their done flags, before the store appears. Everything is
    written under a temporary name next to ``path`` and renamed into place when complete.
    """
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path} exists; pass --resume to complete it or --overwrite to replace it")
    tmpl = _template(first, sweep, members)
    tmpl.attrs.update({k: v for k, v in attrs.items() if v is not None})
    for k in [k for k, v in attrs.items() if v is None]:
        tmpl.attrs.pop(k, None)
    for name, (dims, values, vattrs) in (extra or {}).items():
        tmpl[name] = (dims, values, vattrs)
    enc = {name: {"chunks": tmpl[name].data.chunksize} for name in tmpl.data_vars
           if hasattr(tmpl[name].data, "chunksize")}
    for name in extra or {}:  # chunked as the member variables along the sweep dims, so ds.chunks is defined
        enc[name] = {"chunks": tuple(1 for _ in tmpl[name].dims)}
    tmp = path.parent / f".{path.name}{PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()}"
    pause = _test_pause()
    try:
        target = _pausing_store(tmp, pause) if pause else tmp
        tmpl.to_zarr(target, mode="w-", compute=False, zarr_format=3, consolidated=False, encoding=enc)
        for ds in initial:
            write_member(tmp, ds, position, sweep_dims)
        if pause and not pause["done"]:
            _do_pause(pause, tmp)
        try:
            os.rename(tmp, path)  # atomic; refuses a non-empty folder that appeared meanwhile
        except OSError as exc:
            raise StoreError(f"{path} appeared while this run was creating it ({exc.strerror}); "
                             f"pass --resume to complete it or --overwrite to replace it") from None
    except BaseException:
        remove(tmp)
        raise


def _test_pause() -> dict | None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return None
    after, _, seconds = spec.partition(":")
    return {"after": int(after), "seconds": float(seconds or 60), "writes": 0, "done": False}


def _do_pause(pause: dict, tmp: Path) -> None:
    pause["done"] = True
    print(f"{PAUSE_ENV}: paused after {pause['writes']} write(s) into {tmp}", file=sys.stderr, flush=True)
    time.sleep(pause["seconds"])


def _pausing_store(tmp: Path, pause: dict):
    """A local zarr store that pauses after the ``pause['after']``-th object written (test hook)."""
    from zarr.storage import LocalStore

    class PausingStore(LocalStore):
        async def set(self, key, value, *args, **kwargs):
            out = await super().set(key, value, *args, **kwargs)
            pause["writes"] += 1
            if pause["writes"] == pause["after"] and not pause["done"]:
                _do_pause(pause, tmp)
            return out

    return PausingStore(tmp)


def partials(path) -> list[Path]:
    """Temporary folders of interrupted or running creations of the store ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{glob.escape(path.name)}{PARTIAL}*"))


def _stale(partial: Path, name: str, marker: str = PARTIAL) -> bool:
    pid, _, rest = partial.name[len(f".{name}{marker}"):].partition("-")
    _, _, host = rest.partition("-")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True  # its creator is gone
        except OSError:
            return False  # alive (another user's)
        return False  # alive: a creation still running
    try:
        return time.time() - partial.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def remove_stale_partials(path) -> list[Path]:
    """Remove the temporary folders left by killed creations (or :func:`pack` rewrites) of ``path``;
    return them. A store a killed :func:`pack` had moved aside is renamed back to ``path`` if nothing
    took its place."""
    path = Path(path)
    if path.parent.is_dir():
        for old in sorted(path.parent.glob(f".{glob.escape(path.name)}{REPLACED}*")):
            if _stale(old, path.name, REPLACED):
                if path.exists():
                    remove(old)
                else:
                    os.rename(old, path)
    gone = [p for p in partials(path) if _stale(p, path.name)]
    for p in gone:
        remove(p)
    return gone


def root_attrs(path) -> dict | None:
    """The store's attributes read from its root ``zarr.json`` (None: not a zarr group)."""
    return _root_attrs(Path(path))


def _root_attrs(path: Path) -> dict | None:
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    return (meta.get("attributes") or {}) if isinstance(meta, dict) else None


def _finished_any(path: Path) -> bool:
    chunks = path / "done" / "c"
    return chunks.is_dir() and any(f.is_file() and not f.name.endswith(".partial") for f in chunks.rglob("*"))


def _template_debris(path: Path) -> bool:
    """Only what an interrupted template write leaves: metadata, single-chunk coordinates, zarr's
    own partial files."""
    for f in path.rglob("*"):
        if f.is_dir() or f.name == "zarr.json" or f.name.endswith(".partial"):
            continue
        parts = f.relative_to(path).parts
        if "c" not in parts or any(p != "0" for p in parts[parts.index("c") + 1:]):
            return False
    return True


def _what_differs(attrs: dict, what: dict | None) -> str:
    """'; differs: ...' naming which of the run's facts differ from the store's (when known)."""
    if not what:
        return ""
    stored = {"scenario": attrs.get("scenario"), "seed": str(attrs.get("root_seed")),
              "versions": result_versions({k[len("version_"):]: v for k, v in attrs.items()
                                           if k.startswith("version_")})}
    diff = [k for k in ("scenario", "seed") if str(stored[k]) != str(what.get(k))]
    now = result_versions(what.get("versions", {}))
    diff += [f"{k} {stored['versions'].get(k)} -> {now[k]}" for k in now if stored["versions"].get(k) != now[k]]
    return f"; differs: {', '.join(diff)}" if diff else ""


def resume_state(path, fp: str, what: dict | None = None) -> tuple[np.ndarray | None, str | None]:
    """What ``--resume`` finds at the existing ``path`` of the run with fingerprint ``fp``.

    ``(done flags, None)``: a store of this run, to complete. ``(None, message)``: an incomplete
    store holding no finished member (an interrupted creation), removed here to be rebuilt.
    Raises :class:`StoreError` for a store of another run or anything else.
    """
    path = Path(path)
    attrs = _root_attrs(path) if path.is_dir() else None
    if attrs and "fingerprint" in attrs:
        if attrs["fingerprint"] != fp:
            raise StoreError(
                f"{path} belongs to a different run (the resolved scenario, seed or the versions results "
                f"depend on differ: fingerprint {str(attrs['fingerprint'])[:12]} != {fp[:12]}"
                f"{_what_differs(attrs, what)}); refusing to resume into it - use another --out or --overwrite")
        if not _finished_any(path):
            remove(path)
            return None, (f"{path} holds no finished member (its creation was interrupted): "
                          f"rebuilding it from the start")
    elif path.is_dir() and not attrs and not _finished_any(path) and _template_debris(path):
        remove(path)
        return None, (f"{path} is an incomplete store without metadata (its creation was interrupted): "
                      f"rebuilding it from the start")
    open_store(path)  # a readable spms_mc store, or a StoreError naming what it is not
    return done_mask(path), None


def remove(path) -> None:
    path = Path(path)
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def write_member(path, ds: xr.Dataset, position: tuple = (), sweep_dims: tuple = ()) -> None:
    """Write one member (``ds`` has a member dim of size 1) at a grid position, then its done flag."""
    member = int(ds["member"].values[0])
    region = {d: slice(i, i + 1) for d, i in zip(sweep_dims, position)}
    region["member"] = slice(member, member + 1)
    body = ds.drop_vars(list(ds.coords))
    if sweep_dims:
        body = body.expand_dims({d: 1 for d in sweep_dims})
    body.to_zarr(path, region=region, zarr_format=3, consolidated=False)
    lead = tuple(sweep_dims) + ("member",)
    flag = xr.Dataset({"done": (lead, np.ones((1,) * len(lead), np.int8))})
    flag.to_zarr(path, region=region, zarr_format=3, consolidated=False)


def grow(path, members: int) -> None:
    """Give the store at ``path`` ``members`` members (more than it has): every array with a
    ``member`` dimension is resized, the new members' ``done`` flags read 0 (the array's fill
    value) and the ``member`` coordinate is extended; the members it has are untouched."""
    import zarr

    group = zarr.open_group(str(path), mode="r+", zarr_format=3)
    have = int(group.attrs["members"])
    if members <= have:
        raise StoreError(f"{path} has {have} members; growing it needs more (got {members})")
    for name, arr in group.arrays():
        dims = tuple(arr.metadata.dimension_names or ())
        if "member" not in dims:
            continue
        axis = dims.index("member")
        shape = list(arr.shape)
        shape[axis] = members
        arr.resize(tuple(shape))
        if name == "member":
            arr[have:members] = np.arange(have, members, dtype=arr.dtype)
    group.attrs["members"] = members


SHARD_BYTES = 128 * 2**20  # uncompressed bytes of one shard at most (when one member fits)
REPLACED = ".replaced-"


def packed(path) -> bool:
    """Whether the store's member variables are sharded (:func:`pack`)."""
    return bool((_root_attrs(Path(path)) or {}).get("packed"))


def shard_layout(ds: xr.Dataset, name: str) -> dict:
    """The shard extent per dimension of variable ``name``: every grid point (or one, when a
    member's data at all points passes :data:`SHARD_BYTES`), as many members as fit in
    :data:`SHARD_BYTES`, other dimensions whole. Sized per variable: the chunks an opened store shows
    are the inner ones (one grid point and member), whatever the shards."""
    var = ds[name]
    lead = [d for d in ds["done"].dims if d != "member" and d in var.dims]
    points = int(np.prod([ds.sizes[d] for d in lead])) if lead else 1
    per_point = int(np.prod([n for d, n in var.sizes.items() if d not in lead and d != "member"])) \
        * var.dtype.itemsize
    whole_grid = points * per_point <= SHARD_BYTES
    extent = {d: (ds.sizes[d] if whole_grid else 1) for d in lead}
    if "member" in var.dims:
        one = per_point * (points if whole_grid else 1)
        extent["member"] = max(1, min(ds.sizes["member"], SHARD_BYTES // max(1, one)))
    return extent


def pack(path, *, shards: bool = True) -> int:
    """Rewrite a finished store with every variable sharded (zarr v3's sharding codec): the chunks
    stay one (grid point, member) each, so reading one member is as cheap as before, but a shard
    file holds many of them (:func:`shard_layout`) and the file count no longer grows with members x
    variables. ``shards=False`` undoes it (a store is unpacked before it grows: concurrent writers
    must never share a file). Returns the number of files in the store afterwards.

    The new store is written beside the old under a temporary name and swapped in with two renames;
    a kill between them leaves the old store under ``.NAME.replaced-...``, which
    :func:`remove_stale_partials` (run at the start of every run) renames back.
    """
    path = Path(path)
    ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
    lead = set(ds["done"].dims)
    enc = {}
    for name in list(ds.variables):
        var = ds.variables[name]
        keep = {k: var.encoding[k] for k in ("compressors", "filters", "_FillValue", "dtype") if k in var.encoding}
        var.encoding = {}
        if name in ds.coords:
            continue
        chunks = tuple(1 if d in lead else max(1, n) for d, n in zip(var.dims, var.shape))
        enc[name] = {**keep, "chunks": chunks}
        if shards and var.ndim and var.size:  # 0-d or empty (no flows booked): one chunk, no shard
            # dask chunks as the shards: each shard written whole, by one task
            extent = shard_layout(ds, name)
            enc[name]["shards"] = tuple(extent.get(d, n) for d, n in zip(var.dims, var.shape))
            ds[name] = ds[name].chunk(dict(zip(var.dims, enc[name]["shards"])))
    ds.attrs["packed"] = int(shards)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()}"
    tmp = path.parent / f".{path.name}{PARTIAL}{token}"
    old = path.parent / f".{path.name}{REPLACED}{token}"
    try:
        ds.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False, encoding=enc)
        os.rename(path, old)
        os.rename(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    remove(old)
    consolidate(path)
    return sum(len(files) for _, _, files in os.walk(path))


def pack_once(path) -> bool:
    """:func:`pack` by the first of several processes to get here (the tasks of a job array that
    finish together): an exclusive lock file beside the store, a stale one (its process gone, or
    older than a day on another host) taken over. True if this process packed."""
    path = Path(path)
    lock = path.parent / f".{path.name}.packing"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _stale_lock(lock):
                remove(lock)
                continue
            return False
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {socket.gethostname()}\n")
        try:
            if not packed(path):
                pack(path)
            return True
        finally:
            remove(lock)
    return False


def _stale_lock(lock: Path) -> bool:
    try:
        pid, host = lock.read_text().split()
    except (OSError, ValueError):
        return time.time() - lock.stat().st_mtime > 60 if lock.exists() else True
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    return time.time() - lock.stat().st_mtime > STALE_AFTER_S


def consolidate(path) -> None:
    """Write the store's consolidated metadata (zarr-python's extension to zarr v3: every array's
    metadata in the root ``zarr.json``), so a plain ``xr.open_zarr(path)`` opens it in one read and
    without a warning. Written once a run or resume has filled the store; every reader here opens
    with ``consolidated=False``, so a store killed before this step still reads right."""
    import warnings

    import zarr

    with warnings.catch_warnings():  # "not part of the Zarr format 3 specification": known, and optional
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(str(path), zarr_format=3)


def open_store(path, *, only_done: bool = False) -> xr.Dataset:
    """Open a store lazily; ``only_done`` keeps only members finished at every grid point."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path} does not exist")
    try:
        ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not a store we can read"
        raise StoreError(f"{path} is not a zarr v3 store ({type(exc).__name__}: {exc})") from None
    if "done" not in ds or "fingerprint" not in ds.attrs:
        raise StoreError(f"{path} is a zarr store but not a spms_mc store (no done flags / fingerprint)")
    if "tick" in ds.coords:
        # the samples indexed by tick: ds.sel(time=3000) and ds.sel(tick=3000) both select tick 3000
        ds = ds.assign_coords(time=("time", ds["tick"].values, {
            "long_name": "tick", "units": "ticks", "description": "the sample's tick (the index of tick)"}))
        if "tick" not in ds.indexes:
            ds = ds.set_xindex("tick")
    if only_done:
        done = ds["done"].values.reshape(-1, ds.sizes["member"]).min(axis=0)
        ds = ds.isel(member=np.flatnonzero(done == 1))
    return ds


def done_mask(path) -> np.ndarray:
    """The done flags (sweep dims..., member) as a NumPy array."""
    return xr.open_zarr(path, consolidated=False, zarr_format=3)["done"].values
