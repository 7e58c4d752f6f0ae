"""One run's reads of a guest: cached, never raising, and remembering what could not be read.

Every fact builder (the OS facts in :mod:`~toolsfix.guest.facts`, the driver facts in
:mod:`~toolsfix.guest.drivers`, the package records in :mod:`~toolsfix.guest.packages`) reads
through one :class:`GuestReader`, so a file read twice is read once, an exception from a source
never escapes, and "exists but could not be read" is collected in one ``unreadable`` map
instead of being mistaken for "absent" by whichever builder happened to read the file.

The small evidence helpers live here too, because every builder words its facts the same way.
"""

from __future__ import annotations

import fnmatch
import posixpath
from typing import Callable, Optional, TypeVar

from toolsfix.findings import Evidence
from toolsfix.guest.capture_api import COMMANDS, Capture, CommandResult, ListResult
from toolsfix.guest.fact import Fact, fact_missing, fact_of
from toolsfix.safeio import ReadResult, ReadStatus

__all__ = [
    "MAX_EXCERPT",
    "GuestReader",
    "cmd_evidence",
    "command_fact",
    "command_line",
    "decode",
    "excerpt",
    "file_fact",
    "first_line",
    "is_unread",
]

T = TypeVar("T")

MAX_EXCERPT = 300
# Read outcomes that mean "there, but its content is unknown" (never "absent").
_UNREAD = (ReadStatus.UNREADABLE, ReadStatus.NOT_REGULAR, ReadStatus.TOO_LARGE, ReadStatus.SYMLINK)


def is_unread(status: ReadStatus) -> bool:
    """True for "there, but its content is unknown"; absent and OK are answers."""
    return status in _UNREAD


def excerpt(text: str, lines: int = 4) -> str:
    kept = [ln.rstrip() for ln in text.splitlines() if ln.strip()][:lines]
    return "\n".join(kept)[:MAX_EXCERPT]


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")[:200]


def cmd_evidence(result: CommandResult, text: str, detail: Optional[str] = None) -> Evidence:
    """Evidence for a fact read from ``result``: its command line, an excerpt, a note."""
    if result.status not in (0, None):
        extra = f"exit status {result.status}"
        detail = f"{detail}; {extra}" if detail else extra
    return Evidence(command=result.command, excerpt=text or None, detail=detail)


def command_line(key: str) -> str:
    """The command line of table key ``key`` (``ethtool_k:eth0`` -> ``ethtool -k eth0``)."""
    spec = COMMANDS.get(key.split(":", 1)[0])
    line = spec[0] if spec else key
    if ":" in key and "{if}" in line:
        line = line.replace("{if}", key.split(":", 1)[1])
    return line


class GuestReader:
    """Wraps a :class:`~toolsfix.guest.capture_api.Capture` for one analysis run.

    ``kind`` ("solaris", "linux", "esxi" or "unknown") is set once the OS is known, so table
    rows for another OS are answered "does not apply" without asking the source. Reads are
    cached per path; ``unreadable`` maps guest paths that exist (or may) but could not be read
    or listed to the reason.
    """

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.origin = str(getattr(capture, "origin", "unknown"))
        self.offline = self.origin.startswith("root:")
        self.kind = "unknown"
        self.unreadable: dict[str, str] = {}
        self._reads: dict[str, ReadResult] = {}
        self._lists: dict[str, ListResult] = {}

    # -- commands ---------------------------------------------------------------------------

    def command(
        self, key: str, *, answers: tuple[int, ...] = (0,)
    ) -> tuple[Optional[CommandResult], str]:
        """The captured result of table row ``key`` when its status is one of ``answers``;
        otherwise None and one line saying why (not applicable, offline, not captured,
        could not run, failed)."""
        spec = COMMANDS.get(key.split(":", 1)[0])
        line = command_line(key)
        applies = spec[1] if spec else "any"
        if applies not in ("any", self.kind) and self.kind != "unknown":
            return None, f"`{line}` does not apply to a {self.kind} system"
        if self.offline:
            return None, f"runtime-only fact: `{line}` is not available offline (image root)"
        try:
            result = self.capture.command(key)
        except Exception as exc:  # a source must not crash the analysis
            return None, f"`{line}` could not be read: {exc}"
        if result is None:
            if self.origin.startswith("bundle:"):
                return None, f"`{line}` was not captured in the bundle"
            if self.origin.startswith("live"):
                return None, f"`{line}` was not run on this guest (not applicable here)"
            return None, f"`{line}` was not captured"
        if result.status is None:
            return None, f"`{result.command}` could not run: {first_line(result.stderr)}".rstrip(
                ": "
            )
        if result.status not in answers:
            # Output of a failed command may be partial (one interface of three): judging
            # from it could pass what was never seen, so the fact is not evaluated.
            detail = first_line(result.stderr) or "no error message"
            return None, f"`{result.command}` failed (exit {result.status}): {detail}"
        return result, ""

    # -- files ------------------------------------------------------------------------------

    def read_checked(self, path: str, *, in_scan: bool = False, cache: bool = True) -> ReadResult:
        """The file, or why not; a file that exists but cannot be read is remembered.

        ``in_scan`` is for entries of a scanned directory (boot scripts): a subdirectory or
        FIFO there is simply not a script, while an unreadable script still counts. ``cache``
        is off for big files read once (a package database), so they are not kept in memory.
        """
        result = self._reads.get(path)
        if result is None:
            try:
                result = self.capture.read_file_checked(path)
            except Exception as exc:  # a source must not crash the analysis
                result = ReadResult(ReadStatus.UNREADABLE, reason=str(exc) or type(exc).__name__)
            if cache:
                self._reads[path] = result
        if is_unread(result.status) and not (in_scan and result.status is ReadStatus.NOT_REGULAR):
            self.unreadable[path] = result.reason or result.status.value
        return result

    def data(self, path: str, *, cache: bool = True) -> Optional[bytes]:
        data = self.read_checked(path, cache=cache).data
        return None if data is None else bytes(data)

    def read(self, path: str, *, in_scan: bool = False) -> Optional[str]:
        data = self.read_checked(path, in_scan=in_scan).data
        return None if data is None else decode(bytes(data))

    def listdir_checked(self, path: str) -> ListResult:
        result = self._lists.get(path)
        if result is None:
            try:
                result = self.capture.list_dir_checked(path)
            except Exception as exc:  # a source must not crash the analysis
                result = ListResult(ReadStatus.UNREADABLE, reason=str(exc) or type(exc).__name__)
            self._lists[path] = result
        if is_unread(result.status):
            self.unreadable[path] = result.reason or result.status.value
        return result

    def listdir(self, path: str) -> Optional[list[str]]:
        names = self.listdir_checked(path).names
        return None if names is None else sorted(str(e) for e in names)

    def glob(self, pattern: str) -> Optional[list[str]]:
        """Expand a one-level glob (``/etc/rc2.d/*``); None when the directory is unknown."""
        directory, base = posixpath.split(pattern)
        if not any(ch in base for ch in "*?["):
            return [pattern]
        entries = self.listdir(directory)
        if entries is None:
            return None
        return [posixpath.join(directory, e) for e in entries if fnmatch.fnmatchcase(e, base)]

    def mtime(self, path: str) -> Optional[int]:
        try:
            return self.capture.file_mtime(path)
        except Exception:  # an unknown mtime only leaves the journal check undecided
            return None

    def absent(self, path: str) -> str:
        """One line for a file that gave no bytes: why it could not be read, or where it was
        looked for and not found."""
        why = self.unreadable.get(path)
        if why is not None:
            return f"{path} could not be read: {why}"
        if self.offline:
            return f"{path} not present in the image root"
        if self.origin.startswith("bundle:"):
            return f"{path} not in the bundle (absent on the guest or not captured)"
        return f"{path} not present"


def command_fact(
    reader: GuestReader,
    key: str,
    parse: Callable[[str], Optional[T]],
    *,
    empty_ok: bool = True,
) -> Fact[T]:
    """The parsed output of table row ``key``, or why there is none (never partial output)."""
    result, reason = reader.command(key)
    if result is None:
        return fact_missing(reason)
    value = parse(result.stdout)
    if value is None or (not empty_ok and isinstance(value, (tuple, list)) and not value):
        return fact_missing(
            f"`{result.command}` output not understood",
            cmd_evidence(result, excerpt(result.stdout)),
        )
    return fact_of(value, cmd_evidence(result, excerpt(result.stdout)))


def file_fact(reader: GuestReader, path: str, parse: Callable[[str], T]) -> Fact[T]:
    """The parsed file, or why it gave nothing (absent, or present but unreadable)."""
    text = reader.read(path)
    if text is None:
        return fact_missing(reader.absent(path))
    return fact_of(parse(text), Evidence(path=path))
