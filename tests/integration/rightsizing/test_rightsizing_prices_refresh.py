"""`prices refresh` through real boto3 against a local endpoint speaking both rate APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from services.rightsizing.catalogue import DEFAULT_PATH, load_catalogue
from services.rightsizing.pricing_client import refresh_prices
from shared.ec2_prices import Rates, load_prices
from tests.integration.rightsizing.price_api import PriceApi, serve
from tests.unit.rightsizing.pricelist_docs import product, savings_plan_rate

pytestmark = pytest.mark.integration

PRODUCTS = [
    product("m5.large", "eu-west-1", "linux", "0.1070", ri_1y="0.0670", ri_3y="0.0460"),
    product("m5.xlarge", "eu-west-1", "linux", "0.2140", ri_1y="0.1340"),
    product("m5.large", "eu-west-1", "windows", "0.1990", ri_1y="0.1590"),
    product("m5.xlarge", "eu-west-1", "windows", "0.3980"),
    product("m5.xlarge", "eu-west-1", "windows_sql_std", "1.1480"),
    product("m5.large", "eu-west-1", "windows", "0.2190", tenancy="Dedicated"),
    product("m5.large", "ap-south-1", "rhel", "0.1210"),
    product("m5.large", "ap-south-1", "suse", "0.1080"),
]
SP_RATES = [
    savings_plan_rate("m5.large", "eu-west-1", "linux", "0.0740", 1),
    savings_plan_rate("m5.large", "eu-west-1", "linux", "0.0510", 3),
    savings_plan_rate("m5.large", "eu-west-1", "windows", "0.1660", 1),
    savings_plan_rate("m5.xlarge", "eu-west-1", "windows_sql_std", "1.0800", 1),
    savings_plan_rate("m5.large", "ap-south-1", "rhel", "0.0960", 1),
]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[PriceApi]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with serve(PriceApi(PRODUCTS, SP_RATES)) as running:
        yield running


def test_refresh_writes_every_list_with_commitment_rates(api: PriceApi, tmp_path: Path) -> None:
    out = tmp_path / "prices.csv.gz"
    counts = refresh_prices(
        out, ["eu-west-1", "ap-south-1"], ["linux", "windows", "windows_sql_std", "rhel", "suse"],
        ["shared", "dedicated"], api.url, api.url,
    )  # fmt: skip
    assert counts[("eu-west-1", "linux", "shared")] == 2
    assert counts[("eu-west-1", "windows", "shared")] == 2
    assert counts[("eu-west-1", "windows", "dedicated")] == 1
    assert counts[("eu-west-1", "rhel", "shared")] == 0
    assert counts[("ap-south-1", "suse", "shared")] == 1
    table = load_prices(out)
    assert table.get("eu-west-1", "linux", "shared", "m5.large") == Rates(
        on_demand=0.107, ri_1y_no_upfront=0.067, ri_3y_no_upfront=0.046,
        compute_sp_1y_no_upfront=0.074, compute_sp_3y_no_upfront=0.051,
    )  # fmt: skip
    assert table.get("eu-west-1", "windows", "dedicated", "m5.large") == Rates(on_demand=0.219)
    assert table.get("eu-west-1", "windows_sql_std", "shared", "m5.xlarge") == Rates(
        on_demand=1.148, compute_sp_1y_no_upfront=1.08
    )
    assert table.get("ap-south-1", "rhel", "shared", "m5.large") == Rates(
        on_demand=0.121, compute_sp_1y_no_upfront=0.096
    )
    assert table.get("ap-south-1", "linux", "shared", "m5.large") is None  # never borrowed
    gets = [r for r in api.requests if r["api"] == "AWSPriceListService.GetProducts"]
    first = {f["Field"]: f["Value"] for f in gets[0]["Filters"]}
    assert first["licenseModel"] == "No License required"
    assert first["capacitystatus"] == "Used"
    sps = [r for r in api.requests if r["api"] == "savingsplans"]
    assert sps[0]["savingsPlanTypes"] == ["Compute"]
    assert sps[0]["savingsPlanPaymentOptions"] == ["No Upfront"]
    assert len(sps) == 3  # eu-west-1: 4 rates in pages of 2; ap-south-1: 1
    # The recommender sees the new lists under their own keys.
    catalogue = load_catalogue(DEFAULT_PATH, out)
    assert catalogue.get("m5.large").price("eu-west-1/windows/shared") == pytest.approx(0.199)
    assert catalogue.get("m5.large").price("eu-west-1") == pytest.approx(0.107)
    assert catalogue.get("m5.large").price("us-east-1") == pytest.approx(0.096)  # kept


def test_refresh_keeps_other_lists_already_in_the_file(api: PriceApi, tmp_path: Path) -> None:
    out = tmp_path / "prices.csv.gz"
    refresh_prices(out, ["ap-south-1"], ["rhel"], ["shared"], api.url, api.url)
    refresh_prices(out, ["eu-west-1"], ["windows"], ["shared"], api.url, savings_plans=False)
    table = load_prices(out)
    assert table.get("ap-south-1", "rhel", "shared", "m5.large") is not None
    assert table.get("eu-west-1", "windows", "shared", "m5.large") == Rates(
        on_demand=0.199, ri_1y_no_upfront=0.159
    )


def test_cli_prices_refresh(api: PriceApi, tmp_path: Path) -> None:
    out = tmp_path / "p.csv.gz"
    args = ["rightsizing", "prices", "refresh", "--region", "eu-west-1", "--os", "windows",
            "--tenancy", "shared", "--prices", str(out), "--endpoint-url", api.url,
            "--savingsplans-endpoint-url", api.url]  # fmt: skip
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    assert "eu-west-1 windows shared: 2 instance types priced" in result.output
    shown = CliRunner().invoke(
        build_app(), ["rightsizing", "prices", "show", "m5.large", "--region", "eu-west-1",
                      "--prices", str(out)],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "compute_sp_1y_no_upfront=0.166" in shown.output
    bad = CliRunner().invoke(build_app(), [*args[:5], "--os", "windoze", "--prices", str(out)])
    assert bad.exit_code == 2
    assert "unknown OS key" in bad.output
