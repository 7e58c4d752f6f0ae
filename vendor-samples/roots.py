#!/usr/bin/env python3
"""SYNTHETIC image roots and collector bundles that ``toolsfix verify`` is tested against.

``generate.py`` writes the synthetic distribs first; this module then "installs" them the way
the documented tar installer and configurator would (see docs/background.md) into
small guest filesystem models, applies one scenario per guest (a hand-copied driver, a
tampered object, a removed Tools install, ...), and writes each model twice over:

* as an **image root** (``roots/<name>/``), a directory tree with the guest's files, whose
  modification times matter because the install database records them; git does not keep
  mtimes, so they are also written to ``roots/mtimes.json`` and :func:`restore_mtimes` /
  :func:`copy_root` put them back before a root is analysed;
* as a **collector bundle** (``bundles/<name>/``), laid out exactly as the guest collector of
  toolsfix 0.1.0 writes it (``docs/bundle-format.md``): manifest with statuses, command
  outputs in the formats real commands print, copied files, ``files.list``
  with mtimes and ``ls`` listings.  The collector's tables are frozen here as they were for
  0.1.0: a bundle is a record of what an old collector captured, so later changes to the
  command table must not rewrite it.  Rows added later (the package records of driver
  provenance, ``PROVENANCE_ROWS``) are frozen the same way and carried only by the bundles
  that were collected with them.

It also writes ``fingerprints/synthetic-samples.json``: the fingerprint records of every
driver build of the distrib samples (``toolsfix.fpdb.learn``), marked synthetic, so the
shipped database identifies the drivers found in the roots and bundles.

Nothing here is VMware's: the drivers are elfgen look-alikes, every text file is written for
toolsfix, and host names say ``synthetic``.  Everything is deterministic (fixed times, sorted
output, no clock reads).  The expected findings live in ``tests/golden/verify-expectations.json``,
written by hand from the scenario descriptions below, not from toolsfix output.
"""

from __future__ import annotations

import calendar
import fnmatch
import hashlib
import importlib
import json
import os
import posixpath
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ROOTS_DIR = "roots"
BUNDLES_DIR = "bundles"
MTIMES = "mtimes.json"
FPDB_FILE = "synthetic-samples.json"
METADATA = "generated.json"  # written by generate.py; holds the elfgen toolchain
DISTRIB = "vmware-tools-distrib"
BINDIR = "/usr/bin"
LIBDIR = "/usr/lib/vmware-tools"
BINARY_DIR = LIBDIR + "/modules/binary"
ESXI_FILE = "esxi-lro-on.txt"


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    """Epoch seconds of a UTC time: the models never read the clock."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


# --------------------------------------------------------------------------------------------
# The collector of toolsfix 0.1.0, frozen (toolsfix/guest/capture_api.py and collector.py at
# that version).  Bundles record what that collector did; they must not follow later tables.
# --------------------------------------------------------------------------------------------
COLLECTOR_VERSION = "0.1.0"
BUNDLE_FORMAT = "toolsfix-bundle/1"
COLLECTOR_TIMEOUT = 10
# key, command line, os it applies to ("any", "solaris", "linux", "esxi")
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("uname_a", "uname -a", "any"),
    ("uname_r", "uname -r", "any"),
    ("uname_v", "uname -v", "any"),
    ("uname_s", "uname -s", "any"),
    ("isainfo_b", "isainfo -b", "solaris"),
    ("modinfo", "modinfo", "solaris"),
    ("ndd_ip_lso_outbound", "ndd -get /dev/ip ip_lso_outbound", "solaris"),
    ("dladm_show_phys", "dladm show-phys", "solaris"),
    ("dladm_show_link", "dladm show-link", "solaris"),
    ("dladm_show_dev", "dladm show-dev", "solaris"),
    ("dladm_show_linkprop_mtu", "dladm show-linkprop -p mtu", "solaris"),
    ("ipadm_show_prop_tcp", "ipadm show-prop tcp", "solaris"),
    ("ipadm_show_ifprop_mtu", "ipadm show-ifprop -p mtu", "solaris"),
    ("ifconfig_a", "ifconfig -a", "any"),
    ("ip_d_link", "ip -d link show", "linux"),
    ("sysctl_ip_forward", "sysctl net.ipv4.ip_forward", "linux"),
    ("ipadm_show_prop_lso", "ipadm show-prop -p _lso_outbound ip", "solaris"),
    ("esxcli_advanced", "esxcli system settings advanced list", "esxi"),
)
# Per-interface rows, run for every entry of /sys/class/net.
IF_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("ethtool_k", "ethtool -k {if}", "linux"),
    ("ethtool_i", "ethtool -i {if}", "linux"),
)
CAPTURE_FILES: tuple[str, ...] = (
    "/etc/release", "/etc/os-release", "/etc/system", "/kernel/drv/vmxnet3s.conf",
    "/etc/vmware-tools/locations", "/etc/quagga/bgpd.conf", "/etc/frr/frr.conf",
    "/etc/frr/bgpd.conf", "/etc/sysctl.conf", "/etc/sysctl.d/*.conf", "/etc/rc2.d/*",
    "/etc/rc3.d/*", "/etc/init.d/*", "/lib/svc/method/*", "/proc/sys/net/ipv4/ip_forward",
)  # fmt: skip
CAPTURE_BINARIES: tuple[str, ...] = (
    "/kernel/drv/vmxnet3s", "/kernel/drv/amd64/vmxnet3s", "/kernel/drv/vmxnet",
    "/kernel/drv/amd64/vmxnet", "/kernel/drv/vmmemctl", "/kernel/drv/amd64/vmmemctl",
)  # fmt: skip
LISTING_DIRS: tuple[str, ...] = (
    "/etc/init.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/sysctl.d", "/kernel/drv",
    "/kernel/drv/amd64", "/lib/svc/method",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Guest filesystem model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """A regular file (or, with ``link``, a symlink) of a guest model; modes as on the guest."""

    data: bytes
    mtime: int
    mode: int
    link: str = ""


@dataclass
class Guest:
    """A guest's filesystem, as much of it as the scenarios need; paths are guest-absolute."""

    os_name: str  # "solaris" or "linux": selects the ls style of the listings
    files: dict[str, Node] = field(default_factory=dict)
    dirs: dict[str, int] = field(default_factory=dict)  # explicit directories (may be empty)

    def put(self, path: str, data: bytes, mtime: int, mode: int = 0o644) -> None:
        self.files[path] = Node(data, mtime, mode)

    def symlink(self, path: str, target: str, mtime: int) -> None:
        self.files[path] = Node(b"", mtime, 0o777, target)

    def mkdir(self, path: str, mtime: int) -> None:
        self.dirs[path] = mtime

    def remove(self, path: str) -> None:
        del self.files[path]

    def remove_tree(self, top: str) -> None:
        for path in [p for p in self.files if p == top or p.startswith(top + "/")]:
            del self.files[path]
        for path in [p for p in self.dirs if p == top or p.startswith(top + "/")]:
            del self.dirs[path]

    def all_dirs(self) -> dict[str, int]:
        """Every directory (explicit or implied by a file) -> mtime; implied ones take the
        newest mtime below them, as a directory's mtime moves when an entry is created."""
        found: dict[str, int] = dict(self.dirs)
        entries = {**{p: n.mtime for p, n in self.files.items()}, **self.dirs}
        for path, mtime in sorted(entries.items(), key=lambda item: -item[0].count("/")):
            parent = posixpath.dirname(path)
            while True:
                if parent not in self.dirs:
                    found[parent] = max(found.get(parent, 0), mtime)
                if parent == "/":
                    break
                parent = posixpath.dirname(parent)
        return found

    def entries(self, directory: str) -> list[str]:
        names = {posixpath.basename(p) for p in [*self.files, *self.all_dirs()]
                 if p != "/" and posixpath.dirname(p) == directory}  # fmt: skip
        return sorted(names)

    def is_dir(self, path: str) -> bool:
        return path in self.all_dirs()

    def regular(self, path: str) -> Optional[Node]:
        """The regular file at ``path``, following a symlink as ``[ -f ]`` and ``cat`` do."""
        node = self.files.get(path)
        for _ in range(8):
            if node is None or not node.link:
                return node
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), node.link))
            path, node = target, self.files.get(target)
        return None


# --------------------------------------------------------------------------------------------
# Operating system images (facts from docs/background.md)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OsImage:
    key: str
    minor: int  # the second field of uname -r
    release: str  # /etc/release
    os_release: str  # /etc/os-release ("" when the release has none)
    installed: int  # mtime of the OS's own files


OS_IMAGES: dict[str, OsImage] = {
    o.key: o
    for o in (
        OsImage(
            "10u11",
            10,
            "                    Oracle Solaris 10 1/13 s10x_u11wos_24a X86\n"
            "  Copyright (c) 1983, 2013, Oracle and/or its affiliates. All rights reserved.\n"
            "                            Assembled 17 January 2013\n",
            "",
            utc(2013, 5, 6, 8, 0, 0),
        ),
        OsImage(
            "11.1",
            11,
            "                             Oracle Solaris 11.1 X86\n"
            "  Copyright (c) 1983, 2012, Oracle and/or its affiliates.  All rights reserved.\n"
            "                           Assembled 19 September 2012\n",
            "",
            utc(2014, 11, 20, 10, 0, 0),
        ),
        OsImage(
            "11.4",
            11,
            "                             Oracle Solaris 11.4 X86\n"
            "  Copyright (c) 1983, 2018, Oracle and/or its affiliates.  All rights reserved.\n"
            "                            Assembled 16 August 2018\n",
            'NAME="Oracle Solaris"\n'
            'PRETTY_NAME="Oracle Solaris 11.4"\n'
            'CPE_NAME="cpe:/o:oracle:solaris:11:4"\n'
            "ID=solaris\n"
            'VERSION="11.4"\n'
            "VERSION_ID=11.4\n"
            'BUILD_ID="11.4.0.0.1.15.0"\n',
            utc(2018, 10, 2, 9, 0, 0),
        ),
    )
}

ETC_SYSTEM = (
    b"*\n"
    b"* SYNTHETIC /etc/system written for toolsfix tests; not a vendor file.\n"
    b"* No kernel tunables are set here.\n"
    b"*\n"
)


def rc_readme(directory: str) -> bytes:
    return (
        f"SYNTHETIC README written for toolsfix tests.\n"
        f"Scripts in {directory} run at boot; none of them tunes the network.\n"
    ).encode("ascii")


def base_solaris(image: OsImage) -> Guest:
    """The OS files every Solaris model has (release files, /etc/system, rc directories)."""
    g = Guest("solaris")
    t = image.installed
    g.put("/etc/release", image.release.encode("ascii"), t)
    if image.os_release:
        g.put("/etc/os-release", image.os_release.encode("ascii"), t)
    g.put("/etc/system", ETC_SYSTEM, t)
    for d in ("/etc/init.d", "/etc/rc2.d", "/etc/rc3.d"):
        g.put(d + "/README", rc_readme(d), t)
    return g


def smf_method(commands: Iterable[str]) -> bytes:
    """An SMF start method: where Solaris 11 keeps settings that must survive a reboot."""
    body = "".join(f"\t{c}\n" for c in commands)
    return (
        "#!/sbin/sh\n"
        "#\n"
        "# SYNTHETIC SMF method written for toolsfix tests.\n"
        "# site/net-tune: network settings applied at every boot.\n"
        "#\n"
        ". /lib/svc/share/smf_include.sh\n"
        "\n"
        'case "$1" in\n'
        "start)\n"
        f"{body}"
        "\t;;\n"
        "stop)\n"
        "\t;;\n"
        "*)\n"
        '\techo "Usage: $0 { start | stop }"\n'
        "\texit $SMF_EXIT_ERR_CONFIG\n"
        "\t;;\n"
        "esac\n"
        "exit $SMF_EXIT_OK\n"
    ).encode("ascii")


METHOD_PATH = "/lib/svc/method/site-net-tune"
DLADM_MTU = "/usr/sbin/dladm set-linkprop -p mtu=9000 vmxnet3s0"
IPADM_MTU = "/usr/sbin/ipadm set-ifprop -p mtu=9000 -m ipv4 vmxnet3s0"
NDD_LSO_OFF = "/usr/sbin/ndd -set /dev/ip ip_lso_outbound 0"


# --------------------------------------------------------------------------------------------
# Tools distribs (read back from what generate.py just wrote) and the install they make
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tools:
    variant: str
    version: str
    build: str
    current_minor: int
    root: Path  # .../distribs/<variant>/vmware-tools-distrib

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split("."))


def load_tools(distribs: Path, variant: str) -> Tools:
    """Version, build and $currentMinor of a distrib, from its own files (no second copy of
    generate.py's release table that could drift from what it wrote)."""
    root = distribs / variant / DISTRIB
    manifest = (root / "etc" / "manifest.txt.shipped").read_text(encoding="ascii")
    version = re.search(r'^monolithic\.version = "([^"]+)"', manifest, re.M)
    build = re.search(r'^monolithic\.buildNr = "(\d+)"', manifest, re.M)
    config = (root / "bin" / "vmware-config-tools.pl").read_text(encoding="ascii")
    minor = re.search(r"my \$currentMinor = (\d+);", config)
    if version is None or build is None or minor is None:
        raise RuntimeError(f"{root}: not a distrib written by generate.py")
    return Tools(variant, version.group(1), build.group(1), int(minor.group(1)), root)


@dataclass(frozen=True)
class Install:
    """What the configurator picked, for the scenario edits that follow the install."""

    tools: Tools
    net_dir: str  # osFlavorDir of vmxnet3s: "10" or "11"
    memctl_dir: str
    configured: int  # mtime of everything the configurator copied


def conf_text(base: bytes, *, lso: int, mtu0: Optional[int] = None) -> bytes:
    """The shipped vmxnet3s.conf with EnableLSO set for all ten instances (and MTU for 0)."""
    text = base.decode("ascii")
    text, n = re.subn(r"^EnableLSO=[^;]*;", "EnableLSO=" + ",".join([str(lso)] * 10) + ";",
                      text, flags=re.M)  # fmt: skip
    if n != 1:
        raise RuntimeError("EnableLSO line not found exactly once in the shipped conf")
    if mtu0 is not None:
        values = ",".join([str(mtu0)] + ["1500"] * 9)
        text, n = re.subn(r"^#MTU=[^;]*;", "MTU=" + values + ";", text, flags=re.M)
        if n != 1:
            raise RuntimeError("#MTU line not found exactly once in the shipped conf")
    return text.encode("ascii")


def install_tools(g: Guest, tools: Tools, image: OsImage, at: int) -> Install:
    """Install ``tools`` into ``g`` the documented way, journal included.

    The tar installer copies bin/, lib/ and etc/ (only the files the scenarios need: the two
    Perl programs, the vmxnet3s builds and confs of every directory, the manifest and
    installer.sh) and then the configurator copies the builds it selects into /kernel/drv:
    min(minor, $currentMinor) for vmxnet3s, 11 for vmmemctl on Solaris 11 from 9.2.2 on.
    The legacy vmxnet driver and vmhgfs/vmblock are left out of the models (their Solaris 11
    behaviour is not what is tested, and the vmhgfs/vmblock destinations are undocumented).
    """
    cfg = at + 3  # the configurator runs a few seconds after the copy
    journal = ["file /etc/vmware-tools/locations", "answer INSTALL_CYCLE yes",
               "directory /etc/vmware-tools", "answer BINDIR " + BINDIR]  # fmt: skip
    for name, mode in (("vmware-uninstall-tools.pl", 0o555), ("vmware-config-tools.pl", 0o555)):
        g.put(f"{BINDIR}/{name}", tools.read("bin/" + name), at, mode)
        journal.append(f"file {BINDIR}/{name} {at}")
    journal.append("answer LIBDIR " + LIBDIR)
    for d in (LIBDIR, LIBDIR + "/modules", BINARY_DIR):
        journal.append("directory " + d)
    for os_dir in sorted(p.name for p in (tools.root / "lib/modules/binary").iterdir()):
        journal.append(f"directory {BINARY_DIR}/{os_dir}")
        for name in ("vmxnet3s", "vmxnet3s.conf"):
            src = f"lib/modules/binary/{os_dir}/{name}"
            if (tools.root / src).is_file():
                g.put(f"{BINARY_DIR}/{os_dir}/{name}", tools.read(src), at, 0o444)
                journal.append(f"file {BINARY_DIR}/{os_dir}/{name} {at}")
    journal.append("answer DOCDIR /usr/share/doc/vmware-tools")
    for name, mode in (("manifest.txt.shipped", 0o444), ("installer.sh", 0o555)):
        g.put("/etc/vmware-tools/" + name, tools.read("etc/" + name), at, mode)
        journal.append(f"file /etc/vmware-tools/{name} {at}")
    journal += [f"file /etc/vmware-tools/not_configured {at}", "answer RUN_CONFIGURATOR yes",
                # real journals carry stray lines like this one; readers must skip them
                "tools/lib/modules/binary/10/vmxnet3s.conf"]  # fmt: skip

    net_dir = str(min(image.minor, tools.current_minor))
    override = tools.version_tuple >= (9, 2, 2)  # vmmemctl forced to 11 on Solaris 11
    memctl_dir = "11" if image.minor == 11 and override else net_dir
    copies = (
        ("/kernel/drv/vmxnet3s.conf", net_dir + "/vmxnet3s.conf"),
        ("/kernel/drv/vmxnet3s", net_dir + "/vmxnet3s"),
        ("/kernel/drv/amd64/vmxnet3s", net_dir + "_64/vmxnet3s"),
        ("/kernel/drv/vmmemctl", memctl_dir + "/vmmemctl"),
        ("/kernel/drv/amd64/vmmemctl", memctl_dir + "_64/vmmemctl"),
    )
    for dst, src in copies:
        g.put(dst, tools.read("lib/modules/binary/" + src), cfg, 0o444)
        journal.append(f"file {dst} {cfg}")
        if dst == "/kernel/drv/amd64/vmxnet3s":
            journal.append("answer VMXNET3S_CONFED yes")
    journal += ["answer VMMEMCTL_CONFED yes", "remove_file /etc/vmware-tools/not_configured",
                "remove_answer INSTALL_CYCLE"]  # fmt: skip
    g.put("/etc/vmware-tools/locations", ("\n".join(journal) + "\n").encode("ascii"), cfg)
    return Install(tools, net_dir, memctl_dir, cfg)


# --------------------------------------------------------------------------------------------
# Solaris scenarios: one declarative row each; ``edit`` names the change made after install
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SolarisScenario:
    name: str
    summary: str  # one line for the README
    os: str  # key of OS_IMAGES
    tools: str  # distrib variant that was installed
    installed: int
    conf: str = "shipped"  # "shipped", "lso-off", "lso-off-mtu9000"
    method: tuple[str, ...] = ()  # commands of /lib/svc/method/site-net-tune
    edit: str = ""  # "", "hand-fixed", "tampered-amd64", "tools-removed", "arch-swap",
    #                 "missing-amd64"
    edited: int = 0  # when the edit was made


ROOTS: tuple[SolarisScenario, ...] = (
    SolarisScenario(
        "sol11.1-correct",
        "Solaris 11.1, Tools 9.9.2 (fixed): 11/11_64 builds; EnableLSO=0; persistent jumbo MTU"
        " in an SMF method",
        "11.1",
        "9.9.2",
        utc(2015, 6, 2, 14, 20, 5),
        conf="lso-off",
        method=(DLADM_MTU, IPADM_MTU),
    ),
    SolarisScenario(
        "sol11.1-buggy",
        "Solaris 11.1, Tools 9.2.2 (buggy): 10/10_64 builds; shipped conf (EnableLSO=1);"
        " jumbo MTU in an SMF method",
        "11.1",
        "9.2.2",
        utc(2015, 3, 10, 9, 41, 27),
        method=(DLADM_MTU, IPADM_MTU),
    ),
    SolarisScenario(
        "sol11.1-handfixed",
        "Solaris 11.1, Tools 9.2.2; an admin renamed the 10 builds to .old.0, copied the"
        " 11/11_64 builds by hand and set EnableLSO=0 (mtimes differ from the journal)",
        "11.1",
        "9.2.2",
        utc(2015, 3, 10, 9, 41, 27),
        conf="lso-off",
        edit="hand-fixed",
        edited=utc(2015, 5, 19, 16, 2, 44),
    ),
    SolarisScenario(
        "sol10-correct",
        "Solaris 10 1/13 (u11), Tools 9.2.2: 10/10_64 builds (right for 10); shipped conf",
        "10u11",
        "9.2.2",
        utc(2014, 2, 11, 11, 15, 40),
    ),
    SolarisScenario(
        "sol11.4-tampered",
        "Solaris 11.4, Tools 10.3.10: amd64 vmxnet3s has one .text byte changed (mtime kept);"
        " EnableLSO=0",
        "11.4",
        "10.3.10",
        utc(2019, 5, 21, 8, 30, 12),
        conf="lso-off",
        edit="tampered-amd64",
    ),
    SolarisScenario(
        "sol11.4-stripped-template",
        "Solaris 11.4 template: Tools 9.2.2 removed by hand (no journal, no LIBDIR, no conf)"
        " but the 10/10_64 vmxnet3s builds kept; LSO off persistently via ndd in an SMF method",
        "11.4",
        "9.2.2",
        utc(2018, 10, 3, 10, 12, 55),
        method=(NDD_LSO_OFF,),
        edit="tools-removed",
        edited=utc(2019, 1, 15, 13, 0, 0),
    ),
    SolarisScenario(
        "sol11.1-arch-swap",
        "Solaris 11.1, Tools 10.3.10: the 32-bit 11 build copied with cp -p into"
        " /kernel/drv/amd64 (mtime kept); shipped conf",
        "11.1",
        "10.3.10",
        utc(2019, 6, 4, 12, 0, 31),
        edit="arch-swap",
        edited=utc(2019, 6, 20, 9, 12, 0),
    ),
    SolarisScenario(
        "sol11.1-missing64",
        "Solaris 11.1, Tools 9.9.2: /kernel/drv/amd64/vmxnet3s deleted; EnableLSO=0",
        "11.1",
        "9.9.2",
        utc(2015, 6, 2, 14, 20, 5),
        conf="lso-off",
        edit="missing-amd64",
        edited=utc(2015, 9, 1, 8, 0, 0),
    ),
)

DriverBuilder = Callable[..., bytes]


def _elfgen_builder() -> DriverBuilder:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    builder: DriverBuilder = importlib.import_module("elfgen").build_driver
    return builder


def solaris_guest(s: SolarisScenario, distribs: Path) -> Guest:
    """The model of scenario ``s``: OS files, the Tools install, then the scenario's edit."""
    image = OS_IMAGES[s.os]
    g = base_solaris(image)
    inst = install_tools(g, load_tools(distribs, s.tools), image, s.installed)
    tools, cfg = inst.tools, inst.configured
    shipped = tools.read(f"lib/modules/binary/{inst.net_dir}/vmxnet3s.conf")
    conf_time = s.edited if s.edit == "hand-fixed" else cfg
    if s.conf == "lso-off":
        g.put("/kernel/drv/vmxnet3s.conf", conf_text(shipped, lso=0), conf_time, 0o644)
    elif s.conf == "lso-off-mtu9000":
        g.put("/kernel/drv/vmxnet3s.conf", conf_text(shipped, lso=0, mtu0=9000), conf_time,
              0o644)  # fmt: skip
    if s.method:
        g.put(METHOD_PATH, smf_method(s.method), s.installed - 86400, 0o555)

    net32, net64 = "/kernel/drv/vmxnet3s", "/kernel/drv/amd64/vmxnet3s"
    if s.edit == "hand-fixed":
        # mv keeps the installer's mtime on the backups; cp gives the copies a new one
        for path in (net32, net64):
            g.files[path + ".old.0"] = g.files[path]
        g.put(net32, tools.read("lib/modules/binary/11/vmxnet3s"), s.edited, 0o444)
        g.put(net64, tools.read("lib/modules/binary/11_64/vmxnet3s"), s.edited, 0o444)
    elif s.edit == "tampered-amd64":
        data = _elfgen_builder()("vmxnet3s", inst.net_dir + "_64", tools.version, tools.build,
                                 variant="tampered")  # fmt: skip
        g.put(net64, data, cfg, 0o444)
    elif s.edit == "tools-removed":
        for top in ("/etc/vmware-tools", LIBDIR, BINDIR, "/kernel/drv/vmxnet3s.conf",
                    "/kernel/drv/vmmemctl", "/kernel/drv/amd64/vmmemctl"):  # fmt: skip
            g.remove_tree(top)
        g.mkdir("/kernel/drv", s.edited)
    elif s.edit == "arch-swap":
        g.files[net64] = g.files[net32]  # cp -p: same bytes, same mtime
        g.mkdir("/kernel/drv/amd64", s.edited)
    elif s.edit == "missing-amd64":
        g.remove(net64)
        g.mkdir("/kernel/drv/amd64", s.edited)
    elif s.edit:
        raise ValueError(f"{s.name}: unknown edit {s.edit!r}")
    return g


# --------------------------------------------------------------------------------------------
# Image roots on disk
# --------------------------------------------------------------------------------------------
def disk_mode(mode: int) -> int:
    """Git keeps only the executable bit; checked-out files are writable."""
    return 0o755 if mode & 0o111 else 0o644


def write_root(g: Guest, dest: Path) -> dict[str, int]:
    """Write ``g`` under ``dest`` with its mtimes; returns guest path -> mtime (files and
    directories) for mtimes.json."""
    recorded: dict[str, int] = {}
    for path, node in sorted(g.files.items()):
        if node.link:
            raise ValueError(f"{path}: image roots hold no symlinks")
        target = dest / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(node.data)
        target.chmod(disk_mode(node.mode))
        recorded[path] = node.mtime
    for path, mtime in g.all_dirs().items():
        (dest / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        recorded[path] = mtime
    apply_mtimes(dest, recorded)
    return recorded


def apply_mtimes(dest: Path, mtimes: Mapping[str, int]) -> None:
    """Set the recorded mtimes under ``dest``: files first, then directories deepest first
    (setting a directory's time after its entries, so nothing moves it again)."""
    paths = sorted(mtimes, key=lambda p: (-p.count("/"), p))
    for path in sorted(paths, key=lambda p: (dest / p.lstrip("/")).is_dir()):
        target = dest / path.lstrip("/")
        if target.exists():
            os.utime(target, (mtimes[path], mtimes[path]), follow_symlinks=False)


def restore_mtimes(name: str, dest: Optional[Path] = None, samples: Path = HERE) -> Path:
    """Give root ``name`` (or its copy at ``dest``) the mtimes recorded in roots/mtimes.json.

    A git checkout stamps every file with the checkout time, which would make every driver
    look hand-replaced against its install journal; call this (or :func:`copy_root`) before
    analysing a root.  Returns the root directory.
    """
    recorded = json.loads((samples / ROOTS_DIR / MTIMES).read_text(encoding="ascii"))
    if name not in recorded:
        raise KeyError(f"no recorded mtimes for root {name!r}")
    target = dest if dest is not None else samples / ROOTS_DIR / name
    apply_mtimes(target, recorded[name])
    return target


def copy_root(name: str, dest: Path, samples: Path = HERE) -> Path:
    """Copy root ``name`` to ``dest`` (which must not exist) with its recorded mtimes; tests
    use this with ``tmp_path`` so the committed tree is never touched."""
    shutil.copytree(samples / ROOTS_DIR / name, dest)
    return restore_mtimes(name, dest, samples)


# --------------------------------------------------------------------------------------------
# Command outputs (formats real commands print; values are the scenario's)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One captured command: stdout, exit status, stderr."""

    stdout: str
    status: int = 0
    stderr: str = ""


MODINFO_HEAD = " Id         Loadaddr   Size Info Rev Module Name\n"
MODINFO_BASE = (
    "  0 fffffffffb800000   1d6d8   -   0  unix ()\n"
    "  1 fffffffffba1e000  1f4a50   -   0  genunix ()\n"
    " 52 fffffffff7b5e000   1a2f0   -   1  mac (MAC Services)\n"
)


def modinfo(net_identity: str, memctl_identity: str) -> Run:
    return Run(
        MODINFO_HEAD
        + MODINFO_BASE
        + f" 88 fffffffff7c3a000    a8c8 240   1  vmxnet3s ({net_identity})\n"
        + f" 91 fffffffff7c52000    2f10 241   1  vmmemctl ({memctl_identity})\n"
    )


def ifconfig_solaris(ip: str, mtu: int, mac: str, ipv6: bool) -> Run:
    text = (
        "lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1\n"
        "\tinet 127.0.0.1 netmask ff000000 \n"
        f"vmxnet3s0: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu {mtu} index 2\n"
        f"\tinet {ip} netmask ffffff00 broadcast {ip.rsplit('.', 1)[0]}.255\n"
        f"\tether {mac} \n"
    )
    if ipv6:
        text += (
            "lo0: flags=2002000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv6,VIRTUAL> mtu 8252"
            " index 1\n"
            "\tinet6 ::1/128 \n"
        )
    return Run(text)


def ipadm_row(c1: str, c2: str, perm: str, current: str, persistent: str, default: str,
              possible: str) -> str:  # fmt: skip
    return f"{c1:<5} {c2:<21} {perm:<4} {current:<12} {persistent:<12} {default:<12} {possible}\n"


IPADM_HEAD = "PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT      POSSIBLE\n"
WRAP = " " * 72  # ipadm continues a long POSSIBLE list under its column


def ipadm_tcp_tuned() -> Run:
    """``ipadm show-prop tcp`` with the field-tested 10 Gb/s buffers set persistently."""
    return Run(
        IPADM_HEAD
        + ipadm_row("tcp", "ecn", "rw", "passive", "--", "passive", "never,passive,")
        + WRAP
        + "active\n"
        + ipadm_row("tcp", "extra_priv_ports", "rw", "2049,4045", "--", "2049,4045", "1-65535")
        + ipadm_row("tcp", "largest_anon_port", "rw", "65535", "--", "65535", "1024-65535")
        + ipadm_row("tcp", "max_buf", "rw", "4194304", "4194304", "1048576", "128000-1073741824")
        + ipadm_row("tcp", "recv_buf", "rw", "1048576", "1048576", "128000", "2048-4194304")
        + ipadm_row("tcp", "sack", "rw", "active", "--", "active", "never,passive,")
        + WRAP
        + "active\n"
        + ipadm_row("tcp", "send_buf", "rw", "1048576", "1048576", "49152", "4096-4194304")
        + ipadm_row("tcp", "smallest_anon_port", "rw", "32768", "--", "32768", "1024-65535")
        + ipadm_row("tcp", "smallest_nonpriv_port", "rw", "1024", "--", "1024", "1024-32768")
    )


def ipadm_lso(value: int) -> Run:
    return Run(IPADM_HEAD + ipadm_row("ip", "_lso_outbound", "rw", str(value), "--", "1", "0,1"))


def ipadm_ifprop_mtu(mtu: int) -> Run:
    def row(ifname: str, proto: str, current: str, persistent: str, possible: str) -> str:
        return (f"{ifname:<11} {'mtu':<15} {proto:<5} {'rw':<4} {current:<10} "
                f"{persistent:<10} {current:<10} {possible}\n")  # fmt: skip

    return Run(
        "IFNAME      PROPERTY        PROTO PERM CURRENT    PERSISTENT DEFAULT    POSSIBLE\n"
        + row("lo0", "ipv4", "8232", "--", "68-8232")
        + row("lo0", "ipv6", "8252", "--", "1280-8252")
        + row("vmxnet3s0", "ipv4", str(mtu), str(mtu), f"68-{mtu}")
        + row("vmxnet3s0", "ipv6", str(mtu), "--", f"1280-{mtu}")
    )


def dladm_s11(mtu: int) -> dict[str, Run]:
    """dladm on Solaris 11.1: show-phys/show-link/show-linkprop; show-dev is gone."""
    return {
        "dladm_show_phys": Run(
            "LINK              MEDIA                STATE      SPEED  DUPLEX    DEVICE\n"
            "vmxnet3s0         Ethernet             up         10000  full      vmxnet3s0\n"
        ),
        "dladm_show_link": Run(
            "LINK                CLASS     MTU    STATE    OVER\n"
            f"vmxnet3s0           phys      {mtu:<6} up       --\n"
        ),
        "dladm_show_dev": Run("", 1, "dladm: unknown subcommand 'show-dev'\n"),
        "dladm_show_linkprop_mtu": Run(
            "LINK         PROPERTY        PERM VALUE          DEFAULT        POSSIBLE\n"
            f"vmxnet3s0    mtu             rw   {mtu:<14} 1500           60-9000\n"
        ),
    }


def uname(host: str, sysname: str, release: str, version: str, tail: str) -> dict[str, Run]:
    return {
        "uname_a": Run(f"{sysname} {host} {release} {version} {tail}\n"),
        "uname_r": Run(release + "\n"),
        "uname_v": Run(version + "\n"),
        "uname_s": Run(sysname + "\n"),
    }


def ethtool_k(name: str, *, tso: bool, lro: bool) -> Run:
    """``ethtool -k`` of a vmxnet3 interface (current format, tab-indented sub-features)."""

    def on(value: bool) -> str:
        return "on" if value else "off"

    lines = [
        f"Features for {name}:",
        "rx-checksumming: on",
        "tx-checksumming: on",
        "\ttx-checksum-ipv4: off [fixed]",
        "\ttx-checksum-ip-generic: on",
        "\ttx-checksum-ipv6: off [fixed]",
        "\ttx-checksum-fcoe-crc: off [fixed]",
        "\ttx-checksum-sctp: off [fixed]",
        "scatter-gather: on",
        "\ttx-scatter-gather: on",
        "\ttx-scatter-gather-fraglist: off [fixed]",
        f"tcp-segmentation-offload: {on(tso)}",
        f"\ttx-tcp-segmentation: {on(tso)}",
        "\ttx-tcp-ecn-segmentation: off [fixed]",
        "\ttx-tcp-mangleid-segmentation: off",
        f"\ttx-tcp6-segmentation: {on(tso)}",
        "udp-fragmentation-offload: off",
        "generic-segmentation-offload: on",
        "generic-receive-offload: on",
        f"large-receive-offload: {on(lro)}",
        "rx-vlan-offload: on",
        "tx-vlan-offload: on",
        "ntuple-filters: off [fixed]",
        "receive-hashing: off [fixed]",
        "highdma: on",
        "rx-vlan-filter: on [fixed]",
        "vlan-challenged: off [fixed]",
        "tx-lockless: off [fixed]",
        "netns-local: off [fixed]",
        "tx-gso-robust: off [fixed]",
        "tx-fcoe-segmentation: off [fixed]",
        "tx-gre-segmentation: off [fixed]",
        "tx-udp_tnl-segmentation: off [fixed]",
        "fcoe-mtu: off [fixed]",
        "tx-nocache-copy: off",
        "loopback: off [fixed]",
        "rx-fcs: off [fixed]",
        "rx-all: off [fixed]",
        "l2-fwd-offload: off [fixed]",
        "hw-tc-offload: off [fixed]",
    ]
    return Run("\n".join(lines) + "\n")


ETHTOOL_K_LO = Run(
    "Features for lo:\n"
    "rx-checksumming: on [fixed]\n"
    "tx-checksumming: on\n"
    "\ttx-checksum-ipv4: off [fixed]\n"
    "\ttx-checksum-ip-generic: on [fixed]\n"
    "\ttx-checksum-ipv6: off [fixed]\n"
    "scatter-gather: on\n"
    "\ttx-scatter-gather: on [fixed]\n"
    "\ttx-scatter-gather-fraglist: on [fixed]\n"
    "tcp-segmentation-offload: on\n"
    "\ttx-tcp-segmentation: on\n"
    "\ttx-tcp-ecn-segmentation: on\n"
    "\ttx-tcp6-segmentation: on\n"
    "udp-fragmentation-offload: off\n"
    "generic-segmentation-offload: on\n"
    "generic-receive-offload: on\n"
    "large-receive-offload: off [fixed]\n"
    "highdma: on [fixed]\n"
    "netns-local: on [fixed]\n"
    "loopback: on [fixed]\n"
)
ETHTOOL_I_LO = Run("", 71, "Cannot get driver information: Operation not supported\n")


def ethtool_i_vmxnet3(bus: str) -> Run:
    return Run(
        "driver: vmxnet3\n"
        "version: 1.7.0.0-k-NAPI\n"
        "firmware-version: \n"
        "expansion-rom-version: \n"
        f"bus-info: {bus}\n"
        "supports-statistics: yes\n"
        "supports-test: no\n"
        "supports-eeprom-access: no\n"
        "supports-register-dump: yes\n"
        "supports-priv-flags: no\n"
    )


def ip_d_link(mac: str) -> Run:
    return Run(
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT"
        " group default qlen 1000\n"
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 minmtu 0"
        " maxmtu 0 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536"
        " gso_max_segs 65535 \n"
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DEFAULT"
        " group default qlen 1000\n"
        f"    link/ether {mac} brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 60 maxmtu 9000"
        " addrgenmode eui64 numtxqueues 2 numrxqueues 2 gso_max_size 65536"
        " gso_max_segs 65535 \n"
    )


# --------------------------------------------------------------------------------------------
# Bundle scenarios
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleScenario:
    name: str
    summary: str
    host: str
    started: int  # collection start (manifest time=)
    seconds: int  # how long the collection took (finished=)
    guest: Callable[[Path], Guest]  # builds the guest model from the distribs directory
    runs: Mapping[str, Run]
    # Command rows a later collector added (the 0.1.0 table stays frozen): bundles of guests
    # whose drivers may come from a package carry the package-record rows.
    rows: tuple[tuple[str, str, str], ...] = ()


def _solaris_bundle_guest(s: SolarisScenario) -> Callable[[Path], Guest]:
    return lambda distribs: solaris_guest(s, distribs)


S11_BUGGY = SolarisScenario(
    "bundle-a", "", "11.1", "9.2.2", utc(2015, 3, 10, 9, 41, 27), method=(DLADM_MTU, IPADM_MTU)
)
S11_FIXED = SolarisScenario(
    "bundle-b",
    "",
    "11.1",
    "10.3.10",
    utc(2019, 6, 4, 12, 0, 31),
    conf="lso-off",
    method=(NDD_LSO_OFF, DLADM_MTU, IPADM_MTU),
)
S10_JUMBO = SolarisScenario(
    "bundle-c", "", "10u11", "9.2.2", utc(2014, 2, 11, 11, 15, 40), conf="lso-off-mtu9000"
)
S10_TCP_TUNE = (
    b"#!/sbin/sh\n"
    b"#\n"
    b"# SYNTHETIC boot script written for toolsfix tests: TCP buffers for 10 Gb/s.\n"
    b"#\n"
    b'case "$1" in\n'
    b"start)\n"
    b"\t/usr/sbin/ndd -set /dev/tcp tcp_max_buf 4194304\n"
    b"\t/usr/sbin/ndd -set /dev/tcp tcp_xmit_hiwat 1048576\n"
    b"\t/usr/sbin/ndd -set /dev/tcp tcp_recv_hiwat 1048576\n"
    b"\t;;\n"
    b"esac\n"
    b"exit 0\n"
)


def s10_guest(distribs: Path) -> Guest:
    g = solaris_guest(S10_JUMBO, distribs)
    g.put("/etc/rc2.d/S99tcp-tune", S10_TCP_TUNE, utc(2014, 2, 12, 15, 3, 9), 0o744)
    return g


def linux_guest(os_release: str, files: Mapping[str, bytes], ip_forward: int,
                booted: int, collected: int) -> Guest:  # fmt: skip
    """A small Linux guest: os-release, sysctl files, /proc ip_forward, /sys/class/net."""
    g = Guest("linux")
    installed = booted - 200 * 86400
    g.put("/etc/os-release", os_release.encode("ascii"), installed)
    g.symlink("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf", installed)
    g.put(
        "/etc/sysctl.d/README.sysctl",
        b"SYNTHETIC README written for toolsfix tests: drop *.conf files here.\n",
        installed,
    )
    for path, data in files.items():
        g.put(path, data, installed + 3600)
    g.put("/proc/sys/net/ipv4/ip_forward", f"{ip_forward}\n".encode("ascii"), collected - 2)
    g.symlink(
        "/sys/class/net/eth0", "../../devices/pci0000:00/0000:00:15.0/0000:03:00.0/net/eth0", booted
    )
    g.symlink("/sys/class/net/lo", "../../devices/virtual/net/lo", booted)
    return g


UBUNTU_1804 = (
    'NAME="Ubuntu"\n'
    'VERSION="18.04.6 LTS (Bionic Beaver)"\n'
    "ID=ubuntu\n"
    "ID_LIKE=debian\n"
    'PRETTY_NAME="Ubuntu 18.04.6 LTS"\n'
    'VERSION_ID="18.04"\n'
    "VERSION_CODENAME=bionic\n"
    "UBUNTU_CODENAME=bionic\n"
)
DEBIAN_11 = (
    'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n'
    'NAME="Debian GNU/Linux"\n'
    'VERSION_ID="11"\n'
    'VERSION="11 (bullseye)"\n'
    "VERSION_CODENAME=bullseye\n"
    "ID=debian\n"
)
BGPD_CONF = (
    b"! SYNTHETIC bgpd.conf written for toolsfix tests.\n"
    b"!\n"
    b"hostname tf-synthetic-rr1\n"
    b"password zebra\n"
    b"log file /var/log/quagga/bgpd.log\n"
    b"!\n"
    b"router bgp 65001\n"
    b" bgp router-id 192.0.2.10\n"
    b" neighbor 192.0.2.1 remote-as 65000\n"
    b" neighbor 192.0.2.1 password s3cr3t\n"
    b" neighbor 198.51.100.7 remote-as 65001\n"
    b" neighbor 198.51.100.7 route-reflector-client\n"
    b" !\n"
    b" address-family ipv4 unicast\n"
    b"  network 203.0.113.0/24\n"
    b" exit-address-family\n"
    b"!\n"
    b"line vty\n"
    b"!\n"
)
SYSCTL_CONF_RR = (
    b"# SYNTHETIC /etc/sysctl.conf written for toolsfix tests.\n"
    b"# This route reflector does not forward packets.\n"
    b"#net.ipv4.ip_forward=1\n"
)
SYSCTL_CONF_ROUTER = b"# SYNTHETIC /etc/sysctl.conf written for toolsfix tests.\n"
SYSCTL_ROUTER = (
    b"# SYNTHETIC sysctl file written for toolsfix tests: this VM routes.\n"
    b"net.ipv4.ip_forward = 1\n"
)
A_STARTED = utc(2016, 2, 3, 9, 15, 2)
B_STARTED = utc(2019, 7, 1, 7, 45, 10)
C_STARTED = utc(2014, 9, 22, 13, 5, 44)
D_STARTED = utc(2023, 9, 12, 10, 31, 8)
E_STARTED = utc(2023, 11, 7, 16, 20, 51)


def route_reflector_guest(_distribs: Path) -> Guest:
    files = {"/etc/quagga/bgpd.conf": BGPD_CONF, "/etc/sysctl.conf": SYSCTL_CONF_RR}
    return linux_guest(UBUNTU_1804, files, 0, utc(2023, 8, 28, 6, 2, 11), D_STARTED)


def router_guest(_distribs: Path) -> Guest:
    files = {"/etc/sysctl.conf": SYSCTL_CONF_ROUTER, "/etc/sysctl.d/60-router.conf": SYSCTL_ROUTER}
    return linux_guest(DEBIAN_11, files, 1, utc(2023, 10, 30, 22, 47, 3), E_STARTED)


BUNDLES: tuple[BundleScenario, ...] = (
    BundleScenario(
        "sol11.1-s10build-lso-on",
        "Solaris 11.1, Tools 9.2.2 (buggy): 10/10_64 builds loaded (b893683), EnableLSO=1,"
        " ip_lso_outbound 1, link MTU 9000 set by an SMF method",
        "tf-synthetic-s11a",
        A_STARTED,
        7,
        _solaris_bundle_guest(S11_BUGGY),
        {
            **uname("tf-synthetic-s11a", "SunOS", "5.11", "11.1", "i86pc i386 i86pc"),
            "isainfo_b": Run("64\n"),
            "modinfo": modinfo("VMware EtherAdapter v3 b893683", "VMware Memory Control b893683"),
            "ndd_ip_lso_outbound": Run("1\n"),
            **dladm_s11(9000),
            "ipadm_show_prop_tcp": ipadm_tcp_tuned(),
            "ipadm_show_ifprop_mtu": ipadm_ifprop_mtu(9000),
            "ifconfig_a": ifconfig_solaris("192.0.2.21", 9000, "0:50:56:81:2a:3c", True),
            "ipadm_show_prop_lso": ipadm_lso(1),
        },
    ),
    BundleScenario(
        "sol11.1-fixed-lso-off-mtu9000",
        "Solaris 11.1, Tools 10.3.10: 11/11_64 builds (1.1.0.0), EnableLSO=0, ip_lso_outbound"
        " 0, link and IP MTU 9000, all persistent (SMF method)",
        "tf-synthetic-s11b",
        B_STARTED,
        6,
        _solaris_bundle_guest(S11_FIXED),
        {
            **uname("tf-synthetic-s11b", "SunOS", "5.11", "11.1", "i86pc i386 i86pc"),
            "isainfo_b": Run("64\n"),
            "modinfo": modinfo("VMware EtherAdapter v3 1.1.0.0", "VMware Memory Control b12406962"),
            "ndd_ip_lso_outbound": Run("0\n"),
            **dladm_s11(9000),
            "ipadm_show_prop_tcp": ipadm_tcp_tuned(),
            "ipadm_show_ifprop_mtu": ipadm_ifprop_mtu(9000),
            "ifconfig_a": ifconfig_solaris("192.0.2.22", 9000, "0:50:56:81:5d:e0", True),
            "ipadm_show_prop_lso": ipadm_lso(0),
        },
    ),
    BundleScenario(
        "sol10-no-accept-jumbo",
        "Solaris 10 1/13, Tools 9.2.2: 10/10_64 builds; conf MTU=9000 for vmxnet3s0 and"
        " EnableLSO=0, but no accept-jumbo anywhere: ifconfig still shows mtu 1500",
        "tf-synthetic-s10",
        C_STARTED,
        9,
        s10_guest,
        {
            **uname(
                "tf-synthetic-s10", "SunOS", "5.10", "Generic_147441-21", "i86pc i386 i86pc Solaris"
            ),
            "isainfo_b": Run("64\n"),
            "modinfo": modinfo("VMware EtherAdapter v3 b893683", "VMware Memory Control b893683"),
            "ndd_ip_lso_outbound": Run("1\n"),
            "dladm_show_phys": Run("", 1, "dladm: unknown subcommand 'show-phys'\n"),
            "dladm_show_link": Run(
                "vmxnet3s0       type: non-vlan  mtu: 1500       device: vmxnet3s0\n"
            ),
            "dladm_show_dev": Run(
                "vmxnet3s0       link: up        speed: 10000  Mbps       duplex: full\n"
            ),
            "dladm_show_linkprop_mtu": Run("", 1, "dladm: invalid link property 'mtu'\n"),
            "ifconfig_a": ifconfig_solaris("192.0.2.30", 1500, "0:50:56:a1:4:7e", False),
        },  # no ipadm on Solaris 10: the collector records 127
    ),
    BundleScenario(
        "linux-quagga-md5-tso",
        "Ubuntu 18.04 BGP route reflector (no forwarding): Quagga neighbor with a TCP-MD5"
        " password, tcp-segmentation-offload on",
        "tf-synthetic-rr1",
        D_STARTED,
        4,
        route_reflector_guest,
        {
            **uname(
                "tf-synthetic-rr1",
                "Linux",
                "4.15.0-213-generic",
                "#224-Ubuntu SMP Mon Jun 19 13:30:12 UTC 2023",
                "x86_64 x86_64 x86_64 GNU/Linux",
            ),
            "ip_d_link": ip_d_link("00:50:56:9a:3e:71"),
            "sysctl_ip_forward": Run("net.ipv4.ip_forward = 0\n"),
            "ethtool_k:eth0": ethtool_k("eth0", tso=True, lro=False),
            "ethtool_i:eth0": ethtool_i_vmxnet3("0000:03:00.0"),
            "ethtool_k:lo": ETHTOOL_K_LO,
            "ethtool_i:lo": ETHTOOL_I_LO,
        },  # no net-tools: ifconfig is recorded as 127
    ),
    BundleScenario(
        "linux-router-lro",
        "Debian 11 router VM: net.ipv4.ip_forward = 1 (sysctl and /proc), large-receive-offload on",
        "tf-synthetic-gw1",
        E_STARTED,
        4,
        router_guest,
        {
            **uname(
                "tf-synthetic-gw1",
                "Linux",
                "5.10.0-26-amd64",
                "#1 SMP Debian 5.10.197-1 (2023-09-29)",
                "x86_64 GNU/Linux",
            ),
            "ip_d_link": ip_d_link("00:50:56:9a:77:02"),
            "sysctl_ip_forward": Run("net.ipv4.ip_forward = 1\n"),
            "ethtool_k:eth0": ethtool_k("eth0", tso=True, lro=True),
            "ethtool_i:eth0": ethtool_i_vmxnet3("0000:03:00.0"),
            "ethtool_k:lo": ETHTOOL_K_LO,
            "ethtool_i:lo": ETHTOOL_I_LO,
        },
    ),
)


def esxi_settings() -> bytes:
    """``esxcli system settings advanced list`` blocks: host LRO on (the defaults)."""
    blocks = (
        ("/Net/TcpipDefLROEnabled", 1, 1, 0, 1, "LRO enabled for TCP/IP"),
        ("/Net/TcpipHeapMax", 512, 512, 32, 1576, "Max megabytes the tcpip module heap can"
                                                  " grow to (synthetic text)"),
        ("/Net/Vmxnet3HwLRO", 1, 1, 0, 1, "Hardware LRO for vmxnet3 (synthetic text)"),
        ("/Net/Vmxnet3SwLRO", 1, 1, 0, 1, "Software LRO for vmxnet3 (synthetic text)"),
    )  # fmt: skip
    out = []
    for path, value, default, low, high, description in blocks:
        out.append(
            f"   Path: {path}\n"
            "   Type: integer\n"
            f"   Int Value: {value}\n"
            f"   Default Int Value: {default}\n"
            f"   Min Value: {low}\n"
            f"   Max Value: {high}\n"
            "   String Value:\n"
            "   Default String Value:\n"
            "   Valid Characters:\n"
            f"   Description: {description}\n"
        )
    return "\n".join(out).encode("ascii")


# --------------------------------------------------------------------------------------------
# Guests whose drivers the tar installer did not copy (driver provenance), and a Linux guest
# with a tar-installed VMware Tools
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuestScenario:
    """An image root built by its own function (not by installing a Solaris distrib)."""

    name: str
    summary: str  # one line for the README
    guest: Callable[[Path], Guest]


#: The package-record rows the collector gained after 0.1.0 (toolsfix/guest/capture_api.py),
#: frozen here like the 0.1.0 table: bundles written with them keep them.
PROVENANCE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("pkg_contents_drivers",
     "pkg contents -H -o pkg.fmri,path -a path=kernel/drv/vmxnet3s"
     " -a path=kernel/drv/amd64/vmxnet3s -a path=kernel/drv/vmxnet"
     " -a path=kernel/drv/amd64/vmxnet -a path=kernel/drv/vmmemctl"
     " -a path=kernel/drv/amd64/vmmemctl", "solaris"),
    ("svr4_contents_drivers",
     "egrep ^/kernel/drv/(amd64/)?(vmxnet3s|vmxnet|vmmemctl)[^a-z0-9_.]"
     " /var/sadm/install/contents",
     "solaris"),
)  # fmt: skip

#: What illumos' in-tree vmxnet3s reports as its identity (newer illumos releases).
ILLUMOS_IDENTITY = "VMware Ethernet v3 1.1.0.0"
# The elfgen build the OS driver look-alike starts from: open-vm-tools 8.6.x lineage, a build
# number no distrib sample uses, so no fingerprint record matches it byte for byte.
_OS_DRIVER_BASE = ("vmxnet3s", "11_64", "8.6.16", "2800000")


def os_vmxnet3s(identity: str = ILLUMOS_IDENTITY) -> bytes:
    """A SYNTHETIC look-alike of an OS-supplied (illumos in-tree) 64-bit vmxnet3s.

    An elfgen build whose identity string is overwritten in place by the OS driver's, padded
    with NULs (no offset moves, the ELF stays valid)."""
    module, os_dir, version, build = _OS_DRIVER_BASE
    data = _elfgen_builder()(module, os_dir, version, build)
    old = f"VMware EtherAdapter v3 b{build}".encode("ascii")
    new = identity.encode("ascii")
    if len(new) > len(old) or old not in data:
        raise RuntimeError("the OS driver identity does not fit the elfgen build's")
    return data.replace(old, new.ljust(len(old), b"\0"))


@dataclass(frozen=True)
class IpsPackage:
    """One installed IPS package of a guest model: which guest files its manifest delivers."""

    publisher: str
    stem: str
    version: str  # component,build-branch:timestamp
    summary: str
    files: tuple[str, ...]  # guest paths (must exist in the model)
    actions: tuple[str, ...] = ()  # extra actions (dir, driver, ...)


def ips_image(g: Guest, packages: Iterable[IpsPackage], at: int) -> None:
    """Record ``packages`` the way an IPS image does: the installed catalog and one manifest
    per package under /var/pkg/publisher/<publisher>/pkg/<stem>/<version> (URL-quoted).
    File actions carry the SHA-1 and size of the model's own bytes."""
    catalog: dict[str, dict[str, list[dict[str, str]]]] = {}
    for pkg in packages:
        catalog.setdefault(pkg.publisher, {})[pkg.stem] = [{"version": pkg.version}]
        lines = [
            f"set name=pkg.fmri value=pkg://{pkg.publisher}/{pkg.stem}@{pkg.version}",
            f'set name=pkg.summary value="{pkg.summary}"',
            'set name=pkg.description value="SYNTHETIC manifest written for toolsfix tests"',
            "set name=variant.arch value=i386",
            *pkg.actions,
        ]
        for path in pkg.files:
            node = g.files[path]
            mode = "0755" if node.mode & 0o111 else "0644"
            digest = hashlib.sha1(node.data).hexdigest()  # IPS names file payloads by SHA-1
            keep = " preserve=true" if path.endswith(".conf") else ""  # local edits survive
            lines.append(f"file {digest} group=sys mode={mode} owner=root "
                         f"path={path.lstrip('/')} pkg.size={len(node.data)}{keep}")  # fmt: skip
        where = (f"/var/pkg/publisher/{pkg.publisher}/pkg/{quote(pkg.stem, safe='')}/"
                 f"{quote(pkg.version, safe='')}")  # fmt: skip
        g.put(where, ("\n".join(lines) + "\n").encode("ascii"), at)
    document = {"_SYNTHETIC": "installed catalog written for toolsfix tests", **catalog}
    text = json.dumps(document, indent=None, sort_keys=True, separators=(",", ":"))
    g.put("/var/pkg/state/installed/catalog.base.C", (text + "\n").encode("ascii"), at)


ILLUMOS_CONF_HEAD = (
    "#\n"
    "# SYNTHETIC vmxnet3s.conf written for toolsfix tests, in the shape of the file an\n"
    "# illumos distribution delivers with its own driver (larger rings than VMware's).\n"
    "#\n"
)


def illumos_conf(*, lso: Optional[int]) -> bytes:
    """The OS's conf: rings for ten instances, EnableLSO only when ``lso`` is given."""

    def values(v: int) -> str:
        return ",".join([str(v)] * 10)

    text = (ILLUMOS_CONF_HEAD + f"TxRingSize={values(1024)};\nRxRingSize={values(1024)};\n"
            f"RxBufPoolLimit={values(2048)};\n")  # fmt: skip
    if lso is not None:
        text += f"EnableLSO={values(lso)};\n"
    return text.encode("ascii")


OMNIOS = OsImage(
    "omnios-r151046", 11,
    "  OmniOS v11 r151046\n"
    "  SYNTHETIC /etc/release written for toolsfix tests (not taken from an OmniOS image).\n",
    "# SYNTHETIC os-release written for toolsfix tests.\n"
    'NAME="OmniOS"\n'
    'PRETTY_NAME="OmniOS Community Edition v11 r151046"\n'
    'CPE_NAME="cpe:/o:omniosce:omnios:11:151046:0"\n'
    "ID=omnios\n"
    "VERSION=r151046\n"
    "VERSION_ID=r151046\n"
    "BUILD_ID=151046.0.2023.05.02\n",
    utc(2023, 6, 12, 8, 30, 0),
)  # fmt: skip
OPENINDIANA = OsImage(
    "openindiana-2023.10", 11,
    "             OpenIndiana Hipster 2023.10 (powered by illumos)\n"
    "        SYNTHETIC /etc/release written for toolsfix tests.\n",
    "# SYNTHETIC os-release written for toolsfix tests.\n"
    'NAME="OpenIndiana Hipster"\n'
    'PRETTY_NAME="OpenIndiana Hipster 2023.10"\n'
    'CPE_NAME="cpe:/o:openindiana:hipster:2023.10"\n'
    "ID=openindiana\n"
    "VERSION=2023.10\n"
    "VERSION_ID=2023.10\n",
    utc(2023, 11, 20, 14, 0, 0),
)  # fmt: skip
OS_CONF = "/kernel/drv/vmxnet3s.conf"
OS_NIC = "/kernel/drv/amd64/vmxnet3s"


def illumos_guest(image: OsImage, publisher: str, version: str, *, lso: Optional[int],
                  method: tuple[str, ...] = ()) -> Guest:  # fmt: skip
    """An illumos guest: vmxnet3s 64-bit only, from the OS's own driver package; no Tools."""
    g = base_solaris(image)
    t = image.installed
    g.put(OS_NIC, os_vmxnet3s(), t, 0o755)
    g.put(OS_CONF, illumos_conf(lso=None), t, 0o644)  # as the OS package delivers it
    if method:
        g.put(METHOD_PATH, smf_method(method), t + 86400, 0o555)
    driver = 'driver name=vmxnet3s alias=pciex15ad,7b0 perms="* 0666 root sys"'
    ips_image(g, (
        IpsPackage(publisher, "release/name", version, "illumos release files (synthetic)",
                   ("/etc/os-release", "/etc/release")),
        IpsPackage(publisher, "driver/network/vmxnet3s", version,
                   "VMware vmxnet3 Ethernet driver (synthetic)", (OS_NIC, OS_CONF),
                   ("dir group=sys mode=0755 owner=root path=kernel/drv/amd64", driver)),
        IpsPackage(publisher, "system/kernel", version, "Core kernel (synthetic)",
                   ("/etc/system",)),
    ), t)  # fmt: skip
    if lso is not None:  # the administrator's edit, after install (preserved by IPS)
        g.put(OS_CONF, illumos_conf(lso=lso), t + 600, 0o644)
    return g


def omnios_guest(_distribs: Path) -> Guest:
    return illumos_guest(OMNIOS, "omnios", "0.5.11-151046.0:20230502T104311Z", lso=None)


def openindiana_guest(_distribs: Path) -> Guest:
    return illumos_guest(OPENINDIANA, "openindiana.org",
                         "0.5.11-2023.0.0.21747:20231029T174539Z", lso=0,
                         method=(DLADM_MTU, IPADM_MTU))  # fmt: skip


#: open-vm-tools built for Solaris 11.4 and installed from a .p5p archive (pkg install -g).
OVT_VERSION = "12.1.5"
OVT_BUILD = "20735119"
OVT_PUBLISHER = "ovt-synthetic"
OVT_IPS_VERSION = f"{OVT_VERSION},11.4-11.4.42.0.1.111.0:20230317T101500Z"
TOOLS_CONF = (
    b"# SYNTHETIC /etc/vmware-tools/tools.conf written for toolsfix tests.\n[logging]\nlog = true\n"
)


def ovt_ips_guest(_distribs: Path) -> Guest:
    """Solaris 11.4 with open-vm-tools from an IPS package: drivers in /kernel/drv/amd64 only,
    configuration in /etc/vmware-tools but no tar install journal."""
    image = OS_IMAGES["11.4"]
    g = base_solaris(image)
    at = image.installed + 30 * 86400
    build = _elfgen_builder()
    for module in ("vmxnet3s", "vmmemctl"):
        g.put(f"/kernel/drv/amd64/{module}", build(module, "11_64", OVT_VERSION, OVT_BUILD),
              at, 0o755)  # fmt: skip
    conf = ("#\n# SYNTHETIC vmxnet3s.conf written for toolsfix tests (as an open-vm-tools\n"
            "# package delivers it): LSO on for every instance.\n#\n"
            "EnableLSO=" + ",".join(["1"] * 10) + ";\n")  # fmt: skip
    g.put(OS_CONF, conf.encode("ascii"), at, 0o644)
    g.put("/etc/vmware-tools/tools.conf", TOOLS_CONF, at, 0o644)
    ips_image(g, (
        IpsPackage("solaris", "release/name", "11.4-11.4.0.0.1.15.0:20180816T233014Z",
                   "Solaris release files (synthetic)", ("/etc/os-release", "/etc/release")),
        IpsPackage(OVT_PUBLISHER, "open-vm-tools", OVT_IPS_VERSION,
                   "open-vm-tools for Solaris 11.4 (synthetic)",
                   ("/kernel/drv/amd64/vmxnet3s", "/kernel/drv/amd64/vmmemctl", OS_CONF,
                    "/etc/vmware-tools/tools.conf"),
                   ('driver name=vmxnet3s alias=pciex15ad,7b0 perms="* 0666 root sys"',
                    "driver name=vmmemctl")),
    ), at)  # fmt: skip
    return g


CENTOS_7 = (
    "# SYNTHETIC os-release written for toolsfix tests.\n"
    'NAME="CentOS Linux"\n'
    'VERSION="7 (Core)"\n'
    'ID="centos"\n'
    'ID_LIKE="rhel fedora"\n'
    'VERSION_ID="7"\n'
    'PRETTY_NAME="CentOS Linux 7 (Core)"\n'
    'CPE_NAME="cpe:/o:centos:centos:7"\n'
)


def linux_tools_guest(distribs: Path) -> Guest:
    """A Linux guest where Tools 9.2.2 was installed with the tar installer: the journal, the
    Linux configurator (``vmware_product()`` returns tools-for-linux) and no /kernel/drv."""
    tools = load_tools(distribs, "9.2.2")
    g = Guest("linux")
    os_time = utc(2016, 3, 1, 9, 0, 0)
    at = utc(2016, 4, 12, 15, 31, 7)
    g.put("/etc/os-release", CENTOS_7.encode("ascii"), os_time)
    g.put("/etc/sysctl.conf", SYSCTL_CONF_ROUTER.replace(b"\n", b"\n# no settings\n", 1),
          os_time)  # fmt: skip
    cfg = tools.read("bin/vmware-config-tools.pl").replace(
        b"return 'tools-for-solaris';", b"return 'tools-for-linux';")  # fmt: skip
    if b"tools-for-linux" not in cfg:
        raise RuntimeError("the 9.2.2 configurator has no vmware_product() to rewrite")
    journal = ["file /etc/vmware-tools/locations", "answer INSTALL_CYCLE yes",
               "directory /etc/vmware-tools"]  # fmt: skip
    for name, mode in (("installer.sh", 0o555), ("manifest.txt.shipped", 0o444)):
        g.put(f"/etc/vmware-tools/{name}", tools.read(f"etc/{name}"), at, mode)
        journal.append(f"file /etc/vmware-tools/{name} {at}")
    journal += [f"file /etc/vmware-tools/not_configured {at}", "answer BINDIR " + BINDIR]
    for name, data in (
        ("vmware-config-tools.pl", cfg),
        ("vmware-uninstall-tools.pl", tools.read("bin/vmware-uninstall-tools.pl")),
    ):
        g.put(f"{BINDIR}/{name}", data, at, 0o555)
        journal.append(f"file {BINDIR}/{name} {at}")
    journal += ["answer INITDIR /etc", "answer INITSCRIPTSDIR /etc/init.d",
                "answer SBINDIR /usr/sbin", "answer LIBDIR " + LIBDIR,
                f"directory {LIBDIR}", f"directory {LIBDIR}/modules",
                "answer DOCDIR /usr/share/doc/vmware-tools", "answer RUN_CONFIGURATOR yes",
                "tools/lib/modules/source/vmxnet.tar",  # a stray line, as real journals have
                "answer VMCI_CONFED no", "answer VMXNET3_CONFED no", "answer VMXNET_CONFED no",
                "answer VMMEMCTL_CONFED no", "answer ENABLE_HGFS yes",
                f"file /etc/vmware-tools/config {at + 61}",
                "remove_file /etc/vmware-tools/not_configured",
                "remove_answer INSTALL_CYCLE"]  # fmt: skip
    g.put("/etc/vmware-tools/config", b"# SYNTHETIC Tools config written for toolsfix tests.\n",
          at + 61)  # fmt: skip
    g.put("/etc/vmware-tools/locations", ("\n".join(journal) + "\n").encode("ascii"), at + 61)
    return g


OTHER_ROOTS: tuple[GuestScenario, ...] = (
    GuestScenario(
        "omnios-os-driver",
        "OmniOS r151046 (illumos): vmxnet3s only in /kernel/drv/amd64, delivered by the OS"
        " package driver/network/vmxnet3s (IPS records in /var/pkg); no VMware Tools; the OS's"
        " conf leaves EnableLSO at its default (on)",
        omnios_guest,
    ),
    GuestScenario(
        "sol11.4-open-vm-tools-ips",
        "Solaris 11.4 with open-vm-tools 12.1.5 installed from an IPS archive: 64-bit vmxnet3s"
        " and vmmemctl only, /etc/vmware-tools/tools.conf, no tar install journal",
        ovt_ips_guest,
    ),
    GuestScenario(
        "linux-tools-tar",
        "CentOS 7 with Tools 9.2.2 from the tar installer: journal, Linux configurator"
        " (tools-for-linux), no Solaris drivers",
        linux_tools_guest,
    ),
)
F_STARTED = utc(2024, 1, 16, 9, 5, 12)
OTHER_BUNDLES: tuple[BundleScenario, ...] = (
    BundleScenario(
        "openindiana-os-driver",
        "OpenIndiana Hipster 2023.10 (illumos): the OS's vmxnet3s (amd64 only, `pkg contents`"
        " names driver/network/vmxnet3s), EnableLSO=0, link and IP MTU 9000 set by an SMF"
        " method; collected with the package-record rows",
        "tf-synthetic-oi1", F_STARTED, 8, openindiana_guest,
        {
            **uname("tf-synthetic-oi1", "SunOS", "5.11", "illumos-8f1b2c3d4e", "i86pc i386 i86pc"),
            "isainfo_b": Run("64\n"),
            "modinfo": Run(MODINFO_HEAD + MODINFO_BASE + " 88 fffffffff7c3a000    b2e0 240   1"
                           f"  vmxnet3s ({ILLUMOS_IDENTITY})\n"),
            "ndd_ip_lso_outbound": Run("1\n"),
            **dladm_s11(9000),
            "ipadm_show_prop_tcp": ipadm_tcp_tuned(),
            "ipadm_show_ifprop_mtu": ipadm_ifprop_mtu(9000),
            "ifconfig_a": ifconfig_solaris("192.0.2.41", 9000, "0:50:56:8e:17:c2", True),
            "ipadm_show_prop_lso": ipadm_lso(1),
            "pkg_contents_drivers": Run(
                "pkg://openindiana.org/driver/network/vmxnet3s@0.5.11-2023.0.0.21747:"
                "20231029T174539Z  kernel/drv/amd64/vmxnet3s\n"
            ),
            "svr4_contents_drivers": Run("", 1, ""),
        },
        rows=PROVENANCE_ROWS,
    ),
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# The collector, replayed over a guest model
# --------------------------------------------------------------------------------------------
def iso_time(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ls_date(mtime: int, now: int) -> str:
    """ls's date column in the C locale (guest clock in UTC): time of day within six months,
    else the year."""
    tm = time.gmtime(mtime)
    day = f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:>2}"
    if now - 182 * 86400 < mtime <= now:
        return f"{day} {tm.tm_hour:02d}:{tm.tm_min:02d}"
    return f"{day}  {tm.tm_year}"


def ls_la(g: Guest, directory: str, now: int) -> str:
    """``ls -la DIR``: Solaris /usr/bin/ls layout on Solaris models, GNU ls on Linux ones."""
    dirs = g.all_dirs()
    gnu = g.os_name == "linux"
    virtual = directory.startswith(("/sys", "/proc"))
    rows: list[tuple[str, int, int, int, str]] = []  # mode, links, size, mtime, name

    def dir_row(path: str, name: str) -> tuple[str, int, int, int, str]:
        subdirs = sum(1 for d in dirs if d != "/" and posixpath.dirname(d) == path)
        size = 0 if virtual else 4096 if gnu else len(g.entries(path)) + 2
        return stat.filemode(stat.S_IFDIR | 0o755), 2 + subdirs, size, dirs[path], name

    rows.append(dir_row(directory, "."))
    rows.append(dir_row(posixpath.dirname(directory), ".."))
    for name in g.entries(directory):
        path = posixpath.join(directory, name)
        node = g.files.get(path)
        if node is None:
            rows.append(dir_row(path, name))
        elif node.link:
            rows.append((stat.filemode(stat.S_IFLNK | 0o777), 1, 0 if virtual else
                         len(node.link), node.mtime, f"{name} -> {node.link}"))  # fmt: skip
        else:
            rows.append((stat.filemode(stat.S_IFREG | node.mode), 1, len(node.data),
                         node.mtime, name))  # fmt: skip
    # GNU: 1 KiB units of 4 KiB ext4 blocks; Solaris: 512-byte units.  Symlinks take none.
    unit, block = (4, 4096) if gnu else (1, 512)
    total = sum(unit * -(-size // block) for mode, _l, size, _m, _n in rows if mode[0] != "l")
    owner, group = ("root", "root") if gnu else ("root", "sys")
    out = [f"total {0 if virtual else total}"]
    if gnu:
        lw = max(len(str(r[1])) for r in rows)
        sw = max(len(str(r[2])) for r in rows)
        out += [f"{m} {links:>{lw}} {owner} {group} {size:>{sw}} {ls_date(mt, now)} {n}"
                for m, links, size, mt, n in rows]  # fmt: skip
    else:
        out += [f"{m} {links:>3} {owner:<8} {group:<8} {size:>8} {ls_date(mt, now)} {n}"
                for m, links, size, mt, n in rows]  # fmt: skip
    return "\n".join(out) + "\n"


def _glob(g: Guest, pattern: str) -> list[str]:
    """sh's expansion of a capture pattern (C locale order; no dot files for ``*``)."""
    parts = pattern.strip("/").split("/")
    found = ["/"]
    for part in parts:
        nxt: list[str] = []
        for base in found:
            if not any(ch in part for ch in "*?["):
                nxt.append(posixpath.join(base, part))
                continue
            nxt += [posixpath.join(base, e) for e in g.entries(base)
                    if not e.startswith(".") and fnmatch.fnmatchcase(e, part)]  # fmt: skip
        found = nxt
    return sorted(found)


def collect(g: Guest, b: BundleScenario) -> dict[str, bytes]:
    """The bundle the 0.1.0 collector writes on guest ``g``: relative path -> bytes."""
    guest_os = "linux" if g.os_name == "linux" else "solaris"
    finished = b.started + b.seconds
    out: dict[str, bytes] = {}
    manifest = [f"format={BUNDLE_FORMAT}", f"collector_version={COLLECTOR_VERSION}",
                f"time={iso_time(b.started)}", f"host={b.host}", f"os={guest_os}",
                f"timeout={COLLECTOR_TIMEOUT}"]  # fmt: skip
    files_list: list[str] = []
    used: set[str] = set()

    def run(key: str, line: str, applies: str) -> None:
        if applies not in ("any", guest_os):
            manifest.append(f"command {key} - {line}")
            return
        used.add(key)
        result = b.runs.get(key)
        if result is None:  # not on PATH: the collector looks commands up itself
            result = Run("", 127, f"toolsfix collector: {line.split()[0]}: not found\n")
        out[f"commands/{key}.out"] = result.stdout.encode("utf-8")
        out[f"commands/{key}.err"] = result.stderr.encode("utf-8")
        manifest.append(f"command {key} {result.status} {line}")

    def list_dir(path: str) -> None:
        if not g.is_dir(path) or f"listings{path}/names.txt" in out:
            return
        out[f"listings{path}/ls-l.txt"] = ls_la(g, path, b.started).encode("utf-8")
        names = [".", "..", *g.entries(path)]
        out[f"listings{path}/names.txt"] = ("\n".join(names) + "\n").encode("utf-8")
        manifest.append(f"listing 0 {path}")

    def copy_file(path: str) -> None:
        node = g.regular(path)
        if node is None or f"files{path}" in out:
            return
        out[f"files{path}"] = node.data
        # `stat -c %Y` (tried first) does not follow a symlink: a link keeps its own mtime
        files_list.append(f"{len(node.data)} {g.files[path].mtime} {path}")

    for key, line, applies in (*COMMANDS, *b.rows):
        run(key, line, applies)
    if g.is_dir("/sys/class/net"):
        for iface in _glob(g, "/sys/class/net/*"):
            name = posixpath.basename(iface)
            for key, line, applies in IF_COMMANDS:
                run(f"{key}:{name}", line.replace("{if}", name), applies)
        list_dir("/sys/class/net")
    patterns = list(CAPTURE_FILES)
    for binary in CAPTURE_BINARIES:
        patterns += [binary, binary + ".old.*"]
    for pattern in patterns:
        for path in _glob(g, pattern):
            copy_file(path)
    bindir, libdir = _locations_dirs(g)
    if bindir:
        manifest.append("bindir=" + bindir)
        copy_file(bindir + "/vmware-config-tools.pl")
    if libdir:
        manifest.append("libdir=" + libdir)
        binary = libdir + "/modules/binary"
        list_dir(binary)
        for sub in _glob(g, binary + "/*"):
            if g.is_dir(sub):
                list_dir(sub)
        for path in _glob(g, binary + "/*/vmxnet3s*"):
            copy_file(path)
    for directory in LISTING_DIRS:
        list_dir(directory)
    manifest.append("finished=" + iso_time(finished))
    unused = sorted(set(b.runs) - used)
    if unused:
        raise ValueError(f"{b.name}: outputs for commands that never ran: {', '.join(unused)}")
    out["manifest.txt"] = ("\n".join(manifest) + "\n").encode("utf-8")
    out["files.list"] = "".join(line + "\n" for line in files_list).encode("utf-8")
    return out


def _locations_dirs(g: Guest) -> tuple[str, str]:
    """BINDIR and LIBDIR as the collector reads them: the last answer, cleared by removes."""
    node = g.regular("/etc/vmware-tools/locations")
    bindir = libdir = ""
    if node is None:
        return bindir, libdir
    for line in node.data.decode("ascii").splitlines():
        if line.startswith("answer BINDIR "):
            bindir = line[len("answer BINDIR ") :]
        elif line.startswith("answer LIBDIR "):
            libdir = line[len("answer LIBDIR ") :]
        elif line.startswith("remove_answer BINDIR"):
            bindir = ""
        elif line.startswith("remove_answer LIBDIR"):
            libdir = ""
    return (bindir if bindir.startswith("/") else "", libdir if libdir.startswith("/") else "")


def write_bundle(files: Mapping[str, bytes], dest: Path) -> None:
    for rel, data in sorted(files.items()):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)  # the collector's umask 077 is not kept by git anyway


# --------------------------------------------------------------------------------------------
# The fingerprint records of the distrib samples
# --------------------------------------------------------------------------------------------
def fingerprint_file(out: Path) -> Path:
    """Where the synthetic fingerprint records go: the repository's shipped database when
    generating into vendor-samples/, else ``<out>/fingerprints/`` (``--out`` and ``--check``
    must never write into the checkout)."""
    if out.resolve() == HERE:
        return REPO / "fingerprints" / FPDB_FILE
    return out / "fingerprints" / FPDB_FILE


def fingerprint_records(distribs: Path) -> bytes:
    """``toolsfix-fingerprints/1`` document with a record per driver file of every distrib.

    Variants that share a release ship byte-identical builds, so each (version, build,
    directory, module, sha256) is recorded once, learned from the release's own variant.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from toolsfix import fpdb  # local: the generator must not need toolsfix for --help

    variants = sorted(p.name for p in distribs.iterdir() if (p / DISTRIB).is_dir())
    tools = [load_tools(distribs, v) for v in variants]
    tools.sort(key=lambda t: (t.variant != t.version, t.variant))  # release variants first
    records: dict[tuple[str, ...], fpdb.Record] = {}
    for t in tools:
        members = [
            (p.relative_to(t.root).as_posix(), p.read_bytes())
            for p in sorted((t.root / "lib/modules/binary").rglob("*"))
            if p.is_file()
        ]
        problems: list[str] = []
        learned = fpdb.learn(members, tools_version=t.version, build=t.build,
                             source=f"vendor-samples/distribs/{t.variant}", synthetic=True,
                             problems=problems)  # fmt: skip
        if problems:
            raise RuntimeError(f"{t.variant}: " + "; ".join(problems))
        for record in learned:
            records.setdefault(record.key, record)

    def order(r: fpdb.Record) -> tuple[object, ...]:
        version = tuple(int(p) for p in (r.tools_version or "0").split("."))
        return (version, r.build or "", r.os_dir, r.module, r.sha256)

    document = {
        "schema": fpdb.FILE_SCHEMA,
        "records": [r.to_dict() for r in sorted(records.values(), key=order)],
    }
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True) + "\n").encode()


# --------------------------------------------------------------------------------------------
# Entry points used by generate.py
# --------------------------------------------------------------------------------------------
def generate(out: Path) -> list[Path]:
    """(Re)write roots/, bundles/ and the synthetic fingerprint records for the distribs that
    generate.py wrote under ``out``; returns what was written."""
    distribs = out / "distribs"
    written: list[Path] = []
    for name in (ROOTS_DIR, BUNDLES_DIR):
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir(parents=True)
    mtimes: dict[str, dict[str, int]] = {}
    for scenario in ROOTS:
        dest = out / ROOTS_DIR / scenario.name
        mtimes[scenario.name] = write_root(solaris_guest(scenario, distribs), dest)
        written.append(dest)
    for other in OTHER_ROOTS:
        dest = out / ROOTS_DIR / other.name
        mtimes[other.name] = write_root(other.guest(distribs), dest)
        written.append(dest)
    (out / ROOTS_DIR / MTIMES).write_text(json.dumps(mtimes, indent=1, sort_keys=True) + "\n",
                                          encoding="ascii")  # fmt: skip
    for bundle in (*BUNDLES, *OTHER_BUNDLES):
        dest = out / BUNDLES_DIR / bundle.name
        write_bundle(collect(bundle.guest(distribs), bundle), dest)
        written.append(dest)
    esxi = out / BUNDLES_DIR / ESXI_FILE
    esxi.write_bytes(esxi_settings())
    written.append(esxi)
    fp_file = fingerprint_file(out)
    fp_file.parent.mkdir(parents=True, exist_ok=True)
    fp_file.write_bytes(fingerprint_records(distribs))
    written.append(fp_file)
    return written


def _toolchain(root: Path) -> str:
    try:
        meta = json.loads((root / METADATA).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return ""
    value = meta.get("elfgen_toolchain", "") if isinstance(meta, dict) else ""
    return value if isinstance(value, str) else ""


def _generated_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in (ROOTS_DIR, BUNDLES_DIR):
        base = root / name
        if base.is_dir():
            for p in base.rglob("*"):
                if p.is_file():
                    found[p.relative_to(root).as_posix()] = p
    fp_file = fingerprint_file(root)
    if fp_file.is_file():
        found["fingerprints/" + FPDB_FILE] = fp_file
    return found


def _depends_on_toolchain(rel: str, path: Path) -> bool:
    """Driver objects and whatever lists their sizes or hashes."""
    if rel.startswith("fingerprints/") or rel.endswith(("/files.list", "/ls-l.txt")):
        return True
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def compare(fresh: Path, committed: Path) -> list[str]:
    """Differences between freshly generated roots/bundles/fingerprints and the committed ones.

    Contents and executable bits only: git does not keep mtimes (roots/mtimes.json does, and
    it is compared).  With another gcc/binutils than the one in generated.json, driver objects
    and the files listing their sizes or hashes are skipped (generate.py prints the note).
    """
    new, old = _generated_files(fresh), _generated_files(committed)
    if _toolchain(fresh) != _toolchain(committed):
        new = {k: v for k, v in new.items() if not _depends_on_toolchain(k, v)}
        old = {k: v for k, v in old.items() if not _depends_on_toolchain(k, v)}
    problems = [f"missing: {p}" for p in sorted(set(new) - set(old))]
    problems += [f"unexpected: {p}" for p in sorted(set(old) - set(new))]
    for rel in sorted(set(new) & set(old)):
        if new[rel].read_bytes() != old[rel].read_bytes():
            problems.append(f"differs: {rel}")
        elif (new[rel].stat().st_mode & 0o111) != (old[rel].stat().st_mode & 0o111):
            problems.append(f"executable bit differs: {rel}")
    return problems


ROOT_NAMES: tuple[str, ...] = (*(s.name for s in ROOTS), *(s.name for s in OTHER_ROOTS))
BUNDLE_NAMES: tuple[str, ...] = tuple(b.name for b in (*BUNDLES, *OTHER_BUNDLES))
