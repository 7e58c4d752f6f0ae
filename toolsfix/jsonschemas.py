"""The published JSON Schemas of toolsfix's machine output (``toolsfix schema NAME``).

The schema files ship as package data under ``toolsfix/schemas/`` so a pipeline can validate
what it parses with the exact contract of the toolsfix it runs, offline. This module only reads
them: toolsfix itself never validates with them at run time (the core runs on a stock Solaris
Python without jsonschema); the test suite does, against every sample's real output.
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

from toolsfix.errors import ExitCode, ToolsfixError

# Name -> file under toolsfix/schemas/. Only output contracts are listed here; the patch and
# fingerprint-record schemas describe input data files and stay beside them.
SCHEMA_FILES: dict[str, str] = {
    "audit": "audit.schema.json",
    "report": "report.schema.json",
}
SCHEMA_NAMES: tuple[str, ...] = tuple(sorted(SCHEMA_FILES))

# Schemas name each other by URN ``$id`` (there is no network location to fetch them from).
_REF_RE = re.compile(r"^urn:toolsfix:schema:([a-z][a-z0-9-]*):[0-9]+(?:#.*)?$")


def schema_text(name: str) -> str:
    """The shipped file, byte for byte as packaged."""
    try:
        filename = SCHEMA_FILES[name]
    except KeyError:
        raise ToolsfixError(
            f"unknown schema {name!r} (choose from {', '.join(SCHEMA_NAMES)})", ExitCode.USAGE
        ) from None
    path = resources.files("toolsfix").joinpath("schemas").joinpath(filename)
    return path.read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """The parsed schema, as shipped (cross-schema ``$ref`` left as URNs)."""
    doc = json.loads(schema_text(name))
    if not isinstance(doc, dict):  # pragma: no cover - the shipped files are objects
        raise ToolsfixError(f"schema {name!r} is not a JSON object", ExitCode.INPUT)
    return doc


def referenced(doc: Any) -> set[str]:
    """Names of the other toolsfix schemas ``doc`` refers to by ``$ref``."""
    found: set[str] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                m = _REF_RE.match(ref)
                if m:
                    found.add(m.group(1))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def bundled(name: str) -> dict[str, Any]:
    """``name`` with every toolsfix schema it refers to embedded under ``$defs``.

    JSON Schema 2020-12 bundling: an embedded resource keeps its own ``$id``, so the URN
    references resolve inside the one document and any validator can use it without being
    given the other files. This is what ``toolsfix schema`` prints.
    """
    root = load(name)
    embedded: dict[str, dict[str, Any]] = {}
    pending = referenced(root)
    while pending:
        other = pending.pop()
        if other in embedded or other == name:
            continue
        doc = load(other)
        embedded[other] = doc
        pending |= referenced(doc)
    if not embedded:
        return root
    out = copy.deepcopy(root)
    defs = out.setdefault("$defs", {})
    for other, doc in sorted(embedded.items()):
        defs[f"toolsfix-{other}"] = doc
    return out


def render(name: str) -> str:
    """What ``toolsfix schema NAME`` prints: the shipped file when it stands alone, else the
    bundle (two-space indented JSON, newline-terminated)."""
    doc = bundled(name)
    if doc == load(name):
        text = schema_text(name)
        return text if text.endswith("\n") else text + "\n"
    return json.dumps(doc, indent=2) + "\n"
