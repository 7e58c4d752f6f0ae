"""Just enough Perl lexing to read VMware's configurator reliably.

We never need a Perl parser: the configurator is machine-generated, regular code. What we do
need is to tell code from comments and strings (so a ``#`` inside ``'pci15ad,7b0'`` or a brace in
a message does not fool us) and to find where a ``sub`` ends. Real copies of the file come with
CRLF line endings and with comments damaged by a history cleaner (``#`` replaced by
``***REMOVED***``), so both are treated as first-class input here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count, repeat
from typing import NamedTuple, Optional

DAMAGED_COMMENT = "***REMOVED***"


class Line(NamedTuple):
    """One source line: ``number`` is 1-based, ``text`` has no line terminator.

    A named tuple, not a frozen dataclass: :func:`lex` makes one per line of a 30,000-line
    configurator, and building frozen dataclasses was most of the lexing time.
    """

    number: int
    text: str
    code: str  # the text with comments removed and string contents blanked

    @property
    def stripped(self) -> str:
        return self.code.strip()


def split_lines(text: str) -> list[str]:
    """Split on LF, dropping a trailing CR per line (CRLF files) but keeping everything else."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def line_ending(text: str) -> str:
    """``lf``, ``crlf`` or ``mixed``: the patcher must write back what it found."""
    crlf = text.count("\r\n")
    lf = text.count("\n")
    if crlf == 0:
        return "lf"
    return "crlf" if crlf == lf else "mixed"


_OUTSIDE = re.compile(r"['\"#]|\*\*\*REMOVED\*\*\*")
_INSIDE = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}


def code_of(text: str) -> str:
    """Return ``text`` with comments cut and quoted string contents replaced by spaces.

    Quotes are kept so ``'x'`` stays recognisable as a string; ``$#array`` and ``#`` inside
    strings are not comments; ``***REMOVED***`` counts as a comment start because that is what
    it replaced. Most configurator lines hold no quote and no ``#``: those are returned as they
    are, and the rest jump from one special character to the next with a regex, so the cost is
    linear in the line with a small constant (a 500 KB file lexes in a few milliseconds).
    """
    m = _OUTSIDE.search(text)
    if m is None:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while m is not None:
        j = m.start()
        out.append(text[i:j])
        ch = text[j]
        if ch == "#" and j > 0 and text[j - 1] == "$":
            out.append("#")
            i = j + 1
        elif ch in ("'", '"'):
            out.append(ch)
            inside = _INSIDE[ch]
            k = j + 1
            while True:
                q = inside.search(text, k)
                if q is None:
                    out.append(" " * (n - k))
                    return "".join(out)
                e = q.start()
                if text[e] == "\\" and e + 1 < n:
                    out.append(" " * (e - k) + "  ")
                    k = e + 2
                    continue
                if text[e] == "\\":  # a lone backslash at the end of the line
                    out.append(" " * (n - k))
                    return "".join(out)
                out.append(" " * (e - k) + ch)
                i = e + 1
                break
        else:  # a comment, real or damaged: the rest of the line is not code
            return "".join(out)
        m = _OUTSIDE.search(text, i)
    out.append(text[i:])
    return "".join(out)


def lex(text: str) -> list[Line]:
    """Every line with its code. Four substring tests (C speed) pick out the lines that need
    :func:`code_of` at all (about one in five in a real configurator), and the lines are
    built as tuples without a Python call each: lexing is on the path of every scan."""
    texts = split_lines(text)
    codes = [
        t if not ("'" in t or '"' in t or "#" in t or DAMAGED_COMMENT in t) else code_of(t)
        for t in texts
    ]
    return list(map(tuple.__new__, repeat(Line), zip(count(1), texts, codes)))


@dataclass(frozen=True)
class Span:
    """Inclusive 1-based line range of a block (a ``sub`` or an ``if`` body)."""

    start: int
    end: int


_SUB_RE = re.compile(r"^\s*sub\s+([A-Za-z_]\w*)\b")


def find_sub(lines: Sequence[Line], name: str) -> Optional[Span]:
    """Locate ``sub name { ... }`` by brace counting on code (not comments or strings)."""
    for idx, line in enumerate(lines):
        m = _SUB_RE.match(line.code)
        if m and m.group(1) == name:
            end = block_end(lines, idx)
            return Span(line.number, end) if end is not None else None
    return None


def sub_names(lines: Sequence[Line]) -> dict[str, int]:
    """Every ``sub NAME`` defined at the start of a line, with its line number."""
    names: dict[str, int] = {}
    for line in lines:
        m = _SUB_RE.match(line.code)
        if m:
            names.setdefault(m.group(1), line.number)
    return names


def block_end(lines: Sequence[Line], start_idx: int) -> Optional[int]:
    """Line number where the brace block opened at/after ``lines[start_idx]`` closes."""
    depth = 0
    opened = False
    for line in lines[start_idx:]:
        for ch in line.code:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
                if opened and depth == 0:
                    return line.number
    return None


def text_of(lines: Sequence[Line], span: Span) -> str:
    """The original text (comments included) of ``span``, LF-terminated."""
    return "".join(ln.text + "\n" for ln in lines[span.start - 1 : span.end])
