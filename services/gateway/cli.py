"""``spendstream admin ...``: tenants and API keys (the admin scope of the gateway).

Talks to the gateway's database directly (same settings as the service), so it
works before any key exists: it is how the first key is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.gateway.db.migrate import apply_migrations
from services.gateway.db.pool import create_pool
from services.gateway.exceptions import GatewayError
from services.gateway.repositories import tenants
from services.gateway.settings import GatewaySettings
from shared.settings import load

T = TypeVar("T")
app = typer.Typer(help="Gateway administration: tenants and API keys.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants and the AWS accounts they own.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")
console = Console()


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Migrate, connect, run ``work``; turn our errors into a clean exit."""
    settings = load(GatewaySettings)

    async def main() -> T:
        await asyncio.to_thread(
            apply_migrations, settings.require_postgres_dsn(), settings.gateway_pg_schema
        )
        pool = await create_pool(settings, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await work(conn)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except (GatewayError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@tenant_app.command("create")
def tenant_create(
    name: str,
    accounts: Annotated[str, typer.Option(help="Comma-separated 12-digit AWS account ids.")],
) -> None:
    """Create a tenant that owns the given AWS accounts."""
    ids = _account_ids(accounts)
    tenant_id = _run(lambda conn: tenants.create_tenant(conn, name, ids))
    console.print(f"tenant {name} created (id {tenant_id}) with accounts {', '.join(ids)}")


def _account_ids(accounts: str) -> list[str]:
    ids = [a.strip() for a in accounts.split(",") if a.strip()]
    bad = [a for a in ids if not (a.isdigit() and len(a) == 12)]
    if bad or not ids:
        console.print(f"[red]error:[/red] not 12-digit account ids: {bad or accounts!r}")
        raise typer.Exit(2)
    return ids


@tenant_app.command("add-accounts")
def tenant_add_accounts(
    name: str,
    accounts: Annotated[str, typer.Option(help="Comma-separated 12-digit AWS account ids.")],
) -> None:
    """Give a tenant more accounts; its budgets cover them within gateway_budget_sync_s."""
    ids = _account_ids(accounts)
    _run(lambda conn: tenants.add_accounts(conn, name, ids))
    console.print(f"tenant {name} now also owns {', '.join(ids)}")


@tenant_app.command("remove-accounts")
def tenant_remove_accounts(
    name: str,
    accounts: Annotated[str, typer.Option(help="Comma-separated 12-digit AWS account ids.")],
) -> None:
    """Take accounts from a tenant; its keys, streams and budgets stop covering them."""
    ids = _account_ids(accounts)
    removed = _run(lambda conn: tenants.remove_accounts(conn, name, ids))
    console.print(f"removed {removed} account(s) from tenant {name}")


@tenant_app.command("list")
def tenant_list() -> None:
    """Every tenant, its accounts and how many live keys it has."""
    rows = _run(tenants.list_tenants)
    table = Table("name", "id", "accounts", "live keys")
    for r in rows:
        table.add_row(r["name"], r["id"], ", ".join(r["accounts"]), str(r["keys"]))
    console.print(table)


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    scope: Annotated[Literal["read", "write", "admin"], typer.Option()] = "read",
    name: Annotated[str | None, typer.Option(help="A label, e.g. who uses it.")] = None,
) -> None:
    """Mint a key; it is printed once and only its hash is stored."""
    new = _run(lambda conn: tenants.create_key(conn, tenant, scope, name))
    console.print(f"key id {new.key_id} (scope {scope}) for tenant {tenant}; store it now:")
    typer.echo(new.token)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key by its id (``ssk_<id>_...``); effective on the next request."""
    _run(lambda conn: tenants.revoke_key(conn, key_id))
    console.print(f"key {key_id} revoked")


@key_app.command("list")
def key_list(tenant: Annotated[str, typer.Option(help="Tenant name.")]) -> None:
    """A tenant's keys: ids, scopes, state (never secrets)."""
    rows = _run(lambda conn: tenants.list_keys(conn, tenant))
    table = Table("id", "scope", "name", "created", "revoked")
    for r in rows:
        table.add_row(
            r["id"], r["scope"], r["name"] or "", str(r["created_at"]), str(r["revoked_at"] or "")
        )
    console.print(table)
