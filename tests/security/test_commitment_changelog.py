"""A hostile record on the commitment changelog can neither run code nor poison a report.

Anything with write access to Kafka can write to right-sizing's private
commitment changelog. Its records are data only (packed arrays in MessagePack):
a pickle, or a record of the right shape with the wrong contents, is skipped
(that account-period starts afresh) and counted, never loaded.
"""

from __future__ import annotations

import os
import pickle
import zlib
from pathlib import Path

import msgpack
from aiokafka.structs import ConsumerRecord

from services.rightsizing.commitments.store import CommitmentStore, UsageCodec
from services.rightsizing.commitments.usage import AccountUsage
from shared import changelog
from shared.settings import SpendstreamSettings


class _RunsAShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what an attacker's pickle does on load
        return (os.system, (f"touch {self.marker}",))


def _restore(store: CommitmentStore, records: list[tuple[bytes, bytes]]) -> None:
    """What a restore does with the topic's records, in offset order, without a broker."""
    bases: dict[str, tuple[int, changelog._Latest]] = {}
    deltas: dict[str, changelog._Latest] = {}
    for offset, (key, value) in enumerate(records):
        record = ConsumerRecord(
            "t", 0, offset, 0, 0, key, value, None, len(key), len(value), []
        )  # fmt: skip
        changelog._latest(bases, deltas, record, 0)
    for name, (partition, base) in bases.items():
        store._load(name, partition, base, deltas.get(name))


def test_hostile_commitment_records_are_skipped_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    store = CommitmentStore(SpendstreamSettings(), producer=None)  # type: ignore[arg-type]
    good = UsageCodec().encode(AccountUsage(eligible={1: 2.0}))
    _restore(store, [(b"333333333333|2024-04-01", good)])
    assert list(store.values) == ["333333333333|2024-04-01"]  # a good record loads
    store.values.clear()
    nan = msgpack.packb([[b"\x01" + b"\x00" * 7, b"\x00" * 6 + b"\xf8\x7f"], [b"", b""],
                         [b"", b""], [], 0.0, []])  # fmt: skip
    hostile = {
        b"111111111111|2024-04-01": pickle.dumps(_RunsAShell(marker)),
        b"222222222222|2024-04-01": b"\x01" + zlib.compress(nan),  # a NaN cost
    }
    _restore(store, [(b"111111111111|2024-04-01", good), *hostile.items()])
    assert not marker.exists()
    assert store.skipped == 2
    assert store.values == {}  # the older good state is stale once a bad one follows
