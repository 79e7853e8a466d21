"""``/v1/anomalies``: incidents (filters, cursor pages), detail with root cause, feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.gateway.api.deps import ConnDep, PrincipalDep, StateDep, WriterDep
from services.gateway.api.error_responses import (
    BODY_RESPONSES,
    COMMON_RESPONSES,
    FORBIDDEN,
    NOT_FOUND,
)
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
from services.gateway.api.quotas import charge_feedback
from services.gateway.api.schemas_insights import AnomalySeries
from services.gateway.api.schemas_manage import FeedbackAccepted, FeedbackIn
from services.gateway.api.schemas_results import AnomalyDetail, AnomalyOut, Page
from services.gateway.api.values import StoredText
from services.gateway.repositories import anomalies as repo
from shared import topics
from shared.events import Feedback, stable_id, utcnow
from shared.events.anomalies import Severity

router = APIRouter(prefix="/v1/anomalies", tags=["anomalies"], responses=COMMON_RESPONSES)
IncidentId = Annotated[StoredText, Path(min_length=1, max_length=128)]


@router.get("", response_model=Page[AnomalyOut], summary="List anomaly incidents")
async def list_anomalies(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    service: Text = None,
    severity: Severity | None = None,
    status_: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = None,
    since: Annotated[Timestamp | None, Query(description="detected_at >= since")] = None,
    until: Annotated[Timestamp | None, Query(description="detected_at < until")] = None,
    min_impact: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first. Filters combine with AND; every row is one of the tenant's accounts."""
    after = parse_cursor(cursor, timestamp, text) if cursor is not None else None
    filters = repo.AnomalyFilters(account, service, severity, status_, since, until, min_impact)
    rows = await repo.list_page(conn, principal.accounts, filters, after, limit + 1)
    return page(rows, limit, lambda r: [r["detected_at"], r["incident_id"]])


@router.get(
    "/{incident_id}",
    response_model=AnomalyDetail,
    responses=NOT_FOUND,
    summary="One incident with root cause and history",
)
async def get_anomaly(
    principal: PrincipalDep, conn: ConnDep, incident_id: IncidentId
) -> dict[str, Any]:
    """The incident's current state, root cause, related series and every lifecycle event."""
    doc = await repo.get(conn, principal.accounts, incident_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no anomaly {incident_id!r}")
    return doc


@router.post(
    "/{incident_id}/feedback",
    response_model=FeedbackAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **FORBIDDEN, **BODY_RESPONSES},
    summary="Tell the detector whether this anomaly was real",
)
async def post_feedback(
    principal: WriterDep,
    conn: ConnDep,
    state: StateDep,
    incident_id: IncidentId,
    body: FeedbackIn,
) -> dict[str, Any]:
    """Published to the feedback topic; the anomaly service tunes itself with it.

    ``planned`` (and ``expected`` with a window) quiets the incident's series and
    its descendants for the window, in data time. A false positive is anchored
    on the incident's own window, so its effect does not depend on when a person
    answered. Each verdict on an incident is one rule (a later one replaces it);
    each planned window on a series is its own rule.
    """
    charge_feedback(state, principal.tenant_id)
    doc = await repo.get(conn, principal.accounts, incident_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no anomaly {incident_id!r}")
    series = doc["series_id"]
    # In UTC, so one instant written with two offsets is one rule.
    start, end = (t.astimezone(UTC) if t else None for t in (body.window_start, body.window_end))
    if body.verdict == "false_positive":
        start = datetime.fromisoformat(doc["window_start"])
        end = datetime.fromisoformat(doc["window_end"])
    if body.verdict == "planned":
        rule_id = stable_id("planned", series, start, end)
    else:
        rule_id = stable_id("verdict", incident_id)
    feedback = Feedback(
        id=stable_id("feedback", incident_id, uuid.uuid4().hex),
        rule_id=rule_id,
        series_id=series,
        incident_id=incident_id,
        verdict=body.verdict,
        tenant_id=principal.tenant_id,
        author=body.author,
        note=body.note,
        window_start=start,
        window_end=end,
        created_at=utcnow(),
    )
    await state.publisher.send_and_wait(topics.FEEDBACK, feedback, key=rule_id)
    return feedback.model_dump(include=set(FeedbackAccepted.model_fields))


def _shifted(at: datetime, delta: timedelta) -> datetime:
    """``at + delta``, clamped to the calendar (a stored window may sit at its edge)."""
    try:
        return at + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=UTC)


@router.get(
    "/{incident_id}/series",
    response_model=AnomalySeries,
    responses=NOT_FOUND,
    summary="The incident's series around its window, with expected value and band",
)
async def anomaly_series(
    principal: PrincipalDep,
    conn: ConnDep,
    incident_id: IncidentId,
    days: Annotated[
        int, Query(ge=1, le=90, description="Days shown each side of the window.")
    ] = 14,
) -> dict[str, Any]:
    """Actual cost points of the incident's series and, per lifecycle event, the band it judged."""
    doc = await repo.get(conn, principal.accounts, incident_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no anomaly {incident_id!r}")
    window_start = datetime.fromisoformat(doc["window_start"])
    window_end = datetime.fromisoformat(doc["window_end"])
    start = _shifted(window_start, -timedelta(days=days))
    end = _shifted(window_end, timedelta(days=days))
    points = await repo.series_points(conn, principal.accounts, doc["series_id"], start, end)
    return {
        "incident_id": incident_id,
        "series_id": doc["series_id"],
        "window_start": window_start,
        "window_end": window_end,
        "start": start,
        "end": end,
        "actual": [dict(p) for p in points],
        "bands": doc["history"],
        "root_cause": doc.get("root_cause", []),
    }
