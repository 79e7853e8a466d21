"""The delivery loop: fan new alerts out to subscriptions, then send what is due.

The schedule lives in the ``deliveries`` table (attempts, next_attempt_at), so
retries survive restarts and several replicas share the work (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from services.gateway.alerts.backoff import gives_up, next_delay
from services.gateway.delivery.channels import Outcome, SnsSender, WebhookSender
from services.gateway.delivery.sns_topics import topic_allowed
from services.gateway.repositories import alerts as repo
from services.gateway.secretbox import SecretBox, SecretKeyError
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
        box: SecretBox,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._webhooks = webhooks
        self._sns = sns
        self._rng = rng or random.Random()
        self._box = box
        # Sends in progress, each with its tenant (for the per-tenant share).
        self._in_flight: dict[asyncio.Task[None], str] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Loop; each pass that finds nothing waits one poll interval.

        Sends run as their own tasks: a pass claims what free slots allow and
        moves on, so a slow receiver holds only its own slot (and its tenant's
        share), never the next pass.
        """
        try:
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
        finally:
            # Each send is bounded by the webhook deadline; let them record their outcome.
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def run_once(self) -> bool:
        """One fan-out pass and one claim pass; True when there was work."""
        free = self._settings.gateway_delivery_batch - len(self._in_flight)
        async with self._pool.acquire() as conn:
            fanned = await repo.fan_out(conn, FANOUT_BATCH)
            due = []
            if free > 0:
                due = await repo.claim_due(
                    conn,
                    free,
                    self._settings.gateway_delivery_lease_s,
                    self._settings.gateway_delivery_per_tenant,
                    dict(Counter(self._in_flight.values())),
                )
        for row in due:
            task = asyncio.create_task(self._deliver_logged(row))
            self._in_flight[task] = row["tenant_id"]
            task.add_done_callback(self._in_flight.pop)
        return bool(fanned or due)

    async def _deliver_logged(self, row: asyncpg.Record) -> None:
        try:
            await self._deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the lease brings it back; the loop must live on
            log.warning("delivery failed; retried after its lease", error=repr(exc))

    def _secrets_of(self, row: asyncpg.Record) -> list[str]:
        """The current secret, then the previous one while its rotation window is open."""
        sealed = [row["secret"], row["previous_secret"]]
        return [self._box.open(s) for s in sealed if s is not None]

    async def _deliver(self, row: asyncpg.Record) -> None:
        alert = repo.to_alert(row)
        secrets = None
        if row["channel"] == "webhook":
            try:
                secrets = self._secrets_of(row)
            except SecretKeyError:
                # Sealed under a key no longer configured: retrying cannot help, so it
                # is an attempt that failed (backoff, then given up), not a lost lease.
                log.error("webhook secret unreadable", delivery_id=row["delivery_id"])
        if row["channel"] == "webhook" and secrets is None:
            outcome = Outcome(False, 0.0, error="secret_unreadable")
        elif row["channel"] == "webhook":
            outcome = await self._webhooks.send(
                row["url"], secrets, alert, row["seq"], row["body_format"]
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
