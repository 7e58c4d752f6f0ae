"""``verify`` never passes what it could not read (image roots and collector bundles).

Each case starts from a SYNTHETIC sample that verifies cleanly (or with known findings) and
makes one input unreadable. Root reads every file, so unreadability is made in ways that hold
for root too (a FIFO, a directory or an oversize sparse file where a file is expected, a
symlink loop), and the mode-000 cases run in a child that dropped root (tests/unprivileged.py),
plus once directly when the suite is not root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from samplelib import SAMPLES
from test_cli import run as run_cli
from test_verify_golden import _roots_module
from unprivileged import is_root, public_tmpdir, run_unprivileged

from toolsfix.checks.guest import CONF_CHECKS, SCRIPT_CHECKS
from toolsfix.errors import ExitCode, InputError
from toolsfix.guest.root import RootCapture
from toolsfix.safeio import MAX_FILE_BYTES, ReadStatus
from toolsfix.verify import VerifyOptions, verify

OPTIONS = VerifyOptions(execute=False)
CFG = "usr/bin/vmware-config-tools.pl"
DRV32 = "kernel/drv/vmxnet3s"
DRV64 = "kernel/drv/amd64/vmxnet3s"
CONF = "kernel/drv/vmxnet3s.conf"
DB = "etc/vmware-tools/locations"
BUNDLE = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A FIFO must never block a run: fail the test instead of hanging the suite."""

    def _timeout(_sig: int, _frame: Any) -> None:
        raise TimeoutError("verify blocked (a FIFO or device was opened for reading?)")

    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def copy_root(name: str, dest: Path) -> Path:
    root: Path = _roots_module().copy_root(name, dest)
    return root


def make_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def make_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


def make_oversize(path: Path) -> None:
    """A sparse file one byte over the read cap: costs no disk, must be refused by size."""
    path.unlink()
    with path.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)


def make_loop(path: Path) -> None:
    path.unlink()
    os.symlink(path.name, path)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "fifo": make_fifo,
    "directory": make_dir,
    "oversize": make_oversize,
    "symlink-loop": make_loop,
}


def not_evaluable(call: Callable[[], object]) -> str:
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert info.value.exit_code == ExitCode.INPUT
    assert "\n" not in message
    return message


# --- the core questions: which build, which configurator state --------------------------------


def test_the_undamaged_sample_passes(tmp_path: Path) -> None:
    """The control: every case below damages a root that verifies with no finding."""
    doc = verify(root=copy_root("sol11.1-correct", tmp_path / "r"), options=OPTIONS).to_dict()
    assert doc["findings"] == []
    assert doc["unreadable"] == {}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("rel", [CFG, DRV32, DRV64])
def test_unreadable_core_file_is_not_evaluable(rel: str, damage: str, tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    DAMAGE[damage](root / rel)
    message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    assert "not evaluable" in message
    assert f"/{rel} (" in message  # names what could not be read, with the reason


def test_reasons_say_what_the_file_is(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    make_fifo(root / CFG)
    make_dir(root / DRV32)
    make_oversize(root / DRV64)
    message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    assert "special file" in message and "directory" in message and "larger than" in message


def test_capture_statuses_for_each_kind_of_damage(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    for damage, rel in zip(sorted(DAMAGE), (CFG, DRV32, DRV64, CONF)):
        DAMAGE[damage](root / rel)
    cap = RootCapture(root)
    assert cap.read_file_checked(f"/{DRV32}").status is ReadStatus.NOT_REGULAR  # directory
    assert cap.read_file_checked(f"/{CFG}").status is ReadStatus.NOT_REGULAR  # fifo
    assert cap.read_file_checked(f"/{DRV64}").status is ReadStatus.TOO_LARGE
    assert cap.read_file_checked(f"/{CONF}").status is ReadStatus.UNREADABLE  # loop
    assert cap.read_file_checked("/kernel/drv/none").status is ReadStatus.ABSENT


@pytest.fixture(scope="module")
def warmed() -> None:
    """Import everything verify loads lazily before a child drops root (it may not read the
    interpreter's own files as nobody)."""
    with public_tmpdir() as base:
        verify(root=copy_root("sol11.1-correct", base / "r"), options=OPTIONS)


@pytest.mark.usefixtures("warmed")
@pytest.mark.parametrize("rel", [CFG, "kernel/drv", "kernel/drv/amd64", DRV64])
def test_mode_000_is_not_evaluable(rel: str) -> None:
    """The reported defect: mode 000 on the configurator or kernel/drv passed with exit 0."""
    with public_tmpdir() as base:
        root = copy_root("sol11.1-correct", base / "r")
        (root / rel).chmod(0)
        message = not_evaluable(
            lambda: run_unprivileged(lambda: verify(root=root, options=OPTIONS))
        )
    assert "not evaluable" in message
    assert "Permission denied" in message


@pytest.mark.skipif(is_root(), reason="root reads mode-000 files; covered via a dropped uid above")
def test_mode_000_as_a_normal_user(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    (root / CFG).chmod(0)
    (root / "kernel/drv").chmod(0)
    try:
        message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    finally:
        (root / "kernel/drv").chmod(0o755)
    assert f"/{CFG}" in message and f"/{DRV32}" in message


@pytest.mark.usefixtures("warmed")
def test_mode_000_listing_is_unreadable_not_empty() -> None:
    with public_tmpdir() as base:
        root = copy_root("sol11.1-correct", base / "r")
        (root / "kernel/drv/amd64").chmod(0)

        def statuses() -> tuple[str, str]:
            cap = RootCapture(root)
            listing = cap.list_dir_checked("/kernel/drv/amd64")
            read = cap.read_file_checked(f"/{DRV64}")
            return listing.status.value, read.status.value

        assert run_unprivileged(statuses) == ("unreadable", "unreadable")


# --- too little to decide --------------------------------------------------------------------


@pytest.mark.parametrize("with_release", [False, True])
def test_only_an_install_journal_is_not_evaluable(with_release: bool, tmp_path: Path) -> None:
    full = copy_root("sol11.1-buggy", tmp_path / "full")
    root = tmp_path / "journal-only"
    (root / "etc/vmware-tools").mkdir(parents=True)
    shutil.copy2(full / DB, root / DB)
    if with_release:
        shutil.copy2(full / "etc/release", root / "etc/release")
    message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    assert "too little to decide" in message and "/etc/vmware-tools/locations" in message


def test_journal_only_via_the_cli_exits_3(tmp_path: Path) -> None:
    full = copy_root("sol11.1-buggy", tmp_path / "full")
    root = tmp_path / "journal-only"
    (root / "etc/vmware-tools").mkdir(parents=True)
    shutil.copy2(full / DB, root / DB)
    code, out, err = run_cli("verify", "--root", str(root), "--no-exec")
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and "too little to decide" in err


# --- other inputs: their checks are not evaluated, never passed ----------------------------


def test_unreadable_conf_makes_its_checks_not_evaluated(tmp_path: Path) -> None:
    """sol11.1-correct passes only because its conf sets EnableLSO=0: unread, that is unknown."""
    root = copy_root("sol11.1-correct", tmp_path / "r")
    make_fifo(root / CONF)
    doc = verify(root=root, options=OPTIONS).to_dict()
    assert doc["findings"] == []
    skipped = {s["check"]: s["reason"] for s in doc["skipped"] if CONF in s["reason"]}
    assert set(CONF_CHECKS) | {"TF206"} <= set(skipped)
    assert doc["unreadable"] == {f"/{CONF}": "is a special file, not a regular file"}


def test_findings_resting_on_the_unread_conf_are_demoted(tmp_path: Path) -> None:
    full = verify(root=copy_root("sol11.1-buggy", tmp_path / "a"), options=OPTIONS).to_dict()
    assert "TF300" in {f["id"] for f in full["findings"]}  # LSO on, read from the conf
    root = copy_root("sol11.1-buggy", tmp_path / "b")
    make_dir(root / CONF)
    doc = verify(root=root, options=OPTIONS).to_dict()
    ids = {f["id"] for f in doc["findings"]}
    assert "TF300" not in ids
    assert {"TF100", "TF200"} <= ids  # what does not rest on the conf is still reported
    assert any(s["check"] == "TF300" and CONF in s["reason"] for s in doc["skipped"])


def test_unreadable_install_database_is_not_an_orphan(tmp_path: Path) -> None:
    """Drivers with an unreadable journal are not "installed without a journal" (TF208)."""
    root = copy_root("sol11.1-buggy", tmp_path / "r")
    make_dir(root / DB)
    doc = verify(root=root, options=OPTIONS).to_dict()
    assert "orphaned-driver" not in {f["category"] for f in doc["findings"]}
    skipped = {(s["check"], s["outcome"]) for s in doc["skipped"] if DB in s["reason"]}
    assert {("TF204", "not-evaluated"), ("TF208", "not-evaluated")} <= skipped


def test_unreadable_install_database_and_no_configurator_at_the_default(tmp_path: Path) -> None:
    root = copy_root("sol11.1-buggy", tmp_path / "r")
    make_oversize(root / DB)
    (root / CFG).unlink()
    message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    assert f"/{DB}" in message and "no configurator" in message


def test_unreadable_other_driver_is_skipped_not_missing(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    make_fifo(root / "kernel/drv/amd64/vmmemctl")
    doc = verify(root=root, options=OPTIONS).to_dict()
    assert doc["findings"] == []  # not "driver-missing" (TF207)
    reasons = {s["check"] for s in doc["skipped"] if "amd64/vmmemctl" in s["reason"]}
    assert {"TF200", "TF207"} <= reasons
    entry = next(d for d in doc["drivers"] if d["path"] == "/kernel/drv/amd64/vmmemctl")
    assert not entry["present"] and "special file" in entry["unreadable"]


def test_unreadable_release_is_not_evaluable(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    target = (root / "etc/release").resolve()  # the image's own link target
    make_dir(target)
    message = not_evaluable(lambda: verify(root=root, options=OPTIONS))
    assert "/etc/release" in message and "release is unknown" in message


def test_unreadable_boot_script_is_not_a_scanned_one(tmp_path: Path) -> None:
    """A script that cannot be read may hold the setting that matters: the checks reading boot
    scripts say so (not evaluated) instead of passing; a subdirectory there is no script."""
    root = copy_root("sol11.1-buggy", tmp_path / "b")
    make_oversize(root / "lib/svc/method/site-net-tune")
    (root / "lib/svc/method/a-subdirectory").mkdir()
    doc = verify(root=root, options=OPTIONS).to_dict()
    assert list(doc["unreadable"]) == ["/lib/svc/method/site-net-tune"]
    found = {f["id"] for f in doc["findings"]}
    unread = {
        s["check"] for s in doc["skipped"] if "site-net-tune could not be read" in s["reason"]
    }
    assert set(SCRIPT_CHECKS) <= found | unread  # each one either found something or says why not
    assert {"TF301", "TF311"} <= unread


# --- bundles ---------------------------------------------------------------------------------


def copy_bundle(dest: Path, edit: Callable[[list[str]], list[str]] = lambda x: x) -> Path:
    shutil.copytree(BUNDLE, dest)
    manifest = dest / "manifest.txt"
    manifest.write_text("\n".join(edit(manifest.read_text().splitlines())) + "\n")
    return dest


def test_bundle_control_has_no_unreadable_input(tmp_path: Path) -> None:
    doc = verify(bundle=copy_bundle(tmp_path / "b"), options=OPTIONS).to_dict()
    assert doc["unreadable"] == {} and doc["findings"]


def test_bundle_configurator_the_collector_could_not_read(tmp_path: Path) -> None:
    def edit(lines: list[str]) -> list[str]:
        at = lines.index("bindir=/usr/bin")
        return [*lines[: at + 1], f"unreadable /{CFG}", *lines[at + 1 :]]

    bundle = copy_bundle(tmp_path / "b", edit)
    (bundle / "files" / CFG).unlink()
    message = not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert f"/{CFG} (the collector could not read it on the guest)" in message


def test_bundle_driver_directory_the_collector_could_not_list(tmp_path: Path) -> None:
    bundle = copy_bundle(
        tmp_path / "b",
        lambda ls: [x.replace("listing 0 /kernel/drv", "listing 2 /kernel/drv") for x in ls],
    )
    shutil.rmtree(bundle / "files/kernel/drv")
    message = not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert "could not list /kernel/drv" in message and f"/{DRV32}" in message


@pytest.mark.parametrize("damage", ["fifo", "directory", "oversize"])
def test_bundle_member_that_is_not_a_file(damage: str, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    DAMAGE[damage](bundle / "files" / DRV64)
    message = not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert f"/{DRV64} (bundle member files/{DRV64}" in message


def test_bundle_driver_listed_on_the_guest_but_not_copied(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    (bundle / "files" / DRV32).unlink()
    message = not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert "listed in /kernel/drv" in message


def test_bundle_listing_names_a_directory_where_a_driver_belongs(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "b")
    (bundle / "files" / DRV32).unlink()
    listing = bundle / "listings/kernel/drv/ls-l.txt"
    listing.write_text(
        listing.read_text().replace(
            "-r--r--r--   1 root     sys         24984", "drwxr-xr-x   2 root     sys             2"
        )
    )
    message = not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert f"/{DRV32} (is a directory on the guest)" in message


def test_bundle_unreadable_conf_is_not_evaluated(tmp_path: Path) -> None:
    def edit(lines: list[str]) -> list[str]:
        return [*lines[:-1], f"unreadable /{CONF}", lines[-1]]

    bundle = copy_bundle(tmp_path / "b", edit)
    (bundle / "files" / CONF).unlink()
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    assert "TF300" not in {f["id"] for f in doc["findings"]}
    assert any(s["check"] == "TF300" and CONF in s["reason"] for s in doc["skipped"])
    assert "TF200" in {f["id"] for f in doc["findings"]}


# --- read-only --------------------------------------------------------------------------------


def tree_state(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every entry's mode, size, mtime and (for small regular files) content hash; special
    files are never opened."""
    out: dict[str, tuple[str, int, int, int]] = {}
    for top, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(top, name)
            st = path.lstat()
            digest = ""
            if stat.S_ISREG(st.st_mode) and st.st_size < MAX_FILE_BYTES and st.st_mode & 0o444:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (digest, st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def test_verify_writes_nothing_even_when_it_cannot_read(tmp_path: Path) -> None:
    root = copy_root("sol11.1-correct", tmp_path / "r")
    make_fifo(root / CONF)
    make_oversize(root / "lib/svc/method/site-net-tune")
    make_dir(root / DRV64)
    bundle = copy_bundle(tmp_path / "b")
    make_fifo(bundle / "files" / DRV32)
    before = tree_state(tmp_path)
    not_evaluable(lambda: verify(root=root, options=OPTIONS))
    not_evaluable(lambda: verify(bundle=bundle, options=OPTIONS))
    assert tree_state(tmp_path) == before
