"""Injected cost anomalies, each in its own usage-type series so the root cause is known.

Kinds (cycled in this order, so a handful of anomalies covers them all):

* ``spike`` — +M USD/day for 1-3 days, M = max($50, 5-10 sigma of the series);
* ``level_shift`` — +M USD/day from its start to the end, M = max($50, 40-100% of
  the series mean, 5 sigma);
* ``ramp`` — grows linearly to +M over 7-14 days, then holds (a leak nobody fixed);
* ``new_service`` — a service the account never used starts (>= $60/day, always on);
* ``restatement`` — a later CUR delivery adds +M to one past day: the first delivery
  shows the clean value (``original_value``), the final one ``restated_value``.

sigma is the standard deviation of the series' clean history after removing its
weekday means. Nothing starts before the warm-up ends, and each series carries at
most one anomaly, so anomalies never overlap within a series. With ``start_hours``
(intra-day simulation) each anomaly except a restatement begins at a drawn UTC hour:
its first day carries only the hours from then on (``Injection.from_hour`` tells the
hourly split which hours).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np

from simulator.catalogue import REGION_PREFIX, REGION_PRICE_FACTOR
from simulator.costs import Calendar
from simulator.hourly import hour_weights
from simulator.portfolio import NEW_SERVICES
from simulator.records import AnomalyKind, InjectedAnomaly
from simulator.series import Account, Series, resource_id

KIND_CYCLE = ("spike", "level_shift", "ramp", "new_service", "restatement")
MIN_ANOMALY_USD_PER_DAY = 50.0
#: A series must carry at least this much a day to be a believable anomaly host.
MIN_HOST_MEAN_USD = 25.0
SPIKE_MAX_DAYS = 3
#: A new service is only an anomaly worth a page if it costs at least this a day.
NEW_SERVICE_MIN_USD = 60.0
RAMP_DAYS = (7, 14)


@dataclass
class Injection:
    """What injection adds: extra cost, new series, culprits and the records."""

    extra: np.ndarray
    new_series: list[Series]
    new_rows: np.ndarray
    culprit: dict[str, int]
    anomalies: list[InjectedAnomaly]
    #: (series index, day index) -> first UTC hour of the anomaly's extra cost that day
    #: (new services: of the whole series). Indices count ``new_series`` after ``series``.
    from_hour: dict[tuple[int, int], int] = field(default_factory=dict)


def _sigma(history: np.ndarray, weekday: np.ndarray) -> float:
    resid = history.copy()
    for d in range(7):
        mask = weekday == d
        if mask.any():
            resid[mask] -= history[mask].mean()
    return float(resid.std())


def inject(
    series: list[Series],
    clean: np.ndarray,
    accounts: list[Account],
    cal: Calendar,
    count: int,
    warmup: int,
    allow_restatement: bool,
    rng: np.random.Generator,
    start_hours: np.random.Generator | None = None,
) -> Injection:
    """Choose hosts and times for ``count`` anomalies and build their extra cost.

    ``start_hours`` (a generator of its own, so the other draws stay as they were)
    draws each anomaly's first hour.
    """
    days = len(cal.dates)
    extra = np.zeros_like(clean)
    kinds = [k for k in KIND_CYCLE if allow_restatement or k != "restatement"]
    plan = [kinds[i % len(kinds)] for i in range(count)]
    span = max(days - 3 - warmup, 1)
    hosts = [
        i
        for i, s in enumerate(series)
        if s.kind == "usage" and clean[i, :warmup].mean() >= MIN_HOST_MEAN_USD
    ]
    rng.shuffle(hosts)
    used_accounts_new: set[str] = set()
    out = Injection(extra, [], np.zeros((0, days)), {}, [])
    new_rows: list[np.ndarray] = []
    for k, kind in enumerate(plan):
        start = warmup + int((k + rng.uniform(0.1, 0.8)) * span / max(count, 1))
        start = min(start, days - 2)
        while kind == "restatement" and cal.first_of_period[start] and start + 1 < days:
            start += 1
        if kind == "new_service":
            account = accounts[k % len(accounts)]
            if account.account_id in used_accounts_new:
                continue
            used_accounts_new.add(account.account_id)
            row, record, new = _new_service(account, series, cal, start, k, rng)
            if start_hours is not None:
                hour = int(start_hours.integers(24))
                row[start] *= _remaining_share(new, hour)
                out.from_hour[(len(series) + len(out.new_series), start)] = hour
                record = replace(record, start_hour=hour)
            out.new_series.append(new)
            new_rows.append(row)
            out.anomalies.append(record)
            continue
        if not hosts:
            break
        i = hosts.pop()
        s = series[i]
        hist = clean[i, :start]
        sigma = _sigma(hist, cal.weekday[:start])
        mean = float(hist[-28:].mean())
        culprit = int(rng.integers(len(s.resource_ids)))
        ramp_days = 0
        if kind in ("spike", "restatement"):
            dur = 1 if kind == "restatement" else int(rng.integers(1, SPIKE_MAX_DAYS + 1))
            mag = round(max(MIN_ANOMALY_USD_PER_DAY, rng.uniform(5, 10) * sigma), 2)
            end = min(start + dur, days)
            extra[i, start:end] = mag
        elif kind == "level_shift":
            mag = round(max(MIN_ANOMALY_USD_PER_DAY, rng.uniform(0.4, 1.0) * mean, 5 * sigma), 2)
            end = days
            extra[i, start:] = mag
        else:  # ramp
            mag = round(max(80.0, rng.uniform(0.6, 1.5) * mean, 6 * sigma), 2)
            length = int(rng.integers(RAMP_DAYS[0], RAMP_DAYS[1] + 1))
            ramp_days = length
            end = days
            ramp = mag * np.minimum(np.arange(1, days - start + 1) / length, 1.0)
            extra[i, start:] = ramp
        mag = float(mag)
        hour = 0
        if start_hours is not None and kind != "restatement":
            hour = int(start_hours.integers(24))
            extra[i, start] *= _remaining_share(s, hour)
            out.from_hour[(i, start)] = hour
        extra[i] = np.round(extra[i], 6)
        out.culprit[s.series_id] = culprit
        rid = s.resource_ids[culprit] or None
        desc = {
            "spike": f"+${mag:,.2f}/day for {end - start} day(s) on {s.usage_type}",
            "level_shift": f"persistent +${mag:,.2f}/day step in {s.usage_type}",
            "ramp": f"{s.usage_type} ramps to +${mag:,.2f}/day over {ramp_days} days, then holds",
            "restatement": f"a later delivery restates {s.usage_type} on "
            f"{cal.dates[start]} by +${mag:,.2f}",
        }[kind]
        original = restated = None
        if kind == "restatement":
            original = round(float(clean[i, start]), 6)
            restated = round(float(clean[i, start] + extra[i, start]), 6)
        out.anomalies.append(
            InjectedAnomaly(
                id=f"anom-{k:03d}-{kind}",
                kind=cast(AnomalyKind, kind),
                level="usage_type",
                account_id=s.account_id,
                service=s.product_code,
                usage_type=s.usage_type,
                resource_id=rid,
                metric=None,
                start=cal.dates[start],
                end=cal.dates[end - 1],
                magnitude=mag,
                description=desc,
                region=s.region,
                series_id=s.series_id,
                original_value=original,
                restated_value=restated,
                shape=kind,
                start_hour=hour,
            )
        )
    if new_rows:
        out.new_rows = np.vstack(new_rows)
    return out


def _remaining_share(series: Series, hour: int) -> float:
    """Share of a day's cost of ``series`` in UTC hours ``hour``..23."""
    return float(hour_weights([series])[0, hour:].sum())


def _new_service(
    account: Account,
    series: list[Series],
    cal: Calendar,
    start: int,
    k: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, InjectedAnomaly, Series]:
    present = {s.product_code for s in series if s.account_id == account.account_id}
    options = [t for t in NEW_SERVICES if t[0] not in present]
    code, name, category, ut, op, unit, rate, kind = options[int(rng.integers(len(options)))]
    region = account.archetype.regions[0]
    n = int(rng.integers(max(2, int(np.ceil(NEW_SERVICE_MIN_USD / (rate * 24)))), 7))
    ids = tuple(resource_id(kind, account, region, j, rng) for j in range(n))
    usage_type = REGION_PREFIX[region] + ut
    daily = round(rate * 24 * n * REGION_PRICE_FACTOR[region], 6)
    row = np.zeros(len(cal.dates))
    row[start:] = daily
    new = Series(
        f"{account.account_id}|{code}|{usage_type}|{region}|Usage",
        account.account_id,
        code,
        name,
        category,
        usage_type,
        op,
        region,
        unit,
        rate,
        "hourly",
        resource_ids=ids,
        weights=np.full(n, 1.0 / n),
    )
    record = InjectedAnomaly(
        id=f"anom-{k:03d}-new_service",
        kind="new_service",
        level="service",
        account_id=account.account_id,
        service=code,
        usage_type=usage_type,
        resource_id=ids[0],
        metric=None,
        start=cal.dates[start],
        end=cal.dates[-1],
        magnitude=daily,
        description=f"{name} starts: {n} x {ut} always on (${daily:,.2f}/day)",
        region=region,
        series_id=new.series_id,
        shape="new_service",
    )
    return row, record, new


def inject_open_spike(
    series: list[Series],
    clean: np.ndarray,
    cal: Calendar,
    injection: Injection,
    days_open: int,
    rng: np.random.Generator,
) -> None:
    """Add one spike covering the last ``days_open`` days, so an incident is open at the end.

    Every other anomaly has ended (or been accepted as a new level) by the last
    day, so without this a finished simulation has no live incident to act on
    (the console's feedback test needs one). The host is a usage series no other
    anomaly uses; the magnitude is a spike's at its strongest (10 sigma, at least
    $50/day), so detection is certain. ``rng`` is a stream of its own: the rest of
    the organisation is drawn exactly as without it.
    """
    days = len(cal.dates)
    start = days - days_open
    used = {a.series_id for a in injection.anomalies}
    hosts = [
        i
        for i, s in enumerate(series)
        if s.kind == "usage"
        and s.series_id not in used
        and clean[i, :start].mean() >= MIN_HOST_MEAN_USD
    ]
    if not hosts or start < 1:
        return
    i = hosts[int(rng.integers(len(hosts)))]
    s = series[i]
    sigma = _sigma(clean[i, :start], cal.weekday[:start])
    mag = round(max(MIN_ANOMALY_USD_PER_DAY, 10 * sigma), 2)
    injection.extra[i, start:] = np.round(injection.extra[i, start:] + mag, 6)
    culprit = int(rng.integers(len(s.resource_ids)))
    injection.culprit[s.series_id] = culprit
    injection.anomalies.append(
        InjectedAnomaly(
            id=f"anom-{len(injection.anomalies):03d}-spike-open",
            kind="spike",
            level="usage_type",
            account_id=s.account_id,
            service=s.product_code,
            usage_type=s.usage_type,
            resource_id=s.resource_ids[culprit] or None,
            metric=None,
            start=cal.dates[start],
            end=cal.dates[-1],
            magnitude=float(mag),
            description=f"+${mag:,.2f}/day on {s.usage_type} over the last {days_open} day(s)",
            region=s.region,
            series_id=s.series_id,
            shape="spike",
        )
    )
