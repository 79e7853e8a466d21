"""Commitment data for the browser tests: a simulated RI/SP CUR 2.0 delivery, as AWS writes it.

The demo's organisation is billed On-Demand only, so the browser fixture adds a
second, small organisation (its own seed, so its two accounts are not the
demo's) whose fleet holds Reserved Instances and Savings Plans
(``simulator.commitments``): the first account's plan expires soon, the second
holds an oversized plan (a utilisation alert). Its CUR 2.0 delivery goes
through the same ``spendstream ingest cur`` as the demo's, as
``tests/integration/gateway/test_commitments_end_to_end.py`` does.

Right-sizing reads commitment rates from its price file; none ships with the
repository (``rightsizing prices refresh`` builds one from AWS), so the
pipeline is given a price file holding the simulated world's rates, the
rates its bill was made with. Its On-Demand rates are the catalogue's own
(the simulator prices its fleet from the catalogue), so the demo's right-sizing
figures are unchanged.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shared.ec2_prices import save_prices
from shared.events import CostLineItem
from simulator import SimConfig, simulate_organisation
from simulator.commitment_cur import cur2_table
from simulator.commitment_lines import delivery_events
from simulator.commitments import CommitmentWorld, build_world
from tests.fixtures.cur.builders import export_delivery, write_parquet

SEED = 23
START = date(2026, 1, 1)
DAYS = 8  # past the 7-day lookback
TENANT = "committed"


def commitment_world() -> CommitmentWorld:
    """Two accounts' fleet, hour by hour, with the RIs and Savings Plans they hold."""
    org = simulate_organisation(SimConfig(seed=SEED, accounts=2, days=30, instances=12))
    return build_world(org.fleet, START, DAYS, seed=SEED)


def world_accounts(world: CommitmentWorld) -> list[str]:
    """The world's member accounts, sorted."""
    return sorted({m.account_id for m in world.members})


def write_prices(world: CommitmentWorld, path: Path) -> Path:
    """The world's On-Demand, RI and Savings Plan rates as a price file."""
    save_prices(world.price_table(), path)
    return path


def write_delivery(world: CommitmentWorld, root: Path) -> Path:
    """Every account's billing period as one CUR 2.0 Data Exports delivery under ``root``."""
    lines = [
        e
        for a in world_accounts(world)
        for e in delivery_events(world, a, 0, DAYS * 24, f"sim-{a}")
        if isinstance(e, CostLineItem)
    ]
    root.mkdir(parents=True, exist_ok=True)
    data = write_parquet(cur2_table(lines), root / "cur2-00001.snappy.parquet")
    bucket = root / "bucket"
    export_delivery(bucket, [data], period=START, execution_id="commitments-1")
    data.unlink()
    return bucket
