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

Deltas: :meth:`StateCodec.encode_base` also returns the state's :class:`Marks`
(its ``AppendWindow`` windows with their append counts, and its immutable
config objects); :meth:`StateCodec.encode_delta` then writes the same state
with each window as only the items appended since, and each unchanged config
as a reference, so a write costs what changed rather than the whole window.
:meth:`StateCodec.decode_delta` rebuilds the exact state from the decoded base
and the delta.

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

import dataclasses
import enum
import functools
import itertools
import sys
import zlib
from array import array
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import msgpack
from pydantic import BaseModel

from shared.append_window import AppendWindow, FloatWindow

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
# An AppendWindow in full; in a delta, its tail since the base; an unchanged constant.
_WINDOW, _TAIL, _SAME = range(12, 15)
_FLOATS = 15  # a FloatWindow in full: its values as little-endian doubles


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


Window = AppendWindow | FloatWindow


def _doubles(values: Any) -> bytes:
    """An array of doubles as little-endian bytes, whatever this machine's order."""
    if sys.byteorder == "big":
        values = values[:]
        values.byteswap()
    data: bytes = values.tobytes()
    return data


@functools.cache
def _constant(cls: type) -> bool:
    """Frozen dataclasses (configs): written once per base, referenced by deltas."""
    params = getattr(cls, "__dataclass_params__", None)
    return params is not None and params.frozen and dataclasses.is_dataclass(cls)


@dataclasses.dataclass(frozen=True)
class Marks:
    """What a delta is written against: a base's windows (with counts) and constants.

    Both in the order they occur in the encoded state; the objects are the live
    state's own, so a delta can tell that a window is still the same one.
    """

    windows: tuple[tuple[Window, int, int], ...]  # window, appended, edits at the base
    constants: tuple[Any, ...]


class _NoDelta(Exception):  # noqa: N818 - control flow inside one encode call
    """The state no longer lines up with its base: write a full one."""


class _Pass:
    """One encode/decode call's bookkeeping of windows and constants (in occurrence order)."""

    def __init__(self, base: Marks | None = None, collect: bool = True) -> None:
        self.base = base
        self.collect = collect and base is None  # gather marks (a base written or read)
        self.windows: list[tuple[Window, int, int]] = []
        self.constants: list[Any] = []
        self.window_index = 0
        self.constant_ids = (
            {id(c): i for i, c in enumerate(base.constants)} if base is not None else {}
        )

    def marks(self) -> Marks:
        return Marks(tuple(self.windows), tuple(self.constants))


def _hashable(obj: Any) -> bool:
    """Hashable contents: immutable all the way down, so safe to reference from a delta."""
    try:
        hash(obj)
    except TypeError:
        return False
    return True


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
        return self._envelope(self._pack(value, _Pass(collect=False)))

    def encode_base(self, value: Any) -> tuple[bytes, Marks]:
        """The full record for ``value``, and the marks a later delta is written against."""
        ctx = _Pass()
        return self._envelope(self._pack(value, ctx)), ctx.marks()

    def encode_delta(self, value: Any, base: Marks) -> bytes | None:
        """``value`` as a delta on the base ``base`` marks; None if it must be written in full.

        None when a window is not the base's (replaced, reordered), was changed
        other than by appends, or has rolled over entirely since the base.
        """
        ctx = _Pass(base)
        try:
            body = self._pack(value, ctx)
        except _NoDelta:
            return None
        if ctx.window_index != len(base.windows):
            return None  # a window of the base is gone
        return self._envelope(body)

    def decode(self, data: bytes) -> Any:
        """The state ``data`` holds, or ChangelogDecodeError saying why it cannot be read."""
        return self._decode(data, _Pass(collect=False))

    def decode_base(self, data: bytes) -> tuple[Any, Marks]:
        """A full record's state and its marks (to apply a delta on)."""
        ctx = _Pass()
        return self._decode(data, ctx), ctx.marks()

    def decode_delta(self, data: bytes, base: Marks) -> Any:
        """The state of a delta written on ``base`` (from :meth:`decode_base`, consumed).

        The base's windows are extended in place and become the new state's.
        """
        ctx = _Pass(base)
        value = self._decode(data, ctx)
        if ctx.window_index != len(base.windows):
            raise ChangelogDecodeError("delta does not cover every window of its base")
        return value

    @staticmethod
    def _envelope(body: bytes) -> bytes:
        if len(body) < COMPRESS_ABOVE_BYTES:
            return bytes((VERSION, _PLAIN)) + body
        return bytes((VERSION, _ZLIB)) + zlib.compress(body, ZLIB_LEVEL)

    def _decode(self, data: bytes, ctx: _Pass) -> Any:
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
            return self._unpack(body, ctx)
        except ChangelogDecodeError:
            raise
        except Exception as exc:  # msgpack's own errors, wrong shapes, failed validation
            raise ChangelogDecodeError(f"malformed state: {type(exc).__name__}: {exc}") from exc

    def _pack(self, value: Any, ctx: _Pass) -> bytes:
        packed: bytes = msgpack.packb(
            value, default=partial(self._default, ctx), strict_types=True, use_bin_type=True
        )
        return packed

    def _window(self, obj: Window, ctx: _Pass) -> msgpack.ExtType:
        if ctx.base is None:
            if isinstance(obj, FloatWindow):
                payload = [obj.maxlen, obj.appended, _doubles(obj.ordered())]
                ext = msgpack.ExtType(_FLOATS, self._pack(payload, ctx))
            else:
                payload = [obj.maxlen, obj.appended, obj.edits, list(obj)]
                ext = msgpack.ExtType(_WINDOW, self._pack(payload, ctx))
            if ctx.collect:
                ctx.windows.append((obj, obj.appended, obj.edits))
            return ext
        index, ctx.window_index = ctx.window_index, ctx.window_index + 1
        if index >= len(ctx.base.windows):
            raise _NoDelta
        window, appended, edits = ctx.base.windows[index]
        new = obj.appended - appended
        if window is not obj or obj.edits != edits or not 0 <= new <= len(obj):
            raise _NoDelta
        if isinstance(obj, FloatWindow):
            tail = obj.ordered()[len(obj) - new :].tolist()
        else:
            tail = list(itertools.islice(reversed(obj), new))
            tail.reverse()
        return msgpack.ExtType(_TAIL, self._pack([obj.appended, tail], ctx))

    def _default(self, ctx: _Pass, obj: Any) -> msgpack.ExtType | float:
        cls: type = type(obj)
        if isinstance(obj, float):  # numpy.float64 and friends: exact as a float
            return float(obj)
        if cls is tuple:
            return msgpack.ExtType(_TUPLE, self._pack(list(obj), ctx))
        if cls is set:
            return msgpack.ExtType(_SET, self._pack(_ordered(obj), ctx))
        if cls is frozenset:
            return msgpack.ExtType(_FROZENSET, self._pack(_ordered(obj), ctx))
        if cls is deque:
            return msgpack.ExtType(_DEQUE, self._pack([obj.maxlen, list(obj)], ctx))
        if cls is AppendWindow or cls is FloatWindow:
            return self._window(obj, ctx)
        if cls is datetime:
            return msgpack.ExtType(_DATETIME, obj.isoformat().encode())
        if cls is date:
            return msgpack.ExtType(_DATE, obj.isoformat().encode())
        if cls is timedelta:
            return msgpack.ExtType(
                _TIMEDELTA, self._pack([obj.days, obj.seconds, obj.microseconds], ctx)
            )
        tag = _tag(cls)
        if tag not in self._by_tag:
            raise TypeError(f"{tag} is not an allowed state type; add it to the codec")
        kind = self._by_tag[tag][1]
        if ctx.base is not None and kind == _OBJECT:
            index = ctx.constant_ids.get(id(obj))
            if index is not None and ctx.base.constants[index] is obj:
                return msgpack.ExtType(_SAME, self._pack(index, ctx))
        if kind == _ENUM:
            payload: Any = [tag, obj.value]
        elif kind == _MODEL:
            payload = [tag, obj.model_dump(mode="python")]
        elif kind == _NAMEDTUPLE:
            payload = [tag, list(obj)]
        else:
            payload = [tag, self._attributes(obj)]
        ext = msgpack.ExtType(kind, self._pack(payload, ctx))
        if ctx.collect and kind == _OBJECT and _constant(cls) and _hashable(obj):
            ctx.constants.append(obj)  # after its contents: the order decoding meets them in
        return ext

    @staticmethod
    def _attributes(obj: Any) -> dict[str, Any]:
        attributes = dict(getattr(obj, "__dict__", {}))
        for klass in type(obj).__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name != "__dict__" and hasattr(obj, name):
                    attributes[name] = getattr(obj, name)
        return attributes

    def _unpack(self, data: bytes, ctx: _Pass) -> Any:
        return msgpack.unpackb(
            data,
            ext_hook=partial(self._ext, ctx),
            strict_map_key=False,
            raw=False,
            use_list=True,
        )

    def _ext(self, ctx: _Pass, code: int, data: bytes) -> Any:
        if code == _DATETIME:
            return datetime.fromisoformat(data.decode())
        if code == _DATE:
            return date.fromisoformat(data.decode())
        value = self._unpack(data, ctx)
        if code == _WINDOW:
            return self._unwindow(value, ctx)
        if code == _FLOATS:
            return self._unfloats(value, ctx)
        if code in (_TAIL, _SAME):
            return self._from_base(code, value, ctx)
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
        if ctx.collect and _constant(cls) and _hashable(obj):
            ctx.constants.append(obj)
        return obj

    @staticmethod
    def _unwindow(value: Any, ctx: _Pass) -> AppendWindow:
        maxlen, appended, edits, items = value
        window = AppendWindow(items, maxlen)
        if not isinstance(appended, int) or not isinstance(edits, int) or appended < len(window):
            raise ChangelogDecodeError("window counts do not match its items")
        window.appended, window.edits = appended, edits
        if ctx.collect:
            ctx.windows.append((window, appended, edits))
        return window

    @staticmethod
    def _unfloats(value: Any, ctx: _Pass) -> FloatWindow:
        maxlen, appended, data = value
        if not isinstance(data, bytes) or len(data) % 8 or not isinstance(appended, int):
            raise ChangelogDecodeError("malformed float window")
        values = array("d")
        values.frombytes(data)
        if sys.byteorder == "big":
            values.byteswap()
        if not isinstance(maxlen, int) or len(values) > maxlen or appended < len(values):
            raise ChangelogDecodeError("float window counts do not match its values")
        window = FloatWindow(maxlen)
        window.values, window.appended = values, appended
        if ctx.collect:
            ctx.windows.append((window, appended, 0))
        return window

    @staticmethod
    def _from_base(code: int, value: Any, ctx: _Pass) -> Any:
        """A delta's reference to its base: a window's new tail, or an unchanged constant."""
        if ctx.base is None:
            raise ChangelogDecodeError("a delta reference in a full state")
        if code == _SAME:
            if not isinstance(value, int) or not 0 <= value < len(ctx.base.constants):
                raise ChangelogDecodeError(f"delta names constant {value!r} its base lacks")
            return ctx.base.constants[value]
        index, ctx.window_index = ctx.window_index, ctx.window_index + 1
        if index >= len(ctx.base.windows):
            raise ChangelogDecodeError("delta has more windows than its base")
        window, base_appended, _edits = ctx.base.windows[index]
        appended, tail = value
        if not isinstance(tail, list) or not isinstance(appended, int):
            raise ChangelogDecodeError("malformed delta window tail")
        if appended - base_appended != len(tail):
            raise ChangelogDecodeError("delta window tail does not follow its base")
        if isinstance(window, FloatWindow):
            for x in tail:
                window.append(float(x))
        else:
            deque.extend(window, tail)
        window.appended = appended
        return window
