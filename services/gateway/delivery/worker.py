"""The delivery loop: fan new alerts out to subscriptions, then send what is due.

The schedule lives in the ``deliveries`` table (attempts, next_attempt_at), so
retries survive restarts and several replicas share the work (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from services.gateway.alerts.backoff import gives_up, next_delay
from services.gateway.delivery.channels import Outcome, SnsSender, WebhookSender
from services.gateway.delivery.sns_topics import topic_allowed
from services.gateway.repositories import alerts as repo
from services.gateway.settings import GatewaySettings
from shared.logging import get_logger

log = get_logger(__name__)

# Alerts examined per fan-out transaction: bounds the transaction's size.
FANOUT_BATCH = 500
# Database or code errors in the loop: pause this long rather than spin.
ERROR_PAUSE_S = 1.0


class DeliveryWorker:
    """Fan-out plus sending, until ``stop`` is set."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: GatewaySettings,
        webhooks: WebhookSender,
        sns: SnsSender | None,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._webhooks = webhooks
        self._sns = sns
        self._rng = rng or random.Random()

    async def run(self, stop: asyncio.Event) -> None:
        """Loop; each pass that finds nothing waits one poll interval."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # outages and bugs must not kill the loop
                log.warning("delivery pass failed; pausing", error=repr(exc))
                busy, pause = False, ERROR_PAUSE_S
            else:
                pause = self._settings.gateway_delivery_poll_s
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    async def run_once(self) -> bool:
        """One fan-out and one send pass; True when there was work."""
        async with self._pool.acquire() as conn:
            fanned = await repo.fan_out(conn, FANOUT_BATCH)
            due = await repo.claim_due(
                conn, self._settings.gateway_delivery_batch, self._settings.gateway_delivery_lease_s
            )
        if due:
            await asyncio.gather(*(self._deliver(row) for row in due))
        return bool(fanned or due)

    async def _deliver(self, row: asyncpg.Record) -> None:
        alert = repo.to_alert(row)
        if row["channel"] == "webhook":
            outcome = await self._webhooks.send(
                row["url"], row["secret"], alert, row["seq"], row["body_format"]
            )
        elif not topic_allowed(
            row["sns_topic_arn"],
            row["tenant_accounts"],
            self._settings.gateway_sns_allow_topic_arns,
        ):
            # Checked at save too; this catches an account that left the tenant since.
            outcome = Outcome(False, 0.0, error="blocked_destination")
        elif self._sns is not None:
            outcome = await self._sns.send(row["sns_topic_arn"], alert, row["seq"])
        else:
            outcome = Outcome(False, 0.0, error="SNS is not configured on this gateway")
        attempt = row["attempts"] + 1
        gave_up = not outcome.ok and gives_up(attempt, self._settings.gateway_webhook_max_attempts)
        next_at = None
        if not outcome.ok and not gave_up:
            delay = next_delay(
                attempt,
                self._settings.gateway_webhook_backoff_base_s,
                self._settings.gateway_webhook_backoff_max_s,
                self._rng,
            )
            next_at = datetime.now(UTC) + timedelta(seconds=delay)
        async with self._pool.acquire() as conn:
            await repo.record_attempt(
                conn, row["delivery_id"], attempt, outcome.as_dict(), next_at, gave_up
            )
        log.info(
            "alert delivery attempt",
            delivery_id=row["delivery_id"],
            event_id=alert.event_id,
            channel=row["channel"],
            attempt=attempt,
            ok=outcome.ok,
            status_code=outcome.status_code,
            gave_up=gave_up,
        )
