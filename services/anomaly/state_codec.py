"""The classes a changelog state of this service may hold: the codec's allow-list.

Anything not listed here fails loudly when written (a new state class must be
added on purpose) and is refused when read, so a record on a changelog topic
can only ever become one of these, filled with plain data.
"""

from __future__ import annotations

from collections.abc import Iterable

from river.stats import Max, Mean, Min, Var
from river.utils import SortedWindow

from services.anomaly.cost.account_state import AccountState, CostStateConfig
from services.anomaly.cost.accumulator import AccountAccumulator, Completion, PendingAttempt
from services.anomaly.cost.engine import AccountCostEngine, CostEngineConfig
from services.anomaly.cost.hierarchy import SeriesInfo
from services.anomaly.cost.intraday import HourOfWeekProfile, IntradayConfig
from services.anomaly.cost.seasonal import CostDetectorConfig, CostSeriesDetector, CostVerdict
from services.anomaly.cost.tags import TagConfig, TagRegistry
from services.anomaly.fleet.budget import AlertBudget, BudgetConfig
from services.anomaly.fleet.resource_tracker import FleetConfig, ResourceTracker
from services.anomaly.incidents.lifecycle import Incident, Observation, SeriesRef
from services.anomaly.metric.config import MetricDetectorConfig
from services.anomaly.metric.detector import MetricDetector
from services.anomaly.metric.likelihood import AnomalyLikelihood
from services.anomaly.metric.pattern import PatternMemory
from services.anomaly.metric.seasonal import SeasonalExpert
from services.anomaly.metric.tracker import MetricTracker, MetricTrackerConfig
from services.anomaly.plain_stats import EWMean, RollingQuantile, RollingVar
from services.anomaly.usage.state_types import COST_LINK_TYPES, USAGE_STATE_TYPES
from shared.events import RootCause
from shared.state_codec import StateCodec

INCIDENT_TYPES: tuple[type, ...] = (Incident, Observation, SeriesRef, RootCause)
COST_STATE_TYPES: tuple[type, ...] = (
    AccountState,
    CostStateConfig,
    AccountAccumulator,
    PendingAttempt,
    Completion,
    AccountCostEngine,
    CostEngineConfig,
    IntradayConfig,
    TagConfig,
    TagRegistry,
    HourOfWeekProfile,
    SeriesInfo,
    CostSeriesDetector,
    CostDetectorConfig,
    CostVerdict,
    RollingQuantile,
    SortedWindow,
    *INCIDENT_TYPES,
    *COST_LINK_TYPES,
)
METRIC_STATE_TYPES: tuple[type, ...] = (
    MetricTracker,
    MetricTrackerConfig,
    MetricDetector,
    MetricDetectorConfig,
    AnomalyLikelihood,
    PatternMemory,
    SeasonalExpert,
    EWMean,
    Min,
    Max,
    Mean,
    Var,
    RollingVar,
    AlertBudget,
    BudgetConfig,
    ResourceTracker,
    FleetConfig,
    *INCIDENT_TYPES,
)


def cost_state_codec() -> StateCodec:
    """The codec of the cost loop's account states."""
    return StateCodec(COST_STATE_TYPES)


def metric_state_codec(detector: object) -> StateCodec:
    """The codec of the metric loop's stream states, allowing a plug-in detector's classes.

    A detector given by ``SPENDSTREAM_ANOMALY_METRIC_DETECTOR`` declares the
    classes its state holds in a ``state_types`` attribute (its own class is
    always allowed).
    """
    extra: Iterable[type] = getattr(detector, "state_types", ())
    return StateCodec((*METRIC_STATE_TYPES, type(detector), *extra))


def usage_state_codec() -> StateCodec:
    """The codec of the usage loop's resource groups and rate books."""
    return StateCodec(USAGE_STATE_TYPES)
