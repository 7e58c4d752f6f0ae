"""Proofs on record: what the sandbox established about a configurator, kept by its sha256.

The sandboxed proof (:mod:`toolsfix.perl`) of one configurator always gives the same answer
for the same bytes, the same simulated guests and the same harness. ``fingerprints learn``
therefore records it beside the driver fingerprints of the distrib it learns, so that a later
``scan`` or ``verify`` meeting those exact bytes again -- every image build of a pipeline
scans the same Tools tarball -- takes the answer from the record instead of starting perl,
and says so (``"source": "record"``). The records also name a release: a configurator that
claims a version and build on record but whose bytes differ from every copy of that release
on record has been modified (by ``toolsfix patch``, by hand, or by someone else), and the
configurator service reports that for a distrib (TF112; not for an installed copy, which the
tar installer may rewrite as it copies it).

A record is used only when all of these hold, so an answer never outlives what it was
computed from:

* the file's sha256 is the record's;
* every guest asked for is one the record simulated (a ``scan --guest`` guest is not);
* the *harness* is the same: a digest of the sources that turn a file into its proof
  (``sandbox.pl`` and the Perl-side modules) and of the modules the selection is run for. An
  upgraded toolsfix proves the file again;
* the *perl* is the same executable (real path, size, modification time): whether a file
  compiles depends on the perl (``defined(@array)`` compiled until perl 5.22), so another or
  an upgraded perl proves the file again.

Where they live: ``<database dir>/configurators/tools-<version>-<build>.json`` under the same
database directories as the fingerprints (:func:`toolsfix.datadirs.default_db_dirs`): the shipped
one holds none (no real VMware configurator can be proved here without the real file), the
user's is filled by ``fingerprints learn``. The files are untrusted input like any database:
read bounded, validated field by field, an error names the file and the field. Whoever can
write the user database can already make toolsfix misidentify drivers; the same holds here,
which is why ``--reprove`` exists and the record an answer came from is always shown.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Optional, TypeVar

from toolsfix.atomicfile import atomic_write
from toolsfix.datadirs import default_db_dirs, release_file_name
from toolsfix.errors import InputError
from toolsfix.jsondoc import FieldError, document_items, field, sha256_field, str_list_field
from toolsfix.knowledge import CONFIGURED_MODULES, Guest
from toolsfix.perl import Call, CompileCheck, Execution, find_perl
from toolsfix.safeio import MAX_DB_FILE_BYTES, read_bounded

__all__ = [
    "FILE_SCHEMA",
    "RECORD_SCHEMA",
    "SUBDIR",
    "ProofRecord",
    "ProofTable",
    "harness_id",
    "is_synthetic",
    "load_all",
    "load_table",
    "perl_identity",
    "save_proof",
]

RECORD_SCHEMA = "toolsfix-configurator-proof/1"
FILE_SCHEMA = "toolsfix-configurator-proofs/1"
#: Where the proof files sit inside a database directory (the fingerprint files sit at its top
#: level, and :func:`toolsfix.fpdb.load_db` reads only those).
SUBDIR = "configurators"
#: The sources whose bytes decide what a proof is: change one and every record is stale.
HARNESS_SOURCES: tuple[str, ...] = (
    "sandbox.pl",
    "perl.py",
    "perl_confine.py",
    "perl_neutral.py",
    "perltext.py",
)
#: What toolsfix's own sample configurators say of themselves near the top.
SYNTHETIC_MARKERS: tuple[str, ...] = ("SYNTHETIC sample written for toolsfix", "toolsfix synthetic")
_T = TypeVar("_T")


def is_synthetic(text: str) -> bool:
    """Is this configurator one of toolsfix's samples (a marker in its first 2 KB)?"""
    head = text[:2048]
    return any(marker in head for marker in SYNTHETIC_MARKERS)


def perl_identity(perl: Optional[str]) -> Optional[str]:
    """Which perl this is, from one ``stat``: ``realpath:size:mtime_ns``; None without one.
    A package upgrade replaces the executable, so its identity changes with its version."""
    if perl is None:
        return None
    try:
        real = os.path.realpath(perl)
        st = os.stat(real)
    except OSError:
        return None
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


@cache
def harness_id() -> Optional[str]:
    """The digest of :data:`HARNESS_SOURCES` as installed and of the modules the selection
    is run for (:data:`~toolsfix.knowledge.CONFIGURED_MODULES`), or None when a source cannot
    be read (an install without sources): then no record matches and nothing is recorded."""
    digest = hashlib.sha256()
    digest.update(f"modules\0{' '.join(CONFIGURED_MODULES)}\0".encode())
    # The sources beside this module, as the sandbox itself finds sandbox.pl
    # (:data:`toolsfix.perl.HARNESS`): importlib.resources would cost a scan the import of
    # its readers and zipfile for the same files.
    package = Path(__file__).parent
    for name in HARNESS_SOURCES:
        try:
            data = package.joinpath(name).read_bytes()
        except OSError:
            return None
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def identities() -> tuple[Optional[str], Optional[str]]:
    """(harness, perl) of this installation: what a proof must have been made with to count
    here, and what a new record is stamped with."""
    return harness_id(), perl_identity(find_perl())


# --------------------------------------------------------------------------------------------
# One record


@dataclass(frozen=True)
class ProofRecord:
    """The proof of one configurator file, as the sandbox gave it.

    ``execution`` and ``compiled`` are exactly what :func:`toolsfix.perl.execute` and
    :func:`toolsfix.perl.compile_check` returned; ``guests`` the guests it simulated;
    ``source`` the distrib it was learned from; ``file`` the record file it was read from
    (empty before it is saved).
    """

    sha256: str
    size: int
    version: Optional[str]
    build: Optional[str]
    product: Optional[str]
    harness: str
    perl: str
    guests: tuple[Guest, ...]
    execution: Execution
    compiled: CompileCheck
    source: str
    synthetic: bool = False
    file: str = ""

    def covers(self, guests: Iterable[Guest]) -> bool:
        """Did the recorded run simulate every guest of ``guests`` (same uname and release)?"""
        have = set(self.guests)
        return all(g in have for g in guests)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored (no ``file``: that is where it is stored)."""
        ex = self.execution
        runs = sorted(set(ex.calls) | set(ex.returns) | set(ex.errors))
        return {
            "schema": RECORD_SCHEMA,
            "sha256": self.sha256,
            "size": self.size,
            "version": self.version,
            "build": self.build,
            "product": self.product,
            "harness": self.harness,
            "perl": self.perl,
            "source": self.source,
            "synthetic": self.synthetic,
            "guests": [[g.name, g.uname_r, g.uname_v, g.release] for g in self.guests],
            "execution": {
                "ran": ex.ran,
                "reason": ex.reason,
                "compiled": list(ex.compiled),
                "stubbed": [list(p) for p in ex.stubbed],
                "compile_errors": [list(p) for p in ex.compile_errors],
                "repaired_comments": ex.repaired_comments,
                "confinement": list(ex.confinement),
                "runs": [
                    {
                        "guest": guest,
                        "module": module,
                        "calls": [[c.func, *c.args] for c in ex.calls.get((guest, module), ())],
                        "returns": ex.returns.get((guest, module)),
                        "error": ex.errors.get((guest, module)),
                    }
                    for guest, module in runs
                ],
            },
            "compile": {
                "compiles": self.compiled.compiles,
                "error": self.compiled.error,
                "line": self.compiled.line,
                "reason": self.compiled.reason,
                "confinement": list(self.compiled.confinement),
            },
        }


def _strings(value: Any, length: Optional[int] = None) -> bool:
    """Is ``value`` a JSON array of strings (of ``length`` items, or at least one)?"""
    return (
        isinstance(value, list)
        and (len(value) == length if length is not None else len(value) > 0)
        and all(isinstance(v, str) for v in value)
    )


def _pairs(d: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    out = []
    for i, item in enumerate(field(d, key, list)):
        if not _strings(item, 2):
            raise FieldError(f"{key}[{i}]: expected a pair of strings")
        out.append((item[0], item[1]))
    return tuple(out)


_Run = tuple[str, str]  # (guest, module)


def _runs(runs: list[Any]) -> tuple[dict[_Run, tuple[Call, ...]], dict[_Run, str], dict[_Run, str]]:
    """The per guest and module outcomes of an execution (``calls``, ``returns``, ``errors``)."""
    calls: dict[_Run, tuple[Call, ...]] = {}
    returns: dict[_Run, str] = {}
    errors: dict[_Run, str] = {}
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise FieldError(f"runs[{i}]: expected object")
        try:
            key = (field(run, "guest", str), field(run, "module", str))
            made = []
            for call in field(run, "calls", list):
                if not _strings(call):
                    raise FieldError("calls: expected arrays of strings, function name first")
                made.append(Call(call[0], tuple(call[1:])))
            got = field(run, "returns", str, nullable=True)
            error = field(run, "error", str, nullable=True)
        except FieldError as exc:
            raise FieldError(f"runs[{i}].{exc}") from None
        if made:
            calls[key] = tuple(made)
        if got is not None:
            returns[key] = got
        if error is not None:
            errors[key] = error
    return calls, returns, errors


def _execution(d: Mapping[str, Any]) -> Execution:
    calls, returns, errors = _runs(field(d, "runs", list))
    repaired = field(d, "repaired_comments", int)
    if repaired < 0:
        raise FieldError("repaired_comments: expected a count, got a negative number")
    return Execution(
        ran=field(d, "ran", bool),
        reason=field(d, "reason", str),
        compiled=str_list_field(d, "compiled"),
        stubbed=_pairs(d, "stubbed"),
        compile_errors=_pairs(d, "compile_errors"),
        repaired_comments=repaired,
        calls=calls,
        returns=returns,
        errors=errors,
        confinement=str_list_field(d, "confinement"),
    )


def _compile(d: Mapping[str, Any]) -> CompileCheck:
    return CompileCheck(
        compiles=field(d, "compiles", bool, nullable=True),
        error=field(d, "error", str),
        line=field(d, "line", int, nullable=True),
        reason=field(d, "reason", str),
        confinement=str_list_field(d, "confinement"),
    )


def _nested(d: Mapping[str, Any], key: str, build: Callable[[Mapping[str, Any]], _T]) -> _T:
    try:
        return build(field(d, key, dict))
    except FieldError as exc:
        raise FieldError(f"{key}.{exc}") from None


def _record(d: Any, file: str) -> ProofRecord:
    if not isinstance(d, dict):
        raise FieldError(f"expected object, got {type(d).__name__}")
    if d.get("schema") != RECORD_SCHEMA:
        raise FieldError(f"schema: expected {RECORD_SCHEMA!r}")
    sha = sha256_field(d, "sha256") or ""
    guests = []
    for i, g in enumerate(field(d, "guests", list)):
        if not _strings(g, 4):
            raise FieldError(f"guests[{i}]: expected [name, uname -r, uname -v, release]")
        guests.append(Guest(*g))
    size = field(d, "size", int)
    if size < 0:
        raise FieldError("size: expected a size, got a negative number")
    return ProofRecord(
        sha256=sha,
        size=size,
        version=field(d, "version", str, nullable=True),
        build=field(d, "build", str, nullable=True),
        product=field(d, "product", str, nullable=True),
        harness=field(d, "harness", str),
        perl=field(d, "perl", str),
        guests=tuple(guests),
        execution=_nested(d, "execution", _execution),
        compiled=_nested(d, "compile", _compile),
        source=field(d, "source", str),
        synthetic=field(d, "synthetic", bool),
        file=file,
    )


def load_file(path: Path) -> list[ProofRecord]:
    """The records of one proof file, read bounded (regular files only, never blocking); any
    defect is one :class:`InputError` line naming the file, the record and the field."""
    data = read_bounded(path, limit=MAX_DB_FILE_BYTES, what="proof record file")
    out = []
    for i, item in enumerate(document_items(path, data, FILE_SCHEMA, "proof record file")):
        try:
            out.append(_record(item, str(path)))
        except FieldError as exc:
            raise InputError(f"{path}: records[{i}].{exc}") from None
    return out


# --------------------------------------------------------------------------------------------
# The table


class ProofTable:
    """The proofs on record in some database directories, by sha256 and by release."""

    def __init__(self, records: Iterable[ProofRecord] = ()) -> None:
        self.records = tuple(records)
        self._by_sha: dict[str, list[ProofRecord]] = {}
        for record in self.records:
            self._by_sha.setdefault(record.sha256, []).append(record)

    def proof_for(
        self,
        sha256: str,
        guests: Sequence[Guest],
        identities: Callable[[], tuple[Optional[str], Optional[str]]],
    ) -> Optional[ProofRecord]:
        """A record that answers for these bytes, guests, harness and perl (the first on
        record); None when either identity is unknown. ``identities`` gives (harness, perl)
        and is called only when a record has these bytes: digesting the harness sources
        reads ~100 KB, which a scan of a file never recorded should not pay."""
        candidates = self._by_sha.get(sha256, ())
        if not candidates:
            return None
        harness, perl = identities()
        if harness is None or perl is None:
            return None
        for record in candidates:
            if record.harness == harness and record.perl == perl and record.covers(guests):
                return record
        return None

    def same_release(
        self, version: Optional[str], build: Optional[str], sha256: str
    ) -> tuple[ProofRecord, ...]:
        """Records of the release ``version`` + ``build`` whose bytes are *not* ``sha256``,
        when no record has these bytes: the copies a modified file differs from. Both parts
        must be known: a file without a build number names no release."""
        if not version or not build or sha256 in self._by_sha:
            return ()
        return tuple(r for r in self.records if r.version == version and r.build == build)


def load_table(dirs: Sequence[Path]) -> ProofTable:
    """Every ``configurators/*.json`` of the existing directories among ``dirs``, in order
    (a directory without proofs costs one ``stat``)."""
    records: list[ProofRecord] = []
    for d in dirs:
        folder = Path(d) / SUBDIR
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            records.extend(load_file(path))
    return ProofTable(records)


def load_all(extra: Sequence[Path] = ()) -> ProofTable:
    """The proofs every command uses: the shipped and user databases, then ``--db`` dirs."""
    return load_table([*default_db_dirs(), *extra])


def save_proof(db_dir: Path, record: ProofRecord) -> Path:
    """Merge ``record`` into its release's file under ``db_dir/configurators`` (same sha256,
    harness and perl: the new one wins); sorted keys and records, atomic replace, so recording
    the same proof twice changes nothing. Returns the file written."""
    folder = Path(db_dir) / SUBDIR
    path = folder / release_file_name(record.version, record.build)
    merged: dict[tuple[str, str, str], ProofRecord] = {}
    if path.exists():
        for old in load_file(path):
            merged[(old.sha256, old.harness, old.perl)] = old
    merged[(record.sha256, record.harness, record.perl)] = record
    doc = {
        "schema": FILE_SCHEMA,
        "records": [merged[k].to_dict() for k in sorted(merged)],
    }
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode(), mode=0o644)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
