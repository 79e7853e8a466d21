"""Errors raised by the embedded single-machine stack.

Every error derives from :class:`DevStackError`, so the CLI can catch the whole
family in one place, and each message says what went wrong *and* what to do.
"""

from __future__ import annotations


class DevStackError(Exception):
    """Root of every error the embedded stack raises on purpose."""


class PortInUseError(DevStackError):
    """A component was asked to listen on a port another process holds."""

    def __init__(self, component: str, port: int) -> None:
        super().__init__(
            f"{component}: 127.0.0.1:{port} is already in use by another process. "
            f"Stop whatever listens there (`ss -ltnp 'sport = :{port}'`) or pick "
            "another port (omit the port option to get a free one)."
        )
        self.component = component
        self.port = port


class BinaryNotFoundError(DevStackError):
    """The executable a component needs cannot be found or run."""

    def __init__(self, component: str, detail: str, hint: str) -> None:
        super().__init__(f"{component}: {detail} {hint}")
        self.component = component


class StartupTimeoutError(DevStackError):
    """A component started but did not become ready before its deadline."""

    def __init__(self, component: str, seconds: float, log_path: str) -> None:
        super().__init__(
            f"{component} did not become ready within {seconds:.0f} s. "
            f"Read its log at {log_path}; then run `spendstream dev down` and retry."
        )
        self.component = component


class ComponentExitedError(DevStackError):
    """A component's process exited during start-up."""

    def __init__(
        self, component: str, returncode: int | None, log_tail: str, log_path: str
    ) -> None:
        super().__init__(
            f"{component} exited during start-up (exit code {returncode}). "
            f"Last lines of {log_path}:\n{log_tail}"
        )
        self.component = component


class StateDirError(DevStackError):
    """The state directory cannot be used as it is (permissions, ownership)."""
