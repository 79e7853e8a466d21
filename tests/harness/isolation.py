"""Per-test isolation on shared backends: unique topic names and throwaway schemas.

The session shares one broker and one database; tests stay independent by
never touching a name another test could use.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
from psycopg import sql

# Kafka topic names allow [a-zA-Z0-9._-] up to 249 chars; 40 chars of the test
# name keep prefixed names readable in broker listings and well under the cap.
MAX_NAME_CHARS = 40


def unique_token(hint: str) -> str:
    """``hint`` reduced to safe characters plus 8 random hex digits: ``test_x-1a2b3c4d``."""
    safe = re.sub(r"[^a-zA-Z0-9_]+", "_", hint).strip("_").lower()[:MAX_NAME_CHARS]
    return f"{safe or 't'}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class PgSchema:
    """A schema made for one test, and a DSN whose sessions use it by default."""

    name: str
    dsn: str


def dsn_with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` plus ``options=-c search_path=<schema>`` (understood by libpq and asyncpg)."""
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-c search_path={schema}')}"


@contextmanager
def temporary_schema(dsn: str, hint: str) -> Iterator[PgSchema]:
    """Create a fresh schema, yield it, and drop it (with everything in it) afterwards."""
    name = "t_" + unique_token(hint).replace("-", "_")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(name)))
    try:
        yield PgSchema(name=name, dsn=dsn_with_search_path(dsn, name))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))
