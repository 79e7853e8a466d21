"""Join the console's ES modules into one script at startup, so a page load fetches one file.

A browser pays per module file (a request, then a compile, one import level
after another); the console's 14 small modules cost more than their bytes. The
gateway therefore serves, next to the modules as written, ``js/console.js``:
every module reachable from ``js/app.js`` in dependency order, each in a
function of its own that returns its exports, its imports read from the modules
before it. Nothing is rewritten inside a module's code, so no Node toolchain
and no build artefact in the repository: the sources stay the truth.

It handles the forms the console uses and refuses any other (a ``BundleError`` at
startup, not a broken page): ``import { a, b as c } from "./x.js"``,
``import * as x from "./x.js"``, and ``export`` before a ``function``,
``async function``, ``const`` or ``class`` declaration. Imports must not form a cycle.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

ENTRY = "js/app.js"
BUNDLE = "js/console.js"
_IMPORT = re.compile(
    r"^import\s+(?:\{(?P<names>[^}]*)\}|\*\s+as\s+(?P<star>\w+))"
    r'\s+from\s+"(?P<path>[^"]+)";[ \t]*\n',
    re.M,
)
_EXPORT = re.compile(
    r"^export\s+(?P<kind>async\s+function|function|const|class)\s+(?P<name>\w+)", re.M
)
# What a module may still contain after its imports and export keywords are handled.
_LEFTOVER = re.compile(r"^\s*(import|export)\b[^(.]", re.M)


class BundleError(ValueError):
    """A module uses a form the bundler does not handle, or the imports form a cycle."""


def _var(name: str) -> str:
    """The variable holding a module's exports: ``js/pages/costs.js`` -> ``m_pages_costs``."""
    return "m_" + re.sub(r"\W", "_", name.removeprefix("js/").removesuffix(".js"))


def _module(name: str, source: str) -> tuple[list[str], str]:
    """(the modules ``name`` imports, its code as a function returning its exports)."""
    deps: list[str] = []
    head: list[str] = []
    for match in _IMPORT.finditer(source):
        dep = posixpath.normpath(posixpath.join(posixpath.dirname(name), match["path"]))
        deps.append(dep)
        if match["star"]:
            head.append(f"const {match['star']} = {_var(dep)};")
        else:
            parts = [p.split() for p in match["names"].split(",") if p.strip()]
            if any(len(p) not in (1, 3) or (len(p) == 3 and p[1] != "as") for p in parts):
                raise BundleError(f"{name}: cannot read the import {{{match['names']}}}")
            fields = ", ".join(p[0] if len(p) == 1 else f"{p[0]}: {p[2]}" for p in parts)
            head.append(f"const {{ {fields} }} = {_var(dep)};")
    body = _IMPORT.sub("", source)
    exports = [m["name"] for m in _EXPORT.finditer(body)]
    body = _EXPORT.sub(lambda m: f"{m['kind']} {m['name']}", body)
    leftover = _LEFTOVER.search(body)
    if leftover:
        line = body[leftover.start() :].splitlines()[0].strip()
        raise BundleError(f"{name}: cannot bundle {line!r}")
    code = "\n".join(
        [
            f"// {name}",
            f"const {_var(name)} = (() => {{",
            *head,
            body.rstrip(),
            f"return {{ {', '.join(exports)} }};",
            "})();",
        ]
    )
    return deps, code


def bundle(sources: Mapping[str, str], entry: str = ENTRY) -> str:
    """One ES module script running ``entry`` and everything it imports, each once, in order."""
    order: list[str] = []
    codes: dict[str, str] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in codes:
            return
        if name in visiting:
            raise BundleError(f"import cycle through {name}")
        if name not in sources:
            raise BundleError(f"{name} is imported but not there")
        visiting.add(name)
        deps, code = _module(name, sources[name])
        for dep in deps:
            visit(dep)
        visiting.discard(name)
        codes[name] = code
        order.append(name)

    visit(entry)
    banner = f"// The console's modules from {entry}, joined by the gateway (console/bundle.py).\n"
    return banner + "\n".join(codes[n] for n in order) + "\n"
