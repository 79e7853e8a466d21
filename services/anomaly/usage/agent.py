"""The usage loop: usage datapoints and unit rates -> priced usage-metric incidents.

Input is ``cloudwatch.usage`` (keyed by account) and the co-partitioned
``unit-rates`` topic the cost loop publishes. State is keyed per billed resource
and usage type (``account|resource|usage type``), plus each account's rate book
under ``RATES_KEY + account``; both live on the usage changelog, so a restart
resumes the hour-of-week normals and open incidents where they were. Every
incident event goes to ``anomalies`` (what people see) and to the compacted
``usage-incidents`` topic (what the cost loop links the CUR's confirmation to).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from services.anomaly.exceptions import BadRecordError
from services.anomaly.loop import Output, StatefulAgent
from services.anomaly.topics import (
    ANOMALIES_OUTPUT,
    RATES_TOPIC,
    USAGE_INCIDENTS_TOPIC,
    USAGE_INPUT,
)
from services.anomaly.usage.detector import Signal, UsageDetectorConfig
from services.anomaly.usage.events import UsageStreamRef, usage_event
from services.anomaly.usage.rates import Rate, UnitRateBook
from services.anomaly.usage.resource_state import UsageGroupState
from shared.changelog import ChangelogStore
from shared.codec import decode
from shared.events import AccountUnitRates, Event, Feedback, MetricDatapoint
from shared.usage_metrics import UsageMetric, usage_metric

RATES_KEY = "~rates/"  # resource ids never start with "~"
#: Usage incidents take the even revisions; the cost loop re-issues the CUR's
#: confirmation under the same incident id at odd ones (``links.py``), so the two
#: writers of one incident never publish the same revision.
REVISION_STEP = 2
INPUT_VALUES = (*USAGE_INPUT.values, *RATES_TOPIC.values)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _spec(point: MetricDatapoint) -> UsageMetric:
    spec = usage_metric(point.namespace, point.metric)
    if spec is None:
        raise BadRecordError(f"{point.namespace}/{point.metric} is not a declared usage metric")
    return spec


class UsageAgent(StatefulAgent[UsageGroupState | UnitRateBook]):
    """Per resource and usage type: judge each period, price it, publish the incident."""

    source = USAGE_INPUT
    also = (RATES_TOPIC,)

    def __init__(
        self, table: ChangelogStore[UsageGroupState | UnitRateBook], config: UsageDetectorConfig
    ) -> None:
        self.table = table
        self.config = config
        self._feedback: list[Feedback] = []

    def decode(self, record: ConsumerRecord[bytes, bytes]) -> Event:
        """Datapoints and rate books both."""
        return decode(record.value, record.headers, INPUT_VALUES)

    def state_key(self, event: Event) -> str:
        """``account|resource|usage type`` for a datapoint; the rate book per account."""
        if isinstance(event, AccountUnitRates):
            return RATES_KEY + event.account_id
        if not isinstance(event, MetricDatapoint):
            raise BadRecordError(f"{type(event).__name__} is not a usage datapoint")
        spec = _spec(event)
        return "|".join((event.account_id, event.resource_id, spec.usage_types[0]))

    def new_state(self, key: str, event: Event) -> UsageGroupState | UnitRateBook:
        """A fresh rate book or resource group."""
        if isinstance(event, AccountUnitRates):
            return UnitRateBook()
        assert isinstance(event, MetricDatapoint)
        spec = _spec(event)
        return UsageGroupState(
            event.account_id, event.region, event.resource_id, spec.usage_types[0]
        )

    def apply(self, state: UsageGroupState | UnitRateBook, event: Event) -> list[Output]:
        """Replace a rate book, or judge one usage datapoint and publish its lifecycle."""
        if isinstance(event, AccountUnitRates):
            assert isinstance(state, UnitRateBook)
            state.sums = {}
            for r in event.rates:
                state.learn(event.account_id, r.usage_type, r.region, r.cost_usd, r.usage_amount)
            return []
        assert isinstance(state, UsageGroupState)
        assert isinstance(event, MetricDatapoint)
        spec = _spec(event)
        if spec.cumulative_usd:
            return []  # EstimatedCharges is dollars already: not priced per period here
        if event.period_s != 300:
            raise BadRecordError(f"usage metrics are judged per 5 minutes, not {event.period_s}s")
        book = self.table.get(RATES_KEY + event.account_id)
        if not isinstance(book, UnitRateBook):
            book = UnitRateBook()  # no CUR seen yet: catalogue prices, labelled so
        rate = book.rate(event.account_id, state.usage_type, event.region)
        step = int((event.timestamp - EPOCH).total_seconds()) // 300
        usage = spec.usage(event.value, event.period_s)
        signals = state.observe(spec.key, step, usage, rate.usd_per_unit, self.config)
        return [o for signal in signals for o in self._publish(state, signal, rate, spec)]

    def _publish(
        self, state: UsageGroupState, signal: Signal, rate: Rate, spec: UsageMetric | None = None
    ) -> list[Output]:
        """One signal as events: to people (not ``progress``) and to the cost loop."""
        namespace, _, metric = state.lead.rpartition("/")
        lead = usage_metric(namespace, metric) or spec
        if lead is None:
            return []
        ref = UsageStreamRef(
            lead, state.account_id, state.region, state.resource_id, state.usage_type
        )
        outputs: list[Output] = []
        if signal.action == "progress":  # the cost loop's view only, same revision
            update = replace(signal, action="update")
            anomaly = usage_event(ref, update, rate, max(state.revision - 2, 0), self.now)
        else:
            anomaly = usage_event(ref, signal, rate, state.revision, self.now)
            state.revision += REVISION_STEP
            outputs.append((ANOMALIES_OUTPUT, anomaly, anomaly.series_id, None))
        if signal.action == "open":
            state.incident_id = anomaly.incident_id
        outputs.append((USAGE_INCIDENTS_TOPIC, anomaly, anomaly.incident_id, anomaly.account_id))
        return outputs

    def offer(self, feedback: Feedback) -> None:
        """Queue a verdict; it is applied on this agent's loop."""
        if feedback.incident_id and feedback.verdict in ("false_positive", "expected"):
            self._feedback.append(feedback)

    def pending(self) -> list[Output]:
        """Resolve the usage incidents queued verdicts name, in the partitions owned here."""
        queued, self._feedback = self._feedback, []
        outputs: list[Output] = []
        for feedback in queued:
            for partition, key, state in list(self.table.items()):
                if not isinstance(state, UsageGroupState):
                    continue
                if state.incident_id != feedback.incident_id:
                    continue
                signal = state.close()
                if signal is None:
                    continue
                book = self.table.get(RATES_KEY + state.account_id)
                book = book if isinstance(book, UnitRateBook) else UnitRateBook()
                rate = book.rate(state.account_id, state.usage_type, state.region)
                outputs += self._publish(state, signal, rate)
                self.table.put(key, partition, state)
        return outputs
