"""Reading component logs for error messages."""

from __future__ import annotations

from pathlib import Path

# Enough lines to show the failing statement and its cause, few enough to read.
LOG_TAIL_LINES = 20


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``path`` ("" when it does not exist yet)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
