"""Opt-in: some of the fleet carries out its recommendations after the window, as files.

Given the recommendations a right-sizer published for the simulated fleet, a
seeded share of the instances act on theirs (``simulator.implementations``):
a type change to the first option the catalogue prices, or termination of an
idle instance. What that looks like from outside is written under ``out``:

* ``inventory.jsonl`` — the whole fleet after the change (followers on their
  new type, terminated ones gone), for ``spendstream ingest file-inventory``,
  which publishes the changes and tombstones the vanished instances;
* a CUR 2.0 delivery (``exports/followers/...``) of the followers' instance
  hours over ``MEASURED_DAYS`` from the change on, at the simulator's prices;
* ``followers.json`` — each follower's estimate and true realised monthly saving.

Schedules are left out: the inventory file carries no observation time (the
replay stamps its own), and whether a stop fell in the schedule's off-hours
depends on that time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from shared.events import CostLineItem, Recommendation
from simulator.export_layout import write_export
from simulator.implementations import Followed, delivery, follow
from simulator.inventory_out import inventory_records
from simulator.organisation import SimulatedOrg

DEFAULT_SHARE = 0.3
# Two weeks of bill after the change: a full 7-day rate window (``services.rightsizing.rates``).
MEASURED_DAYS = 14
EXPORT = "followers"
INVENTORY_NAME = "inventory.jsonl"
TRUTH_NAME = "followers.json"
KINDS = ("type_change", "terminated")


def read_recommendations(lines: Iterable[bytes]) -> dict[str, Recommendation]:
    """Recommendations from JSON lines (the gateway's items or the topic's events), by instance."""
    fields = set(Recommendation.model_fields)
    out = {}
    for line in lines:
        if line.strip():
            raw = orjson.loads(line)
            rec = Recommendation.model_validate({k: v for k, v in raw.items() if k in fields})
            out[rec.resource_id] = rec
    return out


def change_day(last_day: date) -> date:
    """The first Monday after the window whose measured weeks stay in its billing month."""
    day = last_day + timedelta(days=(7 - last_day.weekday()) % 7 or 7)
    while (day + timedelta(days=MEASURED_DAYS - 1)).month != day.month:
        day += timedelta(days=7)
    return day


def acting(recs: dict[str, Recommendation]) -> dict[str, Recommendation]:
    """The recommendations to act on, schedules dropped (see the module docstring)."""
    out = {}
    for rid, rec in recs.items():
        if rec.current_monthly_cost is None:
            continue
        if rec.finding == "idle" or rec.options:
            out[rid] = rec if rec.finding == "idle" else rec.model_copy(update={"schedule": None})
    return out


def write_followers(
    org: SimulatedOrg,
    recs: dict[str, Recommendation],
    out: Path,
    share: float = DEFAULT_SHARE,
) -> dict[str, Any]:
    """Write the followers' inventory, their later delivery and truth under ``out``; the truth."""
    followed = [
        f for f in follow(org.instances, acting(recs), share, org.config.seed) if f.kind in KINDS
    ]
    by_id = {f.instance_id: f for f in followed}
    out.mkdir(parents=True, exist_ok=True)
    with (out / INVENTORY_NAME).open("wb") as handle:
        for record in inventory_records(org):
            f = by_id.get(record["instance_id"])
            if f is not None and f.kind == "terminated":
                continue
            if f is not None and f.to_type:
                record["instance_type"] = f.to_type
            handle.write(orjson.dumps(record) + b"\n")
    start = change_day(org.dates[-1])
    end = start + timedelta(days=MEASURED_DAYS)
    running = [f for f in followed if f.kind != "terminated"]
    regions = {i.instance_id: i.region for i in org.instances}
    lines = [
        e.model_copy(update={"region": regions[e.resource_id], "payer_account_id": e.account_id})
        for e in delivery(running, start, start, end, EXPORT)
        if isinstance(e, CostLineItem) and e.resource_id is not None
    ]
    if lines:
        write_export(
            out,
            lines,
            export=EXPORT,
            period=date(start.year, start.month, 1),
            execution_id=f"{EXPORT}-{start:%Y-%m-%d}",
            payer_account_id=org.payer_account_id,
        )
    truth = _truth(followed, start, end)
    (out / TRUTH_NAME).write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))
    return truth


def _truth(followed: list[Followed], start: date, end: date) -> dict[str, Any]:
    rows = [
        {
            "instance_id": f.instance_id,
            "account_id": f.account_id,
            "kind": f.kind,
            "from_type": f.from_type,
            "to_type": f.to_type,
            "recommendation_id": f.recommendation_id,
            "estimated_monthly_savings": round(f.estimated_monthly_savings, 4),
            "truth_realised_monthly": round(f.truth_realised_monthly, 4),
        }
        for f in followed
    ]
    return {
        "change_day": start.isoformat(),
        "measured_until": end.isoformat(),
        "followers": rows,
        "estimated_monthly_savings": round(sum(f.estimated_monthly_savings for f in followed), 2),
        "truth_realised_monthly": round(sum(f.truth_realised_monthly for f in followed), 2),
    }
