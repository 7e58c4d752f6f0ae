"""LiveCapture: only table commands, no shell, failures as results, files read for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from unprivileged import public_tmpdir, run_unprivileged

from toolsfix.guest.capture_api import COMMANDS
from toolsfix.guest.live import LiveCapture, detect_os
from toolsfix.safeio import MAX_FILE_BYTES, ReadStatus


def _shim(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture()
def shims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only shims (plus the basics the shims need)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return bindir


def test_runs_table_command_with_c_locale_and_no_stdin(shims: Path) -> None:
    _shim(shims, "isainfo", 'echo "64 LC_ALL=$LC_ALL"; cat; echo "args=$*"\n')
    cap = LiveCapture(os_name="solaris")
    res = cap.command("isainfo_b")
    assert res is not None
    assert res.status == 0
    assert res.stdout == "64 LC_ALL=C\nargs=-b\n"  # `cat` read an empty stdin
    assert res.command == "isainfo -b"


def test_missing_binary_is_status_none(shims: Path) -> None:
    if any((Path(d) / "ipadm").exists() for d in ("/usr/bin", "/bin")):
        pytest.skip("this machine has a real ipadm")
    res = LiveCapture(os_name="solaris").command("ipadm_show_prop_tcp")
    assert res is not None
    assert res.status is None and not res.ok
    assert "not found" in res.stderr


def test_non_executable_is_status_none(shims: Path) -> None:
    (shims / "isainfo").write_text("echo 64\n")  # not executable
    res = LiveCapture(os_name="solaris").command("isainfo_b")
    assert res is not None and res.status is None


def test_timeout_returns_status_none(shims: Path) -> None:
    # The shim's child keeps the pipes open: the whole process group must be killed.
    _shim(shims, "modinfo", "sleep 60 &\nsleep 60\n")
    res = LiveCapture(timeout=0.5, os_name="solaris").command("modinfo")
    assert res is not None
    assert res.status is None
    assert "timed out" in res.stderr


def test_nonzero_status_is_kept(shims: Path) -> None:
    _shim(shims, "dladm", "echo \"dladm: unrecognized subcommand '$1'\" >&2; exit 1\n")
    res = LiveCapture(os_name="solaris").command("dladm_show_dev")
    assert res is not None
    assert (res.status, res.stdout) == (1, "")
    assert "show-dev" in res.stderr


def test_results_are_cached(shims: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    _shim(shims, "isainfo", f'echo x >> "{counter}"; echo 64\n')
    cap = LiveCapture(os_name="solaris")
    first = cap.command("isainfo_b")
    second = cap.command("isainfo_b")
    assert first is second
    assert counter.read_text() == "x\n"


def test_never_runs_anything_outside_the_table(shims: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for name in ("ethtool", "isainfo", "touch"):
        _shim(shims, name, f'echo "$*" >> "{marker}"\n')
    cap = LiveCapture(os_name="linux", interfaces=["eth0"])
    assert cap.command("touch") is None
    assert cap.command("isainfo_b") is None  # Solaris row on a Linux guest
    assert cap.command("ethtool_k") is None  # per-interface key without an interface
    assert cap.command("ethtool_k:eth9") is None  # not an interface of this machine
    assert cap.command("ethtool_k:eth0 -s eth0 mtu 9000") is None
    assert cap.command("uname_a:eth0") is None  # plain command with an interface suffix
    assert not marker.exists()
    res = cap.command("ethtool_k:eth0")
    assert res is not None and res.command == "ethtool -k eth0"
    assert marker.read_text() == "-k eth0\n"


def test_interface_names_are_single_arguments(shims: Path, tmp_path: Path) -> None:
    _shim(shims, "ethtool", 'echo "$#:$2"\n')
    cap = LiveCapture(os_name="linux", interfaces=["odd name;x"])
    res = cap.command("ethtool_i:odd name;x")
    assert res is not None and res.stdout == "2:odd name;x\n"


def test_keys_expand_interfaces() -> None:
    cap = LiveCapture(os_name="linux", interfaces=["eth0", "lo"])
    keys = cap.keys()
    assert "ethtool_k:eth0" in keys and "ethtool_i:lo" in keys
    assert "uname_a" in keys and "isainfo_b" not in keys
    solaris = LiveCapture(os_name="solaris", interfaces=["eth0"]).keys()
    assert "isainfo_b" in solaris and not any(":" in k for k in solaris)
    expected = {k for k, (_line, os_name) in COMMANDS.items() if os_name in ("any", "solaris")}
    assert set(solaris) == expected


def test_default_interfaces_from_sys_class_net() -> None:
    if not os.path.isdir("/sys/class/net"):
        pytest.skip("no /sys/class/net on this machine")
    assert LiveCapture().interfaces() == sorted(os.listdir("/sys/class/net"))


def test_detect_os_is_a_table_name() -> None:
    assert detect_os() in ("solaris", "linux", "esxi", "unknown")


def test_read_file_and_list_dir(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_bytes(b"\x00\x01data")
    os.utime(tmp_path / "d/f", (1357000000, 1357000000))
    os.mkfifo(tmp_path / "d/fifo")
    cap = LiveCapture()
    assert cap.read_file(str(tmp_path / "d/f")) == b"\x00\x01data"
    assert cap.read_file(str(tmp_path / "d/missing")) is None
    assert cap.read_file(str(tmp_path / "d")) is None
    assert cap.read_file(str(tmp_path / "d/fifo")) is None  # does not hang
    assert cap.read_file("relative/path") is None
    assert cap.list_dir(str(tmp_path / "d")) == ["f", "fifo"]
    assert cap.list_dir(str(tmp_path / "nope")) is None
    assert cap.file_mtime(str(tmp_path / "d/f")) == 1357000000
    assert cap.origin.startswith("live:")


def test_reads_proc_files_with_zero_size() -> None:
    path = "/proc/sys/net/ipv4/ip_forward"
    if not os.path.exists(path):
        pytest.skip("no procfs ip_forward here")
    data = LiveCapture().read_file(path)
    assert data is not None and data.strip() in (b"0", b"1")


def test_checked_reads_and_listings(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_bytes(b"data")
    os.mkfifo(tmp_path / "d/fifo")
    with (tmp_path / "d/huge").open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    cap = LiveCapture()
    assert cap.read_file_checked(str(tmp_path / "d/f")).data == b"data"
    assert cap.read_file_checked(str(tmp_path / "d/nope")).status is ReadStatus.ABSENT
    assert cap.read_file_checked(str(tmp_path / "d/fifo")).status is ReadStatus.NOT_REGULAR
    assert cap.read_file_checked(str(tmp_path / "d")).status is ReadStatus.NOT_REGULAR
    assert cap.read_file_checked(str(tmp_path / "d/huge")).status is ReadStatus.TOO_LARGE
    assert cap.read_file_checked("relative").status is ReadStatus.ABSENT
    assert cap.list_dir_checked(str(tmp_path / "d")).names == ("f", "fifo", "huge")
    assert cap.list_dir_checked(str(tmp_path / "nope")).status is ReadStatus.ABSENT
    assert cap.list_dir_checked(str(tmp_path / "d/f")).status is ReadStatus.NOT_REGULAR
    assert cap.file_mtime("relative") is None


def test_unlistable_directory_is_unreadable() -> None:
    with public_tmpdir() as base:
        (base / "locked").mkdir()
        (base / "locked/f").write_text("x")
        (base / "locked").chmod(0)

        def statuses() -> tuple[str, str]:
            cap = LiveCapture()
            return (
                cap.list_dir_checked(str(base / "locked")).status.value,
                cap.read_file_checked(str(base / "locked/f")).status.value,
            )

        assert run_unprivileged(statuses) == ("unreadable", "unreadable")
