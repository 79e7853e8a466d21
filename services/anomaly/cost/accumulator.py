"""Restatement-aware aggregation of line items into daily cost per series.

Per account, line items are summed per ingest attempt while the attempt is in
flight. When ``DeliveryCompleted`` arrives and the attempt's row count matches
what was received, the attempt *replaces* the account's previous completed
attempt for that billing period: the changed series-days become cost points and
past days that moved beyond the threshold become restatement notices. An
attempt whose rows are missing is dropped (the previous values stand), and an
attempt already applied is ignored, so replays change nothing.

>>> from datetime import date, datetime
>>> acc = AccountAccumulator("1")
>>> day = date(2024, 1, 1)
>>> acc.add_line_item("a1", day, day, "EC2", "Box", "us-east-1", "i-1", 10.0)
>>> result = acc.complete("a1", day, row_count=1)
>>> result.accepted, result.changed_days, round(result.values[day][("EC2", "Box")], 2)
(True, [datetime.date(2024, 1, 1)], 10.0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.anomaly.cost.intraday import HOURS_PER_DAY

Leaf = tuple[str, str]
TagDims = dict[str, dict[str, dict[str, float]]]  # tag series id -> dimension -> key -> cost
# Keep this many top resources per usage type and day: root cause names the few
# that matter, and the state stays small enough to snapshot on every batch.
MAX_RESOURCES_PER_LEAF_DAY = 5
# Per tag series and day, the top usage types and resources kept (the "other" tag
# series can hold every usage type of the account).
TAG_BREAKDOWN_KEPT = {"usage_type": 10, "resource": MAX_RESOURCES_PER_LEAF_DAY}
# Usage per leaf and hour is kept for the newest days of an attempt only: the day
# still being delivered (judged from its hours) and the one before it (the day a
# delivery completes, whose hours teach the hour-of-week profile).
HOURLY_DAYS_KEPT = 2
# Attempt ids remembered per account to recognise a replayed completion (a few
# months of several deliveries a day).
APPLIED_ATTEMPTS_MEMORY = 512
# Line item types that are not usage: monthly charges (tax, support fees, RI and
# Savings Plans fees) and adjustments (credits, refunds, discounts). They are
# published in the cost series but kept out of detection: they land on fixed
# days by contract, not because something changed.
NON_USAGE_LINE_ITEM_TYPES = frozenset(
    {
        "Tax",
        "Fee",
        "RIFee",
        "SavingsPlanRecurringFee",
        "SavingsPlanUpfrontFee",
        "Credit",
        "Refund",
        "Discount",
        "BundledDiscount",
        "EdpDiscount",
        "PrivateRateDiscount",
        "SppDiscount",
    }
)
# Billing periods whose values are kept for diffing: AWS finalises a month's
# bill within days of its end, so the current and two previous months suffice.
BILLING_PERIODS_KEPT = 3
# Money below a hundredth of a cent is float noise, not a change.
EPSILON_USD = 1e-4
# In-flight attempts kept per account at most (the oldest go first): the ingestor
# runs one attempt per report and billing period, so a backfill of a few years
# fits, and a flood of made-up attempt ids cannot grow the state.
MAX_PENDING_ATTEMPTS = 64


@dataclass
class PendingAttempt:
    """Sums of one in-flight attempt."""

    billing_period: date
    rows: int = 0
    # The account's delivery clock when this attempt first appeared (None: never
    # timed, e.g. a state written before eviction existed; it ages from the next marker).
    seen_at: datetime | None = None
    values: dict[date, dict[Leaf, float]] = field(default_factory=dict)
    usage: dict[date, dict[Leaf, float]] = field(default_factory=dict)
    regions: dict[date, dict[Leaf, dict[str, float]]] = field(default_factory=dict)
    resources: dict[date, dict[Leaf, dict[str, float]]] = field(default_factory=dict)
    # Hourly cost per service ("" = the whole account): published, never diffed.
    hourly: dict[datetime, dict[str, float]] = field(default_factory=dict)
    # Usage cost per leaf and UTC hour of the newest HOURLY_DAYS_KEPT days, and how many
    # leading hours of each such day the attempt covers (through its latest usage end).
    leaf_hours: dict[date, dict[Leaf, list[float]]] = field(default_factory=dict)
    covered: dict[date, int] = field(default_factory=dict)
    # Usage cost per day and tag series, broken down by service, usage type, resource.
    tags: dict[date, TagDims] = field(default_factory=dict)

    def add_tags(
        self, day: date, sids: Sequence[str], leaf: Leaf, resource: str, cost: float
    ) -> None:
        """Book usage in each of its tag series (attempts from before tags: created here)."""
        by_sid = vars(self).setdefault("tags", {}).setdefault(day, {})
        for sid in sids:
            dims = by_sid.setdefault(sid, {})
            _bump(dims.setdefault("service", {}), leaf[0], cost)
            _bump(dims.setdefault("usage_type", {}), leaf[1], cost)
            if resource:
                _bump(dims.setdefault("resource", {}), resource, cost)

    def add_hours(self, day: date, leaf: Leaf, start: datetime, end: datetime, cost: float) -> None:
        """Book usage in its start hour of ``day``; note the hours it covers."""
        if day not in self.leaf_hours:
            if len(self.leaf_hours) >= HOURLY_DAYS_KEPT and day < min(self.leaf_hours):
                return
            self.leaf_hours[day] = {}
            for old in sorted(self.leaf_hours)[:-HOURLY_DAYS_KEPT]:
                del self.leaf_hours[old]
                self.covered.pop(old, None)
        hours = self.leaf_hours[day].setdefault(leaf, [0.0] * HOURS_PER_DAY)
        hours[start.hour] += cost
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        span = -(-(end - midnight).total_seconds() // 3600)  # ceil, in hours
        self.covered[day] = max(self.covered.get(day, 0), min(HOURS_PER_DAY, int(span)))


@dataclass
class Completion:
    """What a completed attempt changed."""

    accepted: bool
    reason: str = ""
    changed_days: list[date] = field(default_factory=list)
    values: dict[date, dict[Leaf, float]] = field(default_factory=dict)
    previous: dict[date, dict[Leaf, float]] = field(default_factory=dict)
    previous_attempt_id: str | None = None
    latest_day: date | None = None
    hourly: dict[datetime, dict[str, float]] = field(default_factory=dict)
    leaf_hours: dict[date, dict[Leaf, list[float]]] = field(default_factory=dict)
    covered: dict[date, int] = field(default_factory=dict)
    tags: dict[date, TagDims] = field(default_factory=dict)
    previous_tags: dict[date, TagDims] = field(default_factory=dict)


def _top_breakdown(dims: TagDims) -> TagDims:
    """``dims`` with only each tag series' top usage types and resources.

    Root cause names the few that matter; services stay whole (few per account,
    and their sum is the series' cost).
    """
    return {
        sid: {
            dim: dict(sorted(costs.items(), key=lambda kv: -kv[1])[: TAG_BREAKDOWN_KEPT[dim]])
            if dim in TAG_BREAKDOWN_KEPT
            else costs
            for dim, costs in by_dim.items()
        }
        for sid, by_dim in dims.items()
    }


def _bump(table: dict[str, float], key: str, cost: float) -> None:
    table[key] = table.get(key, 0.0) + cost


class AccountAccumulator:
    """Line items of one account -> per-billing-period daily values by usage type.

    Incomplete attempts are evicted on data time, never on the wall clock, so a
    replay or a restored state evicts exactly the same ones: ``clock`` is the
    latest delivery-marker time seen for the account, and an attempt older than
    the horizon on that clock (or beyond :data:`MAX_PENDING_ATTEMPTS`) is dropped.
    """

    #: Latest ``started_at``/``completed_at`` seen (class default: states from before eviction).
    clock: datetime | None = None

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.pending: dict[str, PendingAttempt] = {}
        self.applied: dict[date, dict[date, dict[Leaf, float]]] = {}
        self.applied_attempt: dict[date, str] = {}
        self.applied_usage: dict[date, dict[date, dict[Leaf, float]]] = {}
        self.dims: dict[date, dict[Leaf, dict[str, dict[str, float]]]] = {}
        self.latest_day: date | None = None
        self._seen: deque[str] = deque(maxlen=APPLIED_ATTEMPTS_MEMORY)

    def start(self, attempt_id: str, billing_period: date) -> None:
        """An attempt began: forget any partial sums a crashed earlier run left."""
        self.pending.pop(attempt_id, None)
        self._new_attempt(attempt_id, billing_period)

    def _new_attempt(self, attempt_id: str, billing_period: date) -> PendingAttempt:
        while len(self.pending) >= MAX_PENDING_ATTEMPTS:
            del self.pending[min(self.pending, key=self._age_key)]
        attempt = self.pending[attempt_id] = PendingAttempt(billing_period, seen_at=self.clock)
        return attempt

    def _age_key(self, attempt_id: str) -> tuple[bool, datetime | None, str]:
        """Oldest first: untimed attempts, then by first sight, ties by id (deterministic)."""
        seen = self.pending[attempt_id].seen_at
        return (seen is not None, seen, attempt_id)

    def advance(self, marker_time: datetime, horizon: timedelta) -> list[str]:
        """Move the delivery clock to ``marker_time``; drop attempts older than ``horizon``.

        Returns the dropped attempt ids, oldest first. An attempt is stamped with
        the clock when first seen, so a marker from the far future cannot make
        later attempts look old: it only stops the clock from moving for a while.

        >>> acc = AccountAccumulator("1")
        >>> t0 = datetime(2024, 1, 2)
        >>> acc.advance(t0, timedelta(hours=48))
        []
        >>> acc.start("stuck", date(2024, 1, 1))
        >>> acc.advance(t0 + timedelta(hours=47), timedelta(hours=48))
        []
        >>> acc.advance(t0 + timedelta(hours=49), timedelta(hours=48))
        ['stuck']
        """
        if self.clock is None or marker_time > self.clock:
            self.clock = marker_time
        for attempt in self.pending.values():
            if attempt.seen_at is None:
                attempt.seen_at = self.clock
        cutoff = self.clock - horizon
        stale = sorted(
            (a for a, p in self.pending.items() if p.seen_at is not None and p.seen_at < cutoff),
            key=self._age_key,
        )
        for attempt_id in stale:
            del self.pending[attempt_id]
        return stale

    def add_line_item(
        self,
        attempt_id: str,
        billing_period: date,
        day: date,
        service: str,
        usage_type: str | None,
        region: str | None,
        resource_id: str | None,
        cost: float,
        hour: datetime | None = None,
        line_item_type: str | None = None,
        hour_end: datetime | None = None,
        tag_series: Sequence[str] = (),
    ) -> None:
        """Add one line item's cost to its attempt's sums.

        ``hour``/``hour_end``: its usage start and end (hourly views need both);
        ``tag_series``: the tag series its usage counts in (``cost.tags``).
        """
        attempt = self.pending.get(attempt_id)
        if attempt is None:
            attempt = self._new_attempt(attempt_id, billing_period)
        leaf = (service, usage_type or "-")
        attempt.rows += 1
        day_values = attempt.values.setdefault(day, {})
        day_values[leaf] = day_values.get(leaf, 0.0) + cost
        if line_item_type not in NON_USAGE_LINE_ITEM_TYPES:
            day_usage = attempt.usage.setdefault(day, {})
            day_usage[leaf] = day_usage.get(leaf, 0.0) + cost
            # (attempts snapshotted before hourly views existed have no leaf_hours)
            if hour_end is not None and hour is not None and "leaf_hours" in vars(attempt):
                attempt.add_hours(day, leaf, hour, hour_end, cost)
            if tag_series:
                attempt.add_tags(day, tag_series, leaf, resource_id or "", cost)
        _bump(attempt.regions.setdefault(day, {}).setdefault(leaf, {}), region or "-", cost)
        if hour is not None:
            by_service = attempt.hourly.setdefault(
                hour.replace(minute=0, second=0, microsecond=0), {}
            )
            _bump(by_service, service, cost)
            _bump(by_service, "", cost)
        if resource_id:
            _bump(attempt.resources.setdefault(day, {}).setdefault(leaf, {}), resource_id, cost)

    def complete(self, attempt_id: str, billing_period: date, row_count: int) -> Completion:
        """Apply a completed attempt if it is whole and new; say what changed."""
        attempt = self.pending.pop(attempt_id, None) or PendingAttempt(billing_period)
        if attempt_id in self._seen:
            return Completion(False, "attempt already applied (replay)")
        if attempt.rows != row_count:
            return Completion(
                False, f"attempt has {attempt.rows} of {row_count} rows; previous values stand"
            )
        self._seen.append(attempt_id)
        previous = self.applied.get(billing_period, {})
        days = sorted(set(previous) | set(attempt.values))
        changed = [
            d
            for d in days
            if any(
                abs(attempt.values.get(d, {}).get(leaf, 0.0) - previous.get(d, {}).get(leaf, 0.0))
                > EPSILON_USD
                for leaf in set(attempt.values.get(d, {})) | set(previous.get(d, {}))
            )
        ]
        self.applied[billing_period] = attempt.values
        self.applied_usage[billing_period] = attempt.usage
        applied_tags = self._applied_tags()
        previous_tags = applied_tags.get(billing_period, {})
        applied_tags[billing_period] = {
            d: _top_breakdown(dims) for d, dims in vars(attempt).get("tags", {}).items()
        }
        for old in sorted(self.applied)[:-BILLING_PERIODS_KEPT]:
            for table in (self.applied, self.applied_usage, self.applied_attempt, applied_tags):
                table.pop(old, None)  # all dicts keyed by period
        prev_attempt = self.applied_attempt.get(billing_period)
        self.applied_attempt[billing_period] = attempt_id
        for d in attempt.values:
            self.dims[d] = {
                leaf: {
                    "region": attempt.regions.get(d, {}).get(leaf, {}),
                    "resource": dict(
                        sorted(
                            attempt.resources.get(d, {}).get(leaf, {}).items(),
                            key=lambda kv: -kv[1],
                        )[:MAX_RESOURCES_PER_LEAF_DAY]
                    ),
                }
                for leaf in attempt.values[d]
            }
        if attempt.values:
            last = max(attempt.values)
            self.latest_day = max(self.latest_day or last, last)
        return Completion(
            True,
            changed_days=changed,
            values={d: attempt.values.get(d, {}) for d in changed},
            previous={d: previous.get(d, {}) for d in changed},
            previous_attempt_id=prev_attempt,
            latest_day=self.latest_day,
            hourly={h: v for h, v in attempt.hourly.items() if h.date() in set(changed)},
            leaf_hours=vars(attempt).get("leaf_hours", {}),
            covered=vars(attempt).get("covered", {}),
            tags={d: applied_tags[billing_period].get(d, {}) for d in changed},
            previous_tags={d: previous_tags.get(d, {}) for d in changed},
        )

    def _applied_tags(self) -> dict[date, dict[date, TagDims]]:
        """Tag breakdowns per billing period and day (states from before tags: empty)."""
        tables: dict[date, dict[date, TagDims]] = vars(self).setdefault("applied_tags", {})
        return tables

    def day_tags(self, day: date) -> TagDims:
        """Usage cost of ``day`` per tag series, by service, usage type and resource."""
        return self._applied_tags().get(day.replace(day=1), {}).get(day, {})

    def day_values(self, day: date) -> dict[Leaf, float]:
        """Current usage cost of ``day`` per leaf (what detection sees; no monthly charges)."""
        return dict(self.applied_usage.get(day.replace(day=1), {}).get(day, {}))

    def day_dims(self, day: date) -> dict[Leaf, dict[str, dict[str, float]]]:
        """Region and top-resource breakdowns of ``day``."""
        return self.dims.get(day, {})

    def forget_dims_before(self, day: date) -> None:
        """Drop breakdowns the detector no longer needs (keeps the snapshot small)."""
        for old in [d for d in self.dims if d < day]:
            del self.dims[old]
