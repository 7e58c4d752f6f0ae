"""Apply a known fix to a configurator -- atomically, verifiably, reversibly, at most once.

The lessons of older patch kits are built in: identify the file before touching it, explain
why a patch does or does not apply, never apply twice, keep exactly one pristine backup, and
verify afterwards by re-analysis *and* by running the patched logic under real Perl. A patch
that fails verification is rolled back before we report the failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Optional

from toolsfix import __version__, installer
from toolsfix.distrib import (
    CONFIGURATOR,
    TAR_BUFSIZE,
    IsoSource,
    Source,
    TarSource,
    inventory,
    open_source,
    relative,
)
from toolsfix.errors import ExitCode, InputError, RefusedError, ToolsfixError
from toolsfix.installer import Analysis
from toolsfix.patchdefs import PatchDef, load_patches
from toolsfix.perl import execute, perl_compiles
from toolsfix.perltext import split_lines

BACKUP_SUFFIX = ".toolsfix-orig"


@dataclass(frozen=True)
class Plan:
    """What patching would do: the decision, the reason and, if any, the new text."""

    action: str  # patch | already-patched | not-needed
    reason: str
    before: Analysis
    patch: Optional[PatchDef] = None
    new_data: Optional[bytes] = None
    forced: tuple[str, ...] = ()

    def diff(self, old: bytes, label: str) -> str:
        if self.new_data is None:
            return ""
        a = old.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        b = self.new_data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        return "".join(difflib.unified_diff(a, b, f"a/{label}", f"b/{label}"))


@dataclass(frozen=True)
class Outcome:
    """Result of a patch run, for the CLI to render."""

    target: str
    action: str
    reason: str
    patch_id: Optional[str] = None
    backup: Optional[str] = None
    diff: str = ""
    verified: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    written: Optional[str] = None


def _apply_edits(text: str, patch: PatchDef, before: Analysis) -> str:
    """Apply the edits inside the function only; every edit must match exactly ``count`` times."""
    if before.function is None:
        raise RefusedError(f"{before.path}: {patch.function} not found; nothing to patch")
    eol = "\r\n" if before.line_ending == "crlf" else "\n"
    trailing = text.endswith("\n")
    lines = split_lines(text)
    span = before.function
    first_edit_line: Optional[int] = None
    indent = ""
    for edit in patch.edits:
        hits = [i for i in range(span.start - 1, span.end) if edit.find.match(lines[i]) is not None]
        if len(hits) != edit.count:
            raise RefusedError(
                f"{before.path}: patch {patch.id}: edit '{edit.name}' matched {len(hits)} "
                f"line(s) in {patch.function}, expected {edit.count}; file not recognised"
            )
        for i in hits:
            m = edit.find.match(lines[i])
            assert m is not None
            groups = {k: (v or "") for k, v in m.groupdict().items()}
            lines[i] = edit.replace.format(**groups)
            if first_edit_line is None or i < first_edit_line:
                first_edit_line = i
                indent = groups.get("indent", lines[i][: len(lines[i]) - len(lines[i].lstrip())])
    assert first_edit_line is not None
    marker = patch.marker.format(indent=indent, id=patch.id, version=__version__)
    lines.insert(first_edit_line, marker)
    return eol.join(lines) + (eol if trailing else "")


def _expect_ok(after: Analysis, patch: PatchDef) -> list[str]:
    """Differences between the re-analysed file and what the patch promises."""
    problems: list[str] = []
    if after.selection_bug != patch.expect["selection_bug"]:
        problems.append(f"selection_bug is {after.selection_bug} ({after.reason})")
    if after.current_minor != patch.expect["current_minor"]:
        problems.append(f"current_minor is {after.current_minor}")
    for guest, modules in patch.expect.get("driver_dirs", {}).items():
        got = after.driver_dirs.get(guest) or {}
        for module, pair in modules.items():
            have = got.get(module)
            if have is not None and list(have) != pair:
                problems.append(f"{guest}/{module}: {list(have)} instead of {pair}")
    return problems


def plan(
    data: bytes,
    label: str,
    *,
    force: bool = False,
    has_solaris11_builds: Optional[bool] = None,
    patches: Optional[Sequence[PatchDef]] = None,
) -> Plan:
    """Decide what to do with one configurator; raises RefusedError when it is not safe."""
    text = installer.decode(data)
    before = installer.analyse_text(text, path=label, data=data)
    state = before.selection_bug
    if state == installer.PATCHED:
        return Plan("already-patched", f"already patched by {before.marker_patch}", before)
    if state == installer.ABSENT:
        return Plan("not-needed", f"vendor-fixed: {before.reason}", before)
    forced: list[str] = []
    defs = list(patches) if patches is not None else load_patches()
    candidates = [p for p in defs if state in p.applies_to]
    if not candidates:
        if not force:
            raise RefusedError(
                f"{label}: selection logic is {state} ({before.reason}); refusing to patch "
                "an unrecognised variant (use --force to apply the $currentMinor edit anyway)"
            )
        forced.append(f"variant {state}")
        candidates = [p for p in defs if "present" in p.applies_to]
    if before.damaged_comments:
        if not force:
            raise RefusedError(
                f"{label}: damaged file ({before.damaged_comments} comment markers replaced by "
                "***REMOVED***; it cannot run as is); refusing without --force"
            )
        forced.append("damaged comments")
    if has_solaris11_builds is False:
        if not force:
            raise RefusedError(
                f"{label}: the distrib ships no 11/11_64 driver builds, so the patch cannot help; "
                "refusing without --force"
            )
        forced.append("no Solaris 11 builds")
    errors: list[str] = []
    for patch in candidates:
        try:
            new_text = _apply_edits(text, patch, before)
        except RefusedError as exc:
            errors.append(str(exc))
            continue
        new_data = new_text.encode("utf-8", "surrogateescape")
        after = installer.analyse_text(new_text, path=label, data=new_data)
        problems = _expect_ok(after, patch)
        if problems and not forced:
            errors.append(f"{label}: patch {patch.id} would not verify: {'; '.join(problems)}")
            continue
        return Plan("patch", patch.title, before, patch, new_data, tuple(forced))
    raise RefusedError(errors[0] if errors else f"{label}: no patch applies")


def verify_patched(
    new_data: bytes,
    label: str,
    patch: PatchDef,
    *,
    run_perl: bool,
    path: Optional[Path] = None,
    original_compiled: Optional[bool] = None,
) -> list[str]:
    """Re-analyse and, where possible, execute the patched logic; returns what was proven."""
    text = installer.decode(new_data)
    after = installer.analyse_text(text, path=label, data=new_data)
    problems = _expect_ok(after, patch)
    if problems:
        raise ToolsfixError(
            f"{label}: verification failed after writing: {'; '.join(problems)}",
            ExitCode.VERIFY_FAILED,
        )
    proven = [f"re-analysis: selection {after.selection_bug}, $currentMinor {after.current_minor}"]
    if run_perl:
        ex = execute(text)
        if ex.ran:
            for guest, modules in patch.expect.get("driver_dirs", {}).items():
                for module, pair in modules.items():
                    got = ex.module_dirs(guest, module)
                    if got is not None and list(got) != pair:
                        raise ToolsfixError(
                            f"{label}: executed logic copies {module} from {list(got)} on "
                            f"{guest}, expected {pair}",
                            ExitCode.VERIFY_FAILED,
                        )
            proven.append("execution under perl: Solaris 11 guests get the 11/11_64 builds")
        else:
            proven.append(f"execution skipped: {ex.reason}")
        if path is not None and original_compiled:
            if perl_compiles(path) is False:
                raise ToolsfixError(
                    f"{label}: perl -c fails on the patched file", ExitCode.VERIFY_FAILED
                )
            proven.append("perl -c: syntax OK")
    return proven


def atomic_write(path: Path, data: bytes, *, like: Optional[os.stat_result] = None) -> None:
    """Temp file in the same directory, fsync, rename over, fsync the directory.

    ``like`` carries the mode and ownership to preserve; a crash at any point leaves either
    the old file or the new one, never a torn mix.
    """
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".toolsfix-tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if like is not None:
            os.chmod(tmp, like.st_mode & 0o7777)
            if hasattr(os, "chown"):
                with contextlib.suppress(PermissionError):
                    os.chown(tmp, like.st_uid, like.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _ensure_backup(path: Path, original: bytes, st: os.stat_result) -> Path:
    """Exactly one pristine backup next to the file; never overwritten."""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    if backup.exists():
        if backup.read_bytes() != original:
            raise RefusedError(
                f"{backup} exists and differs from {path}; move it away first "
                "(toolsfix never overwrites a backup)"
            )
        return backup
    atomic_write(backup, original, like=st)
    return backup


def patch_file(
    path: Path,
    *,
    force: bool = False,
    dry_run: bool = False,
    run_perl: bool = True,
    has_solaris11_builds: Optional[bool] = None,
    label: Optional[str] = None,
) -> Outcome:
    """Patch one configurator file in place (directory distribs and installed guests)."""
    try:
        st = path.stat()
        original = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    name = label or str(path)
    p = plan(original, name, force=force, has_solaris11_builds=has_solaris11_builds)
    if p.action != "patch" or p.new_data is None or p.patch is None:
        return Outcome(str(path), p.action, p.reason)
    diff = p.diff(original, name)
    notes = tuple(f"forced: {f}" for f in p.forced)
    if dry_run:
        return Outcome(str(path), "would-patch", p.reason, p.patch.id, diff=diff, notes=notes)
    original_compiled = perl_compiles(path) if run_perl else None
    try:
        backup = _ensure_backup(path, original, st)
        atomic_write(path, p.new_data, like=st)
    except PermissionError as exc:
        raise RefusedError(f"{path}: cannot write: {exc.strerror}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        written = path.read_bytes()
        if written != p.new_data:
            raise ToolsfixError(
                f"{path}: read-back differs from what was written", ExitCode.VERIFY_FAILED
            )
        proven = verify_patched(
            written,
            name,
            p.patch,
            run_perl=run_perl,
            path=path,
            original_compiled=original_compiled,
        )
    except ToolsfixError:
        atomic_write(path, original, like=st)  # roll back before reporting
        raise
    return Outcome(
        str(path),
        "patched",
        p.reason,
        p.patch.id,
        str(backup),
        diff,
        tuple(proven),
        notes,
        str(path),
    )


# --- archives -------------------------------------------------------------------------------


def _tar_has_solaris11(source: Source) -> tuple[bytes, Optional[bool]]:
    inv = inventory(source)
    if inv.configurator is None:
        raise InputError(f"{source.path}: no {CONFIGURATOR} in this archive")
    layout = inv.layout()
    has11 = (
        None if layout != "solaris" else any(d in ("11", "11_64") for d, _ in inv.solaris_builds())
    )
    return inv.configurator, has11


def _rewrite_tar(src: IO[bytes], out: IO[bytes], new_configurator: bytes, label: str) -> int:
    """Copy every member unchanged except the configurator; returns members copied."""
    count = 0
    replaced = 0
    try:
        with (
            tarfile.open(fileobj=src, mode="r|", bufsize=TAR_BUFSIZE) as tin,
            tarfile.open(
                fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=TAR_BUFSIZE
            ) as tout,
        ):
            for info in tin:
                tin.members = []  # type: ignore[attr-defined]
                count += 1
                new = info.replace() if hasattr(info, "replace") else info
                if info.isfile() and relative(info.name) == CONFIGURATOR:
                    new.size = len(new_configurator)
                    tout.addfile(new, io.BytesIO(new_configurator))
                    replaced += 1
                elif info.isfile():
                    tout.addfile(new, tin.extractfile(info))
                else:
                    tout.addfile(new)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{label}: cannot rewrite archive ({exc})") from None
    if replaced != 1:
        raise InputError(f"{label}: expected one {CONFIGURATOR}, found {replaced}")
    return count


def _patched_tarball_bytes(raw: IO[bytes], compressed: bool, new_cfg: bytes, label: str) -> bytes:
    buf = io.BytesIO()
    if compressed:
        with (
            gzip.GzipFile(fileobj=raw, mode="rb") as fin,
            gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fout,
        ):
            _rewrite_tar(fin, fout, new_cfg, label)  # type: ignore[arg-type]
    else:
        _rewrite_tar(raw, buf, new_cfg, label)
    return buf.getvalue()


def patch_archive(
    path: Path, output: Path, *, force: bool = False, dry_run: bool = False, run_perl: bool = True
) -> Outcome:
    """Write a patched copy of a tarball or ISO to ``output``; the input is never modified."""
    source = open_source(path)
    if not isinstance(source, (TarSource, IsoSource)):
        raise InputError(f"{path}: --output is for tarballs and ISO images")
    if output.exists() and output.resolve() == path.resolve():
        raise RefusedError(f"{output}: refusing to overwrite the input archive")
    original, has11 = _tar_has_solaris11(source)
    label = f"{path}!{CONFIGURATOR}"
    p = plan(original, label, force=force, has_solaris11_builds=has11)
    if p.action != "patch" or p.new_data is None or p.patch is None:
        return Outcome(str(path), p.action, p.reason)
    diff = p.diff(original, CONFIGURATOR)
    if dry_run:
        return Outcome(str(path), "would-patch", p.reason, p.patch.id, diff=diff)
    proven = verify_patched(p.new_data, label, p.patch, run_perl=run_perl)
    if isinstance(source, TarSource):
        data = _write_tar_output(path, p.new_data, label)
    else:
        data = _write_iso_output(source, p.new_data, label)
    atomic_write(output, data)
    proven.append(_verify_archive_copy(path, output))
    return Outcome(
        str(path), "patched", p.reason, p.patch.id, None, diff, tuple(proven), written=str(output)
    )


def _write_tar_output(path: Path, new_cfg: bytes, label: str) -> bytes:
    name = path.name.lower()
    if name.endswith((".gz", ".tgz")):
        with path.open("rb") as raw:
            return _patched_tarball_bytes(raw, True, new_cfg, label)
    with path.open("rb") as raw:
        return _patched_tarball_bytes(raw, False, new_cfg, label)


def _write_iso_output(source: IsoSource, new_cfg: bytes, label: str) -> bytes:
    """Same ISO with the tarball replaced under all its names (ISO 9660, Rock Ridge, Joliet)."""
    import pycdlib

    from toolsfix.distrib import iso_tarballs

    iso: Any = pycdlib.PyCdlib()
    iso.open(str(source.path))
    try:
        tarballs = iso_tarballs(iso)
        if not tarballs:
            raise InputError(f"{source.path}: the ISO holds no VMware Tools tarball")
        kind, inner = tarballs[0]
        rec = iso.get_record(**{"iso_path" if kind == "iso9660" else f"{kind}_path": inner})
        iso_path: str = iso.full_path_from_dirrecord(rec)
        with iso.open_file_from_iso(iso_path=iso_path) as raw:
            compressed = not inner.split(";")[0].lower().endswith(".tar")
            new_tar = _patched_tarball_bytes(raw, compressed, new_cfg, label)
        rr_name: Optional[str] = None
        if iso.has_rock_ridge() and getattr(rec, "rock_ridge", None) is not None:
            rr_name = rec.rock_ridge.name().decode()
        joliet: Optional[str] = None
        if iso.has_joliet():
            base = (rr_name or inner.rsplit("/", 1)[-1]).lower()
            for dirpath, _dirs, files in iso.get_joliet_facade().walk("/"):
                for f in files:
                    if f.lower() == base:
                        joliet = f"{dirpath.rstrip('/')}/{f}"
        if joliet:
            iso.rm_hard_link(joliet_path=joliet)
        iso.rm_file(iso_path=iso_path, rr_name=rr_name)
        iso.add_fp(io.BytesIO(new_tar), len(new_tar), iso_path, rr_name=rr_name, joliet_path=joliet)
        out = io.BytesIO()
        iso.write_fp(out)
        return out.getvalue()
    finally:
        iso.close()


def _member_digests(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in open_source(path).entries(lambda p: "hash"):
        m = entry.member
        out[m.path] = entry.sha256 or f"{m.kind}:{m.linkname or ''}"
    return out


def _verify_archive_copy(path: Path, output: Path) -> str:
    """Every member except the configurator must be byte-identical in the copy."""
    before = _member_digests(path)
    after = _member_digests(output)
    if set(before) != set(after):
        raise ToolsfixError(f"{output}: member list differs from {path}", ExitCode.VERIFY_FAILED)
    changed = [m for m in before if before[m] != after[m]]
    if changed != [CONFIGURATOR]:
        raise ToolsfixError(
            f"{output}: unexpected member changes: {changed}", ExitCode.VERIFY_FAILED
        )
    out_inv = inventory(open_source(output))
    cfg = out_inv.configurator or b""
    after_a = installer.analyse_bytes(cfg, path=CONFIGURATOR)
    if after_a.selection_bug != installer.PATCHED:
        raise ToolsfixError(
            f"{output}: re-scan says {after_a.selection_bug}", ExitCode.VERIFY_FAILED
        )
    return (
        f"archive: {len(before) - 1} other members byte-identical, configurator "
        f"{hashlib.sha256(cfg).hexdigest()[:12]} re-scans as patched"
    )


# --- targets ---------------------------------------------------------------------------------


def installed_configurator(root: Path) -> tuple[Path, str, Optional[bool]]:
    """The configurator of an installed guest: ``BINDIR`` from the install database."""
    from toolsfix.guest.parsers import parse_locations

    db_path = root / "etc/vmware-tools/locations"
    try:
        db = parse_locations(db_path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise InputError(f"{db_path}: cannot read the install database: {exc.strerror}") from None
    bindir = db.answers.get("BINDIR") or "/usr/bin"
    libdir = db.answers.get("LIBDIR") or "/usr/lib/vmware-tools"
    target = root / bindir.lstrip("/") / "vmware-config-tools.pl"
    if not target.is_file():
        raise InputError(f"{target}: no installed configurator (BINDIR={bindir})")
    builds = root / libdir.lstrip("/") / "modules/binary"
    has11 = (builds / "11").is_dir() if builds.is_dir() else None
    rerun = f"{bindir.rstrip('/')}/vmware-config-tools.pl -d"
    return target, rerun, has11


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
        target, rerun, has11 = installed_configurator(root)
        outcome = patch_file(
            target, force=force, dry_run=dry_run, run_perl=run_perl, has_solaris11_builds=has11
        )
        if outcome.action == "patched":
            notes = (*outcome.notes, f"now re-run the configurator: {rerun}")
            return dataclasses.replace(outcome, notes=notes)
        return outcome
    assert path is not None
    source = open_source(path)
    if isinstance(source, (TarSource, IsoSource)):
        if output is None and not dry_run:
            raise ToolsfixError(
                f"{path}: archives are never modified in place; give --output FILE", ExitCode.USAGE
            )
        return patch_archive(path, output or path, force=force, dry_run=dry_run, run_perl=run_perl)
    if output is not None:
        raise ToolsfixError("--output is only for tarballs and ISO images", ExitCode.USAGE)
    if source.kind == "directory":
        inv = inventory(source)
        target = source.path / CONFIGURATOR
        if inv.configurator is None:
            raise InputError(f"{path}: no {CONFIGURATOR} in this distrib")
        has11 = (
            None
            if inv.layout() != "solaris"
            else any(d in ("11", "11_64") for d, _ in inv.solaris_builds())
        )
        return patch_file(
            target,
            force=force,
            dry_run=dry_run,
            run_perl=run_perl,
            has_solaris11_builds=has11,
            label=str(target),
        )
    return patch_file(path, force=force, dry_run=dry_run, run_perl=run_perl)
