"""The container formats under a distrib source: compressed streams, ISO images, damage.

A source (:mod:`toolsfix.distrib`) walks members; underneath it, bytes come out of gzip
(isal's igzip in its own thread where available), bzip2 or xz, or out of an ISO 9660 image
read through pycdlib. These readers know nothing of VMware's layout, only of formats, and
they are where a damaged or hostile container is bounded and turned into one
:class:`~toolsfix.errors.InputError` line. They are kept apart so the sources read as the
walk they are, and the patcher's archive rewriting can share them.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import lzma
import queue
import re
import struct
import tarfile
import threading
import zlib
from pathlib import Path
from typing import IO, Any, Optional, Protocol, TypeVar

from toolsfix.errors import InputError
from toolsfix.safeio import MAX_XZ_MEMORY_BYTES, human_size, too_large

TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
GZIP_MAGIC, BZIP2_MAGIC, XZ_MAGIC = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
CHUNK = 1 << 20  # reads of member data (hashing)
# Buffer of tarfile stream mode (used when rewriting archives): it copies its buffer on every
# small read, so bigger is slower (measured: 64 KiB 0.35 s, 1 MiB 1.1 s on 60 MB).
TAR_BUFSIZE = 1 << 16


def _isal_errors() -> tuple[type[BaseException], ...]:
    try:
        from isal import isal_zlib  # lazy: optional native dependency (absent on SunOS)
    except ImportError:
        return ()
    error: Any = isal_zlib.error  # typed loosely by isal's stubs
    return (error,)


#: What a damaged compressed or archived stream raises, besides ``OSError`` (bad gzip header,
#: bz2 "Invalid data stream"), ``EOFError`` (truncated) and ``tarfile.TarError``.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    lzma.LZMAError,
    zlib.error,
    EOFError,
    tarfile.TarError,
    *_isal_errors(),
)
#: Everything reading a damaged archive may raise; all of it becomes one :class:`InputError`.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    RecursionError,
    *DECOMPRESS_ERRORS,
)


# --------------------------------------------------------------------------------------------
# Tar headers


#: The 512-byte header's fields, in order (the 8 checksum bytes included, the 8 of ustar magic
#: and version skipped): name, mode, uid, gid, size, mtime, chksum, type, linkname, uname,
#: gname, devmajor, devminor, prefix.
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s8x32s32s8s8s155s12x")
#: mode, uid, gid, size, mtime and chksum as GNU and POSIX tar (and Python's) write them: plain
#: zero-padded octal, each NUL-terminated, the checksum then a space. One match reads all six.
_CANONICAL_NUMBERS = re.compile(
    rb"([0-7]{7})\0([0-7]{7})\0([0-7]{7})\0([0-7]{11})\0([0-7]{11})\0([0-7]{6})\0 "
)
_OCTAL_DIGITS = b"01234567"


class _Unusual(Exception):
    """A header field outside the plain form: the standard library's parser decides it."""


def _octal(field: bytes) -> int:
    """A numeric field that is plain octal (digits padded by spaces, cut at a NUL), else
    :class:`_Unusual`. For such a field this is exactly what tarfile's ``nti`` returns."""
    end = field.find(b"\0")
    digits = (field[:end] if end != -1 else field).strip(b" ")
    if not digits:
        return 0
    if digits.translate(None, _OCTAL_DIGITS):
        raise _Unusual
    return int(digits, 8)


def _nts(field: bytes, encoding: str, errors: str) -> str:
    """tarfile's ``nts``: the bytes up to the first NUL, decoded."""
    end = field.find(b"\0")
    return (field[:end] if end != -1 else field).decode(encoding, errors)


_Info = TypeVar("_Info", bound="StreamTarInfo")


class StreamTarInfo(tarfile.TarInfo):
    """tarfile's member, with a header parser for the headers real archives are made of.

    tarfile reads every header with ``TarInfo.frombuf``: thirteen ``nts``/``nti`` calls and two
    504-element checksum tuples per header, ~18 us each -- on a 3,100-member Tools tarball
    ~55 ms of the stream's Python time, which the scan's proof competes for. Here one struct
    unpack, one match for the six common numbers and a checksum over the header's non-NUL
    bytes (~6 us) build the same member. Only what is plain and consistent takes this path:
    a numeric field in any other form (base-256, signs, tabs, underscores), a checksum that
    only the signed sum matches, a GNU sparse header, an empty, short or all-NUL block -- all
    of it goes to the standard parser, which then raises or returns exactly what it always
    did. tarfile still drives everything else (pax and GNU long names, member data).
    ``tests/test_tarheader.py`` holds both parsers to the same answer header by header.
    """

    __slots__ = ()

    @classmethod
    def frombuf(cls: type[_Info], buf: bytes | bytearray, encoding: str, errors: str) -> _Info:
        if len(buf) != tarfile.BLOCKSIZE or buf[156:157] == tarfile.GNUTYPE_SPARSE:
            return super().frombuf(buf, encoding, errors)
        fields = _HEADER.unpack(buf)
        try:
            plain = _CANONICAL_NUMBERS.match(buf, 100)
            if plain is not None:
                mode, uid, gid, size, mtime, chksum = (int(g, 8) for g in plain.groups())
            else:
                mode, uid, gid, size, mtime, chksum = (_octal(f) for f in fields[1:7])
            # The unsigned sum with the checksum field counted as spaces (NULs add nothing).
            if chksum != 256 + sum(buf.translate(None, b"\0")) - sum(fields[6]):
                raise _Unusual
            devmajor, devminor = _octal(fields[11]), _octal(fields[12])
        except _Unusual:
            return super().frombuf(buf, encoding, errors)
        obj = cls()
        obj.name = _nts(fields[0], encoding, errors)
        obj.mode, obj.uid, obj.gid, obj.size, obj.mtime = mode, uid, gid, size, mtime
        obj.chksum = chksum
        obj.type = fields[7]
        obj.linkname = _nts(fields[8], encoding, errors)
        obj.uname = _nts(fields[9], encoding, errors)
        obj.gname = _nts(fields[10], encoding, errors)
        obj.devmajor, obj.devminor = devmajor, devminor
        prefix = _nts(fields[13], encoding, errors)
        # What tarfile does after reading the fields: a V7 directory, slashes, ustar prefix.
        if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):
            obj.type = tarfile.DIRTYPE
        if obj.isdir():
            obj.name = obj.name.rstrip("/")
        if prefix and obj.type not in tarfile.GNU_TYPES:
            obj.name = prefix + "/" + obj.name
        return obj


def _damaged(label: str, exc: BaseException) -> InputError:
    """One line for a damaged archive: the library's reason without line breaks."""
    if isinstance(exc, EOFError):
        reason = "it ends early (truncated)"
    else:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, lzma.LZMAError) and "memory" in reason.lower():
            reason = f"it needs more than {human_size(MAX_XZ_MEMORY_BYTES)} to decompress"
    return InputError(f"{label}: not a readable archive: {reason}")


def open_decompressed(path: Path | IO[bytes]) -> Any:
    """A forward-only reader of a gzip file: isal in a helper thread when present."""
    try:
        from isal import igzip  # lazy: optional native dependency
    except ImportError:  # Solaris, or isal not installed: the standard library is enough
        import gzip  # fallback when isal is absent

        if isinstance(path, Path):
            return gzip.GzipFile(path, "rb")
        return gzip.GzipFile(fileobj=path, mode="rb")
    if isinstance(path, Path):
        raw: IO[bytes] = path.open("rb")
        try:
            return ThreadedGunzip(igzip.IGzipFile(fileobj=raw, mode="rb"), raw)  # type: ignore[no-untyped-call]
        except BaseException:
            raw.close()
            raise
    return ThreadedGunzip(igzip.IGzipFile(fileobj=path, mode="rb"))  # type: ignore[no-untyped-call]


class _Inflating(Protocol):
    """What :class:`ThreadedGunzip` needs of a decompressing reader (an ``IGzipFile``)."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class ThreadedGunzip(io.RawIOBase):
    """Decompressed blocks made by a helper thread, handed over without copying.

    isal inflates with the GIL released, so a helper thread decompresses while the caller
    parses tar headers; a scan is then bounded by inflation, not by Python. What lies between
    the two threads is kept as thin as possible, because the caller's Python time is the
    critical path: blocks cross two C queues (:class:`queue.SimpleQueue`, no Python-level
    locking for the helper to wait on the GIL for), :meth:`skip` moves over member data
    without copying a byte of it (most of a Tools tarball is skipped), and small reads are
    slices of the current block. At most ``depth`` blocks are decompressed ahead of the
    reader, so memory stays flat whatever the archive's size. Four, not two: while the
    sandboxed proof's Python side holds the GIL, the reader falls a block or two behind, and
    with two blocks the helper then sat idle 10-20 ms per 60 MB scan waiting for a free slot
    (none with four; 2 MB more memory).

    A decompression error is raised to the reader at the point of the stream where it
    happened, with the decompressor's own exception (so callers turn it into one line as for
    any damaged archive).
    """

    def __init__(
        self, stream: _Inflating, owned: Optional[IO[bytes]] = None, *, depth: int = 4
    ) -> None:
        super().__init__()
        self._stream = stream
        self._owned = owned
        self._block = CHUNK
        self._buf = b""
        self._off = 0
        self._eof = False
        self._stop = False
        self._error: Optional[BaseException] = None
        self._blocks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._credits: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(depth):
            self._credits.put(None)
        self._worker = threading.Thread(target=self._inflate, name="toolsfix-gunzip", daemon=True)
        self._worker.start()

    def _inflate(self) -> None:
        """The helper thread: one block per credit the reader handed back; b"" ends it."""
        try:
            while True:
                self._credits.get()
                if self._stop:
                    return
                data = self._stream.read(self._block)
                self._blocks.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader at this point of the stream
            self._error = exc
            self._blocks.put(b"")

    def _next(self) -> bool:
        """Make the next block current; False at the end of the stream."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._eof:
            return False
        data = self._blocks.get()
        if not data:
            self._eof = True
            self._buf, self._off = b"", 0
            if self._error is not None:
                raise self._error
            return False
        self._credits.put(None)  # this block is the reader's now: the helper may make another
        self._buf, self._off = data, 0
        return True

    def readable(self) -> bool:
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            parts = [self._buf[self._off :]]
            while self._next():
                parts.append(self._buf)
            self._off = len(self._buf)
            return b"".join(parts)
        end = self._off + size
        if end <= len(self._buf):
            out = self._buf[self._off : end]
            self._off = end
            return out
        parts = [self._buf[self._off :]]
        need = size - len(parts[0])
        self._off = len(self._buf)
        while need > 0 and self._next():
            piece = self._buf[:need]
            self._off = len(piece)
            need -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def skip(self, size: int) -> int:
        """Move ``size`` bytes forward without copying them; returns how many there were."""
        done = 0
        while done < size:
            avail = len(self._buf) - self._off
            if avail == 0:
                if not self._next():
                    break
                continue
            step = min(avail, size - done)
            self._off += step
            done += step
        return done

    def close(self) -> None:
        """Stop the helper (it may be inside one block) and close what this reader opened."""
        if self.closed:
            return
        self._stop = True
        self._credits.put(None)
        while self._worker.is_alive():
            with contextlib.suppress(queue.Empty):
                self._blocks.get(timeout=0.05)
        self._worker.join()
        try:
            self._stream.close()
        finally:
            if self._owned is not None:
                self._owned.close()
            super().close()


class XzReader(io.RawIOBase):
    """Streaming xz/lzma decompression with a memory limit (``lzma.open`` cannot take one).

    An xz header may ask for a 1.5 GiB dictionary, which the decoder fills as output flows;
    :data:`~toolsfix.safeio.MAX_XZ_MEMORY_BYTES` refuses that before it is allocated.
    Concatenated streams are read in turn, like ``xz -dc`` does.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._dec = self._decoder()
        self._pending = b""

    @staticmethod
    def _decoder() -> lzma.LZMADecompressor:
        return lzma.LZMADecompressor(lzma.FORMAT_AUTO, memlimit=MAX_XZ_MEMORY_BYTES)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._dec.eof:
                rest = self._dec.unused_data or self._raw.read(CHUNK)
                if not rest.strip(b"\0"):  # end of input, or stream padding only
                    return 0
                self._dec = self._decoder()
                self._pending = rest
            if self._dec.needs_input:
                data = self._pending or self._raw.read(CHUNK)
                self._pending = b""
                if not data:
                    raise EOFError("compressed data ends before the end of the stream")
            else:
                data = b""
            out = self._dec.decompress(data, max_length=len(view))
            if out:
                view[: len(out)] = out
                return len(out)


def gunzip_stream(raw: IO[bytes]) -> Any:
    """Decompress a gzip stream held by another reader (the tarball inside an ISO)."""
    try:
        from isal import igzip  # lazy: optional native dependency
    except ImportError:
        import gzip  # fallback when isal is absent

        return gzip.GzipFile(fileobj=raw, mode="rb")
    return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call]


def decompressed(raw: Any, head: bytes) -> Any:
    """The decompressed view of ``raw`` picked by its magic bytes (plain tar as is)."""
    if head.startswith(GZIP_MAGIC):
        return open_decompressed(raw)
    if head.startswith(BZIP2_MAGIC):
        return bz2.BZ2File(raw, "rb")
    if head.startswith(XZ_MAGIC):
        return io.BufferedReader(XzReader(raw), CHUNK)
    return raw


def iso_tarballs(iso: Any) -> list[tuple[str, str]]:
    """(facade kind, path) of every tarball in the ISO, best candidate first."""
    found: list[tuple[str, str]] = []
    for kind in ("rr", "joliet", "iso9660"):
        try:
            facade = {
                "rr": iso.get_rock_ridge_facade,
                "joliet": iso.get_joliet_facade,
                "iso9660": iso.get_iso9660_facade,
            }[kind]()
            for dirpath, _dirs, files in facade.walk("/"):
                for f in files:
                    clean = f.split(";")[0].lower()
                    if clean.endswith(TAR_SUFFIXES) or clean.endswith("_tar.gz"):
                        found.append((kind, f"{dirpath.rstrip('/')}/{f}"))
        except Exception:
            continue
        if found:
            break
    found.sort(key=lambda kp: (0 if "solaris" in kp[1].lower() else 1, kp[1]))
    return found


#: Largest single read pycdlib may make of an ISO. Directory extents and path tables are
#: read whole at the size the image claims (2 GB in a hostile one); real ones are kilobytes,
#: and tarball data flows in reads of at most 8 MiB.
MAX_ISO_READ_BYTES = 16 * 1024 * 1024
#: Bytes pycdlib may read while parsing an image's metadata (volume descriptors, path
#: tables, directory records, Rock Ridge, Joliet, UDF): a real Tools ISO needs well under
#: 1 MiB, and pycdlib's objects take several times the bytes they are parsed from.
MAX_ISO_METADATA_BYTES = 32 * 1024 * 1024


class BoundedIsoFile:
    """The image file as pycdlib sees it: every read capped, and the metadata parse budgeted.

    pycdlib trusts the sizes an image declares; this proxy is where a hostile ISO's claims
    meet a limit and become one :class:`InputError` line instead of gigabytes of memory.
    """

    mode = "rb"

    def __init__(self, raw: IO[bytes], label: str) -> None:
        self._raw = raw
        self.label = label
        self.budget: Optional[int] = MAX_ISO_METADATA_BYTES

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0 or size > MAX_ISO_READ_BYTES:
            claimed = "the rest of the file" if size is None or size < 0 else f"{size:,} bytes"
            raise InputError(
                f"{self.label}: damaged or hostile ISO image: one of its structures claims "
                f"{claimed} (the limit is {human_size(MAX_ISO_READ_BYTES)})"
            )
        data = self._raw.read(size)
        if self.budget is not None:
            self.budget -= len(data)
            if self.budget < 0:
                raise too_large(self.label, "set of ISO directory records", MAX_ISO_METADATA_BYTES)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        """pycdlib closes what it was given only when it opened it itself; nothing to do."""
