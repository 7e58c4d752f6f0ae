"""Paths taken from an image root, resolved the way a chroot would see them, never on the host.

An image root is a jail. Its symlinks, its install database and the ``BINDIR``/``LIBDIR`` it
records were written by whoever built the image, so none of them may steer a read or a write to
a host file: an absolute symlink ``/usr/bin`` in the image means ``ROOT/usr/bin``, and ``..``
stops at the root as it does at a real ``/``. Symlinks are therefore followed by hand, one
component at a time, relative to the root; the kernel is never asked to follow one.

Two consumers share this one resolver:

- the read-only image capture (``verify --root``) *clamps*: a path that climbs above the root
  is read as the root itself, exactly as a chrooted process would see it;
- ``patch --root`` is *strict*: a path or symlink that tries to climb above the root is not
  something an installer writes, so it is refused (:class:`RootPathError` ``escape``) instead of
  being silently re-interpreted before a write.

Resolving by name leaves a window in which a directory could be swapped for a symlink, so
:meth:`Jail.open_dir` re-walks the resolved directory from the root with ``O_NOFOLLOW`` on every
component and returns a directory descriptor; writers then create, rename and read *relative to
that descriptor*, so a swap after resolution fails instead of redirecting the write.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional, Union

from toolsfix.errors import InputError, RefusedError
from toolsfix.safeio import MAX_FILE_BYTES, too_large

# Same bound as the Linux kernel's symlink-follow limit: a loop ends instead of spinning.
MAX_SYMLINKS = 40

_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | _O_CLOEXEC


class RootPathError(Exception):
    """A guest path that cannot be resolved inside the root; ``kind`` says why.

    ``relative`` (not an absolute guest path), ``escape`` (climbs above the root; strict mode
    only), ``loop`` (more than :data:`MAX_SYMLINKS` links) or ``unreadable-link``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def resolve_in_root(
    root: str, path: str, *, strict: bool = False, follow_final: bool = True
) -> str:
    """The host path for guest ``path`` with every symlink resolved inside ``root``.

    ``root`` must already be a real (symlink-free) absolute host path. The result is always
    ``root`` itself or below it and may not exist. With ``follow_final`` false a symlink in the
    last position is returned as is (for callers that must see the link, not its target).
    With ``strict``, any ``..`` that would climb above the root (in ``path`` or in a link
    target) raises ``escape`` instead of stopping at the root.
    """
    if not path.startswith("/"):
        raise RootPathError("relative", f"{path!r} is not an absolute path")
    pending = [p for p in path.split("/") if p][::-1]
    done: list[str] = []
    followed = 0
    via = ""  # the last link followed, for the message of an escape
    while pending:
        part = pending.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            elif strict:
                where = f" (through the symlink {via})" if via else ""
                raise RootPathError("escape", f"{path!r} climbs above the image root{where}")
            continue
        host = os.path.join(root, *done, part)
        try:
            is_link = stat.S_ISLNK(os.lstat(host).st_mode)
        except OSError:
            is_link = False
        if not is_link or (not pending and not follow_final):
            done.append(part)
            continue
        followed += 1
        if followed > MAX_SYMLINKS:
            raise RootPathError("loop", f"{path!r}: too many levels of symbolic links")
        try:
            target = os.readlink(host)
        except OSError as exc:
            raise RootPathError(
                "unreadable-link", f"{path!r}: cannot read the link {host}: {exc.strerror}"
            ) from None
        via = "/" + "/".join([*done, part]) + f" -> {target}"
        if target.startswith("/"):
            done = []
        pending.extend(p for p in reversed(target.split("/")) if p)
    return os.path.join(root, *done)


def open_dir_nofollow(base: str, parts: list[str]) -> int:
    """A descriptor for ``base/parts...`` opened without following a symlink below ``base``.

    Raises OSError (``ELOOP``/``ENOTDIR`` when a component is, or became, a symlink or not a
    directory). The caller owns and closes the descriptor.
    """
    flags = os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC
    fd = os.open(base, flags)
    try:
        for part in parts:
            nfd = os.open(part, flags | _O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nfd
            if not stat.S_ISDIR(os.fstat(fd).st_mode):  # platforms without O_DIRECTORY
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), part)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_at(dir_fd: int, name: str, *, limit: int = MAX_FILE_BYTES) -> tuple[bytes, os.stat_result]:
    """Bytes and status of the regular file ``name`` in ``dir_fd``, never through a symlink.

    Non-blocking so a FIFO planted in an image cannot hang the run. Raises OSError: ``ELOOP``
    for a symlink, ``EINVAL`` for anything but a regular file, ``EFBIG`` above ``limit``.
    """
    fd = os.open(name, _O_READ | _O_NOFOLLOW, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
        if st.st_size > limit:  # refused unread; the loop below still counts what it reads
            raise OSError(errno.EFBIG, f"larger than {limit} bytes", name)
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", name)
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def describe_oserror(exc: OSError) -> str:
    """One short reason for a failed open/read, naming a symlink as such."""
    if exc.errno == errno.ELOOP:
        return "is a symbolic link (not followed)"
    return exc.strerror or str(exc)


class Jail:
    """An image root that every path from the image is resolved and opened inside.

    Errors are user-facing: an escape is a :class:`~toolsfix.errors.RefusedError` (exit 4),
    anything else that makes the path unusable an :class:`~toolsfix.errors.InputError`.
    """

    def __init__(self, root: Union[str, os.PathLike[str]]) -> None:
        path = Path(root)
        if not path.exists():
            raise InputError(f"{path}: no such image root")
        if not path.is_dir():
            raise InputError(f"{path}: image root is not a directory")
        self.root = os.path.realpath(path)
        self.label = str(path)

    def resolve(self, guest_path: str, *, what: str, follow_final: bool = True) -> str:
        """Host path of ``guest_path`` (strict); ``what`` names the path in error messages."""
        try:
            return resolve_in_root(self.root, guest_path, strict=True, follow_final=follow_final)
        except RootPathError as exc:
            if exc.kind == "escape":
                raise RefusedError(
                    f"{self.label}: {what}: {exc}; refusing to leave the image root"
                ) from None
            raise InputError(f"{self.label}: {what}: {exc}") from None

    def guest_path(self, host: str) -> str:
        """The guest-absolute spelling of a host path returned by :meth:`resolve`."""
        rel = os.path.relpath(host, self.root)
        return "/" if rel == "." else "/" + rel.replace(os.sep, "/")

    def open_dir(self, host_dir: str, *, what: str = "directory") -> int:
        """Descriptor of a resolved directory, re-walked from the root with ``O_NOFOLLOW``.

        A component that is a symlink now (it was not when resolved) means the image changed
        under us: that is refused rather than followed.
        """
        rel = os.path.relpath(host_dir, self.root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise RefusedError(f"{host_dir}: outside the image root {self.label}")
        parts = [] if rel == "." else rel.split(os.sep)
        try:
            return open_dir_nofollow(self.root, parts)
        except OSError as exc:
            guest = self.guest_path(host_dir)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, getattr(errno, "EMLINK", -1)):
                raise RefusedError(
                    f"{self.label}: {guest} is not a plain directory inside the image (a "
                    "symlink appeared on the way?); refusing to follow it"
                ) from None
            raise InputError(f"{self.label}: cannot open {what} {guest}: {exc.strerror}") from None

    def is_dir(self, guest_path: str) -> Optional[bool]:
        """Whether ``guest_path`` is a directory inside the image; None when it cannot be told."""
        try:
            host = resolve_in_root(self.root, guest_path, strict=True)
        except RootPathError:
            return None
        try:
            return stat.S_ISDIR(os.lstat(host).st_mode)
        except FileNotFoundError:
            return False
        except OSError:
            return None

    def read_file(self, guest_path: str, *, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
        """A regular file of the image, read through :meth:`open_dir` and ``O_NOFOLLOW``."""
        host = self.resolve(guest_path, what=what)
        shown = guest_path
        if self.guest_path(host) != guest_path:
            shown += f" (resolved in the image to {self.guest_path(host)})"
        if host == self.root:
            raise InputError(f"{self.label}: {what} {shown} is not a regular file")
        dir_fd = self.open_dir(os.path.dirname(host), what=f"the directory of {what}")
        try:
            return read_at(dir_fd, os.path.basename(host), limit=limit)[0]
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                raise too_large(f"{self.label}: {shown}", what, limit) from None
            reason = describe_oserror(exc)
            raise InputError(f"{self.label}: cannot read {what} {shown}: {reason}") from None
        finally:
            os.close(dir_fd)
