"""Replacing a file atomically while keeping what it was: owner, group, mode, and no debris.

A patch must leave either the old file or the new one, whatever happens (a crash, ``kill -9``,
a full disk), and the new one must carry the old one's owner, group and mode, setuid and setgid
included. Everything here works relative to a directory descriptor the caller opened safely and
never follows a symlink in the last position, so where the write lands was decided once, by the
caller, not by whatever a name points to at the moment of writing.

Temp files are named ``.NAME.<random>.toolsfix-tmp`` beside the target and created with
``O_EXCL``; on Linux they are nameless (``O_TMPFILE``) until complete and only get a name for
the instant between ``linkat`` and ``rename``. A leftover of an interrupted run is removed by
the next one (:func:`clean_leftovers`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from toolsfix.errors import RefusedError
from toolsfix.rootfs import open_dir_nofollow

TMP_SUFFIX = ".toolsfix-tmp"

# O_TMPFILE (Linux) makes the temp file nameless until it is complete: a kill -9 while writing
# leaves nothing behind. Elsewhere (or when the filesystem lacks it) a named, O_EXCL temp file
# is used and a leftover is removed by the next run.
ANONYMOUS_TEMP = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NO_TMPFILE_ERRNOS = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}
# Link failures that a named temp file would hit too: report them instead of retrying.
_REAL_LINK_ERRNOS = {errno.EEXIST, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


def _temp_name(name: str) -> str:
    """A fresh temp name beside ``name``: 4 random bytes from the OS, as
    ``secrets.token_hex(4)`` gives them without importing :mod:`secrets` (start-up time)."""
    return f".{name}.{os.urandom(4).hex()}{TMP_SUFFIX}"


def _create_temp(dir_fd: int, name: str, *, anonymous: bool) -> tuple[int, Optional[str]]:
    """A new, empty 0600 file for ``name``'s replacement: (fd, temp name or None if nameless)."""
    if anonymous:
        try:
            flags = os.O_TMPFILE | os.O_WRONLY | _O_CLOEXEC
            return os.open(".", flags, 0o600, dir_fd=dir_fd), None
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE_ERRNOS:
                raise
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    for _ in range(100):
        tmp = _temp_name(name)
        try:
            return os.open(tmp, flags, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", name)


def _link_anonymous(fd: int, dir_fd: int, name: str) -> str:
    """Give a complete O_TMPFILE file a temporary name (rename needs one); returns it."""
    for _ in range(100):
        tmp = _temp_name(name)
        try:
            os.link(f"/proc/self/fd/{fd}", tmp, dst_dir_fd=dir_fd)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _keep_owner_and_mode(fd: int, like: os.stat_result, *, force: bool, shown: str) -> list[str]:
    """Give the replacement the original's owner, group and mode (setuid/setgid/sticky too).

    chown comes first because chown clears the setuid and setgid bits. When the owner or the
    mode cannot be kept (not root, not the owner), the replacement would quietly weaken or
    change the file, so that is refused unless ``force``.
    """
    notes: list[str] = []
    want = stat.S_IMODE(like.st_mode)
    try:
        os.fchown(fd, like.st_uid, like.st_gid)
    except PermissionError:
        problem = f"cannot keep owner {like.st_uid}:{like.st_gid} of {shown}"
        if not force:
            raise RefusedError(f"{problem}; run as root or as the owner (or use --force)") from None
        notes.append(f"forced: {problem}; it is now owned by {os.geteuid()}")
    os.fchmod(fd, want)
    got = stat.S_IMODE(os.fstat(fd).st_mode)
    if got != want:
        problem = f"cannot keep mode {want:04o} of {shown} (the system set {got:04o})"
        if not force:
            raise RefusedError(f"{problem}; run as root or as the owner (or use --force)")
        notes.append(f"forced: {problem}")
    return notes


def _fsync_dir(dir_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)


def write_at(
    dir_fd: int,
    name: str,
    data: bytes,
    *,
    like: Optional[os.stat_result] = None,
    mode: Optional[int] = None,
    exclusive: bool = False,
    force: bool = False,
    shown: str = "",
) -> list[str]:
    """Atomically make ``name`` in ``dir_fd`` hold ``data``; returns notes (forced changes).

    The temp file is created in the same directory (O_EXCL, or nameless with O_TMPFILE),
    written, given the owner and mode of ``like`` (or ``mode``), fsynced, then renamed over
    ``name`` and the directory fsynced: a crash at any point leaves the old file or the new
    one, never a torn mix. With ``exclusive`` the file is linked in instead of renamed, so an
    existing ``name`` is never replaced (FileExistsError): that is how backups are made.
    """
    anonymous = ANONYMOUS_TEMP
    while True:
        fd, tmp = _create_temp(dir_fd, name, anonymous=anonymous)
        notes: list[str] = []
        try:
            _write_all(fd, data)
            if like is not None:
                notes = _keep_owner_and_mode(fd, like, force=force, shown=shown or name)
            elif mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
            if tmp is None:
                try:
                    if exclusive:
                        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd)
                        break
                    tmp = _link_anonymous(fd, dir_fd, name)
                except OSError as exc:
                    if exc.errno in _REAL_LINK_ERRNOS:
                        raise
                    anonymous = False  # /proc or linkat unusable here: redo with a named temp
                    continue
            if exclusive:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                tmp = None
            break
        finally:
            os.close(fd)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
    _fsync_dir(dir_fd)
    return notes


def atomic_write(
    path: Path, data: bytes, *, like: Optional[os.stat_result] = None, mode: Optional[int] = None
) -> None:
    """:func:`write_at` for a host path the user named (archive copies): ``like`` keeps
    owner and mode, ``mode`` sets permissions only."""
    dir_fd = open_dir_nofollow(str(path.parent), [])
    try:
        write_at(dir_fd, path.name, data, like=like, mode=mode, shown=str(path))
    finally:
        os.close(dir_fd)


def write_blockers(st: os.stat_result) -> list[str]:
    """Why replacing this file would override its protection; empty when it would not.

    Replacing goes through the directory, so the kernel never asks whether the *file* is
    writable: a 0444 file in a writable directory would be replaced silently. So the mode bits
    decide: a user needs the write bit of their class (owner, group, other) and must own the
    file, or the replacement would change owner. Root may write any file, as everywhere on
    Unix: VMware ships the configurator ``0555`` (in the tarball and installed), and making
    the fix need ``--force`` -- which also overrides the unknown-variant refusal -- would train
    users to pass it; the mode is kept as it was. ACLs are not consulted.
    """
    mode = stat.S_IMODE(st.st_mode)
    euid = os.geteuid()
    if euid == 0:
        return []
    groups = {os.getegid(), *os.getgroups()}
    problems: list[str] = []
    if euid == st.st_uid:
        bit = stat.S_IWUSR
    elif st.st_gid in groups:
        bit = stat.S_IWGRP
    else:
        bit = stat.S_IWOTH
    if not mode & bit:
        problems.append(f"you have no write permission on it (mode {mode:04o})")
    if euid != st.st_uid:
        problems.append(f"it is owned by uid {st.st_uid}; the patched file would be owned by you")
    elif st.st_gid not in groups:
        problems.append(f"its group {st.st_gid} is not one of yours; the group would change")
    return problems


def clean_leftovers(
    dir_fd: int,
    name: str,
    st: os.stat_result,
    *,
    dry_run: bool,
    partners: Sequence[str] = (),
) -> list[str]:
    """Remove temp files an interrupted run left beside ``name``; report each.

    Only files that are ours are removed: named ``.NAME.*.toolsfix-tmp``, regular, owned by
    the caller or by the target's owner (the temp file is chowned before the rename), and
    with one link, or two when the other is one of ``partners`` (a backup is *linked* into
    place from its temp file, and a kill can land before the temp name is unlinked).
    Anything else so named is left alone and reported.
    """
    notes: list[str] = []
    prefix = f".{name}."
    try:
        entries = sorted(os.listdir(dir_fd))
    except OSError:
        return notes
    owners = {os.geteuid(), st.st_uid}
    linked: set[tuple[int, int]] = set()
    for partner in partners:
        with contextlib.suppress(OSError):
            pst = os.stat(partner, dir_fd=dir_fd, follow_symlinks=False)
            linked.add((pst.st_dev, pst.st_ino))
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(TMP_SUFFIX)):
            continue
        try:
            est = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        links_ok = est.st_nlink == 1 or (est.st_nlink == 2 and (est.st_dev, est.st_ino) in linked)
        if not stat.S_ISREG(est.st_mode) or not links_ok or est.st_uid not in owners:
            notes.append(f"left {entry} alone: named like a toolsfix temp file, but not ours")
            continue
        if dry_run:
            notes.append(f"would remove {entry}, left by an interrupted run")
            continue
        try:
            os.unlink(entry, dir_fd=dir_fd)
        except FileNotFoundError:
            continue
        except OSError as exc:
            notes.append(f"could not remove {entry}, left by an interrupted run: {exc.strerror}")
            continue
        notes.append(f"removed {entry}, left by an interrupted run")
    return notes
