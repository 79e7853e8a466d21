"""The architecture walls hold: services independent, shared service-free, cores pure.

The contracts live in ``.importlinter``. The second test builds a small tree
that breaks each wall and checks lint-imports reports every break, so a
contract that silently stopped matching would fail here.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_project_keeps_every_contract() -> None:
    result = _lint_imports(ROOT, ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_contracts_catch_violations(tmp_path: Path) -> None:
    files = {
        "shared/__init__.py": "",
        "shared/helpers.py": "import services.gateway\n",
        "services/__init__.py": "",
        "services/gateway/__init__.py": "",
        "services/ingestor/__init__.py": "",
        "services/rightsizing/__init__.py": "",
        "services/forecast/__init__.py": "",
        "services/anomaly/__init__.py": "import services.gateway\n",
        "services/anomaly/metric/__init__.py": "import aiokafka\n",
        "services/forecast/tooling.py": "import simulator\n",
        "simulator/__init__.py": "import services.forecast\n",
        "devstack/__init__.py": "",
        "evals/__init__.py": "",
        "bench/__init__.py": "",
        "demo/__init__.py": "",
        "cli/__init__.py": "",
        "aiokafka/__init__.py": "",
    }
    for name, body in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    # The project's own contracts, with the pure-core list cut to the small tree's core.
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    parser["importlinter:contract:pure-cores"]["source_modules"] = "services.anomaly.metric"
    config = tmp_path / ".importlinter"
    with config.open("w") as out:
        parser.write(out)
    result = _lint_imports(tmp_path, config)
    assert result.returncode != 0
    assert "Contracts: 0 kept, 5 broken." in result.stdout, result.stdout
