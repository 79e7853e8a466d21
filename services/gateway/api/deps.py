"""Request-scoped resources as ``Annotated`` dependency aliases (the FastAPI-template way)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.gateway import keys
from services.gateway.api.state import GatewayState
from services.gateway.ratelimit import lockout_refusal
from services.gateway.repositories import tenants

SCOPE_RANK = {"read": 0, "write": 1, "admin": 2}
# A busy gateway frees a connection within a request's time; one second is a fair retry.
BUSY_RETRY_AFTER_S = 1

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


@contextlib.asynccontextmanager
async def acquire(state: GatewayState) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, waiting at most ``db_acquire_timeout_s`` for one.

    When none frees up in time the caller gets 503 with Retry-After: a crowd of
    requests queues briefly instead of forever.
    """
    try:
        conn = await state.pool.acquire(timeout=state.settings.gateway_db_acquire_timeout_s)
    except TimeoutError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the gateway is busy: no database connection is free; retry shortly",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from exc
    try:
        yield conn
    finally:
        await state.pool.release(conn)


async def get_conn(state: StateDep) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request, shared by authentication and the route."""
    async with acquire(state) as conn:
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


@dataclass(frozen=True)
class PresentedKey:
    """A well-formed key as presented (not yet checked) and who presented it."""

    key_id: str
    secret: str
    client: str


def _client(host: str | None) -> str:
    return host or "unknown"


def presented_key(state: GatewayState, client: str, token: str | None) -> PresentedKey:
    """Parse the key without touching the database; raises 401/429 HTTPExceptions.

    A client whose recent attempts failed too often is refused here, before
    any database work, so guessing keys costs the guesser and not the pool.
    """
    wait = state.auth_failures.retry_after(client, time.monotonic())
    if wait > 0:
        message, retry_after = lockout_refusal(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": retry_after}
        )
    if not token:
        raise _unauthorized("missing API key: send it as 'Authorization: Bearer <key>'")
    parsed = keys.parse(token)
    if parsed is None:
        state.auth_failures.record(client, time.monotonic())
        raise _unauthorized("malformed API key: expected ssk_<id>_<secret>")
    return PresentedKey(parsed[0], parsed[1], client)


async def authenticate(
    state: GatewayState, conn: asyncpg.Connection, presented: PresentedKey
) -> Principal:
    """Check the key, then charge its and its tenant's rate limits; raises 401/429."""
    row = await tenants.key_for_auth(conn, presented.key_id)
    if row is None or not keys.matches(presented.secret, row.secret_hash):
        state.auth_failures.record(presented.client, time.monotonic())
        raise _unauthorized("unknown or revoked API key")
    now, settings = time.monotonic(), state.settings
    limits = (
        (state.buckets, presented.key_id, f"{settings.gateway_rate_limit_per_s:g} requests/s"),
        (
            state.tenant_buckets,
            row.tenant_id,
            f"{settings.gateway_tenant_rate_limit_per_s:g} requests/s for the tenant's keys",
        ),
    )
    for buckets, key, what in limits:  # check both before charging either
        wait = buckets.wait(key, now)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"rate limit of {what} exceeded; retry after {wait:.2f} s",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
    for buckets, key, _ in limits:
        buckets.take(key, now)
    return Principal(row.tenant_id, presented.key_id, row.scope, row.accounts)


def get_presented_key(
    state: StateDep,
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> PresentedKey:
    """The request's key, parsed; resolved before any connection is taken."""
    token = api_key or (bearer.credentials if bearer else None)
    return presented_key(state, _client(request.client.host if request.client else None), token)


PresentedKeyDep = Annotated[PresentedKey, Depends(get_presented_key)]


async def get_principal(state: StateDep, presented: PresentedKeyDep, conn: ConnDep) -> Principal:
    """The caller of a normal request (shares the request's connection)."""
    return await authenticate(state, conn, presented)


async def get_stream_principal(state: StateDep, presented: PresentedKeyDep) -> Principal:
    """The caller of a long-lived stream: authenticates on a connection it returns at once."""
    async with acquire(state) as conn:
        return await authenticate(state, conn, presented)


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
