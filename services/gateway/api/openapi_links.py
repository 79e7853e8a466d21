"""OpenAPI links: which response value feeds which follow-up request.

Links (OpenAPI 3 ``responses.<code>.links``) tell a client, and a stateful
fuzzer, that the ``id`` a ``POST /v1/budgets`` returns is the ``budget_id`` of
``GET/PUT/DELETE /v1/budgets/{budget_id}``. Declared in one table here rather
than scattered over route decorators, and added to the generated document once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

# (path, method, status) of a response -> {link name: ((path, method) of the
# follow-up operation, {its parameter: runtime expression over the response})}.
Target = tuple[str, str]
LinkSpec = dict[str, tuple[Target, dict[str, str]]]

_BUDGET = "/v1/budgets/{budget_id}"
_SUB = "/v1/subscriptions/{sub_id}"
_REC = "/v1/recommendations/{resource_id}"
_FIRST = "$response.body#/items/0"


def _crud(path: str, param: str, source: str) -> LinkSpec:
    """Read, replace and delete the object whose id ``source`` names."""
    return {
        f"{verb}One": ((path, method), {param: source})
        for verb, method in (("Get", "get"), ("Replace", "put"), ("Delete", "delete"))
    }


def _sub_links(source: str) -> LinkSpec:
    return {
        **_crud(_SUB, "sub_id", source),
        "RotateSecret": ((f"{_SUB}/rotate-secret", "post"), {"sub_id": source}),
        "Deliveries": ((f"{_SUB}/deliveries", "get"), {"sub_id": source}),
    }


def _rec_links(source: str) -> LinkSpec:
    return {
        "GetOne": ((_REC, "get"), {"resource_id": source}),
        "SetState": ((f"{_REC}/state", "put"), {"resource_id": source}),
    }


LINKS: dict[tuple[str, str, str], LinkSpec] = {
    ("/v1/budgets", "post", "201"): _crud(_BUDGET, "budget_id", "$response.body#/id"),
    ("/v1/budgets", "get", "200"): _crud(_BUDGET, "budget_id", f"{_FIRST}/id"),
    (_BUDGET, "put", "200"): _crud(_BUDGET, "budget_id", "$response.body#/id"),
    ("/v1/subscriptions", "post", "201"): _sub_links("$response.body#/id"),
    ("/v1/subscriptions", "get", "200"): _sub_links(f"{_FIRST}/id"),
    (_SUB, "put", "200"): _sub_links("$response.body#/id"),
    ("/v1/anomalies", "get", "200"): {
        "GetOne": (
            ("/v1/anomalies/{incident_id}", "get"),
            {"incident_id": f"{_FIRST}/incident_id"},
        ),
        "Feedback": (
            ("/v1/anomalies/{incident_id}/feedback", "post"),
            {"incident_id": f"{_FIRST}/incident_id"},
        ),
    },
    ("/v1/recommendations", "get", "200"): _rec_links(f"{_FIRST}/resource_id"),
    (_REC, "get", "200"): _rec_links("$response.body#/resource_id"),
    ("/v1/forecasts", "get", "200"): {
        "GetOne": (("/v1/forecasts/{series_id}", "get"), {"series_id": f"{_FIRST}/series_id"}),
    },
    ("/v1/dead-letters", "get", "200"): {
        "GetOne": (("/v1/dead-letters/{letter_id}", "get"), {"letter_id": f"{_FIRST}/id"}),
    },
}


def add_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Write :data:`LINKS` into ``doc`` (in place); a link to a missing operation is an error."""
    paths = doc["paths"]
    for (path, method, code), links in LINKS.items():
        response = paths[path][method]["responses"][code]
        out = response.setdefault("links", {})
        for name, ((target_path, target_method), parameters) in links.items():
            target = paths[target_path][target_method]
            out[name] = {"operationId": target["operationId"], "parameters": parameters}
    return doc


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the generated document with its links (built once)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
