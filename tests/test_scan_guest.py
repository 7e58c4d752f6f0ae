"""``scan DISTRIB --guest BUNDLE|ROOT`` and ``--release/--version``: what this distrib will
install on that one guest, and whether to patch.

Expectations come from the ground-truth table of docs/background.md (buggy releases give
Solaris 11 the 10/10_64 builds, fixed ones 11/11_64, OpenSolaris 2009.06 gets 2009.06, Solaris
9 nothing), applied to the SYNTHETIC samples in vendor-samples/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix import jsonschemas
from toolsfix.cli import cli
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.scan import ScanOptions, guest_from_uname, load_guest, scan

HAVE_PERL = shutil.which("perl") is not None
BUGGY = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
FIXED = SAMPLES / "archives" / "vmware-solaris-tools-9.9.2.tar.gz"
NO11 = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2-no11.tar.gz"
OVERRIDE = SAMPLES / "scripts" / "vmware-config-tools-9.2.2-override.pl"


def run(*args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def guest_doc(distrib: Path, *guest_args: str, execute: bool = HAVE_PERL) -> dict[str, Any]:
    args = ["scan", str(distrib), *guest_args, "--format", "json"]
    code, out, err = run(*args, *([] if execute else ["--no-exec"]))
    assert code in (0, 1), err
    doc: dict[str, Any] = json.loads(out)
    doc["_exit"] = code
    return doc


def ids(doc: dict[str, Any]) -> set[str]:
    return {f["id"] for f in doc["findings"]}


def skipped(doc: dict[str, Any]) -> dict[str, str]:
    return {s["check"]: s["outcome"] for s in doc["skipped"]}


# Ground truth (docs/background.md): vmxnet3s 32-bit dir per guest, buggy and fixed releases.
TRUTH = [
    ("5.10", "Generic_147441-21", "10", "10", "10"),
    ("5.11", "11.0", "11", "10", "11"),
    ("5.11", "11.3", "11", "10", "11"),
    ("5.11", "11.4.0.15.0", "11", "10", "11"),
    ("5.11", "snv_111b", "2009.06", "2009.06", "2009.06"),
    ("5.11", "snv_134", "11", "10", "11"),
]


@pytest.mark.parametrize(("uname_r", "uname_v", "needs", "buggy", "fixed"), TRUTH)
def test_what_one_guest_gets_matches_the_reference(
    uname_r: str, uname_v: str, needs: str, buggy: str, fixed: str
) -> None:
    for distrib, want in ((BUGGY, buggy), (FIXED, fixed)):
        doc = guest_doc(distrib, "--release", uname_r, "--version", uname_v)
        guest = doc["guest"]
        assert guest["expected_build_dir"] == needs
        assert guest["driver_dirs"]["vmxnet3s"] == [want, f"{want}_64"], (distrib.name, guest)
        right = want == needs
        assert guest["patch"] == ("not-needed" if right else "needed")
        assert ("TF104" in ids(doc)) is not right
        assert doc["_exit"] == (0 if right else 1), doc["findings"]
        if HAVE_PERL:
            # The guest itself was simulated in the sandbox, and the model agrees there.
            assert guest["driver_dirs_source"] in ("model", "execution")


def test_solaris_10_guest_of_a_buggy_distrib_needs_no_patch() -> None:
    doc = guest_doc(BUGGY, "--release", "5.10", "--version", "Generic_147441-21")
    assert not doc["findings"] and doc["_exit"] == 0
    assert skipped(doc)["TF100"] == "not-applicable"
    assert skipped(doc)["TF104"] == "not-applicable"
    assert "which is right" in next(s["reason"] for s in doc["skipped"] if s["check"] == "TF100")
    assert doc["summary"] and "patch not-needed" in doc["summary"][0]
    # Without --guest the same distrib is a finding: the guest made the difference.
    assert "TF100" in ids(guest_doc(BUGGY))


def test_solaris_11_guest_gets_a_finding_about_itself() -> None:
    doc = guest_doc(BUGGY, "--release", "5.11", "--version", "11.4.0.15.0")
    tf104 = [f for f in doc["findings"] if f["id"] == "TF104"]
    assert {f["subject"] for f in tf104} == {"vmxnet3s", "vmxnet"}
    assert all("SunOS 5.11 11.4.0.15.0" in f["message"] for f in tf104)
    assert "solaris-11.0" not in " ".join(f["message"] for f in tf104)  # about this guest only
    assert doc["guest"]["wrong_builds"]["vmxnet3s"] == ["10", "10_64"]
    assert doc["guest"]["patch"] == "needed"


def test_solaris_9_gets_nothing_and_nothing_applies() -> None:
    doc = guest_doc(BUGGY, "--release", "5.9", "--version", "Generic_122300-61")
    assert doc["_exit"] == 0 and not doc["findings"]
    assert doc["guest"]["patch"] == "not-applicable"
    assert {skipped(doc)[c] for c in ("TF100", "TF104", "TF107")} == {"not-applicable"}


def test_no_solaris_11_builds_means_a_patch_cannot_help() -> None:
    doc = guest_doc(NO11, "--release", "5.11", "--version", "11.1")
    assert doc["guest"]["patch"] == "cannot-help"
    assert "TF105" in ids(doc) and "TF104" not in ids(doc)
    s10 = guest_doc(NO11, "--release", "5.10", "--version", "Generic_147441-21")
    assert "TF105" not in ids(s10) and skipped(s10)["TF105"] == "not-applicable"


@pytest.mark.parametrize(
    ("guest", "needs", "patch"),
    [
        ("roots/sol10-correct", "10", "not-needed"),
        ("roots/sol11.1-buggy", "11", "needed"),
        ("roots/sol11.4-stripped-template", "11", "needed"),
        ("bundles/sol11.1-fixed-lso-off-mtu9000", "11", "needed"),
        ("bundles/sol10-no-accept-jumbo", "10", "not-needed"),
    ],
)
def test_guest_from_an_image_root_or_a_bundle(guest: str, needs: str, patch: str) -> None:
    doc = guest_doc(BUGGY, "--guest", str(SAMPLES / guest))
    g = doc["guest"]
    assert g["expected_build_dir"] == needs and g["patch"] == patch
    assert g["origin"].split(":", 1)[0] in ("root", "bundle")
    assert g["evidence"], "the guest's release must say where it was read"


def test_a_linux_guest_is_not_the_solaris_configurators_business() -> None:
    doc = guest_doc(BUGGY, "--guest", str(SAMPLES / "bundles" / "linux-router-lro"))
    assert doc["_exit"] == 0 and not doc["findings"]
    assert doc["guest"]["os_kind"] == "linux" and doc["guest"]["patch"] == "not-applicable"
    assert skipped(doc)["TF100"] == "not-applicable"


@pytest.mark.skipif(not HAVE_PERL, reason="perl is not installed")
def test_execution_wins_for_the_guest_too() -> None:
    doc = guest_doc(OVERRIDE, "--release", "5.11", "--version", "11.1")
    g = doc["guest"]
    assert g["driver_dirs_source"] == "execution"
    assert g["driver_dirs"]["vmxnet3s"] == ["11", "11_64"] and g["patch"] == "not-needed"
    assert "TF100" not in ids(doc) and "TF107" in ids(doc)


def test_guest_json_validates_against_the_report_schema() -> None:
    import jsonschema  # test-only dependency

    validator = jsonschema.Draft202012Validator(jsonschemas.bundled("report"))
    for args in (
        ("--release", "5.11", "--version", "11.4.0.15.0"),
        ("--guest", str(SAMPLES / "roots" / "sol10-correct")),
        ("--guest", str(SAMPLES / "bundles" / "linux-router-lro")),
    ):
        doc = guest_doc(BUGGY, *args, execute=False)
        doc.pop("_exit")
        assert not list(validator.iter_errors(doc)), args


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--guest", "g", "--release", "5.11", "--version", "11.1"], 2, "not both"),
        (["--release", "5.11"], 2, "go together"),
        (["--version", "11.1"], 2, "go together"),
        (["--release", "11.1", "--version", "11.1"], 2, "SunOS 5.<minor>"),
        (["--release", "5.11", "--version", "11 1"], 2, "uname -v"),
        (["--release", "5.11", "--version", "x\tz"], 2, "uname -v"),
        (["--guest", "/nonexistent/guest"], 3, "no such"),
    ],
)
def test_bad_guest_arguments_are_one_line(args: list[str], code: int, words: str) -> None:
    got, out, err = run("scan", str(BUGGY), "--no-exec", *args)
    assert got == code and words in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out


def test_a_root_that_does_not_say_its_release_is_not_evaluable(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    code, _, err = run("scan", str(BUGGY), "--no-exec", "--guest", str(tmp_path))
    assert code == int(ExitCode.INPUT) and "cannot tell which Solaris release" in err


def test_guest_from_uname_validates() -> None:
    g = guest_from_uname("5.11", "snv_111b")
    assert g.needs == "2009.06" and g.guest is not None and g.guest.minor == 11
    with pytest.raises(ToolsfixError) as exc:
        guest_from_uname("5.x", "11.1")
    assert exc.value.exit_code == ExitCode.USAGE


def test_the_service_takes_the_guest_directly() -> None:
    target = load_guest(SAMPLES / "roots" / "sol11.1-buggy")
    report = scan(BUGGY, ScanOptions(execute=False, guest=target))
    answer: Optional[dict[str, Any]] = report.to_dict().get("guest")
    assert answer is not None and answer["uname_r"] == "5.11" and answer["patch"] == "needed"
