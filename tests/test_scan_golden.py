"""Every sample, in every form, is classified and predicted as the ground truth says.

Expectations live in tests/golden/scan-expectations.json and were written from the ground-truth
tables (docs/background.md, "Ground truth"), not from toolsfix output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from toolsfix.scan import ScanOptions, scan

GOLDEN = json.loads((Path(__file__).parent / "golden" / "scan-expectations.json").read_text())
SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"
HAVE_PERL = shutil.which("perl") is not None


def forms(variant: str) -> list[Path]:
    out = [
        SAMPLES / "distribs" / variant,
        SAMPLES / "archives" / f"vmware-solaris-tools-{variant}.tar.gz",
        SAMPLES / "scripts" / f"vmware-config-tools-{variant}.pl",
    ]
    iso = SAMPLES / "archives" / f"solaris-{variant}.iso"
    if iso.exists():
        out.append(iso)
    return out


CASES = [(v, p) for v in GOLDEN["samples"] for p in forms(v)]


@pytest.mark.parametrize(("variant", "path"), CASES, ids=[f"{v}-{p.name}" for v, p in CASES])
def test_sample_is_classified_and_predicted(variant: str, path: Path) -> None:
    exp: dict[str, Any] = GOLDEN["samples"][variant]
    report = scan(path, ScanOptions(execute=HAVE_PERL))
    doc = report.to_dict()
    cfg = doc["configurator"]
    assert cfg["selection_bug"] == exp["selection_bug"]
    assert cfg["current_minor"] == exp["current_minor"]
    assert (cfg["version"], cfg["build"]) == (exp["version"], exp["build"])
    dirs = cfg["driver_dirs"]
    for guest, pair in exp["vmxnet3s"].items():
        got = dirs[guest]
        assert (got["vmxnet3s"] if got else None) == pair, guest
    for module in ("vmmemctl", "vmhgfs"):
        for guest, pair in exp[module].items():
            assert dirs[guest][module] == pair, (module, guest)
    assert ("vmxnet" in dirs["solaris-10"]) == exp["has_vmxnet"]
    if HAVE_PERL:
        assert cfg["execution"]["ran"], cfg["execution"]
        assert cfg["execution"]["agrees_with_model"] is True
    for f in doc["findings"]:
        assert f["evidence"] and f["remedy"] and "\n" not in f["message"], f["id"]
    ids = sorted({f["id"] for f in doc["findings"]})
    expected_ids = set(exp["findings"])
    if not HAVE_PERL:
        expected_ids.discard("TF111")  # the compile check needs perl
    if path.suffix == ".pl":
        # A lone script has no inventory: only the configurator's own findings apply.
        expected_ids &= {"TF100", "TF101", "TF102", "TF109", "TF111"}
    assert ids == sorted(expected_ids)


def test_buggy_finding_points_at_the_cap_line() -> None:
    path = SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"
    report = scan(path, ScanOptions(execute=False))
    f = next(f for f in report.findings if f.id == "TF100")
    ev = f.evidence[0]
    lines = path.read_text().splitlines()
    assert ev.line is not None and "$currentMinor = 10" in lines[ev.line - 1]
    assert f.remedy and "toolsfix patch" in f.remedy


def test_scan_writes_nothing(tmp_path: Path) -> None:
    src = SAMPLES / "distribs" / "9.2.2"
    tree = tmp_path / "d"
    shutil.copytree(src, tree)
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    scan(tree, ScanOptions(execute=HAVE_PERL))
    after = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    assert before == after
