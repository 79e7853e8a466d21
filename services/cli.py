"""The ``spendstream`` console script: a composition root of sub-command apps.

Each feature owns its Typer sub-app in its own module; this file only lists
them. Sub-apps are imported when the CLI is built, not when this module is
imported, so importing ``services.cli`` stays cheap and side-effect free.
To add a command group, append ``(name, "package.module:app")`` to
:data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib

import typer

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("dev", "shared.devstack.cli:app"),
    ("topics", "shared.contracts_cli:topics_app"),
    ("ingest", "services.ingestor.cli:app"),
    ("admin", "services.gateway.cli:app"),
    ("rightsizing", "services.rightsizing.cli:app"),
    ("simulate", "services.ingestor.simulate_cli:app"),
)
#: Single commands at the root: ``(name, "package.module:function")``.
COMMANDS: tuple[tuple[str, str], ...] = (("schemas", "shared.contracts_cli:schemas"),)


def _load(target: str) -> object:
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def build_app() -> typer.Typer:
    """Assemble the root app from every registered sub-app."""
    app = typer.Typer(
        help="spendstream: real-time AWS cost intelligence on Kafka.",
        no_args_is_help=True,
    )
    for name, target in SUBCOMMANDS:
        app.add_typer(_load(target), name=name)  # type: ignore[arg-type]  # a Typer by contract
    for name, target in COMMANDS:
        app.command(name)(_load(target))  # type: ignore[arg-type]  # a function by contract
    return app


def main() -> None:
    """Entry point of the ``spendstream`` console script."""
    build_app()()
