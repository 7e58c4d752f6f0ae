"""The fingerprint database: learning from distrib members, saving, loading, validation."""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from samplelib import driver, elfgen

from toolsfix import fpdb
from toolsfix.distrib import learn_want, open_source
from toolsfix.errors import InputError
from toolsfix.fpdb import (
    FILE_SCHEMA,
    FingerprintDB,
    Record,
    learn,
    load_db,
    record_from_dict,
    save_records,
    shipped_db_dir,
    user_db_dir,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "vendor-samples"
SCHEMA = REPO / "toolsfix" / "schemas" / "fingerprint-record.schema.json"


def linux_ko(name: str) -> bytes:
    data = elfgen().build_linux_ko(name)
    assert isinstance(data, bytes)
    return data


def _members() -> list[tuple[str, bytes]]:
    out = [
        (f"lib/modules/binary/{d}/{m}", driver(m, d))
        for d in ("10", "10_64", "11", "11_64")
        for m in ("vmxnet3s", "vmhgfs")
    ]
    out += [
        ("lib/modules/binary/10/vmxnet3s.conf", b"EnableLSO=1;\n"),
        ("bin/vmware-config-tools.pl", b"#!/usr/bin/perl\n"),
        ("lib/modules/binary/10/README", b"text"),
        ("lib/modules/binary/2.6.32-5-amd64/objects/vmxnet3.o", linux_ko("vmxnet3")),
    ]
    return out


@pytest.fixture(scope="module")
def learned() -> list[Record]:
    return learn(_members(), tools_version="9.2.2", build="893683", source="unit-test")


def test_learn_recognises_both_layouts_and_skips_the_rest(learned: list[Record]) -> None:
    got = {(r.layout, r.os_dir, r.module) for r in learned}
    assert got == {
        *{
            ("solaris", d, m)
            for d in ("10", "10_64", "11", "11_64")
            for m in ("vmxnet3s", "vmhgfs")
        },
        ("linux", "2.6.32-5-amd64", "vmxnet3"),
    }
    by_path = {r.path: r for r in learned}
    r = by_path["lib/modules/binary/11_64/vmxnet3s"]
    assert (r.tools_version, r.build, r.arch, r.source) == ("9.2.2", "893683", "amd64", "unit-test")
    assert r.fingerprint.identity == "VMware EtherAdapter v3 b893683"
    assert by_path["lib/modules/binary/10/vmxnet3s"].arch == "i386"


def test_learn_marks_synthetic_objects_from_their_comment(learned: list[Record]) -> None:
    solaris = [r for r in learned if r.layout == "solaris"]
    assert solaris and all(r.synthetic for r in solaris)
    # the Linux look-alike keeps gcc's own .comment: only the explicit flag marks it
    linux = next(r for r in learned if r.layout == "linux")
    assert linux.synthetic is False
    again = learn([("lib/modules/binary/k/objects/x.o", linux_ko("x"))],
                  tools_version=None, build=None, source="s", synthetic=True)  # fmt: skip
    assert again[0].synthetic is True


def test_learn_reports_non_elf_modules_and_arch_mismatches() -> None:
    problems: list[str] = []
    records = learn(
        [
            ("lib/modules/binary/11/vmxnet3s", b"not an elf"),
            ("lib/modules/binary/11_64/vmxnet3s", driver("vmxnet3s", "11")),  # 32-bit in _64
            ("./vmware-tools-distrib/lib/modules/binary/10/vmblock", driver("vmblock", "10")),
        ],
        tools_version="9.2.2",
        build="893683",
        source="t",
        problems=problems,
    )
    assert [r.path for r in records] == [
        "lib/modules/binary/11_64/vmxnet3s",
        "lib/modules/binary/10/vmblock",
    ]
    assert records[0].arch == "i386"  # the record states what the file is, not the directory
    assert len(problems) == 2
    assert problems[0].startswith("lib/modules/binary/11/vmxnet3s: skipped: not an ELF")
    assert "i386 object in a directory for amd64" in problems[1]


def test_learn_and_the_inventory_share_one_path_rule() -> None:
    """``learn`` files exactly what :func:`toolsfix.knowledge.classify_build` calls a build:
    a kernel directory's ``properties`` text is not a module, a ``.ko`` is one, and a Solaris
    module not in the usual six is still a build."""
    from toolsfix.knowledge import classify_build

    ko = linux_ko("vmxnet")
    members = [
        ("lib/modules/binary/3.10.0-123.el7.x86_64/objects/vmxnet.o", ko),
        ("lib/modules/binary/3.10.0-123.el7.x86_64/objects/vmci.ko", linux_ko("vmci")),
        ("lib/modules/binary/3.10.0-123.el7.x86_64/properties", b"kernel 3.10.0\n"),
        ("lib/modules/binary/11/vmxnet3s.conf", b"EnableLSO=1;\n"),
        ("lib/modules/binary/11_64/vmfoo", driver("vmxnet3s", "11_64")),
        ("lib/modules/source/vmxnet.tar", b"tar"),
    ]
    problems: list[str] = []
    records = learn(members, tools_version="9.2.2", build="1", source="t", problems=problems)
    got = {(r.layout, r.os_dir, r.module) for r in records}
    want = set()
    for path, _ in members:
        build = classify_build(path)
        if build is not None:
            want.add((build.layout, build.os_dir, build.module))
    assert (
        got
        == want
        == {
            ("linux", "3.10.0-123.el7.x86_64", "vmxnet"),
            ("linux", "3.10.0-123.el7.x86_64", "vmci"),
            ("solaris", "11_64", "vmfoo"),
        }
    )
    assert problems == []


def test_save_load_round_trip_is_deterministic(tmp_path: Path, learned: list[Record]) -> None:
    written = save_records(tmp_path, learned)
    assert [p.name for p in written] == ["tools-9.2.2-893683.json"]
    text = written[0].read_text()
    doc = json.loads(text)
    assert doc["schema"] == FILE_SCHEMA
    # one record per line with sorted keys: a re-learn diffs record by record
    lines = text.splitlines()
    assert len(lines) == len(doc["records"]) + 2
    for line, record in zip(lines[1:-1], doc["records"]):
        assert line.rstrip(",") == json.dumps(record, sort_keys=True, separators=(",", ":"))
    keys = [(r["layout"], r["os_dir"], r["module"]) for r in doc["records"]]
    assert keys == sorted(keys)
    db = load_db([tmp_path])
    assert len(db) == len(learned)
    assert sorted(json.dumps(r.to_dict(), sort_keys=True) for r in db) == sorted(
        json.dumps(r.to_dict(), sort_keys=True) for r in learned
    )
    # saving the same records again (in another order) changes nothing
    save_records(tmp_path, list(reversed(learned)))
    assert written[0].read_text() == text


def test_save_merges_without_duplicates(tmp_path: Path, learned: list[Record]) -> None:
    save_records(tmp_path, learned[:3])
    save_records(tmp_path, learned[1:])
    assert len(load_db([tmp_path])) == len(learned)
    newer = driver("vmxnet3s", "10", "9.9.2", "2496486")
    other = learn([("lib/modules/binary/10/vmxnet3s", newer)],
                  tools_version="9.9.2", build="2496486", source="t")  # fmt: skip
    written = save_records(tmp_path, other)
    assert written == [tmp_path / "tools-9.9.2-2496486.json"]
    assert len(load_db([tmp_path])) == len(learned) + 1
    unknown = learn([("lib/modules/binary/10/vmxnet3s", driver("vmxnet3s", "10"))],
                    tools_version=None, build=None, source="t")  # fmt: skip
    assert save_records(tmp_path, unknown)[0].name == "tools-unknown-unknown.json"


def test_load_db_skips_missing_dirs_and_deduplicates(tmp_path: Path, learned: list[Record]) -> None:
    a, b = tmp_path / "shipped", tmp_path / "user"
    save_records(a, learned)
    save_records(b, learned[:2])
    db = load_db([a, tmp_path / "missing", b])
    assert len(db) == len(learned)
    assert db.dirs == (a, b)
    target = learned[0]
    assert [r.key for r in db.by_sha256(target.sha256)] == [target.key]
    assert target.key in [r.key for r in db.by_code_hash(target.code_hash or "")]
    assert db.by_sha256("0" * 64) == ()
    assert len(FingerprintDB([])) == 0


def _valid_record_dict(learned: list[Record]) -> dict[str, Any]:
    return copy.deepcopy(learned[0].to_dict())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema="toolsfix-fingerprint/9"), "schema: unsupported"),
        (lambda d: d.pop("sha256"), "sha256: missing"),
        (lambda d: d.update(sha256="ABC"), "sha256: expected 64 lower-case hex"),
        (lambda d: d.update(size=True), "size: expected integer, got a boolean"),
        (lambda d: d.update(size="12"), "size: expected integer, got str"),
        (lambda d: d.update(layout="aix"), "layout: expected 'solaris' or 'linux'"),
        (lambda d: d.update(arch="sparc"), "arch: expected"),
        (lambda d: d.update(elf_class=16), "elf_class: expected 32 or 64"),
        (lambda d: d.update(symbols=["b", "a"]), "symbols: must be sorted and unique"),
        (lambda d: d.update(symbols_digest="0" * 64), "symbols_digest: does not match"),
        (lambda d: d["sections"][0].pop("flags"), "sections[0].flags: missing"),
        (lambda d: d["section_hashes"].update(bss="0" * 64), "section_hashes: unknown key"),
        (lambda d: d.update(dependencies=[1]), "dependencies[0]: expected string"),
        (lambda d: d.update(synthetic="yes"), "synthetic: expected boolean"),
    ],
)
def test_invalid_records_fail_with_file_record_and_field(
    tmp_path: Path, learned: list[Record], mutate: Any, message: str
) -> None:
    bad = _valid_record_dict(learned)
    mutate(bad)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        record_from_dict(bad)
    path = tmp_path / "tools-x.json"
    good = _valid_record_dict(learned)
    path.write_text(json.dumps({"schema": FILE_SCHEMA, "records": [good, bad]}))
    with pytest.raises(InputError) as info:
        load_db([tmp_path])
    assert str(info.value).startswith(f"{path}: records[1].")
    assert message.split(":")[0] in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "toolsfix-patch/1"}', "not a fingerprint file"),
        ("[1, 2]", "not a fingerprint file"),
        ('{"schema": "toolsfix-fingerprints/1", "records": {}}', "'records' must be an array"),
    ],
)
def test_malformed_files_raise_input_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(InputError, match=message):
        load_db([tmp_path])


def test_schema_document_describes_what_the_writer_emits(learned: list[Record]) -> None:
    schema = json.loads(SCHEMA.read_text())
    record_schema = schema["$defs"]["record"]
    emitted = set(learned[0].to_dict())
    assert emitted <= set(record_schema["properties"])
    assert set(record_schema["required"]) <= emitted
    assert schema["properties"]["schema"]["const"] == FILE_SCHEMA
    assert record_schema["properties"]["schema"]["const"] == fpdb.RECORD_SCHEMA
    # every required field is really required by the loader
    for field in record_schema["required"]:
        d = _valid_record_dict(learned)
        d.pop(field)
        with pytest.raises(ValueError, match=f"{field}: missing"):
            record_from_dict(d)


def test_user_db_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TOOLSFIX_USER_DB", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert user_db_dir() == tmp_path / ".local" / "share" / "toolsfix" / "fingerprints"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert user_db_dir() == tmp_path / ".local" / "share" / "toolsfix" / "fingerprints"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_db_dir() == tmp_path / "xdg" / "toolsfix" / "fingerprints"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert user_db_dir() == (
        tmp_path / "Library" / "Application Support" / "toolsfix" / "fingerprints"
    )
    monkeypatch.setenv("TOOLSFIX_USER_DB", str(tmp_path / "mine"))
    assert user_db_dir() == tmp_path / "mine"


def test_shipped_db_dir_in_a_checkout_is_the_repo_fingerprints_dir() -> None:
    assert shipped_db_dir() == REPO / "fingerprints"
    assert (shipped_db_dir() / "README.md").is_file()


def test_shipped_database_loads() -> None:
    """Whatever records are shipped must pass validation (an empty DB is fine)."""
    db = load_db([shipped_db_dir()])
    for record in db:
        assert record.fingerprint.sha256 and record.layout in ("solaris", "linux")


def test_record_lso_era_uses_version_and_directory() -> None:
    members = [
        ("lib/modules/binary/10/vmxnet3s", driver("vmxnet3s", "10", "10.1.10", "6082533")),
        ("lib/modules/binary/11/vmxnet3s", driver("vmxnet3s", "11", "10.1.10", "6082533")),
    ]
    r10, r11 = learn(members, tools_version="10.1.10", build="6082533", source="t")
    assert r10.fingerprint.lso_era == r11.fingerprint.lso_era == "unknown"  # string alone
    assert (r10.lso_era, r11.lso_era) == ("old-path", "new-path")


# --------------------------------------------------------------------------------------------
# The SQLite index beside a large file


@pytest.fixture
def small_index_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index every file, so the unit-test records exercise the indexed path."""
    from toolsfix import fpdb_store

    monkeypatch.setattr(fpdb_store, "INDEX_MIN_BYTES", 1)
    monkeypatch.setattr(fpdb, "INDEX_MIN_BYTES", 1)


@pytest.mark.usefixtures("small_index_threshold")
def test_a_large_file_is_served_from_its_index(tmp_path: Path, learned: list[Record]) -> None:
    (path,) = save_records(tmp_path, learned)
    assert fpdb.index_path(path).is_file()
    db = load_db([tmp_path])
    assert db.indexed == (path,)
    parsed = FingerprintDB(fpdb.load_file(path))
    for record in learned:
        assert db.by_sha256(record.sha256) == parsed.by_sha256(record.sha256) != ()
        if record.code_hash:
            assert db.by_code_hash(record.code_hash) == parsed.by_code_hash(record.code_hash)
    assert db.by_sha256("0" * 64) == ()
    assert bool(db) and len(db) == len(learned)
    assert sorted(r.key for r in db) == sorted(r.key for r in learned)


@pytest.mark.usefixtures("small_index_threshold")
def test_an_edited_json_makes_its_index_stale(tmp_path: Path, learned: list[Record]) -> None:
    """Same size and mtime but other bytes: the sha256 in the index catches it."""
    import os

    (path,) = save_records(tmp_path, learned)
    before = os.stat(path)
    text = path.read_text()
    old = learned[0].source
    edited = text.replace(f'"source":"{old}"', f'"source":"{"x" * len(old)}"')
    assert edited != text and len(edited) == len(text)
    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_db([tmp_path]).indexed == ()  # parsed; a read-only load writes nothing
    assert load_db([tmp_path]).indexed == ()
    db = load_db([tmp_path], write_index=True)
    assert db.indexed == ()  # parsed, and the index rebuilt for the next run
    assert {r.source for r in db} == {"x" * len(old)}
    again = load_db([tmp_path])
    assert again.indexed == (path,) and {r.source for r in again} == {"x" * len(old)}


@pytest.mark.usefixtures("small_index_threshold")
@pytest.mark.parametrize("damage", ["garbage", "directory", "empty-db"])
def test_a_damaged_index_is_ignored(tmp_path: Path, learned: list[Record], damage: str) -> None:
    import sqlite3

    (path,) = save_records(tmp_path, learned)
    idx = fpdb.index_path(path)
    idx.unlink()
    if damage == "garbage":
        idx.write_bytes(b"SQLite format 3\0" + b"\xff" * 4000)
        idx.chmod(0o444)  # not rebuilt: the answer must still come from the JSON
    elif damage == "directory":
        idx.mkdir()
    else:
        sqlite3.connect(idx).close()
    db = load_db([tmp_path])
    assert db.indexed == ()
    assert len(db) == len(learned) and db.by_sha256(learned[0].sha256)


def test_small_files_get_no_index(tmp_path: Path, learned: list[Record]) -> None:
    (path,) = save_records(tmp_path, learned)
    assert path.stat().st_size < fpdb.INDEX_MIN_BYTES
    assert not fpdb.index_path(path).exists()
    assert load_db([tmp_path]).indexed == ()


def test_learning_reads_kept_members_without_hashing_them() -> None:
    """``fingerprints learn`` keeps every driver object, whose fingerprint carries its own
    sha256: the reader must not hash them while streaming (it did: 80 MiB twice per learn),
    yet an entry still answers its sha256 when asked."""
    tarball = REPO / "vendor-samples" / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
    kept = [e for e in open_source(tarball).entries(learn_want) if e.data is not None]
    assert len(kept) > 30
    assert all(e.digest is None for e in kept)
    assert all(e.sha256 == hashlib.sha256(e.data or b"").hexdigest() for e in kept)
