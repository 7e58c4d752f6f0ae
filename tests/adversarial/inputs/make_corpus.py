#!/usr/bin/env python3
"""The bad-input corpus: malformed and hostile inputs for every toolsfix reader. SYNTHETIC.

Nothing here is VMware's: every input is derived from the project's synthetic samples
(``vendor-samples/``) or written from scratch by the builders below.

Two kinds of inputs:

* small ones are committed under ``small/`` (regenerate with
  ``python tests/adversarial/inputs/make_corpus.py small tests/adversarial/inputs/small``);
* special ones cannot be committed (FIFOs, sockets, devices, symbolic link loops, 1,500-level
  trees) or are too big to (2 GB sparse files, compression bombs): ``build_special`` makes
  them at test time, in a temporary directory.

Each :class:`Input` says, for every command it applies to, which exit codes are correct, so
the test checks the documented behaviour, not merely "did not crash". Commands:

======================  =====================================================================
``scan``                ``toolsfix scan --no-exec IN``
``scan-exec``           ``toolsfix scan --perl-timeout 10 IN`` (the Perl proof runs too)
``patch-check``         ``toolsfix patch --check --no-exec IN``
``patch-dry-run``       ``toolsfix patch --dry-run --no-exec IN``
``patch-output``        ``toolsfix patch --no-exec SAMPLE.tar.gz --output IN``
``verify-root``         ``toolsfix verify --no-exec --root IN``
``verify-bundle``       ``toolsfix verify --no-exec --bundle IN``
``fingerprint``         ``toolsfix fingerprint IN``
``fingerprint-db``      ``toolsfix fingerprint --db IN SAMPLE-DRIVER``
``learn``               ``toolsfix fingerprints learn IN --db TMP``
``remedy``              ``toolsfix remedy IN``
======================  =====================================================================
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import socket
import stat
import struct
import sys
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
SMALL_DIR = HERE / "small"
SAMPLES = HERE.parents[2] / "vendor-samples"
DISTRIB_922 = SAMPLES / "distribs" / "9.2.2"
TGZ_922 = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
ISO_922 = SAMPLES / "archives" / "solaris-9.2.2.iso"
BUNDLE = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"
DRIVER = DISTRIB_922 / "vmware-tools-distrib" / "lib" / "modules" / "binary" / "11" / "vmxnet3s"
CONFIGURATOR = "vmware-tools-distrib/bin/vmware-config-tools.pl"
EPOCH = 1420070400  # fixed mtime of every archive member written here
MIB = 1024 * 1024
GIB = 1024 * MIB
DEEP_LEVELS = 1500

COMMANDS = (
    "scan",
    "scan-exec",
    "patch-check",
    "patch-dry-run",
    "patch-output",
    "verify-root",
    "verify-bundle",
    "fingerprint",
    "fingerprint-db",
    "learn",
    "remedy",
)


@dataclass(frozen=True)
class Input:
    """One corpus entry: a file name, its class, and the correct exit codes per command."""

    name: str
    cls: str
    expect: Mapping[str, frozenset[int]]
    special: bool = False
    note: str = ""
    needs: tuple[str, ...] = field(default=())  # "root" (mknod), "socket"


Builder = Callable[[Path], None]
INPUTS: list[Input] = []
BUILDERS: dict[str, Builder] = {}


def codes(spec: Mapping[str, Iterable[int]]) -> dict[str, frozenset[int]]:
    for command in spec:
        assert command in COMMANDS, command
    return {command: frozenset(values) for command, values in spec.items()}


def corpus(
    name: str,
    cls: str,
    expect: Mapping[str, Iterable[int]],
    *,
    special: bool = False,
    note: str = "",
    needs: tuple[str, ...] = (),
) -> Callable[[Builder], Builder]:
    """Register a builder of the input ``name`` (a file or directory it creates)."""

    def register(build: Builder) -> Builder:
        assert name not in BUILDERS, name
        INPUTS.append(Input(name, cls, codes(expect), special, note, needs))
        BUILDERS[name] = build
        return build

    return register


# Exit-code sets used again and again.
REFUSED = (3,)
# Every reader of a file: a distrib source, a driver, a report, a bundle.
FILE_READERS = ("scan", "patch-check", "learn", "remedy", "verify-bundle", "fingerprint")


def refused_by(*commands: str) -> dict[str, tuple[int, ...]]:
    return {c: REFUSED for c in commands}


# --------------------------------------------------------------------------------------------
# Helpers


def _tar_bytes(
    members: Iterable[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.GNU_FORMAT
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            info.mtime = EPOCH
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


MINI_MEMBERS = (
    "bin/vmware-config-tools.pl",
    "vmware-install.pl",
    "etc/manifest.txt.shipped",
    "lib/modules/binary/10/vmxnet3s",
    "lib/modules/binary/10_64/vmxnet3s",
    "lib/modules/binary/11/vmxnet3s",
    "lib/modules/binary/11_64/vmxnet3s",
)


def _sample_tar() -> bytes:
    """A small tar of the 9.2.2 sample distrib: its scripts and the vmxnet3s builds (enough
    for a scan with findings, small enough to commit many damaged copies of)."""
    base = DISTRIB_922 / "vmware-tools-distrib"
    members = [
        _file(f"vmware-tools-distrib/{rel}", (base / rel).read_bytes()) for rel in MINI_MEMBERS
    ]
    return _tar_bytes(members)


def _sample_tgz() -> bytes:
    return _gzip(_sample_tar())


def _configurator() -> bytes:
    return (DISTRIB_922 / CONFIGURATOR).read_bytes()


def _raw_header(name: str, size_field: bytes, typeflag: bytes = b"0") -> bytes:
    """A ustar header block with a hand-written size field (12 bytes) and a valid checksum."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = size_field
    block[136:148] = b"%011o\0" % EPOCH
    block[156:157] = typeflag
    block[257:263] = b"ustar\0"
    block[263:265] = b"00"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _zeros_gzip_members(total: int) -> bytes:
    """``total`` zero bytes as concatenated gzip members of 1 MiB each (a bomb, built fast)."""
    one = _gzip(bytes(MIB))
    count, rest = divmod(total, MIB)
    return one * count + (_gzip(bytes(rest)) if rest else b"")


def _tar_bomb_gz(members: Iterable[tuple[str, int]]) -> bytes:
    """A .tar.gz whose members are ``size`` zero bytes each: headers and padding are their own
    gzip members, data comes from :func:`_zeros_gzip_members` (gzip readers concatenate)."""
    parts: list[bytes] = []
    for name, size in members:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = EPOCH
        parts.append(_gzip(info.tobuf(format=tarfile.GNU_FORMAT)))
        parts.append(_zeros_gzip_members(size))
        pad = -size % 512
        if pad:
            parts.append(_gzip(bytes(pad)))
    parts.append(_gzip(bytes(1024)))
    return b"".join(parts)


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.truncate(size)


def _iso(files: Mapping[str, bytes]) -> bytes:
    """An ISO 9660 image (Rock Ridge + Joliet names) holding ``files`` at its root."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="SYNTHETIC", rock_ridge="1.09", joliet=3)
    for index, (name, data) in enumerate(sorted(files.items())):
        iso.add_fp(
            io.BytesIO(data), len(data), f"/FILE{index}.;1", rr_name=name, joliet_path="/" + name
        )
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def _copy_distrib(dest: Path) -> Path:
    """A private copy of the 9.2.2 sample distrib; returns its vmware-tools-distrib dir."""
    shutil.copytree(DISTRIB_922, dest, symlinks=True)
    return dest / "vmware-tools-distrib"


def _copy_root(dest: Path) -> Path:
    """A private image root: the files/ tree of a sample bundle is laid out like one."""
    shutil.copytree(BUNDLE / "files", dest, symlinks=True)
    return dest


def _copy_bundle(dest: Path) -> Path:
    shutil.copytree(BUNDLE, dest, symlinks=True)
    return dest


#: Bases of the deep trees built so far (see :func:`remove_deep_trees`).
DEEP_BASES: list[Path] = []


def _deep(base: Path, levels: int = DEEP_LEVELS) -> None:
    """``levels`` nested directories below ``base`` (``d/d/d/...``)."""
    DEEP_BASES.append(base)
    path = base
    for _ in range(levels):
        path = path / "d"
        path.mkdir(parents=True, exist_ok=True)


def remove_deep_trees() -> None:
    """Delete every tree :func:`_deep` made: ``shutil.rmtree`` recurses once per level and
    cannot remove 1,500 of them."""
    while DEEP_BASES:
        base = DEEP_BASES.pop()
        if base.is_dir():
            remove_deep(base)


def remove_deep(base: Path) -> None:
    """Delete the ``d/d/...`` chain below ``base`` without recursion."""
    chain = [base]
    while (chain[-1] / "d").is_dir() and not (chain[-1] / "d").is_symlink():
        chain.append(chain[-1] / "d")
    for directory in reversed(chain[1:]):
        for child in directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        directory.rmdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
    finally:
        sock.close()


def _chardev(path: Path) -> None:
    """A character device node like /dev/zero (1, 5): only root can make one."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 5))


# ELF crafting: a 64-bit little-endian ET_REL header and section headers, by hand.
_SH = struct.Struct("<IIQQQQIIQQ")


def _elf64(
    shoff: int, shnum: int, shstrndx: int = 0, shentsize: int = 64, body: bytes = b""
) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 6]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, shentsize, shnum, shstrndx
    )
    return header + body


def _elf_with_sections(
    sections: list[tuple[bytes, int, int, int, int, int]], names: bytes
) -> bytes:
    """An ELF whose section table is ``sections`` (name offset, type, offset, size, link, info);
    a string table with ``names`` is appended as the last section."""
    data_start = 64
    strtab_off = data_start
    table_off = strtab_off + len(names)
    rows = [_SH.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for name, sh_type, offset, size, link, info in sections:
        rows.append(_SH.pack(int(name or 0), sh_type, 0x2, 0, offset, size, link, info, 1, 0))
    rows.append(_SH.pack(1, 3, 0, 0, strtab_off, len(names), 0, 0, 1, 0))
    shnum = len(rows)
    return _elf64(table_off, shnum, shstrndx=shnum - 1, body=names + b"".join(rows))


# --------------------------------------------------------------------------------------------
# Empty and wrong-magic files

ALL_FILE_READERS_REFUSE = {
    **refused_by("scan", "patch-check", "learn", "remedy", "verify-bundle"),
    # An unknown file is an answer ("unknown (not an ELF file)"), not an error: exit 1 under
    # fingerprint's default --fail-on unknown, never 3.
    "fingerprint": (1,),
}


@corpus("empty.tar.gz", "empty", ALL_FILE_READERS_REFUSE)
def _(path: Path) -> None:
    path.write_bytes(b"")


@corpus("empty.pl", "empty", {**refused_by("scan", "patch-dry-run"), "fingerprint": (1,)})
def _(path: Path) -> None:
    path.write_bytes(b"")


@corpus("empty.iso", "empty", refused_by("scan", "learn"))
def _(path: Path) -> None:
    path.write_bytes(b"")


@corpus("empty.json", "empty", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(b"")


@corpus("text-named.tar.gz", "wrong-magic", ALL_FILE_READERS_REFUSE)
def _(path: Path) -> None:
    path.write_bytes(b"this is a text file, not a gzip archive\n" * 20)


@corpus(
    "xz-named.tar.gz",
    "wrong-magic",
    {"scan": (1,), "learn": (0,)},
    note="xz data under a .tar.gz name: read for what it is (magic bytes win)",
)
def _(path: Path) -> None:
    path.write_bytes(lzma.compress(_sample_tar(), preset=6))


@corpus("zip-named.tar", "wrong-magic", refused_by("scan", "patch-check", "learn"))
def _(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)


@corpus("elf-named.iso", "wrong-magic", refused_by("scan", "learn"))
def _(path: Path) -> None:
    path.write_bytes(_elf64(0, 0) + bytes(40000))


@corpus(
    "gzip-of-text.tar.gz",
    "wrong-magic",
    refused_by("scan", "patch-check", "learn", "verify-bundle"),
)
def _(path: Path) -> None:
    path.write_bytes(_gzip(b"plain text, gzipped: a valid gzip stream but not a tar\n" * 50))


@corpus(
    "random.bin",
    "wrong-magic",
    {**refused_by("scan", "remedy", "verify-bundle"), "fingerprint": (1,)},
)
def _(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(4096))


# --------------------------------------------------------------------------------------------
# Truncated and corrupt archives


@corpus(
    "truncated.tar.gz", "truncated", refused_by("scan", "patch-check", "patch-dry-run", "learn")
)
def _(path: Path) -> None:
    data = _sample_tgz()
    path.write_bytes(data[: len(data) // 2])


@corpus("truncated.tar", "truncated", refused_by("scan", "patch-check", "learn"))
def _(path: Path) -> None:
    tar = _sample_tar()
    path.write_bytes(tar[: len(tar) * 3 // 5 + 100])  # inside a driver member's data


@corpus("truncated.tar.xz", "truncated", refused_by("scan", "learn"))
def _(path: Path) -> None:
    data = lzma.compress(_sample_tar())
    path.write_bytes(data[: len(data) // 2])


@corpus("truncated.tar.bz2", "truncated", refused_by("scan", "learn"))
def _(path: Path) -> None:
    data = bz2.compress(_sample_tar())
    path.write_bytes(data[: len(data) // 2])


@corpus("truncated.iso", "truncated", refused_by("scan", "learn", "patch-check"))
def _(path: Path) -> None:
    path.write_bytes(ISO_922.read_bytes()[: 40 * 1024])


@corpus("truncated-elf", "truncated", {"fingerprint": (1,)})
def _(path: Path) -> None:
    path.write_bytes(DRIVER.read_bytes()[:100])


@corpus("crc-flip.tar.gz", "corrupt", refused_by("scan", "patch-check", "learn", "verify-bundle"))
def _(path: Path) -> None:
    data = bytearray(_sample_tgz())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


@corpus("corrupt.tar.xz", "corrupt", refused_by("scan", "patch-check", "learn"))
def _(path: Path) -> None:
    path.write_bytes(b"\xfd7zXZ\x00" + random.Random(2).randbytes(2000))


@corpus("corrupt-body.tar.xz", "corrupt", refused_by("scan", "learn"))
def _(path: Path) -> None:
    data = bytearray(lzma.compress(_sample_tar()))
    for offset in range(200, 264):
        data[offset] ^= 0xA5
    path.write_bytes(bytes(data))


@corpus("corrupt.tar.bz2", "corrupt", refused_by("scan", "learn"))
def _(path: Path) -> None:
    data = bytearray(bz2.compress(_sample_tar()))
    for offset in range(100, 164):
        data[offset] ^= 0xA5
    path.write_bytes(bytes(data))


@corpus("corrupt-pvd.iso", "corrupt", refused_by("scan", "learn", "patch-check"))
def _(path: Path) -> None:
    data = bytearray(ISO_922.read_bytes()[: 48 * 1024])
    pvd = 16 * 2048
    data[pvd + 80 : pvd + 200] = random.Random(3).randbytes(120)  # sizes, tables, root record
    path.write_bytes(bytes(data))


@corpus("iso-corrupt-tarball.iso", "corrupt", refused_by("scan", "learn", "patch-check"))
def _(path: Path) -> None:
    data = _sample_tgz()
    path.write_bytes(_iso({"vmware-solaris-tools.tar.gz": data[: len(data) // 2] + bytes(2000)}))


@corpus("iso-no-tarball.iso", "corrupt", refused_by("scan", "learn"))
def _(path: Path) -> None:
    path.write_bytes(_iso({"README.txt": b"SYNTHETIC: an ISO without a Tools tarball\n"}))


def _iso_with_dir(change: Callable[[bytearray, int, int], None]) -> bytes:
    """A small image with directory /A; ``change(image, root extent, offset of A's record)``
    edits it in place."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="SYNTHETIC")
    iso.add_directory("/A")
    iso.add_fp(io.BytesIO(b"SYNTHETIC\n"), 10, "/A/F.;1")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    data = bytearray(out.getvalue())
    pvd = 16 * 2048
    root_extent = struct.unpack_from("<I", data, pvd + 156 + 2)[0]
    offset = root_extent * 2048
    while data[offset] and bytes(data[offset + 33 : offset + 33 + data[offset + 32]]) != b"A":
        offset += data[offset]
    change(data, root_extent, offset)
    return bytes(data)


def _point_at(data: bytearray, extent: int, record: int) -> None:
    struct.pack_into("<I", data, record + 2, extent)
    struct.pack_into(">I", data, record + 6, extent)


@corpus("iso-directory-loop.iso", "corrupt", refused_by("scan", "learn"))
def _(path: Path) -> None:
    path.write_bytes(_iso_with_dir(lambda d, root, a: _point_at(d, root, a)))


def _claim_huge_root(data: bytearray, root: int, a: int) -> None:
    pvd = 16 * 2048
    struct.pack_into("<I", data, pvd + 156 + 10, 0x7FF00000)  # root directory's data length
    struct.pack_into(">I", data, pvd + 156 + 14, 0x7FF00000)


@corpus(
    "iso-huge-directory.iso",
    "sparse",
    refused_by("scan", "learn"),
    special=True,
    note="a 2 GB sparse image whose root directory claims 2 GB (read whole by pycdlib)",
)
def _(path: Path) -> None:
    with path.open("wb") as fh:
        fh.write(_iso_with_dir(_claim_huge_root))
        fh.truncate(SPARSE + 4096)


@corpus(
    "trailing-garbage.tar.gz",
    "corrupt",
    refused_by("scan", "learn"),
    note="random bytes after the gzip stream: damaged, whatever the read-ahead reached",
)
def _(path: Path) -> None:
    path.write_bytes(_sample_tgz() + random.Random(4).randbytes(3000))


# --------------------------------------------------------------------------------------------
# Tar headers that lie


@corpus("tar-huge-declared.tar", "tar-header", refused_by("scan", "patch-check", "learn"))
def _(path: Path) -> None:
    # an 8 GiB member (octal 77777777777) with no data behind it
    path.write_bytes(_raw_header("vmware-tools-distrib/doc/junk", b"77777777777\0") + bytes(1024))


@corpus("tar-base256-size.tar", "tar-header", refused_by("scan", "learn"))
def _(path: Path) -> None:
    size = b"\x80" + (1 << 62).to_bytes(11, "big")
    path.write_bytes(_raw_header(CONFIGURATOR, size) + bytes(1024))


@corpus("tar-pax-huge.tar", "tar-header", refused_by("scan", "learn"))
def _(path: Path) -> None:
    # a pax extended header declaring 100 MiB: tarfile would read it whole into memory
    path.write_bytes(_raw_header("././@PaxHeader", b"%011o\0" % (100 * MIB), b"x") + bytes(4096))


@corpus("tar-gnu-longname-huge.tar", "tar-header", refused_by("scan", "learn"))
def _(path: Path) -> None:
    path.write_bytes(_raw_header("././@LongLink", b"%011o\0" % (64 * MIB), b"L") + bytes(4096))


@corpus(
    "tar-hostile-names.tar.gz",
    "tar-header",
    {"scan": (1,), "learn": (3,), "patch-check": (1,)},
    note="member names with line breaks, escape sequences, .. and absolute paths",
)
def _(path: Path) -> None:
    members = [
        _file("vmware-tools-distrib/doc/line\nbreak", b"x"),
        _file("vmware-tools-distrib/doc/\x1b[2J\x1b[31mred", b"x"),
        _file("../../../../etc/evil", b"x"),
        _file("/absolute/evil", b"x"),
        _file(CONFIGURATOR, _configurator(), 0o555),
    ]
    path.write_bytes(_gzip(_tar_bytes(members)))


@corpus(
    "tar-configurator-symlink.tar.gz",
    "tar-header",
    {"scan": (1,), "learn": (3,)},
    note="the configurator is a symbolic link to /etc/shadow: never followed",
)
def _(path: Path) -> None:
    link = tarfile.TarInfo(CONFIGURATOR)
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/shadow"
    installer = _file("vmware-tools-distrib/vmware-install.pl", b"#!/usr/bin/perl\n# SYNTHETIC\n")
    path.write_bytes(_gzip(_tar_bytes([installer, (link, b"")])))


@corpus(
    "tar-only-directories.tar",
    "tar-header",
    refused_by("scan", "learn"),
    note="a valid tar of directories only: not a distrib",
)
def _(path: Path) -> None:
    dirs = []
    for name in ("a", "a/b", "a/b/c"):
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        dirs.append((info, b""))
    path.write_bytes(_tar_bytes(dirs))


# --------------------------------------------------------------------------------------------
# Script contents


def _script_variant(transform: Callable[[bytes], bytes]) -> Builder:
    def build(path: Path) -> None:
        path.write_bytes(transform(_configurator()))

    return build


SCRIPT_OK = {"scan": (1,), "patch-dry-run": (0,)}

corpus(
    "nul-bytes.pl",
    "script-content",
    {"scan": (1,), "patch-dry-run": (0,)},
    note="NUL bytes spread through the configurator",
)(_script_variant(lambda b: b.replace(b"\n\n", b"\n\0\n")))
corpus("invalid-utf8.pl", "script-content", {"scan": (1,), "scan-exec": (1,)})(
    _script_variant(lambda b: b.replace(b"# ", b"# \xff\xfe\xc3 ", 20))
)
# Not a configurator toolsfix recognises: a finding (TF102, exit 1); patch refuses (exit 4).
corpus("utf16-bom.pl", "script-content", {"scan": (1,), "patch-dry-run": (4,)})(
    _script_variant(lambda b: b.decode("utf-8").encode("utf-16"))
)
corpus("crlf.pl", "script-content", {"scan": (1,), "scan-exec": (1,), "patch-dry-run": (0,)})(
    _script_variant(lambda b: b.replace(b"\n", b"\r\n"))
)
corpus("binary.pl", "script-content", {"scan": (1,), "scan-exec": (1,), "patch-dry-run": (4,)})(
    _script_variant(lambda b: b"#!/usr/bin/perl\n" + random.Random(5).randbytes(20000))
)
corpus(
    "deep-braces.pl",
    "script-content",
    {"scan": (1,), "scan-exec": (1,), "patch-dry-run": (0,)},
    note="100,000 nested blocks inside the selection function (still analysed: no recursion)",
)(
    _script_variant(
        lambda b: b.replace(
            b"sub configure_module_solaris {",
            b"sub configure_module_solaris {" + b"{" * 100_000 + b"}" * 100_000,
            1,
        )
    )
)
corpus(
    "long-quoted-line.pl",
    "long-line",
    {"scan": (1,)},
    special=True,
    note="a 2 MB line of alternating quotes and escapes (lexer cost must stay linear)",
)(_script_variant(lambda b: b + b"my $x = '" + b"\\'\"#" * 500_000 + b"';\n"))


# --------------------------------------------------------------------------------------------
# ELF objects (fingerprint)

ELF_UNKNOWN = {"fingerprint": (1,)}


@corpus("elf-shnum-65535", "elf", ELF_UNKNOWN, note="65535 sections declared, one present")
def _(path: Path) -> None:
    path.write_bytes(_elf64(64, 65535, body=bytes(64)))


@corpus("elf-shoff-huge", "elf", ELF_UNKNOWN, note="section table at offset 2**63")
def _(path: Path) -> None:
    path.write_bytes(_elf64(1 << 63, 3, body=bytes(256)))


@corpus("elf-section-size-huge", "elf", ELF_UNKNOWN, note="a .text of 2**62 bytes")
def _(path: Path) -> None:
    path.write_bytes(_elf_with_sections([(7, 1, 64, 1 << 62, 0, 0)], b"\0.shstrtab\0.text\0"))


@corpus("elf-symtab-huge", "elf", ELF_UNKNOWN, note="a symbol table claiming 2**40 bytes")
def _(path: Path) -> None:
    path.write_bytes(_elf_with_sections([(7, 2, 64, 1 << 40, 2, 0)], b"\0.shstrtab\0.symtab\0"))


@corpus("elf-symtab-link-self", "elf", ELF_UNKNOWN, note="symtab whose string table is itself")
def _(path: Path) -> None:
    path.write_bytes(_elf_with_sections([(7, 2, 0, 48, 1, 0)], b"\0.shstrtab\0.symtab\0"))


@corpus("elf-shstrndx-out-of-range", "elf", {"fingerprint": (1,)})
def _(path: Path) -> None:
    data = bytearray(_elf_with_sections([(7, 1, 64, 4, 0, 0)], b"\0.shstrtab\0.text\0"))
    struct.pack_into("<H", data, 62, 60000)
    path.write_bytes(bytes(data))


@corpus("elf-extended-numbering", "elf", ELF_UNKNOWN, note="e_shnum 0, real count 2**32-1")
def _(path: Path) -> None:
    section0 = _SH.pack(0, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFF, 0, 0, 0)
    path.write_bytes(_elf64(64, 0, shstrndx=0xFFFF, body=section0))


@corpus("elf-bad-shentsize", "elf", ELF_UNKNOWN)
def _(path: Path) -> None:
    path.write_bytes(_elf64(64, 4, shentsize=12, body=bytes(256)))


@corpus("elf-header-only", "elf", {"fingerprint": (1,)})
def _(path: Path) -> None:
    path.write_bytes(_elf64(0, 0))


@corpus("elf-magic-only", "elf", ELF_UNKNOWN)
def _(path: Path) -> None:
    path.write_bytes(b"\x7fELF")


@corpus("elf32-short-header", "elf", ELF_UNKNOWN)
def _(path: Path) -> None:
    path.write_bytes(b"\x7fELF\x01\x01\x01\x06" + bytes(22))


@corpus("elf-dynamic-garbage", "elf", {"fingerprint": (1,)}, note="a .dynamic of random tags")
def _(path: Path) -> None:
    names = b"\0.shstrtab\0.dynamic\0"
    blob = random.Random(6).randbytes(256)
    sections = [(11, 6, 64 + len(names) + 64 * 3, len(blob), 1, 0)]
    data = _elf_with_sections(sections, names)
    path.write_bytes(data + blob)


# --------------------------------------------------------------------------------------------
# Saved reports (remedy)


def _report(findings: object, **extra: object) -> bytes:
    doc = {"schema_version": "1.0", "command": "verify", "target": "t", "findings": findings}
    doc.update(extra)
    return json.dumps(doc).encode()


GOOD_FINDING = {
    "id": "TF301",
    "category": "lso-risk",
    "severity": "high",
    "title": "LSO",
    "message": "SYNTHETIC finding",
    "remedy": "turn LSO off",
    "evidence": [{"path": "/kernel/drv/vmxnet3s.conf", "line": 3}],
    "commands": ["ndd -set /dev/vmxnet3s0 EnableLSO 0"],
}


@corpus("report-deep.json", "report", refused_by("remedy"), note="100,000 nested arrays")
def _(path: Path) -> None:
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)


@corpus("report-deep-object.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(b'{"findings": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001)


@corpus("report-list.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(b"[]")


@corpus("report-findings-not-list.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report({"TF301": GOOD_FINDING}))


@corpus("report-finding-not-object.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report([GOOD_FINDING, "TF301"]))


@corpus("report-bad-severity.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report([{**GOOD_FINDING, "severity": "apocalyptic"}]))


@corpus("report-commands-not-strings.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report([{**GOOD_FINDING, "commands": [["rm", "-rf", "/"]]}]))


@corpus("report-huge-int.json", "report", refused_by("remedy"), note="a 5,000-digit number")
def _(path: Path) -> None:
    path.write_bytes(_report([GOOD_FINDING]).replace(b'"line": 3', b'"line": ' + b"9" * 5000))


@corpus("report-utf16-bom.json", "report", {"remedy": (0,)}, note="PowerShell's > output")
def _(path: Path) -> None:
    path.write_bytes(_report([GOOD_FINDING]).decode().encode("utf-16"))


@corpus("report-utf8-bom.json", "report", {"remedy": (0,)})
def _(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + _report([GOOD_FINDING]))


@corpus("report-utf16-no-bom.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report([GOOD_FINDING]).decode().encode("utf-16-le"))


@corpus("report-invalid-utf8.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_report([GOOD_FINDING]).replace(b"SYNTHETIC", b"SYNTH\xff\xfeETIC"))


@corpus("report-binary.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(3000))


@corpus("report-gzipped.json", "report", refused_by("remedy"))
def _(path: Path) -> None:
    path.write_bytes(_gzip(_report([GOOD_FINDING])))


@corpus("report-crlf.json", "report", {"remedy": (0,)})
def _(path: Path) -> None:
    path.write_bytes(
        json.dumps(json.loads(_report([GOOD_FINDING])), indent=1).replace("\n", "\r\n").encode()
    )


@corpus("report-nan.json", "report", {"remedy": (0,)})
def _(path: Path) -> None:
    path.write_bytes(_report([{**GOOD_FINDING, "evidence": [{"line": float("nan")}]}]))


@corpus(
    "report-control-chars.json",
    "report",
    {"remedy": (0,)},
    note="commands with line breaks and escape sequences: emitted only as comments",
)
def _(path: Path) -> None:
    finding = {**GOOD_FINDING, "commands": ["echo ok\nrm -rf /", "\x1b[2Jclear", "#\x00note"]}
    path.write_bytes(_report([finding], target="line\nbreak\x1b[31m"))


@corpus(
    "report-many-findings.json", "report", {"remedy": (0,)}, special=True, note="5,000 findings"
)
def _(path: Path) -> None:
    path.write_bytes(_report([{**GOOD_FINDING, "id": f"TF{i}"} for i in range(5_000)]))


# --------------------------------------------------------------------------------------------
# Fingerprint database directories (fingerprint --db)


def _db(name: str, data: bytes) -> Builder:
    def build(path: Path) -> None:
        path.mkdir()
        (path / name).write_bytes(data)

    return build


DB_REFUSED = refused_by("fingerprint-db")
corpus("db-deep-json", "db", DB_REFUSED)(_db("deep.json", b"[" * 100_000 + b"]" * 100_000))
corpus("db-wrong-shape", "db", DB_REFUSED)(
    _db("list.json", b'[{"schema": "toolsfix-fingerprints/1"}]')
)
corpus("db-bad-record", "db", DB_REFUSED)(
    _db("bad.json", b'{"schema": "toolsfix-fingerprints/1", "records": [{"schema": 7}]}')
)
corpus("db-utf16", "db", DB_REFUSED)(
    _db("u16.json", '{"schema": "toolsfix-fingerprints/1", "records": []}'.encode("utf-16"))
)
corpus("db-binary", "db", DB_REFUSED)(_db("bin.json", random.Random(8).randbytes(2000)))


# --------------------------------------------------------------------------------------------
# Special inputs, built at test time

SPECIAL_FILE = {
    **refused_by(
        "scan",
        "patch-check",
        "patch-dry-run",
        "learn",
        "remedy",
        "fingerprint",
        "verify-bundle",
        "verify-root",
    ),
    "patch-output": (2,),
}


@corpus("fifo", "special-file", SPECIAL_FILE, special=True)
def _(path: Path) -> None:
    _fifo(path)


@corpus("socket", "special-file", SPECIAL_FILE, special=True, needs=("socket",))
def _(path: Path) -> None:
    _socket(path)


@corpus("chardev-zero", "special-file", SPECIAL_FILE, special=True, needs=("root",))
def _(path: Path) -> None:
    _chardev(path)


@corpus("link-to-dev-zero", "special-file", SPECIAL_FILE, special=True)
def _(path: Path) -> None:
    path.symlink_to("/dev/zero")


LINK_REFUSED = refused_by(
    "scan", "patch-check", "learn", "remedy", "fingerprint", "verify-bundle", "verify-root"
)


@corpus("symlink-loop", "special-file", LINK_REFUSED, special=True)
def _(path: Path) -> None:
    path.symlink_to(path.name + ".other")
    path.with_name(path.name + ".other").symlink_to(path.name)


@corpus("dangling-link", "special-file", LINK_REFUSED, special=True)
def _(path: Path) -> None:
    path.symlink_to("does-not-exist")


@corpus(
    "a-directory",
    "special-file",
    {**refused_by("remedy", "fingerprint", "scan", "verify-bundle"), "patch-output": (2,)},
    special=True,
)
def _(path: Path) -> None:
    path.mkdir()


@corpus("missing-parent/out.tar.gz", "special-file", {"patch-output": (2,)}, special=True)
def _(path: Path) -> None:
    pass  # nothing to create: the parent directory must not exist


SPARSE = 2 * GIB


@corpus("sparse-2g.pl", "sparse", refused_by("scan", "patch-dry-run", "fingerprint"), special=True)
def _(path: Path) -> None:
    _sparse(path, SPARSE)


@corpus(
    "sparse-2g.tar",
    "sparse",
    refused_by("scan", "learn", "verify-bundle"),
    special=True,
    note="2 GB of zeros: an empty tar (end-of-archive blocks), read no further",
)
def _(path: Path) -> None:
    _sparse(path, SPARSE)


@corpus("sparse-2g.iso", "sparse", refused_by("scan", "learn"), special=True)
def _(path: Path) -> None:
    _sparse(path, SPARSE)


@corpus("sparse-2g.json", "sparse", refused_by("remedy"), special=True)
def _(path: Path) -> None:
    _sparse(path, SPARSE)


@corpus("sparse-2g-driver", "sparse", refused_by("fingerprint"), special=True)
def _(path: Path) -> None:
    _sparse(path, SPARSE)


@corpus("db-sparse-2g", "sparse", DB_REFUSED, special=True)
def _(path: Path) -> None:
    path.mkdir()
    _sparse(path / "big.json", SPARSE)


@corpus("db-fifo", "special-file", DB_REFUSED, special=True)
def _(path: Path) -> None:
    path.mkdir()
    _fifo(path / "pipe.json")


@corpus("one-line-50mb.pl", "long-line", refused_by("scan", "patch-dry-run"), special=True)
def _(path: Path) -> None:
    with path.open("wb") as fh:
        fh.write(b"#!/usr/bin/perl\n")
        chunk = b"my $x = 1; " * (MIB // 11)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b"\n")


@corpus(
    "one-line-7mb.pl",
    "long-line",
    {"scan": (1,)},
    special=True,
    note="under the configurator cap: must be processed in linear time",
)
def _(path: Path) -> None:
    path.write_bytes(_configurator() + b"my $x = 1; " * (7 * MIB // 11) + b"\n")


@corpus(
    "report-17mb.json",
    "sparse",
    refused_by("remedy"),
    special=True,
    note="a valid report made 17 MiB by one long message",
)
def _(path: Path) -> None:
    path.write_bytes(_report([{**GOOD_FINDING, "message": "x" * (17 * MIB)}]))


@corpus(
    "gzip-bomb-driver.tar.gz",
    "bomb",
    refused_by("scan", "patch-check", "learn"),
    special=True,
    note="3 MB of gzip holding a 3 GiB driver",
)
def _(path: Path) -> None:
    path.write_bytes(
        _tar_bomb_gz([("vmware-tools-distrib/lib/modules/binary/11/vmxnet3s", 3 * GIB)])
    )


@corpus(
    "gzip-bomb-skipped.tar.gz",
    "bomb",
    refused_by("scan", "learn"),
    special=True,
    note="a 3 GiB member nobody reads: refused on its declared size",
)
def _(path: Path) -> None:
    path.write_bytes(_tar_bomb_gz([("vmware-tools-distrib/doc/junk", 3 * GIB)]))


@corpus(
    "gzip-bomb-total.tar.gz",
    "bomb",
    refused_by("scan"),
    special=True,
    note="five 900 MiB members: the 4 GiB streaming cap stops it",
)
def _(path: Path) -> None:
    path.write_bytes(
        _tar_bomb_gz([(f"vmware-tools-distrib/doc/junk{i}", 900 * MIB) for i in range(5)])
    )


@corpus(
    "xz-bomb-dict.tar.xz",
    "bomb",
    refused_by("scan", "learn"),
    special=True,
    note="an xz header asking for a 1.5 GiB dictionary",
)
def _(path: Path) -> None:
    path.write_bytes(xz_with_dict(lzma.compress(_sample_tar()), 1536 * MIB))


@corpus(
    "xz-bomb-driver.tar.xz",
    "bomb",
    refused_by("scan", "learn"),
    special=True,
    note="concatenated xz streams holding a 3 GiB driver",
)
def _(path: Path) -> None:
    info = tarfile.TarInfo("vmware-tools-distrib/lib/modules/binary/11/vmxnet3s")
    info.size = 3 * GIB
    info.mtime = EPOCH
    zeros = lzma.compress(bytes(16 * MIB))
    body = zeros * (3 * GIB // (16 * MIB))
    path.write_bytes(lzma.compress(info.tobuf(format=tarfile.GNU_FORMAT)) + body)


@corpus("iso-gzip-bomb.iso", "bomb", refused_by("scan", "learn"), special=True)
def _(path: Path) -> None:
    bomb = _tar_bomb_gz([("vmware-tools-distrib/lib/modules/binary/11/vmxnet3s", 3 * GIB)])
    path.write_bytes(_iso({"vmware-solaris-tools.tar.gz": bomb}))


@corpus("bundle-gzip-bomb.tar.gz", "bomb", refused_by("verify-bundle"), special=True)
def _(path: Path) -> None:
    path.write_bytes(_tar_bomb_gz([("bundle/files/kernel/drv/vmxnet3s", 3 * GIB)]))


# Directory distribs (copies of the 9.2.2 sample, damaged)

DIR_DISTRIB_REFUSED = refused_by("scan", "patch-check", "learn")
# The configurator is not a readable file: reported as a finding (TF103), never followed.
NO_CONFIGURATOR = {"scan": (1,), "patch-check": (3,)}
CONFIG_REL = "bin/vmware-config-tools.pl"
DRIVER_REL = "lib/modules/binary/11/vmxnet3s"


def _as_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _as_link(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


def _garbage_drivers(distrib: Path) -> None:
    for path in (distrib / "lib/modules/binary").glob("*/*"):
        if path.is_file() and not path.name.endswith(".conf"):
            path.write_bytes(_elf64(64, 65535, body=bytes(64)))


def _distrib_variant(change: Callable[[Path], None]) -> Builder:
    def build(path: Path) -> None:
        change(_copy_distrib(path))

    return build


corpus("distrib-deep", "deep-tree", DIR_DISTRIB_REFUSED, special=True)(
    _distrib_variant(lambda d: _deep(d / "doc"))
)
corpus("distrib-configurator-fifo", "dir-distrib", NO_CONFIGURATOR, special=True)(
    _distrib_variant(lambda d: _as_fifo(d / CONFIG_REL))
)
corpus("distrib-driver-fifo", "dir-distrib", {"scan": (1,), "learn": (0,)}, special=True)(
    _distrib_variant(lambda d: _as_fifo(d / DRIVER_REL))
)
corpus("distrib-configurator-sparse", "sparse", DIR_DISTRIB_REFUSED, special=True)(
    _distrib_variant(lambda d: _sparse(d / CONFIG_REL, SPARSE))
)
corpus("distrib-driver-sparse", "sparse", DIR_DISTRIB_REFUSED, special=True)(
    _distrib_variant(lambda d: _sparse(d / DRIVER_REL, SPARSE))
)
corpus("distrib-configurator-loop", "dir-distrib", NO_CONFIGURATOR, special=True)(
    _distrib_variant(lambda d: _as_link(d / CONFIG_REL, "vmware-config-tools.pl"))
)
corpus("distrib-configurator-devzero", "dir-distrib", NO_CONFIGURATOR, special=True)(
    _distrib_variant(lambda d: _as_link(d / CONFIG_REL, "/dev/zero"))
)
corpus(
    "distrib-dir-loop",
    "dir-distrib",
    {"scan": (1,), "learn": (0,)},
    special=True,
    note="lib/modules/binary/loop -> .. (links are never followed)",
)(_distrib_variant(lambda d: (d / "lib/modules/binary/loop").symlink_to("..")))
corpus(
    "distrib-garbage-drivers",
    "dir-distrib",
    {"scan": (1,), "learn": (3,)},
    special=True,
    note="every driver replaced by an ELF header declaring 65535 sections",
)(_distrib_variant(_garbage_drivers))


# Image roots (verify --root): a root that could not be read must never pass (exit 0).

ROOT_NOT_CLEAN = {"verify-root": (1, 3)}
ROOT_DRIVER = "kernel/drv/amd64/vmxnet3s"


def _root_variant(change: Callable[[Path], None]) -> Builder:
    def build(path: Path) -> None:
        change(_copy_root(path))

    return build


@corpus("root-is-a-file", "root", refused_by("verify-root"))
def _(path: Path) -> None:
    path.write_bytes(b"SYNTHETIC: a file, not an image root\n")


corpus("root-deep", "deep-tree", ROOT_NOT_CLEAN, special=True)(
    _root_variant(lambda r: _deep(r / "kernel" / "drv"))
)
corpus("root-driver-fifo", "root", ROOT_NOT_CLEAN, special=True)(
    _root_variant(lambda r: _as_fifo(r / ROOT_DRIVER))
)
corpus("root-driver-sparse", "sparse", ROOT_NOT_CLEAN, special=True)(
    _root_variant(lambda r: _sparse(r / ROOT_DRIVER, SPARSE))
)
corpus("root-driver-devzero", "root", ROOT_NOT_CLEAN, special=True)(
    _root_variant(lambda r: _as_link(r / ROOT_DRIVER, "/dev/zero"))
)
corpus("root-release-loop", "root", ROOT_NOT_CLEAN, special=True)(
    _root_variant(lambda r: _as_link(r / "etc/release", "release"))
)
corpus("root-locations-binary", "root", ROOT_NOT_CLEAN, special=True)(
    _root_variant(
        lambda r: (r / "etc/vmware-tools/locations").write_bytes(random.Random(9).randbytes(5000))
    )
)


# Bundles (verify --bundle)


def _bundle_variant(change: Callable[[Path], None]) -> Builder:
    def build(path: Path) -> None:
        change(_copy_bundle(path))

    return build


BUNDLE_NOT_CLEAN = {"verify-bundle": (1, 3)}
corpus("bundle-manifest-fifo", "bundle", refused_by("verify-bundle"), special=True)(
    _bundle_variant(lambda b: _as_fifo(b / "manifest.txt"))
)
corpus("bundle-driver-sparse", "sparse", BUNDLE_NOT_CLEAN, special=True)(
    _bundle_variant(lambda b: _sparse(b / "files/kernel/drv/amd64/vmxnet3s", SPARSE))
)
corpus("bundle-deep", "deep-tree", BUNDLE_NOT_CLEAN, special=True)(
    _bundle_variant(lambda b: _deep(b / "files"))
)
corpus("bundle-manifest-binary", "bundle", refused_by("verify-bundle"), special=True)(
    _bundle_variant(lambda b: (b / "manifest.txt").write_bytes(random.Random(10).randbytes(4000)))
)


@corpus("bundle-truncated.tar.gz", "truncated", refused_by("verify-bundle"))
def _(path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        tar.add(BUNDLE, arcname="bundle")
    data = out.getvalue()
    path.write_bytes(data[: len(data) // 2])


# --------------------------------------------------------------------------------------------
# xz header surgery


def xz_with_dict(stream: bytes, dict_size: int) -> bytes:
    """``stream`` (one xz stream, one LZMA2 block) with its dictionary size rewritten.

    The LZMA2 filter's single property byte encodes the dictionary size; the block header's
    CRC32 is recomputed so the decoder trusts the header and tries to honour it.
    """
    data = bytearray(stream)
    start = 12  # stream header
    header_size = (data[start] + 1) * 4
    header = data[start : start + header_size]
    flags = header[1]
    pos = 2
    for present in (flags & 0x40, flags & 0x80):  # compressed / uncompressed size fields
        if present:
            while header[pos] & 0x80:
                pos += 1
            pos += 1
    assert header[pos] == 0x21 and header[pos + 1] == 1, "expected one LZMA2 filter"
    bits = max(dict_size.bit_length() - 1, 12)
    code = min((bits - 12) * 2 + (1 if dict_size > (1 << bits) else 0), 40)
    header[pos + 2] = code
    crc = zlib.crc32(bytes(header[:-4]))
    header[-4:] = struct.pack("<I", crc)
    data[start : start + header_size] = header
    return bytes(data)


# --------------------------------------------------------------------------------------------


def small_inputs() -> list[Input]:
    return [i for i in INPUTS if not i.special]


def special_inputs() -> list[Input]:
    return [i for i in INPUTS if i.special]


def can_build(inp: Input) -> bool:
    if "root" in inp.needs and os.geteuid() != 0:
        return False
    return not ("socket" in inp.needs and not hasattr(socket, "AF_UNIX"))


def build(inp: Input, dest: Path) -> Path:
    """Build one input under ``dest``; returns its path."""
    path = dest / inp.name
    path.parent.mkdir(parents=True, exist_ok=True)
    if inp.name.startswith("missing-parent/"):
        path.parent.rmdir()
    BUILDERS[inp.name](path)
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["small", "special", "list"])
    parser.add_argument("dest", type=Path, nargs="?")
    args = parser.parse_args(argv)
    if args.what == "list":
        for inp in INPUTS:
            kind = "special" if inp.special else "small"
            print(f"{inp.cls:15} {kind:8} {inp.name:32} {', '.join(sorted(inp.expect))}")
        return 0
    if args.dest is None:
        parser.error("DEST is required")
    chosen = small_inputs() if args.what == "small" else special_inputs()
    if args.dest.exists() and any(args.dest.iterdir()):
        parser.error(f"{args.dest} is not empty: give a new or empty directory")
    args.dest.mkdir(parents=True, exist_ok=True)
    for inp in chosen:
        if can_build(inp):
            build(inp, args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
