"""Similarity of two driver fingerprints, and the per-database index nearest matching uses.

The ``nearest`` rung of :mod:`toolsfix.identify` asks which known builds a file resembles; this
module answers how much two fingerprints resemble each other (:func:`similarity`) and ranks a
database's comparable records quickly (:func:`_index`, :func:`_top`). It is kept apart from
the rung ladder because the scoring and its caching change for speed and calibration, while
the ladder's rules (hash rungs first, the threshold, ambiguity) change for other reasons.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Optional

from toolsfix.fingerprint import DriverFingerprint, SectionInfo
from toolsfix.fpdb import FingerprintDB, Record

__all__ = ["WEIGHTS", "Features", "feature_similarity", "similarity"]
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


def _popcount_bin(x: int) -> int:
    return bin(x).count("1")


# int.bit_count is Python 3.10+; 3.9 (Solaris 11.4's) takes the bin() path.
_popcount: Callable[[int], int] = getattr(int, "bit_count", None) or _popcount_bin


def _bit_jaccard(ba: int, la: int, bb: int, lb: int) -> Optional[float]:
    """:func:`_jaccard` on bitsets: the same formula, so the same float."""
    if not la and not lb:
        return None
    inter = _popcount(ba & bb)
    return inter / (la + lb - inter)


# The index's private records are NamedTuples, not frozen dataclasses: a dataclass costs about a
# millisecond to create at import (its methods are generated and compiled), and this module
# loads on every ``verify`` that meets an unknown driver build.
class _Probe(NamedTuple):
    """The file being identified, in the index's bitset vocabulary."""

    features: Features
    symbols: int
    undefined: int


class _Member(NamedTuple):
    """Records whose features are all equal, scored once for all of them.

    A module's builds for many kernels often have identical features (same sections and
    sizes, same symbols): they score alike, so a bucket keeps one member per distinct
    feature set and expands it to its records only for the candidates reported.
    """

    records: tuple[Record, ...]
    features: Features
    undefined: int


def _feature_key(f: Features) -> tuple[object, ...]:
    return (tuple(f.structural.items()), f.undefined, f.identity, f.dependencies,
            f.text_sha256, f.rodata_sha256, f.header)  # fmt: skip


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


class _Bucket(NamedTuple):
    symbols: int
    n_symbols: int
    members: tuple[_Member, ...]


class _Group(NamedTuple):
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
            _Bucket(_bits(syms, sym_vocab), len(syms), _members(members, und_vocab))
            for syms, members in by_symbols.items()
        )
        index[key] = _Group(buckets, sym_vocab, und_vocab)
    _INDEXES[db] = index
    return index


def _members(
    pairs: Sequence[tuple[Record, Features]], und_vocab: dict[str, int]
) -> tuple[_Member, ...]:
    """One member per distinct feature set, records in database order."""
    alike: dict[tuple[object, ...], list[tuple[Record, Features]]] = {}
    for record, f in pairs:
        alike.setdefault(_feature_key(f), []).append((record, f))
    return tuple(
        _Member(tuple(r for r, _ in same), same[0][1], _bits(same[0][1].undefined, und_vocab))
        for same in alike.values()
    )


def _top(mine: Features, group: _Group, k: int) -> list[tuple[float, Record, dict[str, float]]]:
    """The ``k`` best-scoring records, exactly as scoring every record and sorting by
    (score descending, record key) would give.

    A record's score is at most ``1 - w_symbols * (1 - symbol_jaccard)`` (every other
    component perfect; weights sum to 1), so buckets are visited best bound first and the
    walk stops once a bound falls below the k-th best score found. Records with equal
    features are scored once (:class:`_Member`); only those scoring at least the k-th best
    are expanded and sorted.
    """
    probe = group.probe(mine)
    n = len(mine.symbols)
    bounded: list[tuple[float, Optional[float], _Bucket]] = []
    for bucket in group.buckets:
        js = _bit_jaccard(probe.symbols, n, bucket.symbols, bucket.n_symbols)
        bounded.append((1.0 if js is None else 1.0 - _W_SYMBOLS * (1.0 - js), js, bucket))
    bounded.sort(key=lambda b: -b[0])
    best: list[float] = []  # min-heap of the k best record scores so far
    scored: list[tuple[float, _Member]] = []
    for bound, js, bucket in bounded:
        if len(best) >= k and bound + 1e-9 < best[0]:
            break
        for member in bucket.members:
            score = _score(probe, member, js)
            scored.append((score, member))
            for _ in range(min(k, len(member.records))):  # each record is one entry
                if len(best) < k:
                    heapq.heappush(best, score)
                elif score > best[0]:
                    heapq.heapreplace(best, score)
                else:
                    break
    floor = best[0] if len(best) >= k else float("-inf")
    ranked = [(s, r, m) for s, m in scored if s >= floor for r in m.records]
    ranked.sort(key=lambda item: (-item[0], item[1].key))
    return [(s, r, feature_similarity(mine, m.features)[1]) for s, r, m in ranked[:k]]
