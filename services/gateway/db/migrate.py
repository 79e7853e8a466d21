"""Apply the plain-SQL migrations in ``services/gateway/migrations`` with yoyo.

yoyo needs a synchronous driver; psycopg 3 is its ``postgresql+psycopg`` backend.
The schema is created first and passed as yoyo's ``schema`` argument, which sets
``search_path`` so every table (and yoyo's own bookkeeping) lands inside it.

Every gateway replica and the admin CLI migrate on start, so on a fresh
database they race: ``CREATE SCHEMA IF NOT EXISTS`` can fail on a duplicate key
and yoyo's own lock gives up after 10 s. A session-level advisory lock per
schema makes them take turns; the later ones find nothing left to apply.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

from services.gateway.exceptions import MigrationError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# How long a replica waits for another one's migrations before giving up.
LOCK_TIMEOUT_S = 300


def check_schema_name(schema: str) -> str:
    """Reject schema names that would need quoting (they end up in search_path).

    >>> check_schema_name("gateway")
    'gateway'
    """
    if not _SCHEMA_RE.match(schema):
        raise MigrationError(
            f"schema name {schema!r} must be lower-case letters, digits and underscores "
            "(set SPENDSTREAM_GATEWAY_PG_SCHEMA)"
        )
    return schema


def yoyo_uri(dsn: str, schema: str) -> str:
    """The yoyo URI for a libpq-style ``postgresql://`` DSN, pinned to ``schema``.

    >>> yoyo_uri("postgresql://u:p@h:5/db?sslmode=require", "gw")
    'postgresql+psycopg://u:p@h:5/db?sslmode=require&schema=gw'
    """
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise MigrationError(f"expected a postgresql:// DSN, got scheme {parts.scheme!r}")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    query.append(("schema", check_schema_name(schema)))
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(query), ""))


def apply_migrations(dsn: str, schema: str) -> list[str]:
    """Create ``schema`` if needed and apply pending migrations; return the ids applied."""
    check_schema_name(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Held until this connection closes, i.e. until yoyo is done.
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{LOCK_TIMEOUT_S}s")))
        try:
            conn.execute(
                "SELECT pg_advisory_lock(hashtext(%s))", (f"spendstream.migrate.{schema}",)
            )
        except psycopg.errors.LockNotAvailable as exc:
            raise MigrationError(
                f"another process has been migrating schema {schema!r} for over "
                f"{LOCK_TIMEOUT_S} s; is it stuck?"
            ) from exc
        # Least privilege: a gateway role given its schema (deploy/postgres/gateway-role.sql)
        # has no CREATE on the database, and PostgreSQL checks that even for IF NOT EXISTS.
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return _apply_with_yoyo(dsn, schema)


def _apply_with_yoyo(dsn: str, schema: str) -> list[str]:
    backend = get_backend(yoyo_uri(dsn, schema))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    except Exception as exc:  # yoyo surfaces driver errors unwrapped
        raise MigrationError(f"migrating schema {schema!r} failed: {exc}") from exc
    finally:
        backend.connection.close()
    return [m.id for m in pending]
