"""Every sample root and bundle gives exactly the expected findings, read-only.

Expectations (tests/golden/verify-expectations.json) were written by hand from the scenario
definitions, not from toolsfix output.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from samplelib import SAMPLES

from toolsfix.verify import VerifyOptions, verify

GOLDEN = json.loads((Path(__file__).parent / "golden" / "verify-expectations.json").read_text())
HAVE_PERL = shutil.which("perl") is not None
OPTIONS = VerifyOptions(execute=HAVE_PERL)


def _roots_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("toolsfix_test_roots", SAMPLES / "roots.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def _drivers(doc: dict[str, Any]) -> dict[str, str | None]:
    return {d["path"]: d["os_dir"] for d in doc["drivers"] if d["present"]}


def _check(doc: dict[str, Any], exp: dict[str, Any], extra: frozenset[str] = frozenset()) -> None:
    _check_applicability(doc, exp)
    categories = sorted({f["category"] for f in doc["findings"]})
    assert categories == sorted(set(exp["categories"]) | extra), json.dumps(
        [(f["id"], f["message"]) for f in doc["findings"]], indent=1
    )
    got = _drivers(doc)
    for path, os_dir in exp.get("drivers", {}).items():
        assert got.get(path) == os_dir, path
    for f in doc["findings"]:
        assert f["evidence"], f["id"]
        assert f["remedy"], f["id"]
        assert "\n" not in f["message"], f["id"]  # one line per finding


def _check_applicability(doc: dict[str, Any], exp: dict[str, Any]) -> None:
    """The OS family, each driver's provenance, the checks that must say not-applicable, and
    the exit code at the default --fail-on, where the expectation states them."""
    family = exp.get("guest", {}).get("family")
    if family is not None:
        assert doc["os"]["family"] == family
    provenance = {d["path"]: d["provenance"] for d in doc["drivers"] if d["present"]}
    for path, want in exp.get("provenance", {}).items():
        assert provenance.get(path) == want, path
    outcome = {s["check"]: s["outcome"] for s in doc["skipped"]}
    for check in exp.get("not_applicable", []):
        assert outcome.get(check) == "not-applicable", (check, outcome.get(check))
    if "exit_code" in exp:
        worst = [f for f in doc["findings"] if f["severity"] != "info"]
        assert (1 if worst else 0) == exp["exit_code"], [f["id"] for f in worst]


@pytest.mark.parametrize("name", sorted(GOLDEN["roots"]))
def test_root(name: str, tmp_path: Path) -> None:
    # git does not keep mtimes: rebuild them from roots/mtimes.json on a copy.
    root = _roots_module().copy_root(name, tmp_path / name)
    exp = GOLDEN["roots"][name]
    doc = verify(root=root, options=OPTIONS).to_dict()
    _check(doc, exp)
    assert doc["os"]["uname_r"] == exp["guest"]["uname_r"]
    for path in exp.get("hand_replaced", []):
        assert any(
            f["category"] == "hand-replaced" and f["subject"] == path for f in doc["findings"]
        )
    for path in exp.get("leftovers", {}):
        assert any(
            f["category"] == "leftover-backup" and f["subject"] == path for f in doc["findings"]
        )


@pytest.mark.parametrize("name", sorted(GOLDEN["bundles"]))
def test_bundle(name: str) -> None:
    exp = GOLDEN["bundles"][name]
    doc = verify(bundle=SAMPLES / "bundles" / name, options=OPTIONS).to_dict()
    _check(doc, exp)


@pytest.mark.parametrize(
    ("bundle", "added"), sorted(GOLDEN["esxi_settings"]["esxi-lro-on.txt"]["adds"].items())
)
def test_esxi_settings_with_bundle(bundle: str, added: list[str]) -> None:
    exp = GOLDEN["bundles"][bundle]
    opts = VerifyOptions(execute=HAVE_PERL, esxi_settings=SAMPLES / "bundles" / "esxi-lro-on.txt")
    doc = verify(bundle=SAMPLES / "bundles" / bundle, options=opts).to_dict()
    _check(doc, exp, frozenset(added))


def _tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        )
        out[str(p.relative_to(root))] = (digest, st.st_mode, st.st_mtime_ns)
    return out


def test_verify_never_writes(tmp_path: Path) -> None:
    root = _roots_module().copy_root("sol11.1-buggy", tmp_path / "r")
    os.utime(root, (1, 1))
    before = _tree_state(root)
    verify(root=root, options=OPTIONS)
    assert _tree_state(root) == before


def test_bundle_tar_form_matches_directory(tmp_path: Path) -> None:
    import tarfile

    src = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"
    tar = tmp_path / "b.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(src, arcname="tfb")
    a = verify(bundle=src, options=OPTIONS).to_dict()
    b = verify(bundle=tar, options=OPTIONS).to_dict()
    assert sorted(f["id"] for f in a["findings"]) == sorted(f["id"] for f in b["findings"])
