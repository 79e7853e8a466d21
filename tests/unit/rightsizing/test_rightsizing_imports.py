"""The intake process never loads scipy, scikit-learn or pandas; only evaluation clusters."""

from __future__ import annotations

import subprocess
import sys

_PROBE = (
    "import sys, services.rightsizing.app, services.rightsizing.evaluate; "
    "print(','.join(m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules))"
)


def test_service_process_does_not_import_scikit_learn() -> None:
    # A fresh interpreter: this test session may already have imported sklearn.
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
