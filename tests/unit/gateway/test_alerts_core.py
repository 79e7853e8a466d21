from __future__ import annotations

import random

import orjson
import pytest

from services.gateway.alerts import backoff, body, matching, model, signing
from tests.unit.gateway import factories as f


def _alert(**overrides: object) -> model.Alert:
    base = model.from_anomaly(f.anomaly("inc", severity="high", impact=50.0))
    return model.Alert(**{**base.__dict__, **overrides})  # type: ignore[arg-type]  # test helper


def test_every_anomaly_lifecycle_step_is_an_alert() -> None:
    for action in ("open", "update", "resolve"):
        alert = model.from_anomaly(f.anomaly("inc", action))
        assert (alert.action, alert.alert_id, alert.source) == (action, "inc", "anomaly")


def test_only_regressed_recommendations_alert() -> None:
    assert model.from_recommendation(f.recommendation("i-1")) is None
    alert = model.from_recommendation(f.recommendation("i-1", regression=True))
    assert alert is not None
    assert (alert.severity, alert.alert_id) == ("high", "i-1")


def test_budget_alert_impact_is_projected_overrun() -> None:
    alert = model.from_budget_alert(f.budget_alert("b"))
    assert (alert.severity, alert.impact_usd) == ("high", 500.0)


@pytest.mark.parametrize(
    ("filters", "wanted"),
    [
        (matching.Filters(frozenset({"111111111111"})), True),
        (matching.Filters(frozenset({"999999999999"})), False),
        (matching.Filters(frozenset({"111111111111"}), accounts=frozenset({"2"})), False),
        (matching.Filters(frozenset({"111111111111"}), services=frozenset({"AmazonS3"})), False),
        (matching.Filters(frozenset({"111111111111"}), services=frozenset({"AmazonEC2"})), True),
        (matching.Filters(frozenset({"111111111111"}), min_severity="critical"), False),
        (matching.Filters(frozenset({"111111111111"}), min_severity="high"), True),
        (matching.Filters(frozenset({"111111111111"}), min_impact_usd=50.0), True),
        (matching.Filters(frozenset({"111111111111"}), min_impact_usd=50.01), False),
    ],
)
def test_filters(filters: matching.Filters, wanted: bool) -> None:
    assert filters.matches(_alert()) is wanted


def test_alert_without_impact_fails_a_dollar_filter() -> None:
    alert = _alert(impact_usd=None)
    assert not matching.Filters(frozenset({"111111111111"}), min_impact_usd=1).matches(alert)
    assert matching.matching(alert, [("s", matching.Filters(frozenset({"111111111111"})))]) == ["s"]


def test_signature_round_trip_and_tamper_and_staleness() -> None:
    payload = b'{"a":1}'
    sig = signing.sign("secret", 1000, "ev", payload)
    assert sig.startswith("v2=")
    assert signing.verify("secret", 1000, "ev", payload, sig, now=1100)
    assert not signing.verify("secret", 1000, "ev", payload + b" ", sig, now=1100)
    assert not signing.verify("secret", 1001, "ev", payload, sig, now=1100)
    assert not signing.verify("secret", 1000, "ev2", payload, sig, now=1100)
    assert not signing.verify("secret", 1000, "ev", payload, sig, now=1000 + 301)


def test_backoff_is_capped_full_jitter_and_grows() -> None:
    rng = random.Random(1)
    delays = [backoff.next_delay(a, 1.0, 60.0, rng) for a in range(1, 40)]
    assert all(0.0 <= d <= 60.0 for d in delays)
    means = [
        sum(backoff.next_delay(a, 1.0, 1e9, random.Random(s)) for s in range(200)) / 200
        for a in (1, 4)
    ]
    assert means[1] > 4 * means[0]
    assert backoff.gives_up(3, 3)
    assert not backoff.gives_up(2, 3)


def test_bodies() -> None:
    alert = _alert()
    doc = orjson.loads(body.render(alert, 7, "json"))
    assert (doc["seq"], doc["event_id"], doc["detail"]["incident_id"]) == (7, alert.event_id, "inc")
    slack = orjson.loads(body.render(alert, 7, "slack"))
    assert set(slack) == {"text", "blocks"}
    assert alert.title in slack["text"]
    assert slack["blocks"][0]["type"] == "section"


def test_sources_filter_picks_alert_kinds_and_empty_means_all() -> None:
    restated = model.from_restatement(f.restatement())
    anomaly = model.from_anomaly(f.anomaly("i"))
    everything = matching.Filters(frozenset({"111111111111"}))
    only = matching.Filters(frozenset({"111111111111"}), sources=frozenset({"restatement"}))
    assert everything.matches(restated)
    assert everything.matches(anomaly)
    assert only.matches(restated)
    assert not only.matches(anomaly)
    # Another tenant's account: the kind filter never widens what a tenant may see.
    assert not matching.Filters(frozenset({"222"}), sources=frozenset({"restatement"})).matches(
        restated
    )
