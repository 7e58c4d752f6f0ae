"""``toolsfix verify``: is what is installed on this guest (or image root, or bundle) right?

One pipeline for the three sources: capture -> GuestFacts -> identify each installed module
(first against the guest's own ``LIBDIR/modules/binary`` builds, the strongest evidence since
they are the same release, then against the fingerprint database) -> driver, configurator and
network checks -> report. Read-only: captures only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from toolsfix import installer
from toolsfix.checks.drivers import CONF_PATH, DriverContext, check_drivers
from toolsfix.errors import InputError
from toolsfix.findings import Evidence, Finding, Report, Skipped
from toolsfix.guest.capture_api import Capture
from toolsfix.guest.facts import GuestFacts, facts_from_capture
from toolsfix.installed import InstalledDriver

DB_PATH = "/etc/vmware-tools/locations"
DRIVER_MODULES = ("vmxnet3s", "vmxnet", "vmmemctl")
LOCATIONS = (("/kernel/drv", "i386"), ("/kernel/drv/amd64", "amd64"))
DEFAULT_LIBDIR = "/usr/lib/vmware-tools"
DEFAULT_BINDIR = "/usr/bin"


@dataclass(frozen=True)
class VerifyOptions:
    db_dirs: tuple[Path, ...] = ()  # extra fingerprint databases (--db)
    execute: bool = True  # run the installed configurator's logic under perl
    esxi_settings: Optional[Path] = None


def expected_family(facts: GuestFacts) -> Optional[str]:
    """The build directory family the guest's release needs (the fixed configurator's choice)."""
    r = facts.uname_r.value if facts.uname_r.available else None
    v = facts.uname_v.value if facts.uname_v.available else None
    if not r or not r.startswith("5."):
        return None
    try:
        minor = int(r.split(".")[1])
    except (IndexError, ValueError):
        return None
    if minor < 10:
        return None
    if minor == 11 and v == "snv_111b":
        return "2009.06"
    return "11" if minor >= 11 else "10"


def _local_db(capture: Capture, libdir: str, version: Optional[str], build: Optional[str]) -> Any:
    """Fingerprint records of the builds the guest itself carries in LIBDIR."""
    from toolsfix.fpdb import FingerprintDB, learn

    base = f"{libdir.rstrip('/')}/modules/binary"
    members: list[tuple[str, bytes]] = []
    for d in capture.list_dir(base) or []:
        for name in capture.list_dir(f"{base}/{d}") or []:
            if name.endswith(".conf"):
                continue
            data = capture.read_file(f"{base}/{d}/{name}")
            if data is not None:
                members.append((f"lib/modules/binary/{d}/{name}", data))
    records = learn(members, tools_version=version, build=build, source=f"guest:{base}")
    return FingerprintDB(records)


def _identify_one(
    capture: Capture,
    path: str,
    module: str,
    location_arch: str,
    expected: Optional[str],
    dbs: Sequence[tuple[str, Any]],
) -> tuple[InstalledDriver, Optional[dict[str, Any]]]:
    from toolsfix.fingerprint import fingerprint_bytes
    from toolsfix.identify import identify

    data = capture.read_file(path)
    if data is None:
        return InstalledDriver(module, path, location_arch, False, expected_os_dir=expected), None
    fp = fingerprint_bytes(data, name=path)
    rank = {"exact": 0, "code-identical": 1, "nearest": 2, "unknown": 3}
    best = None
    best_db = ""
    for label, db in dbs:
        ident = identify(fp, db, location_arch=location_arch)
        if best is None or rank[ident.rung] < rank[best.rung]:
            best, best_db = ident, label
        if ident.rung in ("exact", "code-identical"):
            break
    assert best is not None
    cand = best.candidates[0] if best.candidates else None
    os_dirs = sorted({c.os_dir for c in best.candidates}) if best.candidates else []
    os_dir = cand.os_dir if cand is not None and not best.ambiguous else None
    if best.ambiguous and expected is not None and expected in os_dirs:
        os_dir = expected  # the same bytes ship for the right directory too: not a mismatch
    elif best.ambiguous and len({d.removesuffix("_64") for d in os_dirs}) == 1:
        os_dir = os_dirs[0]
    detail = f"sha256 {fp.sha256}; {best.rung} match in {best_db}"
    if cand is not None:
        detail += f": {cand.describe()}"
    if best.ambiguous:
        detail += f" (ambiguous: same bytes in {', '.join(os_dirs)})"
    evidence = Evidence(path=path, excerpt=best.identity or fp.identity, detail=detail)
    installed = InstalledDriver(
        module=module,
        path=path,
        location_arch=location_arch,
        present=True,
        arch=fp.arch,
        rung=best.rung,
        os_dir=os_dir if best.rung != "unknown" else None,
        expected_os_dir=expected,
        tools_version=cand.tools_version if cand else None,
        build=cand.build if cand else None,
        identity=fp.identity,
        lso_era=best.lso_era,
        sha256=fp.sha256,
        evidence=evidence,
    )
    return installed, {**best.to_dict(), "database": best_db}


def verify_capture(capture: Capture, options: VerifyOptions, target: str) -> Report:
    facts = facts_from_capture(capture)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    db = facts.install_db.value if facts.install_db.available else None
    answers = db.answers if db is not None else {}
    libdir = answers.get("LIBDIR") or DEFAULT_LIBDIR
    bindir = answers.get("BINDIR") or DEFAULT_BINDIR
    family = expected_family(facts)
    solaris = facts.os_kind.value == "solaris" if facts.os_kind.available else False
    release = facts.release.value if facts.release.available else None
    facts_out: dict[str, Any] = {
        "origin": capture.origin,
        "os": {
            "kind": facts.os_kind.value,
            "release": release.name if release is not None else None,
            "uname_r": facts.uname_r.value,
            "uname_v": facts.uname_v.value,
            "kernel_bits": facts.kernel_bits.value,
            "expected_build_dir": family,
        },
        "install_db": {"present": db is not None, "libdir": libdir, "bindir": bindir},
    }

    # The installed configurator: still buggy?
    configurator = None
    cfg_path = f"{bindir.rstrip('/')}/vmware-config-tools.pl"
    cfg = capture.read_file(cfg_path)
    if cfg is not None:
        from toolsfix.scan import ScanOptions, analyse_configurator, configurator_findings

        result = analyse_configurator(cfg, cfg_path, ScanOptions(execute=options.execute))
        configurator = result.to_dict()
        rerun = f"{bindir.rstrip('/')}/vmware-config-tools.pl -d"
        found, skip = configurator_findings(
            result,
            installer.decode(cfg),
            f"--root {target}",
            None,
            ("toolsfix patch --root /", rerun),
        )
        harmless = _selection_right_for_guest(result.analysis, family)
        if harmless is not None:
            skip.extend(
                Skipped(f.id, harmless, "not-applicable") for f in found if f.category in HARMLESS
            )
            found = [f for f in found if f.category not in HARMLESS]
        findings.extend(f for f in found if f.id != "TF109")
        skipped.extend(skip)
    facts_out["configurator"] = configurator

    drivers: list[InstalledDriver] = []
    identifications: list[dict[str, Any]] = []
    if solaris or any(capture.read_file(f"{loc}/vmxnet3s") for loc, _ in LOCATIONS):
        from toolsfix.fpdb import load_all

        version = configurator["version"] if configurator else None
        build = configurator["build"] if configurator else None
        dbs: list[tuple[str, Any]] = [
            (f"guest {libdir}/modules/binary", _local_db(capture, libdir, version, build)),
            ("fingerprint database", load_all(options.db_dirs)),
        ]
        for module in DRIVER_MODULES:
            for loc, arch in LOCATIONS:
                expected = None if family is None else family + ("_64" if arch == "amd64" else "")
                d, ident = _identify_one(capture, f"{loc}/{module}", module, arch, expected, dbs)
                drivers.append(d)
                if ident is not None:
                    identifications.append(ident)
        mtimes = {d.path: _mtime(capture, d.path) for d in drivers if d.present}
        listings = {loc: capture.list_dir(loc) or [] for loc, _ in LOCATIONS}
        ctx = DriverContext(
            root_label=target,
            expected_family=family,
            kernel_bits=facts.kernel_bits.value if facts.kernel_bits.available else None,
            install_db=db,
            db_path=DB_PATH,
            mtimes=mtimes,
            listings=listings,
            libdir=libdir,
            bindir=bindir,
            conf=capture.read_file(CONF_PATH),
            shipped_confs=_shipped_confs(capture, libdir),
        )
        found, skip = check_drivers(drivers, ctx)
        findings.extend(found)
        skipped.extend(skip)
    facts_out["drivers"] = [d.to_dict() for d in drivers if d.present or d.module == "vmxnet3s"]
    facts_out["identifications"] = identifications

    known_os = facts.os_kind.available and facts.os_kind.value not in (None, "unknown")
    if not known_os and db is None and configurator is None and not any(d.present for d in drivers):
        # An empty or foreign tree must not pass as a clean guest.
        raise InputError(
            f"{target}: nothing to verify: no /etc/release or /etc/os-release, no install "
            "database, no VMware Tools drivers (is this the root of a guest file system?)"
        )
    net_findings, net_skipped = _network(facts, drivers, options)
    findings.extend(net_findings)
    skipped.extend(net_skipped)
    return Report("verify", target, tuple(findings), tuple(skipped), facts_out)


def _shipped_confs(capture: Capture, libdir: str) -> dict[str, bytes]:
    base = f"{libdir.rstrip('/')}/modules/binary"
    out: dict[str, bytes] = {}
    for d in capture.list_dir(base) or []:
        data = capture.read_file(f"{base}/{d}/vmxnet3s.conf")
        if data is not None:
            out[d] = data
    return out


GUEST_OF_FAMILY = {"10": "solaris-10", "11": "solaris-11.1", "2009.06": "opensolaris-2009.06"}
HARMLESS = ("configurator-buggy", "configurator-hand-patched")


def _selection_right_for_guest(a: installer.Analysis, family: Optional[str]) -> Optional[str]:
    """Why a buggy or hand-patched configurator does not matter on *this* guest, if it doesn't.

    The bug only bites Solaris 11: on Solaris 10 the capped selection is right, so verify
    reports it as not applicable instead of a finding (scan still reports it for the distrib).
    """
    guest = GUEST_OF_FAMILY.get(family or "")
    if guest is None or not a.driver_dirs:
        return None
    modules = a.driver_dirs.get(guest)
    pair = modules.get("vmxnet3s") if modules else None
    if pair is None or pair[0] != family:
        return None
    return (
        f"the installed configurator is {a.selection_bug}, but it selects {pair[0]}/{pair[1]} "
        "for this guest, which is right"
    )


def _mtime(capture: Capture, path: str) -> Optional[int]:
    getter = getattr(capture, "file_mtime", None)
    if getter is None:
        return None
    value = getter(path)
    return int(value) if value is not None else None


def _network(
    facts: GuestFacts, drivers: Sequence[InstalledDriver], options: VerifyOptions
) -> tuple[list[Finding], list[Skipped]]:
    """LSO / jumbo / Linux offload / ESXi checks (one module per concern)."""
    from toolsfix.checks import esxi, linux, network

    findings: list[Finding] = []
    skipped: list[Skipped] = []
    kind = facts.os_kind.value if facts.os_kind.available else None
    if kind == "solaris":
        f, s = network.check_solaris_network(facts, [d for d in drivers if d.module == "vmxnet3s"])
        findings.extend(f)
        skipped.extend(s)
    elif kind == "linux":
        f, s = linux.check_linux_network(facts)
        findings.extend(f)
        skipped.extend(s)
    if options.esxi_settings is not None:
        settings = esxi.parse_esxi_settings_file(options.esxi_settings)
        routes = linux.guest_forwards(facts)
        f, s = esxi.check_esxi(settings, guest_routes=routes)
        findings.extend(f)
        skipped.extend(s)
    return findings, skipped


def verify(
    *,
    root: Optional[Path] = None,
    bundle: Optional[Path] = None,
    live: bool = False,
    options: VerifyOptions = VerifyOptions(),
) -> Report:
    """Verify exactly one source: an image root, a collector bundle, or this live system."""
    chosen = [x for x in (root is not None, bundle is not None, live) if x]
    if len(chosen) != 1:
        from toolsfix.errors import ExitCode, ToolsfixError

        raise ToolsfixError("give exactly one of --root DIR, --bundle PATH, --live", ExitCode.USAGE)
    capture: Capture
    if root is not None:
        if not root.is_dir():
            raise InputError(f"{root}: not a directory (an image root is a mounted file system)")
        from toolsfix.guest.root import RootCapture

        capture, target = RootCapture(root), str(root)
    elif bundle is not None:
        if not bundle.exists():
            raise InputError(f"{bundle}: no such file or directory")
        from toolsfix.guest.bundle import BundleCapture

        capture, target = BundleCapture(bundle), str(bundle)
    else:
        from toolsfix.guest.live import LiveCapture

        capture, target = LiveCapture(), "/"
    if options.esxi_settings is not None and not options.esxi_settings.is_file():
        raise InputError(f"{options.esxi_settings}: no such file")
    return verify_capture(capture, options, target)
