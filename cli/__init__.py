"""The ``spendstream`` console script: a composition root of sub-command apps.

Each feature owns its Typer sub-app in its own module; this file only lists
them. Sub-apps are imported when the CLI is built, not when this module is
imported, so importing ``cli`` stays cheap and side-effect free.
To add a command group, append ``(name, "package.module:app")`` to
:data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import typer

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("dev", "devstack.cli:app"),
    ("topics", "shared.contracts_cli:topics_app"),
    ("ingest", "services.ingestor.cli:app"),
    ("admin", "services.gateway.cli:app"),
    ("rightsizing", "services.rightsizing.cli:app"),
    ("simulate", "simulator.cli:app"),
    ("forecast", "services.forecast.cli:app"),
    ("anomaly", "services.anomaly.cli:app"),
    ("eval", "evals.nab.cli:eval_app"),
)
#: Single commands at the root: ``(name, "package.module:function")``.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("schemas", "shared.contracts_cli:schemas"),
    ("demo", "demo.cli:demo"),
)


def _load(target: str) -> object:
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def _load_app(target: str) -> typer.Typer:
    app = _load(target)
    if not isinstance(app, typer.Typer):
        raise TypeError(f"{target} must be a typer.Typer, got {type(app).__name__}")
    return app


def _load_command(target: str) -> Callable[..., Any]:
    command = _load(target)
    if not callable(command):
        raise TypeError(f"{target} must be a function, got {type(command).__name__}")
    return command


def build_app() -> typer.Typer:
    """Assemble the root app from every registered sub-app and command."""
    app = typer.Typer(
        help="spendstream: real-time AWS cost intelligence on Kafka.",
        no_args_is_help=True,
    )
    for name, target in SUBCOMMANDS:
        app.add_typer(_load_app(target), name=name)
    for name, target in COMMANDS:
        app.command(name)(_load_command(target))
    return app


def main() -> None:
    """Entry point of the ``spendstream`` console script."""
    build_app()()
