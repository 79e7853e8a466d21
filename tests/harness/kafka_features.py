"""What the session's broker supports, probed once instead of assumed.

The embedded broker (Tansu) and Apache Kafka differ in places; tests that
depend on a feature ask the broker rather than guess from how it was started.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


async def supports_idempotent_producer(bootstrap_servers: str) -> bool:
    """True when an aiokafka producer with ``enable_idempotence=True`` can start.

    Tansu answers aiokafka's InitProducerId (v0) with UNKNOWN_SERVER_ERROR, so
    on the embedded stack this is False and ``stack.env`` turns idempotence off.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    try:
        await producer.start()
    except KafkaError:
        return False
    finally:
        await producer.stop()
    return True
