"""Command line: parse options, call one service, render its result, exit. No domain logic.

Each command imports its service (and that service's renderer) inside its own body: importing
every service costs about half a second, which ``toolsfix --help``, ``collector`` or ``probe``
should not pay. Those imports are marked "lazy: start-up time".

Exit codes (also in ``--help`` and the README): 0 nothing at or above ``--fail-on``;
1 findings at or above it; 2 usage error; 3 input unreadable or not evaluable;
4 a write was refused as unsafe; 5 verification after a write failed (and was rolled back);
130 interrupted; 141 standard output was closed early (``| head``).

Failures are one line on stderr; a command run with ``--format json`` also prints a JSON
error document on stdout (:mod:`toolsfix.report.errors`), so a pipeline never parses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import click

from toolsfix import __version__
from toolsfix.cli_fleet import AUDIT_EXIT_CODES, audit
from toolsfix.cli_tools import (
    FINGERPRINT_EXIT_CODES,
    FINGERPRINT_FAIL_ON,
    collector,
    fingerprint,
    fingerprints,
    probe,
    remedy,
    schema_command,
)
from toolsfix.clikit import (
    EXIT_CODES,
    OutputOptions,
    PolicyFiles,
    ToolsfixGroup,
    check_output_path,
    db_dirs_option,
    emit,
    json_requested,
    load_policy,
    output_options,
    policy_options,
    run,
    show,
)
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.report.lines import one_line

__all__ = [
    "AUDIT_EXIT_CODES",
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


@click.group(
    cls=ToolsfixGroup,
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
    """
    # lazy: start-up time
    from toolsfix.baseline import apply_policy
    from toolsfix.scan import ScanOptions, guest_from_uname, load_guest
    from toolsfix.scan import scan as do_scan

    def body() -> int:
        if guest_path is not None and (uname_r is not None or uname_v is not None):
            raise ToolsfixError("give --guest or --release/--version, not both", ExitCode.USAGE)
        if (uname_r is None) != (uname_v is None):
            raise ToolsfixError("--release and --version go together", ExitCode.USAGE)
        policy = load_policy("scan", policy_files)
        guest = None
        if guest_path is not None:
            guest = load_guest(guest_path)
        elif uname_r is not None and uname_v is not None:
            guest = guest_from_uname(uname_r, uname_v)
        report = do_scan(path, ScanOptions(not no_exec, perl_timeout, guest))
        return emit(apply_policy(report, policy), out)

    run(body)


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


# --- verify ----------------------------------------------------------------------------------


def _uplink_values(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """--uplink VMNIC=[SWITCH:]PORT values; a malformed or repeated vmnic is a usage error."""
    # lazy: start-up time (only verify --uplink needs it)
    from toolsfix.checks.teaming import parse_uplink_option

    out: dict[str, str] = {}
    for value in values:
        try:
            vmnic, port = parse_uplink_option(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        if vmnic in out and out[vmnic] != port:
            raise click.BadParameter(f"{vmnic} given twice ({out[vmnic]} and {port})")
        out[vmnic] = port
    return tuple(out.items())


@cli.command(epilog=EXIT_CODES)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="A mounted image root (paths are prefixed; never chroot).",
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    help="A bundle written by the collector (directory, .tar or .tar.gz).",
)
@click.option("--live", is_flag=True, help="This running system (read-only commands only).")
@db_dirs_option
@click.option(
    "--esxi-settings",
    "esxi_settings",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Output captured on the VM's ESXi host (repeatable): `esxcli system settings advanced "
    "list` and/or `esxcli network vswitch standard [portgroup] policy failover get`, detected "
    "by content. Alone (no --root/--bundle/--live) only host-side checks run.",
)
@click.option(
    "--switch-config",
    "switch_configs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Cisco IOS or HP ProCurve configuration of the physical switch the host's uplinks "
    "are cabled to (repeatable, detected by content); needs --esxi-settings.",
)
@click.option(
    "--uplink",
    "uplinks",
    multiple=True,
    metavar="VMNIC=[SWITCH:]PORT",
    callback=_uplink_values,
    help="Which switch port a vmnic is cabled to, e.g. vmnic0=Gi1/0/1 or vmnic2=sw2:A1 "
    "(repeatable); needed when a switch config has several channels.",
)
@click.option("--no-exec", is_flag=True, help="Do not run the installed configurator's logic.")
@policy_options
@output_options
def verify(
    root: Optional[Path],
    bundle: Optional[Path],
    live: bool,
    db_dirs: tuple[Path, ...],
    esxi_settings: tuple[Path, ...],
    switch_configs: tuple[Path, ...],
    uplinks: tuple[tuple[str, str], ...],
    no_exec: bool,
    policy_files: PolicyFiles,
    out: OutputOptions,
) -> None:
    """Verify an installed guest: driver build vs OS, tampering, LSO and jumbo readiness;
    and the ESXi host's LRO settings and NIC teaming against the physical switch.

    Never writes. Give exactly one of --root, --bundle, --live, or only --esxi-settings
    (host-side checks alone).

    \b
    Examples:
      toolsfix verify --root /mnt/golden-template --format json -o junit:verify.xml
      toolsfix verify --live --fail-on high
      toolsfix verify --bundle guest42.tar.gz --esxi-settings host-advanced.txt
      toolsfix verify --root /mnt/t --baseline last.json --waivers waivers.json
      toolsfix verify --esxi-settings vSwitch1-failover.txt --switch-config core-sw1.cfg
      toolsfix verify --esxi-settings esx01-session.txt --switch-config sw1.cfg \\
          --uplink vmnic2=Gi1/0/1 --uplink vmnic3=Gi1/0/2

    \b
    ESXi teaming (TF420-TF424, category esxi-teaming):
      An --esxi-settings file names its vSwitch by the echoed command line
      (`# esxcli network vswitch standard policy failover get -v vSwitch1`) or by
      its file name (vSwitch1-failover.txt); portgroups by `... portgroup policy
      failover get -p NAME`, tied to their vSwitch by `esxcli network vswitch
      standard portgroup list` output, the file name, or the only vSwitch given.
      Without --switch-config the rules that need the switch are not-evaluated.
      esxcli does not say which switch port a vmnic is cabled to: with no
      --uplink, a config without channels means unbundled ports, and a config
      with exactly one channel (and one vSwitch given) means that channel's
      members; findings say so (confidence medium). Several channels (static and
      LACP, or one per host) need --uplink for every uplink of the team.
    """
    # lazy: start-up time
    from toolsfix.baseline import apply_policy
    from toolsfix.verify import VerifyOptions
    from toolsfix.verify import verify as do_verify

    opts = VerifyOptions(
        tuple(db_dirs),
        not no_exec,
        esxi_settings=tuple(esxi_settings),
        switch_configs=tuple(switch_configs),
        uplinks=tuple(uplinks),
    )

    def body() -> int:
        policy = load_policy("verify", policy_files)
        report = do_verify(root=root, bundle=bundle, live=live, options=opts)
        return emit(apply_policy(report, policy), out)

    run(body)


# --- the other commands (their own modules) ---------------------------------------------------

for _command in (audit, fingerprint, fingerprints, collector, remedy, probe, schema_command):
    cli.add_command(_command)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="toolsfix")
