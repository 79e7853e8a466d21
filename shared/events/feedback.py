"""A person's verdict on an anomaly, or a planned-activity window declared ahead."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.base import Event

Verdict = Literal["false_positive", "expected", "true_positive", "planned"]


class Feedback(Event):
    """Feedback for one series.

    ``planned`` declares a window ahead of time (``window_start``/``window_end``,
    data time, half-open) during which deviations on the series are expected;
    ``expected`` may carry one too. ``rule_id`` is the record's key on the
    compacted topic: a later record with the same rule id replaces the earlier
    one (a verdict on an incident is one rule, whatever it says last).
    """

    event_type = "spendstream.feedback"

    series_id: str
    incident_id: str | None = None
    verdict: Verdict
    tenant_id: str | None = None
    author: str | None = None
    note: str | None = Field(None, max_length=2000)
    window_start: datetime | None = None
    window_end: datetime | None = None
    created_at: datetime
    # Optional, so records of older producers still validate (v1); None: the event id.
    rule_id: str | None = Field(None, max_length=128)
