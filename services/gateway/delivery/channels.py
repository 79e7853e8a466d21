"""The two push channels: signed HTTP webhooks (httpx) and Amazon SNS (boto3).

Each send returns an outcome for the delivery log and never raises for a
receiver's failure: failing is the receiver's normal way of saying "later".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from services.gateway.alerts import signing
from services.gateway.alerts.body import BodyFormat, envelope, render
from services.gateway.alerts.model import Alert
from services.gateway.delivery.egress import (
    BlockedDestinationError,
    EgressPolicy,
    Resolver,
    resolve_checked,
    system_resolver,
)

USER_AGENT = "spendstream-gateway/1"
# SNS message attributes let SNS filter policies route by severity and account.
_SNS_SUBJECT_MAX = 100


@dataclass(frozen=True)
class Outcome:
    """One attempt's result."""

    ok: bool
    duration_ms: float
    status_code: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For ``repositories.alerts.record_attempt``."""
        return {
            "ok": self.ok,
            "duration_ms": self.duration_ms,
            "status_code": self.status_code,
            "error": self.error,
        }


class WebhookSender:
    """POSTs signed alert bodies to checked, pinned addresses within a total deadline."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: EgressPolicy,
        deadline_s: float,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._client = client
        self._policy = policy
        self._deadline_s = deadline_s
        self._resolver = resolver

    async def send(
        self, url: str, secrets: Sequence[str], alert: Alert, seq: int, body_format: BodyFormat
    ) -> Outcome:
        """One POST signed with each of ``secrets`` (two during a rotation); 2xx is success.

        The receiver's response body is never read: the log keeps the status code
        or the error class only, so a receiver cannot show a read key what some
        internal service said, nor stall us by trickling a large body.
        """
        body = render(alert, seq, body_format)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.SIGNATURE_HEADER: signing.signature_header(
                secrets, timestamp, alert.event_id, body
            ),
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.EVENT_ID_HEADER: alert.event_id,
        }
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._deadline_s):
                target = await resolve_checked(url, self._policy, self._resolver)
                extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
                async with self._client.stream(
                    "POST",
                    target.url,
                    content=body,
                    headers={**headers, "Host": target.host_header},
                    extensions=extensions,
                ) as response:
                    code = response.status_code
        except BlockedDestinationError:
            return Outcome(False, _ms(started), error="blocked_destination")
        except TimeoutError:
            return Outcome(False, _ms(started), error="deadline_exceeded")
        except httpx.HTTPError as exc:
            return Outcome(False, _ms(started), error=type(exc).__name__)
        if 200 <= code < 300:
            return Outcome(True, _ms(started), status_code=code)
        error = "redirect_not_followed" if 300 <= code < 400 else "receiver_status"
        return Outcome(False, _ms(started), status_code=code, error=error)


class SnsSender:
    """Publishes the JSON envelope to an SNS topic (boto3 runs in a worker thread)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def send(self, topic_arn: str, alert: Alert, seq: int) -> Outcome:
        """One ``Publish``; FIFO topics get the account as group and the event id as dedup id."""
        kwargs: dict[str, Any] = {
            "TopicArn": topic_arn,
            "Message": orjson.dumps(envelope(alert, seq)).decode(),
            "Subject": alert.title[:_SNS_SUBJECT_MAX].replace("\n", " "),
            "MessageAttributes": {
                "severity": {"DataType": "String", "StringValue": alert.severity},
                "account_id": {"DataType": "String", "StringValue": alert.account_id},
                "source": {"DataType": "String", "StringValue": alert.source},
            },
        }
        if topic_arn.endswith(".fifo"):
            kwargs["MessageGroupId"] = alert.account_id
            kwargs["MessageDeduplicationId"] = alert.event_id
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self._client.publish, **kwargs)
        except Exception as exc:  # botocore raises many unrelated types; all mean "retry"
            # The class only: AWS's message names our role and says whether a topic exists.
            return Outcome(False, _ms(started), error=type(exc).__name__)
        return Outcome(True, _ms(started), status_code=200)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
