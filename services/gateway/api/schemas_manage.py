"""Request and response models for what clients manage: budgets, subscriptions, feedback."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from services.gateway.alerts.model import ALERT_SOURCES, AlertSource
from services.gateway.api.params import Timestamp
from services.gateway.api.values import storable_text
from shared.events.anomalies import Severity
from shared.events.feedback import Verdict
from shared.events.forecasts import BudgetScope

# Names and notes are for people; these bounds keep rows and logs small.
NAME_MAX = 200
NOTE_MAX = 2000
# A filter list longer than this is better expressed as "all" (empty).
FILTER_LIST_MAX = 200
_ACCOUNT = r"^[0-9]{12}$"
_ACCOUNT_RE = re.compile(_ACCOUNT)
# A planned window longer than a billing month is a new normal, not an event:
# say ``expected`` (the level is accepted) instead of silencing a series for months.
FEEDBACK_WINDOW_MAX = timedelta(days=31)
# Verdicts whose window a client sets; a false positive is anchored on the incident's.
WINDOWED_VERDICTS = ("planned", "expected")
_SNS_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"


class _In(BaseModel):
    # strict: no silent coercion ("0" -> False, "1.5" -> 1.5); clients send real JSON types.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Every string in every body (lists included) must be one PostgreSQL can store."""
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                storable_text(item)
        return value


class BudgetIn(_In):
    """A monthly budget over one account, one account x service, or the whole tenant."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    scope: BudgetScope
    account_id: str | None = Field(None, pattern=_ACCOUNT)
    service: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    amount_usd: float = Field(gt=0, le=1e12)

    @model_validator(mode="after")
    def _scope_fields(self) -> BudgetIn:
        if self.scope == "tenant" and (self.account_id or self.service):
            raise ValueError("scope 'tenant' takes neither account_id nor service")
        if self.scope in ("account", "service") and not self.account_id:
            raise ValueError(f"scope {self.scope!r} needs account_id")
        if self.scope == "service" and not self.service:
            raise ValueError("scope 'service' needs service")
        if self.scope == "account" and self.service:
            raise ValueError("scope 'account' takes no service; use scope 'service'")
        return self


class BudgetOut(BaseModel):
    """A stored budget."""

    id: str
    name: str
    scope: BudgetScope
    account_id: str | None = None
    service: str | None = None
    amount_usd: float
    created_at: datetime
    updated_at: datetime


class SubscriptionIn(_In):
    """Where to push alerts and which ones; empty lists mean "all of mine"."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    channel: Literal["webhook", "sns"]
    url: AnyHttpUrl | None = Field(None, description="Webhook receiver (channel webhook).")
    body_format: Literal["json", "slack"] = "json"
    sns_topic_arn: str | None = Field(None, pattern=_SNS_ARN)
    accounts: list[str] = Field(default_factory=list, max_length=FILTER_LIST_MAX)
    services: list[str] = Field(default_factory=list, max_length=FILTER_LIST_MAX)
    sources: list[AlertSource] = Field(
        default_factory=list,
        max_length=len(ALERT_SOURCES),
        description="Kinds of alert to send; empty (the default) is every kind, "
        "restatements and any kind added later included.",
    )
    min_severity: Severity = "low"
    min_impact_usd: float = Field(0.0, ge=0, le=1e12)
    active: bool = True

    @model_validator(mode="after")
    def _channel_fields(self) -> SubscriptionIn:
        if self.channel == "webhook" and self.url is None:
            raise ValueError("channel 'webhook' needs url")
        if self.channel == "sns" and not self.sns_topic_arn:
            raise ValueError("channel 'sns' needs sns_topic_arn")
        for account in self.accounts:
            if not _ACCOUNT_RE.match(account):  # str.isdigit() would take "\xb2"
                raise ValueError(f"accounts: {account!r} is not a 12-digit AWS account id")
        return self


class SubscriptionOut(BaseModel):
    """A stored subscription (the signing secret is shown only when created)."""

    id: str
    name: str
    channel: Literal["webhook", "sns"]
    url: str | None = None
    body_format: Literal["json", "slack"]
    sns_topic_arn: str | None = None
    accounts: list[str]
    services: list[str]
    sources: list[AlertSource]
    min_severity: Severity
    min_impact_usd: float
    active: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    """The created subscription with its HMAC secret: store it now, it is not shown again."""

    secret: str


class SecretRotated(BaseModel):
    """A new signing secret (shown once) and until when the previous one still signs."""

    id: str
    secret: str
    previous_valid_until: datetime


class DeliveryAttemptOut(BaseModel):
    """One try of one delivery."""

    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: float


class DeliveryOut(BaseModel):
    """The delivery log entry of one alert to one subscription."""

    id: int
    alert_seq: int
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    log: list[DeliveryAttemptOut]


def _text_only(value: object) -> object:
    """A body timestamp is JSON text: a number would otherwise pass as unix seconds."""
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 date-time string with offset")
    return value


# Parsed from JSON text (the strict body model would refuse any string for a datetime).
BodyTimestamp = Annotated[Timestamp, Strict(False), BeforeValidator(_text_only)]


class FeedbackIn(_In):
    """A person's verdict on an anomaly; the anomaly service learns from it.

    ``planned`` needs a window and ``expected`` may take one: data time (the
    time of the cost or metric points, not of the request), half-open
    ``[window_start, window_end)``, at most ``FEEDBACK_WINDOW_MAX`` long.
    """

    verdict: Verdict
    note: str | None = Field(None, max_length=NOTE_MAX)
    author: str | None = Field(None, max_length=NAME_MAX)
    window_start: BodyTimestamp | None = Field(
        None, description="Start of the window in data time (planned, expected)."
    )
    window_end: BodyTimestamp | None = Field(
        None, description="End of the window in data time, exclusive; after window_start."
    )

    @model_validator(mode="after")
    def _window(self) -> FeedbackIn:
        start, end = self.window_start, self.window_end
        if (start is None) != (end is None):
            raise ValueError("window_start and window_end go together")
        if start is None or end is None:
            if self.verdict == "planned":
                raise ValueError("verdict 'planned' needs window_start and window_end")
            return self
        if self.verdict not in WINDOWED_VERDICTS:
            raise ValueError(
                f"verdict {self.verdict!r} takes no window (the incident's own is used); "
                "only planned and expected do"
            )
        if end <= start:
            raise ValueError("window_end must be after window_start")
        if end - start > FEEDBACK_WINDOW_MAX:
            raise ValueError(
                f"the window may last at most {FEEDBACK_WINDOW_MAX.days} days; "
                "for a lasting change say 'expected' without a window"
            )
        return self


class FeedbackAccepted(BaseModel):
    """Feedback was published to the feedback topic (key: ``rule_id``)."""

    id: str
    rule_id: str = Field(description="A later feedback with the same rule id replaces this one.")
    incident_id: str
    verdict: Verdict
    series_id: str
    window_start: datetime | None = None
    window_end: datetime | None = None
