"""``spendstream dev up|down|status``: the embedded stack from the command line.

The commands print what a developer needs next (endpoints, the env file) and
turn every :class:`DevStackError` into one readable line and exit code 1.
Make calls them as ``uv run spendstream dev up`` / ``dev down``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from devstack import leftovers, postgres, stack
from devstack.exceptions import DevStackError
from devstack.interrupts import sigterm_as_interrupt
from devstack.state import StatePaths

# LSB convention (`systemctl status`, init scripts): 3 means "not running".
EXIT_NOT_RUNNING = 3
# Shell convention: 128 + SIGINT.
EXIT_INTERRUPTED = 130

app = typer.Typer(
    help="Embedded single-machine stack: Tansu (Kafka API) + PostgreSQL. No Docker, no JVM.",
    no_args_is_help=True,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="SPENDSTREAM_STATE_DIR",
        help="Where data, logs, pid files and stack.env live (default: <project>/.spendstream).",
    ),
]


@app.command()
def up(
    state_dir: StateDirOption = None,
    kafka_port: Annotated[
        int | None, typer.Option(help="Broker port on 127.0.0.1 (default: a free one).")
    ] = None,
    postgres_port: Annotated[
        int | None, typer.Option(help="PostgreSQL port on 127.0.0.1 (default: a free one).")
    ] = None,
) -> None:
    """Start the broker and PostgreSQL (if not running), create topics, write stack.env."""
    try:
        with sigterm_as_interrupt():
            result = stack.up(state_dir, kafka_port=kafka_port, postgres_port=postgres_port)
    except DevStackError as exc:
        typer.secho(f"dev up failed: {exc}", err=True, fg=typer.colors.RED)
        typer.secho("nothing this call started is left running", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt as exc:
        typer.secho("dev up interrupted: stopped what it had started", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from exc
    if result.started:
        typer.echo(f"started: {', '.join(result.started)}")
    else:
        typer.echo("already up: nothing to start")
    typer.echo(f"kafka    {result.kafka_bootstrap_servers}")
    typer.echo(f"postgres {stack.redact_dsn(result.postgres_dsn)}")
    typer.echo(f"env file {result.env_file}  (services read it; or: set -a; . {result.env_file})")


@app.command()
def down(
    state_dir: StateDirOption = None,
    purge: Annotated[
        bool, typer.Option(help="Also delete the state dir (PostgreSQL data, logs).")
    ] = False,
) -> None:
    """Stop the broker and PostgreSQL; leave no process behind."""
    try:
        stopped = stack.down(state_dir)
    except DevStackError as exc:
        typer.secho(f"dev down failed: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    typer.echo(
        f"stopped pids: {', '.join(map(str, stopped))}" if stopped else "nothing was running"
    )
    if purge:
        root = stack.status(state_dir).state_dir
        postgres.purge(StatePaths(root).postgres_dir)
        shutil.rmtree(root, ignore_errors=False)
        typer.echo(f"removed {root}")


@app.command()
def status(state_dir: StateDirOption = None) -> None:
    """Show each component and every process of this checkout (orphans too); exit 3 if stopped."""
    report = stack.status(state_dir)
    for component in report.components:
        state = "running" if component.running else "stopped"
        details = f"pid {component.pid}  {component.endpoint}" if component.running else ""
        typer.echo(f"{component.name:<9}{state:<9}{details}".rstrip())
    typer.echo(f"state dir {report.state_dir}")
    found = leftovers.checkout_processes()
    typer.echo(f"processes of this checkout ({leftovers.CHECKOUT}): {len(found) or 'none'}")
    for proc in found:
        typer.echo(f"  {'ORPHAN ' if proc.orphan else ''}{proc.describe()}")
    if any(p.orphan for p in found):
        typer.echo("  orphans are stopped by the next `make test` or `make demo`")
    if not report.running:
        raise typer.Exit(EXIT_NOT_RUNNING)
