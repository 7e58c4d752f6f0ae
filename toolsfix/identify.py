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

import heapq
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional

from toolsfix.fingerprint import DriverFingerprint, SectionInfo
from toolsfix.fpdb import FingerprintDB, Record
from toolsfix.knowledge import lso_era

__all__ = [
    "NEAREST_THRESHOLD",
    "RUNGS",
    "WEIGHTS",
    "Candidate",
    "Identification",
    "best_of",
    "identify",
    "similarity",
]

RUNGS = ("exact", "code-identical", "nearest", "unknown")

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

#: Component weights of :func:`similarity` (sum 1.0). Symbols carry the most: a driver's
#: function names are its most stable trait across rebuilds, while sizes drift per build.
#: ``content`` (equal .text/.rodata hashes) keeps a same-shaped but altered file below 1.0;
#: ``.data`` is left out because in ET_REL its pointer slots are zero until relocated, so
#: unrelated modules often have byte-identical ``.data``.
WEIGHTS = {
    "sections": 0.20,
    "symbols": 0.35,
    "undefined": 0.10,
    "identity": 0.15,
    "dependencies": 0.10,
    "content": 0.05,
    "header": 0.05,
}

_METADATA_SECTIONS = {".comment", ".SUNW_signature", ".SUNW_ctf", ".symtab", ".strtab",
                      ".shstrtab"}  # fmt: skip


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
    def from_record(cls, record: Record, score: float,
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
# Similarity


@dataclass(frozen=True)
class Features:
    """What :func:`similarity` compares, computed once per fingerprint.

    Nearest-match scoring weighs one file against every comparable record; rebuilding the
    symbol sets and section maps for each pair cost ~25 us per record (50 ms per file against
    2,000 records). Records' features are computed once per database (:func:`_index`), so a
    comparison is a handful of C-level set operations.
    """

    elf_class: Optional[int]
    machine: Optional[str]
    structural: dict[str, int]
    symbols: frozenset[str]
    undefined: frozenset[str]
    identity: Optional[str]
    dependencies: frozenset[str]
    text_sha256: Optional[str]
    rodata_sha256: Optional[str]
    header: tuple[Optional[str], Optional[int]]

    @classmethod
    def of(cls, fp: DriverFingerprint) -> Features:
        return cls(
            elf_class=fp.elf_class,
            machine=fp.machine,
            structural=_structural(fp.sections),
            symbols=frozenset(fp.symbols),
            undefined=frozenset(fp.undefined_symbols),
            identity=fp.identity,
            dependencies=frozenset(fp.dependencies),
            text_sha256=fp.text_sha256,
            rodata_sha256=fp.rodata_sha256,
            header=(fp.elf_type, fp.osabi),
        )


def _jaccard(sa: frozenset[str], sb: frozenset[str]) -> Optional[float]:
    if not sa and not sb:
        return None
    inter = len(sa & sb)
    return inter / (len(sa) + len(sb) - inter)


def _structural(sections: Sequence[SectionInfo]) -> dict[str, int]:
    return {s.name: s.size for s in sections if s.name not in _METADATA_SECTIONS}


def _section_score(pa: dict[str, int], pb: dict[str, int]) -> Optional[float]:
    common = pa.keys() & pb.keys()
    names = len(pa) + len(pb) - len(common)
    if not names:
        return None
    ratio = 0.0
    for n in common:
        x, y = pa[n], pb[n]
        hi = x if x > y else y
        ratio += (y if x > y else x) / hi if hi else 1.0
    return 0.4 * len(common) / names + 0.6 * ratio / names


def _identity_score(a: Optional[str], b: Optional[str]) -> Optional[float]:
    if a is None and b is None:
        return None
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    family = ("VMware EtherAdapter v3 ", "VMware Ethernet v3 ")
    return 0.5 if any(a.startswith(f) and b.startswith(f) for f in family) else 0.0


def _content_score(a: Features, b: Features) -> Optional[float]:
    pairs = [
        (x, y)
        for x, y in ((a.text_sha256, b.text_sha256), (a.rodata_sha256, b.rodata_sha256))
        if x is not None or y is not None
    ]
    if not pairs:
        return None
    return sum(x == y for x, y in pairs) / len(pairs)


def similarity(a: DriverFingerprint, b: DriverFingerprint) -> tuple[float, dict[str, float]]:
    """Structural similarity in [0, 1] plus its components (for the report).

    Components with nothing to compare on either side (two stripped objects have no
    symbols; two non-vmxnet3s modules have no identity; neither declares dependencies) are
    left out and the remaining weights renormalised, so a shared *absence* is never counted
    as agreement. Different ELF class or machine is 0: such a file cannot be a variant of
    that build.
    """
    return feature_similarity(Features.of(a), Features.of(b))


def feature_similarity(a: Features, b: Features) -> tuple[float, dict[str, float]]:
    """:func:`similarity` on precomputed :class:`Features`."""
    if a.elf_class != b.elf_class or a.machine != b.machine:
        return 0.0, {}
    parts: dict[str, Optional[float]] = {
        "sections": _section_score(a.structural, b.structural),
        "symbols": _jaccard(a.symbols, b.symbols),
        "undefined": _jaccard(a.undefined, b.undefined),
        "identity": _identity_score(a.identity, b.identity),
        "dependencies": _jaccard(a.dependencies, b.dependencies),
        "content": _content_score(a, b),
        "header": 0.5 * (a.header[0] == b.header[0]) + 0.5 * (a.header[1] == b.header[1]),
    }
    total_weight = 0.0
    score = 0.0
    present: dict[str, float] = {}
    for k, v in parts.items():
        if v is None:
            continue
        w = WEIGHTS[k]
        total_weight += w
        score += w * v
        present[k] = round(v, 4)
    if not total_weight:
        return 0.0, {}
    return score / total_weight, present


_W_SECTIONS = WEIGHTS["sections"]
_W_SYMBOLS = WEIGHTS["symbols"]
_W_UNDEFINED = WEIGHTS["undefined"]
_W_IDENTITY = WEIGHTS["identity"]
_W_DEPENDENCIES = WEIGHTS["dependencies"]
_W_CONTENT = WEIGHTS["content"]
_W_HEADER = WEIGHTS["header"]


def _bits(items: Iterable[str], vocab: dict[str, int]) -> int:
    """A set of names as an integer bitset over ``vocab`` (names outside it contribute no bit)."""
    out = 0
    for item in items:
        bit = vocab.get(item)
        if bit is not None:
            out |= 1 << bit
    return out


def _popcount(x: int) -> int:
    return bin(x).count("1")


if hasattr(int, "bit_count"):  # Python 3.10+; 3.9 (Solaris 11.4's) takes the bin() path
    _popcount = int.bit_count  # type: ignore[assignment]


def _bit_jaccard(ba: int, la: int, bb: int, lb: int) -> Optional[float]:
    """:func:`_jaccard` on bitsets: the same formula, so the same float."""
    if not la and not lb:
        return None
    inter = _popcount(ba & bb)
    return inter / (la + lb - inter)


@dataclass(frozen=True)
class _Probe:
    """The file being identified, in the index's bitset vocabulary."""

    features: Features
    symbols: int
    undefined: int


@dataclass(frozen=True)
class _Member:
    record: Record
    features: Features
    undefined: int


def _score(p: _Probe, m: _Member, symbol_js: Optional[float]) -> float:
    """:func:`feature_similarity`'s score alone, without building the component map.

    The same arithmetic in the same order (so the same float), unrolled, with the symbol
    Jaccard computed once per bucket and the undefined-symbol Jaccard on bitsets: this is the
    inner loop of nearest-match ranking. A test holds it equal to :func:`feature_similarity`.
    """
    a, b = p.features, m.features
    if a.elf_class != b.elf_class or a.machine != b.machine:
        return 0.0
    total = 0.0
    score = 0.0
    v = _section_score(a.structural, b.structural)
    if v is not None:
        total += _W_SECTIONS
        score += _W_SECTIONS * v
    if symbol_js is not None:
        total += _W_SYMBOLS
        score += _W_SYMBOLS * symbol_js
    v = _bit_jaccard(p.undefined, len(a.undefined), m.undefined, len(b.undefined))
    if v is not None:
        total += _W_UNDEFINED
        score += _W_UNDEFINED * v
    v = _identity_score(a.identity, b.identity)
    if v is not None:
        total += _W_IDENTITY
        score += _W_IDENTITY * v
    v = _jaccard(a.dependencies, b.dependencies)
    if v is not None:
        total += _W_DEPENDENCIES
        score += _W_DEPENDENCIES * v
    v = _content_score(a, b)
    if v is not None:
        total += _W_CONTENT
        score += _W_CONTENT * v
    total += _W_HEADER
    score += _W_HEADER * (0.5 * (a.header[0] == b.header[0]) + 0.5 * (a.header[1] == b.header[1]))
    return score / total


@dataclass(frozen=True)
class _Bucket:
    symbols: int
    n_symbols: int
    members: tuple[_Member, ...]


@dataclass(frozen=True)
class _Group:
    """Comparable records (same ELF class and machine), bucketed by their symbol sets.

    Builds of one module across kernels and releases mostly share a symbol set, so the symbol
    Jaccard -- the heaviest component and the one that bounds the score -- is computed once per
    bucket, on integer bitsets over the group's vocabulary, and buckets that cannot reach the
    current top candidates are never scored.
    """

    buckets: tuple[_Bucket, ...]
    symbol_vocab: dict[str, int]
    undefined_vocab: dict[str, int]

    def probe(self, f: Features) -> _Probe:
        return _Probe(
            f, _bits(f.symbols, self.symbol_vocab), _bits(f.undefined, self.undefined_vocab)
        )


_Index = dict[tuple[Optional[int], Optional[str]], _Group]
_INDEXES: weakref.WeakKeyDictionary[FingerprintDB, _Index] = weakref.WeakKeyDictionary()


def _vocab(sets: Iterable[frozenset[str]]) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for names in sets:
        for name in names:
            vocab.setdefault(name, len(vocab))
    return vocab


def _index(db: FingerprintDB) -> _Index:
    """Records grouped by (ELF class, machine) with their features, built once per database."""
    index = _INDEXES.get(db)
    if index is not None:
        return index
    raw: dict[
        tuple[Optional[int], Optional[str]], dict[frozenset[str], list[tuple[Record, Features]]]
    ] = {}
    for record in db:
        f = Features.of(record.fingerprint)
        raw.setdefault((f.elf_class, f.machine), {}).setdefault(f.symbols, []).append((record, f))
    index = {}
    for key, by_symbols in raw.items():
        sym_vocab = _vocab(by_symbols)
        und_vocab = _vocab(f.undefined for members in by_symbols.values() for _, f in members)
        buckets = tuple(
            _Bucket(
                _bits(syms, sym_vocab),
                len(syms),
                tuple(_Member(r, f, _bits(f.undefined, und_vocab)) for r, f in members),
            )
            for syms, members in by_symbols.items()
        )
        index[key] = _Group(buckets, sym_vocab, und_vocab)
    _INDEXES[db] = index
    return index


def _top(mine: Features, group: _Group, k: int) -> list[tuple[float, Record, dict[str, float]]]:
    """The ``k`` best-scoring records, exactly as scoring every record and sorting would give.

    A record's score is at most ``1 - w_symbols * (1 - symbol_jaccard)`` (every other
    component perfect; weights sum to 1), so buckets are visited best bound first and the
    walk stops once a bound falls below the k-th best score found.
    """
    probe = group.probe(mine)
    n = len(mine.symbols)
    bounded: list[tuple[float, Optional[float], _Bucket]] = []
    for bucket in group.buckets:
        js = _bit_jaccard(probe.symbols, n, bucket.symbols, bucket.n_symbols)
        bounded.append((1.0 if js is None else 1.0 - _W_SYMBOLS * (1.0 - js), js, bucket))
    bounded.sort(key=lambda b: -b[0])
    best: list[float] = []  # min-heap of the k best scores so far
    scored: list[tuple[float, _Member]] = []
    for bound, js, bucket in bounded:
        if len(best) >= k and bound + 1e-9 < best[0]:
            break
        for member in bucket.members:
            score = _score(probe, member, js)
            scored.append((score, member))
            if len(best) < k:
                heapq.heappush(best, score)
            elif score > best[0]:
                heapq.heapreplace(best, score)
    scored.sort(key=lambda item: (-item[0], item[1].record.key))
    return [(s, m.record, feature_similarity(mine, m.features)[1]) for s, m in scored[:k]]


# --------------------------------------------------------------------------------------------
# Identification


def _distinct(records: Sequence[Record]) -> int:
    return len({(r.layout, r.tools_version, r.build, r.os_dir, r.module) for r in records})


def _era(fp: DriverFingerprint, records: Sequence[Record]) -> str:
    """LSO era from the matched records' Tools version and directory, if they all agree."""
    eras = {lso_era(fp.identity, r.tools_version, r.os_dir) for r in records}
    return eras.pop() if len(eras) == 1 else "unknown"


def _order(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.layout, r.tools_version or "", r.build or "",
                                          r.os_dir, r.module, r.source))  # fmt: skip


def identify(
    fp: DriverFingerprint, db: FingerprintDB, *, location_arch: Optional[str] = None
) -> Identification:
    """Place ``fp`` on the rung ladder against ``db`` (see the module docstring)."""
    mismatch = bool(location_arch and fp.arch and fp.arch != location_arch) or bool(
        location_arch and fp.is_elf and fp.arch is None
    )
    common: dict[str, Any] = {
        "name": fp.name,
        "sha256": fp.sha256,
        "arch": fp.arch,
        "location_arch": location_arch,
        "arch_mismatch": mismatch,
        "identity": fp.identity,
    }
    if not fp.is_elf:
        return Identification("unknown", (), False, fp.error or "not an ELF object", **common,
                              lso_era="unknown")  # fmt: skip
    result = _identify_elf(fp, db, common)
    if mismatch:
        what = fp.arch or f"ELF{fp.elf_class} {fp.machine}"
        note = f"the file is {what} but its location is {location_arch}"
        result = replace(result, reason=f"{result.reason}; {note}")
    return result


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
    """
    best: Optional[Identification] = None
    label = ""
    for name, db in dbs:
        ident = identify(fp, db, location_arch=location_arch)
        if best is None or RUNGS.index(ident.rung) < RUNGS.index(best.rung):
            best, label = ident, name
        if ident.rung in ("exact", "code-identical"):
            break
    if best is None:
        best = identify(fp, FingerprintDB(()), location_arch=location_arch)
    return best, label


def _identify_elf(
    fp: DriverFingerprint, db: FingerprintDB, common: dict[str, Any]
) -> Identification:
    """The rungs in order; the first that applies answers (hash lookups before scoring)."""
    exact = _order(db.by_sha256(fp.sha256))
    if exact:
        ambiguous = _distinct(exact) > 1
        why = "same sha256 as a known build"
        if ambiguous:
            why = f"same sha256 as {_distinct(exact)} known builds: cannot tell which one"
        return Identification(
            "exact",
            tuple(Candidate.from_record(r, 1.0) for r in exact),
            ambiguous,
            why,
            lso_era=_era(fp, exact),
            **common,
        )

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
                lso_era=_era(fp, same_code),
                **common,
            )

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
