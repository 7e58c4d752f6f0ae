"""Each command imports only what it runs.

Every ``toolsfix`` process starts from nothing (and, without cached bytecode, compiles each
module it imports), so a pipeline that runs ``fingerprint`` on one file at a time, or ``scan``
per distrib, pays the start-up of every module the command line pulls in. These tests run real
processes and read which modules they ended with: the group imports the module of the command
asked for only, a command imports its service only when it runs, and renderers, the policy
reader and native libraries load when the run uses them. They assert what is imported, never
how long anything takes (timings live in bench/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from samplelib import REPO, SAMPLES

from toolsfix import cli as cli_module
from toolsfix.cli import COMMANDS, cli
from toolsfix.clikit import LazyCommands
from toolsfix.clireport import SEVERITIES, policy_narrowing
from toolsfix.findings import Report, Severity
from toolsfix.report import FORMATS, Renderer, renderer, renderer_class

TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
BUNDLE = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"

# Runs the command line in-process and prints, at exit, every module the process imported.
_WRAPPER = """\
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from toolsfix.cli import main
main(sys.argv[1:])
"""

#: What the ``toolsfix`` group itself needs: the plumbing, no model, no renderer, no service.
GROUP = frozenset(
    {
        "toolsfix",
        "toolsfix.cli",
        "toolsfix.clikit",
        "toolsfix.errors",
    }
)
COMMAND_MODULES = frozenset(where.partition(":")[0] for where in COMMANDS.values())


def imported(*args: str, code: int = 0) -> tuple[set[str], str]:
    """The modules ``toolsfix ARGS`` imported (by its end), and its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    line = proc.stderr.rsplit("\nMODULES ", 1)[1]
    return set(json.loads(line)), proc.stdout


def ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "toolsfix" or m.startswith("toolsfix.")}


def under(modules: set[str], *packages: str) -> set[str]:
    """The modules that are one of ``packages`` or inside one."""
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


# --- whole processes ----------------------------------------------------------------------------


def test_version_imports_the_group_only() -> None:
    modules, out = imported("--version")
    assert "toolsfix" in out
    assert ours(modules) <= GROUP, ours(modules) - GROUP
    assert not under(modules, "lief", "xml.etree", "sqlite3")


def test_command_help_imports_that_command_and_no_service() -> None:
    modules, out = imported("scan", "--help")
    assert "Usage: toolsfix scan" in out
    options = {"toolsfix.clireport", "toolsfix.report", "toolsfix.report.base"}  # --format names
    assert ours(modules) == GROUP | {"toolsfix.cli_scan"} | options
    assert not under(modules, "lief", "isal", "xml.etree")


def test_group_help_lists_every_command_without_importing_a_service() -> None:
    modules, out = imported("--help")
    listed = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in listed.splitlines()] == sorted(COMMANDS)
    assert modules >= COMMAND_MODULES  # each command's help line comes from its own module
    services = {"toolsfix.scan", "toolsfix.verify", "toolsfix.audit", "toolsfix.identify_files"}
    assert not services & modules
    assert not under(modules, "toolsfix.guest", "toolsfix.checks", "toolsfix.findings", "lief")


def test_scan_json_imports_neither_guest_nor_fleet_nor_other_formats() -> None:
    modules, out = imported("scan", str(TARBALL), "--no-exec", "--format", "json", code=1)
    assert json.loads(out)["configurator"]["selection_bug"] == "present"
    assert "toolsfix.scan" in modules and "toolsfix.report.jsonfmt" in modules
    assert not (COMMAND_MODULES - {"toolsfix.cli_scan"}) & modules
    assert not under(modules, "toolsfix.guest", "toolsfix.audit", "toolsfix.verify")
    assert not under(modules, "toolsfix.baseline", "toolsfix.report.text")
    assert not under(modules, "toolsfix.report.junit", "toolsfix.report.sarif")
    assert not under(modules, "xml.etree", "lief")


#: What only a run of perl needs (the sandbox's process, pipes, jail directory and libc): a scan
#: that starts no perl (``--no-exec``, or a proof on record) loads none of them.
PERL_RUN = ("subprocess", "selectors", "tempfile", "random", "ctypes")
#: What no scan needs: the run's nonce and temp names come from os.urandom, the harness sources
#: are read beside the package (importlib.resources would load its readers and zipfile).
NEVER_FOR_SCAN = ("secrets", "hmac", "importlib.resources", "importlib.readers", "zipfile")


def test_scan_without_perl_loads_nothing_a_run_of_perl_needs() -> None:
    modules, out = imported("scan", str(TARBALL), "--no-exec", "--format", "json", code=1)
    assert json.loads(out)["configurator"]["execution"]["ran"] is False
    assert not under(modules, *PERL_RUN, *NEVER_FOR_SCAN)


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_scan_proof_loads_what_perl_needs_and_no_more() -> None:
    """The counterpart of the test above: the proof does load the process modules."""
    modules, out = imported("scan", str(TARBALL), "--reprove", "--format", "json", code=1)
    assert json.loads(out)["configurator"]["execution"]["source"] == "sandbox"
    assert {"subprocess", "selectors", "tempfile"} <= modules
    assert not under(modules, *NEVER_FOR_SCAN)


def test_junit_and_a_policy_load_what_they_need(tmp_path: Path) -> None:
    """The counterpart of the test above: asked for, the same modules do load."""
    waivers = tmp_path / "waivers.json"
    waivers.write_text(json.dumps([{"id": "TF100", "reason": "accepted for this test"}]))
    junit = tmp_path / "scan.xml"
    modules, out = imported(
        "scan", str(TARBALL), "--no-exec", "--format", "json",
        "-o", f"junit:{junit}", "--waivers", str(waivers), code=1,
    )  # fmt: skip
    assert {"xml.etree.ElementTree", "toolsfix.report.junit", "toolsfix.baseline"} <= modules
    assert junit.read_text().startswith("<?xml")
    assert "TF100" not in {f["id"] for f in json.loads(out)["findings"]}


def test_fingerprint_imports_no_pipeline_command(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an ELF object\n")
    modules, out = imported("fingerprint", str(text), "--format", "json", code=1)
    assert '"rung": "unknown"' in out
    assert not (COMMAND_MODULES - {"toolsfix.cli_fingerprint"}) & modules
    assert not under(modules, "toolsfix.scan", "toolsfix.verify", "toolsfix.audit")
    assert not under(modules, "toolsfix.guest", "toolsfix.checks", "toolsfix.baseline")
    assert not under(modules, "toolsfix.report.text", "xml.etree")
    assert not under(modules, "lief")  # no ELF to parse: LIEF (a large native module) stays out


def test_verify_bundle_imports_no_scan_or_fleet() -> None:
    modules, out = imported("verify", "--bundle", str(BUNDLE), "--format", "json", code=1)
    assert json.loads(out)["command"] == "verify"
    assert not (COMMAND_MODULES - {"toolsfix.cli_verify"}) & modules
    assert not under(modules, "toolsfix.scan", "toolsfix.audit", "toolsfix.baseline")
    assert not under(modules, "toolsfix.report.text", "xml.etree")
    # Every driver's bytes are known to some database: identified by hash, nothing is scored
    # (the guest's own LIBDIR builds are asked for a hash match before any is scored).
    assert "toolsfix.fingerprint_similarity" not in modules
    assert "string" not in modules  # catalog remedies are filled by str.format_map


# --- the pieces -------------------------------------------------------------------------------


def test_every_command_resolves_under_its_own_name() -> None:
    for name in COMMANDS:
        command = cli.commands[name]
        assert isinstance(command, click.Command) and command.name == name
        assert cli.get_command(click.Context(cli), name) is command
    assert cli.list_commands(click.Context(cli)) == sorted(COMMANDS)


def test_lazy_commands_import_a_module_on_lookup_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tf_lazy_probe.py").write_text(
        "import click\n\n@click.command()\ndef hello() -> None:\n    pass\n\nnot_a_command = 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tf_lazy_probe", raising=False)
    commands = LazyCommands({"hello": "tf_lazy_probe:hello", "bad": "tf_lazy_probe:not_a_command"})
    assert "hello" in commands and "nope" not in commands
    assert sorted(commands) == ["bad", "hello"] and len(commands) == 2
    assert "tf_lazy_probe" not in sys.modules  # listing names imports nothing
    hello = commands["hello"]
    assert isinstance(hello, click.Command) and hello.name == "hello"
    assert "tf_lazy_probe" in sys.modules
    assert commands.get("hello") is hello and commands.get("nope") is None
    with pytest.raises(TypeError, match="not a click command"):
        commands["bad"]
    del commands["bad"]
    commands["other"] = hello
    assert sorted(commands) == ["hello", "other"]


def test_old_names_of_the_cli_module_still_resolve() -> None:
    assert cli_module.fingerprint is cli.commands["fingerprint"]
    assert cli_module.schema_command is cli.commands["schema"]
    assert "never" in cli_module.FINGERPRINT_FAIL_ON
    assert "Exit codes" in cli_module.AUDIT_EXIT_CODES
    assert cli_module.one_line("one line") == "one line"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        cli_module.nothing_here  # noqa: B018


def test_fail_on_choices_are_the_severities() -> None:
    assert tuple(s.name.lower() for s in Severity) == SEVERITIES


def test_each_format_has_its_renderer() -> None:
    report = Report(command="scan", target="x")
    for name in FORMATS:
        cls = renderer_class(name)
        assert issubclass(cls, Renderer)
        assert renderer(name).render(report).endswith("\n")
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        renderer("yaml")


def test_no_policy_leaves_the_report_as_it_is(tmp_path: Path) -> None:
    report = Report(command="scan", target="x")
    assert policy_narrowing("scan", (None, None))(report) is report
    waivers = tmp_path / "w.json"
    waivers.write_text("[]")
    narrowed = policy_narrowing("scan", (None, waivers))(report)
    assert isinstance(narrowed, Report) and narrowed.facts.get("waived") == []


def test_the_wrapper_reports_modules_of_the_process_it_ran() -> None:
    """The helper above can fail: a module the command does import is found."""
    modules, _ = imported("collector")
    assert "toolsfix.guest.collector" in modules
