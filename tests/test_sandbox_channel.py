"""The results channel and the OS layer around the Perl sandbox.

The harness proves its records with framing, a count and a per-run nonce; toolsfix must reject
anything else, read only a bounded amount, and give up on time. These tests drive toolsfix with
stand-in "perl" programs that misbehave in exactly one way each, and check the OS confinement
on its own (it must block writes and the network even for a process that ignores the harness).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolsfix import perl
from toolsfix.perl import _Invalid, _records, compile_check, execute

NEEDS_PERL = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
LINUX_ROOT = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="uid drop and network namespaces are exercised as root on Linux",
)
NONCE = "0123456789abcdef0123456789abcdef"
CONFIGURATOR = """sub configure_module_solaris {
  my $module = shift;
  install_file('/usr/lib/vmware-tools/modules/binary/11/' . $module, '/kernel/drv/' . $module);
  return 'yes';
}
"""


def frame(*fields: str) -> bytes:
    payload = "\t".join(fields).encode()
    return str(len(payload)).encode() + b":" + payload + b"\n"


# --- framing -----------------------------------------------------------------------------------
def test_records_need_the_nonce_and_the_exact_count() -> None:
    body = frame("COMPILED", "f") + frame("DONE")
    assert _records(body + frame("END", "2", NONCE), NONCE) == [["COMPILED", "f"], ["DONE"]]
    bad = [
        body + frame("END", "2", "f" * 32),  # someone else's run
        body + frame("END", "3", NONCE),  # a record went missing
        body,  # no trailer
        body + frame("END", "2", NONCE) + frame("DONE"),  # something after the trailer
        b"12:COMPILED\tf\n" + frame("END", "1", NONCE),  # length does not match
        b"COMPILED\tf\n" + frame("END", "1", NONCE),  # not framed at all
        body + frame("END", "2", NONCE)[:-1],  # cut short
    ]
    for data in bad:
        with pytest.raises(_Invalid):
            _records(data, NONCE)


# --- stand-in perls ----------------------------------------------------------------------------
@pytest.fixture()
def fake_perl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A path for a shell script that plays perl; the OS layer is off (the script would not be
    executable after the uid drop, and these tests are about what toolsfix reads back)."""
    monkeypatch.setattr(perl, "_OS_CONFINEMENT", False)
    yield tmp_path / "perl"


def script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_records_without_the_runs_nonce_are_rejected(fake_perl: Path) -> None:
    # Well-formed records and a trailer, but the nonce is not the one this run sent.
    forged = (
        frame("CALL", "solaris-11.1", "vmxnet3s", "install_file", "/x/modules/binary/99/x", "/y")
        + frame("DONE")
        + frame("END", "2", NONCE)
    ).decode()
    fake = script(fake_perl, f"cat >/dev/null; printf '%s' '{forged}'")
    ex = execute(CONFIGURATOR, perl=fake, timeout=10)
    assert not ex.ran and "output invalid" in ex.reason and not ex.calls
    check = compile_check(CONFIGURATOR, perl=fake, timeout=10)
    assert check.compiles is False and "output invalid" in check.reason


def test_output_is_read_only_up_to_the_limit(fake_perl: Path) -> None:
    fake = script(fake_perl, "cat >/dev/null; exec yes 0123456789abcdef")
    start = time.monotonic()
    ex = execute(CONFIGURATOR, perl=fake, timeout=30)
    assert time.monotonic() - start < 20
    assert not ex.ran and f"more than {perl.OUTPUT_LIMIT} bytes" in ex.reason


def test_a_flood_on_stderr_is_drained_not_kept(fake_perl: Path) -> None:
    fake = script(fake_perl, "cat >/dev/null; head -c 50000000 /dev/zero >&2; exit 3")
    start = time.monotonic()
    ex = execute(CONFIGURATOR, perl=fake, timeout=30)
    assert time.monotonic() - start < 20
    assert not ex.ran and "exit 3" in ex.reason and len(ex.reason) < 600


def test_a_hung_sandbox_is_killed_on_time(fake_perl: Path) -> None:
    fake = script(fake_perl, "exec sleep 60")
    start = time.monotonic()
    ex = execute(CONFIGURATOR, perl=fake, timeout=1)
    assert time.monotonic() - start < 8
    assert not ex.ran and "exceeded 1s" in ex.reason


def test_a_perl_that_cannot_start_is_a_reason_not_an_exception(tmp_path: Path) -> None:
    ex = execute(CONFIGURATOR, perl=str(tmp_path / "no-such-perl"), timeout=5)
    assert not ex.ran and ex.reason.startswith("cannot run perl")
    check = compile_check(CONFIGURATOR, perl=str(tmp_path / "no-such-perl"), timeout=5)
    assert check.compiles is False and check.reason.startswith("cannot run perl")


def test_no_perl_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perl, "find_perl", lambda: None)
    assert compile_check(CONFIGURATOR).compiles is None
    assert "perl not found" in execute(CONFIGURATOR).reason


# --- the OS layer on its own -------------------------------------------------------------------
@pytest.fixture()
def public_dir() -> Iterator[Path]:
    """A world-writable directory: only the OS layer (not file modes) can keep writes out."""
    path = Path(tempfile.mkdtemp(prefix="toolsfix-oslayer-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def intruder(public: Path, port: int) -> str:
    """A "perl" that ignores the harness and tries to write, connect and fork; it reports what
    worked on its last stderr line, which toolsfix quotes in the reason. Only shell builtins
    before the final exec: with forking refused, bash would retry a fork for seconds."""
    path = public / "perl"
    report = (
        "my $p = fork(); exit 0 if defined $p && !$p; waitpid($p, 0) if $p; "
        'print STDERR "write=$ARGV[0] net=$ARGV[1] fork=", (defined $p ? "yes" : "no"), "\\n"; '
        "exit 7"
    )
    path.write_text(
        "#!/bin/bash\n"
        "w=no; n=no\n"
        f"{{ : > {public}/written; }} 2>/dev/null && w=yes\n"
        f"{{ exec 3<>/dev/tcp/127.0.0.1/{port}; }} 2>/dev/null && n=yes\n"
        f'exec perl -e \'{report}\' "$w" "$n"\n'
    )
    path.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return str(path)


@LINUX_ROOT
@NEEDS_PERL
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for /dev/tcp")
def test_os_layer_blocks_writes_network_and_fork_for_any_program(
    public_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    fake = intruder(public_dir, server.getsockname()[1])
    with server:
        # Control: without the OS layer the same program writes, connects and forks, so this
        # test tells a working OS layer from a broken one.
        monkeypatch.setattr(perl, "_OS_CONFINEMENT", False)
        free = execute(CONFIGURATOR, perl=fake, timeout=10)
        assert "write=yes net=yes fork=yes" in free.reason, free.reason
        (public_dir / "written").unlink()
        monkeypatch.setattr(perl, "_OS_CONFINEMENT", True)
        ex = execute(CONFIGURATOR, perl=fake, timeout=10)
    notes = " | ".join(ex.confinement)
    assert "private namespace" in notes and "net=no fork=no" in ex.reason, (ex.reason, notes)
    if "landlock ABI" in notes:
        assert "write=no" in ex.reason
        assert sorted(p.name for p in public_dir.iterdir()) == ["perl"]


@LINUX_ROOT
@NEEDS_PERL
def test_the_harness_runs_unprivileged_and_says_so() -> None:
    ex = execute(CONFIGURATOR, modules=("vmxnet3s",), timeout=20)
    assert ex.ran, ex.reason
    notes = " | ".join(ex.confinement)
    dropped = re.search(r"dropped root to uid (\d+)", notes)
    reported = re.search(r"harness ran as uid (\d+) \(effective (\d+)\)", notes)
    assert dropped and reported, notes
    assert reported.group(1) == reported.group(2) == dropped.group(1) != "0"
    assert "limit cpu=20" in notes and "limit fsize=0" in notes
    assert ex.module_dirs("solaris-11.1", "vmxnet3s") == ("11", "")
