"""An offline guest image mounted somewhere: every guest path is read under that root.

Scanning a mounted image must not need privileges and must not touch the host, so this never
uses chroot and never lets a guest symlink point it at a host file: an image's
``/etc/release -> /usr/lib/release`` means the image's own ``/usr/lib/release``. Symlinks are
therefore resolved by hand, relative to the root, and ``..`` stops at the root as it does at
a real ``/``. Commands are runtime facts that an image cannot answer, so none are invented.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from toolsfix.errors import InputError
from toolsfix.guest.capture_api import Capture, CommandResult, ListResult, list_host_dir
from toolsfix.rootfs import RootPathError, resolve_in_root
from toolsfix.safeio import ReadResult, ReadStatus, read_file_checked


class RootCapture(Capture):
    """A :class:`~toolsfix.guest.capture_api.Capture` over an image root. Read-only."""

    def __init__(self, root: Union[str, os.PathLike[str]]) -> None:
        path = Path(root)
        if not path.exists():
            raise InputError(f"{path}: no such image root")
        if not path.is_dir():
            raise InputError(f"{path}: image root is not a directory")
        self.root = str(path.resolve())
        self.origin = f"root:{path}"

    def resolve(self, path: str) -> Optional[str]:
        """The host path for guest ``path`` with every symlink resolved inside the root.

        None for a relative path, a symlink loop or an unreadable link. The result may not
        exist; it is always the root itself or below it.
        """
        try:
            return resolve_in_root(self.root, path)
        except RootPathError:
            return None

    # -- Capture protocol -----------------------------------------------------------------
    def command(self, key: str) -> Optional[CommandResult]:
        """Always None: an image has no running kernel, links or tunables to ask."""
        return None

    def _host(self, path: str) -> tuple[Optional[str], ReadResult]:
        """(host path, OK) or (None, why the guest path has no host path).

        A symlink loop or a link that may not be read is "could not read", never "absent":
        the file behind it may well be there.
        """
        try:
            return resolve_in_root(self.root, path), ReadResult(ReadStatus.OK)
        except RootPathError as exc:
            if exc.kind == "relative":
                return None, ReadResult(ReadStatus.ABSENT, reason="not a guest-absolute path")
            reason = "symbolic link loop" if exc.kind == "loop" else "unreadable symbolic link"
            return None, ReadResult(ReadStatus.UNREADABLE, reason=reason)

    def read_file_checked(self, path: str) -> ReadResult:
        """Bounded, non-blocking read of the image's file (every symlink resolved inside)."""
        host, failed = self._host(path)
        if host is None:
            return failed
        return read_file_checked(host, follow_symlinks=False)

    def list_dir_checked(self, path: str) -> ListResult:
        """Entries of the image's directory; a directory that cannot be listed is UNREADABLE."""
        host, failed = self._host(path)
        if host is None:
            return ListResult(failed.status, reason=failed.reason)
        return list_host_dir(host)

    def file_mtime(self, path: str) -> Optional[int]:
        """The file's modification time in the image (epoch seconds); None when absent."""
        host = self.resolve(path)
        if host is None:
            return None
        try:
            return int(os.lstat(host).st_mtime)
        except OSError:
            return None
