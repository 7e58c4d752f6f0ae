"""Entry point of ``toolsfix.pyz`` (copied into the archive as ``__main__.py`` by build.py).

The pure-Python dependencies (click, packaging, pycdlib) are imported straight from the
archive by ``zipimport``. toolsfix itself is not: parts of it find files next to their own
source (``sandbox.pl`` is handed to ``perl`` as a path; the catalog, ``patches/`` and
``fingerprints/`` are located relative to the package), and a path inside a zip is not a
file that ``perl`` or ``Path.read_text`` can open. Rather than teach every such reader about
zips, the bootstrap materialises the package and its data into a private temporary directory
(``mkdtemp``: mode 0700, unique name, so no other user can plant code there) and imports it
from there; the directory is removed when the process exits. That costs a few milliseconds and
keeps the core byte-for-byte the code the test suite runs.

This file must stay importable by old interpreters: it checks the Python version before
anything else so that a too-old ``python3`` gets one line instead of a syntax error deep in
a dependency.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import zipfile
from typing import Optional

MANIFEST = "toolsfix-pyz.json"
CORE = "_core/"
# Exit code for "this interpreter cannot run the archive" (the CLI's usage-error code).
EXIT_ENVIRONMENT = 2


def archive_path() -> str:
    """The archive this bootstrap was loaded from (``python toolsfix.pyz`` or a shebang run)."""
    return os.path.dirname(os.path.abspath(__file__))


def python_problem(minimum: tuple[int, int], current: tuple[int, ...]) -> Optional[str]:
    """One line explaining why ``current`` cannot run the archive, or None when it can."""
    if tuple(current[:2]) >= tuple(minimum):
        return None
    need = ".".join(str(n) for n in minimum)
    have = ".".join(str(n) for n in current[:3])
    return f"toolsfix.pyz: needs Python {need} or newer (this is {have}); use a newer python3"


def core_members(names: list[str]) -> list[str]:
    """Archive members under ``_core/`` that are safe to extract (no absolute or ``..`` paths)."""
    safe = []
    for name in names:
        if not name.startswith(CORE) or name.endswith("/"):
            continue
        rel = name[len(CORE) :]
        parts = rel.split("/")
        if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"unsafe member name in archive: {name!r}")
        safe.append(name)
    return safe


def extract_core(archive: zipfile.ZipFile, dest: str) -> int:
    """Write every ``_core/`` member below ``dest``; return how many files were written."""
    members = core_members(archive.namelist())
    for name in members:
        target = os.path.join(dest, *name[len(CORE) :].split("/"))
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        with archive.open(name) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    return len(members)


def prepare(pyz: str) -> str:
    """Check the interpreter, materialise the core, and put it first on ``sys.path``."""
    with zipfile.ZipFile(pyz) as archive:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
        minimum = tuple(manifest["min_python"])
        problem = python_problem((int(minimum[0]), int(minimum[1])), sys.version_info[:3])
        if problem:
            sys.stderr.write(problem + "\n")
            sys.exit(EXIT_ENVIRONMENT)
        workdir = tempfile.mkdtemp(prefix="toolsfix-pyz-")
        atexit.register(shutil.rmtree, workdir, True)
        extract_core(archive, workdir)
    sys.path.insert(0, workdir)
    return workdir


def run() -> None:
    pyz = archive_path()
    try:
        prepare(pyz)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        sys.stderr.write(f"toolsfix.pyz: cannot unpack {pyz}: {exc}\n")
        sys.exit(EXIT_ENVIRONMENT)
    from toolsfix.cli import main

    main()


# Worker processes started with "spawn" re-run this file as __mp_main__: they inherit
# sys.path (with the materialised core) from the parent and must not unpack again.
if __name__ == "__main__":
    run()
