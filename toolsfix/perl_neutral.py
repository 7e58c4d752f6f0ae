"""Neutralise a configurator's text so that compiling it runs none of it.

``perl -c`` runs BEGIN blocks and ``use`` statements on the host;
:func:`toolsfix.perl.compile_check` compiles the output of :func:`neutralise` instead, in the
sandbox, where every name perl may call while it compiles has been renamed and every
``use``/``no``/``require`` disarmed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
_CUT_RE = re.compile(r"^[ \t]*__(?:END|DATA)__\b", re.MULTILINE | re.ASCII)
_USE_RE = re.compile(r"\b(?P<kw>use|no)\s+(?=[A-Za-z_]|v?\d)", re.ASCII)
_REQUIRE_RE = re.compile(
    r"\brequire\s+(?:[A-Za-z_][\w:']*|v?\d[\d._]*)(?=\s*[;)}]|\s+(?:or|and|if|unless)\b)", re.ASCII
)
_STRICT_BITS = {"refs": 0x2, "subs": 0x200, "vars": 0x400}
_HINT_UTF8 = 0x00800000
_WORDS_RE = re.compile(r"""['"]?([$@%]?[A-Za-z_]\w*)['"]?""", re.ASCII)


def _code_view(text: str, known: Optional[dict[str, str]] = None) -> str:
    """``text`` with comments and quoted strings blanked, same length, same positions.

    Only lines holding a quote, ``#`` or a damaged comment differ from the text (a line's
    terminating CR becomes a space): those are lexed, the rest joined back as they are.
    ``known`` maps a line (without its CR) to its code; lines found there are not lexed again
    and new ones are added, so the three views :func:`neutralise` takes of nearly the same
    text lex each distinct line once.
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


def _statement_start(view: str, pos: int) -> bool:
    before = view[:pos].rstrip()
    return not before or before[-1] in ";{}"


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
    known = {ln.text: ln.code for ln in lines if ln.code != ln.text} if lines is not None else {}
    before = _code_view(text, known)
    m = _CUT_RE.search(before)
    if m is not None:
        text = text[: m.start()]
        before = _code_view(text, known)

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

    renamed = _RENAME_RE.sub(rename, text)
    view = before if renamed == text else _code_view(renamed, known)
    text = renamed
    edits: list[tuple[int, int, str]] = []
    for mt in _USE_RE.finditer(view):
        line_start = text.rfind("\n", 0, mt.start()) + 1
        first_on_line = not text[line_start : mt.start()].strip()
        if not (first_on_line or _statement_start(view, mt.start())):
            continue
        end = _statement_end(view, mt.start())
        edits.append((mt.start(), end, _pragma(mt.group("kw"), text[mt.start() : end])))
    edits += [(mt.start(), mt.end(), "1") for mt in _REQUIRE_RE.finditer(view)]
    for start, end, replacement in sorted(edits, reverse=True):
        newlines = text.count("\n", start, end)
        text = text[:start] + replacement + "\n" * newlines + text[end:]
    return text
