"""The service on a real broker prices each instance from its own region, OS and tenancy list."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from services.rightsizing.app import RightsizingApp
from shared.ec2_prices import PriceTable, Rates, save_prices
from shared.topics import CLOUDWATCH_DATAPOINTS, INVENTORY_EC2, RECOMMENDATIONS, ensure_topics
from tests.harness.collect import collected
from tests.harness.wait import wait_for_async
from tests.integration.rightsizing.test_rightsizing_service import (
    STARTUP_TIMEOUT_S,
    _settings,
    inventory,
    latest,
    points,
    publish,
    running,
    with_key,
)

pytestmark = pytest.mark.integration
WINDOWS_DEDICATED_EU = {"m5.2xlarge": 0.85, "m5.xlarge": 0.43, "m5.large": 0.22}


async def test_windows_dedicated_in_eu_is_priced_from_its_list_and_linux_there_is_not(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    table = PriceTable()
    for name, usd in WINDOWS_DEDICATED_EU.items():
        table.update(("eu-west-1", "windows", "dedicated", name), Rates(on_demand=usd))
    prices = tmp_path / "prices.csv.gz"
    save_prices(table, prices)
    settings = _settings(kafka_bootstrap, topic_prefix).model_copy(
        update={"rightsizing_prices_path": prices}
    )
    await ensure_topics(settings)
    windows = inventory("i-win", "m5.2xlarge").model_copy(
        update={"region": "eu-west-1", "platform": "Windows", "tenancy": "dedicated"}
    )
    linux = inventory("i-lin", "m5.2xlarge").model_copy(update={"region": "eu-west-1"})
    await publish(
        settings,
        [
            (INVENTORY_EC2, windows, "i-win"),
            (INVENTORY_EC2, linux, "i-lin"),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-win", 12.0, 2, seed=1)),
            *with_key(CLOUDWATCH_DATAPOINTS, points("i-lin", 12.0, 2, seed=2)),
        ],
    )
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with (
            collected(settings, RECOMMENDATIONS) as recs,
            running(RightsizingApp(settings, pool)),
        ):

            def both_over() -> bool:
                found = [getattr(latest(recs, i), "finding", None) for i in ("i-win", "i-lin")]
                return found == ["overprovisioned", "overprovisioned"]

            await wait_for_async(
                both_over, timeout=STARTUP_TIMEOUT_S, description="both over-provisioned"
            )
        win, lin = latest(recs, "i-win"), latest(recs, "i-lin")
        assert win is not None
        assert lin is not None
        assert win.current_monthly_cost == pytest.approx(0.85 * 730, abs=0.01)
        assert win.options
        assert {o.instance_type for o in win.options} <= set(WINDOWS_DEDICATED_EU)
        for o in win.options:
            assert o.hourly_price == pytest.approx(WINDOWS_DEDICATED_EU[o.instance_type])
        assert lin.options == []
        assert lin.current_monthly_cost is None
        assert "no Linux/UNIX (shared tenancy) prices for eu-west-1" in lin.reason
    finally:
        pool.shutdown(cancel_futures=True)
