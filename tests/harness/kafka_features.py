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


async def supports_transactions(bootstrap_servers: str) -> bool:
    """True when a transactional aiokafka producer can start, commit and abort.

    Transactions need InitProducerId too, so where idempotence is missing so are
    they; probed separately because a broker could support one and not the other.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, transactional_id="spendstream-feature-probe"
    )
    try:
        await producer.start()
        await producer.begin_transaction()
        await producer.abort_transaction()
    except KafkaError:
        return False
    finally:
        await producer.stop()
    return True
