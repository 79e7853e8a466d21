"""Error responses: one JSON shape (``{"detail": ...}``), documented on every route."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.gateway.api.pagination import BadCursorError
from services.gateway.api.schemas_results import ErrorBody
from services.gateway.db.errors import CONNECTION_ERRORS
from shared.logging import get_logger

log = get_logger(__name__)


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


#: Responses every authenticated route can give.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("Malformed cursor or parameter combination, or a value out of storable range."),
    401: _doc("Missing, malformed, unknown or revoked API key."),
    429: _doc("Per-key rate limit exceeded; see Retry-After."),
    503: _doc("The database is unavailable; retry later."),
}
NOT_FOUND = {404: _doc("No such object for this tenant.")}
FORBIDDEN = {403: _doc("The key's scope does not allow this call.")}
QUOTA = {409: _doc("The tenant's quota for this kind of object is used up.")}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: _doc("Request body larger than the limit."),
    415: _doc("Request body must be application/json."),
}


def invalid(location: tuple[str | int, ...], message: str, value: object) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own validation errors (one documented schema)."""
    return RequestValidationError(
        [{"loc": location, "msg": message, "type": "value_error", "input": value}]
    )


async def _bad_cursor(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def _bad_value(_: Request, exc: Exception) -> JSONResponse:
    """A value the database refused: the request's fault, so 400 (a retry gets the same)."""
    log.info("database refused a request value", error=type(exc).__name__)
    return JSONResponse(
        {
            "detail": "a value in this request cannot be stored or compared: check ids, "
            "cursors and timestamps are in range and text has no NUL characters"
        },
        status_code=400,
    )


def _refused_value(exc: Exception) -> bool:
    """Whether the database refused a value (a client error) rather than being unreachable.

    asyncpg's encoder raises a DataError that is an InterfaceError *and* a
    ValueError (its class is private); PostgreSQL's class 22 errors are
    ``asyncpg.DataError``.
    """
    return isinstance(exc, asyncpg.DataError) or (
        isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError)
    )


async def _db_down(request: Request, exc: Exception) -> JSONResponse:
    if _refused_value(exc):
        return await _bad_value(request, exc)
    log.warning("database unavailable during request", error=type(exc).__name__)
    return JSONResponse(
        {"detail": "the database is unavailable; retry in a few seconds"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn known failures into documented responses."""
    app.add_exception_handler(BadCursorError, _bad_cursor)
    for exc_type in CONNECTION_ERRORS:
        app.add_exception_handler(exc_type, _db_down)
    app.add_exception_handler(asyncpg.DataError, _bad_value)
