"""Prices per region, OS/licence and tenancy: parsing, the file, and no borrowing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.rightsizing.catalogue import DEFAULT_PATH, Catalogue, load_catalogue
from services.rightsizing.catalogue.pricelist import (
    get_products_filters,
    rates_from_document,
    rates_from_savings_plans,
)
from services.rightsizing.evaluate import EvaluationConfig, evaluate_fleet
from services.rightsizing.exceptions import CatalogueError
from services.rightsizing.intake import apply_inventory
from services.rightsizing.recommender import SizingPolicy, assess_instance
from services.rightsizing.sketches import decode_state, encode_state
from shared.ec2_platforms import (
    os_from_platform_details,
    os_from_price_attributes,
    price_key,
)
from shared.ec2_prices import PriceFileError, PriceTable, Rates, load_prices, save_prices
from shared.events import Ec2Instance
from tests.unit.rightsizing.pricelist_docs import product, savings_plan_rate
from tests.unit.rightsizing.rightsizing_synth import make_state, noisy

POLICY = SizingPolicy()
NOW = datetime(2026, 1, 19, tzinfo=UTC)


def test_every_platform_details_value_maps_to_its_own_list() -> None:
    seen = {
        os_from_platform_details(p)
        for p in (
            "Linux/UNIX",
            "Red Hat Enterprise Linux",
            "SUSE Linux",
            "Windows",
            "Windows with SQL Server Web",
            "Windows with SQL Server Standard",
            "Windows with SQL Server Enterprise",
            "Linux with SQL Server Web",
            "Linux with SQL Server Standard",
            "Linux with SQL Server Enterprise",
        )
    }
    assert len(seen) == 10
    assert None not in seen
    assert os_from_platform_details("Red Hat Enterprise Linux with HA") is None
    byol = {
        "operatingSystem": "Windows",
        "preInstalledSw": "NA",
        "licenseModel": "Bring your own license",
    }
    assert os_from_price_attributes(byol) is None


def test_filters_select_one_licence_included_list() -> None:
    f = get_products_filters("eu-west-1", "windows_sql_std", "dedicated")
    assert f == {
        "regionCode": "eu-west-1",
        "operatingSystem": "Windows",
        "preInstalledSw": "SQL Std",
        "tenancy": "Dedicated",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }


def test_document_gives_on_demand_and_standard_no_upfront_ri_rates() -> None:
    doc = product("m5.large", "eu-west-1", "windows", "0.2060", ri_1y="0.1550", ri_3y="0.1240")
    key, rates = rates_from_document(doc) or (None, None)
    assert key == ("eu-west-1", "windows", "shared", "m5.large")
    assert rates == Rates(on_demand=0.206, ri_1y_no_upfront=0.155, ri_3y_no_upfront=0.124)


def test_document_region_comes_from_the_request_but_is_never_relabelled() -> None:
    bare = product("m5.large", "eu-west-1", "linux", "0.107", region_code=False)
    assert rates_from_document(bare, "eu-west-1")[0][0] == "eu-west-1"  # type: ignore[index]
    assert rates_from_document(bare) is None  # no region known: not kept
    other = product("m5.large", "us-east-1", "linux", "0.096")
    assert rates_from_document(other, "eu-west-1") is None


def test_bad_document_is_an_error_that_says_what_it_is() -> None:
    with pytest.raises(CatalogueError, match="not GetProducts JSON"):
        rates_from_document("{not json")
    with pytest.raises(CatalogueError, match="not GetProducts JSON"):
        rates_from_document(json.dumps({"terms": {}}))


def test_savings_plans_result_gives_the_compute_rate_for_its_term() -> None:
    key, rates = rates_from_savings_plans(
        savings_plan_rate("m5.large", "eu-west-1", "rhel", "0.11", 3)
    ) or (None, None)
    assert key == ("eu-west-1", "rhel", "shared", "m5.large")
    assert rates == Rates(compute_sp_3y_no_upfront=0.11)
    ec2_plan = savings_plan_rate("m5.large", "eu-west-1", "rhel", "0.09")
    ec2_plan["savingsPlanOffering"]["planType"] = "EC2Instance"
    assert rates_from_savings_plans(ec2_plan) is None
    unknown_os = savings_plan_rate("m5.large", "eu-west-1", "rhel", "0.09")
    unknown_os["properties"][2]["value"] = "Windows BYOL"
    assert rates_from_savings_plans(unknown_os) is None


def test_price_file_round_trips_byte_identically(tmp_path: Path) -> None:
    table = PriceTable()
    table.update(("eu-west-1", "windows", "shared", "m5.large"), Rates(on_demand=0.206))
    table.update(
        ("eu-west-1", "windows", "shared", "m5.large"), Rates(compute_sp_1y_no_upfront=0.15)
    )
    table.update(
        ("ap-south-1", "suse", "dedicated", "c5.xlarge"), Rates(on_demand=0.3, ri_1y_no_upfront=0.2)
    )
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    assert save_prices(table, a) == 2
    loaded = load_prices(a)
    assert loaded.get("eu-west-1", "windows", "shared", "m5.large") == Rates(
        on_demand=0.206, compute_sp_1y_no_upfront=0.15
    )
    save_prices(loaded, b)
    assert a.read_bytes() == b.read_bytes()
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(PriceFileError, match="malformed"):
        load_prices(tmp_path / "bad.csv.gz")
    with pytest.raises(CatalogueError, match="malformed"):
        load_catalogue(DEFAULT_PATH, tmp_path / "bad.csv.gz")
    # The shared look-up, as another service would use it: EC2's own words.
    assert loaded.hourly_rates("eu-west-1", "Windows", "default", "m5.large") == Rates(
        on_demand=0.206, compute_sp_1y_no_upfront=0.15
    )
    assert loaded.hourly_rates("eu-west-1", "Linux/UNIX", "default", "m5.large") is None
    assert loaded.hourly_rates("eu-west-1", "Windows", "host", "m5.large") is None


def windows_eu_catalogue(tmp_path: Path, types: list[tuple[str, float]]) -> Catalogue:
    """The shipped catalogue plus a Windows eu-west-1 list priced for ``types``."""
    table = PriceTable()
    for name, usd in types:
        table.update(("eu-west-1", "windows", "shared", name), Rates(on_demand=usd))
    path = tmp_path / "prices.csv.gz"
    save_prices(table, path)
    return load_catalogue(DEFAULT_PATH, path)


WINDOWS_EU = [
    ("m5.2xlarge", 0.812),
    ("m5.xlarge", 0.406),
    ("m5.large", 0.203),
    ("m6i.xlarge", 0.406),
    ("c5.xlarge", 0.376),
    ("m6g.xlarge", 0.15),  # an arm64 rate no Windows instance can use
]


def test_windows_in_eu_is_priced_from_its_own_list_only(tmp_path: Path) -> None:
    catalogue = windows_eu_catalogue(tmp_path, WINDOWS_EU)
    state = make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    current = catalogue.get("m5.2xlarge")
    opted = SizingPolicy(other_architectures=True)
    a = assess_instance(state.window(14), current, "eu-west-1", catalogue, opted, "Windows")
    assert a.finding == "overprovisioned"
    assert a.current_monthly_cost == pytest.approx(0.812 * 730)
    assert a.options, "Windows options in eu-west-1"
    windows = dict(WINDOWS_EU)
    for o in a.options:
        assert o.hourly_price == pytest.approx(windows[o.itype.name])
        assert o.itype.arch == "amd64"  # never Graviton for Windows, even opted in
    # The same instance as Linux in eu-west-1 has no list: nothing borrowed from Windows'.
    linux = assess_instance(state.window(14), current, "eu-west-1", catalogue, POLICY)
    assert linux.options == []
    assert linux.current_monthly_cost is None
    assert any("no Linux/UNIX (shared tenancy) prices for eu-west-1" in n for n in linux.notes)
    # Dedicated tenancy is its own list too.
    dedicated = assess_instance(
        state.window(14), current, "eu-west-1", catalogue, POLICY, "Windows", "dedicated"
    )
    assert dedicated.options == []
    assert dedicated.current_monthly_cost is None


def test_a_type_missing_from_its_list_is_not_priced(tmp_path: Path) -> None:
    catalogue = windows_eu_catalogue(tmp_path, [("m5.xlarge", 0.406)])
    state = make_state("i", "m5.2xlarge", noisy(12.0))
    a = assess_instance(
        state.window(14), catalogue.get("m5.2xlarge"), "eu-west-1", catalogue, POLICY, "Windows"
    )
    assert a.options == []
    assert a.current_monthly_cost is None
    assert any(
        "m5.2xlarge has no Windows (shared tenancy) price in eu-west-1" in n for n in a.notes
    )
    assert catalogue.has_prices(price_key("eu-west-1", "windows"))
    assert not catalogue.has_prices(price_key("eu-west-1", "windows", "dedicated"))


def test_inventory_tenancy_picks_the_dedicated_list(tmp_path: Path) -> None:
    table = PriceTable()
    for name, usd in (("m5.2xlarge", 0.85), ("m5.xlarge", 0.43), ("m5.large", 0.22)):
        table.update(("eu-west-1", "windows", "dedicated", name), Rates(on_demand=usd))
    path = tmp_path / "prices.csv.gz"
    save_prices(table, path)
    catalogue = load_catalogue(DEFAULT_PATH, path)
    state = make_state("i", "m5.2xlarge", noisy(12.0), mem=noisy(20.0, seed=3))
    state.region, state.platform = "eu-west-1", "Windows"
    item = Ec2Instance(id="e", instance_id="i", account_id=state.account_id,
                       region="eu-west-1", instance_type="m5.2xlarge", state="running",
                       platform="Windows", tenancy="dedicated", observed_at=NOW)  # fmt: skip
    apply_inventory(state, item)
    assert decode_state(encode_state(state)).tenancy == "dedicated"
    rec = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0].recommendation()
    assert rec is not None
    assert rec.current_monthly_cost == pytest.approx(0.85 * 730)
    assert rec.options
    state.tenancy = "host"
    rec = evaluate_fleet([state], catalogue, EvaluationConfig(), NOW)[0].recommendation()
    assert rec is not None
    assert rec.options == []
    assert "No price list is known for 'host' tenancy" in rec.reason
