"""What a distrib member is, and which members a pass reads, hashes or skips.

Every source (directory, tarball, ISO, lone script) yields the same :class:`Entry` records
and obeys the same ``want`` decision and per-kind caps; keeping that model apart from the
sources means a new container type only has to walk its members.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Optional

from toolsfix.distrib_containers import CHUNK
from toolsfix.knowledge import BINARY_DIR, classify_build
from toolsfix.safeio import (
    MAX_CONFIGURATOR_BYTES,
    MAX_DRIVER_BYTES,
    MAX_SCRIPT_BYTES,
    MAX_TAR_MEMBER_BYTES,
    too_large,
)

DISTRIB_DIR = "vmware-tools-distrib"
CONFIGURATOR = "bin/vmware-config-tools.pl"
INSTALLERS = ("vmware-install.pl", "vmware-install.real.pl", "bin/vmware-uninstall-tools.pl")
MANIFEST = "etc/manifest.txt.shipped"

# What to do with a member's content: keep the bytes, only hash them, or skip it.
KEEP, HASH = "keep", "hash"
Want = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class Member:
    """One entry of the distrib, path relative to ``vmware-tools-distrib/``."""

    path: str
    kind: str  # file, dir, symlink, other
    size: int
    mode: int
    mtime: int
    linkname: Optional[str] = None


@dataclass(frozen=True)
class Entry:
    """One member as read: its bytes when kept (``KEEP``), its digest when only hashed.

    Kept bytes are hashed only when :attr:`sha256` is asked for: ``fingerprints learn`` keeps
    every driver object (80-90 MiB of a Tools tarball), whose fingerprint carries its own
    sha256, so hashing them while streaming cost half a second for nothing.
    """

    member: Member
    data: Optional[bytes] = None
    digest: Optional[str] = None  # sha256 computed while streaming (``HASH``)

    @property
    def sha256(self) -> Optional[str]:
        """sha256 of the member's bytes (None when they were neither kept nor hashed)."""
        if self.digest is None and self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return self.digest


def relative(name: str) -> str:
    """Path inside the distrib: everything after the ``vmware-tools-distrib`` component.

    Plain string work: this runs once per member of archives with tens of thousands.
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if DISTRIB_DIR in parts:
        parts = parts[parts.index(DISTRIB_DIR) + 1 :]
    return "/".join(parts)


def default_want(path: str) -> Optional[str]:
    """Scripts and the manifest are read; Solaris driver builds are hashed (streaming, never
    held whole: only their digest is used); the rest is skipped.

    Only the Solaris builds are hashed because only they are read by a check or shown in the
    report (``drivers`` with their sha256). A Linux tarball carries 800-2,000 kernel objects
    (~90 MiB) that are merely counted: hashing them cost 0.15 s of a 0.4 s scan for nothing.
    """
    if path in (CONFIGURATOR, MANIFEST, *INSTALLERS):
        return KEEP
    if path.startswith(BINARY_DIR):
        build = classify_build(path)
        if build is not None and build.layout == "solaris":
            return HASH
    return None


def member_limit(path: str) -> tuple[int, str]:
    """(cap, kind) for the bytes of a member read or hashed at ``path`` of a distrib."""
    if path == CONFIGURATOR:
        return MAX_CONFIGURATOR_BYTES, "configurator"
    if path == MANIFEST or path in INSTALLERS:
        return MAX_SCRIPT_BYTES, "installer file"
    if path.startswith(BINARY_DIR):
        return MAX_DRIVER_BYTES, "driver object"
    return MAX_TAR_MEMBER_BYTES, "distrib member"


def _read_member(
    fh: IO[bytes], keep: bool, *, limit: int, label: str, what: str
) -> tuple[Optional[bytes], Optional[str]]:
    """The bytes of a stream when ``keep`` (hashed later, on demand: :attr:`Entry.sha256`),
    else its sha256 computed as it streams; more than ``limit`` bytes are refused.

    The cap is enforced on the bytes actually read: a tar header or ``stat`` may understate.
    """
    digest = None if keep else hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    while True:
        block = fh.read(CHUNK)
        if not block:
            break
        total += len(block)
        if total > limit:
            raise too_large(label, what, limit)
        if digest is not None:
            digest.update(block)
        else:
            chunks.append(block)
    if digest is None:
        return b"".join(chunks), None
    return None, digest.hexdigest()


class Source:
    """A distrib in some container. ``entries`` yields every member exactly once, in order."""

    kind = "unknown"

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        raise NotImplementedError
