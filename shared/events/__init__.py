"""Versioned event models: the only things that travel between services."""

from shared.events.anomalies import AnomalyEvent, RootCause
from shared.events.base import Event, stable_id, utcnow
from shared.events.cloudwatch import Ec2Instance, MetricDatapoint
from shared.events.commitments import CommitmentAlert, CommitmentReport
from shared.events.costs import CostPoint, CostRestated, series_id
from shared.events.cur import CostLineItem, CurShareDone, DeliveryCompleted, DeliveryStarted
from shared.events.deadletter import DeadLetter
from shared.events.feedback import Feedback
from shared.events.forecasts import Budget, BudgetAlert, Forecast
from shared.events.rates import AccountUnitRates, InstanceRate, UsageUnitRate
from shared.events.recommendations import Recommendation
from shared.events.savings import Implementation

ALL_EVENTS: tuple[type[Event], ...] = (
    CostLineItem,
    DeliveryStarted,
    DeliveryCompleted,
    CurShareDone,
    MetricDatapoint,
    Ec2Instance,
    CostPoint,
    CostRestated,
    AnomalyEvent,
    Recommendation,
    InstanceRate,
    AccountUnitRates,
    CommitmentReport,
    CommitmentAlert,
    Implementation,
    Forecast,
    Budget,
    BudgetAlert,
    Feedback,
    DeadLetter,
)

__all__ = [
    "ALL_EVENTS",
    "AccountUnitRates",
    "AnomalyEvent",
    "Budget",
    "BudgetAlert",
    "CommitmentAlert",
    "CommitmentReport",
    "CostLineItem",
    "CostPoint",
    "CostRestated",
    "CurShareDone",
    "DeadLetter",
    "DeliveryCompleted",
    "DeliveryStarted",
    "Ec2Instance",
    "Event",
    "Feedback",
    "Forecast",
    "Implementation",
    "InstanceRate",
    "MetricDatapoint",
    "Recommendation",
    "RootCause",
    "UsageUnitRate",
    "series_id",
    "stable_id",
    "utcnow",
]
