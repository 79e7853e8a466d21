"""A simulated AWS organisation: its daily costs, fleet, anomalies and ground truth.

>>> from datetime import date
>>> org = simulate_organisation(SimConfig(seed=3, accounts=2, days=40, instances=12))
>>> sorted(org.daily_costs.columns)[:3], len(org.instances)
(['account_id', 'cost', 'date'], 12)
>>> org.daily_costs.equals(simulate_organisation(SimConfig(seed=3, accounts=2, days=40,
...                                                         instances=12)).daily_costs)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from shared.events import MetricDatapoint
from simulator import fleet_view
from simulator.catalogue import load_instance_types
from simulator.config import SimConfig
from simulator.cost_anomalies import inject, inject_open_spike
from simulator.costs import Calendar, month_charges, usage_matrix
from simulator.fleet import FleetMember, assign_platforms, build_fleet
from simulator.hourly import hour_weights
from simulator.metric_anomalies import inject_metric_anomalies, midnight_utc
from simulator.records import InjectedAnomaly, SimInstance, Utilisation
from simulator.series import Account, Series, build_accounts, build_series

COST_COLUMNS = ["date", "account_id", "service", "usage_type", "region", "line_item_type", "cost"]


class SimulatedOrg:
    """Everything one seed produces. Costs are in memory; CloudWatch data is streamed."""

    def __init__(
        self,
        config: SimConfig,
        payer_account_id: str,
        accounts: list[Account],
        series: list[Series],
        costs: np.ndarray,
        extra: np.ndarray,
        culprit: dict[str, int],
        fleet: list[FleetMember],
        anomalies: list[InjectedAnomaly],
        calendar: Calendar,
        from_hour: dict[tuple[int, int], int] | None = None,
    ) -> None:
        """Assemble an organisation; use :func:`simulate_organisation` to build one."""
        self.config = config
        self.payer_account_id = payer_account_id
        self.accounts = accounts
        self.series = series
        #: Final daily cost (series x days), anomalies and restatements included.
        self.costs = costs
        #: The anomalous part of ``costs`` (goes to the culprit resource in line items).
        self.extra = extra
        self.culprit = culprit
        self.fleet = fleet
        self.anomalies = anomalies
        self.calendar = calendar
        #: (series, day) -> the UTC hour an anomaly starts that day (intra-day only).
        self.from_hour = from_hour or {}

    @property
    def dates(self) -> tuple[date, ...]:
        """The simulated days."""
        return self.calendar.dates

    @cached_property
    def daily_costs(self) -> pd.DataFrame:
        """Long frame: one row per series and day with a non-zero cost (the final truth)."""
        idx_s, idx_d = np.nonzero(self.costs)
        frame = pd.DataFrame(
            {
                "date": pd.to_datetime(np.array(self.dates, dtype="datetime64[D]")[idx_d]),
                "account_id": [self.series[i].account_id for i in idx_s],
                "service": [self.series[i].product_code for i in idx_s],
                "usage_type": [self.series[i].usage_type for i in idx_s],
                "region": [self.series[i].region for i in idx_s],
                "line_item_type": [self.series[i].line_item_type for i in idx_s],
                "cost": self.costs[idx_s, idx_d],
            }
        )
        return frame.sort_values(COST_COLUMNS[:6], kind="stable").reset_index(drop=True)

    @cached_property
    def hour_weights(self) -> np.ndarray:
        """(series x 24) share of each day's cost per UTC hour."""
        return hour_weights(self.series)

    def hour_split(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(series x 24) shares of day ``d``'s non-anomalous and anomalous cost per hour.

        They are the hour weights, except where an anomaly starts during day ``d``:
        its extra (a new service: all its cost) falls only in the hours from its start.
        """
        base = self.hour_weights
        extra = base
        for (s, day), hour in self.from_hour.items():
            if day != d:
                continue
            if extra is base:
                extra, base = base.copy(), base.copy()
            shares = np.where(np.arange(24) >= hour, self.hour_weights[s], 0.0)
            extra[s] = shares / max(shares.sum(), 1e-12)
            if not self.extra[s].any():  # a new service: nothing before its start
                base[s] = extra[s]
        return base, extra

    def hourly_costs(
        self, start: date | None = None, end: date | None = None
    ) -> Iterator[pd.DataFrame]:
        """One frame per day (``hour`` instead of ``date``), summing to ``daily_costs``."""
        for d in self._day_range(start, end):
            base, shifted = self.hour_split(d)
            extra = self.extra[:, d][:, None]
            cost = (self.costs[:, d][:, None] - extra) * base + extra * shifted
            idx_s, idx_h = np.nonzero(cost)
            base = pd.Timestamp(self.dates[d])
            yield pd.DataFrame(
                {
                    "hour": base + pd.to_timedelta(idx_h, unit="h"),
                    "account_id": [self.series[i].account_id for i in idx_s],
                    "service": [self.series[i].product_code for i in idx_s],
                    "usage_type": [self.series[i].usage_type for i in idx_s],
                    "region": [self.series[i].region for i in idx_s],
                    "cost": cost[idx_s, idx_h],
                }
            )

    def _day_range(self, start: date | datetime | None, end: date | datetime | None) -> range:
        """Day indices with start <= day < end (whole window by default)."""
        first = self.dates[0]
        lo = 0 if start is None else max(0, (_as_date(start) - first).days)
        hi = len(self.dates) if end is None else min(len(self.dates), (_as_date(end) - first).days)
        return range(lo, max(lo, hi))

    @cached_property
    def instances(self) -> list[SimInstance]:
        """The fleet with expected findings computed from the last ``lookback_days``."""
        return fleet_view.label_fleet(self.fleet, self.config, self.calendar)

    @cached_property
    def _member_by_id(self) -> dict[str, FleetMember]:
        return {m.instance_id: m for m in self.fleet}

    def instance_utilisation(
        self, instance_id: str, start: date | None = None, end: date | None = None
    ) -> Utilisation:
        """5-minute series of one instance over [start, end) (whole window by default)."""
        member = fleet_view.member(self._member_by_id, instance_id)
        return fleet_view.utilisation(
            member, self.config.seed, self.calendar, self._day_range(start, end)
        )

    def iter_instance_days(
        self, start: date | None = None, end: date | None = None
    ) -> Iterator[tuple[FleetMember, date, dict[str, np.ndarray]]]:
        """(instance, day, arrays of 288) day by day, instance by instance; streams."""
        return fleet_view.iter_instance_days(
            self.fleet, self.config.seed, self.calendar, self._day_range(start, end)
        )

    def iter_datapoints(
        self, start: date | None = None, end: date | None = None
    ) -> Iterator[tuple[str, str, str, datetime, float]]:
        """(instance_id, metric, stat, timestamp, value) tuples, 5-minute, streamed."""
        return fleet_view.iter_datapoints(self.iter_instance_days(start, end))

    def iter_metric_datapoints(
        self, start: date | None = None, end: date | None = None
    ) -> Iterator[MetricDatapoint]:
        """The datapoints as ``MetricDatapoint`` events (for producing onto Kafka)."""
        return fleet_view.iter_metric_events(self.iter_instance_days(start, end))

    def ground_truth(self) -> dict[str, Any]:
        """JSON-able truth: config, accounts, anomalies, instances."""
        return {
            "config": self.config.to_json(),
            "payer_account_id": self.payer_account_id,
            "accounts": [
                *(
                    {
                        "account_id": a.account_id,
                        "name": a.name,
                        "role": "member",
                        "regions": list(a.archetype.regions),
                    }
                    for a in self.accounts
                ),
                # The management account: it carries the support fee in daily_costs.
                {
                    "account_id": self.payer_account_id,
                    "name": "management",
                    "role": "payer",
                    "regions": ["us-east-1"],
                },
            ],
            "anomalies": [a.to_json() for a in self.anomalies],
            "instances": [i.to_json() for i in self.instances],
            "totals": {
                "cost_usd": round(float(self.costs.sum()), 6),
                "series": len(self.series),
                "days": len(self.dates),
            },
        }


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def simulate_organisation(config: SimConfig) -> SimulatedOrg:
    """Build the organisation ``config`` describes; same config, same organisation."""
    seq = np.random.SeedSequence(config.seed)
    r_acc, r_fleet, r_series, r_cost, r_anom, r_metric, r_hours = (
        np.random.default_rng(s) for s in seq.spawn(7)
    )
    cal = Calendar.of(config.start, config.days)
    payer, accounts = build_accounts(config.accounts, r_acc)
    types = load_instance_types()
    fleet = build_fleet(
        config.instances,
        [(a.account_id, a.name, a.archetype.regions, a.archetype.fleet_share) for a in accounts],
        types,
        config.profile_mix,
        config.memory_agent_share,
        r_fleet,
    )
    # Its own stream (not one of those spawned above): a fleet without a
    # platform mix draws exactly the numbers it always did.
    platforms_rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x05]))
    fleet = assign_platforms(fleet, config.platform_mix, platforms_rng)
    series = build_series(accounts, fleet, r_series)
    clean = usage_matrix(series, accounts, cal, r_cost)
    injection = inject(
        series,
        clean,
        accounts,
        cal,
        config.cost_anomalies if config.days >= config.warmup_days + 7 else 0,
        config.warmup_days,
        config.restatement,
        r_anom,
        r_hours if config.intraday else None,
    )
    if config.open_spike_days:
        # Its own stream, as the platforms': the rest is drawn as without it.
        open_rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x06]))
        inject_open_spike(series, clean, cal, injection, config.open_spike_days, open_rng)
    series = series + injection.new_series
    extra = np.vstack([injection.extra, np.zeros_like(injection.new_rows)])
    usage = np.vstack([clean, injection.new_rows]) + extra
    monthly_series, monthly_rows = month_charges(series, usage, accounts, payer, cal)
    series = series + monthly_series
    costs = np.round(np.vstack([usage, monthly_rows]), 6)
    extra = np.vstack([extra, np.zeros_like(monthly_rows)])
    start = midnight_utc(config.start)
    metric_count = config.metric_anomalies if config.days >= config.warmup_days + 7 else 0
    fleet, metric_records = inject_metric_anomalies(
        fleet, start, config.days, metric_count, config.metric_anomaly_first_day(), r_metric
    )
    return SimulatedOrg(
        config,
        payer,
        accounts,
        series,
        costs,
        extra,
        injection.culprit,
        fleet,
        injection.anomalies + metric_records,
        cal,
        injection.from_hour,
    )


__all__ = ["SimulatedOrg", "simulate_organisation"]
