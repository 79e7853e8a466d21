"""The demo's savings part: commitments held and to buy, and what carried-out recommendations saved.

The simulated organisation bills On-Demand, so two opt-in simulator outputs
give the demo what a FinOps user comes for on savings, through the same
ingest and REST paths as everything else:

* a business unit holding RIs and Savings Plans (``spendstream simulate
  --commitments-out``): its CUR 2.0 delivery is ingested with the others and
  its price file is right-sizing's commitment rates, so coverage, utilisation
  and purchase recommendations reach ``/v1/commitments``;
* followers (``spendstream simulate --follow``): once the recommendations are
  in, a share of the fleet carries its own out; the inventory after the change
  is ingested (the service detects each implementation), then the followers'
  later CUR delivery (the service measures it), and ``/v1/savings/realised``
  serves estimate and measurement side by side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from demo.pipeline import DemoError, Pipeline, Scenario
from demo.results import GatewayClient
from simulator import SimConfig, simulate_organisation
from simulator.committed_unit import CommittedUnit, write_committed_unit

# Implementations show once the inventory change is consumed; measurements once the
# followers' delivery is (seconds each on the demo's stack; generous on 2 loaded cores).
SAVINGS_TIMEOUT_S = 180.0
POLL_S = 2.0


def committed_unit(root: Path, scenario: Scenario) -> CommittedUnit:
    """Write the RI/SP business unit before the services start: right-sizing reads prices then."""
    config = SimConfig(
        seed=scenario.seed,
        days=scenario.days,
        accounts=scenario.accounts,
        instances=scenario.instances,
    )
    org = simulate_organisation(config)
    taken = [org.payer_account_id, *(a.account_id for a in org.accounts)]
    return write_committed_unit(config, taken, root / "committed")


def simulate_argv(scenario: Scenario, out: Path) -> list[str]:
    """``spendstream simulate`` arguments of the demo's organisation (as ``simulate`` runs it)."""
    return [
        "simulate",
        "--out",
        str(out),
        "--seed",
        str(scenario.seed),
        "--days",
        str(scenario.days),
        "--accounts",
        str(scenario.accounts),
        "--instances",
        str(scenario.instances),
        "--format",
        scenario.format,
        "--open-spike-days",
        str(scenario.open_spike_days),
        # The same organisation as the demo's (the datapoints' window is part of its config);
        # with --follow nothing is written there.
        "--cloudwatch-out",
        str(out / "unused-cloudwatch.parquet"),
        "--cloudwatch-days",
        str(scenario.cloudwatch_days),
    ]


def _wait(check: Callable[[], bool], pipeline: Pipeline, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        pipeline.check_alive()
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def carry_out(
    pipeline: Pipeline,
    client: GatewayClient,
    scenario: Scenario,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """A share of the fleet acts on its recommendations; wait until the bill measures it.

    Returns the followers' truth (``followers.json``), so the demo can show the
    measured figure next to what the simulated bill truly saved.
    """
    out = pipeline.data_dir / "followers"
    recs = pipeline.data_dir / "recommendations.jsonl"
    items = client.all_pages("/v1/recommendations")
    recs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in items))
    stdout = pipeline.cli(*simulate_argv(scenario, out), "--follow", str(recs))
    log(stdout.strip().splitlines()[-1])
    truth: dict[str, Any] = json.loads((out / "followers.json").read_text())
    wanted = len(truth["followers"])
    if not wanted:
        return truth
    pipeline.cli("ingest", "file-inventory", str(out / "inventory.jsonl"))
    # The change must be seen before the bill after it, as in a real account.
    if not _wait(
        lambda: client.get("/v1/savings/realised/totals")["implemented"] >= wanted,
        pipeline,
        SAVINGS_TIMEOUT_S,
    ):
        seen = client.get("/v1/savings/realised/totals")["implemented"]
        log(f"[yellow]right-sizing detected {seen} of {wanted} implementations in time[/yellow]")
    else:
        log(f"right-sizing detected {wanted} implemented recommendations; ingesting the later CUR")
    if (out / "exports").exists():
        pipeline.cli("ingest", "cur", "--source", str(out), "--force")

    def measured() -> bool:
        totals = client.get("/v1/savings/realised/totals")
        return bool(totals["measured"] >= totals["implemented"])

    if not _wait(measured, pipeline, SAVINGS_TIMEOUT_S):
        log("[yellow]not every implementation was measured in time[/yellow]; showing what is")
    return truth


def wait_for_commitments(
    pipeline: Pipeline, client: GatewayClient, accounts: tuple[str, ...]
) -> None:
    """Until every account of the committed unit has a commitment report."""

    def arrived() -> bool:
        got = {r["account_id"] for r in client.get("/v1/commitments", limit=100)["items"]}
        return set(accounts) <= got

    if not _wait(arrived, pipeline, SAVINGS_TIMEOUT_S):
        raise DemoError(f"no commitment report for every account of {accounts} in time")


def commitment_reports(client: GatewayClient) -> list[dict[str, Any]]:
    """Every account's commitment report (largest purchase saving first), from REST."""
    items: list[dict[str, Any]] = client.get("/v1/commitments", limit=100)["items"]
    return items


@dataclass(frozen=True)
class Realised:
    """Recommendations carried out and their totals, as the gateway serves them."""

    items: list[dict[str, Any]]
    totals: dict[str, Any]


def realised(client: GatewayClient) -> Realised:
    """Realised savings and their totals from REST."""
    return Realised(
        client.all_pages("/v1/savings/realised"), client.get("/v1/savings/realised/totals")
    )


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def best_purchase(reports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The purchase recommendation with the most estimated monthly savings, over accounts."""
    buys = [dict(p, account_id=r["account_id"]) for r in reports for p in r["recommendations"]]
    return max(buys, key=lambda p: p["estimated_monthly_savings"], default=None)


PRODUCTS = {
    "compute_sp": "Compute Savings Plan",
    "ec2_instance_sp": "EC2 Instance Savings Plan",
    "standard_ri": "Standard RI",
}


def render_commitments(reports: list[dict[str, Any]], console: Console) -> None:
    """Print coverage and utilisation per account, then the top purchase recommendation."""
    table = Table(title="Commitments (RIs and Savings Plans held, from the CUR)")
    for column in (
        "account",
        "window",
        "eligible On-Demand",
        "SP coverage",
        "RI coverage",
        "coverage",
        "utilisation",
        "held",
        "best buy $/month",
    ):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r["account_id"],
            f"{r['window_start'][:10]} → {r['window_end'][:10]}",
            _money(r["eligible_on_demand"]),
            _pct(r["savings_plan_coverage"]),
            _pct(r["reservation_coverage"]),
            _pct(r["coverage"]),
            _pct(r.get("utilisation")),
            str(len(r["commitments"])),
            _money(r["best_monthly_savings"]),
        )
    console.print(table)
    top = best_purchase(reports)
    if top is None:
        console.print("No commitment to buy: nothing would save money net of its cost.")
    else:
        what = PRODUCTS.get(top["product"], top["product"])
        scope = " ".join(str(top[k]) for k in ("instance_type", "region") if top.get(k))
        console.print(
            f"Top purchase: [bold]{what}[/bold]{f' ({scope})' if scope else ''} "
            f"in {top['account_id']}, "
            f"{top['term_years']}-year {top['payment_option'].replace('_', ' ')}, "
            f"${top['hourly_commitment']:,.3f}/h (lookback {top['lookback_days']} days): "
            f"net [bold]{_money(top['estimated_monthly_savings'])}/month[/bold], projected "
            f"coverage {_pct(top['projected_coverage'])}, utilisation "
            f"{_pct(top['projected_utilisation'])}"
        )


def render_realised(view: Realised, truth: dict[str, Any], console: Console) -> None:
    """Print each carried-out recommendation and the totals, beside the simulated truth."""
    table = Table(
        title="Realised savings (recommendations carried out, measured on the later CUR)",
        caption=f"the simulated bill truly saved {_money(truth.get('truth_realised_monthly'))}"
        "/month over these instances",
    )
    for column in ("instance", "account", "kind", "from → to", "estimate", "before", "after"):
        table.add_column(column)
    table.add_column("realised $/month")
    for row in view.items:
        table.add_row(
            row["resource_id"],
            row["account_id"],
            row["kind"],
            f"{row['from_type']} → {row.get('to_type') or '-'}",
            _money(row["estimated_monthly_savings"]),
            _money(row.get("before_monthly_cost")),
            _money(row.get("after_monthly_cost")),
            _money(row.get("realised_monthly_savings")),
        )
    t = view.totals
    table.add_row(
        "total",
        "",
        f"{t['measured']}/{t['implemented']} measured",
        "",
        _money(t["measured_estimated_monthly_savings"]),
        "",
        "",
        _money(t["realised_monthly_savings"]),
    )
    console.print(table)
