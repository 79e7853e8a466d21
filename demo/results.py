"""Read what a user came for from the gateway's REST API, and show it.

Top open anomalies with root cause and dollar impact, top savings, the
month-end forecast per account, and a live tail of alerts over SSE.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse
from rich.console import Console
from rich.table import Table

# Local REST calls answer in milliseconds; 10 s only guards against a hung service.
HTTP_TIMEOUT_S = 10.0
TOP_N = 10


# How the fleet table groups instances: a finding, or a stop schedule (any finding).
FLEET_ROWS = ("overprovisioned", "idle", "schedulable", "underprovisioned", "optimized")


@dataclass(frozen=True)
class Fleet:
    """Right-sizing across the whole fleet: which instances have a result from their datapoints.

    The first recommendation of an instance comes from the inventory alone
    (``insufficient_data``, $0); an instance counts as evaluated once right-sizing
    has read enough of its datapoints to say something else.
    """

    instances: frozenset[str]
    recommendations: list[dict[str, Any]]

    @property
    def evaluated(self) -> list[dict[str, Any]]:
        """The fleet's recommendations that rest on datapoints."""
        return [
            r
            for r in self.recommendations
            if r["resource_id"] in self.instances and r["finding"] != "insufficient_data"
        ]

    @property
    def done(self) -> bool:
        """Every instance of the fleet has a result from its datapoints."""
        return len(self.evaluated) == len(self.instances)

    @property
    def fingerprint(self) -> frozenset[tuple[str, str]]:
        """Changes whenever right-sizing publishes anything new for the fleet."""
        return frozenset((r["resource_id"], r["id"]) for r in self.recommendations)

    def rows(self) -> list[tuple[str, int, float]]:
        """``(group, instances, $/month)`` per :data:`FLEET_ROWS` group that has instances."""
        out = []
        for group in FLEET_ROWS:
            if group == "schedulable":
                members = [r for r in self.evaluated if r.get("schedule")]
                saved = sum(r["schedule"]["monthly_savings"] for r in members)
            else:
                members = [r for r in self.evaluated if r["finding"] == group]
                saved = sum(r.get("estimated_monthly_savings") or 0.0 for r in members)
            if members:
                out.append((group, len(members), saved))
        return out

    def progress(self) -> str:
        """One line for the status spinner."""
        counts = ", ".join(f"{n} {group}" for group, n, _ in self.rows())
        return f"right-sizing {len(self.evaluated)}/{len(self.instances)} instances" + (
            f" ({counts})" if counts else ""
        )


@dataclass(frozen=True)
class Snapshot:
    """Everything the demo shows, fetched in one pass."""

    anomalies: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
    forecasts: list[dict[str, Any]]
    fleet: Fleet | None = None

    @property
    def complete(self) -> bool:
        """Each of the three result kinds has arrived, savings included.

        The first recommendations come from the inventory alone ("insufficient
        data", $0) before right-sizing has read the datapoints; a table of those
        is not what a user came for, so wait for the first priced saving.
        """
        saving = any((r.get("estimated_monthly_savings") or 0) > 0 for r in self.recommendations)
        return bool(self.anomalies and saving and self.forecasts)


class GatewayClient:
    """A thin client over the gateway's /v1 API for one API key."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=HTTP_TIMEOUT_S,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON document; raise on any non-2xx answer."""
        response = self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        response.raise_for_status()
        return response.json()

    def ready(self) -> bool:
        """The gateway serves and its database answers."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list, following ``next_cursor``."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get(path, **params, limit=500, cursor=cursor)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def snapshot(self, top: int = TOP_N, fleet: frozenset[str] | None = None) -> Snapshot:
        """Cost anomalies (open first, then by impact), top savings, account forecasts.

        With ``fleet`` (instance ids) it also reads every recommendation, to tell
        how much of the fleet right-sizing has evaluated and to pick the top
        savings of each kind (resize, stop, schedule).
        """
        # Only cost anomalies carry a dollar impact; metric ones would crowd them out.
        cost = self.get("/v1/anomalies", min_impact=0.01, limit=500)["items"]
        cost.sort(key=lambda a: (a["status"] != "open", -(a.get("impact_usd") or 0.0)))
        detailed = [self.get(f"/v1/anomalies/{a['incident_id']}") for a in cost[:top]]
        opened = self.get("/v1/anomalies", status="open", limit=100)["items"]
        metric = [a for a in opened if a["kind"] == "metric"][: max(0, top - len(detailed))]
        summaries = self.get("/v1/forecasts", limit=200)["items"]
        account_level = [f for f in summaries if f.get("service") is None and f["status"] == "ok"]
        forecasts = [self.get(f"/v1/forecasts/{f['series_id']}") for f in account_level]
        if fleet is None:
            recs = self.get("/v1/recommendations", limit=top)["items"]
            return Snapshot(detailed + metric, recs, forecasts)
        everything = Fleet(fleet, self.all_pages("/v1/recommendations"))
        return Snapshot(detailed + metric, top_savings(everything, top), forecasts, everything)

    def tail(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """Alerts as they happen (SSE); resumes after event ``after``."""
        headers = {"Last-Event-ID": str(after)} if after else {}
        with connect_sse(
            self._http, "GET", "/v1/alerts/stream", headers=headers, timeout=None
        ) as source:
            for event in source.iter_sse():
                if event.event == "alert":
                    yield {"seq": int(event.id), **orjson.loads(event.data)}


def top_savings(fleet: Fleet, top: int) -> list[dict[str, Any]]:
    """The ``top`` largest savings, with the best of each fleet group among them.

    Sorted by savings alone, the table would show only resizes; a person should
    also see what stopping an idle instance or scheduling a daytime one saves.
    """
    ranked = sorted(fleet.evaluated, key=lambda r: -(r.get("estimated_monthly_savings") or 0.0))
    ranked = [r for r in ranked if (r.get("estimated_monthly_savings") or 0.0) > 0]
    best = [
        next(
            (r for r in ranked if r["finding"] == g or (g == "schedulable" and r.get("schedule"))),
            None,
        )
        for g in FLEET_ROWS[:3]
    ]
    chosen = [r for r in best if r is not None]
    chosen += [r for r in ranked if r not in chosen][: max(0, top - len(chosen))]
    return sorted(chosen, key=lambda r: -(r.get("estimated_monthly_savings") or 0.0))


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def _schedule(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "-"
    return f"stop {schedule['stopped_hours_per_week']} h/week"


def _root_cause(anomaly: dict[str, Any]) -> str:
    causes = anomaly.get("root_cause") or []
    if not causes:
        return str(anomaly.get("reason", ""))
    # The most specific driver says most: a usage type or resource over a series.
    specific = [c for c in causes if c["dimension"] in ("usage_type", "resource")]
    top = (specific or causes)[0]
    return f"{top['dimension']} {top['value']} ({top['share']:.0%})"


def render(snapshot: Snapshot, console: Console) -> None:
    """Print the three tables."""
    table = Table(title="Top anomalies (open first, then by dollar impact)", show_lines=False)
    for column in (
        "status",
        "severity",
        "account",
        "service / resource",
        "window",
        "impact",
        "root cause",
    ):
        table.add_column(column)
    for a in snapshot.anomalies:
        where = a.get("service") or a.get("resource_id") or a["series_id"]
        if a["kind"] == "metric":
            where = f"{a.get('resource_id')} {a.get('metric')}"
        table.add_row(
            a["status"],
            a["severity"],
            a["account_id"],
            where,
            f"{a['window_start'][:10]} → {a['window_end'][:10]}",
            _money(a.get("impact_usd")),
            _root_cause(a),
        )
    console.print(table)

    table = Table(title="Top savings (right-sizing)")
    for column in (
        "instance",
        "account",
        "finding",
        "current",
        "recommended",
        "schedule",
        "$/month saved",
        "why",
    ):
        table.add_column(column)
    for r in snapshot.recommendations:
        options = r.get("options") or []
        table.add_row(
            r["resource_id"],
            r["account_id"],
            r["finding"],
            r["current_type"],
            options[0]["instance_type"] if options else ("stop" if r["finding"] == "idle" else "-"),
            _schedule(r.get("schedule")),
            _money(r.get("estimated_monthly_savings")),
            r.get("reason", "")[:80],
        )
    console.print(table)

    if snapshot.fleet is not None:
        table = Table(
            title=f"Right-sizing across the fleet ({len(snapshot.fleet.instances)} instances)"
        )
        for column in ("finding", "instances", "$/month saved"):
            table.add_column(column)
        for group, count, saved in snapshot.fleet.rows():
            table.add_row(group, str(count), _money(saved))
        console.print(table)

    table = Table(title="Month-end forecast per account")
    for column in ("account", "month", "to date", "projected", "80% interval", "model", "MASE"):
        table.add_column(column)
    for f in snapshot.forecasts:
        month_end = f.get("month_end") or {}
        chosen: dict[str, Any] = next(
            (b for b in f.get("backtest", []) if b["model"] == f.get("model")), {}
        )
        table.add_row(
            f["account_id"],
            str(month_end.get("month", "-"))[:7],
            _money(month_end.get("actual_to_date")),
            _money(month_end.get("projected")),
            f"{_money(month_end.get('lo80'))} to {_money(month_end.get('hi80'))}",
            f.get("model") or "-",
            "-" if chosen.get("mase") is None else f"{chosen['mase']:.2f}",
        )
    console.print(table)
