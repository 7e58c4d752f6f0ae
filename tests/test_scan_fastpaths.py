"""The fast paths of a scan give exactly what the plain definitions give.

The threaded gunzip hands blocks over without copying and skips member data without reading
it; the lexer and the compile check's code view skip lines that hold nothing to lex. Each is
checked here against the straightforward version it replaced, on generated inputs.
"""

from __future__ import annotations

import gzip
import io
import random
import threading
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolsfix.distrib import ForwardReader
from toolsfix.errors import InputError
from toolsfix.perl_neutral import _code_view
from toolsfix.perltext import DAMAGED_COMMENT, Line, code_of, lex, split_lines

isal = pytest.importorskip("isal")

from toolsfix.distrib_containers import (  # noqa: E402
    CHUNK,
    READ_ERRORS,
    ThreadedGunzip,
    open_decompressed,
)


def _payload(size: int, seed: int = 3) -> bytes:
    """Partly compressible bytes (runs and noise), so blocks decompress to varied sizes."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(1, 4000))
        else:
            out += bytes([rng.randint(0, 255)]) * rng.randint(1, 9000)
    return bytes(out[:size])


@pytest.fixture(scope="module")
def gz_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    data = _payload(3 * CHUNK + 12345)
    path = tmp_path_factory.mktemp("gz") / "data.gz"
    path.write_bytes(gzip.compress(data, compresslevel=6))
    return path, data


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["read", "skip"]), st.integers(0, 2 * CHUNK + 7)), max_size=12
    )
)
def test_reads_and_skips_see_the_stream_as_gzip_does(
    gz_file: tuple[Path, bytes], ops: list[tuple[str, int]]
) -> None:
    path, data = gz_file
    pos = 0
    with open_decompressed(path) as fh:
        assert isinstance(fh, ThreadedGunzip)
        for op, size in ops:
            if op == "read":
                got = fh.read(size)
                assert got == data[pos : pos + size]
                pos += len(got)
            else:
                moved = fh.skip(size)
                assert moved == min(size, len(data) - pos)
                pos += moved
        assert fh.read() == data[pos:]
        assert fh.read(10) == b"" and fh.skip(10) == 0


def test_readinto_and_a_file_object_source(gz_file: tuple[Path, bytes]) -> None:
    path, data = gz_file
    with path.open("rb") as raw:
        with open_decompressed(raw) as fh:
            buf = bytearray(1000)
            assert fh.readinto(buf) == 1000 and bytes(buf) == data[:1000]
            assert fh.read(5) == data[1000:1005]
        assert not raw.closed  # the caller's file is the caller's to close


def test_a_truncated_stream_raises_where_it_ends(tmp_path: Path) -> None:
    data = _payload(2 * CHUNK)
    bad = tmp_path / "bad.gz"
    packed = gzip.compress(data)
    bad.write_bytes(packed[: len(packed) // 2])
    seen = 0
    with open_decompressed(bad) as fh, pytest.raises(EOFError):
        while moved := fh.skip(CHUNK // 4):
            seen += moved
    assert 0 < seen < len(data)


def test_a_corrupt_stream_raises_a_decompression_error(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(_payload(2 * CHUNK)))
    packed[2000:2064] = b"\xff" * 64
    bad = tmp_path / "bad.gz"
    bad.write_bytes(bytes(packed))
    with open_decompressed(bad) as fh, pytest.raises(READ_ERRORS):
        while fh.skip(CHUNK):
            pass


def test_closing_early_stops_the_helper_thread(gz_file: tuple[Path, bytes]) -> None:
    path, data = gz_file
    fh = open_decompressed(path)
    assert fh.read(10) == data[:10]
    fh.close()
    fh.close()  # idempotent
    assert not [t for t in threading.enumerate() if t.name == "toolsfix-gunzip"]
    with pytest.raises(ValueError):
        fh.read(1)


def test_forward_reader_skips_through_the_stream_and_counts_the_budget(
    gz_file: tuple[Path, bytes],
) -> None:
    path, data = gz_file
    with open_decompressed(path) as fh:
        reader = ForwardReader(fh, "t.gz")
        assert reader.seek(CHUNK + 3) == CHUNK + 3
        assert reader.read(4) == data[CHUNK + 3 : CHUNK + 7]
    with open_decompressed(path) as fh:
        small = ForwardReader(fh, "t.gz", limit=CHUNK)
        with pytest.raises(InputError, match="decompressed archive"):
            small.seek(2 * CHUNK)


def test_forward_reader_skips_plain_streams_into_one_buffer() -> None:
    data = bytes(range(256)) * 10000
    reader = ForwardReader(io.BytesIO(data), "plain")
    assert reader.seek(CHUNK + 10) == CHUNK + 10
    assert reader.read(3) == data[CHUNK + 10 : CHUNK + 13]
    assert reader.seek(10**9) == len(data)


# --- the lexer ------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "'",
        '"',
        "#",
        "$",
        "\\",
        "a",
        " ",
        "{",
        "}",
        "*",
        "\n",
        "\r",
        "\r\n",
        "sub x",
        DAMAGED_COMMENT,
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_lex_is_code_of_each_line(text: str) -> None:
    expected = [Line(i + 1, t, code_of(t)) for i, t in enumerate(split_lines(text))]
    got = lex(text)
    assert got == expected
    assert all(type(line) is Line and line.stripped == line.code.strip() for line in got)


def reference_code_view(text: str, known: Optional[dict[str, str]] = None) -> str:
    """The view line by line, as first written: every line lexed, its CR made a space."""
    out = []
    for raw in text.split("\n"):
        body = raw[:-1] if raw.endswith("\r") else raw
        code = code_of(body)
        out.append(code + " " * (len(raw) - len(code)))
    return "\n".join(out)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_code_view_matches_the_line_by_line_definition(text: str) -> None:
    view = _code_view(text)
    assert view == reference_code_view(text)
    assert len(view) == len(text)
    known = {ln.text: ln.code for ln in lex(text)}
    assert _code_view(text, known) == view
