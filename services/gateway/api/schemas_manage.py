"""Request and response models for what clients manage: budgets, subscriptions, feedback."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

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


class FeedbackIn(_In):
    """A person's verdict on an anomaly; the anomaly service learns from it."""

    verdict: Verdict
    note: str | None = Field(None, max_length=NOTE_MAX)
    author: str | None = Field(None, max_length=NAME_MAX)


class FeedbackAccepted(BaseModel):
    """Feedback was published to the feedback topic."""

    id: str
    incident_id: str
    verdict: Verdict
