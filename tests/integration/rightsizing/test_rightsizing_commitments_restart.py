"""On a real broker: a closed month's commitment sums survive a restart of the service.

AWS does not redeliver a closed month, so after a restart the 30-day lookback
of a report early in May must come from April's sums on the changelog.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import pytest

from services.rightsizing.app import RightsizingApp
from shared.ec2_prices import save_prices
from shared.events.commitments import CommitmentReport
from shared.topics import COMMITMENTS, CUR_LINE_ITEMS, ensure_topics
from simulator import SimConfig, simulate_organisation
from simulator.commitment_lines import delivery_events
from simulator.commitments import build_world
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.rightsizing.test_rightsizing_service import (
    STARTUP_TIMEOUT_S,
    _settings,
    publish,
    running,
)

pytestmark = pytest.mark.integration

APRIL, MAY_DAYS = 30 * 24, 10


async def test_a_restart_keeps_the_closed_months_lookback(kafka_bootstrap, topic_prefix, tmp_path):
    org = simulate_organisation(SimConfig(seed=2, accounts=1, days=30, instances=6))
    world = build_world(org.fleet, date(2024, 4, 1), 30 + MAY_DAYS, seed=2)
    account = world.members[0].account_id
    prices = tmp_path / "prices.csv.gz"
    save_prices(world.price_table(), prices)
    settings = _settings(kafka_bootstrap, topic_prefix).model_copy(
        update={"rightsizing_prices_path": prices}
    )
    await ensure_topics(settings)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def reports(events: list) -> list[CommitmentReport]:
        return [e for e in events if isinstance(e, CommitmentReport)]

    try:
        async with collected(settings, COMMITMENTS) as seen:
            async with running(RightsizingApp(settings, pool)):
                april = delivery_events(world, account, 0, APRIL, "att-apr")
                await publish(settings, [(CUR_LINE_ITEMS, e, account) for e in april])
                await wait_for_async(
                    lambda: reports(seen), timeout=STARTUP_TIMEOUT_S, description="April report"
                )
            # A new replica: nothing in memory, April's sums only on the changelog.
            async with running(RightsizingApp(settings, pool)):
                may = delivery_events(world, account, APRIL, APRIL + MAY_DAYS * 24, "att-may")
                await publish(settings, [(CUR_LINE_ITEMS, e, account) for e in may])
                await wait_for_async(
                    lambda: len(reports(seen)) >= 2, timeout=STARTUP_TIMEOUT_S,
                    description="May report after the restart",
                )  # fmt: skip
    finally:
        pool.shutdown(cancel_futures=True)
    latest = reports(seen)[-1]
    assert latest.attempt_id == "att-may"
    assert latest.window_start.date() == date(2024, 4, 1)  # April restored
    assert {r.lookback_days for r in latest.recommendations} == {7, 30}
