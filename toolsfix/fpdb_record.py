"""One fingerprint record: a known driver build, as stored in the database's JSON files.

Validated with plain Python (no jsonschema dependency: the core must run on a stock Solaris
Python); ``toolsfix/schemas/fingerprint-record.schema.json`` documents the same format for
humans and other tools. :mod:`toolsfix.fpdb` (the database) and :mod:`toolsfix.fpdb_store` (how
its files are read) both build on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Protocol

from toolsfix.jsondoc import FieldError, field, sha256_field, str_list_field
from toolsfix.knowledge import lso_era

if TYPE_CHECKING:  # loaded only to build full records (start-up time of exact matches)
    from toolsfix.fingerprint import DriverFingerprint

__all__ = [
    "FILE_SCHEMA",
    "RECORD_SCHEMA",
    "Known",
    "Record",
    "RecordHead",
    "head_from_row",
    "record_from_dict",
]

RECORD_SCHEMA = "toolsfix-fingerprint/1"
FILE_SCHEMA = "toolsfix-fingerprints/1"

_SHA_RE = re.compile(r"[0-9a-f]{64}")


def fact_key(known: Known) -> tuple[str, str, str, str, str, str]:
    """What makes two known builds the same fact, for a record and its head alike: where it
    ships and its bytes (the source it was learned from is deliberately not part of it)."""
    return (
        known.layout,
        known.tools_version or "",
        known.build or "",
        known.os_dir,
        known.module,
        known.sha256,
    )


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
        return fact_key(self)

    @property
    def identity(self) -> Optional[str]:
        return self.fingerprint.identity

    @property
    def elf_class(self) -> Optional[int]:
        return self.fingerprint.elf_class

    @property
    def machine(self) -> Optional[str]:
        return self.fingerprint.machine

    @property
    def head(self) -> RecordHead:
        """The fields an exact hash match reports (what the index stores beside the JSON)."""
        return RecordHead(
            tools_version=self.tools_version,
            build=self.build,
            os_dir=self.os_dir,
            arch=self.arch,
            module=self.module,
            layout=self.layout,
            path=self.path,
            source=self.source,
            synthetic=self.synthetic,
            sha256=self.sha256,
            identity=self.identity,
            elf_class=self.elf_class,
            machine=self.machine,
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


class Known(Protocol):
    """What the ``exact`` rung reads of a known build: a :class:`Record`, or its
    :class:`RecordHead` when the record comes from an index and nothing else is needed."""

    @property
    def tools_version(self) -> Optional[str]: ...
    @property
    def build(self) -> Optional[str]: ...
    @property
    def os_dir(self) -> str: ...
    @property
    def arch(self) -> Optional[str]: ...
    @property
    def module(self) -> str: ...
    @property
    def layout(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def synthetic(self) -> bool: ...
    @property
    def sha256(self) -> str: ...
    @property
    def identity(self) -> Optional[str]: ...
    @property
    def elf_class(self) -> Optional[int]: ...
    @property
    def machine(self) -> Optional[str]: ...
    @property
    def key(self) -> tuple[str, str, str, str, str, str]: ...


@dataclass(frozen=True)
class RecordHead:
    """A known build without its structure (sections, symbols, hashes of parts).

    An exact hash match needs only these fields: building and validating the whole record
    (~0.2 ms) for each of thousands of identified files would cost more than hashing them.
    """

    tools_version: Optional[str]
    build: Optional[str]
    os_dir: str
    arch: Optional[str]
    module: str
    layout: str
    path: str
    source: str
    synthetic: bool
    sha256: str
    identity: Optional[str]
    elf_class: Optional[int]
    machine: Optional[str]

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """Same as :attr:`Record.key`."""
        return fact_key(self)


# --------------------------------------------------------------------------------------------
# Validation (hand-written: mirrors schemas/fingerprint-record.schema.json)


def record_from_dict(d: Any) -> Record:
    """Validate one record dict and build a :class:`Record`; errors name the field.

    Raises :class:`ValueError` with a one-line message (``load_db`` adds the file name).
    """
    try:
        return _record_from_dict(d)
    except FieldError as exc:
        raise ValueError(str(exc)) from None


def _record_from_dict(d: Any) -> Record:
    # lazy: an exact match reads heads only and never needs the fingerprint module
    from toolsfix.fingerprint import DriverFingerprint, SectionInfo, parse_identity, symbols_digest

    if not isinstance(d, dict):
        raise FieldError(f"expected an object, got {type(d).__name__}")
    schema = field(d, "schema", str)
    if schema != RECORD_SCHEMA:
        raise FieldError(f"schema: unsupported {schema!r} (expected {RECORD_SCHEMA!r})")
    layout = field(d, "layout", str)
    if layout not in ("solaris", "linux"):
        raise FieldError(f"layout: expected 'solaris' or 'linux', got {layout!r}")
    arch = field(d, "arch", str, nullable=True)
    if arch not in (None, "i386", "amd64"):
        raise FieldError(f"arch: expected 'i386', 'amd64' or null, got {arch!r}")
    elf_class = field(d, "elf_class", int)
    if elf_class not in (32, 64):
        raise FieldError(f"elf_class: expected 32 or 64, got {elf_class!r}")
    size = field(d, "size", int)
    if size < 0:
        raise FieldError("size: must not be negative")
    os_dir = field(d, "os_dir", str)
    module = field(d, "module", str)
    if not os_dir or not module:
        raise FieldError("os_dir and module must not be empty")
    hashes = field(d, "section_hashes", dict)
    for k in hashes:
        if k not in ("text", "rodata", "data"):
            raise FieldError(f"section_hashes: unknown key {k!r}")
    sections = []
    for i, s in enumerate(field(d, "sections", list)):
        try:
            if not isinstance(s, dict):
                raise FieldError(f"expected an object, got {type(s).__name__}")
            sections.append(
                SectionInfo(
                    name=field(s, "name", str),
                    type=field(s, "type", int),
                    size=field(s, "size", int),
                    flags=field(s, "flags", int),
                )
            )
        except FieldError as exc:
            raise FieldError(f"sections[{i}].{exc}") from None
    symbols = str_list_field(d, "symbols")
    if list(symbols) != sorted(set(symbols)):
        raise FieldError("symbols: must be sorted and unique")
    digest = field(d, "symbols_digest", str, required=False)
    if digest is not None and digest != symbols_digest(symbols):
        raise FieldError("symbols_digest: does not match the symbols list")
    identity = field(d, "identity", str, nullable=True)
    dep_source = field(d, "dependency_source", str, nullable=True, required=False)
    if dep_source not in (None, "dynamic", "_depends_on"):
        raise FieldError(f"dependency_source: unexpected {dep_source!r}")
    fp = DriverFingerprint(
        name=field(d, "path", str),
        sha256=sha256_field(d, "sha256") or "",
        size=size,
        is_elf=True,
        elf_class=elf_class,
        machine=field(d, "machine", str),
        elf_type=field(d, "elf_type", str),
        osabi=field(d, "osabi", int),
        sections=tuple(sections),
        text_sha256=sha256_field(hashes, "text", nullable=True) if "text" in hashes else None,
        rodata_sha256=sha256_field(hashes, "rodata", nullable=True) if "rodata" in hashes else None,
        data_sha256=sha256_field(hashes, "data", nullable=True) if "data" in hashes else None,
        code_hash=sha256_field(d, "code_hash", nullable=True),
        symbols=symbols,
        undefined_symbols=str_list_field(d, "undefined_symbols")
        if "undefined_symbols" in d
        else (),
        dependencies=str_list_field(d, "dependencies"),
        dependency_source=dep_source,
        identity=identity,
        build_number=parse_identity(identity),
        comments=str_list_field(d, "comments") if "comments" in d else (),
        arch=arch,
        lso_era=lso_era(identity),
    )
    return Record(
        tools_version=field(d, "tools_version", str, nullable=True),
        build=field(d, "build", str, nullable=True),
        os_dir=os_dir,
        arch=arch,
        module=module,
        layout=layout,
        path=fp.name,
        source=field(d, "source", str),
        synthetic=field(d, "synthetic", bool),
        fingerprint=fp,
    )


# --------------------------------------------------------------------------------------------
# Heads as the index stores them


_STR_OR_NONE = (str, type(None))
_ARCHS = (None, "i386", "amd64")
_LAYOUTS = ("solaris", "linux")

#: The columns of a head, in the order :func:`head_from_row` reads them.
HEAD_COLUMNS: tuple[str, ...] = (
    "tools_version", "build", "os_dir", "arch", "module", "layout", "path", "source",
    "synthetic", "sha256", "identity", "elf_class", "machine",
)  # fmt: skip


def head_row(record: Record) -> tuple[Any, ...]:
    """A record's head as a row of :data:`HEAD_COLUMNS` (``synthetic`` as 0/1)."""
    h = record.head
    return (
        h.tools_version, h.build, h.os_dir, h.arch, h.module, h.layout, h.path, h.source,
        int(h.synthetic), h.sha256, h.identity, h.elf_class, h.machine,
    )  # fmt: skip


def _text(value: Any, name: str, *, nullable: bool = False) -> Any:
    if isinstance(value, str) or (value is None and nullable):
        return value
    raise FieldError(f"{name}: expected {'string or null' if nullable else 'string'}, "
                   f"got {type(value).__name__}")  # fmt: skip


def head_from_row(row: Sequence[Any]) -> RecordHead:
    """Validate a row of :data:`HEAD_COLUMNS` (values as SQLite returns them) into a head.

    The same rules as :func:`record_from_dict` for these fields, since an index file is as
    untrusted as the JSON beside it. Raises :class:`ValueError` naming the column.
    """
    try:
        return _head_from_row(row)
    except FieldError as exc:
        raise ValueError(str(exc)) from None


def _head_from_row(row: Sequence[Any]) -> RecordHead:
    if len(row) != len(HEAD_COLUMNS):
        raise FieldError(f"expected {len(HEAD_COLUMNS)} columns, got {len(row)}")
    (version, build, os_dir, arch, module, layout, path, source, synthetic, sha, identity,
     elf_class, machine) = row  # fmt: skip
    # One expression accepts a sound row (thousands are read per run); the checks below
    # only run to word what is wrong with a damaged one.
    if (
        type(version) in _STR_OR_NONE and type(build) in _STR_OR_NONE
        and type(os_dir) is str and os_dir and type(module) is str and module
        and arch in _ARCHS and layout in _LAYOUTS and type(path) is str
        and type(source) is str and type(synthetic) is int and synthetic in (0, 1)
        and type(sha) is str and len(sha) == 64 and _SHA_RE.fullmatch(sha)
        and type(identity) in _STR_OR_NONE and type(elf_class) is int
        and elf_class in (32, 64) and type(machine) is str
    ):  # fmt: skip
        return RecordHead(version, build, os_dir, arch, module, layout, path, source,
                          bool(synthetic), sha, identity, elf_class, machine)  # fmt: skip
    if layout not in ("solaris", "linux"):
        raise FieldError(f"layout: expected 'solaris' or 'linux', got {layout!r}")
    if arch not in (None, "i386", "amd64"):
        raise FieldError(f"arch: expected 'i386', 'amd64' or null, got {arch!r}")
    if type(elf_class) is not int or elf_class not in (32, 64):
        raise FieldError(f"elf_class: expected 32 or 64, got {elf_class!r}")
    if type(synthetic) is not int or synthetic not in (0, 1):
        raise FieldError(f"synthetic: expected 0 or 1, got {synthetic!r}")
    if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
        raise FieldError(f"sha256: expected 64 lower-case hex digits, got {sha!r}")
    if not _text(os_dir, "os_dir") or not _text(module, "module"):
        raise FieldError("os_dir and module must not be empty")
    return RecordHead(
        tools_version=_text(version, "tools_version", nullable=True),
        build=_text(build, "build", nullable=True),
        os_dir=os_dir,
        arch=arch,
        module=module,
        layout=layout,
        path=_text(path, "path"),
        source=_text(source, "source"),
        synthetic=bool(synthetic),
        sha256=sha,
        identity=_text(identity, "identity", nullable=True),
        elf_class=elf_class,
        machine=_text(machine, "machine"),
    )
