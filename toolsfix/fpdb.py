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
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TypeVar

from toolsfix.datadirs import default_db_dirs, release_file_name, shipped_dir, user_db_dir
from toolsfix.errors import InputError
from toolsfix.fpdb_record import FILE_SCHEMA, RECORD_SCHEMA, Known, Record, record_from_dict
from toolsfix.fpdb_store import (
    DOC_ENCODER,
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

if TYPE_CHECKING:  # the distrib readers and ELF parsing load only for learning (start-up time)
    from toolsfix.distrib import Source
    from toolsfix.fingerprint import DriverFingerprint

__all__ = [
    "FILE_SCHEMA",
    "INDEX_MIN_BYTES",
    "RECORD_SCHEMA",
    "SOLARIS_MODULES",
    "FingerprintDB",
    "Known",
    "Record",
    "default_db_dirs",
    "index_path",
    "learn",
    "learn_source",
    "load_db",
    "record_from_dict",
    "record_of",
    "save_records",
    "shipped_db_dir",
    "user_db_dir",
]

BINARY_PREFIX = BINARY_DIR
SYNTHETIC_MARKER = "toolsfix synthetic"
_K = TypeVar("_K", bound=Known)

# --------------------------------------------------------------------------------------------
# Locations


def shipped_db_dir() -> Path:
    """Where the shipped records are (may not exist): ``fingerprints/`` beside the package in
    a checkout or editable install, ``<prefix>/share/toolsfix/fingerprints`` after a wheel
    install. Delegates to :func:`toolsfix.datadirs.shipped_dir` so every reader of shipped data
    agrees on the rule."""
    return shipped_dir("fingerprints")


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
    def _unique(records: Iterable[_K]) -> tuple[_K, ...]:
        unique: dict[tuple[str, ...], _K] = {}
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

    def heads_by_sha256(self, shas: Iterable[str]) -> dict[str, tuple[Known, ...]]:
        """For each sha256 of ``shas`` the database knows: what :meth:`by_sha256` returns, as
        heads when a store can serve them without building records (one batched lookup per
        store: the whole cost of identifying files of a learned release)."""
        wanted = set(shas)
        found: dict[str, list[Known]] = {}
        for store in self._stores:
            for sha, heads in store.heads_by_sha256(wanted).items():
                found.setdefault(sha, []).extend(heads)
        return {sha: self._unique(heads) for sha, heads in found.items()}


def load_db(dirs: Sequence[Path], *, write_index: bool = False) -> FingerprintDB:
    """Read every ``*.json`` in each existing directory (sorted, so loading is deterministic).

    Missing directories are skipped (a fresh user has no database); a malformed file raises
    :class:`InputError` naming the file, record and field. Large files are served from their
    SQLite index when it is current (see the module docstring); ``write_index`` lets a load
    that had to parse one write its index for the next run. The shipped directory is read as
    package data (:class:`~toolsfix.fpdb_store.PackagedStore`) and never gets an index.
    """
    stores: list[Store] = []
    used = []
    shipped = _resolved(shipped_db_dir())
    for d in dirs:
        directory = Path(d)
        if not directory.is_dir():
            continue
        used.append(directory)
        packaged = _resolved(directory) == shipped
        for path in sorted(directory.glob("*.json")):
            stores.append(store_of(path, write=write_index, packaged=packaged))
    return FingerprintDB((), used, stores=stores)


def _resolved(path: Path) -> Optional[Path]:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: not the shipped directory
        return None


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
        if fp is None:
            continue
        record = record_of(relpath, fp, tools_version=tools_version, build=build,
                           source=source, synthetic=synthetic)  # fmt: skip
        if record is not None:
            records.append(record)
    return records


def _fingerprint_member(
    relpath: str, data: bytes, problems: Optional[list[str]]
) -> Optional[DriverFingerprint]:
    """The fingerprint of a driver file worth recording, or None (noted in ``problems``)."""
    from toolsfix.fingerprint import fingerprint_bytes  # lazy: only learning parses ELF

    if classify_build(relpath) is None:
        return None
    return _worth_recording(relpath, fingerprint_bytes(data, name=relpath), problems)


def _worth_recording(
    relpath: str, fp: DriverFingerprint, problems: Optional[list[str]]
) -> Optional[DriverFingerprint]:
    """``fp`` of the driver file ``relpath`` when it is a record to keep, else None; what is
    wrong with it (not ELF, the wrong architecture for its directory) goes to ``problems``."""
    where = classify_build(relpath)
    assert where is not None  # only classified paths are fingerprinted
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


def record_of(
    relpath: str,
    fp: DriverFingerprint,
    *,
    tools_version: Optional[str],
    build: Optional[str],
    source: str,
    synthetic: bool = False,
) -> Optional[Record]:
    """The record of the driver build at ``relpath`` (relative to a distrib root or a
    ``LIBDIR``) with fingerprint ``fp``; None when the path is not a driver build. The one
    place a record is made from a file, whether it was parsed here or known by its hash."""
    where = classify_build(relpath)
    if where is None:
        return None
    norm = relpath.replace("\\", "/")
    return Record(
        tools_version=tools_version,
        build=build,
        os_dir=where.os_dir,
        arch=fp.arch,
        module=where.module,
        layout=where.layout,
        path=norm[norm.find(BINARY_PREFIX) :],
        source=source,
        synthetic=synthetic or any(SYNTHETIC_MARKER in c for c in fp.comments),
        fingerprint=fp,
    )


@dataclass(frozen=True)
class Learned:
    """What ``fingerprints learn`` found in one distrib."""

    records: tuple[Record, ...]
    version: Optional[str]
    build: Optional[str]
    problems: tuple[str, ...]


def learn_source(
    distrib: Source,
    *,
    source: str,
    synthetic: bool = False,
    on_configurator: Optional[Callable[[bytes], None]] = None,
) -> Learned:
    """Fingerprint every driver build of a distrib in one streaming pass.

    Drivers are handed to :func:`~toolsfix.fingerprint_pool.fingerprint_stream` as they pass
    (parsed by a worker process while the stream goes on, a few batches at a time) and their
    bytes dropped once parsed, so memory is a few drivers (each at most
    :data:`~toolsfix.safeio.MAX_DRIVER_BYTES`) plus small fingerprints, whatever the distrib
    holds; the configurator, wherever it sits in the stream, gives the version and build the
    records are filed under, and is handed to ``on_configurator`` the moment it is read
    (the caller proves it while the stream goes on).
    """
    from toolsfix.distrib import CONFIGURATOR, learn_want  # lazy: start-up time of fingerprint
    from toolsfix.fingerprint_pool import fingerprint_stream  # lazy: only learning parses ELF
    from toolsfix.installer import find_buildnr  # lazy: only learning reads a configurator

    release: list[Optional[str]] = [None, None]

    def drivers() -> Iterator[tuple[str, bytes]]:
        for entry in distrib.entries(learn_want):
            if entry.data is None:
                continue
            if entry.member.path == CONFIGURATOR:
                release[:] = find_buildnr(entry.data.decode("utf-8", "replace"))[:2]
                if on_configurator is not None:
                    on_configurator(entry.data)
            elif classify_build(entry.member.path) is not None:
                yield entry.member.path, entry.data

    problems: list[str] = []
    found: list[tuple[str, DriverFingerprint]] = []
    for fp in fingerprint_stream(drivers()):
        if _worth_recording(fp.name, fp, problems) is not None:
            found.append((fp.name, fp))
    version, build = release
    made = (record_of(p, fp, tools_version=version, build=build, source=source,
                      synthetic=synthetic) for p, fp in found)  # fmt: skip
    records = tuple(r for r in made if r is not None)
    return Learned(records, version, build, tuple(problems))


def _sort_key(record: Record) -> tuple[str, ...]:
    return (record.layout, record.os_dir, record.module, record.sha256, record.source)


def _document_lines(records: Sequence[Record], docs: list[str]) -> Iterator[str]:
    """The file, one record per line: C-encoded (``json.dumps`` with ``indent`` falls back to
    the pure-Python encoder, 10x slower on 2,000 records), yet a re-learn diffs per record.

    Each record's text is appended to ``docs`` too: it is exactly what the SQLite index
    stores (:data:`toolsfix.fpdb_store.DOC_ENCODER`), so records are encoded once.
    """
    encode = DOC_ENCODER.encode
    yield f'{{"schema":{encode(FILE_SCHEMA)},"records":[\n'
    for i, record in enumerate(records):
        doc = encode(record.to_dict())
        docs.append(doc)
        yield doc + (",\n" if i + 1 < len(records) else "\n")
    yield "]}\n"


def _write_document(path: Path, records: Sequence[Record]) -> tuple[tuple[int, str], list[str]]:
    """Write ``path`` atomically (temp file, fsync, rename), line by line; returns the size
    and sha256 of what was written, and each record's JSON text."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    docs: list[str] = []
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as fh:
        for line in _document_lines(records, docs):
            chunk = line.encode("ascii")
            digest.update(chunk)
            size += len(chunk)
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return (size, digest.hexdigest()), docs


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
        groups.setdefault(release_file_name(record.tools_version, record.build), []).append(record)
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
            stamp, docs = _write_document(path, ordered)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        if stamp[0] >= INDEX_MIN_BYTES:
            write_index(path, ordered, stamp, docs)
        else:
            with contextlib.suppress(OSError):
                os.unlink(index_path(path))  # a file that shrank: no stale index left behind
        written.append(path)
    return written


def load_all(extra: Sequence[Path] = (), *, write_index: bool = False) -> FingerprintDB:
    """The database every command uses: shipped records, the user's, then ``--db`` dirs."""
    return load_db([*default_db_dirs(), *extra], write_index=write_index)
