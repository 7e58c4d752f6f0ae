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
from dataclasses import dataclass
from typing import Optional

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
