"""Fleet JUnit XML: one ``testsuite`` per item, so CI shows each guest as its own suite.

Inside a suite the cases are the same as for a single report (one failing case per finding,
one skipped case per skipped check, one passing case for a clean item); an item that could not
be evaluated is one case with an ``error``. Text captured on guests may hold characters XML
1.0 forbids; they are replaced so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, TextIO

from toolsfix.report.fleet import FleetRenderer

if TYPE_CHECKING:
    from toolsfix.audit import AuditResult, Item

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


class FleetJunitRenderer(FleetRenderer):
    def finish(self, out: TextIO, result: AuditResult) -> None:
        root = ET.Element("testsuites", name="toolsfix audit")
        # testsuites carries no "skipped" total: the Surefire/Jenkins schema has none there.
        totals = {"tests": 0, "failures": 0, "errors": 0}
        for item in result.items:
            suite = _suite(item)
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
        for key, value in totals.items():
            root.set(key, str(value))
        out.write(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _suite(item: Item) -> ET.Element:
    suite = ET.Element("testsuite", name=xml_safe(item.input))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("kind", item.kind),
        ("status", item.status),
        ("exit_code", item.exit_code),
        ("os_release", item.os_release),
        ("tools_version", item.tools),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=xml_safe(value))
    classbase = f"toolsfix.{item.kind or 'input'}"
    failures = errors = skipped = 0
    if not item.evaluated:
        case = ET.SubElement(suite, "testcase", classname=classbase, name="evaluate")
        ET.SubElement(case, "error", type=item.status, message=xml_safe(item.error))
        errors = 1
    for f in item.findings:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{classbase}.{f.category}",
            name=xml_safe(f"{f.id} {f.subject or ''}".strip()),
        )
        fail = ET.SubElement(case, "failure", type=str(f.severity), message=xml_safe(f.message))
        fail.text = xml_safe(f"evidence: {f.evidence}\nremedy: {f.remedy}")
        failures += 1
    report = item.report() if item.skipped else None
    for s in (report or {}).get("skipped", []):
        case = ET.SubElement(
            suite, "testcase", classname=f"{classbase}.skipped", name=xml_safe(s.get("check"))
        )
        ET.SubElement(case, "skipped", message=xml_safe(f"{s.get('outcome')}: {s.get('reason')}"))
        skipped += 1
    if item.evaluated and not item.findings and not skipped:
        ET.SubElement(suite, "testcase", classname=classbase, name="clean")
    suite.set("tests", str(max(1, failures + errors + skipped)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    return suite
