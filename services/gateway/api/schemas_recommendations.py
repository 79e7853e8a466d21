"""Recommendations as served: the published event plus what the tenant decided about it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, model_validator

from services.gateway.api.schemas_manage import NOTE_MAX, BodyTimestamp, _In
from services.gateway.recommendation_state import DismissReason, State
from shared.events import Recommendation

# A snooze is "not now", not "never": a longer one is a dismissal.
SNOOZE_MAX = timedelta(days=366)


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
