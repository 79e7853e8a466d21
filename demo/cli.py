"""``spendstream demo``: the system on a simulated organisation, end to end.

Starts the embedded stack and the services, simulates and ingests an
organisation, waits until anomalies, recommendations and forecasts have
reached the gateway, prints them, then tails alerts until Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from demo import savings
from demo.fresh_state import fresh_state_dir
from demo.metric_summary import alert_history, metric_path_lag, summarise, wait_for_metric_path
from demo.pipeline import (
    GATEWAY_READY_TIMEOUT_S,
    DemoError,
    Pipeline,
    Scenario,
    create_api_key,
    fleet_ids,
    ingest,
    running_system,
    simulate,
)
from demo.results import GatewayClient, Snapshot, render
from devstack import leftovers
from services.anomaly.settings import AnomalySettings
from services.gateway.settings import GatewaySettings
from services.rightsizing.settings import RightsizingSettings
from shared.settings import state_dir

# Results keep arriving for a while after ingest (forecast fits, rightsizing's
# evaluation interval); 8 minutes keeps `make demo` inside 10 on 2 cores.
RESULTS_TIMEOUT_S = 480.0
# How often to ask the gateway whether everything has arrived.
POLL_S = 2.0
# The metric path may still be reading datapoints when the other results are in.
METRIC_PATH_TIMEOUT_S = 300.0

# Wide enough for the tables when output is piped (rich assumes 80 columns then).
PIPED_WIDTH = 160
console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def _log(message: str) -> None:
    console.print(f"[bold cyan]▸[/bold cyan] {message}")


def wait_until_ready(pipeline: Pipeline, client: GatewayClient) -> None:
    """Wait for the gateway's readiness probe, failing if a service died."""
    deadline = time.monotonic() + GATEWAY_READY_TIMEOUT_S
    while not client.ready():
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise DemoError(f"gateway not ready after {GATEWAY_READY_TIMEOUT_S:.0f} s")
        time.sleep(0.5)


def quiet_period_s(pipeline: Pipeline) -> float:
    """How long right-sizing must publish nothing new before its results count as final.

    It re-evaluates the instances whose data changed once per evaluation
    interval; an interval (plus a poll) without a new recommendation means it
    has evaluated everything it was fed.
    """
    name = "SPENDSTREAM_RIGHTSIZING_EVALUATION_INTERVAL_S"
    default = RightsizingSettings.model_fields["rightsizing_evaluation_interval_s"].default
    return float(pipeline.env.get(name, default)) + POLL_S


def wait_for_results(
    pipeline: Pipeline, client: GatewayClient, timeout: float = RESULTS_TIMEOUT_S
) -> Snapshot:
    """Poll until anomalies, forecasts and the whole fleet's right-sizing are in.

    The fleet is the inventory the demo ingested. Right-sizing is done when every
    instance has a result from its datapoints and nothing new was published for
    :func:`quiet_period_s`. At the deadline the demo shows what it has and says
    what is missing.
    """
    fleet = fleet_ids(pipeline)
    quiet_s = quiet_period_s(pipeline)
    deadline = time.monotonic() + timeout
    last: frozenset[tuple[str, str]] = frozenset()
    changed_at = time.monotonic()
    with console.status("waiting for results") as status:
        while True:
            pipeline.check_alive()
            snapshot = client.snapshot(fleet=fleet)
            assert snapshot.fleet is not None
            now = time.monotonic()
            if snapshot.fleet.fingerprint != last:
                last, changed_at = snapshot.fleet.fingerprint, now
            quiet = now - changed_at
            status.update(
                f"{len(snapshot.anomalies)} anomalies, {len(snapshot.forecasts)} account "
                f"forecasts, {snapshot.fleet.progress()}; no new right-sizing result for "
                f"{quiet:.0f}/{quiet_s:.0f} s ({deadline - now:.0f} s left)"
            )
            if snapshot.complete and snapshot.fleet.done and quiet >= quiet_s:
                return snapshot
            if now > deadline:
                _log(
                    f"[yellow]gave up waiting after {timeout:.0f} s[/yellow]: "
                    f"{snapshot.fleet.progress()}; showing what has arrived"
                )
                return snapshot
            time.sleep(POLL_S)


def metric_line(pipeline: Pipeline, client: GatewayClient) -> str:
    """Injected vs notified metric incidents, once the metric path has read everything."""
    metric_group = AnomalySettings().anomaly_metric_group_id
    gateway_group = GatewaySettings().gateway_consumer_group
    with console.status("waiting for the metric path to read every datapoint"):
        caught_up = wait_for_metric_path(
            lambda: metric_path_lag(pipeline.env, metric_group, gateway_group),
            METRIC_PATH_TIMEOUT_S,
        )
    return summarise(pipeline.ground_truth, alert_history(client.get), caught_up).line()


def show_savings_part(
    pipeline: Pipeline, client: GatewayClient, scenario: Scenario, unit: tuple[str, ...]
) -> None:
    """Commitments of the RI/SP unit, then followers carrying out recommendations, from REST."""
    with console.status("waiting for the business unit's commitment reports"):
        savings.wait_for_commitments(pipeline, client, unit)
    # Read before the followers' later delivery moves the reports' windows past the data shown.
    savings.render_commitments(savings.commitment_reports(client), console)
    with console.status("carrying out recommendations and waiting for the bill after"):
        truth = savings.carry_out(pipeline, client, scenario, log=_log)
    savings.render_realised(savings.realised(client), truth, console)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def demo(
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 7,
    days: Annotated[int, typer.Option(help="Days of history to simulate (60-120).")] = 90,
    accounts: Annotated[int, typer.Option(help="Member accounts.")] = 3,
    instances: Annotated[int, typer.Option(help="EC2 instances in the fleet.")] = 60,
    tail: Annotated[bool, typer.Option(help="Tail alerts over SSE until Ctrl-C.")] = True,
    show_savings: Annotated[
        bool,
        typer.Option(
            "--savings/--no-savings",
            help="Also a business unit holding RIs/Savings Plans, and a share of the fleet "
            "carrying out its recommendations (commitments and realised savings).",
        ),
    ] = True,
    directory: Annotated[
        Path | None, typer.Option("--state-dir", help="Where the demo keeps its state.")
    ] = None,
) -> None:
    """Run every service on a simulated AWS organisation and show the results."""
    # Ctrl-C and a SIGTERM (a process manager, `timeout`) both stop everything
    # cleanly, even when the shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    # An earlier run killed outright (SIGKILL, a closed terminal) left its servers
    # and services running; they hold ports and memory this run needs.
    for proc in leftovers.stop_leftovers():
        _log(f"stopped a leftover of an earlier run: {proc.describe()}")
    scenario = Scenario(seed=seed, days=days, accounts=accounts, instances=instances)
    started = time.monotonic()
    try:
        root = fresh_state_dir(directory or state_dir() / "demo", default=directory is None)
        # Right-sizing reads commitment rates when it starts: the unit's price file comes first.
        unit = savings.committed_unit(root, scenario) if show_savings else None
        env = {"SPENDSTREAM_RIGHTSIZING_PRICES_PATH": str(unit.prices)} if unit else {}
        with running_system(root, log=_log, extra_env=env) as pipeline:
            simulate(pipeline, scenario, log=_log)
            client_key = create_api_key(pipeline, unit.accounts if unit else ())
            client = GatewayClient(pipeline.gateway_url, client_key)
            try:
                wait_until_ready(pipeline, client)
                ingest(pipeline, log=_log)
                if unit is not None:
                    _log(f"ingesting the RI/SP business unit's CUR ({', '.join(unit.accounts)})")
                    pipeline.cli("ingest", "cur", "--source", str(unit.root), "--force")
                snapshot = wait_for_results(pipeline, client)
                render(snapshot, console)
                _log(metric_line(pipeline, client))
                if unit is not None:
                    show_savings_part(pipeline, client, scenario, unit.accounts)
                _log(f"ready in {time.monotonic() - started:.0f} s")
                console.print(
                    f"\nConsole: [bold]{pipeline.gateway_url}/console/[/bold]   "
                    f"API key: [bold]{client_key}[/bold] (sign in with it)\n"
                    f"API docs: {pipeline.gateway_url}/docs\n"
                    f"  curl -H 'Authorization: Bearer {client_key}' "
                    f"{pipeline.gateway_url}/v1/anomalies\n"
                )
                if tail:
                    _log("live alerts over SSE (Ctrl-C to stop everything):")
                    for alert in client.tail():
                        console.print(f"  #{alert['seq']} {alert.get('title', '')}")
            finally:
                client.close()
    except KeyboardInterrupt:
        _log("stopped; nothing left running")
    except (DemoError, httpx.HTTPError) as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from exc
