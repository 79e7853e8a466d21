r"""A data-only, versioned codec for service state kept on changelog topics.

Anything that can write to Kafka can write to a changelog topic, so a state
record is as hostile as any input: decoding must never run code the record
chooses (which is what ``pickle.loads`` does). This codec writes MessagePack
with one extension type per container kind, and objects only as a tag from an
explicit allow-list plus their attribute values; decoding builds those classes
with ``__new__`` and sets attributes, never calling a constructor,
``__setstate__`` or an import named by the data. Compiled objects (River's
Rust statistics) are refused: their native decoders panic on malformed bytes,
so state holds pure-Python equivalents instead.

Envelope: one version byte, one flag byte (plain or zlib), the MessagePack body.

>>> from dataclasses import dataclass
>>> @dataclass
... class Point:
...     x: float
...     seen: set[str]
>>> codec = StateCodec((Point,))
>>> codec.decode(codec.encode(Point(1.5, {"a"})))
Point(x=1.5, seen={'a'})
>>> codec.decode(b"\x80\x04\x95")  # a pickle is refused, not run
Traceback (most recent call last):
...
shared.state_codec.ChangelogDecodeError: unknown state version 128 (this build reads 1)
"""

from __future__ import annotations

import enum
import zlib
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import msgpack
from pydantic import BaseModel

VERSION = 1
_PLAIN, _ZLIB = 0, 1
# Per-stream states are a few KB: compressing them costs more CPU than it saves.
# Account cost states grow to hundreds of KB: those shrink ~3x at level 1.
COMPRESS_ABOVE_BYTES = 16 * 1024
ZLIB_LEVEL = 1
# A decoded state never needs more than this (the broker caps records at 8 MiB);
# bounds what a zip bomb on the topic can make us allocate.
MAX_DECODED_BYTES = 64 * 1024 * 1024

# Extension type codes.
_TUPLE, _SET, _FROZENSET, _DEQUE, _DATETIME, _DATE, _TIMEDELTA = range(1, 8)
_OBJECT, _MODEL, _NAMEDTUPLE, _ENUM = range(8, 12)


class ChangelogDecodeError(ValueError):
    """A changelog record is not a state this build can read; it is skipped, never run."""


def _kind(cls: type) -> int:
    if issubclass(cls, enum.Enum):
        return _ENUM
    if issubclass(cls, BaseModel):
        return _MODEL
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _NAMEDTUPLE
    return _OBJECT


def _ordered(items: set[Any] | frozenset[Any]) -> list[Any]:
    """A set's members sorted when they compare, so equal states encode to equal bytes."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _tag(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class StateCodec:
    """Encode and decode state made of primitives, containers and allow-listed classes."""

    def __init__(self, types: Iterable[type]) -> None:
        self._by_tag: dict[str, tuple[type, int]] = {_tag(c): (c, _kind(c)) for c in types}

    def _class(self, tag: object, code: int) -> Any:
        cls, kind = self._by_tag.get(tag, (None, None)) if isinstance(tag, str) else (None, None)
        if cls is None:
            raise ChangelogDecodeError(f"state holds {tag!r}, which is not an allowed type")
        if kind != code:
            raise ChangelogDecodeError(f"state holds {tag!r} encoded as the wrong kind")
        return cls

    def encode(self, value: Any) -> bytes:
        """The record value for ``value``; TypeError names anything not allow-listed."""
        body = self._pack(value)
        if len(body) < COMPRESS_ABOVE_BYTES:
            return bytes((VERSION, _PLAIN)) + body
        return bytes((VERSION, _ZLIB)) + zlib.compress(body, ZLIB_LEVEL)

    def decode(self, data: bytes) -> Any:
        """The state ``data`` holds, or ChangelogDecodeError saying why it cannot be read."""
        if len(data) < 2 or data[0] != VERSION:
            version = data[0] if data else None
            raise ChangelogDecodeError(
                f"unknown state version {version} (this build reads {VERSION})"
            )
        body = data[2:]
        if data[1] == _ZLIB:
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, MAX_DECODED_BYTES)
            except zlib.error as exc:
                raise ChangelogDecodeError(f"corrupt compressed state: {exc}") from exc
            if inflater.unconsumed_tail:
                raise ChangelogDecodeError(f"state inflates beyond {MAX_DECODED_BYTES} bytes")
        elif data[1] != _PLAIN:
            raise ChangelogDecodeError(f"unknown state encoding flag {data[1]}")
        try:
            return self._unpack(body)
        except ChangelogDecodeError:
            raise
        except Exception as exc:  # msgpack's own errors, wrong shapes, failed validation
            raise ChangelogDecodeError(f"malformed state: {type(exc).__name__}: {exc}") from exc

    def _pack(self, value: Any) -> bytes:
        packed: bytes = msgpack.packb(
            value, default=self._default, strict_types=True, use_bin_type=True
        )
        return packed

    def _default(self, obj: Any) -> msgpack.ExtType | float:
        cls = type(obj)
        if isinstance(obj, float):  # numpy.float64 and friends: exact as a float
            return float(obj)
        if cls is tuple:
            return msgpack.ExtType(_TUPLE, self._pack(list(obj)))
        if cls is set:
            return msgpack.ExtType(_SET, self._pack(_ordered(obj)))
        if cls is frozenset:
            return msgpack.ExtType(_FROZENSET, self._pack(_ordered(obj)))
        if cls is deque:
            return msgpack.ExtType(_DEQUE, self._pack([obj.maxlen, list(obj)]))
        if cls is datetime:
            return msgpack.ExtType(_DATETIME, obj.isoformat().encode())
        if cls is date:
            return msgpack.ExtType(_DATE, obj.isoformat().encode())
        if cls is timedelta:
            return msgpack.ExtType(
                _TIMEDELTA, self._pack([obj.days, obj.seconds, obj.microseconds])
            )
        tag = _tag(cls)
        if tag not in self._by_tag:
            raise TypeError(f"{tag} is not an allowed state type; add it to the codec")
        kind = self._by_tag[tag][1]
        if kind == _ENUM:
            payload: Any = [tag, obj.value]
        elif kind == _MODEL:
            payload = [tag, obj.model_dump(mode="python")]
        elif kind == _NAMEDTUPLE:
            payload = [tag, list(obj)]
        else:
            payload = [tag, self._attributes(obj)]
        return msgpack.ExtType(kind, self._pack(payload))

    @staticmethod
    def _attributes(obj: Any) -> dict[str, Any]:
        attributes = dict(getattr(obj, "__dict__", {}))
        for klass in type(obj).__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name != "__dict__" and hasattr(obj, name):
                    attributes[name] = getattr(obj, name)
        return attributes

    def _unpack(self, data: bytes) -> Any:
        return msgpack.unpackb(
            data, ext_hook=self._ext, strict_map_key=False, raw=False, use_list=True
        )

    def _ext(self, code: int, data: bytes) -> Any:
        if code == _DATETIME:
            return datetime.fromisoformat(data.decode())
        if code == _DATE:
            return date.fromisoformat(data.decode())
        value = self._unpack(data)
        if code == _TUPLE:
            return tuple(value)
        if code == _SET:
            return set(value)
        if code == _FROZENSET:
            return frozenset(value)
        if code == _DEQUE:
            maxlen, items = value
            return deque(items, maxlen)
        if code == _TIMEDELTA:
            return timedelta(*value)
        if code not in (_OBJECT, _MODEL, _NAMEDTUPLE, _ENUM):
            raise ChangelogDecodeError(f"unknown extension type {code}")
        tag, payload = value
        cls = self._class(tag, code)
        if code == _ENUM:
            return cls(payload)
        if code == _MODEL:
            return cls.model_validate(payload)
        if code == _NAMEDTUPLE:
            return cls(*payload)
        obj = cls.__new__(cls)
        for name, attribute in payload.items():
            if not isinstance(name, str) or name.startswith("__"):
                raise ChangelogDecodeError(f"{tag} state names attribute {name!r}")
            object.__setattr__(obj, name, attribute)
        return obj
