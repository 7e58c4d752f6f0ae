"""BundleCapture on hand-made bundles: the layout contract, bad input and hostile archives."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from toolsfix.errors import ExitCode, InputError
from toolsfix.guest.bundle import BUNDLE_FORMAT, BundleCapture
from toolsfix.safeio import ReadStatus

MANIFEST = f"""format={BUNDLE_FORMAT}
collector_version=0.1.0
time=2024-01-02T03:04:05Z
host=sol11
os=solaris
command uname_a 0 uname -a
command isainfo_b 0 isainfo -b
command ipadm_show_prop_tcp 127 ipadm show-prop tcp
command modinfo timeout modinfo
command ip_d_link - ip -d link show
command dladm_show_dev 1 dladm show-dev
command ethtool_k:eth0 0 ethtool -k eth0
listing 0 /kernel/drv
unreadable /etc/shadowish
finished=2024-01-02T03:04:09Z
"""

FILES: dict[str, bytes] = {
    "manifest.txt": MANIFEST.encode(),
    "files.list": (
        b"27 1357000000 /etc/release\n"
        b"4 - /kernel/drv/vmxnet3s\n"
        b"garbage line\n"
        b"9 1700000000 /etc/init.d/my script\n"
    ),
    "commands/uname_a.out": b"SunOS sol11 5.11 11.4.0.15.0 i86pc i386 i86pc\n",
    "commands/uname_a.err": b"",
    "commands/isainfo_b.out": b"64\n",
    "commands/ipadm_show_prop_tcp.out": b"",
    "commands/ipadm_show_prop_tcp.err": b"toolsfix collector: ipadm: not found\n",
    "commands/modinfo.out": b" Id Loadaddr\n",
    "commands/dladm_show_dev.out": b"",
    "commands/dladm_show_dev.err": b"dladm: unrecognized subcommand 'show-dev'\n",
    "commands/ethtool_k:eth0.out": b"Features for eth0:\n",
    "files/etc/release": b"  Oracle Solaris 11.4 X86\n",
    "files/kernel/drv/vmxnet3s": b"\x7fELF",
    "files/etc/init.d/my script": b"#!/bin/sh\n",
    "listings/kernel/drv/names.txt": b".\n..\nvmxnet3s\namd64\nvmxnet3s.old.0\n",
    "listings/kernel/drv/ls-l.txt": b"total 1\n-rw-r--r-- 1 root sys 4 Jan 1 2013 vmxnet3s\n",
}


def write_bundle(root: Path, files: dict[str, bytes] = FILES) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_tar(path: Path, files: dict[str, bytes], *, leading: str = "", mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for rel, data in files.items():
            info = tarfile.TarInfo(leading + rel)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(params=["dir", "tar", "tar-leading", "tgz-leading", "tgz-dot"])
def bundle(request: pytest.FixtureRequest, tmp_path: Path) -> BundleCapture:
    kind = request.param
    if kind == "dir":
        return BundleCapture(write_bundle(tmp_path / "b"))
    if kind == "tar":
        return BundleCapture(write_tar(tmp_path / "b.tar", FILES))
    if kind == "tar-leading":
        return BundleCapture(write_tar(tmp_path / "b.tar", FILES, leading="host1/"))
    if kind == "tgz-dot":
        return BundleCapture(write_tar(tmp_path / "b.tgz", FILES, leading="./", mode="w:gz"))
    return BundleCapture(write_tar(tmp_path / "b.tar.gz", FILES, leading="h/", mode="w:gz"))


def test_manifest_fields(bundle: BundleCapture) -> None:
    assert bundle.manifest["host"] == "sol11"
    assert bundle.manifest["format"] == BUNDLE_FORMAT
    assert bundle.complete
    assert bundle.keys()[0] == "uname_a"
    assert bundle.unreadable == {"/etc/shadowish"}
    assert bundle.origin.startswith("bundle:")


def test_commands(bundle: BundleCapture) -> None:
    uname = bundle.command("uname_a")
    assert uname is not None
    assert (uname.status, uname.command, uname.ok) == (0, "uname -a", True)
    assert uname.stdout.startswith("SunOS sol11 5.11")
    isainfo = bundle.command("isainfo_b")
    assert isainfo is not None and isainfo.stderr == ""  # no .err file: empty
    missing = bundle.command("ipadm_show_prop_tcp")
    assert missing is not None and missing.status is None and "not found" in missing.stderr
    hung = bundle.command("modinfo")
    assert hung is not None and hung.status is None and hung.stderr == "timed out"
    failed = bundle.command("dladm_show_dev")
    assert failed is not None and failed.status == 1 and not failed.ok
    assert bundle.command("ip_d_link") is None  # not run on this OS
    assert bundle.command("ndd_ip_lso_outbound") is None  # not in the manifest
    eth = bundle.command("ethtool_k:eth0")
    assert eth is not None and eth.stdout == "Features for eth0:\n"


def test_files_and_listings(bundle: BundleCapture) -> None:
    assert bundle.read_file("/etc/release") == b"  Oracle Solaris 11.4 X86\n"
    assert bundle.read_file("/etc/../etc/release") == b"  Oracle Solaris 11.4 X86\n"
    assert bundle.read_file("/etc/init.d/my script") == b"#!/bin/sh\n"
    assert bundle.read_file("/etc/passwd") is None
    assert bundle.read_file("etc/release") is None  # guest paths are absolute
    assert bundle.read_file("/") is None
    assert bundle.read_file("/../manifest.txt") is None
    assert bundle.file_mtime("/etc/release") == 1357000000
    assert bundle.file_mtime("/kernel/drv/vmxnet3s") is None  # "-": guest could not tell
    assert bundle.file_mtime("/etc/init.d/my script") == 1700000000
    assert bundle.file_mtime("/etc/passwd") is None
    assert bundle.files["/etc/release"].size == 27
    assert bundle.list_dir("/kernel/drv") == ["amd64", "vmxnet3s", "vmxnet3s.old.0"]
    assert bundle.list_dir("/kernel/drv/") == ["amd64", "vmxnet3s", "vmxnet3s.old.0"]
    assert bundle.list_dir("/etc") is None
    text = bundle.listing_text("/kernel/drv")
    assert text is not None and "vmxnet3s" in text
    assert bundle.listing_text("/etc") is None


def test_incomplete_bundle_is_readable(tmp_path: Path) -> None:
    files = dict(FILES)
    files["manifest.txt"] = MANIFEST.replace("finished=2024-01-02T03:04:09Z\n", "").encode()
    cap = BundleCapture(write_bundle(tmp_path / "b", files))
    assert not cap.complete
    assert cap.command("uname_a") is not None


def test_missing_output_file_is_reported_not_raised(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "commands/uname_a.out"}
    res = BundleCapture(write_bundle(tmp_path / "b", files)).command("uname_a")
    assert res is not None and res.status is None and "missing" in res.stderr


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"hello\n", "no format= line"),
        (b"format=other-tool/1\n", "not a toolsfix bundle"),
        (b"format=toolsfix-bundle/2\n", "unsupported bundle format"),
        (b"\xff\xfe\x00garbage", "no format= line"),
    ],
)
def test_bad_manifest(tmp_path: Path, manifest: bytes, message: str) -> None:
    write_bundle(tmp_path / "b", {"manifest.txt": manifest})
    with pytest.raises(InputError) as info:
        BundleCapture(tmp_path / "b")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == ExitCode.INPUT


def test_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no manifest\.txt"):
        BundleCapture(tmp_path / "empty")
    with pytest.raises(InputError, match="no such bundle"):
        BundleCapture(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("just text\n")
    with pytest.raises(InputError, match="cannot read bundle archive") as info:
        BundleCapture(tmp_path / "notes.txt")
    assert "\n" not in str(info.value)
    write_tar(tmp_path / "other.tar", {"README": b"x"})
    with pytest.raises(InputError, match=r"no manifest\.txt in the archive"):
        BundleCapture(tmp_path / "other.tar")
    # A manifest two directories deep is not a bundle root.
    write_tar(tmp_path / "deep.tar", FILES, leading="a/b/")
    with pytest.raises(InputError, match=r"no manifest\.txt"):
        BundleCapture(tmp_path / "deep.tar")


def test_truncated_archive(tmp_path: Path) -> None:
    good = write_tar(tmp_path / "b.tar.gz", FILES, mode="w:gz").read_bytes()
    bad = tmp_path / "cut.tar.gz"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="cannot read bundle archive") as info:
        BundleCapture(bad)
    assert "\n" not in str(info.value)


def test_hostile_tar_members_are_ignored(tmp_path: Path) -> None:
    files = dict(FILES)
    files["../../escape/files/etc/passwd"] = b"root:x:0:0\n"
    files["/abs/files/etc/shadow"] = b"secret"
    archive = write_tar(tmp_path / "evil.tar", files)
    with tarfile.open(archive, "a") as tar:
        link = tarfile.TarInfo("files/etc/hosts")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/hosts"
        tar.addfile(link)
    cap = BundleCapture(archive)
    assert cap.read_file("/etc/passwd") is None
    assert cap.read_file("/etc/shadow") is None
    assert cap.read_file("/etc/hosts") is None
    assert not (tmp_path.parent / "escape").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]  # nothing extracted


def test_symlink_out_of_bundle_dir_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "host-secret"
    outside.write_text("host data")
    root = write_bundle(tmp_path / "b")
    os.symlink(outside, root / "files/etc/hosts")
    os.symlink("../../manifest.txt", root / "files/etc/inside")
    cap = BundleCapture(root)
    assert cap.read_file("/etc/hosts") is None
    assert cap.read_file("/etc/inside") == MANIFEST.encode()  # inside the bundle: fine


def test_symlinked_directory_out_of_bundle_is_not_followed(tmp_path: Path) -> None:
    """A directory on the way that links out is caught like a linked file, however often it is
    read through (the reader remembers the real path of each directory it resolved)."""
    outside = tmp_path / "host-etc"
    outside.mkdir()
    (outside / "release").write_text("host release")
    root = write_bundle(tmp_path / "b")
    os.symlink(outside, root / "files/srv")
    os.symlink("etc", root / "files/alias")  # a directory link that stays inside: fine
    cap = BundleCapture(root)
    for _ in range(2):
        assert cap.read_file("/srv/release") is None
        assert cap.read_file_checked("/srv/release").status is ReadStatus.SYMLINK
        assert cap.read_file("/alias/release") == FILES["files/etc/release"]


# --- read status: absent on the guest, unreadable there, or never looked at ---------------------


def test_checked_reads_say_why(bundle: BundleCapture) -> None:
    assert bundle.read_file_checked("/etc/release").status is ReadStatus.OK
    shadow = bundle.read_file_checked("/etc/shadowish")  # manifest: "unreadable /etc/shadowish"
    assert shadow.status is ReadStatus.UNREADABLE and "could not read" in shadow.reason
    # /kernel/drv was listed in full: a name not in it is absent on the guest...
    assert bundle.read_file_checked("/kernel/drv/vmxnet").status is ReadStatus.ABSENT
    # ...and a listed name that was not copied is there but unknown
    leftover = bundle.read_file_checked("/kernel/drv/vmxnet3s.old.0")
    assert leftover.status is ReadStatus.UNREADABLE and "listed in /kernel/drv" in leftover.reason
    assert bundle.read_file_checked("/etc/passwd").status is ReadStatus.ABSENT  # complete bundle
    assert bundle.list_dir_checked("/kernel/drv").names == ("amd64", "vmxnet3s", "vmxnet3s.old.0")
    assert bundle.list_dir_checked("/etc").status is ReadStatus.ABSENT


def test_failed_listing_makes_the_directory_and_its_files_unreadable(tmp_path: Path) -> None:
    files = dict(FILES)
    files["manifest.txt"] = MANIFEST.replace(
        "listing 0 /kernel/drv", "listing 2 /kernel/drv"
    ).encode()
    del files["files/kernel/drv/vmxnet3s"]
    cap = BundleCapture(write_bundle(tmp_path / "b", files))
    listing = cap.list_dir_checked("/kernel/drv")
    assert listing.status is ReadStatus.UNREADABLE and listing.names is None
    assert cap.list_dir("/kernel/drv") is None
    for path in ("/kernel/drv/vmxnet3s", "/kernel/drv/amd64/vmxnet3s"):
        result = cap.read_file_checked(path)
        assert result.status is ReadStatus.UNREADABLE, path
        assert "could not list /kernel/drv" in result.reason
    assert cap.list_dir_checked("/kernel/drv/amd64").status is ReadStatus.UNREADABLE


def test_ls_type_of_an_uncopied_entry(tmp_path: Path) -> None:
    files = dict(FILES)
    del files["files/kernel/drv/vmxnet3s"]
    files["listings/kernel/drv/ls-l.txt"] = (
        b"total 1\nprw-r--r-- 1 root sys 0 Jan 1 2013 vmxnet3s\n"
        b"lrwxrwxrwx 1 root root 9 Jan 1 2013 vmxnet3s.old.0 -> /nowhere\n"
    )
    cap = BundleCapture(write_bundle(tmp_path / "b", files))
    fifo = cap.read_file_checked("/kernel/drv/vmxnet3s")
    assert fifo.status is ReadStatus.NOT_REGULAR and fifo.reason == "is a FIFO on the guest"
    assert cap.read_file_checked("/kernel/drv/vmxnet3s.old.0").status is ReadStatus.UNREADABLE


def test_incomplete_bundle_has_no_proven_absence(tmp_path: Path) -> None:
    files = dict(FILES)
    files["manifest.txt"] = MANIFEST.replace("finished=2024-01-02T03:04:09Z\n", "").encode()
    cap = BundleCapture(write_bundle(tmp_path / "b", files))
    passwd = cap.read_file_checked("/etc/passwd")
    assert passwd.status is ReadStatus.UNREADABLE and "interrupted" in passwd.reason
    assert cap.list_dir_checked("/etc").status is ReadStatus.UNREADABLE
    # what the manifest confirms stays an answer
    assert cap.read_file_checked("/kernel/drv/vmxnet").status is ReadStatus.ABSENT
    commands, finished = cap.missing_parts()
    assert "uname_r" in commands and "uname_a" not in commands  # named: never run
    assert finished == "the finished= line"


@pytest.mark.parametrize("kind", ["fifo", "symlink-out"])
def test_odd_manifest_in_a_bundle_directory(kind: str, tmp_path: Path) -> None:
    root = write_bundle(tmp_path / "b")
    (root / "manifest.txt").unlink()
    if kind == "fifo":
        os.mkfifo(root / "manifest.txt")
    else:
        (tmp_path / "elsewhere.txt").write_bytes(MANIFEST.encode())
        os.symlink(tmp_path / "elsewhere.txt", root / "manifest.txt")
    with pytest.raises(InputError, match=r"cannot read manifest\.txt: bundle member") as info:
        BundleCapture(root)
    assert "\n" not in str(info.value)
