"""Command line: parse options, call one service, render its result, exit. No domain logic.

This module is the ``toolsfix`` group only. Each command lives in its own ``cli_*`` module and
the group imports that module when the command is asked for
(:class:`~toolsfix.clikit.LazyCommands`); each command imports its service (and that service's
renderer) inside its own body. A run therefore compiles and executes only the code of the
command it runs: every process pays its start-up again (and, without cached bytecode, compiles
every module it imports), so ``toolsfix fingerprint`` on one file, ``collector`` or
``--version`` must not pay for ``scan``, ``verify``, ``audit`` and their services.
``toolsfix --help`` imports the command modules (it shows each command's help line), not
their services.

Exit codes (also in ``--help`` and the README): 0 nothing at or above ``--fail-on``;
1 findings at or above it; 2 usage error; 3 input unreadable or not evaluable;
4 a write was refused as unsafe; 5 verification after a write failed (and was rolled back);
130 interrupted; 141 standard output was closed early (``| head``).

Failures are one line on stderr; a command run with ``--format json`` also prints a JSON
error document on stdout (:mod:`toolsfix.report.errors`), so a pipeline never parses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

import click

from toolsfix import __version__
from toolsfix.clikit import (
    EXIT_CODES,
    LazyCommands,
    ToolsfixGroup,
    check_output_path,
    import_attribute,
    json_requested,
)

if TYPE_CHECKING:
    from toolsfix.cli_fingerprint import FINGERPRINT_EXIT_CODES, FINGERPRINT_FAIL_ON, fingerprint
    from toolsfix.cli_fleet import AUDIT_EXIT_CODES, audit
    from toolsfix.cli_tools import collector, fingerprints, probe, remedy, schema_command
    from toolsfix.report.lines import one_line

__all__ = [
    "AUDIT_EXIT_CODES",
    "COMMANDS",
    "EXIT_CODES",
    "FINGERPRINT_EXIT_CODES",
    "FINGERPRINT_FAIL_ON",
    "audit",
    "check_output_path",
    "cli",
    "collector",
    "fingerprint",
    "fingerprints",
    "json_requested",
    "main",
    "one_line",
    "probe",
    "remedy",
    "schema_command",
]

#: Every command of the group: name -> ``module:attribute`` of its click command.
COMMANDS = {
    "audit": "toolsfix.cli_fleet:audit",
    "collector": "toolsfix.cli_tools:collector",
    "fingerprint": "toolsfix.cli_fingerprint:fingerprint",
    "fingerprints": "toolsfix.cli_tools:fingerprints",
    "patch": "toolsfix.cli_patch:patch",
    "probe": "toolsfix.cli_tools:probe",
    "remedy": "toolsfix.cli_tools:remedy",
    "scan": "toolsfix.cli_scan:scan",
    "schema": "toolsfix.cli_tools:schema_command",
    "verify": "toolsfix.cli_verify:verify",
}

#: Names this module exported when it held the commands itself: ``module:attribute``,
#: resolved on first access (:func:`__getattr__`) so that importing the group stays cheap.
_REEXPORTED = {
    "AUDIT_EXIT_CODES": "toolsfix.cli_fleet:AUDIT_EXIT_CODES",
    "FINGERPRINT_EXIT_CODES": "toolsfix.cli_fingerprint:FINGERPRINT_EXIT_CODES",
    "FINGERPRINT_FAIL_ON": "toolsfix.cli_fingerprint:FINGERPRINT_FAIL_ON",
    "audit": COMMANDS["audit"],
    "collector": COMMANDS["collector"],
    "fingerprint": COMMANDS["fingerprint"],
    "fingerprints": COMMANDS["fingerprints"],
    "one_line": "toolsfix.report.lines:one_line",
    "patch": COMMANDS["patch"],
    "probe": COMMANDS["probe"],
    "remedy": COMMANDS["remedy"],
    "scan": COMMANDS["scan"],
    "schema_command": COMMANDS["schema"],
    "verify": COMMANDS["verify"],
}


@click.group(
    cls=ToolsfixGroup,
    commands=LazyCommands(COMMANDS),
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="toolsfix")


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """A name of :data:`_REEXPORTED`, imported from its module on first access."""
        if name not in _REEXPORTED:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return import_attribute(_REEXPORTED[name])
