"""``spendstream simulate``: write a simulated AWS organisation as real CUR files.

Writes every billing delivery (legacy CUR, CUR 2.0 or FOCUS) under ``--out`` (a
directory or ``s3://bucket/prefix``), ``ground_truth.json`` and the fleet's
``inventory.jsonl`` beside them and, with ``--cloudwatch-out``, the fleet's
5-minute CloudWatch datapoints. Opt-in, for a demo of savings (the default
output is unchanged): ``--commitments-out`` also writes a business unit that
holds RIs and Savings Plans (``simulator.committed_unit``); ``--follow`` writes
instead what the fleet looks like after a share of it carried out the given
recommendations (``simulator.followers_out``).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from simulator import SimConfig, simulate_organisation
from simulator.cloudwatch_out import write_cloudwatch
from simulator.committed_unit import DEFAULT_DAYS, write_committed_unit
from simulator.config import PLATFORM_MIX
from simulator.deliveries import issued_by, plan_deliveries
from simulator.exceptions import SimulationError
from simulator.followers_out import DEFAULT_SHARE, read_recommendations, write_followers
from simulator.inventory_out import write_inventory
from simulator.writers import FORMATS, write_cur, write_ground_truth

app = typer.Typer(help="Simulate an AWS organisation and write its CUR files and truth.")
GROUND_TRUTH_NAME = "ground_truth.json"
INVENTORY_NAME = "inventory.jsonl"


@app.callback(invoke_without_command=True)
def simulate(
    out: Annotated[str, typer.Option("--out", help="Directory or s3://bucket/prefix.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 1,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 120,
    accounts: Annotated[int, typer.Option(help="Member accounts (1-12).")] = 4,
    instances: Annotated[int, typer.Option(help="EC2 instances in the fleet.")] = 200,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2026-06-01",
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "cur2",
    grain: Annotated[str, typer.Option(help="Line items per 'daily' or 'hourly'.")] = "daily",
    report: Annotated[str, typer.Option(help="Report / export name.")] = "spendstream-cur",
    cloudwatch_out: Annotated[
        str | None,
        typer.Option("--cloudwatch-out", help="Datapoints file (*.parquet, *.jsonl[.gz])."),
    ] = None,
    cloudwatch_days: Annotated[
        int | None,
        typer.Option(
            help="Only the last N days of datapoints (default: all); the injected metric "
            "anomalies then fall in them, after a week of them."
        ),
    ] = None,
    mtd_every_days: Annotated[
        int | None, typer.Option(help="Also deliver month-to-date every N days.")
    ] = None,
    intraday: Annotated[
        bool,
        typer.Option(
            help="Realistic timing: month-to-date 3x a day, hours 8-24 h late and restated; "
            "anomalies start at a known hour."
        ),
    ] = False,
    until: Annotated[
        str | None, typer.Option(help="Only deliveries issued by this ISO time (replays).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3 endpoint (moto, MinIO).")
    ] = None,
    platforms: Annotated[
        bool, typer.Option(help="Windows, RHEL, SUSE and SQL Server instances (PLATFORM_MIX).")
    ] = False,
    open_spike_days: Annotated[
        int, typer.Option(help="Also a spike over the last N days: an incident open at the end.")
    ] = 0,
    commitments_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write a 2-account business unit holding RIs and Savings Plans: its "
            "CUR 2.0 delivery over the window's last days and its price file, here."
        ),
    ] = None,
    commitment_days: Annotated[
        int, typer.Option(help="Days the business unit's bill covers (8 to the window).")
    ] = DEFAULT_DAYS,
    follow: Annotated[
        Path | None,
        typer.Option(
            help="Recommendations (JSON lines) to carry out: writes only the fleet's inventory "
            "after the change and the followers' later CUR delivery, under --out."
        ),
    ] = None,
    follow_share: Annotated[
        float, typer.Option(help="Share of the instances with a recommendation that act on it.")
    ] = DEFAULT_SHARE,
) -> None:
    """Write the organisation's deliveries, ground truth and (optionally) datapoints."""
    try:
        config = SimConfig(
            seed=seed,
            accounts=accounts,
            days=days,
            instances=instances,
            start=date.fromisoformat(start),
            intraday=intraday,
            platform_mix=PLATFORM_MIX if platforms else (),
            open_spike_days=open_spike_days,
            # Metric anomalies go where the datapoints written are.
            metric_window_days=(cloudwatch_days or None) if cloudwatch_out else None,
        )
        org = simulate_organisation(config)
        if follow is not None:
            recs = read_recommendations(follow.read_bytes().splitlines())
            truth_doc = write_followers(org, recs, Path(out), follow_share)
            estimate, truly = (
                truth_doc["estimated_monthly_savings"],
                truth_doc["truth_realised_monthly"],
            )
            typer.echo(
                f"{len(truth_doc['followers'])} instances carry out their recommendation on "
                f"{truth_doc['change_day']}; estimated ${estimate:,.2f}/month, "
                f"truly ${truly:,.2f}/month; under {out}"
            )
            return
        if commitments_out is not None:
            unit = write_committed_unit(
                config,
                [org.payer_account_id, *(a.account_id for a in org.accounts)],
                commitments_out,
                commitment_days,
            )
            typer.echo(f"committed unit: accounts {', '.join(unit.accounts)} under {unit.root}")
        cutoff = datetime.fromisoformat(until) if until else None
        planned = [d for d in plan_deliveries(org, mtd_every_days) if issued_by(d, cutoff)]
        cw_first = org.dates[-cloudwatch_days] if cloudwatch_days else None
        cw_days = (min(cloudwatch_days or days, days)) if cloudwatch_out else 0
        total = sum(len(d.days) for d in planned) + cw_days
        with tqdm(total=total, unit="day", desc=f"simulate {fmt}") as bar:
            written = write_cur(
                org,
                out,
                fmt,
                grain,
                report,
                cutoff,
                endpoint_url,
                bar.update,
                mtd_every_days=mtd_every_days,
            )
            points = 0
            if cloudwatch_out:
                points = write_cloudwatch(
                    org, cloudwatch_out, cw_first, None, endpoint_url, bar.update
                )
        truth = write_ground_truth(org, f"{out.rstrip('/')}/{GROUND_TRUTH_NAME}", endpoint_url)
        write_inventory(org, f"{out.rstrip('/')}/{INVENTORY_NAME}", endpoint_url)
    except (SimulationError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    rows = sum(w.rows for w in written)
    cost = sum(
        w.cost_total
        for w in written
        if w.sequence == max(x.sequence for x in written if x.billing_period == w.billing_period)
    )
    typer.echo(
        f"{len(written)} deliveries, {rows:,} line items, ${cost:,.2f} final cost; "
        f"{points:,} datapoints; truth: {truth}"
    )
