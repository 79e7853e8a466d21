"""A tiny WHERE-clause builder: values always travel as parameters, never in SQL text."""

from __future__ import annotations

from typing import Any


class Where:
    """Tenant-scoped conditions; ``$1`` is always the tenant's account list.

    >>> w = Where(["111"])
    >>> w.add("service = {0}", "EC2")
    >>> f"{w.sql()} LIMIT {w.param(10)}", w.args
    ('WHERE account_id = ANY($1::text[]) AND service = $2 LIMIT $3', [['111'], 'EC2', 10])
    """

    def __init__(self, accounts: list[str]) -> None:
        self.args: list[Any] = [accounts]
        self.clauses = ["account_id = ANY($1::text[])"]

    @classmethod
    def tenant_alerts(cls, tenant_id: str, accounts: list[str]) -> Where:
        """Outbox rows a tenant may see: those it owns, and unowned ones on its accounts.

        >>> Where.tenant_alerts("t1", ["111"]).sql()
        'WHERE (tenant_id = $2 OR (tenant_id IS NULL AND account_id = ANY($1::text[])))'
        """
        w = cls(accounts)
        owner = w.param(tenant_id)
        w.clauses[0] = f"(tenant_id = {owner} OR (tenant_id IS NULL AND {w.clauses[0]}))"
        return w

    def param(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str, *values: Any) -> None:
        """Append ``clause`` whose ``{0}``, ``{1}``... become the next placeholders."""
        self.clauses.append(clause.format(*(self.param(v) for v in values)))

    def add_if(self, clause: str, value: Any) -> None:
        """Append ``clause`` only when the filter ``value`` was given."""
        if value is not None:
            self.add(clause, value)

    def add_tag(self, segment: str | None) -> None:
        """Only tag series whose ``key=value`` part is ``segment``, if given.

        The part follows ``#`` in the id's account segment (``daily/<account>#k=v``),
        so a ``#`` inside some service or usage type name never matches.

        >>> w = Where(["111"])
        >>> w.add_tag("team=payments")
        >>> w.clauses[-1]
        "split_part(split_part(series_id, '/', 2), '#', 2) = $2"
        """
        self.add_if("split_part(split_part(series_id, '/', 2), '#', 2) = {0}", segment)

    def sql(self) -> str:
        """The WHERE text."""
        return "WHERE " + " AND ".join(self.clauses)
