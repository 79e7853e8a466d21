"""Which CUR deliveries a simulated organisation produces, and when.

Each billing month in the window is delivered once at month close (the day after the
month's last simulated day, 06:00 UTC). The month holding the restatement anomaly gets
a second, later delivery (AWS may revise a closed period for two weeks): the first
shows the restated day at its original value, the second at the restated value. Both
carry the whole month; each has its own manifest id (``assemblyId``/``executionId``).
Optionally, month-to-date deliveries every N days precede the close (see
:func:`plan_deliveries`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from shared.events import stable_id
from simulator.exceptions import WriterError

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg

#: Month-close delivery lands the morning after the period's last day.
CLOSE_DELAY = timedelta(days=1, hours=6)
#: The restated delivery follows a few days later (well within AWS's two-week window).
RESTATEMENT_DELAY = timedelta(days=5, hours=6)


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
    if mtd_every_days is not None and mtd_every_days < 1:
        raise WriterError(f"mtd_every_days={mtd_every_days}: use 1 or more, or None")
    cal = org.calendar
    index = {s.series_id: i for i, s in enumerate(org.series)}
    seed = org.config.seed
    months = cal.month_key.tolist()
    out: list[Delivery] = []
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
    first: dict[date, int] = {}
    for d in ordered:  # sequence: 0, 1, 2... within each billing period, in issue order
        first.setdefault(d.billing_period, ordered.index(d))
    return [replace(d, sequence=i - first[d.billing_period]) for i, d in enumerate(ordered)]


def issued_by(delivery: Delivery, until: datetime | None) -> bool:
    """Whether ``delivery`` is issued at or before ``until`` (naive times are UTC)."""
    if until is None:
        return True
    return delivery.issued_at <= (until if until.tzinfo else until.replace(tzinfo=UTC))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
