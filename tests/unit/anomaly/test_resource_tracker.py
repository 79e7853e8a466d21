"""One incident per resource: evidence, impact, promotion by the budget, and the agent's wiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.anomaly.agents import BUDGET_KEY, MetricAgent
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.fleet.budget import AlertBudget, BudgetConfig, Decision
from services.anomaly.fleet.resource_tracker import ROUTINE_REASON, FleetConfig, ResourceTracker
from services.anomaly.metric.tracker import MetricTrackerConfig
from services.anomaly.state_codec import metric_state_codec
from services.anomaly.topics import INVENTORY_INPUT, METRIC_INPUT
from shared.events import Ec2Instance, MetricDatapoint
from tests.unit.anomaly.test_agents import MemoryTable

T0 = datetime(2026, 7, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


class JumpDetector:
    """Scores 1.0 on a jump of more than 30 from the last learned value (quiet otherwise)."""

    def __init__(self) -> None:
        self.last: float | None = None

    def score_one(self, ts: datetime, value: float) -> float:
        return 1.0 if self.last is not None and abs(value - self.last) > 30 else 0.0

    def learn_one(self, ts: datetime, value: float) -> None:
        self.last = value


def cpu(i: int) -> float:
    return 20.0 + (i % 5)


def feed(tracker: ResourceTracker, points: list[tuple[str, int, float]]) -> list:
    events = []
    for metric, i, value in points:
        ts = T0 + FIVE * i
        events += tracker.observe(metric, "Average", ts, value, "111", ts, JumpDetector)
        if tracker.candidate:
            events += tracker.decide(Decision(True), ts)
    return events


def saturation(start: int, length: int, end: int) -> list[tuple[str, int, float]]:
    points = []
    for i in range(end):
        hot = start <= i < start + length
        points.append(("CPUUtilization", i, 98.0 if hot else cpu(i)))
        points.append(("NetworkIn", i, 5e6 * (3 if hot else 1) + (i % 3)))
    return points


def test_one_incident_for_all_metrics_that_moved_priced_and_promoted_once() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(budget=BudgetConfig(min_impact_usd=0.5)))
    tracker.describe("m5.2xlarge", 0.384)
    events = feed(tracker, saturation(3000, 36, 3100))
    assert {e.incident_id for e in events} == {events[0].incident_id}
    assert next((e.action, e.notify) for e in events) == ("open", False)
    assert events[0].suppressed_reason
    assert "pending" in events[0].suppressed_reason
    promoted = [e for e in events if e.notify and e.action == "update"]
    assert len(promoted) == 1
    assert promoted[0].suppressed_reason is None
    resolve = events[-1]
    assert resolve.action == "resolve"
    assert resolve.notify
    assert resolve.evidence_metrics == ["CPUUtilization", "NetworkIn"]
    # ~3 hours at ~76 points of CPU on a $0.384/h instance
    assert resolve.impact_usd is not None
    assert 0.7 < resolve.impact_usd < 1.0
    assert resolve.window_start == T0 + FIVE * 3000
    assert resolve.window_end >= T0 + FIVE * 3036  # covers the saturation


def test_a_blip_stays_below_the_floor_and_never_notifies() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(budget=BudgetConfig(min_impact_usd=0.5)))
    tracker.describe("m5.2xlarge", 0.384)
    events = feed(tracker, saturation(3000, 1, 3100))
    assert [e.action for e in events] == ["open", "update", "resolve"]  # update: NetworkIn joined
    assert not any(e.notify for e in events)
    assert all(e.suppressed_reason for e in events)


def test_a_refused_candidate_says_why_and_is_judged_once() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(budget=BudgetConfig(min_impact_usd=0.1)))
    events = []
    for metric, i, value in saturation(3000, 36, 3100):
        ts = T0 + FIVE * i
        events += tracker.observe(metric, "Average", ts, value, "111", ts, JumpDetector)
        if tracker.candidate:
            events += tracker.decide(Decision(False, "alert budget: 1 of 1 sent"), ts)
    assert not any(e.notify for e in events)
    assert "alert budget" in (events[-1].suppressed_reason or "")
    assert sum(1 for e in events if "alert budget" in (e.suppressed_reason or "")) == 2


def test_unknown_instance_types_use_the_default_price() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(default_price_usd=1.0))
    tracker.capacity_hours = {"CPUUtilization": 2.0}
    assert tracker.impact_usd == 2.0
    tracker.describe("x9.huge", None)
    assert tracker.impact_usd == 2.0


def _point(resource: str, i: int, value: float) -> MetricDatapoint:
    return MetricDatapoint(
        id=f"{resource}@{i}",
        resource_id=resource,
        account_id="111",
        region="us-east-1",
        metric="CPUUtilization",
        timestamp=T0 + FIVE * i,
        value=value,
    )


def _agent(table: MemoryTable, budget: BudgetConfig) -> MetricAgent:
    config = FleetConfig(stream=MetricTrackerConfig(threshold=0.5), budget=budget)
    agent = MetricAgent(table, config, FeedbackBook(FeedbackConfig()), JumpDetector)  # type: ignore[arg-type]
    agent.now = T0
    return agent


def _run(agent: MetricAgent, table: MemoryTable, records: list, poll: int) -> list:
    """Apply records (partition 0), ``poll`` at a time, grouped by key as the loop does."""
    outputs = []
    for start in range(0, len(records), poll):
        by_key: dict[str, list] = {}
        for offset, topic, event in records[start : start + poll]:
            by_key.setdefault(agent.state_key(event), []).append((offset, topic, event))
        for key, items in by_key.items():
            state = table.get(key) or agent.new_state(key, items[0][2])
            for offset, topic, event in items:
                if agent.applied_offset(state, topic) >= offset:
                    continue
                agent.position = (0, offset)
                outputs += agent.apply(state, event)
                agent.mark_applied(state, topic, offset)
            table.put(key, 0, state)
        outputs += agent.finish()
    return outputs


def _fleet_records() -> list:
    """Inventory for three hosts, then their points; two saturate, one of them pricier."""
    records: list = []
    for n, (resource, itype) in enumerate(
        [("i-a", "m5.large"), ("i-b", "m5.4xlarge"), ("i-c", "t3.micro")]
    ):
        inv = Ec2Instance(
            id=resource, instance_id=resource, account_id="111", region="us-east-1",
            instance_type=itype, state="running", observed_at=T0,
        )  # fmt: skip
        records.append((n, INVENTORY_INPUT.name, inv))
    offset = 0
    for i in range(3100):
        for resource in ("i-a", "i-b", "i-c"):
            hot = resource != "i-c" and 3000 <= i < 3036
            records.append(
                (offset, METRIC_INPUT.name, _point(resource, i, 98.0 if hot else cpu(i)))
            )
            offset += 1
    return records


def test_agent_prices_from_inventory_and_the_budget_promotes_in_offset_order() -> None:
    budget = BudgetConfig(alerts_per_100_per_day=1.0, min_impact_usd=0.05)
    table = MemoryTable()
    outputs = _run(_agent(table, budget), table, _fleet_records(), poll=50)
    events = [e for _topic, e, _key, _pk in outputs]
    notified = {e.resource_id for e in events if e.notify}
    # one alert per (100/3) days for 3 resources: the pricier host reaches the floor
    # first (in offset order) and takes it; i-a is recorded with the reason, not pushed
    assert notified == {"i-b"}
    refused = [e for e in events if e.resource_id == "i-a" and e.action == "resolve"]
    assert refused
    assert "alert budget" in (refused[0].suppressed_reason or "")
    assert table.get("i-b").price_usd == 0.768  # m5.4xlarge in us-east-1
    assert isinstance(table.get(f"{BUDGET_KEY}0"), AlertBudget)
    assert not any(e.resource_id == "i-c" for e in events)


def test_poll_boundaries_do_not_change_any_decision() -> None:
    budget = BudgetConfig(alerts_per_100_per_day=1.0, min_impact_usd=0.05)
    runs = []
    for poll in (7, 50, 5000):
        table = MemoryTable()
        outputs = _run(_agent(table, budget), table, _fleet_records(), poll=poll)
        runs.append(sorted((e.id, e.notify, e.suppressed_reason) for _t, e, _k, _p in outputs))
    assert runs[0] == runs[1] == runs[2]


def test_a_resource_state_with_an_open_incident_round_trips_and_decides_the_same() -> None:
    codec = metric_state_codec(JumpDetector())
    config = FleetConfig(budget=BudgetConfig(min_impact_usd=0.05))
    tracker = ResourceTracker("i-1", config)
    points = saturation(3000, 36, 3100)
    head, tail = points[:6020], points[6020:]  # in the middle of the saturation
    feed(tracker, head)
    assert tracker.incident is not None
    restored = codec.decode(codec.encode(tracker))
    assert codec.encode(restored) == codec.encode(tracker)
    assert [e.model_dump() for e in feed(restored, tail)] == [
        e.model_dump() for e in feed(tracker, tail)
    ]


def test_an_incident_of_a_young_stream_is_published_but_never_promoted() -> None:
    tracker = ResourceTracker("i-1", FleetConfig(budget=BudgetConfig(min_impact_usd=0.05)))
    tracker.describe("m5.2xlarge", 0.384)
    events = feed(tracker, saturation(200, 36, 300))  # before a day of points
    assert events
    assert not any(e.notify for e in events)
    assert "points its baseline needs" in (events[-1].suppressed_reason or "")


def test_streams_delivered_one_after_the_other_still_make_one_incident() -> None:
    # A file replay may hold one metric's whole day before the next metric's.
    tracker = ResourceTracker("i-1", FleetConfig(budget=BudgetConfig(min_impact_usd=0.05)))
    cpu_points = [p for p in saturation(3000, 36, 3168) if p[0] == "CPUUtilization"]
    net_points = [p for p in saturation(3010, 36, 3168) if p[0] == "NetworkIn"]
    ordered = []
    for day in range(0, 3168, 288):  # per day: CPU's points, then NetworkIn's
        ordered += [p for p in cpu_points if day <= p[1] < day + 288]
        ordered += [p for p in net_points if day <= p[1] < day + 288]
    events = feed(tracker, ordered)
    late = {e.incident_id for e in events if e.window_start >= T0 + FIVE * 2990}
    assert len(late) == 1
    assert events[-1].evidence_metrics == ["CPUUtilization", "NetworkIn"]


def _daily_bursts(days: range, length: int) -> list[tuple[str, int, float]]:
    """A quiet host that bursts by 60 points for ``length`` points at noon every day."""
    return [
        ("CPUUtilization", i, 80.0 if 144 <= i % 288 < 144 + length else cpu(i))
        for i in range(days.start * 288, days.stop * 288)
    ]


def test_a_burst_the_host_makes_every_day_is_routine_but_a_bigger_one_is_not() -> None:
    config = FleetConfig(baseline_warmup=0, budget=BudgetConfig(min_impact_usd=0.05))
    tracker = ResourceTracker("i-1", config)
    tracker.describe("m5.2xlarge", 1.0)
    first = feed(tracker, _daily_bursts(range(10), 6))
    notified = sorted({e.window_start for e in first if e.notify})
    assert notified[0].date() == T0.date()  # its first bursts were news ...
    assert notified[-1] < T0 + timedelta(days=4)  # ... until it had made them for 3 days
    assert tracker.streams["CPUUtilization|Average"].routine > 0.0
    later = feed(tracker, _daily_bursts(range(10, 16), 4))
    assert [e.action for e in later].count("resolve") == 6  # still published, not notified
    assert not any(e.notify for e in later)
    assert {e.suppressed_reason for e in later if e.action == "resolve"} == {ROUTINE_REASON}
    # The same host pinned for four hours moved far more than it ever does: notified.
    pinned = range(16 * 288, 16 * 288 + 100)
    events = feed(
        tracker, [("CPUUtilization", i, 98.0 if i < pinned[48] else cpu(i)) for i in pinned]
    )
    assert any(e.notify for e in events)
