"""The console in a real chromium against the real pipeline (issue 16).

Every chart is checked on the data it holds (Chart.js's own data), compared with
what the public API answers for the same filters; every page must load without
a console error or a failed request. The gateway-restart test runs last: it
stops and restarts the pipeline's gateway.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, cast

import pytest
from aiokafka import TopicPartition

from shared.codec import decode
from shared.kafka import make_consumer
from shared.settings import SpendstreamSettings
from shared.topics import FEEDBACK
from tests.browser.conftest import (
    OTHER_ACCOUNT,
    System,
    Watched,
    chart,
    open_page,
    screenshot,
    sign_in,
)
from tests.harness.wait import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(1200)]
# Waits inside the browser (a page's loads, the detector's answer, a live alert).
UI_TIMEOUT_MS = 60_000
# Relative tolerance for sums of floats added in another order by the browser.
REL = 1e-9


def _all(system: System, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        doc = system.client.get(path, limit=500, cursor=cursor, **params)
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items


def _filled(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def test_invalid_key_shows_a_clear_sign_in_error(watched: Watched, system: System) -> None:
    page = watched.page
    page.goto(system.console)
    page.fill("#key", "ssk_notakey_0000000000000000")
    page.click("#signin-form button[type=submit]")
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert "not accepted" in error.inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    assert "ssk_" not in page.url
    # The one refusal is the sign-in attempt itself; nothing else failed.
    assert [p for p in watched.problems if "401" not in p] == []
    screenshot(watched, "sign-in-error")


def test_every_page_shows_the_tenants_data(watched: Watched, system: System) -> None:
    sign_in(watched, system)
    page = watched.page
    assert system.key not in page.url
    assert page.evaluate("sessionStorage.getItem('spendstream.key')") == system.key

    # Overview: one bar group per account with a month-end projection.
    screenshot(watched, "overview")
    summaries = _all(system, "/v1/forecasts")
    accounts = [
        system.client.get(f"/v1/forecasts/{f['series_id']}")
        for f in summaries
        if f["service"] is None and f["status"] == "ok"
    ]
    projected = [f for f in accounts if f.get("month_end")]
    held = chart(watched, "month-end")
    assert held["labels"] == [f["account_id"] for f in projected]
    assert held["datasets"]["Month to date"] == [
        f["month_end"]["actual_to_date"] for f in projected
    ]
    assert held["datasets"]["80% interval"] == [
        [f["month_end"]["lo80"], f["month_end"]["hi80"]] for f in projected
    ]
    # What changed since yesterday: /v1/changes, one row per account, its day-over-day change.
    changed = system.client.get("/v1/changes")
    rows = page.locator("#overview-changes tbody tr")
    assert rows.count() == len(changed["costs"]) > 0
    for i, c in enumerate(changed["costs"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        sign = "+" if c["change"] >= 0 else "-"
        assert cells[:2] == [c["account_id"], c["day"][:10]]
        assert cells[3] == f"{sign}${abs(c['change']):,.2f}", cells
    counts = page.inner_text("#changes-counts")
    assert f"{changed['anomalies']['open_now']} open now" in counts

    # Anomalies: the first server page, as many rows as the API returns.
    open_page(watched, system, "anomalies")
    first = system.client.get("/v1/anomalies", limit=50)["items"]
    assert page.locator("#anomaly-list tbody tr").count() == len(first)
    screenshot(watched, "anomalies")

    # Costs stacked by service: the gateway's breakdown, day by day and group by group.
    open_page(watched, system, "costs?by=service")
    breakdown = system.client.get("/v1/costs/breakdown", group_by="service", top=7)
    held = chart(watched, "costs")
    assert held["labels"] == [p["period_start"][:10] for p in breakdown["period_totals"]]
    names = [g["key"] if not g["other"] else "other" for g in breakdown["groups"]]
    assert list(held["datasets"]) == names
    for group in breakdown["groups"]:
        drawn = held["datasets"]["other" if group["other"] else group["key"]]
        assert sum(drawn) == pytest.approx(group["total"], rel=REL)
    per_day = [sum(v[i] for v in held["datasets"].values()) for i in range(len(held["labels"]))]
    assert per_day == pytest.approx([p["cost"] for p in breakdown["period_totals"]], rel=REL)
    screenshot(watched, "costs")
    with page.expect_download() as download:
        page.click("#costs-csv")
    rows = download.value.path().read_text().splitlines()
    # A header, then one row per point drawn.
    assert len(rows) == 1 + sum(len(g["points"]) for g in breakdown["groups"])

    # Costs stacked by region (read by the gateway from the usage types' region codes).
    open_page(watched, system, "costs?by=region")
    by_region = system.client.get("/v1/costs/breakdown", group_by="region", top=7)
    held = chart(watched, "costs")
    regions = [g["key"] if not g["other"] else "other" for g in by_region["groups"]]
    assert list(held["datasets"]) == regions
    assert "us-east-1" in regions
    assert len(regions) >= 2, regions
    for group in by_region["groups"]:
        drawn = held["datasets"]["other" if group["other"] else group["key"]]
        assert sum(drawn) == pytest.approx(group["total"], rel=REL)
    # Every dollar of the service view is in the region view, and no more.
    assert sum(t["cost"] for t in by_region["totals"]) == pytest.approx(
        sum(t["cost"] for t in breakdown["totals"]), rel=1e-6
    )
    screenshot(watched, "costs-by-region")

    # Savings: largest first, as the API sorts; a row's options open in place.
    open_page(watched, system, "savings")
    recs = system.client.get("/v1/recommendations", limit=50)["items"]
    assert page.locator("#savings tbody > tr:not([hidden])").count() == len(recs)
    top = recs[0]
    page.locator("#savings button", has_text="Options").first.click()
    assert page.locator("#savings tr:not([hidden]) .card tbody tr").count() == max(
        1, len(top["options"])
    )
    page.locator("#savings input[type=checkbox]").nth(0).check()
    page.locator("#savings input[type=checkbox]").nth(1).check()
    expected_total = recs[0]["estimated_monthly_savings"] + recs[1]["estimated_monthly_savings"]
    assert f"${expected_total:,.2f} / month" in page.inner_text("#calculator")
    screenshot(watched, "savings")

    # Forecasts: an account's series, 30-day horizon, history from the costs API.
    series = projected[0]["series_id"]
    open_page(watched, system, f"forecasts?series={series}&horizon=30")
    detail = system.client.get(f"/v1/forecasts/{series}", horizon=30)
    last = date.fromisoformat(detail["last_date"])
    history = system.client.get(
        "/v1/costs",
        series_id=series,
        start=f"{last - timedelta(days=89)}T00:00:00Z",
        end=f"{last + timedelta(days=1)}T00:00:00Z",
        limit=500,
    )["items"]
    held = chart(watched, "forecast")
    assert _filled(held["datasets"]["History"]) == [p["cost"] for p in history]
    assert _filled(held["datasets"]["Forecast"]) == [p["yhat"] for p in detail["points"]]
    assert len(detail["points"]) == 30
    assert _filled(held["datasets"]["95% high"]) == [p["hi95"] for p in detail["points"]]
    assert detail["model"] in page.inner_text("#forecast")
    screenshot(watched, "forecasts")

    open_page(watched, system, "budgets")
    assert page.locator("#budgets").inner_text().strip() != ""
    screenshot(watched, "budgets")

    open_page(watched, system, "live")
    page.wait_for_selector("#live-alerts tr", timeout=UI_TIMEOUT_MS)
    screenshot(watched, "live")
    watched.ok()


def test_a_first_load_of_a_filtered_list_sends_its_api_call_once(
    watched: Watched, system: System
) -> None:
    """The inline boot script's early call is the one the page uses (same URL, same key)."""
    sign_in(watched, system)
    page = watched.page
    route = "anomalies?severity=medium&status=resolved&since=2026-01-01&until=2030-12-31"
    open_page(watched, system, route)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/v1/anomalies" in r.url else None)
    page.reload()  # a first load with the key already in sessionStorage
    page.wait_for_selector(".page-anomalies[data-ready=true]")
    assert len(sent) == 1, sent
    assert "since=2026-01-01T00%3A00%3A00Z" in sent[0]
    assert "until=2031-01-01T00%3A00%3A00Z" in sent[0]
    shown = system.client.get(
        "/v1/anomalies",
        severity="medium",
        status="resolved",
        since="2026-01-01T00:00:00Z",
        until="2031-01-01T00:00:00Z",
        limit=50,
    )["items"]
    assert shown, "the demo organisation has resolved medium anomalies"
    assert page.locator("#anomaly-list tbody tr").count() == len(shown)
    watched.ok()


def test_accept_and_dismiss_persist_across_a_reload(watched: Watched, system: System) -> None:
    sign_in(watched, system)
    page = watched.page
    open_page(watched, system, "savings?min_savings=0.01")
    recs = system.client.get("/v1/recommendations", min_savings=0.01, limit=50)["items"]
    assert len(recs) >= 2, "the demo fleet has at least two priced savings"
    first, second = recs[0]["resource_id"], recs[1]["resource_id"]

    def decide(resource: str, action: str) -> None:
        row = page.locator("#savings tbody > tr", has_text=resource).first
        row.locator("button", has_text="Options").click()
        panel = page.locator(f"[data-decide='{resource}']")
        if action == "dismiss":
            panel.locator("select[name=reason]").select_option("performance_risk")
        panel.locator(f"button[data-action={action}]").click()
        page.wait_for_selector(
            f"#savings tr:has-text('{resource}') td[data-state]:not([data-state=open])"
        )

    decide(first, "accept")
    decide(second, "dismiss")
    page.reload()
    page.wait_for_selector(".page-savings[data-ready=true]")
    state = page.locator("#savings tbody > tr", has_text=first).first.locator("td[data-state]")
    assert state.get_attribute("data-state") == "accepted"
    other = page.locator("#savings tbody > tr", has_text=second).first.locator("td[data-state]")
    assert other.get_attribute("data-state") == "dismissed"
    assert "performance_risk" in other.inner_text()
    stored = system.client.get(f"/v1/recommendations/{second}")["state"]
    assert (stored["state"], stored["reason"]) == ("dismissed", "performance_risk")
    screenshot(watched, "savings-decided")
    # Back to open, so the other tests see the fleet as the pipeline made it.
    for resource in (first, second):
        decide_open = page.locator("#savings tbody > tr", has_text=resource).first
        decide_open.locator("button", has_text="Options").click()
        page.locator(f"[data-decide='{resource}'] button[data-action=reopen]").click()
        page.wait_for_selector(f"#savings tr:has-text('{resource}') td[data-state=open]")
    watched.ok()


async def _feedback_events(system: System, incident_id: str) -> list[Any]:
    """Feedback events on the pipeline's topic for ``incident_id`` (read from the start)."""
    settings = SpendstreamSettings(
        _env_file=None,
        kafka_bootstrap_servers=system.pipeline.env["SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS"],
    )
    consumer = make_consumer(settings, None)
    await consumer.start()
    try:
        tps = [
            TopicPartition(FEEDBACK.full_name(settings.topic_prefix), p)
            for p in range(FEEDBACK.partitions)
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [
                    e
                    for r in records
                    if (e := decode(r.value, r.headers, FEEDBACK.values)).incident_id == incident_id
                ]
        return found
    finally:
        await consumer.stop()


def test_anomaly_detail_draws_band_root_cause_and_takes_feedback(
    watched: Watched, system: System
) -> None:
    costs = system.client.get("/v1/anomalies", min_impact=0.01, limit=500)["items"]
    target = max(costs, key=lambda a: a["impact_usd"])
    a = system.client.get(f"/v1/anomalies/{target['incident_id']}")
    sign_in(watched, system)
    open_page(watched, system, f"anomalies/{a['incident_id']}")
    page = watched.page

    series = system.client.get(f"/v1/anomalies/{a['incident_id']}/series", days=21)
    held = chart(watched, "anomaly-series")
    days = [p["period_start"][:10] for p in series["actual"]]
    assert held["datasets"]["Actual"] == [p["cost"] for p in series["actual"]]
    # Each day carries the band of the latest lifecycle step whose judged window covers it.
    steps = sorted(series["bands"], key=lambda b: b["revision"])
    covering = [
        next(
            (
                b
                for b in reversed(steps)
                if d == b["window_start"][:10] or b["window_start"][:10] <= d < b["window_end"][:10]
            ),
            None,
        )
        for d in days
    ]
    assert any(covering), "the incident window lies inside the drawn series"
    for label, key in (("Expected", "expected"), ("Band low", "lower"), ("Band high", "upper")):
        assert held["datasets"][label] == [b[key] if b else None for b in covering], label

    drivers = sorted(
        (r for r in a["root_cause"] if r["dimension"] != "series"), key=lambda r: -r["share"]
    )
    assert drivers, "the largest cost anomaly has a root cause"
    held = chart(watched, "root-cause")
    assert held["datasets"]["Share of the deviation"] == [r["share"] for r in drivers]
    assert page.locator("section", has_text="Lifecycle").locator("tbody tr").count() == len(
        a["history"]
    )
    screenshot(watched, "anomaly-detail")

    # The verdict goes through the gateway's feedback path onto the detector's topic.
    page.click("button[data-verdict=true_positive]")
    page.wait_for_selector("#feedback-status:has-text('Recorded')", timeout=UI_TIMEOUT_MS)
    with ThreadPoolExecutor(1) as pool:
        events = wait_for(
            lambda: pool.submit(asyncio.run, _feedback_events(system, a["incident_id"])).result(),
            timeout=UI_TIMEOUT_MS / 1000,
            description="the console's feedback on the feedback topic",
        )
    assert [e.verdict for e in events] == ["true_positive"]
    assert events[0].series_id == a["series_id"]
    watched.ok()


def _open_spike(system: System) -> dict[str, Any]:
    """The incident on the simulator's spike over the last days, once the API shows it open."""
    injected = cast(list[dict[str, Any]], system.pipeline.ground_truth["anomalies"])
    truth = next(a for a in injected if a["id"].endswith("-spike-open"))

    def found() -> dict[str, Any] | None:
        items = system.client.get(
            "/v1/anomalies", status="open", account=truth["account_id"], limit=500
        )["items"]
        return next(
            (
                a
                for a in items
                if a["kind"] == "cost"
                and a["service"] == truth["service"]
                and a["window_start"][:10] >= truth["start"]
            ),
            None,
        )

    return wait_for(found, timeout=UI_TIMEOUT_MS / 1000, description="the open spike's incident")


def test_false_positive_feedback_resolves_the_open_incident(
    watched: Watched, system: System
) -> None:
    """Page -> gateway -> feedback topic -> detector -> resolved incident -> page."""
    incident = _open_spike(system)
    iid = incident["incident_id"]
    before = system.client.get(f"/v1/anomalies/{iid}")
    sign_in(watched, system)
    open_page(watched, system, f"anomalies/{iid}")
    page = watched.page
    assert page.inner_text("#anomaly-state").startswith("open")
    lifecycle = page.locator("section", has_text="Lifecycle").locator("tbody tr")
    assert lifecycle.count() == len(before["history"])

    page.click("button[data-verdict=false_positive]")
    # The page watches the incident and redraws once the detector's resolution is stored.
    page.wait_for_selector("#anomaly-state:text-matches('^resolved')", timeout=UI_TIMEOUT_MS)
    after = system.client.get(f"/v1/anomalies/{iid}")
    assert after["status"] == "resolved"
    assert after["revision"] > before["revision"]
    assert after["reason"] == "marked false positive"
    assert page.inner_text("#anomaly-state") == (
        f"resolved (revision {after['revision']}, {after['action']})"
    )
    assert lifecycle.count() == len(after["history"]) == len(before["history"]) + 1
    assert "marked false positive" in lifecycle.last.inner_text()
    with ThreadPoolExecutor(1) as pool:
        events = pool.submit(asyncio.run, _feedback_events(system, iid)).result()
    # (The detail test may have confirmed the same incident first, if it is the largest.)
    assert [e.verdict for e in events][-1:] == ["false_positive"]
    # The incident left the open list the overview draws from.
    still_open = system.client.get("/v1/anomalies", status="open", limit=500)["items"]
    assert iid not in {a["incident_id"] for a in still_open}
    screenshot(watched, "anomaly-false-positive")
    watched.ok()


def test_a_budget_created_in_the_page_raises_a_live_alert(watched: Watched, system: System) -> None:
    sign_in(watched, system)
    page = watched.page
    open_page(watched, system, "live")  # everything so far is now seen
    page.wait_for_selector("#live-alerts tr", timeout=UI_TIMEOUT_MS)
    before = page.locator("#live-alerts tr").count()
    open_page(watched, system, "budgets")
    member = next(
        f["account_id"]
        for f in _all(system, "/v1/forecasts")
        if f["service"] is None and f["status"] == "ok"
    )
    page.fill("#budget-form input[name=name]", "console test: tiny budget")
    page.select_option("#budget-form select[name=scope]", "account")
    page.fill("#budget-form input[name=account_id]", member)
    page.fill("#budget-form input[name=amount_usd]", "1")
    page.click("#budget-form button[type=submit]")
    page.wait_for_selector("#budgets td:has-text('console test: tiny budget')")
    # The forecast service sees the budget, finds its projection over it, and the alert
    # comes back through the gateway's stream: the badge counts it without a reload.
    page.wait_for_selector("#badge:not([hidden])", timeout=UI_TIMEOUT_MS * 3)
    assert int(page.inner_text("#badge")) >= 1
    screenshot(watched, "budgets-with-alert")
    page.click("nav a[data-page=live]")
    page.wait_for_selector("#live-alerts tr td:text-is('budget')", timeout=UI_TIMEOUT_MS)
    assert page.locator("#live-alerts tr").count() > before
    assert page.locator("#badge").is_hidden()
    watched.ok()


def test_a_second_tenant_sees_none_of_the_first_tenants_data(
    watched: Watched, system: System
) -> None:
    sign_in(watched, system, system.other_key)
    page = watched.page
    first_accounts = {f["account_id"] for f in _all(system, "/v1/forecasts")}
    for route, empty in [
        ("overview", "No month-end projection yet"),
        ("anomalies", "No anomaly matches"),
        ("costs", "No costs in this range"),
        ("savings", "No recommendation matches"),
        ("commitments", "No Savings Plan or Reserved Instance data yet"),
        ("forecasts", "No forecasts yet"),
        ("budgets", "No budgets yet"),
        ("live", "No alerts yet"),
    ]:
        open_page(watched, system, route)
        text = page.inner_text("#page")
        assert empty in text, f"{route}: {text[:500]}"
        leaked = [a for a in first_accounts if a in text]
        assert not leaked, f"{route} shows the first tenant's accounts {leaked}"
        assert page.locator("canvas[data-chart]").count() == 0, route
    assert OTHER_ACCOUNT not in first_accounts
    screenshot(watched, "other-tenant-overview")
    watched.ok()


def _money(v: float) -> str:
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _rows(w: Watched, selector: str) -> list[list[str]]:
    rows = w.page.locator(f"{selector} tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def _rerendered(w: Watched, act: Any, inside: str) -> None:
    """Run ``act`` (a navigation) and wait for the page it renders, not the one before."""
    w.page.evaluate("document.querySelector('.page').dataset.stale = 'true'")
    act()
    w.page.wait_for_selector(f".page[data-ready=true]:not([data-stale]) {inside}")


def test_commitments_page_shows_coverage_purchases_and_alerts(
    watched: Watched, system: System
) -> None:
    sign_in(watched, system, system.committed_key)
    open_page(watched, system, "commitments")
    page = watched.page
    reports = system.committed.get("/v1/commitments")["items"]
    held = chart(watched, "commitment-coverage")
    assert held["labels"] == [r["account_id"] for r in reports]
    assert held["datasets"]["Savings Plan coverage"] == [
        r["savings_plan_coverage"] for r in reports
    ]
    assert held["datasets"]["RI coverage"] == [r["reservation_coverage"] for r in reports]
    assert held["datasets"]["Utilisation"] == [r["utilisation"] for r in reports]
    summary = _rows(watched, "#commitment-reports")
    assert [(c[0], c[6], c[7]) for c in summary] == [
        (r["account_id"], _pct(r["coverage"]), _pct(r["utilisation"])) for r in reports
    ]
    assert [c[9] for c in summary] == [_money(r["best_monthly_savings"]) for r in reports]

    # Each account's detail: held commitments with their end, purchases, unpriced reasons.
    bought = 0
    for report in reports:
        account = report["account_id"]
        button = page.get_by_role("button", name=account, exact=True)
        _rerendered(watched, button.click, f"#commitment-detail[data-account='{account}']")
        assert f"show={account}" in page.url
        doc = system.committed.get(f"/v1/commitments/{account}")
        assert [(c[0], c[5], c[8][:10]) for c in _rows(watched, "#commitments-held")] == [
            (c["arn"], _pct(c["utilisation"]), c["end"][:10]) for c in doc["commitments"]
        ]
        buys = _rows(watched, "#commitment-purchases")
        assert len(buys) == len(doc["recommendations"])
        if not buys:
            assert "Nothing to buy" in page.inner_text("#commitment-purchases")
        bought += len(buys)
        for cells, r in zip(buys, doc["recommendations"], strict=True):
            assert cells[2:5] == [f"{r['term_years']} y", r["payment_option"].replace("_", " "),
                                  f"{r['lookback_days']} days"]  # fmt: skip
            assert cells[5] == f"${r['hourly_commitment']:,.3f}"
            assert cells[7:10] == [_pct(r["projected_coverage"]), _pct(r["projected_utilisation"]),
                                   _pct(r["break_even_utilisation"])]  # fmt: skip
            assert cells[11] == _money(r["estimated_monthly_savings"])
        # Unpriced products: one row per product and reason, listing every term and payment.
        listed = {
            (c[2], option)
            for c in _rows(watched, "#commitment-unpriced")
            for option in c[1].split(", ")
        }
        assert listed == {
            (u["reason"], f"{u['term_years']} y {u['payment_option'].replace('_', ' ')}")
            for u in doc["unpriced"]
        }
        if account == reports[0]["account_id"]:
            screenshot(watched, "commitments")

    assert bought > 0  # the steady account has something worth buying
    alerts = system.committed.get("/v1/commitments/alerts", limit=50)["items"]
    shown = _rows(watched, "#commitment-alerts")
    assert [(c[1], c[2], c[3]) for c in shown] == [
        (a["account_id"], a["reason"].replace("_", " "), a["arn"]) for a in alerts
    ]
    assert {a["reason"] for a in alerts} == {"low_utilisation", "expiring"}
    # The alert filter is in the URL and asks the gateway for that reason only.
    _rerendered(
        watched, lambda: page.goto(f"{system.console}#/commitments?reason=expiring"), "table"
    )
    assert {c[2] for c in _rows(watched, "#commitment-alerts")} == {"expiring"}
    watched.ok()


def test_gateway_going_away_shows_a_banner_and_recovers(watched: Watched, system: System) -> None:
    """Runs last in this module: it restarts the pipeline's gateway."""
    sign_in(watched, system)
    page = watched.page
    open_page(watched, system, "costs")
    supervisor = system.pipeline.supervisor
    supervisor.kill("gateway")  # SIGKILL: gone at once, as in a crash or a lost host
    page.click("nav a[data-page=anomalies]")
    banner = page.locator("#banner")
    banner.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    assert re.search(r"cannot be reached", banner.inner_text())
    screenshot(watched, "gateway-away")
    supervisor.start_module(
        "gateway", "services.gateway", env={"SPENDSTREAM_SERVICE_NAME": "gateway"}
    )
    banner.wait_for(state="hidden", timeout=UI_TIMEOUT_MS * 2)
    page.wait_for_selector(
        ".page-anomalies[data-ready=true] #anomaly-list tbody tr", timeout=UI_TIMEOUT_MS
    )
    assert page.locator("#anomaly-list .error").count() == 0
