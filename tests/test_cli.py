"""The command line: documented exit codes, one-line errors, several outputs per run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix.cli import cli

TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
FIXED = SAMPLES / "archives" / "vmware-solaris-tools-9.9.2.tar.gz"


def runner() -> CliRunner:
    """Separate stderr on click 8.0/8.1 (mix_stderr) and 8.2+ (always separate)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_scan_buggy_exits_1_and_fixed_exits_0() -> None:
    code, out, _ = run("scan", str(TARBALL), "--no-exec")
    assert code == 1
    assert "TF100" in out
    code, out, _ = run("scan", str(FIXED), "--no-exec")
    assert code == 0
    assert "no findings" in out


def test_fail_on_threshold_changes_the_exit_code() -> None:
    code, _, _ = run("scan", str(TARBALL), "--no-exec", "--fail-on", "critical")
    assert code == 0


def test_several_outputs_in_one_run(tmp_path: Path) -> None:
    j, x, s = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.sarif"
    code, out, _ = run(
        "scan", str(TARBALL), "--no-exec", "--format", "json",
        "-o", f"json:{j}", "-o", f"junit:{x}", "-o", f"sarif:{s}",
    )  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    assert doc == json.loads(j.read_text())
    assert doc["schema_version"] and doc["configurator"]["selection_bug"] == "present"
    suite = ET.parse(x).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) == len(doc["findings"])
    sarif = json.loads(s.read_text())
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {f["id"] for f in doc["findings"]}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["scan", "/nonexistent/distrib"], 3, "no such file"),
        (["scan", str(TARBALL), "-o", "yaml:x"], 2, "FORMAT:PATH"),
        (["scan"], 2, "Missing argument"),
        (["patch", str(TARBALL)], 2, "--output"),
        (["verify"], 2, "exactly one"),
        (["verify", "--root", "/nonexistent/root"], 3, "not a directory"),
    ],
)
def test_errors_are_one_line_with_documented_codes(args: list[str], code: int, needle: str) -> None:
    got, out, err = run(*args)
    assert got == code
    text = out + err
    assert needle in text
    assert "Traceback" not in text


def test_garbage_inputs_never_traceback(tmp_path: Path) -> None:
    cases = {
        "x.tar.gz": b"\x1f\x8b" + b"garbage" * 50,
        "x.iso": b"\0" * 40000,
        "x.tar": b"not a tar" * 100,
        "x.pl": b"#!/usr/bin/perl\nsub {{{ broken\n",
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        code, out, err = run("scan", str(p), "--no-exec")
        assert code in (1, 3), (name, out, err)
        assert "Traceback" not in out + err


def test_patch_refusal_is_exit_4(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / "damaged", d)
    code, _, err = run("patch", str(d), "--no-exec")
    assert code == 4
    assert "refusing" in err


def test_patch_dry_run_prints_diff_and_json(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", d)
    code, out, _ = run("patch", str(d), "--dry-run", "--no-exec")
    assert code == 0 and "+  my $currentMinor = 11;" in out
    code, out, _ = run("patch", str(d), "--no-exec", "--format", "json")
    assert code == 0 and json.loads(out)["action"] == "patched"


def test_verify_json_contract(tmp_path: Path) -> None:
    code, out, _ = run(
        "verify", "--bundle", str(SAMPLES / "bundles" / "sol11.1-s10build-lso-on"),
        "--format", "json", "--no-exec",
    )  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] and doc["command"] == "verify"
    for f in doc["findings"]:
        assert {"id", "severity", "category", "message", "evidence", "remedy"} <= set(f)


def test_remedy_from_saved_report(tmp_path: Path) -> None:
    code, out, _ = run(
        "verify", "--bundle", str(SAMPLES / "bundles" / "sol11.1-s10build-lso-on"),
        "--format", "json", "--no-exec",
    )  # fmt: skip
    report = tmp_path / "r.json"
    report.write_text(out)
    code, script, _ = run("remedy", str(report))
    assert code == 0
    assert script.startswith("#!/bin/sh")
    assert "toolsfix patch --root /" in script
    if shutil.which("sh"):
        assert subprocess.run(["sh", "-n"], input=script.encode(), check=False).returncode == 0


def test_fingerprints_learn_list_show_and_identify(tmp_path: Path) -> None:
    db = tmp_path / "db"
    code, out, _ = run("fingerprints", "learn", str(TARBALL), "--db", str(db))
    assert code == 0 and "Tools 9.2.2 build 893683" in out
    code, out, _ = run("fingerprints", "list", "--db", str(db))
    assert code == 0 and "10_64/vmxnet3s" in out
    built = (
        SAMPLES
        / "distribs"
        / "9.2.2"
        / "vmware-tools-distrib"
        / "lib/modules/binary/10_64/vmxnet3s"
    )
    code, out, _ = run("fingerprint", "--db", str(db), "--format", "json", str(built), "/bin/sh")
    doc = json.loads(out)
    first, second = doc["results"]
    assert first["rung"] == "exact"
    assert {"tools_version", "build", "os_dir", "arch", "module"} <= set(first["candidates"][0])
    assert second["rung"] == "unknown"
    sha = first["sha256"][:12]
    code, out, _ = run("fingerprints", "show", sha, "--db", str(db))
    assert code == 0 and json.loads(out)[0]["sha256"].startswith(sha)


def test_collector_prints_a_posix_script() -> None:
    code, out, _ = run("collector")
    assert code == 0 and out.startswith("#!")
    if shutil.which("dash"):
        assert subprocess.run(["dash", "-n"], input=out.encode(), check=False).returncode == 0


def test_help_has_examples_and_exit_codes() -> None:
    for command in ("scan", "patch", "verify", "fingerprint", "probe", "collector", "remedy"):
        code, out, _ = run(command, "--help")
        assert code == 0
        assert "Example" in out or "jumbo" in out, command
    code, out, _ = run("--help")
    assert "Exit codes" in out


def test_module_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "toolsfix", "--version"], capture_output=True, check=False
    )
    assert proc.returncode == 0 and b"toolsfix" in proc.stdout


def test_patch_check_reports_without_writing(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", d)
    cfg = d / "vmware-tools-distrib" / "bin" / "vmware-config-tools.pl"
    before = cfg.read_bytes()
    code, out, _ = run("patch", str(d), "--check", "--no-exec")
    assert code == 1 and "would-patch" in out
    assert cfg.read_bytes() == before
    code, _, _ = run("patch", str(SAMPLES / "distribs" / "9.9.2"), "--check", "--no-exec")
    assert code == 0


@pytest.mark.parametrize("release", ["9.2.2", "10.3.10"])
def test_scanning_the_installer_points_at_the_configurator(release: str) -> None:
    installer = SAMPLES / "distribs" / release / "vmware-tools-distrib" / "vmware-install.pl"
    code, out, _ = run("scan", str(installer), "--no-exec")
    assert code == 1
    assert "TF103" in out and "bin/vmware-config-tools.pl" in out


def test_fingerprint_workers_give_the_same_answers() -> None:
    files = sorted(str(p) for p in (SAMPLES / "distribs").rglob("vmxnet3s"))
    files = (files * (70 // len(files) + 1))[:70]
    one = json.loads(run("fingerprint", "-j", "1", "--format", "json", *files)[1])
    two = json.loads(run("fingerprint", "-j", "2", "--format", "json", *files)[1])
    assert one == two
    assert len(one["results"]) == 70


def test_remedy_straight_from_a_bundle() -> None:
    code, script, _ = run("remedy", "--bundle", str(SAMPLES / "bundles" / "linux-router-lro"))
    assert code == 0
    assert "ethtool -K eth0 lro off" in script
    code, _, err = run("remedy")
    assert code == 2 and "exactly one" in err


def test_verify_of_an_empty_tree_is_not_a_pass(tmp_path: Path) -> None:
    code, _, err = run("verify", "--root", str(tmp_path))
    assert code == 3
    assert "nothing to verify" in err


def test_scan_of_something_that_is_not_a_distrib_is_not_evaluable(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("hello\n")
    code, _, err = run("scan", str(tmp_path))
    assert code == 3
    assert "not a VMware Tools distrib" in err


def test_fingerprint_json_scores_only_nearest() -> None:
    tampered = SAMPLES / "roots" / "sol11.4-tampered" / "kernel" / "drv" / "amd64" / "vmxnet3s"
    exact = (
        SAMPLES / "distribs" / "10.3.10" / "vmware-tools-distrib/lib/modules/binary/11_64/vmxnet3s"
    )
    doc = json.loads(run("fingerprint", "--format", "json", str(tampered), str(exact))[1])
    near, same = doc["results"]
    assert near["rung"] == "nearest" and 0.6 <= near["score"] < 1.0
    assert same["rung"] == "exact" and same["score"] is None
