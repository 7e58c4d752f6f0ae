"""Identification rungs against a database learned from synthetic builds.

The false-positive corpus at the end is the point of this file: nothing that is not the
same build may ever be called ``exact`` or ``code-identical``.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from samplelib import driver, elfgen

from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes
from toolsfix.fpdb import FingerprintDB, Record, learn
from toolsfix.identify import (
    NEAREST_THRESHOLD,
    WEIGHTS,
    Identification,
    best_of,
    identify,
    similarity,
)

SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"
OS_DIRS = ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64")
RELEASES = (("8.6.0", "425873"), ("9.2.2", "893683"), ("9.9.2", "2496486"),
            ("10.3.10", "12406962"))  # fmt: skip
STRONG = ("exact", "code-identical")


def fp_of(*args: str) -> DriverFingerprint:
    return fingerprint_bytes(driver(*args))


def _learn_release(version: str, build: str, modules: tuple[str, ...],
                   dirs: tuple[str, ...] = OS_DIRS) -> list[Record]:  # fmt: skip
    members = [(f"lib/modules/binary/{d}/{m}", driver(m, d, version, build))
               for d in dirs for m in modules]  # fmt: skip
    return learn(members, tools_version=version, build=build, source="test")


@pytest.fixture(scope="module")
def records() -> list[Record]:
    out: list[Record] = []
    for version, build in RELEASES:
        out += _learn_release(version, build, ("vmxnet3s",))
    out += _learn_release("9.2.2", "893683", ("vmhgfs", "vmblock", "vmmemctl"), ("10", "11_64"))
    out += _learn_release("10.1.10", "6082533", ("vmxnet3s",), ("10", "11"))
    return out


@pytest.fixture(scope="module")
def db(records: list[Record]) -> FingerprintDB:
    return FingerprintDB(records)


def _assert_single(result: Identification, version: str, os_dir: str, module: str) -> None:
    assert not result.ambiguous
    assert result.best is not None
    assert (result.best.tools_version, result.best.os_dir, result.best.module) == (
        version, os_dir, module
    )  # fmt: skip


@pytest.mark.parametrize("os_dir", OS_DIRS)
@pytest.mark.parametrize(("version", "build"), RELEASES)
def test_every_known_build_is_exact_and_unambiguous(db: FingerprintDB, version: str,
                                                   build: str, os_dir: str) -> None:  # fmt: skip
    result = identify(fp_of("vmxnet3s", os_dir, version, build), db)
    assert result.rung == "exact"
    _assert_single(result, version, os_dir, "vmxnet3s")
    assert result.best is not None and result.best.score == 1.0
    assert result.arch == ("amd64" if os_dir.endswith("_64") else "i386")
    assert result.arch_mismatch is False


def test_same_bytes_in_several_places_is_exact_but_ambiguous(records: list[Record]) -> None:
    data = driver("vmxnet3s", "11", "9.9.2", "2496486")
    extra = learn([("lib/modules/binary/2009.06/vmxnet3s", data)],
                  tools_version="9.9.3", build="2600000", source="copy")  # fmt: skip
    result = identify(fingerprint_bytes(data), FingerprintDB([*records, *extra]))
    assert result.rung == "exact" and result.ambiguous is True
    assert result.best is None
    got = {(c.tools_version, c.os_dir) for c in result.candidates}
    assert got == {("9.9.2", "11"), ("9.9.3", "2009.06")}
    assert "cannot tell" in result.reason


def test_resigned_copy_is_code_identical_to_its_build(db: FingerprintDB) -> None:
    result = identify(fp_of("vmxnet3s", "11_64", "10.3.10", "12406962", "resigned"), db)
    assert result.rung == "code-identical"
    _assert_single(result, "10.3.10", "11_64", "vmxnet3s")
    assert ".comment" in result.reason


def test_code_identical_needs_the_same_identity_string(db: FingerprintDB) -> None:
    fp = fp_of("vmxnet3s", "10", "9.2.2", "893683", "resigned")
    forged = replace(fp, identity="VMware EtherAdapter v3 b999")
    result = identify(forged, db)
    assert result.rung not in STRONG


@pytest.mark.parametrize(("version", "build", "os_dir"),
                         [("8.6.0", "425873", "10"), ("10.3.10", "12406962", "11_64")])  # fmt: skip
def test_tampered_copy_is_only_nearest(db: FingerprintDB, version: str, build: str,
                                       os_dir: str) -> None:  # fmt: skip
    result = identify(fp_of("vmxnet3s", os_dir, version, build, "tampered"), db)
    assert result.rung == "nearest"
    _assert_single(result, version, os_dir, "vmxnet3s")
    assert result.best is not None and NEAREST_THRESHOLD <= result.best.score < 1.0
    assert len(result.candidates) == 5
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert set(dict(result.candidates[0].components)) <= set(WEIGHTS)


def test_unseen_build_of_a_known_series_is_nearest(db: FingerprintDB) -> None:
    result = identify(fp_of("vmxnet3s", "11", "9.9.2", "2499999"), db)
    assert result.rung == "nearest"
    _assert_single(result, "9.9.2", "11", "vmxnet3s")


def test_unknown_module_is_unknown_with_scored_candidates(db: FingerprintDB) -> None:
    result = identify(fp_of("vmci", "11_64", "9.2.2", "893683"), db)
    assert result.rung == "unknown"
    assert result.candidates and all(c.score < NEAREST_THRESHOLD for c in result.candidates)
    assert "best score" in result.reason


def test_class_and_machine_must_match_some_record(records: list[Record]) -> None:
    only64 = FingerprintDB([r for r in records if r.arch == "amd64"])
    result = identify(fp_of("vmxnet3s", "10", "9.2.2", "893684"), only64)
    assert result.rung == "unknown" and result.candidates == ()
    assert "same class and machine" in result.reason


def test_empty_database_gives_unknown() -> None:
    result = identify(fp_of("vmxnet3s", "10", "9.2.2", "893683"), FingerprintDB([]))
    assert result.rung == "unknown" and not result.ambiguous


def test_best_of_asks_every_database_for_a_hash_match_before_scoring(
    records: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier database that only holds resembling builds (a guest's LIBDIR of another
    release) loses to a later exact match, and is not scored for it: the answer is the one
    the rung order gives, without building a nearest-match index."""
    fp = fp_of("vmxnet3s", "11", "9.9.2", "2496486")
    others = FingerprintDB([r for r in records if r.tools_version != "9.9.2"])
    assert identify(fp, others).rung == "nearest"  # what the first database alone would say

    def no_scoring(db: FingerprintDB) -> None:
        raise AssertionError("scored although a later database knows the bytes")

    monkeypatch.setattr("toolsfix.fingerprint_similarity._index", no_scoring)
    best, label = best_of(fp, [("guest", others), ("shipped", FingerprintDB(records))])
    assert (best.rung, label) == ("exact", "shipped")
    assert best == identify(fp, FingerprintDB(records))
    monkeypatch.undo()
    best, label = best_of(fp, [("guest", others), ("empty", FingerprintDB([]))])
    assert (best.rung, label) == ("nearest", "guest")  # no hash rung anywhere: scored, as before


@pytest.mark.parametrize(
    ("version", "build", "os_dir", "era"),
    [
        ("8.6.0", "425873", "11", "old-path"),
        ("9.9.2", "2496486", "11", "old-path"),  # 9.9 < 9.10: b<build> era, old path
        ("10.1.10", "6082533", "10", "old-path"),  # Solaris 10 builds went back
        ("10.1.10", "6082533", "11", "new-path"),
        ("10.3.10", "12406962", "10_64", "new-path"),
    ],
)
def test_lso_era_of_an_identified_build(db: FingerprintDB, version: str, build: str,
                                        os_dir: str, era: str) -> None:  # fmt: skip
    result = identify(fp_of("vmxnet3s", os_dir, version, build), db)
    assert result.rung == "exact" and result.lso_era == era
    # the synthetic builds encode the path: the new one calls mac_lso_get
    new_path = "mac_lso_get" in fp_of("vmxnet3s", os_dir, version, build).undefined_symbols
    assert new_path == (era == "new-path")


def test_similarity_basics() -> None:
    a = fp_of("vmxnet3s", "11", "9.9.2", "2496486")
    b = fp_of("vmxnet3s", "11", "10.3.10", "12406962")
    assert similarity(a, a)[0] == pytest.approx(1.0)
    assert similarity(a, b)[0] == pytest.approx(similarity(b, a)[0])
    assert 0.0 <= similarity(a, b)[0] <= 1.0
    c = fp_of("vmxnet3s", "11_64", "9.9.2", "2496486")
    assert similarity(a, c) == (0.0, {})  # other class: never a variant of each other


def test_threshold_sits_in_the_gap(records: list[Record]) -> None:
    """Same module + directory, other release: well above; other module: well below."""
    same, other = [], []
    for a, b in itertools.combinations(records, 2):
        if a.fingerprint.elf_class != b.fingerprint.elf_class:
            continue
        score = similarity(a.fingerprint, b.fingerprint)[0]
        if a.module == b.module and a.os_dir == b.os_dir:
            same.append(score)
        elif a.module != b.module:
            other.append(score)
    assert same and other
    assert min(same) >= NEAREST_THRESHOLD + 0.08
    assert max(other) <= NEAREST_THRESHOLD - 0.15


def test_to_dict_is_json(db: FingerprintDB) -> None:
    result = identify(fp_of("vmxnet3s", "11", "9.9.2", "2496486", "tampered"), db,
                      location_arch="i386")  # fmt: skip
    d = json.loads(json.dumps(result.to_dict()))
    assert d["rung"] == "nearest" and d["location_arch"] == "i386"
    assert d["candidates"][0]["components"]


# ------------------------------------------------------------------------------------------
# False-positive corpus: none of these may be called exact or code-identical


def _strip_all(data: bytes, tmp_path: Path) -> bytes:
    if shutil.which("strip") is None:
        pytest.skip("strip not installed")
    path = tmp_path / "obj"
    path.write_bytes(data)
    subprocess.run(["strip", str(path)], check=True, capture_output=True)
    return path.read_bytes()


def test_false_positive_corpus(db: FingerprintDB, tmp_path: Path) -> None:
    gen = elfgen()
    known = driver("vmxnet3s", "11_64", "9.9.2", "2496486")
    corpus = {
        "userland .o": gen.build_userland_object("hello"),
        "linux .ko": gen.build_linux_ko("vmxnet3"),
        "linux .ko with a copied identity": gen.build_linux_ko(
            "decoy", identity="VMware EtherAdapter v3 b893683"
        ),
        "strip --strip-unneeded copy": driver("vmxnet3s", "11_64", "9.9.2", "2496486", "stripped"),
        "strip (all) copy": _strip_all(known, tmp_path),
        "truncated copy": known[: len(known) - 100],
        "one byte short": known[:-1],
        "non-ELF bytes": b"#!/bin/sh\necho vmxnet3s\n",
        "empty file": b"",
        "other module, same release": driver("vmci", "11_64", "9.2.2", "893683"),
    }
    rungs = {}
    for label, data in corpus.items():
        result = identify(fingerprint_bytes(data, name=label), db)
        rungs[label] = result.rung
        assert result.rung not in STRONG, (label, result.reason)
    assert rungs["userland .o"] == rungs["linux .ko"] == "unknown"
    assert rungs["linux .ko with a copied identity"] == "unknown"
    assert rungs["truncated copy"] == rungs["non-ELF bytes"] == rungs["empty file"] == "unknown"
    # a stripped copy still resembles its build, and says only that
    assert rungs["strip --strip-unneeded copy"] == "nearest"
    assert rungs["strip (all) copy"] in ("nearest", "unknown")


def test_32bit_build_at_a_64bit_location(db: FingerprintDB) -> None:
    """The classic manual-copy mistake: the bytes are a known i386 build (exact, honestly),
    never an amd64 record, and the mismatch with the location is reported."""
    result = identify(fp_of("vmxnet3s", "10", "9.2.2", "893683"), db, location_arch="amd64")
    assert result.rung == "exact"
    assert all(c.arch == "i386" for c in result.candidates)
    assert result.arch == "i386" and result.location_arch == "amd64"
    assert result.arch_mismatch is True
    assert "the file is i386 but its location is amd64" in result.reason
    fine = identify(fp_of("vmxnet3s", "10_64", "9.2.2", "893683"), db, location_arch="amd64")
    assert fine.arch_mismatch is False
    garbage = identify(fingerprint_bytes(b"xx"), db, location_arch="amd64")
    assert garbage.rung == "unknown" and garbage.arch_mismatch is False
