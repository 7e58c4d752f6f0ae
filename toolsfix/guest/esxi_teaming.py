"""Parse the NIC teaming policy of ESXi standard vSwitches and their portgroups.

Input is what an administrator captures on the host, usually pasted from a shell session:
``esxcli network vswitch standard policy failover get -v vSwitch0`` (one block of
``Key: value`` lines), the portgroup form ``... portgroup policy failover get -p NAME`` (the
same lines plus ``Override Vswitch ...: true|false``), and optionally
``esxcli network vswitch standard portgroup list`` (which vSwitch each portgroup is on).

The output itself never names the vSwitch or portgroup, so names come from, in order: the
command line echoed before the output (``# esxcli ... get -v vSwitch1``, a shell prompt line,
or a comment), or, for a vSwitch, the file name (``vSwitch1-failover.txt``). A policy whose
name nobody gave is still evaluated: the checks say the name is unknown instead of guessing.

The portgroup output prints the *effective* values (inherited ones included) and says per
policy whether it overrides the vSwitch; the checks need both, so both are kept.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from types import MappingProxyType
from typing import Optional

from toolsfix.findings import Evidence
from toolsfix.guest.textinput import numbered_lines

__all__ = [
    "FAILOVER_COMMAND",
    "LB_DESCRIPTIONS",
    "LB_SET_VALUE",
    "PORTGROUP_COMMAND",
    "FailoverListing",
    "FailoverPolicy",
    "PortgroupRow",
    "parse_failover_listing",
    "vswitch_from_file_name",
]

FAILOVER_COMMAND = "esxcli network vswitch standard policy failover get"
PORTGROUP_COMMAND = "esxcli network vswitch standard portgroup policy failover get"

# ``get`` prints the short names; the vSphere API names and the ``set -l`` spelling
# (``portid``) are accepted too, since users paste from either.
_LOAD_BALANCING: Mapping[str, str] = MappingProxyType(
    {
        "srcport": "srcport",
        "portid": "srcport",
        "loadbalance_srcid": "srcport",
        "iphash": "iphash",
        "loadbalance_ip": "iphash",
        "mac": "mac",
        "srcmac": "mac",
        "loadbalance_srcmac": "mac",
        "explicit": "explicit",
        "failover_explicit": "explicit",
    }
)
#: What each policy is called in the vSphere Client.
LB_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "srcport": "route based on originating virtual port",
        "iphash": "route based on IP hash",
        "mac": "route based on source MAC hash",
        "explicit": "use explicit failover order",
    }
)
#: The value ``esxcli ... policy failover set -l`` takes for each policy.
LB_SET_VALUE: Mapping[str, str] = MappingProxyType(
    {"srcport": "portid", "iphash": "iphash", "mac": "mac", "explicit": "explicit"}
)

_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "load balancing": "load_balancing",
        "network failure detection": "failure_detection",
        "notify switches": "notify_switches",
        "failback": "failback",
        "active adapters": "active",
        "standby adapters": "standby",
        "unused adapters": "unused",
    }
)
_OVERRIDES: Mapping[str, str] = MappingProxyType(
    {
        "load balancing": "load_balancing",
        "network failure detection": "failure_detection",
        "notify switches": "notify_switches",
        "failback": "failback",
        "uplinks": "uplinks",
    }
)
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")
_PG_TABLE_HEADER = re.compile(
    r"^\s*Name\s+Virtual\s+Switch\s+Active\s+Clients\s+VLAN\s+ID\s*$", re.I
)
_PG_TABLE_ROW = re.compile(r"^\s*(\S.*?)\s+(\S+)\s+(\d+)\s+(\d+)\s*$")
# Optional prompt, optional directory, then the esxcli word.
_COMMAND_LINE = re.compile(
    r"^(?:\[[^\]]*\]\s*|[^\s:#$>%]*(?::\S*)?\s*[#$>%]\s*)?(?:\S*/)?esxcli(?=\s|$)"
)
_FILE_VSWITCH = re.compile(r"(?i)(?<![a-z0-9])(vswitch\d+)(?![0-9])")


@dataclass(frozen=True)
class FailoverPolicy:
    """One ``policy failover get`` block, with the line of every field it printed."""

    scope: str  # "vswitch" or "portgroup"
    name: Optional[str]
    load_balancing: Optional[str]  # "srcport", "iphash", "mac", "explicit"; None if absent/unknown
    load_balancing_raw: Optional[str]
    failure_detection: Optional[str]  # "link", "beacon" (or what was printed)
    notify_switches: Optional[bool]
    failback: Optional[bool]
    active: tuple[str, ...]
    standby: tuple[str, ...]
    unused: tuple[str, ...]
    # Portgroups: field -> overrides the vSwitch? ("load_balancing", "failure_detection",
    # "notify_switches", "failback", "uplinks"). Empty for a vSwitch.
    overrides: Mapping[str, bool]
    lines: Mapping[str, int]  # field (or "override:<field>") -> line number
    excerpts: Mapping[str, str]  # same keys -> the line as printed (stripped)
    start_line: int
    source: Optional[str] = None
    name_from: str = ""  # "command line", "file name" or "" (unknown)
    vswitch: Optional[str] = None  # a portgroup's vSwitch, when known
    vswitch_from: str = ""  # "portgroup list", "file name", or set by the checks

    @property
    def label(self) -> str:
        """How findings name this policy: ``vSwitch1`` or ``portgroup 'VM Network'``."""
        if self.scope == "vswitch":
            return self.name or f"unnamed vSwitch ({self.where})"
        return f"portgroup {self.name!r}" if self.name else f"unnamed portgroup ({self.where})"

    @property
    def where(self) -> str:
        return f"{self.source or 'listing'}:{self.start_line}"

    @property
    def team(self) -> tuple[str, ...]:
        """Uplinks that carry this policy's traffic now or after a failover."""
        return self.active + self.standby

    def own(self, field_name: str) -> Optional[bool]:
        """Is ``field_name`` set on this policy itself (True), inherited (False) or unknown?

        A vSwitch owns all its values; a portgroup owns those its ``Override Vswitch`` lines
        say it overrides (active/standby/unused belong to "uplinks")."""
        if self.scope == "vswitch":
            return True
        key = "uplinks" if field_name in ("active", "standby", "unused") else field_name
        return self.overrides.get(key)

    def evidence(self, field_name: str, detail: Optional[str] = None) -> Evidence:
        """Where ``field_name`` was printed: file and line, or the command when no file."""
        line = self.lines.get(field_name)
        excerpt = self.excerpts.get(field_name)
        if self.source is not None:
            return Evidence(
                path=self.source, line=line or self.start_line, excerpt=excerpt, detail=detail
            )
        command = FAILOVER_COMMAND if self.scope == "vswitch" else PORTGROUP_COMMAND
        return Evidence(command=command, excerpt=excerpt, detail=detail)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "scope": self.scope,
            "name": self.name,
            "load_balancing": self.load_balancing or self.load_balancing_raw,
            "failure_detection": self.failure_detection,
            "notify_switches": self.notify_switches,
            "failback": self.failback,
            "active": list(self.active),
            "standby": list(self.standby),
            "unused": list(self.unused),
            "source": f"{self.source}:{self.start_line}" if self.source else None,
        }
        if self.scope == "portgroup":
            out["vswitch"] = self.vswitch
            out["overrides"] = dict(self.overrides)
        return out


@dataclass(frozen=True)
class PortgroupRow:
    """A row of ``esxcli network vswitch standard portgroup list``."""

    name: str
    vswitch: str
    line: int


@dataclass(frozen=True)
class FailoverListing:
    policies: tuple[FailoverPolicy, ...] = ()
    portgroups: tuple[PortgroupRow, ...] = ()
    source: Optional[str] = None

    def __bool__(self) -> bool:
        return bool(self.policies or self.portgroups)


@dataclass
class _Header:
    """What an echoed esxcli command line says about the output after it."""

    kind: str  # "failover", "portgroup-failover", "portgroup-list", "other"
    name: Optional[str] = None


@dataclass
class _Block:
    start: int
    header: Optional[_Header]
    values: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, bool] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    excerpts: dict[str, str] = field(default_factory=dict)


def vswitch_from_file_name(source: Optional[str]) -> Optional[str]:
    """``vSwitch1-failover.txt`` -> ``vSwitch1`` (the default naming, vSwitchN, only)."""
    if not source:
        return None
    match = _FILE_VSWITCH.search(PurePath(source).name)
    return match.group(1) if match else None


def _option(tokens: list[str], short: str, long: str) -> Optional[str]:
    for i, tok in enumerate(tokens):
        if tok in (short, long):
            return tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.startswith(long + "="):
            return tok[len(long) + 1 :]
    return None


def _command_header(line: str) -> Optional[_Header]:
    """An echoed ``esxcli`` command line, or None.

    ``esxcli`` must start the line or follow a prompt (``[root@esx01:~]``, ``esx01:~ #``,
    ``$``, ``#``), so a description that mentions esxcli is not mistaken for a command."""
    match = _COMMAND_LINE.match(line)
    if match is None:
        return None
    rest = line[match.end() :]
    try:
        tokens = shlex.split(rest, comments=False)
    except ValueError:  # an unbalanced quote in a pasted line
        tokens = rest.split()
    words = [t.lower() for t in tokens]
    # Options of the command itself come after its verb; before it, vCLI's connection options
    # (-s/-u/-p for server, user, password) must not be mistaken for -p PORTGROUP.
    for verb in ("get", "list"):
        if verb in words:
            after = tokens[words.index(verb) + 1 :]
            break
    else:
        after = []
    if "failover" in words and "get" in words:
        if "portgroup" in words:
            return _Header("portgroup-failover", _option(after, "-p", "--portgroup-name"))
        return _Header("failover", _option(after, "-v", "--vswitch-name"))
    if "portgroup" in words and "list" in words:
        return _Header("portgroup-list")
    return _Header("other")


def _bool(value: str) -> Optional[bool]:
    v = value.strip().lower()
    if v in ("true", "yes", "1"):
        return True
    if v in ("false", "no", "0"):
        return False
    return None


def _adapters(value: str) -> tuple[str, ...]:
    return tuple(a for a in re.split(r"[\s,]+", value.strip()) if a)


def _policy(block: _Block, source: Optional[str]) -> Optional[FailoverPolicy]:
    v = block.values
    if "load_balancing" not in v and "active" not in v:
        return None  # stray Failback:/Notify Switches: lines alone are not a policy
    header = block.header
    portgroup = bool(block.overrides) or (
        header is not None and header.kind == "portgroup-failover"
    )
    raw_lb = v.get("load_balancing", "").strip() or None
    lb = _LOAD_BALANCING.get(raw_lb.lower()) if raw_lb else None
    detection = v.get("failure_detection", "").strip().lower() or None
    name = header.name if header is not None else None
    return FailoverPolicy(
        scope="portgroup" if portgroup else "vswitch",
        name=name,
        load_balancing=lb,
        load_balancing_raw=raw_lb,
        failure_detection=detection,
        notify_switches=_bool(v["notify_switches"]) if "notify_switches" in v else None,
        failback=_bool(v["failback"]) if "failback" in v else None,
        active=_adapters(v.get("active", "")),
        standby=_adapters(v.get("standby", "")),
        unused=_adapters(v.get("unused", "")),
        overrides=MappingProxyType(dict(block.overrides)),
        lines=MappingProxyType(dict(block.lines)),
        excerpts=MappingProxyType(dict(block.excerpts)),
        start_line=block.start,
        source=source,
        name_from="command line" if name else "",
    )


def parse_failover_listing(text: str, *, source: Optional[str] = None) -> FailoverListing:
    """Every failover policy block and portgroup-list row in ``text``.

    Tolerates CRLF, indentation changes, blank lines, prompts and unrelated output between
    blocks. A block ends at the next echoed command, at an ``esxcli system settings advanced``
    ``Path:`` line, or when a field repeats (two outputs pasted without their commands).
    """
    policies: list[FailoverPolicy] = []
    rows: list[PortgroupRow] = []
    header: Optional[_Header] = None
    block: Optional[_Block] = None
    in_table = False

    def flush() -> None:
        nonlocal block
        if block is not None:
            made = _policy(block, source)
            if made is not None:
                policies.append(made)
        block = None

    for number, line in numbered_lines(text):
        stripped = line.strip()
        if not stripped:
            in_table = False
            continue
        found = _command_header(stripped)
        if found is not None:
            flush()
            header, in_table = found, False
            continue
        if _PG_TABLE_HEADER.match(stripped):
            flush()
            header, in_table = None, True  # the table names itself; what follows it is new
            continue
        if in_table:
            if set(stripped) <= set("- "):
                continue
            row = _PG_TABLE_ROW.match(stripped)
            if row:
                rows.append(PortgroupRow(row.group(1).strip(), row.group(2), number))
                continue
            in_table = False
        if stripped.startswith("#"):
            continue  # a comment that is not an esxcli command line
        match = _KEY.match(stripped)
        if match is None:
            continue
        key = " ".join(match.group(1).lower().split())
        value = match.group(2).strip()
        if key == "path":  # an advanced-settings block begins: not ours
            flush()
            header = None
            continue
        if header is not None and header.kind in ("other", "portgroup-list"):
            continue  # output of another esxcli command: its keys are not a policy
        if key.startswith("override vswitch "):
            target = _OVERRIDES.get(key[len("override vswitch ") :])
            if target is None or block is None:
                continue
            flag = _bool(value)
            if flag is not None:
                block.overrides[target] = flag
                block.lines["override:" + target] = number
                block.excerpts["override:" + target] = stripped
            continue
        name = _FIELDS.get(key)
        if name is None:
            continue
        if block is not None and name in block.values:
            flush()  # the same field again: a second output pasted without its command
            header = None
        if block is None:
            block = _Block(number, header)
            header = None  # a command names only the first output after it
        block.values[name] = value
        block.lines[name] = number
        block.excerpts[name] = stripped
    flush()
    return FailoverListing(_name_from_file(policies, rows, source), tuple(rows), source)


def _name_from_file(
    policies: list[FailoverPolicy], rows: list[PortgroupRow], source: Optional[str]
) -> tuple[FailoverPolicy, ...]:
    """Fill names the output left open: a vSwitch from the file name (when the file holds
    exactly one unnamed vSwitch block), a portgroup's vSwitch from the portgroup list or the
    file name."""
    file_vswitch = vswitch_from_file_name(source)
    on_switch = {r.name: r.vswitch for r in rows}
    unnamed = [p for p in policies if p.scope == "vswitch" and p.name is None]
    out: list[FailoverPolicy] = []
    for p in policies:
        if p.scope == "vswitch":
            if p.name is None and file_vswitch and len(unnamed) == 1:
                p = replace(p, name=file_vswitch, name_from="file name")
        elif p.vswitch is None:
            if p.name is not None and p.name in on_switch:
                p = replace(p, vswitch=on_switch[p.name], vswitch_from="portgroup list")
            elif file_vswitch:
                p = replace(p, vswitch=file_vswitch, vswitch_from="file name")
        out.append(p)
    return tuple(out)
