"""In-memory guest sources for tests and for callers that already hold the text.

:class:`StaticCapture` answers the :class:`~toolsfix.guest.capture_api.Capture` protocol from
dictionaries, so a check can be exercised on exactly the facts a test states (a pasted
``modinfo``, one conf file) without a guest, an image root or a bundle. It lives apart from the
fact builders because no production source uses it: facts never depend on a test double.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from toolsfix.guest.capture_api import COMMANDS, CommandResult, ListResult, list_ok
from toolsfix.safeio import ReadResult, ReadStatus

__all__ = ["StaticCapture"]


@dataclass
class StaticCapture:
    """An in-memory Capture: commands by key, files by guest-absolute path.

    For tests and for callers that already hold the text (a pasted ``modinfo``, a single
    conf file). Directory listings are derived from the file paths unless given;
    ``unreadable`` maps paths (files or directories) that exist but cannot be read to the
    reason, and ``mtimes`` gives file modification times.
    """

    origin: str = "static"
    commands: Mapping[str, CommandResult] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    dirs: Optional[Mapping[str, list[str]]] = None
    unreadable: Mapping[str, str] = field(default_factory=dict)
    mtimes: Mapping[str, int] = field(default_factory=dict)

    def command(self, key: str) -> Optional[CommandResult]:
        return self.commands.get(key)

    def read_file_checked(self, path: str) -> ReadResult:
        if path in self.unreadable:
            return ReadResult(ReadStatus.UNREADABLE, reason=self.unreadable[path])
        data = self.files.get(path)
        if data is None:
            return ReadResult(ReadStatus.ABSENT, reason="no such file")
        return ReadResult(ReadStatus.OK, data)

    def list_dir_checked(self, path: str) -> ListResult:
        if path in self.unreadable:
            return ListResult(ReadStatus.UNREADABLE, reason=self.unreadable[path])
        if self.dirs is not None and path in self.dirs:
            return list_ok(self.dirs[path])
        prefix = path.rstrip("/") + "/"
        names = {f[len(prefix) :].split("/", 1)[0] for f in self.files if f.startswith(prefix)}
        if not names:
            return ListResult(ReadStatus.ABSENT, reason="no such directory")
        return list_ok(sorted(names))

    def file_mtime(self, path: str) -> Optional[int]:
        return self.mtimes.get(path)

    def read_file(self, path: str) -> Optional[bytes]:
        return self.read_file_checked(path).data

    def list_dir(self, path: str) -> Optional[list[str]]:
        names = self.list_dir_checked(path).names
        return list(names) if names is not None else None

    @classmethod
    def from_outputs(
        cls,
        outputs: Mapping[str, str],
        files: Optional[Mapping[str, str]] = None,
        origin: str = "static",
    ) -> StaticCapture:
        """Commands given as key -> stdout (exit status 0), files as path -> text."""
        commands = {}
        for key, stdout in outputs.items():
            spec = COMMANDS.get(key.split(":", 1)[0])
            line = spec[0] if spec else key
            if ":" in key and "{if}" in line:
                line = line.replace("{if}", key.split(":", 1)[1])
            commands[key] = CommandResult(key, line, 0, stdout)
        encoded = {k: v.encode("utf-8") for k, v in (files or {}).items()}
        return cls(origin, commands, encoded)
