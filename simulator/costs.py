"""Daily cost of every series: level, growth, weekly pattern, noise and month charges.

Metered usage (``usage`` kind) is ``level x trend(t) x weekly(t) x noise(t)``:

* level: log-uniform within the template's range, times the account's size;
* trend: storage grows linearly (``1 + g t``, data accumulates), traffic compounds
  (``exp(g t)``), with g drawn from the template (0-0.4 %/day);
* weekly: Saturday and Sunday multiplied by the template's weekend factor (office
  traffic drops, consumer CDN traffic rises, batch analytics nearly stop);
* noise: lognormal with an AR(1) (phi 0.5) log-innovation, so busy days cluster.

Always-on resources are flat (rate x 24 x resources), EBS is GB x rate / days in the
month (so 31-day months are cheaper per day, as in real CUR), monthly charges (Route 53
hosted zones), Tax (per account and service, on the month's usage) and the payer's
Business Support fee all post on the first day of each month.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from simulator.catalogue import REGION_PRICE_FACTOR
from simulator.portfolio import SUPPORT_MINIMUM_USD, SUPPORT_TIERS
from simulator.series import Account, Series

#: AR(1) coefficient of the log-noise: yesterday's surprise carries half into today.
NOISE_AR_PHI = 0.5
WEEKEND = (5, 6)


@dataclass(frozen=True)
class Calendar:
    """The simulated days and what each is (weekday, first of month, month length)."""

    dates: tuple[date, ...]
    weekday: np.ndarray
    first_of_period: np.ndarray
    days_in_month: np.ndarray
    month_key: np.ndarray

    @classmethod
    def of(cls, start: date, days: int) -> Calendar:
        """Calendar of ``days`` days from ``start`` (a month posts on its first window day)."""
        dates = tuple(start + timedelta(days=i) for i in range(days))
        month_key = np.array([d.year * 12 + d.month - 1 for d in dates])
        first = np.ones(days, dtype=bool)
        first[1:] = month_key[1:] != month_key[:-1]
        return cls(
            dates=dates,
            weekday=np.array([d.weekday() for d in dates]),
            first_of_period=first,
            days_in_month=np.array([_calendar.monthrange(d.year, d.month)[1] for d in dates]),
            month_key=month_key,
        )


def _usage_row(s: Series, scale: float, cal: Calendar, rng: np.random.Generator) -> np.ndarray:
    tpl = s.template
    assert tpl is not None  # usage series always come from a template
    days = len(cal.dates)
    t = np.arange(days, dtype=float)
    level = float(np.exp(rng.uniform(np.log(tpl.level[0]), np.log(tpl.level[1])))) * scale
    growth = rng.uniform(*tpl.growth)
    trend = 1.0 + growth * t if tpl.noise < 0.02 else np.exp(growth * t)
    weekend = rng.uniform(*tpl.weekend)
    weekly = np.where(np.isin(cal.weekday, WEEKEND), weekend, 1.0)
    innovations = rng.standard_normal(days)
    ar = np.empty(days)
    ar[0] = innovations[0]
    for i in range(1, days):
        ar[i] = NOISE_AR_PHI * ar[i - 1] + np.sqrt(1 - NOISE_AR_PHI**2) * innovations[i]
    noise = np.exp(tpl.noise * ar - tpl.noise**2 / 2)
    return level * trend * weekly * noise


def usage_matrix(
    series: list[Series], accounts: list[Account], cal: Calendar, rng: np.random.Generator
) -> np.ndarray:
    """Clean daily cost (series x days) before anomalies and month-start charges."""
    scale = {a.account_id: a.scale for a in accounts}
    out = np.zeros((len(series), len(cal.dates)))
    for i, s in enumerate(series):
        factor = REGION_PRICE_FACTOR.get(s.region, 1.0)
        if s.kind == "usage":
            out[i] = _usage_row(s, scale[s.account_id], cal, rng)
        elif s.kind == "hourly":
            out[i] = s.flat_usd_per_day * factor
        elif s.kind == "box":
            out[i] = s.flat_usd_per_day
        elif s.kind == "ebs":
            out[i] = s.flat_usd_per_day * factor / cal.days_in_month
        elif s.kind == "monthly":
            out[i] = np.where(cal.first_of_period, s.flat_usd_per_day, 0.0)
    return np.round(out, 6)


def month_charges(
    series: list[Series],
    costs: np.ndarray,
    accounts: list[Account],
    payer_id: str,
    cal: Calendar,
) -> tuple[list[Series], np.ndarray]:
    """Tax per account and service plus the payer's support fee, on each month's first day."""
    months = np.unique(cal.month_key)
    new: list[Series] = []
    rows: list[np.ndarray] = []
    rate = {a.account_id: a.archetype.tax_rate for a in accounts}
    by_service: dict[tuple[str, str, str, str], list[int]] = {}
    for i, s in enumerate(series):
        by_service.setdefault(
            (s.account_id, s.product_code, s.service_name, s.category), []
        ).append(i)
    for (account_id, code, name, category), idx in sorted(by_service.items()):
        if rate[account_id] <= 0:
            continue
        row = np.zeros(len(cal.dates))
        for m in months:
            in_month = cal.month_key == m
            first = np.flatnonzero(in_month & cal.first_of_period)[0]
            row[first] = rate[account_id] * costs[idx][:, in_month].sum()
        new.append(
            Series(
                f"{account_id}|{code}|||Tax",
                account_id,
                code,
                name,
                category,
                "",
                "",
                "",
                "",
                0.0,
                "tax",
                line_item_type="Tax",
            )
        )
        rows.append(row)
    support = np.zeros(len(cal.dates))
    for m in months:
        in_month = cal.month_key == m
        total, fee, floor = float(costs[:, in_month].sum()), 0.0, 0.0
        for ceiling, pct in SUPPORT_TIERS:
            fee += max(min(total, ceiling) - floor, 0.0) * pct
            floor = ceiling
        support[np.flatnonzero(in_month & cal.first_of_period)[0]] = max(fee, SUPPORT_MINIMUM_USD)
    new.append(
        Series(
            f"{payer_id}|AWSSupportBusiness|Dollar|global|Fee",
            payer_id,
            "AWSSupportBusiness",
            "AWS Support (Business)",
            "Management and Governance",
            "Dollar",
            "",
            "global",
            "Dollar",
            1.0,
            "fee",
            line_item_type="Fee",
        )
    )
    rows.append(support)
    return new, np.round(np.vstack(rows), 6)
