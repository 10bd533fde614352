"""The ``spms-mc`` command line: list scenarios, show one resolved, run members to a zarr store,
report on stores, benchmark against the machine's limits, validate against the published references.

Exit statuses (README, "Command line"), each failure as one line on stderr:

* 0 - done;
* 2 - bad input (:class:`ScenarioError`, a store that cannot be used, a report input, a usage error):
  the line names what was wrong and what is accepted;
* 3 - the model's bookkeeping failed (:class:`LedgerError`, :class:`IdentityError`);
* 4 - money would leave the int64 range (:class:`MoneyOverflowError`);
* 1 - the system refused something (``OSError``: a file system, a network; ``MemoryError``);
* 70 - an internal error (a bug): the line names the file holding the full traceback;
* 130 - interrupted.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import numpy as np

from ..core.config import ScenarioError, load_scenario, parse_assignments, preset_names

EXIT_INPUT = 2
EXIT_LEDGER = 3
EXIT_OVERFLOW = 4
EXIT_SYSTEM = 1
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)
EXIT_ABORTED = 130


def _scenario(name, sets, backend=None):
    overrides = parse_assignments(sets)
    if backend is not None:
        overrides["run.backend"] = backend
    return load_scenario(name, overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spms_mc")
def cli():
    """Monte Carlo simulator of monetary regimes (SuMSy, kinetic exchange, ...)."""


@cli.command()
def scenarios():
    """List the built-in scenarios."""
    for name in preset_names():
        sc = load_scenario(name)
        click.echo(f"{name:<24} {sc.description}")


@cli.command()
@click.argument("scenario")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a scenario key")
def show(scenario, sets):
    """Print a scenario fully resolved, as TOML."""
    click.echo(_scenario(scenario, sets).to_toml(), nl=False)


@cli.command()
@click.argument("scenario")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a scenario key, e.g. --set sumsy.demurrage=0.02 (repeatable)")
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2,...",
              help="sweep a key over values; each swept key becomes a dimension (repeatable: a grid)")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1), help="root seed")
@click.option("--members", default=None, type=click.IntRange(1),
              help="ensemble members [default: 1; with --member-range, the store's]")
@click.option("--out", "out", required=True, type=click.Path(), help="output zarr v3 store (STORE.zarr)")
@click.option("--member-range", "member_range", default=None, metavar="A:B",
              help="compute members A .. B-1 only, into a store made by `spms-mc init` (a job array's slice)")
@click.option("--scheduler", default="local", show_default=True, metavar="local|sync|tcp://HOST:PORT|slurm|pbs",
              help="local: a dask LocalCluster sized to this machine; sync: one after another in this "
                   "process; tcp://...: an existing cluster; slurm/pbs: batch jobs via dask-jobqueue")
@click.option("--workers", default=None, type=click.IntRange(1),
              help="local workers (default: sized to the machine) or slurm/pbs jobs")
@click.option("--backend", default=None, type=click.Choice(["cpu", "cuda"]), help="overrides run.backend")
@click.option("--gpu-batch", default=None, type=click.IntRange(1),
              help="with --backend cuda: members advanced together on one GPU (default: as many as fit)")
@click.option("--resume", is_flag=True,
              help="complete an interrupted store (same scenario and seed); with more --members, grow it")
@click.option("--overwrite", is_flag=True, help="replace an existing store")
@click.option("--job", "job_opts", multiple=True, metavar="KEY=VALUE",
              help="slurm/pbs job option (cores, memory, walltime, queue, account, processes, ...)")
@click.option("--dry-run", is_flag=True,
              help="print the task plan (tasks, bytes, files) and, for slurm/pbs, the job script; run nothing")
@click.option("--quiet", is_flag=True, help="no progress display")
def run(scenario, sets, sweeps, seed, members, out, member_range, scheduler, workers, backend, gpu_batch, resume,
        overwrite, job_opts, dry_run, quiet):
    """Run SCENARIO (a built-in name or a TOML file) and write every member to a zarr store."""
    from ..ensemble.fanout import format_plan, parse_member_range, plan, run_ensemble_with_summary
    from ..ensemble.store import root_attrs
    from .progress import Progress, TaskProgress

    sc = _run_scenario(scenario, sets, sweeps, backend)
    jobqueue = parse_assignments(job_opts)
    rng = parse_member_range(member_range) if member_range is not None else None
    if rng is not None and members is None:
        members = int((root_attrs(out) or {}).get("members", 0)) or None  # the store's (checked in the run)
    if dry_run:
        click.echo(format_plan(plan(sc, members or 1, out, member_range=rng, scheduler=scheduler, workers=workers)))
    if scheduler in ("slurm", "pbs"):  # the job script: the --job options checked before any work
        script = _job_script(sc, members or 1, seed, out, scheduler, jobqueue)
        if dry_run:
            click.echo(script, nl=False)
    if dry_run:
        return
    _check_run_input(sc, out, scheduler, resume or rng is not None)
    members = members if members is not None or rng is not None else 1
    total = (members or 0) * (len(sc.grid()) if sc.sweep else 1)
    if rng is not None:
        total = (min(rng[1], members or rng[1]) - rng[0]) * (len(sc.grid()) if sc.sweep else 1)
    show = False if quiet else None
    ticks = Progress(1, enabled=show) if total == 1 else None
    tasks = TaskProgress(total, enabled=show) if total > 1 else None
    ds, summary = run_ensemble_with_summary(sc, members, seed, out, scheduler=scheduler, workers=workers,
                                            resume=resume, overwrite=overwrite, progress=tasks,
                                            jobqueue=jobqueue, tick_progress=ticks, gpu_batch=gpu_batch,
                                            member_range=rng)
    for p in (ticks, tasks):
        if p is not None:
            p.close()
    if rng is not None:
        done = ds["done"].values
        click.echo(f"{sc.name}: members {rng[0]}..{rng[1] - 1}: {summary['computed']} task(s) computed in "
                   f"{summary['seconds']:.2f} s -> {out}; the store has {int(done.sum())} of {done.size} tasks done"
                   + ("; complete, packed" if done.all() else ""))
        return
    final = ds.isel(time=-1)
    ms = final["money_stock"].values
    gini = final["gini"].values
    computed = summary["computed"]
    rate = computed * sc.run.ticks * sc.n_accounts / max(summary["seconds"] - summary["compile_seconds"], 1e-9)
    grid = f" x {len(sc.grid())} sweep points" if sc.sweep else ""
    resumed = f" ({summary['done_before']} already done)" if summary["done_before"] else ""
    click.echo(f"{sc.name}: {members} member(s){grid} x {sc.run.ticks} ticks x {sc.n_accounts} accounts, "
               f"{computed} task(s) computed{resumed} in {summary['seconds']:.2f} s "
               f"({rate:.3g} account-ticks/s) -> {out}; final money stock {np.nanmean(ms):.6g} "
               f"(min {np.nanmin(ms):.6g}, max {np.nanmax(ms):.6g}), Gini {np.nanmean(gini):.4f}"
               + (f"; kernels compiled in {summary['compile_seconds']:.1f} s"
                  if summary["compile_seconds"] > 1 else ""))
    if "top1_share_wealth" in final and not sc.sweep:
        click.echo(_wealth_line(ds, sc))
    if not sc.sweep:
        for line in _regime_lines(ds, sc):
            click.echo(line)


def _run_scenario(scenario, sets, sweeps, backend):
    from ..core.config import parse_sweeps

    overrides = parse_assignments(sets)
    overrides.update(parse_sweeps(sweeps))
    if backend is not None:
        overrides["run.backend"] = backend
    return load_scenario(scenario, overrides)


@cli.command()
@click.argument("scenario")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="override a scenario key (repeatable)")
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=V1,V2,...", help="sweep a key over values")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1), help="root seed")
@click.option("--members", required=True, type=click.IntRange(1), help="ensemble members")
@click.option("--out", "out", required=True, type=click.Path(), help="the zarr v3 store to create")
@click.option("--backend", default=None, type=click.Choice(["cpu", "cuda"]), help="overrides run.backend")
@click.option("--overwrite", is_flag=True, help="replace an existing store")
def init(scenario, sets, sweeps, seed, members, out, backend, overwrite):
    """Create the store of an ensemble for batch job arrays: its layout for every member and grid
    point, and its first task (member 0 at the first grid point, the template). Then each array task
    runs `spms-mc run` with the same SCENARIO, --set, --sweep and --seed and its own --member-range
    A:B; `spms-mc status` tells what is done, and the task that completes the store packs it."""
    from ..ensemble.fanout import run_ensemble_with_summary

    sc = _run_scenario(scenario, sets, sweeps, backend)
    _check_run_input(sc, out, "sync", False)
    ds, summary = run_ensemble_with_summary(sc, members, seed, out, scheduler="sync", overwrite=overwrite,
                                            create_only=True)
    done = ds["done"].values
    click.echo(f"{out}: created for {members} member(s)" + (f" x {done.size // members} grid points"
                                                             if done.size > members else "")
               + f", {int(done.sum())} of {done.size} tasks done (the template) in {summary['seconds']:.2f} s; "
                 f"fill it with: spms-mc run {scenario} ... --out {out} --member-range A:B")


def _regime_lines(ds, sc) -> list[str]:
    """The CETE threshold and the bonds' coverage at the end (mean over members), where they run."""
    final = ds.isel(time=-1)
    lines = []
    if "cete_backed_share" in ds:
        cross = ds["cete_cross_tick"].values / sc.economy.ticks_per_year
        reached = np.isfinite(cross)
        when = (f"reached {sc.cete.threshold:.0%} after {np.median(cross[reached]):.1f} years (median of "
                f"{int(reached.sum())} of {cross.size} member(s) that did)" if reached.any()
                else f"never reached {sc.cete.threshold:.0%}")
        lines.append(f"CETE: {np.nanmean(final['cete_backed_share'].values) * 100:.1f} % of household purchases "
                     f"backed at the end ({when}); M / F = {np.nanmean(final['cete_money_over_backed'].values):.3g} "
                     f"years; tokens {np.nanmean(final['cete_token_share'].values) * 100:.2f} % of all units")
    if "bond_coverage" in ds:
        fees = float(ds["bond_fee_revenue"].sum().values)
        due = float(ds["bond_service_due"].sum().values)
        sold = float(ds["bond_sales"].sum().values) / ds.sizes["member"]
        coverage = f"{fees / due * 100:.0f} %" if due > 0 else "nothing (no debt service due)"
        lines.append(f"bonds: {sold:.6g} sold per member; over the run usage fees covered {coverage} of the debt "
                     f"service due; {np.nanmean(final['bond_integrated_share'].values) * 100:.0f} % of AI firms "
                     f"vertically integrated at the end")
    return lines


def _wealth_line(ds, sc) -> str:
    """Net wealth at the end (the Fed DFA groups, mean over members) and the lock-in year."""
    final = ds.isel(time=-1)
    groups = ", ".join(f"{label} {np.nanmean(final[v].values) * 100:.1f} %" for label, v in (
        ("top 1 %", "top1_share_wealth"), ("next 9 %", "next9_share_wealth"), ("next 40 %", "next40_share_wealth"),
        ("bottom 50 %", "bottom50_share_wealth")))
    lock = ds.spms.lock_in()
    q = lock["years_quantile"].values
    members = lock["years"].size
    never = round(float(lock["never"]) * members)
    threshold = sc.run.lock_in_threshold
    if never == members:
        when = f"the top 1 % never reach {threshold:.0%} within the run"
    else:
        band = ", ".join("never" if not np.isfinite(x) else f"{x:.1f}" for x in (q[0], q[2]))
        median = "never" if not np.isfinite(q[1]) else f"{q[1]:.1f} years"
        when = (f"the top 1 % reach {threshold:.0%} after {median} (median; 90 % band {band}"
                + (f"; {never} of {members} member(s) never" if never else "") + ")")
    return f"net wealth at the end: {groups}; {when}"


@cli.command()
@click.argument("stores", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(), help="output folder for PNGs and index.html")
@click.option("--lorenz-tick", "lorenz_ticks", multiple=True, type=int, help="ticks of the Lorenz panels (repeatable)")
@click.option("--allow-different", is_flag=True,
              help="report stores that are not common-seed runs (different seed, members or ticks), saying so")
def report(stores, out, lorenz_ticks, allow_different):
    """Figures and an HTML page from STORE.zarr (several stores, or a folder of `compare`: a regime
    comparison)."""
    from ..report.pages import report as make_report

    page = make_report(list(stores), out, lorenz_ticks=list(lorenz_ticks) or None, allow_different=allow_different)
    click.echo(f"report: {page} ({len(list(Path(out).glob('*.png')))} figures)")


@cli.command("compare")
@click.argument("regimes", nargs=-1, required=True)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a scenario key in every regime, e.g. --set population.households=10000 (repeatable)")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1), help="root seed")
@click.option("--members", default=8, show_default=True, type=click.IntRange(1), help="members of every regime")
@click.option("--out", "out", required=True, type=click.Path(), help="output zarr v3 store (a root group, one child group per regime)")
@click.option("--scheduler", default="local", show_default=True, metavar="local|sync|tcp://HOST:PORT",
              help="as for `run`")
@click.option("--workers", default=None, type=click.IntRange(1), help="local workers (default: sized to the machine)")
@click.option("--resume", is_flag=True,
              help="complete an interrupted comparison (same regimes and seed; more --members grow it)")
@click.option("--overwrite", is_flag=True, help="replace an existing comparison")
@click.option("--quiet", is_flag=True, help="no progress display")
def compare_cmd(regimes, sets, seed, members, out, scheduler, workers, resume, overwrite, quiet):
    """Run REGIMES (preset names or TOML files) on the same members and seed into one comparison, and
    print each regime's final inequality, money stock and lock-in year with the paired differences."""
    from ..ensemble.compare import compare, compare_summary, format_summary
    from .progress import TaskProgress

    tasks = TaskProgress(members * len(regimes), enabled=False if quiet else None)
    ds = compare(regimes, members=members, seed=seed, store=out, overrides=parse_assignments(sets),
                 scheduler=scheduler, workers=workers, resume=resume, overwrite=overwrite, progress=tasks)
    tasks.close()
    summary = compare_summary(ds)
    table = format_summary(summary)
    Path(out, "summary.md").write_text(table + "\n")
    summary.to_dataframe().to_csv(Path(out, "summary.csv"))
    click.echo(f"{len(regimes)} regimes x {members} member(s), seed {seed}, the same members in every regime -> "
               f"{out} (median [5 %, 95 %] across members at the end of the run):")
    click.echo(table)


@cli.command()
@click.argument("store", type=click.Path())
def status(store):
    """How far STORE (an ensemble store or a `compare` folder) is: members done and missing, per
    regime and grid point; exit 0 when complete, 1 when members are missing."""
    from ..ensemble.compare import is_compare_store, regime_stores
    from ..ensemble.store import done_mask, open_store

    stores = regime_stores(store) if is_compare_store(store) else [Path(store)]
    missing_total = 0
    for path in stores:
        ds = open_store(path)  # a StoreError (exit 2) names what the path is not
        done = done_mask(path)
        members = done.shape[-1]
        grid = done.reshape(-1, members)
        missing = [int(m) for m in np.flatnonzero(grid.min(axis=0) == 0)]
        missing_total += int((grid == 0).sum())
        where = f", {grid.shape[0]} grid points" if grid.shape[0] > 1 else ""
        shown = ", ".join(str(m) for m in missing[:20]) + (" ..." if len(missing) > 20 else "")
        click.echo(f"{path}: {ds.attrs.get('scenario_name', path.stem)}, {int(grid.sum())} of {grid.size} tasks done "
                   f"({members} members{where})" + (f"; members not finished: {shown}" if missing else
                                                     "; complete" + (", packed" if ds.attrs.get("packed") else "")))
    if missing_total:
        click.echo("run the same command with --resume (or each missing --member-range A:B) to complete it")
        sys.exit(1)


@cli.command()
@click.argument("store", type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(), help="output file")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="csv or parquet (default: from the --out suffix)")
@click.option("--var", "variables", multiple=True, help="a variable to export (repeatable; default: every series)")
def export(store, out, fmt, variables):
    """STORE (an ensemble store or a `compare` folder) as one tidy table: a row per regime, sweep
    point, member and sample; columns for those and for each sampled variable."""
    import spms_mc

    fmt = fmt or {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(Path(out).suffix.lower())
    if fmt is None:
        raise click.BadParameter(f"cannot tell the format from {out!r}; accepted: --format csv|parquet, or an "
                                 f"--out ending in .csv or .parquet", param_hint="--format")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise click.BadParameter("parquet needs pyarrow: python -m pip install 'spms_mc[export]'",
                                     param_hint="--format") from None
    try:
        df = spms_mc.open_ensemble(store, only_done=True).spms.to_dataframe(list(variables) or None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from None
    if fmt == "csv":
        df.to_csv(out, index=False)
    else:
        df.to_parquet(out, index=False)
    click.echo(f"export: {out} ({len(df)} rows x {len(df.columns)} columns, {fmt})")


@cli.command()
@click.option("--size", default=10_000_000, show_default=True, type=click.IntRange(1000), help="accounts")
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(1))
@click.option("--quick", is_flag=True, help="small size, 2 repeats (a smoke test); with --matrix: N = 10^3, 10^4, "
              "short windows")
@click.option("--matrix", is_flag=True, help="presets x N through spms_mc.simulate (marginal ticks) over the "
              "read-modify-write and scatter-add limits at each N")
@click.option("--sizes", metavar="N,N,...", help="with --matrix: the N (default 1e3,1e4,1e5,1e6,1e7)")
@click.option("--presets", metavar="CASE,...", help="with --matrix: the cases (default all: sumsy, sumsy_period1, "
              "sumsy_transactional, kinetic_exchange, yard_sale, ai_bau)")
@click.option("--sample-every", type=click.IntRange(1), help="with --matrix: both runs sample every S ticks "
              "(default: only their first and last tick, so the samples cancel)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the results to this JSON file")
def bench(size, repeats, quick, matrix, sizes, presets, sample_every, json_path):
    """Throughput of the kernels as fractions of this machine's own limits."""
    from . import bench as benchmod

    if matrix:
        try:
            res = benchmod.bench_matrix(
                sizes=[int(float(x)) for x in sizes.split(",") if x] if sizes else None,
                cases=[x for x in presets.split(",") if x] if presets else None,
                repeats=repeats, quick=quick, sample_every=sample_every)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--sizes/--presets") from None
    else:
        res = benchmod.run(size=size, repeats=repeats, quick=quick)
    if json_path:
        benchmod.write_json(json_path, res)
        click.echo(f"wrote {json_path}")


@cli.command()
@click.option("--only", multiple=True, help="run only this reference (repeatable; names: spms_mc.report.validate)")
def validate(only):
    """Every published value and closed form the project claims, run and compared (exit 1 if any fails)."""
    from ..report.validate import REFERENCES, table
    from ..report.validate import validate as run_references

    names = [r.name for r in REFERENCES]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}; accepted: {', '.join(names)}", param_hint="--only")
    rows = run_references(list(only) or None)
    click.echo(table(rows))
    failed = [r["name"] for r in rows if not r["passed"]]
    if failed:
        click.echo(f"validate: {len(failed)} of {len(rows)} references out of tolerance: {', '.join(failed)}")
        raise SystemExit(1)
    click.echo(f"validate: all {len(rows)} references within tolerance")


def _job_script(sc, members, seed, out, scheduler, jobqueue) -> str:
    """The slurm/pbs job script (nothing submitted); options dask-jobqueue refuses are bad input."""
    from ..ensemble.fanout import run_ensemble_with_summary

    try:
        return run_ensemble_with_summary(sc, members, seed, out, scheduler=scheduler, jobqueue=jobqueue,
                                         dry_run=True)
    except ScenarioError:
        raise
    except (ValueError, TypeError) as exc:  # raised by dask-jobqueue on the options given
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(":")
        given = " ".join(f"{k}={v}" for k, v in jobqueue.items()) or "none"
        raise click.BadParameter(f"{first} (given: {given}); accepted: options of dask_jobqueue's "
                                 f"{scheduler.upper()}Cluster, e.g. cores=8 memory=16GB walltime=01:00:00 "
                                 f"queue=NAME account=NAME processes=8", param_hint="'--job'") from None


def _check_run_input(sc, out, scheduler, resume):
    """What can be checked before any work: the output path, the GPU, the ledger check mode, the
    address of an existing cluster."""
    out = Path(out)
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        why = "is a file" if not parent.is_dir() else "is not writable"
        raise click.BadParameter(f"{out}: {parent} {why}; accepted: a new STORE.zarr path in a folder you can "
                                 f"write to", param_hint="'--out'")
    mode = os.environ.get("SPMS_MC_CHECK_LEDGER")
    if mode:
        from ..engine.loop import CHECK_MODES

        if mode not in CHECK_MODES:
            raise ScenarioError(f"SPMS_MC_CHECK_LEDGER = {mode!r}; accepted: {', '.join(CHECK_MODES)}")
    # a new store runs its first member in this process, so this process needs the GPU
    if sc.run.backend == "cuda" and (scheduler in ("local", "sync") or not (resume and out.exists())):
        try:
            from numba import cuda

            available = cuda.is_available()
        except ImportError:  # no numba-cuda: the message says how to install it
            available = False
        if not available:
            raise ScenarioError("run.backend = 'cuda' needs an NVIDIA GPU with a working CUDA driver and none was "
                                "found (install the extra: pip install 'spms_mc[cuda]'; for tests without a GPU "
                                "set NUMBA_ENABLE_CUDASIM=1 before starting Python); accepted here: cpu")
    if scheduler.startswith("tcp://"):
        import socket
        from urllib.parse import urlsplit

        try:
            host, port = urlsplit(scheduler).hostname, urlsplit(scheduler).port
        except ValueError:
            host = port = None
        if not host or port is None:
            raise click.BadParameter(f"{scheduler!r}; accepted: tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786",
                                     param_hint="'--scheduler'")
        try:
            socket.create_connection((host, port), timeout=10).close()
        except OSError as exc:
            raise click.BadParameter(f"no dask scheduler answers at {scheduler} ({exc.strerror or exc}); accepted: "
                                     f"the address of a running scheduler, or local, sync, slurm, pbs",
                                     param_hint="'--scheduler'") from None


def _input_errors() -> tuple:
    """The exception types that mean bad input (exit 2)."""
    from ..ensemble.compare import CompareError
    from ..ensemble.store import StoreError
    from ..report.pages import ReportError

    return ScenarioError, StoreError, ReportError, CompareError


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _traceback_file(exc: BaseException, argv) -> str | None:
    """Write the full traceback to a new file under the system's temp folder; its path (None if none
    could be written)."""
    import platform
    import tempfile
    import traceback
    from importlib.metadata import PackageNotFoundError, version

    try:
        try:
            ver = version("spms_mc")
        except PackageNotFoundError:
            ver = "?"
        fd, path = tempfile.mkstemp(prefix="spms-mc-traceback-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"spms-mc {' '.join(sys.argv[1:] if argv is None else map(str, argv))}\n"
                    f"spms_mc {ver}, Python {platform.python_version()}, {platform.platform()}\n\n")
            f.write("".join(traceback.format_exception(exc)))
        return path
    except Exception:  # noqa: BLE001 - no file: the traceback goes to stderr instead
        return None


def _report_failure(exc: Exception, argv) -> int:
    """One line on stderr for an exception no input check caught; returns the exit status."""
    from ..core.errors import LedgerError, MoneyOverflowError

    if isinstance(exc, _input_errors()):
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    if isinstance(exc, LedgerError):
        click.echo(f"model error ({type(exc).__name__}): {exc}", err=True)
        return EXIT_LEDGER
    if isinstance(exc, MoneyOverflowError):
        click.echo(f"model error ({type(exc).__name__}): {exc}", err=True)
        return EXIT_OVERFLOW
    system = isinstance(exc, (OSError, MemoryError))
    what = f"{type(exc).__name__}: {_one_line(exc)}"[:300]
    path = _traceback_file(exc, argv)
    where = f"the full traceback is in {path}" if path else "the traceback follows"
    if system:
        click.echo(f"error: the system refused an operation: {what}; {where}", err=True)
    else:
        click.echo(f"internal error (a bug in spms_mc, please report it with the traceback): {what}; {where}",
                   err=True)
    if path is None:
        import traceback

        traceback.print_exception(exc)
    return EXIT_SYSTEM if system else EXIT_INTERNAL


def main(argv=None):
    """The ``spms-mc`` entry point: runs the command line, turns every failure into one line on stderr
    and an exit status (module docstring)."""
    try:
        cli.main(args=argv, prog_name="spms-mc", standalone_mode=False)
    except click.exceptions.Abort:
        args = list(sys.argv[1:] if argv is None else argv)
        hint = ""
        if args[:1] in (["run"], ["compare"]) and "--resume" not in args:
            hint = ("; every finished member is kept: run the same command with --resume to complete the "
                    "store")
        click.echo(f"aborted{hint}", err=True)
        sys.exit(EXIT_ABORTED)
    except click.ClickException as exc:  # usage: a missing option, an unknown command, a value of the wrong type
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if no_args and isinstance(exc, no_args):
            exc.show()
        else:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
            click.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
        sys.exit(EXIT_INPUT)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, as its kind says
        sys.exit(_report_failure(exc, argv))
