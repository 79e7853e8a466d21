"""``spendstream forecast``: run the service, or forecast a CSV offline with the same pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from services.forecast.engine.config import RefreshConfig
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.models.base import DailyHistory

app = typer.Typer(help="Daily cost forecasts with backtested model choice.", no_args_is_help=True)


@app.command()
def run() -> None:
    """Start the forecast service (settings from SPENDSTREAM_* and stack.env)."""
    from services.forecast.app import main

    main()


@app.command("csv")
def forecast_csv(
    path: Annotated[
        Path, typer.Argument(help="CSV with `date` and `cost` columns, one row a day.")
    ],
    models: Annotated[str, typer.Option(help="Comma-separated competing models.")] = ",".join(
        RefreshConfig().models
    ),
) -> None:
    """Backtest, choose and forecast one daily series from a CSV; print the result."""
    frame = pd.read_csv(path, parse_dates=["date"])
    if not {"date", "cost"} <= set(frame.columns):
        raise typer.BadParameter("the CSV needs `date` and `cost` columns")
    daily = frame.groupby("date")["cost"].sum().asfreq("D", fill_value=0.0)
    history = DailyHistory(daily.index[0].date(), daily.to_numpy(dtype=float))
    config = RefreshConfig(models=tuple(m.strip() for m in models.split(",") if m.strip()))
    job = RefreshJob(path.stem, "-", None, history, config, datetime.now(UTC))
    forecast = refresh_series(job)
    console = Console()
    if forecast.status != "ok":
        console.print(f"[yellow]{forecast.status}[/]: {forecast.reason}")
        raise typer.Exit(1)
    scores = Table(title=f"{path.name}: backtest ({forecast.history_days} days of history)")
    for column in ("model", "h", "MAPE %", "MASE", "cov80", "cov95"):
        scores.add_column(column)
    for s in forecast.backtest:
        chosen = " (chosen)" if s.model == forecast.model else ""
        scores.add_row(
            s.model + chosen,
            str(s.horizon_days),
            f"{s.mape or 0:.1f}",
            f"{s.mase or 0:.2f}",
            f"{s.coverage80 or 0:.0%}",
            f"{s.coverage95 or 0:.0%}",
        )
    console.print(scores)
    me = forecast.month_end
    if me is not None:
        console.print(
            f"month {me.month:%Y-%m}: projected ${me.projected:,.0f} "
            f"(80% ${me.lo80:,.0f}-${me.hi80:,.0f}, 95% ${me.lo95:,.0f}-${me.hi95:,.0f})"
        )
    for h, points in sorted(forecast.horizons.items()):
        total = sum(p.yhat for p in points)
        console.print(f"next {h} days: ${total:,.0f}")
