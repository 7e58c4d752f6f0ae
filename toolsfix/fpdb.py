"""The fingerprint database: known driver builds as reviewable JSON, shipped and user-learned.

Knowledge lives in data, not code: each JSON file under a database directory describes the
driver builds of one distrib (one Tools version and build), one record per module file, with
every feature :mod:`toolsfix.identify` compares. Two directories are read:

* the shipped database, ``fingerprints/`` at the top of a source checkout or
  ``<prefix>/share/toolsfix/fingerprints`` after a wheel install (see :func:`shipped_db_dir`);
* the user database (:func:`user_db_dir`), filled by ``toolsfix fingerprints learn`` from
  distribs the user owns, because no real VMware driver binary can be shipped with toolsfix.

Records (:mod:`toolsfix.fpdb_record`) are validated on load. Files are written deterministically
(sorted keys, sorted records, one record per line, atomic replace) so learned data diffs
cleanly in review. How a file is read -- parsed, or served from a SQLite index beside a large
one so that a run does not parse megabytes of JSON -- is :mod:`toolsfix.fpdb_store`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolsfix.datadirs import shipped_dir
from toolsfix.distrib import CONFIGURATOR, Source, learn_want
from toolsfix.errors import InputError
from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes
from toolsfix.fpdb_record import FILE_SCHEMA, RECORD_SCHEMA, Record, record_from_dict
from toolsfix.fpdb_store import (
    INDEX_MIN_BYTES,
    IndexedStore,
    MemoryStore,
    Store,
    index_path,
    load_file,
    store_of,
    write_index,
)
from toolsfix.knowledge import BINARY_DIR, SOLARIS_MODULES, arch_of_dir, classify_build

__all__ = [
    "FILE_SCHEMA",
    "INDEX_MIN_BYTES",
    "RECORD_SCHEMA",
    "SOLARIS_MODULES",
    "FingerprintDB",
    "Record",
    "default_db_dirs",
    "index_path",
    "learn",
    "learn_source",
    "load_db",
    "record_from_dict",
    "save_records",
    "shipped_db_dir",
    "user_db_dir",
]

BINARY_PREFIX = BINARY_DIR
SYNTHETIC_MARKER = "toolsfix synthetic"
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")

# --------------------------------------------------------------------------------------------
# Locations


def shipped_db_dir() -> Path:
    """Where the shipped records are (may not exist): ``fingerprints/`` beside the package in
    a checkout or editable install, ``<prefix>/share/toolsfix/fingerprints`` after a wheel
    install. Delegates to :func:`toolsfix.datadirs.shipped_dir` so every reader of shipped data
    agrees on the rule."""
    return shipped_dir("fingerprints")


def user_db_dir() -> Path:
    """The user's learned records, computed without platformdirs.

    ``$TOOLSFIX_USER_DB`` wins; macOS uses ``~/Library/Application Support/toolsfix``;
    Windows ``%APPDATA%\\toolsfix``; everything else (Linux, Solaris) follows XDG:
    ``$XDG_DATA_HOME/toolsfix`` when it is an absolute path, else ``~/.local/share/toolsfix``.
    """
    override = os.environ.get("TOOLSFIX_USER_DB")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "toolsfix" / "fingerprints"
    if sys.platform.startswith("win"):
        appdata = os.environ.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "toolsfix" / "fingerprints"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / "toolsfix" / "fingerprints"


def default_db_dirs() -> list[Path]:
    """Shipped first, then the user's: on duplicates the shipped record is kept."""
    shipped, user = shipped_db_dir(), user_db_dir()
    return [shipped] if shipped.resolve() == user.resolve() else [shipped, user]


# --------------------------------------------------------------------------------------------
# Loading


class FingerprintDB:
    """Records plus the two lookups the exact and code-identical rungs need.

    Records come from stores, in load order: in memory, or a SQLite index (lazy). Two records
    with the same :attr:`Record.key` are one fact: the first store's is kept, in every view.
    """

    def __init__(
        self, records: Iterable[Record] = (), dirs: Sequence[Path] = (), *,
        stores: Sequence[Store] = (),
    ) -> None:  # fmt: skip
        given = MemoryStore(records)
        self._stores: tuple[Store, ...] = (given, *stores) if given.all() else tuple(stores)
        self.dirs = tuple(dirs)
        self._records: Optional[tuple[Record, ...]] = None

    @staticmethod
    def _unique(records: Iterable[Record]) -> tuple[Record, ...]:
        unique: dict[tuple[str, ...], Record] = {}
        for record in records:
            unique.setdefault(record.key, record)
        return tuple(unique.values())

    @property
    def records(self) -> tuple[Record, ...]:
        """Every record (materialises an indexed store: needed for nearest matching only)."""
        if self._records is None:
            self._records = self._unique(r for store in self._stores for r in store.all())
        return self._records

    @property
    def indexed(self) -> tuple[Path, ...]:
        """The database files served from their SQLite index in this load."""
        return tuple(s.json_path for s in self._stores if isinstance(s, IndexedStore))

    def __len__(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:
        return any(not store.empty() for store in self._stores)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def by_sha256(self, sha256: str) -> tuple[Record, ...]:
        return self._unique(r for store in self._stores for r in store.by_sha256(sha256))

    def by_code_hash(self, code_hash: str) -> tuple[Record, ...]:
        return self._unique(r for store in self._stores for r in store.by_code_hash(code_hash))


def load_db(dirs: Sequence[Path]) -> FingerprintDB:
    """Read every ``*.json`` in each existing directory (sorted, so loading is deterministic).

    Missing directories are skipped (a fresh user has no database); a malformed file raises
    :class:`InputError` naming the file, record and field. Large files are served from their
    SQLite index when it is current (see the module docstring).
    """
    stores: list[Store] = []
    used = []
    for d in dirs:
        directory = Path(d)
        if not directory.is_dir():
            continue
        used.append(directory)
        for path in sorted(directory.glob("*.json")):
            stores.append(store_of(path))
    return FingerprintDB((), used, stores=stores)


# --------------------------------------------------------------------------------------------
# Learning and saving


def learn(
    members: Iterable[tuple[str, bytes]],
    *,
    tools_version: Optional[str],
    build: Optional[str],
    source: str,
    synthetic: bool = False,
    problems: Optional[list[str]] = None,
) -> list[Record]:
    """Fingerprint the driver files of one distrib.

    ``members`` are ``(path relative to the distrib root, bytes)`` pairs; what is a driver
    build is decided by :func:`toolsfix.knowledge.classify_build` (the rule the inventory
    uses too), everything else is ignored. Files that
    are not parsable ELF are skipped, and a line is appended to ``problems`` when given.
    ``synthetic`` is also forced on when a ``.comment`` says ``toolsfix synthetic``, so test
    objects can never pass for vendor builds in the database.
    """
    records: list[Record] = []
    for relpath, data in members:
        fp = _fingerprint_member(relpath, data, problems)
        if fp is not None:
            records.append(_record(relpath, fp, tools_version, build, source, synthetic))
    return records


def _fingerprint_member(
    relpath: str, data: bytes, problems: Optional[list[str]]
) -> Optional[DriverFingerprint]:
    """The fingerprint of a driver file worth recording, or None (noted in ``problems``)."""
    where = classify_build(relpath)
    if where is None:
        return None
    fp = fingerprint_bytes(data, name=relpath)
    if not fp.is_elf:
        if problems is not None:
            problems.append(f"{relpath}: skipped: {fp.error}")
        return None
    if where.layout == "solaris" and problems is not None:
        expected = arch_of_dir(where.os_dir)
        if fp.arch != expected:
            problems.append(
                f"{relpath}: {fp.arch or fp.machine} object in a directory for {expected}"
            )
    return fp


def _record(
    relpath: str,
    fp: DriverFingerprint,
    tools_version: Optional[str],
    build: Optional[str],
    source: str,
    synthetic: bool,
) -> Record:
    where = classify_build(relpath)
    assert where is not None  # only classified paths are fingerprinted
    is_synthetic = synthetic or any(SYNTHETIC_MARKER in c for c in fp.comments)
    norm = relpath.replace("\\", "/")
    norm = norm[norm.find(BINARY_PREFIX) :]
    return Record(
        tools_version=tools_version,
        build=build,
        os_dir=where.os_dir,
        arch=fp.arch,
        module=where.module,
        layout=where.layout,
        path=norm,
        source=source,
        synthetic=is_synthetic,
        fingerprint=fp,
    )


@dataclass(frozen=True)
class Learned:
    """What ``fingerprints learn`` found in one distrib."""

    records: tuple[Record, ...]
    version: Optional[str]
    build: Optional[str]
    problems: tuple[str, ...]


def learn_source(distrib: Source, *, source: str, synthetic: bool = False) -> Learned:
    """Fingerprint every driver build of a distrib in one streaming pass.

    Each driver is fingerprinted as it passes and its bytes dropped at once, so memory is
    one driver (at most :data:`~toolsfix.safeio.MAX_DRIVER_BYTES`) plus small fingerprints,
    whatever the distrib holds; the configurator, wherever it sits in the stream, gives the
    version and build the records are filed under.
    """
    from toolsfix.installer import find_buildnr  # lazy: only learning reads a configurator

    problems: list[str] = []
    found: list[tuple[str, DriverFingerprint]] = []
    version = build = None
    for entry in distrib.entries(learn_want):
        if entry.data is None:
            continue
        if entry.member.path == CONFIGURATOR:
            version, build, _ = find_buildnr(entry.data.decode("utf-8", "replace"))
            continue
        fp = _fingerprint_member(entry.member.path, entry.data, problems)
        if fp is not None:
            found.append((entry.member.path, fp))
    records = tuple(_record(p, fp, version, build, source, synthetic) for p, fp in found)
    return Learned(records, version, build, tuple(problems))


def _file_name(tools_version: Optional[str], build: Optional[str]) -> str:
    version = _SAFE_NAME_RE.sub("_", tools_version or "unknown")
    number = _SAFE_NAME_RE.sub("_", build or "unknown")
    return f"tools-{version}-{number}.json"


def _sort_key(record: Record) -> tuple[str, ...]:
    return (record.layout, record.os_dir, record.module, record.sha256, record.source)


def _document_lines(records: Sequence[Record]) -> Iterator[str]:
    """The file, one record per line: C-encoded (``json.dumps`` with ``indent`` falls back to
    the pure-Python encoder, 10x slower on 2,000 records), yet a re-learn diffs per record."""
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode
    yield f'{{"schema":{encode(FILE_SCHEMA)},"records":[\n'
    for i, record in enumerate(records):
        yield encode(record.to_dict()) + (",\n" if i + 1 < len(records) else "\n")
    yield "]}\n"


def _write_document(path: Path, records: Sequence[Record]) -> bytes:
    """Write ``path`` atomically (temp file, fsync, rename); returns the bytes written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest_input: list[bytes] = []
    with tmp.open("wb") as fh:
        for line in _document_lines(records):
            chunk = line.encode("ascii")
            digest_input.append(chunk)
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return b"".join(digest_input)


def save_records(db_dir: Path, records: Iterable[Record]) -> list[Path]:
    """Write one JSON file per distrib (Tools version + build), merged with what is there.

    Records with the same key (layout, version, build, directory, module, sha256) replace the
    stored one; output is sorted with sorted keys and written atomically, so saving the same
    records twice changes nothing. A large file gets its SQLite index written too. Returns
    the JSON files written.
    """
    db = Path(db_dir)
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(_file_name(record.tools_version, record.build), []).append(record)
    written = []
    for file_name in sorted(groups):
        path = db / file_name
        merged: dict[tuple[str, ...], Record] = {}
        if path.exists():
            for old in load_file(path):
                merged[old.key] = old
        for new in groups[file_name]:
            merged[new.key] = new
        ordered = sorted(merged.values(), key=_sort_key)
        try:
            db.mkdir(parents=True, exist_ok=True)
            data = _write_document(path, ordered)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        if len(data) >= INDEX_MIN_BYTES:
            write_index(path, ordered, data)
        else:
            with contextlib.suppress(OSError):
                os.unlink(index_path(path))  # a file that shrank: no stale index left behind
        written.append(path)
    return written


def load_all(extra: Sequence[Path] = ()) -> FingerprintDB:
    """The database every command uses: shipped records, the user's, then ``--db`` dirs."""
    return load_db([*default_db_dirs(), *extra])
