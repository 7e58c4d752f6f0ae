"""The fast :func:`neutralise` gives byte for byte what the plain regex passes gave.

``neutralise`` runs on every scan while the main thread parses the tar stream, so it skips
passes whose keywords are absent, tries the rename regex only where a match can start, builds
the code view from ``lex`` output and applies its edits in one join. What it disarms (BEGIN
blocks, ``use``, ``require``) is security-relevant, so every shortcut is checked here against
:func:`_oracle`: a frozen copy of the code it replaced, kept verbatim on purpose (do not "fix"
or speed it up; it is the definition the fast path must match). The code view is part of that
copy although ``_code_view`` itself is unchanged: the fast path builds its views another way
(``_lines_view``) and calls ``_code_view`` for the rest, so an oracle sharing it would not
check the views at all. ``_pragma`` and ``_statement_end``, which both call the same way, are
the module's own. The inputs are every
configurator-like text in the repository, hand-written cases for every branch, and random
texts built from the tokens that matter, each with and without ``lines=``.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolsfix.installer import decode
from toolsfix.perl_neutral import (
    NEUTRAL_PREFIX,
    _code_view,
    _lines_view,
    _rename_starts,
    neutralise,
)

# What a removed ``use`` still declares, and where a statement ends: both sides call these the
# same way, so the oracle uses the module's own (see the module docstring).
from toolsfix.perl_neutral import _pragma as _oracle_pragma
from toolsfix.perl_neutral import _statement_end as _oracle_statement_end
from toolsfix.perltext import DAMAGED_COMMENT, Line, code_of, lex

ROOT = Path(__file__).resolve().parent.parent

# --- the oracle: the implementation before the fast path, frozen ---------------------------------
_SPECIAL = r"BEGIN|UNITCHECK|CHECK|INIT|END"
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


def _oracle_code_view(text: str, known: Optional[dict[str, str]] = None) -> str:
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


def _oracle_statement_start(view: str, pos: int) -> bool:
    before = view[:pos].rstrip()
    return not before or before[-1] in ";{}"


def _oracle(text: str, *, lines: Optional[Sequence[Line]] = None) -> str:
    known = {ln.text: ln.code for ln in lines if ln.code != ln.text} if lines is not None else {}
    before = _oracle_code_view(text, known)
    m = _CUT_RE.search(before)
    if m is not None:
        text = text[: m.start()]
        before = _oracle_code_view(text, known)

    def rename(mt: re.Match[str]) -> str:
        if mt.group("subname"):
            return f"{mt.group('sub')}{NEUTRAL_PREFIX}{mt.group('subname')}"
        if mt.group("block"):
            block = mt.group("block")
            start = _oracle_statement_start(before, mt.start())
            return f"sub {NEUTRAL_PREFIX}{block}" if start else NEUTRAL_PREFIX + block
        if mt.group("word"):
            return NEUTRAL_PREFIX + mt.group("word")
        return NEUTRAL_PREFIX + "CORE::GLOBAL"

    renamed = _RENAME_RE.sub(rename, text)
    view = before if renamed == text else _oracle_code_view(renamed, known)
    text = renamed
    edits: list[tuple[int, int, str]] = []
    for mt in _USE_RE.finditer(view):
        line_start = text.rfind("\n", 0, mt.start()) + 1
        first_on_line = not text[line_start : mt.start()].strip()
        if not (first_on_line or _oracle_statement_start(view, mt.start())):
            continue
        end = _oracle_statement_end(view, mt.start())
        edits.append((mt.start(), end, _oracle_pragma(mt.group("kw"), text[mt.start() : end])))
    edits += [(mt.start(), mt.end(), "1") for mt in _REQUIRE_RE.finditer(view)]
    for start, end, replacement in sorted(edits, reverse=True):
        newlines = text.count("\n", start, end)
        text = text[:start] + replacement + "\n" * newlines + text[end:]
    return text


# --- helpers ------------------------------------------------------------------------------------
def _same(text: str) -> None:
    """The fast path equals the oracle, with and without ``lines`` (and with stale ``lines``)."""
    expected = _oracle(text)
    assert neutralise(text) == expected
    assert neutralise(text, lines=lex(text)) == expected
    assert _oracle(text, lines=lex(text)) == expected


def _corpus() -> Iterator[tuple[str, str]]:
    """Every configurator-like text in the repository: Perl files and configurator members of
    the sample archives."""
    for folder in ("vendor-samples", "tests/adversarial", "tests/data"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and (path.suffix == ".pl" or "config-tools" in path.name):
                yield str(path.relative_to(ROOT)), decode(path.read_bytes())
    for archive in sorted((ROOT / "vendor-samples" / "archives").glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".pl"):
                    data = tar.extractfile(member)
                    assert data is not None
                    yield f"{archive.name}:{member.name}", decode(data.read())


CORPUS = list(_corpus())
CONFIGURATORS = [text for name, text in CORPUS if "config-tools" in name]


def test_the_corpus_has_configurators() -> None:
    names = [name for name, _ in CORPUS]
    assert sum("vmware-config-tools" in name for name in names) >= 5
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("name", [name for name, _ in CORPUS])
def test_every_repository_text(name: str) -> None:
    _same(dict(CORPUS)[name])


def test_all_texts_together_and_with_crlf() -> None:
    joined = "".join(text for _, text in CORPUS)
    _same(joined)
    _same(joined.replace("\n", "\r\n"))


# --- hand-written cases, one or more per branch ---------------------------------------------------
EDGE_CASES = [
    "",
    "\n",
    "\r",
    "\r\n",
    "\n\n\r\n",
    "BEGIN",
    "BEGIN{",
    "BEGIN {1}",
    "x BEGIN {1}",
    "1; BEGIN {1}",
    "{ BEGIN {1} }",
    "} BEGIN\n{1}",
    "BEGIN\n{ 1 }\n",
    "BEGIN\r\n{ 1 }\r\n",
    "my $x = BEGIN {",
    "_BEGIN { } BEGIN_ { } 1BEGIN { } BEGIN1 { } xBEGIN",
    "sub BEGIN { 1 }",
    "sub\n  BEGIN { 1 }",
    "sub\r\n\tBEGIN\r\n{ 1 }",
    "sub  sub BEGIN",
    "# sub BEGIN {\n",
    "x;#sub BEGIN {\n",
    f"{DAMAGED_COMMENT}sub INIT {{\n",
    "'sub CHECK {'\n",
    "sub\n BEGIN { use Foo; require Bar; }\nuse Baz;\nrequire Q;\n",
    "sub\r\n\r\n END {'x'} CORE::GLOBAL::x; use Foo;\n",
    "mysub BEGIN { }",
    "sub BEGINX { }",
    "sub UNITCHECK { } UNITCHECK { } sub CHECK { } CHECK {} XCHECK { } UNITCHECKS",
    "sub INIT {} INIT {} sub END {} END {} ENDING END_ _END",
    "import unimport imports Xunimport ->import( ->unimport; sub import { }",
    "sub MODIFY_CODE_ATTRIBUTES { } FETCH_SCALAR_ATTRIBUTES MODIFY__ATTRIBUTES",
    "MODIFY_X_ATTRIBUTES_ATTRIBUTES MODIFY_X_ATTRIBUTESX XMODIFY_X_ATTRIBUTES _ATTRIBUTES",
    "MODIFY_BEGIN_ATTRIBUTES FETCH_END_ATTRIBUTES",
    "*CORE::GLOBAL::die = sub { }; *CORE'GLOBAL'exit = 1; XCORE::GLOBAL CORE::GLOBALS",
    "CORE::GLOBAL::BEGIN { } CORE:GLOBAL CORE''GLOBAL GLOBAL CORE::GLOBAL",
    "my $s = 'BEGIN { } import';  # END {\n",
    '"sub BEGIN" # sub INIT {\n',
    "# BEGIN {\nBEGIN {\n",
    f"x {DAMAGED_COMMENT} BEGIN {{\nBEGIN {{ }}\n",
    f"{DAMAGED_COMMENT} use strict;\nuse strict;\n",
    "__END__\nBEGIN { }\n",
    "BEGIN { }\n__END__\nuse strict;\n",
    "\t \t__END__\nuse Foo;\n",
    "  __DATA__  \nrequire Foo;\n",
    "x __END__\nuse Foo;\n",
    "__END__x\nuse Foo;\n",
    "__END__",
    "__END__\r\nuse Foo;\r\n",
    "'\n__END__\n'\nuse Foo;\n",
    "# __END__\nuse Foo;\n__DATA__\nuse Bar;\n",
    "print '__END__';\n__DATA__\n",
    "__END____END__\n__DATA__\n",
    "__DATA__\nx\n__END__\nuse Foo;\n",
    "use Foo;\n __DATA__\nuse Bar;\n__END__\nuse Baz;\n",
    "use strict;",
    "use strict 'refs';\nno strict 'refs';\nuse utf8;\nno utf8;\n",
    "use warnings;\nuse lib '/x';\nuse constant FOO => 1;\nuse constant { A => 1, B => 2 };\n",
    "use vars qw($x @y %z);\nuse POSIX qw(floor ceil);\nuse Foo::Bar;\nuse Foo 'x';\n",
    "use 5.006;\nuse v5.10;\nno if $x, 'y';\nuse if $] > 5, 'strict';\n",
    "  use Foo;\n\tno Bar;\nx; use Baz;\n{use Q;}\nmy $x = use_me(); reuse Foo; nouse Foo;\n",
    "my $x = 1 if no Foo;\nprint no strict;\nuse\nFoo;\nuse\r\n  Foo\r\n;\r\n",
    "use Foo (1, [2, {3}]);\nuse Foo ( ;\nuse Foo }\nuse",
    "use Foo",
    "no",
    "use ;\nuse  ;\nuse 'x';\nuse $x;\n",
    "require Foo::Bar;\nrequire Foo;\nrequire v5.6;\nrequire 5.006_001;\n",
    'require "x.pl";\nrequire $x;\nrequire Foo or die;\nrequire Foo if $x;\n',
    "require Foo unless $x;\nrequire Foo and 1;\nrequire Foo orx;\n(require Foo)\n{require Foo}",
    "xrequire Foo;\nrequire_Foo;\nrequire\nFoo\n;\nrequire Foo'Bar;\nrequire require;\n",
    "use if 1, require Foo;\nuse Foo require Bar;\n",
    "require Foo",
    "BEGIN { require Foo; } use Foo; sub import { no strict; }",
    "sub BEGIN\r\n{ use strict; }\r\n",
    "x\ry BEGIN {\r\r\n'a\r'\r\n#\r\r\n",
    "a\x0cBEGIN {\x0b}\n\x1cuse Foo;\x85use Bar;\n",
    "\x00BEGIN {\udcff use Foo;",
    "use Foo;" * 50 + "\n",
    "no strict;\nBEGIN {" * 20,
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases(text: str) -> None:
    _same(text)
    _same(text.replace("\n", "\r\n"))


def test_the_edge_cases_exercise_each_branch() -> None:
    """Guard against an edge list that no longer reaches what it is meant to reach."""
    outs = [neutralise(text) for text in EDGE_CASES]
    assert any(f"sub {NEUTRAL_PREFIX}BEGIN" in o and "sub BEGIN" not in o for o in outs)
    assert any(f"{NEUTRAL_PREFIX}CORE::GLOBAL" in o for o in outs)
    assert neutralise("__END__\nBEGIN { }\n") == ""
    assert neutralise("require Foo::Bar;\n") == "1;\n"
    assert neutralise('require "x.pl";\n') == 'require "x.pl";\n'


@pytest.mark.parametrize("crlf", [False, True])
def test_the_view_from_lines_is_the_code_view(crlf: bool) -> None:
    """The view built from ``lex`` output is the one :func:`_code_view` makes of the text."""
    for text in [text for _, text in CORPUS] + EDGE_CASES:
        if crlf:
            text = text.replace("\n", "\r\n")
        view = _lines_view(text, lex(text))
        assert view is not None
        assert view == _code_view(text) == _oracle_code_view(text)


def test_stale_lines_fall_back_to_the_text() -> None:
    """``lines`` that do not lex ``text`` are not trusted for the code view."""
    text = "my $x = 'BEGIN {';\nuse Foo;\n"
    other = "my $x = 1;\nBEGIN { }\n"
    assert neutralise(text, lines=lex(other)) == _oracle(text)
    assert neutralise(other, lines=lex(text)) == _oracle(other)
    assert neutralise(text, lines=lex(text)[:1]) == _oracle(text)
    # Same length, same line count, different code: only the content tells them apart.
    for text, other in (("x; use Foo;\n", "#; use Foo;\n"), ("x; use Foo;\r\n", "#; use Foo;\r\n")):
        assert neutralise(text, lines=lex(other)) == _oracle(text) != text
        assert neutralise(other, lines=lex(text)) == _oracle(other) == other
    # Only the last characters differ, and the line count agrees.
    text, other = "x\r\nrequire Foo;\n", "x\r\nrequire Foo\r\n"
    assert neutralise(text, lines=lex(other)) == _oracle(text) == "x\r\n1;\n"
    # Not lex output at all: a line holding a newline.
    fake = [Line(1, "x\nuse Foo;", "x\n        ")]
    assert neutralise("x\nuse Foo;\n", lines=fake) == _oracle("x\nuse Foo;\n") == "x\n\n"


# --- random texts -------------------------------------------------------------------------------
TOKENS = [
    "BEGIN", "UNITCHECK", "CHECK", "INIT", "END", "import", "unimport", "sub", "CORE", "GLOBAL",
    "::", "'", '"', "MODIFY_", "FETCH_", "_ATTRIBUTES", "CODE", "_", "x", "1", "v5", "5.6",
    "use", "no", "require", "strict", "utf8", "constant", "vars", "qw(", "Foo", "Foo::Bar",
    "or", "if", "__END__", "__DATA__", DAMAGED_COMMENT, "#", "$#", "\\", "=>", ",", "(", ")",
    "[", "]", "{", "}", ";", " ", " ", "\t", "\n", "\n", "\r", "\r\n", "\x0c",
]  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_random_token_texts(tokens: list[str]) -> None:
    text = "".join(tokens)
    _same(text)
    # Stronger than equal output: every position the rename regex matches at is tried.
    matches = {p for p in range(len(text)) if _RENAME_RE.match(text, p)}
    assert matches <= set(_rename_starts(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=12), st.data())
def test_random_edits_of_a_real_configurator(tokens: list[str], data: st.DataObject) -> None:
    """Random token runs spliced into real configurators: the keywords meet real code."""
    text = data.draw(st.sampled_from(CONFIGURATORS))
    at = data.draw(st.integers(0, len(text)))
    _same(text[:at] + "".join(tokens) + text[at:])
