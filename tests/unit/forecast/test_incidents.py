"""Anomaly-aware history: incident windows, their imputation, and what a forecast says."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import numpy as np

from services.forecast.engine.config import FAST_MODELS, RefreshConfig
from services.forecast.engine.incidents import (
    ImputeConfig,
    IncidentBook,
    IncidentWindow,
    affected_series,
    impute,
)
from services.forecast.engine.refresh import RefreshJob, refresh_series
from services.forecast.models.base import DailyHistory
from shared.events import AnomalyEvent, CostRestated, Forecast
from tests.unit.forecast.conftest import weekly_series

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "spendstream.forecast.v1.json"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _anomaly(
    action: str, start: date, days: int, series: str = "daily/111/AmazonEC2/Box"
) -> AnomalyEvent:
    at = datetime.combine(start, datetime.min.time(), UTC)
    return AnomalyEvent(
        id=f"a-{action}",
        incident_id="inc-1",
        action=action,  # type: ignore[arg-type]
        kind="cost",
        series_id=series,
        account_id="111",
        window_start=at,
        window_end=at + timedelta(days=days),
        actual=500.0,
        expected=100.0,
        lower=80.0,
        upper=120.0,
        score=0.9,
        severity="high",
        detector="cost",
        reason="spend jumped",
        detected_at=T0,
    )


def _spiked(n: int = 120, at: int = 100, days: int = 4) -> tuple[DailyHistory, DailyHistory]:
    clean = weekly_series(n, noise=1.0)
    values = clean.values.copy()
    values[at : at + days] *= 5.0
    return clean, DailyHistory(clean.start, values)


def test_imputation_restores_the_usual_level_and_leaves_other_days_alone() -> None:
    clean, spiked = _spiked()
    first = spiked.start + timedelta(days=100)
    window = IncidentWindow("inc-1", "anomaly", first, first + timedelta(days=3))
    fixed, days = impute(spiked, (window,))
    assert days == 4
    # Each imputed day is the median of its weekday around it: within the noise of the truth.
    assert np.max(np.abs(fixed.values[100:104] - clean.values[100:104])) < 5.0
    assert np.array_equal(
        np.delete(fixed.values, range(100, 104)), np.delete(spiked.values, range(100, 104))
    )
    assert spiked.values[100] > 4 * clean.values[100]  # the input is not modified


def test_a_first_of_month_is_imputed_from_earlier_firsts() -> None:
    values = np.full(100, 10.0)
    firsts = [i for i in range(100) if (date(2025, 1, 1) + timedelta(days=i)).day == 1]
    values[firsts] = 60.0  # a monthly fee
    values[firsts[-1]] = 600.0  # the incident on the latest 1st
    h = DailyHistory(date(2025, 1, 1), values)
    day = h.start + timedelta(days=firsts[-1])
    fixed, _ = impute(h, (IncidentWindow("i", "restatement", day, day),))
    assert fixed.values[firsts[-1]] == 60.0


def test_an_open_incident_runs_to_the_last_day_and_a_long_one_is_a_new_level() -> None:
    _, spiked = _spiked(at=116, days=4)
    open_window = IncidentWindow("i", "anomaly", spiked.start + timedelta(days=116), None)
    fixed, days = impute(spiked, (open_window,))
    assert days == 4
    assert fixed.values[-1] < spiked.values[-1] / 3
    long = IncidentWindow("i", "anomaly", spiked.start + timedelta(days=10), spiked.last_date)
    assert impute(spiked, (long,), ImputeConfig(max_window_days=21))[1] == 0


def test_a_usage_type_incident_is_filed_under_its_service_and_account() -> None:
    assert affected_series("daily/111/AmazonEC2/Box", ["daily/222"]) == {
        "daily/111",
        "daily/111/AmazonEC2",
        "daily/111/AmazonEC2/Box",
        "daily/222",
    }
    assert affected_series("daily/111#team=x") == set()  # tag series are not forecast


def test_the_book_follows_an_incident_from_open_to_resolve_keeping_its_first_day() -> None:
    book = IncidentBook(keep_days=400)
    start = date(2025, 2, 20)
    assert book.on_anomaly(_anomaly("open", start, 1)) == {
        "daily/111",
        "daily/111/AmazonEC2",
        "daily/111/AmazonEC2/Box",
    }
    assert book.windows("daily/111") == (IncidentWindow("inc-1", "anomaly", start, None),)
    assert book.on_anomaly(_anomaly("open", start, 1)) == set()  # redelivery changes nothing
    later = start + timedelta(days=2)
    book.on_anomaly(_anomaly("resolve", later, 2))
    (window,) = book.windows("daily/111/AmazonEC2")
    assert window == IncidentWindow("inc-1", "anomaly", start, later + timedelta(days=1))


def test_a_restated_day_is_a_one_day_window() -> None:
    book = IncidentBook(keep_days=400)
    event = CostRestated(
        id="r-1",
        series_id="daily/111/AmazonS3",
        period_start=datetime(2025, 2, 3, tzinfo=UTC),
        account_id="111",
        previous_cost=100.0,
        new_cost=-400.0,
        delta=-500.0,
        previous_attempt_id="a",
        attempt_id="b",
        detected_at=T0,
    )
    assert book.on_restatement(event) == {"daily/111", "daily/111/AmazonS3"}
    day = date(2025, 2, 3)
    assert book.windows("daily/111") == (IncidentWindow("r-1", "restatement", day, day),)


def _job(history: DailyHistory, incidents: tuple[IncidentWindow, ...]) -> RefreshJob:
    return RefreshJob(
        series_id="daily/111",
        account_id="111",
        service=None,
        history=history,
        config=replace(RefreshConfig(), models=FAST_MODELS),
        generated_at=T0,
        incidents=incidents,
    )


def test_a_forecast_reports_its_incident_and_is_fitted_without_the_spike() -> None:
    _, spiked = _spiked(at=110, days=4)
    first = spiked.start + timedelta(days=110)
    window = IncidentWindow("inc-1", "anomaly", first, first + timedelta(days=3))
    plain, aware = refresh_series(_job(spiked, ())), refresh_series(_job(spiked, (window,)))
    assert plain.history_incidents == []
    (held,) = aware.history_incidents
    assert (held.incident_id, held.start, held.end, held.imputed_days) == (
        "inc-1",
        first,
        first + timedelta(days=3),
        4,
    )
    yhat = lambda f: np.array([p.yhat for p in f.horizons[30]])  # noqa: E731
    assert np.mean(yhat(aware)) < np.mean(yhat(plain))  # the spike no longer lifts the level
    # The month-to-date actual is the real spend, spike included.
    assert aware.month_end is not None
    assert plain.month_end is not None
    assert aware.month_end.actual_to_date == plain.month_end.actual_to_date


def test_forecast_events_with_and_without_incidents_match_the_committed_schema() -> None:
    _, spiked = _spiked()
    first = spiked.start + timedelta(days=100)
    event = refresh_series(_job(spiked, (IncidentWindow("inc-1", "anomaly", first, None),)))
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(json.loads(event.model_dump_json()), schema)
    older = json.loads(event.model_dump_json(exclude={"history_incidents"}))
    jsonschema.validate(older, schema)
    assert Forecast.model_validate(older).history_incidents == []  # older producers' events
