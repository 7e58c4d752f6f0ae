"""How a fingerprint database file is read: parsed in full, or served from a SQLite index.

A learned file of a real Linux tarball holds ~2,000 records (15 MB of JSON): parsing and
validating it costs ~0.3 s on every run, more than identifying a file by its hash. Such a file
(at least :data:`INDEX_MIN_BYTES`) gets a SQLite index beside it, ``<name>.index.sqlite``,
written by ``fingerprints learn`` when it saves the file, or by a ``fingerprint`` command that
had to parse it (scan, verify and audit never write). It holds each record's sha256, code
hash and JSON text, and the JSON file's size, mtime and sha256: any change to the JSON makes
the index stale, so it is ignored. Hash lookups then parse only the records they hit; the full
record set is materialised only for nearest matching. The JSON stays the reviewable source of
truth; the index is a cache that can always be deleted.

Each index row also holds the record's *head* (:class:`~toolsfix.fpdb_record.RecordHead`:
where the build ships, its identity, class and machine) in plain columns: an exact hash
match reports only those, so identifying files of a learned release reads a few short
columns per file, validated in microseconds, and never parses a record's JSON.

The shipped samples are package data, read by :class:`PackagedStore` without an index (an
installed package directory is read-only): heads at load, each full record when used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional, Union

from toolsfix.errors import InputError
from toolsfix.fpdb_record import (
    FILE_SCHEMA,
    HEAD_COLUMNS,
    RECORD_SCHEMA,
    Known,
    Record,
    RecordHead,
    head_from_row,
    head_row,
    record_from_dict,
)
from toolsfix.jsondoc import document_items
from toolsfix.safeio import MAX_DB_FILE_BYTES, read_bounded

__all__ = [
    "DOC_ENCODER",
    "INDEX_MIN_BYTES",
    "IndexedStore",
    "MemoryStore",
    "PackagedStore",
    "Store",
    "index_path",
    "load_file",
    "store_of",
    "write_index",
]

#: A database file this large gets a SQLite index beside it; smaller files parse faster than
#: an index opens. Measured: the shipped 0.5 MB file (126 records) parses and validates in
#: ~45 ms, its index opens and answers a lookup in ~2 ms; a 64 KB file (~16 records) parses
#: in ~5 ms.
INDEX_MIN_BYTES = 64 << 10
INDEX_SCHEMA = "toolsfix-fingerprint-index/2"  # /2: head columns
INDEX_SUFFIX = ".index.sqlite"
#: How a record is written: in the JSON file (one per line) and in the index's ``doc`` column.
DOC_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=True, separators=(",", ":"))


class MemoryStore:
    """Records held in memory (a small JSON file, or records built by a caller)."""

    def __init__(self, records: Iterable[Record]) -> None:
        self._records = tuple(records)
        self._by_sha: dict[str, list[Record]] = {}
        self._by_code: dict[str, list[Record]] = {}
        for record in self._records:
            self._by_sha.setdefault(record.sha256, []).append(record)
            if record.code_hash:
                self._by_code.setdefault(record.code_hash, []).append(record)

    def all(self) -> Sequence[Record]:
        return self._records

    def by_sha256(self, sha256: str) -> Sequence[Record]:
        return self._by_sha.get(sha256, ())

    def by_code_hash(self, code_hash: str) -> Sequence[Record]:
        return self._by_code.get(code_hash, ())

    def heads_by_sha256(self, shas: Iterable[str]) -> dict[str, Sequence[Known]]:
        """The records of each known sha256 in ``shas`` (a record is its own head)."""
        return {sha: self._by_sha[sha] for sha in shas if sha in self._by_sha}

    def empty(self) -> bool:
        return not self._records


class IndexedStore:
    """One database file served from its SQLite index: a lookup parses only the records it
    hits, and each record once (cached by row id)."""

    def __init__(self, json_path: Path, index: Path, conn: sqlite3.Connection) -> None:
        self.json_path = json_path
        self.index = index
        self._conn = conn
        self._cache: dict[int, Record] = {}
        self._all: Optional[tuple[Record, ...]] = None

    def _records(self, rows: Iterable[tuple[int, str]]) -> list[Record]:
        out = []
        for rowid, doc in rows:
            record = self._cache.get(rowid)
            if record is None:
                try:
                    record = record_from_dict(json.loads(doc))
                except (ValueError, RecursionError) as exc:
                    raise InputError(
                        f"{self.index}: damaged index of {self.json_path.name} (row {rowid}: "
                        f"{exc}); delete it and it is rebuilt from the JSON"
                    ) from None
                self._cache[rowid] = record
            out.append(record)
        return out

    def _query(self, sql: str, args: tuple[str, ...] = ()) -> list[Record]:
        try:
            rows = self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"{self.index}: unreadable fingerprint index ({exc})") from None
        return self._records(rows)

    def all(self) -> Sequence[Record]:
        if self._all is None:
            self._all = tuple(self._query("SELECT id, doc FROM records ORDER BY id"))
        return self._all

    def by_sha256(self, sha256: str) -> Sequence[Record]:
        return self._query("SELECT id, doc FROM records WHERE sha256 = ? ORDER BY id", (sha256,))

    def by_code_hash(self, code_hash: str) -> Sequence[Record]:
        return self._query(
            "SELECT id, doc FROM records WHERE code_hash = ? ORDER BY id", (code_hash,)
        )

    def heads_by_sha256(self, shas: Iterable[str]) -> dict[str, Sequence[Known]]:
        """The heads of the records of each known sha256 in ``shas``, in row order.

        One query per :data:`_BATCH` hashes instead of one per file, and no record JSON
        parsed: this is the whole cost of identifying a file the database knows.
        """
        wanted = sorted(set(shas))
        out: dict[str, list[Known]] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            sql = (
                f"SELECT id, {_HEAD_SELECT} FROM records "
                f"WHERE sha256 IN ({','.join('?' * len(batch))}) ORDER BY id"
            )
            try:
                rows = self._conn.execute(sql, batch).fetchall()
            except sqlite3.Error as exc:
                raise InputError(f"{self.index}: unreadable fingerprint index ({exc})") from None
            for row in rows:
                try:
                    head = head_from_row(row[1:])
                except ValueError as exc:
                    raise InputError(
                        f"{self.index}: damaged index of {self.json_path.name} (row {row[0]}: "
                        f"{exc}); delete it and it is rebuilt from the JSON"
                    ) from None
                out.setdefault(head.sha256, []).append(head)
        return dict(out)

    def empty(self) -> bool:
        return not self._conn.execute("SELECT 1 FROM records LIMIT 1").fetchall()


class PackagedStore:
    """A database file shipped inside the package, read without an index.

    An installed package directory is read-only and read-only commands never write, so the
    shipped samples cannot count on an index; parsing and validating all of them (~45 ms)
    would be most of a ``verify``. Instead the JSON is decoded once (~5 ms), every record's
    head is validated at load (microseconds each: all an exact match reports), and a record's
    full structure is validated and built the first time a lookup returns it. A defect still
    gives one :class:`InputError` line naming the file and record, when that record is used.
    """

    def __init__(self, json_path: Path, items: Sequence[Any]) -> None:
        self.json_path = json_path
        self._items = items
        self._heads: list[RecordHead] = []
        self._by_sha: dict[str, list[int]] = {}
        self._by_code: dict[str, list[int]] = {}
        self._cache: dict[int, Record] = {}
        for i, item in enumerate(items):
            head = self._head(i, item)
            self._heads.append(head)
            self._by_sha.setdefault(head.sha256, []).append(i)
            code = item.get("code_hash")
            if isinstance(code, str):
                self._by_code.setdefault(code, []).append(i)

    @classmethod
    def load(cls, path: Path) -> PackagedStore:
        return cls(path, _file_items(path, read_file(path)))

    def _head(self, i: int, item: Any) -> RecordHead:
        try:
            if not isinstance(item, dict):
                raise ValueError(f"expected an object, got {type(item).__name__}")
            if item.get("schema") != RECORD_SCHEMA:
                raise ValueError(f"schema: unsupported {item.get('schema')!r}")
            synthetic = item.get("synthetic")
            row = [item.get(c) for c in HEAD_COLUMNS]
            if type(synthetic) is bool:  # JSON true/false; the row form is 0/1
                row[HEAD_COLUMNS.index("synthetic")] = int(synthetic)
            return head_from_row(row)
        except ValueError as exc:
            raise InputError(f"{self.json_path}: records[{i}].{exc}") from None

    def _record(self, i: int) -> Record:
        record = self._cache.get(i)
        if record is None:
            try:
                record = record_from_dict(self._items[i])
            except ValueError as exc:
                raise InputError(f"{self.json_path}: records[{i}].{exc}") from None
            self._cache[i] = record
        return record

    def all(self) -> Sequence[Record]:
        return [self._record(i) for i in range(len(self._items))]

    def by_sha256(self, sha256: str) -> Sequence[Record]:
        return [self._record(i) for i in self._by_sha.get(sha256, ())]

    def by_code_hash(self, code_hash: str) -> Sequence[Record]:
        return [self._record(i) for i in self._by_code.get(code_hash, ())]

    def heads_by_sha256(self, shas: Iterable[str]) -> dict[str, Sequence[Known]]:
        return {
            sha: [self._heads[i] for i in self._by_sha[sha]] for sha in shas if sha in self._by_sha
        }

    def empty(self) -> bool:
        return not self._items


Store = Union[MemoryStore, IndexedStore, PackagedStore]

#: Hashes per ``IN (...)`` query: under SQLite's historical limit of 999 bound parameters.
_BATCH = 900
_HEAD_SELECT = ", ".join(HEAD_COLUMNS)


def _file_items(path: Path, data: bytes) -> list[Any]:
    """The ``records`` array of a database file's bytes, records not yet validated."""
    return document_items(path, data, FILE_SCHEMA, "fingerprint file")


def parse_file(path: Path, data: bytes) -> list[Record]:
    """Records of one database file's bytes; any defect is one :class:`InputError` line."""
    out = []
    for i, item in enumerate(_file_items(path, data)):
        try:
            out.append(record_from_dict(item))
        except ValueError as exc:
            raise InputError(f"{path}: records[{i}].{exc}") from None
    return out


def read_file(path: Path) -> bytes:
    """Read through :func:`toolsfix.safeio.read_bounded` (regular files only, never blocking,
    capped): a database directory is a place anyone with write access to it can drop a file."""
    return read_bounded(path, limit=MAX_DB_FILE_BYTES, what="fingerprint database file")


def load_file(path: Path) -> list[Record]:
    """Records of one database file (parsed and validated in full, no index)."""
    return parse_file(path, read_file(path))


def index_path(json_path: Path) -> Path:
    """``tools-10.3.10-12406962.json`` -> ``tools-10.3.10-12406962.index.sqlite``."""
    return json_path.with_name(json_path.stem + INDEX_SUFFIX)


def _stamp(path: Path, size: int, sha256: str) -> dict[str, str]:
    """What ties an index to the exact JSON it was built from (``size`` bytes, ``sha256``)."""
    st = os.stat(path)
    return {
        "schema": INDEX_SCHEMA,
        "size": str(size),
        "mtime_ns": str(st.st_mtime_ns),
        "sha256": sha256,
    }


def _open_index(path: Path, size: int, mtime_ns: int) -> Optional[tuple[IndexedStore, bytes]]:
    """The index of ``path`` when it is current, with the JSON bytes it was checked against;
    None when absent, stale, not a regular file or unreadable (the JSON is parsed instead).

    Size and mtime reject a stale index without reading the JSON; the sha256 of the JSON
    (~15 ms for 15 MB) catches an edit that kept both.
    """
    idx = index_path(path)
    try:
        if not stat.S_ISREG(os.lstat(idx).st_mode):
            return None
    except OSError:
        return None
    try:
        conn = sqlite3.connect(f"{idx.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, OSError, ValueError):
        return None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if (meta.get("schema"), meta.get("size"), meta.get("mtime_ns")) != (
            INDEX_SCHEMA, str(size), str(mtime_ns),
        ):  # fmt: skip
            conn.close()
            return None
        data = read_file(path)
        if meta.get("sha256") != hashlib.sha256(data).hexdigest():
            conn.close()
            return None
    except sqlite3.Error:
        conn.close()
        return None
    return IndexedStore(path, idx, conn), data


def write_index(
    path: Path,
    records: Sequence[Record],
    data: Union[bytes, tuple[int, str]],
    docs: Optional[Sequence[str]] = None,
) -> Optional[Path]:
    """Write the SQLite index of database file ``path`` atomically.

    ``data`` is the file's bytes, or their ``(size, sha256)`` when the writer hashed them as
    it wrote (saving never holds the whole file). ``docs``, when given, are the records' JSON
    texts as :data:`DOC_ENCODER` wrote them into the file (saving encodes each record once
    for both). Best effort: a read-only directory or a full disk only costs speed, so failures
    return None instead of raising. Returns the index path when written.
    """
    size, sha = (len(data), hashlib.sha256(data).hexdigest()) if isinstance(data, bytes) else data
    if docs is None or len(docs) != len(records):
        docs = [DOC_ENCODER.encode(r.to_dict()) for r in records]
    idx = index_path(path)
    tmp = idx.with_name(f".{idx.name}.{os.getpid()}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # a leftover of a killed run of this pid
        conn = sqlite3.connect(str(tmp))
        try:
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            heads = ", ".join(c for c in HEAD_COLUMNS if c != "sha256")
            conn.execute(
                "CREATE TABLE records (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, "
                f"code_hash TEXT, doc TEXT NOT NULL, {heads})"
            )
            marks = ", ".join("?" * (len(HEAD_COLUMNS) + 2))
            conn.executemany(
                f"INSERT INTO records (code_hash, doc, {_HEAD_SELECT}) VALUES ({marks})",
                ((r.code_hash, doc, *head_row(r)) for r, doc in zip(records, docs)),
            )
            conn.execute("CREATE INDEX records_sha256 ON records (sha256)")
            conn.execute("CREATE INDEX records_code_hash ON records (code_hash)")
            conn.executemany("INSERT INTO meta VALUES (?, ?)", _stamp(path, size, sha).items())
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, idx)
    except (OSError, sqlite3.Error):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return None
    return idx


def store_of(path: Path, *, write: bool = False, packaged: bool = False) -> Store:
    """A database file as a store: its index when current, else parsed.

    ``write``: a large file parsed for want of a current index gets one for the next
    run (only ``fingerprint`` and ``fingerprints`` ask: scan, verify and audit never write).
    ``packaged``: the file ships inside the package (see :class:`PackagedStore`).
    """
    if packaged:
        return PackagedStore.load(path)
    try:
        st = os.stat(path)
    except OSError:
        return MemoryStore(load_file(path))  # read_bounded words the error
    if stat.S_ISREG(st.st_mode) and st.st_size >= INDEX_MIN_BYTES:
        opened = _open_index(path, st.st_size, st.st_mtime_ns)
        if opened is not None:
            return opened[0]
        data = read_file(path)
        records = parse_file(path, data)
        if write:
            write_index(path, records, data)
        return MemoryStore(records)
    return MemoryStore(load_file(path))
