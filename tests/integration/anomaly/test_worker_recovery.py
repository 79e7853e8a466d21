"""Crash and takeover: no incident lost, none duplicated, none re-opened."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path

import pytest

from services.anomaly.topics import COST_INPUT
from shared.kafka import partition_for
from shared.topics import ANOMALIES, COSTS_DAILY
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h

DAYS = 40
SPIKE_DAY = 30
# Both steps below wait on the broker's 10 s session timeout plus a rebalance
# (~25 s idle); a loaded 2-core machine has taken over 90 s.
TAKEOVER_TIMEOUT_S = 180.0
# Two takeover waits plus worker starts and joins fit in pytest's own deadline.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2 * TAKEOVER_TIMEOUT_S + 180)]


def accounts_on_every_partition() -> list[str]:
    """One account per input partition, so two workers both own accounts."""
    chosen: dict[int, str] = {}
    n = 100_000_000_000
    while len(chosen) < COST_INPUT.partitions:
        account = str(n)
        chosen.setdefault(partition_for(account, COST_INPUT.partitions), account)
        n += 1
    return [chosen[p] for p in sorted(chosen)]


def by_incident(events: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for event in events:
        out[event.incident_id].add(event.id)
    return dict(out)


def opens(events: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.action == "open":
            out[event.incident_id].add(event.id)
    return dict(out)


def logged(path: Path, event: str) -> list[dict]:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    out = []
    for line in lines:
        if line.startswith("{") and f'"{event}"' in line:
            out.append(json.loads(line))
    return out


def assert_exactly_reference(
    kafka_bootstrap: str, prefix: str, expected: dict[str, list[str]]
) -> list:
    missing: dict[str, list[str]] = {}

    def complete() -> list | None:
        events = h.anomalies(kafka_bootstrap, prefix, ANOMALIES)
        seen = {e.id for e in events}
        missing.clear()
        missing.update({k: [i for i in v if i not in seen] for k, v in expected.items()})
        return None if any(missing.values()) else events

    try:
        events = wait_for(
            complete, timeout=TAKEOVER_TIMEOUT_S, interval=1.0, description="every reference event"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; missing per incident: {missing}") from None
    assert by_incident(events) == {k: set(v) for k, v in expected.items()}
    assert all(len(ids) == 1 for ids in opens(events).values())
    return events


def test_sigkill_mid_stream_loses_and_duplicates_no_incident(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    accounts = accounts_on_every_partition()[:3]
    batches = h.deliveries(accounts, DAYS, {a: SPIKE_DAY + i for i, a in enumerate(accounts)})
    expected = h.reference_incidents(batches)
    assert len(expected) == len(accounts)
    half = len(batches) * 3 // 4
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches[:half]))
    worker = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "first")
    try:
        wait_for(
            lambda: asyncio.run(h.read_all(kafka_bootstrap, topic_prefix, COSTS_DAILY)),
            timeout=60,
            interval=0.2,
            description="the worker to publish its first cost points",
        )
    finally:
        h.kill(worker)
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches[half:]))
    restarted = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "restarted")
    try:
        assert_exactly_reference(kafka_bootstrap, topic_prefix, expected)
    finally:
        h.stop(restarted)


def test_second_worker_takes_over_with_state_and_does_not_reopen(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    accounts = accounts_on_every_partition()
    batches = h.deliveries(accounts, DAYS, dict.fromkeys(accounts, SPIKE_DAY))
    expected = h.reference_incidents(batches)
    cut = (SPIKE_DAY + 3) * len(accounts)  # incidents opened and updated, not resolved
    opened_before = h.reference_incidents(batches[:cut])
    assert len(opened_before) == len(accounts)
    a = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "a")
    b = None
    try:
        wait_for(
            lambda: logged(tmp_path / "a.log", "partitions assigned"),
            timeout=60,
            description="a joins",
        )
        b = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "b")
        wait_for(
            lambda: logged(tmp_path / "b.log", "partitions assigned"),
            timeout=60,
            description="b joins",
        )
        asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches[:cut]))
        assert_exactly_reference(kafka_bootstrap, topic_prefix, opened_before)
        h.kill(a)
        asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches[cut:]))
        events = assert_exactly_reference(kafka_bootstrap, topic_prefix, expected)
        assert {e.incident_id for e in events if e.action == "resolve"} == set(expected)
        takeover = logged(tmp_path / "b.log", "partitions assigned")[-1]
        # Every line-item partition (listed once more for the co-partitioned usage incidents).
        assert sorted(set(takeover["partitions"])) == list(range(COST_INPUT.partitions))
        assert takeover["keys_restored"] >= len(accounts) // 2
    finally:
        if a.poll() is None:
            h.kill(a)
        if b is not None:
            h.stop(b)
