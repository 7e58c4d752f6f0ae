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


db_dirs_option = click.option(
    "--db",
    "db_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extra fingerprint database directory (repeatable); shipped and user DBs always load.",
)


def load_fingerprint_db(extra: Sequence[Path]) -> Any:
    from toolsfix.fpdb import load_all

    return load_all(extra)


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
    "--check",
    "check_only",
    is_flag=True,
    help="Only report whether a patch is needed: exit 1 if it is, 0 if not.",
)
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
    from toolsfix.patcher import run_patch

    def body() -> int:
        outcome = run_patch(
            path,
            root=root,
            output=output,
            dry_run=dry_run or check_only,
            force=force,
            run_perl=not no_exec,
        )
        if check_only:
            outcome = dataclasses.replace(outcome, diff="")
        if fmt == "json":
            click.echo(json.dumps(dataclasses.asdict(outcome), indent=2))
        else:
            click.echo(_outcome_text(outcome), nl=False)
        if check_only and outcome.action == "would-patch":
            return int(ExitCode.FINDINGS)
        return int(ExitCode.OK)

    run(body)


# --- verify ----------------------------------------------------------------------------------


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
    type=click.Path(path_type=Path),
    help="Output of `esxcli system settings advanced list` from the VM's host.",
)
@click.option("--no-exec", is_flag=True, help="Do not run the installed configurator's logic.")
@output_options
def verify(
    root: Optional[Path],
    bundle: Optional[Path],
    live: bool,
    db_dirs: tuple[Path, ...],
    esxi_settings: Optional[Path],
    no_exec: bool,
    out: OutputOptions,
) -> None:
    """Verify an installed guest: driver build vs OS, tampering, LSO and jumbo readiness.

    Never writes. Give exactly one of --root, --bundle, --live.

    \b
    Examples:
      toolsfix verify --root /mnt/golden-template --format json -o junit:verify.xml
      toolsfix verify --live --fail-on high
      toolsfix verify --bundle guest42.tar.gz --esxi-settings host-advanced.txt
    """
    from toolsfix.verify import VerifyOptions
    from toolsfix.verify import verify as do_verify

    opts = VerifyOptions(tuple(db_dirs), not no_exec, esxi_settings)
    run(lambda: emit(do_verify(root=root, bundle=bundle, live=live, options=opts), out))


# --- fingerprints -------------------------------------------------------------------------------


@cli.command(epilog=EXIT_CODES)
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
def fingerprint(files: tuple[Path, ...], db_dirs: tuple[Path, ...], fmt: str, jobs: int) -> None:
    """Identify driver objects: exact, code-identical, nearest or unknown.

    A file under .../amd64/ is checked against 64-bit expectations.

    \b
    Examples:
      toolsfix fingerprint /kernel/drv/vmxnet3s /kernel/drv/amd64/vmxnet3s
      toolsfix fingerprint --db ./mydb --format json suspicious.o
    """
    from toolsfix.fingerprint import fingerprint_files
    from toolsfix.identify import identify

    def body() -> int:
        db = load_fingerprint_db(db_dirs)
        workers = jobs if jobs > 0 else min(2, os.cpu_count() or 1)
        results = []
        for path, fp in zip(files, fingerprint_files(files, jobs=workers)):
            location = "amd64" if "amd64" in path.parts else None
            ident = identify(fp, db, location_arch=location)
            results.append({"path": str(path), **ident.to_dict()})
        if fmt == "json":
            click.echo(json.dumps({"schema_version": "1.0", "results": results}, indent=2))
        else:
            for r in results:
                shown = f" score {r['score']:.2f}" if r.get("score") is not None else ""
                click.echo(f"{r['path']}: {r['rung']}{shown} ({r['reason']})")
                for c in r["candidates"][:5]:
                    click.echo(
                        f"    Tools {c['tools_version']} build {c['build']}: "
                        f"{c['os_dir']}/{c['module']} ({c['score']:.2f})"
                    )
        return int(ExitCode.OK)

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
    from toolsfix.distrib import driver_files, open_source
    from toolsfix.fpdb import learn, save_records, user_db_dir

    def body() -> int:
        files = driver_files(open_source(source))
        problems: list[str] = []
        records = learn(
            files.members,
            tools_version=files.version,
            build=files.build,
            source=source.name,
            problems=problems,
        )
        if not records:
            raise ToolsfixError(
                f"{source}: no driver builds found under lib/modules/binary", ExitCode.INPUT
            )
        written = save_records(db_dir or user_db_dir(), records)
        click.echo(
            f"learned {len(records)} build(s) of Tools {files.version or '?'} build "
            f"{files.build or '?'} into {', '.join(str(w) for w in written)}"
        )
        for p in problems:
            click.echo(f"  skipped: {p}", err=True)
        return int(ExitCode.OK)

    run(body)


@fingerprints.command("list")
@db_dirs_option
def fingerprints_list(db_dirs: tuple[Path, ...]) -> None:
    """List known builds (shipped, user and --db databases)."""

    def body() -> int:
        db = load_fingerprint_db(db_dirs)
        for r in sorted(db, key=lambda r: (r.tools_version or "", r.os_dir, r.module)):
            tag = " [synthetic]" if r.synthetic else ""
            click.echo(
                f"{r.sha256[:16]}  Tools {r.tools_version or '?'} build {r.build or '?'}  "
                f"{r.os_dir}/{r.module}  {r.arch or '?'}{tag}"
            )
        click.echo(f"{len(db)} record(s)")
        return int(ExitCode.OK)

    run(body)


@fingerprints.command("show")
@click.argument("sha256_prefix")
@db_dirs_option
def fingerprints_show(sha256_prefix: str, db_dirs: tuple[Path, ...]) -> None:
    """Show the full records whose sha256 starts with SHA256_PREFIX."""

    def body() -> int:
        db = load_fingerprint_db(db_dirs)
        hits = [r.to_dict() for r in db if r.sha256.startswith(sha256_prefix.lower())]
        if not hits:
            raise ToolsfixError(f"no record with sha256 starting {sha256_prefix}", ExitCode.INPUT)
        click.echo(json.dumps(hits, indent=2))
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
    from toolsfix.guest.collector import render_collector

    def body() -> int:
        click.echo(render_collector(), nl=False)
        return int(ExitCode.OK)

    run(body)


@cli.command(epilog=EXIT_CODES)
@click.argument("report", type=click.Path(path_type=Path, dir_okay=False), required=False)
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
    from toolsfix.remedy import remedy_from_report_json, render_remedy_script

    def body() -> int:
        if report is not None:
            if root is not None or bundle is not None or live:
                raise ToolsfixError("give a REPORT or a source, not both", ExitCode.USAGE)
            try:
                text = report.read_text(encoding="utf-8")
            except OSError as exc:
                raise ToolsfixError(
                    f"{report}: cannot read: {exc.strerror}", ExitCode.INPUT
                ) from None
            click.echo(remedy_from_report_json(text), nl=False)
            return int(ExitCode.OK)
        from toolsfix.verify import VerifyOptions
        from toolsfix.verify import verify as do_verify

        result = do_verify(root=root, bundle=bundle, live=live, options=VerifyOptions(db_dirs))
        click.echo(render_remedy_script(result.findings, target=result.target), nl=False)
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

    Exit 0 when full-size frames pass, 1 when they do not, 3 when it cannot be evaluated.

    \b
    Examples:
      toolsfix probe jumbo 192.0.2.10
      toolsfix probe jumbo nfs01 --mtu 9000 --find-path-mtu --format json
    """
    from toolsfix.probe import find_path_mtu as search
    from toolsfix.probe import probe_jumbo as do_probe

    def body() -> int:
        result = do_probe(host, mtu=mtu, count=count)
        doc: dict[str, Any] = {"schema_version": "1.0", "probe": result.to_dict()}
        if find_path_mtu:
            doc["path_mtu"] = search(host, high=mtu).to_dict()
        if fmt == "json":
            click.echo(json.dumps(doc, indent=2))
        else:
            p = doc["probe"]
            click.echo(
                f"{host}: {p['verdict']} (mtu {mtu}, payload {p['payload']}) $ {p['command']}"
            )
            for note in p.get("notes", []):
                click.echo(f"  note: {note}")
            if "path_mtu" in doc:
                click.echo(f"  path mtu: {doc['path_mtu'].get('path_mtu')}")
        verdict = doc["probe"]["verdict"]
        if verdict == "pass":
            return int(ExitCode.OK)
        return int(ExitCode.INPUT if verdict == "not-evaluable" else ExitCode.FINDINGS)

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
