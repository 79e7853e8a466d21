"""``spendstream ingest ...``: run one ingestion job from the command line.

Each command builds settings (environment + ``stack.env`` + flags), a producer
and the state store, runs, and prints a one-line summary.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from services.ingestor import app as composition
from services.ingestor.datapoint_file import replay_datapoints
from services.ingestor.exceptions import FileRefused
from services.ingestor.inventory.collector import InventoryCollector, publish_changes
from services.ingestor.inventory.file_source import read_inventory_file
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.logging import configure_logging
from shared.settings import load

app = typer.Typer(help="Ingest CUR deliveries, CloudWatch datapoints and EC2 inventory.")

EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint (moto, LocalStack).")
]


def _settings(**overrides: Any) -> IngestorSettings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    settings = load(IngestorSettings, **clean)
    configure_logging(settings.service_name, settings.log_level, json=False)
    return settings


@app.command("cur")
def cur(
    source: Annotated[str, typer.Option(help="Directory or s3://bucket/prefix.")],
    endpoint_url: EndpointOpt = None,
    force: Annotated[bool, typer.Option(help="Re-ingest deliveries already ingested.")] = False,
    once: Annotated[bool, typer.Option(help="One pass and exit (the default).")] = False,
    poll_interval: Annotated[
        float | None, typer.Option(help="Keep polling, this many seconds between passes.")
    ] = None,
) -> None:
    """Ingest every new CUR / CUR 2.0 / FOCUS delivery under SOURCE."""
    settings = _settings(ingestor_aws_endpoint_url=endpoint_url)

    async def main() -> None:
        state = StateStore(settings.ingestor_state_dir)
        async with composition.event_producer(settings) as producer:
            runner = composition.cur_runner(settings, producer, state, source)
            while True:
                reports = await runner.run_once(force=force)
                for r in reports:
                    typer.echo(
                        f"delivery {r.delivery_key} attempt {r.attempt_id}: rows={r.rows} "
                        f"rejected={r.rejected} cost_total={r.cost_total}"
                    )
                if not reports:
                    typer.echo("no new deliveries")
                if once or poll_interval is None:
                    return
                await asyncio.sleep(poll_interval)

    asyncio.run(main())


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("cloudwatch")
def cloudwatch(
    endpoint_url: EndpointOpt = None,
    backfill: Annotated[
        bool, typer.Option(help="Replay [--start, --end) with a progress bar.")
    ] = False,
    start: Annotated[str | None, typer.Option(help="Backfill start (ISO-8601, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Backfill end (ISO-8601; default now).")] = None,
) -> None:
    """Poll CloudWatch once from each watermark, or backfill a range."""
    settings = _settings(ingestor_aws_endpoint_url=endpoint_url)
    if backfill and start is None:
        raise typer.BadParameter("--backfill needs --start")

    async def main() -> int:
        state = StateStore(settings.ingestor_state_dir)
        async with composition.event_producer(settings) as producer:
            poller = composition.cloudwatch_poller(settings, producer, state)
            if backfill:
                first = _when(start)
                assert first is not None  # checked above
                return await poller.backfill(first, _when(end) or datetime.now(UTC))
            return await poller.poll_once()

    typer.echo(f"published {asyncio.run(main())} datapoints")


@app.command("inventory")
def inventory(endpoint_url: EndpointOpt = None) -> None:
    """Scan DescribeInstances in every configured account; publish changes only."""
    settings = _settings(ingestor_aws_endpoint_url=endpoint_url)

    async def main() -> tuple[int, int]:
        state = StateStore(settings.ingestor_state_dir)
        async with composition.event_producer(settings) as producer:
            collector = InventoryCollector(
                composition.aws_clients(settings), composition.accounts(settings), producer, state
            )
            return await collector.scan_once()

    changed, deleted = asyncio.run(main())
    typer.echo(f"inventory: {changed} changed, {deleted} deleted")


@app.command("file-datapoints")
def file_datapoints(
    path: Annotated[Path, typer.Argument(help="The simulator's CloudWatch datapoints file.")],
) -> None:
    """Replay a simulated CloudWatch file onto the datapoints topic (for the demo)."""
    settings = _settings()

    async def main() -> int:
        async with composition.event_producer(settings) as producer:
            return await replay_datapoints(path, producer)

    with contextlib.suppress(KeyboardInterrupt):
        typer.echo(f"published {asyncio.run(main())} datapoints")


@app.command("file-inventory")
def file_inventory(
    path: Annotated[Path, typer.Argument(help="Inventory JSON lines (the simulator writes one).")],
) -> None:
    """Publish the instances of an inventory file (changes only), as a scan would."""
    settings = _settings()
    try:
        records, scopes = read_inventory_file(path)
    except FileRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def main() -> tuple[int, int]:
        state = StateStore(settings.ingestor_state_dir)
        async with composition.event_producer(settings) as producer:
            return await publish_changes(producer, state, records, scopes)

    changed, deleted = asyncio.run(main())
    typer.echo(f"inventory: {changed} changed, {deleted} deleted of {len(records)} instances")
