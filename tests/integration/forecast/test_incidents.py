"""Anomaly-aware history on a real broker: an incident on the topic changes the next forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.forecast.app import ForecastApp
from shared.events import AnomalyEvent, Forecast
from shared.topics import ANOMALIES, FORECASTS, ensure_topics
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.forecast.support import START, cost_points, send_event, send_points
from tests.integration.forecast.test_service import STARTUP_TIMEOUT_S, _pool, _settings, running

pytestmark = pytest.mark.integration

SERIES = "daily/333/AmazonEC2"
SPIKE = range(90, 94)  # four days at five times the usual cost, near the end of 100


def _spiked_points():
    for i, point in enumerate(cost_points("333", 100, service="AmazonEC2")):
        yield point.model_copy(update={"cost": point.cost * 5}) if i in SPIKE else point


def _incident() -> AnomalyEvent:
    at = datetime.combine(START + timedelta(days=SPIKE.start), datetime.min.time(), UTC)
    return AnomalyEvent(
        id="inc-ec2-resolve",
        incident_id="inc-ec2",
        action="resolve",
        revision=2,
        kind="cost",
        # Detected on the usage type: the service series is its ancestor and holds it.
        series_id=f"{SERIES}/BoxUsage",
        account_id="333",
        service="AmazonEC2",
        usage_type="BoxUsage",
        window_start=at,
        window_end=at + timedelta(days=len(SPIKE)),
        actual=2600.0,
        expected=520.0,
        lower=480.0,
        upper=560.0,
        score=0.99,
        severity="critical",
        detector="cost",
        reason="EC2 BoxUsage spend five times the usual",
        detected_at=at + timedelta(days=len(SPIKE)),
    )


def _latest(events, predicate) -> Forecast | None:
    found = [e for e in events if isinstance(e, Forecast) and e.series_id == SERIES]
    found = [f for f in found if predicate(f)]
    return found[-1] if found else None


async def test_an_incident_on_the_topic_is_reported_and_imputed_by_the_next_forecast(
    kafka_bootstrap, topic_prefix
):
    settings = _settings(kafka_bootstrap, topic_prefix)
    await ensure_topics(settings)
    await send_points(settings, _spiked_points())
    with _pool() as pool:
        async with collected(settings, FORECASTS) as forecasts:
            app = ForecastApp(settings, pool=pool)
            async with running(app):
                await wait_for_async(
                    lambda: _latest(forecasts, lambda f: f.status == "ok"),
                    timeout=STARTUP_TIMEOUT_S,
                    description="a forecast without incidents",
                )
                await send_event(settings, ANOMALIES, _incident(), key=_incident().series_id)
                await wait_for_async(
                    lambda: _latest(forecasts, lambda f: f.history_incidents),
                    timeout=STARTUP_TIMEOUT_S,
                    description="a forecast that reports the incident",
                )
    plain = _latest(forecasts, lambda f: not f.history_incidents)
    aware = _latest(forecasts, lambda f: f.history_incidents)
    assert plain is not None
    assert aware is not None
    (held,) = aware.history_incidents
    assert (held.incident_id, held.source, held.imputed_days) == ("inc-ec2", "anomaly", 4)
    assert held.start == START + timedelta(days=SPIKE.start)
    assert held.end == START + timedelta(days=SPIKE.stop - 1)
    mean = lambda f: float(np.mean([p.yhat for p in f.horizons[30]]))  # noqa: E731
    # Without the spike in the fit the level comes back to the usual ~130 a day.
    assert mean(aware) < mean(plain)
    assert aware.history_days == plain.history_days == 100
