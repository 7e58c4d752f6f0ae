"""Command-line plumbing every ``toolsfix`` command shares.

The net that turns every failure into one line and a documented exit code (:func:`run`), the
JSON error document for pipelines that asked for ``--format json`` (also for click's own usage
errors, :class:`ToolsfixCommand`), a quiet stop when the reader of stdout goes away, and the
commands registry of the group, :mod:`toolsfix.cli`: each command lives in a ``cli_*`` module
that the group imports only when that command runs (:class:`LazyCommands`). The options and
output of the commands that produce a report are in :mod:`toolsfix.clireport`.

Every command imports this module, so it imports little itself: the error document loads when
a command fails, not before.
"""

from __future__ import annotations

import os
import select
import stat
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Union

import click

from toolsfix.errors import ExitCode, ToolsfixError

if TYPE_CHECKING:
    from toolsfix.fpdb import FingerprintDB

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


db_dirs_option = click.option(
    "--db",
    "db_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Extra database directory (repeatable): its fingerprints and proofs on record count "
    "too; the shipped and user databases always do.",
)

reprove_option = click.option(
    "--reprove",
    is_flag=True,
    help="Run the sandboxed proof even when a proof of the same configurator bytes is on "
    "record (`fingerprints learn` records them).",
)


def load_fingerprint_db(extra: Sequence[Path]) -> FingerprintDB:
    """Shipped, user and ``--db`` databases, merged. The fingerprint commands (the only
    callers) may write a large database file's missing index beside it for the next run;
    scan, verify and audit load without writing."""
    # lazy: start-up time (only the fingerprint commands need the database)
    from toolsfix.fpdb import load_all

    return load_all(extra, write_index=True)


def show(text: str) -> None:
    """Write ``text`` (already newline-terminated) to stdout."""
    click.echo(text, nl=False)


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
    # lazy: start-up time (a run that succeeds never builds an error)
    from toolsfix.report.errors import error_json, error_line

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
                # lazy: start-up time (only a usage error with --format json needs it)
                from toolsfix.report.errors import error_json

                path = parent.command_path.split()[1:] if parent is not None else []
                command = " ".join([*path, info_name or self.name or ""]).strip()
                message, code = exc.format_message(), exc.exit_code
                show(error_json(message, code, command=command, compact=fmt == "jsonl"))
            raise


class ToolsfixGroup(click.Group):
    """Commands and sub-groups made with :class:`ToolsfixCommand` and this class."""

    command_class = ToolsfixCommand
    group_class = type  # sub-groups are ToolsfixGroups too


def import_attribute(where: str) -> Any:
    """The object ``"package.module:attribute"`` names, importing its module if need be.

    Through ``__import__``, the import statement's own machinery, so ``python -X importtime``
    lists a command module loaded on demand like any other import (``importlib.import_module``
    would load it unlisted and hide its cost).
    """
    module, _, attribute = where.partition(":")
    return getattr(__import__(module, fromlist=[attribute]), attribute)


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, each imported from its module when first looked up.

    Given to a group as its ``commands``: click lists a group's commands by iterating the
    mapping's keys (``--help``, completion, "No such command") and fetches one with ``get``,
    so ``toolsfix fingerprint`` imports the fingerprint command's module and never the
    others', nor the services and renderers they would pull in. ``--help`` of the group
    imports every command module, as it needs each command's help line.
    """

    def __init__(self, where: Mapping[str, str]) -> None:
        #: name -> the command itself, or ``"module:attribute"`` until it is first looked up
        self._entries: dict[str, Union[click.Command, str]] = dict(where)

    def __getitem__(self, name: str) -> click.Command:
        entry = self._entries[name]
        if isinstance(entry, click.Command):
            return entry
        command = import_attribute(entry)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry} is not a click command")
        self._entries[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
