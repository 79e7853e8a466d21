"""``spendstream anomaly``: run the service, or detect cost anomalies in a CSV offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from services.anomaly.cost.replay import run_engine

app = typer.Typer(help="Cost and metric anomaly detection.", no_args_is_help=True)
COLUMNS = {"date", "account_id", "service", "usage_type", "cost"}


@app.command()
def run() -> None:
    """Start the anomaly service (settings from SPENDSTREAM_* and stack.env)."""
    from services.anomaly.app import main

    main()


@app.command("csv")
def detect_csv(
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV with date, account_id, service, usage_type, cost (region optional)."
        ),
    ],
) -> None:
    """Run the service's cost engine over a daily CSV and print the incidents it opens."""
    frame = pd.read_csv(path, parse_dates=["date"], dtype={"account_id": str})
    missing = COLUMNS - set(frame.columns)
    if missing:
        raise typer.BadParameter(f"{path} lacks columns {sorted(missing)}; need {sorted(COLUMNS)}")
    if "region" not in frame.columns:
        frame["region"] = "-"
    frame["usage_type"] = frame["usage_type"].fillna("-")
    events = run_engine(frame, {})
    table = Table("day", "action", "series", "actual", "expected", "severity", "top cause")
    for event in events:
        top = next((rc for rc in event.root_cause if rc.dimension == "usage_type"), None)
        table.add_row(
            event.window_start.date().isoformat(),
            event.action,
            event.series_id,
            f"{event.actual:,.2f}",
            f"{event.expected:,.2f}",
            event.severity,
            f"{top.value} ({top.share:.0%})" if top else "",
        )
    Console().print(table)
