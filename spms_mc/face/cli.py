"""The ``spms-mc`` command line: list scenarios, show one resolved, run members to a zarr store,
benchmark against the machine's limits. Bad input exits with status 2 and a message naming the key.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from ..core.config import ScenarioError, load_scenario, parse_assignments, preset_names


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
@click.option("--members", default=1, show_default=True, type=click.IntRange(1), help="ensemble members")
@click.option("--out", "out", required=True, type=click.Path(), help="output zarr v3 store (STORE.zarr)")
@click.option("--scheduler", default="local", show_default=True, metavar="local|sync|tcp://HOST:PORT|slurm|pbs",
              help="local: a dask LocalCluster sized to this machine; sync: one after another in this "
                   "process; tcp://...: an existing cluster; slurm/pbs: batch jobs via dask-jobqueue")
@click.option("--workers", default=None, type=click.IntRange(1),
              help="local workers (default: sized to the machine) or slurm/pbs jobs")
@click.option("--backend", default=None, type=click.Choice(["cpu", "cuda"]), help="overrides run.backend")
@click.option("--gpu-batch", default=None, type=click.IntRange(1),
              help="with --backend cuda: members advanced together on one GPU (default: as many as fit)")
@click.option("--resume", is_flag=True, help="complete an interrupted store (same scenario, seed, members)")
@click.option("--overwrite", is_flag=True, help="replace an existing store")
@click.option("--job", "job_opts", multiple=True, metavar="KEY=VALUE",
              help="slurm/pbs job option (cores, memory, walltime, queue, account, processes, ...)")
@click.option("--dry-run", is_flag=True, help="slurm/pbs: print the job script, submit nothing")
@click.option("--quiet", is_flag=True, help="no progress display")
def run(scenario, sets, sweeps, seed, members, out, scheduler, workers, backend, gpu_batch, resume, overwrite,
        job_opts, dry_run, quiet):
    """Run SCENARIO (a built-in name or a TOML file) and write every member to a zarr store."""
    from ..core.config import parse_sweeps
    from ..ensemble.fanout import run_ensemble_with_summary
    from .progress import Progress, TaskProgress

    overrides = parse_assignments(sets)
    overrides.update(parse_sweeps(sweeps))
    if backend is not None:
        overrides["run.backend"] = backend
    sc = load_scenario(scenario, overrides)
    jobqueue = parse_assignments(job_opts)
    if dry_run:
        click.echo(run_ensemble_with_summary(sc, members, seed, out, scheduler=scheduler, jobqueue=jobqueue,
                                             dry_run=True), nl=False)
        return
    total = members * (len(sc.grid()) if sc.sweep else 1)
    show = False if quiet else None
    ticks = Progress(1, enabled=show) if total == 1 else None
    tasks = TaskProgress(total, enabled=show) if total > 1 else None
    ds, summary = run_ensemble_with_summary(sc, members, seed, out, scheduler=scheduler, workers=workers,
                                            resume=resume, overwrite=overwrite, progress=tasks,
                                            jobqueue=jobqueue, tick_progress=ticks, gpu_batch=gpu_batch)
    for p in (ticks, tasks):
        if p is not None:
            p.close()
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


@cli.command()
@click.argument("stores", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(), help="output folder for PNGs and index.html")
@click.option("--lorenz-tick", "lorenz_ticks", multiple=True, type=int, help="ticks of the Lorenz panels (repeatable)")
def report(stores, out, lorenz_ticks):
    """Figures and an HTML page from STORE.zarr (several stores: a regime comparison)."""
    from ..report.pages import ReportError, report as make_report

    try:
        page = make_report(list(stores), out, lorenz_ticks=list(lorenz_ticks) or None)
    except (ReportError, KeyError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(f"report: {page} ({len(list(Path(out).glob('*.png')))} figures)")


@cli.command()
@click.option("--size", default=10_000_000, show_default=True, type=click.IntRange(1000), help="accounts")
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(1))
@click.option("--quick", is_flag=True, help="small size, 2 repeats (a smoke test)")
def bench(size, repeats, quick):
    """Throughput of the kernels as fractions of this machine's own limits."""
    from . import bench as benchmod

    benchmod.run(size=size, repeats=repeats, quick=quick)


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="spms-mc", standalone_mode=False)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a store or overflow problem: a message, not a traceback
        from ..core.errors import LedgerError, MoneyOverflowError
        from ..ensemble.store import StoreError

        if isinstance(exc, (StoreError, MoneyOverflowError, LedgerError, ValueError)):
            click.echo(f"error: {exc}", err=True)
            sys.exit(2 if not isinstance(exc, LedgerError) else 3)
        raise
