"""Command line: parse, call the core, render, exit. No domain logic lives here.

Exit codes (also in ``--help`` and the README): 0 nothing at or above ``--fail-on``;
1 findings at or above it; 2 usage error; 3 input unreadable or not evaluable;
4 a write was refused as unsafe; 5 verification after a write failed (and was rolled back).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import click

from toolsfix import __version__
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Report, Severity
from toolsfix.report import RENDERERS, renderer

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = """\b
Exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  usage error
  3  input unreadable or not evaluable
  4  write refused as unsafe (patch)
  5  verification after writing failed; change rolled back (patch)"""


@dataclass
class OutputOptions:
    """What click parsed about output; filled once, used by every reporting command."""

    fmt: str = "text"
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    fail_on: Severity = Severity.LOW


def _parse_output(values: Sequence[str]) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or not path or fmt not in RENDERERS:
            raise click.BadParameter(
                f"{v!r}: expected FORMAT:PATH with FORMAT one of {', '.join(sorted(RENDERERS))}",
                param_hint="-o/--output-file",
            )
        out.append((fmt, Path(path)))
    return out


def output_options(func: F) -> F:
    """--format, -o FORMAT:PATH (repeatable) and --fail-on, parsed into OutputOptions."""

    @click.option(
        "--format",
        "fmt",
        type=click.Choice(sorted(RENDERERS)),
        default="text",
        show_default=True,
        help="Format written to standard output.",
    )
    @click.option(
        "-o",
        "--output-file",
        "outputs",
        multiple=True,
        metavar="FORMAT:PATH",
        help="Also write FORMAT to PATH (repeatable), e.g. -o json:report.json.",
    )
    @click.option(
        "--fail-on",
        type=click.Choice([s.name.lower() for s in Severity]),
        default="low",
        show_default=True,
        help="Lowest severity that makes the exit code 1.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str, outputs: Sequence[str], fail_on: str, **kwargs: Any) -> Any:
        opts = OutputOptions(fmt, _parse_output(outputs), Severity.parse(fail_on))
        return func(*args, out=opts, **kwargs)

    return wrapper  # type: ignore[return-value]


def emit(report: Report, out: OutputOptions) -> int:
    """Render to stdout and files; return the exit code the findings call for."""
    click.echo(renderer(out.fmt).render(report), nl=False)
    for fmt, path in out.outputs:
        try:
            path.write_text(renderer(fmt).render(report), encoding="utf-8")
        except OSError as exc:
            raise ToolsfixError(
                f"{path}: cannot write report: {exc.strerror}", ExitCode.INPUT
            ) from None
    return int(ExitCode.FINDINGS if report.fails(out.fail_on) else ExitCode.OK)


def run(body: Callable[[], int]) -> None:
    """Turn every failure into one line and a documented exit code."""
    try:
        code = body()
    except ToolsfixError as exc:
        click.echo(f"toolsfix: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("toolsfix: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("TOOLSFIX_DEBUG"):
            raise
        click.echo(
            f"toolsfix: internal error: {type(exc).__name__}: {exc} "
            "(set TOOLSFIX_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(int(ExitCode.INPUT))
    sys.exit(code)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, prog_name="toolsfix")
def cli() -> None:
    """Make VMware Tools installs on Solaris guests trustworthy.

    \b
    Examples:
      toolsfix scan vmware-solaris-tools.tar.gz         # will it pick the right vmxnet3s build?
      toolsfix patch vmware-tools-distrib --dry-run     # show VMware's fix as a diff
      toolsfix verify --root /mnt/template --format json
    """


# --- scan ------------------------------------------------------------------------------------


@cli.command(epilog=EXIT_CODES)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-exec", is_flag=True, help="Do not prove the prediction by running the Perl.")
@click.option(
    "--perl-timeout",
    type=float,
    default=20.0,
    show_default=True,
    help="Seconds the sandboxed Perl run may take.",
)
@output_options
def scan(path: Path, no_exec: bool, perl_timeout: float, out: OutputOptions) -> None:
    """Check which driver builds a distrib would install on each Solaris release.

    PATH is a vmware-tools-distrib directory, a .tar.gz/.tgz/.tar, an ISO holding the
    tarball, or a single vmware-config-tools.pl. Nothing is written or extracted.

    \b
    Examples:
      toolsfix scan vendor-samples/archives/vmware-solaris-tools-9.2.2.tar.gz
      toolsfix scan solaris.iso --format json -o junit:scan.xml
      toolsfix scan bin/vmware-config-tools.pl --no-exec
    """
    from toolsfix.scan import ScanOptions
    from toolsfix.scan import scan as do_scan

    run(lambda: emit(do_scan(path, ScanOptions(not no_exec, perl_timeout)), out))


# --- patch -----------------------------------------------------------------------------------


@cli.command(epilog=EXIT_CODES)
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    help="Patch the configurator installed in this root (BINDIR from the install database).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="For a tarball or ISO: write the patched copy here (the input is never changed).",
)
@click.option("--dry-run", is_flag=True, help="Print the unified diff; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Patch unrecognised or damaged variants, or distribs without Solaris 11 builds.",
)
@click.option("--no-exec", is_flag=True, help="Skip the Perl execution and perl -c verification.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def patch(
    path: Optional[Path],
    root: Optional[Path],
    output: Optional[Path],
    dry_run: bool,
    force: bool,
    no_exec: bool,
    fmt: str,
) -> None:
    """Apply VMware's own fix ($currentMinor 10 -> 11) to a configurator, safely.

    Atomic (temp file, fsync, rename), one pristine backup (*.toolsfix-orig, never
    overwritten), mode preserved, marker left, idempotent (a second run changes nothing and
    exits 0), verified after writing by re-analysis, execution under perl and perl -c.

    \b
    Examples:
      toolsfix patch vmware-tools-distrib --dry-run
      toolsfix patch vmware-tools-distrib
      toolsfix patch vmware-solaris-tools.tar.gz --output fixed.tar.gz
      toolsfix patch --root /        # on a guest where Tools is already installed
    """
    from toolsfix.patcher import run_patch

    def body() -> int:
        outcome = run_patch(
            path, root=root, output=output, dry_run=dry_run, force=force, run_perl=not no_exec
        )
        if fmt == "json":
            click.echo(json.dumps(dataclasses.asdict(outcome), indent=2))
        else:
            click.echo(_outcome_text(outcome), nl=False)
        return int(ExitCode.OK)

    run(body)


def _outcome_text(o: Any) -> str:
    lines = [f"{o.action}: {o.target}: {o.reason}"]
    if o.patch_id:
        lines.append(f"  patch:   {o.patch_id}")
    if o.backup:
        lines.append(f"  backup:  {o.backup}")
    if o.written and o.written != o.target:
        lines.append(f"  written: {o.written}")
    lines.extend(f"  proven:  {v}" for v in o.verified)
    lines.extend(f"  note:    {n}" for n in o.notes)
    text = "\n".join(lines) + "\n"
    if o.diff and o.action == "would-patch":
        text += o.diff
    return text


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="toolsfix")
