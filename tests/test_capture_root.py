"""RootCapture: an offline image root read by prefixing, never escaping through symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from unprivileged import public_tmpdir, run_unprivileged

from toolsfix.errors import InputError
from toolsfix.guest.capture_api import COMMANDS
from toolsfix.guest.root import RootCapture
from toolsfix.safeio import MAX_FILE_BYTES, ReadStatus


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    """An image root beside a "host" directory holding a secret the image must not reach."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("HOST SECRET")
    root = tmp_path / "img"
    (root / "etc").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "kernel/drv/amd64").mkdir(parents=True)
    (root / "usr/lib/release").write_text("  Oracle Solaris 11.4 X86\n")
    (root / "secret").write_text("image secret")
    (root / "kernel/drv/amd64/vmxnet3s").write_bytes(b"\x7fELF\x00\xff")
    os.utime(root / "kernel/drv/amd64/vmxnet3s", (1357000000, 1357000000))
    # Solaris-style absolute link inside the image.
    os.symlink("/usr/lib/release", root / "etc/release")
    # Escape attempts.
    os.symlink(str(host / "secret"), root / "etc/abs-to-host")
    os.symlink("../../host/secret", root / "etc/dotdot-to-host")
    os.symlink("../../../../../../../../secret", root / "etc/many-dotdots")
    os.symlink("/", root / "etc/slash")
    os.symlink("loop-b", root / "etc/loop-a")
    os.symlink("loop-a", root / "etc/loop-b")
    os.symlink("/kernel/drv", root / "drv")
    return root


def test_reads_through_image_symlinks(image: Path) -> None:
    cap = RootCapture(image)
    assert cap.read_file("/etc/release") == b"  Oracle Solaris 11.4 X86\n"
    assert cap.read_file("/drv/amd64/vmxnet3s") == b"\x7fELF\x00\xff"
    assert cap.read_file("/drv/amd64/../amd64/vmxnet3s") == b"\x7fELF\x00\xff"
    assert cap.file_mtime("/kernel/drv/amd64/vmxnet3s") == 1357000000
    assert cap.list_dir("/drv") == ["amd64"]
    assert cap.list_dir("/etc/slash/kernel/drv/amd64") == ["vmxnet3s"]


@pytest.mark.parametrize(
    "path",
    [
        "/etc/abs-to-host",
        "/etc/dotdot-to-host",
        "/etc/many-dotdots",
        "/../../host/secret",
        "/etc/slash/../../host/secret",
        "/etc/../../../secret",
    ],
)
def test_symlink_and_dotdot_escapes_stay_inside(image: Path, path: str) -> None:
    cap = RootCapture(image)
    data = cap.read_file(path)
    assert data != b"HOST SECRET"
    resolved = cap.resolve(path)
    assert resolved is not None
    root = str(image.resolve())
    assert resolved == root or resolved.startswith(root + os.sep)


def test_escapes_land_on_the_images_own_files(image: Path) -> None:
    cap = RootCapture(image)
    # "/secret" of the image, as a chroot would see it, not the host's file.
    assert cap.read_file("/etc/many-dotdots") == b"image secret"
    assert cap.read_file("/etc/../../../secret") == b"image secret"
    assert cap.read_file("/etc/abs-to-host") is None  # re-rooted target does not exist
    assert cap.list_dir("/etc/slash/..") == sorted(os.listdir(image))


def test_missing_and_odd_paths_are_none(image: Path) -> None:
    cap = RootCapture(image)
    assert cap.read_file("/etc/nope") is None
    assert cap.read_file("/etc") is None  # a directory is not a file
    assert cap.read_file("etc/release") is None  # relative: not a guest path
    assert cap.read_file("/etc/loop-a") is None
    assert cap.resolve("/etc/loop-a/x") is None
    assert cap.list_dir("/nope") is None
    assert cap.list_dir("/etc/release") is None
    assert cap.file_mtime("/nope") is None


def test_fifo_does_not_hang(image: Path) -> None:
    os.mkfifo(image / "etc/fifo")
    assert RootCapture(image).read_file("/etc/fifo") is None


def test_no_commands_offline(image: Path) -> None:
    cap = RootCapture(image)
    for key in COMMANDS:
        assert cap.command(key) is None
    assert cap.origin == f"root:{image}"


def test_bad_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such image root"):
        RootCapture(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        RootCapture(tmp_path / "file")


# --- read status: absent is not unreadable --------------------------------------------------


def test_checked_reads_say_why(image: Path) -> None:
    os.mkfifo(image / "etc/fifo")
    with (image / "etc/huge").open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: refused by size, never read
    cap = RootCapture(image)
    ok = cap.read_file_checked("/etc/release")
    assert ok.status is ReadStatus.OK and ok.data == b"  Oracle Solaris 11.4 X86\n"
    assert cap.read_file_checked("/etc/nope").status is ReadStatus.ABSENT
    assert cap.read_file_checked("/etc/nope/deeper").status is ReadStatus.ABSENT
    assert cap.read_file_checked("etc/release").status is ReadStatus.ABSENT
    assert cap.read_file_checked("/etc").status is ReadStatus.NOT_REGULAR
    assert cap.read_file_checked("/etc/fifo").status is ReadStatus.NOT_REGULAR
    huge = cap.read_file_checked("/etc/huge")
    assert huge.status is ReadStatus.TOO_LARGE and huge.data is None
    loop = cap.read_file_checked("/etc/loop-a")
    assert loop.status is ReadStatus.UNREADABLE and "loop" in loop.reason


def test_checked_listings_say_why(image: Path) -> None:
    cap = RootCapture(image)
    listing = cap.list_dir_checked("/drv")
    assert listing.status is ReadStatus.OK and listing.names == ("amd64",)
    assert cap.list_dir_checked("/nope").status is ReadStatus.ABSENT
    assert cap.list_dir_checked("/etc/release").status is ReadStatus.NOT_REGULAR
    assert cap.list_dir_checked("/etc/loop-a").status is ReadStatus.UNREADABLE


def test_mode_000_is_unreadable_not_absent() -> None:
    with public_tmpdir() as base:
        root = base / "img"
        (root / "kernel/drv/amd64").mkdir(parents=True)
        (root / "kernel/drv/amd64/vmxnet3s").write_bytes(b"\x7fELF")
        (root / "kernel/drv/vmxnet3s").write_bytes(b"\x7fELF")
        (root / "kernel/drv/vmxnet3s").chmod(0)
        (root / "kernel/drv/amd64").chmod(0)

        def statuses() -> list[str]:
            cap = RootCapture(root)
            return [
                cap.read_file_checked("/kernel/drv/vmxnet3s").status.value,
                cap.read_file_checked("/kernel/drv/amd64/vmxnet3s").status.value,
                cap.list_dir_checked("/kernel/drv/amd64").status.value,
                cap.list_dir_checked("/kernel/drv").status.value,
            ]

        assert run_unprivileged(statuses) == ["unreadable", "unreadable", "unreadable", "ok"]
