"""Static checks of the pipeline examples under integrations/ (what can be checked off-line).

- Every YAML file parses and passes yamllint (relaxed, integrations/.yamllint).
- The CI examples validate against the GitHub Actions workflow and GitLab CI schemas that
  check-jsonschema ships (no network).
- The Packer templates parse (python-hcl2) and, where packer is installed, pass
  ``packer validate`` and ``packer fmt -check``.
- Every ``toolsfix`` command line in those files is parsed by the real CLI, so an option that
  does not exist, or a severity that is not one, fails here rather than in someone's pipeline.

Each checker also gets one broken input, to show that it can fail.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest

from toolsfix.cli import cli

REPO = Path(__file__).resolve().parent.parent
INTEGRATIONS = REPO / "integrations"
YAMLLINT_CONFIG = INTEGRATIONS / ".yamllint"
GITHUB = INTEGRATIONS / "ci" / "github-actions.yml"
GITLAB = INTEGRATIONS / "ci" / "gitlab-ci.yml"
PACKER_VERIFY = INTEGRATIONS / "packer" / "toolsfix-verify.pkr.hcl"
PACKER_COLLECTOR = INTEGRATIONS / "packer" / "toolsfix-collector.pkr.hcl"
SHELL_STOP = {"||", "&&", ";", "|", ">", ">>", "<", "2>", "&"}


def yaml_files() -> list[Path]:
    return sorted(p for p in INTEGRATIONS.rglob("*") if p.suffix in (".yml", ".yaml"))


# --- the toolsfix command lines ---------------------------------------------------------


def toolsfix_argvs(script: str, variables: Mapping[str, str]) -> Iterator[list[str]]:
    """argv (after the program) of each ``toolsfix`` invocation in a shell snippet.

    Variables are expanded from ``variables``; the command ends at the first shell operator.
    ``python3 x.pyz ...`` counts as toolsfix too.
    """
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        expanded = re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), m.group(0)),
            line,
        )  # fmt: skip
        lexer = shlex.shlex(expanded, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        words = list(lexer)
        for i, word in enumerate(words):
            pyz = word.endswith("toolsfix.pyz") and i > 0 and "python" in words[i - 1]
            if word != "toolsfix" and not pyz:
                continue
            argv: list[str] = []
            for w in words[i + 1 :]:
                if w in SHELL_STOP:
                    break
                argv.append(w)
            if argv and not argv[0].startswith("-"):
                yield argv
            break


def parse_with_cli(argv: list[str]) -> click.Context:
    """Parse ``argv`` as the real CLI would (options, choices, arity), without running it."""
    name, rest = argv[0], argv[1:]
    group_ctx = click.Context(cli, info_name="toolsfix")
    command = cli.get_command(group_ctx, name)
    if command is None:
        raise click.UsageError(f"no such command {name!r}")
    return command.make_context(name, list(rest), parent=group_ctx)


def test_parse_with_cli_rejects_what_the_cli_rejects() -> None:
    ctx = parse_with_cli(["verify", "--root", "r", "--fail-on", "high", "-o", "junit:j.xml"])
    assert ctx.params["fail_on"] == "high"
    for bad in (["verify", "--no-such-option"], ["verify", "--fail-on", "severe"],
                ["no-such-command"]):  # fmt: skip
        with pytest.raises(click.UsageError):
            parse_with_cli(bad)


def test_toolsfix_argvs_finds_commands_and_stops_at_shell_operators() -> None:
    found = list(
        toolsfix_argvs(
            'rc=0\ntoolsfix verify --root "$R" -o junit:x.xml || rc=$?\n'
            "python3 /var/tmp/toolsfix.pyz scan \\\n  d.tar.gz > out.txt\necho toolsfix\n",
            {"R": "image root"},
        )
    )
    assert found == [
        ["verify", "--root", "image root", "-o", "junit:x.xml"],
        ["scan", "d.tar.gz"],
    ]


# --- YAML -------------------------------------------------------------------------------


def test_there_are_yaml_files_to_check() -> None:
    names = {p.name for p in yaml_files()}
    assert {"github-actions.yml", "gitlab-ci.yml", "toolsfix-fleet.yml", "main.yml"} <= names


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(INTEGRATIONS)))
def test_yaml_parses_and_passes_yamllint(path: Path) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[dev]')")
    linter = pytest.importorskip("yamllint.linter", reason="yamllint is not installed")
    from yamllint.config import YamlLintConfig

    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text) is not None
    config = YamlLintConfig(file=str(YAMLLINT_CONFIG))
    problems = [f"{p.line}:{p.column} {p.rule} {p.message}" for p in linter.run(text, config)]
    assert problems == []


def test_yamllint_config_catches_a_broken_file() -> None:
    linter = pytest.importorskip("yamllint.linter", reason="yamllint is not installed")
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(file=str(YAMLLINT_CONFIG))
    broken = "jobs:\n  a: 1\n  a: 2\nkey: [unclosed\n"
    rules = {p.rule for p in linter.run(broken, config)}
    assert "key-duplicates" in rules
    assert None in rules  # the syntax error


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)],
    ids=["github", "gitlab"],
)
def test_ci_examples_match_their_platform_schema(schema: str, path: Path) -> None:
    proc = _check_jsonschema(schema, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitlab_schema_check_catches_an_unquoted_colon(tmp_path: Path) -> None:
    # `- echo "a: b"` is a mapping in YAML, not a script line: a classic GitLab CI mistake.
    broken = tmp_path / "gitlab-ci.yml"
    broken.write_text('job:\n  script:\n    - echo "toolsfix: done"\n')
    proc = _check_jsonschema("vendor.gitlab-ci", broken)
    assert proc.returncode == 1


def _github_steps() -> tuple[dict[str, str], list[dict[str, Any]]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    doc = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    job = doc["jobs"]["toolsfix"]
    return {k: str(v) for k, v in job["env"].items()}, job["steps"]


def test_github_example_runs_verify_and_audit_and_publishes_reports() -> None:
    env, steps = _github_steps()
    argvs = [a for s in steps if "run" in s for a in toolsfix_argvs(s["run"], env)]
    assert {a[0] for a in argvs} == {"verify", "audit"}
    for argv in argvs:
        parse_with_cli(argv)
    outputs = [a[i + 1] for a in argvs for i, w in enumerate(a) if w == "-o"]
    assert {o.split(":")[0] for o in outputs} >= {"sarif", "junit"}
    uses = [s for s in steps if "uses" in s]
    sarif_uploads = [s for s in uses if s["uses"].startswith("github/codeql-action/upload-sarif")]
    uploaded = {s["with"]["sarif_file"] for s in sarif_uploads}
    assert uploaded == {o.split(":", 1)[1] for o in outputs if o.startswith("sarif:")}
    assert all(s["if"].startswith("always()") for s in sarif_uploads)
    # The job fails only after the reports are uploaded.
    names = [s.get("name", "") for s in steps]
    assert names.index("Fail on findings") == len(steps) - 1


def test_gitlab_example_runs_verify_and_audit_and_keeps_reports() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["toolsfix"]
    variables = {k: str(v) for k, v in job["variables"].items()}
    argvs = [a for line in job["script"] for a in toolsfix_argvs(line, variables)]
    assert {a[0] for a in argvs} == {"verify", "audit"}
    for argv in argvs:
        parse_with_cli(argv)
    junit = {a[i + 1].split(":", 1)[1] for a in argvs for i, w in enumerate(a)
             if w == "-o" and a[i + 1].startswith("junit:")}  # fmt: skip
    assert set(job["artifacts"]["reports"]["junit"]) == junit
    assert job["artifacts"]["when"] == "always"


# --- Packer -----------------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes; strip them so values compare as Packer sees them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _hcl(path: Path) -> dict[str, Any]:
    hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is not installed")
    with path.open(encoding="utf-8") as handle:
        doc: dict[str, Any] = hcl2.load(handle)
    return doc


def _defaults(doc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for block in doc["variable"]:
        for name, body in block.items():
            out[f"var.{_unquote(name)}"] = str(_unquote(body.get("default", "")))
    return out


def _provisioners(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    (build,) = doc["build"]
    return [(_unquote(kind), body) for p in build["provisioner"] for kind, body in p.items()]


def _inline(body: dict[str, Any], defaults: dict[str, str]) -> list[str]:
    lines = [str(_unquote(x)) for x in body.get("inline", [])]
    return [re.sub(r"\$\{(var\.[a-z_]+)\}", lambda m: defaults[m.group(1)], x) for x in lines]


def test_packer_live_template_verifies_downloads_reports_then_fails_the_build() -> None:
    doc = _hcl(PACKER_VERIFY)
    defaults = _defaults(doc)
    steps = _provisioners(doc)
    kinds = [k for k, _ in steps]
    assert kinds == ["shell-local", "file", "shell", "file", "file", "shell"]
    verify_lines = _inline(steps[2][1], defaults)
    (argv,) = [a for line in verify_lines for a in toolsfix_argvs(line, {})]
    ctx = parse_with_cli(argv)
    assert ctx.params["live"] is True
    assert ctx.params["fail_on"] == "high"
    written = dict(argv[i + 1].split(":", 1) for i, w in enumerate(argv) if w == "-o")
    assert set(written) == {"junit", "sarif"}
    # The verify step records the exit code instead of failing before the downloads...
    assert any(line.endswith("|| rc=$?") for line in verify_lines)
    downloads = {str(_unquote(b["source"])).replace("${var.guest_tmp}", defaults["var.guest_tmp"])
                 for k, b in steps[3:5]}  # fmt: skip
    assert downloads == set(written.values())
    assert all(_unquote(b["direction"]) == "download" for _, b in steps[3:5])
    # ...and the last step exits with it, which is what fails the Packer build.
    assert _inline(steps[5][1], defaults)[-1] == "exit $rc"


def test_packer_collector_template_verifies_the_bundle_on_the_packer_host() -> None:
    doc = _hcl(PACKER_COLLECTOR)
    defaults = _defaults(doc)
    steps = _provisioners(doc)
    assert steps[0][0] == "shell-local" and steps[-1][0] == "shell-local"
    first = [a for line in _inline(steps[0][1], defaults) for a in toolsfix_argvs(line, {})]
    last = [a for line in _inline(steps[-1][1], defaults) for a in toolsfix_argvs(line, {})]
    assert [a[0] for a in first] == ["collector"]
    (verify,) = last
    ctx = parse_with_cli(verify)
    assert str(ctx.params["bundle"]).endswith("bundle.tar.gz")
    guest = " ".join(_inline(steps[2][1], defaults))
    assert "-a /var/tmp/toolsfix-bundle" in guest and "gzip -f" in guest


def _packer() -> str:
    packer = shutil.which("packer")
    if packer is None:
        pytest.skip("packer is not installed (.ci/run installs Debian's packer)")
    return packer


def _run_packer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No update check: Packer would otherwise try to reach its vendor's servers.
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "PACKER_CONFIG_DIR": str(cwd)}
    return subprocess.run([_packer(), *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env)  # fmt: skip


@pytest.mark.parametrize("template", [PACKER_VERIFY, PACKER_COLLECTOR], ids=lambda p: p.name)
def test_packer_validate_and_fmt(template: Path, tmp_path: Path) -> None:
    (tmp_path / "toolsfix.pyz").write_bytes(b"placeholder: packer only checks it exists")
    copy = tmp_path / template.name
    shutil.copyfile(template, copy)
    proc = _run_packer("validate", copy.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _run_packer("fmt", "-check", copy.name, cwd=tmp_path)
    assert proc.returncode == 0, f"not in packer fmt layout: {proc.stdout}"
    proc = _run_packer("validate", "-var", "fail_on=severe", copy.name, cwd=tmp_path)
    assert proc.returncode != 0
    assert "fail_on value must be one of" in proc.stdout + proc.stderr
