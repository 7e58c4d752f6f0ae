"""Reading what the guest collector captured: a bundle directory or its tar archive.

The bundle is analysed on another machine, often long after the guest was changed, so this
reader answers only from what was captured. It never extracts an archive to disk and never
follows a path out of the bundle: a bundle is untrusted input that came over the network from
a guest. Every answer says *why* when it has no bytes, because "not in the bundle" means three
different things: absent on the guest, present but unreadable there (the collector recorded it,
or could not list its directory), or never looked for because the collection was interrupted.
Only the first is "absent"; the others must make a check "not evaluated", never a pass.
The layout is documented in ``docs/bundle-format.md``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple, Optional, Protocol, Union

from toolsfix.errors import InputError
from toolsfix.guest.capture_api import (
    CAPTURE_BINARIES,
    CAPTURE_FILES,
    COMMANDS,
    Capture,
    CommandResult,
    ListResult,
    list_ok,
)
from toolsfix.safeio import (
    MIB,
    ReadResult,
    ReadStatus,
    human_size,
    open_regular_file,
    read_file_checked,
)

if TYPE_CHECKING:  # annotations only: the tar reader loads for an archive (see _load_tar)
    import tarfile

BUNDLE_FORMAT = "toolsfix-bundle/1"
FORMAT_NAME = "toolsfix-bundle"
FORMAT_MAJOR = 1
MANIFEST = "manifest.txt"
FILES_LIST = "files.list"

# Caps on what a bundle may hold. The collector's outputs are small (text files and drivers of
# ~100 KiB), so these are far above anything real and far below what would hurt the machine.
# They are enforced on the bytes actually read -- decompressed bytes for an archive, never a
# tar header's claim -- so a gzip bomb costs at most MAX_BUNDLE_BYTES of decompression.
#: One copied guest file (``files/...``): the configurator, a driver build, a script.
MAX_FILE_MEMBER_BYTES = 64 * MIB
#: One command output, listing or the manifest: text, kilobytes in practice.
MAX_TEXT_MEMBER_BYTES = 16 * MIB
#: Decompressed bytes of a whole bundle archive (headers and skipped data included).
MAX_BUNDLE_BYTES = 512 * MIB
#: Members of a bundle archive: a collection holds a few hundred.
MAX_BUNDLE_MEMBERS = 100_000
_CHUNK = 1 << 20
_GZIP_MAGIC, _BZIP2_MAGIC, _XZ_MAGIC = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"

# Status tokens the collector writes besides integers.
STATUS_NOT_RUN = "-"
STATUS_TIMEOUT = "timeout"
STATUS_NOT_FOUND = 127
_INTERRUPTED = f"not captured: the collection was interrupted ({MANIFEST} has no finished= line)"
_NOT_LISTED_INTERRUPTED = _INTERRUPTED.replace("not captured", "not listed")
# ``ls -la`` type letters of entries the collector cannot copy (it copies regular files only).
_LS_KINDS = {"d": "directory", "p": "FIFO", "c": "character device", "b": "block device",
             "s": "socket", "D": "door"}  # fmt: skip
_LS_TYPES = "-l" + "".join(_LS_KINDS)
# Guest paths the collector always tries, in its file stage (globs excluded).
_FIXED_CAPTURES = frozenset(
    p for p in (*CAPTURE_FILES, *CAPTURE_BINARIES) if not any(c in p for c in "*?[")
)


# The two line records are named tuples, not frozen dataclasses: this reader's own, never
# replaced or rendered, and every verify of a bundle imports this module (a named tuple class
# is several times cheaper to create).
class CommandRecord(NamedTuple):
    """One ``command <key> <status> <command line>`` line of the manifest."""

    key: str
    status: str
    command: str


class FileRecord(NamedTuple):
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


def member_limit(rel: str) -> int:
    """The byte cap of a bundle member by its kind (``files/...`` or text), leading dir or not."""
    parts = rel.split("/", 2)
    if parts[0] == "files" or (len(parts) > 2 and parts[1] == "files"):
        return MAX_FILE_MEMBER_BYTES
    return MAX_TEXT_MEMBER_BYTES


def _odd(status: ReadStatus, rel: str, reason: str) -> ReadResult:
    return ReadResult(status, reason=f"bundle member {rel} {reason}")


class _DirStore:
    """Bundle members read from a directory, never outside it (symlinks are checked)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._inside = os.path.join(str(self.root), "")  # the prefix of every path inside
        self._real_dirs: dict[str, str] = {}

    def _realpath(self, rel: str) -> str:
        """``os.path.realpath(root / rel)``, one component at a time with the real path of
        every directory remembered: resolving from scratch stats each component of the
        absolute path, and a run reads dozens of members from the same few directories. A
        component that is a symbolic link (or ``.``, ``..``) is resolved in full, as before."""
        parent, name = posixpath.split(rel)
        if name in ("", ".", ".."):
            return os.path.realpath(self.root / rel)
        real_parent = self._real_dirs.get(parent)
        if real_parent is None:
            real_parent = self._realpath(parent) if parent else str(self.root)
            self._real_dirs[parent] = real_parent
        target = os.path.join(real_parent, name)
        return os.path.realpath(target) if os.path.islink(target) else target

    def read(self, rel: str) -> ReadResult:
        target = self._realpath(rel)
        if target != str(self.root) and not target.startswith(self._inside):
            return _odd(ReadStatus.SYMLINK, rel, "is a symbolic link out of the bundle")
        result = read_file_checked(target, limit=member_limit(rel))
        if result.ok or result.status is ReadStatus.ABSENT:
            return result
        return _odd(result.status, rel, result.reason)


class _TarStore:
    """Bundle members held in memory after one sequential pass over the archive.

    ``odd`` keeps why a member was not kept (a link, a device, over its cap), so a read of it
    says so instead of answering "absent".
    """

    def __init__(self, members: dict[str, bytes], odd: dict[str, ReadResult]) -> None:
        self.members = members
        self.odd = odd

    def read(self, rel: str) -> ReadResult:
        data = self.members.get(rel)
        if data is not None:
            return ReadResult(ReadStatus.OK, data)
        return self.odd.get(rel) or ReadResult(ReadStatus.ABSENT, reason="not in the bundle")


def _normalise_member(name: str) -> Optional[str]:
    norm = posixpath.normpath(name.lstrip("/"))
    if norm in (".", "") or norm.startswith("../") or norm == "..":
        return None
    return norm


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Budget:
    """The decompressed stream tarfile reads, counted as it flows.

    Everything tarfile pulls -- headers, member data, data it skips -- passes through
    :meth:`read`, so the cap holds whatever the headers claim, and a member that is never
    read still costs its bytes.
    """

    def __init__(self, raw: _Readable, label: str, limit: Optional[int] = None) -> None:
        self.raw = raw
        self.label = label
        self.limit = MAX_BUNDLE_BYTES if limit is None else limit
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        want = _CHUNK if size is None or size < 0 else min(size, _CHUNK)
        data = self.raw.read(want)
        self.total += len(data)
        if self.total > self.limit:
            raise InputError(
                f"{self.label}: bundle archive holds more than {human_size(self.limit)} "
                "once decompressed (a collector bundle is a few MiB): refused"
            )
        return data


def _decompressed(raw: IO[bytes], label: str) -> _Readable:
    """The archive's tar stream, picked by magic bytes (plain tar, gzip or bzip2)."""
    import bz2  # lazy: a bundle directory (the usual form) needs no decompressor
    import gzip  # lazy: as above

    head = raw.read(6)
    raw.seek(0)
    if head.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(_BZIP2_MAGIC):
        return bz2.BZ2File(raw, "rb")
    if head.startswith(_XZ_MAGIC):
        raise InputError(f"{label}: xz-compressed bundles are not read; give the .tar or .tar.gz")
    return raw


def _read_member(handle: IO[bytes], limit: int) -> Optional[bytes]:
    """A member's bytes, or None once more than ``limit`` bytes have come out of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _iter_members(tar: tarfile.TarFile, label: str) -> Iterator[tarfile.TarInfo]:
    for count, info in enumerate(tar, 1):
        # Members are never revisited: forget them, so memory stays flat however many.
        tar.members = []  # type: ignore[attr-defined]
        if count > MAX_BUNDLE_MEMBERS:
            raise InputError(
                f"{label}: bundle archive has more than {MAX_BUNDLE_MEMBERS} members: refused"
            )
        yield info


def _load_tar(path: Path) -> _TarStore:
    """Read every member once, in one forward pass; find the manifest at the top or one down.

    Regular members are kept up to their kind's cap; links, devices and FIFOs are never
    followed or read, only remembered so a read of them says what they are. Nothing inside
    the archive is opened as an archive in turn.
    """
    import tarfile  # lazy: a bundle directory (the usual form) needs no tar reader
    import zlib  # lazy: as above

    label = str(path)
    members: dict[str, bytes] = {}
    odd: dict[str, ReadResult] = {}
    with open_regular_file(path) as raw:  # one line for a FIFO, device or directory
        try:
            stream = _Budget(_decompressed(raw, label), label)
            with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
                for info in _iter_members(tar, label):
                    name = _normalise_member(info.name)
                    if name is None or info.isdir():
                        continue
                    members.pop(name, None)
                    odd.pop(name, None)
                    limit = member_limit(name)
                    if info.issym() or info.islnk():
                        odd[name] = _odd(ReadStatus.SYMLINK, name, "is a link (not followed)")
                    elif not info.isfile():
                        odd[name] = _odd(ReadStatus.NOT_REGULAR, name, "is a device or FIFO")
                    elif info.size > limit:
                        odd[name] = _odd(ReadStatus.TOO_LARGE, name, f"is over {human_size(limit)}")
                    else:
                        handle = tar.extractfile(info)
                        data = _read_member(handle, limit) if handle is not None else b""
                        if data is None:
                            odd[name] = _odd(
                                ReadStatus.TOO_LARGE, name, f"is over {human_size(limit)}"
                            )
                        else:
                            members[name] = data
        except tarfile.ReadError:
            raise InputError(
                f"{path}: cannot read bundle archive (not a bundle directory, tar or tar.gz)"
            ) from None
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"{path}: cannot read bundle archive (damaged: {reason})") from None
    names = set(members) | set(odd)
    manifests = sorted(
        (n for n in names if posixpath.basename(n) == MANIFEST and n.count("/") <= 1),
        key=lambda n: n.count("/"),
    )
    if not manifests:
        raise InputError(f"{path}: not a toolsfix bundle (no {MANIFEST} in the archive)")
    prefix = posixpath.dirname(manifests[0])
    if prefix:
        cut = len(prefix) + 1
        members = {n[cut:]: d for n, d in members.items() if n.startswith(prefix + "/")}
        odd = {n[cut:]: r for n, r in odd.items() if n.startswith(prefix + "/")}
    return _TarStore(members, odd)


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
        elif not self.path.exists() and not self.path.is_symlink():
            raise InputError(f"{self.path}: no such bundle")
        else:
            self._store = _load_tar(self.path)  # refuses a FIFO or device with one line
        raw = self._store.read(MANIFEST)
        if raw.status is ReadStatus.ABSENT:
            raise InputError(f"{self.path}: not a toolsfix bundle (no {MANIFEST})")
        if raw.data is None:
            raise InputError(f"{self.path}: cannot read {MANIFEST}: {raw.reason}")
        self.manifest: dict[str, str] = {}
        self.commands: dict[str, CommandRecord] = {}
        self.listings: dict[str, int] = {}
        self.unreadable: set[str] = set()
        self._parse_manifest(raw.data.decode("utf-8", errors="replace"))
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
        raw = self._store.read(FILES_LIST).data
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

    def missing_parts(self) -> list[str]:
        """What an interrupted collection lacks, in the collector's order (empty if complete).

        The collector runs the command table, then copies files, then lists directories, and
        writes ``finished=`` last; whatever of those left no trace was never looked at.
        """
        if self.complete:
            return []
        out: list[str] = []
        expected = [k for k, (line, _) in COMMANDS.items() if "{if}" not in line]
        absent = [k for k in expected if k not in self.commands]
        if absent:
            out.append(f"{len(absent)} of {len(expected)} commands ({', '.join(absent)})")
        if not self.files:
            out.append("every guest file (none copied)")
        if not self.listings:
            out.append("every directory listing (none made)")
        out.append("the finished= line")
        return out

    @property
    def files_stage_done(self) -> bool:
        """True when the collector got past copying the fixed file list before it stopped.

        It copies ``CAPTURE_FILES`` and ``CAPTURE_BINARIES`` before it writes ``bindir=`` /
        ``libdir=`` or lists any directory, so any of those proves every fixed path was tried.
        """
        return bool(self.listings) or "bindir" in self.manifest or "libdir" in self.manifest

    # -- why something is not in the bundle -----------------------------------------------
    def _failed_listing(self, guest: str) -> Optional[str]:
        """The nearest directory at or above ``guest`` that the collector could not list."""
        here = guest
        while True:
            status = self.listings.get(here)
            if status is not None and status != 0:
                return here
            if here == "/":
                return None
            here = posixpath.dirname(here)

    def _listed_kind(self, directory: str, name: str) -> Optional[str]:
        """The ``ls -la`` type of ``name`` in ``directory`` ("directory", "FIFO"...), if known."""
        rel = _guest_rel(directory)
        text = self._store.read(posixpath.join("listings", rel or "", "ls-l.txt")).data
        if text is None:
            return None
        for line in text.decode("utf-8", errors="replace").splitlines():
            if line[:1] not in _LS_TYPES or len(line.split()) < 2:
                continue
            entry = line.split(" -> ", 1)[0] if line.startswith("l") else line
            if entry.endswith(" " + name):
                return _LS_KINDS.get(line[0], "regular file" if line[0] == "-" else "link")
        return None

    def _not_captured(self, guest: str) -> ReadResult:
        """Why ``guest`` has no copy in the bundle: absent on the guest, or unknown and why."""
        if guest in self.unreadable:
            return ReadResult(
                ReadStatus.UNREADABLE, reason="the collector could not read it on the guest"
            )
        failed = self._failed_listing(posixpath.dirname(guest))
        if failed is not None:
            return ReadResult(
                ReadStatus.UNREADABLE, reason=f"the collector could not list {failed} on the guest"
            )
        parent, name = posixpath.split(guest)
        listed = self.list_dir_checked(parent)
        if listed.names is not None:
            if name not in listed.names:
                return ReadResult(
                    ReadStatus.ABSENT, reason=f"absent on the guest (not in {parent})"
                )
            kind = self._listed_kind(parent, name)
            if kind is not None and kind in _LS_KINDS.values():
                return ReadResult(ReadStatus.NOT_REGULAR, reason=f"is a {kind} on the guest")
            return ReadResult(
                ReadStatus.UNREADABLE,
                reason=f"on the guest (listed in {parent}) but not copied into the bundle",
            )
        if not self.complete and not (self.files_stage_done and guest in _FIXED_CAPTURES):
            return ReadResult(ReadStatus.UNREADABLE, reason=_INTERRUPTED)
        return ReadResult(
            ReadStatus.ABSENT, reason="not in the bundle (absent on the guest or not captured)"
        )

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
        err = self._store.read(f"commands/{key}.err").data
        stdout = out.data.decode("utf-8", errors="replace") if out.data is not None else ""
        stderr = err.decode("utf-8", errors="replace") if err is not None else ""
        if record.status == STATUS_TIMEOUT:
            return CommandResult(key, record.command, None, stdout, stderr or "timed out")
        if not record.status.isdigit():
            return CommandResult(key, record.command, None, stdout, f"bad status {record.status!r}")
        status = int(record.status)
        if status == STATUS_NOT_FOUND:
            return CommandResult(key, record.command, None, stdout, stderr or "not found")
        if out.status is ReadStatus.ABSENT:
            return CommandResult(key, record.command, None, "", "output missing from the bundle")
        if out.data is None:
            return CommandResult(key, record.command, None, "", f"output unreadable: {out.reason}")
        return CommandResult(key, record.command, status, stdout, stderr)

    def read_file_checked(self, path: str) -> ReadResult:
        """The copy of guest ``path``, or why there is none (see :meth:`_not_captured`)."""
        rel = _guest_rel(path)
        if not rel:
            return ReadResult(ReadStatus.ABSENT, reason="not a guest-absolute file path")
        result = self._store.read(f"files/{rel}")
        if result.status is not ReadStatus.ABSENT:
            return result
        return self._not_captured("/" + rel)

    def list_dir_checked(self, path: str) -> ListResult:
        """Entries of a directory the collector listed in full; why not for any other.

        A directory the collector only took some files from is not listed: a partial listing
        would let a check conclude that something is absent when it was never looked for.
        """
        rel = _guest_rel(path)
        if rel is None:
            return ListResult(ReadStatus.ABSENT, reason="not a guest-absolute path")
        guest = "/" + rel
        failed = self._failed_listing(guest)
        if failed is not None:
            return ListResult(
                ReadStatus.UNREADABLE,
                reason=f"the collector could not list {failed} on the guest",
            )
        raw = self._store.read(posixpath.join("listings", rel, "names.txt"))
        if raw.data is not None:
            # The collector records the listing line after ``ls`` finished; in a cut-short
            # bundle a names.txt without that line may be a listing cut short too.
            if self.complete or guest in self.listings:
                return list_ok(raw.data.decode("utf-8", errors="surrogateescape").splitlines())
        elif raw.status is not ReadStatus.ABSENT:
            return ListResult(raw.status, reason=raw.reason)
        if guest in self.listings:
            return ListResult(
                ReadStatus.UNREADABLE, reason="listed by the collector, but names.txt is missing"
            )
        if not self.complete:
            return ListResult(ReadStatus.UNREADABLE, reason=_NOT_LISTED_INTERRUPTED)
        return ListResult(
            ReadStatus.ABSENT,
            reason="not listed in the bundle (absent on the guest, or not a directory it lists)",
        )

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
        raw = self._store.read(posixpath.join("listings", rel, "ls-l.txt")).data
        return raw.decode("utf-8", errors="replace") if raw is not None else None

    def keys(self) -> list[str]:
        """Command keys recorded in the manifest, in collection order."""
        return list(self.commands)
