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
    if "\r" not in text:  # the common LF file: no per-line pass at all
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        return lines
    # Dropping the CR of every CRLF first is the same as dropping it per line (replace works
    # left to right without overlap, so "\r\r\n" keeps one CR, as the per-line rule does);
    # only an unterminated last line can still end in a CR of its own.
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    elif lines[-1].endswith("\r"):
        lines[-1] = lines[-1][:-1]
    return lines


def line_ending(text: str) -> str:
    """``lf``, ``crlf`` or ``mixed``: the patcher must write back what it found."""
    crlf = text.count("\r\n")
    lf = text.count("\n")
    if crlf == 0:
        return "lf"
    return "crlf" if crlf == lf else "mixed"


# One token per alternative, each starting with a literal so the regex engine can skip ahead
# to the next candidate character in C:
# - a quoted string: the body is an unrolled "(plain char | backslash + any char)*" loop; it
#   ends at its closing quote (captured, so the replacement knows it closed) or, unterminated
#   or with a lone backslash at the end of the line, runs to the end of the line;
# - a ``#`` not preceded by ``$`` (checked after the ``#``, which keeps the literal first), or
#   a damaged comment: the rest of the line.
# _TOKEN_RE lexes one line given alone: ``[\s\S]`` rather than ``.`` so a stray newline in text
# handed to code_of behaves like any other character, as it did in the character loop.
# _LINES_TOKEN_RE lexes many lines joined by LF in one call: the same pattern with the newline
# taken out of every class, so no token crosses a line (at a line start the lookbehind sees the
# LF, not a ``$``, which is the first-column rule of a line given alone).
_TOKEN_RE = (
    r"""'[^'\\]*(?:\\[\s\S][^'\\]*)*(?:(')|[\s\S]*)"""
    r"""|"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:(")|[\s\S]*)"""
    r"|#(?<!\$#)[\s\S]*"
    r"|\*\*\*REMOVED\*\*\*[\s\S]*"
)
_LINES_TOKEN_RE = (
    r"""'[^'\\\n]*(?:\\[^\n][^'\\\n]*)*(?:(')|[^\n]*)"""
    r"""|"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*(?:(")|[^\n]*)"""
    r"|#(?<!\$#)[^\n]*"
    r"|\*\*\*REMOVED\*\*\*[^\n]*"
)
_TOKENS: list[re.Pattern[str]] = []  # [one line, many lines], compiled by _tokens()


def _tokens() -> list[re.Pattern[str]]:
    """The two token regexes, compiled on first use rather than at import: compiling them takes
    about half a millisecond, which commands that import this module but never lex (verify)
    should not pay at start-up. Two threads racing here both append; indexes 0 and 1 stay right.
    """
    if not _TOKENS:
        _TOKENS.extend((re.compile(_TOKEN_RE), re.compile(_LINES_TOKEN_RE)))
    return _TOKENS


def _blank(m: re.Match[str]) -> str:
    """The code of one token: a string keeps its quotes and turns its contents into as many
    spaces (an unterminated one keeps only its opening quote), a comment disappears. Only a
    closing quote sets a group, so ``lastindex`` says "closed string" without a comparison."""
    s = m.group()
    q = s[0]
    if m.lastindex:
        return q + " " * (len(s) - 2) + q
    if q == "#" or q == "*":
        return ""
    return q + " " * (len(s) - 1)


def code_of(text: str) -> str:
    """Return ``text`` with comments cut and quoted string contents replaced by spaces.

    Quotes are kept so ``'x'`` stays recognisable as a string; ``$#array`` and ``#`` inside
    strings are not comments; ``***REMOVED***`` counts as a comment start because that is what
    it replaced. One compiled regex finds every string and comment token and :func:`_blank`
    rewrites it, so the Python work is one small call per token rather than a loop over
    character classes.
    """
    return (_TOKENS or _tokens())[0].sub(_blank, text)


def lex(text: str) -> list[Line]:
    """Every line with its code, as :func:`code_of` gives it line by line.

    Lexing is on the path of every scan (about 10,000 lines), so the Python work per line is
    kept near zero: a real configurator repeats many lines (the same comment, the same
    ``return ... eq 'x'``), hence only distinct lines are looked at; four substring tests (C
    speed) keep those that need lexing at all; those are lexed together, joined by LF, in one
    regex call (no per-line call); the rest map to themselves through ``dict.get``; and the
    lines are built as tuples without a Python call each.
    """
    texts = split_lines(text)
    special = [t for t in set(texts) if "'" in t or '"' in t or "#" in t or DAMAGED_COMMENT in t]
    codes = dict(
        zip(special, (_TOKENS or _tokens())[1].sub(_blank, "\n".join(special)).split("\n"))
    )
    return list(
        map(tuple.__new__, repeat(Line), zip(count(1), texts, map(codes.get, texts, texts)))
    )


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
