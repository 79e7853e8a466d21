"""The periodic evaluation loop: changed instances in, changed recommendations out.

Sizing and k-means run in a process pool so the consumer keeps heartbeating.
A recommendation is sent (and acked) before the state that remembers it is
written to the changelog, so a crash between the two re-sends the same
recommendation (same deterministic id), never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import EvaluationConfig, apply_outcome, evaluate_snapshots
from services.rightsizing.sketches import encode_state
from services.rightsizing.store import StateStore
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import RECOMMENDATIONS

log = get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Evaluator:
    """Evaluates, every ``interval_s``, the instances whose data changed."""

    def __init__(
        self,
        store: StateStore,
        producer: EventProducer,
        catalogue: Catalogue,
        config: EvaluationConfig,
        pool: Executor,
        interval_s: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._producer = producer
        self._catalogue = catalogue
        self._config = config
        self._pool = pool
        self._interval_s = interval_s
        self._clock = clock
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate on every tick until ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval_s)
            if not stop.is_set():
                try:
                    await self.evaluate_once()
                except Exception:  # a failed pass is retried next tick, never fatal
                    log.exception("evaluation pass failed; retrying next interval")

    async def evaluate_once(self) -> int:
        """One pass; returns the number of recommendations published."""
        changed = [s for s in self._store.values.values() if s.changed]
        if not changed:
            return 0
        for state in changed:
            state.changed = False  # data arriving during the pass marks it again
        loop = asyncio.get_running_loop()
        try:
            snapshots = [encode_state(state) for state in changed]  # a consistent copy
            outcomes = await loop.run_in_executor(
                self._pool, evaluate_snapshots, snapshots, self._catalogue, self._config,
                self._clock(),
            )  # fmt: skip
        except Exception:
            for state in changed:
                state.changed = True  # evaluate them again next pass
            raise
        sent = []
        for outcome in outcomes:
            live = self._store.values.get(outcome.resource_id)
            if outcome.event is None or live is None:
                continue  # unchanged, or its partition moved to another replica meanwhile
            sent.append(
                await self._producer.send(RECOMMENDATIONS, outcome.event, key=outcome.resource_id)
            )
            apply_outcome(live, outcome)
            self._store.mark(outcome.resource_id)
        if sent:
            await asyncio.gather(*sent)
        await self._store.flush()
        self.published += len(sent)
        log.info(
            "evaluated",
            instances=len(changed),
            published=len(sent),
            skipped=sum(o.skipped is not None for o in outcomes),
        )
        return len(sent)
