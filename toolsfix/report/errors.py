"""A failed run, said once for a person (stderr) and once for a machine (stdout, JSON).

A pipeline that asked for ``--format json`` parses stdout; when the run fails before it has a
report (bad input, a refused write, a usage error) an empty stdout would leave it guessing.
It gets an error document instead, ``{"schema_version", "command", "error": {"message",
"exit_code", "kind"}}`` (``toolsfix schema report``, ``#/$defs/errorDocument``), while stderr
gets the usual one line.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from toolsfix.errors import ExitCode
from toolsfix.findings import SCHEMA_VERSION
from toolsfix.report.lines import one_line

#: ``error.kind`` by exit code: what kind of failure the run ended with.
KINDS: dict[int, str] = {
    int(ExitCode.USAGE): "usage",
    int(ExitCode.INPUT): "input",
    int(ExitCode.REFUSED): "refused",
    int(ExitCode.VERIFY_FAILED): "verify-failed",
    130: "interrupted",
}


def error_line(message: str, *, internal: bool = False) -> str:
    """The one stderr line: ``toolsfix: error: ...`` (``internal error`` for a bug)."""
    return one_line(f"toolsfix: {'internal error' if internal else 'error'}: {message}")


def error_document(
    message: str,
    exit_code: int,
    *,
    command: Optional[str] = None,
    target: Optional[str] = None,
    kind: Optional[str] = None,
) -> dict[str, Any]:
    """The JSON error document; ``kind`` defaults to the one :data:`KINDS` gives the code."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    if command is not None:
        doc["command"] = command
    if target is not None:
        doc["target"] = target
    doc["error"] = {
        "message": one_line(message) or "failed",
        "exit_code": int(exit_code),
        "kind": kind or KINDS.get(int(exit_code), "error"),
    }
    return doc


def error_json(
    message: str,
    exit_code: int,
    *,
    command: Optional[str] = None,
    target: Optional[str] = None,
    kind: Optional[str] = None,
    compact: bool = False,
) -> str:
    """The document as text: indented, or one line for line-oriented output (``jsonl``)."""
    doc = error_document(message, exit_code, command=command, target=target, kind=kind)
    return json.dumps(doc, indent=None if compact else 2) + "\n"
