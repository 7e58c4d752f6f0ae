"""Fidelity outside the tar-installed Solaris guest: a Linux guest, an illumos guest with the
OS's own vmxnet3s, Solaris 11.4 with open-vm-tools from IPS. Verified end to end on the
SYNTHETIC samples through the CLI (exit codes), and the remedy script never carries Solaris
configurator commands for a guest that does not run the configurator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samplelib import SAMPLES, driver
from test_cli import run
from test_verify_golden import _roots_module

from toolsfix import knowledge as k
from toolsfix.catalog import finding
from toolsfix.findings import Evidence, Finding
from toolsfix.fingerprint import fingerprint_bytes
from toolsfix.fpdb import FingerprintDB, load_all
from toolsfix.identify import best_of
from toolsfix.remedy import GuestScope, remedy_from_report_json, render_remedy_script

CONFIGURATOR_WORDS = ("vmware-config-tools.pl", "toolsfix patch")


def root(name: str, tmp_path: Path) -> Path:
    copied: Path = _roots_module().copy_root(name, tmp_path / name)
    return copied


def commands_of(script: str) -> list[str]:
    return [ln for ln in script.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@pytest.mark.parametrize(
    "name", ["linux-tools-tar", "omnios-os-driver", "sol11.4-open-vm-tools-ips"]
)
def test_guests_without_a_solaris_tar_install_pass(name: str, tmp_path: Path) -> None:
    """The reported defect: a Linux guest root exited 1 with TF100 high. These guests verify
    without Solaris-configurator findings and exit 0 (information only)."""
    code, out, err = run(
        "verify", "--root", str(root(name, tmp_path)), "--no-exec", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert not [f for f in doc["findings"] if f["id"] in ("TF100", "TF207", "TF208")]
    skipped = {s["check"]: s for s in doc["skipped"]}
    assert skipped["TF100"]["outcome"] == "not-applicable" and skipped["TF100"]["reason"]


def test_remedy_for_a_linux_guest_root_runs_no_configurator(tmp_path: Path) -> None:
    code, out, err = run("remedy", "--root", str(root("linux-tools-tar", tmp_path)))
    assert code == 0, err
    assert not [c for c in commands_of(out) if any(w in c for w in CONFIGURATOR_WORDS)]


def _tf100() -> Finding:
    return finding(
        "TF100",
        "/usr/bin/vmware-config-tools.pl: caps the release at 10",
        evidence=[Evidence(path="/usr/bin/vmware-config-tools.pl", line=7)],
        commands=("toolsfix patch --root /", "/usr/bin/vmware-config-tools.pl -d"),
    )


def _saved_report(facts: dict[str, object]) -> str:
    """A report as an older toolsfix wrote it for this guest: TF100 with its commands."""
    return json.dumps({"target": "/", "findings": [_tf100().to_dict()], **facts})


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        ({"os": {"kind": "linux"}}, "Linux guest"),  # written before os.family existed
        ({"os": {"kind": "solaris", "family": "linux"}}, "Linux guest"),
        (
            {"os": {"family": "illumos"}, "tools": {"available": True, "value": "package"}},
            "no VMware Tools tar install",
        ),
        (
            {
                "os": {"family": "solaris-11"},
                "configurator": None,
                "drivers": [{"present": True, "provenance": "package"}],
            },
            "no VMware Tools tar install",
        ),
    ],
)
def test_saved_report_never_emits_configurator_commands_where_it_never_runs(
    facts: dict[str, object], why: str
) -> None:
    script = remedy_from_report_json(_saved_report(facts))
    assert not [c for c in commands_of(script) if any(w in c for w in CONFIGURATOR_WORDS)]
    assert f"# NOT EMITTED ({why}" in script


def test_solaris_tar_guest_still_gets_the_fix() -> None:
    facts = {
        "os": {"family": "solaris-11"},
        "tools": {"available": True, "value": "vmware-tools-tar"},
    }
    script = remedy_from_report_json(_saved_report(facts))
    assert "toolsfix patch --root /" in commands_of(script)
    assert "/usr/bin/vmware-config-tools.pl -d" in commands_of(script)
    # No scope stated (an old report of a Solaris guest): nothing is refused either.
    unscoped = render_remedy_script([_tf100()], target="/", scope=GuestScope())
    assert "toolsfix patch --root /" in commands_of(unscoped)


def test_package_release_dates_the_lso_path() -> None:
    assert k.lso_era_of_release("12.1.5", "11") == k.NEW_LSO_PATH
    assert k.lso_era_of_release("9.4.0", "11") == k.OLD_LSO_PATH
    assert k.lso_era_of_release("10.1.15", "10") == k.OLD_LSO_PATH
    assert k.lso_era_of_release("10.1.15", "11") == k.NEW_LSO_PATH
    assert k.lso_era_of_release("10.1.15", None) == k.UNKNOWN_LSO_PATH
    assert k.lso_era_of_release(None) == k.UNKNOWN_LSO_PATH


def test_family_facts_in_knowledge() -> None:
    assert k.OsFamily.ILLUMOS in k.SUNOS_FAMILIES and k.OsFamily.LINUX not in k.SUNOS_FAMILIES
    assert k.TAR_INSTALLER_FAMILIES < k.SUNOS_FAMILIES
    assert {f.label for f in k.OsFamily} >= {"Solaris 11", "illumos", "Linux"}
    assert all(
        p.startswith("/kernel/drv/amd64/") for p in k.OS_SUPPLIED_DRIVERS[k.OsFamily.ILLUMOS]
    )


def test_best_of_prefers_a_hash_match_and_the_earlier_database() -> None:
    data = driver("vmxnet3s", "11_64", "9.9.2", "2496486")
    fp = fingerprint_bytes(data, name="x")
    shipped = load_all()
    empty = FingerprintDB(())
    ident, label = best_of(fp, [("guest", empty), ("shipped", shipped)], location_arch="amd64")
    assert (ident.rung, label) == ("exact", "shipped")
    ident, label = best_of(fp, [("a", shipped), ("b", shipped)])
    assert label == "a"  # a hash rung ends the search
    ident, label = best_of(fp, [])
    assert (ident.rung, label) == ("unknown", "")


def test_illumos_bundle_reports_the_os_driver() -> None:
    code, out, err = run(
        "verify", "--bundle", str(SAMPLES / "bundles" / "openindiana-os-driver"), "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    nic = next(d for d in doc["drivers"] if d["path"] == "/kernel/drv/amd64/vmxnet3s")
    assert nic["provenance"] == "os" and "driver/network/vmxnet3s" in nic["package"]
    assert doc["os"]["family"] == "illumos"
