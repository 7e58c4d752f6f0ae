"""Solaris guest network readiness: LSO on the old transmit path, jumbo frames, TCP buffers.

Whether LSO is dangerous or how a jumbo MTU must be set depends on *which vmxnet3s build is
installed* (its LSO era and the OS it was built for), not on what the OS is; that is why the
checks take the identified drivers next to the guest facts. Everything else is read from
:class:`~toolsfix.guest.facts.GuestFacts`, so the same checks serve live guests, collector
bundles and offline image roots. Runtime facts (``ndd``, ``dladm``, ``ifconfig``) are absent
on an image root; the checks then decide from the persistent configuration (the driver conf
and boot scripts) and say so, or report the check as not evaluated with the reason.

Every finding carries the concrete commands that fix it (``Finding.commands``), persistent
ones included; steps that cannot be derived safely (editing an existing conf line, moving a
line inside someone's boot script) are ``# MANUAL:`` comments with the exact before/after.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

from toolsfix.catalog import finding
from toolsfix.findings import Evidence, Finding, Severity, Skipped
from toolsfix.guest import parsers as p
from toolsfix.guest.facts import EMPTY_DRIVER_CONF, GuestFacts
from toolsfix.installed import NEW_PATH, OLD_PATH, InstalledDriver

__all__ = ["ALL_CHECKS", "CONF_PATH", "TCP_BUFFER_TARGETS", "check_solaris_network"]

CONF_PATH = "/kernel/drv/vmxnet3s.conf"
LSO_CHECKS = ("TF300", "TF301")
JUMBO_CHECKS = ("TF310", "TF311", "TF312", "TF313", "TF314")
BUFFER_CHECK = "TF320"
ALL_CHECKS = (*LSO_CHECKS, *JUMBO_CHECKS, BUFFER_CHECK)

STANDARD_MTU = 1500
MAX_MTU = 9000  # the vmxnet3s MTU range is 60-9000
# The shipped conf lists ten instances per property; a fix writes at least that many values so
# instances added later do not silently fall back to the driver default.
CONF_SLOTS = 10
# Field-tested values for 10 Gb/s between VMs (driver-and-network.md). Order matters when
# applying them: recv_buf/send_buf cannot exceed max_buf.
TCP_BUFFER_TARGETS: tuple[tuple[str, int], ...] = (
    ("max_buf", 4194304),
    ("recv_buf", 1048576),
    ("send_buf", 1048576),
)
# Build families whose driver gates MTUs above 1500 behind ``ndd ... accept-jumbo 1`` and reads
# MTU= from the conf: the Solaris 10 builds and the OpenSolaris ones.
ACCEPT_JUMBO_FAMILIES = ("10", "2009.06")
RC_DIRS = ("/etc/rc2.d", "/etc/rc3.d")

_RELOAD_NOTE = (
    "# takes effect when the vmxnet3s driver is reloaded or at the next reboot"
)


# --------------------------------------------------------------------------- small helpers


def _setting_evidence(s: p.PersistentSetting) -> Evidence:
    return Evidence(path=s.path, line=s.line, excerpt=s.text)


def _prop_value(s: p.PersistentSetting, name: str) -> Optional[str]:
    for key, value in s.properties:
        if key == name:
            return value
    return None


def _int(text: Optional[str]) -> Optional[int]:
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


def _dedupe_skips(skips: Iterable[Skipped]) -> list[Skipped]:
    seen: set[tuple[str, str, str]] = set()
    out: list[Skipped] = []
    for s in skips:
        key = (s.check, s.reason, s.outcome)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


@dataclass(frozen=True)
class _Driver:
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


def _driver_of(d: InstalledDriver) -> _Driver:
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
    return _Driver(d.path, d.build_family, d.lso_era, d.identity, (ev,))


def _driver_from_modinfo(facts: GuestFacts) -> Optional[_Driver]:
    """Without an identified file, the loaded module's identity string still dates the build:
    ``b<build>`` strings come only from Tools 8.x-9.4.x, all on the old transmit path."""
    row = facts.module("vmxnet3s")
    if row is None:
        return None
    desc = row.description or ""
    era = OLD_PATH if desc.startswith("VMware EtherAdapter v3 b") else "unknown"
    ev = facts.modules.evidence_at(row.line, row.raw)
    ev = Evidence(command=ev.command, excerpt=ev.excerpt,
                  detail="installed file not identified; identity from modinfo")
    return _Driver(None, None, era, desc or None, (ev,))


def _active_drivers(facts: GuestFacts, drivers: Sequence[InstalledDriver]) -> list[InstalledDriver]:
    """The builds the running kernel loads: the 64-bit one on a 64-bit kernel, and so on.
    With the bitness unknown every present build counts (the checks then judge each)."""
    present = [d for d in drivers if d.module == "vmxnet3s" and d.present]
    bits = facts.kernel_bits.value if facts.kernel_bits.known else None
    if bits is None:
        return present
    wanted = ("amd64", "sparcv9") if bits == 64 else ("i386", "sparc")
    chosen = [d for d in present if d.location_arch in wanted]
    return chosen or present


# --------------------------------------------------------------------------- context


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
    in_rc = {s.text for s in scanned if _rc_order(s.path) is not None}
    run: list[p.PersistentSetting] = []
    unlinked: list[p.PersistentSetting] = []
    for s in scanned:
        if posixpath.dirname(s.path) == "/etc/init.d" and s.text not in in_rc:
            unlinked.append(s)
        else:
            run.append(s)
    return tuple(run), tuple(unlinked)


def _is_ip_lso(s: p.PersistentSetting) -> bool:
    if s.tool == "ndd" and s.action == "-set" and s.target == "/dev/ip":
        return _prop_value(s, "ip_lso_outbound") is not None
    return (s.tool == "ipadm" and s.action == "set-prop" and not s.temporary
            and s.protocol == "ip" and _prop_value(s, "_lso_outbound") is not None)


@dataclass(frozen=True)
class _Mtu:
    """One MTU value seen somewhere, with where it was seen."""

    value: int
    evidence: Evidence
    source: str  # conf, script, runtime-link, runtime-ip


class _Net:
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
        if rel.uname_r and rel.uname_r.startswith("5."):
            return _int(rel.uname_r[2:])
        return None

    # ---- names

    def link(self, instance: int) -> str:
        """The datalink name: the vanity name (``net0``) on Solaris 11, else ``vmxnet3sN``."""
        dev = f"vmxnet3s{instance}"
        for row in self.facts.dladm_phys.value or ():
            if row.device == dev:
                return row.link
        return dev

    def names(self, instance: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.link(instance), f"vmxnet3s{instance}")))

    # ---- conf

    def conf_evidence(self, prop: str, instance: int) -> Evidence:
        cv = self.conf.value_for(prop, instance)
        conf_prop = self.conf.get(prop)
        if conf_prop is not None and self.conf_fact.known:
            ev = self.conf_fact.evidence_at(conf_prop.line, conf_prop.text)
            return Evidence(path=ev.path, line=ev.line, excerpt=ev.excerpt,
                            detail=f"instance {instance}: {cv.reason}")
        if not self.conf_fact.known:
            return Evidence(path=CONF_PATH, detail=f"{self.conf_fact.reason}; driver default "
                            f"{prop}={cv.value} applies")
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

    def ip_lso_settings(self) -> list[p.PersistentSetting]:
        return [s for s in self.settings if _is_ip_lso(s)]

    def unlinked_evidence(self, wanted: Callable[[p.PersistentSetting], bool]) -> list[Evidence]:
        """Evidence for matching settings that sit in an /etc/init.d script nothing runs."""
        return [
            Evidence(path=s.path, line=s.line, excerpt=s.text,
                     detail="not linked from /etc/rc2.d or /etc/rc3.d: does not run at boot")
            for s in self.unlinked if wanted(s)
        ]

    def ip_lso_persistent(self) -> tuple[Optional[int], Optional[p.PersistentSetting]]:
        found = self.ip_lso_settings()
        if not found:
            return None, None
        last = found[-1]
        value = _prop_value(last, "ip_lso_outbound") or _prop_value(last, "_lso_outbound")
        return _int(value), last

    def accept_jumbo(self, instance: int) -> list[p.PersistentSetting]:
        dev = f"/dev/vmxnet3s{instance}"
        return [
            s for s in self.settings
            if s.tool == "ndd" and s.target == dev and _prop_value(s, "accept-jumbo") == "1"
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
                "mtu", "set-linkprop", "set-ifprop"
            ):
                if s.tool == "ipadm" and s.protocol not in (None, "ipv4"):
                    continue
                value = _int(_prop_value(s, "mtu"))
                if value is not None:
                    out.append((s, value))
        return out

    # ---- runtime values

    def link_mtu(self, instance: int) -> Optional[_Mtu]:
        names = self.names(instance)
        for row in self.facts.link_mtu.value or ():
            if row.link in names and row.name == "mtu" and row.int_value is not None:
                ev = self.facts.link_mtu.evidence_at(row.line, row.raw)
                return _Mtu(row.int_value, ev, "runtime-link")
        for link in self.facts.dladm_links.value or ():
            if link.link in names and link.mtu is not None:
                ev = self.facts.dladm_links.evidence_at(link.line, link.raw)
                return _Mtu(link.mtu, ev, "runtime-link")
        return None

    def ip_mtu(self, instance: int) -> Optional[_Mtu]:
        names = self.names(instance)
        for row in self.facts.ipadm_if_mtu.value or ():
            if (row.ifname in names and row.name == "mtu" and row.proto in (None, "ipv4")
                    and row.int_current is not None):
                ev = self.facts.ipadm_if_mtu.evidence_at(row.line, row.raw)
                return _Mtu(row.int_current, ev, "runtime-ip")
        for entry in self.facts.ifconfig.value or ():
            if entry.name in names and entry.family != "ipv6" and entry.mtu is not None:
                ev = self.facts.ifconfig.evidence_at(entry.line, entry.raw)
                return _Mtu(entry.mtu, ev, "runtime-ip")
        return None

    def ip_mtu_persistent(self, instance: int) -> Optional[_Mtu]:
        names = self.names(instance)
        for row in self.facts.ipadm_if_mtu.value or ():
            value = _int(row.persistent)
            if (row.ifname in names and row.name == "mtu" and row.proto in (None, "ipv4")
                    and value is not None):
                ev = self.facts.ipadm_if_mtu.evidence_at(row.line, row.raw)
                return _Mtu(value, ev, "ipadm-persistent")
        return None

    def jumbo_wanted(self, instance: int, conf_counts: bool) -> list[_Mtu]:
        """Every place that asks for an MTU above 1500 on this instance."""
        out: list[_Mtu] = []
        if conf_counts:
            cv = self.conf.value_for("MTU", instance)
            if isinstance(cv.configured, int) and cv.configured > STANDARD_MTU:
                out.append(_Mtu(cv.configured, self.conf_evidence("MTU", instance), "conf"))
        for s, value in self.mtu_settings(instance):
            if value > STANDARD_MTU:
                out.append(_Mtu(value, _setting_evidence(s), "script"))
        for mtu in (self.link_mtu(instance), self.ip_mtu(instance)):
            if mtu is not None and mtu.value > STANDARD_MTU:
                out.append(mtu)
        return out


# --------------------------------------------------------------------------- LSO


@dataclass(frozen=True)
class _Risk:
    driver: _Driver
    confidence: str
    why: str


def _lso_risk(drv: _Driver) -> tuple[Optional[_Risk], Optional[str]]:
    """(risk, None), (None, None) for a safe build, or (None, reason) when undecidable."""
    if drv.era == OLD_PATH:
        why = (f"{drv.describe()} uses the old LSO transmit path (Tools through 9.4.x, or a "
               "10.1.x Solaris 10 build), which sends frames larger than the MTU")
        return _Risk(drv, "high" if drv.path else "medium", why), None
    if drv.era == NEW_PATH:
        return None, None
    if drv.family == "10":
        why = (f"{drv.describe()} is a Solaris 10 build whose LSO transmit path could not be "
               "established; Solaris 10 builds through Tools 9.4.x and again in 10.1.x use the "
               "old path, so it is treated as at risk")
        return _Risk(drv, "low", why), None
    return None, (f"LSO transmit path of {drv.describe()} is unknown "
                  f"(build family {drv.family or 'unknown'}); cannot tell whether LSO is safe")


def _ip_lso_commands(net: _Net, persist_only: bool) -> list[str]:
    if net.minor == 11:
        # ipadm properties are persistent unless -t is given, and take effect at once.
        return ["ipadm set-prop -p _lso_outbound=0 ip"]
    script = "/etc/rc2.d/S99toolsfix-nolso"
    cmds = [] if persist_only else ["ndd -set /dev/ip ip_lso_outbound 0"]
    cmds += [
        f"printf '%s\\n' '#!/sbin/sh' '/usr/sbin/ndd -set /dev/ip ip_lso_outbound 0' > {script}",
        f"chmod 744 {script}",
    ]
    return cmds


def _check_lso(
    net: _Net, drivers: Sequence[_Driver]
) -> tuple[list[Finding], list[Skipped]]:
    risks: list[_Risk] = []
    undecided: list[str] = []
    for drv in drivers:
        risk, reason = _lso_risk(drv)
        if risk is not None:
            risks.append(risk)
        elif reason is not None:
            undecided.append(reason)
    if not risks:
        if undecided:
            return [], [Skipped(c, "; ".join(undecided)) for c in LSO_CHECKS]
        return [], []
    order = {"high": 0, "medium": 1, "low": 2}
    risks.sort(key=lambda r: order.get(r.confidence, 3))
    risk = risks[0]
    drv_evidence = [e for r in risks for e in r.driver.evidence]
    facts = net.facts

    runtime = facts.ip_lso_outbound
    runtime_value = runtime.value if runtime.known else None
    persist_value, persist_setting = net.ip_lso_persistent()
    runtime_ev = runtime.source if runtime.known and runtime.source else None
    persist_ev = _setting_evidence(persist_setting) if persist_setting else None

    scripts = facts.persistent_settings
    unlinked = net.unlinked_evidence(_is_ip_lso)
    unlinked_note = (
        f"; {unlinked[0].path}:{unlinked[0].line} sets it but is not linked from an rc "
        "directory, so it never runs" if unlinked else ""
    )
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for inst in net.instances:
        cv = net.conf.value_for("EnableLSO", inst)
        if cv.value != 1:
            continue  # EnableLSO=0 in the conf: the driver never offers LSO (persistent)
        subject = f"vmxnet3s{inst}"
        conf_ev = net.conf_evidence("EnableLSO", inst)
        who = subject if net.instances_known else f"{subject} (instance list not available)"
        lso_note = f"EnableLSO is {cv.value} for instance {inst} ({cv.reason})"
        evidence = [conf_ev, *drv_evidence, *unlinked]
        fix_conf = net.conf_list_fix("EnableLSO", {}, fill=0)
        if runtime_value is not None:
            assert runtime_ev is not None
            evidence.insert(1, runtime_ev)
            if persist_ev is not None:
                evidence.insert(2, persist_ev)
            if runtime_value != 0:
                msg = (f"{who}: LSO is on: {lso_note} and ip_lso_outbound is {runtime_value}; "
                       f"{risk.why}")
                findings.append(finding(
                    "TF300", msg, evidence=evidence, subject=subject,
                    confidence=risk.confidence,
                    commands=[*_ip_lso_commands(net, False), *fix_conf],
                ))
            elif not scripts.known:
                skipped.append(Skipped("TF301", "ip_lso_outbound is 0 now, but whether that "
                                       f"survives a reboot is unknown: {scripts.reason}"))
            elif persist_value != 0:
                where = (f"the boot configuration sets it to {persist_value}"
                         if persist_value is not None else
                         "neither the conf (EnableLSO=0) nor a boot script or SMF method "
                         "(ndd -set /dev/ip ip_lso_outbound 0) makes that persistent")
                confidence = risk.confidence
                if net.minor == 11 and persist_value is None:
                    # `ipadm set-prop` run by hand persists in the ipadm store, which the
                    # facts do not show: only boot scripts were seen.
                    where += (" (unless it was set with `ipadm set-prop -p _lso_outbound=0 ip`,"
                              " whose persistent store is not captured)")
                    confidence = "medium" if confidence == "high" else "low"
                msg = (f"{who}: LSO is off only until the next reboot: ip_lso_outbound is 0 now "
                       f"but {where}{unlinked_note}; {lso_note}; {risk.why}")
                findings.append(finding(
                    "TF301", msg, evidence=evidence, subject=subject,
                    confidence=confidence,
                    commands=[*_ip_lso_commands(net, True), *fix_conf],
                ))
            continue
        # No runtime value (image root, or not captured): decide from the persistent config.
        if persist_value == 0:
            continue
        if persist_ev is not None:
            evidence.insert(1, persist_ev)
        evidence.insert(1, Evidence(command="ndd -get /dev/ip ip_lso_outbound",
                                    detail=runtime.reason or "runtime value not available"))
        confidence = risk.confidence
        if not scripts.known:
            persisted = f"boot scripts could not be scanned ({scripts.reason})"
            confidence = "low"
        elif persist_value is None:
            persisted = "no boot script or SMF method sets ip_lso_outbound to 0" + unlinked_note
        else:
            persisted = f"the boot configuration sets ip_lso_outbound to {persist_value}"
        msg = (f"{who}: LSO is on at boot, decided from the persistent configuration (the "
               f"runtime ip_lso_outbound is not available: {runtime.reason}): {lso_note} and "
               f"{persisted}; {risk.why}")
        findings.append(finding(
            "TF300", msg, evidence=evidence, subject=subject, confidence=confidence,
            commands=[*_ip_lso_commands(net, False), *fix_conf],
        ))
    return findings, skipped


# --------------------------------------------------------------------------- jumbo frames


def _rc_order(path: str) -> Optional[tuple[int, str]]:
    directory, name = posixpath.split(path)
    if directory in RC_DIRS:
        return RC_DIRS.index(directory), name
    return None


def _runs_before(first: p.PersistentSetting, second: p.PersistentSetting) -> Optional[bool]:
    """Does ``first`` run before ``second`` at boot? None when the order cannot be told
    (an SMF method against an rc script: SMF dependencies decide)."""
    if first.path == second.path:
        return first.line < second.line
    a, b = _rc_order(first.path), _rc_order(second.path)
    if a is None or b is None:
        return None
    return a < b


def _accept_jumbo_problems(
    net: _Net, inst: int
) -> tuple[list[str], list[Evidence], list[str]]:
    """What is missing for a persistent jumbo MTU on a Solaris 10 build: (problems, evidence,
    commands)."""
    problems: list[str] = []
    evidence: list[Evidence] = []
    dev = f"vmxnet3s{inst}"
    accept = net.accept_jumbo(inst)
    mtu_scripts = [(s, v) for s, v in net.mtu_settings(inst)
                   if v > STANDARD_MTU and s.tool == "ifconfig"]
    evidence += [_setting_evidence(s) for s in accept]
    boot_cmds: list[str] = []
    if not accept:
        unlinked = net.unlinked_evidence(
            lambda s: s.tool == "ndd" and s.target == f"/dev/{dev}"
            and _prop_value(s, "accept-jumbo") == "1"
        )
        evidence += unlinked
        note = (f"; {unlinked[0].path}:{unlinked[0].line} has it but is not linked from an rc "
                "directory, so it never runs" if unlinked else "")
        problems.append(f"no boot script or SMF method runs `ndd -set /dev/{dev} accept-jumbo 1`"
                        " (there is no ndd -get for it: only boot scripts show it is done)"
                        + note)
        if mtu_scripts:
            s = mtu_scripts[0][0]
            boot_cmds.append(
                f"# MANUAL: in {s.path}, add `/usr/sbin/ndd -set /dev/{dev} accept-jumbo 1` "
                f"before line {s.line} (`{s.text}`)"
            )
    else:
        for s, _v in mtu_scripts:
            order = [_runs_before(a, s) for a in accept]
            if any(o is True for o in order):
                continue
            if all(o is False for o in order):
                problems.append(f"`ndd -set /dev/{dev} accept-jumbo 1` runs after the MTU is "
                                f"set at {s.path}:{s.line}, so the MTU is refused")
                boot_cmds.append(
                    f"# MANUAL: move `ndd -set /dev/{dev} accept-jumbo 1` "
                    f"({accept[0].path}:{accept[0].line}) before {s.path}:{s.line} (`{s.text}`)"
                )
    cv = net.conf.value_for("MTU", inst)
    if not (cv.from_conf and cv.value is not None and cv.value > STANDARD_MTU):
        if isinstance(cv.configured, int) and not cv.valid:
            problems.append(f"MTU={cv.configured} for instance {inst} in {CONF_PATH} is invalid "
                            f"({cv.reason})")
        else:
            problems.append(f"no MTU above {STANDARD_MTU} for instance {inst} in {CONF_PATH}, "
                            "so the jumbo MTU does not persist")
        evidence.append(net.conf_evidence("MTU", inst))
    return problems, evidence, boot_cmds


def _check_jumbo_build(
    net: _Net, drivers: Sequence[_Driver]
) -> tuple[list[Finding], list[Skipped]]:
    """TF310/TF311/TF312: does the installed build let the wanted MTU work and persist?"""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    families = [d for d in drivers if d.family]
    if not families:
        reason = "the installed vmxnet3s build (the OS it was built for) is not identified"
        return [], [Skipped(c, reason) for c in ("TF310", "TF311", "TF312")]
    # A Solaris 10 build anywhere among the active ones decides (it is the restrictive case).
    drv = next((d for d in families if d.family == "10"), families[0])
    family = drv.family
    assert family is not None
    facts = net.facts
    if net.minor is None:
        skipped.append(Skipped("TF310", "the guest's Solaris release is not known: "
                               f"{facts.uname_r.reason or facts.release.reason}"))

    if family == "10" and net.minor == 11:
        wanted = [w for i in net.instances for w in net.jumbo_wanted(i, conf_counts=True)]
        rel_ev = facts.uname_r.evidence()
        top = max((w.value for w in wanted), default=None)
        if top is not None:
            msg = (f"{drv.describe()} is a Solaris 10 build on a Solaris 11 guest: a jumbo MTU "
                   f"({top}) is configured, but jumbo frames cannot work with this build (the "
                   "commands appear to succeed); install the Solaris 11 build first")
            severity = None
        else:
            msg = (f"{drv.describe()} is a Solaris 10 build on a Solaris 11 guest: no jumbo MTU"
                   " is configured now, but jumbo frames cannot work with this build; install "
                   "the Solaris 11 build first")
            severity = Severity.LOW
        findings.append(finding(
            "TF310", msg, evidence=[*drv.evidence, *rel_ev, *(w.evidence for w in wanted)],
            subject=drv.path or "vmxnet3s", severity=severity,
            commands=[
                "# MANUAL: install the Solaris 11 vmxnet3s build: `toolsfix patch` the "
                "configurator and re-run vmware-config-tools.pl (see TF200), then reboot",
                "# MANUAL: then set the MTU with `dladm set-linkprop -p mtu=9000 <link>` "
                "(MTU= in vmxnet3s.conf is ignored by Solaris 11 builds)",
            ],
        ))
        return findings, skipped

    if family in ACCEPT_JUMBO_FAMILIES:
        jumbo: dict[int, tuple[int, list[_Mtu]]] = {}
        for inst in net.instances:
            wanted = net.jumbo_wanted(inst, conf_counts=True)
            if wanted:
                jumbo[inst] = (min(max(w.value for w in wanted), MAX_MTU), wanted)
        conf_fix_values = {i: m for i, (m, _w) in jumbo.items()}
        if jumbo and not facts.persistent_settings.known:
            skipped.append(Skipped("TF311", "a jumbo MTU is wanted, but boot scripts could not "
                                   "be scanned for accept-jumbo: "
                                   f"{facts.persistent_settings.reason}"))
            return findings, skipped
        for inst, (mtu, wanted) in sorted(jumbo.items()):
            problems, evidence, boot_cmds = _accept_jumbo_problems(net, inst)
            if not problems:
                continue
            dev = f"vmxnet3s{inst}"
            cmds = [f"ndd -set /dev/{dev} accept-jumbo 1", f"ifconfig {dev} mtu {mtu}"]
            cv = net.conf.value_for("MTU", inst)
            if not (cv.from_conf and cv.value is not None and cv.value > STANDARD_MTU):
                cmds += net.conf_list_fix("MTU", conf_fix_values)
            if not net.accept_jumbo(inst) and not boot_cmds:
                script = f"/etc/rc2.d/S99toolsfix-jumbo-{dev}"
                cmds += [
                    f"printf '%s\\n' '#!/sbin/sh' '/usr/sbin/ndd -set /dev/{dev} accept-jumbo 1'"
                    f" '/usr/sbin/ifconfig {dev} mtu {mtu}' > {script}",
                    f"chmod 744 {script}",
                ]
            cmds += boot_cmds
            asked = ", ".join(sorted({f"{w.value} ({w.source})" for w in wanted}))
            msg = (f"{dev}: a jumbo MTU is wanted ({asked}) on {drv.describe()}, a "
                   f"Solaris {family} build that refuses MTUs above {STANDARD_MTU} until "
                   f"accept-jumbo is enabled: " + "; ".join(problems))
            findings.append(finding(
                "TF311", msg,
                evidence=[*(w.evidence for w in wanted), *evidence, *drv.evidence],
                subject=dev, instance=inst, mtu=mtu, commands=cmds,
            ))
        return findings, skipped

    if family == "11":
        for inst in net.instances:
            cv = net.conf.value_for("MTU", inst)
            if not (isinstance(cv.configured, int) and cv.configured > STANDARD_MTU):
                continue
            link = net.link(inst)
            active = net.link_mtu(inst)
            persisted = [
                (s, v) for s, v in net.mtu_settings(inst)
                if s.tool == "dladm" and v == cv.configured
            ]
            if persisted or (active is not None and active.value == cv.configured):
                continue  # the MTU comes from elsewhere: the conf line is not relied on
            mtu = min(cv.configured, MAX_MTU)
            evidence = [net.conf_evidence("MTU", inst), *drv.evidence]
            state = (f"the link MTU is {active.value}" if active is not None
                     else "no dladm setting delivers it")
            if active is not None:
                evidence.insert(1, active.evidence)
            conf_prop = net.conf.get("MTU")
            msg = (f"vmxnet3s{inst}: MTU={cv.configured} in {CONF_PATH} is relied on, but "
                   f"{drv.describe()} is a Solaris 11 build, which ignores MTU=; {state}")
            findings.append(finding(
                "TF312", msg, evidence=evidence, subject=f"vmxnet3s{inst}",
                instance=inst, link=link, interface=link, mtu=mtu,
                commands=[
                    f"# dladm refuses to change the MTU of a busy link: from the console, "
                    f"`ipadm disable-if -t {link}` first and `ipadm enable-if -t {link}` after",
                    f"dladm set-linkprop -p mtu={mtu} {link}",
                    f"ipadm set-ifprop -p mtu={mtu} -m ipv4 {link}",
                    f"# MANUAL: remove the MTU= entry from {CONF_PATH}"
                    + (f" line {conf_prop.line}" if conf_prop else "")
                    + " (ignored by this build)",
                ],
            ))
        return findings, skipped

    skipped.append(Skipped("TF311", f"no jumbo-frame rules for build family {family}",
                           "not-applicable"))
    return findings, skipped


def _check_mtu_consistency(
    net: _Net, drivers: Sequence[_Driver]
) -> tuple[list[Finding], list[Skipped]]:
    """TF313 (configured vs active) and TF314 (IP MTU vs link MTU)."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    facts = net.facts
    families = {d.family for d in drivers if d.family}
    conf_counts = bool(families & set(ACCEPT_JUMBO_FAMILIES))
    runtime_reason = next(
        (f.reason for f in (facts.link_mtu, facts.dladm_links, facts.ipadm_if_mtu, facts.ifconfig)
         if not f.available and f.reason),
        "no runtime MTU available",
    )
    any_active = False
    any_pair = False
    for inst in net.instances:
        dev = f"vmxnet3s{inst}"
        link_now, ip_now = net.link_mtu(inst), net.ip_mtu(inst)
        if link_now is not None or ip_now is not None:
            any_active = True
        configured: list[tuple[_Mtu, str]] = []  # (value, level: link or ip)
        if conf_counts:
            cv = net.conf.value_for("MTU", inst)
            if cv.from_conf and cv.value is not None:
                configured.append((_Mtu(cv.value, net.conf_evidence("MTU", inst), "conf"),
                                   "link"))
        for s, value in net.mtu_settings(inst):
            level = "link" if s.tool == "dladm" else "ip"
            configured.append((_Mtu(value, _setting_evidence(s), "script"), level))
        ipadm_persist = net.ip_mtu_persistent(inst)
        if ipadm_persist is not None:
            configured.append((ipadm_persist, "ip"))
        mismatches: list[str] = []
        evidence: list[Evidence] = []
        for want, level in configured:
            # Solaris 10 has no separate link MTU view: ifconfig's MTU is the one in effect.
            active = (link_now or ip_now) if level == "link" else (ip_now or link_now)
            if active is None or active.value == want.value:
                continue
            mismatches.append(f"configured {want.value} ({want.source}) but {active.value} "
                              f"is active")
            evidence += [want.evidence, active.evidence]
        if mismatches:
            configured_values = sorted({w.value for w, _l in configured})
            target = configured_values[-1]
            link = net.link(inst)
            msg = f"{dev}: " + "; ".join(mismatches)
            findings.append(finding(
                "TF313", msg, evidence=list(dict.fromkeys(evidence)), subject=dev,
                configured=", ".join(str(v) for v in configured_values),
                commands=[
                    f"# MANUAL: decide which MTU is right for {link}: either apply the "
                    f"configured one ({target}) to the running link "
                    + ("(`ndd -set /dev/" + dev + " accept-jumbo 1`, then `ifconfig "
                       + dev + f" mtu {target}`)" if conf_counts
                       else f"(`dladm set-linkprop -p mtu={target} {link}`, then `ipadm "
                       f"set-ifprop -p mtu={target} -m ipv4 {link}`)")
                    + ", or correct the configuration",
                ],
            ))
        # TF314: only where a separate link MTU is visible (dladm on Solaris 11 / illumos).
        if link_now is not None and ip_now is not None:
            any_pair = True
            if link_now.value != ip_now.value:
                link = net.link(inst)
                cmds = (
                    [f"ipadm set-ifprop -p mtu={link_now.value} -m ipv4 {link}"]
                    if ip_now.value < link_now.value else
                    [f"# MANUAL: the IP MTU ({ip_now.value}) exceeds the link MTU "
                     f"({link_now.value}) of {link}; set the link MTU first"]
                )
                msg = (f"{dev}: IP MTU {ip_now.value} and link MTU {link_now.value} of "
                       f"{link} differ" + (
                           "; frames above the IP MTU are never sent, so the jumbo link "
                           "MTU is not used" if ip_now.value < link_now.value else ""))
                findings.append(finding(
                    "TF314", msg, evidence=[ip_now.evidence, link_now.evidence], subject=dev,
                    mtu=link_now.value, interface=link, commands=cmds,
                ))
    if not any_active:
        skipped.append(Skipped("TF313", f"the active MTU is a runtime fact: {runtime_reason}"))
    if not any_pair and net.minor == 10:
        skipped.append(Skipped("TF314", "Solaris 10 has no separate link MTU (no dladm link "
                               "properties): ifconfig's MTU is the only one", "not-applicable"))
    elif not any_pair:
        skipped.append(Skipped(
            "TF314", "IP MTU and link MTU are not both available (dladm show-linkprop or "
            f"show-link, and ipadm show-ifprop or ifconfig): {runtime_reason}"))
    return findings, skipped


# --------------------------------------------------------------------------- TCP buffers


def _check_tcp_buffers(net: _Net) -> tuple[list[Finding], list[Skipped]]:
    fact = net.facts.ipadm_tcp
    if not fact.known:
        return [], [Skipped(BUFFER_CHECK, f"ipadm tcp properties not available: {fact.reason}")]
    rows = {r.name: r for r in fact.value or () if r.proto in (None, "tcp")}
    seen = [name for name, _t in TCP_BUFFER_TARGETS if name in rows]
    if not seen:
        return [], [Skipped(BUFFER_CHECK, "`ipadm show-prop tcp` lists none of "
                            + ", ".join(n for n, _t in TCP_BUFFER_TARGETS))]
    low: list[str] = []
    evidence: list[Evidence] = []
    cmds: list[str] = []
    for name, target in TCP_BUFFER_TARGETS:
        row = rows.get(name)
        if row is None or row.int_current is None or row.int_current >= target:
            continue
        low.append(f"{name} {row.int_current} < {target}")
        evidence.append(fact.evidence_at(row.line, row.raw))
        cmds.append(f"ipadm set-prop -p {name}={target} tcp")
    if not low:
        return [], []
    msg = ("TCP buffers below the field-tested values for 10 Gb/s between VMs: "
           + ", ".join(low))
    return [finding(BUFFER_CHECK, msg, evidence=evidence, subject="tcp", commands=cmds)], []


# --------------------------------------------------------------------------- entry point


def _vmxnet3s_seen(facts: GuestFacts) -> bool:
    return (
        facts.module("vmxnet3s") is not None
        or bool(facts.vmxnet3s_instances())
        or facts.driver_conf.known
    )


def check_solaris_network(
    facts: GuestFacts, drivers: Sequence[InstalledDriver]
) -> tuple[list[Finding], list[Skipped]]:
    """LSO, jumbo-frame and TCP-buffer readiness of a Solaris guest with vmxnet3s.

    ``drivers`` are the identified vmxnet3s files (both locations may be given; the one the
    running kernel loads is chosen by its bitness). Facts that are not available give a
    ``Skipped`` (not-evaluated) with the reason; a guest without vmxnet3s, or not Solaris,
    gives not-applicable.
    """
    kind = facts.os_kind
    if kind.known and kind.value != "solaris":
        reason = f"not a Solaris guest ({kind.value})"
        return [], [Skipped(c, reason, "not-applicable") for c in ALL_CHECKS]
    active = _active_drivers(facts, drivers)
    if not active and not _vmxnet3s_seen(facts):
        reason = "no vmxnet3s driver installed, loaded or configured"
        return [], [Skipped(c, reason, "not-applicable") for c in ALL_CHECKS]
    net = _Net(facts)
    views = [_driver_of(d) for d in active]
    if not views:
        from_modinfo = _driver_from_modinfo(facts)
        if from_modinfo is not None:
            views.append(from_modinfo)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    if views:
        for part in (_check_lso(net, views), _check_jumbo_build(net, views)):
            findings += part[0]
            skipped += part[1]
    else:
        reason = "no installed or loaded vmxnet3s build could be examined"
        skipped += [Skipped(c, reason) for c in (*LSO_CHECKS, "TF310", "TF311", "TF312")]
    for part in (_check_mtu_consistency(net, views), _check_tcp_buffers(net)):
        findings += part[0]
        skipped += part[1]
    return findings, _dedupe_skips(skipped)
