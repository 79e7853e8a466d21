"""A service as a real process, stopped the way Kubernetes stops it.

``python -m services.<name>`` runs from the repository root with an
environment built only from what the test passes (no ``SPENDSTREAM_*`` leaks
in from the caller's shell), logging JSON to a file the test can read. The
grace period is the one the service's Deployment gives it, so the test holds
the process to the same deadline as ``kubectl delete``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "deploy" / "k8s" / "base"
ENV_PREFIX = "SPENDSTREAM_"
# After a failed assertion a process that ignores SIGTERM is killed, not waited on forever.
KILL_WAIT_S = 10.0


def grace_period_s(service: str) -> float:
    """``terminationGracePeriodSeconds`` of the service's Deployment."""
    path = MANIFESTS / service / "deployment.yaml"
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "Deployment":
            return float(doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])
    raise AssertionError(f"{path} has no Deployment with terminationGracePeriodSeconds")


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any ``SPENDSTREAM_*`` variable, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return {**clean, **extra}


@dataclass
class ServiceProcess:
    """One run of ``python -m services.<service>`` logging to ``log``."""

    service: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}"],
                cwd=REPO,
                env=base_env(self.env),
                stdout=out,
                stderr=out,
            )

    def alive(self) -> bool:
        """True while the process runs; a process that died early fails the test with its log."""
        code = self.proc.poll()
        assert code is None, f"{self.service} exited early ({code}):\n{self.tail()}"
        return True

    def terminate(self, grace_s: float) -> int:
        """SIGTERM, then wait up to ``grace_s``; a process still running is killed and fails."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.service} still running {grace_s:.0f} s after SIGTERM:\n{self.tail()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL if still running (cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=KILL_WAIT_S)

    def logged(self, event: str) -> list[dict[str, object]]:
        """The JSON log records whose ``event`` is ``event``."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == event:
                    out.append(record)
        return out

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
