"""What toolsfix knows about VMware Tools and Solaris releases, in one place.

Everything here is a fact about the world, not about an input: which modules the Solaris tar
distrib ships, which build directory each release needs, how a driver path in a distrib maps to
(layout, directory, module), which ``vmxnet3s`` builds honour ``accept-jumbo`` and which LSO
transmit path a build uses. Readers, facts and checks import it; it imports nothing of
toolsfix, so adding a release or a module is one edit here (and a test), never a hunt through
five modules that each kept their own copy.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

# --------------------------------------------------------------------------------------------
# Modules

#: Every kernel module the Solaris tar distrib ships under ``lib/modules/binary/<dir>/``.
SOLARIS_MODULES: tuple[str, ...] = ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock", "vmci")
#: Modules ``configure_module_solaris`` is asked to configure (vmci's branch is dead code there).
CONFIGURED_MODULES: tuple[str, ...] = ("vmxnet3s", "vmxnet", "vmmemctl", "vmhgfs", "vmblock")
#: Modules whose installed build ``verify`` identifies on a guest (the ones that misbehave when
#: the wrong build is installed).
VERIFIED_MODULES: tuple[str, ...] = ("vmxnet3s", "vmxnet", "vmmemctl")
#: The NIC driver at the heart of the mission.
NIC_MODULE = "vmxnet3s"

# --------------------------------------------------------------------------------------------
# Build directories

#: Solaris build directory families (``lib/modules/binary/<family>[_64]``).
SOLARIS_FAMILIES: tuple[str, ...] = ("10", "11", "2009.06")
#: Every Solaris build directory a distrib can carry.
SOLARIS_DIRS: tuple[str, ...] = tuple(d for f in SOLARIS_FAMILIES for d in (f, f"{f}_64"))
_SOLARIS_DIR_RE = re.compile(r"\d+(?:\.\d+)?(?:_64)?")
#: Guest kernel directories a module is installed to, with the architecture each implies.
DRIVER_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("/kernel/drv", "i386"),
    ("/kernel/drv/amd64", "amd64"),
)


def is_solaris_dir(name: str) -> bool:
    """``10``, ``11_64``, ``2009.06``: a Solaris build directory name (not a Linux kernel dir)."""
    return _SOLARIS_DIR_RE.fullmatch(name) is not None


def family_of_dir(os_dir: str) -> str:
    """``11_64`` -> ``11``: the release family a build directory belongs to."""
    return os_dir[: -len("_64")] if os_dir.endswith("_64") else os_dir


def arch_of_dir(os_dir: str) -> str:
    """``amd64`` for a ``_64`` directory, ``i386`` otherwise (Solaris x86 naming)."""
    return "amd64" if os_dir.endswith("_64") else "i386"


def build_dir(family: str, arch: str) -> str:
    """The directory of ``family``'s build for ``arch`` (``amd64`` -> ``<family>_64``)."""
    return f"{family}_64" if arch == "amd64" else family


# --------------------------------------------------------------------------------------------
# Driver paths in a distrib

BINARY_DIR = "lib/modules/binary/"


@dataclass(frozen=True)
class BuildPath:
    """Where a driver build sits in a distrib: ``layout`` is ``solaris`` or ``linux``."""

    layout: str
    os_dir: str
    module: str


_MODULE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=8192)
def classify_build(path: str) -> Optional[BuildPath]:
    """The driver build a distrib path holds, or None for anything else.

    One rule for the inventory and for ``fingerprints learn``, so they count the same builds.
    Cached (the answer is immutable): the reader's ``want``, the inventory and learning each
    ask for every member of a tarball of up to tens of thousands.
    Solaris: ``lib/modules/binary/<solaris dir>/<module>`` with no extension. Linux:
    ``lib/modules/binary/<kernel dir>/objects/<module>.o`` or ``.ko``. A ``properties`` or
    ``.conf`` file beside the objects is not a module. Paths may carry a prefix
    (``vmware-tools-distrib/``) and ``./`` segments.
    """
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    at = path.find(BINARY_DIR)
    if at < 0 or (at > 0 and path[at - 1] != "/"):
        return None
    parts = path[at + len(BINARY_DIR) :].split("/")
    if (
        len(parts) == 2
        and is_solaris_dir(parts[0])
        and _MODULE_NAME_RE.fullmatch(parts[1])
        and parts[1] != "properties"
    ):
        return BuildPath("solaris", parts[0], parts[1])
    if len(parts) == 3 and parts[1] == "objects" and not is_solaris_dir(parts[0]):
        for ext in (".o", ".ko"):
            stem = parts[2][: -len(ext)]
            if parts[2].endswith(ext) and _MODULE_NAME_RE.fullmatch(stem):
                return BuildPath("linux", parts[0], stem)
    return None


# --------------------------------------------------------------------------------------------
# Releases the configurator is simulated on


@dataclass(frozen=True)
class Guest:
    """What the configurator sees of a guest: ``uname -r``, ``uname -v``, /etc/release line 1."""

    name: str
    uname_r: str
    uname_v: str
    release: str

    @property
    def minor(self) -> int:
        return int(self.uname_r.split(".")[1])


#: The guests of the JSON contract (``driver_dirs`` keys), plus Solaris 9 to show what "nothing
#: copied" looks like.
GUESTS: tuple[Guest, ...] = (
    Guest("solaris-9", "5.9", "Generic_122300-61", "Solaris 9 9/05 s9x_u8wos_05 x86"),
    Guest("solaris-10", "5.10", "Generic_147441-21", "Oracle Solaris 10 1/13 s10x_u11wos_24a X86"),
    Guest("solaris-11.0", "5.11", "11.0", "Oracle Solaris 11 11/11 X86"),
    Guest("solaris-11.1", "5.11", "11.1", "Oracle Solaris 11.1 X86"),
    Guest("solaris-11.4", "5.11", "11.4.0.15.0", "Oracle Solaris 11.4 X86"),
    Guest("opensolaris-2009.06", "5.11", "snv_111b", "OpenSolaris 2009.06 snv_111b X86"),
)
GUESTS_BY_NAME: Mapping[str, Guest] = {g.name: g for g in GUESTS}
SOLARIS_11_GUESTS: tuple[str, ...] = ("solaris-11.0", "solaris-11.1", "solaris-11.4")
#: A representative simulated guest per build family (what a fixed configurator picks there).
GUEST_OF_FAMILY: Mapping[str, str] = {
    "10": "solaris-10",
    "11": "solaris-11.1",
    "2009.06": "opensolaris-2009.06",
}
#: ``uname -v`` of OpenSolaris 2009.06, which gets its own build family.
OPENSOLARIS_UNAME_V = "snv_111b"
_SUNOS_RELEASE_RE = re.compile(r"5\.(\d{1,3})")


def sunos_minor(uname_r: Optional[str]) -> Optional[int]:
    """``5.11`` -> 11: the SunOS minor release, None for anything that is not SunOS's ``5.<n>``.

    SunOS says exactly ``5.<minor>``; a Linux kernel such as ``5.10.0-21-amd64`` is not SunOS 5.10,
    which is why every reader of ``uname -r`` asks here instead of testing ``startswith("5.")``.
    """
    m = _SUNOS_RELEASE_RE.fullmatch(uname_r.strip()) if uname_r else None
    return int(m.group(1)) if m else None


def expected_family(uname_r: Optional[str], uname_v: Optional[str]) -> Optional[str]:
    """The build family a guest needs (a fixed configurator's choice), None when not Solaris 10+.

    SunOS 5.10 -> ``10``; 5.11 -> ``11`` except OpenSolaris 2009.06 (``snv_111b``) ->
    ``2009.06``; anything newer than 5.11 -> ``11`` (the newest family the distrib ships).
    """
    minor = sunos_minor(uname_r)
    if minor is None:
        return None
    if minor < 10:
        return None
    if minor == 11 and uname_v == OPENSOLARIS_UNAME_V:
        return "2009.06"
    return "11" if minor >= 11 else "10"


# --------------------------------------------------------------------------------------------
# Driver behaviour

#: Build families whose ``vmxnet3s`` reads ``accept-jumbo`` from vmxnet3s.conf (the Solaris 10
#: and OpenSolaris builds); the Solaris 11 builds take the MTU from dladm and ignore ``MTU=``.
ACCEPT_JUMBO_FAMILIES: tuple[str, ...] = ("10", "2009.06")

OLD_LSO_PATH = "old-path"
NEW_LSO_PATH = "new-path"
UNKNOWN_LSO_PATH = "unknown"
_IDENTITY_PREFIX = "VMware EtherAdapter v3 "
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def _version_tuple(text: Optional[str]) -> Optional[tuple[int, int, int]]:
    if not text:
        return None
    match = _VERSION_RE.search(text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def lso_era(
    identity: Optional[str], tools_version: Optional[str] = None, os_dir: Optional[str] = None
) -> str:
    """Which LSO transmit path a vmxnet3s build uses: ``old-path``, ``new-path`` or ``unknown``.

    ``b<build>`` identities come from Tools 8.x-9.4.x, all on the old path. ``1.1.0.0`` means
    Tools 9.10 or later, which use the new path -- except the 10.1.x *Solaris 10* builds, which
    went back to the old one. So ``1.1.0.0`` alone is only decisive for a non-Solaris-10
    directory, or when the Tools version shows it is not 10.1.x. Inconsistent inputs (a
    ``b<build>`` string with a 9.10+ version) and illumos strings give ``unknown``: the honest
    answer when the facts do not settle it.
    """
    if not identity or not identity.startswith(_IDENTITY_PREFIX):
        return UNKNOWN_LSO_PATH
    version = _version_tuple(tools_version)
    tail = identity[len(_IDENTITY_PREFIX) :].strip()
    if re.fullmatch(r"b\d+", tail):
        if version is not None and version >= (9, 10, 0):
            return UNKNOWN_LSO_PATH
        return OLD_LSO_PATH
    if tail != "1.1.0.0":
        return UNKNOWN_LSO_PATH
    base = None
    if os_dir is not None and is_solaris_dir(os_dir):
        base = family_of_dir(os_dir)
    if version is not None:
        if version < (9, 10, 0):
            return UNKNOWN_LSO_PATH
        if version[:2] == (10, 1):
            if base is None:
                return UNKNOWN_LSO_PATH
            return OLD_LSO_PATH if base == "10" else NEW_LSO_PATH
        return NEW_LSO_PATH
    if base is None or base == "10":
        return UNKNOWN_LSO_PATH
    return NEW_LSO_PATH


# --------------------------------------------------------------------------------------------
# Guest operating systems


class OsFamily(str, enum.Enum):
    """The kind of guest, which decides which checks apply at all."""

    SOLARIS_10 = "solaris-10"
    SOLARIS_11 = "solaris-11"
    SOLARIS_OLD = "solaris-9-or-older"
    OPENSOLARIS = "opensolaris"
    ILLUMOS = "illumos"  # OpenIndiana, OmniOS, SmartOS: vmxnet3s ships with the OS
    LINUX = "linux"
    ESXI = "esxi"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """How a message names the family: ``Solaris 11``, ``illumos``, ``Linux``."""
        return _FAMILY_LABELS[self]


_FAMILY_LABELS: Mapping[OsFamily, str] = {
    OsFamily.SOLARIS_10: "Solaris 10",
    OsFamily.SOLARIS_11: "Solaris 11",
    OsFamily.SOLARIS_OLD: "Solaris 9 or older",
    OsFamily.OPENSOLARIS: "OpenSolaris",
    OsFamily.ILLUMOS: "illumos",
    OsFamily.LINUX: "Linux",
    OsFamily.ESXI: "ESXi",
    OsFamily.UNKNOWN: "unknown",
}


#: Families that run VMware's Solaris tar installer (``configure_module_solaris`` applies).
TAR_INSTALLER_FAMILIES: frozenset[OsFamily] = frozenset(
    {OsFamily.SOLARIS_10, OsFamily.SOLARIS_11, OsFamily.OPENSOLARIS, OsFamily.SOLARIS_OLD}
)


class Provenance(str, enum.Enum):
    """Where an installed driver came from: decides which checks can judge it."""

    TAR_INSTALLER = "vmware-tools-tar"  # recorded in the Tools install database (journal)
    PACKAGE = "package"  # IPS, SVR4, rpm or deb package (e.g. open-vm-tools)
    OS = "os"  # shipped with the operating system (illumos in-tree vmxnet3s)
    UNKNOWN = "unknown"


#: Families whose kernel is SunOS: drivers live in ``/kernel/drv[/amd64]``, and VMware's Solaris
#: tar installer can run there (illumos included: it is SunOS 5.11 to the configurator).
SUNOS_FAMILIES: frozenset[OsFamily] = TAR_INSTALLER_FAMILIES | {OsFamily.ILLUMOS}

#: ``ID=`` values of ``/etc/os-release`` that name an illumos distribution.
ILLUMOS_OS_RELEASE_IDS: frozenset[str] = frozenset(
    {"illumos", "openindiana", "omnios", "smartos", "tribblix", "dilos", "helios", "nexenta"}
)
#: ``uname -v`` prefixes of illumos kernels: OpenIndiana ``illumos-<hash>``, SmartOS
#: ``joyent_<timestamp>``, OmniOS ``omnios-r<release>-<hash>``.
ILLUMOS_UNAME_V_PREFIXES: tuple[str, ...] = ("illumos-", "joyent_", "omnios-")

#: Drivers an OS ships itself, by family: illumos delivers ``vmxnet3s`` 64-bit only, from its
#: own packages, with no VMware Tools install database.
OS_SUPPLIED_DRIVERS: Mapping[OsFamily, tuple[str, ...]] = {
    OsFamily.ILLUMOS: ("/kernel/drv/amd64/vmxnet3s",),
}
#: What is known of where an OS-supplied driver's code comes from (evidence and LSO reasoning).
OS_DRIVER_LINEAGE: Mapping[OsFamily, str] = {
    OsFamily.ILLUMOS: (
        "illumos-gate vmxnet3s (added 2012), derived from open-vm-tools' stable-8.6.x branch"
    ),
}
#: IPS package stems under which illumos distributions deliver their in-tree drivers.
OS_DRIVER_PACKAGE_PREFIX = "driver/"

# --------------------------------------------------------------------------------------------
# Where guests record what is installed

#: The tar4 install journal of VMware Tools (``file``/``answer``/``remove_*`` records).
INSTALL_DB_PATH = "/etc/vmware-tools/locations"
#: Where the tar installer puts its files unless the journal answers otherwise.
DEFAULT_LIBDIR = "/usr/lib/vmware-tools"
DEFAULT_BINDIR = "/usr/bin"
#: The installed configurator's name in ``BINDIR``.
CONFIGURATOR_NAME = "vmware-config-tools.pl"
#: The vmxnet3s driver configuration; the tar installer copies it from the 32-bit build dir.
DRIVER_CONF_PATH = "/kernel/drv/vmxnet3s.conf"
#: IPS: the catalog of installed packages (JSON: publisher -> stem -> versions) and the
#: directory holding each installed package's manifest (``<publisher>/pkg/<stem>/<version>``,
#: both URL-quoted).
IPS_INSTALLED_CATALOG = "/var/pkg/state/installed/catalog.base.C"
IPS_PUBLISHER_DIR = "/var/pkg/publisher"
#: SVR4 (Solaris 10): one line per installed path, naming the packages that own it.
SVR4_CONTENTS = "/var/sadm/install/contents"
#: dpkg (Debian, Ubuntu): ``<package>.list`` names every path a package installed.
DPKG_INFO_DIR = "/var/lib/dpkg/info"
#: Packages that carry VMware Tools' user space without the tar installer.
OPEN_VM_TOOLS_PACKAGES: tuple[str, ...] = ("open-vm-tools",)


def lso_era_of_release(version: Optional[str], family: Optional[str] = None) -> str:
    """The LSO transmit path of a vmxnet3s built from open-vm-tools ``version`` for ``family``.

    For drivers whose bytes no fingerprint knows but whose release is known from a package
    (open-vm-tools packaged for Solaris 11.4): the new path arrived in 9.10.0, 10.1.x went back
    to the old one for Solaris 10 builds only, and 10.2 on use the new path everywhere.
    """
    v = _version_tuple(version)
    if v is None:
        return UNKNOWN_LSO_PATH
    if v < (9, 10, 0):
        return OLD_LSO_PATH
    if v[:2] == (10, 1):
        if family is None:
            return UNKNOWN_LSO_PATH
        return OLD_LSO_PATH if family == "10" else NEW_LSO_PATH
    return NEW_LSO_PATH
