"""A compact, versioned binary form of ``InstanceState`` for the changelog topic.

Fixed-width little-endian fields and raw ``uint32`` bin arrays (read back
as 16-bit where the count allows, as the live state keeps them): a 14-day
state with CPU, memory and network is typically 3-6 KB, an order of magnitude
below pickle of the same objects, and decoding needs no code from the writer.

>>> import numpy as np
>>> s = InstanceState("i-1", instance_type="m5.large")
>>> _ = s.add("CPUUtilization", "Maximum", np.array([0, 300]), np.array([5.0, 7.0]))
>>> decode_state(encode_state(s)).window(14).cpu.count
2
"""

from __future__ import annotations

import struct

import numpy as np
import orjson

from services.rightsizing.billed_rate import BilledRate
from services.rightsizing.exceptions import StateDecodeError
from services.rightsizing.savings import implementation_from, memo_from
from services.rightsizing.sketches.compact import CompactSketch, bin_counts
from services.rightsizing.sketches.day import HOURS_PER_DAY, DayRecord
from services.rightsizing.sketches.state import InstanceState

MAGIC = b"RS"
VERSION = 1
_HEADER = struct.Struct("<2sBI")  # magic, version, metadata length
_DAY = struct.Struct("<iBBdd")  # day, has memory, has network, network bytes, cpu seconds
_SKETCH = struct.Struct("<iIIIdd")  # offset, bins, zeros, count, total, peak
_HOURLY_BYTES = 3 * HOURS_PER_DAY * 4
_META_FIELDS = (
    "resource_id",
    "account_id",
    "region",
    "instance_type",
    "architecture",
    "platform",
    "tenancy",
    "running",
    "deleted",
    "cpu_stat",
    "mem_stat",
    "changed",
    "last_finding",
    "last_digest",
    "rightsized",
    "recommended_types",
    "rate",
    "memo",
    "implementation",
)


def _put_sketch(out: list[bytes], sketch: CompactSketch) -> None:
    out.append(
        _SKETCH.pack(
            sketch.offset, sketch.bins.size, sketch.zeros, sketch.count, sketch.total, sketch.peak
        )
    )
    out.append(sketch.bins.astype("<u4").tobytes())


def _get_sketch(buf: memoryview, pos: int) -> tuple[CompactSketch, int]:
    offset, nbins, zeros, count, total, peak = _SKETCH.unpack_from(buf, pos)
    pos += _SKETCH.size
    sketch = CompactSketch()
    sketch.offset, sketch.zeros, sketch.count, sketch.total, sketch.peak = (
        offset,
        zeros,
        count,
        total,
        peak,
    )
    sketch.bins = bin_counts(np.frombuffer(buf, dtype="<u4", count=nbins, offset=pos), count)
    return sketch, pos + 4 * nbins


def encode_state(state: InstanceState) -> bytes:
    """Serialise one instance's state."""
    meta = orjson.dumps({name: getattr(state, name) for name in _META_FIELDS})
    out = [_HEADER.pack(MAGIC, VERSION, len(meta)), meta, struct.pack("<H", len(state.days))]
    for day, record in sorted(state.days.items()):
        out.append(
            _DAY.pack(
                day,
                record.mem is not None,
                record.net_bytes is not None,
                record.net_bytes or 0.0,
                record.cpu_seconds,
            )
        )
        out.append(record.hourly.astype("<f4").tobytes())
        _put_sketch(out, record.cpu)
        if record.mem is not None:
            _put_sketch(out, record.mem)
    return b"".join(out)


def decode_state(data: bytes) -> InstanceState:
    """Rebuild state from ``encode_state`` output, or raise ``StateDecodeError``."""
    try:
        buf = memoryview(data)
        magic, version, meta_len = _HEADER.unpack_from(buf, 0)
        if magic != MAGIC or version != VERSION:
            raise StateDecodeError(
                f"changelog record has magic {magic!r} version {version}; expected "
                f"{MAGIC!r} v{VERSION}: was it written by a newer service? Upgrade this one."
            )
        pos = _HEADER.size
        meta = orjson.loads(bytes(buf[pos : pos + meta_len]))
        if meta.get("rate") is not None:
            meta["rate"] = BilledRate(**meta["rate"])
        if meta.get("memo") is not None:
            meta["memo"] = memo_from(meta["memo"])
        if meta.get("implementation") is not None:
            meta["implementation"] = implementation_from(meta["implementation"])
        state = InstanceState(**meta)
        pos += meta_len
        (ndays,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        for _ in range(ndays):
            day, has_mem, has_net, net, seconds = _DAY.unpack_from(buf, pos)
            pos += _DAY.size
            record = DayRecord()
            record.net_bytes = net if has_net else None
            record.cpu_seconds = seconds
            hourly = np.frombuffer(buf, dtype="<f4", count=3 * HOURS_PER_DAY, offset=pos)
            record.hourly = hourly.reshape(3, HOURS_PER_DAY).astype(np.float32)
            pos += _HOURLY_BYTES
            record.cpu, pos = _get_sketch(buf, pos)
            if has_mem:
                record.mem, pos = _get_sketch(buf, pos)
            state.days[day] = record
        return state
    except (struct.error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise StateDecodeError(
            f"changelog record is corrupt ({exc}); delete the key to rebuild from new data"
        ) from exc
