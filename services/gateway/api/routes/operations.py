"""Operator endpoints: dead letters and Prometheus metrics (operator token), health, readiness.

Anonymous callers (load balancers, probes) learn only ready / not ready: why
not is in the logs, not in a response a stranger can read.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.api.deps import ConnDep, StateDep
from services.gateway.api.error_responses import COMMON_RESPONSES, FORBIDDEN, NOT_FOUND
from services.gateway.api.operator import OperatorDep
from services.gateway.api.pagination import parse_cursor, text, timestamp
from services.gateway.api.params import PAGE_DEFAULT, Cursor, Limit, Text, page
from services.gateway.api.schemas_results import DeadLetterOut, Page, Readiness
from services.gateway.api.values import StoredText
from services.gateway.repositories import deadletters
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter()
# A readiness probe must answer well inside the orchestrator's probe timeout (1 s default).
READY_DB_TIMEOUT_S = 0.5


@router.get(
    "/v1/dead-letters",
    response_model=Page[DeadLetterOut],
    responses={**COMMON_RESPONSES, **FORBIDDEN},
    tags=["operations"],
    summary="Rejected records from every dead-letter topic (operator token)",
)
async def list_dead_letters(
    _: OperatorDep,
    conn: ConnDep,
    source_topic: Text = None,
    error_type: Text = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first; ``source_topic`` and ``offset`` locate the original record for replay."""
    after = parse_cursor(cursor, timestamp, text) if cursor is not None else None
    rows = await deadletters.list_page(conn, source_topic, error_type, after, limit + 1)
    return page(rows, limit, lambda r: [r["failed_at"], r["id"]])


@router.get(
    "/v1/dead-letters/{letter_id}",
    response_model=DeadLetterOut,
    responses={**COMMON_RESPONSES, **FORBIDDEN, **NOT_FOUND},
    tags=["operations"],
    summary="One dead letter (operator token)",
)
async def get_dead_letter(
    _: OperatorDep,
    conn: ConnDep,
    letter_id: Annotated[StoredText, Path(min_length=1, max_length=64)],
) -> dict[str, Any]:
    """The full record as stored."""
    doc = await deadletters.get(conn, letter_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {letter_id!r}")
    return doc


@router.get("/healthz", tags=["operations"], summary="Liveness: the process serves HTTP")
async def healthz() -> dict[str, str]:
    """Always ok while the event loop runs."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready."}},
    summary="Readiness: database reachable and consumer started",
)
async def readyz(state: StateDep) -> Response:
    """503 while PostgreSQL is unreachable or the consumer has not joined yet."""
    try:
        async with asyncio.timeout(READY_DB_TIMEOUT_S), state.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("not ready: database unreachable", error=type(exc).__name__)
        return JSONResponse({"status": "not ready"}, status_code=503)
    if state.settings.gateway_run_consumer and not state.consumer_ready:
        log.info("not ready: consumer not started yet")
        return JSONResponse({"status": "not ready"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get(
    "/metrics",
    tags=["operations"],
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        401: COMMON_RESPONSES[401],
        **FORBIDDEN,
    },
    summary="Prometheus metrics (operator token; or scrape SPENDSTREAM_METRICS_PORT)",
)
async def metrics(_: OperatorDep, state: StateDep) -> Response:
    """Consumer, delivery and HTTP metrics of this process (route names and volumes)."""
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
