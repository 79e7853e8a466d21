"""JSON (orjson) encoding of events plus CloudEvents binary-mode headers.

The event type and schema version travel in ``ce_type`` so a consumer can pick
the model, or reject the record, without trusting the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from shared.events import ALL_EVENTS, Event, utcnow

Headers = list[tuple[str, bytes]]
CONTENT_TYPE = b"application/json"
_REGISTRY: dict[str, type[Event]] = {cls.ce_type(): cls for cls in ALL_EVENTS}


class DecodeError(ValueError):
    """A record that cannot become an event; ``reason`` is for the dead-letter topic."""


def encode_value(event: Event) -> bytes:
    """The JSON body (dict keys that are ints, like forecast horizons, become strings)."""
    return orjson.dumps(event.model_dump(), option=orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event already serialised, e.g. by a worker process for its parent to send.

    The body is a fraction of the model's resident size (a pydantic model also
    tracks every field it was given) and crosses a process boundary as one copy.
    """

    ce_type: str
    id: str
    value: bytes

    @classmethod
    def of(cls, event: Event) -> Encoded:
        """Serialise ``event`` now.

        The body is copied once: orjson's result keeps its whole working buffer
        (16 KB at least), ten times a typical event, for as long as it lives.
        """
        return cls(event.ce_type(), event.id, bytes(memoryview(encode_value(event))))

    def decode(self) -> Event:
        """The event back (tests and reports read it; the send path never needs to)."""
        return _REGISTRY[self.ce_type].model_validate_json(self.value)


def encode(event: Event | Encoded, source: str) -> tuple[bytes, Headers]:
    """Body and headers for one event produced by service ``source``."""
    ce_type = event.ce_type if isinstance(event, Encoded) else event.ce_type()
    headers: Headers = [
        ("ce_specversion", b"1.0"),
        ("ce_type", ce_type.encode()),
        ("ce_id", event.id.encode()),
        ("ce_source", source.encode()),
        ("ce_time", utcnow().isoformat().encode()),
        ("content-type", CONTENT_TYPE),
    ]
    return (event.value if isinstance(event, Encoded) else encode_value(event)), headers


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """One header value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace")
    return None


# A key shown in a dead letter's reason is cut here: enough to find it, not a payload.
KEY_HEX_SHOWN = 64


def decode_key(key: bytes | None) -> str | None:
    r"""A record key as text, or DecodeError: every key we write is an id in UTF-8.

    Decoding here, with the value, lets the consumer dead-letter the record
    instead of raising after its position moved past it.

    >>> decode_key(b"i-1"), decode_key(None)
    ('i-1', None)
    >>> decode_key(b"\xff")
    Traceback (most recent call last):
    ...
    shared.codec.DecodeError: record key is not UTF-8 (invalid start byte at byte 0): ff
    """
    if key is None:
        return None
    try:
        return key.decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"record key is not UTF-8 ({exc.reason} at byte {exc.start}): "
            f"{key[: KEY_HEX_SHOWN // 2].hex()}"
        ) from exc


def decode(
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    allowed: tuple[type[Event], ...] = ALL_EVENTS,
) -> Event:
    """Turn a record into the event its ``ce_type`` header names, or raise DecodeError."""
    if value is None:
        raise DecodeError("record has no value (tombstone) where an event was expected")
    ce_type = header(headers, "ce_type")
    if ce_type is None:
        raise DecodeError("missing ce_type header: producer did not use the spendstream codec")
    cls = _REGISTRY.get(ce_type)
    if cls is None:
        raise DecodeError(f"unknown event type {ce_type!r}")
    if cls not in allowed:
        raise DecodeError(f"event type {ce_type!r} does not belong on this topic")
    try:
        return cls.model_validate_json(value)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise DecodeError(f"invalid {ce_type}: {errors}") from exc
