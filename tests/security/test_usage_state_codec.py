"""The usage loop's changelog states decode only into their allow-listed classes.

The usage loop and the cost loop's usage links are new changelog state (issue 15
item 2). A record on their changelog naming any other class, even one another loop
of this service may hold, is refused (that key starts afresh), never built.
"""

from __future__ import annotations

import msgpack
import pytest

from services.anomaly.state_codec import cost_state_codec, usage_state_codec
from services.anomaly.usage.resource_state import UsageGroupState
from shared.state_codec import ChangelogDecodeError

_OBJECT = 8  # shared.state_codec's extension code for allow-listed objects


def _forged(tag: str) -> bytes:
    payload = msgpack.packb([tag, {"x": 1}], use_bin_type=True)
    return b"\x01\x00" + msgpack.packb(msgpack.ExtType(_OBJECT, payload), use_bin_type=True)


@pytest.mark.parametrize(
    "tag",
    [
        "os:system",
        "subprocess:Popen",
        # A class the cost loop may hold is still not a usage state.
        "services.anomaly.cost.account_state:AccountState",
    ],
)
def test_a_usage_state_naming_another_class_is_refused(tag: str) -> None:
    with pytest.raises(ChangelogDecodeError, match="not an allowed type"):
        usage_state_codec().decode(_forged(tag))


def test_the_cost_codec_refuses_usage_resource_state() -> None:
    state = UsageGroupState("1", "us-east-1", "nat-1", "NatGateway-Bytes")
    record = usage_state_codec().encode(state)
    assert usage_state_codec().decode(record) == state
    with pytest.raises(ChangelogDecodeError, match="not an allowed type"):
        cost_state_codec().decode(record)
