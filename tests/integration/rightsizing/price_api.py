"""A local endpoint speaking the Price List and Savings Plans rate APIs, for boto3 to call.

moto (5.2.5, and its current source) has neither a ``pricing`` nor a
``savingsplans`` backend, so this stdlib server answers
``AWSPriceListService.GetProducts`` (JSON 1.1, TERM_MATCH filters applied,
NextToken paging) and ``POST /DescribeSavingsPlansOfferingRates`` (REST-JSON,
nextToken paging) from the documents it is given; boto3 reaches it through
``endpoint_url``: real clients, real HTTP, real signing, nothing patched.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = 2


@dataclass
class PriceApi:
    """What the server answers from, and every request it saw."""

    products: list[str]
    savings_plans_rates: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def get_products(self, body: dict[str, Any]) -> dict[str, Any]:
        def matches(doc: str) -> bool:
            attrs = json.loads(doc)["product"]["attributes"]
            return all(attrs.get(f["Field"]) == f["Value"] for f in body["Filters"])

        items = [d for d in self.products if matches(d)]
        start = int(body.get("NextToken") or 0)
        page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": items[start : start + PAGE]}
        if start + PAGE < len(items):
            page["NextToken"] = str(start + PAGE)
        return page

    def offering_rates(self, body: dict[str, Any]) -> dict[str, Any]:
        def matches(row: dict[str, Any]) -> bool:
            props = {p["name"]: p["value"] for p in row["properties"]}
            return row["savingsPlanOffering"]["planType"] in body["savingsPlanTypes"] and all(
                props.get(f["name"]) in f["values"] for f in body.get("filters", [])
            )

        rows = [r for r in self.savings_plans_rates if matches(r)]
        start = int(body.get("nextToken") or 0)
        page: dict[str, Any] = {"searchResults": rows[start : start + PAGE]}
        if start + PAGE < len(rows):
            page["nextToken"] = str(start + PAGE)
        return page


def _handler(api: PriceApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/DescribeSavingsPlansOfferingRates":
                api.requests.append({"api": "savingsplans", **body})
                self._reply(200, api.offering_rates(body))
                return
            target = self.headers.get("X-Amz-Target")
            api.requests.append({"api": target, **body})
            if (
                target != "AWSPriceListService.GetProducts"
                or body.get("ServiceCode") != "AmazonEC2"
            ):
                self._reply(400, {"__type": "InvalidParameterException", "message": "bad request"})
                return
            self._reply(200, api.get_products(body))

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve(api: PriceApi) -> Iterator[PriceApi]:
    """Run the endpoint on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
