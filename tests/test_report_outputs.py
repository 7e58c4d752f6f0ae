"""Renderers for the results that are not a findings report: patch outcomes, identifications,
probe runs and error documents; and the exit codes those results decide."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from samplelib import SAMPLES

from toolsfix.errors import ExitCode
from toolsfix.fpdb import load_all
from toolsfix.identify_files import Identifications, identify_files, location_arch
from toolsfix.patcher import run_patch
from toolsfix.patching.plan import Outcome
from toolsfix.probe import JumboRun, PathMtuResult, ProbeResult, Verdict
from toolsfix.report.errors import error_document, error_json
from toolsfix.report.identify import MAX_CANDIDATES, records_text, render_identifications
from toolsfix.report.lines import LINE_MAX
from toolsfix.report.patch import patch_document, render_patch
from toolsfix.report.probe import MAX_PROBES, render_probe

BINARY = SAMPLES / "distribs" / "9.2.2" / "vmware-tools-distrib" / "lib" / "modules" / "binary"


# --- patch -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    d = tmp_path_factory.mktemp("p") / "d"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", d)
    return run_patch(d, dry_run=True, run_perl=False)


def test_patch_text_puts_the_decision_first_and_the_diff_last(dry_run: Outcome) -> None:
    text = render_patch(dry_run, "text")
    first = text.splitlines()[0]
    assert first.startswith(f"would-patch: {dry_run.target}: ")
    assert text.endswith(dry_run.diff) and "+  my $currentMinor = 11;" in text
    check = render_patch(dry_run, "text", diff=False)
    assert "+++ " not in check and check.splitlines()[0] == first


def test_patch_json_keeps_every_field_and_names_itself(dry_run: Outcome) -> None:
    doc = json.loads(render_patch(dry_run, "json"))
    assert doc["schema_version"] and doc["command"] == "patch"
    assert doc["action"] == "would-patch" and doc["diff"] == dry_run.diff
    assert json.loads(render_patch(dry_run, "json", diff=False))["diff"] == ""
    assert set(patch_document(dry_run)) >= {"target", "reason", "patch_id", "notes", "verified"}


@pytest.mark.parametrize(
    ("action", "check", "code"),
    [
        ("would-patch", True, ExitCode.FINDINGS),
        ("would-patch", False, ExitCode.OK),
        ("already-patched", True, ExitCode.OK),
        ("not-applicable", True, ExitCode.OK),
        ("patched", False, ExitCode.OK),
    ],
)
def test_patch_exit_code(action: str, check: bool, code: ExitCode) -> None:
    assert Outcome("t", action, "r").exit_code(check=check) is code


# --- identification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "arch"),
    [
        ("/kernel/drv/amd64/vmxnet3s", "amd64"),
        ("/kernel/drv/vmxnet3s", None),
        ("x/lib/modules/binary/11_64/vmxnet3s", "amd64"),
        ("x/lib/modules/binary/10/vmxnet3s", "i386"),
        ("x/lib/modules/binary/2009.06/vmxnet3s", "i386"),
        ("backup/11_64/vmxnet3s", None),  # a directory name alone is not a build directory
        ("amd64/sub/file", None),
    ],
)
def test_location_arch(path: str, arch: str | None) -> None:
    assert location_arch(Path(path)) == arch


@pytest.fixture(scope="module")
def identified(tmp_path_factory: pytest.TempPathFactory) -> Identifications:
    text = tmp_path_factory.mktemp("f") / "notes.txt"
    text.write_text("not an object\n")
    files = [BINARY / "10_64" / "vmxnet3s", BINARY / "11" / "vmxnet3s", text]
    return identify_files(files, load_all(()), jobs=1)


def test_failing_follows_the_rung_ladder(identified: Identifications) -> None:
    rungs = [r.rung for r in identified.results]
    assert rungs == ["exact", "exact", "unknown"]
    assert [r.path for r in identified.failing("unknown")] == [identified.results[2].path]
    assert identified.failing("never") == []
    assert len(identified.failing("code-identical")) == 1  # exact is above every threshold
    assert identified.exit_code("unknown") is ExitCode.FINDINGS
    assert identified.exit_code("never") is ExitCode.OK


def test_identification_text_and_json(identified: Identifications) -> None:
    text = render_identifications(identified, "text")
    lines = text.splitlines()
    assert lines[0].startswith(f"{identified.results[0].path}: exact (")
    assert all(len(line) <= LINE_MAX for line in lines)
    # /bin-like unknown files list their closest candidates, cut at MAX_CANDIDATES lines
    after_unknown = lines[next(i for i, x in enumerate(lines) if ": unknown" in x) + 1 :]
    assert len(after_unknown) <= MAX_CANDIDATES
    doc = json.loads(render_identifications(identified, "json"))
    assert [r["path"] for r in doc["results"]] == [r.path for r in identified.results]
    assert doc["results"][0]["location_arch"] == "amd64"


def test_records_text_counts_and_sorts() -> None:
    db = load_all(())
    lines = records_text(db).splitlines()
    assert lines[-1] == f"{len(db)} record(s)"
    versions = [line.split("Tools ")[1].split()[0] for line in lines[:-1]]
    assert versions == sorted(versions)


# --- probe -----------------------------------------------------------------------------------


def _probe(verdict: Verdict, mtu: int = 9000) -> ProbeResult:
    return ProbeResult(verdict, "192.0.2.1", mtu, mtu - 28, ("ping", "-M", "do"), notes=("a note",))


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        (Verdict.PASS, ExitCode.OK),
        (Verdict.TOO_BIG, ExitCode.FINDINGS),
        (Verdict.NO_REPLY, ExitCode.FINDINGS),
        (Verdict.NOT_EVALUABLE, ExitCode.INPUT),
    ],
)
def test_probe_exit_code_follows_the_verdict(verdict: Verdict, code: ExitCode) -> None:
    assert JumboRun(_probe(verdict)).exit_code() is code


def test_probe_text_and_json() -> None:
    probes = tuple(_probe(Verdict.TOO_BIG, mtu) for mtu in range(9000, 8980, -1))
    search = PathMtuResult("192.0.2.1", 576, 9000, 1500, True, Verdict.PASS, probes)
    run = JumboRun(_probe(Verdict.TOO_BIG), search)
    text = render_probe(run, "text")
    lines = text.splitlines()
    assert lines[0] == "192.0.2.1: too-big (mtu 9000, payload 8972) $ ping -M do"
    assert "  note: a note" in lines
    assert "  path mtu: 1500, searched 576-9000" in lines
    assert sum(line.startswith("    tried") for line in lines) == MAX_PROBES - 1
    assert any(f"and {len(probes) - MAX_PROBES + 1} more probes" in line for line in lines)
    doc = json.loads(render_probe(run, "json"))
    assert doc["schema_version"] and doc["probe"]["verdict"] == "too-big"
    assert len(doc["path_mtu"]["probes"]) == len(probes)
    assert "path_mtu" not in json.loads(render_probe(JumboRun(_probe(Verdict.PASS)), "json"))


# --- error documents -------------------------------------------------------------------------


def test_error_document_kinds_and_one_line_messages() -> None:
    doc = error_document("bad\nname", 4, command="patch", target="x")
    assert doc["error"] == {"message": "bad\\nname", "exit_code": 4, "kind": "refused"}
    assert doc["command"] == "patch" and doc["target"] == "x"
    assert error_document("m", 3, kind="internal")["error"]["kind"] == "internal"
    assert error_document("m", 130)["error"]["kind"] == "interrupted"
    assert error_json("m", 2, compact=True).count("\n") == 1
