"""``/v1/savings``: recommendations carried out, and what the bill says they saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.api.deps import ConnDep, PrincipalDep
from services.gateway.api.error_responses import COMMON_RESPONSES
from services.gateway.api.pagination import parse_cursor, text, timestamp
from services.gateway.api.params import PAGE_DEFAULT, Account, Cursor, Limit, page
from services.gateway.api.schemas_results import Page
from services.gateway.api.schemas_savings import ImplementationOut, SavingsTotalsOut
from services.gateway.repositories import implementations as repo
from shared.events.savings import ImplementationKind

router = APIRouter(prefix="/v1/savings", tags=["savings"], responses=COMMON_RESPONSES)


@router.get(
    "/realised",
    response_model=Page[ImplementationOut],
    summary="Implemented recommendations with estimated and realised monthly savings",
)
async def list_realised(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    kind: ImplementationKind | None = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The tenant's implementations, newest change first; filters combine with AND."""
    after = parse_cursor(cursor, timestamp, text) if cursor is not None else None
    rows = await repo.implementations_page(
        conn, principal.accounts, account, kind, after, limit + 1
    )
    return page(rows, limit, lambda r: [r["implemented_at"], r["resource_id"]])


@router.get(
    "/realised/totals",
    response_model=SavingsTotalsOut,
    summary="The tenant's estimated and realised monthly savings, summed",
)
async def realised_totals(
    principal: PrincipalDep, conn: ConnDep, account: Account = None
) -> dict[str, Any]:
    """Sums over the tenant's implementations (optionally one account)."""
    return await repo.totals(conn, principal.accounts, account)
