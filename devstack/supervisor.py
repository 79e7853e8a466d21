"""Run the services as child processes and stop every one of them, always.

The demo and the end-to-end tests start each service as its own process (as
production does), each in its own process group so a stop reaches the
service's children too (a forecast worker's process pool, for example).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psutil

from devstack.logs import log_tail
from devstack.processes import markers

# Services finish their current batch and commit on SIGTERM; 15 s covers a
# Prophet fit in flight and a consumer leaving its group.
STOP_GRACE_S = 15.0
# After SIGKILL the kernel reaps in milliseconds; this only guards against
# a process stuck in uninterruptible I/O.
KILL_WAIT_S = 5.0


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        """Still running (not exited, not a zombie)."""
        return self.popen.poll() is None

    def tail(self) -> str:
        """The last lines of its log, for error messages."""
        return log_tail(self.log_path)


@dataclass
class Supervisor:
    """Starts named processes with logs under ``log_dir``; stops them all on exit."""

    log_dir: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    children: dict[str, Child] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        """Start ``argv`` (``python -m ...`` if it begins with a module path) as ``name``."""
        if name in self.children and self.children[name].alive():
            raise RuntimeError(f"{name} is already running (pid {self.children[name].popen.pid})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                list(argv),
                # The markers let the next run find and stop this service if
                # we are killed before we can (see devstack.leftovers).
                env={**self.env, **(env or {}), **markers(name, os.getpid())},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = Child(name, popen, log_path)
        self.children[name] = child
        return child

    def start_module(
        self, name: str, module: str, *args: str, env: Mapping[str, str] | None = None
    ) -> Child:
        """Start ``python -m module args...`` with this interpreter."""
        return self.start(name, [sys.executable, "-m", module, *args], env)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a child's whole process group and reap it."""
        child = self.children[name]
        _signal_group(child.popen.pid, sig)
        child.popen.wait(timeout=STOP_GRACE_S if sig == signal.SIGTERM else KILL_WAIT_S)

    def dead(self) -> list[Child]:
        """Children that exited on their own (a crash the caller should report)."""
        return [c for c in self.children.values() if not c.alive()]

    def stop_all(self) -> None:
        """SIGTERM every child's group, then SIGKILL what is left; leave nothing behind."""
        groups = {c.popen.pid: _group_members(c.popen.pid) for c in self.children.values()}
        for pid in groups:
            _signal_group(pid, signal.SIGTERM)
        for child in self.children.values():
            try:
                child.popen.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(child.popen.pid, signal.SIGKILL)
                child.popen.wait(timeout=KILL_WAIT_S)
        leftovers = [p for members in groups.values() for p in members if p.is_running()]
        for proc in leftovers:
            proc.kill()
        psutil.wait_procs(leftovers, timeout=KILL_WAIT_S)

    def rss_bytes(self) -> dict[str, int]:
        """Each child's resident memory summed over its process group (pool workers included)."""
        out = {}
        for name, child in self.children.items():
            total = 0
            for proc in _group_members(child.popen.pid):
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            out[name] = total
        return out

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone: what we wanted
        os.killpg(pgid, sig)


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members
