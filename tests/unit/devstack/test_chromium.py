"""The browser tests' Chromium can be fetched and run without root or a system install."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devstack.chromium import OWN_PACKAGES, chromium_executable, missing_packages


def test_the_fetch_plan_always_holds_the_browser_itself() -> None:
    assert set(OWN_PACKAGES) <= set(missing_packages())


def test_an_unpacked_copy_renders_a_page(tmp_path: Path) -> None:
    launcher = chromium_executable(prefer_system=False)
    assert launcher.name == "chromium-launcher"
    page = "data:text/html,<p id=probe>spendstream console</p>"
    done = subprocess.run(
        [
            str(launcher),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert '<p id="probe">spendstream console</p>' in done.stdout
