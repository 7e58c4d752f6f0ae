"""Command-line plumbing every ``toolsfix`` command shares.

Output options (``--format``, ``-o FORMAT:PATH``, ``--fail-on``), ``--baseline``/``--waivers``,
the net that turns every failure into one line and a documented exit code (:func:`run`), the
JSON error document for pipelines that asked for ``--format json`` (also for click's own usage
errors, :class:`ToolsfixCommand`), and a quiet stop when the reader of stdout goes away. The
commands themselves live in :mod:`toolsfix.cli`.
"""

from __future__ import annotations

import functools
import os
import select
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, TypeVar

import click

from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.findings import Report, Severity
from toolsfix.report import RENDERERS, renderer
from toolsfix.report.errors import error_json, error_line

if TYPE_CHECKING:
    from toolsfix.baseline import Policy
    from toolsfix.fpdb import FingerprintDB

F = TypeVar("F", bound=Callable[..., Any])

#: Exit status when standard output is closed early (``toolsfix fingerprints list | head``):
#: what a shell reports for a program that SIGPIPE ended, without the traceback.
STDOUT_CLOSED = 141
INTERRUPTED = 130

EXIT_CODES = """\b
Exit codes:
  0    nothing at or above --fail-on
  1    findings at or above --fail-on
  2    usage error
  3    input unreadable or not evaluable
  4    write refused as unsafe (patch)
  5    verification after writing failed; change rolled back (patch)
  130  interrupted; 141: standard output closed early (e.g. | head)"""


@dataclass
class OutputOptions:
    """What click parsed about output; filled once, used by every reporting command."""

    fmt: str = "text"
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    fail_on: Severity = Severity.LOW


def _parse_output(
    values: Sequence[str], formats: Sequence[str] = tuple(RENDERERS)
) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for v in values:
        fmt, sep, path = v.partition(":")
        if not sep or not path or fmt not in formats:
            raise click.BadParameter(
                f"{v!r}: expected FORMAT:PATH with FORMAT one of {', '.join(sorted(formats))}",
                param_hint="-o/--output-file",
            )
        out.append((fmt, Path(path)))
    return out


def output_options_for(formats: Sequence[str]) -> Callable[[F], F]:
    """--format, -o FORMAT:PATH (repeatable) and --fail-on for commands whose formats are
    ``formats`` (single reports and fleet reports have different sets), into OutputOptions."""

    def decorate(func: F) -> F:
        @click.option(
            "--format",
            "fmt",
            type=click.Choice(sorted(formats)),
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
        def wrapper(
            *args: Any, fmt: str, outputs: Sequence[str], fail_on: str, **kwargs: Any
        ) -> Any:
            opts = OutputOptions(fmt, _parse_output(outputs, formats), Severity.parse(fail_on))
            try:
                for _fmt, target in opts.outputs:
                    check_output_path(target, "-o")
            except ToolsfixError as exc:
                fail(exc)
            return func(*args, out=opts, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


output_options = output_options_for(tuple(RENDERERS))


db_dirs_option = click.option(
    "--db",
    "db_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extra fingerprint database directory (repeatable); shipped and user DBs always load.",
)


PolicyFiles = tuple[Optional[Path], Optional[Path]]


def policy_options(func: F) -> F:
    """--baseline and --waivers (toolsfix/baseline.py), passed on as ``policy_files``; they
    are read inside the command's body so a bad file is one line and exit 2."""

    @click.option(
        "--baseline",
        type=click.Path(path_type=Path, dir_okay=False),
        help="A previous JSON report of this command: report only findings new since then "
        "(and list those fixed).",
    )
    @click.option(
        "--waivers",
        type=click.Path(path_type=Path, dir_okay=False),
        help='JSON waiver file, [{"id", "item", "reason", "expires"}...]: matching findings '
        "are listed as waived with their reason until they expire (then TF900).",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, baseline: Optional[Path], waivers: Optional[Path], **kwargs: Any
    ) -> Any:
        return func(*args, policy_files=(baseline, waivers), **kwargs)

    return wrapper  # type: ignore[return-value]


def load_policy(command: str, files: PolicyFiles) -> Policy:
    """The baseline.Policy for ``command`` from the --baseline/--waivers paths."""
    # lazy: start-up time (only scan, verify and audit read a policy)
    from toolsfix.baseline import Policy, load_baseline, load_waivers

    baseline, waivers = files
    return Policy(
        load_baseline(baseline, command) if baseline is not None else None,
        load_waivers(waivers) if waivers is not None else None,
    )


def load_fingerprint_db(extra: Sequence[Path]) -> FingerprintDB:
    """Shipped, user and ``--db`` databases, merged."""
    # lazy: start-up time (only the fingerprint commands need the database)
    from toolsfix.fpdb import load_all

    return load_all(extra)


def show(text: str) -> None:
    """Write ``text`` (already newline-terminated) to stdout."""
    click.echo(text, nl=False)


def emit(report: Report, out: OutputOptions) -> int:
    """Render to stdout and files; return the exit code the findings call for.

    The files are written even when the reader of stdout went away (``| head``): a pipeline
    that asked for ``-o json:report.json`` gets it either way.
    """
    try:
        show(renderer(out.fmt).render(report))
        closed = False
    except BrokenPipeError:
        closed = True
    for fmt, path in out.outputs:
        try:
            path.write_text(renderer(fmt).render(report), encoding="utf-8")
        except OSError as exc:
            raise ToolsfixError(
                f"{path}: cannot write report: {exc.strerror}", ExitCode.INPUT
            ) from None
    if closed:
        stdout_closed()
    return int(ExitCode.FINDINGS if report.fails(out.fail_on) else ExitCode.OK)


def wants_json(ctx: Optional[click.Context]) -> bool:
    """Whether the running command was asked for JSON on stdout (``--format json|jsonl``)."""
    return ctx is not None and ctx.params.get("fmt") in ("json", "jsonl")


def _command_name(ctx: click.Context) -> str:
    """``scan``, ``probe jumbo``: the command path without the program name."""
    return " ".join(ctx.command_path.split()[1:]) or ctx.command_path


def report_failure(
    message: str, code: int, *, internal: bool = False, line: Optional[str] = None
) -> None:
    """The one stderr line (``line``, or ``toolsfix: error: MESSAGE``) and, for
    ``--format json``, the error document on stdout."""
    click.echo(line or error_line(message, internal=internal), err=True)
    ctx = click.get_current_context(silent=True)
    if wants_json(ctx):
        assert ctx is not None
        target = ctx.params.get("path")
        compact = ctx.params.get("fmt") == "jsonl"
        text = error_json(
            message,
            code,
            command=_command_name(ctx),
            target=str(target) if target is not None else None,
            kind="internal" if internal else None,
            compact=compact,
        )
        try:
            show(text)
        except BrokenPipeError:
            stdout_closed()


def fail(exc: ToolsfixError) -> NoReturn:
    """Report ``exc`` (one line, JSON document if asked for) and exit with its code."""
    report_failure(str(exc), int(exc.exit_code))
    sys.exit(int(exc.exit_code))


def _stdout_is_closed() -> bool:
    """True when stdout is a pipe whose reader has gone (poll says POLLERR), or cannot tell."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, ValueError, OSError):
        return True  # no descriptor to ask: the BrokenPipeError itself is the only evidence


def stdout_closed() -> NoReturn:
    """Stop quietly after the reader of stdout went away (``| head``): no traceback, and
    stdout pointed at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        pass  # not a real descriptor (a test runner's buffer): nothing will be flushed
    sys.exit(STDOUT_CLOSED)


def check_output_path(path: Path, option: str, *, regular_only: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written as a file (exit 2).

    A directory or a missing parent is a mistake in the command line, so it is a usage
    error, said in one line instead of surfacing as an OSError after the work is done.
    With ``regular_only`` (outputs replaced by rename, like ``patch --output``) an existing
    FIFO, device or socket is refused too: renaming over ``/dev/null`` would replace it.
    """
    shown = f"{option} {path}"
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        st = None  # the parent is checked below
    except OSError as exc:
        raise ToolsfixError(
            f"{shown}: cannot use it: {exc.strerror or exc}", ExitCode.USAGE
        ) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ToolsfixError(f"{shown}: is a directory; name a file to write", ExitCode.USAGE)
        if regular_only and not stat.S_ISREG(st.st_mode):
            raise ToolsfixError(
                f"{shown}: exists and is not a regular file; name a file to write",
                ExitCode.USAGE,
            )
        return
    parent = path.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a directory"
        raise ToolsfixError(f"{shown}: directory {parent} {what}", ExitCode.USAGE)


def run(body: Callable[[], int]) -> None:
    """Turn every failure into one line and a documented exit code.

    Exit 3 for anything the input caused (:func:`input_failure`); "internal error" only for
    what remains, i.e. bugs, with ``TOOLSFIX_DEBUG=1`` to see the traceback. A reader of
    stdout that goes away early ends the run quietly with 141.
    """
    try:
        code = body()
    except (Exception, KeyboardInterrupt) as exc:
        handle_failure(exc)
    sys.exit(code)


def handle_failure(exc: BaseException) -> NoReturn:
    """Report ``exc`` the documented way and exit (see :func:`run`)."""
    if isinstance(exc, ToolsfixError):
        fail(exc)
    if isinstance(exc, KeyboardInterrupt):
        report_failure("interrupted", INTERRUPTED, line="toolsfix: interrupted")
        sys.exit(INTERRUPTED)
    if isinstance(exc, BrokenPipeError) and _stdout_is_closed():
        stdout_closed()
    if not isinstance(exc, Exception):
        raise exc
    _unexpected(exc)


def _unexpected(exc: Exception) -> NoReturn:
    """Exit 3: a line naming what the input did, or an internal error (a bug)."""
    if os.environ.get("TOOLSFIX_DEBUG"):
        raise exc
    # lazy: only the error path needs the archive libraries' exception types
    from toolsfix.failures import input_failure

    line = input_failure(exc)
    if line is not None:
        report_failure(line, int(ExitCode.INPUT))
    else:
        report_failure(
            f"{type(exc).__name__}: {exc} (set TOOLSFIX_DEBUG=1 for a traceback)",
            int(ExitCode.INPUT),
            internal=True,
        )
    sys.exit(int(ExitCode.INPUT))


def json_requested(args: Sequence[str]) -> Optional[str]:
    """``json`` or ``jsonl`` when raw command-line ``args`` ask for it, else None."""
    for n, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format" and n + 1 < len(args):
            value = args[n + 1]
        elif arg.startswith("--format="):
            value = arg.partition("=")[2]
        else:
            continue
        if value in ("json", "jsonl"):
            return value
    return None


class ToolsfixCommand(click.Command):
    """A command whose usage errors also reach a pipeline that asked for JSON.

    click rejects bad options before the command runs, so :func:`run` never sees them; here
    the raw arguments still say whether ``--format json`` was asked for, and the error
    document is printed on stdout before click prints its usage message (exit 2).
    """

    def invoke(self, ctx: click.Context) -> Any:
        """The command, under the same net as :func:`run`: a failure before its body runs
        (an option callback, a service that cannot be imported) is one line too."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors, --help, Ctrl-C at a prompt
        except (Exception, KeyboardInterrupt) as exc:
            handle_failure(exc)

    def make_context(
        self,
        info_name: Optional[str],
        args: list[str],
        parent: Optional[click.Context] = None,
        **extra: Any,
    ) -> click.Context:
        given = list(args)  # the parser consumes the list it is handed
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            fmt = json_requested(given)
            if fmt is not None:
                path = parent.command_path.split()[1:] if parent is not None else []
                command = " ".join([*path, info_name or self.name or ""]).strip()
                message, code = exc.format_message(), exc.exit_code
                show(error_json(message, code, command=command, compact=fmt == "jsonl"))
            raise


class ToolsfixGroup(click.Group):
    """Commands and sub-groups made with :class:`ToolsfixCommand` and this class."""

    command_class = ToolsfixCommand
    group_class = type  # sub-groups are ToolsfixGroups too
