"""Apply a known fix to a configurator -- atomically, verifiably, reversibly, at most once.

The lessons of older patch kits are built in: identify the file before touching it, explain
why a patch does or does not apply, never apply twice, keep exactly one pristine backup, and
verify afterwards by re-analysis *and* by running the patched logic under real Perl. A patch
that fails verification is rolled back before we report the failure.

This module is the service behind ``toolsfix patch`` and its public entry point: it resolves
what PATH or ``--root`` names and writes a file in place (backup, atomic replace, rollback).
Deciding and proving (:mod:`toolsfix.patching.plan`), copying an archive
(:mod:`toolsfix.patching.archive`) and finding an installed configurator
(:mod:`toolsfix.patching.installdb`) live beside it; the names callers use are re-exported here.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from toolsfix import installer
from toolsfix.atomicfile import atomic_write, clean_leftovers, write_at, write_blockers
from toolsfix.distrib import CONFIGURATOR, IsoSource, TarSource, inventory, open_source
from toolsfix.errors import ExitCode, InputError, RefusedError, ToolsfixError
from toolsfix.patching.archive import check_output, gzip_params, patch_archive
from toolsfix.patching.installdb import Installed, installed_configurator

# ``plan`` and ``verify_patched`` are looked up in this module's namespace by the in-place
# path below, so a test may replace them here to time only the I/O.
from toolsfix.patching.plan import Outcome, Plan, plan, solaris11_builds, verify_patched
from toolsfix.perl import compile_check
from toolsfix.rootfs import Jail, describe_oserror, open_dir_nofollow, read_at
from toolsfix.safeio import MAX_CONFIGURATOR_BYTES, too_large

__all__ = [
    "BACKUP_SUFFIX",
    "Installed",
    "Outcome",
    "Plan",
    "atomic_write",
    "check_output",
    "gzip_params",
    "installed_configurator",
    "patch_archive",
    "patch_file",
    "plan",
    "run_patch",
    "verify_patched",
]

BACKUP_SUFFIX = ".toolsfix-orig"


# --- patching a file in place ---------------------------------------------------------------
#
# Every read and write of a patch happens relative to one directory descriptor that was opened
# without following symlinks (inside the image root for --root, inside the distrib for a
# directory distrib), and never follows a symlink in the last position: a file named in an
# image can only ever be the image's own file.


def _ensure_backup(
    dir_fd: int, name: str, original: bytes, st: os.stat_result, *, shown: Path, force: bool
) -> Path:
    """Exactly one pristine backup next to the file, with its owner and mode; never replaced.

    The backup is linked into place, so one that appears meanwhile is compared, not
    overwritten; a symlink or anything but a regular file under the backup name is refused.
    """
    bname = name + BACKUP_SUFFIX
    backup = shown.with_name(bname)
    for _ in range(3):
        try:
            existing, _st = read_at(dir_fd, bname)
        except FileNotFoundError:
            try:
                write_at(
                    dir_fd, bname, original, like=st, exclusive=True, force=force, shown=str(backup)
                )
            except FileExistsError:
                continue
            return backup
        except OSError as exc:
            raise RefusedError(
                f"{backup}: {describe_oserror(exc)}; move it away first "
                "(toolsfix never overwrites a backup)"
            ) from None
        if existing != original:
            raise RefusedError(
                f"{backup} exists and differs from {shown}; move it away first "
                "(toolsfix never overwrites a backup)"
            )
        return backup
    raise RefusedError(f"{backup}: keeps changing; refusing to patch")


def _check_unchanged(dir_fd: int, name: str, st: os.stat_result, shown: Path) -> None:
    """The file about to be replaced is still the one that was read (not swapped or edited)."""
    try:
        now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise RefusedError(f"{shown}: changed while patching ({exc.strerror})") from None
    key = ("st_dev", "st_ino", "st_mode", "st_size", "st_mtime_ns", "st_uid", "st_gid")
    if any(getattr(now, k) != getattr(st, k) for k in key):
        raise RefusedError(f"{shown}: changed while patching; nothing written, run again")


@dataclass(frozen=True)
class _Target:
    """The configurator to patch: what was named, the regular file behind it, and the
    directory walk (from a trusted base, no symlinks followed) that reaches that file."""

    shown: Path
    real: Path
    base: str
    parts: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def open_dir(self) -> int:
        try:
            return open_dir_nofollow(self.base, list(self.parts))
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise RefusedError(
                    f"{self.real.parent}: not a plain directory any more (a symlink appeared?); "
                    "refusing to follow it"
                ) from None
            raise InputError(f"{self.real.parent}: cannot open: {exc.strerror}") from None


def _parts(base: str, directory: str) -> Optional[tuple[str, ...]]:
    """Components from ``base`` down to ``directory``; None when it is not below ``base``."""
    rel = os.path.relpath(directory, base)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return () if rel == os.curdir else tuple(rel.split(os.sep))


def _target_on_host(path: Path, boundary: Optional[Path]) -> _Target:
    """A file the user named (a lone script, or the configurator of a directory distrib).

    A symlink is followed the way the host sees it and its target is patched (the link is
    kept and the output says so). Inside a directory distrib the target must stay inside the
    distrib: a link out of it is refused.
    """
    try:
        lst = os.lstat(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    real = path
    notes: tuple[str, ...] = ()
    if stat.S_ISLNK(lst.st_mode):
        real = Path(os.path.realpath(path))
        notes = (f"{path} is a symlink: patched its target {real}; the link is kept",)
    if boundary is None:
        return _Target(path, real, str(real.parent), (), notes)
    base = os.path.realpath(boundary)
    parts = _parts(base, os.path.realpath(real.parent))
    if parts is None:
        raise RefusedError(
            f"{path}: resolves to {os.path.realpath(path)}, outside the distrib {boundary}; "
            "refusing to follow it"
        )
    return _Target(path, real, base, parts, notes)


def _target_in_jail(jail: Jail, guest: str) -> _Target:
    """A configurator named by the image: every symlink resolved inside the image root."""
    what = "configurator"
    link = jail.resolve(guest, what=what, follow_final=False)
    real = jail.resolve(guest, what=what)
    parts = _parts(jail.root, os.path.dirname(real))
    if real == jail.root or parts is None:
        raise InputError(f"{jail.label}: {guest} is not a file in the image")
    notes: tuple[str, ...] = ()
    if real != link:
        notes = (
            f"{guest} is a symlink to {jail.guest_path(real)} in the image: patched that file "
            "inside the root; the link is kept",
        )
    return _Target(Path(link), Path(real), jail.root, parts, notes)


def patch_file(
    path: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
    run_perl: bool = True,
    has_solaris11_builds: Optional[bool] = None,
    label: Optional[str] = None,
    layout: Optional[str] = None,
    boundary: Optional[Path] = None,
) -> Outcome:
    """Patch one configurator file in place (a lone script or a directory distrib's).

    ``boundary`` is the directory the file must stay inside (the distrib); see
    :func:`_patch_target` for what is preserved and what is refused.
    """
    return _patch_target(
        _target_on_host(path, boundary),
        force=force,
        dry_run=dry_run,
        run_perl=run_perl,
        has_solaris11_builds=has_solaris11_builds,
        label=label,
        layout=layout,
    )


def _patch_target(
    target: _Target,
    *,
    force: bool,
    dry_run: bool,
    run_perl: bool,
    has_solaris11_builds: Optional[bool],
    label: Optional[str] = None,
    layout: Optional[str] = None,
) -> Outcome:
    """Read, plan, back up, replace atomically, verify, roll back on failure.

    Kept: the owner, group and mode (setuid/setgid/sticky included) of the file and of its
    backup. Refused without ``force``: a file whose mode gives the caller no write permission
    (for a user other than root), one the caller cannot give back its owner or mode. Temp files an
    interrupted run left beside the file are removed first and reported.
    """
    dir_fd = target.open_dir()
    try:
        return _patch_in_dir(
            target,
            dir_fd,
            force=force,
            dry_run=dry_run,
            run_perl=run_perl,
            has_solaris11_builds=has_solaris11_builds,
            label=label,
            layout=layout,
        )
    finally:
        os.close(dir_fd)


def _patch_in_dir(
    target: _Target,
    dir_fd: int,
    *,
    force: bool,
    dry_run: bool,
    run_perl: bool,
    has_solaris11_builds: Optional[bool],
    label: Optional[str],
    layout: Optional[str],
) -> Outcome:
    fname = target.real.name
    shown = str(target.shown)
    try:
        original, st = read_at(dir_fd, fname, limit=MAX_CONFIGURATOR_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise too_large(shown, "configurator", MAX_CONFIGURATOR_BYTES) from None
        raise InputError(f"{shown}: cannot read: {describe_oserror(exc)}") from None
    name = label or shown
    leftovers = clean_leftovers(
        dir_fd, fname, st, dry_run=dry_run, partners=(fname + BACKUP_SUFFIX,)
    )
    notes = [*target.notes, *leftovers]
    p = plan(original, name, force=force, has_solaris11_builds=has_solaris11_builds, layout=layout)
    if p.action != "patch" or p.new_data is None or p.patch is None:
        return Outcome(shown, p.action, p.reason, notes=tuple(notes))
    diff = p.diff(original, name)
    notes.extend(f"forced: {f}" for f in p.forced)
    blockers = write_blockers(st)
    if blockers and not force:
        if dry_run:
            notes.extend(f"needs --force: {b}" for b in blockers)
        else:
            raise RefusedError(
                f"{shown}: refusing to replace it: {'; '.join(blockers)} (--force patches it "
                "anyway, keeping owner and mode)"
            )
    notes.extend(f"forced: {b}" for b in blockers if force)
    if dry_run:
        return Outcome(shown, "would-patch", p.reason, p.patch.id, diff=diff, notes=tuple(notes))
    original_compiled = compile_check(installer.decode(original)).compiles if run_perl else None
    try:
        backup = _ensure_backup(dir_fd, fname, original, st, shown=target.real, force=force)
        _check_unchanged(dir_fd, fname, st, target.real)
        notes.extend(
            write_at(dir_fd, fname, p.new_data, like=st, force=force, shown=str(target.real))
        )
    except PermissionError as exc:
        raise RefusedError(f"{shown}: cannot write: {exc.strerror}") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot write: {exc.strerror}") from None
    try:
        try:
            written = read_at(dir_fd, fname)[0]
        except OSError as exc:
            raise ToolsfixError(
                f"{shown}: cannot read back: {describe_oserror(exc)}", ExitCode.VERIFY_FAILED
            ) from None
        if written != p.new_data:
            raise ToolsfixError(
                f"{shown}: read-back differs from what was written", ExitCode.VERIFY_FAILED
            )
        proven = verify_patched(
            written,
            name,
            p.patch,
            run_perl=run_perl,
            path=target.real,
            original_compiled=original_compiled,
        )
    except ToolsfixError:
        write_at(dir_fd, fname, original, like=st, force=True)  # roll back before reporting
        raise
    return Outcome(
        shown,
        "patched",
        p.reason,
        p.patch.id,
        str(backup),
        diff,
        tuple(proven),
        tuple(notes),
        str(target.real),
    )


def run_patch(
    path: Optional[Path],
    *,
    root: Optional[Path] = None,
    output: Optional[Path] = None,
    dry_run: bool = False,
    force: bool = False,
    run_perl: bool = True,
) -> Outcome:
    """Resolve what PATH/--root name, then patch it the way that kind of target needs."""
    if (path is None) == (root is None):
        raise ToolsfixError("give either PATH or --root DIR", ExitCode.USAGE)
    if root is not None:
        if output is not None:
            raise ToolsfixError("--output is only for tarballs and ISO images", ExitCode.USAGE)
        inst = installed_configurator(root)
        outcome = _patch_target(
            _target_in_jail(inst.jail, inst.guest_path),
            force=force,
            dry_run=dry_run,
            run_perl=run_perl,
            has_solaris11_builds=inst.has_solaris11_builds,
        )
        if outcome.action == "patched":
            notes = (*outcome.notes, f"now re-run the configurator: {inst.rerun}")
            return dataclasses.replace(outcome, notes=notes)
        return outcome
    assert path is not None
    source = open_source(path)
    if isinstance(source, (TarSource, IsoSource)):
        return patch_archive(path, output, force=force, dry_run=dry_run, run_perl=run_perl)
    if output is not None:
        raise ToolsfixError("--output is only for tarballs and ISO images", ExitCode.USAGE)
    if source.kind == "directory":
        inv = inventory(source)
        target = source.path / CONFIGURATOR
        if inv.configurator is None:
            raise InputError(f"{path}: no {CONFIGURATOR} in this distrib")
        has11, layout = solaris11_builds(inv)
        return patch_file(
            target,
            force=force,
            dry_run=dry_run,
            run_perl=run_perl,
            has_solaris11_builds=has11,
            label=str(target),
            layout=layout,
            boundary=source.path,
        )
    return patch_file(path, force=force, dry_run=dry_run, run_perl=run_perl)
