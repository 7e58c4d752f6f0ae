"""Checks over installed kernel modules: right build for the OS, right arch, untouched, tracked.

The driver facts (:mod:`toolsfix.guest.drivers`) carry every installed module already
identified, with its provenance and evidence; these checks only compare. A build mismatch is
only claimed from an ``exact`` or ``code-identical`` identification: a "nearest" resemblance
is reported as a modified driver, never as a confident build.

Most of these checks were written for drivers the VMware Tools **tar installer** copied (the
build-directory choice, the journal, the 32/64-bit pair it always installs). A driver the OS
ships (illumos' in-tree ``vmxnet3s``) or a package delivered (open-vm-tools for Solaris 11.4)
is reported ``not-applicable`` by them, with the reason naming its provenance, instead of
being called missing, orphaned or unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple, Optional

from toolsfix.catalog import finding
from toolsfix.checks.base import CheckResult, Registry
from toolsfix.findings import Evidence, Finding, Outcome, Severity, Skipped
from toolsfix.guest.drivers import DriverFacts
from toolsfix.guest.facts import GuestFacts
from toolsfix.installed import InstalledDriver
from toolsfix.knowledge import (
    DRIVER_CONF_PATH,
    INSTALL_DB_PATH,
    NIC_MODULE,
    OS_DRIVER_LINEAGE,
    OsFamily,
    Provenance,
    build_dir,
)

__all__ = [
    "CONF_PATH",
    "DRIVER_CHECKS",
    "PER_DRIVER_CHECKS",
    "DriverCheckInput",
    "evaluate_drivers",
]

CONFIDENT = ("exact", "code-identical")
# What is said about one installed driver file: not evaluated when the file cannot be read.
PER_DRIVER_CHECKS = ("TF200", "TF201", "TF202", "TF203", "TF204", "TF207")
LEFTOVER_RE = re.compile(r"^(?P<module>[A-Za-z0-9_]+)\.old\.(?P<n>\d{1,2})$")
CONF_PATH = DRIVER_CONF_PATH


# A NamedTuple, not a frozen dataclass: an input bundle, never replaced or serialised, and a
# dataclass costs about a millisecond at import (its methods are generated and compiled).
class DriverCheckInput(NamedTuple):
    """What the driver checks read: the guest's facts, its driver facts, and how remedies
    name the target (``/`` on the guest itself)."""

    facts: GuestFacts
    drivers: DriverFacts
    target: str = "/"

    @property
    def rerun(self) -> str:
        return f"{self.drivers.bindir.rstrip('/')}/vmware-config-tools.pl -d"

    @property
    def reinstall_commands(self) -> tuple[str, ...]:
        """On the guest: fix the installed configurator, then let it copy the right builds."""
        return ("toolsfix patch --root /", self.rerun)

    def expected_dir(self, d: InstalledDriver) -> Optional[str]:
        family = self.drivers.expected_family
        return None if family is None else build_dir(family, d.location_arch)

    def shipped(self, d: InstalledDriver) -> str:
        """Where the guest's LIBDIR keeps the build ``d`` should be."""
        base = f"{self.drivers.libdir.rstrip('/')}/modules/binary"
        return f"{base}/{self.expected_dir(d) or '?'}/{d.module}"


DRIVER_CHECKS: Registry[DriverCheckInput] = Registry()


# --------------------------------------------------------------------------- helpers


def _evidence(*items: Optional[Evidence]) -> list[Evidence]:
    return [e for e in items if e is not None]


def _origin(d: InstalledDriver) -> str:
    """``supplied by the OS (illumos-gate vmxnet3s …)`` / ``delivered by IPS package …``."""
    if d.provenance is Provenance.OS:
        lineage = OS_DRIVER_LINEAGE.get(OsFamily.ILLUMOS, "")
        via = f", {d.package}" if d.package else ""
        return f"supplied by the OS ({lineage}{via})"
    return f"delivered by {d.package or 'a package'}"


def _not_tar(inp: DriverCheckInput, check: str, what: str) -> list[Skipped]:
    """One not-applicable skip naming every present driver the tar installer did not copy."""
    foreign = [d for d in inp.drivers.present if not d.from_tar_installer]
    if not foreign:
        return []
    names = "; ".join(f"{d.path} is {_origin(d)}" for d in foreign)
    return [Skipped(check, f"{names}: {what}", Outcome.NOT_APPLICABLE)]


def _unread(inp: DriverCheckInput, check: str) -> list[Skipped]:
    """Not evaluated: a driver file that exists but could not be read."""
    why = [x for x in (inp.drivers.unread(d.path) for d in inp.drivers.drivers) if x]
    return [Skipped(check, "; ".join(why))] if why else []


def _tar(inp: DriverCheckInput) -> list[InstalledDriver]:
    return [d for d in inp.drivers.present if d.from_tar_installer]


# --------------------------------------------------------------------------- the checks


@DRIVER_CHECKS.register("TF200")
def check_build_match(inp: DriverCheckInput) -> CheckResult:
    """TF200: a tar-installed build made for another Solaris release than the guest's."""
    skipped = _unread(inp, "TF200")
    skipped += _not_tar(inp, "TF200", "no VMware Tools build directory applies to it")
    if inp.drivers.expected_family is None:
        skipped.append(Skipped("TF200", "guest release unknown: build match not evaluated"))
        return CheckResult.of(skipped=skipped)
    out: list[Finding] = []
    for d in _tar(inp):
        if d.rung not in CONFIDENT or d.os_dir is None:
            continue
        if d.build_family == inp.drivers.expected_family:
            continue
        out.append(
            finding(
                "TF200",
                f"{d.path} is the {d.os_dir} build (Tools {d.tools_version or '?'} build "
                f"{d.build or '?'}, {d.rung} match) on a guest that needs {d.expected_os_dir}",
                evidence=_evidence(d.evidence),
                subject=d.path,
                confidence=d.rung,
                commands=inp.reinstall_commands,
                root=inp.target,
                rerun=inp.rerun,
                expected=inp.shipped(d),
                path=d.path,
            )
        )
    return CheckResult.of(out, skipped)


@DRIVER_CHECKS.register("TF201")
def check_arch(inp: DriverCheckInput) -> CheckResult:
    """TF201: an object of the wrong ELF class for its location (whatever delivered it)."""
    out: list[Finding] = []
    for d in inp.drivers.present:
        if d.arch is None or d.arch == d.location_arch:
            continue
        family = d.build_family or inp.drivers.expected_family or "?"
        out.append(
            finding(
                "TF201",
                f"{d.path} is an {d.arch} object in the {d.location_arch} location",
                evidence=_evidence(d.evidence, d.provenance_evidence),
                subject=d.path,
                expected=build_dir(family, d.location_arch),
                path=d.path,
            )
        )
    return CheckResult.of(out, _unread(inp, "TF201"))


@DRIVER_CHECKS.register("TF202", "TF203")
def check_identity(inp: DriverCheckInput) -> CheckResult:
    """TF202/TF203: bytes no known build matches. For a driver the OS or a package delivered,
    the fingerprint database (VMware Tools tar builds) is not where it would be found: that is
    said as information, naming where the driver came from."""
    out: list[Finding] = []
    for d in inp.drivers.present:
        if d.rung in CONFIDENT:
            continue
        if not d.from_tar_installer:
            out.append(
                finding(
                    "TF203",
                    f"{d.path} is not a VMware Tools tar build the fingerprint database knows "
                    f"({d.rung} match): it is {_origin(d)}",
                    evidence=_evidence(d.evidence, d.provenance_evidence),
                    subject=d.path,
                    confidence=d.rung,
                    severity=Severity.INFO,
                )
            )
        elif d.rung == "nearest":
            out.append(
                finding(
                    "TF202",
                    f"{d.path} matches no known build byte for byte; it most resembles "
                    f"{d.os_dir or '?'}/{d.module} of Tools {d.tools_version or '?'}",
                    evidence=_evidence(d.evidence),
                    subject=d.path,
                    confidence="nearest",
                    expected=f"lib/modules/binary/{inp.expected_dir(d) or '<dir>'}/{d.module}",
                    path=d.path,
                )
            )
        else:
            out.append(
                finding(
                    "TF203",
                    f"{d.path} could not be identified against the guest's own builds or the "
                    "fingerprint database",
                    evidence=_evidence(d.evidence),
                    subject=d.path,
                    confidence="unknown",
                )
            )
    skipped = [s for c in ("TF202", "TF203") for s in _unread(inp, c)]
    return CheckResult.of(out, skipped)


@DRIVER_CHECKS.register("TF204")
def check_journal(inp: DriverCheckInput) -> CheckResult:
    """TF204: a driver replaced after the installer recorded it (mtime, ``modified``)."""
    db = inp.drivers.install_db
    skipped = _unread(inp, "TF204")
    db_unread = inp.drivers.unread(INSTALL_DB_PATH)
    if db_unread is not None:
        skipped.append(Skipped("TF204", db_unread))
    out: list[Finding] = []
    for d in inp.drivers.present:
        if db is None or d.path not in db.files:
            continue
        recorded = db.files[d.path]
        actual = inp.drivers.mtimes.get(d.path)
        modified_line = db.modified.get(d.path)
        if modified_line is None and (recorded is None or actual is None or recorded == actual):
            continue
        why = (
            f"marked modified at line {modified_line}"
            if modified_line is not None
            else f"mtime {actual} differs from the recorded {recorded}"
        )
        out.append(
            finding(
                "TF204",
                f"{d.path}: {why}",
                evidence=[
                    Evidence(
                        path=INSTALL_DB_PATH,
                        line=modified_line or db.file_lines.get(d.path),
                        excerpt=f"file {d.path} {recorded if recorded is not None else ''}".strip(),
                    ),
                    Evidence(path=d.path, detail=f"mtime {actual}"),
                ],
                subject=d.path,
                commands=(inp.rerun,),
                rerun=inp.rerun,
            )
        )
    return CheckResult.of(out, skipped)


@DRIVER_CHECKS.register("TF205")
def check_leftovers(inp: DriverCheckInput) -> CheckResult:
    """TF205: ``<module>.old.N`` backups the installer left beside the drivers."""
    out: list[Finding] = []
    skipped: list[Skipped] = []
    for directory, entries in sorted(inp.drivers.listings.items()):
        why = inp.drivers.unread(directory)
        if why is not None:
            skipped.append(Skipped("TF205", why))
        for name in sorted(entries):
            m = LEFTOVER_RE.match(name)
            if not m:
                continue
            path = f"{directory.rstrip('/')}/{name}"
            out.append(
                finding(
                    "TF205",
                    f"{path}: the installer kept a replaced {m.group('module')} "
                    f"as .old.{m.group('n')}",
                    evidence=[Evidence(path=path, detail="present")],
                    subject=path,
                    path=path,
                )
            )
    return CheckResult.of(out, skipped)


@DRIVER_CHECKS.register("TF206")
def check_conf_origin(inp: DriverCheckInput) -> CheckResult:
    """TF206: the conf is copied from the 32-bit build directory; one from another OS's
    directory is the bug's footprint too. Only a byte-identical match counts: a locally edited
    conf (say EnableLSO=0) matches no directory and is not flagged."""
    why = inp.drivers.unread(CONF_PATH)
    if why is not None:
        return CheckResult.of(skipped=[Skipped("TF206", why)])
    nic = [d for d in inp.drivers.present if d.module == NIC_MODULE]
    if nic and not any(d.from_tar_installer for d in nic):
        return CheckResult.of(
            skipped=_not_tar(inp, "TF206", f"{CONF_PATH} is not the tar installer's copy")
        )
    drv = inp.drivers
    if drv.conf is None or drv.expected_family is None or not drv.shipped_confs:
        return CheckResult()
    expected = drv.shipped_confs.get(drv.expected_family)
    if expected is None or expected == drv.conf:
        return CheckResult()
    origins = sorted(d for d, data in drv.shipped_confs.items() if data == drv.conf)
    if not origins:
        return CheckResult()
    base = f"{drv.libdir.rstrip('/')}/modules/binary"
    return CheckResult.of(
        [
            finding(
                "TF206",
                f"{CONF_PATH} is the conf shipped in {', '.join(origins)}, not the one of "
                f"{drv.expected_family}",
                evidence=[
                    Evidence(
                        path=CONF_PATH, detail=f"identical to {base}/{origins[0]}/vmxnet3s.conf"
                    ),
                    Evidence(path=f"{base}/{drv.expected_family}/vmxnet3s.conf", detail="differs"),
                ],
                subject=CONF_PATH,
                expected=f"{base}/{drv.expected_family}/vmxnet3s.conf",
                path=CONF_PATH,
            )
        ]
    )


@DRIVER_CHECKS.register("TF207")
def check_missing(inp: DriverCheckInput) -> CheckResult:
    """TF207: the tar installer always copies both builds of a module; one of the pair gone
    is a driver the 64-bit (or 32-bit) kernel cannot load. A driver the OS or a package
    delivered comes with whatever that ships (illumos: 64-bit only), so it is not judged."""
    drv = inp.drivers
    out: list[Finding] = []
    skipped = _unread(inp, "TF207")
    skipped += _not_tar(inp, "TF207", "it ships the builds it ships (no 32/64-bit pair rule)")
    modules = sorted({d.module for d in _tar(inp)})
    for module in modules:
        for d in drv.drivers:
            if d.module != module or d.present or d.path in drv.unreadable:
                continue
            needed = d.location_arch == "i386" or drv.kernel_bits in (None, 64)
            if needed and d.location_arch == "amd64" and drv.kernel_bits is None:
                needed = drv.expected_family in ("11", "2009.06") or (
                    drv.install_db is not None and d.path in drv.install_db.files
                )
            if not needed:
                continue
            out.append(
                finding(
                    "TF207",
                    f"{d.path} is missing while the other {module} build is installed",
                    evidence=[Evidence(path=d.path, detail="absent")],
                    subject=d.path,
                    commands=inp.reinstall_commands,
                    rerun=inp.rerun,
                    expected=inp.shipped(d),
                    path=d.path,
                )
            )
    return CheckResult.of(out, skipped)


@DRIVER_CHECKS.register("TF208")
def check_orphaned(inp: DriverCheckInput) -> CheckResult:
    """TF208: drivers nothing accounts for: no install journal, no package, not the OS's."""
    drv = inp.drivers
    db_unread = drv.unread(INSTALL_DB_PATH)
    if db_unread is not None:
        return CheckResult.of(skipped=[Skipped("TF208", db_unread)])
    skipped = _not_tar(inp, "TF208", "its package or OS records account for it")
    orphans = [d for d in drv.present if d.provenance is Provenance.UNKNOWN]
    if drv.install_db is not None or not orphans:
        return CheckResult.of(skipped=skipped)
    paths = [d.path for d in orphans]
    packages = drv.packages
    looked = (
        packages.source.detail
        if packages.known and packages.source and packages.source.detail
        else f"package records not consulted: {packages.reason}"
    )
    return CheckResult.of(
        [
            finding(
                "TF208",
                f"{', '.join(paths)} present but {INSTALL_DB_PATH} is missing: "
                "Tools was removed or never installed by the tar installer",
                evidence=[
                    Evidence(path=INSTALL_DB_PATH, detail="absent"),
                    Evidence(detail=looked),
                    *_evidence(*(d.evidence for d in orphans)),
                ],
                subject=paths[0],
                path=" ".join(paths),
            )
        ],
        skipped,
    )


def _lso_off_in_conf(facts: GuestFacts) -> Optional[Evidence]:
    """Evidence that vmxnet3s.conf turns LSO off for every instance seen, else None."""
    conf = facts.driver_conf.value if facts.driver_conf.known else None
    if conf is None or conf.get("EnableLSO") is None:
        return None
    instances = facts.vmxnet3s_instances() or (0,)
    values = [conf.value_for("EnableLSO", i) for i in instances]
    if any(v.value != 0 for v in values):
        return None
    prop = conf.get("EnableLSO")
    return Evidence(
        path=CONF_PATH, line=prop.line if prop else None, excerpt=prop.text if prop else None
    )


@DRIVER_CHECKS.register("TF209")
def check_os_driver_lso(inp: DriverCheckInput) -> CheckResult:
    """TF209: what is known about the LSO path of a vmxnet3s the OS ships (illumos).

    Its identity string dates no VMware Tools build, so the LSO checks cannot place it on the
    old or new transmit path; rather than stay silent, say what is known: the code forked from
    open-vm-tools' stable-8.6.x branch, which used the old path (frames larger than the MTU
    with LSO on), and whether the distribution changed it since is not established here.
    """
    os_nic = [
        d for d in inp.drivers.present if d.module == NIC_MODULE and d.provenance is Provenance.OS
    ]
    if not os_nic:
        return CheckResult.of(
            skipped=[
                Skipped("TF209", "no vmxnet3s supplied by the OS itself", Outcome.NOT_APPLICABLE)
            ]
        )
    off = _lso_off_in_conf(inp.facts)
    if off is not None:
        why = f"EnableLSO=0 for every instance in {CONF_PATH}: the driver never offers LSO"
        return CheckResult.of(skipped=[Skipped("TF209", why, Outcome.NOT_APPLICABLE)])
    d = os_nic[0]
    lineage = OS_DRIVER_LINEAGE.get(OsFamily.ILLUMOS, "an in-tree driver")
    conf_state = (
        inp.facts.driver_conf.reason
        if not inp.facts.driver_conf.known
        else f"{CONF_PATH} leaves EnableLSO on for some instance"
    )
    return CheckResult.of(
        [
            finding(
                "TF209",
                f"{d.path} ({d.identity or 'identity not read'}) is the OS's own driver: "
                f"{lineage}; that branch used the old LSO transmit path, and whether the "
                f"distribution changed it since is not established; LSO is on ({conf_state})",
                evidence=_evidence(d.provenance_evidence, d.evidence)
                + inp.facts.driver_conf.evidence(),
                subject=d.path,
                confidence="inferred",
                commands=(
                    "# MANUAL: test with don't-fragment pings at the jumbo MTU "
                    "(`toolsfix probe jumbo HOST`) before relying on LSO with this driver",
                    f"# MANUAL: to rule it out, set EnableLSO=0 for every instance in {CONF_PATH} "
                    "and reload the driver or reboot",
                ),
            )
        ]
    )


def _not_examined(inp: DriverCheckInput) -> Iterable[Skipped]:
    family = inp.drivers.family
    what = family.value.label if family.known and family.value is not None else "this"
    reason = f"{what} guest: no Solaris kernel drivers (/kernel/drv) to verify"
    return (Skipped(i, reason, Outcome.NOT_APPLICABLE) for i in sorted(DRIVER_CHECKS.ids()))


def evaluate_drivers(inp: DriverCheckInput) -> CheckResult:
    """Every registered driver check, or all not-applicable when no driver was examined."""
    if not inp.drivers.examined:
        return CheckResult.of(skipped=_not_examined(inp))
    return DRIVER_CHECKS.run_all(inp)
