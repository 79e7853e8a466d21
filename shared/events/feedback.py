"""A person's verdict on an anomaly, or a planned-activity window declared ahead."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.events.base import Event

Verdict = Literal["false_positive", "expected", "true_positive", "planned"]


class Feedback(Event):
    """Feedback for one series (topic key).

    ``planned`` declares a window ahead of time (``window_start``/``window_end``)
    during which deviations on the series are expected.
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
