"""The ``spms-mc`` command line: list scenarios, show one resolved, run members to a zarr store,
benchmark against the machine's limits. Bad input exits with status 2 and a message naming the key.
"""
from __future__ import annotations

import sys
import time

import click

from .config import ScenarioError, load_scenario, parse_assignments, preset_names


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
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1), help="root seed")
@click.option("--members", default=1, show_default=True, type=click.IntRange(1), help="ensemble members")
@click.option("--out", "out", required=True, type=click.Path(), help="output zarr v3 store (STORE.zarr)")
@click.option("--scheduler", default="sync", show_default=True, type=click.Choice(["sync"]),
              help="sync: members one after another in this process")
@click.option("--backend", default=None, type=click.Choice(["cpu"]), help="overrides run.backend")
@click.option("--overwrite", is_flag=True, help="replace an existing store")
@click.option("--quiet", is_flag=True, help="no progress display")
def run(scenario, sets, seed, members, out, scheduler, backend, overwrite, quiet):
    """Run SCENARIO (a built-in name or a TOML file) and write the members to a zarr store."""
    from . import store
    from .engine import Engine, warmup
    from .output import to_dataset
    from .progress import Progress

    sc = _scenario(scenario, sets, backend)
    from pathlib import Path

    if Path(out).exists() and not overwrite:
        raise click.UsageError(f"{out} exists; pass --overwrite to replace it")
    prog = Progress(members, enabled=False if quiet else None)
    compile_s = warmup(sc)
    t0 = time.perf_counter()
    for i in range(members):
        prog.start_member(i)
        ds = to_dataset(Engine(sc, seed, i).run(prog))
        if i == 0:
            store.create(out, ds, range(members), overwrite=overwrite)
        store.write_member(out, ds, i)
    prog.close()
    wall = time.perf_counter() - t0
    final = store.open_store(out).isel(time=-1)
    ms = final["money_stock"].values
    gini = final["gini"].values
    rate = members * sc.run.ticks * sc.n_accounts / wall
    click.echo(f"{sc.name}: {members} member(s) x {sc.run.ticks} ticks x {sc.n_accounts} accounts in "
               f"{wall:.2f} s ({rate:.3g} account-ticks/s) -> {out}; final money stock "
               f"{ms.mean():.6g} (min {ms.min():.6g}, max {ms.max():.6g}), Gini {gini.mean():.4f}"
               + (f"; kernels compiled in {compile_s:.1f} s" if compile_s > 1 else ""))


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
        from .ledger import LedgerError, MoneyOverflowError
        from .store import StoreError

        if isinstance(exc, (StoreError, MoneyOverflowError, LedgerError, ValueError)):
            click.echo(f"error: {exc}", err=True)
            sys.exit(2 if not isinstance(exc, LedgerError) else 3)
        raise
