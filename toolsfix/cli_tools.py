"""The commands around the main pipeline: ``fingerprints``, ``collector``, ``remedy``,
``probe`` and ``schema``.

:mod:`toolsfix.cli` imports this module when one of them is asked for (``fingerprint``, run on
many files, has its own module, :mod:`toolsfix.cli_fingerprint`). Each command imports its
service inside its body ("lazy: start-up time").
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from toolsfix.clikit import (
    EXIT_CODES,
    ToolsfixCommand,
    ToolsfixGroup,
    db_dirs_option,
    load_fingerprint_db,
    run,
    show,
)
from toolsfix.errors import ExitCode, ToolsfixError

__all__ = [
    "collector",
    "fingerprints",
    "probe",
    "remedy",
    "schema_command",
]


# --- fingerprints -------------------------------------------------------------------------------


@click.group(cls=ToolsfixGroup)
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
@click.option(
    "--no-proof",
    is_flag=True,
    help="Record the driver builds only, not the sandboxed proof of the configurator.",
)
def fingerprints_learn(source: Path, db_dir: Optional[Path], no_proof: bool) -> None:
    """Record every driver build of a distrib you own (directory, tarball or ISO), and the
    sandboxed proof of its configurator.

    Later runs identify those builds by their hash; `scan` and `verify` take the proof of
    those exact configurator bytes from the record instead of starting perl (--reprove runs
    it anyway); `scan` reports a distrib's configurator that claims this release but differs
    from it (TF112).

    \b
    Examples:
      toolsfix fingerprints learn VMwareTools-10.3.10-12406962.tar.gz
      toolsfix fingerprints learn solaris.iso --db ./fleet-db
    """
    # lazy: start-up time
    from toolsfix.learning import learn
    from toolsfix.report.identify import learned_text
    from toolsfix.report.lines import one_line

    def body() -> int:
        result = learn(source, db_dir, prove=not no_proof)
        show(learned_text(result))
        for p in result.learned.problems:
            click.echo(f"  skipped: {one_line(p)}", err=True)
        return int(ExitCode.OK)

    run(body)


@fingerprints.command("list")
@db_dirs_option
def fingerprints_list(db_dirs: tuple[Path, ...]) -> None:
    """List known builds and configurator proofs on record (shipped, user and --db databases).

    \b
    Examples:
      toolsfix fingerprints list
      toolsfix fingerprints list --db ./fleet-db | grep vmxnet3s
    """
    # lazy: start-up time
    from toolsfix.proofdb import load_all
    from toolsfix.report.identify import records_text

    def body() -> int:
        show(records_text(load_fingerprint_db(db_dirs), load_all(db_dirs).records))
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


@click.command(cls=ToolsfixCommand)
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


@click.command(cls=ToolsfixCommand, epilog=EXIT_CODES)
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


@click.group(cls=ToolsfixGroup)
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


@click.command("schema", cls=ToolsfixCommand)
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
