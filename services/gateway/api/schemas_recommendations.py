"""Recommendations as served: the published event plus what the tenant decided about it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from services.gateway.api.params import Timestamp
from services.gateway.api.schemas_manage import NOTE_MAX, _In
from services.gateway.recommendation_state import DismissReason, State
from shared.events import Recommendation

# A snooze is "not now", not "never": a longer one is a dismissal.
SNOOZE_MAX = timedelta(days=366)


def _string_only(value: object) -> object:
    """JSON has no datetime: take its RFC 3339 string, never a number read as unix time."""
    if value is not None and not isinstance(value, str):
        raise ValueError("expected an RFC 3339 date-time string, e.g. 2025-03-01T00:00:00Z")
    return value


#: A timestamp field in a strict body: strictness off for it alone, strings only.
BodyTimestamp = Annotated[Timestamp, Field(strict=False), BeforeValidator(_string_only)]


class RecommendationStateIn(_In):
    """Accept, dismiss (with a reason), snooze (until a UTC time) or reopen a recommendation."""

    state: State
    reason: DismissReason | None = Field(None, description="Required with state 'dismissed'.")
    note: str | None = Field(None, max_length=NOTE_MAX, description="Free text for people.")
    snoozed_until: BodyTimestamp | None = Field(
        None, description="Required with state 'snoozed': a future time, at most 366 days ahead."
    )

    @model_validator(mode="after")
    def _state_fields(self) -> RecommendationStateIn:
        if self.state == "dismissed" and self.reason is None:
            raise ValueError("state 'dismissed' needs a reason")
        if self.state != "dismissed" and self.reason is not None:
            raise ValueError(f"state {self.state!r} takes no reason; reasons are for dismissals")
        if self.state == "snoozed":
            if self.snoozed_until is None:
                raise ValueError("state 'snoozed' needs snoozed_until")
            now = datetime.now(UTC)
            if self.snoozed_until <= now:
                raise ValueError("snoozed_until must be in the future")
            if self.snoozed_until > now + SNOOZE_MAX:
                raise ValueError("snoozed_until must be at most 366 days ahead; dismiss instead")
        elif self.snoozed_until is not None:
            raise ValueError(f"state {self.state!r} takes no snoozed_until")
        return self


class RecommendationStateOut(BaseModel):
    """The tenant's decision as it applies now (``open`` when none, lapsed or snooze over)."""

    state: State
    reason: DismissReason | None = None
    note: str | None = None
    snoozed_until: datetime | None = None
    updated_at: datetime | None = Field(None, description="When a person last set it.")
    lapsed_at: datetime | None = Field(
        None, description="When a materially changed re-publication reopened it."
    )
    lapse_reason: str | None = None


class RecommendationOut(Recommendation):
    """The current recommendation for one instance and the tenant's decision on it."""

    state: RecommendationStateOut
