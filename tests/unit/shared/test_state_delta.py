"""Deltas of the state codec: only appended window values and changed fields, rebuilt exactly."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgpack
import pytest

from shared.append_window import AppendWindow, FloatWindow
from shared.state_codec import ChangelogDecodeError, StateCodec


@dataclass(frozen=True)
class Config:
    alpha: float = 0.1
    name: str = "a long configuration name that a delta should not repeat"


@dataclass
class Stream:
    config: Config
    window: AppendWindow = field(default_factory=lambda: AppendWindow(maxlen=500))
    count: int = 0


CODEC = StateCodec((Config, Stream))


def _stream(points: int) -> Stream:
    s = Stream(Config())
    for i in range(points):
        s.window.append(i * 0.5)
        s.count += 1
    return s


def _advance(s: Stream, points: int) -> None:
    for _ in range(points):
        s.window.append(s.count * 0.5)
        s.count += 1


def test_a_delta_carries_the_new_values_and_rebuilds_the_exact_state() -> None:
    state = _stream(600)  # window full and rolled over
    base, marks = CODEC.encode_base(state)
    _advance(state, 7)
    delta = CODEC.encode_delta(state, marks)
    assert delta is not None
    assert len(delta) < len(base) / 20  # 7 floats and a counter, not 500 floats and a config
    _, decoded_marks = CODEC.decode_base(base)
    restored = CODEC.decode_delta(delta, decoded_marks)
    assert CODEC.encode(restored) == CODEC.encode(state)
    assert restored.window.appended == state.window.appended == 607
    assert list(restored.window) == list(state.window)


def test_deltas_are_cumulative_on_their_base() -> None:
    state = _stream(100)
    base, marks = CODEC.encode_base(state)
    _advance(state, 3)
    first = CODEC.encode_delta(state, marks)
    _advance(state, 3)
    second = CODEC.encode_delta(state, marks)
    assert first is not None
    assert second is not None
    assert len(second) > len(first)
    _, decoded_marks = CODEC.decode_base(base)
    assert CODEC.encode(CODEC.decode_delta(second, decoded_marks)) == CODEC.encode(state)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.window.popleft(),
        lambda s: s.window.__setitem__(0, -1.0),
        lambda s: setattr(s, "window", AppendWindow(s.window, maxlen=500)),
        lambda s: _advance(s, 501),  # rolled past the whole window: nothing of the base left
    ],
    ids=["popleft", "setitem", "replaced", "rolled-over"],
)
def test_a_window_that_no_longer_follows_its_base_needs_a_full_write(change) -> None:
    state = _stream(500)
    _, marks = CODEC.encode_base(state)
    change(state)
    assert CODEC.encode_delta(state, marks) is None


def test_a_delta_whose_tail_does_not_follow_its_base_is_refused() -> None:
    state = _stream(50)
    base, marks = CODEC.encode_base(state)
    _advance(state, 2)
    delta = CODEC.encode_delta(state, marks)
    assert delta is not None
    # A base with a different count: the delta's tail no longer lines up.
    other = _stream(51)
    other_base, _ = CODEC.encode_base(other)
    _, wrong_marks = CODEC.decode_base(other_base)
    with pytest.raises(ChangelogDecodeError):
        CODEC.decode_delta(delta, wrong_marks)
    # A delta reference inside a full state is refused, not resolved.
    forged = bytes((1, 0)) + msgpack.packb(msgpack.ExtType(14, msgpack.packb(0)))
    with pytest.raises(ChangelogDecodeError):
        CODEC.decode(forged)
    _, good_marks = CODEC.decode_base(base)
    assert CODEC.encode(CODEC.decode_delta(delta, good_marks)) == CODEC.encode(state)


@dataclass
class Doubles:
    window: FloatWindow = field(default_factory=lambda: FloatWindow(500))


def test_a_float_window_is_written_as_doubles_and_its_delta_rebuilds_it_exactly() -> None:
    codec = StateCodec((Doubles,))
    state = Doubles()
    for i in range(700):  # full and wrapped around its ring
        state.window.append(i / 7)
    base, marks = codec.encode_base(state)
    assert len(base) < 500 * 8 + 100  # 8 bytes a value
    for i in range(5):
        state.window.append(-i / 3)
    delta = codec.encode_delta(state, marks)
    assert delta is not None
    assert len(delta) < 200  # five doubles and the names around them, not 500 values
    _, decoded_marks = codec.decode_base(base)
    restored = codec.decode_delta(delta, decoded_marks)
    assert list(restored.window) == list(state.window)
    assert restored.window[0] == state.window[0]
    assert restored.window.appended == 705
    assert codec.encode(restored) == codec.encode(state)
