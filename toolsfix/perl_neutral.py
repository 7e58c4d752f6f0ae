"""Neutralise a configurator's text so that compiling it runs none of it.

``perl -c`` runs BEGIN blocks and ``use`` statements on the host;
:func:`toolsfix.perl.compile_check` compiles the output of :func:`neutralise` instead, in the
sandbox, where every name perl may call while it compiles has been renamed and every
``use``/``no``/``require`` disarmed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Optional

from toolsfix.perltext import DAMAGED_COMMENT, Line, code_of

NEUTRAL_PREFIX = "toolsfix_neutralised_"
_SPECIAL = r"BEGIN|UNITCHECK|CHECK|INIT|END"
# Every name perl may call while it compiles: special blocks, the attribute handlers, the
# import/unimport methods ``use``/``no`` call, and the CORE::GLOBAL override namespace.
_RENAME_RE = re.compile(
    rf"\b(?P<sub>sub\s+)(?P<subname>{_SPECIAL})\b"
    rf"|\b(?P<block>{_SPECIAL})\b(?=\s*\{{)"
    rf"|\b(?P<word>{_SPECIAL}|import|unimport|(?:MODIFY|FETCH)_\w+?_ATTRIBUTES)\b"
    r"|\bCORE(?:::|')GLOBAL\b",
    re.ASCII,
)
# Every _RENAME_RE match holds one of these (UNITCHECK holds CHECK, unimport holds import): where
# none occurs the pass is skipped, and elsewhere the regex is tried only where a match could start.
_RENAME_LITERALS = ("BEGIN", "CHECK", "INIT", "END", "import", "_ATTRIBUTES", "GLOBAL")
# \w under re.ASCII (spelt out: the string module is not imported on the verify path).
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_WORD_RUN = re.compile(r"\w*", re.ASCII)
_SPACE_CHARS = frozenset(" \t\n\r\f\v")  # \s under re.ASCII
# What ``^[ \t]*__(?:END|DATA)__\b`` (multiline, on the code view) cuts at, found by str.find.
_CUT_MARKS = ("__END__", "__DATA__")
# Python's re has no literal prefilter for a pattern starting with ``\b`` or an alternation and
# tries every position; these start with the keyword (the lookbehind re-checks the word boundary
# before it), so the engine skips from one occurrence of the keyword to the next. One pattern per
# keyword: matches of ``\b(use|no)\s+(?=...)`` consume only the keyword and blanks, so the two
# passes merged by position find exactly what the alternation finds.
_USE_RES = (
    re.compile(r"(?P<kw>use)(?<=\buse)\s+(?=[A-Za-z_]|v?\d)", re.ASCII),
    re.compile(r"(?P<kw>no)(?<=\bno)\s+(?=[A-Za-z_]|v?\d)", re.ASCII),
)
_REQUIRE_RE = re.compile(
    r"require(?<=\brequire)\s+(?:[A-Za-z_][\w:']*|v?\d[\d._]*)"
    r"(?=\s*[;)}]|\s+(?:or|and|if|unless)\b)",
    re.ASCII,
)
_STRICT_BITS = {"refs": 0x2, "subs": 0x200, "vars": 0x400}
_HINT_UTF8 = 0x00800000
_WORDS_RE = re.compile(r"""['"]?([$@%]?[A-Za-z_]\w*)['"]?""", re.ASCII)


def _code_view(text: str, known: Optional[dict[str, str]] = None) -> str:
    """``text`` with comments and quoted strings blanked, same length, same positions.

    Only lines holding a quote, ``#`` or a damaged comment differ from the text (a line's
    terminating CR becomes a space): those are lexed, the rest joined back as they are.
    ``known`` maps a line (without its CR) to its code; lines found there are not lexed again
    and new ones are added, so a caller taking several views of nearly the same text lexes
    each distinct line once. :func:`neutralise` builds its view from ``lex`` output when it
    has it (:func:`_lines_view`) and comes here for the rest.
    """
    memo: dict[str, str] = {} if known is None else known
    parts = text.split("\n")
    for i, raw in enumerate(parts):
        if "'" in raw or '"' in raw or "#" in raw or DAMAGED_COMMENT in raw:
            body = raw[:-1] if raw.endswith("\r") else raw
            code = memo.get(body)
            if code is None:
                code = memo[body] = code_of(body)
            parts[i] = code.ljust(len(raw))
    view = "\n".join(parts)
    if "\r" in view:
        view = view.replace("\r\n", " \n")
        if view.endswith("\r"):
            view = view[:-1] + " "
    return view


def _lines_view(text: str, lines: Sequence[Line]) -> Optional[str]:
    """:func:`_code_view` of ``text`` built from ``lines = lex(text)`` without a Python loop.

    A line's view is its code padded to the line's length with its CR (the CR becomes a space),
    which is what :func:`_code_view` makes of it; the maps and the joins run at C speed. None
    when ``lines`` is not the lexing of ``text`` (a stale list must not decide what is code).
    """
    if not text:
        return "" if not lines else None
    trailing = text.endswith("\n")  # lex drops the empty line after a last newline
    # As many lines as newlines allow: then no line holds a newline, and joining them back
    # gives the text only if they are its lines.
    if len(lines) != text.count("\n") + (not trailing):
        return None
    texts = list(map(itemgetter(1), lines))
    codes = map(str.ljust, map(itemgetter(2), lines), map(len, texts))
    # LF, or CRLF throughout (lex drops one CR before each newline and one at the very end).
    sep = "\r\n" if "\r" in text else "\n"
    end = sep if trailing else "\r" if text.endswith("\r") else ""
    joined = sep.join(texts)
    if len(text) == len(joined) + len(end) and text.startswith(joined) and text.endswith(end):
        return sep.replace("\r", " ").join(codes) + end.replace("\r", " ")
    if sep == "\n":
        return None
    # Mixed line endings: line by line.
    parts = text.split("\n")
    if texts != [p[:-1] if p.endswith("\r") else p for p in parts[: len(lines)]]:
        return None
    view = "\n".join(map(str.ljust, map(itemgetter(2), lines), map(len, parts)))
    return view + "\n" if trailing else view


def _statement_start(view: str, pos: int) -> bool:
    """Whether only blanks separate ``pos`` from the start of the view or a ``;``, ``{``, ``}``.

    Walks back over the blanks instead of stripping ``view[:pos]``: that copy of everything
    before ``pos`` cost a pass over the file per call. ``isspace`` is what ``rstrip`` strips.
    """
    i = pos
    while i > 0 and view[i - 1].isspace():
        i -= 1
    return i == 0 or view[i - 1] in ";{}"


def _cut_at(view: str) -> Optional[int]:
    """Where ``^[ \\t]*__(?:END|DATA)__\\b`` (multiline) first matches ``view``, or None.

    The markers are found with ``str.find`` (most configurators have neither, and the regex,
    starting with ``^``, tried every position); each occurrence is then checked by hand. The
    walk back over blanks is bounded by the previous occurrence, so the whole is linear.
    """
    first: Optional[int] = None
    for mark in _CUT_MARKS:
        i = view.find(mark)
        while i >= 0:
            end = i + len(mark)
            if end == len(view) or view[end] not in _WORD_CHARS:
                j = i
                while j > 0 and view[j - 1] in " \t":
                    j -= 1
                if j == 0 or view[j - 1] == "\n":
                    first = j if first is None else min(first, j)
                    break
            i = view.find(mark, i + 1)
    return first


def _rename_starts(text: str) -> list[int]:
    """Sorted positions where a :data:`_RENAME_RE` match could start: a superset, checked by
    matching there, so the regex (which tries every position otherwise) runs a few times.

    Every match holds one of :data:`_RENAME_LITERALS`. A match on a word (a special name,
    ``import``, ``unimport``, an attribute handler) starts where the word holding the literal
    starts; ``sub NAME`` starts three characters before the blanks that precede that word;
    ``CORE::GLOBAL``/``CORE'GLOBAL`` starts six or five characters before ``GLOBAL``. The walks
    back stop at the previous word (a literal in the same word as the previous one is found
    at C speed), so they are linear.
    """
    hits: list[int] = []
    globals_: list[int] = []
    for literal in _RENAME_LITERALS:
        i = text.find(literal)
        while i >= 0:
            hits.append(i)
            if literal == "GLOBAL":
                globals_.append(i)
            i = text.find(literal, i + 1)
    if not hits:
        return []
    starts: set[int] = set()
    words: set[int] = set()
    prev_hit, prev_word = -1, 0
    for i in sorted(hits):
        if prev_hit >= 0 and _WORD_RUN.fullmatch(text, prev_hit, i):
            word = prev_word  # still in the word of the previous literal
        else:
            word = i
            while word > 0 and text[word - 1] in _WORD_CHARS:
                word -= 1
        prev_hit, prev_word = i, word
        if word in words:
            continue
        words.add(word)
        starts.add(word)
        j = word
        while j > 0 and text[j - 1] in _SPACE_CHARS:
            j -= 1
        if j < word and j >= 3:
            starts.add(j - 3)
    for i in globals_:
        starts.update(k for k in (i - 6, i - 5) if k >= 0)
    return sorted(starts)


def _statement_end(view: str, pos: int) -> int:
    """Index just past the statement starting at ``pos`` (its ``;``, or before a closing ``}``)."""
    depth = 0
    for i in range(pos, len(view)):
        ch = view[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif ch == ";" and depth == 0:
            return i + 1
    return len(view)


def _pragma(kw: str, statement: str) -> str:
    """What a removed ``use``/``no`` statement still means to the compiler, as inert Perl."""
    m = re.match(r"(?:use|no)\s+([\w:]+)\s*(.*?);?\s*$", statement, re.DOTALL | re.ASCII)
    if m is None:
        return ""
    module, rest = m.group(1), m.group(2)
    words = [w for w in _WORDS_RE.findall(rest) if w != "qw"]
    if module == "strict":
        bits = sum(_STRICT_BITS.get(w, 0) for w in words) or sum(_STRICT_BITS.values())
        return f"BEGIN{{$^H|={bits:#x}}}" if kw == "use" else f"BEGIN{{$^H&=~{bits:#x}}}"
    if module == "utf8":
        bits = _HINT_UTF8
        return f"BEGIN{{$^H|={bits:#x}}}" if kw == "use" else f"BEGIN{{$^H&=~{bits:#x}}}"
    if kw != "use" or module in ("warnings", "lib", "integer", "bytes", "less", "sort"):
        return ""
    if module == "constant":
        names = re.findall(r"(?:^|[{,]\s*)([A-Za-z_]\w*)\s*(?:=>|,)", rest, re.ASCII)
        if not rest.lstrip().startswith("{"):
            names = names[:1]
        return "".join(f"sub {n}(){{0}}" for n in names)
    # use vars / an explicit import list: declare what it would have declared.
    if "qw" not in rest and module != "vars":
        return ""
    subs = [w for w in words if w[0] not in "$@%"]
    variables = [w for w in words if w[0] in "$@%"]
    decl = "".join(f"sub {w};" for w in subs if module != "vars")
    if variables:
        decl += f"our({','.join(variables)});"
    return decl


def neutralise(text: str, *, lines: Optional[Sequence[Line]] = None) -> str:
    """The text with every point where perl would run its code at compile time disarmed.

    Special blocks, attribute handlers, import/unimport and CORE::GLOBAL are renamed wherever
    they occur (code, strings and comments alike: telling them apart is what a parser is for,
    and renaming inside a string changes nothing that compiles); a special block becomes an
    ordinary named sub, so the text still parses. ``use``/``no`` statements are removed and
    replaced by the declarations they would have made (strict and utf8 hints, constants,
    imported names), and ``require`` of a module name becomes ``1``. Line numbers are kept.
    Whatever this misses still compiles only inside the compartment, whose mask has no
    ``require``: a missed ``use`` fails the check instead of running.

    ``lines`` is ``lex(text)`` when the caller has it: the views are then built from it
    (same result, without lexing the file again).
    """
    view0 = _lines_view(text, lines) if lines is not None else None
    before = _code_view(text) if view0 is None else view0
    cut = _cut_at(before)
    if cut is not None:
        # The cut is at a line start, and a line's view depends on that line alone.
        text = text[:cut]
        before = before[:cut]

    def rename(mt: re.Match[str]) -> str:
        if mt.group("subname"):
            return f"{mt.group('sub')}{NEUTRAL_PREFIX}{mt.group('subname')}"
        if mt.group("block"):
            block = mt.group("block")
            start = _statement_start(before, mt.start())
            return f"sub {NEUTRAL_PREFIX}{block}" if start else NEUTRAL_PREFIX + block
        if mt.group("word"):
            return NEUTRAL_PREFIX + mt.group("word")
        return NEUTRAL_PREFIX + "CORE::GLOBAL"

    # _RENAME_RE.sub(rename, text), trying the regex only where a match can start.
    pieces: list[str] = []
    changed: set[int] = set()  # the lines holding a match
    done = 0  # end of the last match
    line, counted = 0, 0  # the line index of position ``counted``
    for pos in _rename_starts(text):
        if pos < done:
            continue
        mt = _RENAME_RE.match(text, pos)
        if mt is None:
            continue
        line += text.count("\n", counted, pos)
        counted = pos
        changed.update(range(line, line + text.count("\n", pos, mt.end()) + 1))
        pieces += (text[done:pos], rename(mt))
        done = mt.end()
    if changed:
        pieces.append(text[done:])
        renamed = "".join(pieces)
        # Replacements keep every newline, so the lines line up: view again only the changed.
        views = before.split("\n")
        parts = renamed.split("\n")
        for n in changed:
            views[n] = _code_view(parts[n])
        view = "\n".join(views)
        text = renamed
    else:
        view = before
    edits: list[tuple[int, int, str]] = []
    uses = sorted(
        (mt for use_re in _USE_RES for mt in use_re.finditer(view)), key=lambda mt: mt.start()
    )
    for mt in uses:
        line_start = text.rfind("\n", 0, mt.start()) + 1
        first_on_line = not text[line_start : mt.start()].strip()
        if not (first_on_line or _statement_start(view, mt.start())):
            continue
        end = _statement_end(view, mt.start())
        edits.append((mt.start(), end, _pragma(mt.group("kw"), text[mt.start() : end])))
    edits += [(mt.start(), mt.end(), "1") for mt in _REQUIRE_RE.finditer(view)]
    if not edits:
        return text
    edits.sort()
    if all(a[1] <= b[0] for a, b in zip(edits, edits[1:])):
        # Disjoint (the usual case): one join instead of copying the text once per edit.
        out: list[str] = []
        done = 0
        for start, end, replacement in edits:
            out += (text[done:start], replacement, "\n" * text.count("\n", start, end))
            done = end
        out.append(text[done:])
        return "".join(out)
    for start, end, replacement in reversed(edits):
        newlines = text.count("\n", start, end)
        text = text[:start] + replacement + "\n" * newlines + text[end:]
    return text
