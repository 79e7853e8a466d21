"""Where the stack keeps its files, and the ``stack.env`` file services read.

Everything lives under one state directory so that several stacks (a
developer's and each test session's) can run side by side without sharing
anything but the machine.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.settings import state_dir as default_state_dir

KAFKA_ENV = "SPENDSTREAM_KAFKA_BOOTSTRAP_SERVERS"
POSTGRES_ENV = "SPENDSTREAM_POSTGRES_DSN"
IDEMPOTENCE_ENV = "SPENDSTREAM_KAFKA_ENABLE_IDEMPOTENCE"
# The gateway seals webhook secrets with this key: minted once per stack and kept on every
# later `dev up`, since a new key could not open secrets sealed with the old one.
GATEWAY_SECRETS_ENV = "SPENDSTREAM_GATEWAY_SECRETS_KEY"


@dataclass(frozen=True)
class StatePaths:
    """The files of one stack, all under ``root``."""

    root: Path

    @classmethod
    def resolve(cls, state_dir: Path | None = None) -> StatePaths:
        """Paths for ``state_dir``, else $SPENDSTREAM_STATE_DIR, else ``<project>/.spendstream``."""
        return cls((state_dir or default_state_dir()).expanduser().resolve())

    @property
    def env_file(self) -> Path:
        """``KEY=VALUE`` lines with the endpoints, read by ``shared.settings.load``."""
        return self.root / "stack.env"

    @property
    def kafka_pid(self) -> Path:
        """Pid file of the broker."""
        return self.root / "kafka.pid"

    @property
    def kafka_log(self) -> Path:
        """Broker output."""
        return self.root / "kafka.log"

    @property
    def postgres_pid(self) -> Path:
        """Pid file of the PostgreSQL postmaster."""
        return self.root / "postgres.pid"

    @property
    def postgres_log(self) -> Path:
        """PostgreSQL server output."""
        return self.root / "postgres.log"

    @property
    def postgres_dir(self) -> Path:
        """PostgreSQL's data directory and password live here."""
        return self.root / "postgres"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock so two ``up``/``down`` calls never interleave."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def read_env(path: Path) -> dict[str, str]:
    """Parse a ``stack.env`` file (``{}`` when missing)."""
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def write_env(path: Path, values: dict[str, str]) -> None:
    """Write ``values`` as ``KEY=VALUE`` lines, owner-only (the DSN holds a password)."""
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text("".join(f"{key}={value}\n" for key, value in sorted(values.items())))
    tmp.replace(path)
