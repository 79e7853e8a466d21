"""The Savings page's realised savings in a real chromium, against what the gateway serves.

The module's pipeline (conftest's ``system``) gets followers as the demo does
(``demo.savings.carry_out``): a share of the small fleet carries out its
recommendations, the inventory after the change is ingested, then the
followers' later CUR delivery; the page must show the totals, the per-kind
sums and every implementation exactly as ``/v1/savings/realised`` and
``/v1/savings/realised/totals`` answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from playwright.sync_api import Route

from demo.savings import carry_out
from tests.browser.conftest import SCENARIO, System, Watched, open_page, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(1200)]
KINDS = {
    "type_change": "Type change",
    "schedule": "Off-hours schedule",
    "terminated": "Terminated (idle)",
}


def _money(v: float | None) -> str:
    if v is None:
        return "—"
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def _rows(w: Watched, selector: str) -> list[list[str]]:
    rows = w.page.locator(f"{selector} tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


@pytest.fixture(scope="module")
def followed(system: System) -> dict[str, Any]:
    """Followers carried out and billed, as in the demo; their truth."""
    truth = carry_out(system.pipeline, system.client, SCENARIO, log=lambda _: None)
    assert truth["followers"], "the small fleet has recommendations to carry out"
    return truth


def test_the_savings_page_shows_realised_savings_as_the_api_serves_them(
    watched: Watched, system: System, followed: dict[str, Any]
) -> None:
    sign_in(watched, system)
    open_page(watched, system, "savings")
    page = watched.page
    totals = system.client.get("/v1/savings/realised/totals")
    items = system.client.all_pages("/v1/savings/realised")
    assert totals["implemented"] == len(items) == len(followed["followers"])
    assert totals["measured"] >= 1

    shown = {
        dd.get_attribute("data-total"): dd.inner_text()
        for dd in page.locator("#realised-totals dd").all()
    }
    assert shown == {
        "implemented": str(totals["implemented"]),
        "measured": str(totals["measured"]),
        "measured_estimated_monthly_savings": _money(totals["measured_estimated_monthly_savings"]),
        "realised_monthly_savings": _money(totals["realised_monthly_savings"]),
        "estimated_monthly_savings": _money(totals["estimated_monthly_savings"]),
    }

    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0])
    for r in items:
        k = kinds[r["kind"]]
        k[0] += 1
        k[4] += r["estimated_monthly_savings"]
        if r["realised_monthly_savings"] is not None:
            k[1] += 1
            k[2] += r["estimated_monthly_savings"]
            k[3] += r["realised_monthly_savings"]
    assert _rows(watched, "#realised-kinds") == [
        [KINDS[kind], str(k[0]), str(k[1]), _money(k[2]), _money(k[3]), _money(k[4])]
        for kind, k in sorted(kinds.items())
    ]
    # The per-kind rows add up to the gateway's totals.
    assert sum(k[3] for k in kinds.values()) == pytest.approx(totals["realised_monthly_savings"])

    assert [(c[1], c[3], c[5], c[8]) for c in _rows(watched, "#realised-items")] == [
        (
            r["resource_id"],
            KINDS[r["kind"]],
            _money(r["estimated_monthly_savings"]),
            "awaiting the bill"
            if r["realised_monthly_savings"] is None
            else _money(r["realised_monthly_savings"]),
        )
        for r in items
    ]
    screenshot(watched, "savings-realised")
    watched.ok()


def test_realised_savings_show_an_empty_and_an_error_state(
    watched: Watched, system: System, followed: dict[str, Any]
) -> None:
    page = watched.page
    sign_in(watched, system, system.other_key)
    open_page(watched, system, "savings")
    assert system.client.get("/v1/savings/realised/totals")["implemented"] >= 1
    assert "No recommendation carried out yet" in page.inner_text("#realised-rows")
    assert page.inner_text("#realised-totals dd[data-total=implemented]") == "0"
    watched.ok()

    # The gateway refusing the totals: that part says so, the rest of the page still loads.
    def refuse(route: Route) -> None:
        route.fulfill(status=503, content_type="application/json", body='{"detail":"down"}')

    page.route("**/v1/savings/realised/totals*", refuse)
    page.reload()
    page.wait_for_selector(".page-savings[data-ready=true]")
    assert page.locator("#realised-sums .state.error").inner_text() == "Could not load this: down"
    assert page.locator("#realised-kinds tbody tr").count() == 0
    assert "No recommendation carried out yet" in page.inner_text("#realised-rows")
