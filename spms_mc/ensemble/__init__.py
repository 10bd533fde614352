"""The ensemble layer: members fanned out over dask into a zarr v3 store (:mod:`.fanout`,
:mod:`.store`), resumable, and the ``ds.spms`` accessor (:mod:`.accessor`)."""
