"""``patch`` stays inside what it was pointed at and keeps what the file was.

Image roots are a jail (no read or write outside them, whatever BINDIR, LIBDIR or a symlink in
the image says); owner, group and mode survive a patch (setuid/setgid/sticky included); a file
the caller may not write is refused; temp files never outlive the next run, even after
``kill -9``; ``--output`` fails before any work; ``--check`` on a Linux distrib exits 0.

Every image root and distrib here is a copy of the SYNTHETIC samples in vendor-samples/.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import signal
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix import atomicfile, patcher
from toolsfix.atomicfile import TMP_SUFFIX, write_blockers
from toolsfix.cli import cli
from toolsfix.errors import ExitCode, InputError, RefusedError, ToolsfixError
from toolsfix.guest.root import RootCapture
from toolsfix.patcher import BACKUP_SUFFIX, gzip_params, patch_file, run_patch
from toolsfix.rootfs import Jail, RootPathError, resolve_in_root

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root to chown/setuid test files")
CFG = "vmware-config-tools.pl"
TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
SCRIPT = SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"


def cli_run(*args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("toolsfix: error: "), stderr
    assert "internal error" not in lines[0] and "Traceback" not in stderr
    return lines[0]


def temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(TMP_SUFFIX))


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    shutil.copytree(SAMPLES / "roots" / "sol11.1-buggy", root, symlinks=True)
    return root


@pytest.fixture()
def host_cfg(tmp_path: Path) -> Path:
    """A configurator on the host, outside the image: nothing may ever read or change it."""
    host = tmp_path / "host" / "bin"
    host.mkdir(parents=True)
    shutil.copy(SCRIPT, host / CFG)
    return host / CFG


def set_answer(root: Path, key: str, value: str) -> None:
    db = root / "etc/vmware-tools/locations"
    db.write_text(db.read_text() + f"answer {key} {value}\n")


def climb(root: Path, host: Path) -> str:
    """A guest path spelled with enough ``..`` to reach ``host`` if resolved on the host."""
    return "/" + "../" * (len(root.parts) + 2) + str(host).lstrip("/")


# --- the resolver --------------------------------------------------------------------------


def test_resolver_reroots_absolute_links_and_stops_dotdot_at_the_root(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/bin").symlink_to("/usr/lib")
    (root / "up").symlink_to("../../../../../etc")
    real = str(root.resolve())
    assert resolve_in_root(real, "/usr/bin/x") == os.path.join(real, "usr/lib/x")
    assert resolve_in_root(real, "/../../etc/passwd") == os.path.join(real, "etc/passwd")
    assert resolve_in_root(real, "/up/passwd") == os.path.join(real, "etc/passwd")
    with pytest.raises(RootPathError) as exc:
        resolve_in_root(real, "/../../etc/passwd", strict=True)
    assert exc.value.kind == "escape"
    with pytest.raises(RootPathError) as exc:
        resolve_in_root(real, "/up/passwd", strict=True)
    assert exc.value.kind == "escape" and "/up -> ../../" in str(exc.value)
    # The read-only capture keeps its chroot-like clamping through the shared resolver.
    assert RootCapture(root).resolve("/up/passwd") == os.path.join(real, "etc/passwd")


def test_resolver_reports_loops_and_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "usr").mkdir(parents=True)
    (root / "usr/bin").symlink_to("/usr/bin")
    real = str(root.resolve())
    with pytest.raises(RootPathError) as exc:
        resolve_in_root(real, "/usr/bin/x")
    assert exc.value.kind == "loop"
    with pytest.raises(RootPathError) as exc:
        resolve_in_root(real, "usr/bin")
    assert exc.value.kind == "relative"
    assert RootCapture(root).resolve("/usr/bin/x") is None
    assert resolve_in_root(real, "/usr/bin", follow_final=False) == os.path.join(real, "usr/bin")


def test_open_dir_refuses_a_directory_swapped_for_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "usr/bin").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    jail = Jail(root)
    host = jail.resolve("/usr/bin", what="BINDIR")
    (root / "usr/bin").rmdir()
    (root / "usr/bin").symlink_to(outside)  # swapped after resolution
    with pytest.raises(RefusedError):
        jail.open_dir(host)


# --- patch --root is confined to the image -------------------------------------------------


def test_bindir_climbing_out_of_the_root_is_refused(image: Path, host_cfg: Path) -> None:
    before = host_cfg.read_bytes()
    set_answer(image, "BINDIR", climb(image, host_cfg.parent))
    for dry_run in (True, False):
        with pytest.raises(RefusedError) as exc:
            run_patch(None, root=image, dry_run=dry_run, run_perl=False)
        assert exc.value.exit_code == ExitCode.REFUSED
        assert "climbs above the image root" in str(exc.value)
    assert host_cfg.read_bytes() == before
    assert os.listdir(host_cfg.parent) == [CFG]
    code, _, err = cli_run("patch", "--root", str(image), "--no-exec")
    assert code == ExitCode.REFUSED
    assert "BINDIR" in one_error_line(err)


def test_libdir_climbing_out_of_the_root_is_refused(image: Path) -> None:
    set_answer(image, "LIBDIR", "/usr/../../../../../../..")
    with pytest.raises(RefusedError) as exc:
        run_patch(None, root=image, dry_run=True, run_perl=False)
    assert "LIBDIR" in str(exc.value)


def test_relative_bindir_is_not_guessed(image: Path) -> None:
    set_answer(image, "BINDIR", "usr/bin")
    with pytest.raises(InputError) as exc:
        run_patch(None, root=image, dry_run=True, run_perl=False)
    assert "not absolute" in str(exc.value)


def test_absolute_symlink_in_the_image_means_the_image_path(image: Path, host_cfg: Path) -> None:
    """``usr/bin -> /HOSTDIR`` is the image's own /HOSTDIR, never the host's."""
    before = host_cfg.read_bytes()
    shutil.rmtree(image / "usr/bin")
    (image / "usr/bin").symlink_to(str(host_cfg.parent))
    with pytest.raises(InputError) as exc:  # the image has no such directory: nothing to patch
        run_patch(None, root=image, run_perl=False)
    assert exc.value.exit_code == ExitCode.INPUT
    assert host_cfg.read_bytes() == before
    # Once the image itself has that directory, that copy (inside the root) is patched.
    inside = image / str(host_cfg.parent).lstrip("/")
    inside.mkdir(parents=True)
    shutil.copy(SCRIPT, inside / CFG)
    out = run_patch(None, root=image, run_perl=False)
    assert out.action == "patched"
    assert Path(out.written or "").resolve() == (inside / CFG).resolve()
    assert b"$currentMinor = 11;" in (inside / CFG).read_bytes()
    assert host_cfg.read_bytes() == before
    assert os.listdir(host_cfg.parent) == [CFG]


def test_symlink_loop_in_the_image_is_one_clear_error(image: Path) -> None:
    shutil.rmtree(image / "usr/bin")
    (image / "usr/bin").symlink_to("/usr/bin")
    code, _, err = cli_run("patch", "--root", str(image), "--no-exec")
    assert code == ExitCode.INPUT
    assert "symbolic links" in one_error_line(err)


def test_relative_symlink_out_of_the_image_is_refused(image: Path, host_cfg: Path) -> None:
    before = host_cfg.read_bytes()
    shutil.rmtree(image / "usr/bin")
    (image / "usr/bin").symlink_to(os.path.relpath(host_cfg.parent, image / "usr"))
    with pytest.raises(RefusedError):
        run_patch(None, root=image, run_perl=False)
    assert host_cfg.read_bytes() == before


def test_install_database_symlink_never_reads_a_host_file(image: Path, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("answer BINDIR /host-secret-value\n")
    db = image / "etc/vmware-tools/locations"
    db.unlink()
    db.symlink_to(str(secret))  # absolute: the image's own copy of that path, which is absent
    code, out, err = cli_run("patch", "--root", str(image), "--dry-run", "--no-exec")
    assert code == ExitCode.INPUT
    line = one_error_line(err)
    assert "install database" in line and "host-secret-value" not in out + err
    db.unlink()
    db.symlink_to("../" * (len(image.parts) + 3) + str(secret).lstrip("/"))
    code, out, err = cli_run("patch", "--root", str(image), "--dry-run", "--no-exec")
    assert code == ExitCode.REFUSED
    assert "climbs above the image root" in one_error_line(err)
    assert "host-secret-value" not in out + err


def test_oversized_files_are_refused_unread(image: Path, tmp_path: Path) -> None:
    """A configurator or install database far beyond any real one: one line, exit 3."""
    from toolsfix.safeio import MAX_CONFIGURATOR_BYTES, MAX_SCRIPT_BYTES

    script = tmp_path / "huge.pl"
    with script.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(MAX_CONFIGURATOR_BYTES + 1)
    code, _, err = cli_run("patch", str(script), "--dry-run", "--no-exec")
    assert code == ExitCode.INPUT and "too large" in one_error_line(err)
    with (image / "etc/vmware-tools/locations").open("ab") as fh:
        fh.truncate(MAX_SCRIPT_BYTES + 1)
    code, _, err = cli_run("patch", "--root", str(image), "--dry-run", "--no-exec")
    assert code == ExitCode.INPUT and "too large" in one_error_line(err)


def test_symlinked_configurator_patches_its_target_inside_the_root(image: Path) -> None:
    real = image / "usr/lib/vmware-tools" / CFG
    shutil.move(str(image / "usr/bin" / CFG), real)
    link = image / "usr/bin" / CFG
    link.symlink_to("/usr/lib/vmware-tools/" + CFG)
    out = run_patch(None, root=image, run_perl=False)
    assert out.action == "patched"
    assert link.is_symlink() and os.readlink(link) == "/usr/lib/vmware-tools/" + CFG
    assert b"$currentMinor = 11;" in real.read_bytes()
    assert Path(out.backup or "") == real.with_name(CFG + BACKUP_SUFFIX)
    assert any("is a symlink to /usr/lib/vmware-tools/" in n for n in out.notes)


def test_distrib_configurator_linking_out_of_the_distrib_is_never_followed(
    tmp_path: Path, host_cfg: Path
) -> None:
    d = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", d)
    cfg = d / "vmware-tools-distrib/bin" / CFG
    cfg.unlink()
    cfg.symlink_to(host_cfg)
    before = host_cfg.read_bytes()
    with pytest.raises(ToolsfixError):
        run_patch(d, run_perl=False)
    with pytest.raises(RefusedError) as exc:  # the patcher's own guard, below the inventory's
        patch_file(cfg, boundary=d, run_perl=False)
    assert "outside the distrib" in str(exc.value)
    assert host_cfg.read_bytes() == before
    # A link that stays inside the distrib is followed; the link itself is kept.
    inner = d / "vmware-tools-distrib/lib" / CFG
    shutil.copy(SCRIPT, inner)
    cfg.unlink()
    cfg.symlink_to("../lib/" + CFG)
    out = patch_file(cfg, boundary=d, run_perl=False)
    assert out.action == "patched" and cfg.is_symlink()
    assert b"$currentMinor = 11;" in inner.read_bytes()
    assert any("is a symlink" in n for n in out.notes)


def test_lone_script_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.pl"
    shutil.copy(SCRIPT, real)
    link = tmp_path / "cfg.pl"
    link.symlink_to(real.name)
    out = patch_file(link, run_perl=False)
    assert out.action == "patched"
    assert link.is_symlink()
    assert b"$currentMinor = 11;" in real.read_bytes()
    assert (tmp_path / ("real.pl" + BACKUP_SUFFIX)).read_bytes() == SCRIPT.read_bytes()


# --- file semantics ------------------------------------------------------------------------


@needs_root
@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o6750, 0o1755])
def test_owner_group_and_special_bits_survive(tmp_path: Path, mode: int) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    os.chown(script, 1234, 2345)
    os.chmod(script, mode)  # after chown: chown clears setuid/setgid
    out = patch_file(script, run_perl=False)
    assert out.action == "patched"
    for path in (script, script.with_name(script.name + BACKUP_SUFFIX)):
        st = path.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, 1234, 2345), path
    assert b"$currentMinor = 11;" in script.read_bytes()


def fake_stat(mode: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | mode, 1, 1, 1, uid, gid, 10, 0, 0, 0))


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "euid", "expect"),
    [
        (0o444, 0, 0, 0, None),  # root may write any file (VMware ships 0555)
        (0o555, 1000, 1000, 0, None),
        (0o644, 1000, 1000, 0, None),  # root may replace a writable file of anyone
        (0o444, 1000, 1000, 1000, "no write permission"),
        (0o464, 1000, 50, 1000, "no write permission"),  # the owner bit decides for the owner
        (0o664, 2000, 50, 1000, "owned by uid 2000"),  # group may write, but owner would change
        (0o646, 2000, 60, 1000, "owned by uid 2000"),
        (0o640, 1000, 60, 1000, "group 60 is not one of yours"),
        (0o755, 1000, 50, 1000, None),
    ],
)
def test_write_permission_is_judged_by_the_mode_bits(
    monkeypatch: pytest.MonkeyPatch,
    mode: int,
    uid: int,
    gid: int,
    euid: int,
    expect: Optional[str],
) -> None:
    monkeypatch.setattr(atomicfile.os, "geteuid", lambda: euid)
    monkeypatch.setattr(atomicfile.os, "getegid", lambda: 50)
    monkeypatch.setattr(atomicfile.os, "getgroups", lambda: [50])
    problems = write_blockers(fake_stat(mode, uid, gid))
    if expect is None:
        assert problems == []
    else:
        assert any(expect in p for p in problems), problems


def test_read_only_dry_run_says_force_is_needed(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    os.chmod(script, 0o444)
    if os.geteuid() == 0:
        # Root may write any file; the fix keeps VMware's read-only mode.
        out = patch_file(script, dry_run=True, run_perl=False)
        assert not any(n.startswith("needs --force:") for n in out.notes)
        return
    out = patch_file(script, dry_run=True, run_perl=False)
    assert out.action == "would-patch"
    assert any(n.startswith("needs --force:") for n in out.notes)
    code, _, err = cli_run("patch", str(script), "--no-exec")
    assert code == ExitCode.REFUSED and "--force" in one_error_line(err)
    assert script.read_bytes() == SCRIPT.read_bytes()


def run_as(uid: int, fn: object) -> int:
    """Run ``fn()`` in a child process with uid/gid ``uid``; its exit code says the outcome."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 99
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            fn()  # type: ignore[operator]
            code = 0
        except ToolsfixError as exc:
            code = int(exc.exit_code)
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A world-traversable directory (pytest's own are 0700), for tests run as another uid."""
    path = Path(tempfile.mkdtemp(prefix="toolsfix-test-"))
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@needs_root
def test_an_ordinary_user_cannot_take_over_or_overwrite_files(shared_dir: Path) -> None:
    """Through a writable directory a user could replace any file in it; patch refuses."""
    theirs = shared_dir / "root-owned.pl"
    shutil.copy(SCRIPT, theirs)
    os.chmod(theirs, 0o666)  # even writable by everyone: the owner would still change
    ro = shared_dir / "own-read-only.pl"
    shutil.copy(SCRIPT, ro)
    os.chown(ro, 1234, 1234)
    os.chmod(ro, 0o444)
    for path in (theirs, ro):
        code = run_as(1234, lambda p=path: patch_file(p, run_perl=False))  # type: ignore[misc]
        assert code == ExitCode.REFUSED, path
        assert path.read_bytes() == SCRIPT.read_bytes()
        assert not path.with_name(path.name + BACKUP_SUFFIX).exists()
    assert temps(shared_dir) == []
    code = run_as(1234, lambda: patch_file(ro, force=True, run_perl=False))
    assert code == 0
    st = ro.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o444, 1234)


def test_owner_that_cannot_be_kept_is_refused_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)

    def denied(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomicfile.os, "fchown", denied)
    with pytest.raises(RefusedError) as exc:
        patch_file(script, run_perl=False)
    assert "cannot keep owner" in str(exc.value)
    assert script.read_bytes() == SCRIPT.read_bytes()
    assert temps(tmp_path) == []
    out = patch_file(script, force=True, run_perl=False)
    assert out.action == "patched"
    assert any("cannot keep owner" in n for n in out.notes)


def test_backup_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(SCRIPT.read_bytes())
    (tmp_path / ("cfg.pl" + BACKUP_SUFFIX)).symlink_to(elsewhere)
    with pytest.raises(RefusedError) as exc:
        patch_file(script, run_perl=False)
    assert "symbolic link" in str(exc.value)
    assert script.read_bytes() == SCRIPT.read_bytes()


def test_temp_files_are_named_and_exclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    monkeypatch.setattr(atomicfile, "ANONYMOUS_TEMP", False)
    seen: list[str] = []
    real_open = os.open

    def spy(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith(TMP_SUFFIX):
            seen.append(str(path))
            assert flags & os.O_EXCL and flags & os.O_CREAT
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomicfile.os, "open", spy)
    assert patch_file(script, run_perl=False).action == "patched"
    assert len(seen) == 2  # the backup, then the patched file
    assert all(name.startswith(".cfg.pl.") for name in seen)
    assert temps(tmp_path) == []


@pytest.mark.skipif(not atomicfile.ANONYMOUS_TEMP, reason="O_TMPFILE is Linux-only")
def test_unusable_linkat_falls_back_to_a_named_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    real_link = os.link
    proc_links: list[str] = []

    def no_proc(src: str, dst: str, **kwargs: object) -> None:
        if str(src).startswith("/proc/"):
            proc_links.append(str(src))
            raise PermissionError(1, "Operation not permitted")
        real_link(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomicfile.os, "link", no_proc)
    out = patch_file(script, run_perl=False)
    assert out.action == "patched" and len(proc_links) == 2  # backup, then the file
    assert (tmp_path / ("cfg.pl" + BACKUP_SUFFIX)).read_bytes() == SCRIPT.read_bytes()
    assert temps(tmp_path) == []


def test_leftover_temp_files_are_cleaned_if_ours(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    ours = tmp_path / f".cfg.pl.0badf00d{TMP_SUFFIX}"
    ours.write_bytes(b"half a file")
    ours_backup = tmp_path / f".cfg.pl{BACKUP_SUFFIX}.12345678{TMP_SUFFIX}"
    ours_backup.write_bytes(b"half a backup")
    not_ours = tmp_path / f".cfg.pl.deadbeef{TMP_SUFFIX}"
    not_ours.symlink_to(script)
    unrelated = tmp_path / f".other.pl.00000000{TMP_SUFFIX}"
    unrelated.write_bytes(b"")
    dry = patch_file(script, dry_run=True, run_perl=False)
    assert ours.exists() and sum("would remove" in n for n in dry.notes) == 2
    out = patch_file(script, run_perl=False)
    assert out.action == "patched"
    assert not ours.exists() and not ours_backup.exists()
    assert sum("left by an interrupted run" in n for n in out.notes) == 2
    assert not_ours.is_symlink() and any("not ours" in n for n in out.notes)
    assert unrelated.exists()


def test_leftover_linked_to_the_backup_is_ours_any_other_link_is_not(tmp_path: Path) -> None:
    """A kill between linking a backup into place and unlinking its temp name leaves the
    temp with two links, the other being the backup: that one is ours to remove."""
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    backup = tmp_path / ("cfg.pl" + BACKUP_SUFFIX)
    backup.write_bytes(SCRIPT.read_bytes())
    half_done = tmp_path / f".cfg.pl{BACKUP_SUFFIX}.0000abcd{TMP_SUFFIX}"
    os.link(backup, half_done)
    other = tmp_path / "someone-elses"
    other.write_bytes(b"data")
    foreign = tmp_path / f".cfg.pl.0000dcba{TMP_SUFFIX}"
    os.link(other, foreign)
    out = patch_file(script, run_perl=False)
    assert out.action == "patched"
    assert not half_done.exists() and backup.read_bytes() == SCRIPT.read_bytes()
    assert foreign.exists() and other.read_bytes() == b"data"
    assert any("not ours" in n for n in out.notes)


@needs_root
def test_leftover_of_another_user_is_left_alone(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    foreign = tmp_path / f".cfg.pl.abcdef01{TMP_SUFFIX}"
    foreign.write_bytes(b"x")
    os.chown(foreign, 4321, 4321)
    out = patch_file(script, run_perl=False)
    assert foreign.exists() and any("not ours" in n for n in out.notes)


def test_already_patched_run_still_cleans_leftovers(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SCRIPT, script)
    patch_file(script, run_perl=False)
    leftover = tmp_path / f".cfg.pl.11111111{TMP_SUFFIX}"
    leftover.write_bytes(b"partial")
    out = patch_file(script, run_perl=False)
    assert out.action == "already-patched"
    assert not leftover.exists() and any("removed" in n for n in out.notes)


# --- kill -9 at random points --------------------------------------------------------------

KILL_TRIALS = 200  # half with O_TMPFILE (where available), half with named temp files


def _fork_patch(script: Path, anonymous: bool, cached: Optional[patcher.Plan]) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child, killed or exits
        try:
            atomicfile.ANONYMOUS_TEMP = anonymous
            if cached is not None:  # skip the analysis so kills land in the I/O
                patcher.plan = lambda *a, **k: cached  # type: ignore[assignment]
                patcher.verify_patched = lambda *a, **k: []  # type: ignore[assignment]
            patch_file(script, run_perl=False)
        finally:
            os._exit(0)
    return pid


def test_kill_9_leaves_original_or_patched_and_no_temp_after_next_run(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    original = SCRIPT.read_bytes()
    backup = tmp_path / ("cfg.pl" + BACKUP_SUFFIX)
    script.write_bytes(original)
    cached = patcher.plan(original, str(script))
    patched = cached.new_data
    assert patched is not None

    def reset() -> None:
        script.write_bytes(original)
        backup.unlink()

    def timed(anonymous: bool, plan: Optional[patcher.Plan]) -> float:
        """Median duration of an uninterrupted run: the window the kills are spread over."""
        took = []
        for _ in range(3):
            start = time.perf_counter()
            pid = _fork_patch(script, anonymous, plan)
            os.waitpid(pid, 0)
            took.append(time.perf_counter() - start)
            assert script.read_bytes() == patched
            reset()
        return sorted(took)[1]

    rng = random.Random(20240611)
    anonymous_modes = [False, True] if atomicfile.ANONYMOUS_TEMP else [False]
    full = {a: timed(a, None) for a in anonymous_modes}
    io_only = {a: timed(a, cached) for a in anonymous_modes}
    outcomes = {"original": 0, "patched": 0, "leftover": 0}
    for trial in range(KILL_TRIALS):
        anonymous = anonymous_modes[trial % len(anonymous_modes)]
        # Half the kills anywhere in a full run, half inside the write phase alone.
        plan = cached if trial % 4 >= 2 else None
        window = (io_only if plan is not None else full)[anonymous]
        pid = _fork_patch(script, anonymous, plan)
        time.sleep(rng.uniform(0, window))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data = script.read_bytes()
        assert data in (original, patched), f"trial {trial}: torn file"
        assert not backup.exists() or backup.read_bytes() == original
        outcomes["original" if data == original else "patched"] += 1
        outcomes["leftover"] += bool(temps(tmp_path))
        after = patch_file(script, run_perl=False)  # the next run
        assert after.action in ("patched", "already-patched")
        assert temps(tmp_path) == [], f"trial {trial}: temp file survived the next run"
        assert script.read_bytes() == patched and backup.read_bytes() == original
        reset()
    # Both end states must actually have been reached, or the kills missed the write.
    assert outcomes["original"] > 0 and outcomes["patched"] > 0, outcomes


# --- archives and --check ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing-dir", "directory", "fifo"])
def test_unusable_output_fails_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """One line and exit 2 (a command-line mistake) before the archive is even read."""
    output = {
        "missing-dir": tmp_path / "nope" / "fixed.tar.gz",
        "directory": tmp_path,
        "fifo": tmp_path / "fifo",
    }[kind]
    if kind == "fifo":
        os.mkfifo(output)
    listing = sorted(os.listdir(tmp_path))

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the archive was read before --output was checked")

    monkeypatch.setattr(patcher, "inventory", no_work)
    with pytest.raises(ToolsfixError) as exc:
        run_patch(TARBALL, output=output, run_perl=False)
    assert exc.value.exit_code == ExitCode.USAGE
    code, _, err = cli_run("patch", str(TARBALL), "--output", str(output), "--no-exec")
    assert code == ExitCode.USAGE
    assert str(output) in one_error_line(err)
    assert sorted(os.listdir(tmp_path)) == listing
    assert kind != "fifo" or stat.S_ISFIFO(os.lstat(output).st_mode)


def test_output_into_the_input_itself_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.tar.gz"
    shutil.copy(TARBALL, src)
    link = tmp_path / "same.tar.gz"
    os.link(src, link)
    with pytest.raises(RefusedError):
        run_patch(src, output=link, run_perl=False)
    assert src.read_bytes() == TARBALL.read_bytes()


def test_output_mode_follows_the_input(tmp_path: Path) -> None:
    src = tmp_path / "in.tar.gz"
    shutil.copy(TARBALL, src)
    os.chmod(src, 0o640)
    old = os.umask(0o077)
    try:
        out = run_patch(src, output=tmp_path / "out.tar.gz", run_perl=False)
    finally:
        os.umask(old)
    assert out.action == "patched"
    assert stat.S_IMODE((tmp_path / "out.tar.gz").stat().st_mode) == 0o640
    assert temps(tmp_path) == []


def recompressed(tmp_path: Path, level: int) -> bytes:
    with gzip.open(TARBALL, "rb") as fh:
        raw = fh.read()
    src = tmp_path / f"in-{level}.tar.gz"
    src.write_bytes(gzip.compress(raw, compresslevel=level, mtime=1234567))
    out = tmp_path / f"out-{level}.tar.gz"
    run_patch(src, output=out, run_perl=False)
    return out.read_bytes()


@pytest.mark.parametrize(("level", "xfl"), [(1, 4), (6, 0), (9, 2)])
def test_gzip_level_follows_the_input_or_defaults_to_6(
    tmp_path: Path, level: int, xfl: int
) -> None:
    data = recompressed(tmp_path, level)
    assert data[8] == xfl  # the XFL byte gzip writes for levels 1 / 2..8 / 9
    assert gzip_params(data) == ({4: 1, 2: 9}.get(xfl, 6), 1234567)


def test_gzip_default_level_is_6_not_9(tmp_path: Path) -> None:
    """Same payload at an unknowable level: the copy is the size level 6 gives, not 9's."""
    data = recompressed(tmp_path, 5)
    payload = gzip.decompress(data)
    assert len(data) == len(gzip.compress(payload, compresslevel=6, mtime=1234567))
    assert gzip_params(b"not gzip") == (6, 0)


def linux_files() -> list[tuple[str, bytes]]:
    """A minimal SYNTHETIC Linux distrib: the 9.2.2 sample whose product says Linux."""
    cfg = SCRIPT.read_text().replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    assert "tools-for-linux" in cfg
    return [
        ("vmware-tools-distrib/bin/vmware-config-tools.pl", cfg.encode()),
        ("vmware-tools-distrib/etc/manifest.txt.shipped", b'monolithic.version = "9.2.2"\n'),
    ]


def test_check_on_a_linux_distrib_exits_0(tmp_path: Path) -> None:
    tarball = tmp_path / "VMwareTools-9.2.2.tar.gz"
    with (
        tarball.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        for name, data in linux_files():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    code, out, err = cli_run("patch", "--check", str(tarball), "--no-exec")
    assert (code, err) == (0, "")
    assert out.startswith("not-applicable:")
    tree = tmp_path / "tree"
    for name, data in linux_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    before = sorted((p.name, p.read_bytes()) for p in tree.rglob("*") if p.is_file())
    for args in (["--check"], [], ["--force"]):
        code, out, err = cli_run("patch", *args, str(tree), "--no-exec")
        assert (code, err) == (0, "") and out.startswith("not-applicable:"), args
    assert sorted((p.name, p.read_bytes()) for p in tree.rglob("*") if p.is_file()) == before


def test_check_on_a_solaris_tarball_needs_no_output(tmp_path: Path) -> None:
    code, out, err = cli_run("patch", "--check", str(TARBALL), "--no-exec")
    assert (code, err) == (1, "")
    assert out.startswith("would-patch:")
