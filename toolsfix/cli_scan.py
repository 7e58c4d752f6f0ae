"""The ``scan`` command: which driver builds a distrib would install on each Solaris release.

One module per pipeline command so that ``toolsfix scan`` compiles and runs this command's
definition only; :mod:`toolsfix.cli` imports it when ``scan`` is asked for. The service and the
policy loader are imported inside the command's body ("lazy: start-up time"), so ``scan
--help`` stays as cheap as the group's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from toolsfix.clikit import (
    EXIT_CODES,
    ToolsfixCommand,
    db_dirs_option,
    reprove_option,
    run,
)
from toolsfix.clireport import (
    OutputOptions,
    PolicyFiles,
    emit,
    output_options,
    policy_narrowing,
    policy_options,
)
from toolsfix.errors import ExitCode, ToolsfixError

__all__ = ["scan"]


@click.command(cls=ToolsfixCommand, epilog=EXIT_CODES)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-exec", is_flag=True, help="Do not prove the prediction by running the Perl.")
@reprove_option
@db_dirs_option
@click.option(
    "--perl-timeout",
    type=float,
    default=20.0,
    show_default=True,
    help="Seconds the sandboxed Perl run may take.",
)
@click.option(
    "--guest",
    "guest_path",
    type=click.Path(path_type=Path),
    help="Answer for this guest: a collector bundle (file or directory) or an image root.",
)
@click.option("--release", "uname_r", help="Answer for a guest with this `uname -r` (5.10, 5.11).")
@click.option(
    "--version", "uname_v", help="With --release: the guest's `uname -v` (e.g. 11.4.0.15.0)."
)
@policy_options
@output_options
def scan(
    path: Path,
    no_exec: bool,
    reprove: bool,
    db_dirs: tuple[Path, ...],
    perl_timeout: float,
    guest_path: Optional[Path],
    uname_r: Optional[str],
    uname_v: Optional[str],
    policy_files: PolicyFiles,
    out: OutputOptions,
) -> None:
    """Check which driver builds a distrib would install on each Solaris release.

    PATH is a vmware-tools-distrib directory, a .tar.gz/.tgz/.tar, an ISO holding the
    tarball, or a single vmware-config-tools.pl. Nothing is written or extracted. With
    --guest (or --release and --version) it also says what the distrib installs on that one
    guest and whether to patch; the release-specific findings are then about that guest.

    \b
    Examples:
      toolsfix scan vendor-samples/archives/vmware-solaris-tools-9.2.2.tar.gz
      toolsfix scan solaris.iso --format json -o junit:scan.xml
      toolsfix scan bin/vmware-config-tools.pl --no-exec
      toolsfix scan distrib.tgz --guest /mnt/template       # an image root or a bundle
      toolsfix scan distrib.tgz --release 5.11 --version 11.4.0.15.0
      toolsfix scan distrib.tgz --baseline last.json --waivers waivers.json
      toolsfix scan distrib.tgz --db ./fleet-db  # its proofs on record answer (--reprove: not)
    """
    # lazy: start-up time
    from toolsfix.scan import ScanOptions, guest_from_uname, load_guest
    from toolsfix.scan import scan as do_scan

    def body() -> int:
        if guest_path is not None and (uname_r is not None or uname_v is not None):
            raise ToolsfixError("give --guest or --release/--version, not both", ExitCode.USAGE)
        if (uname_r is None) != (uname_v is None):
            raise ToolsfixError("--release and --version go together", ExitCode.USAGE)
        narrow = policy_narrowing("scan", policy_files)
        guest = None
        if guest_path is not None:
            guest = load_guest(guest_path)
        elif uname_r is not None and uname_v is not None:
            guest = guest_from_uname(uname_r, uname_v)
        options = ScanOptions(not no_exec, perl_timeout, guest, not reprove, tuple(db_dirs))
        report = do_scan(path, options)
        return emit(narrow(report), out)

    run(body)
