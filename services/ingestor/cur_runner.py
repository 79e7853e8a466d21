"""One CUR pass: list deliveries, skip those already delivered, ingest the rest.

Only the newest manifest of each (report, billing period) is considered, oldest
period first; a delivery enters the delivered set only after its completed
markers are acked, so a crash means the next pass ingests it again as a new
attempt, which supersedes the unfinished one downstream.

Shared mode (several replicas): the same pass over the shares this replica owns
(``cur_shares``), the delivered set per share kept in Kafka instead of the file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from services.ingestor.cur.manifest import Delivery, latest_per_period
from services.ingestor.cur_shares import ShareBook
from services.ingestor.delivery import AttemptReport, DeliveryIngestor
from services.ingestor.sources import CurSource, LocalSource, S3Source
from services.ingestor.state import StateStore
from shared.kafka import EventProducer
from shared.logging import get_logger

log = get_logger(__name__)


def make_source(uri: str, s3_client: Any | None = None) -> CurSource:
    """A LocalSource for a path, an S3Source for ``s3://bucket/prefix``."""
    if uri.startswith("s3://"):
        bucket, prefix = S3Source.parse_uri(uri)
        if s3_client is None:
            raise ValueError("an s3:// source needs an S3 client")
        return S3Source(s3_client, bucket, prefix)
    return LocalSource(Path(uri))


class CurRunner:
    """Ingests every new delivery of one source."""

    def __init__(
        self,
        source: CurSource,
        producer: EventProducer,
        state: StateStore,
        shares: ShareBook | None = None,
    ) -> None:
        self.source = source
        self.producer = producer
        self.state = state
        self.shares = shares
        self.ingestor = DeliveryIngestor(producer, source, producer.settings.service_name)

    async def run_once(
        self, force: bool = False, stop: asyncio.Event | None = None
    ) -> list[AttemptReport]:
        """Ingest each delivery not yet in the delivered set (all of them with ``force``).

        Once ``stop`` is set no further delivery starts: a pass over many large
        deliveries would outlast the pod's grace period, and the delivery in
        progress is finished and marked, so the next run resumes with the rest.
        """
        deliveries = await asyncio.to_thread(self.source.deliveries)
        reports: list[AttemptReport] = []
        for delivery in latest_per_period(deliveries):
            if stop is not None and stop.is_set():
                log.info("stopping between deliveries", ingested=len(reports))
                break
            if self.shares is not None:
                shared = await self._ingest_shares(self.shares, delivery, force)
                reports += [shared] if shared is not None else []
                continue
            if not force and self.state.is_delivered(delivery.key):
                log.debug("delivery already ingested", manifest=delivery.manifest_key)
                continue
            log.info(
                "delivery started",
                manifest=delivery.manifest_key,
                billing_period=delivery.billing_period.isoformat(),
                files=len(delivery.files),
            )
            report = await self.ingestor.ingest(delivery)
            assert report is not None  # only a shared attempt can be left unfinished
            self.state.mark_delivered(
                delivery.key,
                {
                    **report.record(),
                    "delivery_id": delivery.delivery_id,
                    "manifest": delivery.manifest_key,
                    "manifest_id": delivery.manifest_id,
                    "billing_period": delivery.billing_period.isoformat(),
                },
            )
            log.info(
                "delivery completed",
                manifest=delivery.manifest_key,
                attempt_id=report.attempt_id,
                rows=report.rows,
                rejected=report.rejected,
                cost_total=str(report.cost_total),
            )
            reports.append(report)
        return reports

    async def _ingest_shares(
        self, shares: ShareBook, delivery: Delivery, force: bool
    ) -> AttemptReport | None:
        """Ingest the owned shares of ``delivery`` not yet done, then record them done."""
        done = await shares.refresh()
        todo = frozenset(p for p, keys in done.items() if force or delivery.key not in keys)
        if not todo:
            return None
        log.info("delivery shares started", manifest=delivery.manifest_key, shares=sorted(todo))
        report = await self.ingestor.ingest(delivery, todo, shares.owns)
        if report is not None:
            await shares.mark_done(delivery.key, report)
            log.info("delivery shares completed", attempt_id=report.attempt_id, rows=report.rows)
        return report
