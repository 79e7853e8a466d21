"""Settings pointing the shared plumbing at the session broker, isolated per test."""

import pytest

from shared.settings import SpendstreamSettings
from tests.harness.backends import BackendProvider


@pytest.fixture
def kafka_settings(
    kafka_bootstrap: str, topic_prefix: str, backend_provider: BackendProvider
) -> SpendstreamSettings:
    # The embedded Tansu broker rejects InitProducerId, so idempotence is only
    # on against a real Apache Kafka.
    return SpendstreamSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        service_name="contract-test",
        kafka_enable_idempotence=backend_provider.sources.get("kafka") == "testcontainers",
    )
