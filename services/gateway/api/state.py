"""What the app's lifespan builds and every request reads (held on ``app.state``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from prometheus_client import CollectorRegistry

from services.gateway.api.stream_slots import StreamSlots
from services.gateway.ratelimit import FailureLimiter, TokenBuckets
from services.gateway.secretbox import SecretBox
from services.gateway.settings import GatewaySettings
from shared.kafka import EventProducer
from shared.telemetry import ServiceMetrics


@dataclass
class GatewayState:
    """Per-process resources; built in the lifespan, never at import time."""

    settings: GatewaySettings
    pool: asyncpg.Pool
    publisher: EventProducer
    registry: CollectorRegistry
    metrics: ServiceMetrics
    buckets: TokenBuckets
    tenant_buckets: TokenBuckets
    auth_failures: FailureLimiter
    streams: StreamSlots
    feedback_buckets: TokenBuckets
    secrets: SecretBox
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    consumer_ready: bool = False
