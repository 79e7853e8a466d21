"""`catalogue refresh` against a local endpoint speaking the Price List protocol (price_api)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from services.rightsizing.catalogue import DEFAULT_PATH, load_catalogue
from services.rightsizing.pricing_client import refresh_catalogue
from tests.integration.rightsizing.price_api import PriceApi, serve
from tests.unit.rightsizing.pricelist_docs import product

pytestmark = pytest.mark.integration


PRODUCTS = [
    product("m5.large", "eu-west-1", "linux", "0.1070000000", ri_1y="0.01"),
    product("m5.xlarge", "eu-west-1", "linux", "0.2140000000", vcpu=4, memory="16 GiB"),
    product("m7g.large", "eu-west-1", "linux", "0.0910000000", processor="AWS Graviton3 Processor"),
    product(
        "m99g.large", "eu-west-1", "linux", "0.0500000000", processor="AWS Graviton9 Processor"
    ),
    product("m5.2xlarge", "eu-west-1", "linux", "0.4280000000", vcpu=8, memory="32 GiB"),
]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[PriceApi]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with serve(PriceApi(PRODUCTS)) as running:
        yield running


def test_refresh_adds_region_prices_and_new_types(api: PriceApi, tmp_path: Path) -> None:
    output = tmp_path / "catalogue.csv"
    source = tmp_path / "source.csv"
    source.write_bytes(DEFAULT_PATH.read_bytes())
    counts = refresh_catalogue(source, output, ["eu-west-1"], api.url)
    assert counts == {"eu-west-1": 5}
    assert len(api.requests) == 3  # 5 products, pages of 2
    filters = {f["Field"]: f["Value"] for f in api.requests[0]["Filters"]}
    assert filters["operatingSystem"] == "Linux"
    assert filters["tenancy"] == "Shared"
    refreshed = load_catalogue(output)
    assert refreshed.get("m5.large").price("eu-west-1") == pytest.approx(0.107)
    assert refreshed.get("m5.large").price("us-east-1") == pytest.approx(0.096)  # kept
    new = refreshed.get("m99g.large")
    assert new.arch == "arm64"
    assert new.vcpu == 2
    assert refreshed.has_prices("eu-west-1")


def test_cli_refresh_writes_the_file(api: PriceApi, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    result = CliRunner().invoke(
        build_app(),
        [
            "rightsizing",
            "catalogue",
            "refresh",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            api.url,
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "eu-west-1: 5 prices updated" in result.output
    assert load_catalogue(output).get("m7g.large").price("eu-west-1") == pytest.approx(0.091)
