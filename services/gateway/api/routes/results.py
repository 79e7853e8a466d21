"""``/v1/forecasts`` and ``/v1/costs``: tenant-scoped reads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.gateway.api.deps import ConnDep, PrincipalDep
from services.gateway.api.error_responses import COMMON_RESPONSES, NOT_FOUND
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
from services.gateway.api.schemas_results import (
    CostPointOut,
    ForecastDetail,
    ForecastSummary,
    Page,
)
from services.gateway.api.values import StoredText
from services.gateway.repositories import results as repo

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES)
SeriesId = Annotated[StoredText, Path(min_length=1, max_length=512)]


def why_chosen(
    model: str | None, backtest: list[dict[str, Any]], horizon: int | None
) -> str | None:
    """A sentence saying why the forecast service chose ``model``, from its backtest scores.

    The service takes the lowest rolling-origin MASE (the simpler model on a tie);
    this names the scores at the backtest horizon nearest ``horizon`` that it won.

    >>> scores = [{"model": "ets", "horizon_days": 30, "folds": 3, "mase": 0.8},
    ...           {"model": "seasonal_naive", "horizon_days": 30, "folds": 3, "mase": 0.95}]
    >>> why_chosen("ets", scores, 30)
    'lowest backtest MASE at 30 days over 3 folds: ets 0.80 vs seasonal_naive 0.95'
    """
    if model is None:
        return None
    by_horizon: dict[int, list[dict[str, Any]]] = {}
    for score in backtest:
        if score.get("mase") is not None:
            by_horizon.setdefault(int(score["horizon_days"]), []).append(score)
    mine = {
        h: next(s for s in scores if s["model"] == model)
        for h, scores in by_horizon.items()
        if any(s["model"] == model for s in scores)
    }
    won = [h for h, s in mine.items() if s["mase"] <= min(x["mase"] for x in by_horizon[h])]
    if not won:
        return f"{model}: the simplest model; no backtest score separated the candidates"
    h = min(won, key=lambda d: abs(d - (horizon or d)))
    chosen = mine[h]
    ranked = sorted(by_horizon[h], key=lambda s: s["mase"])
    others = ", ".join(f"{s['model']} {s['mase']:.2f}" for s in ranked if s is not chosen)
    text = f"lowest backtest MASE at {h} days over {chosen['folds']} folds: {model}"
    text += f" {chosen['mase']:.2f}"
    return f"{text} vs {others}" if others else f"{text} (the only model scored)"


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "horizons": sorted(int(h) for h in doc.get("horizons", {}))}


@router.get(
    "/forecasts",
    response_model=Page[ForecastSummary],
    tags=["forecasts"],
    summary="Forecast series of the tenant",
)
async def list_forecasts(
    principal: PrincipalDep,
    conn: ConnDep,
    account: Account = None,
    service: Text = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Ordered by series id; fetch one with ``/v1/forecasts/{series_id}``."""
    after = parse_cursor(cursor, text)[0] if cursor is not None else None
    rows = await repo.forecasts_page(conn, principal.accounts, account, service, after, limit + 1)
    return page([_summary(r) for r in rows], limit, lambda r: [r["series_id"]])


@router.get(
    "/forecasts/{series_id:path}",
    response_model=ForecastDetail,
    responses=NOT_FOUND,
    tags=["forecasts"],
    summary="One series' forecast for one horizon, with 80%/95% intervals",
)
async def get_forecast(
    principal: PrincipalDep,
    conn: ConnDep,
    series_id: SeriesId,
    horizon: Annotated[int | None, Query(ge=1, le=366, description="Days ahead.")] = None,
) -> dict[str, Any]:
    """Without ``horizon`` the longest one is returned."""
    doc = await repo.forecast(conn, principal.accounts, series_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no forecast for {series_id!r}")
    horizons = {int(h): points for h, points in doc.get("horizons", {}).items()}
    chosen = horizon if horizon is not None else max(horizons, default=None)
    if chosen is not None and chosen not in horizons and horizon is not None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"series {series_id!r} has no {horizon}-day horizon; available: {sorted(horizons)}",
        )
    return {
        **_summary(doc),
        "why_chosen": why_chosen(doc.get("model"), doc.get("backtest", []), chosen),
        "horizon": chosen,
        "points": horizons.get(chosen, []) if chosen is not None else [],
    }


@router.get(
    "/costs",
    response_model=Page[CostPointOut],
    tags=["costs"],
    summary="Daily (or hourly) cost series points",
)
async def list_costs(
    principal: PrincipalDep,
    conn: ConnDep,
    granularity: Literal["daily", "hourly"] = "daily",
    level: Literal["account", "service", "usage_type"] | None = None,
    account: Account = None,
    service: Text = None,
    series_id: Annotated[StoredText | None, Query(min_length=1, max_length=512)] = None,
    start: Annotated[Timestamp | None, Query(description="period_start >= start")] = None,
    end: Annotated[Timestamp | None, Query(description="period_start < end")] = None,
    limit: Limit = PAGE_DEFAULT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Points ordered by series then period: a page is a run of consecutive days per series."""
    after = parse_cursor(cursor, text, timestamp) if cursor is not None else None
    f = repo.CostFilters(granularity, level, account, service, series_id, start, end)
    rows = [dict(r) for r in await repo.costs_page(conn, principal.accounts, f, after, limit + 1)]
    return page(rows, limit, lambda r: [r["series_id"], r["period_start"].isoformat()])
