"""Fleet JSON (one document) and JSON Lines (one item per line as it finishes).

JSON is the contract pipelines rely on: ``schema_version``, ``partial``, ``summary``, then
``items[]`` in input order, each carrying exactly the report the single-input command prints.
It is written item by item, never built as one big object, so a thousand-item fleet does not
need all of its reports in memory as Python objects at once.

JSON Lines is for runs someone watches or tails: each line is a complete ``items[]`` element,
written when the item finishes (completion order), then one ``{"summary": ...}`` line. A run
that was interrupted still ends with the summary line, marked ``"partial": true``.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, TextIO

from toolsfix.audit import SCHEMA_VERSION
from toolsfix.report.fleet import FleetRenderer

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, Item


class FleetJsonRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        summary = textwrap.indent(json.dumps(result.summary(), indent=2), "  ").lstrip()
        out.write("{\n")
        out.write(f'  "schema_version": {json.dumps(SCHEMA_VERSION)},\n')
        out.write('  "command": "audit",\n')
        out.write(f'  "partial": {json.dumps(result.partial)},\n')
        out.write(f'  "summary": {summary},\n')
        if not result.items:
            out.write('  "items": []\n}\n')
            return
        out.write('  "items": [\n')
        last = len(result.items) - 1
        for n, item in enumerate(result.items):
            # json.dumps escapes newlines inside strings, so indenting line by line is safe.
            text = textwrap.indent(json.dumps(item.to_dict(), indent=2), "    ")
            out.write(text + (",\n" if n < last else "\n"))
        out.write("  ]\n}\n")


class FleetJsonlRenderer(FleetRenderer):
    streaming = True

    def item(self, out: TextIO, item: Item) -> None:
        out.write(json.dumps(item.to_dict(), separators=(",", ":")) + "\n")

    def finish(self, out: TextIO, result: AuditResult) -> None:
        line = {"summary": result.summary(), "partial": result.partial}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
