"""What one ``toolsfix audit`` run produces: options, items, the fleet result and its summary.

Plain picklable records, kept apart from :mod:`toolsfix.audit` (the workers that fill them) so
the fleet renderers' types and the summary arithmetic read without the process machinery;
:mod:`toolsfix.audit` re-exports every public name.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from toolsfix.baseline import Policy
from toolsfix.errors import ExitCode
from toolsfix.findings import Evidence, Severity

__all__ = [
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "STATUSES",
    "AuditOptions",
    "AuditResult",
    "FindingRow",
    "Item",
    "pack_report",
]

SCHEMA_VERSION = "1.0"
STATUSES = ("ok", "findings", "not-evaluable", "error", "timeout")
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class AuditOptions:
    """Everything a worker needs; picklable (sent once to each worker when it starts)."""

    jobs: int = 0  # 0 = default_jobs()
    timeout: float = DEFAULT_TIMEOUT  # seconds per item, 0 = no limit
    fail_on: Severity = Severity.LOW
    execute: bool = True
    perl_timeout: float = 20.0
    db_dirs: tuple[Path, ...] = ()
    policy: Policy = field(default_factory=Policy)
    use_records: bool = True  # a configurator's proof on record answers (not --reprove)


@dataclass(frozen=True)
class FindingRow:
    """The part of a finding the fleet renderers show; the full finding is in the report."""

    id: str
    category: str
    severity: Severity
    title: str
    message: str
    remedy: str
    subject: Optional[str] = None
    evidence: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FindingRow:
        evidence = "; ".join(_describe(e) for e in d.get("evidence") or [] if isinstance(e, dict))
        return cls(
            id=str(d.get("id")),
            category=str(d.get("category")),
            severity=Severity.parse(str(d.get("severity", "info"))),
            title=str(d.get("title", "")),
            message=str(d.get("message", "")),
            remedy=str(d.get("remedy", "")),
            subject=d.get("subject"),
            evidence=evidence,
        )


def _describe(e: Mapping[str, Any]) -> str:
    known = {k: e.get(k) for k in ("path", "line", "command", "excerpt", "detail")}
    return Evidence(**known).describe()


@dataclass(frozen=True)
class Item:
    """The outcome for one target (``items[]`` of the JSON report)."""

    index: int
    input: str
    kind: Optional[str]
    status: str
    exit_code: int
    # The single command's report as compact JSON, zlib-compressed: the parent holds every
    # item until the end, and a thousand reports of ~13 KB shrink to ~2 MB this way.
    report_z: Optional[bytes] = None
    error: Optional[str] = None
    findings: tuple[FindingRow, ...] = ()
    skipped: int = 0
    waived: int = 0
    baseline: Optional[Mapping[str, Any]] = None  # compared_with, new, fixed, unchanged
    tools: Optional[str] = None
    os_release: Optional[str] = None
    seconds: float = 0.0

    @property
    def evaluated(self) -> bool:
        return self.status in ("ok", "findings")

    def worst(self) -> Optional[Severity]:
        return max((f.severity for f in self.findings), default=None)

    def report(self) -> Optional[dict[str, Any]]:
        """The single command's report object (parsed on demand: items keep compact text)."""
        return None if self.report_z is None else json.loads(zlib.decompress(self.report_z))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input": self.input,
            "kind": self.kind,
            "status": self.status,
            "exit_code": self.exit_code,
            "report": self.report(),
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def rank(self) -> tuple[int, int, int, int]:
        """Sort key, worst first: findings by severity and count, then items that could not
        be evaluated (blind spots), then clean items; input order breaks ties."""
        worst = self.worst()
        if self.status == "findings" or (self.evaluated and worst is not None):
            level = 0 if self.status == "findings" else 2
            return (
                level,
                -(int(worst) if worst is not None else -1),
                -len(self.findings),
                self.index,
            )
        if not self.evaluated:
            return 1, 0, 0, self.index
        return 3, 0, 0, self.index


def pack_report(doc: Mapping[str, Any]) -> bytes:
    """How an item keeps its report (see :attr:`Item.report_z`)."""
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"), 1)


@dataclass(frozen=True)
class AuditResult:
    """All items (input order), what was planned, and whether the run was cut short."""

    items: tuple[Item, ...]
    planned: int
    options: AuditOptions
    ignored: tuple[str, ...] = ()
    interrupted_by: Optional[int] = None  # signal number

    @property
    def partial(self) -> bool:
        return self.interrupted_by is not None

    def worst_first(self) -> list[Item]:
        return sorted(self.items, key=Item.rank)

    def exit_code(self) -> int:
        """128+signal when interrupted; 3 when no item could be evaluated; 1 when an item has
        findings at or above --fail-on *or* could not be evaluated (a fleet with a guest it
        could not read is not a clean fleet); else 0."""
        if self.interrupted_by is not None:
            return 128 + self.interrupted_by
        if not any(i.evaluated for i in self.items):
            return int(ExitCode.INPUT)
        if any(i.status != "ok" for i in self.items):
            return int(ExitCode.FINDINGS)
        return int(ExitCode.OK)

    def summary(self) -> dict[str, Any]:
        items = self.items
        by_category: Counter[str] = Counter()
        by_severity: Counter[str] = Counter()
        grid: dict[str, Counter[str]] = {}
        fixes: dict[str, dict[str, Any]] = {}
        for item in items:
            for f in item.findings:
                sev = str(f.severity)
                by_category[f.category] += 1
                by_severity[sev] += 1
                grid.setdefault(f.category, Counter())[sev] += 1
                entry = fixes.setdefault(
                    f.id,
                    {
                        "id": f.id,
                        "category": f.category,
                        "severity": sev,
                        "title": f.title,
                        "remedy": f.remedy,
                        "items": set(),
                        "findings": 0,
                    },
                )
                entry["items"].add(item.index)
                entry["findings"] += 1
        severities = [str(s) for s in sorted(Severity, reverse=True)]
        ranked = sorted(
            fixes.values(),
            key=lambda e: (-int(Severity.parse(e["severity"])), -len(e["items"]), e["id"]),
        )
        worst = max((w for w in (i.worst() for i in items) if w is not None), default=None)
        out: dict[str, Any] = {
            "items": len(items),
            "planned": self.planned,
            "evaluated": sum(1 for i in items if i.evaluated),
            "by_status": {s: sum(1 for i in items if i.status == s) for s in STATUSES},
            "by_kind": _count(i.kind or "unknown" for i in items),
            "by_category": dict(sorted(by_category.items())),
            "by_severity": {s: by_severity.get(s, 0) for s in severities},
            "by_category_severity": {
                c: {s: grid[c].get(s, 0) for s in severities} for c in sorted(grid)
            },
            "by_tools_version": _count(i.tools for i in items if i.tools),
            "by_os_release": _count(i.os_release for i in items if i.os_release),
            "fix_first": [
                {**{k: v for k, v in e.items() if k != "items"}, "items": len(e["items"])}
                for e in ranked
            ],
            "worst_severity": str(worst) if worst is not None else None,
            "fail_on": str(self.options.fail_on),
            "exit_code": self.exit_code(),
            "waived": sum(i.waived for i in items),
        }
        baseline = self.options.policy.baseline
        if baseline is not None:
            compared = {i.baseline.get("compared_with") for i in items if i.baseline}
            out["baseline"] = {
                "source": baseline.path,
                "new": sum(i.baseline["new"] for i in items if i.baseline),
                "fixed": sum(i.baseline["fixed"] for i in items if i.baseline),
                "unchanged": sum(i.baseline["unchanged"] for i in items if i.baseline),
                "not_in_baseline": [
                    i.input for i in items if i.baseline and i.baseline["compared_with"] is None
                ],
                "not_run": [k for k in baseline.items if k not in compared],
            }
        if self.options.policy.waivers is not None:
            out["waivers"] = self.options.policy.waivers.path
        if self.ignored:
            out["ignored"] = list(self.ignored)
        return out


def _count(values: Any) -> dict[str, int]:
    counts: Counter[str] = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
