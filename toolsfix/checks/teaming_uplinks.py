"""Where each team's uplinks meet the physical switch, and which listing is whose.

The teaming rules (:mod:`toolsfix.checks.teaming`) judge a policy against the channel its
uplinks sit in; this module decides that placement: from ``--uplink vmnicN=[SWITCH:]PORT``
when given, else from what the switch configurations leave no doubt about (and then says
what it assumed), else not at all, with the reason. It also ties portgroups to their vSwitch
and drops duplicate listings. Kept apart from the rules because placement is about the
inputs (options, cabling, listings), while the rules are about what ESXi and the switch do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from toolsfix.errors import ExitCode, InputError, ToolsfixError
from toolsfix.guest.esxi_teaming import FailoverPolicy, PortgroupRow
from toolsfix.guest.switchconf import Channel, PortMatch, SwitchConfig

__all__ = ["parse_uplink_option"]


@dataclass(frozen=True)
class _Location:
    """Where one vmnic meets the physical switch."""

    vmnic: str
    switch: Optional[SwitchConfig]
    port: Optional[str]  # None when only the channel (or "unbundled") is assumed
    channel: Optional[Channel]
    how: str  # "--uplink vmnic0=Gi1/0/1" or "assumed"


@dataclass(frozen=True)
class _Placement:
    locations: Mapping[str, _Location]
    assumption: Optional[str] = None  # set when not every location came from --uplink
    unknown: Optional[str] = None  # why switch-side rules cannot be evaluated


def parse_uplink_option(value: str) -> tuple[str, str]:
    """``vmnic0=Gi1/0/1`` or ``vmnic0=sw1:Gi1/0/1`` -> (vmnic, port spec); ValueError if bad."""
    vmnic, sep, port = value.partition("=")
    vmnic, port = vmnic.strip(), port.strip()
    if not sep or not vmnic or not port or any(c.isspace() for c in vmnic):
        raise ValueError(
            f"{value!r}: expected VMNIC=PORT or VMNIC=SWITCH:PORT, e.g. vmnic0=GigabitEthernet1/0/1"
        )
    return vmnic, port


def _usage(message: str) -> ToolsfixError:
    return ToolsfixError(message, ExitCode.USAGE)


def _resolve_port(spec: str, vmnic: str, switches: Sequence[SwitchConfig]) -> PortMatch:
    """The one port ``spec`` names among ``switches`` (usage error otherwise)."""
    wanted_switch, sep, port = spec.rpartition(":")
    pool = list(switches)
    if sep:
        pool = [
            s
            for s in switches
            if wanted_switch.lower()
            in {s.label.lower(), s.source.lower(), s.source.rsplit("/", 1)[-1].lower()}
        ]
        if not pool:
            names = ", ".join(s.label for s in switches)
            raise _usage(
                f"--uplink {vmnic}={spec}: no switch config named {wanted_switch!r} (have: {names})"
            )
    listed: list[PortMatch] = []
    unlisted: list[PortMatch] = []
    for sw in pool:
        for m in sw.find_port(port):
            (listed if m.listed else unlisted).append(m)
    found = listed or unlisted
    if len(found) == 1:
        return found[0]
    if not found:
        raise _usage(
            f"--uplink {vmnic}={spec}: no port {port!r} in " + ", ".join(s.source for s in pool)
        )
    names = ", ".join(f"{m.config.label}:{m.port}" for m in found)
    raise _usage(f"--uplink {vmnic}={spec}: ambiguous, could be {names} (write SWITCH:PORT)")


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def _are(items: Sequence[str]) -> str:
    """``vmnic2 is`` / ``vmnic2, vmnic3 are``."""
    return f"{_names(items)} {'is' if len(items) == 1 else 'are'}"


def _placements(
    policies: Sequence[FailoverPolicy],
    switches: Sequence[SwitchConfig],
    uplinks: Mapping[str, str],
) -> dict[int, _Placement]:
    """Placement of each policy's team (index -> placement), per the module's rules."""
    resolved = (
        {v: _resolve_port(spec, v, switches) for v, spec in uplinks.items()} if switches else {}
    )
    channels = [ch for sw in switches for ch in sw.channels]
    # Distinct vSwitches (an unnamed one, or a portgroup whose vSwitch is unknown, counts as
    # its own): one channel can only be "the" channel of one of them.
    vswitches = {
        (p.name if p.scope == "vswitch" else p.vswitch) or f"?{i}" for i, p in enumerate(policies)
    }
    out: dict[int, _Placement] = {}
    for i, p in enumerate(policies):
        team = p.team
        if not switches:
            out[i] = _Placement(
                {},
                unknown=f"no --switch-config given, so whether the switch "
                f"ports of {_names(team)} are bundled is not known",
            )
            continue
        if not team:
            out[i] = _Placement({}, unknown=f"{p.label} lists no active or standby adapters")
            continue
        mapped = [v for v in team if v in resolved]
        if mapped:
            missing = [v for v in team if v not in resolved]
            if missing:
                out[i] = _Placement(
                    {},
                    unknown=f"no --uplink for {_names(missing)} (given for "
                    f"{_names(mapped)}): map every uplink of {p.label}",
                )
                continue
            locs = {}
            for v in team:
                m = resolved[v]
                locs[v] = _Location(
                    v, m.config, m.port, m.config.channel_of(m.port), f"--uplink {v}={uplinks[v]}"
                )
            out[i] = _Placement(locs)
            continue
        labels = _names(sw.label for sw in switches)
        if not channels:
            text = (
                f"{_are(team)} cabled to ports of {labels} that are in no channel (the "
                "config has none; no --uplink given)"
            )
            out[i] = _Placement(
                {v: _Location(v, None, None, None, "assumed") for v in team}, assumption=text
            )
        elif len(channels) == 1 and len(vswitches) == 1:
            ch = channels[0]
            text = (
                f"{_are(team)} {'the members' if len(team) > 1 else 'a member'} of {ch.name} on "
                f"{ch.switch} (the only channel "
                "in the config; no --uplink given)"
            )
            out[i] = _Placement(
                {v: _Location(v, None, None, ch, "assumed") for v in team}, assumption=text
            )
        else:
            why = (
                f"{len(vswitches)} vSwitches but one channel"
                if len(channels) == 1
                else f"{len(channels)} channels"
            )
            listing = "; ".join(ch.describe() for ch in channels)
            out[i] = _Placement(
                {},
                unknown=(
                    f"which switch ports {_names(team)} use is not known ({why}: {listing}); give "
                    "--uplink VMNIC=PORT for each uplink"
                ),
            )
    return out


def _resolve_parents(
    policies: Sequence[FailoverPolicy], rows: Sequence[PortgroupRow]
) -> list[FailoverPolicy]:
    """Tie portgroups to their vSwitch (portgroup list rows from any file; else the only
    vSwitch given) and drop exact duplicates; conflicting listings are an input error."""
    on_switch = {r.name: r.vswitch for r in rows}
    named = sorted({p.name for p in policies if p.scope == "vswitch" and p.name})
    seen: dict[tuple[str, str], FailoverPolicy] = {}
    out: list[FailoverPolicy] = []
    for p in policies:
        if p.scope == "portgroup" and p.vswitch is None:
            if p.name in on_switch:
                p = replace(p, vswitch=on_switch[p.name or ""], vswitch_from="portgroup list")
            elif len(named) == 1:
                p = replace(p, vswitch=named[0], vswitch_from="the only vSwitch given")
        if p.name:
            key = (p.scope, p.name)
            before = seen.get(key)
            if before is not None:
                if _same(before, p):
                    continue
                raise InputError(
                    f"two different failover listings for {p.label}: {before.where} and {p.where}"
                )
            seen[key] = p
        out.append(p)
    return out


def _same(a: FailoverPolicy, b: FailoverPolicy) -> bool:
    keys = ("load_balancing_raw", "failure_detection", "active", "standby", "unused")
    return all(getattr(a, k) == getattr(b, k) for k in keys) and dict(a.overrides) == dict(
        b.overrides
    )


def _assumption_lines(
    pols: Sequence[FailoverPolicy], placements: Mapping[int, _Placement]
) -> list[str]:
    """One line per distinct placement assumption, naming the policies that rest on it: a
    clean result reached under an assumption must say so too, not only findings."""
    by_text: dict[str, list[str]] = {}
    for i, pl in sorted(placements.items()):
        if pl.assumption:
            by_text.setdefault(pl.assumption, []).append(pols[i].label)
    return [f"assumed for {', '.join(labels)}: {text}" for text, labels in by_text.items()]


def _placement_facts(pl: _Placement) -> dict[str, object]:
    if pl.unknown:
        return {"unknown": pl.unknown}
    uplinks = {
        v: {
            "switch": loc.switch.label
            if loc.switch
            else loc.channel.switch
            if loc.channel
            else None,
            "port": loc.port,
            "channel": loc.channel.name if loc.channel else None,
        }
        for v, loc in pl.locations.items()
    }
    return {"assumption": pl.assumption, "uplinks": uplinks}
