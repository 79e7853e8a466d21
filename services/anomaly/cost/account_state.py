"""One account's whole cost pipeline: line items in, points, restatements, incidents out.

Pure, its state plain data: the service keeps one per account in its partition state
and snapshots it after each batch; the tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.anomaly.cost.accumulator import (
    NON_USAGE_LINE_ITEM_TYPES,
    AccountAccumulator,
    Completion,
)
from services.anomaly.cost.engine import AccountCostEngine, CostEngineConfig
from services.anomaly.cost.hierarchy import leaf_info, roll_up
from services.anomaly.cost.intraday import complete_before
from services.anomaly.cost.tags import TagConfig, TagRegistry
from services.anomaly.feedback.rules import FeedbackBook
from shared.events import (
    AnomalyEvent,
    CostLineItem,
    CostPoint,
    CostRestated,
    DeliveryCompleted,
    DeliveryStarted,
    Event,
    stable_id,
)
from shared.events.costs import series_id

ONE_DAY = timedelta(days=1)
DEFAULT_TAGS = TagConfig()


@dataclass(frozen=True)
class CostStateConfig:
    """Restatement threshold plus the engine's tuning."""

    engine: CostEngineConfig = field(default_factory=CostEngineConfig)
    # A restatement worth reporting moves a past day by at least $10 ...
    restatement_min_usd: float = 10.0
    # ... and by at least 5% of what that day showed before.
    restatement_min_pct: float = 0.05
    # An attempt not completed within this much delivery-marker time is abandoned
    # (its partial sums dropped): ingesting one CUR file takes minutes to an hour,
    # and AWS redelivers several times a day, so two days is long past any live one.
    pending_horizon: timedelta = timedelta(hours=48)
    # Cost-allocation tag series (none by default; a plain frozen default so configs
    # snapshotted before tag series existed read it from the class).
    tags: TagConfig = DEFAULT_TAGS


@dataclass
class CostOutputs:
    """Everything one input event caused."""

    points: list[CostPoint] = field(default_factory=list)
    restated: list[CostRestated] = field(default_factory=list)
    anomalies: list[AnomalyEvent] = field(default_factory=list)
    rejected: str | None = None
    abandoned: list[str] = field(default_factory=list)  # attempt ids evicted unfinished


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class AccountState:
    """Accumulator + detection engine of one account."""

    def __init__(self, account_id: str, config: CostStateConfig | None = None) -> None:
        self.account_id = account_id
        self.config = config or CostStateConfig()
        self.accumulator = AccountAccumulator(account_id)
        self.engine = AccountCostEngine(account_id, self.config.engine)
        self.tags = TagRegistry()

    def _tag_series(self, item: CostLineItem) -> list[str]:
        """The tag series a usage line item counts in (none for monthly charges)."""
        config = self.config.tags
        if not config.keys or item.line_item_type in NON_USAGE_LINE_ITEM_TYPES:
            return []
        registry: TagRegistry = self.__dict__.setdefault("tags", TagRegistry())  # older states
        return registry.series(self.account_id, item.tags, config)

    def on_event(
        self,
        event: Event,
        book: FeedbackBook,
        now: datetime,
        pending_horizon: timedelta | None = None,
    ) -> CostOutputs:
        """Apply one line-items-topic event.

        Delivery markers move the account's data clock and evict attempts older
        than ``pending_horizon`` on it (default: this state's config), so the
        current setting applies to restored states too.
        """
        horizon = pending_horizon or self.config.pending_horizon
        if isinstance(event, CostLineItem):
            self.accumulator.add_line_item(
                event.attempt_id,
                event.billing_period,
                event.usage_start.date(),
                event.service,
                event.usage_type,
                event.region,
                event.resource_id,
                event.unblended_cost,
                hour=event.usage_start,
                line_item_type=event.line_item_type,
                hour_end=event.usage_end,
                tag_series=self._tag_series(event),
            )
            return CostOutputs()
        if isinstance(event, DeliveryStarted):
            abandoned = self.accumulator.advance(event.started_at, horizon)
            self.accumulator.start(event.attempt_id, event.billing_period)
            return CostOutputs(abandoned=abandoned)
        if isinstance(event, DeliveryCompleted):
            abandoned = self.accumulator.advance(event.completed_at, horizon)
            out = self._complete(event, book, now)
            out.abandoned = abandoned
            return out
        return CostOutputs(rejected=f"unexpected event {type(event).__name__}")

    def _complete(self, done: DeliveryCompleted, book: FeedbackBook, now: datetime) -> CostOutputs:
        comp = self.accumulator.complete(done.attempt_id, done.billing_period, done.row_count)
        if not comp.accepted:
            return CostOutputs(rejected=comp.reason)
        out = CostOutputs()
        out.points = self._points(comp, done)
        evaluated = self.engine.last_day
        for day in comp.changed_days:
            if evaluated is not None and day <= evaluated:
                out.restated += self._restatements(day, comp, done, now)
                out.anomalies += self.engine.restate_day(
                    day,
                    self.accumulator.day_values(day),
                    self.accumulator.day_dims(day),
                    book,
                    now,
                    tags=self.accumulator.day_tags(day),
                )
        # A day is complete once a later day has data (CUR restates month-to-date).
        if comp.latest_day is not None:
            first = evaluated + ONE_DAY if evaluated else min(self.accumulator.dims, default=None)
            day = first
            until = complete_before(
                comp.latest_day, comp.covered.get(comp.latest_day), self.config.engine.intraday
            )
            judged: set[date] = set()
            while day is not None and day < until:
                judged.add(day)
                out.anomalies += self.engine.evaluate_day(
                    day,
                    self.accumulator.day_values(day),
                    self.accumulator.day_dims(day),
                    book,
                    now,
                    tags=self.accumulator.day_tags(day),
                )
                day += ONE_DAY
            out.anomalies += self._judge_hours(comp, judged, book, now)
            keep = comp.latest_day - timedelta(days=self.config.engine.dims_history_days + 1)
            self.accumulator.forget_dims_before(min(keep, self.engine.last_day or keep))
        return out

    def _judge_hours(
        self, comp: Completion, judged: set[date], book: FeedbackBook, now: datetime
    ) -> list[AnomalyEvent]:
        """Learn hour profiles from the days just judged; judge the days still filling."""
        out: list[AnomalyEvent] = []
        for day, hourly in sorted(comp.leaf_hours.items()):
            if day in judged and comp.covered.get(day, 0) >= 24:
                self.engine.learn_hours(day, hourly)
            elif comp.latest_day is not None and day <= comp.latest_day:  # (judged: skipped)
                out += self.engine.judge_partial_day(
                    day, hourly, comp.covered.get(day, 0), self.accumulator.day_dims(day), book, now
                )
        return out

    def _points(self, comp: Completion, done: DeliveryCompleted) -> list[CostPoint]:
        points: list[CostPoint] = []
        for day in comp.changed_days:
            new = roll_up(self.account_id, comp.values[day])
            old = roll_up(self.account_id, comp.previous[day])
            infos = {
                info.series_id: info
                for leaf in set(comp.values[day]) | set(comp.previous[day])
                for info in leaf_info(self.account_id, leaf)
            }
            for sid, info in infos.items():
                if abs(new.get(sid, 0.0) - old.get(sid, 0.0)) <= 1e-9 and sid in old:
                    continue
                points.append(
                    CostPoint(
                        id=stable_id(sid, day.isoformat(), done.attempt_id),
                        series_id=sid,
                        level=info.level,
                        granularity="daily",
                        period_start=_midnight(day),
                        account_id=self.account_id,
                        service=info.service,
                        usage_type=info.usage_type,
                        cost=round(new.get(sid, 0.0), 6),
                        attempt_id=done.attempt_id,
                        as_of=done.completed_at,
                    )
                )
            points += self._tag_points(day, comp, done)
        for hour, by_service in sorted(comp.hourly.items()):
            for service, cost in by_service.items():
                level = "service" if service else "account"
                sid = series_id(level, "hourly", self.account_id, service or None)
                points.append(
                    CostPoint(
                        id=stable_id(sid, hour.isoformat(), done.attempt_id),
                        series_id=sid,
                        level=level,
                        granularity="hourly",
                        period_start=hour,
                        account_id=self.account_id,
                        service=service or None,
                        cost=round(cost, 6),
                        attempt_id=done.attempt_id,
                        as_of=done.completed_at,
                    )
                )
        return points

    def _tag_points(self, day: date, comp: Completion, done: DeliveryCompleted) -> list[CostPoint]:
        """Daily points of the tag series whose cost on ``day`` changed."""
        new, old = comp.tags.get(day, {}), comp.previous_tags.get(day, {})
        points: list[CostPoint] = []
        for sid in sorted(set(new) | set(old)):
            cost = sum(new.get(sid, {}).get("service", {}).values())
            before = old.get(sid)
            if before is not None and abs(cost - sum(before.get("service", {}).values())) <= 1e-9:
                continue
            points.append(
                CostPoint(
                    id=stable_id(sid, day.isoformat(), done.attempt_id),
                    series_id=sid,
                    level="tag",
                    granularity="daily",
                    period_start=_midnight(day),
                    account_id=self.account_id,
                    cost=round(cost, 6),
                    attempt_id=done.attempt_id,
                    as_of=done.completed_at,
                )
            )
        return points

    def _restatements(
        self, day: date, comp: Completion, done: DeliveryCompleted, now: datetime
    ) -> list[CostRestated]:
        new = roll_up(self.account_id, comp.values[day])
        old = roll_up(self.account_id, comp.previous[day])
        out: list[CostRestated] = []
        for sid in sorted(set(new) | set(old)):
            before, after = old.get(sid, 0.0), new.get(sid, 0.0)
            delta = after - before
            threshold = max(
                self.config.restatement_min_usd, self.config.restatement_min_pct * abs(before)
            )
            if abs(delta) < threshold:
                continue
            out.append(
                CostRestated(
                    id=stable_id(sid, day.isoformat(), done.attempt_id, "restated"),
                    series_id=sid,
                    period_start=_midnight(day),
                    account_id=self.account_id,
                    previous_cost=round(before, 6),
                    new_cost=round(after, 6),
                    delta=round(delta, 6),
                    previous_attempt_id=comp.previous_attempt_id or "",
                    attempt_id=done.attempt_id,
                    detected_at=now,
                )
            )
        return out
