"""Feature extraction from (synthetic) Solaris kernel-module objects, with both ELF readers."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest
from samplelib import driver, elfgen

from toolsfix.errors import InputError
from toolsfix.fingerprint import (
    SHT_SUNW_SIGNATURE,
    DriverFingerprint,
    SectionInfo,
    fingerprint_bytes,
    fingerprint_file,
    lief_available,
)
from toolsfix.knowledge import lso_era

SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"
ENGINES = [
    "builtin",
    pytest.param(
        "lief", marks=pytest.mark.skipif(not lief_available(), reason="LIEF not installed")
    ),
]


@lru_cache(maxsize=1)
def _section(fp: DriverFingerprint, name: str) -> SectionInfo:
    return next(s for s in fp.sections if s.name == name)


@pytest.mark.parametrize("engine", ENGINES)
def test_solaris10_i386_build_has_the_documented_shape(engine: str) -> None:
    data = driver("vmxnet3s", "10", "9.2.2", "893683")
    fp = fingerprint_bytes(data, name="10/vmxnet3s", engine=engine)
    assert fp.is_elf and fp.error is None and fp.engine == engine
    assert fp.sha256 == hashlib.sha256(data).hexdigest() and fp.size == len(data)
    assert (fp.elf_class, fp.machine, fp.elf_type, fp.osabi, fp.arch) == (
        32, "i386", "REL", 0, "i386"
    )  # fmt: skip
    names = [s.name for s in fp.sections]
    for expected in (".text", ".rel.text", ".rodata", ".data", ".bss", ".symtab", ".comment"):
        assert expected in names
    assert fp.identity == "VMware EtherAdapter v3 b893683"
    assert fp.build_number == "893683"
    assert fp.lso_era == "old-path"
    assert fp.dependencies == ("misc/mac",) and fp.dependency_source == "dynamic"
    assert {"_init", "_info", "_fini", "vmxnet3s_ndd_accept_jumbo"} <= set(fp.symbols)
    assert "vmxnet3s_m_setprop" not in fp.symbols
    assert "mod_install" in fp.undefined_symbols and "mod_install" not in fp.symbols
    assert any(c.startswith("@(#)SunOS 5.10") for c in fp.comments)
    assert fp.symbols == tuple(sorted(set(fp.symbols)))
    assert None not in (fp.text_sha256, fp.rodata_sha256, fp.data_sha256, fp.code_hash)


@pytest.mark.parametrize("engine", ENGINES)
def test_solaris11_amd64_build_signature_section_and_new_identity(engine: str) -> None:
    fp = fingerprint_bytes(driver("vmxnet3s", "11_64", "10.3.10", "12406962"), engine=engine)
    assert (fp.elf_class, fp.machine, fp.osabi, fp.arch) == (64, "x86_64", 6, "amd64")
    assert ".rela.text" in [s.name for s in fp.sections]
    sig = _section(fp, ".SUNW_signature")
    assert sig.type == SHT_SUNW_SIGNATURE and sig.type_name == "SUNW_signature"
    assert sig.flags & 0x80000000  # SHF_EXCLUDE
    assert fp.identity == "VMware EtherAdapter v3 1.1.0.0"
    assert fp.build_number is None
    # 1.1.0.0 alone cannot tell (10.1.x Solaris 10 builds went back to the old path)
    assert fp.lso_era == "unknown"
    assert "vmxnet3s_m_setprop" in fp.symbols and "vmxnet3s_ndd_accept_jumbo" not in fp.symbols
    assert "mac_lso_get" in fp.undefined_symbols
    assert any(c.startswith("@(#)SunOS 5.11") for c in fp.comments)


@pytest.mark.parametrize("engine", ENGINES)
def test_depends_on_symbol_is_decoded_when_there_is_no_dynamic_section(engine: str) -> None:
    fp = fingerprint_bytes(driver("vmxnet3s", "10_64", "8.6.0", "425873"), engine=engine)
    assert ".dynamic" not in [s.name for s in fp.sections]
    assert fp.dependencies == ("misc/mac",) and fp.dependency_source == "_depends_on"


def test_module_without_dependencies_or_identity() -> None:
    fp = fingerprint_bytes(driver("vmhgfs", "11", "9.9.2", "2496486"))
    assert fp.is_elf and fp.identity is None and fp.lso_era == "unknown"
    assert fp.dependencies == () and fp.dependency_source is None


@pytest.mark.parametrize(
    "args",
    [
        ("vmxnet3s", "10", "8.6.0", "425873"),
        ("vmxnet3s", "11_64", "10.3.10", "12406962"),
        ("vmxnet3s", "2009.06_64", "9.9.2", "2496486"),
        ("vmhgfs", "10", "9.2.2", "893683"),
    ],
)
def test_lief_and_builtin_readers_agree(args: tuple[str, str, str, str]) -> None:
    if not lief_available():
        pytest.skip("LIEF not installed")
    data = driver(*args)
    a = fingerprint_bytes(data, engine="lief")
    b = fingerprint_bytes(data, engine="builtin")
    assert (a.engine, b.engine) == ("lief", "builtin")
    assert replace(a, engine=None) == replace(b, engine=None)
    assert a.to_dict()["sections"] == b.to_dict()["sections"]


def test_resigned_copy_keeps_the_code_hash_and_tampered_copy_does_not() -> None:
    base = fingerprint_bytes(driver("vmxnet3s", "11", "9.9.2", "2496486"))
    resigned = fingerprint_bytes(driver("vmxnet3s", "11", "9.9.2", "2496486", "resigned"))
    tampered = fingerprint_bytes(driver("vmxnet3s", "11", "9.9.2", "2496486", "tampered"))
    assert len({base.sha256, resigned.sha256, tampered.sha256}) == 3
    assert resigned.code_hash == base.code_hash
    assert resigned.comments != base.comments
    assert tampered.code_hash != base.code_hash
    assert tampered.text_sha256 != base.text_sha256
    assert (tampered.rodata_sha256, tampered.data_sha256) == (base.rodata_sha256, base.data_sha256)


def test_builds_differ_in_code_hash_per_build_and_per_flavour() -> None:
    hashes = {
        fingerprint_bytes(driver("vmxnet3s", d, v, b)).code_hash
        for d in ("10", "2009.06", "11")
        for v, b in (("9.2.2", "893683"), ("9.2.2", "893684"))
    }
    assert len(hashes) == 6


def test_code_hash_sees_relocations_not_just_section_bytes() -> None:
    """Two calls to different functions have identical bytes in ET_REL: only relocs differ."""
    data = bytearray(driver("vmxnet3s", "10_64", "9.9.2", "2496486"))
    fp = fingerprint_bytes(bytes(data), engine="builtin")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shnum = struct.unpack_from("<H", data, 0x3C)[0]
    for i in range(shnum):
        (sh_type,) = struct.unpack_from("<I", data, shoff + i * 64 + 4)
        if sh_type == 4:  # SHT_RELA: bump the addend of the first record
            (offset,) = struct.unpack_from("<Q", data, shoff + i * 64 + 24)
            (addend,) = struct.unpack_from("<q", data, offset + 16)
            struct.pack_into("<q", data, offset + 16, addend + 8)
            break
    changed = fingerprint_bytes(bytes(data), engine="builtin")
    assert changed.text_sha256 == fp.text_sha256  # section bytes are the same ...
    assert changed.code_hash != fp.code_hash  # ... but the code is not


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "make",
    [
        lambda d: b"",
        lambda d: b"garbage, not an object",
        lambda d: b"\x7fELF",
        lambda d: d[:40],
        lambda d: d[:100],
        lambda d: d[: len(d) // 2],
        lambda d: d[:-1],
        lambda d: b"\x7fELF\x03" + d[5:],  # bad EI_CLASS
        lambda d: b"MZ" + d[2:],
    ],
    ids=[
        "empty",
        "text",
        "magic-only",
        "short-header",
        "100-bytes",
        "half",
        "minus-1",
        "bad-class",
        "bad-magic",
    ],
)
def test_garbage_and_truncated_input_never_raises(
    engine: str, make: Callable[[bytes], bytes]
) -> None:
    data = make(driver("vmxnet3s", "11_64", "10.3.10", "12406962"))
    fp = fingerprint_bytes(data, name="x", engine=engine)
    assert fp.is_elf is False
    assert fp.error and "\n" not in fp.error
    assert fp.sha256 == hashlib.sha256(data).hexdigest() and fp.size == len(data)
    assert fp.code_hash is None and fp.symbols == () and fp.identity is None
    json.dumps(fp.to_dict())


@pytest.mark.parametrize("engine", ENGINES)
def test_section_pointing_past_the_end_is_reported_as_damaged(engine: str) -> None:
    data = bytearray(driver("vmxnet3s", "10_64", "9.9.2", "2496486"))
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    # section 1's sh_size (offset 32 in an Elf64_Shdr) now runs far past the end of the file
    struct.pack_into("<Q", data, shoff + 64 + 32, 10 * len(data))
    fp = fingerprint_bytes(bytes(data), engine=engine)
    assert fp.is_elf is False
    assert fp.error is not None and "ends at" in fp.error


def test_lief_note_errors_stay_silent(capfd: pytest.CaptureFixture[str]) -> None:
    """A section whose type says NOTE but holds garbage makes LIEF's default config print
    'Failed to parse note' lines (as real VMware objects do); ours must print nothing."""
    if not lief_available():
        pytest.skip("LIEF not installed")
    data = bytearray(driver("vmxnet3s", "11_64", "9.9.2", "2496486"))
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
    str_off = struct.unpack_from("<Q", data, shoff + shstrndx * 64 + 24)[0]
    for i in range(shnum):
        name_off = struct.unpack_from("<I", data, shoff + i * 64)[0]
        if data[str_off + name_off :].startswith(b".SUNW_ctf\0"):
            struct.pack_into("<I", data, shoff + i * 64 + 4, 7)  # SHT_NOTE
    capfd.readouterr()
    fp = fingerprint_bytes(bytes(data), engine="lief")
    out, err = capfd.readouterr()
    assert fp.is_elf
    assert "note" not in (out + err).lower()


@pytest.mark.parametrize(
    ("identity", "version", "os_dir", "era"),
    [
        ("VMware EtherAdapter v3 b1234567", None, None, "old-path"),
        ("VMware EtherAdapter v3 b1234567", "9.4.0", "11", "old-path"),
        ("VMware EtherAdapter v3 b1234567", "10.3.10", "11", "unknown"),  # inconsistent
        ("VMware EtherAdapter v3 1.1.0.0", None, None, "unknown"),
        ("VMware EtherAdapter v3 1.1.0.0", None, "10_64", "unknown"),  # might be 10.1.x
        ("VMware EtherAdapter v3 1.1.0.0", None, "11_64", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", None, "2009.06", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "9.10.0", "10", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.0.5", "10", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.1.10", "10", "old-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.1.15", "10_64", "old-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.1.10", "11", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.1.10", None, "unknown"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.2.0", "10", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "10.3.10 build-12406962", "10", "new-path"),
        ("VMware EtherAdapter v3 1.1.0.0", "9.4.0", "11", "unknown"),  # inconsistent
        ("VMware EtherAdapter v3 1.1.0.0", None, "3.10.0-123.el7.x86_64", "unknown"),
        ("VMware Ethernet v3 (20160330)", None, "11", "unknown"),  # illumos: not documented
        (None, "10.3.10", "11", "unknown"),
    ],
)
def test_lso_era(identity: str | None, version: str | None, os_dir: str | None, era: str) -> None:
    assert lso_era(identity, version, os_dir) == era


def test_fingerprint_file_reads_once_and_reports_unreadable_paths(tmp_path: Path) -> None:
    path = tmp_path / "vmxnet3s"
    path.write_bytes(driver("vmxnet3s", "10", "9.2.2", "893683"))
    fp = fingerprint_file(path)
    assert fp.is_elf and fp.name == str(path)
    assert fp == fingerprint_bytes(path.read_bytes(), name=str(path))
    with pytest.raises(InputError, match="cannot read"):
        fingerprint_file(tmp_path / "missing")
    with pytest.raises(InputError, match="not a regular file"):
        fingerprint_file(tmp_path)


def test_to_dict_is_json_and_complete() -> None:
    fp = fingerprint_bytes(driver("vmxnet3s", "11", "9.9.2", "2496486"))
    d = json.loads(json.dumps(fp.to_dict()))
    assert d["symbols_digest"] == hashlib.sha256("\n".join(fp.symbols).encode()).hexdigest()
    assert d["section_hashes"]["text"] == fp.text_sha256
    assert {s["name"] for s in d["sections"]} == {s.name for s in fp.sections}


def test_other_elf_objects_are_parsed_not_identified() -> None:
    """A userland .o and a Linux .ko are valid ELF: features, but no vmxnet3s identity."""
    user = fingerprint_bytes(elfgen().build_userland_object("hello"))
    ko = fingerprint_bytes(elfgen().build_linux_ko("e1000x"))
    for fp in (user, ko):
        assert fp.is_elf and fp.machine == "x86_64" and fp.identity is None
    assert ".modinfo" in [s.name for s in ko.sections]
    assert "init_module" in ko.symbols and "main" in user.symbols


def test_bad_engine_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="engine"):
        fingerprint_bytes(b"", engine="objdump")


def test_lief_is_imported_only_for_an_elf_to_parse(tmp_path: Path) -> None:
    """Refused and non-ELF inputs never pay for ``import lief`` (0.3-0.8 s)."""
    import subprocess
    import sys

    from toolsfix.elf.lief_reader import lief_installed

    if not lief_installed():
        pytest.skip("LIEF is not installed")
    text = tmp_path / "notes.txt"
    text.write_text("not an object\n")
    elf = tmp_path / "vmxnet3s"
    elf.write_bytes(driver("vmxnet3s", "11_64"))
    code = (
        "import sys\n"
        "from toolsfix.fingerprint import fingerprint_file\n"
        "from toolsfix.errors import InputError\n"
        f"assert not fingerprint_file({str(text)!r}).is_elf\n"
        "try:\n"
        f"    fingerprint_file({str(tmp_path)!r})\n"
        "except InputError:\n"
        "    pass\n"
        "print('lief' in sys.modules)\n"
        f"assert fingerprint_file({str(elf)!r}).engine == 'lief'\n"
        "print('lief' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
