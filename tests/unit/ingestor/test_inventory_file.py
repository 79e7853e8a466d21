"""The simulator's inventory file feeds the same change detection as a real scan."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.ingestor.exceptions import FileRefused
from services.ingestor.inventory.changes import diff
from services.ingestor.inventory.file_source import read_inventory_file
from simulator import SimConfig, simulate_organisation
from simulator.inventory_out import write_inventory


def test_simulated_fleet_round_trips_and_publishes_every_instance(tmp_path: Path) -> None:
    org = simulate_organisation(SimConfig(seed=3, accounts=2, days=30, instances=15))
    write_inventory(org, str(tmp_path / "inventory.jsonl"))
    records, scopes = read_inventory_file(tmp_path / "inventory.jsonl")
    assert {r["instance_id"]: r["instance_type"] for r in records} == {
        i.instance_id: i.instance_type for i in org.instances
    }
    first = diff({}, records, scopes)
    assert len(first.changed) == len(org.instances)
    assert first.deleted == []
    again = diff(first.state, records, scopes)
    assert again.changed == []


def test_bad_records_refuse_the_file_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "inventory.jsonl"
    path.write_bytes(orjson.dumps({"instance_id": "i-1", "account_id": "1"}) + b"\n")
    with pytest.raises(FileRefused, match=r"inventory.jsonl:1: missing region, instance_type"):
        read_inventory_file(path)
    path.write_text("{not json\n")
    with pytest.raises(FileRefused, match="not JSON"):
        read_inventory_file(path)


def test_tenancy_is_carried_and_defaults_to_shared(tmp_path: Path) -> None:
    base = {"account_id": "1", "region": "eu-west-1", "instance_type": "m5.large",
            "state": "running", "platform": "Windows"}  # fmt: skip
    path = tmp_path / "inventory.jsonl"
    path.write_bytes(
        orjson.dumps({**base, "instance_id": "i-1", "tenancy": "dedicated"})
        + b"\n"
        + orjson.dumps({**base, "instance_id": "i-2"})
        + b"\n"
    )
    records, _ = read_inventory_file(path)
    assert {r["instance_id"]: r["tenancy"] for r in records} == {
        "i-1": "dedicated",
        "i-2": "default",
    }
    moved = [dict(records[0], tenancy="default"), records[1]]
    first = diff({}, records, ["1/eu-west-1/"])
    assert [c["instance_id"] for c in diff(first.state, moved, ["1/eu-west-1/"]).changed] == ["i-1"]
