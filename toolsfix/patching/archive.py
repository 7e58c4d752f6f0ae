"""A patched copy of a tarball or ISO: every member byte-identical except the configurator.

Archives are never modified in place: the copy is streamed member by member (one pass, no
extraction), recompressed like the input, written atomically to ``--output`` and re-read to
prove that only the configurator changed and that it now scans as patched.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path
from typing import IO, Any, Optional

from toolsfix import installer
from toolsfix.atomicfile import atomic_write
from toolsfix.distrib import (
    CONFIGURATOR,
    TAR_BUFSIZE,
    IsoSource,
    Source,
    TarSource,
    inventory,
    iso_tarballs,
    open_source,
    relative,
)
from toolsfix.errors import ExitCode, InputError, RefusedError, ToolsfixError
from toolsfix.patching.plan import Outcome, plan, solaris11_builds, verify_patched
from toolsfix.perl import compile_check


def _tar_has_solaris11(source: Source) -> tuple[bytes, Optional[bool], str]:
    """The configurator's bytes, whether Solaris 11 builds ship (None: not a Solaris layout)
    and the distrib's layout."""
    inv = inventory(source)
    if inv.configurator is None:
        raise InputError(f"{source.path}: no {CONFIGURATOR} in this archive")
    has11, layout = solaris11_builds(inv)
    return inv.configurator, has11, layout


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


def gzip_params(head: bytes) -> tuple[int, int]:
    """(compression level, header mtime) to recompress like the input gzip member.

    The header's XFL byte records only the extremes (2: level 9, 4: level 1); anything else
    was compressed at an unknowable level, for which gzip's own default, 6, is used: level 9
    would cost several times the CPU for a few bytes.
    """
    if len(head) < 10 or head[:2] != b"\x1f\x8b":
        return 6, 0
    level = {2: 9, 4: 1}.get(head[8], 6)
    return level, int.from_bytes(head[4:8], "little")


def _peek(raw: IO[bytes], size: int) -> bytes:
    pos = raw.tell()
    head = raw.read(size)
    raw.seek(pos)
    return head


def _patched_tarball_bytes(raw: IO[bytes], compressed: bool, new_cfg: bytes, label: str) -> bytes:
    buf = io.BytesIO()
    if compressed:
        level, mtime = gzip_params(_peek(raw, 10))
        with (
            gzip.GzipFile(fileobj=raw, mode="rb") as fin,
            gzip.GzipFile(fileobj=buf, mode="wb", mtime=mtime, compresslevel=level) as fout,
        ):
            _rewrite_tar(fin, fout, new_cfg, label)  # type: ignore[arg-type]
    else:
        _rewrite_tar(raw, buf, new_cfg, label)
    return buf.getvalue()


def check_output(output: Path, path: Path) -> None:
    """Fail before any work when ``--output`` cannot be written as a new file.

    A directory, a missing parent directory or an existing non-regular file (the copy is
    renamed into place, which would replace a FIFO or device) is a mistake in the command
    line: one line, exit 2, as the CLI's own check says it. The input itself, under any name,
    is refused (exit 4): archives are never modified in place.
    """
    try:
        st: Optional[os.stat_result] = output.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ToolsfixError(
            f"--output {output}: cannot use it: {exc.strerror}", ExitCode.USAGE
        ) from None
    if st is None:
        parent = output.parent
        if not parent.is_dir():
            what = "does not exist" if not parent.exists() else "is not a directory"
            raise ToolsfixError(f"--output {output}: directory {parent} {what}", ExitCode.USAGE)
        return
    if stat.S_ISDIR(st.st_mode):
        raise ToolsfixError(
            f"--output {output}: is a directory; name a file to write, e.g. {output / path.name}",
            ExitCode.USAGE,
        )
    if not stat.S_ISREG(st.st_mode):
        raise ToolsfixError(
            f"--output {output}: exists and is not a regular file; name a file to write",
            ExitCode.USAGE,
        )
    if path.exists() and os.path.samefile(output, path):
        raise RefusedError(f"{output}: refusing to overwrite the input archive")


def patch_archive(
    path: Path,
    output: Optional[Path],
    *,
    force: bool = False,
    dry_run: bool = False,
    run_perl: bool = True,
) -> Outcome:
    """Write a patched copy of a tarball or ISO to ``output``; the input is never modified.

    The copy gets the input's permission bits (not a temp file's 0600), and a gzip stream is
    recompressed at the input's level when the header tells it, else 6. ``output`` may be
    None only for a dry run.
    """
    if not dry_run:
        if output is None:
            raise ToolsfixError(
                f"{path}: archives are never modified in place; give --output FILE", ExitCode.USAGE
            )
        check_output(output, path)
    source = open_source(path)
    if not isinstance(source, (TarSource, IsoSource)):
        raise InputError(f"{path}: --output is for tarballs and ISO images")
    original, has11, layout = _tar_has_solaris11(source)
    label = f"{path}!{CONFIGURATOR}"
    p = plan(original, label, force=force, has_solaris11_builds=has11, layout=layout)
    if p.action != "patch" or p.new_data is None or p.patch is None:
        return Outcome(str(path), p.action, p.reason)
    diff = p.diff(original, CONFIGURATOR)
    if dry_run or output is None:
        return Outcome(str(path), "would-patch", p.reason, p.patch.id, diff=diff)
    compiled = run_perl and compile_check(installer.decode(original)).compiles is True
    proven = verify_patched(
        p.new_data, label, p.patch, run_perl=run_perl, original_compiled=compiled
    )
    if isinstance(source, TarSource):
        data = _write_tar_output(path, p.new_data, label)
    else:
        data = _write_iso_output(source, p.new_data, label)
    mode = stat.S_IMODE(os.stat(path).st_mode) & 0o777
    try:
        atomic_write(output, data, mode=mode)
    except PermissionError as exc:
        raise RefusedError(f"{output}: cannot write: {exc.strerror}") from None
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror}") from None
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
    import pycdlib  # lazy: only an ISO copy needs it, and it is slow to import

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
