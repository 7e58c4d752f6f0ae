"""Partial and hostile bundles: an interrupted collection is named, never analysed as whole;
failed or timed-out commands leave their checks not evaluated; an archive is read within
fixed bounds (per member and in total, counted on decompressed bytes), and a FIFO or device
given as the bundle is refused at once.

Bundles are copies of the SYNTHETIC sample ``sol11.1-s10build-lso-on`` with one change each.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from samplelib import SAMPLES
from test_capture_bundle import FILES, write_tar
from test_cli import run as run_cli

from toolsfix.catalog import spec
from toolsfix.errors import ExitCode, InputError
from toolsfix.guest import bundle as bundle_mod
from toolsfix.guest.bundle import BundleCapture
from toolsfix.safeio import ReadStatus
from toolsfix.verify import VerifyOptions, verify

OPTIONS = VerifyOptions(execute=False)
SAMPLE = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"
FULL_IDS = ["TF100", "TF200", "TF200", "TF300", "TF310"]  # the complete sample's findings


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    def _timeout(_sig: int, _frame: Any) -> None:
        raise TimeoutError("reading the bundle blocked")

    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def cut(dest: Path, keep: Callable[[str], bool], *, drop: tuple[str, ...] = ()) -> Path:
    """A copy of the sample whose manifest keeps only the lines ``keep`` accepts and whose
    ``drop`` subtrees were never written: what an interrupted collector leaves behind."""
    shutil.copytree(SAMPLE, dest)
    manifest = dest / "manifest.txt"
    lines = [line for line in manifest.read_text().splitlines() if keep(line)]
    manifest.write_text("\n".join(lines) + "\n")
    for rel in drop:
        target = dest / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.write_text("")
    return dest


def ids(doc: dict[str, Any]) -> list[str]:
    return sorted(f["id"] for f in doc["findings"])


def test_complete_sample_has_no_input_finding() -> None:
    doc = verify(bundle=SAMPLE, options=OPTIONS).to_dict()
    assert ids(doc) == FULL_IDS


# --- an interrupted collection is named -------------------------------------------------------


def test_missing_finished_line_is_a_finding(tmp_path: Path) -> None:
    bundle = cut(tmp_path / "b", lambda line: not line.startswith("finished="))
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    assert ids(doc) == sorted([*FULL_IDS, "TF500"])
    tf500 = next(f for f in doc["findings"] if f["id"] == "TF500")
    assert tf500["category"] == "input-incomplete" and tf500["severity"] == "medium"
    assert tf500["evidence"][0]["path"] == "manifest.txt"
    assert "finished=" in tf500["evidence"][0]["detail"]
    assert "collector" in tf500["remedy"].lower()
    assert spec("TF500").category == "input-incomplete"


def test_interrupted_before_the_listings(tmp_path: Path) -> None:
    """Files were copied, directories not listed: driver verdicts stand (the fixed file list
    was done), leftover and listing-based checks are not evaluated, and the gap is named."""
    bundle = cut(
        tmp_path / "b",
        lambda line: not line.startswith(("finished=", "listing ", "bindir=", "libdir=")),
        drop=("listings",),
    )
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    assert "TF500" in ids(doc) and "TF200" in ids(doc)
    tf500 = next(f for f in doc["findings"] if f["id"] == "TF500")
    assert "every directory listing (none made)" in tf500["message"]
    leftovers = [s for s in doc["skipped"] if s["check"] == "TF205"]
    assert leftovers and all("interrupted" in s["reason"] for s in leftovers)


def test_fixed_files_are_absent_once_the_file_stage_is_done(tmp_path: Path) -> None:
    """vmxnet is not on this guest: after the file stage that is "absent", even unfinished."""
    bundle = cut(tmp_path / "b", lambda line: not line.startswith(("finished=", "listing ")))
    cap = BundleCapture(bundle)
    assert cap.files_stage_done and not cap.complete
    assert cap.read_file_checked("/kernel/drv/vmxnet").status is ReadStatus.ABSENT
    # a listing the manifest does not confirm may be cut short: unknown, not empty
    listing = cap.list_dir_checked("/kernel/drv")
    assert listing.status is ReadStatus.UNREADABLE and "interrupted" in listing.reason


def test_interrupted_during_the_commands_is_not_evaluable(tmp_path: Path) -> None:
    bundle = cut(
        tmp_path / "b",
        lambda line: (
            not line.startswith(("finished=", "listing ", "bindir", "libdir"))
            and not line.startswith(
                ("command ifconfig", "command ip", "command sysctl", "command esx")
            )
        ),
        drop=("files", "listings", "files.list"),
    )
    (bundle / "files").mkdir()
    with pytest.raises(InputError) as info:
        verify(bundle=bundle, options=OPTIONS)
    message = str(info.value)
    assert info.value.exit_code == ExitCode.INPUT and "\n" not in message
    assert "/kernel/drv/vmxnet3s" in message and "the collection was interrupted" in message
    commands = BundleCapture(bundle).missing_parts()[0]
    assert "ipadm_show_prop_lso" in commands and "uname_a" not in commands


def test_interrupted_bundle_exits_non_zero_via_the_cli(tmp_path: Path) -> None:
    bundle = cut(tmp_path / "b", lambda line: not line.startswith("finished="))
    code, out, err = run_cli(
        "verify", "--bundle", str(bundle), "--no-exec", "--fail-on", "medium", "--format", "json"
    )
    assert code == 1, err
    assert "TF500" in {f["id"] for f in json.loads(out)["findings"]}


def test_tar_of_an_interrupted_bundle_is_named_too(tmp_path: Path) -> None:
    bundle = cut(tmp_path / "b", lambda line: not line.startswith("finished="))
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname="guest42")
    assert "TF500" in ids(verify(bundle=archive, options=OPTIONS).to_dict())


# --- failed and timed-out commands -----------------------------------------------------------


def edit_statuses(dest: Path, statuses: dict[str, str]) -> Path:
    def keep(line: str) -> bool:
        return True

    bundle = cut(dest, keep)
    manifest = bundle / "manifest.txt"
    lines = []
    for line in manifest.read_text().splitlines():
        parts = line.split(" ", 3)
        if parts[0] == "command" and parts[1] in statuses:
            parts[2] = statuses[parts[1]]
            line = " ".join(parts)
        lines.append(line)
    manifest.write_text("\n".join(lines) + "\n")
    return bundle


def test_timed_out_command_leaves_its_check_not_evaluated(tmp_path: Path) -> None:
    complete = verify(bundle=SAMPLE, options=OPTIONS).to_dict()
    assert not any(s["check"] == "TF320" for s in complete["skipped"])  # evaluated normally
    bundle = edit_statuses(tmp_path / "b", {"ipadm_show_prop_tcp": "timeout"})
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    reason = next(s["reason"] for s in doc["skipped"] if s["check"] == "TF320")
    assert "`ipadm show-prop tcp` could not run: timed out" in reason


def test_failed_command_output_is_not_judged(tmp_path: Path) -> None:
    """modinfo exits 1 with its (complete-looking) output: a failed run is not evidence."""
    bundle = edit_statuses(tmp_path / "b", {"ipadm_show_prop_tcp": "1"})
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    reason = next(s["reason"] for s in doc["skipped"] if s["check"] == "TF320")
    assert "`ipadm show-prop tcp` failed (exit 1)" in reason
    assert doc["findings"] and "TF320" not in ids(doc)


# --- archive bounds ------------------------------------------------------------------------


def test_member_over_its_cap_is_refused_by_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_mod, "MAX_FILE_MEMBER_BYTES", 1000)
    files = dict(FILES)
    files["files/kernel/drv/amd64/vmxnet3s"] = b"\x7fELF" + b"\0" * 5000
    cap = BundleCapture(write_tar(tmp_path / "b.tar", files))
    result = cap.read_file_checked("/kernel/drv/amd64/vmxnet3s")
    assert result.status is ReadStatus.TOO_LARGE and result.data is None
    assert "over 1000 bytes" in result.reason
    assert cap.read_file("/etc/release") == FILES["files/etc/release"]  # the rest is read


def test_directory_member_over_its_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_mod, "MAX_FILE_MEMBER_BYTES", 1000)
    root = tmp_path / "b"
    shutil.copytree(SAMPLE, root)
    result = BundleCapture(root).read_file_checked("/kernel/drv/amd64/vmxnet3s")
    assert result.status is ReadStatus.TOO_LARGE
    with pytest.raises(InputError, match="not evaluable: could not read") as info:
        verify(bundle=root, options=OPTIONS)
    assert "/kernel/drv/vmxnet3s (bundle member files/kernel/drv/vmxnet3s larger than" in str(
        info.value
    )


def gzip_bomb(path: Path, size: int) -> Path:
    """A .tar.gz of a few KiB that inflates to ``size`` bytes of zeros after a real manifest."""
    with gzip.open(path, "wb", compresslevel=9) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        for name in ("manifest.txt", "files/etc/release"):
            data = FILES[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("files/usr/bin/vmware-config-tools.pl")
        info.size = size
        tar.addfile(info, _Zeros(size))
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


@pytest.mark.parametrize("member_cap", [64 * 1024 * 1024, 1000])
def test_gzip_bomb_is_refused_by_decompressed_bytes(
    member_cap: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether the huge member is read (under its cap) or skipped (over it), every byte that
    comes out of the decompressor counts against the total."""
    monkeypatch.setattr(bundle_mod, "MAX_BUNDLE_BYTES", 4 * 1024 * 1024)
    monkeypatch.setattr(bundle_mod, "MAX_FILE_MEMBER_BYTES", member_cap)
    archive = gzip_bomb(tmp_path / "bomb.tar.gz", 16 * 1024 * 1024)
    assert archive.stat().st_size < 100_000
    with pytest.raises(InputError, match="more than 4 MiB once decompressed") as info:
        BundleCapture(archive)
    assert "\n" not in str(info.value)


def test_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_mod, "MAX_BUNDLE_MEMBERS", 5)
    files = {**FILES, **{f"files/etc/init.d/s{i}": b"x" for i in range(10)}}
    with pytest.raises(InputError, match="more than 5 members"):
        BundleCapture(write_tar(tmp_path / "b.tar", files))


def test_links_devices_and_fifos_in_an_archive_are_never_followed(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "b.tar", FILES)
    with tarfile.open(archive, "a") as tar:
        for name, kind in (
            ("files/kernel/drv/amd64/vmxnet3s", tarfile.SYMTYPE),
            ("files/usr/bin/vmware-config-tools.pl", tarfile.LNKTYPE),
            ("files/kernel/drv/vmxnet3s.conf", tarfile.FIFOTYPE),
            ("files/etc/system", tarfile.CHRTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/shadow" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            tar.addfile(info)
    cap = BundleCapture(archive)
    got = {
        path: cap.read_file_checked(path).status
        for path in ("/kernel/drv/amd64/vmxnet3s", "/usr/bin/vmware-config-tools.pl",
                     "/kernel/drv/vmxnet3s.conf", "/etc/system")
    }  # fmt: skip
    assert got == {
        "/kernel/drv/amd64/vmxnet3s": ReadStatus.SYMLINK,
        "/usr/bin/vmware-config-tools.pl": ReadStatus.SYMLINK,
        "/kernel/drv/vmxnet3s.conf": ReadStatus.NOT_REGULAR,
        "/etc/system": ReadStatus.NOT_REGULAR,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tar"]  # nothing extracted


def test_xz_bundle_is_refused_with_one_line(tmp_path: Path) -> None:
    import lzma

    plain = write_tar(tmp_path / "b.tar", FILES).read_bytes()
    xz = tmp_path / "b.tar.xz"
    xz.write_bytes(lzma.compress(plain))
    with pytest.raises(InputError, match="xz-compressed bundles are not read"):
        BundleCapture(xz)


# --- the bundle path itself -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifo_or_device_as_the_bundle(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        path = tmp_path / "bundle.tar"
        os.mkfifo(path)
        expected = "is a FIFO, not a regular file"
    else:
        path = Path(os.devnull)
        expected = "is a character device, not a regular file"
    code, out, err = run_cli("verify", "--bundle", str(path))
    assert code == 3
    assert err == f"toolsfix: error: {path}: {expected}\n"
    assert out == ""


def test_interrupted_linux_bundle_is_not_asked_for_solaris_drivers(tmp_path: Path) -> None:
    """Nothing of /kernel/drv is expected on Linux: an unfinished Linux bundle is still
    evaluated, with the interruption named."""
    src = SAMPLES / "bundles" / "linux-router-lro"
    bundle = tmp_path / "b"
    shutil.copytree(src, bundle)
    manifest = bundle / "manifest.txt"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(x for x in lines if not x.startswith("finished=")) + "\n")
    complete = verify(bundle=src, options=OPTIONS).to_dict()
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    assert ids(doc) == sorted([*ids(complete), "TF500"])


def test_blocked_and_interrupted_says_both(tmp_path: Path) -> None:
    def keep(line: str) -> bool:
        return not line.startswith("finished=")

    bundle = cut(tmp_path / "b", keep)
    manifest = bundle / "manifest.txt"
    manifest.write_text(manifest.read_text() + "unreadable /usr/bin/vmware-config-tools.pl\n")
    (bundle / "files/usr/bin/vmware-config-tools.pl").unlink()
    with pytest.raises(InputError) as info:
        verify(bundle=bundle, options=OPTIONS)
    message = str(info.value)
    assert (
        "/usr/bin/vmware-config-tools.pl (the collector could not read it on the guest)" in message
    )
    assert message.endswith("and the collection was interrupted (no finished= line)")
