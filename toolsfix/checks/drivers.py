"""Checks over installed kernel modules: right build for the OS, right arch, untouched, tracked.

Inputs are :class:`~toolsfix.installed.InstalledDriver` records (identification already done)
plus the install database; the checks only compare. A build mismatch is only claimed from an
``exact`` or ``code-identical`` identification: a "nearest" resemblance is reported as a
modified driver, never as a confident build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from toolsfix.catalog import finding
from toolsfix.findings import Evidence, Finding, Skipped
from toolsfix.guest.parsers import InstallDB
from toolsfix.installed import InstalledDriver

CONFIDENT = ("exact", "code-identical")
LEFTOVER_RE = re.compile(r"^(?P<module>[A-Za-z0-9_]+)\.old\.(?P<n>\d{1,2})$")


@dataclass(frozen=True)
class DriverContext:
    """What the driver checks need beyond the drivers themselves."""

    root_label: str  # how to name the target in remedies ("/" or the image root)
    expected_family: Optional[str]  # "10", "11", "2009.06" or None when the release is unknown
    kernel_bits: Optional[int]
    install_db: Optional[InstallDB]
    db_path: str  # guest path of the install database, for evidence
    mtimes: Mapping[str, Optional[int]]  # guest path -> actual mtime (None when unknown)
    listings: Mapping[str, Sequence[str]]  # /kernel/drv, /kernel/drv/amd64 -> entries
    libdir: str
    bindir: str
    conf: Optional[bytes] = None  # /kernel/drv/vmxnet3s.conf as installed
    shipped_confs: Mapping[str, bytes] = field(default_factory=dict)  # LIBDIR dir -> conf

    @property
    def rerun(self) -> str:
        return f"{self.bindir.rstrip('/')}/vmware-config-tools.pl -d"

    @property
    def reinstall_commands(self) -> tuple[str, ...]:
        """On the guest: fix the installed configurator, then let it copy the right builds."""
        return ("toolsfix patch --root /", self.rerun)


def _expected_dir(ctx: DriverContext, d: InstalledDriver) -> Optional[str]:
    if ctx.expected_family is None:
        return None
    return ctx.expected_family + ("_64" if d.location_arch == "amd64" else "")


def check_drivers(
    drivers: Sequence[InstalledDriver], ctx: DriverContext
) -> tuple[list[Finding], list[Skipped]]:
    out: list[Finding] = []
    skipped: list[Skipped] = []
    if ctx.expected_family is None:
        skipped.append(Skipped("TF200", "guest release unknown: build match not evaluated"))
    present = [d for d in drivers if d.present]
    for d in present:
        out.extend(_build_match(d, ctx))
        out.extend(_arch(d, ctx))
        out.extend(_identity(d, ctx))
        out.extend(_journal(d, ctx))
    out.extend(_missing(drivers, ctx))
    out.extend(_leftovers(ctx))
    out.extend(_conf_origin(ctx))
    if ctx.install_db is None and present:
        d = present[0]
        out.append(
            finding(
                "TF208",
                f"{', '.join(x.path for x in present)} present but {ctx.db_path} is missing: "
                "Tools was removed or never installed by the tar installer",
                evidence=[Evidence(path=ctx.db_path, detail="absent")]
                + [x.evidence for x in present if x.evidence],
                subject=d.path,
                path=" ".join(x.path for x in present),
            )
        )
    return out, skipped


def _build_match(d: InstalledDriver, ctx: DriverContext) -> list[Finding]:
    if d.rung not in CONFIDENT or d.os_dir is None or ctx.expected_family is None:
        return []
    if d.build_family == ctx.expected_family:
        return []
    expected = f"{ctx.libdir.rstrip('/')}/modules/binary/{_expected_dir(ctx, d)}/{d.module}"
    return [
        finding(
            "TF200",
            f"{d.path} is the {d.os_dir} build (Tools {d.tools_version or '?'} build "
            f"{d.build or '?'}, {d.rung} match) on a guest that needs {d.expected_os_dir}",
            evidence=[e for e in (d.evidence,) if e is not None],
            subject=d.path,
            confidence=d.rung,
            commands=ctx.reinstall_commands,
            root=ctx.root_label,
            rerun=ctx.rerun,
            expected=expected,
            path=d.path,
        )
    ]


def _arch(d: InstalledDriver, ctx: DriverContext) -> list[Finding]:
    if d.arch is None or d.arch == d.location_arch:
        return []
    family = d.build_family or ctx.expected_family or "?"
    expected = f"{family}{'_64' if d.location_arch == 'amd64' else ''}"
    return [
        finding(
            "TF201",
            f"{d.path} is an {d.arch} object in the {d.location_arch} location",
            evidence=[e for e in (d.evidence,) if e is not None],
            subject=d.path,
            expected=expected,
            path=d.path,
        )
    ]


def _identity(d: InstalledDriver, ctx: DriverContext) -> list[Finding]:
    expected = f"lib/modules/binary/{_expected_dir(ctx, d) or '<dir>'}/{d.module}"
    if d.rung == "nearest":
        return [
            finding(
                "TF202",
                f"{d.path} matches no known build byte for byte; it most resembles "
                f"{d.os_dir or '?'}/{d.module} of Tools {d.tools_version or '?'}",
                evidence=[e for e in (d.evidence,) if e is not None],
                subject=d.path,
                confidence="nearest",
                expected=expected,
                path=d.path,
            )
        ]
    if d.rung == "unknown":
        return [
            finding(
                "TF203",
                f"{d.path} could not be identified against the guest's own builds or the "
                "fingerprint database",
                evidence=[e for e in (d.evidence,) if e is not None],
                subject=d.path,
                confidence="unknown",
            )
        ]
    return []


def _journal(d: InstalledDriver, ctx: DriverContext) -> list[Finding]:
    db = ctx.install_db
    if db is None or d.path not in db.files:
        return []
    recorded = db.files[d.path]
    actual = ctx.mtimes.get(d.path)
    line = db.file_lines.get(d.path)
    modified_line = db.modified.get(d.path)
    if modified_line is None and (recorded is None or actual is None or recorded == actual):
        return []
    why = (
        f"marked modified at line {modified_line}"
        if modified_line is not None
        else f"mtime {actual} differs from the recorded {recorded}"
    )
    return [
        finding(
            "TF204",
            f"{d.path}: {why}",
            evidence=[
                Evidence(
                    path=ctx.db_path,
                    line=modified_line or line,
                    excerpt=f"file {d.path} {recorded if recorded is not None else ''}".strip(),
                ),
                Evidence(path=d.path, detail=f"mtime {actual}"),
            ],
            subject=d.path,
            commands=(ctx.rerun,),
            rerun=ctx.rerun,
        )
    ]


def _missing(drivers: Sequence[InstalledDriver], ctx: DriverContext) -> list[Finding]:
    out: list[Finding] = []
    modules = sorted({d.module for d in drivers if d.present})
    db = ctx.install_db
    for module in modules:
        for d in drivers:
            if d.module != module or d.present:
                continue
            needed = d.location_arch == "i386" or ctx.kernel_bits in (None, 64)
            if not needed:
                continue
            if d.location_arch == "amd64" and ctx.kernel_bits is None:
                needed = ctx.expected_family in ("11", "2009.06") or (
                    db is not None and d.path in db.files
                )
            if not needed:
                continue
            expected = (
                f"{ctx.libdir.rstrip('/')}/modules/binary/{_expected_dir(ctx, d) or '?'}/{module}"
            )
            out.append(
                finding(
                    "TF207",
                    f"{d.path} is missing while the other {module} build is installed",
                    evidence=[Evidence(path=d.path, detail="absent")],
                    subject=d.path,
                    commands=ctx.reinstall_commands,
                    rerun=ctx.rerun,
                    expected=expected,
                    path=d.path,
                )
            )
    return out


def _leftovers(ctx: DriverContext) -> list[Finding]:
    out: list[Finding] = []
    for directory, entries in sorted(ctx.listings.items()):
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
    return out


CONF_PATH = "/kernel/drv/vmxnet3s.conf"


def _conf_origin(ctx: DriverContext) -> list[Finding]:
    """The conf is copied from the 32-bit build directory; one from another OS's directory is
    the bug's footprint too. Only a byte-identical match counts: a locally edited conf (say
    EnableLSO=0) matches no directory and is not flagged."""
    if ctx.conf is None or ctx.expected_family is None or not ctx.shipped_confs:
        return []
    expected = ctx.shipped_confs.get(ctx.expected_family)
    if expected is None or expected == ctx.conf:
        return []
    origins = sorted(d for d, data in ctx.shipped_confs.items() if data == ctx.conf)
    if not origins:
        return []
    base = f"{ctx.libdir.rstrip('/')}/modules/binary"
    return [
        finding(
            "TF206",
            f"{CONF_PATH} is the conf shipped in {', '.join(origins)}, not the one of "
            f"{ctx.expected_family}",
            evidence=[
                Evidence(path=CONF_PATH, detail=f"identical to {base}/{origins[0]}/vmxnet3s.conf"),
                Evidence(path=f"{base}/{ctx.expected_family}/vmxnet3s.conf", detail="differs"),
            ],
            subject=CONF_PATH,
            expected=f"{base}/{ctx.expected_family}/vmxnet3s.conf",
            path=CONF_PATH,
        )
    ]
