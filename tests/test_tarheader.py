"""The stream's tar header parser answers exactly as tarfile's own, header by header.

:class:`toolsfix.distrib_containers.StreamTarInfo` reads plain headers itself and hands every
other one to ``tarfile.TarInfo.frombuf``. These tests hold the two to the same result --
the same member (every attribute) or the same exception with the same message -- on headers
written by GNU tar, busybox tar and Python in every format they offer, on the sample
archives, and on mutated headers (numeric fields in every encoding tar knows and some it does
not, checksums right, signed-only or wrong, every member type, prefixes, trailing slashes).
"""

from __future__ import annotations

import gzip
import io
import shutil
import struct
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolsfix import distrib
from toolsfix.distrib import inventory, open_source
from toolsfix.distrib_containers import StreamTarInfo

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples" / "archives"
ENCODING, ERRORS = "utf-8", "surrogateescape"  # what tarfile.open uses on this platform

#: Every attribute frombuf sets, and the sparse map it keeps for GNU sparse members.
ATTRIBUTES = (
    "name",
    "mode",
    "uid",
    "gid",
    "size",
    "mtime",
    "chksum",
    "type",
    "linkname",
    "uname",
    "gname",
    "devmajor",
    "devminor",
    "pax_headers",
    "sparse",
    "_sparse_structs",
)


def outcome(parse: Any, buf: bytes) -> tuple[Any, ...]:
    """What a parser makes of ``buf``: ("ok", attributes...) or ("raise", type, message)."""
    try:
        info = parse(buf, ENCODING, ERRORS)
    except Exception as exc:  # the parsers must agree on the failure too
        return ("raise", type(exc), str(exc))
    return ("ok", type(info) is not tarfile.TarInfo, *(getattr(info, a, None) for a in ATTRIBUTES))


def assert_same(buf: bytes) -> None:
    """Both parsers agree on ``buf`` (the fast one returns its own class on success)."""
    expected = outcome(tarfile.TarInfo.frombuf, buf)
    got = outcome(StreamTarInfo.frombuf, buf)
    if expected[0] == "ok":
        assert got[0] == "ok" and got[1], got
        assert got[2:] == expected[2:]
    else:
        assert got == expected


def headers(data: bytes) -> Iterator[bytes]:
    """Every header block of an uncompressed tar archive (pax and GNU long-name headers
    included), found by walking it as tar does: a header, then its data rounded up to blocks."""
    pos = 0
    while pos + tarfile.BLOCKSIZE <= len(data):
        block = data[pos : pos + tarfile.BLOCKSIZE]
        try:
            info = tarfile.TarInfo.frombuf(block, ENCODING, ERRORS)
        except tarfile.HeaderError:  # end-of-archive blocks
            pos += tarfile.BLOCKSIZE
            continue
        yield block
        pos += tarfile.BLOCKSIZE + -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


def python_archive(fmt: int) -> bytes:
    """An archive written by tarfile in ``fmt`` with the member shapes real ones have."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:

        def add(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, **kw: Any) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mtime = kind, size, 1_500_000_000
            for key, value in kw.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(b"x" * size) if kind == tarfile.REGTYPE else None)

        add("vmware-tools-distrib/", tarfile.DIRTYPE, mode=0o755)
        add("vmware-tools-distrib/bin/vmware-config-tools.pl", size=700, mode=0o555)
        add("vmware-tools-distrib/lib/modules/binary/2009.11/vmxnet3s", size=10)
        add("vmware-tools-distrib/" + "d" * 120 + "/" + "f" * 90, size=3)  # prefix or long
        add("vmware-tools-distrib/lib/link", tarfile.SYMTYPE, linkname="../bin/x" * 5)
        add("vmware-tools-distrib/lib/hard", tarfile.LNKTYPE, linkname="vmware-tools-distrib/x")
        add("vmware-tools-distrib/dev", tarfile.CHRTYPE, devmajor=4, devminor=64)
        add("vmware-tools-distrib/fifo", tarfile.FIFOTYPE)
        if fmt != tarfile.USTAR_FORMAT:
            add("vmware-tools-distrib/big-ids", uid=3_000_000, gid=2_500_000, uname="ü" * 40)
            add("vmware-tools-distrib/" + "n" * 300, size=5)  # a long name: pax or GNU 'L'
    return out.getvalue()


FORMATS = {
    "ustar": tarfile.USTAR_FORMAT,
    "gnu": tarfile.GNU_FORMAT,
    "pax": tarfile.PAX_FORMAT,
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_python_written_headers(fmt: str) -> None:
    blocks = list(headers(python_archive(FORMATS[fmt])))
    assert len(blocks) >= 8
    for block in blocks:
        assert_same(block)


def _tree(root: Path) -> Path:
    """A small distrib tree on disk for the system tar programs to pack."""
    top = root / "vmware-tools-distrib"
    (top / "bin").mkdir(parents=True)
    (top / "bin" / "vmware-config-tools.pl").write_text("#!/usr/bin/perl\n" * 20)
    deep = top / ("d" * 99) / ("e" * 99)
    deep.mkdir(parents=True)
    (deep / ("f" * 120)).write_bytes(b"\x7fELF" + b"\0" * 60)
    (top / "lib").mkdir()
    (top / "lib" / "link").symlink_to("../bin/vmware-config-tools.pl")
    return root


@pytest.mark.parametrize(
    "argv",
    [
        ["tar", "--format=gnu"],
        ["tar", "--format=oldgnu"],
        ["tar", "--format=ustar"],
        ["tar", "--format=pax"],
        ["tar", "--format=v7"],
        ["busybox", "tar"],
    ],
    ids=lambda a: "-".join(a).replace("--format=", ""),
)
def test_system_tar_headers(argv: list[str], tmp_path: Path) -> None:
    """GNU tar and busybox tar write their numbers their own ways (spaces, NULs, widths)."""
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    root = _tree(tmp_path / "src")
    out = tmp_path / "a.tar"
    cmd = [*argv, "-cf", str(out), "-C", str(root), "vmware-tools-distrib"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:  # v7 refuses names over 99 characters: pack what it can
        cmd[-1:] = ["vmware-tools-distrib/bin", "vmware-tools-distrib/lib"]
        done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    blocks = list(headers(out.read_bytes()))
    assert len(blocks) >= 3
    for block in blocks:
        assert_same(block)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.tar.gz")), ids=lambda p: p.name)
def test_sample_archive_headers(path: Path) -> None:
    for block in headers(gzip.decompress(path.read_bytes())):
        assert_same(block)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.tar.gz"))[:4], ids=lambda p: p.name)
def test_inventory_is_the_same_with_either_parser(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the scan's inventory of an archive does not depend on the parser."""
    fast = inventory(open_source(path))
    monkeypatch.setattr(distrib, "StreamTarInfo", tarfile.TarInfo)
    assert inventory(open_source(path)) == fast


def test_plain_headers_do_not_reach_the_standard_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the class: a plain header is read without tarfile's parser."""
    block = next(headers(python_archive(tarfile.GNU_FORMAT)))
    expected = outcome(tarfile.TarInfo.frombuf, block)

    def refuse(*_: Any) -> Any:
        raise AssertionError("the standard parser was asked")

    monkeypatch.setattr(tarfile.TarInfo, "frombuf", classmethod(refuse))
    assert outcome(StreamTarInfo.frombuf, block)[2:] == expected[2:]


# --- mutated headers ----------------------------------------------------------------------

#: (offset, width) of every numeric field of the header.
NUMERIC = {
    "mode": (100, 8),
    "uid": (108, 8),
    "gid": (116, 8),
    "size": (124, 12),
    "mtime": (136, 12),
    "chksum": (148, 8),
    "devmajor": (329, 8),
    "devminor": (337, 8),
}
TEXT = {"name": (0, 100), "linkname": (157, 100), "uname": (265, 32), "prefix": (345, 155)}
TYPES = [b"0", b"\0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"L", b"K", b"S", b"x", b"g", b"Z"]


def _field_value(width: int) -> st.SearchStrategy[bytes]:
    """Every way a numeric field is written, right or wrong."""
    digits = st.text("01234567", min_size=0, max_size=width)
    octal = st.builds(
        lambda lead, d, tail: (lead + d.encode() + tail)[:width].ljust(width, b"\0"),
        st.sampled_from([b"", b" ", b"  ", b"\t", b"0"]),
        digits,
        st.sampled_from([b"\0", b" ", b" \0", b"\0 ", b"", b"\0\0", b"\t"]),
    )
    odd = st.sampled_from(
        [b"+17", b"-17", b"1_7", b"0o17", b"8", b"9", b"\x1c17", b"17\x1f", b"1 7", b"\xff"]
    ).map(lambda v: v[:width].ljust(width, b"\0"))
    base256 = st.builds(
        lambda head, rest: (head + rest)[:width].ljust(width, b"\0"),
        st.sampled_from([b"\x80", b"\xff"]),
        st.binary(min_size=width - 1, max_size=width - 1),
    )
    return st.one_of(octal, odd, base256, st.binary(min_size=width, max_size=width))


def _checksums(buf: bytearray) -> tuple[int, int]:
    unsigned = 256 + sum(struct.unpack_from("148B8x356B", buf))
    signed = 256 + sum(struct.unpack_from("148b8x356b", buf))
    return unsigned, signed


BASE = bytearray(next(headers(python_archive(tarfile.GNU_FORMAT))))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    buf = bytearray(BASE)
    for name in draw(st.lists(st.sampled_from(sorted(NUMERIC)), max_size=4, unique=True)):
        at, width = NUMERIC[name]
        buf[at : at + width] = draw(_field_value(width))
    for name in draw(st.lists(st.sampled_from(sorted(TEXT)), max_size=2, unique=True)):
        at, width = TEXT[name]
        value = draw(
            st.one_of(
                st.sampled_from([b"dir/", b"a/b//", b"x" * width, b"", b"\xc3\xa9/", b"\xff"]),
                st.binary(max_size=width),
            )
        )
        buf[at : at + width] = value[:width].ljust(width, b"\0")
    buf[156:157] = draw(st.sampled_from(TYPES))
    if draw(st.booleans()):  # magic: ustar, GNU or none
        buf[257:265] = draw(st.sampled_from([b"ustar\x0000", b"ustar  \0", b"\0" * 8]))
    for _ in range(draw(st.integers(0, 2))):  # stray bytes anywhere, high bit included
        buf[draw(st.integers(0, 511))] = draw(st.integers(0, 255))
    fix: Optional[str] = draw(st.sampled_from([None, "unsigned", "signed", "unsigned-spaced"]))
    if fix is not None:
        unsigned, signed = _checksums(buf)
        value = signed if fix == "signed" else unsigned
        if value >= 0:
            text = b"%06o\0 " if fix != "unsigned-spaced" else b"%07o "
            field = (text % value)[:8]
            buf[148:156] = field.ljust(8, b"\0")
    return bytes(buf)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_headers(buf: bytes) -> None:
    assert_same(buf)


@pytest.mark.parametrize(
    "buf",
    [b"", b"\0" * 100, b"\0" * 512, b"\0" * 513, bytes(BASE[:511]), bytes(BASE) + b"\0"],
    ids=["empty", "short-nul", "all-nul", "long", "truncated", "overlong"],
)
def test_blocks_of_the_wrong_shape(buf: bytes) -> None:
    assert_same(buf)
