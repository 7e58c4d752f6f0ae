"""Fleet CSV: one row per item x finding, for spreadsheets and quick ``grep``/``awk`` work.

An item without findings (clean, or not evaluable) still gets one row, so the row set always
covers the whole fleet. Cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``: messages quote text
captured on guests, which an attacker on a guest can choose.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Optional, TextIO

from toolsfix.report.fleet import FleetRenderer

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult

COLUMNS = (
    "input",
    "kind",
    "status",
    "exit_code",
    "os_release",
    "tools_version",
    "finding_id",
    "category",
    "severity",
    "subject",
    "title",
    "message",
    "evidence",
    "remedy",
    "error",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Optional[object]) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


class FleetCsvRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for item in result.items:
            head = [
                item.input,
                item.kind,
                item.status,
                item.exit_code,
                item.os_release,
                item.tools,
            ]
            if not item.findings:
                writer.writerow([_cell(v) for v in (*head, *[""] * 8, item.error)])
                continue
            for f in item.findings:
                row = (
                    *head,
                    f.id,
                    f.category,
                    str(f.severity),
                    f.subject,
                    f.title,
                    f.message,
                    f.evidence,
                    f.remedy,
                    item.error,
                )
                writer.writerow([_cell(v) for v in row])
