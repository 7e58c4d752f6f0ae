"""What the commands that produce a report share: their output and policy options.

``--format``, ``-o FORMAT:PATH`` and ``--fail-on`` (:func:`output_options_for`),
``--baseline``/``--waivers`` (:func:`policy_options`), and :func:`emit`, which renders the
report in every format asked for and turns its findings into the exit code. Used by ``scan``,
``verify`` and ``audit``; apart from :mod:`toolsfix.clikit` so the other commands (and
``--version``) do not compile it. The findings model, the renderers and :mod:`toolsfix.baseline`
load when a run uses them, not when an option is defined.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, TypeVar

import click

from toolsfix.clikit import check_output_path, fail, show, stdout_closed
from toolsfix.errors import ExitCode, ToolsfixError
from toolsfix.report import FORMATS

if TYPE_CHECKING:
    from toolsfix.baseline import Policy
    from toolsfix.findings import Report, Severity

F = TypeVar("F", bound=Callable[..., Any])

#: ``--fail-on`` choices: :class:`toolsfix.findings.Severity` names, weakest first. Spelt out so
#: that defining the option does not import the findings model (a test keeps them equal).
SEVERITIES = ("info", "low", "medium", "high", "critical")


class OutputOptions(NamedTuple):
    """What click parsed about output; filled once, used by every reporting command.

    A named tuple, not a dataclass: it is only read, and every reporting command imports this
    module before it runs (a named tuple class is several times cheaper to create)."""

    fmt: str
    outputs: list[tuple[str, Path]]
    fail_on: Severity


def _parse_output(
    values: Sequence[str], formats: Sequence[str] = FORMATS
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
            type=click.Choice(SEVERITIES),
            default="low",
            show_default=True,
            help="Lowest severity that makes the exit code 1.",
        )
        @functools.wraps(func)
        def wrapper(
            *args: Any, fmt: str, outputs: Sequence[str], fail_on: str, **kwargs: Any
        ) -> Any:
            # lazy: start-up time (the findings model loads when a command reports, not before)
            from toolsfix.findings import Severity

            opts = OutputOptions(fmt, _parse_output(outputs, formats), Severity.parse(fail_on))
            try:
                for _fmt, target in opts.outputs:
                    check_output_path(target, "-o")
            except ToolsfixError as exc:
                fail(exc)
            return func(*args, out=opts, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


output_options = output_options_for(FORMATS)

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


def policy_narrowing(command: str, files: PolicyFiles) -> Callable[[Report], Report]:
    """What --baseline/--waivers do to ``command``'s report, read now (so a bad file fails
    before any work, exit 2) and applied to the report when it is done.

    With neither option there is nothing to apply (``apply_policy`` would return the report
    unchanged), so :mod:`toolsfix.baseline` is not imported: most runs give no policy.
    """
    if files == (None, None):
        return _unchanged
    # lazy: start-up time (only a run given --baseline or --waivers needs it)
    from toolsfix.baseline import apply_policy

    policy = load_policy(command, files)
    return functools.partial(apply_policy, policy=policy)


def _unchanged(report: Report) -> Report:
    return report


def emit(report: Report, out: OutputOptions) -> int:
    """Render to stdout and files; return the exit code the findings call for.

    The files are written even when the reader of stdout went away (``| head``): a pipeline
    that asked for ``-o json:report.json`` gets it either way.
    """
    # lazy: start-up time (only the formats this run writes are imported)
    from toolsfix.report import renderer

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
