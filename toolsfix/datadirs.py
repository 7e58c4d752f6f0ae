"""Where the shipped knowledge (``patches/``, ``fingerprints/``) lives.

In a source checkout or an editable install the directories sit next to the package; a wheel
installs them as data files under ``<prefix>/share/toolsfix``. One function so every reader of
shipped data agrees.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
