"""Floods before authentication: parameter floods stay cheap, invented methods stay unlabelled."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.gateway.helpers import RunningGateway, auth

pytestmark = pytest.mark.integration

# A 16 KiB request head (uvicorn's limit) holds about 8,000 one-letter parameters;
# the old duplicate check was quadratic in them and blocked the event loop for seconds.
FLOOD_PARAMS = 8000
# Five million would take the parser seconds (about a microsecond each).
HUGE_FLOOD_PARAMS = 5_000_000
# Generous: the linear check answers in milliseconds; the quadratic one took seconds.
FLOOD_ANSWER_S = 2.0


async def test_a_parameter_flood_is_refused_fast_and_blocks_no_one(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", ["111111111111"])
    flood = "&".join("a" for _ in range(FLOOD_PARAMS))

    async def flood_request() -> tuple[int, float]:
        started = time.perf_counter()
        response = await gateway.client.get(f"/v1/anomalies?{flood}")
        return response.status_code, time.perf_counter() - started

    async def legitimate() -> tuple[int, float]:
        started = time.perf_counter()
        response = await gateway.client.get("/v1/anomalies", headers=auth(key))
        return response.status_code, time.perf_counter() - started

    results = await asyncio.gather(flood_request(), legitimate(), flood_request())
    (flood_status, flood_s), (ok_status, ok_s), _ = results
    assert (flood_status, ok_status) == (422, 200)
    assert flood_s < FLOOD_ANSWER_S, f"flood answered in {flood_s:.2f} s"
    assert ok_s < FLOOD_ANSWER_S, f"legitimate request took {ok_s:.2f} s beside the flood"


async def test_a_flood_is_counted_before_anything_parses_it(gateway: RunningGateway) -> None:
    """Parsing 5,000,000 parameters takes seconds; counting their separators, milliseconds.

    Sent straight to the ASGI app (no HTTP head limit in the way), so what is
    timed is only how the app refuses it.
    """
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/v1/anomalies", "raw_path": b"/v1/anomalies",
        "query_string": b"&".join([b"a"] * HUGE_FLOOD_PARAMS), "root_path": "",
        "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    started = time.perf_counter()
    await gateway.app(scope, receive, send)
    took = time.perf_counter() - started
    assert sent[0]["status"] == 422
    assert took < FLOOD_ANSWER_S, f"a flood took {took:.2f} s to refuse"


async def test_repeated_single_valued_parameters_are_still_refused(
    gateway: RunningGateway,
) -> None:
    key = await gateway.tenant("acme", ["111111111111"])
    response = await gateway.client.get("/v1/anomalies?limit=1&limit=2", headers=auth(key))
    assert response.status_code == 422
    assert "takes one value" in response.text


async def test_invented_methods_do_not_grow_metrics(gateway: RunningGateway) -> None:
    for i in range(50):
        await gateway.client.request(f"X{i}", "/v1/anomalies")
    methods = {
        sample.labels["method"]
        for metric in gateway.state.registry.collect()
        if metric.name.endswith("http_request_seconds")
        for sample in metric.samples
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert "other" in methods
