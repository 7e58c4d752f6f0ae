"""Run test code where file permissions apply, even when the suite runs as root.

CI runs the suite as root, and root reads a mode-000 file as if nothing were wrong, so a test
of "unreadable" input would prove nothing there. :func:`run_unprivileged` therefore runs the
code in a forked child that has dropped to an unprivileged uid (or in-process when the suite is
not root), and hands back its result or exception. The code runs in the forked copy of this
interpreter, so modules the child needs should be imported (or warmed up) by the parent first.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")
UNPRIVILEGED_UID = 65534  # "nobody" on Linux and Solaris


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_unprivileged(fn: Callable[[], T]) -> T:
    """``fn()`` with permission checks in force; its exception is re-raised here."""
    if not is_root():
        return fn()
    if not hasattr(os, "fork"):
        pytest.skip("needs fork to drop root privileges")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        outcome: tuple[str, object]
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(UNPRIVILEGED_UID)
            os.setuid(UNPRIVILEGED_UID)
            outcome = ("value", fn())
        except BaseException as exc:
            outcome = ("error", exc)
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:
            data = pickle.dumps(("error", RuntimeError(f"unpicklable outcome: {exc}")))
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "error":
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[no-any-return]


@contextlib.contextmanager
def public_tmpdir() -> Iterator[Path]:
    """A temporary directory the unprivileged child can reach (pytest's own tmp is 0700).

    HOME and the user fingerprint database point into it meanwhile, so nothing the child
    looks up under the real HOME is refused. Modes are restored before removal.
    """
    base = Path(tempfile.mkdtemp(prefix="toolsfix-unpriv-"))
    base.chmod(0o755)
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_DATA_HOME", "TOOLSFIX_USER_DB")}
    os.environ["HOME"] = str(base)
    os.environ.pop("XDG_DATA_HOME", None)
    os.environ["TOOLSFIX_USER_DB"] = str(base / "no-user-db")
    try:
        yield base
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        base.chmod(stat.S_IRWXU)
        for top, dirs, _files in os.walk(base):  # top-down: opened before descending
            for name in dirs:
                path = os.path.join(top, name)
                if not os.path.islink(path):
                    os.chmod(path, stat.S_IRWXU)
        shutil.rmtree(base, ignore_errors=True)
