"""Stop a test session's embedded stack when the session's process dies.

A pytest run killed by a CI timeout (SIGTERM/SIGKILL) never runs its session
finalizers, and the embedded servers are detached, so they would outlive it.
The provider starts this watchdog next to the stack:

    python -m tests.harness.watchdog --owner-pid PID --state-dir DIR

It exits quietly when the session removes the state dir itself (the normal
path), and otherwise stops the stack and removes the dir once the owner is gone.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import psutil

from devstack import stack

# A leaked stack costs memory, not correctness: noticing within a second is plenty,
# and polling the process table any faster would only burn CPU in CI.
POLL_INTERVAL_S = 1.0


def main() -> None:
    """Wait for the owner to exit or the state dir to vanish; clean up after a dead owner."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    while args.state_dir.exists() and psutil.pid_exists(args.owner_pid):
        time.sleep(POLL_INTERVAL_S)
    if args.state_dir.exists():
        stack.down(args.state_dir)
        shutil.rmtree(args.state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
