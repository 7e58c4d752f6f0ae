"""The one interface between *where* guest data comes from and *what* it means.

A live guest, a collector bundle and an offline image root all answer the same three
questions (a command's captured output, a file's bytes, a directory's entries), so the fact
builder and every check are written once and cannot drift between the three sources.
The command table is data shared by the live runner and the generated collector script, so a
command added here is captured everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol


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


class Capture(Protocol):
    """Read-only view of a guest. Paths are guest-absolute ("/etc/release")."""

    origin: str

    def command(self, key: str) -> Optional[CommandResult]:
        """The captured command, or None when not captured / not available from this source."""
        ...

    def read_file(self, path: str) -> Optional[bytes]:
        ...

    def list_dir(self, path: str) -> Optional[list[str]]:
        ...


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
