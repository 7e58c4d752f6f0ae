"""The ``fingerprint`` command: identify driver objects against the fingerprint database.

Its own module because it is the command run most often on many files (a pipeline checks
every object of an image): ``toolsfix fingerprint`` compiles this definition and the command
plumbing only, and the database, the identifier and its renderer load in the command's body.
"""

from __future__ import annotations

from pathlib import Path

import click

from toolsfix.clikit import ToolsfixCommand, db_dirs_option, load_fingerprint_db, run, show

__all__ = ["FINGERPRINT_EXIT_CODES", "FINGERPRINT_FAIL_ON", "fingerprint"]


FINGERPRINT_EXIT_CODES = """\b
Exit codes:
  0    every file identified above --fail-on
  1    a file identified at --fail-on or weaker (default: unknown, which
       includes files that are not ELF objects)
  2    usage error
  3    a file or database unreadable
  130  interrupted; 141: standard output closed early (e.g. | head)"""

# The rungs --fail-on accepts, weakest last (toolsfix.identify_files.FAIL_ON_CHOICES).
FINGERPRINT_FAIL_ON = ("code-identical", "nearest", "unknown", "never")


@click.command(cls=ToolsfixCommand, epilog=FINGERPRINT_EXIT_CODES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_dirs_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Worker processes for many files (0 = up to 2; batches under 64 files stay in-process).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FINGERPRINT_FAIL_ON),
    default="unknown",
    show_default=True,
    help="Exit 1 when a file is identified at this rung or weaker (unknown includes non-ELF "
    "files; nearest also fails on mere resemblances; never: always exit 0).",
)
def fingerprint(
    files: tuple[Path, ...], db_dirs: tuple[Path, ...], fmt: str, jobs: int, fail_on: str
) -> None:
    """Identify driver objects: exact, code-identical, nearest or unknown.

    A file in an amd64 directory (/kernel/drv/amd64) or a 64-bit build directory (11_64) is
    expected to be 64-bit, one in a 32-bit build directory (11) 32-bit; a mismatch is
    reported (arch_mismatch), it does not change the rung.

    \b
    Examples:
      toolsfix fingerprint /kernel/drv/vmxnet3s /kernel/drv/amd64/vmxnet3s
      toolsfix fingerprint --db ./mydb --format json suspicious.o
      toolsfix fingerprint --fail-on nearest /kernel/drv/amd64/vmxnet3s   # exact or 1
    """
    # lazy: start-up time
    from toolsfix.identify_files import identify_files
    from toolsfix.report.identify import render_identifications

    def body() -> int:
        result = identify_files(files, load_fingerprint_db(db_dirs), jobs=jobs)
        show(render_identifications(result, fmt))
        return int(result.exit_code(fail_on))

    run(body)
