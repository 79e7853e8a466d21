"""``spendstream rightsizing ...``: catalogue maintenance and one-off evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.rightsizing.catalogue.files import DEFAULT_PATH, derive_from_karpenter, load_catalogue
from services.rightsizing.pricing_client import refresh_catalogue

app = typer.Typer(help="Right-sizing: instance catalogue and recommendations.")
catalogue_app = typer.Typer(help="The EC2 instance catalogue (types, sizes, prices).")
app.add_typer(catalogue_app, name="catalogue")

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
