"""Identification rungs: how strongly a driver file matches a known build, said explicitly.

Following the trust ladder users know from ``rpm -V``/``pkg verify`` and grype's match types,
every answer names the rung that produced it, strongest first:

``exact``
    The file's sha256 equals a known record's. If several records share the bytes (the same
    build shipped in two directories or two releases) all of them are returned with
    ``ambiguous=True``: toolsfix never picks one.
``code-identical``
    Same relocation-aware code hash *and* same identity string, but other bytes differ
    (``.comment``, a signature, CTF data): the same build re-signed or re-packaged.
``nearest``
    No hash matches; a structural similarity score (sections, symbols, identity, dependencies,
    ELF header) found a known build above :data:`NEAREST_THRESHOLD`. Says "resembles", never
    "is".
``unknown``
    Not an ELF object, a class/machine no record has, or nothing similar enough. A result, not
    an error.

``location_arch`` is the architecture the file's *location* implies (``/kernel/drv/amd64``
-> ``amd64``). It never changes the rung -- the bytes are what they are -- but a mismatch is
reported in ``arch_mismatch`` (a 32-bit build copied into the 64-bit directory is itself a
finding for the checks to raise).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from toolsfix.fpdb import FingerprintDB, Known
from toolsfix.knowledge import lso_era

if TYPE_CHECKING:  # at run time loaded on first use (see __getattr__): start-up time
    from toolsfix.fingerprint import DriverFingerprint
    from toolsfix.fingerprint_similarity import (  # the scoring lives there; re-exported here
        WEIGHTS,
        Features,
        feature_similarity,
        similarity,
    )

__all__ = [
    "NEAREST_THRESHOLD",
    "RUNGS",
    "WEIGHTS",
    "Candidate",
    "Features",
    "Identification",
    "best_of",
    "feature_similarity",
    "identify",
    "identify_known",
    "prepare_nearest",
    "similarity",
]

RUNGS = ("exact", "code-identical", "nearest", "unknown")

_SCORING = frozenset({"WEIGHTS", "Features", "feature_similarity", "similarity"})


def __getattr__(name: str) -> Any:
    """The re-exported scoring names, imported on first use: identifying files by their hash
    (the common case) never scores, so it does not pay for loading the scoring module."""
    if name in _SCORING:
        from toolsfix import fingerprint_similarity  # lazy: start-up time of exact matches

        return getattr(fingerprint_similarity, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Minimum similarity for ``nearest``. Calibrated on a synthetic corpus of 240 builds (8 Tools
#: releases x 6 directories x 5 modules): another release's build of the same module and
#: directory scored >= 0.71 (the same module for another OS flavour >= 0.68), a tampered or
#: stripped copy 0.97-0.99 against its own build; a different module scored <= 0.42, a Linux
#: .ko carrying a copied identity string 0.25, a userland object 0.13. 0.6 leaves more margin
#: on the false-positive side (a wrong "resembles X" is worse than an honest "unknown").
#: Sections alone cannot reach it (every ``ld -r`` object has .text and .data): structure
#: weighs 0.20, symbols 0.35. tests/test_identify.py re-checks the gap on a smaller corpus.
NEAREST_THRESHOLD = 0.6
TOP_CANDIDATES = 5


@dataclass(frozen=True)
class Candidate:
    """A known build weighed against the file (score 1.0 for hash matches)."""

    tools_version: Optional[str]
    build: Optional[str]
    os_dir: str
    arch: Optional[str]
    module: str
    score: float
    layout: str = "solaris"
    path: str = ""
    sha256: str = ""
    synthetic: bool = False
    source: str = ""
    components: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_record(cls, record: Known, score: float,
                    components: tuple[tuple[str, float], ...] = ()) -> Candidate:  # fmt: skip
        return cls(
            tools_version=record.tools_version,
            build=record.build,
            os_dir=record.os_dir,
            arch=record.arch,
            module=record.module,
            score=round(score, 4),
            layout=record.layout,
            path=record.path,
            sha256=record.sha256,
            synthetic=record.synthetic,
            source=record.source,
            components=components,
        )

    def describe(self) -> str:
        version = self.tools_version or "?"
        build = self.build or "?"
        tag = " [synthetic]" if self.synthetic else ""
        return f"Tools {version} build {build}: {self.os_dir}/{self.module} ({self.score:.2f}){tag}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tools_version": self.tools_version,
            "build": self.build,
            "os_dir": self.os_dir,
            "arch": self.arch,
            "module": self.module,
            "score": self.score,
            "layout": self.layout,
            "path": self.path,
            "sha256": self.sha256,
            "synthetic": self.synthetic,
            "source": self.source,
        }
        if self.components:
            out["components"] = dict(self.components)
        return out


@dataclass(frozen=True)
class Identification:
    """The answer for one file: a rung, the candidates behind it and what they imply."""

    rung: str
    candidates: tuple[Candidate, ...]
    ambiguous: bool
    reason: str
    name: str = ""
    sha256: str = ""
    arch: Optional[str] = None
    location_arch: Optional[str] = None
    arch_mismatch: bool = False
    lso_era: str = "unknown"
    identity: Optional[str] = None

    @property
    def score(self) -> Optional[float]:
        """The similarity behind a ``nearest`` answer; hash rungs need no score."""
        if self.rung == "nearest" and self.candidates:
            return self.candidates[0].score
        return None

    @property
    def best(self) -> Optional[Candidate]:
        """The single candidate, or ``None`` when there is none or the answer is ambiguous."""
        if not self.candidates or self.ambiguous:
            return None
        return self.candidates[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "rung": self.rung,
            "score": self.score,
            "ambiguous": self.ambiguous,
            "reason": self.reason,
            "identity": self.identity,
            "arch": self.arch,
            "location_arch": self.location_arch,
            "arch_mismatch": self.arch_mismatch,
            "lso_era": self.lso_era,
            "candidates": [c.to_dict() for c in self.candidates],
        }


# --------------------------------------------------------------------------------------------
# Identification


def _distinct(records: Sequence[Known]) -> int:
    return len({(r.layout, r.tools_version, r.build, r.os_dir, r.module) for r in records})


def _era(identity: Optional[str], records: Sequence[Known]) -> str:
    """LSO era from the matched records' Tools version and directory, if they all agree."""
    eras = {lso_era(identity, r.tools_version, r.os_dir) for r in records}
    return eras.pop() if len(eras) == 1 else "unknown"


_R = TypeVar("_R", bound=Known)


def _order(records: Iterable[_R]) -> list[_R]:
    return sorted(records, key=lambda r: (r.layout, r.tools_version or "", r.build or "",
                                          r.os_dir, r.module, r.source))  # fmt: skip


def prepare_nearest(db: FingerprintDB) -> None:
    """Build ``db``'s nearest-match index now (it is built once per database, on first use).

    For a caller with idle time before its first nearest match, e.g. while a worker process
    imports LIEF and parses (:func:`toolsfix.fingerprint_pool.fingerprint_paths`).
    """
    from toolsfix.fingerprint_similarity import _index  # lazy: start-up time of exact matches

    _index(db)


def identify(
    fp: DriverFingerprint, db: FingerprintDB, *, location_arch: Optional[str] = None
) -> Identification:
    """Place ``fp`` on the rung ladder against ``db`` (see the module docstring)."""
    found = _hash_match(fp, db, location_arch)
    return found if found is not None else _unhashed(fp, db, location_arch)


def _hash_match(
    fp: DriverFingerprint, db: FingerprintDB, location_arch: Optional[str]
) -> Optional[Identification]:
    """The ``exact`` or ``code-identical`` answer for ``fp`` in ``db``; None when neither rung
    applies (or ``fp`` is no ELF object: that answer is :func:`_unhashed`'s)."""
    if not fp.is_elf:
        return None
    mismatch = _mismatch(fp.is_elf, fp.arch, location_arch)
    common = _common(fp.name, fp.sha256, fp.arch, fp.identity, location_arch, mismatch)
    result = _hash_rungs(fp, db, common)
    if result is None:
        return None
    return _noted(result, mismatch, fp.arch, fp.elf_class, fp.machine, location_arch)


def _unhashed(
    fp: DriverFingerprint, db: FingerprintDB, location_arch: Optional[str]
) -> Identification:
    """The answer for ``fp`` in ``db`` when no hash rung applies: ``unknown`` for what is no
    ELF object, else ``nearest`` or ``unknown`` by similarity."""
    mismatch = _mismatch(fp.is_elf, fp.arch, location_arch)
    common = _common(fp.name, fp.sha256, fp.arch, fp.identity, location_arch, mismatch)
    if not fp.is_elf:
        return Identification("unknown", (), False, fp.error or "not an ELF object", **common,
                              lso_era="unknown")  # fmt: skip
    result = _nearest(fp, db, common)
    return _noted(result, mismatch, fp.arch, fp.elf_class, fp.machine, location_arch)


def identify_known(
    name: str, known: Sequence[Known], *, location_arch: Optional[str] = None
) -> Identification:
    """The ``exact`` answer for a file whose sha256 the database knows, from the matching
    records alone (``known``: what :meth:`FingerprintDB.by_sha256` returns, in that order).

    Equal to :func:`identify` of the file's fingerprint: a fingerprint is a function of the
    bytes, so the first record's identity, class and machine are the file's. Neither the file
    nor a full record is parsed; that is what makes identifying the files of a learned
    release cost little more than hashing them.
    """
    first = known[0]
    mismatch = _mismatch(True, first.arch, location_arch)
    common = _common(name, first.sha256, first.arch, first.identity, location_arch, mismatch)
    result = _exact(first.identity, _order(known), common)
    return _noted(result, mismatch, first.arch, first.elf_class, first.machine, location_arch)


def _mismatch(is_elf: bool, arch: Optional[str], location_arch: Optional[str]) -> bool:
    return bool(location_arch and arch and arch != location_arch) or bool(
        location_arch and is_elf and arch is None
    )


def _common(
    name: str, sha256: str, arch: Optional[str], identity: Optional[str],
    location_arch: Optional[str], mismatch: bool,
) -> dict[str, Any]:  # fmt: skip
    """The fields every rung's answer shares: what the file is and where it sits."""
    return {
        "name": name,
        "sha256": sha256,
        "arch": arch,
        "location_arch": location_arch,
        "arch_mismatch": mismatch,
        "identity": identity,
    }


def _noted(
    result: Identification, mismatch: bool, arch: Optional[str], elf_class: Optional[int],
    machine: Optional[str], location_arch: Optional[str],
) -> Identification:  # fmt: skip
    """``result`` with the location mismatch, if any, added to its reason."""
    if not mismatch:
        return result
    what = arch or f"ELF{elf_class} {machine}"
    note = f"the file is {what} but its location is {location_arch}"
    return replace(result, reason=f"{result.reason}; {note}")


def _exact(
    identity: Optional[str], exact: Sequence[Known], common: dict[str, Any]
) -> Identification:
    """The ``exact`` rung over the (ordered, non-empty) records sharing the file's sha256."""
    builds = _distinct(exact)
    ambiguous = builds > 1
    why = "same sha256 as a known build"
    if ambiguous:
        why = f"same sha256 as {builds} known builds: cannot tell which one"
    return Identification(
        "exact",
        tuple(Candidate.from_record(r, 1.0) for r in exact),
        ambiguous,
        why,
        lso_era=_era(identity, exact),
        **common,
    )


def best_of(
    fp: DriverFingerprint,
    dbs: Sequence[tuple[str, FingerprintDB]],
    *,
    location_arch: Optional[str] = None,
) -> tuple[Identification, str]:
    """The strongest answer for ``fp`` over several databases, and the label of the one that
    gave it.

    ``dbs`` are tried in order (a guest's own ``LIBDIR`` builds first: the same release as the
    installed drivers, so the strongest evidence); a hash rung (``exact``, ``code-identical``)
    ends the search, otherwise the best rung wins and an earlier database wins a tie. With no
    database at all the answer is ``unknown``.

    Every database is asked for a hash rung before any is scored: a hash rung in a later
    database beats whatever similarity finds in an earlier one, so a build that the guest's own
    ``LIBDIR`` lacks but the shipped database knows is answered without loading the scoring
    module or building a nearest-match index.
    """
    for name, db in dbs:
        found = _hash_match(fp, db, location_arch)
        if found is not None:
            return found, name
    best: Optional[Identification] = None
    label = ""
    for name, db in dbs:
        ident = _unhashed(fp, db, location_arch)
        if best is None or RUNGS.index(ident.rung) < RUNGS.index(best.rung):
            best, label = ident, name
    if best is None:
        best = identify(fp, FingerprintDB(()), location_arch=location_arch)
    return best, label


def _hash_rungs(
    fp: DriverFingerprint, db: FingerprintDB, common: dict[str, Any]
) -> Optional[Identification]:
    """The hash rungs in order (``exact``, then ``code-identical``); None when neither applies."""
    exact = _order(db.by_sha256(fp.sha256))
    if exact:
        return _exact(fp.identity, exact, common)

    if fp.code_hash:
        same_code = _order(
            r for r in db.by_code_hash(fp.code_hash) if r.fingerprint.identity == fp.identity
        )
        if same_code:
            ambiguous = _distinct(same_code) > 1
            differ = _metadata_differences(fp, same_code[0].fingerprint)
            why = "same code and identity as a known build; differs in " + (
                ", ".join(differ) or "file layout"
            )
            if ambiguous:
                why += f" ({_distinct(same_code)} builds share this code: cannot tell which one)"
            return Identification(
                "code-identical",
                tuple(Candidate.from_record(r, 1.0) for r in same_code),
                ambiguous,
                why,
                lso_era=_era(fp.identity, same_code),
                **common,
            )
    return None


def _nearest(fp: DriverFingerprint, db: FingerprintDB, common: dict[str, Any]) -> Identification:
    """The ``nearest`` rung, or ``unknown`` when nothing known is similar enough."""
    # lazy: only the nearest rung scores (start-up time of hash matches)
    from toolsfix.fingerprint_similarity import Features, _index, _top

    mine = Features.of(fp)
    group = _index(db).get((mine.elf_class, mine.machine))
    if group is None:
        what = f"ELF{fp.elf_class} {fp.machine}"
        return Identification(
            "unknown", (), False, f"no known build has the same class and machine ({what})",
            lso_era=fp.lso_era, **common,
        )  # fmt: skip
    top = _top(mine, group, TOP_CANDIDATES)
    candidates = tuple(Candidate.from_record(r, s, tuple(sorted(p.items()))) for s, r, p in top)
    best_score = top[0][0]
    if best_score < NEAREST_THRESHOLD:
        return Identification(
            "unknown",
            candidates,
            False,
            f"nothing similar enough: best score {best_score:.2f} < {NEAREST_THRESHOLD}",
            lso_era=fp.lso_era,
            **common,
        )
    tied = [c for c in candidates if c.score == candidates[0].score]
    ambiguous = _distinct([r for s, r, _ in top if round(s, 4) == tied[0].score]) > 1
    why = f"no hash match; most similar known build scores {best_score:.2f}"
    if ambiguous:
        why += f" ({len(tied)} builds tie)"
    return Identification("nearest", candidates, ambiguous, why, lso_era=fp.lso_era, **common)


def _metadata_differences(a: DriverFingerprint, b: DriverFingerprint) -> list[str]:
    from toolsfix.fingerprint_similarity import _METADATA_SECTIONS  # lazy: start-up time

    differ = []
    if a.comments != b.comments:
        differ.append(".comment")
    sizes_a = {s.name: s.size for s in a.sections}
    sizes_b = {s.name: s.size for s in b.sections}
    for name in sorted(set(sizes_a) | set(sizes_b)):
        if name in (".comment",):
            continue
        if sizes_a.get(name) != sizes_b.get(name) and name in _METADATA_SECTIONS | {".dynamic"}:
            differ.append(name)
    if a.symbols != b.symbols:
        differ.append("symbols")
    if a.dependencies != b.dependencies:
        differ.append("dependencies")
    if a.osabi != b.osabi:
        differ.append("EI_OSABI")
    return differ
