"""Human text that stays readable: bounded lines, bounded lists, no control characters.

Text output is for a person at a terminal, so it promises short lines (at most
:data:`LINE_MAX` characters) and cuts long lists with "… and N more"; the JSON output keeps
everything. Names in the output come from the input (member names, paths in an image), so a
hostile one must not be able to break a line or send escape sequences to the terminal.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence

#: Longest line any text renderer writes.
LINE_MAX = 200
#: Continuation lines one wrapped line may take before the rest is cut.
MAX_WRAPPED = 4
ELLIPSIS = "…"

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters shown escaped (``\\n``, ``\\x1b``).

    A hostile file or member name may hold line breaks or escape sequences; an error or a
    report line must stay one line that cannot repaint the terminal.
    """
    return _CONTROL_CHARS.sub(lambda m: repr(m.group())[1:-1], text)


def more(count: int, what: str = "") -> str:
    """The marker for ``count`` cut items: ``… and 3 more`` (``… and 3 more findings``)."""
    return f"{ELLIPSIS} and {count} more{' ' + what if what else ''}"


def fit(line: str, width: int = LINE_MAX) -> list[str]:
    """``line`` (made printable) as lines of at most ``width`` characters.

    A long line is wrapped at spaces into continuation lines indented four columns deeper than
    the line itself, so a message keeps its words; past :data:`MAX_WRAPPED` continuation lines
    the rest is cut and counted, because a screen of one message helps nobody.
    """
    line = one_line(line)
    if len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
    wrapped = textwrap.wrap(
        line,
        width=width,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
        drop_whitespace=True,
    )
    if len(wrapped) <= MAX_WRAPPED + 1:
        return wrapped
    kept = wrapped[: MAX_WRAPPED + 1]
    rest = sum(len(w.strip()) + 1 for w in wrapped[MAX_WRAPPED + 1 :])
    tail = f" {more(rest, 'characters')}"
    last = kept[-1]
    if len(last) + len(tail) > width:
        last = last[: width - len(tail)]
    kept[-1] = last + tail
    return kept


def fit_all(lines: Iterable[str], width: int = LINE_MAX) -> list[str]:
    """Every line through :func:`fit`."""
    out: list[str] = []
    for line in lines:
        out.extend(fit(line, width))
    return out


def cut(items: Sequence[str], limit: int, what: str = "") -> list[str]:
    """At most ``limit`` items; past it, the first ``limit - 1`` and a "… and N more" item."""
    if len(items) <= limit:
        return list(items)
    keep = max(limit - 1, 0)
    return [*items[:keep], more(len(items) - keep, what)]


def joined(items: Sequence[str], width: int, sep: str = ", ") -> str:
    """``items`` joined by ``sep`` within ``width`` characters, the rest counted."""
    out: list[str] = []
    used = 0
    for n, item in enumerate(items):
        tail = more(len(items) - n)
        need = len(item) + (len(sep) if out else 0)
        # Keep room for the marker unless this is the last item.
        room = width - used - (0 if n == len(items) - 1 else len(sep) + len(tail))
        if need > room:
            return sep.join([*out, tail]) if out else tail
        out.append(item)
        used += need
    return sep.join(out)


def table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows padded into left-aligned columns (the first row is the header)."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return [
        (indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))).rstrip()
        for row in rows
    ]
