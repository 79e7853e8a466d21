"""Migrations are safe to run from every replica at once.

Gateway replicas and the admin CLI all migrate on start; on a fresh database
they race to create the schema and yoyo's tables. Exactly one must apply the
migrations and the others must wait for it, however slow it is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql
from yoyo import read_migrations

from services.gateway.db.migrate import MIGRATIONS_DIR, apply_migrations
from tests.harness.isolation import unique_token

REPLICAS = 4


def test_concurrent_migrations_on_a_fresh_database_all_succeed(postgres_dsn: str) -> None:
    schema = "t_" + unique_token("migrate_race").replace("-", "_")
    try:
        with ThreadPoolExecutor(REPLICAS) as pool:
            applied = list(
                pool.map(lambda _: apply_migrations(postgres_dsn, schema), range(REPLICAS))
            )
        expected = [m.id for m in read_migrations(str(MIGRATIONS_DIR))]
        assert sorted(applied, key=len) == [[]] * (REPLICAS - 1) + [expected]
        assert apply_migrations(postgres_dsn, schema) == []
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
