"""Forged savings memos in a right-sizing state record are refused on decode, never acted on.

The memo and implementation travel as JSON inside the state's metadata; a
record whose fields have the wrong types (a list where a map of savings is,
a missing estimate, an unknown kind) must fail to decode (the store skips it),
not reach ``detect`` / ``measure`` and stop the partition later.
"""

from __future__ import annotations

import orjson
import pytest

from services.rightsizing.exceptions import StateDecodeError
from services.rightsizing.savings import ImplementationRecord, RecommendationMemo
from services.rightsizing.sketches import InstanceState, decode_state, encode_state
from services.rightsizing.sketches.codec import _HEADER


def _forged(field: str, key: str, value: object) -> bytes:
    state = InstanceState("i-1", instance_type="m5.large")
    state.memo = RecommendationMemo("rec-1", {"m5.large": 1.0}, [8, 9], 2.0, 3.0, "idle")
    state.implementation = ImplementationRecord("rec-1", "schedule", "m5.large", None, 0.0, 2.0)
    data = encode_state(state)
    magic, version, length = _HEADER.unpack_from(data, 0)
    meta = orjson.loads(data[_HEADER.size : _HEADER.size + length])
    meta[field][key] = value
    body = orjson.dumps(meta)
    return _HEADER.pack(magic, version, len(body)) + body + data[_HEADER.size + length :]


@pytest.mark.parametrize(
    ("field", "key", "value"),
    [
        ("memo", "options", ["m5.large"]),
        ("memo", "run_hours", [999]),
        ("memo", "schedule_savings", "lots"),
        ("implementation", "kind", "rm -rf"),
        ("implementation", "estimated", None),
        ("implementation", "before_hourly", "0.1"),
    ],
)
def test_a_forged_savings_field_does_not_decode(field: str, key: str, value: object) -> None:
    with pytest.raises(StateDecodeError):
        decode_state(_forged(field, key, value))


def test_the_unforged_record_decodes() -> None:
    assert decode_state(_forged("memo", "finding", "idle")).memo is not None
