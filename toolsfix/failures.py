"""What an exception that escaped every reader says about the input, in one line.

Readers turn the failures they expect into :class:`~toolsfix.errors.ToolsfixError` naming
the file. This is the net under them, shared by the single commands (``cli.run``) and by
``audit`` (one item's status), so damaged or hostile input gets the same line everywhere and
never the "internal error" line, which stays for true bugs.
"""

from __future__ import annotations

from typing import Optional

from toolsfix.distrib import DECOMPRESS_ERRORS


def input_failure(exc: BaseException) -> Optional[str]:
    """The line for an exception that bad input (not a bug) raised past every reader, or None.

    Readers turn what they expect into :class:`ToolsfixError` naming the file; this is the
    net under them, so damaged or hostile input never reaches the "internal error" line,
    which stays for true bugs.
    """
    if isinstance(exc, RecursionError):
        return "input nests too deeply to process (damaged or hostile input)"
    if isinstance(exc, MemoryError):
        return "input too large to process in memory"
    if isinstance(exc, UnicodeError):
        return f"input is not valid text ({exc})"
    if isinstance(exc, EOFError):
        return "input ends early (truncated)"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return f"{exc.filename}: {reason}" if exc.filename else reason
    if isinstance(exc, DECOMPRESS_ERRORS):
        return f"damaged compressed or archived data ({type(exc).__name__}: {exc})"
    return None
