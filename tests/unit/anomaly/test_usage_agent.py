"""The usage loop's agent and the cost loop's links, without a broker (issue 15 item 2)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from services.anomaly.settings import AnomalySettings
from services.anomaly.state_codec import cost_state_codec, usage_state_codec
from services.anomaly.topics import ANOMALIES_OUTPUT, USAGE_INCIDENTS_TOPIC, USAGE_STATE
from services.anomaly.usage.agent import RATES_KEY, UsageAgent
from services.anomaly.usage.links import UsageLinks
from shared.changelog import ChangelogStore
from shared.events import (
    AccountUnitRates,
    AnomalyEvent,
    Feedback,
    MetricDatapoint,
    UsageUnitRate,
)
from shared.state_codec import StateCodec

ACCOUNT = "111122223333"
START = datetime(2024, 1, 1, tzinfo=UTC)
SPIKE_STEP = 15 * 288 + 6 * 12  # day 15, 06:00


def _agent() -> UsageAgent:
    settings = AnomalySettings()
    table = ChangelogStore(USAGE_STATE, settings, None, usage_state_codec())  # type: ignore[arg-type]
    agent = UsageAgent(table, settings.usage_config())
    agent.now = START
    return agent


def _feed(agent: UsageAgent, event: object, codec: StateCodec | None = None) -> list:
    key = agent.state_key(event)  # type: ignore[arg-type]
    state = agent.table.get(key) or agent.new_state(key, event)  # type: ignore[arg-type]
    if codec is not None:  # as if restored from the changelog
        state = codec.decode(codec.encode(state))
    out = agent.apply(state, event)  # type: ignore[arg-type]
    agent.table.values[key] = state
    return out


def _points(steps: range, seed: int = 1) -> list[MetricDatapoint]:
    rng = np.random.default_rng(seed)
    out = []
    for k in steps:
        ts = START + timedelta(minutes=5 * k)
        level = 2.0 * (1 + 0.5 * math.sin(ts.hour / 24 * 2 * math.pi))
        factor = 4.0 if k >= SPIKE_STEP else 1.0
        for metric, share in (("BytesOutToDestination", 0.8), ("BytesOutToSource", 0.2)):
            gb = level * share * (1 + rng.normal(0, 0.05)) * factor
            out.append(
                MetricDatapoint(
                    id=f"{metric}-{k}",
                    resource_id="nat-1",
                    account_id=ACCOUNT,
                    region="us-east-1",
                    namespace="AWS/NATGateway",
                    metric=metric,
                    stat="Sum",
                    unit="Bytes",
                    period_s=300,
                    timestamp=ts,
                    value=gb * 2**30,
                    dimensions={"NatGatewayId": "nat-1"},
                )
            )
    return out


def _public(outputs: list) -> list[AnomalyEvent]:
    return [e for topic, e, *_ in outputs if topic == ANOMALIES_OUTPUT]


def test_a_nat_spike_opens_one_priced_incident_at_the_accounts_rate() -> None:
    agent = _agent()
    rates = AccountUnitRates(
        id="r1",
        account_id=ACCOUNT,
        as_of=START,
        rates=[
            UsageUnitRate(
                usage_type="NatGateway-Bytes", region="us-east-1", cost_usd=4.0, usage_amount=100.0
            )
        ],
    )
    assert _feed(agent, rates) == []
    assert agent.state_key(rates) == RATES_KEY + ACCOUNT
    outputs: list = []
    for point in _points(range(SPIKE_STEP + 36)):
        outputs += _feed(agent, point)
    public = _public(outputs)
    assert [e.action for e in public][:1] == ["open"]
    opened = public[0]
    assert opened.window_start == START + timedelta(minutes=5 * SPIKE_STEP)
    assert opened.impact_estimated
    assert opened.impact_rate_source == "cur"
    assert opened.usage_type == "NatGateway-Bytes"
    assert opened.incident_id
    assert {e.incident_id for e in public} == {opened.incident_id}  # both directions, one
    # Every period of the open incident reaches the cost loop's view; people get hourly.
    private = [e for topic, e, *_ in outputs if topic == USAGE_INCIDENTS_TOPIC]
    assert len(private) > len(public)
    assert private[-1].impact_usd is not None
    assert opened.impact_usd is not None
    assert private[-1].impact_usd > opened.impact_usd


def test_without_rates_the_estimate_is_labelled_catalogue() -> None:
    agent = _agent()
    outputs: list = []
    for point in _points(range(SPIKE_STEP + 2)):
        outputs += _feed(agent, point)
    assert [e.impact_rate_source for e in _public(outputs)] == ["catalogue"]


def test_state_restored_from_the_changelog_decides_the_same() -> None:
    points = _points(range(SPIKE_STEP + 24))
    plain, restored = _agent(), _agent()
    codec = usage_state_codec()
    a = [e.id for p in points for e in _public(_feed(plain, p))]
    b = [e.id for p in points for e in _public(_feed(restored, p, codec))]
    assert a
    assert a == b


def _usage(revision: int, end_h: float, usd: float, action: str = "update") -> AnomalyEvent:
    start = START + timedelta(hours=6)
    return AnomalyEvent(
        id=f"u{revision}",
        incident_id="metric-1",
        action=action,  # type: ignore[arg-type]
        revision=revision,
        kind="metric",
        series_id="usage/x",
        account_id=ACCOUNT,
        usage_type="NatGateway-Bytes",
        window_start=start,
        window_end=START + timedelta(hours=end_h),
        actual=1.0,
        expected=1.0,
        lower=0.0,
        upper=1.0,
        score=0.5,
        severity="high",
        impact_usd=usd,
        detector="usage-metric-priced",
        reason="r",
        detected_at=START,
        impact_estimated=True,
    )


def _cost(action: str, usage_type: str = "NatGateway-Bytes", revision: int = 0) -> AnomalyEvent:
    return AnomalyEvent(
        id=f"c-{action}-{revision}",
        incident_id="cost-1",
        action=action,  # type: ignore[arg-type]
        revision=revision,
        kind="cost",
        series_id="daily/x",
        account_id=ACCOUNT,
        usage_type=usage_type,
        window_start=START,
        window_end=START + timedelta(hours=12),
        actual=150.0,
        expected=50.0,
        lower=0.0,
        upper=60.0,
        score=0.9,
        severity="high",
        impact_usd=100.0,
        detector="cost",
        reason="r",
        detected_at=START,
    )


def test_the_cur_confirmation_joins_the_usage_incident_with_its_error() -> None:
    links = UsageLinks()
    links.observe(_usage(0, 6.1, 2.0, "open"))
    links.observe(_usage(2, 9.0, 60.0))
    links.observe(_usage(2, 12.0, 110.0))  # a period's progress: same revision
    assert links.join(_cost("open", "BoxUsage")).incident_id == "cost-1"  # another usage type
    joined = links.join(_cost("open"))
    assert (joined.incident_id, joined.linked_incident_id) == ("metric-1", "cost-1")
    assert joined.action == "update"
    assert joined.revision == 3  # odd, above the metric's latest (usage revisions are even)
    assert joined.impact_estimate_error == 0.1  # $110 estimated for $100 confirmed
    later = links.join(_cost("update", revision=1))
    assert later.incident_id == "metric-1"
    assert later.revision == 5
    links.observe(_usage(4, 13.0, 120.0))  # the usage loop's next hourly update
    assert links.join(_cost("update", revision=2)).revision == 7
    # The links are cost-loop state: they survive the changelog.
    codec = cost_state_codec()
    again = codec.decode(codec.encode(links))
    assert again.join(_cost("resolve", revision=2)).incident_id == "metric-1"


def test_a_false_positive_verdict_resolves_the_usage_incident_once() -> None:
    agent = _agent()
    outputs: list = []
    points = _points(range(SPIKE_STEP + 4))
    for point in points:
        outputs += _feed(agent, point)
    opened = _public(outputs)[0]
    for partition_key in list(agent.table.values):
        agent.table.partition_of[partition_key] = 0
    verdict = Feedback(
        id="f1",
        rule_id="r1",
        incident_id=opened.incident_id,
        series_id=opened.series_id,
        verdict="false_positive",
        created_at=START,
    )
    agent.offer(verdict)
    resolved = _public(agent.pending())
    assert [(e.action, e.incident_id) for e in resolved] == [("resolve", opened.incident_id)]
    agent.offer(verdict)  # the follower replays feedback on every start
    assert _public(agent.pending()) == []
    # The spike goes on, but the person said it is fine: no new incident from it.
    later = [
        e for p in _points(range(SPIKE_STEP + 4, SPIKE_STEP + 12)) for e in _public(_feed(agent, p))
    ]
    assert later == []
