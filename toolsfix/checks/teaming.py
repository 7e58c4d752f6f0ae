"""ESXi standard vSwitch NIC teaming against the physical switch's link aggregation.

The two ends of a team must agree, and nothing checks that they do: ESXi accepts any policy,
the switch accepts any channel, and the mismatch shows up later as MAC flapping, drops for some
flows, or ports that never bundle. The rules (category ``esxi-teaming``):

* TF420: "Route based on IP hash" against a *dynamic* channel (LACP ``mode active|passive``,
  PAgP, ProCurve ``LACP``/``FEC``). A standard vSwitch never negotiates, so the channel does
  not form and the ports are suspended or run unbundled under a policy that needs a bundle.
* TF421: IP hash with two or more active uplinks whose switch ports are not all in one
  channel. The host spreads one VM's flows over several uplinks; an unbundled switch sees the
  VM's MAC move between ports (flapping) and sends return traffic down one of them.
* TF422: IP hash with standby or unused uplinks. The switch hashes return traffic onto every
  channel member; what reaches a standby/unused uplink is dropped by the host.
* TF423: IP hash with beacon probing. Beacons sent into a channel are not returned the way
  probing expects, so healthy uplinks are declared failed: unsupported.
* TF424: a policy other than IP hash (originating port ID, source MAC hash, explicit failover)
  on uplinks whose switch ports are bundled: the switch hashes a VM's return traffic onto
  members the host does not expect it on.

TF420, TF421 and TF424 need the switch side. Without ``--switch-config`` they are
``not-evaluated``, never passed. ``esxcli`` does not say which switch port a vmnic is cabled
to, so placement comes from ``--uplink vmnicN=[SWITCH:]PORT``; without it, toolsfix assumes
only what the configuration leaves no doubt about (no channel at all: the uplinks are
unbundled; exactly one channel and one vSwitch: the uplinks are that channel's members) and
says so in the finding. Several channels, or several vSwitches sharing one channel, leave the
rules not-evaluated with a reason that asks for ``--uplink``.

Portgroups print their effective policy plus ``Override Vswitch ...`` flags. A rule whose
fields a portgroup only inherits is its vSwitch's finding (reported once, on the vSwitch,
when the vSwitch listing is given); a portgroup that overrides a field gets its own finding
and its own ``portgroup policy failover set -p`` remedy.

Placement (``--uplink``, the assumptions, portgroup-to-vSwitch ties) lives in
:mod:`toolsfix.checks.teaming_uplinks`; this module holds the rules and their remedies.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from toolsfix.catalog import finding
from toolsfix.checks.teaming_uplinks import (  # parse_uplink_option re-exported from here
    _are,
    _assumption_lines,
    _Location,
    _names,
    _Placement,
    _placement_facts,
    _placements,
    _resolve_parents,
    _usage,
    parse_uplink_option,
)
from toolsfix.findings import Evidence, Finding, Severity, Skipped
from toolsfix.guest.esxi_teaming import (
    FAILOVER_COMMAND,
    LB_DESCRIPTIONS,
    FailoverPolicy,
    PortgroupRow,
)
from toolsfix.guest.switchconf import PROCURVE, Channel, SwitchConfig

__all__ = ["TEAMING_CHECKS", "TeamingResult", "check_teaming", "parse_uplink_option"]

IPHASH_DYNAMIC = "TF420"
IPHASH_UNBUNDLED = "TF421"
IPHASH_STANDBY = "TF422"
IPHASH_BEACON = "TF423"
CHANNEL_NOT_IPHASH = "TF424"
TEAMING_CHECKS: tuple[str, ...] = (
    IPHASH_DYNAMIC,
    IPHASH_UNBUNDLED,
    IPHASH_STANDBY,
    IPHASH_BEACON,
    CHANNEL_NOT_IPHASH,
)
# The policy fields each rule reads: a portgroup that inherits all of them shares the
# vSwitch's outcome.
_RULE_FIELDS: Mapping[str, tuple[str, ...]] = {
    IPHASH_DYNAMIC: ("load_balancing", "uplinks"),
    IPHASH_UNBUNDLED: ("load_balancing", "uplinks"),
    IPHASH_STANDBY: ("load_balancing", "uplinks"),
    IPHASH_BEACON: ("load_balancing", "failure_detection"),
    CHANNEL_NOT_IPHASH: ("load_balancing", "uplinks"),
}
_FIELD_NAMES: Mapping[str, str] = {
    "load_balancing": "load balancing",
    "failure_detection": "failure detection",
    "uplinks": "failover order",
}
_SET_VSWITCH = "esxcli network vswitch standard policy failover set"
_SET_PORTGROUP = "esxcli network vswitch standard portgroup policy failover set"
_HOST_NOTE = "# run the esxcli command on the ESXi host (not in a guest)"


@dataclass(frozen=True)
class TeamingResult:
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    facts: Mapping[str, object] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()  # placement assumptions, one line each


def _set_command(p: FailoverPolicy) -> str:
    if p.scope == "vswitch":
        return f"{_SET_VSWITCH} -v {shlex.quote(p.name or 'VSWITCH')}"
    return f"{_SET_PORTGROUP} -p {shlex.quote(p.name or 'PORTGROUP')}"


def _name_notes(p: FailoverPolicy) -> list[str]:
    if p.name:
        return []
    what = "vSwitch" if p.scope == "vswitch" else "portgroup"
    return [f"# the listing does not name this {what}: replace {what.upper()} with its name"]


def _inherited_note(p: FailoverPolicy, fields: Sequence[str]) -> tuple[str, list[str]]:
    """(" (load balancing inherited from vSwitch1)" for the message, a remedy note) for the
    ``fields`` a portgroup does not set itself; empty for a vSwitch."""
    if p.scope != "portgroup":
        return "", []
    inherited = [_FIELD_NAMES[f] for f in fields if p.own(f) is False]
    if not inherited:
        return "", []
    parent = p.vswitch or "its vSwitch"
    text = " and ".join(inherited)
    if len(inherited) < len(fields):
        return f" ({text} inherited from {parent})", []  # the override is what to fix
    return (
        f" ({text} inherited from {parent})",
        [
            f"# or change {text} on {parent}, which {p.label} inherits (that changes every "
            "portgroup that does not override it)"
        ],
    )


def _switch_notes(ch: Channel, mode_to: str) -> list[str]:
    """MANUAL switch-side steps that make ``ch`` static (``mode_to`` == "static") or remove
    it (``"none"``)."""
    members = ch.members
    if ch.kind == PROCURVE:
        ports = ",".join(members)
        if mode_to == "static":
            return [
                f"# MANUAL: on switch {ch.switch} (configuration mode): no trunk {ports}; "
                f"trunk {ports} {ch.name.lower()} trunk"
            ]
        return [f"# MANUAL: on switch {ch.switch} (configuration mode): no trunk {ports}"]
    group = "".join(c for c in ch.name if c.isdigit()) or "N"
    out = []
    for m in members:
        if mode_to == "static":
            out.append(
                f"# MANUAL: on switch {ch.switch} (configuration mode): interface {m}; "
                f"no channel-group {group}; channel-group {group} mode on"
            )
        else:
            out.append(
                f"# MANUAL: on switch {ch.switch} (configuration mode): interface {m}; "
                f"no channel-group {group}"
            )
    return out


def _placement_evidence(pl: _Placement, vmnics: Sequence[str]) -> list[Evidence]:
    if pl.assumption:
        return [Evidence(detail="assumed: " + pl.assumption)]
    out = []
    for v in vmnics:
        loc = pl.locations.get(v)
        if loc is not None and loc.switch is not None and loc.port is not None:
            line = loc.switch.ports.get(loc.port)
            where = "in " + loc.channel.name if loc.channel else "in no channel"
            out.append(
                Evidence(
                    path=loc.switch.source,
                    line=line,
                    excerpt=f"{loc.port} ({where})",
                    detail=loc.how,
                )
            )
    return out


def _channel_evidence(pl: _Placement, channels: Sequence[Channel]) -> list[Evidence]:
    out = []
    for ch in channels:
        members = [
            loc.port for loc in pl.locations.values() if loc.channel is ch and loc.port is not None
        ]
        for m in members or [ch.members[0]]:
            out.append(ch.evidence(m))
    return out


def _unique_channels(locs: Iterable[_Location]) -> list[Channel]:
    out: list[Channel] = []
    for loc in locs:
        if loc.channel is not None and all(loc.channel is not c for c in out):
            out.append(loc.channel)
    return out


class _Rules:
    """Evaluates the rules policy by policy; collects findings, skips and what was applied."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.skipped: list[Skipped] = []
        self.applied: set[str] = set()

    def skip(self, check: str, reason: str, outcome: str = "not-evaluated") -> None:
        self.applied.add(check)
        self.skipped.append(Skipped(check, reason, outcome))

    def add(self, f: Finding) -> None:
        self.applied.add(f.id)
        self.findings.append(f)

    def iphash(self, p: FailoverPolicy, pl: _Placement, checks: set[str]) -> None:
        """TF420-TF423 for a policy that routes based on IP hash."""
        if IPHASH_STANDBY in checks:
            self.applied.add(IPHASH_STANDBY)
            self._standby(p)
        if IPHASH_BEACON in checks:
            self.applied.add(IPHASH_BEACON)
            self._beacon(p)
        wanted = checks & {IPHASH_DYNAMIC, IPHASH_UNBUNDLED}
        if not wanted:
            return
        if pl.unknown or not p.active:
            why = pl.unknown or "it lists no active adapters"
            for check in sorted(wanted):
                self.skip(check, f"{p.label} uses IP hash; {why}")
            return
        self.applied |= wanted
        locs = [pl.locations[v] for v in p.active]
        if not self._dynamic(p, pl, locs) and len(p.active) >= 2:
            self._unbundled(p, pl, locs)

    def _standby(self, p: FailoverPolicy) -> None:
        extra = [(k, v) for k, v in (("standby", p.standby), ("unused", p.unused)) if v]
        if not extra:
            return
        inh, note = _inherited_note(p, ("load_balancing", "uplinks"))
        what = " and ".join(f"{_are(v)} {k}" for k, v in extra)
        unused_notes = [
            f"# {v} is unused: make it active only if its switch port is in the channel; "
            "otherwise remove it from the team"
            for v in p.unused
        ]
        every = ",".join(p.active + p.standby + p.unused)
        self.add(
            finding(
                IPHASH_STANDBY,
                f"{p.label} uses IP hash{inh} but {what}: the switch hashes return "
                "traffic onto every channel member, and what arrives on a non-active uplink "
                "is dropped",
                evidence=[p.evidence("load_balancing"), *(p.evidence(k) for k, _ in extra)],
                subject=p.label,
                set_command=_set_command(p),
                uplinks=every,
                commands=[
                    f"{_set_command(p)} -a {every}",
                    *unused_notes,
                    *_name_notes(p),
                    *note,
                    _HOST_NOTE,
                ],
            )
        )

    def _beacon(self, p: FailoverPolicy) -> None:
        if p.failure_detection != "beacon":
            return
        inh, note = _inherited_note(p, ("load_balancing", "failure_detection"))
        self.add(
            finding(
                IPHASH_BEACON,
                f"{p.label} uses IP hash with beacon probing{inh}: unsupported; beacons sent "
                "into the channel do not come back the way probing expects, so healthy "
                "uplinks are declared failed",
                evidence=[p.evidence("load_balancing"), p.evidence("failure_detection")],
                subject=p.label,
                set_command=_set_command(p),
                commands=[f"{_set_command(p)} -f link", *_name_notes(p), *note, _HOST_NOTE],
            )
        )

    def _dynamic(self, p: FailoverPolicy, pl: _Placement, locs: Sequence[_Location]) -> bool:
        """TF420; True when it fired (then TF421 adds nothing: the fix is the same channel)."""
        dynamic = [loc for loc in locs if loc.channel is not None and not loc.channel.static]
        if not dynamic:
            return False
        inh, _ = _inherited_note(p, ("load_balancing", "uplinks"))
        chans = _unique_channels(dynamic)
        vmnics = [loc.vmnic for loc in dynamic]
        assumed = f"; assumed: {pl.assumption}" if pl.assumption else ""
        self.add(
            finding(
                IPHASH_DYNAMIC,
                f"{p.label} uses IP hash{inh} but {_are(vmnics)} in a dynamic channel "
                f"({'; '.join(c.describe() for c in chans)}): a standard vSwitch does not "
                f"negotiate LACP/PAgP, so the channel does not form{assumed}",
                evidence=[
                    p.evidence("load_balancing"),
                    *_channel_evidence(pl, chans),
                    *_placement_evidence(pl, vmnics),
                ],
                subject=p.label,
                confidence="medium" if pl.assumption else None,
                channel=chans[0].name,
                switch=chans[0].switch,
                commands=[
                    *(n for c in chans for n in _switch_notes(c, "static")),
                    f"# or remove the channel on the switch and run `{_set_command(p)} -l portid`"
                    " on the ESXi host",
                    *_name_notes(p),
                ],
            )
        )
        return True

    def _unbundled(self, p: FailoverPolicy, pl: _Placement, locs: Sequence[_Location]) -> None:
        """TF421: two or more active uplinks not all in one (static) channel."""
        chans = _unique_channels(locs)
        loose = [loc.vmnic for loc in locs if loc.channel is None]
        if not loose and len(chans) == 1:
            return
        if loose:
            why = f"{_are(loose)} on unbundled ports"
        else:
            why = "its active uplinks are split over " + ", ".join(c.name for c in chans)
        inh, _ = _inherited_note(p, ("load_balancing", "uplinks"))
        _, lb_note = _inherited_note(p, ("load_balancing",))
        assumed = f"; assumed: {pl.assumption}" if pl.assumption else ""
        ports = [loc for loc in locs if loc.channel is None and loc.port is not None]
        self.add(
            finding(
                IPHASH_UNBUNDLED,
                f"{p.label} uses IP hash{inh} with {len(p.active)} active uplinks but {why}: "
                "the switch sees the same MAC on several ports (MAC flapping) and return "
                f"traffic takes one of them{assumed}",
                evidence=[
                    p.evidence("load_balancing"),
                    *_channel_evidence(pl, chans),
                    *_placement_evidence(pl, p.active),
                ],
                subject=p.label,
                confidence="medium" if pl.assumption else None,
                set_command=_set_command(p),
                commands=[
                    f"{_set_command(p)} -l portid",
                    *_name_notes(p),
                    *lb_note,
                    _HOST_NOTE,
                    *_bundle_hint(ports),
                ],
            )
        )

    def not_iphash(self, p: FailoverPolicy, pl: _Placement) -> None:
        """TF424: port ID, MAC hash or explicit failover on bundled ports."""
        lb = p.load_balancing or ""
        if pl.unknown:
            self.skip(CHANNEL_NOT_IPHASH, f"{p.label} uses {lb}; {pl.unknown}")
            return
        self.applied.add(CHANNEL_NOT_IPHASH)
        bundled = [pl.locations[v] for v in p.team if pl.locations[v].channel is not None]
        if not bundled:
            return
        chans = _unique_channels(bundled)
        static = [c for c in chans if c.static]
        inh, note = _inherited_note(p, ("load_balancing", "uplinks"))
        set_cmd = _set_command(p)
        severity: Optional[Severity] = None
        if static:
            consequence = (
                "the switch hashes each VM's return traffic onto any member, so the host "
                "drops it or the VM's MAC flaps between ports"
            )
            commands = [f"{set_cmd} -l iphash"]
            if p.standby or p.unused or p.failure_detection == "beacon":
                every = ",".join(p.active + p.standby + p.unused)
                commands.append(
                    "# IP hash also needs every uplink active and link-status detection: "
                    f"{set_cmd} -a {every} -f link"
                )
            commands += [
                *_name_notes(p),
                *note,
                _HOST_NOTE,
                "# or remove the ports from the channel on the switch:",
                *(n for c in static for n in _switch_notes(c, "none")),
            ]
        else:
            consequence = (
                "the ports never see LACP/PAgP from the host, so depending on the switch they "
                "are suspended or run unbundled"
            )
            commands = [*(n for c in chans for n in _switch_notes(c, "none")), *_name_notes(p)]
            severity = Severity.MEDIUM
        desc = "; ".join(c.describe() for c in chans)
        vmnics = [loc.vmnic for loc in bundled]
        assumed = f"; assumed: {pl.assumption}" if pl.assumption else ""
        self.add(
            finding(
                CHANNEL_NOT_IPHASH,
                f"{p.label} uses {LB_DESCRIPTIONS.get(lb, lb)} ({lb}){inh} but "
                f"{_are(vmnics)} in {desc}: {consequence}{assumed}",
                evidence=[
                    p.evidence("load_balancing"),
                    *_channel_evidence(pl, chans),
                    *_placement_evidence(pl, vmnics),
                ],
                subject=p.label,
                confidence="medium" if pl.assumption else None,
                severity=severity,
                set_command=set_cmd,
                commands=commands,
            )
        )


def _bundle_hint(ports: Sequence[_Location]) -> list[str]:
    """The switch-side alternative to ``-l portid`` for TF421: bundle the ports statically."""
    if not ports:
        return [
            "# or bundle the uplinks' switch ports in a static channel: Cisco IOS "
            "`channel-group N mode on`, HP ProCurve `trunk <ports> TrkN trunk`"
        ]
    sw = ports[0].switch
    assert sw is not None
    if sw.kind == PROCURVE:
        plist = ",".join(loc.port or "" for loc in ports)
        return [
            f"# MANUAL: or, on switch {sw.label} (configuration mode): trunk {plist} trkN "
            "trunk (N = a free trunk number)"
        ]
    return [
        f"# MANUAL: or, on switch {sw.label} (configuration mode): interface {loc.port}; "
        "channel-group N mode on (N = one free channel number for all of them)"
        for loc in ports
    ]


def check_teaming(
    policies: Sequence[FailoverPolicy],
    switches: Sequence[SwitchConfig] = (),
    uplinks: Optional[Mapping[str, str]] = None,
    rows: Sequence[PortgroupRow] = (),
) -> TeamingResult:
    """Run TF420-TF424 over every vSwitch and portgroup policy given.

    ``uplinks`` maps vmnic -> ``[SWITCH:]PORT`` (``--uplink``); ``rows`` are portgroup list
    rows that tie portgroups to vSwitches. Raises a usage error (exit 2) for an ``--uplink``
    that names no listed adapter or no port of the switch configs."""
    uplinks = dict(uplinks or {})
    if uplinks and not switches:
        raise _usage("--uplink maps vmnics to switch ports: give --switch-config too")
    rules = _Rules()
    if not policies:
        reason = f"no `{FAILOVER_COMMAND}` output in --esxi-settings"
        for check in TEAMING_CHECKS:
            rules.skip(check, reason)
        return TeamingResult((), tuple(rules.skipped), {"policies": []})
    pols = _resolve_parents(policies, rows)
    known = {v for p in pols for v in p.active + p.standby + p.unused}
    stray = sorted(set(uplinks) - known)
    if stray:
        raise _usage(
            f"--uplink {', '.join(stray)}: not an adapter of any vSwitch or portgroup "
            f"listed (have: {_names(sorted(known))})"
        )
    placements = _placements(pols, switches, uplinks)
    parents = {p.name: p for p in pols if p.scope == "vswitch" and p.name}
    covered: dict[str, list[str]] = {}
    for i, p in enumerate(pols):
        if p.load_balancing is None:
            shown = repr(p.load_balancing_raw) if p.load_balancing_raw else "missing"
            for check in TEAMING_CHECKS:
                rules.skip(
                    check,
                    f"{p.label}: Load Balancing is {shown}, not one of "
                    "srcport, iphash, mac, explicit",
                )
            continue
        checks = set(TEAMING_CHECKS)
        parent = parents.get(p.vswitch or "") if p.scope == "portgroup" else None
        if parent is not None:
            # Rules whose fields the portgroup only inherits are the vSwitch's outcome.
            for check in TEAMING_CHECKS:
                if all(p.own(f) is False for f in _RULE_FIELDS[check]):
                    checks.discard(check)
                    covered.setdefault(p.label, []).append(check)
        if p.load_balancing == "iphash":
            rules.iphash(p, placements[i], checks)
        elif CHANNEL_NOT_IPHASH in checks:
            rules.not_iphash(p, placements[i])
    for check in TEAMING_CHECKS:
        if check not in rules.applied:
            why = (
                "no vSwitch or portgroup uses IP hash"
                if check != CHANNEL_NOT_IPHASH
                else "every vSwitch and portgroup uses IP hash"
            )
            rules.skipped.append(Skipped(check, why, "not-applicable"))
    facts: dict[str, object] = {
        "policies": [p.to_dict() for p in pols],
        "switches": [s.to_dict() for s in switches],
        "placement": {pols[i].label: _placement_facts(pl) for i, pl in placements.items()},
        "inherited_from_vswitch": covered,
    }
    assumptions = tuple(_assumption_lines(pols, placements))
    facts["assumptions"] = list(assumptions)
    return TeamingResult(tuple(rules.findings), tuple(rules.skipped), facts, assumptions)
