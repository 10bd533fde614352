"""The ensemble layer's public entry points: run an ensemble into a store, open a store."""
from __future__ import annotations

from . import accessor  # noqa: F401  (registers ds.spms)
from .fanout import open_ensemble as _open
from .fanout import run_ensemble as _run


def run_ensemble(scenario, members: int = 1, seed: int = 0, store="ensemble.zarr", **kwargs):
    """Run an ensemble (members x sweep grid) into a zarr v3 store; returns it opened lazily. With
    ``store=None`` the ensemble runs through a temporary store, removed afterwards, and comes back
    as an in-memory Dataset.

    See :func:`spms_mc.ensemble.fanout.run_ensemble_with_summary` for the options (scheduler,
    workers, resume, overwrite, progress, jobqueue, dry_run, member_range, create_only).
    ``progress``: a callable ``(done, total)``, or None: a tqdm bar of finished tasks in a Jupyter
    notebook (a widget where ipywidgets is installed), nothing elsewhere; False: nothing.
    """
    if kwargs.get("progress") is None and _in_notebook():
        import importlib.util

        if importlib.util.find_spec("ipywidgets") is not None:  # a widget; text lines otherwise (no warning)
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm

        bar = tqdm(total=None, desc="tasks", unit="task")

        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        kwargs["progress"] = progress
        try:
            return run_ensemble(scenario, members, seed, store, **kwargs)
        finally:
            bar.close()
    if kwargs.get("progress") is False:
        kwargs["progress"] = None
    if store is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="spms_mc_") as tmp:
            out = _run(scenario, members, seed, f"{tmp}/ensemble.zarr", **kwargs)
            return out if isinstance(out, str) else _open(f"{tmp}/ensemble.zarr").load()
    out = _run(scenario, members, seed, store, **kwargs)
    return out if isinstance(out, str) else _open(store)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def open_ensemble(path, *, only_done: bool = False):
    """Open an ensemble store lazily; ``ds.spms`` has fan charts, convergence and summaries. A folder
    written by ``spms-mc compare`` opens as one Dataset with a ``regime`` dimension (loaded)."""
    from .compare import is_compare_store, open_compare

    if is_compare_store(path):
        return open_compare(path, only_done=only_done)
    return _open(path, only_done=only_done)
