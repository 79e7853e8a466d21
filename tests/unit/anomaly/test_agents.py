from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.anomaly.agents import CostAgent, MetricAgent
from services.anomaly.cost.account_state import AccountState
from services.anomaly.feedback.follower import record_rule
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.fleet.resource_tracker import FleetConfig
from services.anomaly.settings import AnomalySettings
from shared.events import Feedback, MetricDatapoint
from shared.topics import ANOMALIES

NOW = datetime(2024, 6, 1, tzinfo=UTC)


class MemoryTable:
    """The part of ``ChangelogStore`` agents use, without a broker."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[int, object]] = {}
        self.dirty: set[str] = set()

    def get(self, key: str):
        found = self.data.get(key)
        return found[1] if found else None

    def put(self, key: str, partition: int, value: object) -> None:
        self.data[key] = (partition, value)
        self.dirty.add(key)

    def items(self):
        for key, (partition, value) in self.data.items():
            yield partition, key, value


def account_with_open_incident() -> AccountState:
    state = AccountState("111", AnomalySettings(anomaly_warmup_days=14).cost_config())
    rng = np.random.default_rng(0)
    for i in range(31):
        extra = 900.0 if i == 30 else 0.0
        leaves = {("EC2", "Box"): 400 * (1 + rng.normal(0, 0.02)) + extra, ("S3", "St"): 80.0}
        state.engine.evaluate_day(date(2024, 1, 1) + timedelta(days=i), leaves, None, None, NOW)
    assert state.engine.open
    return state


def test_false_positive_feedback_resolves_the_incident_on_the_owning_agent() -> None:
    table = MemoryTable()
    book = FeedbackBook(FeedbackConfig())
    agent = CostAgent(table, AnomalySettings().cost_config(), book)  # type: ignore[arg-type]
    state = account_with_open_incident()
    table.put("111", 3, state)
    incident = next(iter(state.engine.open.values()))
    feedback = Feedback(
        id="f",
        series_id=incident.ref.series_id,
        incident_id=incident.incident_id,
        verdict="false_positive",
        window_start=incident.window_start,
        window_end=incident.last.window_end,
        created_at=NOW,
    )
    record_rule(book, feedback)
    agent.offer(feedback)
    outputs = agent.pending()
    assert [(topic, event.action) for topic, event, _, _ in outputs] == [(ANOMALIES, "resolve")]
    assert not state.engine.open
    assert agent.pending() == []  # applied once
    # Anchored on the incident's window (data time), not on when the verdict came.
    assert book.widen(incident.ref.series_id, incident.last.window_end) == 2.0


def test_planned_window_keeps_metric_points_out_and_opens_nothing() -> None:
    class Always:
        learned = 0

        def score_one(self, ts, value):
            return 1.0

        def learn_one(self, ts, value):
            Always.learned += 1

    book = FeedbackBook(FeedbackConfig())
    key = "i-1|CPUUtilization|Average"
    book.add_planned(key, NOW, NOW + timedelta(hours=1))
    agent = MetricAgent(MemoryTable(), FleetConfig(), book, Always)  # type: ignore[arg-type]
    agent.now = NOW
    point = MetricDatapoint(
        id="p",
        resource_id="i-1",
        account_id="1",
        region="r",
        metric="CPUUtilization",
        timestamp=NOW + timedelta(minutes=5),
        value=99.0,
    )
    state = agent.new_state(agent.state_key(point), point)
    assert agent.apply(state, point) == []
    assert Always.learned == 0
