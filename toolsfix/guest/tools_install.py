"""Where the tar installer put VMware Tools on a guest: ``LIBDIR``, ``BINDIR``, the configurator.

Kept apart from :mod:`toolsfix.guest.drivers` (which identifies drivers and so loads the
fingerprint database, the identification ladder and the ELF readers) so that a service can
read the installed configurator, and start its sandboxed proof, before any of that is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from toolsfix.guest.facts import GuestFacts
from toolsfix.guest.parsers import InstallDB
from toolsfix.guest.reader import GuestReader, is_unread
from toolsfix.knowledge import CONFIGURATOR_NAME, DEFAULT_BINDIR, DEFAULT_LIBDIR
from toolsfix.safeio import ReadResult

__all__ = ["ConfiguratorFile", "configurator_file", "install_locations"]


@dataclass(frozen=True)
class ConfiguratorFile:
    """The installed configurator at ``BINDIR``: its bytes, or why there are none."""

    path: str
    read: ReadResult

    @property
    def data(self) -> Optional[bytes]:
        return None if self.read.data is None else bytes(self.read.data)

    @property
    def unread(self) -> Optional[str]:
        """``"<path> could not be read: <why>"`` when it exists but could not be read."""
        if not is_unread(self.read.status):
            return None
        return f"{self.path} could not be read: {self.read.reason or self.read.status.value}"


def install_locations(facts: GuestFacts) -> tuple[Optional[InstallDB], str, str]:
    """The install journal, and the ``LIBDIR`` and ``BINDIR`` it answers (or the defaults)."""
    db = facts.install_db.value if facts.install_db.available else None
    answers = db.answers if db is not None else {}
    return db, answers.get("LIBDIR") or DEFAULT_LIBDIR, answers.get("BINDIR") or DEFAULT_BINDIR


def configurator_file(reader: GuestReader, facts: GuestFacts) -> ConfiguratorFile:
    """The configurator installed at ``BINDIR`` (read once: the reader caches it).

    A service reads it first to start the configurator's sandboxed proof as soon as its
    bytes are known, so the perl processes run while the drivers are identified;
    :func:`~toolsfix.guest.drivers.driver_facts` gets the same file from the same reader.
    """
    _, _, bindir = install_locations(facts)
    path = f"{bindir.rstrip('/')}/{CONFIGURATOR_NAME}"
    return ConfiguratorFile(path, reader.read_checked(path))
