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

SUBCOMMANDS: tuple[tuple[str, str], ...] = (("dev", "shared.devstack.cli:app"),)


def build_app() -> typer.Typer:
    """Assemble the root app from every registered sub-app."""
    app = typer.Typer(
        help="spendstream: real-time AWS cost intelligence on Kafka.",
        no_args_is_help=True,
    )
    for name, target in SUBCOMMANDS:
        module_name, attribute = target.split(":")
        sub_app = getattr(importlib.import_module(module_name), attribute)
        app.add_typer(sub_app, name=name)
    return app


def main() -> None:
    """Entry point of the ``spendstream`` console script."""
    build_app()()
