"""The thin command line: every failure reaches a JSON pipeline, a closed stdout ends quietly,
``fingerprint --fail-on`` decides the exit code, and help stays true to the README."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from click.testing import CliRunner
from samplelib import REPO, SAMPLES

from toolsfix import jsonschemas
from toolsfix.cli import EXIT_CODES, cli, json_requested
from toolsfix.errors import ExitCode

SCRIPT = SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"
DRIVER = SAMPLES / "distribs" / "9.2.2" / "vmware-tools-distrib/lib/modules/binary/10_64/vmxnet3s"
TAMPERED = SAMPLES / "roots" / "sol11.4-tampered" / "kernel" / "drv" / "amd64" / "vmxnet3s"


def run(*args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def error_schema() -> Any:
    """The published report schema: its error-document branch is the contract checked here."""
    return jsonschema.Draft202012Validator(jsonschemas.bundled("report"))


# --- JSON error documents --------------------------------------------------------------------


def _damaged(tmp_path: Path) -> str:
    d = tmp_path / "damaged"
    shutil.copytree(SAMPLES / "distribs" / "damaged", d)
    return str(d)


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (["scan", "{missing}"], ExitCode.INPUT, "input"),
        (["scan"], ExitCode.USAGE, "usage"),  # click's own usage error
        (["verify"], ExitCode.USAGE, "usage"),  # raised by the service
        (["verify", "--root", "{missing}"], ExitCode.INPUT, "input"),
        (["patch", "{damaged}", "--no-exec"], ExitCode.REFUSED, "refused"),
        (["patch", str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz")], 2, "usage"),
        (["fingerprint", "--db", "{missing_file}", str(DRIVER)], ExitCode.USAGE, "usage"),
        (["probe", "jumbo", "--mtu", "10", "192.0.2.1"], ExitCode.USAGE, "usage"),
    ],
)
def test_failures_print_one_line_and_a_valid_error_document(
    args: list[str], code: int, kind: str, tmp_path: Path, error_schema: Any
) -> None:
    (tmp_path / "file").write_text("x")
    values = {
        "missing": str(tmp_path / "nothing-here"),
        "damaged": _damaged(tmp_path) if "{damaged}" in args else "",
        "missing_file": str(tmp_path / "file"),
    }
    argv = [a.format(**values) for a in args]
    got, out, err = run(*argv, "--format", "json")
    assert got == code
    doc = json.loads(out)
    assert list(error_schema.iter_errors(doc)) == []
    assert doc["error"]["exit_code"] == code and doc["error"]["kind"] == kind
    assert doc["command"] == " ".join(args[:2] if args[0] == "probe" else args[:1])
    assert "Traceback" not in out + err
    if kind != "usage" or args[0] == "verify":  # click's own usage text spans lines
        assert err.count("\n") == 1 and err.startswith("toolsfix: error: ")
        assert doc["error"]["message"] in err


def test_no_error_document_without_json(tmp_path: Path) -> None:
    code, out, err = run("scan", str(tmp_path / "nothing-here"))
    assert code == ExitCode.INPUT and out == "" and err.startswith("toolsfix: error:")
    code, out, _ = run("scan", "--format", "text")
    assert code == ExitCode.USAGE and out == ""


def test_audit_errors_validate_against_the_audit_schema(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(jsonschemas.bundled("audit"))
    code, out, _ = run("audit", "--format", "json", "--from", str(tmp_path / "absent.txt"))
    assert code == ExitCode.INPUT
    assert list(validator.iter_errors(json.loads(out))) == []
    assert list(validator.iter_errors({"schema_version": "1.0"})), "a non-error needs items"


def test_jsonl_error_is_one_line() -> None:
    code, out, _ = run("audit", "--format", "jsonl")
    assert code == ExitCode.USAGE
    assert out.count("\n") == 1 and json.loads(out)["error"]["kind"] == "usage"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["scan", "x", "--format", "json"], "json"),
        (["--format=jsonl"], "jsonl"),
        (["--format", "text", "x"], None),
        (["--", "--format", "json"], None),
        (["--format"], None),
    ],
)
def test_json_requested_reads_raw_arguments(args: list[str], expected: str | None) -> None:
    assert json_requested(args) == expected


# --- closed stdout ---------------------------------------------------------------------------


def _with_closed_stdout(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run toolsfix with a stdout pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "toolsfix", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=cwd,
            check=False,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ["fingerprints", "list"],
        ["collector"],
        ["fingerprint", "--format", "json", str(DRIVER)],
    ],
)
def test_a_closed_stdout_ends_quietly_with_141(args: list[str], tmp_path: Path) -> None:
    code, err = _with_closed_stdout(args, tmp_path)
    assert code == 141
    assert err == ""


def test_report_files_are_written_even_when_stdout_closes(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    code, err = _with_closed_stdout(
        ["scan", "--no-exec", str(SCRIPT), "-o", f"json:{target}"], REPO
    )
    assert code == 141 and err == ""
    assert json.loads(target.read_text())["configurator"]["selection_bug"] == "present"


# --- fingerprint --fail-on -------------------------------------------------------------------


def test_fingerprint_fail_on_counts_unknown_and_non_elf(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a driver\n")
    assert run("fingerprint", str(DRIVER))[0] == ExitCode.OK
    code, out, _ = run("fingerprint", str(DRIVER), str(text))
    assert code == ExitCode.FINDINGS and "unknown" in out
    assert run("fingerprint", "--fail-on", "never", str(text))[0] == ExitCode.OK


def test_fingerprint_fail_on_nearest_rejects_resemblance() -> None:
    code, out, _ = run("fingerprint", "--format", "json", str(TAMPERED))
    assert json.loads(out)["results"][0]["rung"] == "nearest"
    assert code == ExitCode.OK
    assert run("fingerprint", "--fail-on", "nearest", str(TAMPERED))[0] == ExitCode.FINDINGS
    assert run("fingerprint", "--fail-on", "nearest", str(DRIVER))[0] == ExitCode.OK


def test_fingerprint_location_implies_the_expected_arch(tmp_path: Path) -> None:
    wrong = tmp_path / "kernel" / "drv" / "amd64"
    wrong.mkdir(parents=True)
    shutil.copy(DRIVER.parent.parent / "10" / "vmxnet3s", wrong / "vmxnet3s")  # 32-bit build
    doc = json.loads(
        run("fingerprint", "--format", "json", str(wrong / "vmxnet3s"), str(DRIVER))[1]
    )
    moved, in_place = doc["results"]
    assert moved["location_arch"] == "amd64" and moved["arch_mismatch"] is True
    assert in_place["location_arch"] == "amd64" and in_place["arch_mismatch"] is False


# --- help and README stay true ---------------------------------------------------------------

COMMANDS = [
    ["scan"],
    ["patch"],
    ["verify"],
    ["audit"],
    ["fingerprint"],
    ["fingerprints", "learn"],
    ["fingerprints", "list"],
    ["fingerprints", "show"],
    ["collector"],
    ["remedy"],
    ["probe", "jumbo"],
    ["schema"],
]


def example_invocations(help_text: str) -> list[list[str]]:
    """Every ``toolsfix ...`` invocation in the Examples section, up to shell operators."""
    section = help_text.split("Examples:", 1)[1].split("\n\n", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", section)  # backslash continuations
    found: list[list[str]] = []
    for line in joined.splitlines():
        words = shlex.split(line.split(" #", 1)[0], comments=False)
        while "toolsfix" in words:
            words = words[words.index("toolsfix") + 1 :]
            args: list[str] = []
            for w in words:
                if w in ("|", ";", ">", "&&", "<") or w.endswith(";"):
                    if w.endswith(";") and w != ";":
                        args.append(w[:-1])
                    break
                args.append(w)
            found.append(args)
            words = words[len(args) :]
    return found


def parses(args: list[str]) -> None:
    """Parse ``args`` as click would (options, choices, arity), running nothing."""
    command: click.Command = cli
    args = list(args)
    while isinstance(command, click.Group):
        name = args.pop(0)
        command = command.commands[name]
    command.make_context(name, args)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_help_has_examples_that_parse(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0 and "Examples:" in out
    examples = example_invocations(out)
    assert any(e[: len(command)] == command for e in examples), examples
    for example in examples:
        parses(example)


def test_readme_exit_code_table_lists_every_code_the_help_lists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| (\d+) \|", readme, flags=re.MULTILINE))
    in_help = set(re.findall(r"^\s+(\d+)\s", EXIT_CODES, flags=re.MULTILINE))
    in_help |= set(re.findall(r"; (\d+):", EXIT_CODES))
    assert in_help == table, (in_help, table)
    assert {str(int(c)) for c in ExitCode} <= table


def test_a_failure_outside_the_body_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service that cannot even be imported (a broken install) is a bug: one line, exit 3,
    and the JSON document for a pipeline; never a traceback."""
    monkeypatch.setitem(sys.modules, "toolsfix.probe", None)  # makes the import fail
    code, out, err = run("probe", "jumbo", "192.0.2.1", "--format", "json")
    assert code == ExitCode.INPUT
    assert err.startswith("toolsfix: internal error: ") and err.count("\n") == 1
    assert "toolsfix.probe" in err
    assert json.loads(out)["error"]["kind"] == "internal"
