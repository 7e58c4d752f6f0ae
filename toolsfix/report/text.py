"""Human text: findings first, most severe first; a clean run prints one line."""

from __future__ import annotations

from toolsfix.findings import Report, sorted_findings
from toolsfix.report.base import Renderer


class TextRenderer(Renderer):
    def render(self, report: Report) -> str:
        lines: list[str] = []
        summary = report.facts.get("summary")
        if isinstance(summary, list):
            lines.extend(str(s) for s in summary)
        for f in sorted_findings(report.findings):
            lines.append(f"{f.id} [{f.severity}] {f.category}: {f.message}")
            for ev in f.evidence:
                lines.append(f"    evidence: {ev.describe()}")
            lines.append(f"    remedy:   {f.remedy}")
        for s in report.skipped:
            lines.append(f"{s.check} [{s.outcome}] {s.reason}")
        n = len(report.findings)
        worst = report.worst()
        if n:
            lines.append(f"{report.command} {report.target}: {n} finding(s), worst {worst}")
        else:
            lines.append(f"{report.command} {report.target}: no findings")
        return "\n".join(lines) + "\n"
