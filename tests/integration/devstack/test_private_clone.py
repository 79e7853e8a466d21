"""A fresh clone inside a folder only its owner may enter: the stack and the tests work there.

This is the first thing a new user does (a clone in ``/root`` or a ``mktemp
-d`` folder, both mode 700). As root, PostgreSQL runs as an unprivileged user
who cannot enter such a folder, so the stack must run it from elsewhere
without opening the user's folder. The clone is of the working tree as it is
(uncommitted and untracked files included), so the test checks this change,
not the last commit.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.pg_install import remove_checkout_runtime
from devstack.state import POSTGRES_ENV, read_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

REPO_ROOT = Path(__file__).resolve().parents[3]
# `uv sync` into a new .venv from the warm uv cache: ~15 s idle, a minute loaded.
ENV_TIMEOUT_S = 180.0
# `dev up`/`dev down` import the CLI (~8 s) and start or stop two servers.
CLI_TIMEOUT_S = 120.0
# The harness tests below take ~20 s idle, stack start included.
PYTEST_TIMEOUT_S = 240.0
# Tests of the clone that use the session's broker and database.
STACK_TESTS = "tests/integration/test_harness.py"


def _git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
        timeout=CLI_TIMEOUT_S,
    )
    return done.stdout.strip()


def snapshot_commit(repo: Path, scratch: Path) -> str:
    """A commit of ``repo``'s working tree (untracked files too), made without touching it.

    A private index builds the tree, so the repository's index, branches and
    stash stay as they are; the commit object is left for ``git gc``.
    """
    index = {"GIT_INDEX_FILE": str(scratch / "index")}
    _git("read-tree", "HEAD", cwd=repo, env=index)
    _git("add", "--all", cwd=repo, env=index)
    tree = _git("write-tree", cwd=repo, env=index)
    return _git("commit-tree", tree, "-p", "HEAD", "-m", "working tree snapshot", cwd=repo)


def clone_at(repo: Path, commit: str, into: Path) -> None:
    """``git clone`` of ``repo``, checked out at ``commit`` (which no ref names)."""
    _git("clone", "--quiet", "--no-checkout", str(repo), str(into), cwd=into.parent)
    upload_pack = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"
    _git("fetch", "--quiet", f"--upload-pack={upload_pack}", str(repo), commit, cwd=into)
    _git("checkout", "--quiet", "--detach", commit, cwd=into)


def find_uv() -> str:
    """The uv that built this checkout's environment (the Makefile's own choice)."""
    found = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    assert os.access(found, os.X_OK), f"no uv on PATH nor at {found}"
    return found


@pytest.fixture
def private_clone() -> Iterator[Path]:
    """A clone of the working tree in a fresh mode-700 folder; removed with all it made."""
    outer = Path(tempfile.mkdtemp(prefix="spendstream-private-")).resolve()
    assert stat.S_IMODE(outer.stat().st_mode) == 0o700
    clone = outer / "spendstream"
    try:
        clone_at(REPO_ROOT, snapshot_commit(REPO_ROOT, outer), clone)
        yield clone
    finally:
        if (clone / ".venv" / "bin" / "spendstream").exists():
            subprocess.run(
                [str(clone / ".venv" / "bin" / "spendstream"), "dev", "down"],
                cwd=clone,
                capture_output=True,
                timeout=CLI_TIMEOUT_S,
                check=False,
            )
        remove_checkout_runtime(clone)
        shutil.rmtree(outer, ignore_errors=True)


def run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in the clone, its environment free of this session's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDSTREAM_")}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_stack_and_tests_run_from_a_clone_in_a_private_folder(private_clone: Path) -> None:
    clone = private_clone
    made = run(["make", "env", f"UV={find_uv()}"], clone, ENV_TIMEOUT_S)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    spendstream = str(clone / ".venv" / "bin" / "spendstream")
    python = str(clone / ".venv" / "bin" / "python")

    up = run([spendstream, "dev", "up"], clone, CLI_TIMEOUT_S)
    assert up.returncode == 0, up.stdout + up.stderr
    dsn = read_env(clone / ".spendstream" / "stack.env")[POSTGRES_ENV]
    query = (
        "import psycopg, sys; "
        "print(psycopg.connect(sys.argv[1]).execute('select 40 + 2').fetchone()[0])"
    )
    answered = run([python, "-c", query, dsn], clone, CLI_TIMEOUT_S)
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == "42"
    down = run([spendstream, "dev", "down"], clone, CLI_TIMEOUT_S)
    assert down.returncode == 0, down.stdout + down.stderr
    # Nothing was opened up for the server's user: the folder is still private.
    assert stat.S_IMODE(clone.parent.stat().st_mode) == 0o700

    tests = run(
        [python, "-m", "pytest", STACK_TESTS, "-q", "-p", "no:cacheprovider", "-n", "0"],
        clone,
        PYTEST_TIMEOUT_S,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
