"""Reading component logs for error messages.

Logs are appended to across restarts, so start-up checks read only what the
current process wrote (from the size the log had before it started): an old
"address in use" line must not fail a later, healthy start.
"""

from __future__ import annotations

from pathlib import Path

# Enough lines to show the failing statement and its cause, few enough to read.
LOG_TAIL_LINES = 20


def log_size(path: Path) -> int:
    """Current size of ``path`` in bytes (0 when it does not exist yet)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, since: int = 0) -> str:
    """The last ``lines`` lines of ``path`` written after byte offset ``since``."""
    try:
        with path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
