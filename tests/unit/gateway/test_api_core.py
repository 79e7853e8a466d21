from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.gateway import keys
from services.gateway.api.pagination import (
    BadCursorError,
    encode_cursor,
    parse_cursor,
    timestamp,
)
from services.gateway.db.migrate import check_schema_name, yoyo_uri
from services.gateway.exceptions import MigrationError
from services.gateway.ratelimit import TokenBuckets


def test_keys_store_only_a_hash_and_verify_in_constant_time() -> None:
    new = keys.mint()
    parsed = keys.parse(new.token)
    assert parsed is not None
    key_id, secret = parsed
    assert key_id == new.key_id
    assert secret not in new.secret_hash.hex()
    assert keys.matches(secret, new.secret_hash)
    assert not keys.matches(secret + "x", new.secret_hash)
    assert keys.mint().token != new.token


@pytest.mark.parametrize("token", ["", "ssk_", "ssk_zz_abc", "Bearer x", "ssk_" + "0" * 16 + "_x"])
def test_malformed_keys(token: str) -> None:
    assert keys.parse(token) is None


def test_rate_limit_refills_at_rate() -> None:
    buckets = TokenBuckets(rate=10.0, burst=5)
    assert [buckets.take("k", 0.0) for _ in range(5)] == [0.0] * 5
    assert buckets.take("k", 0.0) == pytest.approx(0.1)
    assert buckets.take("k", 0.1) == 0.0
    assert buckets.take("other", 0.0) == 0.0


def test_cursor_round_trip_and_rejection() -> None:
    at = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    cursor = encode_cursor([at.isoformat(), "inc-9"])
    assert parse_cursor(cursor, timestamp, str) == (at, "inc-9")
    for bad in ("!!!", encode_cursor([1]), encode_cursor(["x", "y"])):
        with pytest.raises(BadCursorError):
            parse_cursor(bad, timestamp, str)


def test_schema_names_and_yoyo_uri() -> None:
    assert check_schema_name("t_abc_1") == "t_abc_1"
    with pytest.raises(MigrationError):
        check_schema_name('x"; drop')
    assert yoyo_uri("postgresql://u@h/db", "gw") == "postgresql+psycopg://u@h/db?schema=gw"
    with pytest.raises(MigrationError):
        yoyo_uri("mysql://u@h/db", "gw")
