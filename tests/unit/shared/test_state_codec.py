import pickle
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import NamedTuple

import numpy as np
import pytest

from shared.events import RootCause
from shared.state_codec import MAX_DECODED_BYTES, VERSION, ChangelogDecodeError, StateCodec


class Colour(Enum):
    RED = "red"


class Pair(NamedTuple):
    a: int
    b: str


@dataclass(frozen=True)
class Frozen:
    when: datetime
    span: timedelta


@dataclass
class Box:
    day: date
    tags: set[str] = field(default_factory=set)
    keyed: dict[tuple[str, int], float] = field(default_factory=dict)
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=3))
    nested: list[Frozen] = field(default_factory=list)
    colour: Colour = Colour.RED
    pair: Pair = field(default_factory=lambda: Pair(1, "x"))
    cause: RootCause | None = None
    frozen: frozenset[int] = frozenset()


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self) -> None:
        self.x, self.y = 1.5, float("nan")


CODEC = StateCodec((Box, Frozen, Colour, Pair, RootCause, Slotted))


def sample() -> Box:
    box = Box(date(2024, 2, 29), {"a", "b"}, {("k", 1): 2.5}, nested=[])
    box.recent.extend([1.0, 2.0, 3.0, 4.0])
    box.nested.append(Frozen(datetime(2024, 1, 1, 3, tzinfo=UTC), timedelta(hours=5)))
    box.cause = RootCause(
        dimension="service", value="EC2", actual=20.0, expected=8.0, contribution=12.0, share=0.9
    )
    box.frozen = frozenset({3})
    return box


def test_every_supported_kind_round_trips_exactly() -> None:
    decoded = CODEC.decode(CODEC.encode(sample()))
    assert decoded == sample()
    assert decoded.recent.maxlen == 3
    assert list(decoded.recent) == [2.0, 3.0, 4.0]
    assert isinstance(next(iter(decoded.keyed)), tuple)
    again = CODEC.decode(CODEC.encode(Slotted()))
    assert again.x == 1.5
    assert np.isnan(again.y)


def test_numpy_floats_are_written_as_plain_floats() -> None:
    assert CODEC.decode(CODEC.encode([np.float64(0.1)])) == [0.1]


def test_large_states_are_compressed_and_still_round_trip() -> None:
    big = {f"series-{i}": float(i) for i in range(5000)}
    data = CODEC.encode(big)
    assert data[1] == 1
    assert len(data) < len(str(big))
    assert CODEC.decode(data) == big


def test_a_class_outside_the_allow_list_is_refused_when_written() -> None:
    class Stranger:
        pass

    with pytest.raises(TypeError, match="not an allowed state type"):
        CODEC.encode({"x": Stranger()})


def test_a_pickle_is_refused_not_run(tmp_path) -> None:
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with pytest.raises(ChangelogDecodeError, match="unknown state version"):
        CODEC.decode(pickle.dumps(Exploit()))
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        bytes((VERSION,)),
        bytes((VERSION, 7)) + b"x",
        bytes((VERSION, 0)) + b"\xc1",  # a byte MessagePack never uses
        bytes((VERSION, 1)) + b"not zlib",
    ],
)
def test_malformed_envelopes_are_decode_errors(payload: bytes) -> None:
    with pytest.raises(ChangelogDecodeError):
        CODEC.decode(payload)


def _forged(code: int, body: object) -> bytes:
    import msgpack

    return bytes((VERSION, 0)) + msgpack.packb(msgpack.ExtType(code, msgpack.packb(body)))


def test_a_forged_tag_cannot_name_a_class_outside_the_allow_list() -> None:
    with pytest.raises(ChangelogDecodeError, match="not an allowed type"):
        CODEC.decode(_forged(8, ["os:system", {"x": 1}]))


def test_a_forged_kind_cannot_call_an_allowed_class_constructor() -> None:
    tag = f"{Box.__module__}:{Box.__qualname__}"
    with pytest.raises(ChangelogDecodeError, match="wrong kind"):
        CODEC.decode(_forged(11, [tag, "red"]))  # as an enum: would call Box("red")


def test_forged_attributes_cannot_reach_dunders() -> None:
    tag = f"{Box.__module__}:{Box.__qualname__}"
    with pytest.raises(ChangelogDecodeError, match="__class__"):
        CODEC.decode(_forged(8, [tag, {"__class__": 1}]))


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = zlib.compress(b"\x00" * (MAX_DECODED_BYTES + 1024), 9)
    with pytest.raises(ChangelogDecodeError, match="inflates beyond"):
        CODEC.decode(bytes((VERSION, 1)) + bomb)
