"""Ensembles at scale: members and sweep points fanned out over dask.distributed into one store.

One task = one member at one point of the sweep grid. Every task builds its own state from
``(scenario, root seed, member)`` alone (counter-based RNG), runs it, writes its own region of the
zarr v3 store on the worker and returns only a small summary, so the result does not depend on the
scheduler, the number of workers or the order tasks finish in. Members share their random draws
across sweep points (common random numbers): member i sees the same draws at every grid point.

Schedulers (``scheduler=``):

* ``"local"`` (default): workers sized to the machine, this process one of them. Small
  populations get one single-threaded worker per core, the others threads of this process
  (:class:`LocalThreads`); populations of ``engine.PARALLEL_MIN_ACCOUNTS`` accounts or more get one
  worker using every core, or with ``workers`` > 1 worker processes of a
  ``dask.distributed.LocalCluster`` (:class:`LocalPool`). ``workers`` overrides; numba threads per
  worker are set so workers x threads never exceed the cores (``NUMBA_NUM_THREADS`` through the
  nanny's pre-spawn environment, dask/distributed#9075).
* ``"sync"``: no cluster, tasks one after another in this process (debugging).
* ``"tcp://HOST:PORT"``: an existing cluster.
* ``"slurm"`` / ``"pbs"``: a dask-jobqueue cluster (optional extra ``spms_mc[cluster]``);
  ``dry_run=True`` returns the job script without submitting anything.

Kernels are compiled in this process first (filling the on-disk cache), so workers only read the
numba cache and no two processes race to write it (numba#4807); a cluster's workers load them once
each before the fan-out, local workers on their first task. With the local scheduler this process
is one of the workers: it computes from the start while the others (threads of it for small
populations, worker processes from ``PARALLEL_MIN_ACCOUNTS`` up) join it (:func:`_fan_out_local`). The first
task of a new store runs here too: its dataset is the store's template, and the store appears at
its path (renamed from a temporary folder) with that member already done. A kill at any point loses
nothing finished: ``resume=True`` completes the store, rebuilds one whose creation was interrupted
and removes stale temporary folders (:mod:`.store`), saying so on stderr and in the summary's
``notes``.
"""
from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import Scenario, ScenarioError, load_scenario, scenario_from_dict
from ..core.errors import DETERMINISTIC_ERRORS
from . import store as zstore


def _scenario(toml_text: str) -> Scenario:
    return scenario_from_dict(tomllib.loads(toml_text))


def member_task(scenario_toml: str, seed: int, member: int, position: tuple, path: str,
                sweep_dims: tuple) -> dict:
    """Run one member at one grid point and write it into the store (runs on a worker)."""
    import numba

    from ..engine.member import Engine
    from ..engine.output import to_dataset

    sc = _scenario(scenario_toml)
    t0 = time.perf_counter()
    ds = to_dataset(Engine(sc, seed, member).run())
    waited = time.perf_counter()
    while not os.path.exists(path):  # a local worker may start before the store is created
        if time.perf_counter() - waited > 86400:
            raise zstore.StoreError(f"{path} did not appear within a day: its creating process is gone")
        time.sleep(0.02)
    zstore.write_member(path, ds, position, sweep_dims)
    return {"position": tuple(position), "member": member, "seconds": time.perf_counter() - t0,
            "money_stock": float(ds["money_stock"].values[0, -1]), "gini": float(ds["gini"].values[0, -1]),
            "numba_threads": numba.get_num_threads(), "pid": os.getpid(),
            "thread": threading.current_thread().name}


def batch_task(scenario_toml: str, seed: int, members: tuple, position: tuple, path: str,
               sweep_dims: tuple) -> list[dict]:
    """Run a batch of members at one grid point on this worker's GPU and write each into the store."""
    from ..engine.batch import simulate_batch

    sc = _scenario(scenario_toml)
    t0 = time.perf_counter()
    datasets = simulate_batch(sc, seed, members)
    each = (time.perf_counter() - t0) / len(members)  # the batch's time, shared out
    out = []
    for m, ds in zip(members, datasets):
        zstore.write_member(path, ds, position, sweep_dims)
        out.append({"position": tuple(position), "member": m, "batch": len(members), "seconds": each,
                    "money_stock": float(ds["money_stock"].values[0, -1]), "gini": float(ds["gini"].values[0, -1]),
                    "pid": os.getpid()})
    return out


def batches(tasks: list, size: int) -> list:
    """Group ``(position, member)`` tasks into ``(position, members)`` batches of at most ``size``."""
    out, by_pos = [], {}
    for pos, m in tasks:
        by_pos.setdefault(pos, []).append(m)
    for pos, ms in by_pos.items():
        out += [(pos, tuple(ms[k:k + size])) for k in range(0, len(ms), size)]
    return out


@dataclass(frozen=True)
class DeterministicFailure:
    """What a task returns, instead of raising, when it fails with a deterministic error (a bad
    scenario, a ledger or identity failure, an overflow): dask retries a task that raises, and the
    same member would only fail again. The client raises ``error`` when it collects the result."""

    error: BaseException


def no_retry(task, *args):
    """Run ``task(*args)`` on a worker; a deterministic error comes back as a
    :class:`DeterministicFailure` value, any other exception is raised (and retried by dask)."""
    try:
        return task(*args)
    except DETERMINISTIC_ERRORS as err:
        return DeterministicFailure(err)


def collect(result):
    """A task's result on the client: a deterministic failure is raised here, once."""
    if isinstance(result, DeterministicFailure):
        raise result.error
    return result


def warmup_task(scenario_toml: str) -> float:
    """Compile the scenario's kernels in this process (run on every worker before the fan-out)."""
    from ..engine.warmup import warmup

    return warmup(_scenario(scenario_toml))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def local_layout(sc: Scenario, n_tasks: int, workers: int | None) -> tuple[int, int]:
    """(workers, numba threads per worker) for a LocalCluster on this machine."""
    from ..engine.member import PARALLEL_MIN_ACCOUNTS

    n = cores()
    if workers is None:
        workers = 1 if sc.n_accounts >= PARALLEL_MIN_ACCOUNTS else n
    workers = max(1, min(workers, n_tasks))
    return workers, max(1, n // workers)


class EnsembleResult(dict):
    """Summary of a finished ensemble run (also printed by the CLI)."""


def run_ensemble(scenario, members: int = 1, seed: int = 0, store: str | os.PathLike = "ensemble.zarr", *,
                 scheduler: str = "local", workers: int | None = None, resume: bool = False,
                 overwrite: bool = False, progress=None, jobqueue: dict | None = None,
                 dry_run: bool = False, gpu_batch: int | None = None,
                 member_range: tuple[int, int] | None = None, create_only: bool = False):
    """Run ``members`` members (at every sweep point) into a zarr v3 store; return it opened lazily.

    See :func:`run_ensemble_with_summary` for the parameters; this returns only the dataset (or,
    with ``dry_run``, the batch job script).
    """
    out = run_ensemble_with_summary(scenario, members, seed, store, scheduler=scheduler, workers=workers,
                                    resume=resume, overwrite=overwrite, progress=progress,
                                    jobqueue=jobqueue, dry_run=dry_run, gpu_batch=gpu_batch,
                                    member_range=member_range, create_only=create_only)
    return out if isinstance(out, str) else out[0]


def run_ensemble_with_summary(scenario, members: int = 1, seed: int = 0,
                              store: str | os.PathLike = "ensemble.zarr", *, scheduler: str = "local",
                              workers: int | None = None, resume: bool = False, overwrite: bool = False,
                              progress=None, jobqueue: dict | None = None, dry_run: bool = False,
                              tick_progress=None, gpu_batch: int | None = None,
                              member_range: tuple[int, int] | None = None, create_only: bool = False):
    """Run ``members`` members (at every sweep point) into a zarr v3 store; return it opened lazily.

    Parameters
    ----------
    scenario : Scenario, preset name or TOML path; its ``sweep`` makes a grid (one dim per key)
    members, seed : ensemble size and root seed; member i is ``simulate(sc, seed, member=i)``
    store : path of the zarr v3 store
    scheduler : "local" | "sync" | "tcp://HOST:PORT" | "slurm" | "pbs"
    workers : local workers (default: sized to the machine) or jobqueue jobs
    resume : complete an interrupted store (refused if its fingerprint differs)
    overwrite : replace an existing store
    progress : callable ``progress(done, total)`` after every finished task
    jobqueue : keyword arguments for SLURMCluster / PBSCluster (cores, memory, walltime, ...)
    dry_run : for slurm/pbs, return the job script instead of running
    tick_progress : callable ``(ticks_done, ticks_total)`` for the first task (run in this process)
    gpu_batch : with ``run.backend = "cuda"``, members advanced together on one GPU
        (:mod:`spms_mc.engine.batch`; default: as many as fit in half the device's free memory). The local
        and sync schedulers run the batches one after another in this process (one GPU); a cluster
        scheduler sends each batch to a worker. Results do not depend on it.
    member_range : ``(a, b)``: compute only members a .. b-1 (at every grid point) into the existing
        store (made by ``create_only``), for batch job arrays: each array task runs its slice, the
        slices can run at once (every member writes its own chunks), and the task that finds the
        store complete packs it. ``members`` is the store's (None or equal).
    create_only : create the store for ``members`` members (computing its first task, the
        template) and return; ``spms-mc init``.

    A store is packed (:func:`.store.pack`: sharded, a handful of files a variable) once every
    member is done.

    Returns ``(dataset, summary)``, or the job script with ``dry_run``.
    """
    from ..engine.batch import auto_batch_size, batch_problems
    from ..engine.member import check_seed
    from ..engine.output import closed_form_money_stock, versions
    from ..engine.warmup import warmup

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    path = Path(store)
    if member_range is not None:
        members = _member_range_members(path, member_range, members, resume, overwrite, create_only)
        resume = True
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
        raise ScenarioError(f"members must be a positive integer, got {members!r}")
    members = int(members)
    seed = check_seed(seed)
    if resume and overwrite:
        raise ScenarioError("--resume and --overwrite exclude each other")
    sched = _parse_scheduler(scheduler)
    if dry_run:
        if sched not in ("slurm", "pbs"):
            raise ScenarioError("--dry-run prints a batch job script: it needs --scheduler slurm or pbs")
        cluster = _jobqueue_cluster(sched, jobqueue or {}, 1)
        try:
            return cluster.job_script()
        finally:
            cluster.close()
    if sched in ("slurm", "pbs"):  # before any work: without the submit command the jobs never start
        import shutil

        submit = "sbatch" if sched == "slurm" else "qsub"
        if shutil.which(submit) is None:
            raise ScenarioError(f"--scheduler {sched} submits jobs with {submit}, which is not on PATH here; "
                                f"accepted: a machine where {submit} runs (a cluster's login node), or --scheduler "
                                f"local, sync or tcp://HOST:PORT (--dry-run prints the job script anywhere)")

    if gpu_batch is not None and (isinstance(gpu_batch, bool) or not isinstance(gpu_batch, (int, np.integer))
                                  or gpu_batch < 1):
        raise ScenarioError(f"gpu_batch must be a positive integer (members per GPU batch), got {gpu_batch!r}")
    if gpu_batch is not None and sc.run.backend != "cuda":
        raise ScenarioError(f"--gpu-batch applies to run.backend = 'cuda' (this run: {sc.run.backend!r}); "
                            f"accepted: drop it, or add --backend cuda")
    batched = sc.run.backend == "cuda" and not batch_problems(sc) and members > 1
    vers = versions()
    toml_text = sc.to_toml()
    fp = zstore.fingerprint(toml_text, seed, vers)
    grid = sc.grid()
    sweep_dims = sc.sweep_dims
    point_toml = {pos: s.to_toml() for pos, s in grid}
    tasks = [(pos, m) for pos, _ in grid for m in range(members)]
    total = len(tasks)

    t0 = time.perf_counter()
    compile_s = 0.0
    if path.exists() and overwrite:
        zstore.remove(path)
    notes = [_note(f"removed {p}, left by an interrupted creation of {path}")
             for p in zstore.remove_stale_partials(path)]
    done = None
    if path.exists():
        if not resume:
            raise zstore.StoreError(f"{path} exists; pass --resume to complete it or --overwrite to replace it")
        done, note = zstore.resume_state(path, fp, {"scenario": toml_text, "seed": str(seed),
                                                    "versions": vers})  # None: an interrupted creation
        if note:
            notes.append(_note(note))
        have = done.shape[-1] if done is not None else members
        if members < have:
            raise zstore.StoreError(f"{path} holds {have} members; --members {members} would leave some out; "
                                    f"accepted: --members {have} or more with --resume (more grows the ensemble)")
        if members > have:  # member i does not depend on the count: the new members join the store
            if zstore.packed(path):  # new members are written concurrently: one file each again
                zstore.pack(path, shards=False)
            zstore.grow(path, members)
            done = zstore.done_mask(path)
            notes.append(_note(f"{path}: grown from {have} to {members} members"))
    path_existed = done is not None
    pool, first_seconds = None, None
    if path_existed and create_only:
        raise zstore.StoreError(f"{path} exists; spms-mc init creates a new store (accepted: another --out, "
                                f"or --overwrite to replace it)")
    if member_range is not None:
        tasks = [(pos, m) for pos, m in tasks if member_range[0] <= m < member_range[1]]
    if path_existed:
        tasks = [(pos, m) for pos, m in tasks if not done[pos + (m,)]]
    else:
        compile_s = warmup(grid[0][1], batch=batched)
        if batched:
            size = int(gpu_batch or auto_batch_size(sc, members))
            pos, first_members = batches(tasks, size)[0]
            tasks = [(p, m) for p, m in tasks if not (p == pos and m in first_members)]
            from ..engine.batch import simulate_batch

            first_batch = simulate_batch(_scenario(point_toml[pos]), seed, first_members, tick_progress)
            first = first_batch[0]
        else:
            pos, m = tasks.pop(0)
            first_batch = None
            if sched == "local" and tasks and not create_only and (
                    (workers is not None and workers > 1) or sc.n_accounts < _min_parallel()):
                # the workers start (and compute) while this process computes the template
                tasks = collections.deque(tasks)
                pool, _ = local_pool(sc, len(tasks) + 1, workers, tasks, (point_toml, seed, str(path), sweep_dims))
            t_first = time.perf_counter()
            try:
                first = _local_dataset(point_toml[pos], seed, m, tick_progress)
            except BaseException:
                if pool is not None:
                    pool.close()
                raise
            first_seconds = time.perf_counter() - t_first
        attrs = {"fingerprint": fp, "scenario": toml_text, "root_seed": str(seed), "members": members,
                 "sweep": ",".join(k for k, _ in sc.sweep)}
        # the closed form in one place in every store: a variable over the grid (0-d without a sweep)
        attrs["money_stock_closed_form"] = None
        closed = np.array([closed_form_money_stock(s) or np.nan for _, s in grid]).reshape(sc.grid_shape)
        extra = {"money_stock_closed_form": (sweep_dims, closed, {
            "long_name": "closed-form money stock", "units": "currency units",
            "description": "|eligible| x GI / d where it applies (NaN: no closed form for this scenario)"})}
        try:
            zstore.create(path, first, sweep=sc.sweep, members=members, attrs=attrs, extra=extra,
                          initial=tuple(first_batch or [first]), position=pos, sweep_dims=sweep_dims)
        except BaseException:
            if pool is not None:
                pool.close()
            raise
        if progress:
            progress(total - len(tasks), total)
    if member_range is not None:
        total = len(tasks) + (0 if path_existed else len(first_batch or [first]))
    done_before = total - len(tasks) - (0 if resume and path_existed else len(first_batch or [first]))
    already = total - len(tasks)
    summaries = []
    if create_only:
        tasks = []
    if tasks and batched:
        size = int(gpu_batch or auto_batch_size(sc, members))
        summaries = _fan_out_batches(sched, batches(tasks, size), point_toml, seed, str(path), sweep_dims, workers,
                                     jobqueue or {}, progress, already, total)
    elif tasks:
        summaries = _fan_out(sched, sc, tasks, point_toml, seed, str(path), sweep_dims, workers,
                             jobqueue or {}, progress, already, total, warmed=not path_existed, pool=pool,
                             first_seconds=first_seconds)
    elif pool is not None:
        pool.close()
    if zstore.packed(path):
        pass  # complete and packed before this run, nothing computed
    elif zstore.done_mask(path).all():
        if member_range is None:
            zstore.pack(path)
        else:  # array tasks may finish together: the first to take the lock packs
            zstore.pack_once(path)
    elif member_range is None:
        zstore.consolidate(path)
    result = EnsembleResult(store=str(path), tasks=total, computed=total - done_before,
                            done_before=done_before, seconds=time.perf_counter() - t0,
                            compile_seconds=compile_s, summaries=summaries, notes=notes)
    return zstore.open_store(path), result


def parse_member_range(text: str) -> tuple[int, int]:
    """``"a:b"`` -> ``(a, b)``: members a .. b-1 (Python slice notation, a < b)."""
    a, sep, b = str(text).partition(":")
    try:
        lo, hi = int(a), int(b)
    except ValueError:
        lo = hi = -1
    if not sep or lo < 0 or hi <= lo:
        raise ScenarioError(f"--member-range {text!r} is not accepted; accepted: A:B with 0 <= A < B, members "
                            f"A .. B-1 (e.g. 0:10)")
    return lo, hi


def _member_range_members(path: Path, member_range, members, resume, overwrite, create_only) -> int:
    """The store's member count, after checking a member range against it."""
    if overwrite or create_only:
        raise ScenarioError("--member-range fills a store made by spms-mc init: it excludes --overwrite and init")
    attrs = zstore.root_attrs(path) if path.is_dir() else None
    if not attrs or "members" not in attrs:
        raise zstore.StoreError(f"{path} is not a spms_mc store; --member-range fills a store made first by "
                                f"`spms-mc init SCENARIO --members M --out {path}` (with the same --set, "
                                f"--sweep and --seed)")
    have = int(attrs["members"])
    if members is not None and int(members) != have:
        raise ScenarioError(f"--members {members} differs from the {have} members of {path}; accepted: "
                            f"--members {have} or none with --member-range (grow a store with --resume)")
    lo, hi = member_range
    if hi > have:
        raise ScenarioError(f"--member-range {lo}:{hi} reaches past the {have} members of {path}; accepted: "
                            f"A:B with B <= {have}")
    return have


def plan(sc: Scenario, members: int, store, *, member_range=None, scheduler: str = "local",
         workers: int | None = None) -> dict:
    """What a run would do, computing nothing: tasks (all, and left to compute where the store
    exists), bytes written (uncompressed; exact from an existing store's arrays, otherwise an upper
    bound from the outputs the enabled mechanisms declare) and files (during the run one per variable
    and task, after packing a few per variable)."""
    from ..core import registry
    from ..engine.member import STAT_NAMES, sample_ticks
    from ..engine.output import DESCRIPTIONS

    path = Path(store)
    grid = len(sc.grid()) if sc.sweep else 1
    todo = [(p, m) for p in range(grid) for m in range(members)
            if member_range is None or member_range[0] <= m < member_range[1]]
    out = {"store": str(path), "grid_points": grid, "members": members, "tasks": len(todo)}
    attrs = zstore.root_attrs(path) if path.is_dir() else None
    if attrs:
        done = zstore.done_mask(path).reshape(grid, -1)
        todo = [(p, m) for p, m in todo if m >= done.shape[1] or not done[p, m]]
        ds = zstore.open_store(path).drop_vars("time")  # as stored: time is indexed by tick on opening
        per_member = sum(int(np.prod([n for d, n in v.sizes.items() if d != "member"])) * v.dtype.itemsize
                         for v in ds.data_vars.values() if "member" in v.dims) // grid
        member_vars = sum("member" in v.dims for v in ds.data_vars.values())
        other_vars, coords, exact = len(ds.data_vars) - member_vars, len(ds.coords), True
    else:
        on = registry.enabled(sc)
        samples = len(sample_ticks(sc))
        wealth = any(m.uses_net_wealth for m in on) or any(m.name == "wealth" for m in on)
        series = (len(DESCRIPTIONS) + sum(len(m.outputs) for m in on)
                  + (len(STAT_NAMES) + 2 if wealth else 0))
        flows = 2 + sum(len(m.flows) for m in on)
        lorenz = sc.run.lorenz_points * (2 if wealth else 1)
        per_member = 8 * (samples * (series + 4 * flows + lorenz + len(sc.run.track))
                          + len(sc.run.snapshot_ticks) * sc.n_accounts)
        member_vars, other_vars, coords, exact = series + 5, int(grid > 1), 8 + len(sc.sweep), False
    out["to_compute"] = len(todo)
    out["bytes_per_member"] = int(per_member)
    out["bytes"] = int(per_member * len(todo))
    out["bytes_exact"] = exact
    # files: the root zarr.json, a zarr.json and a chunk per coordinate, a zarr.json per variable and
    # one chunk per task (or per shard) of every member variable, one per grid point of the others
    fixed = 1 + 2 * coords + other_vars * (1 + grid) + member_vars
    shards = max(1, -(-members * grid * per_member // zstore.SHARD_BYTES))
    out["files_during_run"] = int(fixed + member_vars * grid * members)
    out["files_packed"] = int(1 + 2 * coords + 2 * other_vars + member_vars * (1 + shards))
    if scheduler == "local":
        out["workers"], out["threads_per_worker"] = local_layout(sc, max(1, len(todo)), workers)
    out["scheduler"] = scheduler
    return out


def format_plan(p: dict) -> str:
    bound = "" if p["bytes_exact"] else "at most "  # an estimate counts every output a mechanism may report
    lines = [f"store {p['store']}: {p['grid_points']} grid point(s) x {p['members']} member(s) = "
             f"{p['grid_points'] * p['members']} task(s); this run: {p['tasks']} task(s), "
             f"{p['to_compute']} to compute",
             f"data: {bound}{p['bytes_per_member'] / 2**20:.3g} MiB per member, {bound}"
             f"{p['bytes'] / 2**20:.4g} MiB to write (uncompressed)",
             f"files: about {p['files_during_run']} while members are written (one chunk per variable and "
             f"task), about {p['files_packed']} once the store is complete and packed (sharded)",
             f"scheduler: {p['scheduler']}" + (f", {p['workers']} worker(s) x {p['threads_per_worker']} numba "
                                                f"thread(s)" if "workers" in p else "")]
    return "\n".join(lines)


def _note(msg: str) -> str:
    """Tell the user what was done to a store on the way (stderr), and keep it for the summary."""
    print(f"spms-mc: {msg}", file=sys.stderr, flush=True)
    return msg


def _local_dataset(toml_text: str, seed: int, member: int, tick_progress=None):
    from ..engine.member import Engine
    from ..engine.output import to_dataset

    return to_dataset(Engine(_scenario(toml_text), seed, member).run(tick_progress))


def _parse_scheduler(s: str) -> str:
    if s in ("local", "sync", "slurm", "pbs") or (isinstance(s, str) and s.startswith("tcp://")):
        return s
    raise ScenarioError(f"scheduler = {s!r} is not accepted; accepted: local, sync, tcp://HOST:PORT, slurm, pbs")


def _jobqueue_cluster(kind: str, options: dict, jobs: int):
    try:
        import dask_jobqueue
    except ImportError:
        raise ScenarioError(f"--scheduler {kind} needs dask-jobqueue: pip install 'spms_mc[cluster]'") from None
    cls = dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster
    opts = {"cores": 1, "memory": "4GB", **options}
    opts.setdefault("processes", opts["cores"])  # one single-threaded worker process per core
    # dask runs (cores / processes) tasks at once in each worker process: numba gets one thread per
    # task, so tasks x numba threads never exceed the job's cores
    prologue = list(opts.pop("job_script_prologue", []))
    prologue += ["export NUMBA_NUM_THREADS=1", "export OMP_NUM_THREADS=1"]
    cluster = cls(job_script_prologue=prologue, **opts)
    return cluster


def _fan_out(sched, sc, tasks, point_toml, seed, path, sweep_dims, workers, jobqueue, progress, already,
             total, warmed=False, pool=None, first_seconds=None):
    from ..engine.warmup import warmup

    if sched == "sync":
        out = []
        for k, (pos, m) in enumerate(tasks):
            out.append(member_task(point_toml[pos], seed, m, pos, path, sweep_dims))
            if progress:
                progress(already + k + 1, total)
        return out

    if sched == "local":
        return _fan_out_local(sc, tasks, point_toml, seed, path, sweep_dims, workers, progress, already, total,
                              warmed, pool, first_seconds)

    from distributed import as_completed

    client, cluster = _cluster_client(sched, jobqueue, workers)
    try:
        warm = next(iter(point_toml.values()))
        if not warmed:  # this process first: fills the numba cache before the workers read it
            warmup(_scenario(warm))
        client.wait_for_workers(1, timeout=600)
        client.run(warmup_task, warm)
        run_id = uuid.uuid4().hex[:8]
        futures = [client.submit(no_retry, member_task, point_toml[pos], seed, m, pos, path, sweep_dims,
                                 key=f"spms-{run_id}-{'-'.join(map(str, pos))}-m{m}", pure=False, retries=2)
                   for pos, m in tasks]
        out = []
        for k, fut in enumerate(as_completed(futures)):
            out.append(collect(fut.result()))
            if progress:
                progress(already + k + 1, total)
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


CLUSTER_START_S = 3.0  # about what starting a local worker process costs (spawn, imports, numba cache)


def _local_cluster(n_workers: int, threads: int):
    """A LocalCluster of ``n_workers`` single-threaded worker processes, numba limited to ``threads``."""
    import dask
    from distributed import Client, LocalCluster

    mem = max(2**30, int(0.8 * _available() / (n_workers + 1)))
    # The nanny lets an existing environment variable override its pre-spawn config and then
    # writes the config into this process's environment: set the variable itself for the
    # spawn and restore it afterwards, or a second cluster would inherit the first one's value.
    saved = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": str(threads),
                              "distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, memory_limit=mem)
    finally:
        if saved is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = saved
    return cluster, Client(cluster)


class LocalPool:
    """Worker processes beside this one for the local scheduler: a LocalCluster of ``helpers``
    single-threaded workers started in a background thread, fed from the shared ``pending`` tasks
    (two queued per worker) as soon as it is up - even before the store exists: a task computes
    first and waits for the store to appear before writing (:func:`member_task`), so the workers'
    start-up and first tasks overlap with this process computing the store's template."""

    def __init__(self, helpers, threads, pending, submit_args):
        import threading

        self.helpers, self.pending, self.submit_args = helpers, pending, submit_args
        self.lock = threading.Lock()
        self.client = self.cluster = self.error = None
        self.queue, self.in_flight = None, 0
        self.run_id = uuid.uuid4().hex[:8]
        self.thread = threading.Thread(target=self._start, args=(threads,), name="spms-mc-local-cluster",
                                       daemon=True)
        self.thread.start()

    def _start(self, threads):
        try:
            self.cluster, self.client = _local_cluster(self.helpers, threads)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller; the work goes on here
            self.error = exc
            return
        self.top_up()

    def top_up(self) -> None:
        """Submit pending tasks until every worker has two."""
        from distributed import as_completed

        point_toml, seed, path, sweep_dims = self.submit_args
        with self.lock:
            while self.client is not None and self.pending and self.in_flight < 2 * self.helpers:
                pos, m = self.pending.popleft()
                fut = self.client.submit(no_retry, member_task, point_toml[pos], seed, m, pos, path, sweep_dims,
                                         key=f"spms-{self.run_id}-{'-'.join(map(str, pos))}-m{m}", pure=False,
                                         retries=2)
                if self.queue is None:  # as_completed needs a client: made with the first future
                    self.queue = as_completed([fut])
                else:
                    self.queue.add(fut)
                self.in_flight += 1

    def ready(self, block: bool = False) -> list:
        """Results of the finished tasks (``block``: wait for one if none is finished)."""
        with self.lock:
            queue, n = self.queue, self.in_flight
        if queue is None or not n:
            return []
        futs = queue.next_batch(block=block)
        with self.lock:
            self.in_flight -= len(futs)
        return [collect(f.result()) for f in futs]

    def close(self) -> None:
        self.thread.join()
        if self.client is not None:
            self.client.close()
            self.cluster.close()


class LocalThreads:
    """The other local workers as threads of this process, for populations below
    ``PARALLEL_MIN_ACCOUNTS``: there every member runs the serial kernels, which release the GIL
    (``nogil``), so threads compute members side by side with no start-up at all. Each thread takes
    the next task from the shared ``pending`` deque until it is empty (no waiting on this process to
    hand tasks out); the interface is :class:`LocalPool`'s. A task computes and then waits for the
    store to exist before writing."""

    def __init__(self, helpers, threads, pending, submit_args):
        import queue

        self.helpers, self.threads, self.pending, self.submit_args = helpers, threads, pending, submit_args
        self.lock = threading.Lock()
        self.results: queue.Queue = queue.Queue()
        self.in_flight, self.error = 0, None
        self.workers = [threading.Thread(target=self._work, name=f"spms-mc-member-{k}", daemon=True)
                        for k in range(helpers)]
        for t in self.workers:
            t.start()

    def _work(self) -> None:
        import numba

        numba.set_num_threads(self.threads)  # per thread: as a worker process of this layout would
        point_toml, seed, path, sweep_dims = self.submit_args
        while True:
            with self.lock:
                if not self.pending:
                    return
                pos, m = self.pending.popleft()
                self.in_flight += 1
            try:
                self.results.put((True, member_task(point_toml[pos], seed, m, pos, path, sweep_dims)))
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by ready()
                with self.lock:
                    self.pending.clear()  # no new member starts after a failure
                self.results.put((False, exc))

    def top_up(self) -> None:
        """Nothing to hand out: the threads take tasks themselves."""

    def ready(self, block: bool = False) -> list:
        import queue

        out = []
        while True:
            try:
                ok, value = self.results.get(block=block and not out)
            except queue.Empty:
                return out
            with self.lock:
                self.in_flight -= 1
            if not ok:
                raise value
            out.append(value)

    def close(self) -> None:
        with self.lock:
            self.pending.clear()  # after an error or Ctrl-C: the members running finish, no new ones start
        for t in self.workers:
            t.join()


def local_pool(sc, n_tasks: int, workers, pending, submit_args):
    """(the other workers beside this process, or None; numba threads per worker): threads of this
    process below ``PARALLEL_MIN_ACCOUNTS`` accounts (:class:`LocalThreads`), worker processes from
    there up (:class:`LocalPool`)."""
    n_workers, threads = local_layout(sc, n_tasks, workers)
    helpers = min(n_workers - 1, len(pending))
    if helpers <= 0:
        return None, threads
    kind = LocalThreads if sc.n_accounts < _min_parallel() else LocalPool
    return kind(helpers, threads, pending, submit_args), threads


def _min_parallel() -> int:
    from ..engine.member import PARALLEL_MIN_ACCOUNTS

    return PARALLEL_MIN_ACCOUNTS


def _fan_out_local(sc, tasks, point_toml, seed, path, sweep_dims, workers, progress, already, total, warmed,
                   pool=None, first_seconds=None):
    """The local scheduler: this process is one of the workers. It computes tasks itself beside
    ``workers - 1`` others (:func:`local_pool`): threads of this process for small populations
    (:class:`LocalThreads`, no start-up), else worker processes (:class:`LocalPool`) that start
    beside it and take tasks as they come up, so their start-up (spawn, imports, numba cache load,
    paid once per worker) overlaps with work instead of delaying it. ``pool``: started earlier,
    with ``tasks`` its pending deque. Without an explicit ``workers``, worker processes start only
    when the work left would take this process longer than starting them (:data:`CLUSTER_START_S`,
    judged from one task's time). Every task writes its own chunks, so who computes it changes no
    byte."""
    import numba

    from ..engine.warmup import warmup

    pending = tasks if isinstance(tasks, collections.deque) else collections.deque(tasks)
    out: list = []
    done = [already]

    def finished(summary):
        out.append(summary)
        done[0] += 1
        if progress:
            progress(done[0], total)

    def run_here():
        with (pool.lock if pool is not None else contextlib.nullcontext()):
            if not pending:
                return 0.0
            pos, m = pending.popleft()
        t0 = time.perf_counter()
        finished(member_task(point_toml[pos], seed, m, pos, path, sweep_dims))
        return time.perf_counter() - t0

    _, threads = local_layout(sc, len(pending) + 1, workers)
    before = numba.get_num_threads()
    numba.set_num_threads(min(before, threads))  # this process is one worker of several
    try:
        if not warmed:
            warmup(_scenario(next(iter(point_toml.values()))))
        args = (point_toml, seed, path, sweep_dims)
        if pool is None and (workers is not None or sc.n_accounts < _min_parallel()):  # threads cost nothing
            pool, _ = local_pool(sc, len(pending) + 1, workers, pending, args)
        elif pool is None and local_layout(sc, len(pending) + 1, None)[0] > 1:
            first = first_seconds if first_seconds is not None else run_here()  # do worker processes pay off?
            if len(pending) * first >= CLUSTER_START_S:
                pool, _ = local_pool(sc, len(pending) + 1, None, pending, args)
        while True:
            if pool is not None:
                pool.top_up()
                for summary in pool.ready():
                    finished(summary)
            with (pool.lock if pool is not None else contextlib.nullcontext()):
                # read together: a task leaves ``pending`` and enters ``in_flight`` under this lock
                left, flying = bool(pending), (pool.in_flight if pool is not None else 0)
            if left:
                run_here()
            elif flying:
                for summary in pool.ready(block=True):
                    finished(summary)
            else:
                break
        if pool is not None and pool.error is not None:
            _note(f"local worker processes did not start ({type(pool.error).__name__}: {pool.error}); "
                  f"every task ran in this process")
        return out
    finally:
        numba.set_num_threads(before)
        if pool is not None:
            pool.close()


def _cluster_client(sched, jobqueue, workers):
    """(client, cluster to close or None) for an existing cluster (tcp://) or slurm/pbs jobs."""
    from distributed import Client

    if sched.startswith("tcp://"):
        return Client(sched), None
    cluster = _jobqueue_cluster(sched, jobqueue, workers or 1)
    cluster.scale(jobs=workers or 1)
    return Client(cluster), cluster


def _fan_out_batches(sched, tasks, point_toml, seed, path, sweep_dims, workers, jobqueue, progress, already, total):
    """Batches of members on GPUs: in this process one after another (local, sync: one GPU), or one
    batch per task on the workers of a cluster (each worker with its own GPU)."""
    out = []
    if sched in ("sync", "local"):
        for pos, ms in tasks:
            out += batch_task(point_toml[pos], seed, ms, pos, path, sweep_dims)
            if progress:
                progress(already + len(out), total)
        return out
    from distributed import as_completed

    client, cluster = _cluster_client(sched, jobqueue, workers)
    try:
        client.wait_for_workers(1, timeout=600)
        run_id = uuid.uuid4().hex[:8]
        futures = [client.submit(no_retry, batch_task, point_toml[pos], seed, ms, pos, path, sweep_dims,
                                 key=f"spms-{run_id}-{'-'.join(map(str, pos))}-b{ms[0]}", pure=False, retries=2)
                   for pos, ms in tasks]
        for fut in as_completed(futures):
            out += collect(fut.result())
            if progress:
                progress(already + len(out), total)
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _available() -> int:
    from ..core.config import available_memory

    return available_memory()


def open_ensemble(path, *, only_done: bool = False):
    """Open an ensemble store lazily (dask arrays); ``ds.spms`` gives the common summaries."""
    from . import accessor

    assert accessor.SpmsAccessor  # importing registers ds.spms
    return zstore.open_store(path, only_done=only_done)
