"""The simulator's in-memory API: determinism, realism and ground truth that matches the data."""

from __future__ import annotations

import json
import types
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from shared.events import stable_id
from simulator import SimConfig, simulate_organisation
from simulator.exceptions import SimConfigError, UnknownInstanceError
from simulator.findings import CEILING_PCT, IDLE_PEAK_CPU_PCT

CONFIG = SimConfig(
    seed=11,
    accounts=3,
    days=75,
    start=date(2026, 6, 1),
    instances=60,
    cost_anomalies=6,
    metric_anomalies=4,
)


@pytest.fixture(scope="module")
def org():
    return simulate_organisation(CONFIG)


@pytest.fixture(scope="module")
def clean_org():
    """Same seed without cost anomalies: the same clean usage, for before/after checks."""
    return simulate_organisation(replace(CONFIG, cost_anomalies=0))


def series_cost(org, series_id: str) -> np.ndarray:
    index = [s.series_id for s in org.series].index(series_id)
    return org.costs[index]


def test_same_seed_same_organisation(org) -> None:
    again = simulate_organisation(CONFIG)
    pd.testing.assert_frame_equal(org.daily_costs, again.daily_costs)
    assert json.dumps(org.ground_truth(), sort_keys=True) == json.dumps(
        again.ground_truth(), sort_keys=True
    )
    other = simulate_organisation(replace(CONFIG, seed=12))
    assert org.daily_costs["cost"].sum() != pytest.approx(other.daily_costs["cost"].sum())


def test_daily_costs_shape_and_scale(org) -> None:
    frame = org.daily_costs
    assert list(frame.columns[:6]) == [
        "date",
        "account_id",
        "service",
        "usage_type",
        "region",
        "line_item_type",
    ]
    assert (frame["cost"] > 0).all()
    per_account = frame[frame.line_item_type == "Usage"].groupby("account_id")["service"]
    assert per_account.nunique().between(8, 16).all()
    assert {"AmazonEC2", "AmazonS3", "AWSDataTransfer", "AmazonCloudWatch"} <= set(frame.service)
    assert "BoxUsage:m5.large" in set(frame.usage_type) or any(
        u.startswith(("BoxUsage:", "USW2-BoxUsage:")) for u in frame.usage_type
    )
    daily_total = frame.groupby("date")["cost"].sum()
    assert daily_total.min() > 100
    assert daily_total.max() < 1_000_000


def test_weekly_seasonality_in_office_driven_usage(org) -> None:
    rows = [
        i
        for i, s in enumerate(org.series)
        if s.kind == "usage" and s.template and s.template.weekend[1] < 1.0
    ]
    total = org.costs[rows].sum(axis=0)
    weekend = np.isin(org.calendar.weekday, (5, 6))
    assert total[weekend].mean() < 0.92 * total[~weekend].mean()


def test_month_start_charges(org) -> None:
    frame = org.daily_costs
    fees = frame[frame.line_item_type.isin(["Tax", "Fee"])]
    assert not fees.empty
    assert set(pd.DatetimeIndex(fees["date"]).day) == {1}


def test_box_usage_matches_fleet(org) -> None:
    frame = org.daily_costs
    box = frame[frame.usage_type.str.contains("BoxUsage:")]
    expected = sum(i.usd_per_hour * 24 for i in org.instances)
    assert box.groupby("date")["cost"].sum().to_numpy() == pytest.approx(expected, abs=1e-3)


def test_anomalies_start_after_warmup_and_never_share_a_series(org) -> None:
    cost = [a for a in org.anomalies if a.kind != "metric"]
    assert {a.kind for a in cost} == {"spike", "level_shift", "ramp", "new_service", "restatement"}
    assert len({a.series_id for a in cost}) == len(cost)
    first_allowed = CONFIG.start + timedelta(days=CONFIG.warmup_days)
    assert all(a.start >= first_allowed for a in cost)
    assert all(a.magnitude >= 50 for a in cost)
    metric = [a for a in org.anomalies if a.kind == "metric"]
    assert len(metric) == CONFIG.metric_anomalies
    assert all(a.start.date() >= first_allowed for a in metric)


def test_metric_anomalies_fall_inside_the_datapoints_written_after_a_week_of_them() -> None:
    """The demo writes only the last 14 days of datapoints: its anomalies must be in them."""
    windowed = simulate_organisation(replace(CONFIG, metric_window_days=14, cost_anomalies=0))
    first_written = CONFIG.start + timedelta(days=CONFIG.days - 14)
    metric = [a for a in windowed.anomalies if a.kind == "metric"]
    assert len(metric) == CONFIG.metric_anomalies
    assert all(a.start.date() >= first_written + timedelta(days=7) for a in metric)
    last_day = CONFIG.start + timedelta(days=CONFIG.days - 1)
    assert all(a.end.date() <= last_day for a in metric)
    # without a window: the metric anomalies (and the ground truth's config) are as before
    assert "metric_window_days" not in simulate_organisation(CONFIG).config.to_json()
    assert windowed.config.to_json()["metric_window_days"] == 14


def test_a_window_shorter_than_two_weeks_gives_half_of_itself_to_the_warm_up() -> None:
    assert replace(CONFIG, metric_window_days=3).metric_anomaly_first_day() == CONFIG.days - 2
    assert replace(CONFIG, metric_window_days=None).metric_anomaly_first_day() == 21
    with pytest.raises(SimConfigError):
        replace(CONFIG, metric_window_days=0)


def test_injected_cost_anomalies_are_in_the_data(org, clean_org) -> None:
    days = org.calendar.dates
    for a in org.anomalies:
        if a.kind in ("metric", "new_service"):
            continue
        delta = series_cost(org, a.series_id) - series_cost(clean_org, a.series_id)
        inside = np.array([a.start <= d <= a.end for d in days])
        assert np.abs(delta[~inside]).max() < 1e-6, a
        if a.kind in ("spike", "level_shift", "restatement"):
            assert delta[inside] == pytest.approx(a.magnitude, abs=1e-6), a
        else:
            assert np.all(np.diff(delta[inside]) >= -1e-9), a
            assert delta[-1] == pytest.approx(a.magnitude), a
        if a.kind == "restatement":
            day = days.index(a.start)
            assert a.original_value == pytest.approx(series_cost(clean_org, a.series_id)[day])
            assert a.restated_value == pytest.approx(series_cost(org, a.series_id)[day])
            assert a.restated_value - a.original_value == pytest.approx(a.magnitude)


def test_new_service_appears_from_its_start(org) -> None:
    (new,) = [a for a in org.anomalies if a.kind == "new_service"]
    cost = series_cost(org, new.series_id)
    start = org.calendar.dates.index(new.start)
    assert not cost[:start].any()
    assert cost[start:] == pytest.approx(new.magnitude)


def test_expected_findings_follow_compute_optimizer_rules(org) -> None:
    lookback_start = org.dates[-CONFIG.lookback_days]
    agree = 0
    for inst in org.instances:
        util = org.instance_utilisation(inst.instance_id, start=lookback_start)
        p995 = np.percentile(util.cpu_max, 99.5)
        assert p995 == pytest.approx(inst.cpu_p995, abs=1e-3)
        if inst.expected_finding == "idle":
            assert util.cpu_max.max() < IDLE_PEAK_CPU_PCT
        elif inst.expected_finding == "underprovisioned":
            assert p995 > CEILING_PCT or (inst.mem_p995 or 0) > CEILING_PCT
        elif inst.expected_finding == "overprovisioned":
            assert p995 <= CEILING_PCT / 2
        else:
            assert p995 <= CEILING_PCT
        intended = {
            "steady": "optimized",
            "business_hours": "optimized",
            "bursty": "optimized",
        }.get(inst.profile, inst.profile)
        agree += inst.expected_finding == intended
    assert agree >= 0.9 * len(org.instances)
    agents = sum(i.has_memory_agent for i in org.instances) / len(org.instances)
    assert 0.3 < agents < 0.7


def test_business_hours_instances_are_schedulable(org) -> None:
    office = [i for i in org.instances if i.profile == "business_hours"]
    assert office
    assert all(i.schedulable for i in office)
    inst = office[0]
    util = org.instance_utilisation(inst.instance_id)
    local = pd.DatetimeIndex(util.timestamps) + pd.Timedelta(hours=inst.timezone_offset_h)
    busy = (local.weekday < 5) & (local.hour >= 8) & (local.hour < 18)
    assert util.cpu_avg[busy].mean() > 10 * util.cpu_avg[~busy].mean()


def test_datapoints_stream(org) -> None:
    stream = org.iter_datapoints(start=org.dates[0], end=org.dates[1])
    assert isinstance(stream, types.GeneratorType)
    points = list(stream)
    agents = sum(i.has_memory_agent for i in org.instances)
    assert len(points) == 288 * (4 * len(org.instances) + agents)
    instance_id, metric, stat, ts, value = points[0]
    assert (metric, stat) == ("CPUUtilization", "Maximum")
    assert ts.tzinfo is not None
    util = org.instance_utilisation(instance_id, start=org.dates[0], end=org.dates[1])
    assert value == util.cpu_max[0]


def test_unknown_instance_is_a_clear_error(org) -> None:
    with pytest.raises(UnknownInstanceError, match="not in the simulated fleet"):
        org.instance_utilisation("i-nope")


def test_hourly_costs_sum_to_daily(org) -> None:
    first = next(org.hourly_costs(start=org.dates[0], end=org.dates[1]))
    daily = org.daily_costs[org.daily_costs.date == pd.Timestamp(org.dates[0])]
    assert first["cost"].sum() == pytest.approx(daily["cost"].sum(), abs=1e-6)


def test_ground_truth_is_json(org) -> None:
    truth = json.loads(json.dumps(org.ground_truth()))
    assert truth["config"]["seed"] == CONFIG.seed
    assert len(truth["instances"]) == CONFIG.instances
    assert {"id", "kind", "start", "end", "magnitude"} <= set(truth["anomalies"][0])
    listed = {a["account_id"] for a in truth["accounts"]}
    assert set(org.daily_costs["account_id"]) == listed
    assert len(listed) == CONFIG.accounts + 1  # members and the payer


@pytest.mark.parametrize(
    "bad",
    [
        {"accounts": 0},
        {"days": 10},
        {"memory_agent_share": 2.0},
        {"profile_mix": (("steady", 0.5),)},
    ],
)
def test_bad_config_is_refused(bad) -> None:
    with pytest.raises(SimConfigError):
        SimConfig(**bad)


def test_metric_events_match_the_tuples(org) -> None:
    end = org.dates[1]
    first = next(org.iter_metric_datapoints(end=end))
    instance_id, metric, stat, ts, value = next(org.iter_datapoints(end=end))
    assert (first.resource_id, first.metric, first.stat, first.timestamp, first.value) == (
        instance_id,
        metric,
        stat,
        ts,
        value,
    )
    # The CloudWatch poller's id scheme, so simulated and polled points dedupe.
    key = f"{first.account_id}/{first.region}/{instance_id}/{metric}/{stat}"
    assert first.id == stable_id(key, ts.isoformat())


def test_open_spike_covers_the_last_days_and_changes_nothing_else(org) -> None:
    spiked = simulate_organisation(replace(CONFIG, open_spike_days=3))
    extra = [a for a in spiked.anomalies if a not in org.anomalies]
    assert len(extra) == 1
    assert [b for b in spiked.anomalies if b not in extra] == org.anomalies
    a = extra[0]
    days = spiked.calendar.dates
    assert (a.kind, a.start, a.end) == ("spike", days[-3], days[-1])
    assert a.series_id not in {b.series_id for b in org.anomalies}
    delta = series_cost(spiked, a.series_id) - series_cost(org, a.series_id)
    assert delta[-3:] == pytest.approx([a.magnitude] * 3)
    assert a.magnitude >= 50
    assert np.abs(delta[:-3]).max() < 1e-6
    assert [x.series_id for x in spiked.series] == [x.series_id for x in org.series]
    moved = {
        x.line_item_type
        for x, before, after in zip(org.series, org.costs, spiked.costs, strict=True)
        if x.series_id != a.series_id and np.abs(after - before).max() > 1e-6
    }
    # Only the spiked series and what is charged on spend (support fee, tax) move.
    assert moved <= {"Fee", "Tax"}, moved
    with pytest.raises(SimConfigError):
        replace(CONFIG, open_spike_days=CONFIG.days)
