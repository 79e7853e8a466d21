"""Which CUR deliveries a simulated organisation produces, and when.

Each billing month in the window is delivered once at month close (the day after the
month's last simulated day, 06:00 UTC). The month holding the restatement anomaly gets
a second, later delivery (AWS may revise a closed period for two weeks): the first
shows the restated day at its original value, the second at the restated value. Both
carry the whole month; each has its own manifest id (``assemblyId``/``executionId``).
Optionally, month-to-date deliveries every N days precede the close (see
:func:`plan_deliveries`).

An organisation simulated with ``intraday`` is delivered as AWS does during the month:
month-to-date rewritten three times a day (about 02:00, 10:00 and 18:00 UTC, each a
few minutes off), each showing the hours up to a cutoff 8-24 h before it is issued
(never earlier than the previous cutoff: late hours are missing, not zero), with the
newest :data:`UNSETTLED_HOURS` hours at only part of their final cost (restated by the
next deliveries); last month is rewritten alongside until its close. The close and
restatement deliveries stay as above. Every delivery declares its cutoff
(``through``), so an evaluation measures latency in this timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from shared.events import stable_id
from simulator.exceptions import WriterError

if TYPE_CHECKING:
    from simulator.costs import Calendar
    from simulator.organisation import SimulatedOrg

#: Month-close delivery lands the morning after the period's last day.
CLOSE_DELAY = timedelta(days=1, hours=6)
#: The restated delivery follows a few days later (well within AWS's two-week window).
RESTATEMENT_DELAY = timedelta(days=5, hours=6)
#: Intra-day timing: issue hours (UTC) of the month-to-date refreshes, up to three a day.
REFRESH_HOURS = (2, 10, 18)
#: ... each issued up to this many minutes after its hour.
REFRESH_JITTER_MIN = 50
#: Hours of usage reach a delivery this late (uniform, hours).
LATE_HOURS = (8.0, 24.0)
#: The newest hours of a delivery are not settled yet: they show this share of their
#: final cost (uniform per hour and delivery) and are restated later.
UNSETTLED_HOURS = 4
UNSETTLED_SHARE = (0.5, 0.95)


@dataclass(frozen=True)
class Delivery:
    """One delivery of one billing month: its days, id and the values it overrides."""

    billing_period: date
    sequence: int
    manifest_id: str
    issued_at: datetime
    days: range
    #: (series index, day index) -> the cost this delivery shows instead of the final one.
    overrides: dict[tuple[int, int], float] = field(default_factory=dict)
    #: Whether tax, support and monthly fees are in (only at month close).
    month_charges: bool = True
    #: Intra-day deliveries: usage hours (counted from the first simulated midnight)
    #: shown are those before this one; None: every hour of ``days``.
    through: int | None = None
    #: Intra-day deliveries: absolute hour -> share of its final cost shown (unsettled).
    unsettled: dict[int, float] = field(default_factory=dict)

    def hour_factors(self, d: int) -> np.ndarray:
        """(24,) share of each hour of day index ``d`` this delivery shows (0: not yet)."""
        out = np.ones(24)
        if self.through is None:
            return out
        hours = d * 24 + np.arange(24)
        out[hours >= self.through] = 0.0
        for hour, share in self.unsettled.items():
            if d * 24 <= hour < d * 24 + 24:
                out[hour - d * 24] = share
        return out

    @property
    def period_end(self) -> date:
        """First day of the next month (exclusive end of the billing period)."""
        nxt = self.billing_period.replace(day=28) + timedelta(days=4)
        return nxt.replace(day=1)


def _uuid_like(*parts: object) -> str:
    h = stable_id(*parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def plan_deliveries(org: SimulatedOrg, mtd_every_days: int | None = None) -> list[Delivery]:
    """Every delivery in issue order.

    Args:
        org: The organisation.
        mtd_every_days: Also deliver month-to-date every N days (AWS refreshes CUR at
            least daily); these carry the days so far and no month-start charges (tax,
            support, monthly fees), which AWS finalises at month close.
    """
    if mtd_every_days is not None and org.config.intraday:
        raise WriterError("mtd_every_days does not apply to an intraday organisation")
    if mtd_every_days is not None and mtd_every_days < 1:
        raise WriterError(f"mtd_every_days={mtd_every_days}: use 1 or more, or None")
    cal = org.calendar
    index = {s.series_id: i for i, s in enumerate(org.series)}
    seed = org.config.seed
    months = cal.month_key.tolist()
    out: list[Delivery] = []
    if org.config.intraday:
        out += _intraday(org, index)
    for month in sorted(set(months)):
        days_idx = [i for i, m in enumerate(months) if m == month]
        days = range(days_idx[0], days_idx[-1] + 1)
        period = cal.dates[days.start].replace(day=1)
        restated = [
            a
            for a in org.anomalies
            if a.kind == "restatement"
            and a.series_id in index
            and cal.dates[days.start] <= a.start <= cal.dates[days.stop - 1]
        ]
        overrides = {
            (index[a.series_id or ""], cal.dates.index(a.start)): float(a.original_value or 0)
            for a in restated
        }
        for cut in range(days.start + (mtd_every_days or 0), days.stop, mtd_every_days or 1):
            if not mtd_every_days:
                break
            out.append(
                Delivery(
                    period,
                    len(out),
                    _uuid_like(seed, period, "mtd", cut),
                    _midnight(cal.dates[cut - 1]) + CLOSE_DELAY,
                    range(days.start, cut),
                    {k: v for k, v in overrides.items() if k[1] < cut},
                    month_charges=False,
                )
            )
        closed = _midnight(cal.dates[days.stop - 1])
        out.append(
            Delivery(
                period, len(out), _uuid_like(seed, period, 0), closed + CLOSE_DELAY, days, overrides
            )
        )
        if restated:
            out.append(
                Delivery(
                    period, len(out), _uuid_like(seed, period, 1), closed + RESTATEMENT_DELAY, days
                )
            )
    ordered = sorted(out, key=lambda d: (d.issued_at, d.billing_period))
    seen: dict[date, int] = {}
    out = []
    for d in ordered:  # sequence: 0, 1, 2... within each billing period
        out.append(replace(d, sequence=seen.get(d.billing_period, 0)))
        seen[d.billing_period] = seen.get(d.billing_period, 0) + 1
    return out


def _intraday(org: SimulatedOrg, index: dict[str, int]) -> list[Delivery]:
    """The month-to-date refreshes of an intra-day organisation (closes come separately)."""
    cal = org.calendar
    rng = np.random.default_rng([org.config.seed, 15])
    overrides = {
        (index[a.series_id or ""], cal.dates.index(a.start)): float(a.original_value or 0)
        for a in org.anomalies
        if a.kind == "restatement" and a.series_id in index
    }
    origin = _midnight(cal.dates[0])
    total_hours = len(cal.dates) * 24
    out: list[Delivery] = []
    through = 0
    for d in range(len(cal.dates)):
        for refresh in REFRESH_HOURS:
            jitter = int(rng.integers(REFRESH_JITTER_MIN + 1))
            lag = float(rng.uniform(*LATE_HOURS))
            shares = rng.uniform(*UNSETTLED_SHARE, size=UNSETTLED_HOURS)
            issued = origin + timedelta(days=d, hours=refresh, minutes=jitter)
            cutoff = min(int((d * 24 + refresh + jitter / 60 - lag) // 1), total_hours)
            through = max(through, cutoff)
            if through <= 0:
                continue
            unsettled = dict(
                zip(range(through - 1, through - 1 - UNSETTLED_HOURS, -1), shares, strict=True)
            )
            last_day = (through - 1) // 24
            periods = [_period_days(cal, last_day)]
            previous = periods[0].start - 1
            if previous >= 0:
                periods.insert(0, _period_days(cal, previous))  # until its close

            for days in periods:
                if _period_closes(cal, days.start) <= issued:
                    continue  # the close delivery has superseded this month
                period = cal.dates[days.start].replace(day=1)
                out.append(
                    Delivery(
                        period,
                        0,
                        _uuid_like(org.config.seed, period, "intraday", d, refresh),
                        issued,
                        days,
                        {k: v for k, v in overrides.items() if k[1] in days},
                        month_charges=False,
                        through=through,
                        unsettled={
                            h: float(v)
                            for h, v in unsettled.items()
                            if days.start * 24 <= h < days.stop * 24
                        },
                    )
                )
    return out


def _period_closes(cal: Calendar, day: int) -> datetime:
    """When the close delivery of ``day``'s billing month is issued."""
    end = day
    while end + 1 < len(cal.dates) and not cal.first_of_period[end + 1]:
        end += 1
    return _midnight(cal.dates[end]) + CLOSE_DELAY


def _period_days(cal: Calendar, day: int) -> range:
    """Day indices of ``day``'s billing month, from its first simulated day through ``day``."""
    start = day
    while start > 0 and not cal.first_of_period[start]:
        start -= 1
    return range(start, day + 1)


def issued_by(delivery: Delivery, until: datetime | None) -> bool:
    """Whether ``delivery`` is issued at or before ``until`` (naive times are UTC)."""
    if until is None:
        return True
    return delivery.issued_at <= (until if until.tzinfo else until.replace(tzinfo=UTC))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
