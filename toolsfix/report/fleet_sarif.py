"""Fleet SARIF 2.1.0: one run, one result per finding, located at the item it was found in.

Code-scanning dashboards group results by location; the item (the bundle, root or distrib as
given) is that location, and the evidence inside the guest is in the message and the
``properties``. ``partialFingerprints`` carry the same key baselines use (check, subject,
evidence locations), so a dashboard tracks a finding across runs even when its line moves.
Items that could not be evaluated are tool execution notifications, not results: they are not
problems of the guest but gaps in the audit.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from toolsfix.findings import Severity
from toolsfix.report.fleet import FleetRenderer
from toolsfix.report.sarif import sarif_log

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, FindingRow, Item

LEVEL = {
    Severity.INFO: "note",
    Severity.LOW: "note",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "error",
    Severity.CRITICAL: "error",
}


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/:@-._~")


def _location(item: Item) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(item.input)}}}


def _fingerprint(item: Item, f: FindingRow) -> str:
    key = "\0".join((item.input, f.id, f.subject or "", f.evidence))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class FleetSarifRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        rules: dict[str, dict[str, Any]] = {}
        results: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        for item in result.items:
            if not item.evaluated:
                notes.append(
                    {
                        "level": "error",
                        "message": {"text": item.error or item.status},
                        "locations": [_location(item)],
                        "properties": {"status": item.status, "kind": item.kind},
                    }
                )
            for f in item.findings:
                if f.id not in rules:
                    rules[f.id] = {
                        "id": f.id,
                        "name": f.category,
                        "shortDescription": {"text": f.title},
                        "help": {"text": f.remedy},
                        "defaultConfiguration": {"level": LEVEL[f.severity]},
                    }
                text = f"{f.message} Remedy: {f.remedy}"
                results.append(
                    {
                        "ruleId": f.id,
                        "ruleIndex": list(rules).index(f.id),
                        "level": LEVEL[f.severity],
                        "message": {"text": text},
                        "locations": [_location(item)],
                        "partialFingerprints": {"toolsfixFinding/v1": _fingerprint(item, f)},
                        "properties": {
                            "item": item.input,
                            "kind": item.kind,
                            "severity": str(f.severity),
                            "subject": f.subject,
                            "evidence": f.evidence,
                        },
                    }
                )
        doc = sarif_log(
            list(rules.values()),
            results,
            invocations=[
                {"executionSuccessful": not result.partial, "toolExecutionNotifications": notes}
            ],
            properties={"summary": result.summary(), "partial": result.partial},
        )
        out.write(json.dumps(doc, indent=2) + "\n")
