"""An offline guest image mounted somewhere: every guest path is read under that root.

Scanning a mounted image must not need privileges and must not touch the host, so this never
uses chroot and never lets a guest symlink point it at a host file: an image's
``/etc/release -> /usr/lib/release`` means the image's own ``/usr/lib/release``. Symlinks are
therefore resolved by hand, relative to the root, and ``..`` stops at the root as it does at
a real ``/``. Commands are runtime facts that an image cannot answer, so none are invented.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional, Union

from toolsfix.errors import InputError
from toolsfix.guest.capture_api import Capture, CommandResult
from toolsfix.safeio import read_regular_file

# Same bound as the Linux kernel's symlink-follow limit: a loop ends instead of spinning.
MAX_SYMLINKS = 40


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
        if not path.startswith("/"):
            return None
        pending = [p for p in path.split("/") if p][::-1]
        done: list[str] = []
        followed = 0
        while pending:
            part = pending.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            host = os.path.join(self.root, *done, part)
            try:
                is_link = stat.S_ISLNK(os.lstat(host).st_mode)
            except OSError:
                is_link = False
            if not is_link:
                done.append(part)
                continue
            followed += 1
            if followed > MAX_SYMLINKS:
                return None
            try:
                target = os.readlink(host)
            except OSError:
                return None
            if target.startswith("/"):
                done = []
            pending.extend(p for p in reversed(target.split("/")) if p)
        return os.path.join(self.root, *done)

    # -- Capture protocol -----------------------------------------------------------------
    def command(self, key: str) -> Optional[CommandResult]:
        """Always None: an image has no running kernel, links or tunables to ask."""
        return None

    def read_file(self, path: str) -> Optional[bytes]:
        host = self.resolve(path)
        if host is None:
            return None
        return read_regular_file(host, follow_symlinks=False)

    def list_dir(self, path: str) -> Optional[list[str]]:
        host = self.resolve(path)
        if host is None:
            return None
        try:
            return sorted(os.listdir(host))
        except OSError:
            return None

    # -- extras ---------------------------------------------------------------------------
    def file_mtime(self, path: str) -> Optional[int]:
        """The file's modification time in the image (epoch seconds); None when absent."""
        host = self.resolve(path)
        if host is None:
            return None
        try:
            return int(os.lstat(host).st_mtime)
        except OSError:
            return None
