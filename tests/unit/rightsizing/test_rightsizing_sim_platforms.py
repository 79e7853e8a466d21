"""The simulator's opt-in OS and licence mix: priced in, arm64 only where the OS runs it."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from cli import build_app
from simulator import SimConfig, SimulatedOrg, simulate_organisation
from simulator.catalogue import ARM_PLATFORMS, PLATFORM_USD_PER_VCPU_HOUR, load_instance_types
from simulator.config import PLATFORM_MIX
from simulator.exceptions import SimConfigError
from simulator.inventory_out import inventory_records

BASE = {"seed": 4, "days": 30, "instances": 300, "cost_anomalies": 0, "metric_anomalies": 0}


@pytest.fixture(scope="module")
def pair() -> tuple[SimulatedOrg, SimulatedOrg]:
    linux = simulate_organisation(SimConfig(**BASE))
    mixed = simulate_organisation(SimConfig(**BASE, platform_mix=PLATFORM_MIX))
    return linux, mixed


def test_mix_draws_every_platform_and_keeps_the_rest_of_the_fleet(pair) -> None:
    linux, mixed = pair
    assert {i.platform for i in linux.instances} == {"Linux/UNIX"}
    assert {i.platform for i in mixed.instances} == set(PLATFORM_USD_PER_VCPU_HOUR)
    for a, b in zip(linux.instances, mixed.instances, strict=True):
        assert (a.instance_id, a.instance_type, a.region, a.expected_finding) == (
            b.instance_id, b.instance_type, b.region, b.expected_finding,
        )  # fmt: skip


def test_graviton_instances_only_run_arm64_platforms(pair) -> None:
    _, mixed = pair
    arm = [i for i in mixed.instances if i.instance_type.split(".")[0].endswith("g")]
    assert arm
    assert {i.platform for i in arm} <= set(ARM_PLATFORMS)


def test_licence_is_priced_into_the_instance_the_bill_and_the_inventory(pair) -> None:
    linux, mixed = pair
    types = load_instance_types()
    for a, b in zip(linux.instances, mixed.instances, strict=True):
        uplift = PLATFORM_USD_PER_VCPU_HOUR[b.platform] * types[b.instance_type].vcpu
        assert b.usd_per_hour == pytest.approx(a.usd_per_hour + uplift, abs=1e-6)

    def box(org: SimulatedOrg) -> float:
        c = org.daily_costs
        return float(c[c.usage_type.str.contains("BoxUsage")].cost.sum())

    assert box(mixed) > box(linux) * 1.2
    records = {r["instance_id"]: r["platform"] for r in inventory_records(mixed)}
    assert records == {i.instance_id: i.platform for i in mixed.instances}
    windows = next(i for i in mixed.instances if i.platform == "Windows")
    assert windows.to_json()["platform"] == "Windows"
    assert "platform" not in linux.instances[0].to_json()  # Linux truth reads as before


def test_bad_mix_is_rejected() -> None:
    with pytest.raises(SimConfigError, match="unknown platforms"):
        SimConfig(platform_mix=(("BeOS", 1.0),))
    with pytest.raises(SimConfigError, match="sum to 1"):
        SimConfig(platform_mix=(("Windows", 0.5),))


def test_cli_platforms_flag_writes_an_inventory_of_every_os(tmp_path) -> None:
    args = ["simulate", "--seed", "4", "--days", "30", "--instances", "120", "--format", "cur2",
            "--out", str(tmp_path), "--platforms"]  # fmt: skip
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "inventory.jsonl").read_bytes().splitlines()
    assert len({orjson.loads(line)["platform"] for line in lines}) > 5
