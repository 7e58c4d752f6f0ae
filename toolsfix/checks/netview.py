"""The derived view the Solaris network checks share: links, MTUs, boot settings, active builds.

:class:`~toolsfix.guest.facts.GuestFacts` holds what was read (one fact per command or file);
the LSO, jumbo-frame and MTU checks need answers that combine several facts: the datalink name
of vmxnet3s instance 1, every place that asks for an MTU above 1500 on it, which boot settings
actually run at boot, which installed build the running kernel loads. Computing those once
here keeps the checks to their decisions, and keeps them agreeing with each other (the LSO
check and the jumbo check must mean the same thing by "runs at boot").

Runtime facts (``ndd``, ``dladm``, ``ifconfig``) are absent on an image root; the view then
answers from the persistent configuration (the driver conf and boot scripts), and the checks
say so.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable, Sequence
from typing import NamedTuple, Optional

from toolsfix.findings import Evidence
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import EMPTY_DRIVER_CONF, GuestFacts
from toolsfix.installed import InstalledDriver
from toolsfix.knowledge import NIC_MODULE, OLD_LSO_PATH, UNKNOWN_LSO_PATH, sunos_minor

__all__ = [
    "CONF_PATH",
    "CONF_SLOTS",
    "MAX_MTU",
    "NO_BUILD_REASON",
    "RC_DIRS",
    "STANDARD_MTU",
    "DriverView",
    "Mtu",
    "MtuSource",
    "NetFacts",
    "NetView",
    "active_drivers",
    "driver_from_modinfo",
    "driver_view",
    "is_ip_lso",
    "parse_int",
    "prop_value",
    "rc_order",
    "setting_evidence",
]

CONF_PATH = f"/kernel/drv/{NIC_MODULE}.conf"
STANDARD_MTU = 1500
MAX_MTU = 9000  # the vmxnet3s MTU range is 60-9000
# The shipped conf lists ten instances per property; a fix writes at least that many values so
# instances added later do not silently fall back to the driver default.
CONF_SLOTS = 10
RC_DIRS = ("/etc/rc2.d", "/etc/rc3.d")
#: Why the build-dependent checks are skipped when no vmxnet3s build could be looked at.
NO_BUILD_REASON = "no installed or loaded vmxnet3s build could be examined"

_RELOAD_NOTE = "# takes effect when the vmxnet3s driver is reloaded or at the next reboot"
#: modinfo's identity of the Tools 8.x-9.4.x builds: ``VMware EtherAdapter v3 b<build>``.
_OLD_IDENTITY_PREFIX = "VMware EtherAdapter v3 b"


# --------------------------------------------------------------------------- small helpers


def setting_evidence(s: p.PersistentSetting) -> Evidence:
    return Evidence(path=s.path, line=s.line, excerpt=s.text)


def prop_value(s: p.PersistentSetting, name: str) -> Optional[str]:
    """The value a setting gives property ``name`` (the first pair naming it), or None."""
    for key, value in s.properties:
        if key == name:
            return value
    return None


def parse_int(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _quote(text: str) -> str:
    """Single-quote for sh (works in the Solaris 10 Bourne shell too)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _append_line(line: str, path: str = CONF_PATH) -> str:
    return f"printf '%s\\n' {_quote(line)} >> {path}"


def rc_order(path: str) -> Optional[tuple[int, str]]:
    """Sort key of an rc script in boot order (rc2.d before rc3.d, then by name), or None for
    anything else (an SMF method, an init.d script)."""
    directory, name = posixpath.split(path)
    if directory in RC_DIRS:
        return RC_DIRS.index(directory), name
    return None


def is_ip_lso(s: p.PersistentSetting) -> bool:
    """Does ``s`` persist the IP-level LSO switch (``ip_lso_outbound`` / ``_lso_outbound``)?"""
    if s.tool == "ndd" and s.action == "-set" and s.target == "/dev/ip":
        return prop_value(s, "ip_lso_outbound") is not None
    return (
        s.tool == "ipadm"
        and s.action == "set-prop"
        and not s.temporary
        and s.protocol == "ip"
        and prop_value(s, "_lso_outbound") is not None
    )


def _boot_settings(
    facts: GuestFacts, scanned: tuple[p.PersistentSetting, ...]
) -> tuple[tuple[p.PersistentSetting, ...], tuple[p.PersistentSetting, ...]]:
    """(settings that run at boot, /etc/init.d settings that do not).

    A script in /etc/init.d runs at boot only through a link in /etc/rc2.d or /etc/rc3.d; the
    linked copy is read under the rc path too, so an init.d setting whose line appears in no rc
    script is not run. Applied only when the rc directories were actually scanned.
    """
    src = facts.persistent_settings.source
    detail = src.detail or "" if src is not None else ""
    if not any(d in detail for d in RC_DIRS):
        return scanned, ()
    in_rc = {s.text for s in scanned if rc_order(s.path) is not None}
    run: list[p.PersistentSetting] = []
    unlinked: list[p.PersistentSetting] = []
    for s in scanned:
        if posixpath.dirname(s.path) == "/etc/init.d" and s.text not in in_rc:
            unlinked.append(s)
        else:
            run.append(s)
    return tuple(run), tuple(unlinked)


# --------------------------------------------------------------------------- installed builds


# DriverView, Mtu and NetFacts are NamedTuples, not frozen dataclasses: views the checks
# derive and read, never replaced or serialised, and a dataclass costs about a millisecond
# at import (its methods are generated and compiled).
class DriverView(NamedTuple):
    """The installed vmxnet3s build the checks reason about, with its evidence."""

    path: Optional[str]
    family: Optional[str]
    era: str
    identity: Optional[str]
    evidence: tuple[Evidence, ...]

    def describe(self) -> str:
        where = self.path or "the loaded vmxnet3s module"
        ident = f" ({self.identity})" if self.identity else ""
        return f"{where}{ident}"


def driver_view(d: InstalledDriver) -> DriverView:
    """An identified installed file: family, LSO era and Tools version come from the match."""
    detail = f"build family {d.build_family or 'unknown'}, LSO transmit path {d.lso_era}"
    if d.tools_version:
        detail += f", Tools {d.tools_version}"
    base = d.evidence
    if base is not None and base.detail:
        detail = f"{base.detail}; {detail}"
    ev = Evidence(
        path=base.path if base is not None and base.path else d.path,
        excerpt=(base.excerpt if base is not None and base.excerpt else d.identity),
        detail=detail,
    )
    return DriverView(
        path=d.path, family=d.build_family, era=d.lso_era, identity=d.identity, evidence=(ev,)
    )


def driver_from_modinfo(facts: GuestFacts) -> Optional[DriverView]:
    """Without an identified file, the loaded module's identity string still dates the build:
    ``b<build>`` strings come only from Tools 8.x-9.4.x, all on the old transmit path."""
    row = facts.module(NIC_MODULE)
    if row is None:
        return None
    desc = row.description or ""
    era = OLD_LSO_PATH if desc.startswith(_OLD_IDENTITY_PREFIX) else UNKNOWN_LSO_PATH
    ev = facts.modules.evidence_at(row.line, row.raw)
    ev = Evidence(
        command=ev.command,
        excerpt=ev.excerpt,
        detail="installed file not identified; identity from modinfo",
    )
    return DriverView(path=None, family=None, era=era, identity=desc or None, evidence=(ev,))


def active_drivers(facts: GuestFacts, drivers: Sequence[InstalledDriver]) -> list[InstalledDriver]:
    """The builds the running kernel loads: the 64-bit one on a 64-bit kernel, and so on.
    With the bitness unknown every present build counts (the checks then judge each)."""
    present = [d for d in drivers if d.module == NIC_MODULE and d.present]
    bits = facts.kernel_bits.value if facts.kernel_bits.known else None
    if bits is None:
        return present
    wanted = ("amd64", "sparcv9") if bits == 64 else ("i386", "sparc")
    chosen = [d for d in present if d.location_arch in wanted]
    return chosen or present


# --------------------------------------------------------------------------- the view


class MtuSource(str, enum.Enum):
    """Where an MTU was seen; messages quote the value ("9000 (script)")."""

    CONF = "conf"  # MTU= in vmxnet3s.conf
    SCRIPT = "script"  # a boot script or SMF method
    RUNTIME_LINK = "runtime-link"  # dladm: the link MTU in effect
    RUNTIME_IP = "runtime-ip"  # ipadm show-ifprop or ifconfig: the IP MTU in effect
    IPADM_PERSISTENT = "ipadm-persistent"  # the PERSISTENT column of ipadm show-ifprop

    def __str__(self) -> str:
        return self.value


class Mtu(NamedTuple):
    """One MTU value seen somewhere, with where it was seen."""

    value: int
    evidence: Evidence
    source: MtuSource


class NetView:
    """Per-guest lookups shared by the checks (links of an instance, persistent settings)."""

    def __init__(self, facts: GuestFacts) -> None:
        self.facts = facts
        self.conf_fact = facts.driver_conf
        self.conf: p.DriverConf = (
            facts.driver_conf.value
            if facts.driver_conf.known and facts.driver_conf.value is not None
            else EMPTY_DRIVER_CONF
        )
        scanned: tuple[p.PersistentSetting, ...] = (
            facts.persistent_settings.value or () if facts.persistent_settings.known else ()
        )
        self.settings, self.unlinked = _boot_settings(facts, scanned)
        seen = facts.vmxnet3s_instances()
        self.instances_known = bool(seen)
        self.instances: tuple[int, ...] = seen or (0,)
        self.minor = self._guest_minor()

    def _guest_minor(self) -> Optional[int]:
        if self.facts.solaris_minor is not None:
            return self.facts.solaris_minor
        rel = self.facts.release.value if self.facts.release.known else None
        if rel is None:
            return None
        return sunos_minor(rel.uname_r)

    # ---- names

    @staticmethod
    def device(instance: int) -> str:
        """The driver's own name for an instance: ``vmxnet3s0``."""
        return f"{NIC_MODULE}{instance}"

    def link(self, instance: int) -> str:
        """The datalink name: the vanity name (``net0``) on Solaris 11, else ``vmxnet3sN``."""
        dev = self.device(instance)
        for row in self.facts.dladm_phys.value or ():
            if row.device == dev:
                return row.link
        return dev

    def names(self, instance: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.link(instance), self.device(instance))))

    # ---- conf

    def conf_evidence(self, prop: str, instance: int) -> Evidence:
        cv = self.conf.value_for(prop, instance)
        conf_prop = self.conf.get(prop)
        if conf_prop is not None and self.conf_fact.known:
            ev = self.conf_fact.evidence_at(conf_prop.line, conf_prop.text)
            return Evidence(
                path=ev.path,
                line=ev.line,
                excerpt=ev.excerpt,
                detail=f"instance {instance}: {cv.reason}",
            )
        if not self.conf_fact.known:
            return Evidence(
                path=CONF_PATH,
                detail=f"{self.conf_fact.reason}; driver default {prop}={cv.value} applies",
            )
        return Evidence(path=CONF_PATH, detail=f"{prop} not set: driver default {cv.value}")

    def conf_list_fix(
        self, prop: str, values: dict[int, int], fill: Optional[int] = None
    ) -> list[str]:
        """Commands that make ``prop`` hold ``values`` (instance -> value) in the conf, other
        slots ``fill`` (or what the driver uses now): append a line when the property is
        absent, else a MANUAL edit of the existing line."""
        default = p.VMXNET3S_PROPERTIES[prop].default
        existing = self.conf.get(prop)
        count = max([CONF_SLOTS, *(i + 1 for i in values)])
        if existing is not None:
            count = max(count, len(existing.values))
        new: list[int] = []
        for i in range(count):
            if i in values:
                new.append(values[i])
                continue
            if fill is not None:
                new.append(fill)
                continue
            cv = self.conf.value_for(prop, i)
            new.append(cv.value if cv.value is not None else default)
        line = f"{prop}={','.join(str(v) for v in new)};"
        if existing is None:
            return [_append_line(line), _RELOAD_NOTE]
        return [
            f"# MANUAL: in {CONF_PATH} line {existing.line} replace `{existing.text}` with "
            f"`{line}`",
            _RELOAD_NOTE,
        ]

    # ---- persistent settings

    def unlinked_evidence(self, wanted: Callable[[p.PersistentSetting], bool]) -> list[Evidence]:
        """Evidence for matching settings that sit in an /etc/init.d script nothing runs."""
        return [
            Evidence(
                path=s.path,
                line=s.line,
                excerpt=s.text,
                detail="not linked from /etc/rc2.d or /etc/rc3.d: does not run at boot",
            )
            for s in self.unlinked
            if wanted(s)
        ]

    def ip_lso_persistent(self) -> tuple[Optional[int], Optional[p.PersistentSetting]]:
        """The ip_lso_outbound value the boot configuration leaves (the last setting wins)."""
        found = [s for s in self.settings if is_ip_lso(s)]
        if not found:
            return None, None
        last = found[-1]
        value = prop_value(last, "ip_lso_outbound") or prop_value(last, "_lso_outbound")
        return parse_int(value), last

    def accept_jumbo(self, instance: int) -> list[p.PersistentSetting]:
        dev = f"/dev/{self.device(instance)}"
        return [
            s
            for s in self.settings
            if s.tool == "ndd" and s.target == dev and prop_value(s, "accept-jumbo") == "1"
        ]

    def mtu_settings(self, instance: int) -> list[tuple[p.PersistentSetting, int]]:
        """Persistent MTU settings for the instance's link or IP interface (not ``-t``)."""
        names = self.names(instance)
        out = []
        for s in self.settings:
            if s.temporary or s.target is None:
                continue
            target = s.target.split(":")[0]
            if target not in names:
                continue
            if s.tool in ("ifconfig", "dladm", "ipadm") and s.action in (
                "mtu",
                "set-linkprop",
                "set-ifprop",
            ):
                if s.tool == "ipadm" and s.protocol not in (None, "ipv4"):
                    continue
                value = parse_int(prop_value(s, "mtu"))
                if value is not None:
                    out.append((s, value))
        return out

    # ---- runtime values

    def link_mtu(self, instance: int) -> Optional[Mtu]:
        names = self.names(instance)
        for row in self.facts.link_mtu.value or ():
            if row.link in names and row.name == "mtu" and row.int_value is not None:
                ev = self.facts.link_mtu.evidence_at(row.line, row.raw)
                return Mtu(value=row.int_value, evidence=ev, source=MtuSource.RUNTIME_LINK)
        for link in self.facts.dladm_links.value or ():
            if link.link in names and link.mtu is not None:
                ev = self.facts.dladm_links.evidence_at(link.line, link.raw)
                return Mtu(value=link.mtu, evidence=ev, source=MtuSource.RUNTIME_LINK)
        return None

    def ip_mtu(self, instance: int) -> Optional[Mtu]:
        names = self.names(instance)
        for row in self.facts.ipadm_if_mtu.value or ():
            if (
                row.ifname in names
                and row.name == "mtu"
                and row.proto in (None, "ipv4")
                and row.int_current is not None
            ):
                ev = self.facts.ipadm_if_mtu.evidence_at(row.line, row.raw)
                return Mtu(value=row.int_current, evidence=ev, source=MtuSource.RUNTIME_IP)
        for entry in self.facts.ifconfig.value or ():
            if entry.name in names and entry.family != "ipv6" and entry.mtu is not None:
                ev = self.facts.ifconfig.evidence_at(entry.line, entry.raw)
                return Mtu(value=entry.mtu, evidence=ev, source=MtuSource.RUNTIME_IP)
        return None

    def ip_mtu_persistent(self, instance: int) -> Optional[Mtu]:
        names = self.names(instance)
        for row in self.facts.ipadm_if_mtu.value or ():
            value = parse_int(row.persistent)
            if (
                row.ifname in names
                and row.name == "mtu"
                and row.proto in (None, "ipv4")
                and value is not None
            ):
                ev = self.facts.ipadm_if_mtu.evidence_at(row.line, row.raw)
                return Mtu(value=value, evidence=ev, source=MtuSource.IPADM_PERSISTENT)
        return None

    def jumbo_wanted(self, instance: int, conf_counts: bool) -> list[Mtu]:
        """Every place that asks for an MTU above 1500 on this instance."""
        out: list[Mtu] = []
        if conf_counts:
            cv = self.conf.value_for("MTU", instance)
            if isinstance(cv.configured, int) and cv.configured > STANDARD_MTU:
                out.append(
                    Mtu(
                        value=cv.configured,
                        evidence=self.conf_evidence("MTU", instance),
                        source=MtuSource.CONF,
                    )
                )
        for s, value in self.mtu_settings(instance):
            if value > STANDARD_MTU:
                out.append(Mtu(value=value, evidence=setting_evidence(s), source=MtuSource.SCRIPT))
        for mtu in (self.link_mtu(instance), self.ip_mtu(instance)):
            if mtu is not None and mtu.value > STANDARD_MTU:
                out.append(mtu)
        return out


class NetFacts(NamedTuple):
    """What every Solaris network check takes: the shared view and the builds to judge.

    ``drivers`` are the vmxnet3s builds the running kernel loads (identified files, or the
    loaded module's modinfo identity when no file was identified); empty when none could be
    examined, and then the build-dependent checks say so.
    """

    net: NetView
    drivers: tuple[DriverView, ...]

    @property
    def facts(self) -> GuestFacts:
        return self.net.facts
