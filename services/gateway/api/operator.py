"""The operator credential: dead letters, metrics and docs belong to operators, not tenants.

A tenant key of any scope is refused here, so no tenant can read another's
rejected records; the token lives in settings (one per deployment) and is
compared in constant time.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from services.gateway.api.deps import token_from_headers


async def require_operator(request: Request) -> None:
    """401 unless the request carries the operator token; 403 when none is configured."""
    configured = request.app.state.settings.gateway_operator_token
    if configured is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "operator endpoints are closed: set SPENDSTREAM_GATEWAY_OPERATOR_TOKEN to open them",
        )
    failures = request.app.state.gateway.auth_failures
    client = request.client.host if request.client else "unknown"
    wait = failures.retry_after(client, time.monotonic())
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed authentication attempts from this client; retry after {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    presented = token_from_headers(
        request.headers.get("x-api-key"), request.headers.get("authorization")
    )
    if presented is None or not hmac.compare_digest(
        presented.encode(), configured.get_secret_value().encode()
    ):
        failures.record(client, time.monotonic())
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this endpoint needs the operator token (a tenant API key is not enough)",
            headers={"WWW-Authenticate": "Bearer"},
        )


OperatorDep = Annotated[None, Depends(require_operator)]
