"""Right-sizing: inventory and datapoints in, recommendations out.

The complete output is each instance's final finding computed on *all* its
datapoints (48 h observed): a datapoint committed before it reached the state
changelog would be missing from ``hours_observed`` after the restart.
Recommendation ids are deterministic, so one re-sent shows up twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from shared.events import Recommendation
from shared.topics import CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, RECOMMENDATIONS, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.rightsizing.test_rightsizing_service import (
    inventory,
    points,
    publish,
    with_key,
)
from tests.integration.sigterm.process import ServiceProcess
from tests.integration.sigterm.scenario import Context, Scenario

DAYS = 2
COPIES = 3
# (instance type, CPU level, network bytes) -> the finding on two full days.
PROFILES = {
    "over": ("m5.2xlarge", 12.0, 50_000.0, "overprovisioned"),
    "idle": ("m5.large", 1.0, 100.0, "idle"),
    "opt": ("m5.xlarge", 55.0, 50_000.0, "optimized"),
}


def latest(recs: list[Recommendation]) -> dict[str, Recommendation]:
    out: dict[str, Recommendation] = {}
    for rec in recs:
        out[rec.resource_id] = rec
    return out


class RightsizingSigterm(Scenario):
    """Nine instances, two days of 5-minute CPU and network points each."""

    service = "rightsizing"

    def __init__(self) -> None:
        self.expected: dict[str, str] = {}

    def prepare(self, ctx: Context) -> dict[str, str]:
        settings = ctx.settings()
        events = []
        for n, (name, (kind, cpu, net, finding)) in enumerate(PROFILES.items()):
            for copy in range(COPIES):
                instance = f"i-{name}-{copy}"
                self.expected[instance] = finding
                events.append((INVENTORY_EC2, inventory(instance, kind), instance))
                events += with_key(
                    CLOUDWATCH_DATAPOINTS, points(instance, cpu, DAYS, net=net, seed=n * 10 + copy)
                )

        async def send() -> None:
            await ensure_topics(settings)
            await publish(settings, events)  # type: ignore[arg-type]  # RightsizingSettings-compatible

        asyncio.run(send())
        return {"SPENDSTREAM_RIGHTSIZING_EVALUATION_INTERVAL_S": "0.5"}

    def busy(self, ctx: Context) -> bool:
        return bool(ctx.events_on(RECOMMENDATIONS))

    def finished(self, ctx: Context, service: ServiceProcess) -> None:
        def final() -> list[Recommendation] | None:
            service.alive()
            recs = [e for e in ctx.events_on(RECOMMENDATIONS) if isinstance(e, Recommendation)]
            last = latest(recs)
            done = all(
                (r := last.get(i)) is not None and r.finding == f and r.hours_observed >= DAYS * 24
                for i, f in self.expected.items()
            )
            return recs if done else None

        recs = wait_for(
            final,
            timeout=self.finish_timeout_s,
            interval=0.5,
            description="every instance's finding on all its datapoints",
        )
        twice = {i: n for i, n in Counter(r.id for r in recs).items() if n > 1}
        assert not twice, f"recommendations sent more than once: {twice}"
        assert {r.hours_observed for r in latest(recs).values()} == {DAYS * 24.0}
