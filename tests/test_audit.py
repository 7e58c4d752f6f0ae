"""`toolsfix audit`: inputs and kinds, items equal to the single commands, failures that stay
per item, exit codes, and Ctrl-C.

Inputs are the committed SYNTHETIC samples (vendor-samples/) and copies of them in tmp dirs;
expectations come from running the single-input commands on the same inputs, never from the
audit itself.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from samplelib import REPO, SAMPLES

from toolsfix import audit, fingerprint
from toolsfix.audit import (
    AuditOptions,
    Inputs,
    Target,
    detect_kind,
    expand_inputs,
    read_input_list,
    run_audit,
)
from toolsfix.cli import cli
from toolsfix.errors import ExitCode
from toolsfix.findings import Severity

BUNDLES = SAMPLES / "bundles"
BUGGY = BUNDLES / "sol11.1-s10build-lso-on"  # TF100, TF200, TF300, TF310 (high)
CLEAN = BUNDLES / "sol11.1-fixed-lso-off-mtu9000"  # no findings
MEDIUM = BUNDLES / "sol10-no-accept-jumbo"  # TF311, TF313 (medium only)
TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
SCRIPT = SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"
FORK = "fork" in multiprocessing.get_all_start_methods()

# Import LIEF once in this process: forked audit workers inherit it instead of each paying
# for the import (keeps the suite fast; the benchmark measures the real start-up cost).
fingerprint.lief_available()


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click 8.2+: stderr is always separate
        runner = CliRunner()
    result = runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True)


def roots_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("toolsfix_test_roots", SAMPLES / "roots.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def tar_of(directory: Path, dest: Path, top: str | None = None) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(directory, arcname=top or ".")
    return dest


# --- kinds and inputs --------------------------------------------------------------------------


def test_detect_kind_of_every_sample_shape(tmp_path: Path) -> None:
    root = roots_module().copy_root("sol11.1-buggy", tmp_path / "root")
    bundle_tar = tar_of(BUGGY, tmp_path / "b.tar.gz")
    nested_tar = tar_of(BUGGY, tmp_path / "nested.tgz", top="guest7")
    assert detect_kind(BUGGY) == "bundle"
    assert detect_kind(bundle_tar) == "bundle"
    assert detect_kind(nested_tar) == "bundle"
    assert detect_kind(root) == "root"
    assert detect_kind(TARBALL) == "distrib"
    assert detect_kind(SAMPLES / "archives" / "solaris-9.2.2.iso") == "distrib"
    assert detect_kind(SCRIPT) == "distrib"
    assert detect_kind(SAMPLES / "distribs" / "9.2.2") == "distrib"  # holds vmware-tools-distrib
    assert detect_kind(SAMPLES / "distribs" / "9.2.2" / "vmware-tools-distrib") == "distrib"
    # Solaris 11 roots link /bin to usr/bin, where the configurator is installed: still a root.
    (root / "bin").symlink_to("usr/bin")
    assert detect_kind(root) == "root"
    assert detect_kind(BUNDLES / "esxi-lro-on.txt") is None
    assert detect_kind(BUNDLES) is None  # a directory of items
    with pytest.raises(audit.DetectError, match="no such file"):
        detect_kind(tmp_path / "missing")


def test_expand_directories_globs_and_duplicates(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    (fleet / "site-a").mkdir(parents=True)
    shutil.copytree(BUGGY, fleet / "site-a" / "g1")
    shutil.copytree(CLEAN, fleet / "g2")
    tar_of(MEDIUM, fleet / "g3.tar.gz")
    (fleet / "NOTES.txt").write_text("not an item\n")
    (fleet / ".hidden").mkdir()
    found = expand_inputs(
        [str(fleet), str(fleet / "g2"), f"{fleet}/*.tar.gz", str(tmp_path / "nope"), "z*[.q"]
    )
    by_input = {t.input: t for t in found.targets}
    assert [t.input for t in found.targets] == [
        str(fleet / "g2"),
        str(fleet / "g3.tar.gz"),
        str(fleet / "site-a" / "g1"),
        str(tmp_path / "nope"),
        "z*[.q",
    ]  # g2 and the glob's match are listed once
    assert by_input[str(fleet / "g3.tar.gz")].kind == "bundle"
    assert by_input[str(tmp_path / "nope")].error is not None
    assert "no path matches" in str(by_input["z*[.q"].error)
    assert found.ignored == (str(fleet / "NOTES.txt"),)
    # forced kind: taken as given, no detection or expansion
    forced = expand_inputs([str(fleet)], kind="root")
    assert forced.targets == (Target(str(fleet), "root"),)


def test_input_list_file_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"# fleet\n\n  {BUGGY}  \n#{CLEAN}\n{TARBALL}\n")
    assert read_input_list(str(listing)) == [str(BUGGY), str(TARBALL)]
    code, out, err = invoke(
        "audit", "--from", "-", "--format", "json", "-q", "--no-exec", stdin=f"{CLEAN}\n"
    )
    assert code == ExitCode.OK, err
    assert [i["input"] for i in json.loads(out)["items"]] == [str(CLEAN)]
    code, _, err = invoke("audit", "--from", str(tmp_path / "absent.txt"))
    assert code == ExitCode.INPUT and err.count("\n") == 1 and "absent.txt" in err
    code, _, err = invoke("audit")
    assert code == ExitCode.USAGE and "nothing to audit" in err


# --- items equal the single commands ----------------------------------------------------------


def test_items_equal_single_command_reports(tmp_path: Path) -> None:
    root = roots_module().copy_root("sol11.1-handfixed", tmp_path / "handfixed")
    router = BUNDLES / "linux-router-lro"
    inputs = [str(BUGGY), str(TARBALL), str(root), str(SCRIPT), str(router)]
    code, out, err = invoke("audit", *inputs, "--format", "json", "--jobs", "2", "-q")
    assert code == ExitCode.FINDINGS, err
    doc = json.loads(out)
    singles = {
        str(BUGGY): ("verify", "--bundle", str(BUGGY)),
        str(TARBALL): ("scan", str(TARBALL)),
        str(root): ("verify", "--root", str(root)),
        str(SCRIPT): ("scan", str(SCRIPT)),
        str(BUNDLES / "linux-router-lro"): (
            "verify",
            "--bundle",
            str(BUNDLES / "linux-router-lro"),
        ),
    }
    assert [i["input"] for i in doc["items"]] == inputs  # input order, whatever finished first
    for item in doc["items"]:
        single_code, single_out, _ = invoke(*singles[item["input"]], "--format", "json")
        assert canonical(item["report"]) == canonical(json.loads(single_out)), item["input"]
        assert item["exit_code"] == single_code
        assert item["status"] == ("findings" if single_code == 1 else "ok")
    assert {i["kind"] for i in doc["items"]} == {"bundle", "distrib", "root"}
    summary = doc["summary"]
    findings = [f for i in doc["items"] for f in i["report"]["findings"]]
    assert summary["items"] == len(inputs)
    assert sum(summary["by_category"].values()) == len(findings)
    assert summary["by_severity"]["high"] == sum(f["severity"] == "high" for f in findings)
    assert doc["partial"] is False


def test_per_item_failures_never_stop_the_run(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar.gz"
    data = tar_of(BUGGY, tmp_path / "whole.tar.gz").read_bytes()
    broken.write_bytes(data[: len(data) // 3])  # truncated: starts like a bundle, then ends
    foreign = tmp_path / "foreign"
    (foreign / "etc").mkdir(parents=True)
    (foreign / "usr").mkdir()  # looks like a root, but nothing to verify in it
    inputs = [str(tmp_path / "missing"), str(broken), str(foreign), str(CLEAN)]
    code, out, err = invoke("audit", *inputs, "--format", "json", "--jobs", "2", "-q")
    doc = json.loads(out)
    status = {i["input"]: i for i in doc["items"]}
    assert status[str(tmp_path / "missing")]["status"] == "error"
    assert status[str(broken)]["kind"] == "bundle"
    assert status[str(broken)]["status"] == "not-evaluable"
    assert status[str(foreign)]["status"] == "not-evaluable"
    for i in doc["items"][:3]:
        assert i["report"] is None and i["exit_code"] == ExitCode.INPUT
        assert i["error"] and "\n" not in i["error"]
    # what the single command says about the damaged archive, word for word
    single_code, _, single_err = invoke("verify", "--bundle", str(broken))
    assert single_code == ExitCode.INPUT
    assert status[str(broken)]["error"] in single_err
    assert status[str(CLEAN)]["status"] == "ok"
    # one item evaluated, others not: the fleet is not clean (1), but not "nothing" (3)
    assert code == ExitCode.FINDINGS, err
    assert doc["summary"]["by_status"] == {
        "ok": 1,
        "findings": 0,
        "not-evaluable": 2,
        "error": 1,
        "timeout": 0,
    }


def test_exit_codes_follow_fail_on_and_nothing_evaluated(tmp_path: Path) -> None:
    code, out, _ = invoke("audit", str(MEDIUM), str(CLEAN), "--format", "json", "-q")
    assert code == ExitCode.FINDINGS
    code, out, _ = invoke("audit", str(MEDIUM), str(CLEAN), "--fail-on", "high", "-q")
    assert code == ExitCode.OK, out
    code, out, _ = invoke(
        "audit", str(MEDIUM), "--fail-on", "high", "--format", "json", "-q", "--jobs", "1"
    )
    item = json.loads(out)["items"][0]
    assert (item["status"], item["exit_code"]) == ("ok", 0)
    assert item["report"]["findings"]  # still reported, just below the threshold
    code, out, err = invoke("audit", str(tmp_path / "a"), str(BUNDLES / "esxi-lro-on.txt"), "-q")
    assert code == ExitCode.INPUT, err


def test_timeouts_are_per_item() -> None:
    """A limit no Solaris bundle can meet: every item times out, the run still finishes."""
    found = expand_inputs([str(BUGGY), str(MEDIUM)])
    result = run_audit(found, AuditOptions(jobs=1, timeout=0.001))
    assert [i.status for i in result.items] == ["timeout", "timeout"]
    assert all("--timeout" in str(i.error) for i in result.items)
    assert result.exit_code() == ExitCode.INPUT  # nothing could be evaluated


def _stuck_in_native_code(target: Target, options: AuditOptions) -> Any:
    """Stand-in for an item stuck where SIGALRM cannot reach (it is blocked)."""
    if target.path.name == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if target.path.name == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    return ORIGINAL_SINGLE_REPORT(target, options)


ORIGINAL_SINGLE_REPORT = audit.single_report


@pytest.mark.skipif(not FORK, reason="workers inherit the patched function only when forked")
def test_stuck_and_crashing_workers_are_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("stuck", "crash"):
        shutil.copytree(CLEAN, tmp_path / name)
    monkeypatch.setattr(audit, "single_report", _stuck_in_native_code)
    monkeypatch.setattr(audit, "HARD_GRACE", 0.3)
    inputs = [str(tmp_path / "stuck"), str(tmp_path / "crash"), str(CLEAN)]
    start = time.monotonic()
    result = run_audit(Inputs(tuple(Target(i, "bundle") for i in inputs)), AuditOptions(1, 0.5))
    assert time.monotonic() - start < 30
    stuck, crash, clean = result.items
    assert stuck.status == "timeout" and "worker was stopped" in str(stuck.error)
    assert crash.status == "error" and "signal 9" in str(crash.error)
    assert clean.status == "ok"  # served by a replacement worker
    assert result.exit_code() == ExitCode.FINDINGS


@pytest.mark.skipif(not FORK, reason="workers inherit the counting function only when forked")
def test_each_worker_reads_the_database_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolsfix import fpdb

    reads = tmp_path / "reads"
    original = fpdb.load_db

    def counting(dirs: Any, **kw: Any) -> Any:
        with reads.open("a") as fh:
            fh.write("read\n")
        return original(dirs, **kw)

    monkeypatch.setattr(fpdb, "load_db", counting)
    inputs = [str(BUGGY), str(MEDIUM), str(CLEAN), str(BUNDLES / "linux-router-lro")]
    result = run_audit(expand_inputs(inputs), AuditOptions(jobs=1, execute=False))
    assert [i.status for i in result.items] == ["findings", "findings", "ok", "findings"]
    assert reads.read_text().splitlines() == ["read"]  # at start-up, not once per item


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_interrupt_writes_a_partial_report(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the audit process, as a terminal sends it) mid-run: exit 130 and
    every output written with what finished, marked partial."""
    signum = signal.SIGINT
    fleet = tmp_path / "fleet"
    for n in range(40):
        shutil.copytree(BUNDLES / "linux-router-lro", fleet / f"g{n:02d}")
    out_json = tmp_path / "fleet.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolsfix", "audit", str(fleet), "--jobs", "1", "--format",
         "jsonl", "-o", f"json:{out_json}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()  # one item is done: the run is under way
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    lines = [json.loads(x) for x in (first + rest).splitlines()]
    summary = lines[-1]
    assert summary["partial"] is True and "summary" in summary
    doc = json.loads(out_json.read_text())
    assert doc["partial"] is True
    assert 1 <= len(doc["items"]) < 40 == doc["summary"]["planned"]
    assert len(doc["items"]) == len(lines) - 1  # every finished item was streamed
    assert all(i["status"] == "findings" for i in doc["items"])
    assert "interrupted" in err and "Traceback" not in err


# --- options -----------------------------------------------------------------------------------


def test_default_jobs_is_bounded() -> None:
    assert 1 <= audit.default_jobs() <= audit.MAX_DEFAULT_JOBS
    assert AuditOptions().fail_on is Severity.LOW
