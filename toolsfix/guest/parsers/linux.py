"""Linux command output and settings: ``ethtool -k/-i``, ``ip -d link``, ``sysctl``.

The Linux side of the offload story: which segmentation and receive offloads an interface has
on (they break TCP-MD5 and forwarding), which driver it uses, how large its MTU may be, and
whether the guest forwards IPv4. ethtool changed its wording over the years (``Offload
parameters`` with spaces, then ``Features`` with dashes), so feature names are normalised to
the modern keys before anyone compares them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from toolsfix.guest.parsers._common import TextInput, numbered, to_int

__all__ = [
    "ETHTOOL_SHORT_NAMES",
    "EthtoolFeature",
    "EthtoolFeatures",
    "EthtoolInfo",
    "IpLink",
    "SysctlEntry",
    "SysctlValues",
    "normalise_feature_name",
    "parse_ethtool_i",
    "parse_ethtool_k",
    "parse_ip_link",
    "parse_sysctl",
]

# ``ethtool -K`` short names -> the keys ``ethtool -k`` prints.
ETHTOOL_SHORT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "rx": "rx-checksumming",
        "tx": "tx-checksumming",
        "sg": "scatter-gather",
        "tso": "tcp-segmentation-offload",
        "ufo": "udp-fragmentation-offload",
        "gso": "generic-segmentation-offload",
        "gro": "generic-receive-offload",
        "lro": "large-receive-offload",
        "rxvlan": "rx-vlan-offload",
        "txvlan": "tx-vlan-offload",
        "ntuple": "ntuple-filters",
        "rxhash": "receive-hashing",
    }
)


def normalise_feature_name(name: str) -> str:
    """Old ethtool names (``tcp segmentation offload``) and ``ethtool -K`` short names
    (``tso``) to the modern keys (``tcp-segmentation-offload``)."""
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    return ETHTOOL_SHORT_NAMES.get(key, key)


@dataclass(frozen=True)
class EthtoolFeature:
    name: str  # normalised, e.g. "tcp-segmentation-offload"
    enabled: Optional[bool]
    fixed: bool
    requested: Optional[bool]  # "[requested on]" -> True, "[requested off]" -> False
    parent: Optional[str]  # the top-level feature a tab-indented sub-feature belongs to
    line: int
    raw: str


@dataclass(frozen=True)
class EthtoolFeatures:
    """``ethtool -k <if>`` in any of its three layouts."""

    interface: Optional[str]
    style: str  # "features", "offload-parameters" or "unknown"
    features: Mapping[str, EthtoolFeature]
    errors: tuple[str, ...] = ()

    def enabled(self, name: str) -> Optional[bool]:
        feat = self.features.get(normalise_feature_name(name))
        return feat.enabled if feat else None


_ETHTOOL_HEADER = re.compile(r"^\s*(Features|Offload parameters)\s+for\s+(.+?):\s*$", re.I)
_ETHTOOL_ERRORS = ("cannot ", "no offload", "no data available")


def parse_ethtool_k(text: TextInput) -> EthtoolFeatures:
    interface: Optional[str] = None
    style = "unknown"
    features: dict[str, EthtoolFeature] = {}
    errors: list[str] = []
    parent: Optional[str] = None
    for number, raw in numbered(text):
        line = raw.rstrip()
        if not line.strip():
            continue
        header = _ETHTOOL_HEADER.match(line)
        if header:
            interface = header.group(2).strip()
            style = "features" if header.group(1).lower() == "features" else "offload-parameters"
            continue
        low = line.strip().lower()
        if low.startswith(_ETHTOOL_ERRORS) or "not supported" in low:
            errors.append(line.strip())
            continue
        if ":" not in line:
            continue
        name, _, rest = line.partition(":")
        key = normalise_feature_name(name)
        if not key or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", key):
            continue
        words = rest.strip().lower()
        state = words.split()[0] if words.split() else ""
        enabled = True if state == "on" else False if state == "off" else None
        requested: Optional[bool] = None
        req = re.search(r"\[requested (on|off)\]", words)
        if req:
            requested = req.group(1) == "on"
        elif "[not requested]" in words:
            requested = False
        indented = raw[:1] in ("\t", " ")
        feat_parent = parent if indented else None
        if not indented:
            parent = key
        features[key] = EthtoolFeature(
            name=key,
            enabled=enabled,
            fixed="[fixed]" in words,
            requested=requested,
            parent=feat_parent,
            line=number,
            raw=raw,
        )
    return EthtoolFeatures(
        interface=interface,
        style=style,
        features=MappingProxyType(features),
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class EthtoolInfo:
    driver: Optional[str]
    version: Optional[str]
    firmware_version: Optional[str]
    bus_info: Optional[str]
    fields: Mapping[str, str]
    lines: Mapping[str, int]


def parse_ethtool_i(text: TextInput) -> EthtoolInfo:
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in numbered(text):
        if ":" not in raw:
            continue
        key, _, value = raw.partition(":")
        key = key.strip().lower()
        if not key or (" " in key and not key.startswith("supports")):
            continue
        fields[key] = value.strip()
        lines[key] = number

    def get(key: str) -> Optional[str]:
        return fields.get(key) or None

    return EthtoolInfo(
        driver=get("driver"),
        version=get("version"),
        firmware_version=get("firmware-version"),
        bus_info=get("bus-info"),
        fields=MappingProxyType(fields),
        lines=MappingProxyType(lines),
    )


@dataclass(frozen=True)
class IpLink:
    """One interface of ``ip -d link show``; minmtu/maxmtu are absent on older iproute2."""

    index: Optional[int]
    name: str
    flags: tuple[str, ...]
    mtu: Optional[int]
    minmtu: Optional[int]
    maxmtu: Optional[int]
    state: Optional[str]
    line: int
    raw: str


_IP_HEADER = re.compile(r"^(\d+):\s+([^:\s]+?)(?:@\S+?)?:\s+<([^>]*)>(.*)$")


def _ip_link_from(number: int, raw: str, head: re.Match[str], tokens: list[str]) -> IpLink:
    vals: dict[str, Optional[int]] = {"mtu": None, "minmtu": None, "maxmtu": None}
    state: Optional[str] = None
    for i, tok in enumerate(tokens[:-1]):
        if tok in vals and vals[tok] is None:
            vals[tok] = to_int(tokens[i + 1])
        elif tok == "state" and state is None:
            state = tokens[i + 1]
    return IpLink(
        index=to_int(head.group(1)),
        name=head.group(2),
        flags=tuple(f for f in head.group(3).split(",") if f),
        mtu=vals["mtu"],
        minmtu=vals["minmtu"],
        maxmtu=vals["maxmtu"],
        state=state,
        line=number,
        raw=raw,
    )


def parse_ip_link(text: TextInput) -> list[IpLink]:
    """``ip [-d] link show``: one block per interface, values found by keyword anywhere in it."""
    out: list[IpLink] = []
    block: Optional[tuple[int, str, re.Match[str], list[str]]] = None
    for number, raw in numbered(text):
        head = None if raw[:1].isspace() else _IP_HEADER.match(raw.strip())
        if head is not None:
            if block is not None:
                out.append(_ip_link_from(*block))
            block = (number, raw, head, head.group(4).split())
        elif block is not None:
            block[3].extend(raw.split())
    if block is not None:
        out.append(_ip_link_from(*block))
    return out


@dataclass(frozen=True)
class SysctlEntry:
    key: str
    value: str
    line: int

    @property
    def int_value(self) -> Optional[int]:
        return to_int(self.value)


@dataclass(frozen=True)
class SysctlValues:
    """``key = value`` settings (sysctl output or sysctl.conf); the last assignment wins."""

    values: Mapping[str, SysctlEntry]

    def get(self, key: str) -> Optional[SysctlEntry]:
        return self.values.get(key.replace("/", "."))


def parse_sysctl(text: TextInput, key: Optional[str] = None) -> SysctlValues:
    """``sysctl`` output and ``sysctl.conf`` lines; a bare value (a ``/proc/sys`` file) is
    stored under ``key`` when given."""
    values: dict[str, SysctlEntry] = {}
    for number, raw in numbered(text):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            name = name.strip().lstrip("-").strip().replace("/", ".")
            if not name or " " in name:
                continue
            values[name] = SysctlEntry(key=name, value=value.strip(), line=number)
        elif key is not None and re.fullmatch(r"[-\w.\t ]+", line) and ":" not in line:
            k = key.replace("/", ".")
            values[k] = SysctlEntry(key=k, value=line, line=number)
    return SysctlValues(values=MappingProxyType(values))
