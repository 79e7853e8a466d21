"""`prices refresh` through real boto3 against a local endpoint speaking both rate APIs.

moto (5.2.5, and its current source) has neither a ``pricing`` nor a
``savingsplans`` backend, so a small stdlib server answers
``AWSPriceListService.GetProducts`` (JSON 1.1, TERM_MATCH filters applied,
NextToken paging) and ``POST /DescribeSavingsPlansOfferingRates`` (REST-JSON,
nextToken paging) from recorded-shape documents; boto3 reaches it through
``endpoint_url``: real clients, real HTTP, real signing, nothing patched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import build_app
from services.rightsizing.catalogue import DEFAULT_PATH, load_catalogue
from services.rightsizing.pricing_client import refresh_prices
from shared.ec2_prices import Rates, load_prices
from tests.unit.rightsizing.pricelist_docs import product, savings_plan_rate

pytestmark = pytest.mark.integration
PAGE = 2

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


def _matches(doc: str, filters: list[dict[str, str]]) -> bool:
    attrs = json.loads(doc)["product"]["attributes"]
    return all(attrs.get(f["Field"]) == f["Value"] for f in filters)


def _sp_matches(row: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    props = {p["name"]: p["value"] for p in row["properties"]}
    return all(props.get(f["name"]) in f["values"] for f in filters)


class RatesHandler(BaseHTTPRequestHandler):
    requests_seen: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/DescribeSavingsPlansOfferingRates":
            self.requests_seen.append({"api": "savingsplans", **body})
            rows = [r for r in SP_RATES if _sp_matches(r, body.get("filters", []))]
            rows = [
                r for r in rows if r["savingsPlanOffering"]["planType"] in body["savingsPlanTypes"]
            ]
            start = int(body.get("nextToken") or 0)
            page: dict[str, Any] = {"searchResults": rows[start : start + PAGE]}
            if start + PAGE < len(rows):
                page["nextToken"] = str(start + PAGE)
            self._reply(200, page)
            return
        target = self.headers.get("X-Amz-Target")
        self.requests_seen.append({"api": target, **body})
        if target != "AWSPriceListService.GetProducts" or body.get("ServiceCode") != "AmazonEC2":
            self._reply(400, {"__type": "InvalidParameterException", "message": "bad request"})
            return
        items = [d for d in PRODUCTS if _matches(d, body["Filters"])]
        start = int(body.get("NextToken") or 0)
        page = {"FormatVersion": "aws_v1", "PriceList": items[start : start + PAGE]}
        if start + PAGE < len(items):
            page["NextToken"] = str(start + PAGE)
        self._reply(200, page)

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    RatesHandler.requests_seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RatesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_refresh_writes_every_list_with_commitment_rates(endpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "prices.csv.gz"
    counts = refresh_prices(
        out, ["eu-west-1", "ap-south-1"], ["linux", "windows", "windows_sql_std", "rhel", "suse"],
        ["shared", "dedicated"], endpoint, endpoint,
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
    gets = [r for r in RatesHandler.requests_seen if r["api"] == "AWSPriceListService.GetProducts"]
    first = {f["Field"]: f["Value"] for f in gets[0]["Filters"]}
    assert first["licenseModel"] == "No License required"
    assert first["capacitystatus"] == "Used"
    sps = [r for r in RatesHandler.requests_seen if r["api"] == "savingsplans"]
    assert sps[0]["savingsPlanTypes"] == ["Compute"]
    assert sps[0]["savingsPlanPaymentOptions"] == ["No Upfront"]
    assert len(sps) == 3  # eu-west-1: 4 rates in pages of 2; ap-south-1: 1
    # The recommender sees the new lists under their own keys.
    catalogue = load_catalogue(DEFAULT_PATH, out)
    assert catalogue.get("m5.large").price("eu-west-1/windows/shared") == pytest.approx(0.199)
    assert catalogue.get("m5.large").price("eu-west-1") == pytest.approx(0.107)
    assert catalogue.get("m5.large").price("us-east-1") == pytest.approx(0.096)  # kept


def test_refresh_keeps_other_lists_already_in_the_file(endpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "prices.csv.gz"
    refresh_prices(out, ["ap-south-1"], ["rhel"], ["shared"], endpoint, endpoint)
    refresh_prices(out, ["eu-west-1"], ["windows"], ["shared"], endpoint, savings_plans=False)
    table = load_prices(out)
    assert table.get("ap-south-1", "rhel", "shared", "m5.large") is not None
    assert table.get("eu-west-1", "windows", "shared", "m5.large") == Rates(
        on_demand=0.199, ri_1y_no_upfront=0.159
    )


def test_cli_prices_refresh(endpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "p.csv.gz"
    args = ["rightsizing", "prices", "refresh", "--region", "eu-west-1", "--os", "windows",
            "--tenancy", "shared", "--prices", str(out), "--endpoint-url", endpoint,
            "--savingsplans-endpoint-url", endpoint]  # fmt: skip
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
