"""Which installed package, if any, delivered a file: read from the guest's package databases.

A driver in ``/kernel/drv`` that no VMware Tools install journal records is not necessarily an
orphan: illumos delivers ``vmxnet3s`` in its own packages, and Solaris 11.4 guests can get it
from an IPS package of open-vm-tools. What the image's package system records is the evidence
that tells these apart, so it is read the way each system keeps it:

* **IPS** (Solaris 11, illumos): ``pkg contents`` output when a command could be run (live
  guest, collector bundle); on an image root, the installed-package catalog
  (``/var/pkg/state/installed/catalog.base.C``) and the manifests it points to
  (``/var/pkg/publisher/<publisher>/pkg/<stem>/<version>``, URL-quoted), whose ``file``
  actions name every delivered path.
* **SVR4** (Solaris 10): the lines of ``/var/sadm/install/contents`` for the paths asked about
  (an ``egrep`` of that file on a live guest or in a bundle).
* **dpkg** (Linux): ``/var/lib/dpkg/info/<package>.list``.

Parsers never raise on odd text; a database that could not be consulted makes the answer
unavailable with the reason, never "no package owns it".
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional
from urllib.parse import quote

from toolsfix.findings import Evidence
from toolsfix.guest.fact import Fact, fact_missing, fact_of
from toolsfix.guest.reader import GuestReader, cmd_evidence, excerpt
from toolsfix.knowledge import (
    DPKG_INFO_DIR,
    IPS_INSTALLED_CATALOG,
    IPS_PUBLISHER_DIR,
    OPEN_VM_TOOLS_PACKAGES,
    SVR4_CONTENTS,
)

__all__ = [
    "IPS_CONTENTS_KEY",
    "SVR4_CONTENTS_KEY",
    "IpsManifest",
    "PackageOwner",
    "dpkg_package",
    "package_owners",
    "parse_ips_catalog",
    "parse_ips_manifest",
    "parse_pkg_contents",
    "parse_svr4_contents",
]

#: Command-table keys (``capture_api.COMMANDS``) whose output names the package of a driver.
IPS_CONTENTS_KEY = "pkg_contents_drivers"
SVR4_CONTENTS_KEY = "svr4_contents_drivers"
#: At most this many IPS manifests are read from an image root (a full install has ~1,500).
MAX_MANIFESTS = 20_000
# Stems worth reading first: where a vmxnet3s is usually delivered.
_LIKELY_STEM = re.compile(r"vmxnet|vm-tools|vmware|^driver/network", re.I)
_PATH_ATTR = re.compile(r'(?:^|\s)path=(?:"([^"]*)"|(\S+))')
_VALUE_ATTR = re.compile(r'(?:^|\s)value=(?:"([^"]*)"|(\S+))')
_SVR4_STATUS = "-+*~!%"


@dataclass(frozen=True)
class PackageOwner:
    """The installed package that delivered one path, with the record that says so."""

    system: str  # "ips", "svr4" or "dpkg"
    name: str  # IPS stem (driver/network/vmxnet3s), SVR4 package (VMWvmxnet3s), deb name
    version: Optional[str]
    publisher: Optional[str]
    evidence: Evidence

    @property
    def release(self) -> Optional[str]:
        """The component version of an IPS version (``12.1.5`` of ``12.1.5,11.4-…``)."""
        if not self.version:
            return None
        return self.version.split(",", 1)[0].split("-", 1)[0] or None

    def describe(self) -> str:
        if self.system == "ips":
            pub = f"pkg://{self.publisher}/" if self.publisher else "pkg:/"
            ver = f"@{self.version}" if self.version else ""
            return f"IPS package {pub}{self.name}{ver}"
        kind = {"svr4": "SVR4 package", "dpkg": "deb package"}.get(self.system, "package")
        return f"{kind} {self.name}" + (f" {self.version}" if self.version else "")


# --------------------------------------------------------------------------- parsers


def _fmri_parts(fmri: str) -> tuple[Optional[str], str, Optional[str]]:
    """``pkg://pub/stem@version`` -> (pub, stem, version); ``pkg:/stem`` has no publisher."""
    rest = fmri.strip()
    publisher: Optional[str] = None
    if rest.startswith("pkg://"):
        rest = rest[len("pkg://") :]
        publisher, _, rest = rest.partition("/")
    elif rest.startswith("pkg:/"):
        rest = rest[len("pkg:/") :]
    stem, _, version = rest.partition("@")
    return publisher or None, stem, version or None


def parse_pkg_contents(text: str) -> list[tuple[str, str, int]]:
    """``pkg contents -H -o pkg.fmri,path`` lines -> (fmri, guest-absolute path, line)."""
    out: list[tuple[str, str, int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if len(tokens) < 2 or not tokens[0].startswith("pkg:"):
            continue
        out.append((tokens[0], "/" + tokens[-1].lstrip("/"), number))
    return out


def parse_ips_catalog(text: str) -> list[tuple[str, str, str]]:
    """The installed catalog (JSON: publisher -> stem -> [{"version": …}]) as
    (publisher, stem, version) triples; anything not of that shape is skipped."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    out: list[tuple[str, str, str]] = []
    if not isinstance(data, dict):
        return out
    for publisher, stems in sorted(data.items()):
        if publisher.startswith("_") or not isinstance(stems, dict):
            continue
        for stem, entries in sorted(stems.items()):
            for entry in entries if isinstance(entries, list) else []:
                version = entry.get("version") if isinstance(entry, dict) else None
                if isinstance(version, str) and version:
                    out.append((publisher, stem, version))
    return out


@dataclass(frozen=True)
class IpsManifest:
    """What a package manifest says that toolsfix needs: its FMRI and its delivered files."""

    fmri: Optional[str]
    files: Mapping[str, tuple[int, str]]  # guest-absolute path -> (line, the action line)


def parse_ips_manifest(text: str) -> IpsManifest:
    fmri: Optional[str] = None
    files: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("set ") and "name=pkg.fmri" in line:
            m = _VALUE_ATTR.search(line)
            if m:
                fmri = m.group(1) if m.group(1) is not None else m.group(2)
        elif line.startswith("file "):
            m = _PATH_ATTR.search(line)
            if m:
                path = m.group(1) if m.group(1) is not None else m.group(2)
                files.setdefault("/" + path.lstrip("/"), (number, line))
    return IpsManifest(fmri, MappingProxyType(files))


def parse_svr4_contents(text: str, wanted: Iterable[str]) -> dict[str, tuple[list[str], int, str]]:
    """``/var/sadm/install/contents`` lines for ``wanted`` paths -> (packages, line, text).

    A file entry is ``path ftype class mode owner group size cksum mtime pkg…``; the package
    names are the trailing fields, possibly prefixed by a status character.
    """
    paths = set(wanted)
    out: dict[str, tuple[list[str], int, str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw or raw[0] != "/":
            continue
        tokens = raw.split()
        path = tokens[0].split("=", 1)[0]
        if path not in paths or len(tokens) < 2:
            continue
        ftype = tokens[1]
        start = 9 if ftype in ("f", "e", "v") else 6 if ftype in ("d", "x") else 3
        names = [t.lstrip(_SVR4_STATUS) for t in tokens[start:]]
        names = [n.split(":", 1)[0] for n in names if n]
        if names:
            out[path] = (names, number, raw.strip())
    return out


# --------------------------------------------------------------------------- the builder


def _from_pkg_contents(
    reader: GuestReader, wanted: set[str]
) -> tuple[Optional[dict[str, PackageOwner]], str]:
    result, reason = reader.command(IPS_CONTENTS_KEY)
    if result is None:
        return None, reason
    owners: dict[str, PackageOwner] = {}
    for fmri, path, line in parse_pkg_contents(result.stdout):
        if path in wanted and path not in owners:
            publisher, stem, version = _fmri_parts(fmri)
            ev = cmd_evidence(result, excerpt("\n".join(result.stdout.splitlines()[line - 1 :]), 1))
            owners[path] = PackageOwner("ips", stem, version, publisher, ev)
    return owners, ""


def _from_ips_image(
    reader: GuestReader, wanted: set[str]
) -> tuple[Optional[dict[str, PackageOwner]], str]:
    catalog = reader.read_checked(IPS_INSTALLED_CATALOG, cache=False)
    if catalog.data is None:
        return None, reader.absent(IPS_INSTALLED_CATALOG)
    installed = parse_ips_catalog(bytes(catalog.data).decode("utf-8", "replace"))
    installed.sort(key=lambda e: (_LIKELY_STEM.search(e[1]) is None, e[1]))
    owners: dict[str, PackageOwner] = {}
    for publisher, stem, version in installed[:MAX_MANIFESTS]:
        if wanted <= owners.keys():
            break
        path = posixpath.join(
            IPS_PUBLISHER_DIR, publisher, "pkg", quote(stem, safe=""), quote(version, safe="")
        )
        data = reader.data(path, cache=False)
        if data is None:
            continue
        manifest = parse_ips_manifest(data.decode("utf-8", "replace"))
        for target in sorted(wanted & manifest.files.keys()):  # a set: fix the order
            line, action = manifest.files[target]
            fmri = manifest.fmri or f"pkg://{publisher}/{stem}@{version}"
            detail = f"installed package {fmri} delivers {target.lstrip('/')}"
            ev = Evidence(path=path, line=line, excerpt=action[:200], detail=detail)
            owners.setdefault(target, PackageOwner("ips", stem, version, publisher, ev))
    return owners, ""


def _from_svr4(
    reader: GuestReader, wanted: set[str]
) -> tuple[Optional[dict[str, PackageOwner]], str]:
    result, reason = reader.command(SVR4_CONTENTS_KEY, answers=(0, 1))  # egrep: 1 = no line
    if result is not None:
        text, where = result.stdout, "command"
    elif reader.origin.startswith("bundle:"):
        return None, reason
    else:
        data = reader.data(SVR4_CONTENTS, cache=False)
        if data is None:
            return None, reader.absent(SVR4_CONTENTS)
        text, where = data.decode("utf-8", "replace"), "file"
    owners: dict[str, PackageOwner] = {}
    for path, (names, line, raw) in parse_svr4_contents(text, wanted).items():
        if where == "command" and result is not None:
            ev = cmd_evidence(result, raw[:200])
        else:
            ev = Evidence(path=SVR4_CONTENTS, line=line, excerpt=raw[:200])
        owners[path] = PackageOwner("svr4", names[0], None, None, ev)
    return owners, ""


def package_owners(reader: GuestReader, paths: Sequence[str]) -> Fact[Mapping[str, PackageOwner]]:
    """The package that delivered each of ``paths``, from every package database that could
    be consulted (IPS first, then SVR4).

    Available (possibly empty) when at least one database answered; ``source.detail`` says
    which. Unavailable, with every database's reason, when none could be consulted (an old
    bundle without the package commands, an image with no package database readable).
    """
    wanted = set(paths)
    owners: dict[str, PackageOwner] = {}
    consulted: list[str] = []
    reasons: list[str] = []
    ips, why = _from_pkg_contents(reader, wanted)
    if ips is None and not reader.origin.startswith("bundle:"):
        ips, why2 = _from_ips_image(reader, wanted)
        why = f"{why}; {why2}" if why else why2
    if ips is not None:
        consulted.append("IPS")
        owners.update(ips)
    else:
        reasons.append(f"IPS: {why}")
    svr4, why = _from_svr4(reader, wanted - owners.keys())
    if svr4 is not None:
        consulted.append("SVR4")
        for path, owner in svr4.items():
            owners.setdefault(path, owner)
    else:
        reasons.append(f"SVR4: {why}")
    if not consulted:
        return fact_missing("no package database could be consulted (" + "; ".join(reasons) + ")")
    found = ", ".join(sorted(owners)) or "none of the drivers"
    detail = f"consulted {' and '.join(consulted)} package records; packaged: {found}"
    return fact_of(MappingProxyType(owners), Evidence(detail=detail))


def dpkg_package(reader: GuestReader) -> Optional[PackageOwner]:
    """The open-vm-tools deb package when dpkg recorded one (Linux guests), else None."""
    for name in OPEN_VM_TOOLS_PACKAGES:
        path = f"{DPKG_INFO_DIR}/{name}.list"
        text = reader.read(path)
        if text is not None and text.strip():
            first = text.strip().splitlines()[0]
            ev = Evidence(path=path, line=1, excerpt=first[:200], detail="dpkg file list")
            return PackageOwner("dpkg", name, None, None, ev)
    return None
