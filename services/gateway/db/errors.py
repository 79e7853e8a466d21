"""Which database errors mean "wait and retry" and which mean "this record is bad".

Only an outage is worth retrying: the connection is lost or cannot be made,
the pool or the server is out of connections, the server is shutting down.
Anything else a batch raises (a value out of range for its column, NUL in
text, an integer orjson cannot write as JSON, a constraint) will fail again on
every retry, so retrying it forever would stop the consumer for every tenant:
such records are isolated and dead-lettered with the reason instead.
"""

from __future__ import annotations

import asyncio

import asyncpg

# Connection-class failures: the database is unreachable, restarting or full
# (the API answers 503 for these too).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset, host unreachable
    asyncio.TimeoutError,  # connect or pool-acquire timeout, command timeout
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing" (minus DataError)
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, cannot connect now
)
# A deadlock or serialization failure is not the record's fault: the same batch
# succeeds when tried again.
_RETRYABLE = (*CONNECTION_ERRORS, asyncpg.exceptions.TransactionRollbackError)


def is_retryable(exc: BaseException) -> bool:
    """True when ``exc`` is an outage, not something wrong with the records.

    asyncpg's client-side ``DataError`` (a value it cannot encode, e.g. an int
    beyond int32) is an ``InterfaceError`` like "connection is closed", but
    also a ``ValueError``: that is what tells the two apart.

    >>> import asyncpg
    >>> is_retryable(asyncpg.InterfaceError("connection is closed"))
    True
    >>> is_retryable(asyncpg.exceptions._base.DataError("value out of int32 range"))
    False
    >>> is_retryable(asyncpg.exceptions.NumericValueOutOfRangeError("bigint out of range"))
    False
    """
    return isinstance(exc, _RETRYABLE) and not isinstance(exc, ValueError)
