"""Intra-day simulation: delivery timing, late and restated hours, anomaly start hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np
import pytest

from simulator import SimConfig, simulate_organisation
from simulator.deliveries import LATE_HOURS, UNSETTLED_HOURS, plan_deliveries
from simulator.exceptions import WriterError
from simulator.line_items import iter_line_chunks, series_hours

CONFIG = SimConfig(seed=4, accounts=2, days=40, instances=10, cost_anomalies=4)


@pytest.fixture(scope="module")
def org():  # type: ignore[no-untyped-def]
    return simulate_organisation(CONFIG.__class__(**{**CONFIG.__dict__, "intraday": True}))


def test_the_default_keeps_todays_timing_and_intraday_changes_only_start_days(org) -> None:  # type: ignore[no-untyped-def]
    plain = simulate_organisation(CONFIG)
    assert all(a.start_hour == 0 for a in plain.anomalies if a.kind != "metric")
    assert not plain.from_hour
    assert all(d.through is None and not d.unsettled for d in plan_deliveries(plain))
    # Same draws otherwise: the usage series differ only where an anomaly starts mid-day.
    usage = [i for i, s in enumerate(plain.series) if s.line_item_type == "Usage"]
    differs = {
        (int(s), int(d))
        for s, d in zip(*np.nonzero(~np.isclose(plain.costs, org.costs)), strict=True)
        if s in usage
    }
    assert differs
    assert differs <= set(org.from_hour)


def test_cur_is_rewritten_up_to_three_times_a_day_with_hours_8_to_24_h_late(org) -> None:  # type: ignore[no-untyped-def]
    refreshes = [d for d in plan_deliveries(org) if d.through is not None]
    per_day: dict = {}
    for d in refreshes:
        per_day.setdefault((d.issued_at.date(), d.billing_period), []).append(d)
    assert max(len(v) for v in per_day.values()) == 3
    origin = datetime.combine(org.dates[0], time(), refreshes[0].issued_at.tzinfo)
    throughs = [d.through for d in refreshes if d.billing_period == refreshes[-1].billing_period]
    assert throughs == sorted(throughs)  # late hours are missing, never taken back
    for d in refreshes:
        newest_end = origin + timedelta(hours=d.through)
        assert newest_end <= d.issued_at - timedelta(hours=LATE_HOURS[0]) + timedelta(hours=1)
        assert len(d.unsettled) <= UNSETTLED_HOURS
        assert all(0.0 < share < 1.0 for share in d.unsettled.values())


def test_a_later_delivery_restates_an_unsettled_hour_to_its_final_cost(org) -> None:  # type: ignore[no-untyped-def]
    plan = [d for d in plan_deliveries(org) if d.through is not None]
    first = next(d for d in plan if d.unsettled)
    hour = max(first.unsettled)
    day, h = divmod(hour, 24)
    later = next(d for d in plan if d.through - UNSETTLED_HOURS > hour)
    shown = series_hours(org, first, day)[:, h]
    final = series_hours(org, later, day)[:, h]
    assert np.allclose(shown, final * first.unsettled[hour])
    assert not series_hours(org, first, day)[:, first.through % 24 :].any() or (
        first.through % 24 == 0
    )


def test_an_anomaly_starts_at_its_hour_and_line_items_add_up(org) -> None:  # type: ignore[no-untyped-def]
    anomalies = [a for a in org.anomalies if a.kind not in ("metric", "restatement")]
    assert any(a.start_hour > 0 for a in anomalies)
    close = next(d for d in plan_deliveries(org) if d.through is None)
    for (s, d), hour in org.from_hour.items():
        if d not in close.days:
            continue
        hours = series_hours(org, close, d)[s]
        base = org.costs[s, d] - org.extra[s, d]
        assert np.isclose(hours.sum(), org.costs[s, d])
        before = hours[:hour].sum()
        assert before == pytest.approx(base * org.hour_weights[s, :hour].sum(), abs=1e-6)
    frames = list(iter_line_chunks(org, close, "hourly"))
    total = sum(float(f.cost.sum()) for f in frames)
    assert total == pytest.approx(
        float(org.costs[:, close.days.start : close.days.stop].sum()), rel=1e-6
    )


def test_mtd_every_days_does_not_mix_with_intraday_timing(org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WriterError, match="intraday"):
        plan_deliveries(org, mtd_every_days=7)
