"""Reading small text files a user hands over (host listings, switch configurations).

Such files come from copy-and-paste sessions, terminal logs and Windows tools, so they arrive
with CRLF line ends, byte-order marks or UTF-16 (PowerShell's ``>`` writes UTF-16LE). They may
also be the wrong file altogether: a binary, a directory, a FIFO someone pointed at by mistake.
Every one of those must end in one clear line (exit 3), never a traceback or a hang, and the
line numbers the parsers report must be the ones an editor shows, so lines are split on LF
only (``str.splitlines`` would also split on form feeds and other separators).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Union

from toolsfix.errors import InputError
from toolsfix.safeio import ReadStatus, read_file_checked

__all__ = ["MAX_TEXT_BYTES", "decode_text", "numbered_lines", "read_text"]

#: Largest listing or configuration accepted: a full switch config is well under 1 MiB.
MAX_TEXT_BYTES = 16 << 20
# Control characters that appear in real text files (tab, LF, VT, FF, CR, ESC from terminal
# logs); anything else in quantity means the file is not text.
_TEXT_CONTROLS = frozenset("\t\n\x0b\x0c\r\x1b")


def _read_bytes(path: Path, what: str) -> bytes:
    """The file's bytes through the one bounded reader (FIFO-safe, regular files only)."""
    result = read_file_checked(str(path), limit=MAX_TEXT_BYTES)
    if result.data is not None:
        return result.data
    if result.status is ReadStatus.TOO_LARGE:
        raise InputError(f"{path}: larger than {MAX_TEXT_BYTES >> 20} MiB, too large for {what}")
    if result.status is ReadStatus.NOT_REGULAR:
        reason = "is a directory" if "directory" in result.reason else "not a regular file"
        raise InputError(f"{path}: cannot read {what}: {reason}")
    raise InputError(f"{path}: cannot read {what}: {result.reason}")


def decode_text(data: bytes, label: str, what: str) -> str:
    """Bytes to text, or InputError when they are not text.

    UTF-16 is accepted with a byte-order mark only; without one, NUL bytes mean binary. Invalid
    UTF-8 is tolerated in small amounts (a Latin-1 banner line), not as the bulk of the file.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{label}: damaged UTF-16 text, expected {what}") from None
    else:
        if b"\x00" in data:
            raise InputError(f"{label}: binary data (NUL bytes), expected {what} as text")
        text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise InputError(f"{label}: empty file, expected {what}")
    odd = sum(1 for ch in text if ch == "\ufffd" or (ch < " " and ch not in _TEXT_CONTROLS))
    if odd > max(8, len(text) // 20):
        raise InputError(f"{label}: binary data, expected {what} as text")
    return text


def read_text(path: Union[str, Path], what: str) -> str:
    """The text of ``path``; InputError (exit 3) naming ``what`` was expected otherwise."""
    path = Path(path)
    return decode_text(_read_bytes(path, what), str(path), what)


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """(1-based number, line without its line end) as an editor numbers them.

    LF and CRLF files split on LF; a file with only CR line ends (classic Mac) on CR.
    """
    sep = "\n" if "\n" in text or "\r" not in text else "\r"
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split(sep), start=1)]
