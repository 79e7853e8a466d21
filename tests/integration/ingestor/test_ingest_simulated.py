from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.ingestor.app import event_producer
from services.ingestor.cur_runner import CurRunner, make_source
from services.ingestor.settings import IngestorSettings
from services.ingestor.state import StateStore
from shared.topics import CUR_LINE_ITEMS
from simulator import SimConfig, simulate_organisation
from simulator.deliveries import plan_deliveries
from simulator.writers import write_cur
from tests.integration.ingestor.reading import per_day_totals, read_topic

pytestmark = pytest.mark.integration

# The simulator promises each day's line items sum to its daily_costs within this.
SIM_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def org():
    return simulate_organisation(
        SimConfig(seed=5, accounts=2, days=40, start=date(2026, 6, 1), instances=4)
    )


async def ingest(settings: IngestorSettings, root: Path) -> list:
    async with event_producer(settings) as producer:
        state = StateStore(settings.ingestor_state_dir)
        return await CurRunner(make_source(str(root)), producer, state).run_once()


@pytest.mark.parametrize("fmt", ["legacy", "cur2", "focus"])
async def test_simulated_deliveries_and_restatement_land_as_the_final_daily_costs(
    org, fmt: str, tmp_path: Path, make_settings: Callable[..., IngestorSettings]
) -> None:
    out = tmp_path / "bucket"
    restated = [d for d in plan_deliveries(org) if d.sequence > 0]
    assert restated, "the simulation should restate a month"
    first_wave = write_cur(org, str(out), fmt, until=restated[0].issued_at - timedelta(seconds=1))
    settings = make_settings()
    reports = await ingest(settings, out)
    assert len(reports) == len(first_wave)

    every = write_cur(org, str(out), fmt)  # the restating delivery lands
    second = await ingest(settings, out)
    assert [r.rows for r in second] == [d.rows for d in every if d.sequence > 0]

    totals = per_day_totals(await read_topic(settings, CUR_LINE_ITEMS, light=True))
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in org.daily_costs.itertuples():
        expected[(row.account_id, row.date.date().isoformat())] += Decimal(repr(row.cost))
    assert totals.keys() == expected.keys()
    worst = max(abs(totals[k] - expected[k]) for k in expected)
    assert worst < Decimal(repr(SIM_TOLERANCE))
