"""The agents: what happens to each line item and each datapoint.

Handlers are a screenful each: find the key's state, call the pure core, map
its results to output events. Feedback verdicts that close incidents arrive
through :meth:`FeedbackSink.offer` and are applied on the agent's own loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from services.anomaly.cost.account_state import AccountState, CostStateConfig
from services.anomaly.exceptions import BadRecordError
from services.anomaly.feedback.rules import FeedbackBook
from services.anomaly.fleet.budget import AlertBudget
from services.anomaly.fleet.resource_tracker import FleetConfig, ResourceTracker
from services.anomaly.loop import Output, StatefulAgent
from services.anomaly.metric.eviction import idle_streams
from services.anomaly.metric.fast_decode import Datapoint, fast_datapoint
from services.anomaly.metric.tracker import ScoringDetector
from services.anomaly.topics import (
    ANOMALIES_OUTPUT,
    COST_INPUT,
    INVENTORY_INPUT,
    METRIC_INPUT,
    POINTS_OUTPUT,
    RATES_TOPIC,
    RESTATEMENTS_OUTPUT,
    USAGE_INCIDENTS_TOPIC,
)
from services.anomaly.usage.links import UsageLinks
from services.anomaly.usage.rates import UnitRateBook
from shared.changelog import ChangelogStore
from shared.codec import decode
from shared.events import (
    AccountUnitRates,
    AnomalyEvent,
    CostLineItem,
    Ec2Instance,
    Event,
    Feedback,
    MetricDatapoint,
    UsageUnitRate,
    stable_id,
    utcnow,
)
from shared.instance_prices import hourly_price
from shared.logging import get_logger

log = get_logger(__name__)
# Look for idle metric streams once a minute of wall time: a scan of every tracker
# costs about a microsecond each, and a day-scale horizon needs no finer sweep.
EVICTION_SWEEP_EVERY = timedelta(minutes=1)
# CloudWatch points are never ahead of real time by more than clock skew; a point
# further ahead does not count as "now" when judging which streams went quiet.
FUTURE_POINT_TOLERANCE = timedelta(hours=1)
DATAPOINT_TYPE = MetricDatapoint.ce_type().encode()
INPUT_VALUES = (*METRIC_INPUT.values, *INVENTORY_INPUT.values)
# Table key prefix of a partition's alert budget (resource ids never start with "~").
BUDGET_KEY = "~alert-budget/"
# Cost table keys beside each account's state (account ids never start with "~"): its
# unit-rate book, and its usage-metric incidents to link the CUR's confirmation to.
RATES_KEY = "~rates/"
LINKS_KEY = "~usage-links/"
COST_VALUES = (*COST_INPUT.values, *USAGE_INCIDENTS_TOPIC.values)


def _anomaly(event: AnomalyEvent) -> Output:
    return (ANOMALIES_OUTPUT, event, event.series_id, None)


class CostAgent(StatefulAgent[AccountState | UnitRateBook | UsageLinks]):
    """Line items -> cost points, restatements, cost incidents and unit rates, per account.

    It also reads the account's usage-metric incidents (co-partitioned) into a
    ``UsageLinks`` under ``LINKS_KEY + account``, so a cost incident confirming one
    is published as that incident, not a second one.
    """

    source = COST_INPUT
    also = (USAGE_INCIDENTS_TOPIC,)

    def __init__(
        self,
        table: ChangelogStore[AccountState | UnitRateBook | UsageLinks],
        config: CostStateConfig,
        book: FeedbackBook,
    ) -> None:
        self.table = table
        self.config = config
        self.book = book
        self._feedback: list[Feedback] = []

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> Event:
        """Line items and delivery markers, or usage incidents."""
        return decode(record.value, record.headers, COST_VALUES)

    def state_key(self, event: Event) -> str:
        """Partitioned by account: all of an account's series live together."""
        account = getattr(event, "account_id", None)
        if not account:
            raise BadRecordError(f"{type(event).__name__} without account_id")
        if isinstance(event, AnomalyEvent):
            return LINKS_KEY + str(account)
        return str(account)

    def new_state(self, key: str, event: Event) -> AccountState | UsageLinks:
        """A fresh account (or its usage links)."""
        if isinstance(event, AnomalyEvent):
            return UsageLinks()
        return AccountState(key, self.config)

    def apply(self, state: AccountState | UnitRateBook | UsageLinks, event: Event) -> list[Output]:
        """Aggregate; on a completed delivery publish points, restatements, incidents, rates."""
        if isinstance(event, AnomalyEvent):
            assert isinstance(state, UsageLinks)
            state.observe(event)
            return []
        assert isinstance(state, AccountState)
        rates = self._rates(state.account_id, event)
        out = state.on_event(event, self.book, self.now, self.config.pending_horizon)
        if out.abandoned:
            log.warning(
                "unfinished delivery attempts evicted",
                account=state.account_id,
                attempts=out.abandoned,
                horizon_h=self.config.pending_horizon.total_seconds() / 3600,
            )
        if out.rejected:
            log.warning(
                "delivery attempt not applied", account=state.account_id, reason=out.rejected
            )
        outputs: list[Output] = [
            (POINTS_OUTPUT, p, f"{p.series_id}@{p.period_start.isoformat()}", p.series_id)
            for p in out.points
        ]
        outputs += [(RESTATEMENTS_OUTPUT, r, r.series_id, None) for r in out.restated]
        links = self.table.get(LINKS_KEY + state.account_id)
        if isinstance(links, UsageLinks) and out.anomalies:
            out.anomalies = [links.join(a) for a in out.anomalies]
            self.table.put(LINKS_KEY + state.account_id, self.position[0], links)
        outputs += [_anomaly(a) for a in out.anomalies]
        if out.points and rates is not None:
            outputs.append(
                (
                    RATES_TOPIC,
                    _unit_rates(state.account_id, rates, self.now),
                    state.account_id,
                    None,
                )
            )
        return outputs

    def _rates(self, account: str, event: Event) -> UnitRateBook | None:
        """The account's rate book, having learnt ``event`` if it is a priced line item."""
        key = RATES_KEY + account
        book = self.table.get(key)
        if isinstance(event, CostLineItem) and event.usage_amount:
            if not isinstance(book, UnitRateBook):
                book = UnitRateBook()
            book.learn_line(event)
            self.table.put(key, self.position[0], book)
        return book if isinstance(book, UnitRateBook) else None

    def offer(self, feedback: Feedback) -> None:
        """Queue a verdict; it is applied on this agent's loop."""
        if feedback.incident_id and feedback.verdict in ("false_positive", "expected"):
            self._feedback.append(feedback)

    def pending(self) -> list[Output]:
        """Close the incidents queued verdicts name, in the accounts this worker owns."""
        queued, self._feedback = self._feedback, []
        outputs: list[Output] = []
        for feedback in queued:
            parts = feedback.series_id.split("/")  # "<granularity>/<account>/..."
            account = parts[1] if len(parts) > 1 else ""
            for partition, key, state in list(self.table.items()):
                if key == account and isinstance(state, AccountState):
                    events = state.engine.apply_feedback(feedback, utcnow())
                    if events:
                        self.table.put(key, partition, state)
                        outputs += [_anomaly(e) for e in events]
        return outputs


def _unit_rates(account: str, book: UnitRateBook, now: datetime) -> AccountUnitRates:
    """The account's rate book as the event the usage loop co-consumes."""
    rates = []
    for key, (cost, usage) in sorted(book.sums.items()):
        _account, usage_type, region = key.split("|", 2)
        if usage > 0:
            rates.append(
                UsageUnitRate(
                    usage_type=usage_type, region=region, cost_usd=cost, usage_amount=usage
                )
            )
    return AccountUnitRates(
        id=stable_id(account, "unit-rates", now.isoformat()),
        account_id=account,
        rates=rates,
        as_of=now,
    )


class MetricAgent(StatefulAgent[ResourceTracker | AlertBudget]):
    """Datapoints (and inventory) -> one incident per resource, budgeted per partition.

    State is keyed by resource id: the streams of one instance, its type and
    price (from the co-partitioned inventory topic) and its open incident live
    together. Each partition also keeps its fleet's alert budget under
    ``BUDGET_KEY + partition``; the candidates of a poll are judged after it, in
    offset order, so a replay with other poll boundaries decides the same.
    """

    source = METRIC_INPUT
    also = (INVENTORY_INPUT,)

    def __init__(
        self,
        table: ChangelogStore[ResourceTracker | AlertBudget],
        config: FleetConfig,
        book: FeedbackBook,
        detector_factory: Callable[[], ScoringDetector],
        idle_horizon: timedelta = timedelta(days=7),
    ) -> None:
        self.table = table
        self.config = config
        self.book = book
        self.detector_factory = detector_factory
        self.idle_horizon = idle_horizon
        self._feedback: list[Feedback] = []
        self._periods: dict[int, timedelta] = {}
        self._next_sweep = datetime.min.replace(tzinfo=UTC)
        self._candidates: list[tuple[tuple[int, int], str, ResourceTracker]] = []
        self._inventory_topic = INVENTORY_INPUT.name

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> Event | Datapoint:  # type: ignore[override]
        """Fast strict path for plain datapoints; the full validator for anything else."""
        for name, value in record.headers or ():
            if name == "ce_type":  # the first one decides, as in shared.codec.decode
                if value == DATAPOINT_TYPE:  # bytes compared as they came: no decoding
                    event = fast_datapoint(record.value)
                    if event is not None:
                        return event
                break
        return decode(record.value, record.headers, INPUT_VALUES)

    def state_key(self, event: Event) -> str:
        """One state per resource (instance id)."""
        if isinstance(event, Datapoint | MetricDatapoint):
            return event.resource_id
        if isinstance(event, Ec2Instance):
            return event.instance_id
        raise BadRecordError(f"{type(event).__name__} is not a datapoint or an instance")

    def new_state(self, key: str, event: Event) -> ResourceTracker:
        """A fresh resource."""
        return ResourceTracker(key, self.config)

    def applied_offset(self, state: ResourceTracker | AlertBudget, topic: str) -> int:
        """Per input topic: datapoints and inventory have their own offsets."""
        assert isinstance(state, ResourceTracker)
        return state.offsets.get(topic, -1)

    def mark_applied(self, state: ResourceTracker | AlertBudget, topic: str, offset: int) -> None:
        """Remember the offset of ``topic`` applied to ``state``."""
        assert isinstance(state, ResourceTracker)
        state.offsets[topic] = offset

    def apply(self, state: ResourceTracker | AlertBudget, event: Event) -> list[Output]:
        """Score, then learn; publish lifecycle events; queue a candidate for the budget."""
        assert isinstance(state, ResourceTracker)
        if isinstance(event, Ec2Instance):
            state.describe(event.instance_type, hourly_price(event.instance_type, event.region))
            return []
        assert isinstance(event, (Datapoint, MetricDatapoint))  # state_key rejected the rest
        if state.first_offset < 0:
            state.first_offset = self.position[1]
        stream = f"{state.resource_id}|{event.metric}|{event.stat}"
        widen, suppressed, planned = self.book.rules(stream, event.timestamp)
        if self.book.active:
            w2, s2, p2 = self.book.rules(state.resource_id, event.timestamp)
            widen, suppressed, planned = max(widen, w2), suppressed or s2, planned or p2
        period = self._periods.get(event.period_s)
        if period is None:  # a handful of distinct periods: build each timedelta once
            period = self._periods[event.period_s] = timedelta(seconds=event.period_s)
        was_candidate = state.candidate
        events = state.observe(
            event.metric,
            event.stat,
            event.timestamp,
            event.value,
            event.account_id,
            self.now,
            self.detector_factory,
            period,
            suppressed,
            not planned,
            1.0 - (1.0 - self.config.stream.threshold) / widen,
        )
        if state.candidate and not was_candidate:
            self._candidates.append((self.position, state.resource_id, state))
        return [_anomaly(e) for e in events] if events else []

    def finish(self) -> list[Output]:
        """Judge this poll's candidates with their partition's budget, in offset order."""
        if not self._candidates:
            return []
        queued, self._candidates = sorted(self._candidates, key=lambda c: c[0]), []
        outputs: list[Output] = []
        for (partition, offset), key, state in queued:
            budget_key = f"{BUDGET_KEY}{partition}"
            budget = self.table.get(budget_key)
            if not isinstance(budget, AlertBudget):
                budget = AlertBudget(self.config.budget)
            size = sum(
                1
                for p, _k, s in self.table.items()
                if p == partition
                and isinstance(s, ResourceTracker)
                and 0 <= s.first_offset <= offset
            )
            decision = budget.admit(state.candidate_at, state.candidate_usd, size)
            outputs += [_anomaly(e) for e in state.decide(decision, self.now)]
            self.table.put(budget_key, partition, budget)
            self.table.put(key, partition, state)
        return outputs

    def offer(self, feedback: Feedback) -> None:
        """Queue a verdict; it is applied on this agent's loop."""
        if feedback.incident_id and feedback.verdict in ("false_positive", "expected"):
            self._feedback.append(feedback)

    def pending(self) -> list[Output]:
        """Close the metric incidents queued verdicts name; evict resources gone quiet."""
        outputs = self._closed_by_feedback()
        if self.now >= self._next_sweep:
            self._next_sweep = self.now + EVICTION_SWEEP_EVERY
            outputs += self.evict_idle()
        return outputs

    def evict_idle(self) -> list[Output]:
        """Forget resources silent for ``idle_horizon`` of data time; resolve their incidents.

        The changelog gets a tombstone per resource, so a restart does not bring them back.
        """
        seen = ((p, k, getattr(t, "last_ts", None)) for p, k, t in self.table.items())
        idle = idle_streams(seen, self.idle_horizon, self.now + FUTURE_POINT_TOLERANCE)
        outputs: list[Output] = []
        for _partition, key in idle:
            tracker = self.table.get(key)
            if isinstance(tracker, ResourceTracker):
                outputs += [_anomaly(e) for e in tracker.close("the stream went silent", self.now)]
            self.table.delete(key)
        if idle:
            log.info("idle metric resources evicted", resources=len(idle))
        return outputs

    def _closed_by_feedback(self) -> list[Output]:
        queued, self._feedback = self._feedback, []
        outputs: list[Output] = []
        for feedback in queued:
            tracker = self.table.get(feedback.series_id)
            incident = getattr(tracker, "incident", None)
            if not isinstance(tracker, ResourceTracker) or incident is None:
                continue
            if incident.incident_id == feedback.incident_id:
                reason = (
                    "marked false positive"
                    if feedback.verdict == "false_positive"
                    else "expected by a person"
                )
                outputs += [_anomaly(e) for e in tracker.close(reason, utcnow())]
                self.table.put(
                    feedback.series_id, self.table.partition_of[feedback.series_id], tracker
                )
        return outputs
