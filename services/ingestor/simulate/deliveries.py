"""Which CUR deliveries a simulated organisation produces, and when.

Each billing month in the window is delivered once at month close (the day after the
month's last simulated day, 06:00 UTC). The month holding the restatement anomaly gets
a second, later delivery (AWS may revise a closed period for two weeks): the first
shows the restated day at its original value, the second at the restated value. Both
carry the whole month; each has its own manifest id (``assemblyId``/``executionId``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from shared.events import stable_id

if TYPE_CHECKING:
    from services.ingestor.simulate.organisation import SimulatedOrg

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

    @property
    def period_end(self) -> date:
        """First day of the next month (exclusive end of the billing period)."""
        nxt = self.billing_period.replace(day=28) + timedelta(days=4)
        return nxt.replace(day=1)


def _uuid_like(*parts: object) -> str:
    h = stable_id(*parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def plan_deliveries(org: SimulatedOrg) -> list[Delivery]:
    """Every delivery in issue order (month by month; a restated month twice)."""
    cal = org.calendar
    index = {s.series_id: i for i, s in enumerate(org.series)}
    out: list[Delivery] = []
    for month in sorted(set(cal.month_key.tolist())):
        days_idx = [i for i, m in enumerate(cal.month_key.tolist()) if m == month]
        days = range(days_idx[0], days_idx[-1] + 1)
        period = cal.dates[days.start].replace(day=1)
        closed = datetime.combine(cal.dates[days.stop - 1], time(), tzinfo=UTC)
        restated = [
            a
            for a in org.anomalies
            if a.kind == "restatement"
            and a.series_id in index
            and cal.dates[days.start] <= a.start <= cal.dates[days.stop - 1]
        ]
        seed = org.config.seed
        if restated:
            overrides = {
                (index[a.series_id or ""], cal.dates.index(a.start)): float(a.original_value or 0)
                for a in restated
            }
            out.append(
                Delivery(
                    period, 0, _uuid_like(seed, period, 0), closed + CLOSE_DELAY, days, overrides
                )
            )
            out.append(
                Delivery(period, 1, _uuid_like(seed, period, 1), closed + RESTATEMENT_DELAY, days)
            )
        else:
            out.append(Delivery(period, 0, _uuid_like(seed, period, 0), closed + CLOSE_DELAY, days))
    return sorted(out, key=lambda d: (d.issued_at, d.billing_period))
