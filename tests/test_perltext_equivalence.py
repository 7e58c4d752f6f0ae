"""The regex lexer gives exactly what the lexer it replaced gave, on every line we can find.

The lexer decides what counts as code for the model, the patcher and the sandbox extract, so a
faster one must not change a single character. The oracle below is a frozen copy of the
previous ``code_of`` (a search loop over character classes) and ``split_lines``; it is compared
with the current code on every line of every Perl file in the repository, on hand-written edge
cases, and on random lines and texts.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from samplelib import REPO, SAMPLES

from toolsfix.installer import decode
from toolsfix.perltext import DAMAGED_COMMENT, Line, code_of, lex, split_lines

# --- the oracle: frozen copies of the previous implementation, do not edit -------------------

_OUTSIDE = re.compile(r"['\"#]|\*\*\*REMOVED\*\*\*")
_INSIDE = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}


def frozen_code_of(text: str) -> str:
    """Frozen copy of ``perltext.code_of`` before the single-regex rewrite: the oracle."""
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


def frozen_split_lines(text: str) -> list[str]:
    """Frozen copy of ``perltext.split_lines`` before the CRLF fast path: the oracle."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def frozen_lex(text: str) -> list[Line]:
    """What ``lex`` meant before it deduplicated and batched lines: each line, its code."""
    return [Line(i + 1, t, frozen_code_of(t)) for i, t in enumerate(frozen_split_lines(text))]


def assert_lex_matches(text: str) -> None:
    got = lex(text)
    assert got == frozen_lex(text)
    assert all(type(line) is Line for line in got)
    assert split_lines(text) == frozen_split_lines(text)


# --- every Perl file in the repository -------------------------------------------------------


def _is_perl(path: Path) -> bool:
    if path.suffix in (".pl", ".pm"):
        return True
    try:
        with path.open("rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"perl" in first


def _perl_texts() -> Iterator[tuple[str, str]]:
    """(name, text) of every Perl file in the sample trees, and of those inside the sample
    tarballs (the configurators as shipped, CRLF and damaged copies included)."""
    for top in (SAMPLES, REPO / "tests" / "adversarial", REPO / "tests" / "data"):
        for path in sorted(top.rglob("*")):
            if path.is_file() and _is_perl(path):
                yield str(path.relative_to(REPO)), decode(path.read_bytes())
    for archive in sorted((SAMPLES / "archives").glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith((".pl", ".pm")):
                    f = tar.extractfile(member)
                    assert f is not None
                    yield f"{archive.name}:{member.name}", decode(f.read())


_TEXTS = list(_perl_texts())


def test_the_repository_has_perl_to_compare() -> None:
    assert len(_TEXTS) > 50
    assert any("\r\n" in text for _, text in _TEXTS)  # a CRLF configurator is among them
    assert any(DAMAGED_COMMENT in text for _, text in _TEXTS)


@pytest.mark.parametrize("name", [name for name, _ in _TEXTS])
def test_every_line_of_every_perl_file(name: str) -> None:
    text = dict(_TEXTS)[name]
    for line in set(frozen_split_lines(text)):
        assert code_of(line) == frozen_code_of(line), line
    assert_lex_matches(text)


# --- hand-written edge cases -----------------------------------------------------------------

_EDGE_LINES = [
    "",
    " ",
    "\t",
    "my $x = 10;",
    "my $s = 'pci15ad,7b0'; # comment",
    'print "a\\"b#c"; # x',
    "my $n = $#array; # last",
    "$#",
    "#",
    "$$#x",
    "$#$#",
    "x$ #y",
    "'$'#c",
    '"$"#c',
    "'a$'$#b",
    "  ***REMOVED*** damaged comment",
    "***REMOVED***",
    "**REMOVED***",
    "***REMOVED**",
    "'***REMOVED***' x",
    "$***REMOVED***",
    "my $u = 'unterminated",
    'my $u = "unterminated',
    "'",
    '"',
    "''",
    '""',
    "'\"'",
    '"\'"',
    "my $t = 'ends with backslash\\",
    "'\\",
    '"\\',
    "\\",
    "\\'",
    "'\\''",
    "'\\'",
    "'a\\\\'b'c",
    '"a\\\\"b"c',
    "'\\\\\\'",
    "q{#} 'x'",
    "  # whole-line comment 'with' \"quotes\"",
    "\t# tab comment",
    "x # comment 'unclosed",
    "'#' # '#'",
    "'a' 'b' \"c\" 'd'",
    "'tab\there'",
    "a\rb",
    "'a\rb'",
    "'a\\\rb'",
    "'a\\\r",
    "'a\nb' # newline inside a line handed to code_of directly",
    "#\n'x'",
    "$\n#",
    "'\\\n'",
    "caf\u00e9 '\u00e9\u00e8' # \u00fc",
    "bytes '\udcff\udcfe' #\udc80",
    "x" * 5000 + "'" + "y" * 5000,
    "'" + "\\'" * 2000 + "'",
    "'" + "\\" * 4001,
    "'" + "\\" * 4000,
]


@pytest.mark.parametrize("line", _EDGE_LINES)
def test_edge_lines(line: str) -> None:
    assert code_of(line) == frozen_code_of(line)
    assert_lex_matches(line)
    assert_lex_matches(line + "\n")


_EDGE_TEXTS = [
    "",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "\r\r\n",
    "\r\n\r",
    "a\r\r\n",
    "a\n\r",
    "a\r\nb\r\n",
    "a\r\nb\nc\r\n",
    "a\nb",
    "a\r\nb\r",
    "a\rb\r\n",
    "'x\\\r\n'y'\r\n",
    "# a\r\n# a\r\n# a\n",
    "$x\n#y\n$\n#\n",
    "'open\nclose'\n",
    "'a'\n'a'\n'a'\n\"b\"\n",
    "sub f {\r\n  return 'x'; # }\r\n}\r\n",
    DAMAGED_COMMENT + "\n" + DAMAGED_COMMENT + "\r\n" + DAMAGED_COMMENT,
]


@pytest.mark.parametrize("text", _EDGE_TEXTS)
def test_edge_texts(text: str) -> None:
    assert_lex_matches(text)


# --- random lines and texts ------------------------------------------------------------------

_LINE_PIECES = st.sampled_from(
    [
        "'",
        '"',
        "\\",
        "#",
        "$",
        DAMAGED_COMMENT,
        "*",
        "a",
        "Z",
        "q",
        " ",
        "\t",
        "{",
        "}",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_LINE_PIECES, max_size=40).map("".join))
def test_random_lines(line: str) -> None:
    assert code_of(line) == frozen_code_of(line)
    assert_lex_matches(line)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(_LINE_PIECES, st.sampled_from(["\n", "\r", "\r\n"])), max_size=40))
def test_random_lines_with_stray_terminators(pieces: list[str]) -> None:
    line = "".join(pieces)
    assert code_of(line) == frozen_code_of(line)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(_LINE_PIECES, max_size=12).map("".join),
            st.sampled_from(["\n", "\r\n", "\r", ""]),
        ),
        max_size=12,
    )
)
def test_random_texts(lines: list[tuple[str, str]]) -> None:
    """Whole texts: LF, CRLF, mixed, stray CR, repeated lines, with or without a final newline."""
    text = "".join(line + end for line, end in lines)
    assert_lex_matches(text)
    assert_lex_matches(text + text)  # every line repeated: the deduplication must not show
