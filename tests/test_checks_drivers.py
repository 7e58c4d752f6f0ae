"""Driver checks in isolation: confidence rules, conf origin, journal, leftovers, missing, and
which checks apply to a driver the OS or a package delivered (driver provenance)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from toolsfix.checks.base import CheckResult
from toolsfix.checks.drivers import DRIVER_CHECKS, DriverCheckInput, evaluate_drivers
from toolsfix.findings import Evidence, Outcome, Severity
from toolsfix.guest.drivers import ConfiguratorFile, DriverFacts
from toolsfix.guest.fact import Fact, fact_missing, fact_of
from toolsfix.guest.facts import GuestFacts
from toolsfix.guest.parsers import parse_driver_conf, parse_locations
from toolsfix.installed import InstalledDriver
from toolsfix.knowledge import OsFamily, Provenance
from toolsfix.safeio import ReadResult, ReadStatus

JOURNAL = parse_locations(
    "answer BINDIR /usr/bin\nanswer LIBDIR /usr/lib/vmware-tools\n"
    "file /kernel/drv/vmxnet3s 1420070400\nfile /kernel/drv/amd64/vmxnet3s 1420070400\n"
)
NO_CFG = ConfiguratorFile("/usr/bin/vmware-config-tools.pl", ReadResult(ReadStatus.ABSENT))
OS_EVIDENCE = Evidence(path="/var/pkg/publisher/omnios/pkg/x/y", line=7, excerpt="file ...")


def facts(family: Optional[OsFamily] = OsFamily.SOLARIS_11, **kw: Any) -> DriverFacts:
    base: dict[str, Any] = {
        "family": fact_of(family, Evidence(path="/etc/release")) if family else fact_missing("?"),
        "expected_family": "11",
        "kernel_bits": 64,
        "install_db": JOURNAL,
        "libdir": "/usr/lib/vmware-tools",
        "bindir": "/usr/bin",
        "configurator": NO_CFG,
        "examined": True,
    }
    base.update(kw)
    return DriverFacts(**base)


def run(
    drivers: list[InstalledDriver], guest: Optional[GuestFacts] = None, **kw: Any
) -> CheckResult:
    drv = facts(drivers=tuple(drivers), **kw)
    return evaluate_drivers(DriverCheckInput(guest or GuestFacts("test"), drv, "/mnt/image"))


def drv(path: str, arch: str, os_dir: Optional[str], rung: str, **kw: Any) -> InstalledDriver:
    loc = "amd64" if "/amd64/" in path else "i386"
    expected = "11_64" if loc == "amd64" else "11"
    kw.setdefault("provenance", Provenance.TAR_INSTALLER)
    return InstalledDriver("vmxnet3s", path, loc, True, arch=arch, rung=rung, os_dir=os_dir,
                           expected_os_dir=expected, **kw)  # fmt: skip


def absent(path: str) -> InstalledDriver:
    loc = "amd64" if "/amd64/" in path else "i386"
    return InstalledDriver("vmxnet3s", path, loc, False)


def ids(result: CheckResult) -> list[str]:
    return sorted(f.id for f in result.findings)


def skipped(result: CheckResult, outcome: Optional[str] = None) -> dict[str, str]:
    return {s.check: s.reason for s in result.skipped if outcome is None or s.outcome == outcome}


def test_every_driver_id_is_registered_once() -> None:
    assert DRIVER_CHECKS.ids() == frozenset(f"TF20{i}" for i in range(10))


def test_only_confident_rungs_claim_a_build_mismatch() -> None:
    pair = [drv("/kernel/drv/vmxnet3s", "i386", "10", "exact"),
            drv("/kernel/drv/amd64/vmxnet3s", "amd64", "10_64", "nearest")]  # fmt: skip
    result = run(pair)
    assert ids(result) == ["TF200", "TF202"]
    tf200 = next(f for f in result.findings if f.id == "TF200")
    assert "/mnt/image" in tf200.remedy and tf200.commands[0] == "toolsfix patch --root /"


def test_right_build_gives_nothing() -> None:
    pair = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact"),
            drv("/kernel/drv/amd64/vmxnet3s", "amd64", "11_64", "code-identical")]  # fmt: skip
    result = run(pair)
    assert result.findings == ()
    assert skipped(result, Outcome.NOT_EVALUATED) == {}


def test_unknown_release_is_skipped_not_guessed() -> None:
    result = run([drv("/kernel/drv/vmxnet3s", "i386", "10", "exact")], expected_family=None)
    assert "TF200" not in ids(result)
    assert "release unknown" in skipped(result)["TF200"]


def test_arch_mismatch_missing_and_leftovers() -> None:
    drivers = [
        drv("/kernel/drv/vmxnet3s", "i386", "11", "exact"),
        absent("/kernel/drv/amd64/vmxnet3s"),
    ]
    listings = {"/kernel/drv": ("vmxnet3s", "vmxnet3s.old.0", "vmxnet3s.old.12", "vmxnet3s.conf")}
    assert ids(run(drivers, listings=listings)) == ["TF205", "TF205", "TF207"]
    swapped = [drv("/kernel/drv/amd64/vmxnet3s", "i386", "11", "exact")]
    assert "TF201" in ids(run(swapped))


def test_journal_mtime_and_orphans() -> None:
    d = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact")]
    assert "TF204" not in ids(run(d, mtimes={"/kernel/drv/vmxnet3s": 1420070400}))
    assert "TF204" in ids(run(d, mtimes={"/kernel/drv/vmxnet3s": 1500000000}))
    orphan = [replace(d[0], provenance=Provenance.UNKNOWN)]
    result = run(orphan, install_db=None)
    assert "TF208" in ids(result)
    tf208 = next(f for f in result.findings if f.id == "TF208")
    # The evidence says which package records were looked at before calling it an orphan.
    assert any("package records" in (e.detail or "") for e in tf208.evidence)


def test_conf_from_another_directory() -> None:
    confs = {"10": b"EnableLSO=1;\n# s10\n", "11": b"EnableLSO=1;\n# s11\n"}
    d = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact")]
    assert "TF206" in ids(run(d, conf=confs["10"], shipped_confs=confs))
    assert "TF206" not in ids(run(d, conf=confs["11"], shipped_confs=confs))
    assert "TF206" not in ids(run(d, conf=b"EnableLSO=0;\n", shipped_confs=confs))


def test_unreadable_inputs_are_not_evaluated_not_missing() -> None:
    """An unreadable build is not a missing one (TF207), an unreadable journal is not an
    absent one (TF208), and what rests on them is listed as not evaluated with the reason."""
    d = [
        replace(drv("/kernel/drv/vmxnet3s", "i386", "11", "exact"), provenance=Provenance.UNKNOWN),
        absent("/kernel/drv/amd64/vmxnet3s"),
    ]
    assert {"TF207", "TF208"} <= set(ids(run(d, install_db=None)))  # the control
    unreadable = {
        "/kernel/drv/amd64/vmxnet3s": "Permission denied",
        "/etc/vmware-tools/locations": "is a directory, not a regular file",
        "/kernel/drv/vmxnet3s.conf": "is a special file, not a regular file",
        "/kernel/drv": "Permission denied",
    }
    confs = {"10": b"# s10\n", "11": b"# s11\n"}
    result = run(d, install_db=None, unreadable=unreadable, listings={"/kernel/drv": ()},
                 shipped_confs=confs)  # fmt: skip
    assert not {"TF207", "TF208", "TF206", "TF205"} & set(ids(result))
    why = {(s.check, s.reason) for s in result.skipped}
    assert ("TF207", "/kernel/drv/amd64/vmxnet3s could not be read: Permission denied") in why
    assert any(c == "TF208" and "locations could not be read" in r for c, r in why)
    assert any(c == "TF206" and "vmxnet3s.conf could not be read" in r for c, r in why)
    assert ("TF205", "/kernel/drv could not be read: Permission denied") in why
    assert all(s.outcome == "not-evaluated" for s in result.skipped if s.check != "TF209")


# --- provenance: what the tar-installer checks say about other drivers ------------------------


def os_driver(rung: str = "nearest") -> InstalledDriver:
    return InstalledDriver(
        "vmxnet3s", "/kernel/drv/amd64/vmxnet3s", "amd64", True, arch="amd64", rung=rung,
        identity="VMware Ethernet v3 1.1.0.0", provenance=Provenance.OS,
        package="IPS package pkg://omnios/driver/network/vmxnet3s@0.5.11",
        provenance_evidence=OS_EVIDENCE,
    )  # fmt: skip


def test_os_driver_is_not_missing_orphaned_or_mismatched() -> None:
    """illumos: 64-bit only, no journal, an identity no Tools build has. The tar-installer
    checks say not-applicable naming the OS; driver-unknown is information."""
    drivers = [absent("/kernel/drv/vmxnet3s"), os_driver()]
    result = run(drivers, family=OsFamily.ILLUMOS, install_db=None)
    assert ids(result) == ["TF203", "TF209"]
    tf203 = next(f for f in result.findings if f.id == "TF203")
    assert tf203.severity is Severity.INFO and "supplied by the OS" in tf203.message
    assert OS_EVIDENCE in tf203.evidence
    na = skipped(result, Outcome.NOT_APPLICABLE)
    for check in ("TF200", "TF206", "TF207", "TF208"):
        assert "supplied by the OS" in na[check], check


def test_os_driver_lso_lineage_is_said_unless_lso_is_off() -> None:
    drivers = [os_driver()]
    result = run(drivers, family=OsFamily.ILLUMOS, install_db=None)
    tf209 = next(f for f in result.findings if f.id == "TF209")
    assert tf209.severity is Severity.INFO and "8.6.x" in tf209.message
    assert tf209.commands and all(c.startswith("# MANUAL") for c in tf209.commands)
    conf_ev = Evidence(path="/kernel/drv/vmxnet3s.conf")
    off = GuestFacts("test", driver_conf=fact_of(parse_driver_conf("EnableLSO=0,0;\n"), conf_ev))
    result = run(drivers, guest=off, family=OsFamily.ILLUMOS, install_db=None)
    assert "TF209" not in ids(result)
    assert "EnableLSO=0" in skipped(result, Outcome.NOT_APPLICABLE)["TF209"]
    on_for_one = GuestFacts(
        "test", driver_conf=fact_of(parse_driver_conf("EnableLSO=0,1;\n"), conf_ev)
    )
    # Instance 1 is not seen anywhere, so only instance 0 counts: LSO is off there.
    assert "TF209" not in ids(run(drivers, guest=on_for_one, family=OsFamily.ILLUMOS))


def test_package_driver_confident_match_is_quiet() -> None:
    """A package that ships a build the database knows byte for byte is not 'unknown'."""
    d = replace(os_driver("exact"), provenance=Provenance.PACKAGE, os_dir="11_64")
    result = run([d], family=OsFamily.SOLARIS_11, install_db=None)
    assert ids(result) == []
    assert "delivered by IPS package" in skipped(result, Outcome.NOT_APPLICABLE)["TF208"]


def test_tar_driver_on_illumos_is_judged_like_any_tar_install() -> None:
    """A tar install on illumos (the configurator runs there too): the checks apply."""
    pair = [
        drv("/kernel/drv/vmxnet3s", "i386", "10", "exact"),
        absent("/kernel/drv/amd64/vmxnet3s"),
    ]
    assert ids(run(pair, family=OsFamily.ILLUMOS)) == ["TF200", "TF207"]


def test_guest_without_solaris_drivers_gets_every_check_not_applicable() -> None:
    family: Fact[OsFamily] = fact_of(OsFamily.LINUX, Evidence(path="/etc/os-release"))
    drv_facts = DriverFacts(family, None, None, None, "/usr/lib/vmware-tools", "/usr/bin", NO_CFG)
    result = evaluate_drivers(DriverCheckInput(GuestFacts("test"), drv_facts))
    assert result.findings == ()
    assert {s.check for s in result.skipped} == DRIVER_CHECKS.ids()
    assert all(s.outcome == "not-applicable" and "Linux guest" in s.reason for s in result.skipped)
