"""The OpenAPI document and its viewers: operators' by default, public only by a setting.

The document lists every route and parameter, which helps an attacker as much
as a client, so by default ``/openapi.json`` needs the operator token and the
browser viewers (``/docs``, ``/redoc``, which cannot send a bearer token) are
not served. ``SPENDSTREAM_GATEWAY_DOCS_PUBLIC=true`` opens all three, for the
demo and local development.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from services.gateway.api.operator import require_operator

OPENAPI_PATH = "/openapi.json"
router = APIRouter(include_in_schema=False)


async def _docs_access(request: Request) -> None:
    if not request.app.state.settings.gateway_docs_public:
        await require_operator(request)


def _viewers_open(request: Request) -> None:
    if not request.app.state.settings.gateway_docs_public:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")


DocsAccess = Annotated[None, Depends(_docs_access)]
ViewersOpen = Annotated[None, Depends(_viewers_open)]


@router.get(OPENAPI_PATH)
async def openapi(request: Request, _: DocsAccess) -> JSONResponse:
    """The OpenAPI document (operator token unless docs are public)."""
    app: FastAPI = request.app
    return JSONResponse(app.openapi())


@router.get("/docs")
async def swagger_ui(request: Request, _: ViewersOpen) -> HTMLResponse:
    """Swagger UI, only when docs are public."""
    return get_swagger_ui_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} - docs")


@router.get("/redoc")
async def redoc(request: Request, _: ViewersOpen) -> HTMLResponse:
    """ReDoc, only when docs are public."""
    return get_redoc_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} - ReDoc")
