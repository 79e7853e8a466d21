"""Opt-in: a business unit of the organisation that buys Reserved Instances and Savings Plans.

The organisation's own accounts are billed On-Demand, and every eval reads
their files as truth, so they stay exactly as they are. A FinOps user also
wants to see coverage, utilisation and what to buy; this unit gives them that:
two more member accounts (a second seeded fleet, ``UNIT_INSTANCES`` strong)
whose instances run hour by hour through the last ``days`` of the window
under the commitments ``simulator.commitments`` gives them (the first
account's plan expires soon, the second holds an oversized plan). Their bill
is one CUR 2.0 delivery per billing period, and the rates it was made with are
written as a price file, the file right-sizing reads commitment rates from
(none ships with the repository). Its On-Demand rates are the catalogue's, so
the organisation's own right-sizing figures do not move.

``days`` defaults to 14: past the 7-day commitment lookback, and short of the
cost detectors' 21-day warm-up, so the unit's fresh accounts raise no cost
anomaly of their own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import orjson

from shared.ec2_prices import save_prices
from shared.events import CostLineItem
from simulator.commitment_lines import delivery_events
from simulator.commitments import CommitmentWorld, build_world
from simulator.config import SimConfig
from simulator.export_layout import write_export
from simulator.organisation import simulate_organisation

UNIT_ACCOUNTS = 2
UNIT_INSTANCES = 12
DEFAULT_DAYS = 14
EXPORT = "committed-unit"
PRICES_NAME = "prices.csv.gz"
TRUTH_NAME = "committed.json"
# Seeds tried for the unit's fleet before giving up on accounts distinct from the org's.
_SEED_TRIES = 16


@dataclass(frozen=True)
class CommittedUnit:
    """Where the unit's files are, and whose accounts they bill."""

    root: Path  # pass to ``spendstream ingest cur --source``
    prices: Path
    accounts: tuple[str, ...]


def unit_world(config: SimConfig, org_accounts: Collection[str], days: int) -> CommitmentWorld:
    """The unit's fleet hour by hour over the window's last ``days``, with its commitments."""
    if not 8 <= days <= config.days:
        raise ValueError(
            f"commitment days={days}: use 8 (past the 7-day lookback) to {config.days}"
        )
    for n in range(_SEED_TRIES):
        seed = config.seed * 1_000 + 0xC0 + n
        unit = simulate_organisation(
            SimConfig(
                seed=seed,
                accounts=UNIT_ACCOUNTS,
                days=30,
                start=config.start,
                instances=UNIT_INSTANCES,
                cost_anomalies=0,
                metric_anomalies=0,
            )
        )
        if not {m.account_id for m in unit.fleet} & set(org_accounts):
            first = config.start + timedelta(days=config.days - days)
            return build_world(unit.fleet, first, days, seed=seed)
    raise ValueError("no seed gave the committed unit accounts distinct from the organisation's")


def _periods(world: CommitmentWorld) -> list[tuple[int, int]]:
    """[first_hour, last_hour) of each billing month the world's hours fall in."""
    out: list[tuple[int, int]] = []
    first = 0
    for h in range(1, world.hours + 1):
        now = world.start + timedelta(hours=h)
        if h == world.hours or (now.day == 1 and now.hour == 0):
            out.append((first, h))
            first = h
    return out


def write_committed_unit(
    config: SimConfig, org_accounts: Collection[str], out: Path, days: int = DEFAULT_DAYS
) -> CommittedUnit:
    """Write the unit's CUR 2.0 deliveries, its price file and its truth under ``out``."""
    world = unit_world(config, org_accounts, days)
    accounts = tuple(sorted({m.account_id for m in world.members}))
    out.mkdir(parents=True, exist_ok=True)
    for first, last in _periods(world):
        begin = world.start + timedelta(hours=first)
        period = date(begin.year, begin.month, 1)
        lines = [
            e
            for a in accounts
            for e in delivery_events(world, a, first, last, f"{EXPORT}-{a}-{period}")
            if isinstance(e, CostLineItem)
        ]
        write_export(
            out,
            lines,
            export=EXPORT,
            period=period,
            execution_id=f"{EXPORT}-{period:%Y-%m}",
            payer_account_id=accounts[0],
        )
    prices = out / PRICES_NAME
    save_prices(world.price_table(), prices)
    truth = {
        "accounts": list(accounts),
        "start": world.start.isoformat(),
        "hours": world.hours,
        "commitments": [
            {
                "arn": h.arn,
                "account_id": h.account_id,
                "kind": h.kind,
                "hourly": h.hourly,
                "end": h.end.isoformat(),
            }
            for h in world.held
        ],
    }
    (out / TRUTH_NAME).write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))
    return CommittedUnit(out, prices, accounts)
