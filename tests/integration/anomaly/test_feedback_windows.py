"""A planned window posted through the gateway's REST API changes what the detector reports.

Gateway REST -> feedback topic -> a real anomaly worker -> anomalies topic: the
spike inside the window opens nothing, the same spike outside it still alerts.
Without the window the pure core opens an incident on the middle spike too, so
the test fails if the rule is lost anywhere on the way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.gateway.settings import GatewaySettings
from shared.codec import decode
from shared.events import AnomalyEvent
from shared.topics import ANOMALIES, ensure_topics
from tests.harness.isolation import PgSchema
from tests.harness.wait import wait_for_async
from tests.integration.anomaly import helpers as h
from tests.integration.gateway.helpers import auth, running_gateway, settings_factory

# A worker start, a consumer-group join on each side and a few dozen deliveries:
# seconds when idle, well over a minute on a loaded 2-core machine.
STEP_TIMEOUT_S = 180.0
pytestmark = [pytest.mark.integration, pytest.mark.timeout(4 * STEP_TIMEOUT_S)]

ACCOUNT = "100000000001"
DAYS = 45
# Two-day spikes on EC2 from these day offsets (START + offset).
FIRST, PLANNED, LATER = 16, 26, 36
WINDOW_START = datetime.combine(h.START + timedelta(days=PLANNED), datetime.min.time(), UTC)
WINDOW_END = WINDOW_START + timedelta(days=2)


def _opened_in(events: list[AnomalyEvent], start: datetime, end: datetime) -> list[AnomalyEvent]:
    return [e for e in events if e.action == "open" and start <= e.window_start < end]


def _rule_recorded(log: Path, rule_id: str) -> bool:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return any(
        line.startswith("{")
        and (doc := json.loads(line)).get("event") == "feedback rule recorded"
        and doc.get("rule") == rule_id
        for line in lines
    )


async def test_a_planned_window_from_rest_suppresses_inside_and_not_outside(
    kafka_bootstrap: str,
    postgres_dsn: str,
    pg_schema: PgSchema,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    batches = h.deliveries([ACCOUNT], DAYS, {ACCOUNT: (FIRST, PLANNED, LATER)})
    # The same input without feedback: the middle spike is an incident of its own.
    assert len(h.reference_incidents(batches)) == 3
    make: Callable[..., GatewaySettings] = settings_factory(
        postgres_dsn, kafka_bootstrap, pg_schema.name, topic_prefix, gateway_run_consumer=True
    )
    await ensure_topics(h.settings_for(kafka_bootstrap, topic_prefix))
    # Index of the first delivery that shows the day after the first spike ends.
    first_part = FIRST + 3
    worker = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "worker")
    try:
        async with running_gateway(make()) as gw:
            key = await gw.tenant("acme", [ACCOUNT])
            await h.produce(kafka_bootstrap, topic_prefix, batches[:first_part])

            async def first_incident() -> list[dict[str, object]]:
                items: list[dict[str, object]] = (await gw.get("/v1/anomalies", key)).json()[
                    "items"
                ]
                return items

            [incident] = await wait_for_async(
                first_incident, timeout=STEP_TIMEOUT_S, description="the first spike's incident"
            )
            path = f"/v1/anomalies/{incident['incident_id']}/feedback"
            refused = await gw.client.post(path, json={"verdict": "planned"}, headers=auth(key))
            assert refused.status_code == 422
            assert "needs window_start and window_end" in refused.text
            window = {"window_start": f"{WINDOW_START:%Y-%m-%dT%H:%M:%SZ}",
                      "window_end": f"{WINDOW_END:%Y-%m-%dT%H:%M:%SZ}"}  # fmt: skip
            accepted = await gw.client.post(
                path, json={"verdict": "planned", "note": "load test", **window}, headers=auth(key)
            )
            assert accepted.status_code == 202, accepted.text
            rule_id = accepted.json()["rule_id"]
            await wait_for_async(
                lambda: _rule_recorded(tmp_path / "worker.log", rule_id),
                timeout=STEP_TIMEOUT_S,
                description="the worker's feedback follower has the rule",
            )
            await h.produce(kafka_bootstrap, topic_prefix, batches[first_part:])
            later = WINDOW_START + timedelta(days=LATER - PLANNED)

            async def later_spike_seen() -> list[AnomalyEvent] | None:
                # One series, so one partition: what the window would have opened comes first.
                records = await h.read_all(kafka_bootstrap, topic_prefix, ANOMALIES)
                events = [decode(v, hd, ANOMALIES.values) for v, hd in records]
                typed = [e for e in events if isinstance(e, AnomalyEvent)]
                return typed if _opened_in(typed, later, later + timedelta(days=2)) else None

            events = await wait_for_async(
                later_spike_seen, timeout=STEP_TIMEOUT_S, description="the later spike alerts"
            )
    finally:
        h.stop(worker)
    assert _opened_in(events, WINDOW_START, WINDOW_END) == []
    assert len({e.incident_id for e in events if e.action == "open"}) == 2  # first and later
