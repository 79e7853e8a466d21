"""Instance states in memory, backed by the shared changelog store.

Every changed state is written to the changelog (key: resource id, partition:
the one its datapoints come from) *before* the source offsets are committed,
so a crash loses nothing: on (re)assignment of a partition its states are
read back before any new record is applied. Values use the compact, versioned
binary codec of ``sketches/codec.py`` (no code from the writer runs on read).
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from services.rightsizing.sketches import InstanceState, decode_state, encode_state
from shared.changelog import ChangelogStore, ChangelogTopic
from shared.settings import SpendstreamSettings
from shared.topics import CLOUDWATCH_DATAPOINTS

CHANGELOG = ChangelogTopic("spendstream.rightsizing.state-changelog.v1", CLOUDWATCH_DATAPOINTS)


class SketchCodec:
    """The changelog codec: ``encode_state`` / ``decode_state``."""

    def encode(self, value: InstanceState) -> bytes:
        """Compact binary form of one instance's state."""
        return encode_state(value)

    def decode(self, data: bytes) -> InstanceState:
        """The state ``data`` holds (StateDecodeError, a ChangelogDecodeError, if it cannot)."""
        return decode_state(data)


class StateStore(ChangelogStore[InstanceState]):
    """The states of the instances whose partitions this replica owns."""

    def __init__(self, settings: SpendstreamSettings, producer: AIOKafkaProducer) -> None:
        super().__init__(CHANGELOG, settings, producer, SketchCodec())

    def state_for(self, resource_id: str, partition: int) -> InstanceState:
        """The state of ``resource_id`` (empty on first sight), owned by ``partition``."""
        state = self.values.get(resource_id)
        if state is None:
            state = self.values[resource_id] = InstanceState(resource_id)
        self.partition_of[resource_id] = partition
        return state
