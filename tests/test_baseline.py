"""Baselines and waivers (toolsfix/baseline.py) through scan, verify and audit.

Baselines are real earlier reports of the same command on the SYNTHETIC samples, edited the
way history edits them (a finding disappears, another one appears).
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix import fingerprint
from toolsfix.baseline import Policy, Waiver, Waivers, apply_policy, load_baseline, load_waivers
from toolsfix.catalog import finding
from toolsfix.cli import cli
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Evidence, Report

BUNDLES = SAMPLES / "bundles"
BUGGY = BUNDLES / "sol11.1-s10build-lso-on"
MEDIUM = BUNDLES / "sol10-no-accept-jumbo"  # TF311 + TF313, both medium
SCRIPT = SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"
fingerprint.lief_available()  # forked audit workers inherit the import


def invoke(*args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def ids(doc: dict[str, Any]) -> list[str]:
    return sorted(f["id"] for f in doc["findings"])


# --- waivers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not JSON"),
        ('{"id": "TF100"}', "expected a JSON list"),
        ('[{"id": "TF100"}]', "entry 1: 'reason' is required"),
        ('[{"id": "TF100", "reason": "r", "expire": "2030-01-01"}]', "unknown key(s) expire"),
        ('[{"id": "TF100", "reason": "r", "expires": "2030-02-30"}]', "is not a date"),
        ('[{"id": "TF100", "reason": "r", "expires": "next week"}]', "YYYY-MM-DD"),
        ('[{"id": "TF100", "reason": "ok"}, {"id": "TF 1", "reason": "r"}]', "entry 2: 'id'"),
        ('[{"id": "TF100", "reason": "r", "item": 7}]', "'item'"),
    ],
)
def test_invalid_waiver_files_are_one_line_exit_2(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "waivers.json"
    path.write_text(content)
    with pytest.raises(ToolsfixError) as exc:
        load_waivers(path)
    assert exc.value.exit_code == ExitCode.USAGE and needle in str(exc.value)
    code, out, err = invoke("scan", str(SCRIPT), "--no-exec", "--waivers", str(path))
    assert code == ExitCode.USAGE and out == ""
    assert err.count("\n") == 1 and needle in err


def test_waiver_moves_findings_to_waived_with_reason(tmp_path: Path) -> None:
    waivers = write(
        tmp_path / "w.json",
        {
            "waivers": [
                {"id": "TF311", "reason": "MTU change window in Q3", "expires": "2999-12-31"}
            ]
        },
    )
    code, out, _ = invoke(
        "verify", "--bundle", str(MEDIUM), "--format", "json", "--waivers", str(waivers)
    )
    doc = json.loads(out)
    assert ids(doc) == ["TF313"] and code == ExitCode.FINDINGS
    assert [w["finding"]["id"] for w in doc["waived"]] == ["TF311"]
    assert doc["waived"][0]["waiver"] == {
        "id": "TF311",
        "item": "*",
        "reason": "MTU change window in Q3",
        "expires": "2999-12-31",
    }
    # a glob over ids waives both; the exit code follows what is left (nothing)
    write(waivers, [{"id": "TF31?", "reason": "accepted", "item": "*jumbo"}])
    code, out, _ = invoke("verify", "--bundle", str(MEDIUM), "--waivers", str(waivers))
    assert code == ExitCode.OK
    assert "waived TF311 (medium): accepted (until no expiry)" in out
    # a waiver for other items does not apply here
    write(waivers, [{"id": "TF311", "reason": "other guests", "item": "*/guest42"}])
    code, out, _ = invoke(
        "verify", "--bundle", str(MEDIUM), "--format", "json", "--waivers", str(waivers)
    )
    assert ids(json.loads(out)) == ["TF311", "TF313"] and json.loads(out)["waived"] == []


def test_expired_waiver_is_a_finding(tmp_path: Path) -> None:
    waivers = write(
        tmp_path / "w.json", [{"id": "TF311", "reason": "was ok", "expires": "2001-01-01"}]
    )
    code, out, _ = invoke(
        "verify", "--bundle", str(MEDIUM), "--format", "json", "--waivers", str(waivers)
    )
    doc = json.loads(out)
    assert ids(doc) == ["TF311", "TF313", "TF900"] and code == ExitCode.FINDINGS
    expired = next(f for f in doc["findings"] if f["id"] == "TF900")
    assert expired["category"] == "waiver-expired"
    assert "expired on 2001-01-01" in expired["message"] and "was ok" in expired["message"]
    assert expired["evidence"][0]["path"] == str(waivers)
    assert str(waivers) in expired["remedy"]


def test_expiry_date_is_the_last_valid_day() -> None:
    report = Report(
        "verify",
        "g1",
        (finding("TF311", "m", evidence=[Evidence(path="/kernel/drv/vmxnet3s.conf")]),),
    )
    w = Waivers("w.json", (Waiver("TF311", "r", expires=datetime.date(2030, 1, 31)),))
    on_the_day = apply_policy(report, Policy(waivers=w, today=datetime.date(2030, 1, 31)))
    day_after = apply_policy(report, Policy(waivers=w, today=datetime.date(2030, 2, 1)))
    assert on_the_day.findings == () and len(on_the_day.facts["waived"]) == 1
    assert [f.id for f in day_after.findings] == ["TF311", "TF900"]
    assert apply_policy(report, Policy()) is report  # no policy: untouched


# --- baselines ---------------------------------------------------------------------------------


def test_verify_baseline_reports_only_new_and_lists_fixed(tmp_path: Path) -> None:
    _, out, _ = invoke("verify", "--bundle", str(BUGGY), "--format", "json")
    first = json.loads(out)
    assert len(first["findings"]) >= 3
    same = write(tmp_path / "same.json", first)
    code, out, _ = invoke(
        "verify", "--bundle", str(BUGGY), "--format", "json", "--baseline", str(same)
    )
    doc = json.loads(out)
    assert code == ExitCode.OK and doc["findings"] == []
    assert len(doc["baseline"]["unchanged"]) == len(first["findings"])
    assert doc["baseline"]["fixed"] == [] and doc["baseline"]["new"] == 0
    # history: TF300 was not there last time, and a problem since fixed was
    old = json.loads(json.dumps(first))
    old["findings"] = [f for f in old["findings"] if f["id"] != "TF300"]
    gone = {**old["findings"][0], "id": "TF205", "subject": "/kernel/drv/vmxnet3s.old"}
    old["findings"].append(gone)
    edited = write(tmp_path / "edited.json", old)
    code, out, _ = invoke(
        "verify", "--bundle", str(BUGGY), "--format", "json", "--baseline", str(edited)
    )
    doc = json.loads(out)
    assert ids(doc) == ["TF300"] and code == ExitCode.FINDINGS
    assert [f["id"] for f in doc["baseline"]["fixed"]] == ["TF205"]
    # a report written with --baseline is itself a complete baseline for the next run
    chained = write(tmp_path / "chained.json", doc)
    _, out, _ = invoke(
        "verify", "--bundle", str(BUGGY), "--format", "json", "--baseline", str(chained)
    )
    assert json.loads(out)["findings"] == []
    code, out, _ = invoke("verify", "--bundle", str(BUGGY), "--baseline", str(edited))
    assert "1 new, 1 fixed" in out and "fixed TF205" in out


def test_scan_baseline_and_wrong_baselines(tmp_path: Path) -> None:
    _, out, _ = invoke("scan", str(SCRIPT), "--no-exec", "--format", "json")
    scan_report = write(tmp_path / "scan.json", json.loads(out))
    code, out, _ = invoke(
        "scan", str(SCRIPT), "--no-exec", "--format", "json", "--baseline", str(scan_report)
    )
    assert code == ExitCode.OK and json.loads(out)["findings"] == []
    for bad, needle in [
        (scan_report, "not a `verify --format json` report"),
        (tmp_path / "absent.json", "cannot read"),
        (write(tmp_path / "list.json", [1, 2]), "not a toolsfix JSON report"),
        (
            write(tmp_path / "nofind.json", {"schema_version": "1.0", "command": "verify"}),
            "findings",
        ),
    ]:
        code, out, err = invoke("verify", "--bundle", str(BUGGY), "--baseline", str(bad))
        assert code == ExitCode.USAGE and out == "", bad
        assert err.count("\n") == 1 and needle in err, err
    with pytest.raises(ToolsfixError, match="no 'items'"):
        load_baseline(scan_report, "audit")


def test_audit_baseline_matches_moved_items_and_waives_per_item(tmp_path: Path) -> None:
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    shutil.copytree(BUGGY, day1 / "g1")
    _, out, _ = invoke("audit", str(day1), "--format", "json", "--jobs", "1", "-q")
    previous = write(tmp_path / "fleet.json", json.loads(out))
    shutil.copytree(BUGGY, day2 / "g1")  # collected again into a new directory
    shutil.copytree(MEDIUM, day2 / "g2")  # a guest that is new to the fleet
    waivers = write(tmp_path / "w.json", [{"id": "TF313", "item": "*/g2", "reason": "known"}])
    code, out, err = invoke(
        "audit", str(day2), "--format", "json", "--jobs", "2", "-q",
        "--baseline", str(previous), "--waivers", str(waivers),
    )  # fmt: skip
    doc = json.loads(out)
    g1, g2 = doc["items"]
    assert g1["report"]["baseline"]["compared_with"] == str(day1 / "g1")
    assert g1["report"]["findings"] == [] and g1["status"] == "ok"
    assert g2["report"]["baseline"]["compared_with"] is None
    assert ids(g2["report"]) == ["TF311"]
    assert [w["finding"]["id"] for w in g2["report"]["waived"]] == ["TF313"]
    b = doc["summary"]["baseline"]
    assert (b["new"], b["fixed"], b["not_in_baseline"]) == (1, 0, [str(day2 / "g2")])
    assert b["unchanged"] == len(g1["report"]["baseline"]["unchanged"]) > 0
    assert doc["summary"]["waived"] == 1
    assert code == ExitCode.FINDINGS, err
    # an audit baseline is not a verify baseline, and the other way round
    code, _, err = invoke("verify", "--bundle", str(BUGGY), "--baseline", str(previous))
    assert code == ExitCode.USAGE and "an audit report" in err
