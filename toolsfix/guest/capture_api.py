"""The one interface between *where* guest data comes from and *what* it means.

A live guest, a collector bundle and an offline image root all answer the same questions (a
command's captured output, a file's bytes, a directory's entries, a file's mtime), so the fact
builder and every check are written once and cannot drift between the three sources.
Reads say *why* they gave nothing (:class:`~toolsfix.safeio.ReadStatus`): a file that exists
but could not be read must never be taken for an absent one, or an audit passes an image it
could not read.
The command table is data shared by the live runner and the generated collector script, so a
command added here is captured everywhere.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Protocol

from toolsfix.safeio import ReadResult, ReadStatus

# A directory the checks list (/kernel/drv, a boot-script directory) has tens to hundreds of
# entries; a listing far beyond that is not what a check wants and is refused, not loaded.
MAX_DIR_ENTRIES = 100_000


@dataclass(frozen=True)
class CommandResult:
    """Output of one read-only command; ``status`` is None when it could not be run at all."""

    key: str
    command: str
    status: Optional[int]
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class ListResult:
    """The outcome of listing a directory: ``names`` is set only when ``status`` is ``OK``.

    ``UNREADABLE`` means the directory exists but could not be listed (permissions, or a
    collector that failed to list it): its entries are unknown, never "none".
    """

    status: ReadStatus
    names: Optional[tuple[str, ...]] = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is ReadStatus.OK


def list_ok(names: Sequence[str]) -> ListResult:
    """A successful listing, sorted and without ``.``/``..``."""
    return ListResult(ReadStatus.OK, tuple(sorted(n for n in names if n not in (".", ".."))))


def list_host_dir(path: str, *, limit: int = MAX_DIR_ENTRIES) -> ListResult:
    """List a real directory of this machine, saying why when it cannot.

    Permission and I/O errors are ``UNREADABLE`` (the entries exist but are unknown), a
    missing directory is ``ABSENT``, a file where a directory is expected is ``NOT_REGULAR``.
    Entries are counted while scanning, so a huge directory is refused without being loaded.
    """
    names: list[str] = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                names.append(entry.name)
                if len(names) > limit:
                    return ListResult(ReadStatus.TOO_LARGE, reason=f"more than {limit} entries")
    except FileNotFoundError:
        return ListResult(ReadStatus.ABSENT, reason="no such directory")
    except NotADirectoryError:
        return ListResult(ReadStatus.NOT_REGULAR, reason="is not a directory")
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return ListResult(ReadStatus.NOT_REGULAR, reason="is not a directory")
        return ListResult(ReadStatus.UNREADABLE, reason=exc.strerror or str(exc))
    return list_ok(names)


class Capture(Protocol):
    """Read-only view of a guest. Paths are guest-absolute ("/etc/release").

    Implementations answer the ``*_checked`` forms; ``read_file`` and ``list_dir`` are the
    plain conveniences (``None`` for anything but a successful read) that classes inheriting
    from this protocol get for free.
    """

    origin: str

    def command(self, key: str) -> Optional[CommandResult]:
        """The captured command, or None when not captured / not available from this source."""
        ...

    def read_file_checked(self, path: str) -> ReadResult:
        """The file's bytes, or why there are none: absent, unreadable, not regular, too large."""
        ...

    def list_dir_checked(self, path: str) -> ListResult:
        """The directory's entries, or why there are none (absent, unreadable)."""
        ...

    def file_mtime(self, path: str) -> Optional[int]:
        """The file's modification time (epoch seconds); None when absent or not known."""
        ...

    def read_file(self, path: str) -> Optional[bytes]:
        return self.read_file_checked(path).data

    def list_dir(self, path: str) -> Optional[list[str]]:
        result = self.list_dir_checked(path)
        return list(result.names) if result.names is not None else None


# key -> (command line, os it applies to: "solaris", "linux", "esxi" or "any").
# Per-interface commands use a "{if}" placeholder; their keys become "<key>:<interface>".
COMMANDS: dict[str, tuple[str, str]] = {
    "uname_a": ("uname -a", "any"),
    "uname_r": ("uname -r", "any"),
    "uname_v": ("uname -v", "any"),
    "uname_s": ("uname -s", "any"),
    "isainfo_b": ("isainfo -b", "solaris"),
    "modinfo": ("modinfo", "solaris"),
    "ndd_ip_lso_outbound": ("ndd -get /dev/ip ip_lso_outbound", "solaris"),
    "dladm_show_phys": ("dladm show-phys", "solaris"),
    "dladm_show_link": ("dladm show-link", "solaris"),
    "dladm_show_dev": ("dladm show-dev", "solaris"),
    "dladm_show_linkprop_mtu": ("dladm show-linkprop -p mtu", "solaris"),
    "ipadm_show_prop_tcp": ("ipadm show-prop tcp", "solaris"),
    "ipadm_show_ifprop_mtu": ("ipadm show-ifprop -p mtu", "solaris"),
    "ifconfig_a": ("ifconfig -a", "any"),
    "ip_d_link": ("ip -d link show", "linux"),
    "sysctl_ip_forward": ("sysctl net.ipv4.ip_forward", "linux"),
    "ethtool_k": ("ethtool -k {if}", "linux"),
    "ethtool_i": ("ethtool -i {if}", "linux"),
    # Solaris 11 / illumos view of the IP LSO tunable (same value as ndd's ip_lso_outbound).
    "ipadm_show_prop_lso": ("ipadm show-prop -p _lso_outbound ip", "solaris"),
    # ESXi host side (optional): LRO/TSO advanced settings, parsed by path.
    "esxcli_advanced": ("esxcli system settings advanced list", "esxi"),
    # Which package delivered each driver (driver provenance, guest/packages.py): IPS on
    # Solaris 11 and illumos, the SVR4 contents file on Solaris 10. egrep exits 1 when no line
    # matches, which is an answer ("no SVR4 package owns them"), not a failure.
    "pkg_contents_drivers": (
        "pkg contents -H -o pkg.fmri,path -a path=kernel/drv/vmxnet3s"
        " -a path=kernel/drv/amd64/vmxnet3s -a path=kernel/drv/vmxnet"
        " -a path=kernel/drv/amd64/vmxnet -a path=kernel/drv/vmmemctl"
        " -a path=kernel/drv/amd64/vmmemctl",
        "solaris",
    ),
    "svr4_contents_drivers": (
        "egrep ^/kernel/drv/(amd64/)?(vmxnet3s|vmxnet|vmmemctl)[^a-z0-9_.]"
        " /var/sadm/install/contents",
        "solaris",
    ),
}

# Files a bundle captures (globs allowed) and an image root is read for.
CAPTURE_FILES: tuple[str, ...] = (
    "/etc/release",
    "/etc/os-release",
    "/etc/system",
    "/kernel/drv/vmxnet3s.conf",
    "/etc/vmware-tools/locations",
    "/etc/quagga/bgpd.conf",
    "/etc/frr/frr.conf",
    "/etc/frr/bgpd.conf",
    "/etc/sysctl.conf",
    "/etc/sysctl.d/*.conf",
    "/etc/rc2.d/*",
    "/etc/rc3.d/*",
    "/etc/init.d/*",
    "/lib/svc/method/*",
    "/proc/sys/net/ipv4/ip_forward",
    # dpkg's file list of open-vm-tools: Tools from the distribution, not the tar installer.
    "/var/lib/dpkg/info/open-vm-tools.list",
)

# Binary files a bundle captures for fingerprinting (besides the configurator, whose path
# comes from BINDIR in the install database).
CAPTURE_BINARIES: tuple[str, ...] = (
    "/kernel/drv/vmxnet3s",
    "/kernel/drv/amd64/vmxnet3s",
    "/kernel/drv/vmxnet",
    "/kernel/drv/amd64/vmxnet",
    "/kernel/drv/vmmemctl",
    "/kernel/drv/amd64/vmmemctl",
)
