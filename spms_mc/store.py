"""Zarr v3 ensemble stores: created once from a template, filled member by member.

The store is laid out like the in-memory dataset with a ``member`` dimension of the final size.
It is created from the first finished member as a template (shapes, coordinates, attributes;
every member-dependent variable chunked one member per chunk), then every member writes only its
own region (``region={"member": slice(i, i + 1)}``), and a ``done`` flag is set after its data
(metadata-after-data ordering), so an interrupted run keeps every finished member and the flag
tells which ones they are (completion is never inferred from chunk presence: zarr 3 skips empty
chunks). ``consolidated=False`` throughout: consolidated metadata is not part of zarr v3.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

INT_FILL = np.iinfo(np.int64).min


class StoreError(RuntimeError):
    """A store path cannot be used as asked (exists without --overwrite, not a spms_mc store)."""


def _template(first: xr.Dataset, members: np.ndarray) -> xr.Dataset:
    m = len(members)
    data = {}
    for name, var in first.data_vars.items():
        shape = (m,) + var.shape[1:]
        chunks = (1,) + var.shape[1:]
        if np.issubdtype(var.dtype, np.integer):
            arr = da.full(shape, INT_FILL, dtype=var.dtype, chunks=chunks)
        else:
            arr = da.full(shape, np.nan, dtype=var.dtype, chunks=chunks)
        data[name] = (var.dims, arr, var.attrs)
    data["done"] = (("member",), da.zeros(m, dtype=np.int8, chunks=1),
                    {"description": "1 once the member's data is completely written"})
    coords = {k: v for k, v in first.coords.items() if k != "member"}
    coords["member"] = members
    tmpl = xr.Dataset(data, coords=coords, attrs=first.attrs)
    tmpl.attrs["members"] = m
    return tmpl


def create(path, first: xr.Dataset, members, *, overwrite: bool = False) -> None:
    """Create the store at ``path`` for ``members`` with ``first`` (one member) as template."""
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise StoreError(f"{path} exists; pass --overwrite to replace it")
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    tmpl = _template(first, np.asarray(members, np.int64))
    enc = {name: {"chunks": (1,) + tmpl[name].shape[1:]} for name in tmpl.data_vars}
    tmpl.to_zarr(path, mode="w-", compute=False, zarr_format=3, consolidated=False, encoding=enc)


def write_member(path, ds: xr.Dataset, index: int) -> None:
    """Write one member's data into its own region, then set its done flag."""
    region = {"member": slice(index, index + 1)}
    drop = [k for k in ds.coords if "member" not in ds[k].dims or k == "member"]
    body = ds.drop_vars(drop)
    body.to_zarr(path, region=region, zarr_format=3, consolidated=False)
    flag = xr.Dataset({"done": (("member",), np.ones(1, np.int8))})
    flag.to_zarr(path, region=region, zarr_format=3, consolidated=False)


def open_store(path, *, only_done: bool = False) -> xr.Dataset:
    """Open a store lazily; ``only_done`` keeps the members whose done flag is set."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path} does not exist")
    try:
        ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not a store we can read"
        raise StoreError(f"{path} is not a zarr v3 store: {exc}") from None
    if "done" not in ds or "scenario" not in ds.attrs:
        raise StoreError(f"{path} is a zarr store but not a spms_mc store (no done flags / scenario)")
    if "tick" in ds.coords and "tick" not in ds.indexes:
        ds = ds.set_xindex("tick")
    if only_done:
        ds = ds.isel(member=np.flatnonzero(ds["done"].values == 1))
    return ds
