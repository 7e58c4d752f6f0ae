"""Parsers for every command output and configuration file toolsfix reads from a guest.

Each parser is a pure function from text to a frozen dataclass. None of them raises, whatever
the input: real guests print error lines, old command versions use other layouts, bundles get
truncated or pass through Windows editors. A parser that cannot make sense of its input returns
an empty result (or one whose ``error`` says why), so a check can report "could not evaluate"
instead of the tool crashing. Tables are read by their header tokens, never by fixed columns,
because column widths, column sets and value widths differ between releases.

Line numbers are 1-based and count the lines of the text given (``str.splitlines``), so they can
be quoted as evidence ("/kernel/drv/vmxnet3s.conf:12").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Optional, Union

__all__ = [
    "ETHTOOL_SHORT_NAMES",
    "SOLARIS10_UPDATES",
    "VMXNET3S_PROPERTIES",
    "AdvancedSetting",
    "BgpConfig",
    "BgpMd5Peer",
    "ConfEntry",
    "ConfProblem",
    "ConfProperty",
    "ConfValue",
    "DladmDev",
    "DladmLink",
    "DladmLinkProp",
    "DladmPhys",
    "DriverConf",
    "EsxAdvanced",
    "EtcSystem",
    "EthtoolFeature",
    "EthtoolFeatures",
    "EthtoolInfo",
    "IfconfigEntry",
    "InstallDB",
    "IpLink",
    "IpadmProp",
    "ModinfoRow",
    "OsRelease",
    "PersistentSetting",
    "PropSpec",
    "Release",
    "SysctlEntry",
    "SysctlValues",
    "SystemDirective",
    "SystemSet",
    "Uname",
    "find_persistent_settings",
    "normalise_feature_name",
    "parse_bgp_config",
    "parse_dladm_show_dev",
    "parse_dladm_show_link",
    "parse_dladm_show_linkprop",
    "parse_dladm_show_phys",
    "parse_driver_conf",
    "parse_esxcfg_advcfg",
    "parse_esxcli_advanced",
    "parse_etc_system",
    "parse_ethtool_i",
    "parse_ethtool_k",
    "parse_ifconfig",
    "parse_ip_link",
    "parse_ipadm_show_prop",
    "parse_isainfo_b",
    "parse_locations",
    "parse_modinfo",
    "parse_ndd_value",
    "parse_os_release",
    "parse_release",
    "parse_sysctl",
    "parse_uname",
    "release_from_os_release",
]

ConfScalar = Union[int, str]
_EMPTY_MAP: Mapping[str, str] = MappingProxyType({})


# --------------------------------------------------------------------------- helpers


def _text(value: object) -> str:
    """Accept whatever a caller hands us: bytes are decoded leniently, None is empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return ""


def _lines(value: object) -> list[str]:
    return _text(value).splitlines()


def _numbered(value: object) -> Iterator[tuple[int, str]]:
    return enumerate(_lines(value), start=1)


def _to_int(token: Optional[str], base: int = 10) -> Optional[int]:
    if token is None:
        return None
    tok = token.strip()
    if not tok:
        return None
    try:
        return int(tok, base)
    except ValueError:
        return None


def _dash_none(token: Optional[str]) -> Optional[str]:
    """dladm and ipadm print ``--`` (or nothing) for "no value"; callers want None."""
    if token is None:
        return None
    tok = token.strip()
    if tok in ("", "--", "-", "?"):
        return None
    return tok


@dataclass(frozen=True)
class _TableRow:
    line: int
    raw: str
    cells: Mapping[str, Optional[str]]


def _assign_by_position(
    line: str, headers: Sequence[str], starts: Sequence[int]
) -> dict[str, Optional[str]]:
    """Fewer tokens than headers: a cell was blank, so align tokens under header positions."""
    cells: dict[str, Optional[str]] = dict.fromkeys(headers)
    next_col = 0
    for match in re.finditer(r"\S+", line):
        if next_col >= len(headers):
            last = headers[-1]
            cells[last] = (cells[last] or "") + " " + match.group(0)
            continue
        pos = match.start()
        # Rightmost header starting at or before the token (with some slack for values that
        # are wider than, or right-aligned under, their header), never moving backwards.
        col = next_col
        for i in range(next_col, len(headers)):
            if starts[i] <= pos + 1:
                col = i
        cells[headers[col]] = match.group(0)
        next_col = col + 1
    return cells


def _parse_table(text: object, anchor: str, expected: set[str]) -> list[_TableRow]:
    """Rows of a header-led table such as ``dladm show-link`` or ``ipadm show-prop``.

    The header is the first line holding ``anchor`` plus at least two other ``expected``
    tokens; a repeated header (several outputs concatenated) restarts the table. Rows with more
    tokens than headers fold the extra tokens into the last column (``OVER`` of an aggregation
    lists several links); rows with fewer are aligned by header position. An indented line
    whose text sits under the last column continues the previous row's last cell (ipadm wraps
    long POSSIBLE lists that way).
    """
    rows: list[tuple[int, str, dict[str, Optional[str]]]] = []
    headers: list[str] = []
    starts: list[int] = []
    for number, raw in _numbered(text):
        line = raw.expandtabs(8).rstrip()
        tokens = line.split()
        if not tokens:
            continue
        upper = [t.upper() for t in tokens]
        if anchor in upper and len(expected.intersection(upper)) >= 2:
            headers = upper
            starts = [m.start() for m in re.finditer(r"\S+", line)]
            continue
        if not headers or line.lstrip().startswith(("$", "#")):
            continue
        indent = len(line) - len(line.lstrip())
        if rows and len(headers) > 1 and len(tokens) == 1 and indent >= starts[-1] - 1:
            cells = rows[-1][2]
            last = headers[-1]
            cells[last] = (cells[last] or "") + tokens[0]
            continue
        if len(tokens) == len(headers):
            cells = dict(zip(headers, tokens))
        elif len(tokens) > len(headers):
            cells = dict(zip(headers[:-1], tokens))
            cells[headers[-1]] = " ".join(tokens[len(headers) - 1 :])
        else:
            cells = _assign_by_position(line, headers, starts)
        rows.append((number, raw, cells))
    return [_TableRow(n, r, MappingProxyType(c)) for n, r, c in rows]


# --------------------------------------------------------------------------- release / uname

# Solaris 10 update releases, keyed by the M/YY token of /etc/release (3/05 is the GA release).
SOLARIS10_UPDATES: Mapping[str, int] = MappingProxyType(
    {
        "3/05": 0,
        "1/06": 1,
        "6/06": 2,
        "11/06": 3,
        "8/07": 4,
        "5/08": 5,
        "10/08": 6,
        "5/09": 7,
        "10/09": 8,
        "9/10": 9,
        "8/11": 10,
        "1/13": 11,
    }
)

_RELEASE_BOILERPLATE = ("copyright", "use is subject", "assembled")
_ILLUMOS_NAMES = ("illumos", "openindiana", "omnios", "smartos", "tribblix", "nexenta", "dilos")
_RELEASE_LINE = re.compile("|".join(("solaris", *_ILLUMOS_NAMES)), re.I)


@dataclass(frozen=True)
class Release:
    """What ``/etc/release`` says, plus the ``uname -r``/``uname -v`` equivalents derived from it.

    The derived uname values exist for offline image roots, where nothing can be run: the
    configurator decides on ``uname -r`` (5.10 vs 5.11) and on ``uname -v`` being exactly
    ``snv_111b``, and both follow from the release line. ``derivation`` says how.
    """

    family: str  # "solaris", "opensolaris", "illumos" or "unknown"
    version: Optional[str]  # "10", "11.0", "11.4", "2009.06", ...
    update: Optional[int]  # Solaris 10 update number (u1..u11; 0 = 3/05 GA)
    arch: Optional[str]  # "x86" or "sparc"
    name: str = ""  # the release line, stripped
    build: Optional[str] = None  # s10x_u11wos_24a, snv_111b, oi_151a...
    uname_r: Optional[str] = None
    uname_v: Optional[str] = None
    derivation: str = ""
    line: Optional[int] = None
    error: Optional[str] = None

    @property
    def is_solaris11(self) -> bool:
        return self.family == "solaris" and (self.version or "").startswith("11")


def _unknown_release(error: str, name: str = "", line: Optional[int] = None) -> Release:
    return Release("unknown", None, None, None, name=name, line=line, error=error)


def parse_release(text: object) -> Release:
    """Parse ``/etc/release``: the first line naming an OS (it is centred with leading spaces)."""
    found: Optional[tuple[int, str]] = None
    for number, raw in _numbered(text):
        stripped = raw.strip()
        if not stripped or stripped.lower().startswith(_RELEASE_BOILERPLATE):
            continue
        if _RELEASE_LINE.search(stripped):
            found = (number, stripped)
            break
    if found is None:
        return _unknown_release("no release line naming Solaris or an illumos distribution")
    number, line = found
    tokens = line.split()
    lower = [t.lower() for t in tokens]
    arch: Optional[str] = None
    for tok in lower:
        if tok in ("x86", "i386", "i86pc", "amd64"):
            arch = "x86"
        elif tok in ("sparc", "sun4u", "sun4v"):
            arch = "sparc"
    snv = next((t for t in tokens if re.fullmatch(r"snv_\w+", t)), None)
    low_line = line.lower()

    if "opensolaris" in lower:
        idx = lower.index("opensolaris")
        version = tokens[idx + 1] if idx + 1 < len(tokens) else None
        if version is not None and not re.fullmatch(r"\d{4}\.\d{2}", version):
            version = None
        return Release(
            "opensolaris", version, None, arch, name=line, build=snv, uname_r="5.11",
            uname_v=snv, line=number,
            derivation="OpenSolaris is SunOS 5.11; uname -v is the snv_ build token"
            + ("" if snv else " (not present in the release line)"),
        )

    if any(n in low_line for n in _ILLUMOS_NAMES):
        oi = next((t for t in tokens if re.fullmatch(r"oi_\w+", t)), None)
        build = snv or oi
        version_match = re.search(r"\b(\d{4}\.\d{2}|r\d{6}\w*|\d+m\d+)\b", line)
        return Release(
            "illumos", version_match.group(1) if version_match else None, None, arch,
            name=line, build=build, uname_r="5.11", uname_v=build, line=number,
            derivation="illumos distributions are SunOS 5.11; uname -v "
            + ("is the build token" if build else "is distribution-specific and not derivable"),
        )

    match = re.search(r"\bSolaris\s+(\d+(?:\.\d+)?)\b", line, re.I)
    if not match:
        return _unknown_release("release line names no Solaris version", line, number)
    major = match.group(1)
    rest = tokens[[t.lower() for t in tokens].index("solaris") + 2 :] if "solaris" in lower else []
    date = next((t for t in rest if re.fullmatch(r"\d{1,2}/\d{2}", t)), None)
    build = next((t for t in tokens if re.fullmatch(r"s\d+[xs]?_u\d+\w*", t)), None) or snv

    if major == "10":
        update = SOLARIS10_UPDATES.get(date) if date else None
        if update is None and build:
            upd = re.search(r"_u(\d+)", build)
            update = int(upd.group(1)) if upd else None
        return Release(
            "solaris", "10", update, arch, name=line, build=build, uname_r="5.10",
            uname_v="Generic", line=number,
            derivation="Solaris 10 is SunOS 5.10; uname -v is Generic_<kernel patch>, and the "
            "patch level is not in /etc/release",
        )
    if major == "11" or major.startswith("11."):
        if major == "11":
            if "express" in lower:  # Solaris 11 Express 2010.11: uname -v is snv_151a
                version = "11 Express"
                uname_v = snv
            else:
                version = "11.0"  # "Oracle Solaris 11 11/11" is the 11.0 release
                uname_v = "11.0"
        else:
            version = major
            uname_v = major
        note = "Solaris 11 is SunOS 5.11; uname -v starts with the release"
        if version == "11.4":
            note += " (11.4.<SRU>.<build>.<n> on a live system; /etc/os-release BUILD_ID has it)"
        return Release(
            "solaris", version, None, arch, name=line, build=build, uname_r="5.11",
            uname_v=uname_v, line=number, derivation=note,
        )
    legacy = re.fullmatch(r"2\.(\d)|([789])", major)
    if legacy:
        minor = legacy.group(1) or legacy.group(2)
        update = None
        if build:
            upd = re.search(r"_u(\d+)", build)
            update = int(upd.group(1)) if upd else None
        return Release(
            "solaris", major, update, arch, name=line, build=build, uname_r=f"5.{minor}",
            uname_v="Generic", line=number,
            derivation=f"Solaris {major} is SunOS 5.{minor}",
        )
    return Release(
        "solaris", major, None, arch, name=line, build=build, line=number,
        derivation="unknown Solaris version: uname values not derived",
        error=f"unrecognised Solaris version {major!r}",
    )


@dataclass(frozen=True)
class OsRelease:
    """``/etc/os-release`` (Linux, and Solaris from 11.4 on)."""

    fields: Mapping[str, str]
    lines: Mapping[str, int]

    def get(self, key: str) -> Optional[str]:
        return self.fields.get(key)

    @property
    def id(self) -> Optional[str]:
        return self.fields.get("ID")

    @property
    def version(self) -> Optional[str]:
        return self.fields.get("VERSION")

    @property
    def version_id(self) -> Optional[str]:
        return self.fields.get("VERSION_ID")

    @property
    def build_id(self) -> Optional[str]:
        return self.fields.get("BUILD_ID")


def parse_os_release(text: object) -> OsRelease:
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in _numbered(text):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif value[:1] in "\"'":
            value = value[1:]
        fields[key] = value.replace('\\"', '"')
        lines[key] = number
    return OsRelease(MappingProxyType(fields), MappingProxyType(lines))


def release_from_os_release(osr: OsRelease) -> Release:
    """A Release for a Solaris image that has /etc/os-release but no usable /etc/release."""
    if (osr.id or "").lower() != "solaris":
        return _unknown_release(f"os-release ID is {osr.id!r}, not solaris")
    version = osr.version_id or osr.version
    if not version or not re.fullmatch(r"11(\.\d+)*", version):
        return _unknown_release(f"os-release VERSION {version!r} is not a Solaris 11 version")
    short = ".".join(version.split(".")[:2]) if "." in version else "11.0"
    return Release(
        "solaris", short, None, None, name=osr.get("PRETTY_NAME") or f"Solaris {short}",
        build=osr.build_id, uname_r="5.11", uname_v=short, line=osr.lines.get("VERSION"),
        derivation="derived from /etc/os-release VERSION: Solaris 11 is SunOS 5.11",
    )


_MACHINE = re.compile(
    r"i86pc|i\d86|x86_64|amd64|aarch64|arm\w*|sun4\w|ppc\w*|s390x|riscv\w*|mips\w*"
)


@dataclass(frozen=True)
class Uname:
    sysname: Optional[str] = None
    nodename: Optional[str] = None
    release: Optional[str] = None
    version: Optional[str] = None
    machine: Optional[str] = None
    error: Optional[str] = None

    @property
    def minor(self) -> Optional[int]:
        """Second dot-field of a SunOS release (5.10 -> 10), as the configurator computes it."""
        if self.release is None:
            return None
        parts = self.release.split(".")
        return _to_int(parts[1]) if len(parts) >= 2 else None


def parse_uname(text: object, field: Optional[str] = None) -> Uname:
    """Parse ``uname -a`` output, or the single value printed by ``uname -r/-v/-s``.

    ``field`` names the option that produced ``text`` ("r", "v", "s"); without it, a single
    token is classified heuristically and a multi-token line is read as ``uname -a``.
    """
    first = next((ln.strip() for ln in _lines(text) if ln.strip()), "")
    if not first:
        return Uname(error="empty output")
    if field in ("r", "v", "s", "n", "m"):
        key = {"r": "release", "v": "version", "s": "sysname", "n": "nodename", "m": "machine"}
        return Uname(**{key[field]: first})
    tokens = first.split()
    if len(tokens) == 1:
        tok = tokens[0]
        if tok in ("SunOS", "Linux", "VMkernel", "FreeBSD", "Darwin"):
            return Uname(sysname=tok)
        if re.fullmatch(r"(Generic|snv_|oi_|illumos|omnios|joyent).*|11(\.\d+)+", tok):
            return Uname(version=tok)  # SunOS 5.10/5.11 kernel versions
        if re.fullmatch(r"\d+(\.\d+)+([-+_]\S*)?", tok):
            return Uname(release=tok)
        return Uname(version=tok)
    if len(tokens) < 3:
        return Uname(error=f"too few fields for uname -a: {first[:80]!r}")
    sysname, nodename, release = tokens[0], tokens[1], tokens[2]
    rest = tokens[3:]
    if sysname == "SunOS" or not rest:
        version = rest[0] if rest else None
        machine = rest[1] if len(rest) > 1 else None
        return Uname(sysname, nodename, release, version, machine)
    # Linux / ESXi: the version has spaces; it runs up to the first machine-type token.
    idx = next((i for i, t in enumerate(rest) if _MACHINE.fullmatch(t)), len(rest))
    version = " ".join(rest[:idx]) or None
    machine = rest[idx] if idx < len(rest) else None
    return Uname(sysname, nodename, release, version, machine)


def parse_isainfo_b(text: object) -> Optional[int]:
    """``isainfo -b`` prints 32 or 64; anything else is None."""
    for line in _lines(text):
        tok = line.strip()
        if tok in ("32", "64"):
            return int(tok)
        if tok:
            return None
    return None


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


def parse_modinfo(text: object) -> list[ModinfoRow]:
    rows: list[ModinfoRow] = []
    for number, raw in _numbered(text):
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
                id=int(ident), loadaddr=addr, size=_to_int(size, 16), info=info,
                rev=_to_int(rev), name=name, description=description or None,
                truncated=truncated, line=number, raw=raw,
            )
        )
    return rows


def parse_ndd_value(text: object) -> Optional[int]:
    """``ndd -get`` prints a bare integer; error lines and tables give None."""
    for line in _lines(text):
        tok = line.strip()
        if not tok:
            continue
        return _to_int(tok) if re.fullmatch(r"-?\d+", tok) else None
    return None


# --------------------------------------------------------------------------- dladm / ipadm


@dataclass(frozen=True)
class DladmPhys:
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
        return _to_int(self.value)

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
    link: str
    state: Optional[str]
    speed: Optional[int]
    duplex: Optional[str]
    line: int
    raw: str


def _speed(token: Optional[str]) -> Optional[int]:
    if token is None:
        return None
    match = re.fullmatch(r"(\d+)([GMK]?)(?:b/s|bps)?", token.strip(), re.I)
    if not match:
        return None
    mult = {"": 1, "M": 1, "G": 1000, "K": 0}[match.group(2).upper()]
    return int(match.group(1)) * mult if mult else None


def parse_dladm_show_phys(text: object) -> list[DladmPhys]:
    out: list[DladmPhys] = []
    for row in _parse_table(text, "LINK", {"MEDIA", "STATE", "SPEED", "DUPLEX", "DEVICE"}):
        c = row.cells
        link = _dash_none(c.get("LINK"))
        if link is None:
            continue
        out.append(
            DladmPhys(
                link, _dash_none(c.get("MEDIA")), _dash_none(c.get("STATE")),
                _speed(c.get("SPEED")), _dash_none(c.get("DUPLEX")), _dash_none(c.get("DEVICE")),
                row.line, row.raw,
            )
        )
    return out


def parse_dladm_show_link(text: object) -> list[DladmLink]:
    """``dladm show-link``, with or without the older BRIDGE column."""
    out: list[DladmLink] = []
    for row in _parse_table(text, "LINK", {"CLASS", "MTU", "STATE", "BRIDGE", "OVER"}):
        c = row.cells
        link = _dash_none(c.get("LINK"))
        if link is None:
            continue
        out.append(
            DladmLink(
                link, _dash_none(c.get("CLASS")), _to_int(c.get("MTU")),
                _dash_none(c.get("STATE")), _dash_none(c.get("BRIDGE")),
                _dash_none(c.get("OVER")), row.line, row.raw,
            )
        )
    return out


def parse_dladm_show_linkprop(text: object) -> list[DladmLinkProp]:
    out: list[DladmLinkProp] = []
    for row in _parse_table(
        text, "LINK", {"PROPERTY", "PERM", "VALUE", "DEFAULT", "POSSIBLE", "EFFECTIVE"}
    ):
        c = row.cells
        link, prop = _dash_none(c.get("LINK")), _dash_none(c.get("PROPERTY"))
        if link is None or prop is None:
            continue
        value = c.get("VALUE") if "VALUE" in c else c.get("EFFECTIVE")
        out.append(
            DladmLinkProp(
                link, prop, _dash_none(c.get("PERM")), _dash_none(value),
                _dash_none(c.get("DEFAULT")), _dash_none(c.get("POSSIBLE")), row.line, row.raw,
            )
        )
    return out


_SHOW_DEV = re.compile(
    r"^\s*(\S+)\s+link:\s*(\S+)(?:\s+speed:\s*(\d+)\s*(\w+)?)?(?:\s+duplex:\s*(\S+))?", re.I
)


def parse_dladm_show_dev(text: object) -> list[DladmDev]:
    """Solaris 10 ``dladm show-dev`` (``link: up  speed: 1000 Mbps  duplex: full``), or the
    later tabular form with a LINK/STATE/SPEED/DUPLEX header."""
    out: list[DladmDev] = []
    tabular = _parse_table(text, "LINK", {"STATE", "SPEED", "DUPLEX"})
    for row in tabular:
        link = _dash_none(row.cells.get("LINK"))
        if link is None or "link:" in row.raw:
            continue
        out.append(
            DladmDev(
                link, _dash_none(row.cells.get("STATE")), _speed(row.cells.get("SPEED")),
                _dash_none(row.cells.get("DUPLEX")), row.line, row.raw,
            )
        )
    for number, raw in _numbered(text):
        match = _SHOW_DEV.match(raw)
        if not match:
            continue
        link, state, speed, unit, duplex = match.groups()
        mbps = _to_int(speed)
        if mbps is not None and unit and unit.lower().startswith("g"):
            mbps *= 1000
        out.append(DladmDev(link, state, mbps, duplex, number, raw))
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
        return _to_int(self.current)


def parse_ipadm_show_prop(text: object) -> list[IpadmProp]:
    out: list[IpadmProp] = []
    expected = {"PROTO", "IFNAME", "PERM", "CURRENT", "PERSISTENT", "DEFAULT", "POSSIBLE"}
    for row in _parse_table(text, "PROPERTY", expected):
        c = row.cells
        prop = _dash_none(c.get("PROPERTY"))
        if prop is None:
            continue
        out.append(
            IpadmProp(
                _dash_none(c.get("PROTO")), prop, _dash_none(c.get("PERM")),
                _dash_none(c.get("CURRENT")), _dash_none(c.get("PERSISTENT")),
                _dash_none(c.get("DEFAULT")), _dash_none(c.get("POSSIBLE")),
                _dash_none(c.get("IFNAME")), row.line, row.raw,
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
                self.mtu = _to_int(nxt)
            elif tok == "index" and self.index is None:
                self.index = _to_int(nxt)
            elif tok.upper().startswith("MTU:") and self.mtu is None:
                self.mtu = _to_int(tok[4:])
            elif (
                continuation
                and tok in ("UP", "BROADCAST", "RUNNING", "MULTICAST", "LOOPBACK")
                and tok not in self.flags
            ):
                self.flags.append(tok)  # old net-tools print flags on a continuation line

    def freeze(self) -> IfconfigEntry:
        family = "ipv6" if "IPv6" in self.flags else "ipv4" if "IPv4" in self.flags else None
        return IfconfigEntry(
            self.name, tuple(self.flags), self.mtu, family, self.index, self.line, self.raw
        )


def parse_ifconfig(text: object) -> list[IfconfigEntry]:
    """Solaris/illumos, BSD-style Linux net-tools (``flags=... mtu N``) and old net-tools
    (``Link encap`` ... ``MTU:1500``)."""
    out: list[IfconfigEntry] = []
    current: Optional[_IfBuild] = None
    for number, raw in _numbered(text):
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
                    current = _IfBuild(new.group(1), flags, number, raw)
                    current.feed(new.group(3), continuation=False)
                elif old is not None:
                    current = _IfBuild(old.group(1), [], number, raw)
                continue
        if current is not None:
            current.feed(raw, continuation=True)
    if current is not None:
        out.append(current.freeze())
    return out


# --------------------------------------------------------------------------- Linux


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


def parse_ethtool_k(text: object) -> EthtoolFeatures:
    interface: Optional[str] = None
    style = "unknown"
    features: dict[str, EthtoolFeature] = {}
    errors: list[str] = []
    parent: Optional[str] = None
    for number, raw in _numbered(text):
        line = raw.rstrip()
        if not line.strip():
            continue
        header = _ETHTOOL_HEADER.match(line)
        if header:
            interface = header.group(2).strip()
            style = "features" if header.group(1).lower() == "features" else "offload-parameters"
            continue
        low = line.strip().lower()
        if low.startswith(("cannot ", "no offload", "no data available")) or "not supported" in low:
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
            key, enabled, "[fixed]" in words, requested, feat_parent, number, raw
        )
    return EthtoolFeatures(interface, style, MappingProxyType(features), tuple(errors))


@dataclass(frozen=True)
class EthtoolInfo:
    driver: Optional[str]
    version: Optional[str]
    firmware_version: Optional[str]
    bus_info: Optional[str]
    fields: Mapping[str, str]
    lines: Mapping[str, int]


def parse_ethtool_i(text: object) -> EthtoolInfo:
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in _numbered(text):
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
        get("driver"), get("version"), get("firmware-version"), get("bus-info"),
        MappingProxyType(fields), MappingProxyType(lines),
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
            vals[tok] = _to_int(tokens[i + 1])
        elif tok == "state" and state is None:
            state = tokens[i + 1]
    flags = tuple(f for f in head.group(3).split(",") if f)
    return IpLink(
        _to_int(head.group(1)), head.group(2), flags, vals["mtu"], vals["minmtu"],
        vals["maxmtu"], state, number, raw,
    )


def parse_ip_link(text: object) -> list[IpLink]:
    """``ip [-d] link show``: one block per interface, values found by keyword anywhere in it."""
    out: list[IpLink] = []
    block: Optional[tuple[int, str, re.Match[str], list[str]]] = None
    for number, raw in _numbered(text):
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
        return _to_int(self.value)


@dataclass(frozen=True)
class SysctlValues:
    """``key = value`` settings (sysctl output or sysctl.conf); the last assignment wins."""

    values: Mapping[str, SysctlEntry]

    def get(self, key: str) -> Optional[SysctlEntry]:
        return self.values.get(key.replace("/", "."))


def parse_sysctl(text: object, key: Optional[str] = None) -> SysctlValues:
    """``sysctl`` output and ``sysctl.conf`` lines; a bare value (a ``/proc/sys`` file) is
    stored under ``key`` when given."""
    values: dict[str, SysctlEntry] = {}
    for number, raw in _numbered(text):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            name = name.strip().lstrip("-").strip().replace("/", ".")
            if not name or " " in name:
                continue
            values[name] = SysctlEntry(name, value.strip(), number)
        elif key is not None and re.fullmatch(r"[-\w.\t ]+", line) and ":" not in line:
            k = key.replace("/", ".")
            values[k] = SysctlEntry(k, line, number)
    return SysctlValues(MappingProxyType(values))


# --------------------------------------------------------------------------- ESXi


@dataclass(frozen=True)
class AdvancedSetting:
    path: str  # "/Net/Vmxnet3HwLRO", or the bare name from esxcfg-advcfg
    type: Optional[str]
    int_value: Optional[int]
    default_int_value: Optional[int]
    min_value: Optional[int]
    max_value: Optional[int]
    string_value: Optional[str]
    description: Optional[str]
    line: int


@dataclass(frozen=True)
class EsxAdvanced:
    settings: Mapping[str, AdvancedSetting]

    def get(self, name: str) -> Optional[AdvancedSetting]:
        """Look up ``/Net/Vmxnet3HwLRO``, ``Net.Vmxnet3HwLRO`` or the leaf ``Vmxnet3HwLRO``."""
        wanted = "/" + name.strip().strip("/").replace(".", "/")
        for path, setting in self.settings.items():
            if path.lower() == wanted.lower():
                return setting
        leaf = wanted.rsplit("/", 1)[-1].lower()
        for path, setting in self.settings.items():
            if path.rsplit("/", 1)[-1].lower() == leaf:
                return setting
        return None


def parse_esxcli_advanced(text: object) -> EsxAdvanced:
    settings: dict[str, AdvancedSetting] = {}
    block: dict[str, str] = {}
    start = 0

    def flush() -> None:
        path = block.get("path")
        if not path:
            return
        settings[path] = AdvancedSetting(
            path, block.get("type") or None, _to_int(block.get("int value")),
            _to_int(block.get("default int value")), _to_int(block.get("min value")),
            _to_int(block.get("max value")), block.get("string value") or None,
            block.get("description") or None, start,
        )

    for number, raw in _numbered(text):
        if ":" not in raw:
            continue
        key, _, value = raw.partition(":")
        key = key.strip().lower()
        if key == "path":
            flush()
            block = {}
            start = number
        block[key] = value.strip()
    flush()
    return EsxAdvanced(MappingProxyType(settings))


def parse_esxcfg_advcfg(text: object) -> EsxAdvanced:
    """``esxcfg-advcfg -g /Net/X`` prints ``Value of X is N``."""
    settings: dict[str, AdvancedSetting] = {}
    for number, raw in _numbered(text):
        match = re.search(r"Value of\s+(\S+)\s+is\s+(\S*)", raw)
        if not match:
            continue
        name, value = match.group(1), match.group(2)
        path = name if name.startswith("/") else "/" + name
        int_value = _to_int(value)
        settings[path] = AdvancedSetting(
            path, "integer" if int_value is not None else None, int_value, None, None, None,
            None if int_value is not None else value, None, number,
        )
    return EsxAdvanced(MappingProxyType(settings))


# --------------------------------------------------------------------------- driver.conf


@dataclass(frozen=True)
class PropSpec:
    """How the vmxnet3s driver reads one property: valid range and what it falls back to."""

    minimum: int
    maximum: int
    default: int
    multiple_of: int = 1
    note: str = ""


# Defaults and ranges of the vmxnet3s driver (reference: driver-and-network.md). RxBufPoolLimit
# depends on the instance's RxRingSize; the bounds below are for the default ring size and
# ConfValue computes them per instance.
VMXNET3S_PROPERTIES: Mapping[str, PropSpec] = MappingProxyType(
    {
        "TxRingSize": PropSpec(32, 4096, 256, 32),
        "RxRingSize": PropSpec(32, 4096, 256, 32),
        "RxBufPoolLimit": PropSpec(0, 2560, 512, 1, "range 0..10*RxRingSize, default 2*RxRingSize"),
        "EnableLSO": PropSpec(0, 1, 1),
        "MTU": PropSpec(60, 9000, 1500, 1, "read only by Solaris 9/10 builds"),
    }
)


@dataclass(frozen=True)
class ConfProperty:
    name: str
    values: tuple[ConfScalar, ...]
    line: int
    text: str  # the source text of the assignment, for evidence


@dataclass(frozen=True)
class ConfEntry:
    """One ``;``-terminated entry: global properties, or a device specification (name=...)."""

    properties: tuple[ConfProperty, ...]
    line: int

    @property
    def is_device_spec(self) -> bool:
        names = {p.name for p in self.properties}
        return "name" in names and bool(names & {"parent", "class"})


@dataclass(frozen=True)
class ConfProblem:
    line: int
    message: str


@dataclass(frozen=True)
class ConfValue:
    """The value the driver ends up using for one property on one instance."""

    name: str
    instance: int
    value: Optional[int]  # None: unknown property without a usable configured value
    configured: Optional[ConfScalar]  # what the conf file holds for this instance, if anything
    from_conf: bool  # True when the conf value is used as-is
    valid: bool  # False when a configured value was rejected (invalid -> default)
    reason: str
    line: Optional[int]


@dataclass(frozen=True)
class DriverConf:
    """A parsed driver.conf. ``properties`` holds the last global assignment of each name."""

    properties: Mapping[str, ConfProperty]
    entries: tuple[ConfEntry, ...] = ()
    problems: tuple[ConfProblem, ...] = ()
    duplicates: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: _EMPTY_DUP)

    def get(self, name: str) -> Optional[ConfProperty]:
        return self.properties.get(name)

    def value_for(self, prop: str, instance: int = 0) -> ConfValue:
        """What the vmxnet3s driver would use for ``prop`` on ``instance``.

        Mirrors the driver: the value at index ``instance`` of the integer list; a missing
        property, a list too short or a non-integer list gives the default; an out-of-range
        value (or a ring size not a multiple of 32) is logged as invalid and replaced by the
        default.
        """
        conf = self.properties.get(prop)
        spec = VMXNET3S_PROPERTIES.get(prop)
        line = conf.line if conf else None
        if spec is None:
            if conf is None or instance >= len(conf.values) or instance < 0:
                return ConfValue(prop, instance, None, None, False, True,
                                 "not a vmxnet3s property and not set for this instance", line)
            v = conf.values[instance]
            return ConfValue(prop, instance, v if isinstance(v, int) else None, v, True, True,
                             "not a vmxnet3s property: value shown as configured", line)
        minimum, maximum, default = spec.minimum, spec.maximum, spec.default
        if prop == "RxBufPoolLimit":
            ring = self.value_for("RxRingSize", instance).value or 256
            maximum, default = 10 * ring, 2 * ring
        if conf is None:
            return ConfValue(prop, instance, default, None, False, True,
                             "not set: driver default", None)
        if any(not isinstance(v, int) for v in conf.values):
            return ConfValue(prop, instance, default, None, False, False,
                             "not an integer list: the driver cannot read it and uses its default",
                             line)
        if instance < 0 or instance >= len(conf.values):
            return ConfValue(prop, instance, default, None, False, True,
                             f"no value for instance {instance} (list has {len(conf.values)}):"
                             " driver default", line)
        value = conf.values[instance]
        assert isinstance(value, int)
        if value < minimum or value > maximum:
            return ConfValue(prop, instance, default, value, False, False,
                             f"{value} outside {minimum}..{maximum}: invalid, driver uses default"
                             f" {default}", line)
        if spec.multiple_of > 1 and value % spec.multiple_of:
            return ConfValue(prop, instance, default, value, False, False,
                             f"{value} not a multiple of {spec.multiple_of}: invalid, driver uses"
                             f" default {default}", line)
        return ConfValue(prop, instance, value, value, True, True, "set in conf", line)

    def effective(self, instance: int = 0) -> Mapping[str, ConfValue]:
        """Every known vmxnet3s property as the driver would see it on ``instance``."""
        return MappingProxyType({p: self.value_for(p, instance) for p in VMXNET3S_PROPERTIES})


_EMPTY_DUP: Mapping[str, tuple[int, ...]] = MappingProxyType({})


def _conf_scalar(token: str, quoted: bool) -> ConfScalar:
    if quoted:
        return token
    tok = token.strip()
    try:
        if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", tok):
            return int(tok, 16)
        if re.fullmatch(r"-?0[0-7]+", tok):
            return int(tok, 8)
        if re.fullmatch(r"-?\d+", tok):
            return int(tok, 10)
    except ValueError:
        pass
    return tok


def _conf_tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, value, line): kinds "word", "string", "=", ",", ";"."""
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "=,;":
            yield ch, ch, line
            i += 1
        elif ch == '"':
            start_line = line
            j = i + 1
            buf: list[str] = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            yield "string", "".join(buf), start_line
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '=,;"#':
                j += 1
            yield "word", text[i:j], line
            i = j


def parse_driver_conf(text: object) -> DriverConf:
    """Parse driver.conf(5) syntax: ``name=value,value,...;`` entries, possibly spanning lines,
    ``#`` comments, quoted strings, decimal/octal/hex integers. Problems are recorded, not
    raised; the rest of the file is still read."""
    source = _text(text).replace("\r\n", "\n").replace("\r", "\n")
    src_lines = source.split("\n")
    entries: list[ConfEntry] = []
    problems: list[ConfProblem] = []
    props: list[ConfProperty] = []
    entry_line = 0
    # per-property parse state
    name: Optional[str] = None
    name_line = 0
    values: list[ConfScalar] = []
    expect = "name"  # name | eq_or_next | value | comma_or_next

    def close_prop() -> None:
        nonlocal name, values
        if name is not None:
            last = src_lines[name_line - 1] if 0 < name_line <= len(src_lines) else ""
            props.append(ConfProperty(name, tuple(values), name_line, last.strip()[:200]))
        name, values = None, []

    def close_entry(line: int) -> None:
        nonlocal props, entry_line, expect
        close_prop()
        if props:
            entries.append(ConfEntry(tuple(props), entry_line or line))
        props, entry_line, expect = [], 0, "name"

    for kind, val, line in _conf_tokens(source):
        if kind == ";":
            if expect == "value":
                problems.append(ConfProblem(line, f"missing value after '{name}='"))
            close_entry(line)
            continue
        if expect in ("name", "eq_or_next"):
            if kind == "=" and expect == "eq_or_next":
                expect = "value"
                continue
            if kind == "word":
                close_prop()
                name, name_line, expect = val, line, "eq_or_next"
                entry_line = entry_line or line
                continue
            problems.append(ConfProblem(line, f"unexpected {val!r}"))
            continue
        if expect == "value":
            if kind in ("word", "string"):
                values.append(_conf_scalar(val, kind == "string"))
                expect = "comma_or_next"
            else:
                problems.append(ConfProblem(line, f"expected a value after '{name}=', got {val!r}"))
            continue
        # comma_or_next
        if kind == ",":
            expect = "value"
        elif kind == "word":
            close_prop()
            name, name_line, expect = val, line, "eq_or_next"
        else:
            problems.append(ConfProblem(line, f"unexpected {val!r} after value of '{name}'"))
    if name is not None or props:
        problems.append(ConfProblem(len(src_lines), "last entry is not terminated by ';'"))
        close_entry(len(src_lines))

    properties: dict[str, ConfProperty] = {}
    seen: dict[str, list[int]] = {}
    for entry in entries:
        if entry.is_device_spec:
            continue
        for prop in entry.properties:
            properties[prop.name] = prop
            seen.setdefault(prop.name, []).append(prop.line)
    dups = {k: tuple(v) for k, v in seen.items() if len(v) > 1}
    return DriverConf(
        MappingProxyType(properties), tuple(entries), tuple(problems), MappingProxyType(dups)
    )


# --------------------------------------------------------------------------- /etc/system


@dataclass(frozen=True)
class SystemSet:
    module: Optional[str]
    name: str
    op: str  # "=", "|=" or "&="
    value: str
    line: int

    @property
    def int_value(self) -> Optional[int]:
        v = _conf_scalar(self.value, False)
        return v if isinstance(v, int) else None


@dataclass(frozen=True)
class SystemDirective:
    keyword: str  # forceload, exclude, moddir, rootdev, rootfs
    value: str
    line: int


@dataclass(frozen=True)
class EtcSystem:
    sets: tuple[SystemSet, ...]
    directives: tuple[SystemDirective, ...]

    def get(self, name: str, module: Optional[str] = None) -> Optional[SystemSet]:
        """The last ``set`` of ``[module:]name`` (later lines override earlier ones)."""
        found = None
        for s in self.sets:
            if s.name == name and s.module == module:
                found = s
        return found


_DIRECTIVE = re.compile(r"^(forceload|exclude|moddir|rootdev|rootfs|include)\s*:\s*(.*)$")
_SET_LINE = re.compile(r"^set\s+(?:(\w+):)?(\w+)\s*([|&]?=)\s*(\S+)", re.I)


def parse_etc_system(text: object) -> EtcSystem:
    sets: list[SystemSet] = []
    directives: list[SystemDirective] = []
    for number, raw in _numbered(text):
        line = raw.strip()
        if not line or line[0] in "*#":
            continue
        match = _SET_LINE.match(line)
        if match:
            module, name, op, value = match.groups()
            sets.append(SystemSet(module, name, op, value.strip("\"'"), number))
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            keyword, value = directive.group(1), directive.group(2).strip()
            directives.append(SystemDirective(keyword, value, number))
    return EtcSystem(tuple(sets), tuple(directives))


# --------------------------------------------------------------------------- BGP


@dataclass(frozen=True)
class BgpMd5Peer:
    """A BGP neighbor with a TCP-MD5 password. The secret itself is never kept."""

    peer: str
    asn: Optional[str]
    line: int
    redacted: str  # the config line with the secret replaced, safe for evidence
    path: Optional[str] = None


@dataclass(frozen=True)
class BgpConfig:
    router_asns: tuple[str, ...]
    peers: tuple[BgpMd5Peer, ...]


_TOP_KEEP = ("neighbor", "bgp ", "network", "address-family", "exit-address-family",
             "redistribute", "timers", "maximum-paths", "no ")


def parse_bgp_config(text: object, path: Optional[str] = None) -> BgpConfig:
    """Quagga ``bgpd.conf`` / FRR ``frr.conf``: ``neighbor <peer> password <secret>`` lines
    inside ``router bgp <asn>`` sections (and, leniently, outside them: asn is then None)."""
    asns: list[str] = []
    peers: list[BgpMd5Peer] = []
    current: Optional[str] = None
    for number, raw in _numbered(text):
        line = raw.strip()
        if not line or line[0] in "!#":
            continue
        router = re.match(r"^router\s+bgp(?:\s+(\S+))?", line, re.I)
        if router:
            current = router.group(1) or "?"
            asns.append(current)
            continue
        if not raw[:1].isspace() and not line.lower().startswith(_TOP_KEEP):
            current = None  # another top-level section (interface, line vty, exit, ...)
            continue
        match = re.match(r"^neighbor\s+(\S+)\s+password(\s+.*)?$", line, re.I)
        if match and (match.group(2) or "").strip():
            peer = match.group(1)
            redacted = f"neighbor {peer} password <redacted>"
            peers.append(BgpMd5Peer(peer, current, number, redacted, path))
    return BgpConfig(tuple(asns), tuple(peers))


# --------------------------------------------------------------------------- install database


@dataclass(frozen=True)
class InstallDB:
    """The tar4 install journal ``/etc/vmware-tools/locations`` replayed to its final state.

    ``files`` holds only live files (added and not removed later), mapping path to the recorded
    mtime or None; the ``*_lines`` mappings give the line of the last record that set each
    item, for evidence. ``links``/``moves`` are recorded as seen (their effect on the
    journal is not modelled).
    """

    answers: Mapping[str, str]
    answer_lines: Mapping[str, int]
    files: Mapping[str, Optional[int]]
    file_lines: Mapping[str, int]
    directories: Mapping[str, int]  # live directory -> line
    modified: Mapping[str, int]  # path -> line of the last "modified" record
    config: Mapping[str, int]  # path -> line of the last "config" record
    links: tuple[tuple[str, str, int], ...] = ()
    moves: tuple[tuple[str, str, int], ...] = ()
    junk_lines: tuple[int, ...] = ()
    removed_files: Mapping[str, int] = field(default_factory=lambda: _EMPTY_INT)
    record_count: int = 0

    def answer(self, key: str) -> Optional[str]:
        return self.answers.get(key)


_EMPTY_INT: Mapping[str, int] = MappingProxyType({})


def parse_locations(text: object) -> InstallDB:
    answers: dict[str, str] = {}
    answer_lines: dict[str, int] = {}
    files: dict[str, Optional[int]] = {}
    file_lines: dict[str, int] = {}
    dirs: dict[str, int] = {}
    modified: dict[str, int] = {}
    config: dict[str, int] = {}
    removed: dict[str, int] = {}
    links: list[tuple[str, str, int]] = []
    moves: list[tuple[str, str, int]] = []
    junk: list[int] = []
    records = 0
    for number, raw in _numbered(text):
        line = raw.strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        rest = rest.strip()
        args = rest.split()
        ok = True
        if kind == "file" and args:
            if len(args) >= 2 and re.fullmatch(r"\d+", args[-1]):
                path, mtime = " ".join(args[:-1]), int(args[-1])
            else:
                path, mtime = rest, None
            files[path] = mtime
            file_lines[path] = number
            removed.pop(path, None)
        elif kind == "remove_file" and args:
            files.pop(rest, None)
            file_lines.pop(rest, None)
            removed[rest] = number
        elif kind == "directory" and args:
            dirs[rest] = number
        elif kind == "remove_directory" and args:
            dirs.pop(rest, None)
        elif kind == "answer" and args:
            key = args[0]
            answers[key] = rest[len(key) :].strip()
            answer_lines[key] = number
        elif kind == "remove_answer" and args:
            answers.pop(args[0], None)
            answer_lines.pop(args[0], None)
        elif kind == "config" and args:
            config[rest] = number
        elif kind == "modified" and args:
            modified[rest] = number
        elif kind == "link" and len(args) >= 2:
            links.append((args[0], " ".join(args[1:]), number))
        elif kind == "move" and len(args) >= 2:
            moves.append((args[0], " ".join(args[1:]), number))
        else:
            ok = False
        if ok:
            records += 1
        else:
            junk.append(number)
    return InstallDB(
        MappingProxyType(answers), MappingProxyType(answer_lines), MappingProxyType(files),
        MappingProxyType(file_lines), MappingProxyType(dirs), MappingProxyType(modified),
        MappingProxyType(config), tuple(links), tuple(moves), tuple(junk),
        MappingProxyType(removed), records,
    )


# --------------------------------------------------------------------------- boot scripts


@dataclass(frozen=True)
class PersistentSetting:
    """A network tunable set from a boot script or SMF method (survives reboots).

    ``tool``: "ndd", "ipadm", "dladm", "ifconfig" or "ethtool"; ``action``: "-set",
    "set-prop", "set-ifprop", "set-linkprop", "mtu" or "-K"; ``target``: the ndd device
    (``/dev/ip``, ``/dev/vmxnet3s0``), the ipadm protocol or interface, the dladm link, the
    interface; ``properties``: (name, value) pairs. ``temporary`` is True for ``-t``.
    """

    tool: str
    action: str
    target: Optional[str]
    properties: tuple[tuple[str, str], ...]
    protocol: Optional[str]
    temporary: bool
    path: str
    line: int
    text: str


def _strip_comment(line: str) -> str:
    quote: Optional[str] = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _prop_pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for part in spec.split(","):
        if "=" in part:
            k, _, v = part.partition("=")
            pairs.append((k.strip(), v.strip()))
    return pairs


_SETTING_TOOLS = frozenset({"ndd", "ipadm", "dladm", "ifconfig", "ethtool"})
_CMD_PREFIXES = frozenset(
    {"sudo", "pfexec", "exec", "nohup", "command", "time", "if", "then", "do", "else", "elif",
     "while", "until", "!", "{", "(", "`", "$("}
)


def _setting_from(
    tokens: list[str], path: str, line: int, text: str
) -> Optional[PersistentSetting]:
    # The tool must be the command word: only prefixes such as ``sudo``, ``if``, variable
    # assignments or a case pattern (``start)``) may precede it, so ``echo "ndd -set"`` is
    # not a setting.
    idx = 0
    while idx < len(tokens) and (
        tokens[idx] in _CMD_PREFIXES
        or re.fullmatch(r"\w+=\S*", tokens[idx])
        or tokens[idx].endswith(")")
    ):
        idx += 1
    if idx >= len(tokens):
        return None
    tool = tokens[idx].strip("\"'`(){}").rsplit("/", 1)[-1]
    if tool not in _SETTING_TOOLS:
        return None
    args = [a for a in (t.strip("\"'`()") for t in tokens[idx + 1 :]) if a]
    if tool == "ndd":
        if len(args) >= 4 and args[0] == "-set":
            return PersistentSetting("ndd", "-set", args[1], ((args[2], args[3]),), None, False,
                                     path, line, text)
        return None
    if tool == "ifconfig":
        if "mtu" in args[1:]:
            i = args.index("mtu", 1)
            if i + 1 < len(args):
                return PersistentSetting("ifconfig", "mtu", args[0], (("mtu", args[i + 1]),),
                                         None, False, path, line, text)
        return None
    if tool == "ethtool":
        if len(args) >= 4 and args[0] in ("-K", "--features", "--offload"):
            feats = tuple((normalise_feature_name(args[i]), args[i + 1])
                          for i in range(2, len(args) - 1, 2))
            return PersistentSetting("ethtool", "-K", args[1], feats, None, False, path, line, text)
        return None
    if not args or args[0] not in ("set-prop", "set-ifprop", "set-linkprop"):
        return None
    action = args[0]
    props: list[tuple[str, str]] = []
    protocol: Optional[str] = None
    temporary = False
    operands: list[str] = []
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-t", "--temporary"):
            temporary = True
        elif a in ("-p", "--prop") and i + 1 < len(args):
            props.extend(_prop_pairs(args[i + 1]))
            i += 1
        elif a.startswith("-p") and len(a) > 2:
            props.extend(_prop_pairs(a[2:]))
        elif a in ("-m", "--module") and i + 1 < len(args):
            protocol = args[i + 1]
            i += 1
        elif a.startswith("-m") and len(a) > 2:
            protocol = a[2:]
        elif a in ("-R", "--root-dir") and i + 1 < len(args):
            i += 1
        elif not a.startswith("-"):
            operands.append(a)
        i += 1
    if not props:
        return None
    target = operands[-1] if operands else None
    if action == "set-prop" and protocol is None:
        protocol = target
    return PersistentSetting(tool, action, target, tuple(props), protocol, temporary, path,
                             line, text)


def find_persistent_settings(text: object, path: str) -> list[PersistentSetting]:
    """Every ndd/ipadm/dladm (and ifconfig mtu, ethtool -K) setting a script makes, with its
    line; commented-out lines are skipped, backslash continuations are joined."""
    found: list[PersistentSetting] = []
    pending = ""
    pending_line = 0
    for number, raw in _numbered(text):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            if not pending:
                pending_line = number
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        start = pending_line if pending else number
        pending = ""
        code = _strip_comment(logical)
        for segment in re.split(r";|&&|\|\||\||\bthen\b|\bdo\b|\belse\b", code):
            tokens = segment.split()
            if not tokens:
                continue
            setting = _setting_from(tokens, path, start, logical.strip()[:200])
            if setting is not None:
                found.append(setting)
    return found
