"""Every demo run starts from an empty state dir.

The demo simulates its whole organisation again on each run, so what an
earlier run left (broker log, database, the ``demo`` tenant) would only be
ingested twice or collide: a second run used to stop at "tenant 'demo'
exists". Emptying is refused where it could destroy something that is not a
finished demo's state.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from demo.pipeline import DemoError
from devstack import processes

MARKER = ".spendstream-demo"


def fresh_state_dir(root: Path, *, default: bool) -> Path:
    """Empty ``root`` (a demo's state dir) and mark it as the demo's.

    ``default`` says ``root`` is the demo's own default directory, which is
    emptied even without the marker (runs before the marker existed).

    Raises:
        DemoError: ``root`` holds files but is not a demo state dir, or a
            running stack still uses it.
    """
    root = root.expanduser().resolve()
    if root.is_dir() and any(root.iterdir()):
        if not default and not (root / MARKER).exists():
            raise DemoError(
                f"{root} is not empty and was not made by the demo; "
                "pass an empty or new --state-dir"
            )
        if processes.stack_processes(root):
            raise DemoError(
                f"a running stack uses {root}; stop that demo or pick another --state-dir"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("state of `spendstream demo`; emptied at the start of each run\n")
    return root
