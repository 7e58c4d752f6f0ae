"""Driver facts: what is installed in ``/kernel/drv``, which build it is, and where it came from.

The facts layer for everything the driver and configurator checks judge, built once per run
from the same :class:`~toolsfix.guest.reader.GuestReader` as the OS facts, so checks never
gather and never ask where data came from:

* the install journal's ``LIBDIR``/``BINDIR`` and the configurator it points to (its bytes;
  the analysis of them is a service's job);
* every verified module in both kernel locations, identified against the guest's own
  ``LIBDIR/modules/binary`` builds first (the same release as what was installed, so the
  strongest evidence), then against the fingerprint database (:func:`~toolsfix.identify.best_of`);
* each driver's :class:`~toolsfix.knowledge.Provenance` with its evidence: the tar installer's
  journal line, the package record that delivered it (IPS, SVR4), or the OS itself (illumos
  ships ``vmxnet3s``); a package's release dates the LSO path when no fingerprint knows the
  bytes;
* mtimes, directory listings, the installed and shipped ``vmxnet3s.conf``;
* what could not be read, and which of those are *core* inputs without which no verdict can
  be given (:func:`not_evaluable`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Optional

from toolsfix.findings import Evidence
from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes
from toolsfix.fpdb import FingerprintDB, Record, learn, load_all, record_of
from toolsfix.guest.bundle import BundleCapture
from toolsfix.guest.capture_api import Capture
from toolsfix.guest.fact import Fact, fact_missing, fact_of
from toolsfix.guest.facts import GuestFacts
from toolsfix.guest.parsers import InstallDB
from toolsfix.guest.reader import GuestReader, is_unread
from toolsfix.guest.tools_install import ConfiguratorFile, configurator_file, install_locations
from toolsfix.identify import best_of
from toolsfix.installed import InstalledDriver
from toolsfix.installer import find_buildnr
from toolsfix.knowledge import (
    DRIVER_CONF_PATH,
    DRIVER_LOCATIONS,
    INSTALL_DB_PATH,
    NIC_MODULE,
    OS_DRIVER_LINEAGE,
    OS_DRIVER_PACKAGE_PREFIX,
    OS_SUPPLIED_DRIVERS,
    UNKNOWN_LSO_PATH,
    VERIFIED_MODULES,
    OsFamily,
    Provenance,
    build_dir,
    classify_build,
    expected_family,
    lso_era_of_release,
)
from toolsfix.safeio import ReadStatus

if TYPE_CHECKING:  # package records are read only when the install journal leaves a gap
    from toolsfix.guest.packages import PackageOwner

__all__ = [
    "RELEASE_FILES",
    "ConfiguratorFile",
    "DriverFacts",
    "configurator_file",
    "driver_facts",
    "interrupted_collection",
    "not_evaluable",
]

RELEASE_FILES = ("/etc/release", "/etc/os-release")
_OTHER_OS = (OsFamily.LINUX, OsFamily.ESXI)


@dataclass(frozen=True)
class DriverFacts:
    """Installed drivers and the Tools install around them, each with its evidence.

    ``examined`` is False for guests whose kernel is not SunOS (and that show no vmxnet3s):
    nothing under ``/kernel/drv`` was identified there. ``blockers`` are the core inputs that
    exist but could not be read, as (path, why).
    """

    family: Fact[OsFamily]
    expected_family: Optional[str]  # "10", "11", "2009.06"; None when not Solaris 10+
    kernel_bits: Optional[int]
    install_db: Optional[InstallDB]
    libdir: str
    bindir: str
    configurator: ConfiguratorFile
    examined: bool = False
    drivers: tuple[InstalledDriver, ...] = ()
    identifications: tuple[Mapping[str, Any], ...] = ()
    mtimes: Mapping[str, Optional[int]] = field(default_factory=dict)
    listings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conf: Optional[bytes] = None
    shipped_confs: Mapping[str, bytes] = field(default_factory=dict)
    packages: Fact[Mapping[str, PackageOwner]] = field(
        default_factory=lambda: fact_missing("not consulted")
    )
    tools: Fact[Provenance] = field(default_factory=lambda: fact_missing("not evaluated"))
    unreadable: Mapping[str, str] = field(default_factory=dict)
    blockers: tuple[tuple[str, str], ...] = ()

    @property
    def present(self) -> tuple[InstalledDriver, ...]:
        return tuple(d for d in self.drivers if d.present)

    def nic(self) -> tuple[InstalledDriver, ...]:
        """The vmxnet3s records (both locations), as the network checks take them."""
        return tuple(d for d in self.drivers if d.module == NIC_MODULE)

    def unread(self, path: str) -> Optional[str]:
        """``"<path> could not be read: <why>"`` when ``path`` is unreadable, else None."""
        why = self.unreadable.get(path)
        return None if why is None else f"{path} could not be read: {why}"

    @property
    def other_os(self) -> bool:
        """A Linux or ESXi guest: nothing of the Solaris install applies."""
        return self.family.known and self.family.value in _OTHER_OS

    def _reported(self, d: InstalledDriver) -> bool:
        """Present or unreadable drivers, and an absent vmxnet3s where the tar installer's
        pair is expected (not beside an OS's or a package's 64-bit-only driver)."""
        if d.present or d.unreadable is not None:
            return True
        nic = [x for x in self.present if x.module == NIC_MODULE]
        return d.module == NIC_MODULE and (not nic or any(x.from_tar_installer for x in nic))

    def report(self, facts: GuestFacts) -> dict[str, Any]:
        """The ``facts`` part of a verify report (the configurator is added by the service)."""
        release = facts.release.value if facts.release.available else None
        family = self.family.value if self.family.known else None
        return {
            "origin": facts.origin,
            "os": {
                "kind": facts.os_kind.value,
                "family": family.value if family is not None else None,
                "release": release.name if release is not None else None,
                "uname_r": facts.uname_r.value,
                "uname_v": facts.uname_v.value,
                "kernel_bits": facts.kernel_bits.value,
                "expected_build_dir": self.expected_family,
            },
            "install_db": {
                "present": self.install_db is not None,
                "libdir": self.libdir,
                "bindir": self.bindir,
            },
            "tools": self.tools.to_dict(),
            "drivers": [d.to_dict() for d in self.drivers if self._reported(d)],
            "identifications": [dict(i) for i in self.identifications],
            "packages": self.packages.to_dict(),
            "unreadable": dict(sorted(self.unreadable.items())),
        }


# --------------------------------------------------------------------------- identification


def _recorded(data: bytes, known: Sequence[FingerprintDB]) -> Optional[DriverFingerprint]:
    """The fingerprint a database recorded for ``data``, or None when none knows the bytes.

    A fingerprint is a pure function of the bytes, so a recorded one *is* the fingerprint of
    any file with the same sha256: taking it spares the parse, and with it the import of the
    ELF engine (LIEF's alone costs 0.5-1 s), for every build some database already knows.
    The databases are trusted exactly as far as before (an exact match already names the
    build); a record whose size disagrees with the bytes is inconsistent and not taken, nor
    one without its fingerprint (a head served from an index).
    """
    sha256 = hashlib.sha256(data).hexdigest()
    for db in known:
        for record in db.by_sha256(sha256):
            fp = getattr(record, "fingerprint", None)
            if isinstance(fp, DriverFingerprint) and fp.size == len(data) and fp.is_elf:
                return fp
    return None


def _fingerprint(data: bytes, name: str, known: Sequence[FingerprintDB]) -> DriverFingerprint:
    """The fingerprint of ``data`` named ``name``: recorded when a database knows the bytes,
    parsed only when none does. Only what no record stores differs from a parse: the engine
    is ``"database"`` and there are no parse warnings (neither is part of any report)."""
    found = _recorded(data, known)
    if found is None:
        return fingerprint_bytes(data, name=name)
    return replace(found, name=name, engine="database", warnings=())


def _local_db(
    reader: GuestReader,
    libdir: str,
    version: Optional[str],
    build: Optional[str],
    known: FingerprintDB,
) -> FingerprintDB:
    """Fingerprint records of the builds the guest itself carries in ``LIBDIR``.

    The installer copies these files byte for byte, so they are usually builds a database
    already knows: those become records from the known fingerprint (hash speed); only bytes
    no database knows are parsed by :func:`~toolsfix.fpdb.learn`.
    """
    base = f"{libdir.rstrip('/')}/modules/binary"
    source = f"guest:{base}"
    records: list[Record] = []
    for d in reader.listdir(base) or []:
        for name in reader.listdir(f"{base}/{d}") or []:
            if name.endswith(".conf"):
                continue
            data = reader.data(f"{base}/{d}/{name}")  # read even if skipped: unreadable is a fact
            relpath = f"lib/modules/binary/{d}/{name}"
            if data is None or classify_build(relpath) is None:
                continue  # not a driver build: learn skips it too
            fp = _recorded(data, (known,))
            if fp is None:
                records += learn([(relpath, data)], tools_version=version, build=build,
                                 source=source)  # fmt: skip
                continue
            fp = replace(fp, name=relpath, engine="database", warnings=())
            record = record_of(relpath, fp, tools_version=version, build=build, source=source)
            if record is not None:
                records.append(record)
    return FingerprintDB(records)


def _identify(
    data: bytes,
    d: InstalledDriver,
    dbs: Sequence[tuple[str, FingerprintDB]],
) -> tuple[InstalledDriver, dict[str, Any]]:
    """``d`` (a present file) with what identification says about its bytes (parsed only
    when no database knows them: see :func:`_fingerprint`)."""
    fp = _fingerprint(data, d.path, [db for _, db in dbs])
    best, label = best_of(fp, dbs, location_arch=d.location_arch)
    cand = best.candidates[0] if best.candidates else None
    os_dirs = sorted({c.os_dir for c in best.candidates})
    os_dir = cand.os_dir if cand is not None and not best.ambiguous else None
    expected = d.expected_os_dir
    if best.ambiguous and expected is not None and expected in os_dirs:
        os_dir = expected  # the same bytes ship for the right directory too: not a mismatch
    elif best.ambiguous and len({x.removesuffix("_64") for x in os_dirs}) == 1:
        os_dir = os_dirs[0]
    detail = f"sha256 {fp.sha256}; {best.rung} match in {label or 'no database'}"
    if cand is not None:
        detail += f": {cand.describe()}"
    if best.ambiguous:
        detail += f" (ambiguous: same bytes in {', '.join(os_dirs)})"
    identified = replace(
        d,
        arch=fp.arch,
        rung=best.rung,
        os_dir=os_dir if best.rung != "unknown" else None,
        tools_version=cand.tools_version if cand else None,
        build=cand.build if cand else None,
        identity=fp.identity,
        lso_era=best.lso_era,
        sha256=fp.sha256,
        evidence=Evidence(path=d.path, excerpt=best.identity or fp.identity, detail=detail),
    )
    return identified, {**best.to_dict(), "database": label}


# --------------------------------------------------------------------------- provenance


def _owner_is_os(owner: PackageOwner, family: Optional[OsFamily]) -> bool:
    """An illumos distribution's own driver package (``driver/network/vmxnet3s``)."""
    return (
        family is OsFamily.ILLUMOS
        and owner.system == "ips"
        and owner.name.startswith(OS_DRIVER_PACKAGE_PREFIX)
    )


def _provenance(
    d: InstalledDriver,
    db: Optional[InstallDB],
    owners: Mapping[str, PackageOwner],
    family: Optional[OsFamily],
    expected: Optional[str],
    packages_reason: Optional[str],
) -> InstalledDriver:
    """``d`` with where it came from: the journal, a package, the OS, or unknown (and why)."""
    if db is not None and d.path in db.files:
        line = db.file_lines.get(d.path)
        ev = Evidence(
            path=INSTALL_DB_PATH,
            line=line,
            excerpt=f"file {d.path}",
            detail="recorded by the VMware Tools tar installer",
        )
        return replace(d, provenance=Provenance.TAR_INSTALLER, provenance_evidence=ev)
    owner = owners.get(d.path)
    if owner is not None:
        kind = Provenance.OS if _owner_is_os(owner, family) else Provenance.PACKAGE
        confident = d.rung in ("exact", "code-identical")
        d = _not_a_tools_build(d)
        era = lso_era_of_release(owner.release, expected)
        if kind is Provenance.PACKAGE and not confident and era != UNKNOWN_LSO_PATH:
            # The package's release dates the build better than a resemblance can.
            d = replace(d, lso_era=era)
        return replace(
            d, provenance=kind, package=owner.describe(), provenance_evidence=owner.evidence
        )
    if family is not None and d.path in OS_SUPPLIED_DRIVERS.get(family, ()):
        why = packages_reason or "no package record names it"
        ev = Evidence(
            path=d.path,
            detail=f"part of the OS: {OS_DRIVER_LINEAGE.get(family, family.value)}; "
            f"no install journal records it; inferred from the OS family ({why})",
        )
        return replace(_not_a_tools_build(d), provenance=Provenance.OS, provenance_evidence=ev)
    return d


def _not_a_tools_build(d: InstalledDriver) -> InstalledDriver:
    """A driver the OS or a package delivered needs no Tools build directory, and at best
    *resembles* a Tools build: keep the resemblance in its identification, but claim no
    directory or release for it unless the bytes match one exactly."""
    if d.rung in ("exact", "code-identical"):
        return replace(d, expected_os_dir=None)
    return replace(d, os_dir=None, tools_version=None, build=None, expected_os_dir=None)


def _tools(
    db: Optional[InstallDB], configurator: ConfiguratorFile, drivers: Sequence[InstalledDriver],
    reader: GuestReader,
) -> Fact[Provenance]:  # fmt: skip
    """How VMware Tools got onto the guest: the tar installer, a package, or not at all."""
    if db is not None:
        return fact_of(
            Provenance.TAR_INSTALLER,
            Evidence(path=INSTALL_DB_PATH, detail="the tar installer's install journal"),
        )
    if configurator.read.ok:
        return fact_of(
            Provenance.TAR_INSTALLER,
            Evidence(path=configurator.path, detail="a tar-installed configurator, no journal"),
        )
    packaged = [d for d in drivers if d.provenance is Provenance.PACKAGE]
    if packaged and packaged[0].provenance_evidence is not None:
        return fact_of(Provenance.PACKAGE, packaged[0].provenance_evidence)
    from toolsfix.guest.packages import dpkg_package  # lazy: only without a journal

    deb = dpkg_package(reader)
    if deb is not None:
        return fact_of(Provenance.PACKAGE, deb.evidence)
    if drivers and all(d.provenance is Provenance.OS for d in drivers if d.present):
        return fact_missing("no VMware Tools install: the drivers are the OS's own")
    return fact_missing(f"no install journal ({INSTALL_DB_PATH}), configurator or package record")


# --------------------------------------------------------------------------- the builder


def _candidates(expected: Optional[str]) -> list[InstalledDriver]:
    out: list[InstalledDriver] = []
    for module in VERIFIED_MODULES:
        for loc, arch in DRIVER_LOCATIONS:
            want = None if expected is None else build_dir(expected, arch)
            path = f"{loc}/{module}"
            out.append(InstalledDriver(module, path, arch, False, expected_os_dir=want))
    return out


def _identify_all(
    reader: GuestReader,
    candidates: Sequence[InstalledDriver],
    cfg: ConfiguratorFile,
    libdir: str,
    db_dirs: Sequence[Path],
) -> tuple[list[InstalledDriver], list[dict[str, Any]], list[tuple[str, str]]]:
    """Every candidate read and identified: (drivers, identifications, unreadable vmxnet3s
    builds as blockers). The databases are built only once a driver is actually there."""
    dbs: list[tuple[str, FingerprintDB]] = []
    drivers: list[InstalledDriver] = []
    idents: list[dict[str, Any]] = []
    blockers: list[tuple[str, str]] = []
    for d in candidates:
        read = reader.read_checked(d.path)
        if read.data is None:
            unread = reader.unreadable.get(d.path)
            if unread is not None and d.module == NIC_MODULE:
                blockers.append((d.path, unread))  # the build that decides the verdict
            drivers.append(replace(d, unreadable=unread))
            continue
        if not dbs:
            cfg_text = cfg.data.decode("utf-8", "replace") if cfg.data is not None else ""
            version, build, _ = find_buildnr(cfg_text)
            shared = load_all(db_dirs)
            local = _local_db(reader, libdir, version, build, shared)
            dbs = [(f"guest {libdir}/modules/binary", local), ("fingerprint database", shared)]
        found, ident = _identify(bytes(read.data), replace(d, present=True), dbs)
        drivers.append(found)
        idents.append(ident)
    return drivers, idents, blockers


def _shipped_confs(reader: GuestReader, libdir: str) -> dict[str, bytes]:
    """``LIBDIR/modules/binary/<dir>/vmxnet3s.conf`` by directory: what the installer copies."""
    shipped: dict[str, bytes] = {}
    binary = f"{libdir.rstrip('/')}/modules/binary"
    for name in reader.listdir(binary) or []:
        data = reader.data(f"{binary}/{name}/vmxnet3s.conf")
        if data is not None:
            shipped[name] = data
    return shipped


def driver_facts(
    reader: GuestReader, facts: GuestFacts, db_dirs: Sequence[Path] = ()
) -> DriverFacts:
    """The driver facts of the guest ``reader`` reads (``facts`` built from the same reader).

    Never raises for bad data: unreadable inputs are recorded (and the core ones listed in
    ``blockers``); identification of a file no database knows is the ``unknown`` rung.
    """
    db, libdir, bindir = install_locations(facts)
    r = facts.uname_r.value if facts.uname_r.available else None
    v = facts.uname_v.value if facts.uname_v.available else None
    expected = expected_family(r, v)
    family = facts.os_family.value if facts.os_family.known else None
    solaris = facts.os_kind.known and facts.os_kind.value == "solaris"
    other_os = family in _OTHER_OS or (facts.os_kind.value in ("linux", "esxi"))
    cfg = configurator_file(reader, facts)
    blockers: list[tuple[str, str]] = []
    if cfg.unread is not None and not other_os:
        blockers.append((cfg.path, reader.unreadable[cfg.path]))
    elif (
        cfg.read.status is ReadStatus.ABSENT
        and INSTALL_DB_PATH in reader.unreadable
        and not other_os
    ):  # BINDIR comes from the journal: "no configurator" at the default is not established
        why = f"{reader.unreadable[INSTALL_DB_PATH]}; no configurator at {cfg.path}"
        blockers.append((INSTALL_DB_PATH, why))

    candidates = _candidates(expected)
    nic = [reader.read_checked(d.path) for d in candidates if d.module == NIC_MODULE]
    examined = solaris or any(x.ok or (not other_os and is_unread(x.status)) for x in nic)
    base = DriverFacts(
        facts.os_family, expected, facts.kernel_bits.value if facts.kernel_bits.known else None,
        db, libdir, bindir, cfg,
    )  # fmt: skip
    if not examined:
        tools = _tools(db, cfg, (), reader)
        return replace(base, tools=tools, unreadable=dict(reader.unreadable),
                       blockers=tuple(blockers))  # fmt: skip

    drivers, idents, unread_nics = _identify_all(reader, candidates, cfg, libdir, db_dirs)
    blockers += unread_nics
    unrecorded = [d.path for d in drivers if d.present and (db is None or d.path not in db.files)]
    packages: Fact[Mapping[str, PackageOwner]] = fact_missing(
        "not needed: the install journal records every installed driver"
    )
    if unrecorded:
        from toolsfix.guest.packages import package_owners  # lazy: the journal's gaps only

        packages = package_owners(reader, unrecorded)
    owners = packages.value if packages.known and packages.value is not None else {}
    drivers = [
        _provenance(d, db, owners, family, expected, packages.reason) if d.present else d
        for d in drivers
    ]
    if expected is None and (solaris or any(d.present for d in drivers)):
        for path in RELEASE_FILES:
            if path in reader.unreadable:
                blockers.append((path, f"{reader.unreadable[path]}; the guest release is unknown"))
    present = [d for d in drivers if d.present]
    return replace(
        base,
        examined=True,
        drivers=tuple(drivers),
        identifications=tuple(MappingProxyType(i) for i in idents),
        mtimes={d.path: reader.mtime(d.path) for d in present},
        listings={loc: tuple(reader.listdir(loc) or ()) for loc, _ in DRIVER_LOCATIONS},
        conf=reader.data(DRIVER_CONF_PATH),
        shipped_confs=_shipped_confs(reader, libdir),
        packages=packages,
        tools=_tools(db, cfg, drivers, reader),
        unreadable=dict(reader.unreadable),
        blockers=tuple(blockers),
    )


# --------------------------------------------------------------------------- evaluability


def interrupted_collection(capture: Capture) -> Optional[tuple[str, ...]]:
    """What an interrupted collector bundle lacks (None for a complete one or another source)."""
    if not isinstance(capture, BundleCapture) or capture.complete:
        return None
    return tuple(capture.missing_parts())


def not_evaluable(
    facts: GuestFacts, drv: DriverFacts, interrupted: Optional[Sequence[str]] = None
) -> Optional[str]:
    """Why no verdict can be given (one line, without the target), or None when one can.

    Not evaluable: a core input exists but could not be read (a vmxnet3s build, the
    configurator, the release that says which build is right); a tree that shows nothing of
    a guest; a Solaris guest with only an install journal (it says what was copied once, not
    what is there now). An illumos guest with the OS's own vmxnet3s is evaluable: the OS
    driver is the answer.
    """
    if drv.blockers:
        grouped: dict[str, list[str]] = {}
        for path, why in drv.blockers:
            grouped.setdefault(why, []).append(path)
        text = "; ".join(f"{', '.join(paths)} ({why})" for why, paths in grouped.items())
        if interrupted is not None and "interrupted" not in text:
            text += "; and the collection was interrupted (no finished= line)"
        return f"not evaluable: could not read {text}"
    present = bool(drv.present)
    configurator = drv.configurator.read.ok
    kind = facts.os_kind.value if facts.os_kind.available else None
    if kind in (None, "unknown") and drv.install_db is None and not configurator and not present:
        return (
            "nothing to verify: no /etc/release or /etc/os-release, no install database, no "
            "VMware Tools drivers (is this the root of a guest file system?)"
        )
    if not configurator and not present and kind not in ("linux", "esxi") and not drv.other_os:
        held = f"only {INSTALL_DB_PATH}" if drv.install_db is not None else "no install database"
        locations = " or ".join(loc for loc, _ in DRIVER_LOCATIONS)
        return (
            f"not evaluable: too little to decide ({held}; no "
            f"{', '.join(VERIFIED_MODULES[:-1])} or {VERIFIED_MODULES[-1]} under {locations}; "
            f"no configurator at {drv.configurator.path})"
        )
    return None
