"""What a run left behind, seen by psutil: live processes and listening ports.

Tests of failure paths ask these instead of trusting the code under test's
own bookkeeping (pid files, stack.env), which a failure may have cut short.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import psutil

from devstack.processes import COMPONENT_ENV, MARKER_ENV, OWNER_ENV


def processes_of(*, state_dir: Path | None = None, owner: int | None = None) -> list[str]:
    """``"pid cmdline"`` of live processes of ``state_dir`` or ``owner``.

    A process counts when its environment names the state dir or the owner,
    or its command line names the state dir.
    """
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        try:
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            env = {}
        hit = state_dir is not None and (
            env.get(MARKER_ENV) == str(state_dir) or str(state_dir) in cmdline
        )
        hit = hit or (owner is not None and env.get(OWNER_ENV, "").startswith(f"{owner}:"))
        if hit:
            found.append(f"{proc.info['pid']} {cmdline}")
    return found


def listening(ports: Iterable[int]) -> set[int]:
    """Which of ``ports`` some process listens on (TCP, any address)."""
    wanted = set(ports)
    return {
        conn.laddr.port
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port in wanted
    }


def owned_servers(owner: int) -> dict[str, tuple[int, tuple[int, ...]]]:
    """``{component: (pid, listening ports)}`` of the listening servers ``owner`` started."""
    servers = {}
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if not env.get(OWNER_ENV, "").startswith(f"{owner}:"):
                continue
            ports = tuple(
                c.laddr.port
                for c in proc.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN
            )
            # A server's children inherit its environment but not its sockets.
            if ports:
                servers[env.get(COMPONENT_ENV, "?")] = (proc.pid, ports)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return servers
