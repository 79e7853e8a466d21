"""Right-sizing: inventory and datapoints in, recommendations out.

The complete output is each instance's final finding, and its state on the
changelog holding *all* its datapoints (48 h observed): a datapoint committed
before it reached the state changelog would be missing after the restart.
Recommendation ids are deterministic, so one re-sent shows up twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from services.rightsizing.sketches import decode_state
from services.rightsizing.store import CHANGELOG
from shared.events import Recommendation
from shared.topics import CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, RECOMMENDATIONS, ensure_topics
from tests.harness.wait import wait_for
from tests.integration.anomaly.helpers import read_all
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


def stored_hours(ctx: Context) -> dict[str, float]:
    """Hours observed per instance in its latest state on the changelog.

    The published recommendation is no proof: its digest leaves hours out (more
    data with the same advice is not re-sent), so the state is what shows that
    no datapoint was committed without reaching it.
    """
    out: dict[str, float] = {}
    for value, _ in asyncio.run(read_all(ctx.bootstrap, ctx.prefix, CHANGELOG)):  # type: ignore[arg-type]  # duck-typed topic
        if value is not None:
            state = decode_state(value)
            out[state.resource_id] = sum(d.hours_observed for d in state.days.values())
    return out


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
        seen: dict[str, tuple[str | None, float]] = {}

        def final() -> list[Recommendation] | None:
            service.alive()
            recs = [e for e in ctx.events_on(RECOMMENDATIONS) if isinstance(e, Recommendation)]
            findings = {i: r.finding for i, r in latest(recs).items()}
            hours = stored_hours(ctx)
            seen.update({i: (findings.get(i), hours.get(i, 0.0)) for i in self.expected})
            done = all(
                findings.get(i) == f and hours.get(i, 0.0) >= DAYS * 24
                for i, f in self.expected.items()
            )
            return recs if done else None

        try:
            recs = wait_for(
                final,
                timeout=self.finish_timeout_s,
                interval=0.5,
                description="every instance's finding, its stored state holding all datapoints",
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\n(latest finding, stored hours) per instance: {seen}\n{service.tail()}"
            ) from None
        twice = {i: n for i, n in Counter(r.id for r in recs).items() if n > 1}
        assert not twice, f"recommendations sent more than once: {twice}"
        assert {h for _, h in seen.values()} == {DAYS * 24.0}
