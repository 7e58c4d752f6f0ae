"""Property tests: no byte-level damage to an object makes fingerprinting raise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samplelib import driver

from toolsfix.fingerprint import fingerprint_bytes, lief_available

SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"


def _base(os_dir: str) -> bytes:
    return driver("vmxnet3s", os_dir, "9.9.2", "2496486")


def _check(data: bytes, engine: str) -> None:
    fp = fingerprint_bytes(data, engine=engine)
    assert fp.sha256 == hashlib.sha256(data).hexdigest()
    if fp.is_elf:
        assert fp.error is None
        for s in fp.sections:
            assert s.size >= 0
    else:
        assert fp.error
        assert fp.symbols == () and fp.code_hash is None


ENGINES = ["builtin", *(["lief"] if lief_available() else [])]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("os_dir", ["10", "11_64"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=12),
       cut=st.one_of(st.none(), st.integers(0, 1 << 20)))  # fmt: skip
def test_mutated_objects_never_raise(
    engine: str, os_dir: str, edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(_base(os_dir))
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    _check(bytes(data), engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("os_dir", ["10", "11_64"])
@settings(max_examples=100, deadline=None)
@given(field=st.integers(0, 63), value=st.integers(0, 0xFFFFFFFF))
def test_damaged_header_words_never_raise(engine: str, os_dir: str, field: int, value: int) -> None:
    """Header fields (e_shoff, e_shnum, e_shstrndx, ...) are the dangerous ones: hit them."""
    data = bytearray(_base(os_dir))
    offset = 16 + (field % 12) * 4
    data[offset : offset + 4] = value.to_bytes(4, "little")
    _check(bytes(data), engine)
