"""Console benchmark: time to an interactive anomaly list over 1M anomalies, in chromium.

In one run, on ``bench-gateway``'s data (1,000,000 anomalies and 1,000,000
recommendations COPYed into a fresh schema; the benchmark tenant owns 10 of
100 accounts) and the same gateway subprocess:

* **page** - a fresh browser context (an empty cache: a first visit) opens
  ``/console/#/anomalies?...`` with the key already in sessionStorage; measured
  from navigation start to the list being interactive (its rows rendered, the
  page marked ready), plus first contentful paint;
* **page, repeat visit** - the same, as later tabs of one context: the page and
  its API calls are fetched again (``no-store``), the content-hashed code files
  come from the browser's cache;
* **API alone, loaded** - the same ``/v1/anomalies`` URL opened in a fresh
  context (the key as a header), measured to its load event: the page's API
  call loaded alone, the issue's baseline;
* **API alone, fetched** - the same call with ``fetch`` from a warm page on the
  same origin (no navigation at all): the floor.

Each is repeated ``--runs`` times; the figures are ratios of the medians
(target <= 1.5x against the first baseline; the target is
met only if the first visit meets it), printed with the load average.

Run: ``make bench-console`` (``--rows``, ``--runs`` to change; chromium from
Debian's package, see ``devstack.chromium``). ``--checkouts DIR,DIR,...`` compares
the console of other checkouts (git worktrees) in the same run instead: one gateway
per checkout on the same fill, first visits and API-alone loads interleaved
across them, so machine load falls on each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bench.bench_gateway import backends, fill, fresh_schema, serve
from devstack.chromium import chromium_executable
from devstack.ports import free_port
from tests.browser.conftest import CHROMIUM_ARGS

# The list the page shows first, with the filter a person would start from.
ROUTE = "anomalies?severity=high"
API = "/v1/anomalies?severity=high&limit=50"
# Records when the anomaly list becomes interactive, from navigation start.
READY_PROBE = """
new MutationObserver((_, obs) => {
  const page = document.querySelector('.page-anomalies[data-ready=true]');
  if (page && page.querySelector('#anomaly-list tbody tr')) {
    window.__ready = performance.now(); obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def _context(browser: Browser, key: str) -> BrowserContext:
    """A fresh context (empty HTTP cache) with the key in sessionStorage and the ready probe."""
    context = browser.new_context()
    context.add_init_script(f"sessionStorage.setItem('spendstream.key', {key!r});")
    context.add_init_script(READY_PROBE)
    return context


def _visit(context: BrowserContext, base: str) -> tuple[float, float]:
    """(ms to interactive list, ms to first contentful paint) for one page load in ``context``."""
    page = context.new_page()
    try:
        page.goto(f"{base}/console/#/{ROUTE}")
        page.wait_for_function("() => window.__ready !== undefined", timeout=60_000)
        ready = page.evaluate("window.__ready")
        fcp = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
        )
        return float(ready), float(fcp or "nan")
    finally:
        page.close()


def page_run(browser: Browser, base: str, key: str) -> tuple[float, float]:
    """One first visit: a fresh context, so every file comes over the network."""
    context = _context(browser, key)
    try:
        return _visit(context, base)
    finally:
        context.close()


def repeat_visits(browser: Browser, base: str, key: str, runs: int) -> list[tuple[float, float]]:
    """``runs`` later visits in one context: the page (no-store) and its API calls are fetched
    again, the content-hashed code files come from the browser's cache."""
    context = _context(browser, key)
    try:
        _visit(context, base)  # the first visit, which fills the cache
        return [_visit(context, base) for _ in range(runs)]
    finally:
        context.close()


def api_loads(browser: Browser, base: str, key: str, runs: int) -> list[float]:
    """ms from navigation start to the load event of the API document in a fresh context."""
    times = []
    for _ in range(runs):
        context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {key}"})
        try:
            page = context.new_page()
            page.goto(base + API)
            times.append(
                float(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            )
        finally:
            context.close()
    return times


def api_fetches(browser: Browser, base: str, key: str, runs: int) -> list[float]:
    """ms of the page's API call alone, fetched from a page on the same origin."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}/healthz")
        return [
            float(
                page.evaluate(
                    """async ([path, key]) => {
                        const t = performance.now();
                        const r = await fetch(path, {headers: {Authorization: `Bearer ${key}`},
                                                     cache: 'no-store'});
                        await r.json();
                        return performance.now() - t;
                    }""",
                    [API, key],
                )
            )
            for _ in range(runs)
        ]
    finally:
        context.close()


@contextlib.contextmanager
def _in(directory: str) -> Iterator[None]:
    """Run inside ``directory`` (a gateway started here imports that checkout's code)."""
    home = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(home)


def compare(checkouts: list[str], rows: int, runs: int) -> None:
    """The first-visit figures of several checkouts' consoles, measured interleaved."""
    with backends() as (dsn, bootstrap):
        key, took = asyncio.run(fill(dsn, fresh_schema(dsn, "bench_console"), rows))
        print(f"== fill: {rows:,} anomalies + {rows:,} recommendations in {took:.0f} s")
        servers: list[subprocess.Popen[bytes]] = []
        bases = []
        try:
            for checkout in checkouts:
                port = free_port()
                with _in(checkout):
                    log = Path(tempfile.gettempdir()) / f"bench-console-{port}.log"
                    servers.append(serve(dsn, bootstrap, "bench_console", port, log))
                bases.append(f"http://127.0.0.1:{port}")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(chromium_executable()), args=CHROMIUM_ARGS
                )
                for base in bases:
                    page_run(browser, base, key)  # warm each server's caches
                pages: dict[str, list[tuple[float, float]]] = {c: [] for c in checkouts}
                loads: dict[str, list[float]] = {c: [] for c in checkouts}
                for _ in range(runs):
                    for checkout, base in zip(checkouts, bases, strict=True):
                        pages[checkout].append(page_run(browser, base, key))
                        loads[checkout] += api_loads(browser, base, key, 1)
                browser.close()
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== {runs} interleaved runs each, medians (load average {load})")
    for checkout in checkouts:
        ready = statistics.median(p[0] for p in pages[checkout])
        fcp = statistics.median(p[1] for p in pages[checkout])
        loaded = statistics.median(loads[checkout])
        print(
            f"  {checkout}: first contentful paint {fcp:.1f} ms, list interactive {ready:.1f} ms,"
            f" API call loaded alone {loaded:.1f} ms, ratio {ready / loaded:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="anomalies and recommendations")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--checkouts", help="compare these checkouts (comma-separated dirs)")
    args = parser.parse_args()
    if args.checkouts:
        compare(args.checkouts.split(","), args.rows, args.runs)
        return
    with backends() as (dsn, bootstrap):
        print(f"== fill: {args.rows:,} anomalies + {args.rows:,} recommendations (COPY)")
        schema = fresh_schema(dsn, "bench_console")
        key, took = asyncio.run(fill(dsn, schema, args.rows))
        print(f"  filled in {took:.0f} s")
        port = free_port()
        log_path = Path(tempfile.gettempdir()) / f"bench-console-{port}.log"
        server = serve(dsn, bootstrap, schema, port, log_path)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(chromium_executable()), args=CHROMIUM_ARGS
                )
                page_run(browser, base, key)  # warm the server's caches as the API runs are
                pages = [page_run(browser, base, key) for _ in range(args.runs)]
                repeats = repeat_visits(browser, base, key, args.runs)
                loads = api_loads(browser, base, key, args.runs)
                fetches = api_fetches(browser, base, key, args.runs + 1)[1:]
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        log_path.unlink(missing_ok=True)
    ready = statistics.median(p[0] for p in pages)
    fcp = statistics.median(p[1] for p in pages)
    repeat = statistics.median(p[0] for p in repeats)
    loaded = statistics.median(loads)
    fetched = statistics.median(fetches)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== {args.runs} runs each, medians (load average {load})")
    print(f"  first contentful paint          {fcp:7.1f} ms")
    print(f"  anomaly list interactive        {ready:7.1f} ms  (first visit)")
    print(f"  anomaly list interactive        {repeat:7.1f} ms  (repeat visit, same context)")
    print(f"  its API call loaded alone       {loaded:7.1f} ms")
    print(f"  its API call fetched alone      {fetched:7.1f} ms")
    print(f"  ratio page / API call loaded    {ready / loaded:7.2f}x (target <= 1.5x)")
    print(f"  ratio page / API call fetched   {ready / fetched:7.2f}x")
    print(f"  ratio repeat visit / API loaded {repeat / loaded:7.2f}x")


if __name__ == "__main__":
    main()
