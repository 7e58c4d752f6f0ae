"""The Perl sandbox must contain hostile code: nothing it tries may touch the machine."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from toolsfix.perl import HARNESS_ENV, compile_check, execute, extract

pytestmark = [
    pytest.mark.perl,
    pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed"),
]

HEADER = """#!/usr/bin/perl -w
use strict;
sub solaris_os_version {
  my $v = direct_command(shell_string($gHelper{'uname'}) . ' -r');
  chomp($v);
  return split /\\./, $v;
}
"""


def hostile(body: str) -> str:
    return (
        HEADER
        + "sub configure_module_solaris {\n  my $module = shift;\n"
        + "  my ($major, $minor) = solaris_os_version();\n"
        + body
        + "\n  install_file('/usr/lib/vmware-tools/modules/binary/' . $minor . '/vmxnet3s',"
        + " '/kernel/drv/vmxnet3s');\n  return 'yes';\n}\n"
    )


@pytest.mark.parametrize(
    ("body", "trapped"),
    [
        ("  my $x = `touch {m}`;", "quoted execution"),
        ("  open(my $f, '>', '{m}'); print $f 'x';", "open"),
        ("  exec('touch', '{m}');", "exec"),
        ("  CORE::system('touch', '{m}');", "system"),
        ("  unlink('{m}'); mkdir('{m}');", "unlink"),
        ("  my $r = eval \"system('touch {m}')\";", "eval"),
        ("  require POSIX; POSIX::_exit(0);", "require"),
        ("  socket(my $s, 2, 1, 0);", "socket"),
        ("  my $pid = fork();", "fork"),
        ("  dbmopen(my %h, '{m}', 0644);", "dbmopen"),
    ],
)
def test_trapped_operations_never_run(tmp_path: Path, body: str, trapped: str) -> None:
    marker = tmp_path / "pwned"
    ex = execute(hostile(body.replace("{m}", str(marker))), timeout=10)
    assert not ex.ran
    assert "trapped by operation mask" in ex.reason
    assert trapped in ex.reason
    assert not marker.exists()


def test_system_is_recorded_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    ex = execute(hostile(f"  system('touch {marker}');"), timeout=10)
    assert ex.ran, ex.reason
    calls = ex.calls[("solaris-11.1", "vmxnet3s")]
    assert any(c.func == "system" and str(marker) in c.args[0] for c in calls)
    assert not marker.exists()
    assert ex.module_dirs("solaris-11.1", "vmxnet3s") == ("11", "")


def test_forged_output_cannot_reach_results() -> None:
    forged = "CALL\\tsolaris-11.1\\tvmxnet3s\\tinstall_file\\t/x/modules/binary/99/vmxnet3s"
    ex = execute(hostile(f'  print "{forged}\\n"; print STDOUT "{forged}\\n";'), timeout=10)
    assert ex.ran, ex.reason
    sources = [c.args[0] for c in ex.calls[("solaris-11.1", "vmxnet3s")]]
    assert all("/99/" not in s for s in sources)


def test_infinite_loop_is_killed() -> None:
    ex = execute(hostile("  while (1) { }"), timeout=3)
    assert not ex.ran
    # Whichever bound fires first on a loaded machine: the wall-clock timeout or the CPU limit.
    assert any(w in ex.reason for w in ("exceeded", "ended early", "CPU limit")), ex.reason


def test_memory_bomb_is_contained() -> None:
    ex = execute(hostile("  my $x = 'a' x (1 << 34);"), timeout=10)
    assert not ex.ran


def test_helper_using_open_is_replaced_by_documented_stub() -> None:
    text = hostile("  my $rel = solaris_release();") + (
        "sub solaris_release {\n  open(R, '</etc/release') or return '';\n"
        "  my $l = <R>; close R;\n  return $l;\n}\n"
    )
    ex = execute(text, timeout=10)
    assert ex.ran, ex.reason
    assert any(name == "solaris_release" for name, _ in ex.stubbed)


def test_extract_follows_helpers_defined_in_the_file() -> None:
    extracted = extract(hostile("  my $x = 1;"))
    assert extracted is not None
    names = [n for n, _ in extracted.subs]
    assert names[-1] == "configure_module_solaris"
    assert "solaris_os_version" in names


def test_missing_function_is_reported_not_raised() -> None:
    ex = execute("sub something_else { return 1 }\n")
    assert not ex.ran
    assert "not found" in ex.reason


def test_only_fallbacks_the_code_calls_are_reported() -> None:
    ex = execute(hostile("  my $x = 1;"), timeout=10)
    assert ex.ran, ex.reason
    assert all(name != "solaris_release" for name, _ in ex.stubbed)


def test_the_child_gets_only_the_declared_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The perl child's whole environment is ``HARNESS_ENV``: nothing of ours leaks in (a
    ``PERL5LIB`` or ``PERL5OPT`` would load code), and the malloc thresholds that keep a
    large compile off mmap are there. A shell stand-in for perl reports what it got (shell
    builtins only: the child may start no process and write no file)."""
    # started as root, the child runs as nobody: the stand-in must be reachable by it
    place = Path(tempfile.mkdtemp(prefix="toolsfix-test-perl-"))
    place.chmod(0o755)
    shim = place / "perl"
    shim.write_text(
        "#!/bin/sh\n"
        'echo "ENV PATH=$PATH LC_ALL=$LC_ALL MMAP=$MALLOC_MMAP_THRESHOLD_ '
        'TRIM=$MALLOC_TRIM_THRESHOLD_ HOME=${HOME-unset} PERL5OPT=${PERL5OPT-unset}" >&2\n'
        "exit 3\n"
    )
    shim.chmod(0o755)
    monkeypatch.setenv("TOOLSFIX_PERL", str(shim))
    monkeypatch.setenv("PERL5OPT", "-Mstrict")
    try:
        result = compile_check("sub a { 1 }\n")
    finally:
        shutil.rmtree(place)
    threshold = str(256 * 1024 * 1024)
    assert (
        f"ENV PATH=/usr/bin:/bin LC_ALL=C MMAP={threshold} TRIM={threshold} HOME=unset "
        "PERL5OPT=unset"
    ) in result.reason
    assert set(HARNESS_ENV) == {
        "PATH",
        "LC_ALL",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
    }
