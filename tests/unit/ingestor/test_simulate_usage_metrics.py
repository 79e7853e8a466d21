"""Simulated usage metrics agree with the CUR hour by hour and start with the anomaly."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import SimConfig, simulate_organisation
from simulator.deliveries import plan_deliveries
from simulator.line_items import series_hours
from simulator.organisation import SimulatedOrg
from simulator.usage_metrics import (
    asg_groups,
    day_usage,
    estimated_charges,
    resource_hours,
    to_metric,
    usage_streams,
)

CONFIG = SimConfig(seed=1, accounts=4, days=60, instances=20, cost_anomalies=8, intraday=True)


@pytest.fixture(scope="module")
def org() -> SimulatedOrg:
    return simulate_organisation(CONFIG)


def test_each_hours_metric_usage_prices_back_to_that_hours_cur_cost(org: SimulatedOrg) -> None:
    streams = usage_streams(org)
    final = plan_deliveries(org)[-1]
    d = 40
    usage = day_usage(org, streams, d).reshape(len(streams), 24, 12).sum(axis=2)
    hourly = np.zeros((len(org.series), 24))
    for k, st in enumerate(streams):
        hourly[st.series] += usage[k] * st.unit_rate
    cur = series_hours(org, final, d)
    fed = sorted({st.series for st in streams if st.spec.metric != "BucketSizeBytes"})
    # Every resource of a metered series has a stream, so the streams add up to the CUR.
    np.testing.assert_allclose(hourly[fed], cur[fed], rtol=1e-9, atol=1e-9)
    assert len(fed) > 10


def test_metric_values_invert_the_declared_conversion(org: SimulatedOrg) -> None:
    streams = usage_streams(org)
    usage = day_usage(org, streams, 30)
    for k, st in enumerate(streams[:50]):
        values = np.asarray(to_metric(st, usage[k]))
        back = np.array([st.spec.usage(v, 300, st.scale) for v in values])
        np.testing.assert_allclose(back, usage[k], rtol=1e-9)


def test_an_anomaly_moves_its_culprit_s_metric_from_its_start_hour(org: SimulatedOrg) -> None:
    streams = usage_streams(org)
    checked = 0
    for a in org.anomalies:
        if a.kind not in ("spike", "level_shift") or a.start_hour < 2:
            continue
        culprit = org.culprit[a.series_id or ""]
        mine = [
            k
            for k, st in enumerate(streams)
            if org.series[st.series].series_id == a.series_id and st.resource == culprit
        ]
        if not mine:
            continue
        d = (a.start - org.dates[0]).days  # type: ignore[operator]
        hours = resource_hours(org, [streams[k] for k in mine], d).sum(axis=0)
        before = resource_hours(org, [streams[k] for k in mine], d - 7).sum(axis=0)
        ratio = hours / before
        assert np.all(ratio[: a.start_hour] < 1.5)
        assert np.all(ratio[a.start_hour :] > ratio[: a.start_hour].max())
        checked += 1
    assert checked >= 1


def test_billing_charges_are_month_to_date_and_asgs_cover_the_fleet(org: SimulatedOrg) -> None:
    d = 45
    mtd = estimated_charges(org, d)
    assert all(np.all(np.diff(v) >= -1e-9) for v in mtd.values())
    first = next(i for i in range(d, -1, -1) if org.calendar.first_of_period[i])
    total = float(org.costs[:, first : d + 1].sum())
    assert sum(float(v[-1]) for v in mtd.values()) == pytest.approx(total)
    assert sum(asg_groups(org).values()) == len(org.fleet)
