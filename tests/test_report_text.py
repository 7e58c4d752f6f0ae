"""Readable text: the verdict comes first, lines stay short, long lists are cut and counted.

The release table is compared with the hand-written golden expectations, not with what the
renderer happened to print once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samplelib import SAMPLES

from toolsfix.findings import Evidence, Finding, Report, Severity, Skipped
from toolsfix.report import renderer
from toolsfix.report.lines import LINE_MAX, cut, fit, joined, one_line, table
from toolsfix.report.text import MAX_EVIDENCE, TextRenderer
from toolsfix.scan import ScanOptions, scan

GOLDEN = json.loads((Path(__file__).parent / "golden" / "scan-expectations.json").read_text())
NEEDS = {
    "solaris-10": "10",
    "solaris-11.0": "11",
    "solaris-11.1": "11",
    "solaris-11.4": "11",
    "opensolaris-2009.06": "2009.06",
}


def text_of(path: Path) -> str:
    return TextRenderer().render(scan(path, ScanOptions(execute=False)))


def verdict_block(text: str) -> list[str]:
    """The lines before the first blank line (the verdict)."""
    return text.split("\n\n", 1)[0].splitlines()


def release_rows(text: str) -> dict[str, list[str]]:
    """``release -> cells`` of the release table (split on runs of two spaces or more)."""
    lines = verdict_block(text)
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["release", "needs"])
    header = lines[start].split()
    rows: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        cells = [c.strip() for c in line.strip().split("  ") if c.strip()]
        if not cells or cells[0] not in {*NEEDS, "solaris-9"}:
            break
        rows[cells[0]] = cells
    assert header[2] == "vmxnet3s"
    return rows


@pytest.mark.parametrize("variant", ["9.2.2", "9.9.2", "blog-hand-patched", "9.2.2-no11"])
def test_lone_configurator_prints_product_build_selection_and_table(variant: str) -> None:
    exp = GOLDEN["samples"][variant]
    text = text_of(SAMPLES / "scripts" / f"vmware-config-tools-{variant}.pl")
    head = "\n".join(verdict_block(text))
    assert f"{exp['version']} build {exp['build']}" in head
    assert f"$currentMinor = {exp['current_minor']}" in head
    state = {"present": "BUGGY", "absent": "vendor-fixed", "hand-patched": "fixed by hand"}
    assert state[exp["selection_bug"]] in head
    rows = release_rows(text)
    for guest, pair in exp["vmxnet3s"].items():
        cell = rows[guest][2]
        if pair is None:
            assert cell == "-", guest
            continue
        assert cell.split()[0] == pair[0], guest
        # The star marks exactly the releases that get another release's NIC build.
        assert cell.endswith("*") == (pair[0] != NEEDS[guest]), (guest, cell)


def test_a_fixed_configurator_still_says_what_it_is() -> None:
    text = text_of(SAMPLES / "scripts" / "vmware-config-tools-9.9.2.pl")
    assert "no findings" in text
    assert "VMware Tools for Solaris 9.9.2 build 2496486" in text
    assert "*" not in "".join(release_rows(text)["solaris-11.1"])


def test_verdict_comes_before_findings_and_counts_them() -> None:
    text = text_of(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz")
    lines = text.splitlines()
    first_finding = next(i for i, line in enumerate(lines) if line.startswith("TF"))
    verdict = next(i for i, line in enumerate(lines) if line.strip().startswith("verdict:"))
    assert verdict < first_finding
    assert "3 finding(s), worst high (TF100, TF104 x2)" in lines[verdict]
    assert any(line.strip().startswith("distrib:") and "11_64" in line for line in lines)


def test_verify_verdict_shows_guest_and_installed_builds(tmp_path: Path) -> None:
    from toolsfix.verify import VerifyOptions, verify  # a second service, only for this test

    report = verify(root=SAMPLES / "roots" / "sol11.1-buggy", options=VerifyOptions(execute=False))
    head = verdict_block(TextRenderer().render(report))
    assert any("Oracle Solaris 11.1" in line and "needs the 11 builds" in line for line in head)
    rows = [line.split() for line in head if "/kernel/drv/" in line]
    wrong = {r[1] for r in rows if r[3] == "*"}
    assert wrong == {"/kernel/drv/vmxnet3s", "/kernel/drv/amd64/vmxnet3s"}


def _report(message: str, evidence: int = 1, **kw: object) -> Report:
    f = Finding(
        "TF999",
        "test",
        Severity.HIGH,
        "title",
        message,
        "fix it",
        tuple(Evidence(path=f"/p/{n}", line=n, excerpt="x" * 30) for n in range(evidence)),
    )
    return Report("scan", "t", (f,), (Skipped("TF998", "why not"),), kw)


def test_no_line_is_longer_than_the_limit_and_lists_are_counted() -> None:
    long_message = " ".join(f"word{n}" for n in range(120))  # ~900 characters
    report = _report(long_message, evidence=20)
    text = TextRenderer().render(report)
    assert max(len(line) for line in text.splitlines()) <= LINE_MAX
    assert "word119" in text  # wrapped, not lost
    assert f"and {20 - (MAX_EVIDENCE - 1)} more evidence" in text
    assert sum("evidence:" in line for line in text.splitlines()) == MAX_EVIDENCE - 1
    doc = json.loads(renderer("json").render(report))
    assert len(doc["findings"][0]["evidence"]) == 20  # JSON keeps everything


def test_a_huge_message_is_cut_with_a_count() -> None:
    text = TextRenderer().render(_report("y " * 5000))
    lines = text.splitlines()
    assert max(map(len, lines)) <= LINE_MAX
    assert len(lines) < 15
    assert any("more characters" in line for line in lines)


def test_hostile_names_cannot_reach_the_terminal() -> None:
    text = TextRenderer().render(_report("name\x1b[2J\nfake line"))
    assert "\x1b" not in text
    assert "\\x1b[2J\\nfake line" in text


def test_notes_in_summary_are_shown_in_the_verdict() -> None:
    text = TextRenderer().render(_report("m", summary=["assumed for vSwitch1: unbundled"]))
    assert "  note:        assumed for vSwitch1: unbundled" in verdict_block(text)


# --- helpers ---------------------------------------------------------------------------------


def test_fit_wraps_at_spaces_and_indents_continuations() -> None:
    line = "    " + " ".join(["abcdefghi"] * 25)
    out = fit(line, 80)
    assert len(out) > 1 and all(len(x) <= 80 for x in out)
    assert all(x.startswith("        ") for x in out[1:])
    assert " ".join(x.strip() for x in out) == line.strip()


def test_cut_and_joined_count_what_they_drop() -> None:
    items = [f"item{n}" for n in range(10)]
    assert cut(items, 10) == items
    assert cut(items, 4) == ["item0", "item1", "item2", "… and 7 more"]
    text = joined(items, 30)
    assert len(text) <= 30 and text.endswith("more")
    shown = text.split(", ")[:-1]
    assert text.endswith(f"… and {10 - len(shown)} more")
    assert joined(items[:2], 30) == "item0, item1"


def test_one_line_and_table() -> None:
    assert one_line("a\nb\tc\x7f") == "a\\nb\\tc\\x7f"
    rows = table([["a", "bb"], ["ccc", "d"]], indent="")
    assert rows == ["a    bb", "ccc  d"]


def test_waivers_and_baseline_are_rendered_from_their_json_blocks_once() -> None:
    waived = [
        {
            "finding": {"id": "TF311", "severity": "medium"},
            "waiver": {"reason": "accepted", "expires": None},
        }
    ]
    baseline = {
        "source": "last.json",
        "compared_with": "t",
        "new": 1,
        "unchanged": [{}, {}],
        "fixed": [{"id": "TF205", "message": "gone"}],
    }
    report = _report("m", waived=waived, baseline=baseline)
    head = verdict_block(TextRenderer().render(report))
    assert "  waived TF311 (medium): accepted (until no expiry)" in head
    assert "  baseline last.json: 1 new, 1 fixed, 2 unchanged" in head
    assert "  fixed TF205: gone" in head
    doc = report.to_dict()
    assert "summary" not in doc  # JSON carries the blocks, not a second copy as lines
    assert doc["waived"] == waived and doc["baseline"] == baseline


def test_verify_verdict_names_provenance_and_no_tar_build_for_illumos() -> None:
    from toolsfix.verify import VerifyOptions, verify  # a second service, only for this test

    root = SAMPLES / "roots" / "omnios-os-driver"
    head = verdict_block(TextRenderer().render(verify(root=root, options=VerifyOptions())))
    guest = next(line for line in head if line.strip().startswith("guest:"))
    assert "family illumos" in guest and "needs" not in guest  # the OS ships its own driver
    assert any("/kernel/drv/amd64/vmxnet3s" in x and "shipped with the OS" in x for x in head)
