"""Completed billing periods per account, kept on a compacted changelog so lookbacks survive.

AWS stops redelivering a month once it is closed, so a 30- or 60-day lookback
needs earlier months that will not come again: each completed period's hourly
sums are written (key ``account|period``, on the partition of the CUR records
they came from) before the CUR offsets are committed, and read back when the
partition is assigned. The codec is data-only: MessagePack lists of text,
numbers and packed little-endian arrays (hours ``int64``, values ``float64``,
zlib-compressed), validated field by field on decode; a record that does not
decode is skipped, never run.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import msgpack
import numpy as np
from aiokafka import AIOKafkaProducer

from services.rightsizing.commitments.usage import AccountUsage, HeldSums
from shared.changelog import ChangelogStore, ChangelogTopic
from shared.logging import get_logger
from shared.settings import SpendstreamSettings
from shared.state_codec import MAX_DECODED_BYTES, ChangelogDecodeError
from shared.topics import CUR_LINE_ITEMS

log = get_logger(__name__)
CHANGELOG = ChangelogTopic("spendstream.rightsizing.commitment-changelog.v1", CUR_LINE_ITEMS)
VERSION = 1
# Records stay well under the broker's 8 MiB cap; a period this large stays in memory only.
MAX_RECORD_BYTES = 4 * 1024 * 1024
_KINDS = ("savings_plan", "reservation")


def _pack(values: dict[int, float]) -> list[bytes]:
    hours = np.fromiter(values, dtype="<i8", count=len(values))
    amounts = np.fromiter(values.values(), dtype="<f8", count=len(values))
    return [hours.tobytes(), amounts.tobytes()]


def _unpack(part: Any) -> dict[int, float]:
    if not (isinstance(part, list) and len(part) == 2 and all(isinstance(p, bytes) for p in part)):
        raise ChangelogDecodeError("hourly sums are not two packed arrays")
    if len(part[0]) != len(part[1]) or len(part[0]) % 8:
        raise ChangelogDecodeError("hourly sums: hours and values differ in length")
    hours = np.frombuffer(part[0], dtype="<i8")
    amounts = np.frombuffer(part[1], dtype="<f8")
    if not np.isfinite(amounts).all():
        raise ChangelogDecodeError("hourly sums hold a non-finite value")
    return dict(zip(hours.tolist(), amounts.tolist(), strict=True))


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ChangelogDecodeError(f"{what} is not text")
    return value


class UsageCodec:
    """``AccountUsage`` <-> record bytes (data only)."""

    def encode(self, usage: AccountUsage) -> bytes:
        """Version byte, then zlib'd MessagePack."""
        demand = []
        for (region, os, tenancy, itype), cells in sorted(usage.on_demand.items()):
            hours = list(cells)
            demand.append([region, os, tenancy, itype,
                           _pack({h: cells[h][0] for h in hours}),
                           _pack({h: cells[h][1] for h in hours})])  # fmt: skip
        held = [
            [arn, s.kind, _pack(s.fee), _pack(s.used), _pack(s.covered),
             s.end.isoformat() if s.end else None]
            for arn, s in sorted(usage.held.items())
        ]  # fmt: skip
        body = [_pack(usage.eligible), _pack(usage.sp_covered), _pack(usage.ri_covered),
                demand, float(usage.unpriced_os), held]  # fmt: skip
        packed = msgpack.packb(body, use_bin_type=True)
        return bytes((VERSION,)) + zlib.compress(packed, 1)

    def decode(self, data: bytes) -> AccountUsage:
        """The usage ``data`` holds, or ChangelogDecodeError saying why not."""
        if not data or data[0] != VERSION:
            raise ChangelogDecodeError(
                f"unknown commitment state version (this build reads {VERSION})"
            )
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(data[1:], MAX_DECODED_BYTES)
            if inflater.unconsumed_tail:
                raise ChangelogDecodeError("commitment state inflates beyond the limit")
            body = msgpack.unpackb(raw, raw=False, strict_map_key=True)
        except (zlib.error, ValueError, msgpack.UnpackException) as exc:
            raise ChangelogDecodeError(f"corrupt commitment state: {exc}") from exc
        if not (isinstance(body, list) and len(body) == 6):
            raise ChangelogDecodeError("commitment state is not a six-part list")
        eligible, sp, ri, demand, unpriced, held = body
        if not isinstance(unpriced, float | int) or not isinstance(demand, list):
            raise ChangelogDecodeError("commitment state has the wrong shape")
        usage = AccountUsage(_unpack(eligible), _unpack(sp), _unpack(ri), {}, float(unpriced))
        for entry in demand:
            if not (isinstance(entry, list) and len(entry) == 6):
                raise ChangelogDecodeError("an On-Demand entry is not six parts")
            key = tuple(_text(v, "an On-Demand key") for v in entry[:4])
            counts, costs = _unpack(entry[4]), _unpack(entry[5])
            if counts.keys() != costs.keys():
                raise ChangelogDecodeError("On-Demand counts and costs differ in hours")
            usage.on_demand[key] = {h: [counts[h], costs[h]] for h in counts}  # type: ignore[index]
        if not isinstance(held, list):
            raise ChangelogDecodeError("held commitments are not a list")
        for entry in held:
            if not (isinstance(entry, list) and len(entry) == 6) or entry[1] not in _KINDS:
                raise ChangelogDecodeError("a held commitment has the wrong shape")
            end = entry[5]
            try:
                when = datetime.fromisoformat(_text(end, "an end time")) if end else None
            except ValueError as exc:
                raise ChangelogDecodeError(f"bad end time: {exc}") from exc
            usage.held[_text(entry[0], "an arn")] = HeldSums(
                entry[1], _unpack(entry[2]), _unpack(entry[3]), _unpack(entry[4]), when
            )
        return usage


class CommitmentStore(ChangelogStore[AccountUsage]):
    """Completed periods (key ``account|YYYY-MM-DD``) of the CUR partitions this replica owns."""

    def __init__(self, settings: SpendstreamSettings, producer: AIOKafkaProducer) -> None:
        super().__init__(CHANGELOG, settings, producer, UsageCodec())

    def put(self, key: str, partition: int, value: AccountUsage) -> None:
        """Keep ``value``; persist it unless its record would be too large for the broker."""
        size = len(self._codec.encode(value))
        if size > MAX_RECORD_BYTES:
            log.warning("commitment period kept in memory only", key=key, bytes=size)
            self.values[key] = value
            self.partition_of[key] = partition
            return
        super().put(key, partition, value)
