"""JUnit XML: one test case per check outcome, so Jenkins/GitLab show findings as failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from toolsfix.findings import Report, sorted_findings
from toolsfix.report.base import Renderer


class JunitRenderer(Renderer):
    def render(self, report: Report) -> str:
        findings = sorted_findings(report.findings)
        suite = ET.Element(
            "testsuite",
            name=f"toolsfix {report.command}",
            tests=str(max(1, len(findings) + len(report.skipped))),
            failures=str(len(findings)),
            # Required by the Surefire/Jenkins schema even though toolsfix never has "errors"
            # (a run that fails prints no report at all); without it strict consumers reject it.
            errors="0",
            skipped=str(len(report.skipped)),
        )
        for f in findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"toolsfix.{f.category}",
                name=f"{f.id} {f.subject or ''}".strip(),
            )
            fail = ET.SubElement(case, "failure", type=str(f.severity), message=f.message)
            fail.text = "\n".join(
                [*(f"evidence: {e.describe()}" for e in f.evidence), f"remedy: {f.remedy}"]
            )
        for s in report.skipped:
            case = ET.SubElement(suite, "testcase", classname="toolsfix.skipped", name=s.check)
            ET.SubElement(case, "skipped", message=f"{s.outcome}: {s.reason}")
        if not findings and not report.skipped:
            ET.SubElement(suite, "testcase", classname="toolsfix", name=f"{report.command} clean")
        root = ET.Element("testsuites")
        root.append(suite)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
