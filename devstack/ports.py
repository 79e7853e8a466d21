"""Loopback port helpers: pick a free port, refuse a taken one.

The stack only ever listens on 127.0.0.1, so nothing here binds other
interfaces.
"""

from __future__ import annotations

import errno
import socket

from devstack.exceptions import PortInUseError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago.

    The kernel picks it (bind to port 0); there is a small window before the
    component binds it, which is why components also report a taken port
    clearly if they lose that race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """True when nothing holds ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
        return True


def claim_port(component: str, port: int | None) -> int:
    """Return ``port`` if it is free (or a free one when ``None``).

    Raises:
        PortInUseError: ``port`` was given and another process holds it.
    """
    if port is None:
        return free_port()
    if not port_is_free(port):
        raise PortInUseError(component, port)
    return port


def accepts_connections(port: int, timeout: float) -> bool:
    """True when a TCP connection to ``127.0.0.1:port`` succeeds."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False
