"""Nearest-match ranking (``fingerprint_similarity._top``) equals scoring every record.

The ranking prunes buckets by a bound and scores records with equal features once; neither
may change the answer. The reference here is the definition: every comparable record scored
with :func:`feature_similarity`, sorted by (score descending, record key), the first k.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from toolsfix import fpdb
from toolsfix.fingerprint import DriverFingerprint, SectionInfo
from toolsfix.fingerprint_similarity import Features, _index, _top, feature_similarity
from toolsfix.fpdb import FingerprintDB, Record


def _variants(records: list[Record], rng: random.Random) -> list[Record]:
    """Copies of the shipped (synthetic) records: exact duplicates under other names (equal
    features), section sizes nudged, symbols dropped -- the shapes a real database has."""
    out = list(records)
    for i, r in enumerate(records):
        fp = r.fingerprint
        for j in range(3):
            if j == 0:  # same features, another kernel directory
                new_fp = fp
            elif j == 1:
                sections = tuple(
                    SectionInfo(s.name, s.type, s.size + rng.randint(0, 64), s.flags)
                    for s in fp.sections
                )
                new_fp = replace(fp, sections=sections)
            else:
                new_fp = replace(fp, symbols=fp.symbols[: max(0, len(fp.symbols) - 1 - i % 3)])
            new_fp = replace(new_fp, sha256=f"{i:032x}{j:032x}")
            out.append(replace(r, os_dir=f"{r.os_dir}-v{j}", fingerprint=new_fp))
    return out


def _reference(
    mine: Features, db: FingerprintDB, k: int
) -> list[tuple[float, tuple[str, str, str, str, str, str]]]:
    scored = []
    for r in db:
        f = Features.of(r.fingerprint)
        if (f.elf_class, f.machine) != (mine.elf_class, mine.machine):
            continue
        scored.append((feature_similarity(mine, f)[0], r.key))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored[:k]


@pytest.fixture(scope="module")
def db() -> FingerprintDB:
    shipped = list(fpdb.load_db([fpdb.shipped_db_dir()]))
    assert shipped
    return FingerprintDB(_variants(shipped, random.Random(5)))


@pytest.mark.parametrize("k", [1, 3, 8])
def test_top_equals_scoring_every_record(db: FingerprintDB, k: int) -> None:
    rng = random.Random(k)
    probes: list[DriverFingerprint] = []
    for r in rng.sample(list(db), 25):
        fp = r.fingerprint
        sections = tuple(
            SectionInfo(s.name, s.type, max(0, s.size + rng.randint(-200, 200)), s.flags)
            for s in fp.sections
        )
        probes.append(fp)
        probes.append(replace(fp, sections=sections, symbols=fp.symbols[1:]))
    for fp in probes:
        mine = Features.of(fp)
        group = _index(db)[(mine.elf_class, mine.machine)]
        got = _top(mine, group, k)
        want = _reference(mine, db, k)
        assert [(s, r.key) for s, r, _ in got] == want
        for s, r, parts in got:
            assert feature_similarity(mine, Features.of(r.fingerprint)) == (s, parts)


def test_records_with_equal_features_are_scored_once(db: FingerprintDB) -> None:
    """The index keeps one member per distinct feature set, yet every record is reachable."""
    index = _index(db)
    members = [m for g in index.values() for b in g.buckets for m in b.members]
    assert len(members) < len(list(db))
    assert sorted(r.key for m in members for r in m.records) == sorted(r.key for r in db)
    assert any(len(m.records) > 1 for m in members)
