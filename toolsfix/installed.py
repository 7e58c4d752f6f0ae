"""What is installed on a guest, as established by identification: the input of later checks.

The driver facts (``guest/drivers.py``) produce these records; the driver checks (build vs OS,
arch, tampering) judge them and the network checks (LSO, jumbo frames) consume them, because
whether LSO is dangerous or how the MTU must be set depends on *which build* is installed, not
on what the OS is. Each record also says where the file came from (:class:`Provenance`): a
check written for the VMware Tools tar installer has nothing to say about a driver the OS or a
package delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from toolsfix.findings import Evidence
from toolsfix.knowledge import Provenance

OLD_PATH = "old-path"  # LSO transmit path that sends frames larger than the MTU
NEW_PATH = "new-path"
UNKNOWN_ERA = "unknown"


@dataclass(frozen=True)
class InstalledDriver:
    """One installed kernel module and what identification says about it."""

    module: str
    path: str  # guest-absolute, e.g. /kernel/drv/amd64/vmxnet3s
    location_arch: str  # i386 for /kernel/drv, amd64 for /kernel/drv/amd64
    present: bool
    arch: Optional[str] = None  # from the ELF class/machine
    rung: str = "unknown"  # exact | code-identical | nearest | unknown
    os_dir: Optional[str] = None  # build directory it came from ("10", "11_64", "2009.06")
    expected_os_dir: Optional[str] = None  # what the guest's release should have
    tools_version: Optional[str] = None
    build: Optional[str] = None
    identity: Optional[str] = None  # "VMware EtherAdapter v3 b1234567" / "... 1.1.0.0"
    lso_era: str = UNKNOWN_ERA
    sha256: Optional[str] = None
    evidence: Optional[Evidence] = None
    provenance: Provenance = Provenance.UNKNOWN
    package: Optional[str] = None  # "IPS package pkg://…" when a package delivered it
    provenance_evidence: Optional[Evidence] = None  # the journal line, manifest line, ...
    unreadable: Optional[str] = None  # why the file could not be read (present is False)

    @property
    def build_family(self) -> Optional[str]:
        """The OS a build targets, without the arch suffix: ``10``, ``11``, ``2009.06``."""
        if self.os_dir is None:
            return None
        return self.os_dir[: -len("_64")] if self.os_dir.endswith("_64") else self.os_dir

    @property
    def from_tar_installer(self) -> bool:
        """Copied by VMware's tar installer, or of unknown origin (then judged as if it were:
        a driver no record explains is the tar installer's leftover until shown otherwise)."""
        return self.provenance in (Provenance.TAR_INSTALLER, Provenance.UNKNOWN)

    @property
    def matches_os(self) -> Optional[bool]:
        """None when either side is unknown: an unknown is never reported as a match."""
        if self.os_dir is None or self.expected_os_dir is None:
            return None
        return self.os_dir == self.expected_os_dir

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "path": self.path,
            "present": self.present,
            "location_arch": self.location_arch,
            "arch": self.arch,
            "rung": self.rung,
            "os_dir": self.os_dir,
            "expected_os_dir": self.expected_os_dir,
            "matches_os": self.matches_os,
            "tools_version": self.tools_version,
            "build": self.build,
            "identity": self.identity,
            "lso_era": self.lso_era,
            "sha256": self.sha256,
            "provenance": self.provenance.value,
            "package": self.package,
            **({"unreadable": self.unreadable} if self.unreadable else {}),
        }
