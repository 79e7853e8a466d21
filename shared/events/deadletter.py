"""A record a consumer or the ingestor could not accept, with the reason."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events.base import Event


class DeadLetter(Event):
    """Everything an operator needs to find, understand and replay a rejected record."""

    event_type = "spendstream.dead-letter"

    source_topic: str | None = Field(None, description="None when the input was a file row.")
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    value: str = Field(description="Raw value (UTF-8 with replacement, truncated).")
    headers: dict[str, str] = Field(default_factory=dict)
    source_file: str | None = None
    source_row: int | None = None
    reason: str
    error_type: str
    service: str
    failed_at: datetime
