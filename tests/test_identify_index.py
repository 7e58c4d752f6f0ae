"""Nearest-match ranking through the index equals scoring every record and sorting."""

from __future__ import annotations

import dataclasses
import random

import pytest

from toolsfix.fpdb import FingerprintDB, Record, load_all
from toolsfix.identify import (
    TOP_CANDIDATES,
    Features,
    feature_similarity,
    identify,
    similarity,
)


def _variants(seed: int, n: int) -> list[Record]:
    rng = random.Random(seed)
    base = list(load_all([]))
    out = []
    for i in range(n):
        r = base[rng.randrange(len(base))]
        f = r.fingerprint
        syms = set(f.symbols)
        for s in list(syms):
            if rng.random() < 0.05:
                syms.discard(s)
        syms |= {f"extra_{rng.randrange(30)}" for _ in range(rng.randrange(4))}
        undefined = set(f.undefined_symbols) | {f"u_{rng.randrange(10)}"}
        secs = tuple(
            dataclasses.replace(s, size=max(0, s.size + rng.randrange(-40, 40))) for s in f.sections
        )
        fp = dataclasses.replace(
            f,
            sha256=f"{seed:08x}{i:056x}",
            code_hash=f"{seed + 1:08x}{i:056x}",
            symbols=tuple(sorted(syms)),
            undefined_symbols=tuple(sorted(undefined)),
            sections=secs,
            text_sha256=rng.choice([f.text_sha256, "0" * 64]),
        )
        out.append(dataclasses.replace(r, fingerprint=fp, build=str(i)))
    return out


def _brute_force(fp, db):  # type: ignore[no-untyped-def]
    scored = [
        (similarity(fp, r.fingerprint)[0], r)
        for r in db
        if r.fingerprint.elf_class == fp.elf_class and r.fingerprint.machine == fp.machine
    ]
    scored.sort(key=lambda item: (-item[0], item[1].key))
    return [(round(s, 4), r.build, r.os_dir, r.module) for s, r in scored[:TOP_CANDIDATES]]


@pytest.mark.parametrize("seed", range(6))
def test_indexed_ranking_equals_brute_force(seed: int) -> None:
    records = _variants(seed, 400)
    db = FingerprintDB(records)
    probes = _variants(seed + 100, 25)
    for probe in probes:
        fp = dataclasses.replace(probe.fingerprint, sha256="f" * 64, code_hash="e" * 64)
        got = identify(fp, db)
        want = _brute_force(fp, db)
        assert [(c.score, c.build, c.os_dir, c.module) for c in got.candidates] == want


def test_feature_similarity_equals_similarity() -> None:
    records = _variants(7, 60)
    for a in records[:20]:
        for b in records:
            assert similarity(a.fingerprint, b.fingerprint) == feature_similarity(
                Features.of(a.fingerprint), Features.of(b.fingerprint)
            )
