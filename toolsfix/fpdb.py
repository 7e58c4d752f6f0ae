"""The fingerprint database: known driver builds as reviewable JSON, shipped and user-learned.

Knowledge lives in data, not code: each JSON file under a database directory describes the
driver builds of one distrib (one Tools version and build), one record per module file, with
every feature :mod:`toolsfix.identify` compares. Two directories are read:

* the shipped database, ``fingerprints/`` at the top of a source checkout or
  ``<prefix>/share/toolsfix/fingerprints`` after a wheel install (see :func:`shipped_db_dir`);
* the user database (:func:`user_db_dir`), filled by ``toolsfix fingerprints learn`` from
  distribs the user owns, because no real VMware driver binary can be shipped with toolsfix.

Records are validated on load with plain Python (no jsonschema dependency: the core must run
on a stock Solaris Python); ``toolsfix/schemas/fingerprint-record.schema.json`` documents the
same format for humans and other tools. Files are written deterministically (sorted keys,
sorted records, atomic replace) so learned data diffs cleanly in review.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from toolsfix.datadirs import shipped_dir
from toolsfix.errors import InputError
from toolsfix.fingerprint import (
    DriverFingerprint,
    SectionInfo,
    fingerprint_bytes,
    lso_era,
    parse_identity,
    symbols_digest,
)

__all__ = [
    "FILE_SCHEMA",
    "RECORD_SCHEMA",
    "SOLARIS_MODULES",
    "FingerprintDB",
    "Record",
    "default_db_dirs",
    "learn",
    "load_db",
    "record_from_dict",
    "save_records",
    "shipped_db_dir",
    "user_db_dir",
]

RECORD_SCHEMA = "toolsfix-fingerprint/1"
FILE_SCHEMA = "toolsfix-fingerprints/1"
SOLARIS_MODULES = ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock", "vmci")
BINARY_PREFIX = "lib/modules/binary/"
SYNTHETIC_MARKER = "toolsfix synthetic"

_SHA_RE = re.compile(r"[0-9a-f]{64}")
_SOLARIS_DIR_RE = re.compile(r"\d+(\.\d+)?(_64)?")
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Record:
    """One known driver file: where it ships (distrib metadata) plus its fingerprint."""

    tools_version: Optional[str]
    build: Optional[str]
    os_dir: str
    arch: Optional[str]
    module: str
    layout: str  # "solaris" or "linux"
    path: str  # relative to the distrib root
    source: str  # where it was learned (a file name, an ISO, "elfgen", ...)
    synthetic: bool
    fingerprint: DriverFingerprint

    @property
    def sha256(self) -> str:
        return self.fingerprint.sha256

    @property
    def code_hash(self) -> Optional[str]:
        return self.fingerprint.code_hash

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """What makes two records the same fact (the source is deliberately not part of it)."""
        return (
            self.layout,
            self.tools_version or "",
            self.build or "",
            self.os_dir,
            self.module,
            self.sha256,
        )

    @property
    def lso_era(self) -> str:
        return lso_era(self.fingerprint.identity, self.tools_version, self.os_dir)

    def to_dict(self) -> dict[str, Any]:
        fp = self.fingerprint
        return {
            "schema": RECORD_SCHEMA,
            "tools_version": self.tools_version,
            "build": self.build,
            "os_dir": self.os_dir,
            "arch": self.arch,
            "module": self.module,
            "layout": self.layout,
            "path": self.path,
            "source": self.source,
            "synthetic": self.synthetic,
            "sha256": fp.sha256,
            "size": fp.size,
            "code_hash": fp.code_hash,
            "section_hashes": fp.section_hashes,
            "elf_class": fp.elf_class,
            "machine": fp.machine,
            "elf_type": fp.elf_type,
            "osabi": fp.osabi,
            "sections": [s.to_dict() for s in fp.sections],
            "symbols": list(fp.symbols),
            "symbols_digest": fp.symbols_digest,
            "undefined_symbols": list(fp.undefined_symbols),
            "identity": fp.identity,
            "dependencies": list(fp.dependencies),
            "dependency_source": fp.dependency_source,
            "comments": list(fp.comments),
        }


# --------------------------------------------------------------------------------------------
# Validation (hand-written: mirrors schemas/fingerprint-record.schema.json)


class _Invalid(Exception):
    pass


def _get(d: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *,
         nullable: bool = False, required: bool = True) -> Any:  # fmt: skip
    if key not in d:
        if required:
            raise _Invalid(f"{key}: missing")
        return None
    value = d[key]
    if value is None and nullable:
        return None
    # bool is an int subclass: never accept it where a number is expected
    if isinstance(value, bool) and kind is not bool:
        raise _Invalid(f"{key}: expected {_kind_name(kind)}, got a boolean")
    if not isinstance(value, kind):
        raise _Invalid(f"{key}: expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return {"str": "string", "int": "integer", "bool": "boolean", "list": "array",
            "dict": "object"}.get(kind.__name__, kind.__name__)  # fmt: skip


def _sha(d: Mapping[str, Any], key: str, *, nullable: bool = False) -> Optional[str]:
    value = _get(d, key, str, nullable=nullable)
    if value is not None and not _SHA_RE.fullmatch(value):
        raise _Invalid(f"{key}: expected 64 lower-case hex digits, got {value!r}")
    return value  # type: ignore[no-any-return]


def _str_list(d: Mapping[str, Any], key: str) -> tuple[str, ...]:
    items = _get(d, key, list)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _Invalid(f"{key}[{i}]: expected string, got {type(item).__name__}")
    return tuple(items)


def record_from_dict(d: Any) -> Record:
    """Validate one record dict and build a :class:`Record`; errors name the field.

    Raises :class:`ValueError` with a one-line message (``load_db`` adds the file name).
    """
    try:
        return _record_from_dict(d)
    except _Invalid as exc:
        raise ValueError(str(exc)) from None


def _record_from_dict(d: Any) -> Record:
    if not isinstance(d, dict):
        raise _Invalid(f"expected an object, got {type(d).__name__}")
    schema = _get(d, "schema", str)
    if schema != RECORD_SCHEMA:
        raise _Invalid(f"schema: unsupported {schema!r} (expected {RECORD_SCHEMA!r})")
    layout = _get(d, "layout", str)
    if layout not in ("solaris", "linux"):
        raise _Invalid(f"layout: expected 'solaris' or 'linux', got {layout!r}")
    arch = _get(d, "arch", str, nullable=True)
    if arch not in (None, "i386", "amd64"):
        raise _Invalid(f"arch: expected 'i386', 'amd64' or null, got {arch!r}")
    elf_class = _get(d, "elf_class", int)
    if elf_class not in (32, 64):
        raise _Invalid(f"elf_class: expected 32 or 64, got {elf_class!r}")
    size = _get(d, "size", int)
    if size < 0:
        raise _Invalid("size: must not be negative")
    os_dir = _get(d, "os_dir", str)
    module = _get(d, "module", str)
    if not os_dir or not module:
        raise _Invalid("os_dir and module must not be empty")
    hashes = _get(d, "section_hashes", dict)
    for k in hashes:
        if k not in ("text", "rodata", "data"):
            raise _Invalid(f"section_hashes: unknown key {k!r}")
    sections = []
    for i, s in enumerate(_get(d, "sections", list)):
        try:
            if not isinstance(s, dict):
                raise _Invalid(f"expected an object, got {type(s).__name__}")
            sections.append(
                SectionInfo(
                    name=_get(s, "name", str),
                    type=_get(s, "type", int),
                    size=_get(s, "size", int),
                    flags=_get(s, "flags", int),
                )
            )
        except _Invalid as exc:
            raise _Invalid(f"sections[{i}].{exc}") from None
    symbols = _str_list(d, "symbols")
    if list(symbols) != sorted(set(symbols)):
        raise _Invalid("symbols: must be sorted and unique")
    digest = _get(d, "symbols_digest", str, required=False)
    if digest is not None and digest != symbols_digest(symbols):
        raise _Invalid("symbols_digest: does not match the symbols list")
    identity = _get(d, "identity", str, nullable=True)
    dep_source = _get(d, "dependency_source", str, nullable=True, required=False)
    if dep_source not in (None, "dynamic", "_depends_on"):
        raise _Invalid(f"dependency_source: unexpected {dep_source!r}")
    fp = DriverFingerprint(
        name=_get(d, "path", str),
        sha256=_sha(d, "sha256") or "",
        size=size,
        is_elf=True,
        elf_class=elf_class,
        machine=_get(d, "machine", str),
        elf_type=_get(d, "elf_type", str),
        osabi=_get(d, "osabi", int),
        sections=tuple(sections),
        text_sha256=_sha(hashes, "text", nullable=True) if "text" in hashes else None,
        rodata_sha256=_sha(hashes, "rodata", nullable=True) if "rodata" in hashes else None,
        data_sha256=_sha(hashes, "data", nullable=True) if "data" in hashes else None,
        code_hash=_sha(d, "code_hash", nullable=True),
        symbols=symbols,
        undefined_symbols=_str_list(d, "undefined_symbols") if "undefined_symbols" in d else (),
        dependencies=_str_list(d, "dependencies"),
        dependency_source=dep_source,
        identity=identity,
        build_number=parse_identity(identity),
        comments=_str_list(d, "comments") if "comments" in d else (),
        arch=arch,
        lso_era=lso_era(identity),
    )
    return Record(
        tools_version=_get(d, "tools_version", str, nullable=True),
        build=_get(d, "build", str, nullable=True),
        os_dir=os_dir,
        arch=arch,
        module=module,
        layout=layout,
        path=fp.name,
        source=_get(d, "source", str),
        synthetic=_get(d, "synthetic", bool),
        fingerprint=fp,
    )


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
    """Records plus the two lookups the exact and code-identical rungs need."""

    def __init__(self, records: Iterable[Record], dirs: Sequence[Path] = ()) -> None:
        unique: dict[tuple[str, ...], Record] = {}
        for record in records:
            unique.setdefault(record.key, record)
        self._records = tuple(unique.values())
        self.dirs = tuple(dirs)
        self._by_sha: dict[str, list[Record]] = {}
        self._by_code: dict[str, list[Record]] = {}
        for record in self._records:
            self._by_sha.setdefault(record.sha256, []).append(record)
            if record.code_hash:
                self._by_code.setdefault(record.code_hash, []).append(record)

    @property
    def records(self) -> tuple[Record, ...]:
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def by_sha256(self, sha256: str) -> tuple[Record, ...]:
        return tuple(self._by_sha.get(sha256, ()))

    def by_code_hash(self, code_hash: str) -> tuple[Record, ...]:
        return tuple(self._by_code.get(code_hash, ()))


def _load_file(path: Path) -> list[Record]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("schema") != FILE_SCHEMA:
        found = raw.get("schema") if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"{path}: not a fingerprint file (schema {found!r}, need {FILE_SCHEMA!r})")
    items = raw.get("records")
    if not isinstance(items, list):
        raise InputError(f"{path}: 'records' must be an array")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(record_from_dict(item))
        except ValueError as exc:
            raise InputError(f"{path}: records[{i}].{exc}") from None
    return out


def load_db(dirs: Sequence[Path]) -> FingerprintDB:
    """Read every ``*.json`` in each existing directory (sorted, so loading is deterministic).

    Missing directories are skipped (a fresh user has no database); a malformed file raises
    :class:`InputError` naming the file, record and field.
    """
    records: list[Record] = []
    used = []
    for d in dirs:
        directory = Path(d)
        if not directory.is_dir():
            continue
        used.append(directory)
        for path in sorted(directory.glob("*.json")):
            records.extend(_load_file(path))
    return FingerprintDB(records, used)


# --------------------------------------------------------------------------------------------
# Learning and saving


def _classify(relpath: str) -> Optional[tuple[str, str, str]]:
    """``(layout, os_dir, module)`` for a driver path, or ``None`` for anything else."""
    path = relpath.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    at = path.find(BINARY_PREFIX)
    if at < 0 or (at > 0 and path[at - 1] != "/"):
        return None
    parts = path[at + len(BINARY_PREFIX) :].split("/")
    if len(parts) == 2 and _SOLARIS_DIR_RE.fullmatch(parts[0]) and parts[1] in SOLARIS_MODULES:
        return "solaris", parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "objects" and parts[2].endswith(".o") and parts[2] != ".o":
        return "linux", parts[0], parts[2][:-2]
    return None


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

    ``members`` are ``(path relative to the distrib root, bytes)`` pairs; everything that is
    not ``lib/modules/binary/<osdir>/<module>`` (Solaris; ``*.conf`` skipped) or
    ``lib/modules/binary/<kernel-build>/objects/<module>.o`` (Linux) is ignored. Files that
    are not parsable ELF are skipped, and a line is appended to ``problems`` when given.
    ``synthetic`` is also forced on when a ``.comment`` says ``toolsfix synthetic``, so test
    objects can never pass for vendor builds in the database.
    """
    records: list[Record] = []
    for relpath, data in members:
        where = _classify(relpath)
        if where is None:
            continue
        layout, os_dir, module = where
        fp = fingerprint_bytes(data, name=relpath)
        if not fp.is_elf:
            if problems is not None:
                problems.append(f"{relpath}: skipped: {fp.error}")
            continue
        if layout == "solaris" and problems is not None:
            expected = "amd64" if os_dir.endswith("_64") else "i386"
            if fp.arch != expected:
                problems.append(
                    f"{relpath}: {fp.arch or fp.machine} object in a directory for {expected}"
                )
        is_synthetic = synthetic or any(SYNTHETIC_MARKER in c for c in fp.comments)
        norm = relpath.replace("\\", "/")
        norm = norm[norm.find(BINARY_PREFIX) :]
        records.append(
            Record(
                tools_version=tools_version,
                build=build,
                os_dir=os_dir,
                arch=fp.arch,
                module=module,
                layout=layout,
                path=norm,
                source=source,
                synthetic=is_synthetic,
                fingerprint=fp,
            )
        )
    return records


def _file_name(tools_version: Optional[str], build: Optional[str]) -> str:
    version = _SAFE_NAME_RE.sub("_", tools_version or "unknown")
    number = _SAFE_NAME_RE.sub("_", build or "unknown")
    return f"tools-{version}-{number}.json"


def _sort_key(record: Record) -> tuple[str, ...]:
    return (record.layout, record.os_dir, record.module, record.sha256, record.source)


def save_records(db_dir: Path, records: Iterable[Record]) -> list[Path]:
    """Write one JSON file per distrib (Tools version + build), merged with what is there.

    Records with the same key (layout, version, build, directory, module, sha256) replace the
    stored one; output is sorted with sorted keys and written atomically, so saving the same
    records twice changes nothing. Returns the files written.
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
            for old in _load_file(path):
                merged[old.key] = old
        for new in groups[file_name]:
            merged[new.key] = new
        ordered = sorted(merged.values(), key=_sort_key)
        document = {"schema": FILE_SCHEMA, "records": [r.to_dict() for r in ordered]}
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
        try:
            db.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{file_name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        written.append(path)
    return written


def load_all(extra: Sequence[Path] = ()) -> FingerprintDB:
    """The database every command uses: shipped records, the user's, then ``--db`` dirs."""
    return load_db([*default_db_dirs(), *extra])
