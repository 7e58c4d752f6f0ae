"""Reading what the guest collector captured: a bundle directory or its tar archive.

The bundle is analysed on another machine, often long after the guest was changed, so this
reader answers only from what was captured and says "not captured" (None) for everything
else. It never extracts an archive to disk and never follows a path out of the bundle: a
bundle is untrusted input that came over the network from a guest.
The layout is documented in ``docs/bundle-format.md``.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from toolsfix.errors import InputError
from toolsfix.guest.capture_api import Capture, CommandResult

BUNDLE_FORMAT = "toolsfix-bundle/1"
FORMAT_NAME = "toolsfix-bundle"
FORMAT_MAJOR = 1
MANIFEST = "manifest.txt"
FILES_LIST = "files.list"

# An archive is read into memory (members are small text files and drivers of ~100 KiB);
# the cap keeps a hostile or mistaken archive from exhausting memory.
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024

# Status tokens the collector writes besides integers.
STATUS_NOT_RUN = "-"
STATUS_TIMEOUT = "timeout"
STATUS_NOT_FOUND = 127


@dataclass(frozen=True)
class CommandRecord:
    """One ``command <key> <status> <command line>`` line of the manifest."""

    key: str
    status: str
    command: str


@dataclass(frozen=True)
class FileRecord:
    """One ``<size> <mtime> <path>`` line of ``files.list``; None where the guest gave ``-``."""

    path: str
    size: Optional[int]
    mtime: Optional[int]


def _int_or_none(token: str) -> Optional[int]:
    return int(token) if token.isdigit() else None


def _guest_rel(path: str) -> Optional[str]:
    """``/etc/release`` -> ``etc/release``; None for relative or empty paths."""
    if not path.startswith("/"):
        return None
    norm = posixpath.normpath(path).lstrip("/")
    return norm


class _DirStore:
    """Bundle members read from a directory, never outside it (symlinks are checked)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def read(self, rel: str) -> Optional[bytes]:
        target = (self.root / rel).resolve()
        if target != self.root and self.root not in target.parents:
            return None
        if not target.is_file():
            return None
        try:
            return target.read_bytes()
        except OSError:
            return None


class _TarStore:
    """Bundle members held in memory after one sequential pass over the archive."""

    def __init__(self, members: dict[str, bytes]) -> None:
        self.members = members

    def read(self, rel: str) -> Optional[bytes]:
        return self.members.get(rel)


def _normalise_member(name: str) -> Optional[str]:
    norm = posixpath.normpath(name.lstrip("/"))
    if norm in (".", "") or norm.startswith("../") or norm == "..":
        return None
    return norm


def _load_tar(path: Path) -> _TarStore:
    """Read every regular member once; find the manifest at the top or under one directory."""
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                name = _normalise_member(info.name)
                if name is None:
                    continue
                total += info.size
                if total > MAX_ARCHIVE_BYTES:
                    raise InputError(f"{path}: bundle archive over {MAX_ARCHIVE_BYTES} bytes")
                handle = tar.extractfile(info)
                if handle is not None:
                    members[name] = handle.read()
    except tarfile.ReadError:
        raise InputError(
            f"{path}: cannot read bundle archive (not a bundle directory, tar or tar.gz)"
        ) from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: cannot read bundle archive (damaged: {reason})") from None
    manifests = sorted(
        (n for n in members if posixpath.basename(n) == MANIFEST and n.count("/") <= 1),
        key=lambda n: n.count("/"),
    )
    if not manifests:
        raise InputError(f"{path}: not a toolsfix bundle (no {MANIFEST} in the archive)")
    prefix = posixpath.dirname(manifests[0])
    if prefix:
        cut = len(prefix) + 1
        members = {n[cut:]: data for n, data in members.items() if n.startswith(prefix + "/")}
    return _TarStore(members)


class BundleCapture(Capture):
    """A :class:`~toolsfix.guest.capture_api.Capture` over a collector bundle.

    ``path`` is the bundle directory, or a ``.tar``/``.tar.gz`` of it (with or without a
    leading directory). Raises :class:`~toolsfix.errors.InputError` when it is not a readable
    toolsfix bundle.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = Path(path)
        self.origin = f"bundle:{self.path}"
        self._store: Union[_DirStore, _TarStore]
        if self.path.is_dir():
            self._store = _DirStore(self.path)
        elif self.path.is_file():
            self._store = _load_tar(self.path)
        elif not self.path.exists():
            raise InputError(f"{self.path}: no such bundle")
        else:
            raise InputError(f"{self.path}: not a directory or archive")
        raw = self._store.read(MANIFEST)
        if raw is None:
            raise InputError(f"{self.path}: not a toolsfix bundle (no {MANIFEST})")
        self.manifest: dict[str, str] = {}
        self.commands: dict[str, CommandRecord] = {}
        self.listings: dict[str, int] = {}
        self.unreadable: set[str] = set()
        self._parse_manifest(raw.decode("utf-8", errors="replace"))
        self.files: dict[str, FileRecord] = self._parse_files_list()

    # -- manifest -------------------------------------------------------------------------
    def _parse_manifest(self, text: str) -> None:
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "command":
                parts = rest.split(" ", 2)
                if len(parts) >= 2:
                    line_text = parts[2] if len(parts) > 2 else ""
                    self.commands[parts[0]] = CommandRecord(parts[0], parts[1], line_text)
            elif kind == "listing":
                status, _, where = rest.partition(" ")
                if where.startswith("/") and status.isdigit():
                    self.listings[posixpath.normpath(where)] = int(status)
            elif kind == "unreadable":
                if rest.startswith("/"):
                    self.unreadable.add(posixpath.normpath(rest))
            elif "=" in line:
                name, _, value = line.partition("=")
                self.manifest.setdefault(name.strip(), value)
        fmt = self.manifest.get("format")
        if fmt is None:
            raise InputError(f"{self.path}: not a toolsfix bundle ({MANIFEST} has no format= line)")
        name, _, major = fmt.partition("/")
        if name != FORMAT_NAME:
            raise InputError(f"{self.path}: not a toolsfix bundle (format={fmt})")
        if major != str(FORMAT_MAJOR):
            raise InputError(
                f"{self.path}: unsupported bundle format {fmt} (this version reads {BUNDLE_FORMAT})"
            )

    def _parse_files_list(self) -> dict[str, FileRecord]:
        raw = self._store.read(FILES_LIST)
        files: dict[str, FileRecord] = {}
        if raw is None:
            return files
        for line in raw.decode("utf-8", errors="surrogateescape").splitlines():
            parts = line.split(" ", 2)
            if len(parts) != 3 or not parts[2].startswith("/"):
                continue
            path = posixpath.normpath(parts[2])
            files[path] = FileRecord(path, _int_or_none(parts[0]), _int_or_none(parts[1]))
        return files

    @property
    def complete(self) -> bool:
        """False when the collector was interrupted before it finished."""
        return "finished" in self.manifest

    # -- Capture protocol -----------------------------------------------------------------
    def command(self, key: str) -> Optional[CommandResult]:
        """The captured result; None when not captured or not applicable to the guest's OS.

        A command the guest did not have (127) or that hit the time limit is reported with
        ``status=None``, as :class:`~toolsfix.guest.live.LiveCapture` reports it live.
        """
        record = self.commands.get(key)
        if record is None or record.status == STATUS_NOT_RUN:
            return None
        out = self._store.read(f"commands/{key}.out")
        err = self._store.read(f"commands/{key}.err")
        stdout = out.decode("utf-8", errors="replace") if out is not None else ""
        stderr = err.decode("utf-8", errors="replace") if err is not None else ""
        if record.status == STATUS_TIMEOUT:
            return CommandResult(key, record.command, None, stdout, stderr or "timed out")
        if not record.status.isdigit():
            return CommandResult(key, record.command, None, stdout, f"bad status {record.status!r}")
        status = int(record.status)
        if status == STATUS_NOT_FOUND:
            return CommandResult(key, record.command, None, stdout, stderr or "not found")
        if out is None:
            return CommandResult(key, record.command, None, "", "output missing from the bundle")
        return CommandResult(key, record.command, status, stdout, stderr)

    def read_file(self, path: str) -> Optional[bytes]:
        rel = _guest_rel(path)
        if not rel:
            return None
        return self._store.read(f"files/{rel}")

    def list_dir(self, path: str) -> Optional[list[str]]:
        """Entries of a directory the collector listed in full; None for any other directory.

        A directory the collector only took some files from is not listed: a partial listing
        would let a check conclude that something is absent when it was never looked for.
        """
        rel = _guest_rel(path)
        if rel is None:
            return None
        raw = self._store.read(posixpath.join("listings", rel, "names.txt"))
        if raw is None:
            return None
        names = raw.decode("utf-8", errors="surrogateescape").splitlines()
        return sorted(n for n in names if n and n not in (".", ".."))

    # -- extras ---------------------------------------------------------------------------
    def file_mtime(self, path: str) -> Optional[int]:
        """The guest file's modification time (epoch seconds), when the collector got it."""
        record = self.files.get(posixpath.normpath(path)) if path.startswith("/") else None
        return record.mtime if record is not None else None

    def listing_text(self, path: str) -> Optional[str]:
        """The ``ls -la`` output the collector kept for ``path`` (dates, sizes, leftovers)."""
        rel = _guest_rel(path)
        if rel is None:
            return None
        raw = self._store.read(posixpath.join("listings", rel, "ls-l.txt"))
        return raw.decode("utf-8", errors="replace") if raw is not None else None

    def keys(self) -> list[str]:
        """Command keys recorded in the manifest, in collection order."""
        return list(self.commands)
