"""The ``patch`` command: VMware's own fix applied to a configurator, safely.

Its own module so that no other command compiles its definition; :mod:`toolsfix.cli` imports
it when ``patch`` is asked for, and the patcher loads inside the command's body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from toolsfix.clikit import EXIT_CODES, ToolsfixCommand, check_output_path, run, show

__all__ = ["patch"]


@click.command(cls=ToolsfixCommand, epilog=EXIT_CODES)
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
    "--check",
    "check_only",
    is_flag=True,
    help="Only report whether a patch is needed: exit 1 if it is, 0 if not.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Patch unrecognised or damaged variants, distribs without Solaris 11 builds, or a "
    "file whose mode gives you no write permission.",
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
    check_only: bool,
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
      toolsfix patch vmware-tools-distrib --check   # exit 1 when a patch is needed
      toolsfix patch vmware-tools-distrib
      toolsfix patch vmware-solaris-tools.tar.gz --output fixed.tar.gz
      toolsfix patch --root /        # on a guest where Tools is already installed
    """
    # lazy: start-up time
    from toolsfix.patcher import run_patch
    from toolsfix.report.patch import render_patch

    def body() -> int:
        if output is not None:
            check_output_path(output, "--output", regular_only=True)
        outcome = run_patch(
            path,
            root=root,
            output=output,
            dry_run=dry_run or check_only,
            force=force,
            run_perl=not no_exec,
        )
        show(render_patch(outcome, fmt, diff=not check_only))
        return int(outcome.exit_code(check=check_only))

    run(body)
