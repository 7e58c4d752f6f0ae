"""Exit codes and the one exception type the CLI turns into a clean one-line error.

Every failure a user can cause (a missing file, a damaged archive, an unknown configurator
variant) is raised as :class:`ToolsfixError` with the exit code it deserves, so the CLI can print
one line and exit without a traceback.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INPUT = 3
    REFUSED = 4
    VERIFY_FAILED = 5


class ToolsfixError(Exception):
    """A user-facing failure: printed as one line, mapped to an exit code."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InputError(ToolsfixError):
    """The input cannot be read or is not what it claims to be (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INPUT)


class RefusedError(ToolsfixError):
    """A write was refused because it would not be safe (exit 4)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.REFUSED)
