"""Which family of operating system a guest is, with the evidence that says so.

The family decides which checks apply at all: the Solaris tar installer's driver selection
only runs on SunOS, illumos distributions ship their own ``vmxnet3s``, and a Linux guest's
Tools configurator never runs ``configure_module_solaris``. Getting it wrong is how a Linux
guest came to be told that "Solaris 11 guests get the Solaris 10 build".

The strongest evidence wins: what the running kernel says (``uname``), then what the image
says about itself (``/etc/os-release``, ``/etc/release``). Every answer names its source; when
nothing settles it the fact is unavailable, with the reason, and callers treat the guest as
they did before families existed (every check evaluated).
"""

from __future__ import annotations

from typing import Optional

from toolsfix.findings import Evidence
from toolsfix.guest import parsers as p
from toolsfix.guest.fact import Fact, fact_missing, fact_of
from toolsfix.knowledge import (
    ILLUMOS_OS_RELEASE_IDS,
    ILLUMOS_UNAME_V_PREFIXES,
    OPENSOLARIS_UNAME_V,
    OsFamily,
    sunos_minor,
)

__all__ = ["os_family"]

_SUNOS_RELEASE_FAMILIES = ("solaris", "opensolaris", "illumos")


def _from_uname_v(uname_v: Fact[str]) -> Optional[Fact[OsFamily]]:
    """illumos kernels name themselves in ``uname -v``; only a value the kernel printed counts
    (a value derived from /etc/release is weighed with the release file instead)."""
    src = uname_v.source
    if not uname_v.known or src is None or src.command is None or uname_v.value is None:
        return None
    value = uname_v.value.strip()
    if value.startswith(ILLUMOS_UNAME_V_PREFIXES):
        return fact_of(
            OsFamily.ILLUMOS,
            Evidence(command=src.command, excerpt=value, detail="an illumos kernel version"),
        )
    return None


def _from_os_release(osr: Fact[p.OsRelease]) -> Optional[Fact[OsFamily]]:
    value = osr.value
    if not osr.known or value is None or not value.id:
        return None
    ident = value.id.strip().lower()
    line = value.lines.get("ID")
    where = Evidence(path="/etc/os-release", line=line, excerpt=f"ID={value.id}")
    if ident in ILLUMOS_OS_RELEASE_IDS:
        return fact_of(OsFamily.ILLUMOS, where)
    if ident == "solaris":
        return fact_of(OsFamily.SOLARIS_11, where)  # os-release arrived with Solaris 11.4
    if ident == "esxi":
        return fact_of(OsFamily.ESXI, where)
    return fact_of(OsFamily.LINUX, where)  # every other ID is a Linux distribution


def _from_release(release: Fact[p.Release]) -> Optional[Fact[OsFamily]]:
    rel = release.value
    if not release.known or rel is None or rel.family not in _SUNOS_RELEASE_FAMILIES:
        return None
    src = release.source or Evidence(path="/etc/release", line=rel.line, excerpt=rel.name)
    if rel.family == "illumos":
        return fact_of(OsFamily.ILLUMOS, src)
    if rel.family == "opensolaris":
        return fact_of(OsFamily.OPENSOLARIS, src)
    version = rel.version or ""
    if version == "10":
        return fact_of(OsFamily.SOLARIS_10, src)
    if version.startswith("11"):
        return fact_of(OsFamily.SOLARIS_11, src)
    minor = sunos_minor(rel.uname_r)
    if minor is not None and minor < 10:
        return fact_of(OsFamily.SOLARIS_OLD, src)
    return None


def _from_uname_r(uname_r: Fact[str], uname_v: Fact[str]) -> Optional[Fact[OsFamily]]:
    """SunOS ``uname -r`` alone: 5.10 is Solaris 10, below it older; 5.11 with ``snv_111b``
    is OpenSolaris 2009.06. A bare 5.11 could be Solaris 11 or illumos, so it decides
    nothing."""
    src = uname_r.source
    minor = sunos_minor(uname_r.value) if uname_r.known else None
    if minor is None or src is None:
        return None
    if minor == 10:
        return fact_of(OsFamily.SOLARIS_10, src)
    if minor < 10:
        return fact_of(OsFamily.SOLARIS_OLD, src)
    if uname_v.known and uname_v.value == OPENSOLARIS_UNAME_V:
        return fact_of(OsFamily.OPENSOLARIS, uname_v.source or src)
    return None


def os_family(
    kind: Fact[str],
    release: Fact[p.Release],
    os_release: Fact[p.OsRelease],
    uname_r: Fact[str],
    uname_v: Fact[str],
) -> Fact[OsFamily]:
    """The guest's :class:`~toolsfix.knowledge.OsFamily`, strongest evidence first.

    ``kind`` is the coarse guest kind ("solaris" for any SunOS, "linux", "esxi"), already
    established from ``uname -s`` or the release files; the family refines it.
    """
    if kind.known and kind.value in ("linux", "esxi"):
        family = OsFamily.LINUX if kind.value == "linux" else OsFamily.ESXI
        return fact_of(family, kind.source or Evidence(detail=f"guest kind {kind.value}"))
    for found in (
        _from_uname_v(uname_v),
        _from_release(release) if _illumos_release(release) else None,
        _from_os_release(os_release),
        _from_release(release),
        _from_uname_r(uname_r, uname_v),
    ):
        if found is not None:
            return found
    why = "neither uname, /etc/release nor /etc/os-release names the OS family"
    if kind.known and kind.value == "solaris":
        why = "a SunOS guest whose release (Solaris 10, 11, OpenSolaris or illumos) is not known"
    return fact_missing(why)


def _illumos_release(release: Fact[p.Release]) -> bool:
    """An /etc/release naming an illumos distribution outranks os-release (which an illumos
    image may well carry with a distribution-specific ID)."""
    return release.known and release.value is not None and release.value.family == "illumos"
