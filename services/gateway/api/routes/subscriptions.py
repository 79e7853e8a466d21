"""``/v1/subscriptions``: where alerts are pushed (webhook / SNS), and the delivery log."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Response, status

from services.gateway.api.deps import (
    SCOPE_RANK,
    ConnDep,
    Principal,
    PrincipalDep,
    StateDep,
    WriterDep,
)
from services.gateway.api.error_responses import (
    BODY_RESPONSES,
    COMMON_RESPONSES,
    FORBIDDEN,
    NOT_FOUND,
    QUOTA,
    invalid,
)
from services.gateway.api.pagination import bigint, parse_cursor, text
from services.gateway.api.params import PAGE_DEFAULT, Cursor, Limit, page
from services.gateway.api.quotas import check_count
from services.gateway.api.schemas_manage import (
    DeliveryOut,
    SecretRotated,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from services.gateway.api.schemas_results import Page
from services.gateway.api.values import StoredText
from services.gateway.delivery.egress import BlockedDestinationError, resolve_checked
from services.gateway.delivery.sns_topics import topic_allowed
from services.gateway.repositories import subscriptions as repo
from services.gateway.settings import GatewaySettings

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], responses=COMMON_RESPONSES)
SubId = Annotated[StoredText, Path(min_length=1, max_length=64)]
WRITE_RESPONSES = {**FORBIDDEN, **BODY_RESPONSES, **QUOTA}
# 32 bytes: the HMAC-SHA256 key length.
SECRET_BYTES = 32


async def _fields(
    principal: Principal, body: SubscriptionIn, settings: GatewaySettings
) -> dict[str, Any]:
    foreign = sorted(set(body.accounts) - set(principal.accounts))
    if foreign:
        raise invalid(
            ("body", "accounts"),
            f"accounts {', '.join(foreign)} are not this tenant's; leave accounts empty for all",
            foreign,
        )
    fields = body.model_dump()
    fields["url"] = str(body.url) if body.url is not None else None
    if body.channel == "webhook" and fields["url"] is not None:
        # Checked again before every send; this answers the tenant early and clearly.
        try:
            await resolve_checked(fields["url"], settings.egress_policy())
        except BlockedDestinationError as exc:
            raise invalid(("body", "url"), str(exc), None) from exc
    arn = fields["sns_topic_arn"]
    allowed = settings.gateway_sns_allow_topic_arns
    if (
        body.channel == "sns"
        and arn is not None
        and not topic_allowed(arn, principal.accounts, allowed)
    ):
        raise invalid(
            ("body", "sns_topic_arn"),
            "sns_topic_arn must be a topic in one of this tenant's AWS accounts "
            "(operators can allow others with SPENDSTREAM_GATEWAY_SNS_ALLOW_TOPIC_ARNS)",
            None,
        )
    return fields


def mask_url(url: str | None) -> str | None:
    """The URL with only scheme and host: paths, queries and userinfo often are the secret.

    >>> mask_url("https://user:pw@hooks.slack.com/services/T0/B0/xyz?token=1")
    'https://hooks.slack.com/***'
    """
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/***"


def _shown(principal: Principal, row: Any) -> dict[str, Any]:
    """Read keys see webhook URLs masked; keys that may change them see them whole."""
    doc = dict(row)
    if SCOPE_RANK[principal.scope] < SCOPE_RANK["write"]:
        doc["url"] = mask_url(doc["url"])
    return doc


@router.get("", response_model=Page[SubscriptionOut], summary="The tenant's subscriptions")
async def list_subscriptions(
    principal: PrincipalDep, conn: ConnDep, limit: Limit = PAGE_DEFAULT, cursor: Cursor = None
) -> dict[str, Any]:
    """Ordered by id."""
    after = parse_cursor(cursor, text)[0] if cursor is not None else None
    rows = [
        _shown(principal, r)
        for r in await repo.list_page(conn, principal.tenant_id, after, limit + 1)
    ]
    return page(rows, limit, lambda r: [r["id"]])


@router.post(
    "",
    response_model=SubscriptionCreated,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_RESPONSES,
    summary="Subscribe a webhook or SNS topic to alerts",
)
async def create_subscription(
    principal: WriterDep, conn: ConnDep, state: StateDep, body: SubscriptionIn
) -> dict[str, Any]:
    """The response carries the HMAC signing secret once; it is never shown again."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    fields = await _fields(principal, body, state.settings)
    async with conn.transaction():
        limit = state.settings.gateway_subscriptions_max_per_tenant
        await check_count(conn, "subscriptions", principal.tenant_id, limit)
        sealed = state.secrets.seal(secret)
        row = await repo.create(conn, principal.tenant_id, uuid.uuid4().hex, sealed, fields)
    return {**dict(row), "secret": secret}


@router.get(
    "/{sub_id}", response_model=SubscriptionOut, responses=NOT_FOUND, summary="One subscription"
)
async def get_subscription(principal: PrincipalDep, conn: ConnDep, sub_id: SubId) -> dict[str, Any]:
    """404 unless it is the tenant's."""
    row = await repo.get(conn, principal.tenant_id, sub_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    return _shown(principal, row)


@router.put(
    "/{sub_id}",
    response_model=SubscriptionOut,
    responses={**NOT_FOUND, **WRITE_RESPONSES},
    summary="Replace a subscription's settings",
)
async def replace_subscription(
    principal: WriterDep, conn: ConnDep, state: StateDep, sub_id: SubId, body: SubscriptionIn
) -> dict[str, Any]:
    """The signing secret is kept."""
    row = await repo.update(
        conn, principal.tenant_id, sub_id, await _fields(principal, body, state.settings)
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    return dict(row)


@router.post(
    "/{sub_id}/rotate-secret",
    response_model=SecretRotated,
    responses={**NOT_FOUND, **FORBIDDEN},
    summary="Replace the signing secret; the previous one keeps signing for an overlap window",
)
async def rotate_secret(
    principal: WriterDep, conn: ConnDep, state: StateDep, sub_id: SubId
) -> dict[str, Any]:
    """The new secret is shown once; the previous one signs too until ``previous_valid_until``.

    Meanwhile every webhook carries two signatures (new, then previous), so the
    receiver can switch secrets without rejecting a single alert.
    """
    secret = secrets.token_urlsafe(SECRET_BYTES)
    overlap = state.settings.gateway_webhook_secret_overlap_s
    row = await repo.rotate_secret(
        conn, principal.tenant_id, sub_id, state.secrets.seal(secret), overlap
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    return {
        "id": row["id"],
        "secret": secret,
        "previous_valid_until": row["previous_secret_expires_at"],
    }


@router.delete(
    "/{sub_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **FORBIDDEN},
    summary="Delete a subscription and its delivery log",
)
async def delete_subscription(principal: WriterDep, conn: ConnDep, sub_id: SubId) -> Response:
    """Pending deliveries are dropped with it."""
    if not await repo.delete(conn, principal.tenant_id, sub_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{sub_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=NOT_FOUND,
    summary="Delivery log: each alert sent to this subscription, with every attempt",
)
async def list_deliveries(
    principal: PrincipalDep,
    conn: ConnDep,
    sub_id: SubId,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest first."""
    if await repo.get(conn, principal.tenant_id, sub_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {sub_id!r}")
    after = parse_cursor(cursor, bigint)[0] if cursor is not None else None
    rows = await repo.deliveries_page(conn, sub_id, after, limit + 1)
    return page(rows, limit, lambda r: [r["id"]])
