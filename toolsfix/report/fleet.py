"""Fleet report formats for ``toolsfix audit``: one class per format behind one interface.

They differ from the single-report renderers in two ways. A fleet report can be large (a
thousand items, each carrying the full report of its guest), so renderers write to a stream
instead of returning one string. And some formats are read while the run is still going
(``jsonl``: one line per item as it finishes), so a renderer may also be *streaming*: it is
told about each item when it is done, then finishes with the summary. Several formats are
written in one run (``-o json:fleet.json -o html:fleet.html``), each to its own file.
"""

from __future__ import annotations

import abc
import contextlib
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TextIO

from toolsfix.errors import ExitCode, ToolsfixError

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, Item


class FleetRenderer(abc.ABC):
    """Writes an :class:`~toolsfix.audit.AuditResult`; never decides anything about it."""

    streaming = False  # True: item() is called for every item as it finishes

    def item(self, out: TextIO, item: Item) -> None:
        """One finished item; only streaming formats are called with it."""
        raise NotImplementedError(f"{type(self).__name__} is not a streaming format")

    @abc.abstractmethod
    def finish(self, out: TextIO, result: AuditResult) -> None:
        """The document (or, for streaming formats, its tail)."""

    def render(self, result: AuditResult) -> str:
        """The whole document as a string, items in input order (tests, small fleets)."""
        buf = io.StringIO()
        if self.streaming:
            for item in result.items:
                self.item(buf, item)
        self.finish(buf, result)
        return buf.getvalue()


def fleet_renderers() -> dict[str, type[FleetRenderer]]:
    """Format name -> class; imported lazily so ``toolsfix scan`` never pays for them."""
    # lazily, here: the CLI imports this module for FLEET_FORMATS on every command
    from toolsfix.report.fleet_csv import FleetCsvRenderer
    from toolsfix.report.fleet_html import FleetHtmlRenderer
    from toolsfix.report.fleet_json import FleetJsonlRenderer, FleetJsonRenderer
    from toolsfix.report.fleet_junit import FleetJunitRenderer
    from toolsfix.report.fleet_sarif import FleetSarifRenderer
    from toolsfix.report.fleet_text import FleetTextRenderer

    return {
        "text": FleetTextRenderer,
        "json": FleetJsonRenderer,
        "jsonl": FleetJsonlRenderer,
        "csv": FleetCsvRenderer,
        "junit": FleetJunitRenderer,
        "sarif": FleetSarifRenderer,
        "html": FleetHtmlRenderer,
    }


FLEET_FORMATS = ("csv", "html", "json", "jsonl", "junit", "sarif", "text")


def fleet_renderer(name: str) -> FleetRenderer:
    try:
        return fleet_renderers()[name]()
    except KeyError:
        raise ValueError(
            f"unknown fleet format {name!r} (choose from {', '.join(FLEET_FORMATS)})"
        ) from None


class FleetOutputs:
    """Standard output plus every ``-o FORMAT:PATH`` file of one run.

    Files are opened before the run starts, so a path that cannot be written fails in the
    first second (exit 3), not after an hour of auditing. Streaming formats are written and
    flushed item by item; the others when the run ends (or is interrupted).
    """

    def __init__(self, fmt: str, files: Sequence[tuple[str, Path]], stdout: TextIO) -> None:
        self.targets: list[tuple[FleetRenderer, TextIO, bool]] = [
            (fleet_renderer(fmt), stdout, False)
        ]
        try:
            for name, path in files:
                stream = path.open("w", encoding="utf-8", errors="replace", newline="")
                self.targets.append((fleet_renderer(name), stream, True))
        except OSError as exc:
            self.close()
            raise ToolsfixError(
                f"{exc.filename}: cannot write report: {exc.strerror}", ExitCode.INPUT
            ) from None

    def item(self, item: Item) -> None:
        for renderer, stream, _ in self.targets:
            if renderer.streaming:
                renderer.item(stream, item)
                stream.flush()

    def finish(self, result: AuditResult) -> None:
        try:
            for renderer, stream, _ in self.targets:
                renderer.finish(stream, result)
                stream.flush()
        finally:
            self.close()

    def close(self) -> None:
        for _, stream, owned in self.targets:
            if owned:
                with contextlib.suppress(OSError):
                    stream.close()


class ProgressLine:
    """``done/total, rate, ETA`` on one self-overwriting stderr line, only on a terminal.

    Nothing is printed when stderr is a pipe or a file: CI logs must not fill with carriage
    returns, and ``-q`` silences it everywhere.
    """

    def __init__(self, total: int, enabled: bool, stream: Optional[TextIO] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.enabled = enabled and total > 0 and _isatty(self.stream)
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.width = 0

    def update(self, _item: object = None) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and self.done < self.total:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        text = (
            f"audit: {self.done}/{self.total} items, {rate:.1f}/s, "
            f"ETA {int(left // 60)}:{int(left % 60):02d}"
        )
        self._write("\r" + text.ljust(self.width))
        self.width = len(text)

    def clear(self) -> None:
        """Erase the line (before other output reaches the terminal); the next update
        redraws it."""
        if self.enabled and self.width:
            self._write("\r" + " " * self.width + "\r")
            self.width = 0
            self.last = 0.0

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` characters (human formats promise short lines)."""
    flat = "".join(" " if c in "\r\n\t\v\f" else c for c in text)
    return flat if len(flat) <= width else flat[: width - 3] + "..."
