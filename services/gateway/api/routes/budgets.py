"""``/v1/budgets``: CRUD; every change is published to the compacted budgets topic."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from services.gateway import budget_feed
from services.gateway.api.deps import ConnDep, Principal, PrincipalDep, StateDep, WriterDep
from services.gateway.api.error_responses import (
    BODY_RESPONSES,
    COMMON_RESPONSES,
    FORBIDDEN,
    NOT_FOUND,
    QUOTA,
    invalid,
)
from services.gateway.api.pagination import parse_cursor, text
from services.gateway.api.params import PAGE_DEFAULT, Cursor, Limit, page
from services.gateway.api.quotas import check_count
from services.gateway.api.schemas_manage import BudgetIn, BudgetOut
from services.gateway.api.schemas_results import Page
from services.gateway.api.values import StoredText
from services.gateway.repositories import budgets as repo

router = APIRouter(prefix="/v1/budgets", tags=["budgets"], responses=COMMON_RESPONSES)
BudgetId = Annotated[StoredText, Path(min_length=1, max_length=64)]
WRITE_RESPONSES = {**FORBIDDEN, **BODY_RESPONSES, **QUOTA}


def _check_account(principal: Principal, body: BudgetIn) -> None:
    if body.account_id is not None and body.account_id not in principal.accounts:
        raise invalid(
            ("body", "account_id"),
            f"account_id {body.account_id} is not one of this tenant's accounts",
            body.account_id,
        )


@router.get("", response_model=Page[BudgetOut], summary="The tenant's budgets")
async def list_budgets(
    principal: PrincipalDep, conn: ConnDep, limit: Limit = PAGE_DEFAULT, cursor: Cursor = None
) -> dict[str, Any]:
    """Ordered by id."""
    after = parse_cursor(cursor, text)[0] if cursor is not None else None
    rows = [dict(r) for r in await repo.list_page(conn, principal.tenant_id, after, limit + 1)]
    return page(rows, limit, lambda r: [r["id"]])


@router.post(
    "",
    response_model=BudgetOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_RESPONSES,
    summary="Create a budget",
)
async def create_budget(
    principal: WriterDep, conn: ConnDep, state: StateDep, body: BudgetIn
) -> dict[str, Any]:
    """The forecast service watches the budgets topic and alerts on projected breaches.

    The event carries the tenant's accounts the budget covers, published inside the
    transaction: a failed publish rolls the change back.
    """
    _check_account(principal, body)
    async with conn.transaction():
        limit = state.settings.gateway_budgets_max_per_tenant
        await check_count(conn, "budgets", principal.tenant_id, limit)
        row = await repo.upsert(conn, principal.tenant_id, uuid.uuid4().hex, body.model_dump())
        await budget_feed.publish(conn, state.publisher, row, principal.accounts)
    return dict(row)


@router.get("/{budget_id}", response_model=BudgetOut, responses=NOT_FOUND, summary="One budget")
async def get_budget(principal: PrincipalDep, conn: ConnDep, budget_id: BudgetId) -> dict[str, Any]:
    """404 unless the budget is the tenant's."""
    row = await repo.get(conn, principal.tenant_id, budget_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no budget {budget_id!r}")
    return dict(row)


@router.put(
    "/{budget_id}",
    response_model=BudgetOut,
    responses={**NOT_FOUND, **WRITE_RESPONSES},
    summary="Replace a budget",
)
async def replace_budget(
    principal: WriterDep, conn: ConnDep, state: StateDep, budget_id: BudgetId, body: BudgetIn
) -> dict[str, Any]:
    """Full replacement of name, scope, account, service and amount."""
    _check_account(principal, body)
    async with conn.transaction():
        if await repo.get(conn, principal.tenant_id, budget_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no budget {budget_id!r}")
        row = await repo.upsert(conn, principal.tenant_id, budget_id, body.model_dump())
        await budget_feed.publish(conn, state.publisher, row, principal.accounts)
    return dict(row)


@router.delete(
    "/{budget_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **FORBIDDEN},
    summary="Delete a budget",
)
async def delete_budget(
    principal: WriterDep, conn: ConnDep, state: StateDep, budget_id: BudgetId
) -> Response:
    """Publishes a ``deleted`` budget event so consumers drop it too."""
    async with conn.transaction():
        row = await repo.delete(conn, principal.tenant_id, budget_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no budget {budget_id!r}")
        await budget_feed.publish(conn, state.publisher, row, principal.accounts, deleted=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
