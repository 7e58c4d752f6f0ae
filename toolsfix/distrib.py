"""Read a VMware Tools distrib -- directory, tarball, ISO or a lone script -- in one pass.

Tarballs are streamed through :mod:`tarfile` in ``r|`` mode (never extracted, never seeked),
with isal's igzip decompressing in its own thread where available, because a scan must cost less
than decompressing the file with ``gzip -dc``. Only the handful of members that matter are read
into memory (scripts, the manifest, driver builds); every other member is skipped as the stream
passes. Nothing is ever written.

Every read is bounded (see the caps in :mod:`toolsfix.safeio`): only regular files are opened,
never blocking; each kept or hashed member has a cap for its kind, checked on the declared
size first and again on the bytes read; an archive's decompressed bytes are counted while
streaming; directory walks are iterative and depth-limited. Whatever a damaged or hostile
input does, the caller gets one :class:`~toolsfix.errors.InputError` line, not a traceback.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import io
import lzma
import os
import re
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional, cast

from toolsfix.errors import InputError
from toolsfix.knowledge import (
    BINARY_DIR,
    SOLARIS_DIRS,
    SOLARIS_MODULES,
    classify_build,
    is_solaris_dir,
)
from toolsfix.safeio import (
    MAX_ARCHIVE_BYTES,
    MAX_CONFIGURATOR_BYTES,
    MAX_DRIVER_BYTES,
    MAX_SCRIPT_BYTES,
    MAX_TAR_MEMBER_BYTES,
    MAX_TAR_RECORD_BYTES,
    MAX_XZ_MEMORY_BYTES,
    human_size,
    open_regular_file,
    os_error_line,
    too_large,
    walk_tree,
)

DISTRIB_DIR = "vmware-tools-distrib"
CONFIGURATOR = "bin/vmware-config-tools.pl"
INSTALLERS = ("vmware-install.pl", "vmware-install.real.pl", "bin/vmware-uninstall-tools.pl")
MANIFEST = "etc/manifest.txt.shipped"
# BINARY_DIR, SOLARIS_DIRS, SOLARIS_MODULES and classify_build live in toolsfix.knowledge and
# are re-exported here for the modules that already import them from this one.
__all__ = [
    "BINARY_DIR",
    "CONFIGURATOR",
    "SOLARIS_DIRS",
    "SOLARIS_MODULES",
    "DriverBuild",
    "Entry",
    "Inventory",
    "Member",
    "Source",
    "classify_build",
    "driver_files",
    "inventory",
    "open_source",
]
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
GZIP_MAGIC, BZIP2_MAGIC, XZ_MAGIC = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
CHUNK = 1 << 20  # reads of member data (hashing)
# Buffer of tarfile stream mode (used when rewriting archives): it copies its buffer on every
# small read, so bigger is slower (measured: 64 KiB 0.35 s, 1 MiB 1.1 s on 60 MB).
TAR_BUFSIZE = 1 << 16

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
    member: Member
    data: Optional[bytes] = None
    sha256: Optional[str] = None


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


def _hash_stream(
    fh: IO[bytes], keep: bool, *, limit: int, label: str, what: str
) -> tuple[Optional[bytes], str]:
    """sha256 of a stream (and its bytes when ``keep``), refusing more than ``limit`` bytes.

    The cap is enforced on the bytes actually read: a tar header or ``stat`` may understate.
    """
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    total = 0
    while True:
        block = fh.read(CHUNK)
        if not block:
            break
        total += len(block)
        if total > limit:
            raise too_large(label, what, limit)
        digest.update(block)
        if keep:
            chunks.append(block)
    return (b"".join(chunks) if keep else None), digest.hexdigest()


class Source:
    """A distrib in some container. ``entries`` yields every member exactly once, in order."""

    kind = "unknown"

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        raise NotImplementedError


class DirectorySource(Source):
    kind = "directory"

    def __init__(self, path: Path) -> None:
        root = path
        if (path / DISTRIB_DIR).is_dir() and not (path / CONFIGURATOR).exists():
            root = path / DISTRIB_DIR
        super().__init__(root)

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        """Every entry, walked iteratively (depth-limited); symbolic links are never followed
        and only regular files are opened."""
        for item in walk_tree(self.path):
            rel, st, full = item.rel, item.st, item.full
            if stat.S_ISLNK(st.st_mode):
                try:
                    target: Optional[str] = os.readlink(full)
                except OSError:
                    target = None
                yield Entry(Member(rel, "symlink", 0, st.st_mode, int(st.st_mtime), target))
                continue
            if stat.S_ISDIR(st.st_mode):
                yield Entry(Member(rel, "dir", 0, st.st_mode, int(st.st_mtime)))
                continue
            kind = "file" if stat.S_ISREG(st.st_mode) else "other"
            member = Member(rel, kind, st.st_size, st.st_mode, int(st.st_mtime))
            action = want(rel) if kind == "file" else None
            if action is None:
                yield Entry(member)
                continue
            limit, what = member_limit(rel)
            if st.st_size > limit:
                raise too_large(full, what, limit, st.st_size)
            try:
                with open_regular_file(full) as fh:
                    data, digest = _hash_stream(
                        fh, action == KEEP, limit=limit, label=full, what=what
                    )
            except OSError as exc:
                raise os_error_line(full, exc) from None
            yield Entry(member, data, digest)


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
        from isal import igzip_threaded  # lazy: optional native dependency
    except ImportError:  # Solaris, or isal not installed: the standard library is enough
        import gzip  # fallback when isal is absent

        if isinstance(path, Path):
            return gzip.GzipFile(path, "rb")
        return gzip.GzipFile(fileobj=path, mode="rb")
    return igzip_threaded.open(path, "rb", threads=1, block_size=CHUNK)  # type: ignore[no-untyped-call]


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


class ForwardReader:
    """A one-pass view of a stream for :mod:`tarfile`: it may skip forward, never go back.

    tarfile's own stream mode (``r|``) copies its internal buffer on every read; on the 500 MB
    benchmark that was 1.6 s of a 4.1 s scan. Handing tarfile this reader instead keeps the
    read strictly sequential -- one pass, nothing extracted, a backward seek is an error --
    while member data flows straight from the decompressor.

    It is also where an archive's cost is bounded: the decompressed bytes read (or skipped)
    are counted against ``limit`` as they flow, whatever the headers claim, and no single read
    may exceed :data:`~toolsfix.safeio.MAX_TAR_RECORD_BYTES` (tarfile reads a pax or GNU
    long-name header whole, at the size the header declares).
    """

    def __init__(self, raw: IO[bytes], name: str = "", limit: Optional[int] = None) -> None:
        self._raw = raw
        self._pos = 0
        self._limit = MAX_ARCHIVE_BYTES if limit is None else limit
        self.name = name

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_TAR_RECORD_BYTES:
            raise InputError(
                f"{self.name}: a tar header record asks for more than "
                f"{human_size(MAX_TAR_RECORD_BYTES)} (damaged or hostile archive)"
            )
        data = self._raw.read(size)
        self._pos += len(data)
        if self._pos > self._limit:
            raise too_large(self.name, "decompressed archive", self._limit)
        return data

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._pos:
            raise io.UnsupportedOperation("forward-only stream: cannot seek back")
        while self._pos < target:
            if not self.read(min(CHUNK, target - self._pos)):
                break
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


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


def iter_tar(fileobj: IO[bytes], want: Want, label: str, *, drain: bool = False) -> Iterator[Entry]:
    """Read a tar archive member by member in one forward pass; bad input is one clean error.

    Each member's declared size is checked against its cap before any of it is read (a
    header claiming terabytes is refused at once), and again on the bytes read. With
    ``drain`` (a decompressed stream) the stream is read to its end after the archive's end.
    """
    try:
        reader: Any = ForwardReader(fileobj, label)
        with tarfile.open(fileobj=reader, mode="r:") as tar:
            for info in tar:
                tar.members = []  # type: ignore[attr-defined]  # never revisited: flat memory
                rel = relative(info.name)
                if info.isdir():
                    kind = "dir"
                elif info.issym() or info.islnk():
                    kind = "symlink"
                elif info.isfile():
                    kind = "file"
                else:
                    kind = "other"
                member = Member(
                    rel, kind, info.size, info.mode, int(info.mtime), info.linkname or None
                )
                action = want(rel) if kind == "file" else None
                limit, what = (
                    member_limit(rel)
                    if action is not None
                    else (MAX_TAR_MEMBER_BYTES, "tar member")
                )
                if info.size > limit:
                    raise too_large(f"{label}!{info.name}", what, limit, info.size)
                if action is None:
                    yield Entry(member)
                    continue
                fh = tar.extractfile(info)
                if fh is None:
                    yield Entry(member)
                    continue
                data, digest = _hash_stream(
                    fh, action == KEEP, limit=limit, label=f"{label}!{info.name}", what=what
                )
                yield Entry(member, data, digest)
        # Read a compressed stream to its end: what follows the end-of-archive blocks is
        # padding, and anything else (garbage, a damaged second gzip member) makes the file
        # damaged. Checking it always, not only when a decompressor's read-ahead happens to
        # reach it, keeps the verdict the same whatever its block boundaries are.
        while drain and reader.read(CHUNK):
            pass
    except READ_ERRORS as exc:
        raise _damaged(label, exc) from None


class TarSource(Source):
    """A tarball: plain, gzip, bzip2 or xz, recognised by its magic bytes (then its name)."""

    kind = "tarball"

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        label = str(self.path)
        with open_regular_file(self.path) as raw:
            try:
                head = raw.read(8)
                raw.seek(0)
                if not head:
                    raise InputError(f"{label}: empty file, not a tar archive")
                name = self.path.name.lower()
                if not head.startswith((GZIP_MAGIC, BZIP2_MAGIC, XZ_MAGIC)):
                    if name.endswith((".gz", ".tgz")):
                        head = GZIP_MAGIC  # let gzip say what is wrong with it
                    elif name.endswith((".bz2", ".tbz2")):
                        head = BZIP2_MAGIC
                    elif name.endswith((".xz", ".txz")):
                        head = XZ_MAGIC
                with decompressed(raw, head) as fh:
                    yield from iter_tar(fh, want, label, drain=fh is not raw)
            except InputError:
                raise
            except READ_ERRORS as exc:
                raise _damaged(label, exc) from None


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


class IsoSource(Source):
    """An ISO 9660 image holding a Tools tarball (``vmware-solaris-tools.tar.gz``)."""

    kind = "iso"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.inner: Optional[str] = None

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        import pycdlib  # lazy: only ISO sources need it (start-up time)

        iso = pycdlib.PyCdlib()
        with open_regular_file(self.path) as raw_file:
            fp = BoundedIsoFile(raw_file, str(self.path))
            # pycdlib parses hostile bytes and raises whatever it meets (its own errors,
            # struct/Index/Unicode errors): any of them means "not a readable image".
            try:
                iso.open_fp(cast(Any, fp))
                fp.budget = None  # parsed: what follows is tarball data, capped downstream
            except InputError:
                raise
            except Exception as exc:
                raise InputError(
                    f"{self.path}: not a readable ISO 9660 image ({_one_line(exc)})"
                ) from None
            try:
                tarballs = iso_tarballs(iso)
                if not tarballs:
                    raise InputError(f"{self.path}: the ISO holds no VMware Tools tarball")
                kind, inner = tarballs[0]
                self.inner = inner
                label = f"{self.path}!{inner}"
                try:
                    raw = iso.open_file_from_iso(
                        **{f"{kind}_path" if kind != "iso9660" else "iso_path": inner}
                    )
                except Exception as exc:
                    reason = _one_line(exc)
                    raise InputError(f"{label}: cannot read from the ISO ({reason})") from None
                with raw:
                    head = raw.read(8)
                    raw.seek(0)
                    try:
                        with decompressed(raw, head) as fh:
                            yield from iter_tar(fh, want, label, drain=fh is not raw)
                    except InputError:
                        raise
                    except READ_ERRORS as exc:
                        raise _damaged(label, exc) from None
            finally:
                # closing a half-parsed image must not mask the real error
                with contextlib.suppress(Exception):
                    iso.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class ScriptSource(Source):
    """A single configurator (or installer) handed over directly."""

    kind = "script"

    def entries(self, want: Want = default_want) -> Iterator[Entry]:
        """The file as the configurator; over the configurator cap it is refused unread (a
        50 MB one-line "script" must never reach the lexer)."""
        label = str(self.path)
        with open_regular_file(self.path) as fh:
            try:
                st = os.fstat(fh.fileno())
                if st.st_size > MAX_CONFIGURATOR_BYTES:
                    raise too_large(label, "configurator", MAX_CONFIGURATOR_BYTES, st.st_size)
                data, digest = _hash_stream(
                    fh, True, limit=MAX_CONFIGURATOR_BYTES, label=label, what="configurator"
                )
            except OSError as exc:
                raise os_error_line(label, exc) from None
        assert data is not None
        member = Member(CONFIGURATOR, "file", len(data), st.st_mode, int(st.st_mtime))
        yield Entry(member, data, digest)


def open_source(path: Path) -> Source:
    """Pick the container by what the path is, not by trust in its name alone.

    Only a directory or a regular file is a distrib; a FIFO, socket or device is refused
    before it is opened for reading (opening a FIFO could block forever).
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise os_error_line(str(path), exc, "cannot open") from None
    if stat.S_ISDIR(st.st_mode):
        return DirectorySource(path)
    with open_regular_file(path) as fh:
        try:
            head = fh.read(32 * 1024 + 8)
        except OSError as exc:
            raise os_error_line(str(path), exc) from None
    name = path.name.lower()
    if not head:
        raise InputError(f"{path}: empty file, not a distrib, tarball, ISO or script")
    if head.startswith((GZIP_MAGIC, BZIP2_MAGIC, XZ_MAGIC)) or name.endswith(TAR_SUFFIXES):
        return TarSource(path)
    if len(head) > 32 * 1024 + 6 and head[32 * 1024 + 1 : 32 * 1024 + 6] == b"CD001":
        return IsoSource(path)
    if name.endswith(".iso"):
        raise InputError(f"{path}: not an ISO 9660 image (no CD001 volume descriptor)")
    if len(head) >= 262 and head[257:262] == b"ustar":
        return TarSource(path)
    if head.startswith(b"#!") or name.endswith(".pl") or b"sub " in head:
        return ScriptSource(path)
    raise InputError(f"{path}: not a distrib directory, tarball, ISO or Perl script")


@dataclass(frozen=True)
class DriverBuild:
    """A driver object shipped under ``lib/modules/binary``."""

    path: str
    os_dir: str
    module: str
    layout: str  # solaris | linux
    size: int
    #: None for a Linux object: a scan counts those without reading them (no check uses
    #: their bytes); every Solaris build is hashed.
    sha256: Optional[str]


@dataclass
class Inventory:
    """What a distrib contains, gathered in the single pass over its members."""

    source: str
    kind: str
    members: int = 0
    scripts: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, str] = field(default_factory=dict)
    drivers: list[DriverBuild] = field(default_factory=list)
    binary_dirs: set[str] = field(default_factory=set)
    inner: Optional[str] = None

    @property
    def configurator(self) -> Optional[bytes]:
        return self.scripts.get(CONFIGURATOR)

    def solaris_builds(self) -> dict[tuple[str, str], DriverBuild]:
        return {(d.os_dir, d.module): d for d in self.drivers if d.layout == "solaris"}

    def layout(self) -> str:
        """``solaris`` when any Solaris build ships, else ``linux`` when there are Linux
        objects or kernel-build directories (a ``properties`` file alone still makes one),
        else ``none``."""
        layouts = {d.layout for d in self.drivers}
        if "solaris" in layouts:
            return "solaris"
        if layouts or any(not is_solaris_dir(d) for d in self.binary_dirs):
            return "linux"
        return "none"

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "kind": self.kind,
            "inner": self.inner,
            "members": self.members,
            "layout": self.layout(),
            "manifest_version": self.manifest.get("monolithic.version"),
            "binary_dirs": sorted(self.binary_dirs),
            "missing_dirs": (
                sorted(set(SOLARIS_DIRS) - self.binary_dirs) if self.layout() == "solaris" else []
            ),
            "unexpected_dirs": (
                sorted(self.binary_dirs - set(SOLARIS_DIRS)) if self.layout() == "solaris" else []
            ),
            "drivers": [
                {
                    "path": d.path,
                    "os_dir": d.os_dir,
                    "module": d.module,
                    "size": d.size,
                    "sha256": d.sha256,
                }
                for d in sorted(self.drivers, key=lambda d: d.path)
                if d.layout == "solaris"
            ],
            "linux_objects": sum(1 for d in self.drivers if d.layout == "linux"),
        }


_MANIFEST_RE = re.compile(r'^\s*([\w.-]+)\s*=\s*"([^"]*)"')


def parse_manifest(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _MANIFEST_RE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def inventory(source: Source, *, keep: Optional[Callable[[Entry], None]] = None) -> Inventory:
    """One pass over ``source``; ``keep`` sees every entry (used by ``fingerprints learn``)."""
    inv = Inventory(source=str(source.path), kind=source.kind)
    for entry in source.entries(default_want):
        m = entry.member
        inv.members += 1
        if keep is not None:
            keep(entry)
        if m.kind == "dir":
            if m.path.startswith(BINARY_DIR) and m.path.count("/") == 3:
                inv.binary_dirs.add(m.path.split("/")[3])
            continue
        if m.path.startswith(BINARY_DIR) and m.path.count("/") >= 4:
            inv.binary_dirs.add(m.path.split("/")[3])
        if entry.data is not None and (m.path == CONFIGURATOR or m.path in INSTALLERS):
            inv.scripts[m.path] = entry.data
        elif entry.data is not None and m.path == MANIFEST:
            inv.manifest = parse_manifest(entry.data.decode("utf-8", "replace"))
        build = classify_build(m.path) if m.kind == "file" else None
        if build is None:
            continue
        if build.layout == "solaris" and entry.sha256 is None:
            continue  # not read (a caller's ``want``): nothing can be said of its bytes
        inv.drivers.append(
            DriverBuild(m.path, build.os_dir, build.module, build.layout, m.size, entry.sha256)
        )
    if isinstance(source, IsoSource):
        inv.inner = source.inner
    return inv


@dataclass(frozen=True)
class DriverFiles:
    """Every driver object of a distrib with its bytes, and the release it belongs to."""

    members: tuple[tuple[str, bytes], ...]
    version: Optional[str]
    build: Optional[str]


#: Bytes :func:`driver_files` may hold at once (every driver of a distrib, kept together).
#: A real distrib's builds total ~15 MB; ``fingerprints learn`` streams instead
#: (:func:`toolsfix.fpdb.learn_source`) and holds one driver at a time.
MAX_DRIVER_FILES_BYTES = 256 * 1024 * 1024


def learn_want(path: str) -> Optional[str]:
    """The configurator (for version and build) and every driver build are kept."""
    if path == CONFIGURATOR or classify_build(path) is not None:
        return KEEP
    return None


def driver_files(source: Source) -> DriverFiles:
    """One pass that keeps the bytes of every driver build, within a total budget."""
    from toolsfix.installer import find_buildnr  # lazy: start-up time of a scan

    members: list[tuple[str, bytes]] = []
    version = build = None
    total = 0
    for entry in source.entries(learn_want):
        if entry.data is None:
            continue
        if entry.member.path == CONFIGURATOR:
            version, build, _ = find_buildnr(entry.data.decode("utf-8", "replace"))
        else:
            total += len(entry.data)
            if total > MAX_DRIVER_FILES_BYTES:
                raise too_large(str(source.path), "set of driver objects", MAX_DRIVER_FILES_BYTES)
            members.append((entry.member.path, entry.data))
    return DriverFiles(tuple(members), version, build)
