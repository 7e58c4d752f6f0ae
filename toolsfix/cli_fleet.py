"""The ``audit`` command: many inputs, one fleet report.

Kept apart from :mod:`toolsfix.cli` because its options and help are the longest of any
command; :mod:`toolsfix.cli` registers it on the ``toolsfix`` group. Like every command it
imports its service inside its body ("lazy: start-up time").
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from toolsfix.clikit import (
    ToolsfixCommand,
    check_output_path,
    db_dirs_option,
    reprove_option,
    run,
)
from toolsfix.clireport import (
    OutputOptions,
    PolicyFiles,
    load_policy,
    output_options_for,
    policy_options,
)
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.report.fleet import FLEET_FORMATS

__all__ = ["AUDIT_EXIT_CODES", "audit"]


# --- audit -----------------------------------------------------------------------------------

AUDIT_EXIT_CODES = """\b
Exit codes:
  0    every item evaluated; nothing at or above --fail-on
  1    an item has findings at or above --fail-on, or could not be evaluated
  2    usage error (also: an invalid --baseline or --waivers file)
  3    no item could be evaluated
  130  interrupted by Ctrl-C (143: SIGTERM); the partial report was written ("partial": true)"""


@click.command(cls=ToolsfixCommand, epilog=AUDIT_EXIT_CODES)
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option(
    "--from",
    "from_files",
    multiple=True,
    metavar="FILE",
    help="Read more inputs from FILE, one path per line ('-' = stdin, '#' starts a comment).",
)
@click.option(
    "--kind",
    type=click.Choice(["auto", "bundle", "root", "distrib"]),
    default="auto",
    show_default=True,
    help="Take every input as this kind instead of detecting it.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Worker processes (0 = one per CPU, at most 8).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds one item may take; then it is stopped and reported as timeout (0 = no limit).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress line on a terminal's stderr.")
@click.option("--no-exec", is_flag=True, help="Do not run configurators' logic under Perl.")
@reprove_option
@click.option(
    "--perl-timeout",
    type=float,
    default=20.0,
    show_default=True,
    help="Seconds each sandboxed Perl run may take (distribs).",
)
@db_dirs_option
@policy_options
@output_options_for(FLEET_FORMATS)
def audit(
    inputs: tuple[str, ...],
    from_files: tuple[str, ...],
    kind: str,
    jobs: int,
    timeout: float,
    quiet: bool,
    no_exec: bool,
    reprove: bool,
    perl_timeout: float,
    db_dirs: tuple[Path, ...],
    policy_files: PolicyFiles,
    out: OutputOptions,
) -> None:
    """Audit many bundles, image roots and distribs in one run: one fleet report.

    INPUT is a collector bundle (directory or .tar/.tar.gz), an image root (etc/ plus
    kernel/ or usr/), a distrib (vmware-tools-distrib directory, tarball, ISO or lone
    configurator), a directory holding any of these, or a glob (quoted globs are expanded
    too). Each item's report is exactly what `verify --bundle`, `verify --root` or `scan`
    prints for it; an item that cannot be read, judged or finished in --timeout is reported
    with that status and never stops the run. Formats: text (worst first, what to fix
    first), json, jsonl (one line per item as it finishes, then the summary), csv, junit,
    sarif, html (one static file).

    \b
    Examples:
      toolsfix audit bundles/ --format json > fleet.json
      toolsfix audit 'bundles/*.tar.gz' /mnt/templates/* -o html:fleet.html -o junit:fleet.xml
      find /srv/bundles -name '*.tgz' | toolsfix audit --from - --jobs 4 --format jsonl
      toolsfix audit bundles/ --baseline last-week.json --waivers waivers.json --fail-on high
    """
    # lazy: start-up time
    from toolsfix.audit import AuditOptions, expand_inputs, read_input_list, run_audit
    from toolsfix.report.fleet import FleetOutputs, ProgressLine

    def body() -> int:
        names = list(inputs)
        for source in from_files:
            names.extend(read_input_list(source))
        if not names:
            raise ToolsfixError("nothing to audit: give INPUT paths or --from FILE", ExitCode.USAGE)
        for _, path in out.outputs:
            check_output_path(path, "-o")
        policy = load_policy("audit", policy_files)
        options = AuditOptions(
            jobs,
            timeout,
            out.fail_on,
            not no_exec,
            perl_timeout,
            tuple(db_dirs),
            policy,
            use_records=not reprove,
        )
        found = expand_inputs(names, None if kind == "auto" else kind)
        outputs = FleetOutputs(out.fmt, out.outputs, sys.stdout)
        progress = ProgressLine(len(found.targets), enabled=not quiet)

        def on_item(item: Any) -> None:
            progress.clear()  # a streamed line must not land in the middle of the progress line
            outputs.item(item)
            progress.update()

        try:
            result = run_audit(found, options, on_item)
        except BaseException:
            outputs.close()
            raise
        finally:
            progress.clear()
        outputs.finish(result)
        if result.partial:
            click.echo(
                f"toolsfix: interrupted: partial report of {len(result.items)} of "
                f"{result.planned} item(s) written",
                err=True,
            )
        return result.exit_code()

    run(body)
