"""The fast lexer gives exactly what the plain character-by-character definition gives."""

from __future__ import annotations

from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from toolsfix.perltext import DAMAGED_COMMENT, code_of


def reference_code_of(text: str) -> str:
    """The specification, one character at a time (the original implementation)."""
    out: list[str] = []
    quote: Optional[str] = None
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\" and i + 1 < n:
                out.append("  ")
                i += 2
                continue
            if ch == quote:
                out.append(ch)
                quote = None
            else:
                out.append(" ")
            i += 1
            continue
        if ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif (ch == "#" and not (i > 0 and text[i - 1] == "$")) or text.startswith(
            DAMAGED_COMMENT, i
        ):
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_ALPHABET = st.sampled_from(["'", '"', "#", "$", "\\", "a", " ", "{", "}", "*", DAMAGED_COMMENT])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_fast_lexer_matches_reference(text: str) -> None:
    assert code_of(text) == reference_code_of(text)


def test_known_lines() -> None:
    cases = [
        "my $x = 10;",
        "my $s = 'pci15ad,7b0'; # comment",
        'print "a\\"b#c"; # x',
        "my $n = $#array; # last",
        "  ***REMOVED*** damaged comment",
        "my $u = 'unterminated",
        "my $t = 'ends with backslash\\",
        "",
    ]
    for line in cases:
        assert code_of(line) == reference_code_of(line)
        assert len(code_of(line)) <= len(line)
