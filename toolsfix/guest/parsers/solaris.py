"""Solaris and illumos command output: ``modinfo``, ``ndd``, ``dladm``, ``ipadm``, ``ifconfig``.

These show what the running kernel does (which vmxnet3s build is loaded, the MTU of a link, the
TCP buffer sizes), as opposed to what the configuration asks for. Their layouts changed between
Solaris 10, 11.0 and 11.4 (columns added, renamed or dropped), which is why the tables are read
by header token. ``ifconfig`` also reads the two Linux net-tools layouts, since the same
command exists there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from toolsfix.guest.parsers._common import (
    TextInput,
    dash_none,
    lines_of,
    numbered,
    parse_table,
    to_int,
)

__all__ = [
    "DladmDev",
    "DladmLink",
    "DladmLinkProp",
    "DladmPhys",
    "IfconfigEntry",
    "IpadmProp",
    "ModinfoRow",
    "parse_dladm_show_dev",
    "parse_dladm_show_link",
    "parse_dladm_show_linkprop",
    "parse_dladm_show_phys",
    "parse_ifconfig",
    "parse_ipadm_show_prop",
    "parse_modinfo",
    "parse_ndd_value",
]


# --------------------------------------------------------------------------- modinfo / ndd


@dataclass(frozen=True)
class ModinfoRow:
    """One ``modinfo`` row. ``description`` is cut short by modinfo (about 31 characters)."""

    id: int
    loadaddr: str
    size: Optional[int]
    info: str
    rev: Optional[int]
    name: str
    description: Optional[str]
    truncated: bool  # the closing parenthesis is missing
    line: int
    raw: str

    @property
    def addr_bits(self) -> Optional[int]:
        """8 hex digits: a 32-bit kernel; 16: a 64-bit kernel."""
        n = len(self.loadaddr)
        return 64 if n > 8 else 32 if n > 0 else None


_MODINFO_ROW = re.compile(
    r"^\s*(\d+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(\S+)\s+(\S+)\s+(\S.*?)\s*$"
)


def parse_modinfo(text: TextInput) -> list[ModinfoRow]:
    rows: list[ModinfoRow] = []
    for number, raw in numbered(text):
        match = _MODINFO_ROW.match(raw.expandtabs(8))
        if not match:
            continue
        ident, addr, size, info, rev, rest = match.groups()
        paren = rest.find("(")
        if paren >= 0:
            name = rest[:paren].strip()
            desc_part = rest[paren + 1 :]
            close = desc_part.rfind(")")
            truncated = close < 0
            description: Optional[str] = (desc_part if truncated else desc_part[:close]).strip()
        else:
            name, description, truncated = rest.strip(), None, False
        name = name.split()[0] if name.split() else name
        rows.append(
            ModinfoRow(
                id=int(ident),
                loadaddr=addr,
                size=to_int(size, 16),
                info=info,
                rev=to_int(rev),
                name=name,
                description=description or None,
                truncated=truncated,
                line=number,
                raw=raw,
            )
        )
    return rows


def parse_ndd_value(text: TextInput) -> Optional[int]:
    """``ndd -get`` prints a bare integer; error lines and tables give None."""
    for line in lines_of(text):
        tok = line.strip()
        if not tok:
            continue
        return to_int(tok) if re.fullmatch(r"-?\d+", tok) else None
    return None


# --------------------------------------------------------------------------- dladm / ipadm


@dataclass(frozen=True)
class DladmPhys:
    """One row of ``dladm show-phys``."""

    link: str
    media: Optional[str]
    state: Optional[str]
    speed: Optional[int]  # Mb/s
    duplex: Optional[str]
    device: Optional[str]
    line: int
    raw: str


@dataclass(frozen=True)
class DladmLink:
    """One row of ``dladm show-link``."""

    link: str
    link_class: Optional[str]
    mtu: Optional[int]
    state: Optional[str]
    bridge: Optional[str]  # None when the column is absent or "--"
    over: Optional[str]
    line: int
    raw: str


@dataclass(frozen=True)
class DladmLinkProp:
    """One row of ``dladm show-linkprop`` (one property of one link)."""

    link: str
    name: str  # the PROPERTY column, e.g. "mtu"
    perm: Optional[str]
    value: Optional[str]
    default: Optional[str]
    possible: Optional[str]
    line: int
    raw: str

    @property
    def int_value(self) -> Optional[int]:
        return to_int(self.value)

    @property
    def possible_range(self) -> Optional[tuple[int, int]]:
        """``60-9000`` -> (60, 9000); a comma list gives (min, max) of its integers."""
        if not self.possible:
            return None
        match = re.fullmatch(r"(\d+)-(\d+)", self.possible)
        if match:
            return int(match.group(1)), int(match.group(2))
        nums = [int(n) for n in re.findall(r"\d+", self.possible)]
        return (min(nums), max(nums)) if nums else None


@dataclass(frozen=True)
class DladmDev:
    """One device of Solaris 10 ``dladm show-dev``."""

    link: str
    state: Optional[str]
    speed: Optional[int]
    duplex: Optional[str]
    line: int
    raw: str


def _speed(token: Optional[str]) -> Optional[int]:
    """``10000``, ``10G``, ``1000Mb/s`` -> Mb/s; a Kb/s value is no link speed we judge."""
    if token is None:
        return None
    match = re.fullmatch(r"(\d+)([GMK]?)(?:b/s|bps)?", token.strip(), re.I)
    if not match:
        return None
    mult = {"": 1, "M": 1, "G": 1000, "K": 0}[match.group(2).upper()]
    return int(match.group(1)) * mult if mult else None


def parse_dladm_show_phys(text: TextInput) -> list[DladmPhys]:
    out: list[DladmPhys] = []
    for row in parse_table(text, "LINK", {"MEDIA", "STATE", "SPEED", "DUPLEX", "DEVICE"}):
        c = row.cells
        link = dash_none(c.get("LINK"))
        if link is None:
            continue
        out.append(
            DladmPhys(
                link=link,
                media=dash_none(c.get("MEDIA")),
                state=dash_none(c.get("STATE")),
                speed=_speed(c.get("SPEED")),
                duplex=dash_none(c.get("DUPLEX")),
                device=dash_none(c.get("DEVICE")),
                line=row.line,
                raw=row.raw,
            )
        )
    return out


def parse_dladm_show_link(text: TextInput) -> list[DladmLink]:
    """``dladm show-link``, with or without the older BRIDGE column."""
    out: list[DladmLink] = []
    for row in parse_table(text, "LINK", {"CLASS", "MTU", "STATE", "BRIDGE", "OVER"}):
        c = row.cells
        link = dash_none(c.get("LINK"))
        if link is None:
            continue
        out.append(
            DladmLink(
                link=link,
                link_class=dash_none(c.get("CLASS")),
                mtu=to_int(c.get("MTU")),
                state=dash_none(c.get("STATE")),
                bridge=dash_none(c.get("BRIDGE")),
                over=dash_none(c.get("OVER")),
                line=row.line,
                raw=row.raw,
            )
        )
    return out


def parse_dladm_show_linkprop(text: TextInput) -> list[DladmLinkProp]:
    """``dladm show-linkprop``; Solaris 11.4 may print EFFECTIVE where older releases VALUE."""
    out: list[DladmLinkProp] = []
    for row in parse_table(
        text, "LINK", {"PROPERTY", "PERM", "VALUE", "DEFAULT", "POSSIBLE", "EFFECTIVE"}
    ):
        c = row.cells
        link, prop = dash_none(c.get("LINK")), dash_none(c.get("PROPERTY"))
        if link is None or prop is None:
            continue
        value = c.get("VALUE") if "VALUE" in c else c.get("EFFECTIVE")
        out.append(
            DladmLinkProp(
                link=link,
                name=prop,
                perm=dash_none(c.get("PERM")),
                value=dash_none(value),
                default=dash_none(c.get("DEFAULT")),
                possible=dash_none(c.get("POSSIBLE")),
                line=row.line,
                raw=row.raw,
            )
        )
    return out


_SHOW_DEV = re.compile(
    r"^\s*(\S+)\s+link:\s*(\S+)(?:\s+speed:\s*(\d+)\s*(\w+)?)?(?:\s+duplex:\s*(\S+))?", re.I
)


def parse_dladm_show_dev(text: TextInput) -> list[DladmDev]:
    """Solaris 10 ``dladm show-dev`` (``link: up  speed: 1000 Mbps  duplex: full``), or the
    later tabular form with a LINK/STATE/SPEED/DUPLEX header."""
    out: list[DladmDev] = []
    for row in parse_table(text, "LINK", {"STATE", "SPEED", "DUPLEX"}):
        link = dash_none(row.cells.get("LINK"))
        if link is None or "link:" in row.raw:
            continue
        out.append(
            DladmDev(
                link=link,
                state=dash_none(row.cells.get("STATE")),
                speed=_speed(row.cells.get("SPEED")),
                duplex=dash_none(row.cells.get("DUPLEX")),
                line=row.line,
                raw=row.raw,
            )
        )
    for number, raw in numbered(text):
        match = _SHOW_DEV.match(raw)
        if not match:
            continue
        link, state, speed, unit, duplex = match.groups()
        mbps = to_int(speed)
        if mbps is not None and unit and unit.lower().startswith("g"):
            mbps *= 1000
        out.append(
            DladmDev(link=link, state=state, speed=mbps, duplex=duplex, line=number, raw=raw)
        )
    out.sort(key=lambda d: d.line)
    return out


@dataclass(frozen=True)
class IpadmProp:
    """One row of ``ipadm show-prop`` or ``ipadm show-ifprop`` (then ``ifname`` is set)."""

    proto: Optional[str]
    name: str  # the PROPERTY column, e.g. "send_buf", "mtu"
    perm: Optional[str]
    current: Optional[str]
    persistent: Optional[str]
    default: Optional[str]
    possible: Optional[str]
    ifname: Optional[str]
    line: int
    raw: str

    @property
    def int_current(self) -> Optional[int]:
        return to_int(self.current)


def parse_ipadm_show_prop(text: TextInput) -> list[IpadmProp]:
    out: list[IpadmProp] = []
    expected = {"PROTO", "IFNAME", "PERM", "CURRENT", "PERSISTENT", "DEFAULT", "POSSIBLE"}
    for row in parse_table(text, "PROPERTY", expected):
        c = row.cells
        prop = dash_none(c.get("PROPERTY"))
        if prop is None:
            continue
        out.append(
            IpadmProp(
                proto=dash_none(c.get("PROTO")),
                name=prop,
                perm=dash_none(c.get("PERM")),
                current=dash_none(c.get("CURRENT")),
                persistent=dash_none(c.get("PERSISTENT")),
                default=dash_none(c.get("DEFAULT")),
                possible=dash_none(c.get("POSSIBLE")),
                ifname=dash_none(c.get("IFNAME")),
                line=row.line,
                raw=row.raw,
            )
        )
    return out


# --------------------------------------------------------------------------- ifconfig


@dataclass(frozen=True)
class IfconfigEntry:
    """One interface block of ``ifconfig -a`` (Solaris lists IPv4 and IPv6 blocks separately)."""

    name: str
    flags: tuple[str, ...]
    mtu: Optional[int]
    family: Optional[str]  # "ipv4"/"ipv6" when the flags say so (Solaris)
    index: Optional[int]
    line: int
    raw: str


_IFC_NEW = re.compile(r"^(\S+?):\s+flags=\w+<([^>]*)>(.*)$")
_IFC_OLD = re.compile(r"^(\S+)\s+Link encap:")
_OLD_NET_TOOLS_FLAGS = ("UP", "BROADCAST", "RUNNING", "MULTICAST", "LOOPBACK")


@dataclass
class _IfBuild:
    """Mutable accumulator for one ifconfig block (frozen into an IfconfigEntry at the end)."""

    name: str
    flags: list[str]
    line: int
    raw: str
    mtu: Optional[int] = None
    index: Optional[int] = None

    def feed(self, text: str, continuation: bool) -> None:
        tokens = text.split()
        for i, tok in enumerate(tokens):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if tok == "mtu" and self.mtu is None:
                self.mtu = to_int(nxt)
            elif tok == "index" and self.index is None:
                self.index = to_int(nxt)
            elif tok.upper().startswith("MTU:") and self.mtu is None:
                self.mtu = to_int(tok[4:])
            elif continuation and tok in _OLD_NET_TOOLS_FLAGS and tok not in self.flags:
                self.flags.append(tok)  # old net-tools print flags on a continuation line

    def freeze(self) -> IfconfigEntry:
        family = "ipv6" if "IPv6" in self.flags else "ipv4" if "IPv4" in self.flags else None
        return IfconfigEntry(
            name=self.name,
            flags=tuple(self.flags),
            mtu=self.mtu,
            family=family,
            index=self.index,
            line=self.line,
            raw=self.raw,
        )


def parse_ifconfig(text: TextInput) -> list[IfconfigEntry]:
    """Solaris/illumos, BSD-style Linux net-tools (``flags=... mtu N``) and old net-tools
    (``Link encap`` ... ``MTU:1500``)."""
    out: list[IfconfigEntry] = []
    current: Optional[_IfBuild] = None
    for number, raw in numbered(text):
        if not raw.strip():
            continue
        if not raw[:1].isspace():
            new = _IFC_NEW.match(raw.strip())
            old = None if new else _IFC_OLD.match(raw.strip())
            if new is not None or old is not None:
                if current is not None:
                    out.append(current.freeze())
                if new is not None:
                    flags = [f for f in new.group(2).split(",") if f]
                    current = _IfBuild(name=new.group(1), flags=flags, line=number, raw=raw)
                    current.feed(new.group(3), continuation=False)
                elif old is not None:
                    current = _IfBuild(name=old.group(1), flags=[], line=number, raw=raw)
                continue
        if current is not None:
            current.feed(raw, continuation=True)
    if current is not None:
        out.append(current.freeze())
    return out
