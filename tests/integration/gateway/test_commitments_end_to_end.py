"""A simulated CUR 2.0 delivery with RIs and Savings Plans, end to end to REST and a webhook.

The simulator's commitment lines are written as a CUR 2.0 Parquet delivery;
the real ingestor reads it onto the CUR topic; the real rightsizing service
(rates from a price file holding the simulator's own rates) publishes each
account's commitment report and alerts; the gateway's consumer stores them,
serves them per tenant, and a utilisation alert reaches the tenant's webhook.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import orjson
import pytest

from devstack.ports import free_port
from services.gateway.settings import GatewaySettings
from services.ingestor.app import event_producer
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from services.rightsizing.app import RightsizingApp
from services.rightsizing.commitments.tracker import CommitmentTracker
from shared.ec2_prices import save_prices
from shared.events import CostLineItem, InstanceRate
from shared.events.commitments import CommitmentReport
from shared.topics import INSTANCE_RATES
from simulator import SimConfig, simulate_organisation
from simulator.commitment_cur import cur2_table
from simulator.commitment_lines import delivery_events
from simulator.commitments import build_world
from tests.fixtures.cur.builders import export_delivery, write_parquet
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.gateway.helpers import running_gateway, subscribe_webhook
from tests.integration.gateway.receiver import Receiver
from tests.integration.rightsizing.test_rightsizing_service import _settings, running

pytestmark = pytest.mark.integration

DAYS = 8  # past the 7-day lookback, short of 30


async def test_commitment_reports_and_alerts_reach_rest_and_webhooks(
    make_settings: Callable[..., GatewaySettings],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    org = simulate_organisation(SimConfig(seed=11, accounts=2, days=30, instances=12))
    world = build_world(org.fleet, date(2026, 1, 1), DAYS, seed=11)
    steady, oversized = sorted({m.account_id for m in world.members})  # the 2nd over-commits
    events = {a: delivery_events(world, a, 0, DAYS * 24, f"att-{a}") for a in (steady, oversized)}
    expected = CommitmentTracker(world.price_table(), None)
    truth = [
        out for a in events for e in events[a] for out in expected.on_event(e, 0)
    ]  # what the service must publish, computed without Kafka
    reports = {r.account_id: r for r in truth if isinstance(r, CommitmentReport)}

    lines = [e for a in events for e in events[a] if isinstance(e, CostLineItem)]
    data = write_parquet(cur2_table(lines), tmp_path / "cur2-00001.snappy.parquet")
    export_delivery(tmp_path / "bucket", [data], period=date(2026, 1, 1), execution_id="e-1")
    ingestor = IngestorSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=topic_prefix,
        ingestor_state_dir=tmp_path / "state",
        log_json=False,
        kafka_enable_idempotence=False,
    )
    prices = tmp_path / "prices.csv.gz"
    save_prices(world.price_table(), prices)
    service = _settings(kafka_bootstrap, topic_prefix).model_copy(
        update={"rightsizing_prices_path": prices}
    )
    settings = make_settings(gateway_run_consumer=True, gateway_run_delivery=True)
    hook = Receiver(free_port())
    await hook.start()
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with running_gateway(settings) as gw:
            acme = await gw.tenant("acme", [oversized])
            globex = await gw.tenant("globex", [steady])
            await subscribe_webhook(gw, acme, hook.port, sources=["commitment"])
            async with (
                collected(service, INSTANCE_RATES) as rates,
                running(RightsizingApp(service, pool)),
            ):
                async with event_producer(ingestor) as producer:
                    runner = CurRunner(
                        make_source(str(tmp_path / "bucket"), None),
                        producer,
                        StateStore(ingestor.ingestor_state_dir),
                    )
                    ingested = await runner.run_once()

                async def served() -> bool:
                    mine = (await gw.get("/v1/commitments", acme)).json()["items"]
                    theirs = (await gw.get("/v1/commitments", globex)).json()["items"]
                    return bool(mine and theirs and hook.requests and rates)

                await wait_for_async(served, timeout=120, description="reports and alert served")
            mine = (await gw.get(f"/v1/commitments/{oversized}", acme)).json()
            theirs = (await gw.get("/v1/commitments", globex)).json()["items"]
            alerts = (await gw.get("/v1/commitments/alerts", acme)).json()["items"]
            hidden = await gw.get(f"/v1/commitments/{steady}", acme)
    finally:
        await hook.stop()
        pool.shutdown(cancel_futures=True)

    assert sum(r.rows for r in ingested) == len(lines)
    want = reports[oversized]
    assert mine["coverage"] == pytest.approx(want.coverage)
    assert mine["utilisation"] == pytest.approx(want.utilisation)
    assert [c["arn"] for c in mine["commitments"]] == [c.arn for c in want.commitments]
    assert {r["lookback_days"] for r in theirs[0]["recommendations"]} == {7}
    sp = next(
        r for r in theirs[0]["recommendations"]
        if r["product"] == "compute_sp" and r["term_years"] == 1
    )  # fmt: skip
    rec = next(
        r for r in reports[steady].recommendations
        if r.product == "compute_sp" and r.term_years == 1
    )  # fmt: skip
    assert sp["hourly_commitment"] == pytest.approx(rec.hourly_commitment)
    assert sp["net_savings"] > 0
    assert hidden.status_code == 404
    assert {a["reason"] for a in alerts} == {"low_utilisation"}
    body = orjson.loads(hook.requests[0].body)
    assert (body["source"], body["action"], body["account_id"]) == (
        "commitment",
        "low_utilisation",
        oversized,
    )
    # The customer-rate path from the same file: RI-covered instances at their RI's rate.
    learned = {r.resource_id: r for r in rates if isinstance(r, InstanceRate)}
    reserved = [h for h in world.held if h.kind == "reservation"]
    assert len(reserved) == 2  # one RI per account in this world
    for held in reserved:
        rate = learned[world.members[held.group].instance_id]
        assert (rate.reservation_arn, rate.reserved_share) == (held.arn, 1.0)
        assert rate.effective_hourly == pytest.approx(held.hourly)
    assert any(r.savings_plan_share > 0 for r in learned.values())
