"""``spendstream rightsizing ...``: catalogue maintenance and one-off evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.rightsizing.catalogue.files import (
    DEFAULT_PATH,
    DEFAULT_PRICES_PATH,
    derive_from_karpenter,
    load_catalogue,
)
from services.rightsizing.pricing_client import refresh_catalogue, refresh_prices
from shared.ec2_platforms import OPERATING_SYSTEMS
from shared.ec2_prices import load_prices

app = typer.Typer(help="Right-sizing: instance catalogue and recommendations.")
catalogue_app = typer.Typer(help="The EC2 instance catalogue (types, sizes, prices).")
prices_app = typer.Typer(help="EC2 rates per region, OS/licence and tenancy (On-Demand, RI, SP).")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(prices_app, name="prices")
PricesPath = Annotated[Path, typer.Option("--prices", help="Price file (gzip'd CSV).")]

CataloguePath = Annotated[Path, typer.Option("--catalogue", help="Catalogue file to read.")]


@catalogue_app.command("refresh")
def refresh(
    region: Annotated[list[str], typer.Option("--region", help="Region(s) to price.")],
    catalogue: CataloguePath = DEFAULT_PATH,
    output: Annotated[Path | None, typer.Option(help="Where to write (default: in place).")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Price List endpoint (tests, VPC).")
    ] = None,
) -> None:
    """Update On-Demand Linux prices from the AWS Price List API (GetProducts)."""
    counts = refresh_catalogue(catalogue, output or catalogue, region, endpoint_url)
    for name, count in counts.items():
        typer.echo(f"{name}: {count} prices updated")


@catalogue_app.command("derive")
def derive(
    source: Annotated[Path, typer.Option(help="Karpenter-derived catalogue CSV.")],
    output: Annotated[Path, typer.Option(help="Catalogue file to write.")] = DEFAULT_PATH,
) -> None:
    """Rebuild the shipped catalogue file from the Karpenter-derived CSV."""
    typer.echo(f"{derive_from_karpenter(source, output)} rows written to {output}")


@catalogue_app.command("show")
def show(name: str, catalogue: CataloguePath = DEFAULT_PATH) -> None:
    """Print one instance type as the recommender sees it."""
    t = load_catalogue(catalogue).get(name)
    prices = ", ".join(f"{r} ${p}/h" for r, p in sorted(t.prices.items()))
    typer.echo(
        f"{t.name}: {t.vcpu} vCPU, {t.memory_gib} GiB, {t.arch}, family {t.family} "
        f"gen {t.generation}, recommendable={t.recommendable}; {prices}"
    )


@prices_app.command("refresh")
def prices_refresh(
    region: Annotated[list[str], typer.Option("--region", help="Region(s) to price.")],
    os: Annotated[
        list[str] | None,
        typer.Option(
            "--os", help=f"OS/licence key(s), default all: {', '.join(OPERATING_SYSTEMS)}"
        ),
    ] = None,
    tenancy: Annotated[
        list[str] | None, typer.Option(help="shared and/or dedicated (default both).")
    ] = None,
    prices: PricesPath = DEFAULT_PRICES_PATH,
    savings_plans: Annotated[
        bool, typer.Option(help="Also fetch Compute Savings Plans rates.")
    ] = True,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Price List endpoint (tests, VPC).")
    ] = None,
    savingsplans_endpoint_url: Annotated[
        str | None, typer.Option("--savingsplans-endpoint-url", help="Savings Plans endpoint.")
    ] = None,
) -> None:
    """Fetch On-Demand, RI (GetProducts) and Savings Plans rates into the price file."""
    oses = os or list(OPERATING_SYSTEMS)
    unknown = sorted(set(oses) - set(OPERATING_SYSTEMS))
    if unknown:
        raise typer.BadParameter(
            f"unknown OS key(s) {unknown}; choose from {list(OPERATING_SYSTEMS)}"
        )
    tenancies = tenancy or ["shared", "dedicated"]
    if set(tenancies) - {"shared", "dedicated"}:
        raise typer.BadParameter("tenancy must be shared or dedicated")
    counts = refresh_prices(
        prices, region, oses, tenancies, endpoint_url, savingsplans_endpoint_url, savings_plans
    )
    for (name, os_key, ten), count in counts.items():
        typer.echo(f"{name} {os_key} {ten}: {count} instance types priced")


@prices_app.command("show")
def prices_show(
    name: str,
    region: Annotated[str, typer.Option(help="Region.")] = "us-east-1",
    prices: PricesPath = DEFAULT_PRICES_PATH,
) -> None:
    """Print one type's rates in every OS/tenancy list of one region."""
    table = load_prices(prices)
    found = [(k, r) for k, r in table.items() if k[0] == region and k[3] == name]
    if not found:
        typer.echo(f"{name}: no rates for {region} in {prices}")
        raise typer.Exit(1)
    for (_, os_key, ten, _), r in found:
        typer.echo(f"{name} {region} {os_key} {ten}: {r}")
