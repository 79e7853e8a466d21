"""The commitment changelog codec: a period reads back exactly; hostile bytes are refused."""

from __future__ import annotations

import zlib
from datetime import date

import msgpack
import pytest

from services.rightsizing.commitments.store import UsageCodec
from services.rightsizing.commitments.tracker import CommitmentTracker, MemoryPeriods
from shared.events import CostLineItem
from shared.events.commitments import CommitmentReport
from shared.state_codec import ChangelogDecodeError
from simulator import SimConfig, simulate_organisation
from simulator.commitment_lines import delivery_events
from simulator.commitments import build_world


@pytest.fixture(scope="module")
def world():
    org = simulate_organisation(SimConfig(seed=8, accounts=2, days=30, instances=16))
    return build_world(org.fleet, date(2024, 4, 1), 61, seed=8)


def test_a_restored_period_gives_the_same_report(world) -> None:
    """April through the codec (as after a restart), then May: the report is unchanged."""
    account = sorted({m.account_id for m in world.members})[0]
    april = delivery_events(world, account, 0, 720, "apr")
    may = delivery_events(world, account, 720, 1464, "may")
    live = CommitmentTracker(world.price_table())
    for e in april + may:
        out = live.on_event(e, 0)
    expected = next(e for e in out if isinstance(e, CommitmentReport))

    first = CommitmentTracker(world.price_table())
    for e in april:
        first.on_event(e, 0)
    codec = UsageCodec()
    restored = MemoryPeriods(
        {k: codec.decode(codec.encode(v)) for k, v in first.periods.values.items()}
    )
    again = CommitmentTracker(world.price_table(), periods=restored)
    for e in may:
        out = again.on_event(e, 0)
    report = next(e for e in out if isinstance(e, CommitmentReport))
    assert report.model_dump(exclude={"id", "attempt_id"}) == expected.model_dump(
        exclude={"id", "attempt_id"}
    )
    assert {r.lookback_days for r in report.recommendations} == {7, 30, 60}
    assert any(isinstance(e, CostLineItem) for e in april)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02" + zlib.compress(b"x"),
        b"\x01not zlib",
        b"\x01" + zlib.compress(msgpack.packb({"a": 1})),
        b"\x01" + zlib.compress(msgpack.packb([[b"\x00" * 8, b"\x00" * 4], [], [], [], 0.0, []])),
        b"\x01"
        + zlib.compress(
            msgpack.packb(
                [
                    [b"", b""],
                    [b"", b""],
                    [b"", b""],
                    [],
                    0.0,
                    [["arn", "pickle", [b"", b""], [b"", b""], [b"", b""], None]],
                ]
            )
        ),
        b"\x01" + zlib.compress(b"\x00" * (70 * 1024 * 1024)),  # inflates past the limit
    ],
)
def test_hostile_records_are_refused_not_run(data: bytes) -> None:
    with pytest.raises(ChangelogDecodeError):
        UsageCodec().decode(data)
