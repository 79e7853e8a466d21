"""Values PostgreSQL cannot take (NUL, out-of-range ids, cursors, timestamps) are 4xx, never 5xx.

Every string parameter of every operation in the OpenAPI document gets a NUL;
bodies, cursors, timestamps and ``Last-Event-ID`` get the values that used to
reach the database and come back as 500 or a misleading 503. A DataError that
still reaches the database is a client error, not an outage.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.gateway.api.deps import ConnDep
from services.gateway.api.pagination import encode_cursor
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.integration.gateway.helpers import RunningGateway, auth, served
from tests.security.conftest import OPERATOR_TOKEN

pytestmark = pytest.mark.integration
A1 = "111111111111"
NUL = "a\x00b"
# Aware timestamps whose UTC value falls outside what Python (and so asyncpg) can encode.
TOO_EARLY = "0001-01-01T00:00:00+14:00"
TOO_LATE = "9999-12-31T23:59:59-14:00"


def _is_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("type") == "string" and "enum" not in o for o in options)


def _string_params(openapi: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path template, parameter location, name) for every free-text parameter."""
    found = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                schema = p["schema"]
                if schema.get("type") == "array":
                    schema = schema["items"]
                if _is_string(schema) and p["in"] in ("query", "path"):
                    found.append((method, path, p["in"], p["name"]))
    return found


def _request(path: str, where: str, name: str) -> tuple[str, dict[str, str]]:
    url = path
    for segment in path.split("/"):
        if segment.startswith("{"):
            key = segment.strip("{}").split(":")[0]
            # httpx refuses a raw NUL in a URL; the server decodes %00 into one.
            url = url.replace(segment, "a%00b" if (where, key) == ("path", name) else "x")
    return url, ({name: NUL} if where == "query" else {})


async def test_nul_in_every_string_parameter_is_422(gateway: RunningGateway) -> None:
    key = await gateway.tenant("acme", [A1], scope="admin")
    params = _string_params(gateway.app.openapi())
    assert len(params) >= 10, params
    answers = {}
    for method, path, where, name in params:
        url, query = _request(path, where, name)
        token = OPERATOR_TOKEN if "dead-letters" in path else key
        response = await gateway.client.request(
            method.upper(), url, params=query, headers=auth(token), json={}
        )
        answers[(method, path, name)] = response.status_code
    bad = {k: v for k, v in answers.items() if v != 422}
    assert not bad, bad


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/budgets", {"name": NUL, "scope": "tenant", "amount_usd": 10.0}),
        ("/v1/budgets", {"name": "b", "scope": "service", "account_id": A1, "service": NUL,
                         "amount_usd": 10.0}),
        ("/v1/subscriptions", {"name": NUL, "channel": "webhook",
                               "url": "https://93.184.215.14/hook"}),
        ("/v1/subscriptions", {"name": "s", "channel": "webhook", "services": [NUL],
                               "url": "https://93.184.215.14/hook"}),
        ("/v1/subscriptions", {"name": "s", "channel": "webhook", "accounts": ["\u00b2" * 12],
                               "url": "https://93.184.215.14/hook"}),
    ],
)  # fmt: skip
async def test_unstorable_body_text_is_422(
    gateway: RunningGateway, path: str, body: dict[str, Any]
) -> None:
    key = await gateway.tenant("acme", [A1])
    response = await gateway.client.post(path, json=body, headers=auth(key))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/anomalies", {"since": TOO_EARLY}),
        ("/v1/anomalies", {"until": TOO_LATE}),
        ("/v1/costs", {"start": TOO_EARLY, "end": TOO_LATE}),
    ],
)
async def test_out_of_range_timestamps_are_422(
    gateway: RunningGateway, path: str, params: dict[str, str]
) -> None:
    key = await gateway.tenant("acme", [A1])
    response = await gateway.get(path, key, **params)
    assert response.status_code == 422, response.text
    assert "out of range" in response.text


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/anomalies", [TOO_EARLY, "i"]),
        ("/v1/anomalies", ["2025-01-01T00:00:00Z", NUL]),
        ("/v1/costs", ["s", TOO_LATE]),
        ("/v1/recommendations", [1.0, NUL]),
        ("/v1/forecasts", [NUL]),
        ("/v1/budgets", [NUL]),
        ("/v1/subscriptions", [NUL]),
        ("/v1/subscriptions/{sub}/deliveries", "[1180591620717411303424]"),
        ("/v1/subscriptions/{sub}/deliveries", "[-18446744073709551616]"),
        ("/v1/subscriptions/{sub}/deliveries", "[1e300]"),
        ("/v1/dead-letters", [TOO_LATE, "d"]),
    ],
)
async def test_out_of_range_cursors_are_400(
    gateway: RunningGateway, path: str, cursor: list[Any] | str
) -> None:
    key = await gateway.tenant("acme", [A1])
    hook = {"name": "s", "channel": "webhook", "url": "https://93.184.215.14/hook"}
    created = await gateway.client.post("/v1/subscriptions", json=hook, headers=auth(key))
    token = OPERATOR_TOKEN if "dead-letters" in path else key
    url = path.replace("{sub}", created.json()["id"])
    # Integers beyond 64 bits are written as JSON text (orjson will not encode them).
    raw = cursor if isinstance(cursor, str) else None
    text = base64.urlsafe_b64encode(raw.encode()).decode() if raw else encode_cursor(cursor)
    response = await gateway.get(url, token, cursor=text)
    assert response.status_code == 400, response.text
    assert "invalid cursor" in response.text


@pytest.mark.parametrize("last_event_id", [b"\xb2", b"9" * 19, b"9" * 32, b"-1"])
async def test_hostile_last_event_id_is_400(
    make_settings: Callable[..., GatewaySettings], last_event_id: bytes
) -> None:
    app = create_app(make_settings())
    async with served(app) as host, httpx.AsyncClient(timeout=30) as client:
        async with app.state.gateway.pool.acquire() as conn:
            from services.gateway.repositories import tenants

            await tenants.create_tenant(conn, "acme", [A1])
            key = (await tenants.create_key(conn, "acme", "read")).token
        headers = {**auth(key), "Last-Event-ID": last_event_id}
        url = f"http://{host}/v1/alerts/stream"
        async with client.stream("GET", url, headers=headers) as response:  # type: ignore[arg-type]  # httpx sends bytes values as they are
            assert response.status_code == 400
            assert "Last-Event-ID" in (await response.aread()).decode()


async def test_data_errors_from_the_database_are_400_not_503(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    """The backstop: a value only PostgreSQL (or asyncpg's encoder) refuses is still a 400."""
    app = create_app(make_settings())

    @app.get("/probe/encoder")
    async def encoder(conn: ConnDep) -> object:
        return await conn.fetchval("SELECT $1::int4", 2**40)  # asyncpg refuses to encode

    @app.get("/probe/server")
    async def server(conn: ConnDep) -> object:
        return await conn.fetchval("SELECT $1::text::int4", "99999999999")  # PostgreSQL refuses

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            for path in ("/probe/encoder", "/probe/server"):
                response = await client.get(path)
                assert response.status_code == 400, (path, response.text)
                assert "unavailable" not in response.text
