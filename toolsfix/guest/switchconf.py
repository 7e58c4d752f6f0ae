"""Parse physical switch configurations for their link aggregation groups.

Two families are understood, detected by content:

* Cisco IOS (and NX-OS, which shares the syntax that matters here): ``interface NAME`` blocks
  whose ``channel-group N mode on|active|passive|desirable|auto`` line bundles the port into
  ``Port-channelN``. ``on`` is a static EtherChannel; ``active``/``passive`` negotiate LACP and
  ``desirable``/``auto`` PAgP. ``channel-group N`` without a mode is NX-OS's static form.
* HP ProCurve / ArubaOS-Switch: top-level ``trunk <ports> TrkN [Trunk|LACP|FEC]`` lines;
  ``Trunk`` is static, ``LACP`` dynamic, ``FEC`` Cisco's legacy negotiation.

Only what the teaming checks need is kept: the ports, their descriptions, and every channel
with its mode and the line of each member's statement (for evidence). Everything else in a
configuration is ignored, so partial configs and snippets work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Optional, Union

from toolsfix.errors import InputError
from toolsfix.findings import Evidence
from toolsfix.guest.textinput import numbered_lines, read_text

__all__ = [
    "CISCO",
    "PROCURVE",
    "Channel",
    "PortMatch",
    "SwitchConfig",
    "expand_procurve_ports",
    "load_switch_config",
    "parse_switch_config",
]

CISCO = "cisco-ios"
PROCURVE = "procurve"
_WHAT = "a Cisco IOS or HP ProCurve switch configuration"

# IOS channel-group modes -> protocol; ProCurve trunk types -> protocol.
_IOS_MODES: Mapping[str, str] = MappingProxyType(
    {"on": "static", "active": "LACP", "passive": "LACP", "desirable": "PAgP", "auto": "PAgP"}
)
_PROCURVE_TYPES: Mapping[str, str] = MappingProxyType(
    {"trunk": "static", "lacp": "LACP", "fec": "FEC"}
)
_LOGICAL = ("port-channel", "vlan", "loopback", "tunnel", "null", "mgmt", "bdi", "nve")
_IOS_IFNAME = re.compile(r"^([A-Za-z][A-Za-z-]*)\s*(\d[\d/.:]*)$")
_CHANNEL_GROUP = re.compile(r"^channel-group\s+(\d+)(?:\s+mode\s+(\S+))?", re.I)
_TRUNK = re.compile(r"^trunk\s+(\S+)\s+(trk\d+)(?:\s+(\S+))?\s*$", re.I)
_PROCURVE_PORT = re.compile(r"^(?:\d+/)?[A-Za-z]?\d+$")


@dataclass(frozen=True)
class Channel:
    """One link aggregation group: its members and how they negotiate (or don't)."""

    switch: str  # label of the configuration it is in
    name: str  # "Port-channel1", "Trk1"
    modes: Mapping[str, str]  # member -> mode as configured ("on", "active", "trunk", "lacp", ...)
    lines: Mapping[str, int]  # member -> line of its channel-group / trunk statement
    excerpts: Mapping[str, str]  # member -> that statement
    source: str
    kind: str  # CISCO or PROCURVE

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self.modes)

    @property
    def protocol(self) -> str:
        """``static``, ``LACP``, ``PAgP``, ``FEC`` or ``mixed`` (members disagree)."""
        table = _IOS_MODES if self.kind == CISCO else _PROCURVE_TYPES
        found = {table.get(m, m) for m in self.modes.values()}
        return found.pop() if len(found) == 1 else "mixed"

    @property
    def static(self) -> bool:
        """Bundled without negotiation: what "Route based on IP hash" needs."""
        return self.protocol == "static"

    def describe(self) -> str:
        modes = sorted(set(self.modes.values()))
        return (
            f"{self.name} on {self.switch} ({self.protocol}, mode {'/'.join(modes)}; "
            f"members {', '.join(self.members)})"
        )

    def evidence(self, member: Optional[str] = None) -> Evidence:
        """The statement that puts ``member`` (default: the first member) in this channel."""
        m = member if member is not None and member in self.modes else self.members[0]
        return Evidence(path=self.source, line=self.lines[m], excerpt=self.excerpts[m])

    def to_dict(self) -> dict[str, object]:
        return {
            "switch": self.switch,
            "name": self.name,
            "protocol": self.protocol,
            "members": {m: mode for m, mode in self.modes.items()},
        }


@dataclass(frozen=True)
class PortMatch:
    """A port named by the user, resolved in one configuration."""

    config: SwitchConfig
    port: str
    listed: bool  # False: a ProCurve port the config does not mention (unconfigured, unbundled)


@dataclass(frozen=True)
class SwitchConfig:
    kind: str  # CISCO or PROCURVE
    hostname: Optional[str]
    source: str
    ports: Mapping[str, int]  # physical port -> line that declares it
    descriptions: Mapping[str, str]
    channels: tuple[Channel, ...]

    @property
    def label(self) -> str:
        return self.hostname or PurePath(self.source).name

    @property
    def family(self) -> str:
        return "Cisco IOS" if self.kind == CISCO else "HP ProCurve"

    def channel_of(self, port: str) -> Optional[Channel]:
        for ch in self.channels:
            if port in ch.modes:
                return ch
        return None

    def find_port(self, token: str) -> list[PortMatch]:
        """Ports ``token`` can mean: ``Gi1/0/1`` matches ``GigabitEthernet1/0/1`` (IOS
        abbreviations work as on the switch's own CLI); ProCurve ports match by name, and a
        well-formed ProCurve port the config never mentions is an unconfigured port."""
        wanted = _normal_ifname(token)
        if self.kind == PROCURVE:
            for port in self.ports:
                if port.lower() == wanted.lower():
                    return [PortMatch(self, port, True)]
            if _PROCURVE_PORT.match(wanted):
                return [PortMatch(self, wanted.upper(), False)]
            return []
        want = _IOS_IFNAME.match(wanted)
        if want is None:
            return []
        prefix, number = want.group(1).lower(), want.group(2)
        found: list[PortMatch] = []
        for port in self.ports:
            have = _IOS_IFNAME.match(port)
            if have is None or have.group(2) != number:
                continue
            p = have.group(1).lower()
            if p.startswith(prefix) or prefix.startswith(p):
                found.append(PortMatch(self, port, True))
        return found

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "hostname": self.hostname,
            "source": self.source,
            "channels": [c.to_dict() for c in self.channels],
        }


def _normal_ifname(name: str) -> str:
    """``GigabitEthernet 1/0/1`` (as some configs and people write it) -> without the space."""
    return re.sub(r"^([A-Za-z][A-Za-z-]*)\s+(?=\d)", r"\1", name.strip())


def _is_logical(name: str) -> bool:
    low = name.lower()
    return any(low.startswith(p) for p in _LOGICAL)


def _expand_ios_range(spec: str) -> list[str]:
    """``GigabitEthernet1/0/1 - 3 , Gi1/0/7`` -> each interface (``interface range``)."""
    out: list[str] = []
    for item in spec.split(","):
        m = re.match(r"^\s*(.*?)(\d+)\s*(?:-\s*(\d+))?\s*$", item)
        if not m or not m.group(1).strip():
            continue
        prefix = re.sub(r"\s+", "", m.group(1))
        first = int(m.group(2))
        last = int(m.group(3)) if m.group(3) else first
        if last < first or last - first > 512:
            continue
        out.extend(f"{prefix}{n}" for n in range(first, last + 1))
    return out


def expand_procurve_ports(spec: str) -> list[str]:
    """``1-4,6``, ``A1-A4``, ``1/1-1/4`` or ``1/A1-1/A2,B3`` -> each port (upper case)."""
    out: list[str] = []
    for item in spec.split(","):
        item = item.strip().upper()
        if not item:
            continue
        if "-" not in item:
            out.append(item)
            continue
        lo, _, hi = item.partition("-")
        a = re.match(r"^(.*?)(\d+)$", lo)
        b = re.match(r"^(.*?)(\d+)$", hi)
        if not a or not b or (b.group(1) and b.group(1) != a.group(1)):
            out.extend(p for p in (lo, hi) if p)
            continue
        first, last = int(a.group(2)), int(b.group(2))
        if last < first or last - first > 512:
            out.extend((lo, hi))
            continue
        out.extend(f"{a.group(1)}{n}" for n in range(first, last + 1))
    return out


def _detect(lines: list[tuple[int, str]]) -> Optional[str]:
    """CISCO, PROCURVE or None, from markers each family's configs always carry."""
    cisco = procurve = 0
    for _, raw in lines:
        s = raw.strip()
        low = s.lower()
        if not s:
            continue
        top = not raw[:1].isspace()
        if (s.startswith(";") and "configuration editor" in low) or (_TRUNK.match(s) and top):
            procurve += 3
        elif re.match(r'^hostname\s+"', s) or (low == "exit" and not top):
            procurve += 1
        elif s.startswith("!") or re.match(r"^(hostname\s+[^\s\"]|version\s+\d)", s):
            cisco += 1
        elif _CHANNEL_GROUP.match(s) and not top:
            cisco += 3
        elif low.startswith("interface ") and top:
            name = _normal_ifname(s.split(None, 1)[1]) if " " in s else ""
            if _IOS_IFNAME.match(name) or low.startswith("interface range "):
                cisco += 1
            elif _PROCURVE_PORT.match(name):
                procurve += 1
        elif low.startswith(("switchport", "spanning-tree portfast")):
            cisco += 1
        if max(cisco, procurve) >= 12:
            break
    if max(cisco, procurve) < 2:
        return None
    return PROCURVE if procurve > cisco else CISCO


def _parse_cisco(lines: list[tuple[int, str]], source: str) -> SwitchConfig:
    hostname: Optional[str] = None
    ports: dict[str, int] = {}
    descriptions: dict[str, str] = {}
    members: dict[int, dict[str, tuple[str, int, str]]] = {}
    channel_names: dict[int, str] = {}
    current: list[str] = []
    for number, raw in lines:
        s = raw.strip()
        if not s or s.startswith("!"):
            if s.startswith("!"):
                current = []
            continue
        if not raw[:1].isspace():
            current = []
            low = s.lower()
            if low.startswith("hostname ") and len(s.split()) > 1:
                hostname = s.split(None, 1)[1].strip().strip('"')
            elif low.startswith("interface range "):
                current = _expand_ios_range(s[len("interface range ") :])
            elif low.startswith("interface ") and len(s.split()) > 1:
                name = _normal_ifname(s.split(None, 1)[1])
                pc = re.match(r"^port-channel(\d+)$", name, re.I)
                if pc:
                    channel_names.setdefault(int(pc.group(1)), name)
                current = [name]
            for name in current:
                if not _is_logical(name) and _IOS_IFNAME.match(name):
                    ports.setdefault(name, number)
            continue
        if not current:
            continue
        cg = _CHANNEL_GROUP.match(s)
        if cg:
            group = int(cg.group(1))
            mode = (cg.group(2) or "on").lower()  # NX-OS: no mode is static
            for name in current:
                if name in ports:
                    members.setdefault(group, {})[name] = (mode, number, s)
        elif s.lower().startswith("description "):
            for name in current:
                descriptions[name] = s.split(None, 1)[1].strip()
    channels = tuple(
        Channel(
            switch=hostname or PurePath(source).name,
            name=channel_names.get(group, f"Port-channel{group}"),
            modes=MappingProxyType({m: v[0] for m, v in group_members.items()}),
            lines=MappingProxyType({m: v[1] for m, v in group_members.items()}),
            excerpts=MappingProxyType(
                {m: f"interface {m}: {v[2]}" for m, v in group_members.items()}
            ),
            source=source,
            kind=CISCO,
        )
        for group, group_members in sorted(members.items())
    )
    return SwitchConfig(
        CISCO, hostname, source, MappingProxyType(ports), MappingProxyType(descriptions), channels
    )


def _parse_procurve(lines: list[tuple[int, str]], source: str) -> SwitchConfig:
    hostname: Optional[str] = None
    ports: dict[str, int] = {}
    descriptions: dict[str, str] = {}
    trunks: dict[str, dict[str, tuple[str, int, str]]] = {}
    trunk_names: dict[str, str] = {}
    current: list[str] = []
    for number, raw in lines:
        s = raw.strip()
        if not s or s.startswith(";"):
            continue
        low = s.lower()
        if not raw[:1].isspace():
            current = []
            if low.startswith("hostname ") and len(s.split()) > 1:
                hostname = s.split(None, 1)[1].strip().strip('"')
            elif low.startswith("interface ") and len(s.split()) > 1:
                spec = s.split(None, 1)[1]
                if not spec.lower().startswith("trk"):
                    current = expand_procurve_ports(spec)
                    for port in current:
                        ports.setdefault(port, number)
            else:
                t = _TRUNK.match(s)
                if t:
                    kind = (t.group(3) or "trunk").lower()
                    key = t.group(2).lower()
                    trunk_names.setdefault(key, t.group(2)[:1].upper() + t.group(2)[1:].lower())
                    for port in expand_procurve_ports(t.group(1)):
                        ports.setdefault(port, number)
                        trunks.setdefault(key, {})[port] = (kind, number, s)
            continue
        if low == "exit":
            current = []
        elif low.startswith("name ") and current:
            for port in current:
                descriptions[port] = s.split(None, 1)[1].strip().strip('"')
    channels = tuple(
        Channel(
            switch=hostname or PurePath(source).name,
            name=trunk_names[key],
            modes=MappingProxyType({m: v[0] for m, v in group.items()}),
            lines=MappingProxyType({m: v[1] for m, v in group.items()}),
            excerpts=MappingProxyType({m: v[2] for m, v in group.items()}),
            source=source,
            kind=PROCURVE,
        )
        for key, group in sorted(trunks.items(), key=lambda kv: int(kv[0][3:]))
    )
    return SwitchConfig(
        PROCURVE,
        hostname,
        source,
        MappingProxyType(ports),
        MappingProxyType(descriptions),
        channels,
    )


def parse_switch_config(text: str, source: str) -> SwitchConfig:
    """Parse ``text`` (read from ``source``); InputError when it is neither family."""
    lines = numbered_lines(text)
    kind = _detect(lines)
    if kind is None:
        raise InputError(f"{source}: not {_WHAT} (no interface, channel-group or trunk lines)")
    parse = _parse_cisco if kind == CISCO else _parse_procurve
    return parse(lines, source)


def load_switch_config(path: Union[str, Path]) -> SwitchConfig:
    """Read and parse one ``--switch-config`` file (exit 3 on anything unreadable)."""
    return parse_switch_config(read_text(path, _WHAT), str(path))
