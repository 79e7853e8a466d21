"""``/v1/commitments``: Savings Plans and RIs held, their use, purchases, and alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, status

from services.gateway.api.deps import ConnDep, PrincipalDep
from services.gateway.api.error_responses import COMMON_RESPONSES, NOT_FOUND
from services.gateway.api.pagination import number, parse_cursor, text, timestamp
from services.gateway.api.params import ACCOUNT_PATTERN, PAGE_DEFAULT, Account, Cursor, Limit, page
from services.gateway.api.schemas_commitments import CommitmentAlertOut, CommitmentReportOut
from services.gateway.api.schemas_results import Page
from services.gateway.repositories import commitments as repo

router = APIRouter(prefix="/v1/commitments", tags=["commitments"], responses=COMMON_RESPONSES)
AccountPath = Annotated[str, Path(pattern=ACCOUNT_PATTERN, description="12-digit AWS account id.")]


@router.get(
    "",
    response_model=Page[CommitmentReportOut],
    summary="Commitment reports per account, largest purchase savings first",
)
async def list_reports(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Each of the tenant's accounts' newest report (coverage, utilisation, purchases)."""
    after = parse_cursor(cursor, number, text) if cursor is not None else None
    rows = await repo.reports_page(conn, principal.accounts, account, after, limit + 1)
    return page(rows, limit, lambda r: [r["best_monthly_savings"], r["account_id"]])


@router.get(
    "/alerts",
    response_model=Page[CommitmentAlertOut],
    summary="Commitment alerts (low utilisation, expiring), newest first",
)
async def list_alerts(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    reason: Literal["low_utilisation", "expiring"] | None = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every alert on the tenant's accounts; filters combine with AND."""
    after = parse_cursor(cursor, timestamp, text) if cursor is not None else None
    rows = await repo.alerts_page(conn, principal.accounts, account, reason, after, limit + 1)
    return page(rows, limit, lambda r: [r["detected_at"], r["id"]])


@router.get(
    "/{account_id}",
    response_model=CommitmentReportOut,
    responses=NOT_FOUND,
    summary="One account's newest commitment report",
)
async def get_report(principal: PrincipalDep, conn: ConnDep, account_id: AccountPath) -> Any:
    """404 when there is no report, or the account is not the tenant's (no existence leak)."""
    row = await repo.report(conn, principal.accounts, account_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no commitment report for this account")
    return row
