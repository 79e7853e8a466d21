"""CLI for the contracts: create topics, list them, export event JSON Schemas."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from shared.schema_export import SCHEMA_DIR, write_schemas
from shared.settings import SpendstreamSettings, load
from shared.topics import ALL_TOPICS, TOPICS, ensure_topics

topics_app = typer.Typer(help="Kafka topics of the registry.", no_args_is_help=True)


@topics_app.command("ensure")
def ensure() -> None:
    """Create every missing registered topic (idempotent; safe on every deploy)."""
    settings = load(SpendstreamSettings)
    created = asyncio.run(ensure_topics(settings))
    typer.echo(f"created {len(created)} topic(s); {len(ALL_TOPICS) - len(created)} already existed")


@topics_app.command("list")
def list_topics() -> None:
    """Show the registry: name, key, partitions, policy, owner."""
    table = Table("topic", "key", "partitions", "policy", "owner", "values")
    for topic in TOPICS:
        table.add_row(
            topic.name,
            topic.key,
            str(topic.partitions),
            "compact" if topic.compacted else "delete",
            topic.owner,
            ", ".join(v.__name__ for v in topic.values),
        )
    Console().print(table)


def schemas() -> None:
    """Write the JSON Schema of every event under shared/schemas/."""
    paths = write_schemas()
    typer.echo(f"wrote {len(paths)} schemas to {SCHEMA_DIR}")


if __name__ == "__main__":  # images run `python -m shared.contracts_cli ensure`
    topics_app()
