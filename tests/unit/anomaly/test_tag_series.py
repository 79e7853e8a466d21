"""Tag series: one per (account, tag value), untagged and capped "other", own root cause."""

from datetime import date

from services.anomaly.cost.account_state import AccountState
from services.anomaly.cost.tags import TagConfig, TagRegistry
from services.anomaly.feedback.rules import FeedbackBook, FeedbackConfig
from services.anomaly.settings import AnomalySettings
from shared.events.costs import series_parts, series_tag, tag_series_id
from tests.unit.anomaly.cur_events import NOW, TEAM_TAGS, delivery, tagged_month

DAY = date(2024, 1, 1)
EC2, S3, LAMBDA = ("AmazonEC2", "BoxUsage"), ("AmazonS3", "TimedStorage"), ("AWSLambda", "Request")
TAGS = TEAM_TAGS
PAYMENTS = "daily/1#team=payments"


def _run(state: AccountState, batches: list[list]) -> list:
    book = FeedbackBook(FeedbackConfig())
    return [a for batch in batches for e in batch for a in state.on_event(e, book, NOW).anomalies]


def _state(keys: str = "team") -> AccountState:
    config = AnomalySettings(anomaly_warmup_days=14, anomaly_tag_keys=keys).cost_config()
    return AccountState("1", config)


def test_tag_series_ids_round_trip_through_shared_helpers() -> None:
    sid = tag_series_id("daily", "111122223333", "cost/center", "R&D #1 = a/b")
    assert series_parts(sid) == ("daily", "111122223333", None, None)
    assert series_tag(sid) == ("cost/center", "R&D #1 = a/b")
    assert series_tag(tag_series_id("daily", "1", "team", "")) == ("team", "")
    assert series_parts("daily/1/Svc#x/Use#y") == ("daily", "1", "Svc#x", "Use#y")


def test_points_per_tag_value_and_untagged() -> None:
    state = _state()
    out = None
    book = FeedbackBook(FeedbackConfig())
    for e in delivery("1", "a", {DAY: {EC2: 10.0, S3: 4.0, LAMBDA: 1.0}}, tags=TAGS):
        out = state.on_event(e, book, NOW)
    tag_points = {p.series_id: p.cost for p in out.points if p.level == "tag"}
    assert tag_points == {PAYMENTS: 10.0, "daily/1#team=search": 4.0, "daily/1#team=": 1.0}


def test_no_tag_keys_means_no_tag_series() -> None:
    state = _state(keys="")
    _run(state, tagged_month(None, 3))
    assert not [s for s in state.engine.series if series_tag(s)]


def test_a_spike_in_one_team_alerts_on_its_tag_series_with_the_tag_first() -> None:
    anomalies = _run(_state(), tagged_month(spike_day=18, days=20))
    tagged = [a for a in anomalies if a.series_id == PAYMENTS and a.action == "open"]
    assert len(tagged) == 1
    causes = tagged[0].root_cause
    assert (causes[0].dimension, causes[0].value) == ("tag", "team=payments")
    service = next(c for c in causes if c.dimension == "service")
    assert service.value == "AmazonEC2"
    assert service.share > 0.9
    # The other teams' series did not alert.
    assert not [a for a in anomalies if a.series_id in ("daily/1#team=search", "daily/1#team=")]


def test_values_past_the_cap_share_the_other_series() -> None:
    registry = TagRegistry()
    cfg = TagConfig(keys=("team", "env"), max_values_per_key=2)
    got = [registry.series("1", {"team": t, "env": "prod"}, cfg) for t in ("a", "b", "c", "a")]
    assert [g[0] for g in got] == [
        "daily/1#team=a",
        "daily/1#team=b",
        "daily/1#team=*",
        "daily/1#team=a",
    ]
    assert {g[1] for g in got} == {"daily/1#env=prod"}
    assert registry.series(
        "1", {"team": "x" * 300}, TagConfig(keys=("team",), max_values_per_key=9)
    ) == ["daily/1#team=*"]
