"""The committed escape corpus (tests/adversarial/sandbox) never gets out of the sandbox.

Every case is a hostile configurator whose payload tries to create a marker file and to forge
results. Each runs twice: with the harness alone (OS confinement off, so a marker in a directory
the test process can write proves a harness escape) and with everything on (what users get).
Either way the marker must never appear, toolsfix must return a clean result (a refused run
with a one-line reason, or a completed run whose records are plain, bounded and not forged)
within a time bound, and the compile check must run none of the file's code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolsfix import perl
from toolsfix.installer import CONFIGURED_MODULES, GUESTS
from toolsfix.perl import Execution, compile_check, execute

CORPUS = Path(__file__).resolve().parent / "adversarial" / "sandbox"
CASES = sorted(CORPUS.glob("*.pl"))
TIMEOUT = 2.0  # per sandboxed run; CPU-bound payloads are killed at this limit
SLACK = 12.0  # start-up, a loaded machine, and the kill itself
FORGED = "FORGED"  # only ever built at run time by the payloads; see build.py
STUB_FUNCS = {
    "install_file", "install_dir", "db_add_answer", "db_remove_answer", "db_add_file", "system",
    "direct_command", "migrate_network_files", "undefined",
}  # fmt: skip

pytestmark = [
    pytest.mark.perl,
    pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed"),
]


def header(case: Path) -> dict[str, str]:
    """The ``# key: value`` lines the generator writes at the top of every case."""
    fields: dict[str, str] = {}
    for line in case.read_text().splitlines()[1:15]:
        m = re.match(r"# (\w+): ?(.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


def armed(case: Path, marker: Path) -> str:
    return case.read_text().replace("@@MARKER@@", str(marker))


def runs(*, execute_mode: bool) -> list[object]:
    """Every case with the harness alone (the proof); with OS confinement too, except where
    that repeats a slow kill or a compile-time refusal (execution), or tests nothing new
    (compiling a case whose attack targets execution)."""
    out: list[object] = []
    for case in CASES:
        fields = header(case)
        out.append(pytest.param(case, False, id=f"harness-only-{case.stem}"))
        if execute_mode:
            skip = fields["reason"] in ("killed", "trapped by operation mask")
        else:
            skip = fields["mode"] == "execute"
        if skip:
            continue
        out.append(pytest.param(case, True, id=f"os-confined-{case.stem}"))
    return out


@pytest.fixture(autouse=True)
def _confinement(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("os_confined") is False:
        monkeypatch.setattr(perl, "_OS_CONFINEMENT", False)


def assert_nothing_escaped(workdir: Path, marker: Path) -> None:
    assert not os.path.lexists(marker), "the payload created its marker: sandbox escape"
    assert sorted(p.name for p in workdir.iterdir()) == [], "something wrote into the test dir"


def assert_clean(ex: Execution, fields: dict[str, str]) -> None:
    """What toolsfix hands on is plain, bounded, complete and not forged."""
    assert ex.reason == ex.reason.strip() and "\n" not in ex.reason, ex.reason
    assert FORGED not in repr(ex)
    expect = fields["expect"]
    if expect == "refused":
        assert not ex.ran
        assert any(r in ex.reason for r in fields["reason"].split("|")), ex.reason
    elif expect == "ran":
        assert ex.ran, ex.reason
    if not ex.ran:
        assert ex.reason
        return
    guests = {g.name for g in GUESTS}
    for (guest, module), calls in ex.calls.items():
        assert guest in guests and module in CONFIGURED_MODULES
        assert len(calls) <= 64
        for call in calls:
            assert call.func in STUB_FUNCS, call.func
            assert len(call.args) <= 8
            assert all(len(a) <= 4096 for a in call.args)
    for guest in GUESTS:
        for module in CONFIGURED_MODULES:
            key = (guest.name, module)
            assert (key in ex.returns) != (key in ex.errors), key  # exactly one outcome each
            assert len(ex.returns.get(key, "")) <= 4096 and len(ex.errors.get(key, "")) <= 4096
            if key in ex.errors or fields["selection"] != "kept":
                continue
            minor = guest.uname_r.split(".")[1]
            src = f"/usr/lib/vmware-tools/modules/binary/{minor}/{module}"
            assert (src, f"/kernel/drv/{module}") in ex.copies(*key), key


def test_corpus_is_large_and_current() -> None:
    assert len(CASES) >= 40
    proc = subprocess.run(
        [sys.executable, str(CORPUS / "build.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    for case in CASES:
        fields = header(case)
        text = case.read_text()
        assert text.startswith("#!/usr/bin/perl") and "SYNTHETIC" in text
        assert "sub configure_module_solaris" in text and "@@MARKER@@" in text
        assert FORGED not in text  # only ever built at run time
        assert fields["mode"] in ("execute", "compile")
        assert fields["expect"] in ("ran", "refused", "any")


@pytest.mark.parametrize(("case", "os_confined"), runs(execute_mode=True))
def test_execution_contains_the_payload(case: Path, os_confined: bool, tmp_path: Path) -> None:
    fields = header(case)
    workdir = tmp_path / "w"
    workdir.mkdir()
    marker = workdir / "pwned"
    start = time.monotonic()
    ex = execute(armed(case, marker), timeout=TIMEOUT)
    assert time.monotonic() - start < TIMEOUT + SLACK
    assert_nothing_escaped(workdir, marker)
    assert_clean(ex, fields)
    if os_confined and sys.platform.startswith("linux"):
        assert any(n.startswith("network:") for n in ex.confinement), ex.confinement


@pytest.mark.parametrize(("case", "os_confined"), runs(execute_mode=False))
def test_compile_check_runs_none_of_it(case: Path, os_confined: bool, tmp_path: Path) -> None:
    fields = header(case)
    workdir = tmp_path / "w"
    workdir.mkdir()
    marker = workdir / "pwned"
    start = time.monotonic()
    check = compile_check(armed(case, marker), timeout=TIMEOUT * 3)
    assert time.monotonic() - start < TIMEOUT * 3 + SLACK
    assert_nothing_escaped(workdir, marker)
    assert check.compiles in (True, False)
    assert "\n" not in check.error and FORGED not in repr(check)
    if fields["compiles"] != "any":
        assert check.compiles is (fields["compiles"] == "yes"), check
    if check.compiles is False:
        assert check.error or check.reason


SCANNED = [c for c in CASES if re.match(r"\d+-(sig-begin-xfsz|overload-every|die-object-over|"
                                        r"destroy-global|huge-number|op-backticks|compile-begin-block)",
                                        c.name)]  # fmt: skip


@pytest.mark.parametrize("case", SCANNED, ids=[c.stem for c in SCANNED])
def test_scan_cli_end_to_end(case: Path, tmp_path: Path) -> None:
    """The user-facing path: a documented exit code and one error line, never a traceback."""
    workdir = tmp_path / "w"
    workdir.mkdir()
    marker = workdir / "pwned"
    script = tmp_path / "vmware-config-tools.pl"
    script.write_text(armed(case, marker))
    proc = subprocess.run(
        [sys.executable, "-m", "toolsfix", "scan", str(script), "--perl-timeout", str(TIMEOUT),
         "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert_nothing_escaped(workdir, marker)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert "Traceback" not in proc.stderr and FORGED not in proc.stdout + proc.stderr
    if proc.returncode == 3:
        assert len(proc.stderr.strip().splitlines()) == 1
    else:
        assert '"execution"' in proc.stdout
