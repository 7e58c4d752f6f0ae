"""Driver facts: identification, provenance with its evidence, and what makes a guest
evaluable, built from in-memory captures (image-root, bundle and live shaped)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Optional
from urllib.parse import quote

from samplelib import driver

from toolsfix.guest.capture_api import COMMANDS, CommandResult
from toolsfix.guest.drivers import DriverFacts, driver_facts, not_evaluable
from toolsfix.guest.facts import GuestFacts, GuestReader, facts_from_capture
from toolsfix.guest.testing import StaticCapture
from toolsfix.knowledge import NEW_LSO_PATH, OLD_LSO_PATH, OsFamily, Provenance

S114 = b"                             Oracle Solaris 11.4 X86\n"
S111 = b"                             Oracle Solaris 11.1 X86\n"
S10 = b"                    Oracle Solaris 10 1/13 s10x_u11wos_24a X86\n"
OMNIOS = b"  OmniOS v11 r151046\n"
NIC64 = "/kernel/drv/amd64/vmxnet3s"
NIC32 = "/kernel/drv/vmxnet3s"


def build(
    files: Mapping[str, bytes],
    commands: Optional[Mapping[str, tuple[int, str]]] = None,
    origin: str = "root:/mnt/image",
) -> tuple[GuestFacts, DriverFacts]:
    cmds = {
        key: CommandResult(key, COMMANDS[key][0], status, out)
        for key, (status, out) in (commands or {}).items()
    }
    capture = StaticCapture(origin, cmds, dict(files))
    reader = GuestReader(capture)
    facts = facts_from_capture(capture, reader)
    return facts, driver_facts(reader, facts)


def ips(publisher: str, stem: str, version: str, paths: list[str]) -> dict[str, bytes]:
    """An IPS image's installed catalog and one manifest delivering ``paths``."""
    manifest = f"set name=pkg.fmri value=pkg://{publisher}/{stem}@{version}\n" + "".join(
        f"file 0123abcd group=sys mode=0755 owner=root path={p.lstrip('/')} pkg.size=1\n"
        for p in paths
    )
    where = f"/var/pkg/publisher/{publisher}/pkg/{quote(stem, safe='')}/{quote(version, safe='')}"
    catalog = {"_SIGNATURE": {}, publisher: {stem: [{"version": version}]}}
    return {
        "/var/pkg/state/installed/catalog.base.C": json.dumps(catalog).encode(),
        where: manifest.encode(),
    }


def test_tar_installed_driver_cites_its_journal_line() -> None:
    journal = b"answer BINDIR /usr/bin\nfile /kernel/drv/amd64/vmxnet3s 1420070400\n"
    files = {
        "/etc/release": S111,
        "/etc/vmware-tools/locations": journal,
        NIC64: driver("vmxnet3s", "11_64", "9.9.2", "2496486"),
    }
    facts, drv = build(files)
    d = next(d for d in drv.drivers if d.path == NIC64)
    assert (d.provenance, d.rung, d.os_dir) == (Provenance.TAR_INSTALLER, "exact", "11_64")
    assert d.provenance_evidence is not None and d.provenance_evidence.line == 2
    assert not drv.packages.available  # every driver is in the journal: nothing to look up
    assert drv.tools.value is Provenance.TAR_INSTALLER
    assert not_evaluable(facts, drv) is None


def test_ips_package_from_the_image_and_its_release_dates_lso() -> None:
    """An open-vm-tools package build no fingerprint knows: package provenance, the manifest
    line as evidence, and the LSO path from the package's release (old before 9.10)."""
    data = driver("vmxnet3s", "11_64", "12.1.5", "20735119")
    for version, era in (
        ("12.1.5,11.4-11.4.42.0.1.111.0", NEW_LSO_PATH),
        ("9.4.0,11.4-1", OLD_LSO_PATH),
    ):
        files = {"/etc/release": S114, NIC64: data, **ips("ovt", "open-vm-tools", version, [NIC64])}
        _facts, drv = build(files)
        d = next(d for d in drv.drivers if d.path == NIC64)
        assert d.provenance is Provenance.PACKAGE and "open-vm-tools" in (d.package or "")
        assert d.rung != "exact" and d.os_dir is None and d.tools_version is None
        assert d.lso_era == era, version
        ev = d.provenance_evidence
        assert ev is not None and ev.path and ev.path.startswith("/var/pkg/publisher/ovt/pkg/")
        assert ev.line == 2 and "kernel/drv/amd64/vmxnet3s" in (ev.excerpt or "")
        assert drv.tools.value is Provenance.PACKAGE


def test_illumos_os_package_over_pkg_contents_is_the_os() -> None:
    out = "pkg://omnios/driver/network/vmxnet3s@0.5.11-151046.0  kernel/drv/amd64/vmxnet3s\n"
    commands = {
        "uname_s": (0, "SunOS\n"),
        "uname_r": (0, "5.11\n"),
        "uname_v": (0, "omnios-r151046-5e3ed0b5d6\n"),
        "pkg_contents_drivers": (0, out),
        "svr4_contents_drivers": (1, ""),  # egrep: no line matched, an answer
    }
    files = {NIC64: driver("vmxnet3s", "11_64", "8.6.16", "2800000")}
    facts, drv = build(files, commands, origin="live:tf-synthetic")
    assert facts.os_family.value is OsFamily.ILLUMOS
    d = next(d for d in drv.drivers if d.path == NIC64)
    assert d.provenance is Provenance.OS
    assert d.provenance_evidence is not None and "pkg contents" in (
        d.provenance_evidence.command or ""
    )
    source = drv.packages.source
    assert drv.packages.known and source is not None and "IPS and SVR4" in (source.detail or "")
    assert not drv.tools.available and "OS's own" in (drv.tools.reason or "")


def test_illumos_driver_without_package_records_is_inferred_from_the_family() -> None:
    """No /var/pkg readable: the OS driver is still the answer (evaluable, no exit 3), and the
    evidence says it was inferred and why the package records could not settle it."""
    files = {"/etc/release": OMNIOS, NIC64: driver("vmxnet3s", "11_64", "8.6.16", "2800000")}
    facts, drv = build(files)
    d = next(d for d in drv.drivers if d.path == NIC64)
    assert d.provenance is Provenance.OS
    detail = d.provenance_evidence.detail if d.provenance_evidence else ""
    assert "inferred from the OS family" in (detail or "") and "no package database" in (
        detail or ""
    )
    assert not_evaluable(facts, drv) is None


def test_a_32_bit_location_is_not_an_os_driver_on_illumos() -> None:
    """Only the path the OS ships from is inferred as the OS's; anything else stays unknown."""
    files = {"/etc/release": OMNIOS, NIC32: driver("vmxnet3s", "11", "8.6.16", "2800000")}
    _facts, drv = build(files)
    assert next(d for d in drv.drivers if d.path == NIC32).provenance is Provenance.UNKNOWN


def test_svr4_package_from_a_bundle_egrep() -> None:
    line = "/kernel/drv/vmxnet3s f none 0755 root sys 24440 12345 1357000000 VMWvmxnet3s\n"
    commands = {
        "uname_s": (0, "SunOS\n"),
        "uname_r": (0, "5.10\n"),
        "uname_v": (0, "Generic_147441-21\n"),
        "pkg_contents_drivers": (0, ""),
        "svr4_contents_drivers": (0, line),
    }
    files = {"/etc/release": S10, NIC32: driver("vmxnet3s", "10", "9.2.2", "893683")}
    _facts, drv = build(files, commands, origin="bundle:/srv/guest42")
    d = next(d for d in drv.drivers if d.path == NIC32)
    assert d.provenance is Provenance.PACKAGE and d.package == "SVR4 package VMWvmxnet3s"
    assert d.rung == "exact" and d.os_dir == "10"  # a known build keeps its identification


def test_old_bundle_without_package_rows_says_so() -> None:
    commands = {"uname_s": (0, "SunOS\n"), "uname_r": (0, "5.11\n"), "uname_v": (0, "11.4\n")}
    files = {"/etc/release": S114, NIC64: driver("vmxnet3s", "11_64", "9.2.2", "893683")}
    _facts, drv = build(files, commands, origin="bundle:/srv/guest7")
    assert not drv.packages.available
    assert "was not captured in the bundle" in (drv.packages.reason or "")
    d = next(d for d in drv.drivers if d.path == NIC64)
    assert d.provenance is Provenance.UNKNOWN  # an orphan until shown otherwise


def test_what_makes_a_guest_not_evaluable() -> None:
    facts, drv = build({"/etc/vmware-tools/locations": b"answer BINDIR /usr/bin\n"})
    assert "too little to decide" in (not_evaluable(facts, drv) or "")
    facts, drv = build({"/srv/data": b"x"})
    assert "nothing to verify" in (not_evaluable(facts, drv) or "")
    capture = StaticCapture(
        "root:/mnt/image",
        files={"/etc/release": S111},
        unreadable={NIC32: "Permission denied", NIC64: "Permission denied"},
    )
    reader = GuestReader(capture)
    facts = facts_from_capture(capture, reader)
    why = not_evaluable(facts, driver_facts(reader, facts), interrupted=("commands",))
    assert why is not None and why.startswith("not evaluable: could not read")
    assert f"{NIC32}, {NIC64} (Permission denied)" in why  # grouped by reason
    assert why.endswith("and the collection was interrupted (no finished= line)")


def test_linux_guest_drivers_are_not_examined() -> None:
    files = {"/etc/os-release": b"ID=centos\nVERSION_ID=7\n"}
    facts, drv = build(files)
    assert facts.os_family.value is OsFamily.LINUX
    assert not drv.examined and drv.drivers == ()
    assert not_evaluable(facts, drv) is None
    report = drv.report(facts)
    assert report["os"]["family"] == "linux" and report["drivers"] == []


def test_linux_tools_from_a_deb_package() -> None:
    """No tar journal, but dpkg lists open-vm-tools: Tools came from the distribution."""
    files = {
        "/etc/os-release": b"ID=ubuntu\nVERSION_ID=22.04\n",
        "/var/lib/dpkg/info/open-vm-tools.list": b"/.\n/usr/bin/vmtoolsd\n",
    }
    _facts, drv = build(files)
    assert drv.tools.value is Provenance.PACKAGE
    src = drv.tools.source
    assert src is not None and src.path == "/var/lib/dpkg/info/open-vm-tools.list"
    _facts, drv = build({"/etc/os-release": b"ID=ubuntu\n"})
    assert not drv.tools.available and "no install journal" in (drv.tools.reason or "")
