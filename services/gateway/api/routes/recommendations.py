"""``/v1/recommendations``: right-sizing results and the tenant's accept/dismiss/snooze state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.gateway.api.deps import ConnDep, PrincipalDep, WriterDep
from services.gateway.api.error_responses import (
    BODY_RESPONSES,
    COMMON_RESPONSES,
    FORBIDDEN,
    NOT_FOUND,
)
from services.gateway.api.pagination import number, parse_cursor, text
from services.gateway.api.params import PAGE_DEFAULT, Account, Cursor, Limit, Text, page
from services.gateway.api.schemas_recommendations import (
    RecommendationOut,
    RecommendationStateIn,
    RecommendationStateOut,
)
from services.gateway.api.schemas_results import Page
from services.gateway.api.values import StoredText
from services.gateway.recommendation_state import State
from services.gateway.repositories import recommendation_states as states
from services.gateway.repositories import results as repo
from shared.events.recommendations import Finding

router = APIRouter(
    prefix="/v1/recommendations", tags=["recommendations"], responses=COMMON_RESPONSES
)
ResourceId = Annotated[StoredText, Path(min_length=1, max_length=256)]


@router.get(
    "",
    response_model=Page[RecommendationOut],
    summary="Right-sizing recommendations, largest savings first",
)
async def list_recommendations(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    region: Text = None,
    finding: Finding | None = None,
    min_savings: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    regression: bool | None = None,
    state: Annotated[
        State | None, Query(description="The tenant's decision as it applies now.")
    ] = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Sorted by estimated monthly savings (descending), then resource id."""
    after = parse_cursor(cursor, number, text) if cursor is not None else None
    f = repo.RecommendationFilters(account, region, finding, min_savings, regression, state)
    rows = await repo.recommendations_page(
        conn, principal.tenant_id, principal.accounts, f, after, limit + 1
    )
    return page(rows, limit, lambda r: [r["estimated_monthly_savings"], r["resource_id"]])


@router.get(
    "/{resource_id}",
    response_model=RecommendationOut,
    responses=NOT_FOUND,
    summary="The current recommendation for one instance",
)
async def get_recommendation(
    principal: PrincipalDep, conn: ConnDep, resource_id: ResourceId
) -> dict[str, Any]:
    """404 unless the instance belongs to one of the tenant's accounts."""
    doc = await repo.recommendation(conn, principal.tenant_id, principal.accounts, resource_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recommendation for {resource_id!r}")
    return doc


@router.put(
    "/{resource_id}/state",
    response_model=RecommendationStateOut,
    responses={**NOT_FOUND, **FORBIDDEN, **BODY_RESPONSES},
    summary="Accept, dismiss, snooze or reopen a recommendation",
)
async def put_recommendation_state(
    principal: WriterDep, conn: ConnDep, resource_id: ResourceId, body: RecommendationStateIn
) -> dict[str, Any]:
    """Stored for this tenant against the recommendation as it is now.

    Later re-publications keep an acceptance or dismissal unless the finding or
    the recommended action changes, or the monthly savings grow by more than 25%;
    a snooze reads as ``open`` once ``snoozed_until`` has passed.
    """
    saved = await states.set_state(
        conn, principal.tenant_id, principal.accounts, resource_id, body.model_dump()
    )
    if saved is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recommendation for {resource_id!r}")
    return saved
