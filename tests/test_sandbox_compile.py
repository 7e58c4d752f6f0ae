"""The compile check replaces ``perl -c``: same verdict on real files, none of their code run.

``perl -c`` runs BEGIN blocks and every ``use`` of the file on the host, and was skipped for
relative paths. :func:`compile_check` takes the text, disarms every compile-time execution
point (:func:`neutralise`) and compiles what is left inside the sandbox without calling it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolsfix import installer, patcher
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.perl import NEUTRAL_PREFIX, CompileCheck, compile_check, neutralise
from toolsfix.perltext import split_lines

SAMPLES = Path(__file__).resolve().parent.parent / "vendor-samples"
HAVE_PERL = shutil.which("perl") is not None
needs_perl = pytest.mark.skipif(not HAVE_PERL, reason="perl is not installed")


# --- neutralise: pure text ---------------------------------------------------------------------
def test_every_compile_time_name_is_renamed_wherever_it_is() -> None:
    text = (
        "BEGIN { 1 }\nsub BEGIN { 1 }\nsub X::BEGIN { }\nsub X'INIT { }\nUNITCHECK { }\n"
        "CHECK { }\nINIT { }\nEND { }\nsub MODIFY_CODE_ATTRIBUTES { }\n"
        "sub FETCH_SCALAR_ATTRIBUTES { }\nsub import { }\nsub unimport { }\n"
        "*CORE::GLOBAL::die = sub { };\n*CORE'GLOBAL'exit = sub { };\n"
        "my $s = 'BEGIN { } import';  # END\n"
    )
    out = neutralise(text)
    for name in ("BEGIN", "UNITCHECK", "CHECK", "INIT", "END", "import", "unimport",
                 "MODIFY_CODE_ATTRIBUTES", "FETCH_SCALAR_ATTRIBUTES", "CORE::GLOBAL",
                 "CORE'GLOBAL"):  # fmt: skip
        bare = out.replace(NEUTRAL_PREFIX + name, "")
        assert not __import__("re").search(rf"(?<![\w]){name}\b", bare), (name, out)
    assert len(split_lines(out)) == len(split_lines(text))
    # A special block becomes a plain named sub, so the text still parses.
    assert out.startswith(f"sub {NEUTRAL_PREFIX}BEGIN {{ 1 }}\nsub {NEUTRAL_PREFIX}BEGIN {{")


def test_use_statements_leave_only_inert_declarations() -> None:
    text = (
        "use strict;\nuse warnings;\nuse vars qw($x @y);\nuse POSIX qw(floor ceil);\n"
        "use constant LIMIT => 10;\nno strict 'refs';\nuse lib do {\n  system('x');\n  '.'\n};\n"
        "require Foo::Bar;\nmy $u = 'use Evil;';\n"
    )
    out = neutralise(text)
    assert "system" not in out and "Foo::Bar" not in out and "use lib" not in out
    assert "BEGIN{$^H|=0x602}" in out and "BEGIN{$^H&=~0x2}" in out
    assert "our($x,@y);" in out and "sub floor;sub ceil;" in out and "sub LIMIT(){0}" in out
    assert "'use Evil;'" in out  # inside a string: not a statement
    assert len(split_lines(out)) == len(split_lines(text))


def test_data_after_end_is_cut() -> None:
    out = neutralise("my $x = 1;\n__END__\nBEGIN { system('x') }\n")
    assert "system" not in out


# --- compile_check: against perl -c on trusted samples -----------------------------------------
@needs_perl
@pytest.mark.parametrize("script", sorted((SAMPLES / "scripts").glob("*.pl")), ids=lambda p: p.stem)
def test_same_verdict_as_perl_c_on_the_samples(script: Path) -> None:
    # The samples are our own synthetic files, so running perl -c on them is safe here.
    reference = subprocess.run(["perl", "-c", str(script)], capture_output=True, check=False)
    check = compile_check(script.read_text(), timeout=30)
    assert check.compiles is (reference.returncode == 0), (check, reference.stderr)


@needs_perl
def test_errors_carry_the_files_own_line_number() -> None:
    text = "use strict;\n\nsub f {\n  my $x = 1;\n  return $x +;\n}\n1;\n"
    check = compile_check(text, timeout=30)
    assert check.compiles is False and check.line == 5 and "syntax error" in check.error
    strict = compile_check("use strict;\nmy $a1 = 1;\n$undeclared = 2;\n", timeout=30)
    assert strict.compiles is False and strict.line == 3 and "Global symbol" in strict.error
    relaxed = "use strict;\n{\n  no strict 'vars';\n  $global = 1;\n}\n"
    assert compile_check(relaxed, timeout=30).compiles is True


@needs_perl
def test_nothing_runs_even_when_it_would_stop_perl_c() -> None:
    text = "BEGIN { die 'ran at compile time' }\nuse Does::Not::Exist;\nsub f { `true` }\n1;\n"
    assert compile_check(text, timeout=30).compiles is True


@needs_perl
def test_a_missed_use_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    # If neutralise ever misses a use, the compartment refuses to load it instead of running it.
    monkeypatch.setattr("toolsfix.perl.neutralise", lambda text: text)
    check = compile_check("use POSIX;\n1;\n", timeout=30)
    assert check.compiles is False and "require" in check.error and check.line == 1


# --- the patcher uses it, for every path form ---------------------------------------------------
@needs_perl
def test_patch_of_a_relative_path_is_compile_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl", tmp_path / "cfg.pl")
    monkeypatch.chdir(tmp_path)
    out = patcher.patch_file(Path("cfg.pl"))
    assert out.action == "patched"
    assert any(v.startswith("compile check") and "syntax OK" in v for v in out.verified)


def test_a_patched_file_that_does_not_compile_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "cfg.pl"
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl", script)
    original = script.read_bytes()
    verdicts = iter([CompileCheck(True), CompileCheck(False, "syntax error at x", 12)])
    # Before writing: the original compiles; after: the patched text does not.
    for module in list(sys.modules.values()):
        if (
            module is not None
            and module.__name__.startswith("toolsfix.")
            and (getattr(module, "compile_check", None) is compile_check)
        ):
            monkeypatch.setattr(module, "compile_check", lambda text: next(verdicts))
    with pytest.raises(ToolsfixError) as err:
        patcher.patch_file(script)
    assert err.value.exit_code == ExitCode.VERIFY_FAILED
    assert "does not compile at line 12" in str(err.value)
    assert script.read_bytes() == original
    assert installer.analyse_bytes(script.read_bytes(), path="x").selection_bug == "present"
