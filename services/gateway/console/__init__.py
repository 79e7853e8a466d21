"""The web console: static pages that use only the public ``/v1`` API and the alert stream.

Served by the gateway itself under ``/console`` so ``make demo`` needs no other
server; everything it shows an API user can fetch too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

PATH = "/console"
STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Serve ``static/`` at ``/console`` (``/console/`` answers ``index.html``)."""
    app.mount(PATH, StaticFiles(directory=STATIC_DIR, html=True), name="console")
