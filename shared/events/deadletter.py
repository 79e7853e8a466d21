"""A record a consumer or the ingestor could not accept, with the reason."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from shared.events.base import Event, Int32, Int64

# NUL is what PostgreSQL text and jsonb refuse; shown as U+FFFD, the letter can be stored.
_NUL, _SHOWN = "\x00", "\ufffd"


class DeadLetter(Event):
    """Everything an operator needs to find, understand and replay a rejected record."""

    event_type = "spendstream.dead-letter"

    source_topic: str | None = Field(None, description="None when the input was a file row.")
    partition: Int32 | None = None
    offset: Int64 | None = None
    key: str | None = None
    value: str = Field(description="Raw value (UTF-8 with replacement, truncated).")
    headers: dict[str, str] = Field(default_factory=dict)
    source_file: str | None = None
    source_row: Int64 | None = None
    reason: str
    error_type: str
    service: str
    failed_at: datetime

    @field_validator("key", "value", "reason", "source_topic", "source_file", "error_type")
    @classmethod
    def _storable(cls, text: str | None) -> str | None:
        """A dead letter shows hostile bytes; it must never be rejected where it is stored."""
        return text.replace(_NUL, _SHOWN) if text else text

    @field_validator("headers")
    @classmethod
    def _storable_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return {k.replace(_NUL, _SHOWN): v.replace(_NUL, _SHOWN) for k, v in headers.items()}
