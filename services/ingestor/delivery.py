"""Ingest one CUR delivery as one attempt: started markers, line items, completed markers.

Per account (the topic key, so markers share the partition with the account's
items and follow them): ``DeliveryStarted`` before the account's first item of
the attempt, then the items, then - only once *every* record of the attempt is
acked - ``DeliveryCompleted`` with that account's row count, rejected count and
cost total. A crash anywhere before that leaves an attempt without completed
markers, which consumers ignore; the next run starts a fresh attempt.

Rejected rows and refused files go to ``CUR_LINE_ITEMS.dlq`` with file, row and
reason. A refused file counts as one rejection on the payer account's marker
(the payer owns the delivery), so a partial delivery is visible downstream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from services.ingestor.batching import HeaderFactory, TopicBatcher
from services.ingestor.cur import columns
from services.ingestor.cur.encode import BatchEncoder, EncodedBatch
from services.ingestor.cur.formats import detect
from services.ingestor.cur.manifest import Delivery
from services.ingestor.cur.normalise import BatchNormaliser, FileContext
from services.ingestor.cur.readers import OpenedFile, open_data_file
from services.ingestor.exceptions import FileRefused
from services.ingestor.sources import CurSource
from shared.events import (
    CostLineItem,
    DeadLetter,
    DeliveryCompleted,
    DeliveryStarted,
    stable_id,
    utcnow,
)
from shared.events.cur import SourceFormat
from shared.kafka import DLQ_MAX_VALUE_CHARS, EventProducer, partition_for
from shared.logging import get_logger
from shared.topics import CUR_LINE_ITEMS

log = get_logger(__name__)

# Await dead-letter acks every 1k letters: a file of bad rows cannot pile up
# unbounded futures, and ordinary deliveries (few rejects) never wait on it.
DLQ_ACK_WINDOW = 1_000
# Account used for markers when a delivery yields no attributable row at all.
UNKNOWN_ACCOUNT = "unknown"


@dataclass
class AccountTally:
    """What one account contributed to an attempt."""

    rows: int = 0
    rejected: int = 0
    cost: Decimal = field(default_factory=Decimal)
    payer: str | None = None


@dataclass
class AttemptReport:
    """Outcome of one attempt, also written to the delivered set."""

    delivery_key: str
    attempt_id: str
    accounts: dict[str, AccountTally] = field(default_factory=dict)
    refused_files: dict[str, str] = field(default_factory=dict)
    #: The line-items partitions this attempt covered (None: the whole delivery).
    shares: frozenset[int] | None = None

    @property
    def rows(self) -> int:
        """Accepted rows over every account."""
        return sum(t.rows for t in self.accounts.values())

    @property
    def rejected(self) -> int:
        """Rejected rows and refused files over every account."""
        return sum(t.rejected for t in self.accounts.values())

    @property
    def cost_total(self) -> Decimal:
        """Exact sum of accepted unblended cost."""
        return sum((t.cost for t in self.accounts.values()), Decimal())

    def record(self) -> dict[str, Any]:
        """The delivered-set entry."""
        return {
            "attempt_id": self.attempt_id,
            "rows": self.rows,
            "rejected": self.rejected,
            "cost_total": str(self.cost_total),
            "refused_files": self.refused_files,
            "completed_at": utcnow().isoformat(),
        }


def encoded_batches(
    encoder: BatchEncoder, opened: OpenedFile, shares: frozenset[int] | None
) -> Iterator[EncodedBatch]:
    """The file's batches encoded, rows numbered from 1; only the ``shares``' rows if given."""
    first = 1
    account_column = encoder.normaliser.columns["account_id"]
    for batch in opened.batches:
        if shares is None:
            yield encoder.encode(batch, first)
        else:
            mask = share_mask(batch.column(account_column), shares)
            numbers = np.flatnonzero(mask.to_numpy(zero_copy_only=False)) + first
            yield encoder.encode(batch.filter(mask), first, numbers)
        first += batch.num_rows


def share_mask(accounts: pa.Array, shares: frozenset[int]) -> pa.Array:
    """Rows whose account (``unknown`` when empty) lands on a line-items partition in ``shares``."""
    encoded = pc.dictionary_encode(columns.clean_text(accounts))
    owned = [
        partition_for(a or UNKNOWN_ACCOUNT, CUR_LINE_ITEMS.partitions) in shares
        for a in encoded.dictionary.to_pylist()
    ]
    unknown_owned = partition_for(UNKNOWN_ACCOUNT, CUR_LINE_ITEMS.partitions) in shares
    taken = pc.take(pa.array(owned, pa.bool_()), encoded.indices)
    return pc.fill_null(taken, unknown_owned)


class DeliveryIngestor:
    """Sends one delivery through an :class:`EventProducer` as one attempt."""

    def __init__(self, producer: EventProducer, source: CurSource, service: str) -> None:
        self.producer = producer
        self.source = source
        self.service = service

    async def ingest(
        self,
        delivery: Delivery,
        shares: frozenset[int] | None = None,
        owns: Callable[[frozenset[int]], bool] | None = None,
    ) -> AttemptReport | None:
        """Run one attempt over every file of ``delivery``; return what it sent.

        With ``shares`` only the rows of accounts on those line-items partitions
        are sent (other replicas send the rest). None when ``owns`` says the shares
        moved to another replica before the completed markers: the attempt is left
        unfinished, and the new owner ingests them as its own attempt.
        """
        attempt = _Attempt(self, delivery, uuid.uuid4().hex, shares)
        for key in delivery.files:
            await attempt.ingest_file(key)
        if shares is not None and owns is not None and not owns(shares):
            log.warning("shares moved mid-delivery; attempt left unfinished", shares=sorted(shares))
            return None
        await attempt.finish()
        return attempt.report


class _Attempt:
    def __init__(
        self,
        owner: DeliveryIngestor,
        delivery: Delivery,
        attempt_id: str,
        shares: frozenset[int] | None,
    ) -> None:
        self.producer = owner.producer
        self.source = owner.source
        self.service = owner.service
        self.delivery = delivery
        self.shares = shares
        self.report = AttemptReport(delivery.key, attempt_id, shares=shares)
        self.items = TopicBatcher(owner.producer, CUR_LINE_ITEMS)
        self.headers = HeaderFactory(CostLineItem.ce_type(), owner.service)
        self.dead_letters: list[Awaitable[Any]] = []
        self.format: SourceFormat = "legacy_cur"
        # Payer accounts (or None) owed one rejection each for a refused file.
        self.refusals: list[str | None] = []

    async def _tally(self, account: str) -> AccountTally:
        tally = self.report.accounts.get(account)
        if tally is None:
            tally = self.report.accounts[account] = AccountTally()
            started = DeliveryStarted(
                id=stable_id(self.report.attempt_id, "started", account),
                attempt_id=self.report.attempt_id,
                delivery_id=self.delivery.delivery_id,
                billing_period=self.delivery.billing_period,
                account_id=account,
                source_format=self.format,
                source_uri=f"{self.source.uri.rstrip('/')}/{self.delivery.manifest_key}",
                manifest_id=self.delivery.manifest_id,
                started_at=utcnow(),
            )
            await self.items.append_event(started, key=account)
        return tally

    async def _dead_letter(self, file_key: str, row: int | None, reason: str, raw: Any) -> None:
        letter = DeadLetter(
            id=stable_id(self.delivery.key, file_key, row),
            value=orjson.dumps(raw, default=str).decode()[:DLQ_MAX_VALUE_CHARS],
            source_file=file_key,
            source_row=row,
            reason=reason,
            error_type="FileRefused" if row is None else "RowRejected",
            service=self.service,
            failed_at=utcnow(),
        )
        self.dead_letters.append(await self.producer.send(CUR_LINE_ITEMS.dlq, letter, key=file_key))
        if len(self.dead_letters) >= DLQ_ACK_WINDOW:
            pending, self.dead_letters = self.dead_letters, []
            await asyncio.gather(*pending)

    async def ingest_file(self, key: str) -> None:
        """Stream one data file; a refused file is dead-lettered and skipped."""
        rows_before = self._seen()
        try:
            await self._stream(key)
        except FileRefused as exc:
            log.error("file refused", file=key, reason=str(exc), delivery=self.delivery.key)
            self.report.refused_files[key] = str(exc)
            payers = [t.payer for t in self.report.accounts.values() if t.payer]
            payer = max(set(payers), key=payers.count) if payers else None
            # Shared: the share of the payer (or of "unknown") reports it, once.
            if self._in_shares(payer or UNKNOWN_ACCOUNT):
                await self._dead_letter(key, None, str(exc), {"file": key})
                self.refusals.append(payer)
        else:
            log.info("file ingested", file=key, rows=self._seen() - rows_before)

    def _in_shares(self, account: str) -> bool:
        return (
            self.shares is None or partition_for(account, CUR_LINE_ITEMS.partitions) in self.shares
        )

    def _seen(self) -> int:
        return sum(t.rows + t.rejected for t in self.report.accounts.values())

    async def _stream(self, key: str) -> None:
        with self.source.fetch(key) as path:
            opened = open_data_file(path)
            spec = detect(opened.header)
            self.format = spec.name
            context = FileContext(
                attempt_id=self.report.attempt_id,
                delivery_id=self.delivery.delivery_id,
                delivery_key=self.delivery.key,
                billing_period=self.delivery.billing_period,
                source_file=key,
            )
            encoder = BatchEncoder(BatchNormaliser(spec, opened.header, context))
            encoded = encoded_batches(encoder, opened, self.shares)
            # Read + encode the next batch in a thread while this one is appended and
            # sent: Arrow's kernels release the GIL, so the broker is never left idle.
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, encoded, None))
            try:
                while (batch := await upcoming) is not None:
                    upcoming = asyncio.ensure_future(asyncio.to_thread(next, encoded, None))
                    await self._send_batch(batch, key)
            finally:
                await asyncio.wait([upcoming])  # the thread lets go of the file before removal

    async def _send_batch(self, batch: EncodedBatch, key: str) -> None:
        for out in batch.rejected:
            tally = await self._tally(out.account_id or UNKNOWN_ACCOUNT)
            tally.rejected += 1
            await self._dead_letter(key, out.source_row, out.reason, out.raw)
        for account, rows in batch.per_account.items():  # started markers before the items
            tally = self.report.accounts.get(account) or await self._tally(account)
            if tally.rows == 0:
                tally.payer = rows.payer
            tally.rows += rows.rows
            tally.cost += rows.cost
        self.headers.tick()
        headers, try_append = self.headers, self.items.try_append
        for account, value, event_id in zip(batch.accounts, batch.values, batch.ids, strict=True):
            head = headers(event_id)
            if not try_append(account, value, head):
                await self.items.append(account, value, head)
        await asyncio.sleep(0)  # let the producer's sender run between batches

    async def finish(self) -> None:
        """Attribute refused files, await every ack, then send and ack completed markers."""
        for payer in self.refusals:
            first = next(iter(self.report.accounts), UNKNOWN_ACCOUNT)
            owner = payer or (first if self.shares is None else UNKNOWN_ACCOUNT)
            (await self._tally(owner)).rejected += 1
        await self.items.flush()
        await asyncio.gather(*self.dead_letters)
        for account, tally in self.report.accounts.items():
            completed = DeliveryCompleted(
                id=stable_id(self.report.attempt_id, "completed", account),
                attempt_id=self.report.attempt_id,
                delivery_id=self.delivery.delivery_id,
                billing_period=self.delivery.billing_period,
                account_id=account,
                row_count=tally.rows,
                rejected_count=tally.rejected,
                cost_total=float(tally.cost),
                completed_at=utcnow(),
            )
            await self.items.append_event(completed, key=account)
        await self.items.flush()
