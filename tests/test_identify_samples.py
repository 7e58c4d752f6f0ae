"""End to end on the committed synthetic distribs: learn every one, identify every driver.

This is how the database is meant to be used (learn from distribs you own, then identify
installed files), run over vendor-samples/distribs/*: several variants ship the same 9.2.2
driver builds, which must merge into one record each rather than turn into ambiguity.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolsfix.fingerprint import fingerprint_file
from toolsfix.fpdb import FingerprintDB, Record, learn, load_db, save_records
from toolsfix.identify import identify

DISTRIBS = Path(__file__).resolve().parent.parent / "vendor-samples" / "distribs"
BUILD_RE = re.compile(r"^  \$buildNr = '(\d+\.\d+\.\d+) build-(\d+)';", re.M)

pytestmark = pytest.mark.skipif(not DISTRIBS.is_dir(), reason="vendor samples not generated")


def _distribs() -> list[Path]:
    return sorted(p / "vmware-tools-distrib" for p in DISTRIBS.iterdir() if p.is_dir())


def _version(root: Path) -> tuple[str, str]:
    text = (root / "bin" / "vmware-config-tools.pl").read_bytes().decode("latin-1")
    match = BUILD_RE.search(text.replace("\r\n", "\n"))
    assert match, root
    return match.group(1), match.group(2)


def _members(root: Path) -> list[tuple[str, bytes]]:
    base = root / "lib" / "modules" / "binary"
    return [(p.relative_to(root).as_posix(), p.read_bytes())
            for p in sorted(base.rglob("*")) if p.is_file()]  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> FingerprintDB:
    out = tmp_path_factory.mktemp("fpdb")
    for root in _distribs():
        version, build = _version(root)
        save_records(out, learn(_members(root), tools_version=version, build=build,
                                source=root.parent.name))  # fmt: skip
    return load_db([out])


def test_one_file_per_release_and_no_duplicate_records(db: FingerprintDB) -> None:
    assert db.dirs and sorted(p.name for p in db.dirs[0].glob("*.json")) == sorted(
        {f"tools-{v}-{b}.json" for v, b in map(_version, _distribs())}
    )
    keys = [r.key for r in db]
    assert len(keys) == len(set(keys))
    assert all(r.synthetic for r in db)


def test_every_shipped_driver_is_exact_and_unambiguous(db: FingerprintDB) -> None:
    checked = 0
    for root in _distribs():
        version, _ = _version(root)
        for path in sorted((root / "lib" / "modules" / "binary").rglob("*")):
            if not path.is_file() or path.suffix == ".conf":
                continue
            os_dir = path.parent.name
            arch = "amd64" if os_dir.endswith("_64") else "i386"
            result = identify(fingerprint_file(path), db, location_arch=arch)
            assert result.rung == "exact", (path, result.reason)
            assert not result.ambiguous and not result.arch_mismatch, path
            best = result.best
            assert best is not None
            assert (best.tools_version, best.os_dir, best.module) == (version, os_dir, path.name)
            checked += 1
    assert checked > 100


def test_the_bug_scenario_solaris10_build_on_solaris11(db: FingerprintDB) -> None:
    """What a buggy configurator installs on Solaris 11: the 10_64 build, recognised as such
    (and, for 9.2.2, as an old-LSO-path build)."""
    root = DISTRIBS / "9.2.2" / "vmware-tools-distrib"
    installed = root / "lib" / "modules" / "binary" / "10_64" / "vmxnet3s"
    result = identify(fingerprint_file(installed), db, location_arch="amd64")
    assert result.rung == "exact"
    assert result.best is not None and result.best.os_dir == "10_64"
    assert result.lso_era == "old-path"


def _records_for(db: FingerprintDB, module: str) -> list[Record]:
    return [r for r in db if r.module == module]


def test_every_record_has_complete_features(db: FingerprintDB) -> None:
    for record in _records_for(db, "vmxnet3s"):
        fp = record.fingerprint
        assert fp.identity and fp.identity.startswith("VMware EtherAdapter v3 ")
        assert fp.dependencies == ("misc/mac",)
        assert record.arch == ("amd64" if record.os_dir.endswith("_64") else "i386")
        assert fp.code_hash and fp.text_sha256
