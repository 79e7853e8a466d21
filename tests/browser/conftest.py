"""Browser-test fixtures: Debian's chromium driven by Playwright against the real pipeline.

One pipeline per module (the demo's path at e2e size: embedded stack, every
service as its own process, simulated CUR and CloudWatch data ingested), one
chromium per module, a fresh browser context (empty sessionStorage) per test.

Chromium is Debian's package, never ``playwright install`` (which downloads a
browser build): ``/usr/bin/chromium`` when installed, else the package fetched
with ``apt-get download`` into a per-user cache (``devstack.chromium``, no root
needed); without either the tests fail saying how to install it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    sync_playwright,
)

from demo.pipeline import Pipeline, create_api_key, ingest, running_system, simulate
from demo.results import GatewayClient
from devstack.chromium import ChromiumUnavailableError, chromium_executable
from tests.browser import commitments
from tests.e2e.conftest import SMALL
from tests.harness.wait import wait_for

# The flags the brief of issue 16 fixes: no GPU, no background traffic of the browser's own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Results trail ingest by forecast fits and right-sizing's evaluation interval.
PIPELINE_TIMEOUT_S = 600.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
OTHER_ACCOUNT = "999999999999"
# The e2e organisation plus a spike over its last three days: every other anomaly has
# ended by then, and feedback needs an incident that is still open to change.
OPEN_SPIKE_DAYS = 3
SCENARIO = replace(SMALL, open_spike_days=OPEN_SPIKE_DAYS)


def _chromium() -> Path:
    """The system's chromium, else Debian's package fetched into a per-user cache."""
    try:
        return chromium_executable()
    except ChromiumUnavailableError as exc:
        pytest.fail(str(exc))


@dataclass
class System:
    """The running pipeline with its data in, and keys of three tenants."""

    pipeline: Pipeline
    key: str
    other_key: str
    client: GatewayClient
    # A tenant whose two accounts hold RIs and Savings Plans (tests/browser/commitments.py).
    committed_key: str
    committed: GatewayClient

    @property
    def console(self) -> str:
        return f"{self.pipeline.gateway_url}/console/"


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    """The demo's pipeline on a small organisation (one incident still open at its end),
    plus a commitment CUR delivery of a third tenant, after every result kind has arrived."""
    state = Path(tempfile.mkdtemp(prefix="spendstream-browser-"))
    state.chmod(0o755)  # PostgreSQL's unprivileged user must enter it
    world = commitments.commitment_world()
    prices = commitments.write_prices(world, state / "prices.csv.gz")
    try:
        with running_system(
            state, extra_env={"SPENDSTREAM_RIGHTSIZING_PRICES_PATH": str(prices)}
        ) as pipeline:
            simulate(pipeline, SCENARIO)
            key = create_api_key(pipeline)
            other_key = _tenant(pipeline, "other", [OTHER_ACCOUNT])
            owned = commitments.world_accounts(world)
            committed_key = _tenant(pipeline, commitments.TENANT, owned)
            client = GatewayClient(pipeline.gateway_url, key)
            committed = GatewayClient(pipeline.gateway_url, committed_key)
            wait_for(client.ready, timeout=120, description="gateway ready")
            ingest(pipeline)
            bucket = commitments.write_delivery(world, pipeline.data_dir / "commitments")
            pipeline.cli("ingest", "cur", "--source", str(bucket), "--force")

            def arrived() -> bool:
                pipeline.check_alive()
                snap = client.snapshot()
                alerts = client.get("/v1/alerts", limit=1)["items"]
                month_end = any(f.get("month_end") for f in snap.forecasts)
                reports = committed.get("/v1/commitments")["items"]
                reasons = {a["reason"] for a in committed.get("/v1/commitments/alerts")["items"]}
                both = reasons == {"low_utilisation", "expiring"}
                return snap.complete and month_end and bool(alerts) and len(reports) == 2 and both

            wait_for(
                arrived,
                timeout=PIPELINE_TIMEOUT_S,
                interval=2.0,
                description="anomalies, savings, forecasts, alerts and commitments",
            )
            yield System(pipeline, key, other_key, client, committed_key, committed)
            client.close()
            committed.close()
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _tenant(pipeline: Pipeline, name: str, accounts: list[str]) -> str:
    """A tenant owning ``accounts`` and a write key for it."""
    pipeline.cli("admin", "tenant", "create", name, "--accounts", ",".join(accounts))
    out = pipeline.cli("admin", "key", "create", "--tenant", name, "--scope", "write")
    return next(w for w in out.split() if w.startswith("ssk_"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium for the module (a fresh temporary profile of its own)."""
    path = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page plus every console error, page error and failed request it saw."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def ok(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def _watch(page: Page) -> Watched:
    w = Watched(page)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            w.problems.append(f"console {msg.type}: {msg.text}")

    def on_failed(req: Request) -> None:
        # A download link's blob: URL is not a request to the gateway, and a reload or
        # sign-out ends the open alert stream on purpose.
        aborted_stream = "/v1/alerts/stream" in req.url and req.failure == "net::ERR_ABORTED"
        if not req.url.startswith("blob:") and not aborted_stream:
            w.problems.append(f"request failed: {req.method} {req.url} ({req.failure})")

    def on_response(res: Any) -> None:
        if res.status >= 400:
            w.problems.append(f"HTTP {res.status}: {res.request.method} {res.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda err: w.problems.append(f"page error: {err}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    return w


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test: nothing in sessionStorage, no cookies."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def watched(context: BrowserContext) -> Watched:
    """A watched page of the test's context."""
    return _watch(context.new_page())


def sign_in(w: Watched, system: System, key: str | None = None) -> None:
    """Open the console and sign in through its form."""
    page = w.page
    page.goto(system.console)
    page.fill("#key", key or system.key)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector(".page[data-ready=true]")


def open_page(w: Watched, system: System, route: str) -> None:
    """Navigate to ``#/route`` and wait until every part of the page has loaded."""
    w.page.goto(f"{system.console}#/{route}")
    w.page.wait_for_selector(f".page-{route.split('/')[0].split('?')[0]}[data-ready=true]")


def chart(w: Watched, name: str) -> dict[str, Any]:
    """What the named chart holds: labels and each dataset's values (from Chart.js itself)."""
    data: dict[str, Any] = w.page.evaluate(
        """name => {
            const c = Chart.getChart(document.querySelector(`canvas[data-chart="${name}"]`));
            return c ? {labels: c.data.labels, datasets: Object.fromEntries(
                c.data.datasets.map(d => [d.label, d.data]))} : null;
        }""",
        name,
    )
    assert data is not None, f"no chart {name!r} on the page"
    return data


def screenshot(w: Watched, name: str) -> None:
    """A full-page PNG under test-artifacts/console/ (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    w.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
