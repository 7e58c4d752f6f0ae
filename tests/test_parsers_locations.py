"""parse_locations on real tar4 install journals committed to public repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolsfix.guest.parsers import InstallDB, parse_locations

DATA = Path(__file__).resolve().parent / "data" / "real-locations"
JOURNALS = ("artix.locations", "tools96.locations", "ubuntu1204-tools885.locations")


def load(name: str) -> tuple[str, InstallDB]:
    text = (DATA / name).read_text(encoding="utf-8")
    return text, parse_locations(text)


def test_ubuntu_tools885_answers_and_junk() -> None:
    _, db = load("ubuntu1204-tools885.locations")
    assert db.answer("BINDIR") == "/usr/bin"
    assert db.answer("LIBDIR") == "/usr/lib/vmware-tools"
    assert db.answer("VMXNET3_CONFED") == "no"
    assert db.answer_lines["VMXNET3_CONFED"] == 3467
    assert db.answer("RESTORE_RAMDISK_CMD") == "/usr/sbin/update-initramfs -u -k all"
    # a stray path fragment on its own line is junk, ignored like VMware's reader does
    assert db.junk_lines == (3421,)
    assert "/etc/vmware-tools/not_configured" not in db.files
    assert db.removed_files["/etc/vmware-tools/not_configured"] == 3494


def test_tools96_remove_then_readd() -> None:
    _, db = load("tools96.locations")
    pango = "/usr/lib/vmware-tools/lib32/libconf/etc/pango/pango.modules"
    assert db.files[pango] == 1407516974  # re-added after remove_file, later mtime wins
    assert db.file_lines[pango] == 3734
    assert pango not in db.removed_files
    lib = "/usr/lib/vmware-tools/lib"
    assert lib in db.files and db.files[lib] is None  # recorded without an mtime
    assert db.file_lines[lib] == 3750
    assert db.junk_lines == (3731,)
    assert len(db.files) == 2973


def test_artix_overridden_answers_and_config() -> None:
    _, db = load("artix.locations")
    assert db.answer("OPEN_VM_COMPAT") == "no"
    assert db.answer_lines["OPEN_VM_COMPAT"] == 9  # remove_answer at 8, re-answered at 9
    assert db.answer_lines["ENABLE_VGAUTH"] == 2121
    assert db.config == {"/etc/pam.d/vmtoolsd": 2086}
    assert db.junk_lines == ()
    assert db.answer("ROOT_ACCESS_METHOD") == "sudo"


@pytest.mark.parametrize("name", JOURNALS)
def test_last_record_wins_for_every_path(name: str) -> None:
    """Independent oracle: for each path the *last* file/remove_file line decides."""
    text, db = load(name)
    last: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("file", "remove_file"):
            last[parts[1]] = (parts[0], number)
    live = {path for path, (kind, _) in last.items() if kind == "file"}
    assert set(db.files) == live
    for path in live:
        assert db.file_lines[path] == last[path][1]
    assert db.record_count + len(db.junk_lines) == sum(1 for ln in text.splitlines() if ln.strip())


@pytest.mark.parametrize("name", JOURNALS)
def test_crlf_copy_parses_the_same(name: str) -> None:
    text, db = load(name)
    crlf = parse_locations(text.replace("\n", "\r\n"))
    assert crlf.files == db.files
    assert crlf.answers == db.answers
