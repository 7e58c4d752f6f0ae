"""Every fleet format renders the same audit faithfully: CSV parses, HTML holds every item and
escapes guest-controlled text, JUnit and SARIF parse (and validate against the third-party
schemas CI systems use, when tests/data/schemas/ has them), JSON and JSON Lines validate
against toolsfix's published audit schema, text stays within its line width.

The audit runs once over copies of the SYNTHETIC sample bundles, one of them in a directory
whose name is an HTML injection attempt.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix import fingerprint, jsonschemas
from toolsfix.audit import (
    AuditOptions,
    AuditResult,
    FindingRow,
    Item,
    expand_inputs,
    pack_report,
    run_audit,
)
from toolsfix.cli import cli
from toolsfix.findings import Severity
from toolsfix.report.fleet import FLEET_FORMATS, ProgressLine, fleet_renderer
from toolsfix.report.fleet_text import LINE_MAX

jsonschema = pytest.importorskip("jsonschema")

BUNDLES = SAMPLES / "bundles"
SCHEMAS = Path(__file__).resolve().parent / "data" / "schemas"
EVIL = "evil<img src=x onerror=alert(1)>&\"'"
fingerprint.lief_available()  # forked workers inherit the import


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    base = tmp_path_factory.mktemp("fleet")
    shutil.copytree(BUNDLES / "sol11.1-s10build-lso-on", base / EVIL)
    long_dir = base / ("x" * 150)
    shutil.copytree(BUNDLES / "sol10-no-accept-jumbo", long_dir / "guest-with-a-long-path")
    inputs = [
        str(base / EVIL),
        str(BUNDLES / "sol11.1-fixed-lso-off-mtu9000"),
        str(long_dir / "guest-with-a-long-path"),
        str(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"),
        str(base / "missing"),
    ]
    return base, inputs


@pytest.fixture(scope="module")
def result(fleet: tuple[Path, list[str]]) -> AuditResult:
    return run_audit(expand_inputs(fleet[1]), AuditOptions(jobs=2))


def total_findings(result: AuditResult) -> int:
    return sum(len(i.findings) for i in result.items)


def test_every_format_renders(result: AuditResult) -> None:
    for name in FLEET_FORMATS:
        text = fleet_renderer(name).render(result)
        assert text.endswith("\n") and len(text) > 100, name


def test_json_validates_and_keeps_input_order(
    result: AuditResult, fleet: tuple[Path, list[str]]
) -> None:
    doc = json.loads(fleet_renderer("json").render(result))
    schema = jsonschemas.bundled("audit")
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert errors == [], [e.message for e in errors]
    assert [i["input"] for i in doc["items"]] == fleet[1]
    assert doc["summary"]["by_status"]["error"] == 1
    assert doc["summary"]["by_tools_version"]["9.2.2 build 893683"] == 3


def test_jsonl_lines_validate(result: AuditResult) -> None:
    bundle = jsonschemas.bundled("audit")
    line_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"bundle": bundle},
        "$ref": "urn:toolsfix:schema:audit:1#/$defs/line",
    }
    validator = jsonschema.Draft202012Validator(line_schema)
    lines = [json.loads(x) for x in fleet_renderer("jsonl").render(result).splitlines()]
    assert len(lines) == len(result.items) + 1
    for line in lines:
        assert list(validator.iter_errors(line)) == []
    assert lines[-1]["summary"]["items"] == len(result.items)
    assert lines[-1]["partial"] is False


def test_text_is_worst_first_and_short(result: AuditResult) -> None:
    text = fleet_renderer("text").render(result)
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= LINE_MAX
    listed = [x for x in lines if x.startswith("  findings ") or x.startswith("  error ")]
    assert EVIL in listed[0] and " high " in listed[0]  # most severe, most findings
    long_line = next(x for x in listed if "x" * 100 in x)
    assert len(long_line) == LINE_MAX and long_line.endswith("...")  # clipped, not wrapped
    assert listed[-1].startswith("  error ")  # blind spots after findings
    assert "1 item(s) without findings" in text
    assert "What to fix first" in text and "  1. TF" in text
    assert lines[0].startswith(f"toolsfix audit: {len(result.items)} item(s)")
    assert "By Tools version" in text and "9.2.2 build 893683" in text
    assert "Findings by category and severity" in text


def test_csv_one_row_per_item_and_finding(result: AuditResult) -> None:
    rows = list(csv.DictReader(io.StringIO(fleet_renderer("csv").render(result))))
    expected = sum(max(1, len(i.findings)) for i in result.items)
    assert len(rows) == expected
    assert {r["input"] for r in rows} == {i.input for i in result.items}
    assert sum(1 for r in rows if r["finding_id"]) == total_findings(result)
    missing = [r for r in rows if r["status"] == "error"]
    assert len(missing) == 1 and "no such file" in missing[0]["error"]


def test_csv_neutralises_formulas() -> None:
    row = FindingRow("TF100", "x", Severity.HIGH, "t", '=HYPERLINK("http://x")', "-rm", "@s")
    item = Item(0, "+guest", "bundle", "findings", 1, report_z=pack_report({}), findings=(row,))
    result = AuditResult((item,), 1, AuditOptions())
    cells = next(csv.DictReader(io.StringIO(fleet_renderer("csv").render(result))))
    assert cells["input"] == "'+guest"
    assert cells["message"].startswith("'=") and cells["remedy"] == "'-rm"


def test_html_holds_every_item_escaped_and_self_contained(result: AuditResult) -> None:
    page = fleet_renderer("html").render(result)
    assert EVIL not in page and "<img" not in page
    assert "evil&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;" in page
    for item in result.items:
        assert page.count(f'id="item-{item.index}"') == 1
    assert page.count("<details") == len(result.items)
    assert page.count("<tr class=") == len(result.items)
    # nothing is loaded from anywhere: links only point inside the page, scripts are inline
    assert re.findall(r'(?:src|href)="(?!#)', page) == []
    assert "<script src" not in page and "<link" not in page
    assert "default-src 'none'" in page
    assert "th[data-col]" in page  # the sortable table


def test_junit_has_one_suite_per_item(result: AuditResult) -> None:
    text = fleet_renderer("junit").render(result)
    root = ET.fromstring(text.encode("utf-8"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [i.input for i in result.items]
    assert int(root.get("failures", "-1")) == total_findings(result)
    assert int(root.get("errors", "-1")) == 1
    xsd = SCHEMAS / "junit-10.xsd"
    if xsd.is_file():
        xmlschema = pytest.importorskip("xmlschema")
        xmlschema.XMLSchema(str(xsd)).validate(text)


def test_sarif_has_one_run_located_at_items(result: AuditResult) -> None:
    doc = json.loads(fleet_renderer("sarif").render(result))
    assert len(doc["runs"]) == 1
    run = doc["runs"][0]
    assert len(run["results"]) == total_findings(result)
    inputs = {i.input for i in result.items}
    for r in run["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert unquote(uri) in inputs
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1 and "no such file" in notes[0]["message"]["text"]
    schema_file = SCHEMAS / "sarif-2.1.0.json"
    if schema_file.is_file():
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
        assert errors == [], [e.message for e in errors[:5]]


def test_cli_writes_several_formats_in_one_run(tmp_path: Path) -> None:
    outs = {fmt: tmp_path / f"fleet.{fmt}" for fmt in ("json", "csv", "html", "junit", "jsonl")}
    args = ["audit", str(BUNDLES / "linux-router-lro"), "--jobs", "1", "-q"]
    for fmt, path in outs.items():
        args += ["-o", f"{fmt}:{path}"]
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    res = runner.invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 1, res.stderr
    assert res.stdout.startswith("toolsfix audit: 1 item(s)")  # text on stdout
    assert json.loads(outs["json"].read_text())["items"][0]["status"] == "findings"
    assert len(list(csv.reader(outs["csv"].open()))) == 2
    assert "linux-router-lro" in outs["html"].read_text()
    ET.fromstring(outs["junit"].read_bytes())
    assert len(outs["jsonl"].read_text().splitlines()) == 2
    bad = runner.invoke(cli, ["audit", str(BUNDLES), "-o", "pdf:x.pdf"])
    assert bad.exit_code == 2
    bad = runner.invoke(cli, ["audit", str(BUNDLES), "-o", f"json:{tmp_path}/no/dir/x.json"])
    assert bad.exit_code == 2 and "no/dir" in bad.stderr


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    shown, hidden = ProgressLine(3, True, tty), ProgressLine(3, True, pipe)
    for _ in range(3):
        shown.update()
        hidden.update()
    shown.clear()
    assert "3/3 items" in tty.getvalue() and "ETA" in tty.getvalue()
    assert tty.getvalue().endswith("\r")
    assert pipe.getvalue() == ""
    quiet = _Tty()
    silenced = ProgressLine(3, False, quiet)
    silenced.update()
    assert quiet.getvalue() == ""
