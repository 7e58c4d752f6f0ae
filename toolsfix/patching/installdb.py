"""The configurator of an installed guest, found the way the installer recorded it.

The tar installer writes its answers (``BINDIR``, ``LIBDIR``) into the install database
``/etc/vmware-tools/locations``; ``patch --root`` reads them there instead of guessing paths,
and resolves every one inside the image root (:class:`toolsfix.rootfs.Jail`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolsfix.errors import InputError
from toolsfix.guest.parsers import parse_locations
from toolsfix.rootfs import Jail
from toolsfix.safeio import MAX_SCRIPT_BYTES


@dataclass(frozen=True)
class Installed:
    """The configurator of an installed guest, found through the image's install database."""

    jail: Jail
    guest_path: str  # BINDIR/vmware-config-tools.pl, as the guest names it
    rerun: str
    has_solaris11_builds: Optional[bool]


def _answer_path(jail: Jail, db_answers: Mapping[str, str], key: str, default: str) -> str:
    """An absolute directory answer (BINDIR, LIBDIR) of the install database, normalised."""
    value = db_answers.get(key) or default
    if not value.startswith("/"):
        raise InputError(f"{jail.label}: {key} {value!r} in the install database is not absolute")
    return "/" + value.strip("/") if value.strip("/") else "/"


def installed_configurator(root: Path) -> Installed:
    """The configurator of an installed guest: ``BINDIR`` from the install database.

    Everything here comes from the image, so every path (the database itself, BINDIR,
    LIBDIR, each symlink on the way) is resolved inside the root as a chroot would see it;
    one that climbs above the root is refused (exit 4).
    """
    jail = Jail(root)
    data = jail.read_file(
        "/etc/vmware-tools/locations", what="install database", limit=MAX_SCRIPT_BYTES
    )
    db = parse_locations(data.decode("utf-8", errors="replace"))
    bindir = _answer_path(jail, db.answers, "BINDIR", "/usr/bin")
    libdir = _answer_path(jail, db.answers, "LIBDIR", "/usr/lib/vmware-tools")
    guest = f"{bindir.rstrip('/')}/vmware-config-tools.pl"
    host = jail.resolve(guest, what="BINDIR")
    if not os.path.isfile(host):
        raise InputError(f"{jail.label}: no installed configurator at {guest} (BINDIR {bindir})")
    builds = f"{libdir.rstrip('/')}/modules/binary"
    what = "LIBDIR"
    has11: Optional[bool] = None
    if os.path.isdir(jail.resolve(builds, what=what)):
        has11 = os.path.isdir(jail.resolve(f"{builds}/11", what=what))
    return Installed(jail, guest, f"{guest} -d", has11)
