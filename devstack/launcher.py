"""Start one command fully detached and print its pid (a tiny double-fork).

``processes.spawn_detached`` runs this script as a short-lived child: the
script starts the real server in a new session and exits at once, so the server
is re-parented to init. That way the server outlives the CLI, the caller never
has to reap a zombie, and a caller that is itself long-lived (a pytest session)
keeps no ``Popen`` handle that would warn about a still-running child.

Only the standard library is used: it runs as ``python -I launcher.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> None:
    """Parse ``--log/--cwd/--uid/--gid -- argv...``, start argv, print its pid."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    with open(args.log, "ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=args.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=args.uid,
            group=args.gid,
            extra_groups=[] if args.gid is not None else None,
        )
    sys.stdout.write(f"{proc.pid}\n")
    sys.stdout.flush()
    # Leave without running Popen.__del__: the child is meant to outlive us.
    os._exit(0)


if __name__ == "__main__":
    main()
