"""Request-scoped resources as ``Annotated`` dependency aliases (the FastAPI-template way)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.gateway import keys
from services.gateway.api.state import GatewayState
from services.gateway.repositories import tenants

SCOPE_RANK = {"read": 0, "write": 1, "admin": 2}

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (or use Authorization: Bearer)."
)
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key of a tenant, with the AWS accounts that tenant owns."""

    tenant_id: str
    key_id: str
    scope: str
    accounts: list[str]


def get_state(request: Request) -> GatewayState:
    """The process state built by the lifespan."""
    state: GatewayState = request.app.state.gateway
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]


async def get_conn(state: StateDep) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request, shared by authentication and the route."""
    async with state.pool.acquire() as conn:
        yield conn


ConnDep = Annotated[asyncpg.Connection, Depends(get_conn)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def token_from_headers(api_key: str | None, authorization: str | None) -> str | None:
    """The presented key from ``X-API-Key`` or ``Authorization: Bearer``."""
    if api_key:
        return api_key
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


async def authenticate(
    state: GatewayState, conn: asyncpg.Connection, token: str | None
) -> Principal:
    """Check the key, then charge its rate limit; raises 401/429 HTTPExceptions."""
    if not token:
        raise _unauthorized("missing API key: send it as 'Authorization: Bearer <key>'")
    parsed = keys.parse(token)
    if parsed is None:
        raise _unauthorized("malformed API key: expected ssk_<id>_<secret>")
    key_id, secret = parsed
    row = await tenants.key_for_auth(conn, key_id)
    if row is None or not keys.matches(secret, row.secret_hash):
        raise _unauthorized("unknown or revoked API key")
    wait = state.buckets.take(key_id, time.monotonic())
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"rate limit of {state.settings.rate_limit_per_s:g} requests/s exceeded; "
            f"retry after {wait:.2f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    return Principal(row.tenant_id, key_id, row.scope, row.accounts)


async def get_principal(
    state: StateDep,
    conn: ConnDep,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """The caller of a normal request (shares the request's connection)."""
    return await authenticate(state, conn, api_key or (bearer.credentials if bearer else None))


async def get_stream_principal(
    state: StateDep,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """The caller of a long-lived stream: authenticates on a connection it returns at once."""
    async with state.pool.acquire() as conn:
        return await authenticate(state, conn, api_key or (bearer.credentials if bearer else None))


StreamPrincipalDep = Annotated[Principal, Depends(get_stream_principal)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _require(scope: str) -> object:
    def check(principal: PrincipalDep) -> Principal:
        if SCOPE_RANK[principal.scope] < SCOPE_RANK[scope]:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this key has scope {principal.scope!r}; this call needs {scope!r}",
            )
        return principal

    return check


WriterDep = Annotated[Principal, Depends(_require("write"))]
AdminDep = Annotated[Principal, Depends(_require("admin"))]
