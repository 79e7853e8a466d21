from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "services.gateway.alerts.backoff",
    "services.gateway.alerts.matching",
    "services.gateway.alerts.signing",
    "services.gateway.api.pagination",
    "services.gateway.db.migrate",
    "services.gateway.keys",
    "services.gateway.ratelimit",
    "services.gateway.repositories.ingest",
    "services.gateway.repositories.sqlbuild",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
