"""The base every event on the wire derives from.

Events are frozen pydantic models. Each class names its CloudEvents ``type``
and schema version; the codec puts both into Kafka headers so consumers can
route and reject without parsing the body. Ids are deterministic (a hash of
what makes the event unique) so replays and retries are idempotent downstream.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

# 32 hex chars = 128 bits: collision-free for any realistic event volume while
# keeping keys and primary keys short.
_ID_HEX_CHARS = 32
# What storage holds: PostgreSQL integer and bigint, and orjson (64-bit ints only)
# for jsonb payloads. A field bounded here is refused when the record is decoded,
# so it is dead-lettered naming the field instead of failing a database batch.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]


def stable_id(*parts: object) -> str:
    """A deterministic id from the parts that make an event unique.

    >>> stable_id("acct", 1) == stable_id("acct", 1)
    True
    >>> stable_id("a", "bc") == stable_id("ab", "c")
    False
    """
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode())
    return digest.hexdigest()[:_ID_HEX_CHARS]


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp on the wire is UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """A versioned, immutable message body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: CloudEvents ``type``, e.g. ``spendstream.cur.line-item``.
    event_type: ClassVar[str]
    #: Bumped on any incompatible change; travels in the ``ce_type`` header.
    schema_version: ClassVar[int] = 1

    id: str = Field(description="Deterministic event id (idempotency key).")

    @classmethod
    def ce_type(cls) -> str:
        """The header value: type and version, e.g. ``spendstream.anomaly.v1``."""
        return f"{cls.event_type}.v{cls.schema_version}"
