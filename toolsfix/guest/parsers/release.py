"""Which operating system a guest runs: ``/etc/release``, ``/etc/os-release``, ``uname``.

The configurator picks a driver build from ``uname -r`` (5.10 vs 5.11) and from ``uname -v``
being exactly ``snv_111b``. An offline image root cannot run ``uname``, so :class:`Release`
also carries the uname values that follow from the release line, and says how it derived them:
a reviewer must be able to tell a measured value from an inferred one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from toolsfix.guest.parsers._common import TextInput, lines_of, numbered, to_int

__all__ = [
    "SOLARIS10_UPDATES",
    "SUNOS_FAMILIES",
    "OsRelease",
    "Release",
    "Uname",
    "parse_isainfo_b",
    "parse_os_release",
    "parse_release",
    "parse_uname",
    "release_from_os_release",
]

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
#: Release families that run a SunOS kernel (so ``uname -s`` is ``SunOS``).
SUNOS_FAMILIES: frozenset[str] = frozenset({"solaris", "opensolaris", "illumos"})

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

    family: str  # "solaris", "opensolaris", "illumos", "linux" or "unknown"
    version: Optional[str]  # "10", "11.0", "11.4", "2009.06", "22.04", ...
    update: Optional[int]  # Solaris 10 update number (u1..u11; 0 = 3/05 GA)
    arch: Optional[str]  # "x86" or "sparc"
    name: str = ""  # the release line, stripped (PRETTY_NAME for os-release)
    build: Optional[str] = None  # s10x_u11wos_24a, snv_111b, oi_151a...
    uname_r: Optional[str] = None
    uname_v: Optional[str] = None
    derivation: str = ""
    line: Optional[int] = None
    error: Optional[str] = None

    @property
    def is_solaris11(self) -> bool:
        return self.family == "solaris" and (self.version or "").startswith("11")

    @property
    def is_sunos(self) -> bool:
        """A SunOS release (Solaris, OpenSolaris, illumos): the tar installer's territory."""
        return self.family in SUNOS_FAMILIES


def _unknown_release(error: str, name: str = "", line: Optional[int] = None) -> Release:
    return Release(
        family="unknown", version=None, update=None, arch=None, name=name, line=line, error=error
    )


def _update_of(build: Optional[str]) -> Optional[int]:
    """``s10x_u11wos_24a`` -> 11: the update number inside a Solaris build token."""
    upd = re.search(r"_u(\d+)", build) if build else None
    return int(upd.group(1)) if upd else None


def parse_release(text: TextInput) -> Release:
    """Parse ``/etc/release``: the first line naming an OS (it is centred with leading spaces)."""
    found: Optional[tuple[int, str]] = None
    for number, raw in numbered(text):
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
            family="opensolaris",
            version=version,
            update=None,
            arch=arch,
            name=line,
            build=snv,
            uname_r="5.11",
            uname_v=snv,
            line=number,
            derivation="OpenSolaris is SunOS 5.11; uname -v is the snv_ build token"
            + ("" if snv else " (not present in the release line)"),
        )

    if any(n in low_line for n in _ILLUMOS_NAMES):
        oi = next((t for t in tokens if re.fullmatch(r"oi_\w+", t)), None)
        build = snv or oi
        version_match = re.search(r"\b(\d{4}\.\d{2}|r\d{6}\w*|\d+m\d+)\b", line)
        return Release(
            family="illumos",
            version=version_match.group(1) if version_match else None,
            update=None,
            arch=arch,
            name=line,
            build=build,
            uname_r="5.11",
            uname_v=build,
            line=number,
            derivation="illumos distributions are SunOS 5.11; uname -v "
            + ("is the build token" if build else "is distribution-specific and not derivable"),
        )

    match = re.search(r"\bSolaris\s+(\d+(?:\.\d+)?)\b", line, re.I)
    if not match:
        return _unknown_release("release line names no Solaris version", line, number)
    return _solaris_release(match.group(1), line, number, tokens, arch, snv)


def _solaris_release(
    major: str, line: str, number: int, tokens: list[str], arch: Optional[str], snv: Optional[str]
) -> Release:
    """The Release of a ``Solaris <major>`` line (10, 11, 11.x, or the legacy 2.x/7/8/9)."""
    lower = [t.lower() for t in tokens]
    rest = tokens[lower.index("solaris") + 2 :] if "solaris" in lower else []
    date = next((t for t in rest if re.fullmatch(r"\d{1,2}/\d{2}", t)), None)
    build = next((t for t in tokens if re.fullmatch(r"s\d+[xs]?_u\d+\w*", t)), None) or snv

    if major == "10":
        update = SOLARIS10_UPDATES.get(date) if date else None
        if update is None:
            update = _update_of(build)
        return Release(
            family="solaris",
            version="10",
            update=update,
            arch=arch,
            name=line,
            build=build,
            uname_r="5.10",
            uname_v="Generic",
            line=number,
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
            family="solaris",
            version=version,
            update=None,
            arch=arch,
            name=line,
            build=build,
            uname_r="5.11",
            uname_v=uname_v,
            line=number,
            derivation=note,
        )
    legacy = re.fullmatch(r"2\.(\d)|([789])", major)
    if legacy:
        minor = legacy.group(1) or legacy.group(2)
        return Release(
            family="solaris",
            version=major,
            update=_update_of(build),
            arch=arch,
            name=line,
            build=build,
            uname_r=f"5.{minor}",
            uname_v="Generic",
            line=number,
            derivation=f"Solaris {major} is SunOS 5.{minor}",
        )
    return Release(
        family="solaris",
        version=major,
        update=None,
        arch=arch,
        name=line,
        build=build,
        line=number,
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


def parse_os_release(text: TextInput) -> OsRelease:
    """``KEY=value`` lines; values may be single- or double-quoted (os-release(5))."""
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in numbered(text):
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
    return OsRelease(fields=MappingProxyType(fields), lines=MappingProxyType(lines))


def release_from_os_release(osr: OsRelease) -> Release:
    """The Release ``/etc/os-release`` describes, for a guest without a usable /etc/release.

    A Solaris 11.4 image gets the Solaris release with its derived uname values. A Linux guest
    gets family ``linux`` named after ``PRETTY_NAME`` (so reports can say "Ubuntu 12.04"), with
    no uname values: a Linux kernel version does not follow from the distribution release.
    illumos distributions and ESXi stay unknown here: they are identified by other files.
    """
    ident = (osr.id or "").lower()
    if ident != "solaris":
        return _linux_release(osr, ident)
    version = osr.version_id or osr.version
    if not version or not re.fullmatch(r"11(\.\d+)*", version):
        return _unknown_release(f"os-release VERSION {version!r} is not a Solaris 11 version")
    short = ".".join(version.split(".")[:2]) if "." in version else "11.0"
    return Release(
        family="solaris",
        version=short,
        update=None,
        arch=None,
        name=osr.get("PRETTY_NAME") or f"Solaris {short}",
        build=osr.build_id,
        uname_r="5.11",
        uname_v=short,
        line=osr.lines.get("VERSION"),
        derivation="derived from /etc/os-release VERSION: Solaris 11 is SunOS 5.11",
    )


def _linux_release(osr: OsRelease, ident: str) -> Release:
    if not ident or ident == "esxi" or ident in _ILLUMOS_NAMES:
        return _unknown_release(f"os-release ID is {osr.id!r}, not solaris")
    version = osr.version_id or osr.version
    label = osr.get("NAME") or osr.id or ident
    name = osr.get("PRETTY_NAME") or (f"{label} {version}" if version else label)
    line = osr.lines.get("VERSION_ID") or osr.lines.get("VERSION") or osr.lines.get("ID")
    return Release(
        family="linux",
        version=version,
        update=None,
        arch=None,
        name=name,
        build=osr.build_id,
        line=line,
        derivation="Linux release from /etc/os-release; uname values are not derivable from it",
    )


_MACHINE = re.compile(
    r"i86pc|i\d86|x86_64|amd64|aarch64|arm\w*|sun4\w|ppc\w*|s390x|riscv\w*|mips\w*"
)


@dataclass(frozen=True)
class Uname:
    """``uname`` fields (``-a``, or the one a single-value option printed); ``error`` when
    the output made no sense."""

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
        return to_int(parts[1]) if len(parts) >= 2 else None


_UNAME_FIELDS: Mapping[str, str] = MappingProxyType(
    {"r": "release", "v": "version", "s": "sysname", "n": "nodename", "m": "machine"}
)


def parse_uname(text: TextInput, field: Optional[str] = None) -> Uname:
    """Parse ``uname -a`` output, or the single value printed by ``uname -r/-v/-s``.

    ``field`` names the option that produced ``text`` ("r", "v", "s"); without it, a single
    token is classified heuristically and a multi-token line is read as ``uname -a``.
    """
    first = next((ln.strip() for ln in lines_of(text) if ln.strip()), "")
    if not first:
        return Uname(error="empty output")
    if field is not None and field in _UNAME_FIELDS:
        return Uname(**{_UNAME_FIELDS[field]: first})
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
        return Uname(
            sysname=sysname,
            nodename=nodename,
            release=release,
            version=rest[0] if rest else None,
            machine=rest[1] if len(rest) > 1 else None,
        )
    # Linux / ESXi: the version has spaces; it runs up to the first machine-type token.
    idx = next((i for i, t in enumerate(rest) if _MACHINE.fullmatch(t)), len(rest))
    return Uname(
        sysname=sysname,
        nodename=nodename,
        release=release,
        version=" ".join(rest[:idx]) or None,
        machine=rest[idx] if idx < len(rest) else None,
    )


def parse_isainfo_b(text: TextInput) -> Optional[int]:
    """``isainfo -b`` prints 32 or 64; anything else is None."""
    for line in lines_of(text):
        tok = line.strip()
        if tok in ("32", "64"):
            return int(tok)
        if tok:
            return None
    return None
