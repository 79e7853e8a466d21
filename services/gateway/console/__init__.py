"""The web console: static pages that use only the public ``/v1`` API and the alert stream.

Served by the gateway itself under ``/console`` so ``make demo`` needs no other
server; everything it shows an API user can fetch too. The code files (scripts,
styles, the vendored chart library) are served from memory under a path named
for a hash of their contents, ``/console/v/<hash>/...``, so a browser may keep
them for a year (``SecurityHeaders``): a change to any file changes the path.
``index.html``, which names that path, stays ``no-store`` like every API answer.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from services.gateway.console.bundle import BUNDLE, bundle

PATH = "/console"
STATIC_DIR = Path(__file__).parent / "static"
INDEX = "index.html"
# Relative src/href values in the page (not "#/route", "data:,", or a scheme).
_LINK = re.compile(r'(\s(?:src|href)=")([^"#:]+)"')
# A script the page carries inline: <script data-inline="boot.js"></script>.
_INLINE = re.compile(r'<script data-inline="([^"]+)"></script>')


class Assets:
    """The console's code files, read once, answered from memory under a content-hashed path.

    Reading at startup means a request costs no file stat or thread hop. The
    page loads one script, ``js/console.js``, joined here from the modules
    (``bundle``); the modules themselves are served too, as written. ``boot.js``
    goes inline into the page, so the anomaly list's API call can start before
    any script file has arrived; ``script_hashes`` lets the CSP admit it alone.
    """

    def __init__(self, root: Path) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != INDEX):
            name = file.relative_to(root).as_posix()
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if name.endswith(".js"):
                media = "text/javascript"
            self.files[name] = (file.read_bytes(), media)
        modules = {n: body.decode() for n, (body, _) in self.files.items() if n.startswith("js/")}
        self.files[BUNDLE] = (bundle(modules).encode(), "text/javascript")
        digest = hashlib.sha256()
        for name, (body, _) in sorted(self.files.items()):
            digest.update(name.encode() + b"\0" + body + b"\0")
        self.version = digest.hexdigest()[:16]
        self.prefix = f"{PATH}/v/{self.version}"
        self.script_hashes: tuple[str, ...] = ()
        page = _INLINE.sub(self._inlined, (root / INDEX).read_text())
        self.index = _LINK.sub(self._versioned, page).encode()

    def _inlined(self, match: re.Match[str]) -> str:
        """The named file's code inline, its hash kept for the CSP (which admits only it)."""
        code = self.files[match.group(1)][0]
        if b"</script" in code.lower():
            raise ValueError(f"{match.group(1)} cannot go inline: it contains </script")
        digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
        self.script_hashes = (*self.script_hashes, f"sha256-{digest}")
        return f"<script>{code.decode()}</script>"

    def _versioned(self, match: re.Match[str]) -> str:
        name = match.group(2)
        return f'{match.group(1)}v/{self.version}/{name}"' if name in self.files else match[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one file (mounted at ``prefix``, so ``path`` is relative to it)."""
        found = self.files.get(scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/"))
        if found is None or scope["method"] not in ("GET", "HEAD"):
            response = Response("not found", status_code=404, media_type="text/plain")
        else:
            response = Response(found[0], media_type=found[1])
        await response(scope, receive, send)


def mount(app: FastAPI, assets: Assets) -> None:
    """Serve the page at ``/console/`` and the code files under ``assets.prefix``."""

    async def page() -> HTMLResponse:
        return HTMLResponse(assets.index)

    for path in (f"{PATH}/", f"{PATH}/{INDEX}"):
        app.add_api_route(path, page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(assets.prefix, assets, name="console-assets")
