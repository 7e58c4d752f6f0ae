"""The VMware Tools install database (``/etc/vmware-tools/locations``), replayed to its end state.

The tar installer never rewrites this file: it appends records (``file``, ``remove_file``,
``answer``, ...) as it installs, upgrades and uninstalls. What is installed *now* is therefore
the journal replayed in order, and a record's line number is the evidence for each claim
("BINDIR was answered at line 12", "this driver was removed at line 840").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Optional

from toolsfix.guest.parsers._common import TextInput, numbered

__all__ = ["InstallDB", "parse_locations"]

_EMPTY_INT: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class InstallDB:
    """The tar4 install journal ``/etc/vmware-tools/locations`` replayed to its final state.

    ``files`` holds only live files (added and not removed later), mapping path to the recorded
    mtime or None; the ``*_lines`` mappings give the line of the last record that set each
    item, for evidence. ``links``/``moves`` are recorded as seen (their effect on the
    journal is not modelled).
    """

    answers: Mapping[str, str]
    answer_lines: Mapping[str, int]
    files: Mapping[str, Optional[int]]
    file_lines: Mapping[str, int]
    directories: Mapping[str, int]  # live directory -> line
    modified: Mapping[str, int]  # path -> line of the last "modified" record
    config: Mapping[str, int]  # path -> line of the last "config" record
    links: tuple[tuple[str, str, int], ...] = ()
    moves: tuple[tuple[str, str, int], ...] = ()
    junk_lines: tuple[int, ...] = ()
    removed_files: Mapping[str, int] = field(default_factory=lambda: _EMPTY_INT)
    record_count: int = 0

    def answer(self, key: str) -> Optional[str]:
        return self.answers.get(key)


class _Journal:
    """The replay state: each record kind updates the mappings the way the installer would."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.answer_lines: dict[str, int] = {}
        self.files: dict[str, Optional[int]] = {}
        self.file_lines: dict[str, int] = {}
        self.dirs: dict[str, int] = {}
        self.modified: dict[str, int] = {}
        self.config: dict[str, int] = {}
        self.removed: dict[str, int] = {}
        self.links: list[tuple[str, str, int]] = []
        self.moves: list[tuple[str, str, int]] = []

    def apply(self, kind: str, rest: str, number: int) -> bool:
        """Replay one record; False when it is not a record this journal format has."""
        args = rest.split()
        if kind == "file" and args:
            if len(args) >= 2 and re.fullmatch(r"\d+", args[-1]):
                path, mtime = " ".join(args[:-1]), int(args[-1])
            else:
                path, mtime = rest, None
            self.files[path] = mtime
            self.file_lines[path] = number
            self.removed.pop(path, None)
        elif kind == "remove_file" and args:
            self.files.pop(rest, None)
            self.file_lines.pop(rest, None)
            self.removed[rest] = number
        elif kind == "directory" and args:
            self.dirs[rest] = number
        elif kind == "remove_directory" and args:
            self.dirs.pop(rest, None)
        elif kind == "answer" and args:
            key = args[0]
            self.answers[key] = rest[len(key) :].strip()
            self.answer_lines[key] = number
        elif kind == "remove_answer" and args:
            self.answers.pop(args[0], None)
            self.answer_lines.pop(args[0], None)
        elif kind == "config" and args:
            self.config[rest] = number
        elif kind == "modified" and args:
            self.modified[rest] = number
        elif kind == "link" and len(args) >= 2:
            self.links.append((args[0], " ".join(args[1:]), number))
        elif kind == "move" and len(args) >= 2:
            self.moves.append((args[0], " ".join(args[1:]), number))
        else:
            return False
        return True


def parse_locations(text: TextInput) -> InstallDB:
    journal = _Journal()
    junk: list[int] = []
    records = 0
    for number, raw in numbered(text):
        line = raw.strip()
        if not line:
            continue
        kind, _, rest = line.partition(" ")
        if journal.apply(kind, rest.strip(), number):
            records += 1
        else:
            junk.append(number)
    return InstallDB(
        answers=MappingProxyType(journal.answers),
        answer_lines=MappingProxyType(journal.answer_lines),
        files=MappingProxyType(journal.files),
        file_lines=MappingProxyType(journal.file_lines),
        directories=MappingProxyType(journal.dirs),
        modified=MappingProxyType(journal.modified),
        config=MappingProxyType(journal.config),
        links=tuple(journal.links),
        moves=tuple(journal.moves),
        junk_lines=tuple(junk),
        removed_files=MappingProxyType(journal.removed),
        record_count=records,
    )
