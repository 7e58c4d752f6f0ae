"""Bounded, non-blocking reads of untrusted files: one place for the rules every reader follows.

Inputs come from images, bundles and distribs made elsewhere. A FIFO must not hang a run, a
device must not be read, and a multi-GB file must not be pulled into memory, so every reader
opens through here. A read that fails says *why* (:class:`ReadStatus`), because a file that is
there but unreadable must never be reported as absent: that is how an audit passes an image it
could not read.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple, Optional

from toolsfix.errors import InputError

# Largest single file read: drivers are ~100 KiB, scripts far less; a multi-GB file in an
# image is never what a check wants.
MAX_FILE_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 20


class ReadStatus(str, enum.Enum):
    """Why a read gave no bytes (or ``OK`` when it did)."""

    OK = "ok"
    ABSENT = "absent"
    UNREADABLE = "unreadable"  # exists, but permissions or an I/O error stopped the read
    NOT_REGULAR = "not-regular"  # directory, FIFO, device, socket
    TOO_LARGE = "too-large"
    SYMLINK = "symlink"  # a link where none may be followed


@dataclass(frozen=True)
class ReadResult:
    """The outcome of one bounded read: ``data`` is set only when ``status`` is ``OK``."""

    status: ReadStatus
    data: Optional[bytes] = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is ReadStatus.OK


def read_file_checked(
    path: str, *, follow_symlinks: bool = True, limit: int = MAX_FILE_BYTES
) -> ReadResult:
    """Read a regular file of at most ``limit`` bytes, saying why when it cannot.

    Opened non-blocking so a FIFO cannot hang the run, and read to EOF (``/proc`` files report
    size 0) with the cap enforced on the bytes actually read, not on the size ``stat`` claims.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return ReadResult(ReadStatus.ABSENT, reason="no such file")
    except NotADirectoryError:
        return ReadResult(ReadStatus.ABSENT, reason="a parent is not a directory")
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            return ReadResult(ReadStatus.SYMLINK, reason="is a symbolic link")
        return ReadResult(ReadStatus.UNREADABLE, reason=exc.strerror or str(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "directory" if stat.S_ISDIR(st.st_mode) else "special file"
            return ReadResult(ReadStatus.NOT_REGULAR, reason=f"is a {kind}, not a regular file")
        if st.st_size > limit:
            return ReadResult(ReadStatus.TOO_LARGE, reason=f"larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                return ReadResult(ReadStatus.TOO_LARGE, reason=f"larger than {limit} bytes")
            chunks.append(chunk)
        return ReadResult(ReadStatus.OK, b"".join(chunks))
    except OSError as exc:
        return ReadResult(ReadStatus.UNREADABLE, reason=exc.strerror or str(exc))
    finally:
        os.close(fd)


def read_regular_file(path: str, *, follow_symlinks: bool = True) -> Optional[bytes]:
    """Bytes of a regular file, or None for anything else (missing, directory, device, FIFO)."""
    return read_file_checked(path, follow_symlinks=follow_symlinks).data


# --------------------------------------------------------------------------------------------
# Bounds of the readers that raise: distribs, archives, scripts, reports, fingerprint files.
#
# Every cap is far above anything real and far below what would hurt the machine, so a real
# input never meets one and a hostile one is refused with one line (exit 3) instead of eating
# memory or time. The figures in the comments are what real VMware Tools files measure.

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: ``bin/vmware-config-tools.pl``: real ones are 400-700 KB.
MAX_CONFIGURATOR_BYTES = 8 * MIB
#: ``vmware-install.pl`` and the manifest are smaller still; they share the script cap.
MAX_SCRIPT_BYTES = MAX_CONFIGURATOR_BYTES
#: A driver object under ``lib/modules/binary``: real ones are at most ~2 MB.
MAX_DRIVER_BYTES = 64 * MIB
#: A saved ``verify --format json`` report. Real ones are kilobytes; JSON of tiny objects
#: expands ~20x in memory once parsed, so the cap is kept where that still fits in 1 GB.
MAX_REPORT_BYTES = 16 * MIB
#: One fingerprint database file (JSON, records of a few KB each).
MAX_DB_FILE_BYTES = 64 * MIB
#: One member of a tar archive, as its header declares it: real tarballs are <= 600 MB whole.
MAX_TAR_MEMBER_BYTES = 1 * GIB
#: Decompressed bytes of one archive, counted while streaming (never the header's claim).
MAX_ARCHIVE_BYTES = 4 * GIB
#: Largest single read a tar parser may ask for. Member data is read in 1 MiB chunks; only a
#: pax or GNU long-name header is read whole, and real ones are under a kilobyte.
MAX_TAR_RECORD_BYTES = 8 * MIB
#: Memory an xz decoder may use: ``xz -9`` needs 65 MiB; a header may ask for 1.5 GiB.
MAX_XZ_MEMORY_BYTES = 128 * MIB
#: Directory levels below a distrib root: real distribs are 5 deep.
MAX_TREE_DEPTH = 64


def human_size(n: int) -> str:
    """``8 MiB``, ``1.5 GiB``, ``700 bytes``: sizes in messages a person reads."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def too_large(label: str, what: str, limit: int, size: Optional[int] = None) -> InputError:
    """The one line for any cap: what was refused, how big it is, and the limit it broke."""
    if size is None:
        return InputError(f"{label}: too large for a {what}: over the {human_size(limit)} limit")
    return InputError(
        f"{label}: too large for a {what}: {size:,} bytes, the limit is {human_size(limit)}"
    )


def describe_mode(mode: int) -> str:
    """``a FIFO``, ``a directory``... for messages about something that is not a plain file."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "a special file"


def os_error_line(label: str, exc: OSError, action: str = "cannot read") -> InputError:
    """One line for an OSError on ``label``: the reason without Python's ``[Errno n]`` noise."""
    if exc.errno == errno.ENOENT:
        return InputError(f"{label}: {action}: no such file or directory")
    if exc.errno == errno.ELOOP:
        return InputError(f"{label}: {action}: too many levels of symbolic links (a link loop?)")
    reason = exc.strerror or type(exc).__name__
    return InputError(f"{label}: {action}: {reason}")


def open_regular(path: str | os.PathLike[str], *, label: Optional[str] = None) -> int:
    """A descriptor of a regular file, or :class:`InputError` saying what ``path`` is instead.

    Opened non-blocking (a FIFO with no writer would block ``open`` itself forever) and
    checked with ``fstat`` on the open descriptor, so a file swapped after a ``stat`` cannot
    slip through. Devices, FIFOs, sockets and directories are never read.
    """
    name = label or os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a regular file") from None
    except OSError as exc:
        raise os_error_line(name, exc) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise os_error_line(name, exc) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{name}: is {describe_mode(mode)}, not a regular file")
    return fd


def open_regular_file(path: str | os.PathLike[str], *, label: Optional[str] = None) -> IO[bytes]:
    """:func:`open_regular` as an unbuffered binary file object (closing it closes the fd)."""
    return os.fdopen(open_regular(path, label=label), "rb", buffering=0)


def read_bounded(
    path: str | os.PathLike[str], *, limit: int, what: str, label: Optional[str] = None
) -> bytes:
    """All bytes of a regular file of at most ``limit`` bytes, or one-line :class:`InputError`.

    The cap is checked on ``fstat`` first (a 2 GB sparse file is refused without reading it)
    and again on the bytes actually read (a file that grows, or ``/proc``-like size 0).
    """
    name = label or os.fspath(path)
    fd = open_regular(path, label=name)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise too_large(name, what, limit, size)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise too_large(name, what, limit)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise os_error_line(name, exc) from None
    finally:
        os.close(fd)


class TreeEntry(NamedTuple):
    """One entry below a walked root: path relative to it (``/``-separated) and its lstat.

    A named tuple, not a frozen dataclass: the walker yields one per file of a distrib and
    every command imports this module, and a named tuple is cheaper to create, as a class and
    as an instance."""

    rel: str
    full: str
    st: os.stat_result


def walk_tree(
    root: str | os.PathLike[str], *, max_depth: int = MAX_TREE_DEPTH
) -> Iterator[TreeEntry]:
    """Every entry below ``root``, depth first, sorted by name per directory, links not followed.

    Iterative (an explicit stack, not recursion, so a 1,500-level tree cannot exhaust the
    interpreter's stack) and bounded: a directory deeper than ``max_depth`` is refused with
    one line, as is a directory that cannot be listed -- skipping it silently would report a
    partial tree as if it were whole. The order is the one ``os.walk`` gives with sorted
    names: a directory's entries, then each subdirectory in turn.
    """
    base = os.fspath(root)
    stack: list[tuple[str, str, int]] = [(base, "", 0)]
    while stack:
        directory, rel_dir, depth = stack.pop()
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise os_error_line(directory, exc, "cannot list directory") from None
        subdirs: list[tuple[str, str, int]] = []
        for item in items:
            rel = f"{rel_dir}/{item.name}" if rel_dir else item.name
            try:
                st = item.stat(follow_symlinks=False)
            except OSError as exc:
                raise os_error_line(item.path, exc, "cannot stat") from None
            yield TreeEntry(rel, item.path, st)
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 >= max_depth:
                    raise InputError(
                        f"{base}: directories nest more than {max_depth} levels deep (a real "
                        f"distrib is 5), e.g. {rel[:60]}...: refusing to walk further"
                    )
                subdirs.append((item.path, rel, depth + 1))
        stack.extend(reversed(subdirs))
