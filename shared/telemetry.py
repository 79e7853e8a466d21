"""Prometheus metrics: one registry per process, names prefixed ``spendstream_``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

NAMESPACE = "spendstream"
# Seconds; spans a sub-millisecond handler to a slow database commit.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The counters every consumer service exports (records in, dead-lettered, handled)."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ["topic"]
        self.records = Counter(
            "records",
            "Records consumed.",
            labels,
            namespace=NAMESPACE,
            subsystem=service,
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "dead_letters",
            "Records sent to a dead-letter topic.",
            labels,
            namespace=NAMESPACE,
            subsystem=service,
            registry=self.registry,
        )
        self.handle_seconds = Histogram(
            "handle_seconds",
            "Time to handle one batch.",
            labels,
            namespace=NAMESPACE,
            subsystem=service,
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )

    def serve(self, port: int) -> None:
        """Expose ``/metrics`` on ``port`` (services without their own HTTP server)."""
        start_http_server(port, registry=self.registry)
