"""Where knowledge lives: the shipped ``patches/`` and ``fingerprints/``, and the user's
database.

In a source checkout or an editable install the shipped directories sit next to the package; a
wheel installs them as data files under ``<prefix>/share/toolsfix``. One place so every reader
of shipped or learned data (fingerprints, proofs on record) agrees.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Optional


def shipped_dir(name: str) -> Path:
    """The shipped ``patches`` or ``fingerprints`` directory (may not exist)."""
    beside = Path(__file__).resolve().parent.parent / name
    if beside.is_dir():
        return beside
    # lazy: start-up time (a checkout or an editable install never gets here)
    import sysconfig

    for base in (sysconfig.get_path("data"), sys.prefix):
        candidate = Path(base) / "share" / "toolsfix" / name
        if candidate.is_dir():
            return candidate
    return beside


def user_db_dir() -> Path:
    """The user's learned records, computed without platformdirs.

    ``$TOOLSFIX_USER_DB`` wins; macOS uses ``~/Library/Application Support/toolsfix``;
    Windows ``%APPDATA%\\toolsfix``; everything else (Linux, Solaris) follows XDG:
    ``$XDG_DATA_HOME/toolsfix`` when it is an absolute path, else ``~/.local/share/toolsfix``.
    """
    override = os.environ.get("TOOLSFIX_USER_DB")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "toolsfix" / "fingerprints"
    if sys.platform.startswith("win"):
        appdata = os.environ.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "toolsfix" / "fingerprints"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / "toolsfix" / "fingerprints"


def default_db_dirs() -> list[Path]:
    """Shipped first, then the user's: on duplicates the shipped record is kept."""
    shipped, user = shipped_dir("fingerprints"), user_db_dir()
    return [shipped] if shipped.resolve() == user.resolve() else [shipped, user]


_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def release_file_name(version: Optional[str], build: Optional[str]) -> str:
    """``tools-<version>-<build>.json``: the file of one Tools release in a database directory
    (``unknown`` for a missing part; anything but ``[A-Za-z0-9._-]`` becomes ``_``, so a
    version string from a distrib can never name a path elsewhere)."""
    v = _SAFE_NAME_RE.sub("_", version or "unknown")
    b = _SAFE_NAME_RE.sub("_", build or "unknown")
    return f"tools-{v}-{b}.json"
