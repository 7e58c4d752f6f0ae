"""GuestFacts: the one typed model of what a guest says about itself.

Checks never parse text and never ask where data came from. They read a :class:`GuestFacts`,
whose every field is a :class:`Fact`: a value plus the evidence it came from (file and line,
or command and output excerpt), or ``available=False`` and a one-line ``reason`` (not captured,
runtime-only fact in an offline image root, command failed, unparseable output). That makes
"could not evaluate" a normal outcome a check can report with the reason, instead of a crash or
a silent pass.

One builder, :func:`facts_from_capture`, serves live guests, collector bundles and image roots
through the :class:`~toolsfix.guest.capture_api.Capture` protocol, so the three cannot drift.

How to read the model (for check authors):

* ``fact.available`` -- True when ``fact.value`` is meaningful. An empty tuple with
  ``available=True`` means "looked, found none" (e.g. no VMware module loaded).
* ``fact.source`` -- the :class:`~toolsfix.findings.Evidence` for the whole fact. For one item
  of a table (a dladm row, a conf property, a persistent setting) use
  ``fact.evidence_at(item.line, item.raw)`` or the item's own ``path``/``line``.
* Derived values say so: ``uname_r`` derived from ``/etc/release`` on an image root has
  ``source.path == "/etc/release"`` and ``source.detail`` explaining the derivation.
* File facts whose file is absent are unavailable ("not present"); scans over several files
  (boot scripts, BGP configs, sysctl files) are available with an empty tuple when nothing
  was found, and their ``source.detail`` lists what was scanned.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Callable, Optional, TypeVar

from toolsfix.findings import Evidence
from toolsfix.guest import parsers as p
from toolsfix.guest.capture_api import Capture, CommandResult
from toolsfix.guest.fact import Fact, fact_missing, fact_of, jsonable
from toolsfix.guest.osfamily import os_family
from toolsfix.guest.reader import (
    MAX_EXCERPT,
    GuestReader,
    cmd_evidence,
    command_fact,
    excerpt,
    file_fact,
    first_line,
)
from toolsfix.knowledge import (
    DRIVER_CONF_PATH,
    ILLUMOS_OS_RELEASE_IDS,
    INSTALL_DB_PATH,
    SOLARIS_MODULES,
    OsFamily,
)

__all__ = [
    "BGP_CONFIG_FILES",
    "EMPTY_DRIVER_CONF",
    "SCRIPT_GLOBS",
    "SYSCTL_FILES",
    "VMWARE_MODULES",
    "Fact",
    "GuestFacts",
    "GuestReader",
    "fact_missing",
    "fact_of",
    "facts_from_capture",
]

T = TypeVar("T")

# Modules whose modinfo rows are kept (the rest of modinfo is noise for toolsfix).
VMWARE_MODULES: tuple[str, ...] = SOLARIS_MODULES
# Boot scripts and SMF methods scanned for persistent ndd/ipadm/dladm settings (all are in
# capture_api.CAPTURE_FILES, so bundles carry them).
SCRIPT_GLOBS: tuple[str, ...] = (
    "/etc/rc2.d/*",
    "/etc/rc3.d/*",
    "/etc/init.d/*",
    "/lib/svc/method/*",
)
BGP_CONFIG_FILES: tuple[str, ...] = (
    "/etc/quagga/bgpd.conf",
    "/etc/frr/frr.conf",
    "/etc/frr/bgpd.conf",
)
# Read in this order; a later file overrides an earlier one (procps ``sysctl --system`` reads
# /etc/sysctl.d/*.conf in name order and /etc/sysctl.conf last).
SYSCTL_FILES: tuple[str, ...] = ("/etc/sysctl.d/*.conf", "/etc/sysctl.conf")
EMPTY_DRIVER_CONF: p.DriverConf = p.parse_driver_conf("")
_MAX_SCRIPT_BYTES = 1 << 20


def _empty_map() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class GuestFacts:
    """Everything toolsfix knows about one guest (or ESXi host), each with its evidence.

    OS identity
      ``os_kind``: "solaris" (any SunOS: Solaris, OpenSolaris, illumos), "linux", "esxi" or
      "unknown". ``os_family``: the :class:`~toolsfix.knowledge.OsFamily` (Solaris 10, 11,
      OpenSolaris, illumos, Linux, ESXi), which decides which checks apply at all.
      ``release``: /etc/release parsed (or derived from /etc/os-release).
      ``uname_s/uname_r/uname_v``: live values, else derived from the release (see source).
      ``kernel_bits``: ``isainfo -b``; else the modinfo load-address width; else inferred
      64 for Solaris 11 x86 (detail says so).

    Solaris driver and network
      ``modules``: modinfo rows of the VMware modules (``VMWARE_MODULES``); empty = none loaded.
      ``driver_conf``: /kernel/drv/vmxnet3s.conf (use ``EMPTY_DRIVER_CONF`` for defaults when
      absent); ``etc_system``: /etc/system set lines. ``ip_lso_outbound``: ndd, else the ipadm
      ``_lso_outbound`` property. ``dladm_phys``, ``dladm_links``, ``dladm_devs`` (Solaris 10),
      ``link_mtu`` (dladm show-linkprop -p mtu), ``ipadm_tcp`` (ipadm show-prop tcp),
      ``ipadm_if_mtu`` (ipadm show-ifprop -p mtu), ``ifconfig`` (ifconfig -a).
      ``persistent_settings``: ndd/ipadm/dladm/ifconfig-mtu/ethtool -K lines in boot scripts
      and SMF methods (each with its path and line). ``install_db``: the tar4 journal.

    Linux
      ``interfaces``; ``ethtool_k`` / ``ethtool_i``: per interface; ``ip_links`` (mtu, minmtu,
      maxmtu); ``ip_forward`` (runtime), ``ip_forward_boot`` (sysctl files);
      ``bgp_md5_peers``: Quagga/FRR neighbors with a password (secret never kept).

    ESXi host (optional)
      ``esxi_advanced``: ``esxcli system settings advanced list`` by path.
    """

    origin: str
    os_kind: Fact[str] = field(default_factory=lambda: fact_missing("not evaluated"))
    os_family: Fact[OsFamily] = field(default_factory=lambda: fact_missing("not evaluated"))
    release: Fact[p.Release] = field(default_factory=lambda: fact_missing("not evaluated"))
    os_release: Fact[p.OsRelease] = field(default_factory=lambda: fact_missing("not evaluated"))
    uname_s: Fact[str] = field(default_factory=lambda: fact_missing("not evaluated"))
    uname_r: Fact[str] = field(default_factory=lambda: fact_missing("not evaluated"))
    uname_v: Fact[str] = field(default_factory=lambda: fact_missing("not evaluated"))
    kernel_bits: Fact[int] = field(default_factory=lambda: fact_missing("not evaluated"))
    modules: Fact[tuple[p.ModinfoRow, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    driver_conf: Fact[p.DriverConf] = field(default_factory=lambda: fact_missing("not evaluated"))
    etc_system: Fact[p.EtcSystem] = field(default_factory=lambda: fact_missing("not evaluated"))
    ip_lso_outbound: Fact[int] = field(default_factory=lambda: fact_missing("not evaluated"))
    dladm_phys: Fact[tuple[p.DladmPhys, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    dladm_links: Fact[tuple[p.DladmLink, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    dladm_devs: Fact[tuple[p.DladmDev, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    link_mtu: Fact[tuple[p.DladmLinkProp, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    ipadm_tcp: Fact[tuple[p.IpadmProp, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    ipadm_if_mtu: Fact[tuple[p.IpadmProp, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    ifconfig: Fact[tuple[p.IfconfigEntry, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    persistent_settings: Fact[tuple[p.PersistentSetting, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    install_db: Fact[p.InstallDB] = field(default_factory=lambda: fact_missing("not evaluated"))
    interfaces: Fact[tuple[str, ...]] = field(default_factory=lambda: fact_missing("not evaluated"))
    ethtool_k: Mapping[str, Fact[p.EthtoolFeatures]] = field(default_factory=_empty_map)
    ethtool_i: Mapping[str, Fact[p.EthtoolInfo]] = field(default_factory=_empty_map)
    ip_links: Fact[tuple[p.IpLink, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    ip_forward: Fact[int] = field(default_factory=lambda: fact_missing("not evaluated"))
    ip_forward_boot: Fact[int] = field(default_factory=lambda: fact_missing("not evaluated"))
    bgp_md5_peers: Fact[tuple[p.BgpMd5Peer, ...]] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    esxi_advanced: Fact[p.EsxAdvanced] = field(
        default_factory=lambda: fact_missing("not evaluated")
    )
    # Guest paths that exist (or may) but could not be read or listed -> the reason. The facts
    # built from them are unavailable; callers use this to name what was not evaluated.
    unreadable: Mapping[str, str] = field(default_factory=_empty_map)

    # ---- conveniences for checks

    @property
    def solaris_minor(self) -> Optional[int]:
        """Second field of ``uname -r`` (10 or 11) as the configurator computes it."""
        if not self.uname_r.known or self.uname_r.value is None:
            return None
        return p.Uname(release=self.uname_r.value).minor

    def module(self, name: str) -> Optional[p.ModinfoRow]:
        """The loaded module ``name`` (e.g. "vmxnet3s"), or None."""
        for row in self.modules.value or ():
            if row.name == name:
                return row
        return None

    def vmxnet3s_instances(self) -> tuple[int, ...]:
        """Instance numbers of vmxnet3s links seen anywhere (dladm, ifconfig, settings)."""
        names: list[str] = []
        names += [d.device or d.link for d in self.dladm_phys.value or ()]
        names += [d.link for d in self.dladm_links.value or ()]
        names += [d.link for d in self.dladm_devs.value or ()]
        names += [e.name.split(":")[0] for e in self.ifconfig.value or ()]
        found = set()
        for name in names:
            match = re.fullmatch(r"vmxnet3s(\d+)", name)
            if match:
                found.add(int(match.group(1)))
        return tuple(sorted(found))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for bundles and the ``facts`` part of reports)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}


# --------------------------------------------------------------------------- builder helpers


# --------------------------------------------------------------------------- the builder


def _os_kind(reader: GuestReader, release: Fact[p.Release], osr: Fact[p.OsRelease]) -> Fact[str]:
    kinds = {"sunos": "solaris", "linux": "linux", "vmkernel": "esxi"}
    for key in ("uname_s", "uname_a"):
        result, _ = reader.command(key)
        if result is not None:
            first = first_line(result.stdout)
            word = first.split()[0].lower() if first.split() else ""
            if word in kinds:
                return fact_of(kinds[word], cmd_evidence(result, first))
    if release.known and release.value is not None and release.value.is_sunos:
        rel = release.value
        return fact_of("solaris", Evidence(path="/etc/release", line=rel.line, excerpt=rel.name))
    if osr.known and osr.value is not None and osr.value.id:
        ident = osr.value.id.lower()
        sunos = ident == "solaris" or ident in ILLUMOS_OS_RELEASE_IDS
        kind = "solaris" if sunos else "esxi" if ident == "esxi" else "linux"
        return fact_of(
            kind,
            Evidence(path="/etc/os-release", line=osr.value.lines.get("ID"), excerpt=f"ID={ident}"),
        )
    if reader.listdir("/sys/class/net") is not None:
        return fact_of("linux", Evidence(path="/sys/class/net", detail="only Linux has /sys"))
    return fact_missing("neither uname nor /etc/release nor /etc/os-release identify the OS")


def _release(reader: GuestReader, osr: Fact[p.OsRelease]) -> Fact[p.Release]:
    text = reader.read("/etc/release")
    if text is not None:
        rel = p.parse_release(text)
        src = Evidence(path="/etc/release", line=rel.line, excerpt=rel.name or excerpt(text, 1))
        if rel.family != "unknown":
            return fact_of(rel, src)
        if not (osr.known and osr.value is not None):
            return fact_missing(f"/etc/release not understood: {rel.error}", src)
    if osr.known and osr.value is not None:
        rel = p.release_from_os_release(osr.value)
        if rel.family != "unknown":
            line = osr.value.lines.get("VERSION") or osr.value.lines.get("VERSION_ID")
            return fact_of(
                rel,
                Evidence(
                    path="/etc/os-release",
                    line=line,
                    excerpt=f"VERSION={osr.value.version}",
                    detail=rel.derivation,
                ),
            )
    return fact_missing(reader.absent("/etc/release"))


def _uname_field(reader: GuestReader, which: str, release: Fact[p.Release]) -> Fact[str]:
    attr = {"s": "sysname", "r": "release", "v": "version"}[which]
    result, reason = reader.command(f"uname_{which}")
    if result is not None:
        value = getattr(p.parse_uname(result.stdout, which), attr)
        if value:
            return fact_of(value, cmd_evidence(result, first_line(result.stdout)))
    result_a, _ = reader.command("uname_a")
    if result_a is not None:
        value = getattr(p.parse_uname(result_a.stdout), attr)
        if value:
            return fact_of(value, cmd_evidence(result_a, first_line(result_a.stdout)))
    if release.known and release.value is not None:
        rel = release.value
        derived = {
            "s": "SunOS" if rel.is_sunos else None,
            "r": rel.uname_r,
            "v": rel.uname_v,
        }[which]
        src = release.source or Evidence(path="/etc/release")
        evidence = Evidence(
            path=src.path,
            line=src.line,
            excerpt=src.excerpt,
            detail=f"uname -{which} derived from {src.path}: {rel.derivation}",
        )
        if derived:
            return fact_of(derived, evidence)
        return fact_missing(f"uname -{which} not derivable: {rel.derivation}", evidence)
    return fact_missing(reason or f"uname -{which} not available")


def _kernel_bits(
    reader: GuestReader, modules_out: Optional[CommandResult], release: Fact[p.Release]
) -> Fact[int]:
    result, reason = reader.command("isainfo_b")
    if result is not None:
        bits = p.parse_isainfo_b(result.stdout)
        if bits is not None:
            return fact_of(bits, cmd_evidence(result, first_line(result.stdout)))
    if modules_out is not None:
        rows = p.parse_modinfo(modules_out.stdout)
        if rows:
            bits = rows[0].addr_bits
            if bits is not None:
                return fact_of(
                    bits,
                    cmd_evidence(
                        modules_out,
                        rows[0].raw.strip(),
                        f"inferred from the {len(rows[0].loadaddr)}-digit module load address",
                    ),
                )
    rel = release.value
    if release.known and rel is not None and rel.is_solaris11 and rel.arch == "x86":
        src = release.source or Evidence(path="/etc/release")
        return fact_of(
            64,
            Evidence(
                path=src.path,
                line=src.line,
                excerpt=src.excerpt,
                detail="inferred: Solaris 11 on x86 is 64-bit only",
            ),
        )
    return fact_missing(reason or "kernel bitness not available")


def _modules(reader: GuestReader) -> tuple[Fact[tuple[p.ModinfoRow, ...]], Optional[CommandResult]]:
    result, reason = reader.command("modinfo")
    if result is None:
        return fact_missing(reason), None
    rows = p.parse_modinfo(result.stdout)
    if not rows:
        return fact_missing(
            "`modinfo` output not understood", cmd_evidence(result, excerpt(result.stdout))
        ), result
    vmware = tuple(r for r in rows if r.name in VMWARE_MODULES)
    rows_text = "\n".join(r.raw.strip() for r in vmware)[:MAX_EXCERPT]
    detail = None if vmware else f"{len(rows)} modules loaded, none of {', '.join(VMWARE_MODULES)}"
    return fact_of(vmware, cmd_evidence(result, rows_text, detail)), result


def _ip_lso_outbound(reader: GuestReader) -> Fact[int]:
    if reader.offline:
        return fact_missing(
            "runtime-only fact: ip_lso_outbound is not available offline"
            " (image root); see persistent_settings and etc_system"
        )
    result, reason = reader.command("ndd_ip_lso_outbound")
    if result is not None:
        value = p.parse_ndd_value(result.stdout)
        if value is not None:
            return fact_of(value, cmd_evidence(result, first_line(result.stdout)))
        reason = f"`{result.command}` output not understood"
    result2, reason2 = reader.command("ipadm_show_prop_lso")
    if result2 is not None:
        for row in p.parse_ipadm_show_prop(result2.stdout):
            if row.name == "_lso_outbound" and row.int_current is not None:
                return fact_of(row.int_current, cmd_evidence(result2, row.raw.strip()))
        reason2 = f"`{result2.command}` output not understood"
    return fact_missing(f"{reason}; {reason2}" if reason2 else reason)


def _persistent(reader: GuestReader) -> Fact[tuple[p.PersistentSetting, ...]]:
    found: list[p.PersistentSetting] = []
    scanned = 0
    listed: list[str] = []
    unread: list[str] = []
    for pattern in SCRIPT_GLOBS:
        paths = reader.glob(pattern)
        if paths is None:
            directory = posixpath.dirname(pattern)
            if directory in reader.unreadable:
                unread.append(f"{directory} ({reader.unreadable[directory]})")
            continue
        listed.append(pattern)
        for path in paths:
            text = reader.read(path, in_scan=True)
            if text is None:
                if path in reader.unreadable:
                    unread.append(f"{path} ({reader.unreadable[path]})")
                continue
            if "\0" in text[:4096] or len(text) > _MAX_SCRIPT_BYTES:
                continue
            scanned += 1
            found.extend(p.find_persistent_settings(text, path))
    if unread:
        # A setting in the script that could not be read may be the one that matters.
        return fact_missing(
            f"boot scripts could not all be read: {', '.join(unread[:3])}"
            + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
        )
    if not listed:
        if reader.offline or reader.origin.startswith("bundle:"):
            return fact_missing("no boot-script or SMF method directory could be listed")
        return fact_missing("boot-script directories could not be listed")
    detail = f"scanned {scanned} scripts in {', '.join(listed)}"
    return fact_of(tuple(found), Evidence(detail=detail))


def _bgp(reader: GuestReader) -> Fact[tuple[p.BgpMd5Peer, ...]]:
    peers: list[p.BgpMd5Peer] = []
    present: list[str] = []
    for path in BGP_CONFIG_FILES:
        text = reader.read(path)
        if text is None:
            if path in reader.unreadable:
                return fact_missing(reader.absent(path))
            continue
        present.append(path)
        peers.extend(p.parse_bgp_config(text, path).peers)
    detail = (
        f"read {', '.join(present)}"
        if present
        else f"no BGP configuration ({', '.join(BGP_CONFIG_FILES)}) present"
    )
    return fact_of(tuple(peers), Evidence(detail=detail))


def _ip_forward(reader: GuestReader) -> Fact[int]:
    result, reason = reader.command("sysctl_ip_forward")
    if result is not None:
        entry = p.parse_sysctl(result.stdout, "net.ipv4.ip_forward").get("net.ipv4.ip_forward")
        if entry is not None and entry.int_value is not None:
            return fact_of(entry.int_value, cmd_evidence(result, first_line(result.stdout)))
        reason = f"`{result.command}` output not understood"
    if not reader.offline and reader.kind in ("linux", "unknown"):
        path = "/proc/sys/net/ipv4/ip_forward"
        text = reader.read(path)
        if text is not None:
            entry = p.parse_sysctl(text, "net.ipv4.ip_forward").get("net.ipv4.ip_forward")
            if entry is not None and entry.int_value is not None:
                return fact_of(entry.int_value, Evidence(path=path, line=1, excerpt=entry.value))
    return fact_missing(reason)


def _ip_forward_boot(reader: GuestReader) -> Fact[int]:
    if reader.kind not in ("linux", "unknown"):
        return fact_missing(f"sysctl files do not apply to a {reader.kind} system")
    best: Optional[tuple[int, Evidence]] = None
    read: list[str] = []
    for pattern in SYSCTL_FILES:
        paths = reader.glob(pattern)
        directory = posixpath.dirname(pattern)
        if paths is None and directory in reader.unreadable:
            return fact_missing(f"{directory} could not be listed: {reader.unreadable[directory]}")
        for path in paths or []:
            text = reader.read(path, in_scan=pattern != path)
            if text is None:
                if path in reader.unreadable:
                    return fact_missing(reader.absent(path))
                continue
            read.append(path)
            entry = p.parse_sysctl(text).get("net.ipv4.ip_forward")
            if entry is not None and entry.int_value is not None:
                best = (
                    entry.int_value,
                    Evidence(
                        path=path, line=entry.line, excerpt=f"net.ipv4.ip_forward = {entry.value}"
                    ),
                )
    if best is not None:
        return fact_of(best[0], best[1])
    if read:
        return fact_missing(
            f"net.ipv4.ip_forward not set in {', '.join(read)}",
            Evidence(detail="kernel default 0 applies at boot"),
        )
    return fact_missing("no sysctl configuration file present")


def _interfaces(
    reader: GuestReader,
    ip_links: Fact[tuple[p.IpLink, ...]],
    ifconfig: Fact[tuple[p.IfconfigEntry, ...]],
) -> Fact[tuple[str, ...]]:
    names = reader.listdir("/sys/class/net")
    if names is not None:
        return fact_of(tuple(names), Evidence(path="/sys/class/net", detail="directory listing"))
    if ip_links.known and ip_links.value:
        src = ip_links.source or Evidence()
        return fact_of(
            tuple(link.name for link in ip_links.value),
            Evidence(command=src.command, detail="interface names from ip link"),
        )
    if ifconfig.known and ifconfig.value:
        src = ifconfig.source or Evidence()
        names_ifc = tuple(dict.fromkeys(e.name for e in ifconfig.value))
        return fact_of(names_ifc, Evidence(command=src.command, detail="names from ifconfig"))
    return fact_missing(
        ip_links.reason or "no interface list (/sys/class/net, ip link, ifconfig) available"
    )


def _per_interface(
    reader: GuestReader, key: str, names: Iterable[str], parse: Callable[[str], T]
) -> Mapping[str, Fact[T]]:
    out: dict[str, Fact[T]] = {}
    for name in names:
        if name == "lo":
            continue
        out[name] = command_fact(reader, f"{key}:{name}", parse)
    return MappingProxyType(out)


# The Linux and ESXi parsers are named through lambdas below: looking one up loads its module
# (see toolsfix.guest.parsers), which a guest without that output never needs.
def _tuple_parser(func: Callable[[str], Sequence[T]]) -> Callable[[str], tuple[T, ...]]:
    return lambda text: tuple(func(text))


def facts_from_capture(capture: Capture, reader: Optional[GuestReader] = None) -> GuestFacts:
    """Build GuestFacts from any source (live guest, bundle, image root).

    Never raises for bad data: every fact that cannot be established is returned as
    unavailable with its reason. Pass ``reader`` to share one run's reads (and its record of
    what could not be read) with the other fact builders, e.g. the driver facts.
    """
    reader = reader if reader is not None else GuestReader(capture)
    os_release = file_fact(reader, "/etc/os-release", p.parse_os_release)
    release = _release(reader, os_release)
    os_kind = _os_kind(reader, release, os_release)
    reader.kind = os_kind.value if os_kind.known and os_kind.value else "unknown"

    uname_r = _uname_field(reader, "r", release)
    uname_v = _uname_field(reader, "v", release)
    modules, modinfo_result = _modules(reader)
    ip_links = command_fact(
        reader, "ip_d_link", _tuple_parser(lambda t: p.parse_ip_link(t)), empty_ok=False
    )
    ifconfig = command_fact(reader, "ifconfig_a", _tuple_parser(p.parse_ifconfig), empty_ok=False)
    is_linux = reader.kind == "linux"
    interfaces = (
        _interfaces(reader, ip_links, ifconfig)
        if is_linux or reader.kind == "unknown"
        else fact_missing(f"interface list is only collected for Linux guests ({reader.kind})")
    )
    if_names = interfaces.value or () if is_linux else ()

    return GuestFacts(
        origin=reader.origin,
        os_kind=os_kind,
        os_family=os_family(os_kind, release, os_release, uname_r, uname_v),
        release=release,
        os_release=os_release,
        uname_s=_uname_field(reader, "s", release),
        uname_r=uname_r,
        uname_v=uname_v,
        kernel_bits=_kernel_bits(reader, modinfo_result, release),
        modules=modules,
        driver_conf=file_fact(reader, DRIVER_CONF_PATH, p.parse_driver_conf),
        etc_system=file_fact(reader, "/etc/system", p.parse_etc_system),
        ip_lso_outbound=_ip_lso_outbound(reader),
        dladm_phys=command_fact(reader, "dladm_show_phys", _tuple_parser(p.parse_dladm_show_phys)),
        dladm_links=command_fact(reader, "dladm_show_link", _tuple_parser(p.parse_dladm_show_link)),
        dladm_devs=command_fact(reader, "dladm_show_dev", _tuple_parser(p.parse_dladm_show_dev)),
        link_mtu=command_fact(
            reader, "dladm_show_linkprop_mtu", _tuple_parser(p.parse_dladm_show_linkprop)
        ),
        ipadm_tcp=command_fact(
            reader, "ipadm_show_prop_tcp", _tuple_parser(p.parse_ipadm_show_prop)
        ),
        ipadm_if_mtu=command_fact(
            reader, "ipadm_show_ifprop_mtu", _tuple_parser(p.parse_ipadm_show_prop)
        ),
        ifconfig=ifconfig,
        persistent_settings=_persistent(reader),
        install_db=file_fact(reader, INSTALL_DB_PATH, p.parse_locations),
        interfaces=interfaces,
        ethtool_k=_per_interface(reader, "ethtool_k", if_names, lambda t: p.parse_ethtool_k(t)),
        ethtool_i=_per_interface(reader, "ethtool_i", if_names, lambda t: p.parse_ethtool_i(t)),
        ip_links=ip_links,
        ip_forward=_ip_forward(reader),
        ip_forward_boot=_ip_forward_boot(reader),
        bgp_md5_peers=_bgp(reader),
        esxi_advanced=command_fact(reader, "esxcli_advanced", lambda t: p.parse_esxcli_advanced(t)),
        unreadable=MappingProxyType(dict(reader.unreadable)),  # last: after every read
    )
