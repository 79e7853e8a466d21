"""The console's modules joined into one script: every module once, dependencies first."""

from __future__ import annotations

import re

import pytest

from services.gateway.console import STATIC_DIR, Assets
from services.gateway.console.bundle import BUNDLE, BundleError, bundle


def test_imports_become_reads_of_earlier_modules_and_exports_a_returned_object() -> None:
    out = bundle(
        {
            "js/app.js": 'import { b as bee, c } from "./lib/b.js";\n'
            'import * as a from "./a.js";\nexport function go() { return a.x + bee(c); }\n',
            "js/lib/b.js": 'import { x } from "../a.js";\n'
            "export const b = (v) => v + x;\nexport async function c() {}\n",
            "js/a.js": "export const x = 1;\nexport class K {}\n",
        }
    )
    assert [m for m in re.findall(r"^// (js/\S+)$", out, re.M)] == [
        "js/a.js",
        "js/lib/b.js",
        "js/app.js",
    ]
    assert "const m_a = (() => {\nconst x = 1;\nclass K {}\nreturn { x, K };\n})();" in out
    assert "const { x } = m_a;" in out
    assert "const { b: bee, c } = m_lib_b;" in out
    assert "const a = m_a;" in out
    assert "return { b, c };" in out
    assert not re.search(r"^\s*(import|export)\b", out, re.M)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"js/app.js": 'import { a } from "./a.js";\n',
          "js/a.js": 'import { b } from "./app.js";\n'}, "import cycle"),
        ({"js/app.js": "export default 1;\n"}, "cannot bundle"),
        ({"js/app.js": 'import x from "./a.js";\n', "js/a.js": ""}, "cannot bundle"),
        ({"js/app.js": 'import { a } from "./gone.js";\n'}, "not there"),
    ],
)  # fmt: skip
def test_forms_it_cannot_join_fail_at_startup(sources: dict[str, str], message: str) -> None:
    with pytest.raises(BundleError, match=message):
        bundle(sources)


def test_the_console_bundle_holds_every_module_once_with_its_dependencies_first() -> None:
    assets = Assets(STATIC_DIR)
    out = assets.files[BUNDLE][0].decode()
    order = re.findall(r"^// (js/\S+)$", out, re.M)
    modules = sorted(n for n in assets.files if n.startswith("js/") and n != BUNDLE)
    assert sorted(order) == modules  # every module is reachable from app.js, once
    assert order[-1] == "js/app.js"
    for name in order:
        source = assets.files[name][0].decode()
        for dep in re.findall(r'^import .* from "([^"]+)";', source, re.M):
            resolved = re.sub(
                r"[^/]+/\.\./", "", f"{name.rsplit('/', 1)[0]}/{dep}".replace("/./", "/")
            )
            assert order.index(resolved) < order.index(name), (name, dep)
    # The page loads the bundle alone, under the content-hashed path.
    assert f'src="v/{assets.version}/{BUNDLE}"' in assets.index.decode()
    assert "js/app.js" not in assets.index.decode()
