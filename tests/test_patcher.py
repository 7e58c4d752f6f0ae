"""Patching is proven safe: atomic, backed up, mode-preserving, idempotent, refusing, verified."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from toolsfix import atomicfile, installer, patcher
from toolsfix.distrib import open_decompressed
from toolsfix.errors import ExitCode, RefusedError, ToolsfixError
from toolsfix.patcher import BACKUP_SUFFIX, patch_archive, patch_file, run_patch

SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"
HAVE_PERL = shutil.which("perl") is not None


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def distrib(tmp_path: Path) -> Path:
    dst = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", dst)
    return dst


def cfg_of(d: Path) -> Path:
    return d / "vmware-tools-distrib" / "bin" / "vmware-config-tools.pl"


def test_patch_directory_then_second_run_is_a_no_op(distrib: Path) -> None:
    cfg = cfg_of(distrib)
    original = cfg.read_bytes()
    out = run_patch(distrib, run_perl=HAVE_PERL)
    assert out.action == "patched"
    backup = cfg.with_name(cfg.name + BACKUP_SUFFIX)
    assert backup.read_bytes() == original
    after = installer.analyse_bytes(cfg.read_bytes(), path="x")
    assert after.selection_bug == installer.PATCHED
    assert after.driver_dirs["solaris-11.1"]["vmxnet3s"] == ("11", "11_64")  # type: ignore[index]
    state = tree_digest(distrib)
    again = run_patch(distrib, run_perl=HAVE_PERL)
    assert again.action == "already-patched"
    assert tree_digest(distrib) == state


def test_only_the_cap_line_changes_and_a_marker_is_added(distrib: Path) -> None:
    cfg = cfg_of(distrib)
    before = cfg.read_text().splitlines()
    run_patch(distrib, run_perl=False)
    after = cfg.read_text().splitlines()
    assert len(after) == len(before) + 1
    changed = [ln for ln in after if ln not in before]
    assert any("toolsfix: patched by current-minor-11" in ln for ln in changed)
    assert any("my $currentMinor = 11;" in ln for ln in changed)
    assert len(changed) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="root may write a read-only file; a user may not")
def test_read_only_file_keeps_its_mode(distrib: Path) -> None:
    """VMware ships the configurator 0555; the patched file keeps the read-only mode."""
    cfg = cfg_of(distrib)
    os.chmod(cfg, 0o555)
    out = run_patch(distrib, run_perl=False)
    assert out.action == "patched"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o555
    assert stat.S_IMODE(cfg.with_name(cfg.name + BACKUP_SUFFIX).stat().st_mode) == 0o555


def test_dry_run_writes_nothing_and_shows_a_diff(distrib: Path) -> None:
    state = tree_digest(distrib)
    out = run_patch(distrib, dry_run=True, run_perl=False)
    assert out.action == "would-patch"
    assert "-  my $currentMinor = 10;" in out.diff
    assert "+  my $currentMinor = 11;" in out.diff
    assert tree_digest(distrib) == state


def test_interrupted_write_leaves_the_original(
    distrib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = cfg_of(distrib)
    original = cfg.read_bytes()
    real_rename = os.rename

    def crash(src: str, dst: str, **kwargs: object) -> None:
        if dst == cfg.name:
            raise OSError(28, "No space left on device")
        real_rename(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomicfile.os, "rename", crash)
    with pytest.raises(ToolsfixError):
        run_patch(distrib, run_perl=False)
    assert cfg.read_bytes() == original
    leftovers = [p.name for p in cfg.parent.iterdir() if p.name.endswith(".toolsfix-tmp")]
    assert leftovers == []


def test_unwritable_directory_is_refused_cleanly(
    distrib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = cfg_of(distrib)
    original = cfg.read_bytes()

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomicfile, "_create_temp", denied)
    with pytest.raises(RefusedError) as exc:
        run_patch(distrib, run_perl=False)
    assert exc.value.exit_code == ExitCode.REFUSED
    assert cfg.read_bytes() == original


def test_failed_verification_rolls_back(distrib: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = cfg_of(distrib)
    original = cfg.read_bytes()

    def fail(*args: object, **kwargs: object) -> list[str]:
        raise ToolsfixError("simulated verification failure", ExitCode.VERIFY_FAILED)

    monkeypatch.setattr(patcher, "verify_patched", fail)
    with pytest.raises(ToolsfixError) as exc:
        run_patch(distrib, run_perl=False)
    assert exc.value.exit_code == ExitCode.VERIFY_FAILED
    assert cfg.read_bytes() == original


def test_existing_different_backup_is_never_overwritten(distrib: Path) -> None:
    cfg = cfg_of(distrib)
    backup = cfg.with_name(cfg.name + BACKUP_SUFFIX)
    backup.write_bytes(b"someone else's backup\n")
    with pytest.raises(RefusedError):
        run_patch(distrib, run_perl=False)
    assert backup.read_bytes() == b"someone else's backup\n"


@pytest.mark.parametrize("variant", ["damaged", "9.2.2-no11"])
def test_risky_variants_need_force(tmp_path: Path, variant: str) -> None:
    d = tmp_path / variant
    shutil.copytree(SAMPLES / "distribs" / variant, d)
    state = tree_digest(d)
    with pytest.raises(RefusedError):
        run_patch(d, run_perl=False)
    assert tree_digest(d) == state
    out = run_patch(d, force=True, run_perl=False)
    assert out.action == "patched"
    assert out.notes


def test_unknown_variant_is_refused(tmp_path: Path) -> None:
    text = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_text()
    # A refactor we do not know: the cap comes from a helper call, not a literal.
    text = text.replace("my $currentMinor = 10;", "my $currentMinor = latest_minor();")
    script = tmp_path / "cfg.pl"
    script.write_text(text)
    with pytest.raises(RefusedError) as exc:
        patch_file(script, run_perl=False)
    assert "unknown" in str(exc.value)
    assert script.read_text() == text
    with pytest.raises(RefusedError):  # --force still needs the literal cap to edit
        patch_file(script, force=True, run_perl=False)


def test_vendor_fixed_needs_nothing(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-9.9.2.pl", script)
    assert patch_file(script, run_perl=False).action == "not-needed"
    assert not script.with_name(script.name + BACKUP_SUFFIX).exists()


def test_hand_patched_gets_the_unflip_patch(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-blog-hand-patched.pl", script)
    out = patch_file(script, run_perl=HAVE_PERL)
    assert out.patch_id == "unflip-hand-patch"
    a = installer.analyse_bytes(script.read_bytes(), path="x")
    assert a.selection_bug == installer.PATCHED
    assert a.comparison is not None and a.comparison.op == "<"


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-crlf.pl", script)
    patch_file(script, run_perl=HAVE_PERL)
    data = script.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")
    assert b"$currentMinor = 11;" in data


def _members(path: Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    with open_decompressed(path) as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isfile() else b""  # type: ignore[union-attr]
            out[info.name] = (
                info.type,
                info.mode,
                info.mtime,
                info.uid,
                info.gid,
                info.linkname,
                hashlib.sha256(data).hexdigest(),
            )
    return out


def test_tarball_copy_differs_only_in_the_configurator(tmp_path: Path) -> None:
    src = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
    before_digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out_path = tmp_path / "fixed.tar.gz"
    out = patch_archive(src, out_path, run_perl=HAVE_PERL)
    assert out.action == "patched"
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before_digest
    a, b = _members(src), _members(out_path)
    assert list(a) == list(b)
    diff = [name for name in a if a[name] != b[name]]
    assert diff == ["vmware-tools-distrib/bin/vmware-config-tools.pl"]
    assert a[diff[0]][:6] == b[diff[0]][:6]  # same type, mode, mtime, owner


def test_iso_copy_rescans_as_patched(tmp_path: Path) -> None:
    src = SAMPLES / "archives" / "solaris-9.2.2.iso"
    out_path = tmp_path / "fixed.iso"
    out = run_patch(src, output=out_path, run_perl=False)
    assert out.action == "patched"
    from toolsfix.scan import ScanOptions, scan

    doc = scan(out_path, ScanOptions(execute=False)).to_dict()
    assert doc["configurator"]["selection_bug"] == "patched"
    assert doc["findings"] == []


def test_archive_needs_output(tmp_path: Path) -> None:
    src = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
    with pytest.raises(ToolsfixError) as exc:
        run_patch(src)
    assert exc.value.exit_code == ExitCode.USAGE


def test_installed_guest_patch_uses_bindir(tmp_path: Path) -> None:
    root = tmp_path / "root"
    bindir = root / "opt/vmware/bin"
    bindir.mkdir(parents=True)
    shutil.copy(
        SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl", bindir / "vmware-config-tools.pl"
    )
    (root / "usr/lib/vmware-tools/modules/binary/11").mkdir(parents=True)
    db = root / "etc/vmware-tools/locations"
    db.parent.mkdir(parents=True)
    db.write_text(
        "answer BINDIR /usr/bin\nanswer LIBDIR /usr/lib/vmware-tools\n"
        "junk line here\nremove_answer BINDIR\nanswer BINDIR /opt/vmware/bin\n"
    )
    out = run_patch(None, root=root, run_perl=False)
    assert out.action == "patched"
    assert out.target.endswith("opt/vmware/bin/vmware-config-tools.pl")
    assert any("/opt/vmware/bin/vmware-config-tools.pl" in n for n in out.notes)
