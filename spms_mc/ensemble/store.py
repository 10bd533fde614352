"""Zarr v3 ensemble stores: created once from a template, filled task by task, resumable.

Layout: the in-memory dataset of one member with the sweep dimensions (one per swept key, named
by the dotted key, e.g. ``sumsy.demurrage``) and ``member`` in front, every member-dependent
variable chunked one (grid point, member) per chunk. The store is created up front from a
template (``to_zarr(compute=False)``: shapes, coordinates, attributes; nothing computed), then
every task writes only its own region and, after its data, its ``done`` flag
(metadata-after-data), so concurrent writers never share a chunk and an interrupted run keeps
every finished member. Completion is never inferred from chunk presence (zarr 3 skips empty
chunks). ``consolidated=False`` throughout: consolidated metadata is not part of zarr v3.

The attributes hold the resolved scenario (TOML), the root seed, the member count, package
versions and a fingerprint of all of these; ``--resume`` refuses a store whose fingerprint
differs, because a resumed run must produce exactly what an uninterrupted one would.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

INT_FILL = np.iinfo(np.int64).min
LAYOUT_VERSION = 1


class StoreError(RuntimeError):
    """A store path cannot be used as asked (exists, belongs to another run, not a spms_mc store)."""


def fingerprint(scenario_toml: str, seed: int, members: int, versions: dict) -> str:
    """What must be equal for a resumed run to produce the bytes of an uninterrupted one."""
    keep = {k: versions[k] for k in ("spms_mc", "numpy", "numba") if k in versions}
    blob = json.dumps({"scenario": scenario_toml, "seed": str(seed), "members": members,
                       "layout": LAYOUT_VERSION, "versions": keep}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _template(first: xr.Dataset, sweep: tuple, members: int) -> xr.Dataset:
    lead_dims = tuple(k for k, _ in sweep) + ("member",)
    lead_shape = tuple(len(v) for _, v in sweep) + (members,)
    data = {}
    for name, var in first.data_vars.items():
        shape = lead_shape + var.shape[1:]
        chunks = (1,) * len(lead_shape) + var.shape[1:]
        fill = INT_FILL if np.issubdtype(var.dtype, np.integer) else np.nan
        data[name] = (lead_dims + var.dims[1:], da.full(shape, fill, dtype=var.dtype, chunks=chunks), var.attrs)
    data["done"] = (lead_dims, da.zeros(lead_shape, dtype=np.int8, chunks=(1,) * len(lead_shape)),
                    {"description": "1 once the member's data is completely written"})
    coords = {k: v for k, v in first.coords.items() if k != "member"}
    coords["member"] = np.arange(members, dtype=np.int64)
    for k, values in sweep:
        coords[k] = np.asarray(values)
    return xr.Dataset(data, coords=coords, attrs=first.attrs)


def create(path, first: xr.Dataset, *, sweep: tuple = (), members: int, attrs: dict,
           extra: dict | None = None) -> None:
    """Create the store at ``path`` (which must not exist) with ``first`` (one member) as template.

    ``extra`` adds small variables without a member dim (e.g. per-grid-point closed forms), written
    with the template. An attribute set to None in ``attrs`` is removed.
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
    tmpl.to_zarr(path, mode="w-", compute=False, zarr_format=3, consolidated=False, encoding=enc)


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
    if "tick" in ds.coords and "tick" not in ds.indexes:
        ds = ds.set_xindex("tick")
    if only_done:
        done = ds["done"].values.reshape(-1, ds.sizes["member"]).min(axis=0)
        ds = ds.isel(member=np.flatnonzero(done == 1))
    return ds


def done_mask(path) -> np.ndarray:
    """The done flags (sweep dims..., member) as a NumPy array."""
    return xr.open_zarr(path, consolidated=False, zarr_format=3)["done"].values
