"""SARIF 2.1.0 for code-scanning dashboards: rules from the catalog, results with locations."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from toolsfix import __version__
from toolsfix.findings import Report, Severity, sorted_findings
from toolsfix.report.base import Renderer

_LEVEL = {
    Severity.INFO: "note",
    Severity.LOW: "note",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "error",
}


def artifact_uri(path: str) -> str:
    """A path as the URI reference SARIF requires: spaces, ``#``, ``?``, ``%``, ``:`` and
    non-ASCII bytes percent-encoded, so a target such as ``Golden images #2/`` stays one path
    (``#`` would otherwise start a fragment) and viewers resolve it to the right file."""
    return quote(path, safe="/")


class SarifRenderer(Renderer):
    def render(self, report: Report) -> str:
        findings = sorted_findings(report.findings)
        rules: dict[str, dict[str, Any]] = {}
        results: list[dict[str, Any]] = []
        for f in findings:
            rules.setdefault(
                f.id,
                {
                    "id": f.id,
                    "name": f.category,
                    "shortDescription": {"text": f.title},
                    "help": {"text": f.remedy},
                },
            )
            locations = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(e.path)},
                        **({"region": {"startLine": e.line}} if e.line else {}),
                    }
                }
                for e in f.evidence
                if e.path
            ]
            results.append(
                {
                    "ruleId": f.id,
                    "level": _LEVEL[f.severity],
                    "message": {"text": f"{f.message} Remedy: {f.remedy}"},
                    "locations": locations[:1],
                }
            )
        doc = sarif_log(list(rules.values()), results)
        return json.dumps(doc, indent=2) + "\n"


def sarif_log(
    rules: list[dict[str, Any]], results: list[dict[str, Any]], **run: Any
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one toolsfix run: the envelope both report shapes share.

    ``run`` adds run-level members (``invocations``, ``properties``) for the fleet report.
    """
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "toolsfix", "version": __version__, "rules": rules}},
                **({"invocations": run.pop("invocations")} if "invocations" in run else {}),
                "results": results,
                **run,
            }
        ],
    }
