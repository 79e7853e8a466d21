"""``/v1/restatements``: past days a later CUR delivery moved (late credits included)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.gateway.api.deps import ConnDep, PrincipalDep
from services.gateway.api.error_responses import COMMON_RESPONSES
from services.gateway.api.pagination import parse_cursor, text, timestamp
from services.gateway.api.params import (
    PAGE_DEFAULT,
    Account,
    Cursor,
    Limit,
    Text,
    Timestamp,
    page,
)
from services.gateway.api.schemas_results import Page, RestatementOut
from services.gateway.repositories import restatements as repo

router = APIRouter(prefix="/v1/restatements", tags=["restatements"], responses=COMMON_RESPONSES)
SeriesFilter = Annotated[Text, Query(max_length=512, description="Exact series id.")]


@router.get("", response_model=Page[RestatementOut], summary="List restated days")
async def list_restatements(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    service: Text = None,
    series_id: SeriesFilter = None,
    since: Annotated[Timestamp | None, Query(description="detected_at >= since")] = None,
    until: Annotated[Timestamp | None, Query(description="detected_at < until")] = None,
    min_delta: Annotated[
        float | None, Query(ge=0, le=1e12, description="|new_cost - previous_cost| >= min_delta")
    ] = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first. Filters combine with AND; every row is one of the tenant's accounts."""
    after = parse_cursor(cursor, timestamp, text) if cursor is not None else None
    filters = repo.RestatementFilters(account, service, series_id, since, until, min_delta)
    rows = await repo.list_page(conn, principal.accounts, filters, after, limit + 1)
    return page(rows, limit, lambda r: [r["detected_at"], r["id"]])
