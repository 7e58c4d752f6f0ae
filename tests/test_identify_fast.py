"""Identification at hash speed: a file the database knows is answered from record heads.

The fast path (hash, one batched lookup, :func:`identify_known`) must say exactly what the
full path (parse the file, :func:`identify`) says, in text and JSON, for every kind of file
a run may mix: exact hits, ambiguous ones, hits in the wrong architecture's directory,
resemblances, unknown objects and files that are not ELF at all. The heads an index serves are
as untrusted as the JSON beside it, so damaged rows must give one clear line. All objects
here are synthetic (built by ``vendor-samples/elfgen.py``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from samplelib import driver, elfgen
from unprivileged import public_tmpdir, run_unprivileged

from toolsfix import fpdb, fpdb_store
from toolsfix.errors import InputError
from toolsfix.fingerprint import fingerprint_file
from toolsfix.fpdb import FingerprintDB, Record, learn, load_db, save_records
from toolsfix.fpdb_record import HEAD_COLUMNS, RecordHead, head_from_row, head_row
from toolsfix.identify import identify
from toolsfix.identify_files import (
    FileIdentification,
    Identifications,
    _sha256_of,
    identify_files,
    location_arch,
)
from toolsfix.report.identify import render_identifications

RELEASE = ("9.2.2", "893683")
DIRS = ("10", "10_64", "11", "11_64")


def _learned() -> list[Record]:
    members = [(f"lib/modules/binary/{d}/{m}", driver(m, d, *RELEASE))
               for d in DIRS for m in ("vmxnet3s", "vmhgfs")]  # fmt: skip
    records = learn(members, tools_version=RELEASE[0], build=RELEASE[1], source="test")
    # the same bytes shipped again by another release: an exact but ambiguous answer
    again = [("lib/modules/binary/11/vmxnet3s", driver("vmxnet3s", "11", *RELEASE))]
    return records + learn(again, tools_version="9.2.3", build="900000", source="copy")


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return _learned()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every kind of file one run may mix, laid out so locations imply architectures."""
    root = tmp_path_factory.mktemp("objects")

    def put(rel: str, data: bytes) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return [
        put("binary/11_64/vmxnet3s", driver("vmxnet3s", "11_64", *RELEASE)),  # exact
        put("binary/11/vmxnet3s", driver("vmxnet3s", "11", *RELEASE)),  # exact, ambiguous
        put("drv/amd64/vmhgfs", driver("vmhgfs", "10", *RELEASE)),  # i386 where amd64 goes
        put("drv/amd64/vmxnet3s", driver("vmxnet3s", "10_64", *RELEASE)),  # exact, amd64
        put(
            "binary/10/vmxnet3s.resigned", driver("vmxnet3s", "10", *RELEASE, variant="resigned")
        ),  # code-identical
        put("binary/10/vmxnet3s.old", driver("vmxnet3s", "10", "8.6.0", "425873")),  # nearest
        put("misc/vmw_balloon.ko", elfgen().build_linux_ko("vmw_balloon")),  # unknown ELF
        put("misc/notes.txt", b"not an object\n"),  # not ELF
        put("binary/11_64/vmxnet3s", driver("vmxnet3s", "11_64", *RELEASE)),  # named twice
    ]


@pytest.fixture
def small_index_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index every file, so these few records are served by the indexed store."""
    monkeypatch.setattr(fpdb_store, "INDEX_MIN_BYTES", 1)
    monkeypatch.setattr(fpdb, "INDEX_MIN_BYTES", 1)


@pytest.fixture
def indexed(tmp_path: Path, records: list[Record], small_index_threshold: None) -> Path:
    save_records(tmp_path, records)
    assert load_db([tmp_path]).indexed
    return tmp_path


def _full_path(paths: Sequence[Path], db: FingerprintDB) -> Identifications:
    """Today's semantics, spelled out: parse every file and climb the whole ladder."""
    return Identifications(
        tuple(
            FileIdentification(
                str(p), identify(fingerprint_file(p), db, location_arch=location_arch(p))
            )
            for p in paths
        )
    )


def _assert_same(got: Identifications, want: Identifications) -> None:
    assert got == want
    for fmt in ("text", "json"):
        assert render_identifications(got, fmt) == render_identifications(want, fmt)


def test_fast_path_equals_full_path_in_memory(records: list[Record], files: list[Path]) -> None:
    db = FingerprintDB(records)
    got = identify_files(files, db, jobs=1)
    _assert_same(got, _full_path(files, db))
    rungs = [r.rung for r in got.results]
    assert rungs == ["exact", "exact", "exact", "exact", "code-identical", "nearest", "unknown",
                     "unknown", "exact"]  # fmt: skip
    assert got.results[1].identification.ambiguous
    assert got.results[2].identification.arch_mismatch
    assert "its location is amd64" in got.results[2].identification.reason
    assert not got.results[3].identification.arch_mismatch


def test_fast_path_equals_full_path_through_the_index(
    indexed: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = load_db([indexed])
    assert len(db.indexed) == 2  # one file per release, both served from their index
    got = identify_files(files, db, jobs=1)
    _assert_same(got, _full_path(files, db))
    monkeypatch.setattr(fpdb_store, "INDEX_MIN_BYTES", 1 << 40)
    parsed = load_db([indexed])
    assert parsed.indexed == ()
    _assert_same(got, _full_path(files, parsed))


def test_an_exact_hit_builds_no_record_and_parses_no_file(
    indexed: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes the fast path fast, asserted rather than timed."""
    from toolsfix import fingerprint_pool

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the fast path must not get here")

    db = load_db([indexed])
    monkeypatch.setattr(fpdb_store, "record_from_dict", refuse)
    monkeypatch.setattr(fingerprint_pool, "fingerprint_files", refuse)
    known = [files[0], files[1], files[2], files[3]]
    result = identify_files(known, db, jobs=1)
    assert [r.rung for r in result.results] == ["exact"] * 4
    with pytest.raises(AssertionError, match="must not get here"):
        identify_files([files[7]], db, jobs=1)  # an unknown file is parsed


def test_heads_by_sha256_agrees_with_by_sha256(records: list[Record], indexed: Path) -> None:
    shas = {r.sha256 for r in records} | {"0" * 64}
    for db in (FingerprintDB(records), load_db([indexed])):
        heads = db.heads_by_sha256(shas)
        assert set(heads) == shas - {"0" * 64}
        for sha, found in heads.items():
            assert [h.key for h in found] == [r.key for r in db.by_sha256(sha)]
            assert [RecordHead(*_fields(h)) for h in found] == [r.head for r in db.by_sha256(sha)]


def _fields(head: Any) -> tuple[Any, ...]:
    return tuple(getattr(head, name) for name in HEAD_COLUMNS)


def test_heads_keep_the_first_store_on_duplicates(records: list[Record], indexed: Path) -> None:
    """Two stores holding the same fact: the first one's record answers, as by_sha256 does."""
    first = [r for r in records if r.source == "test"][:1]
    renamed = replace(first[0], path="elsewhere/vmxnet3s")
    db = FingerprintDB([renamed], stores=load_db([indexed])._stores)
    (head,) = db.heads_by_sha256([first[0].sha256])[first[0].sha256]
    assert head.path == "elsewhere/vmxnet3s" == db.by_sha256(first[0].sha256)[0].path


def test_many_hashes_are_looked_up_in_batches(indexed: Path, records: list[Record]) -> None:
    """More hashes than one query may bind: every batch is asked, nothing is lost."""
    db = load_db([indexed])
    wanted = [f"{i:064x}" for i in range(2500)] + [r.sha256 for r in records]
    assert set(db.heads_by_sha256(wanted)) == {r.sha256 for r in records}


# --------------------------------------------------------------------------------------------
# Hashing


def test_sha256_of_reads_regular_files_within_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolsfix import identify_files as service

    small = tmp_path / "small"
    small.write_bytes(b"x" * 100_000)
    assert _sha256_of(small) == hashlib.sha256(b"x" * 100_000).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert _sha256_of(empty) == hashlib.sha256(b"").hexdigest()
    assert _sha256_of(tmp_path) is None  # a directory
    assert _sha256_of(tmp_path / "missing") is None
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert _sha256_of(fifo) is None  # refused, never waited on
    monkeypatch.setattr(service, "MAX_DRIVER_BYTES", 99_999)
    assert _sha256_of(small) is None  # over the cap: the full path words the refusal


# --------------------------------------------------------------------------------------------
# Heads as rows: validation


@pytest.fixture(scope="module")
def row(records: list[Record]) -> tuple[Any, ...]:
    return head_row(records[0])


def test_a_sound_row_is_the_records_head(records: list[Record], row: tuple[Any, ...]) -> None:
    assert head_from_row(row) == records[0].head
    assert head_from_row(row).key == records[0].key


def _with(row: tuple[Any, ...], column: str, value: Any) -> tuple[Any, ...]:
    out = list(row)
    out[HEAD_COLUMNS.index(column)] = value
    return tuple(out)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("sha256", "A" * 64, "sha256: expected 64 lower-case hex digits"),
        ("sha256", "0" * 63, "sha256: expected 64 lower-case hex digits"),
        ("sha256", None, "sha256: expected 64 lower-case hex digits"),
        ("elf_class", "64", "elf_class: expected 32 or 64"),
        ("elf_class", 16, "elf_class: expected 32 or 64"),
        ("elf_class", None, "elf_class: expected 32 or 64"),
        ("synthetic", "yes", "synthetic: expected 0 or 1"),
        ("synthetic", 2, "synthetic: expected 0 or 1"),
        ("synthetic", 0.0, "synthetic: expected 0 or 1"),
        ("layout", "bsd", "layout: expected 'solaris' or 'linux'"),
        ("arch", "sparc", "arch: expected 'i386', 'amd64' or null"),
        ("os_dir", "", "os_dir and module must not be empty"),
        ("module", None, "module: expected string"),
        ("os_dir", b"11", "os_dir: expected string"),
        ("tools_version", 9, "tools_version: expected string or null"),
        ("build", 1.5, "build: expected string or null"),
        ("path", None, "path: expected string"),
        ("source", 3, "source: expected string"),
        ("identity", b"VMware", "identity: expected string or null"),
        ("machine", None, "machine: expected string"),
    ],
)
def test_a_damaged_row_names_its_column(
    row: tuple[Any, ...], column: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        head_from_row(_with(row, column, value))


def test_a_row_with_missing_columns_is_refused(row: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match=f"expected {len(HEAD_COLUMNS)} columns, got 12"):
        head_from_row(row[:-1])


def _damage(directory: Path, sql: str) -> None:
    indexes = sorted(directory.glob("*.index.sqlite"))
    assert indexes
    for idx in indexes:
        conn = sqlite3.connect(idx)
        try:
            conn.executescript(sql)
            conn.commit()
        finally:
            conn.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE records SET elf_class = 'sixty-four'", "elf_class: expected 32 or 64"),
        ("UPDATE records SET synthetic = 'no'", "synthetic: expected 0 or 1"),
        ("UPDATE records SET os_dir = NULL", "os_dir: expected string"),
        ("UPDATE records SET identity = x'00ff'", "identity: expected string or null"),
        ("UPDATE records SET layout = 'bsd'", "layout: expected 'solaris' or 'linux'"),
    ],
)
def test_a_damaged_head_in_an_index_is_one_clear_line(
    indexed: Path, files: list[Path], sql: str, message: str
) -> None:
    _damage(indexed, sql)
    db = load_db([indexed])
    assert db.indexed  # the stamp still matches the JSON: only the rows are damaged
    with pytest.raises(InputError) as caught:
        identify_files(files[:1], db, jobs=1)
    line = str(caught.value)
    assert "\n" not in line and "damaged index" in line and message in line
    assert "delete it and it is rebuilt from the JSON" in line


def test_an_index_without_head_columns_is_one_clear_line(indexed: Path, files: list[Path]) -> None:
    _damage(indexed, "ALTER TABLE records DROP COLUMN identity")
    db = load_db([indexed])
    with pytest.raises(InputError, match=r"unreadable fingerprint index .*identity"):
        identify_files(files[:1], db, jobs=1)


def test_an_index_of_the_previous_schema_is_rebuilt(indexed: Path) -> None:
    """An index written before heads existed is stale: parsed from the JSON, then rebuilt."""
    _damage(indexed, "UPDATE meta SET value = 'toolsfix-fingerprint-index/1' WHERE key = 'schema'")
    assert load_db([indexed], write_index=True).indexed == ()
    again = load_db([indexed])
    assert again.indexed and again.heads_by_sha256([r.sha256 for r in _learned()])


def test_the_shipped_samples_are_read_as_package_data_and_never_indexed() -> None:
    """The shipped directory is read without an index and nothing is written beside it (an
    installed package directory is read-only, and verify must not write); its heads and
    records give the same answers as parsing and validating the file in full."""
    from toolsfix.fpdb_store import PackagedStore

    shipped = fpdb.shipped_db_dir()
    files = sorted(shipped.glob("*.json"))
    assert files
    before = sorted(p.name for p in shipped.iterdir())
    db = load_db([shipped], write_index=True)
    assert sorted(p.name for p in shipped.iterdir()) == before
    assert db.indexed == ()
    assert all(isinstance(s, PackagedStore) for s in db._stores)
    parsed = FingerprintDB([r for f in files for r in fpdb_store.load_file(f)])
    shas = [r.sha256 for r in parsed]
    heads = db.heads_by_sha256(shas)
    assert set(heads) == set(shas)
    for sha in shas:
        assert [h.key for h in heads[sha]] == [r.key for r in parsed.by_sha256(sha)]
        assert db.by_sha256(sha) == parsed.by_sha256(sha)
    assert [r.key for r in db] == [r.key for r in parsed]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(sha256="XYZ"), r"records\[0\]\.sha256: expected 64 lower-case"),
        (lambda r: r.update(layout="bsd"), r"records\[0\]\.layout: expected"),
        (lambda r: r.update(schema="other/9"), r"records\[0\]\.schema: unsupported"),
        (lambda r: r.update(sections=[1]), r"records\[0\]\.sections\[0\]\.expected an object"),
    ],
)
def test_a_damaged_packaged_record_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any, message: str
) -> None:
    """Package data is still checked: a bad head when loaded, a bad body when it is used."""
    import json

    (src,) = sorted(fpdb.shipped_db_dir().glob("*.json"))[:1]
    doc = json.loads(src.read_text())
    edit(doc["records"][0])
    (tmp_path / src.name).write_text(json.dumps(doc))
    monkeypatch.setattr(fpdb, "shipped_db_dir", lambda: tmp_path)
    with pytest.raises(InputError, match=message) as caught:
        db = load_db([tmp_path])
        db.by_sha256(doc["records"][0]["sha256"])
        list(db)
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


@pytest.mark.usefixtures("small_index_threshold")
def test_a_read_only_directory_is_parsed_every_time(records: list[Record]) -> None:
    """A database directory the user cannot write: no index, the same answers."""
    shas = {r.sha256 for r in records}
    with public_tmpdir() as base:
        db_dir = base / "db"
        save_records(db_dir, records)
        for idx in db_dir.glob("*.index.sqlite"):
            idx.unlink()
        db_dir.chmod(0o555)

        def load() -> tuple[int, int, set[str]]:
            db = load_db([db_dir], write_index=True)
            found = set(db.heads_by_sha256(shas))
            return len(db.indexed), len(list(db_dir.glob("*.index.sqlite"))), found

        assert run_unprivileged(load) == (0, 0, shas)
        db_dir.chmod(0o755)
        assert load() == (0, 2, shas)  # writable: indexed for the next run
        assert load()[0] == 2
