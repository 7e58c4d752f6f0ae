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

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import click

from toolsfix import __version__
from toolsfix.clikit import (
    EXIT_CODES,
    OutputOptions,
    PolicyFiles,
    ToolsfixGroup,
    check_output_path,
    db_dirs_option,
    emit,
    json_requested,
    load_fingerprint_db,
    load_policy,
    output_options,
    output_options_for,
    policy_options,
    run,
    show,
)
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.report.fleet import FLEET_FORMATS
from toolsfix.report.lines import one_line

__all__ = ["EXIT_CODES", "check_output_path", "cli", "json_requested", "main", "one_line"]


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


# --- audit -----------------------------------------------------------------------------------

AUDIT_EXIT_CODES = """\b
Exit codes:
  0    every item evaluated; nothing at or above --fail-on
  1    an item has findings at or above --fail-on, or could not be evaluated
  2    usage error (also: an invalid --baseline or --waivers file)
  3    no item could be evaluated
  130  interrupted by Ctrl-C (143: SIGTERM); the partial report was written ("partial": true)"""


@cli.command(epilog=AUDIT_EXIT_CODES)
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
            jobs, timeout, out.fail_on, not no_exec, perl_timeout, tuple(db_dirs), policy
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


# --- fingerprints -------------------------------------------------------------------------------

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


@cli.command(epilog=FINGERPRINT_EXIT_CODES)
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


@cli.group()
def fingerprints() -> None:
    """Manage the fingerprint database of known driver builds."""


@fingerprints.command("learn")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--db",
    "db_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Database directory to write (default: your user database).",
)
def fingerprints_learn(source: Path, db_dir: Optional[Path]) -> None:
    """Record every driver build of a distrib you own (directory, tarball or ISO).

    \b
    Examples:
      toolsfix fingerprints learn VMwareTools-10.3.10-12406962.tar.gz
      toolsfix fingerprints learn solaris.iso --db ./fleet-db
    """
    # lazy: start-up time
    from toolsfix.distrib import open_source
    from toolsfix.fpdb import learn_source, save_records, user_db_dir
    from toolsfix.report.identify import learned_text

    def body() -> int:
        learned = learn_source(open_source(source), source=source.name)
        if not learned.records:
            raise ToolsfixError(
                f"{source}: no driver builds found under lib/modules/binary", ExitCode.INPUT
            )
        written = save_records(db_dir or user_db_dir(), learned.records)
        show(learned_text(learned, written))
        for p in learned.problems:
            click.echo(f"  skipped: {one_line(p)}", err=True)
        return int(ExitCode.OK)

    run(body)


@fingerprints.command("list")
@db_dirs_option
def fingerprints_list(db_dirs: tuple[Path, ...]) -> None:
    """List known builds (shipped, user and --db databases).

    \b
    Examples:
      toolsfix fingerprints list
      toolsfix fingerprints list --db ./fleet-db | grep vmxnet3s
    """
    # lazy: start-up time
    from toolsfix.report.identify import records_text

    def body() -> int:
        show(records_text(load_fingerprint_db(db_dirs)))
        return int(ExitCode.OK)

    run(body)


@fingerprints.command("show")
@click.argument("sha256_prefix")
@db_dirs_option
def fingerprints_show(sha256_prefix: str, db_dirs: tuple[Path, ...]) -> None:
    """Show the full records (JSON) whose sha256 starts with SHA256_PREFIX.

    \b
    Examples:
      toolsfix fingerprints show 0206bdf5a632
    """
    # lazy: start-up time
    from toolsfix.report.identify import records_json

    def body() -> int:
        db = load_fingerprint_db(db_dirs)
        hits = [r for r in db if r.sha256.startswith(sha256_prefix.lower())]
        if not hits:
            raise ToolsfixError(f"no record with sha256 starting {sha256_prefix}", ExitCode.INPUT)
        show(records_json(hits))
        return int(ExitCode.OK)

    run(body)


# --- collector, remedy, probe ------------------------------------------------------------------


@cli.command()
def collector() -> None:
    """Print the POSIX sh collector for guests without Python (Solaris 10, ksh, dash, busybox).

    \b
    Examples:
      toolsfix collector > collect.sh
      scp collect.sh guest: && ssh guest 'sh collect.sh -a /var/tmp/tfb'
      toolsfix verify --bundle tfb.tar
    """
    # lazy: start-up time
    from toolsfix.guest.collector import render_collector

    def body() -> int:
        show(render_collector())
        return int(ExitCode.OK)

    run(body)


@cli.command(epilog=EXIT_CODES)
@click.argument("report", type=click.Path(path_type=Path), required=False)
@click.option("--root", type=click.Path(path_type=Path), help="Verify this image root first.")
@click.option("--bundle", type=click.Path(path_type=Path), help="Verify this bundle first.")
@click.option("--live", is_flag=True, help="Verify this running system first.")
@db_dirs_option
def remedy(
    report: Optional[Path],
    root: Optional[Path],
    bundle: Optional[Path],
    live: bool,
    db_dirs: tuple[Path, ...],
) -> None:
    """Print a reviewable shell script of the remedies for a verify run. Runs nothing.

    Give a saved `verify --format json` REPORT, or a source to verify now.

    \b
    Examples:
      toolsfix verify --root /mnt/t --format json > report.json; toolsfix remedy report.json
      toolsfix remedy --bundle guest42.tar.gz > fix-guest42.sh
    """
    # lazy: start-up time
    from toolsfix.remedy import read_report, remedy_for_report, remedy_from_report_json

    def body() -> int:
        if report is not None:
            if root is not None or bundle is not None or live:
                raise ToolsfixError("give a REPORT or a source, not both", ExitCode.USAGE)
            show(remedy_from_report_json(read_report(report)))
            return int(ExitCode.OK)
        # lazy: start-up time (a saved report needs no verify)
        from toolsfix.verify import VerifyOptions
        from toolsfix.verify import verify as do_verify

        result = do_verify(root=root, bundle=bundle, live=live, options=VerifyOptions(db_dirs))
        show(remedy_for_report(result))
        return int(ExitCode.OK)

    run(body)


@cli.group()
def probe() -> None:
    """Live network probes (they send traffic only to the host you name)."""


@probe.command("jumbo")
@click.argument("host")
@click.option("--mtu", type=click.IntRange(576, 65535), default=9000, show_default=True)
@click.option("--count", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--find-path-mtu", is_flag=True, help="Also search the largest MTU that passes.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def probe_jumbo(host: str, mtu: int, count: int, find_path_mtu: bool, fmt: str) -> None:
    """Ping HOST with don't-fragment packets of MTU-28 bytes of payload.

    Exit 0 when full-size frames pass, 1 when they do not (too big, or no reply), 3 when the
    path cannot be tested (no ping, no DF option, unknown host, no permission).

    \b
    Examples:
      toolsfix probe jumbo 192.0.2.10
      toolsfix probe jumbo nfs01 --mtu 9000 --find-path-mtu --format json
    """
    # lazy: start-up time
    from toolsfix.probe import run_jumbo
    from toolsfix.report.probe import render_probe

    def body() -> int:
        result = run_jumbo(host, mtu=mtu, count=count, search=find_path_mtu)
        show(render_probe(result, fmt))
        return int(result.exit_code())

    run(body)


# --- schema ----------------------------------------------------------------------------------


@cli.command("schema")
@click.argument("name", type=click.Choice(["audit", "report"]))
def schema_command(name: str) -> None:
    """Print the JSON Schema (2020-12) of a JSON output, to validate it in a pipeline.

    report: what `scan --format json` and `verify --format json` print (or their error
    document). audit: what `audit --format json` prints; every line of `--format jsonl` is
    #/$defs/line. The audit schema embeds the report schema, so each is one self-contained file.

    \b
    Examples:
      toolsfix schema report > report.schema.json
      toolsfix verify --root /mnt/t --format json > r.json
      check-jsonschema --schemafile report.schema.json r.json
    """
    # lazy: start-up time
    from toolsfix.jsonschemas import render

    def body() -> int:
        show(render(name))
        return int(ExitCode.OK)

    run(body)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="toolsfix")
