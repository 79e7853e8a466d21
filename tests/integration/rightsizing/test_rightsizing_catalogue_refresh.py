"""`catalogue refresh` against a local HTTP endpoint speaking the Price List JSON protocol.

moto has no ``pricing`` backend, so a tiny stdlib server answers
``AWSPriceListService.GetProducts`` (JSON 1.1, NextToken paging) and boto3 is
pointed at it with ``endpoint_url``: real boto3, real HTTP, nothing patched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from services.rightsizing.catalogue import DEFAULT_PATH, load_catalogue
from services.rightsizing.pricing_client import refresh_catalogue

pytestmark = pytest.mark.integration
PAGE = 2


def document(instance_type: str, vcpu: int, memory: str, usd: str, processor: str) -> str:
    """A GetProducts document shaped like the real one (trimmed)."""
    sku = f"SKU{instance_type.replace('.', '')}"
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {
                    "instanceType": instance_type,
                    "vcpu": str(vcpu),
                    "memory": memory,
                    "operatingSystem": "Linux",
                    "tenancy": "Shared",
                    "preInstalledSw": "NA",
                    "physicalProcessor": processor,
                    "currentGeneration": "Yes",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": usd},
                            },
                        }
                    }
                },
                "Reserved": {
                    f"{sku}.4NA7Y494T4": {
                        "priceDimensions": {
                            f"{sku}.4NA7Y494T4.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": "0.01"},
                            },
                        }
                    }
                },
            },
        }
    )


PRODUCTS = {
    "eu-west-1": [
        document("m5.large", 2, "8 GiB", "0.1070000000", "Intel Xeon Platinum 8175"),
        document("m5.xlarge", 4, "16 GiB", "0.2140000000", "Intel Xeon Platinum 8175"),
        document("m7g.large", 2, "8 GiB", "0.0910000000", "AWS Graviton3 Processor"),
        document("m99g.large", 2, "8 GiB", "0.0500000000", "AWS Graviton9 Processor"),
        document("m5.2xlarge", 8, "32 GiB", "0.4280000000", "Intel Xeon Platinum 8175"),
    ],
}


class PriceListHandler(BaseHTTPRequestHandler):
    requests_seen: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        target = self.headers.get("X-Amz-Target")
        self.requests_seen.append({"target": target, **body})
        if target != "AWSPriceListService.GetProducts" or body.get("ServiceCode") != "AmazonEC2":
            self._reply(400, {"__type": "InvalidParameterException", "message": "bad request"})
            return
        region = next(f["Value"] for f in body["Filters"] if f["Field"] == "regionCode")
        items = PRODUCTS.get(region, [])
        start = int(body.get("NextToken") or 0)
        page: dict = {"FormatVersion": "aws_v1", "PriceList": items[start : start + PAGE]}
        if start + PAGE < len(items):
            page["NextToken"] = str(start + PAGE)
        self._reply(200, page)

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pricing_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    PriceListHandler.requests_seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PriceListHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_refresh_adds_region_prices_and_new_types(pricing_endpoint: str, tmp_path: Path) -> None:
    output = tmp_path / "catalogue.csv"
    source = tmp_path / "source.csv"
    source.write_bytes(DEFAULT_PATH.read_bytes())
    counts = refresh_catalogue(source, output, ["eu-west-1"], pricing_endpoint)
    assert counts == {"eu-west-1": 5}
    assert len(PriceListHandler.requests_seen) == 3  # 5 products, pages of 2
    filters = {f["Field"]: f["Value"] for f in PriceListHandler.requests_seen[0]["Filters"]}
    assert filters["operatingSystem"] == "Linux"
    assert filters["tenancy"] == "Shared"
    refreshed = load_catalogue(output)
    assert refreshed.get("m5.large").price("eu-west-1") == pytest.approx(0.107)
    assert refreshed.get("m5.large").price("us-east-1") == pytest.approx(0.096)  # kept
    new = refreshed.get("m99g.large")
    assert new.arch == "arm64"
    assert new.vcpu == 2
    assert refreshed.has_prices("eu-west-1")


def test_cli_refresh_writes_the_file(pricing_endpoint: str, tmp_path: Path) -> None:
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
            pricing_endpoint,
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "eu-west-1: 5 prices updated" in result.output
    assert load_catalogue(output).get("m7g.large").price("eu-west-1") == pytest.approx(0.091)
