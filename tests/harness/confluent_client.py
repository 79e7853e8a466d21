"""A producer or consumer in its own process, with confluent-kafka (librdkafka).

Run as ``python -m tests.harness.confluent_client produce|consume BOOTSTRAP TOPIC COUNT``.
The devstack test uses it to prove that a client other than ours, in another
process, talks to the broker that ``spendstream dev up`` started. Exit code 0
means every message was delivered / received.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

# librdkafka joins a Tansu consumer group in about half the session timeout;
# 6 s (Apache Kafka's default group.min.session.timeout.ms, so real brokers
# accept it too) makes the join take ~3 s instead of ~23 s.
SESSION_TIMEOUT_MS = 6_000
# Delivery and consumption each take well under a second on loopback; 60 s only
# bounds a broken broker.
DEADLINE_S = 60.0
POLL_S = 0.2


def produce(bootstrap: str, topic: str, count: int) -> int:
    """Send ``count`` keyed messages with acks=all and idempotence; return how many failed."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    failures: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: object) -> None:
        if error is not None:
            failures.append(error)

    for i in range(count):
        producer.produce(topic, key=f"k{i % 3}", value=f"m{i}", on_delivery=on_delivery)
    remaining = producer.flush(DEADLINE_S)
    return remaining + len(failures)


def consume(bootstrap: str, topic: str, count: int) -> int:
    """Read ``count`` messages in a consumer group, commit; return how many are missing."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-group",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": SESSION_TIMEOUT_MS,
        }
    )
    consumer.subscribe([topic])
    seen: set[bytes] = set()
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(seen) < count and time.monotonic() < deadline:
            message = consumer.poll(POLL_S)
            if message is None or message.error() is not None:
                continue
            value = message.value()
            if value is not None:
                seen.add(value)
        if seen:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return count - len(seen)


def main(argv: list[str]) -> int:
    """Dispatch ``produce``/``consume``; print a one-line result."""
    mode, bootstrap, topic, count = argv[0], argv[1], argv[2], int(argv[3])
    missing = (produce if mode == "produce" else consume)(bootstrap, topic, count)
    print(f"{mode}: {count - missing}/{count}")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
