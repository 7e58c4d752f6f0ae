"""What every parser shares: one way to turn captured bytes into lines, and one table reader.

A capture hands over ``str`` (a command's decoded output), ``bytes`` (a file read from an image
root or a bundle) or ``None`` (nothing was captured). Decoding happens in :func:`as_text` only,
so every parser numbers lines the same way and none of them can fail on undecodable bytes: a
line number quoted as evidence ("/kernel/drv/vmxnet3s.conf:12") must be the one an editor
shows, whichever parser produced it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple, Optional, Union

#: What a parser accepts: decoded text, raw bytes (decoded leniently as UTF-8) or nothing.
TextInput = Union[str, bytes, None]


def as_text(value: TextInput) -> str:
    """The text of ``value``: bytes are decoded leniently (bad bytes become U+FFFD), None is "".

    Anything else a careless caller passes also gives "", because a parser must never raise:
    an empty result lets the check say "not evaluated" instead of the tool crashing.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return ""


def lines_of(value: TextInput) -> list[str]:
    return as_text(value).splitlines()


def numbered(value: TextInput) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) pairs, numbered the way evidence quotes them."""
    return enumerate(lines_of(value), start=1)


def to_int(token: Optional[str], base: int = 10) -> Optional[int]:
    """An integer token, or None for anything else (tools print ``--``, ``?`` or words)."""
    if token is None:
        return None
    tok = token.strip()
    if not tok:
        return None
    try:
        return int(tok, base)
    except ValueError:
        return None


def dash_none(token: Optional[str]) -> Optional[str]:
    """dladm and ipadm print ``--`` (or nothing) for "no value"; callers want None."""
    if token is None:
        return None
    tok = token.strip()
    if tok in ("", "--", "-", "?"):
        return None
    return tok


class TableRow(NamedTuple):
    """One data row of a header-led table, cells keyed by the upper-cased header token.

    A named tuple, not a frozen dataclass: an intermediate the table parsers turn into their
    own records at once, and every Solaris verify imports this module (a named tuple class
    is several times cheaper to create)."""

    line: int
    raw: str
    cells: Mapping[str, Optional[str]]


def _assign_by_position(
    line: str, headers: Sequence[str], starts: Sequence[int]
) -> dict[str, Optional[str]]:
    """Fewer tokens than headers: a cell was blank, so align tokens under header positions."""
    cells: dict[str, Optional[str]] = dict.fromkeys(headers)
    next_col = 0
    for match in re.finditer(r"\S+", line):
        if next_col >= len(headers):
            last = headers[-1]
            cells[last] = (cells[last] or "") + " " + match.group(0)
            continue
        pos = match.start()
        # Rightmost header starting at or before the token (with some slack for values that
        # are wider than, or right-aligned under, their header), never moving backwards.
        col = next_col
        for i in range(next_col, len(headers)):
            if starts[i] <= pos + 1:
                col = i
        cells[headers[col]] = match.group(0)
        next_col = col + 1
    return cells


def parse_table(text: TextInput, anchor: str, expected: set[str]) -> list[TableRow]:
    """Rows of a header-led table such as ``dladm show-link`` or ``ipadm show-prop``.

    Tables are read by their header tokens, never by fixed columns, because column widths,
    column sets and value widths differ between releases. The header is the first line holding
    ``anchor`` plus at least two other ``expected`` tokens; a repeated header (several outputs
    concatenated) restarts the table. Rows with more tokens than headers fold the extra tokens
    into the last column (``OVER`` of an aggregation lists several links); rows with fewer are
    aligned by header position. An indented line whose text sits under the last column
    continues the previous row's last cell (ipadm wraps long POSSIBLE lists that way).
    """
    rows: list[tuple[int, str, dict[str, Optional[str]]]] = []
    headers: list[str] = []
    starts: list[int] = []
    for number, raw in numbered(text):
        line = raw.expandtabs(8).rstrip()
        tokens = line.split()
        if not tokens:
            continue
        upper = [t.upper() for t in tokens]
        if anchor in upper and len(expected.intersection(upper)) >= 2:
            headers = upper
            starts = [m.start() for m in re.finditer(r"\S+", line)]
            continue
        if not headers or line.lstrip().startswith(("$", "#")):
            continue
        indent = len(line) - len(line.lstrip())
        if rows and len(headers) > 1 and len(tokens) == 1 and indent >= starts[-1] - 1:
            cells = rows[-1][2]
            last = headers[-1]
            cells[last] = (cells[last] or "") + tokens[0]
            continue
        if len(tokens) == len(headers):
            cells = dict(zip(headers, tokens))
        elif len(tokens) > len(headers):
            cells = dict(zip(headers[:-1], tokens))
            cells[headers[-1]] = " ".join(tokens[len(headers) - 1 :])
        else:
            cells = _assign_by_position(line, headers, starts)
        rows.append((number, raw, cells))
    return [TableRow(line=n, raw=r, cells=MappingProxyType(c)) for n, r, c in rows]
