"""Every document toolsfix prints validates against its published schema, and each validator
can fail.

JSON output is checked against toolsfix's own contract (toolsfix/schemas/report.schema.json and
audit.schema.json, what `toolsfix schema NAME` prints); SARIF and JUnit are checked against
third-party schemas that CI systems use (tests/data/schemas/, provenance in its README), so a
renderer cannot drift into a dialect only toolsfix understands. Inputs are the committed
SYNTHETIC samples under vendor-samples/, run through the real CLI.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import xmlschema
from click.testing import CliRunner
from samplelib import REPO, SAMPLES

from toolsfix import jsonschemas
from toolsfix.cli import cli
from toolsfix.errors import ExitCode, ToolsfixError

DATA = Path(__file__).resolve().parent / "data" / "schemas"
SCHEMA_DIR = REPO / "toolsfix" / "schemas"
ESXI_SETTINGS = SAMPLES / "bundles" / "esxi-lro-on.txt"

SCAN_INPUTS = [
    p for d in ("distribs", "archives", "scripts") for p in sorted((SAMPLES / d).iterdir())
]
VERIFY_INPUTS = [("--root", p) for p in sorted((SAMPLES / "roots").iterdir()) if p.is_dir()] + [
    ("--bundle", p) for p in sorted((SAMPLES / "bundles").iterdir()) if p.is_dir()
]


# --- helpers -------------------------------------------------------------------------------


def runner() -> CliRunner:
    """Separate stderr on click 8.0/8.1 (mix_stderr) and 8.2+ (always separate)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def errors_of(validator: Any, doc: Any) -> list[str]:
    """Readable schema errors (empty when valid), each as ``path: message``; the alternatives
    of a oneOf/anyOf are listed by their own errors, so a failure names the real cause."""

    def leaves(errors: Any) -> Iterator[Any]:
        for e in errors:
            if e.context:
                yield from leaves(e.context)
            else:
                yield e

    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}"
        for e in leaves(validator.iter_errors(doc))
    ]


def validator_for(schema: dict[str, Any]) -> Any:
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def def_validator(bundle: dict[str, Any], ref: str) -> Any:
    """A validator for one ``$defs`` entry of a bundled schema (e.g. one jsonl line kind)."""
    wrapper = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"bundle": bundle},
        "$ref": ref,
    }
    return validator_for(wrapper)


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


@pytest.fixture(scope="module")
def report_validator() -> Any:
    return validator_for(jsonschemas.bundled("report"))


@pytest.fixture(scope="module")
def audit_bundle() -> dict[str, Any]:
    return jsonschemas.bundled("audit")


@pytest.fixture(scope="module")
def audit_validator(audit_bundle: dict[str, Any]) -> Any:
    return validator_for(audit_bundle)


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    schema = json.loads((DATA / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def junit_schema() -> Any:
    return xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))


@pytest.fixture(scope="module")
def sample_report() -> dict[str, Any]:
    """A real scan report with findings, evidence lines and a full configurator section."""
    code, out, _ = invoke(
        "scan", str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"), "--format", "json"
    )
    assert code == int(ExitCode.FINDINGS)
    doc: dict[str, Any] = json.loads(out)
    return doc


def run_all_formats(tmp_path: Path, *args: str) -> tuple[int, Any, Any, Path]:
    """One run writing JSON to stdout plus SARIF and JUnit files: (exit, json, sarif, junit)."""
    sarif, junit = tmp_path / "out.sarif", tmp_path / "out.xml"
    code, out, err = invoke(
        *args, "--format", "json", "-o", f"sarif:{sarif}", "-o", f"junit:{junit}"
    )
    assert code in (ExitCode.OK, ExitCode.FINDINGS), (code, err)
    return code, json.loads(out), json.loads(sarif.read_text(encoding="utf-8")), junit


def check_all_formats(
    tmp_path: Path,
    report_validator: Any,
    sarif_validator: Any,
    junit_schema: Any,
    *args: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run once; validate JSON, SARIF and JUnit; return (json report, sarif log)."""
    code, doc, sarif, junit = run_all_formats(tmp_path, *args)
    assert errors_of(report_validator, doc) == []
    assert errors_of(sarif_validator, sarif) == []
    assert list(junit_schema.iter_errors(str(junit))) == []
    # The three formats describe the same run.
    assert (code == ExitCode.FINDINGS) == any(f["severity"] != "info" for f in doc["findings"])
    assert len(sarif["runs"][0]["results"]) == len(doc["findings"])
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "-1")) == len(doc["findings"])
    assert int(suite.get("skipped", "-1")) == len(doc["skipped"])
    return doc, sarif


# --- the schemas themselves ----------------------------------------------------------------


@pytest.mark.parametrize("name", jsonschemas.SCHEMA_NAMES)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = jsonschemas.load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(jsonschemas.bundled(name))


def test_every_ref_resolves() -> None:
    """A typo in a $ref only fails when a document reaches it: resolve each one up front."""
    docs = {name: jsonschemas.load(name) for name in jsonschemas.SCHEMA_NAMES}
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (doc["$id"], referencing.Resource.from_contents(doc)) for doc in docs.values()
    )
    checked = 0
    for doc in docs.values():
        resolver = registry.resolver(base_uri=doc["$id"])
        for ref in refs_in(doc):
            assert resolver.lookup(ref).contents is not None, ref
            checked += 1
    assert checked > 20


def test_schema_files_are_package_data() -> None:
    """Every shipped schema matches pyproject's package-data globs, so a wheel carries it."""
    tomllib = pytest.importorskip("tomllib")
    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    globs = conf["tool"]["setuptools"]["package-data"]["toolsfix"]
    files = sorted(p.relative_to(REPO / "toolsfix").as_posix() for p in SCHEMA_DIR.glob("*"))
    assert {f"schemas/{name}" for name in jsonschemas.SCHEMA_FILES.values()} <= set(files)
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{f} is not package data"


# --- toolsfix schema NAME ------------------------------------------------------------------


def test_schema_report_prints_the_shipped_file() -> None:
    code, out, _ = invoke("schema", "report")
    assert code == ExitCode.OK
    assert out == (SCHEMA_DIR / "report.schema.json").read_text(encoding="utf-8")
    assert json.loads(out)["$id"] == "urn:toolsfix:schema:report:1"


def test_schema_audit_is_self_contained(sample_report: dict[str, Any]) -> None:
    """The printed audit schema validates on its own: no registry, no second file, no network."""
    code, out, _ = invoke("schema", "audit")
    assert code == ExitCode.OK
    schema = json.loads(out)
    assert schema["$defs"]["toolsfix-report"]["$id"] == "urn:toolsfix:schema:report:1"
    validator = jsonschema.Draft202012Validator(schema)  # no registry given
    item = {"input": "x.tar.gz", "kind": "distrib", "status": "findings", "exit_code": 1}
    doc = {
        "schema_version": "1.0",
        "summary": {"items": 1, "by_status": {}, "by_category": {}, "by_severity": {}},
        "items": [{**item, "report": sample_report}],
    }
    assert errors_of(validator, doc) == []
    broken = copy.deepcopy(doc)
    broken["items"][0]["report"]["findings"][0]["severity"] = "severe"
    assert errors_of(validator, broken), "the embedded report schema must apply to item reports"


def test_schema_unknown_name_is_a_usage_error() -> None:
    code, out, err = invoke("schema", "patches")
    assert code == ExitCode.USAGE
    assert out == ""
    assert "audit" in err and "report" in err
    code, _, err = invoke("schema")
    assert code == ExitCode.USAGE and "audit" in err


def test_cli_choices_match_the_shipped_schemas() -> None:
    command = cli.commands["schema"]
    choice = command.params[0].type
    assert tuple(sorted(choice.choices)) == jsonschemas.SCHEMA_NAMES
    with pytest.raises(ToolsfixError) as exc:
        jsonschemas.schema_text("nope")
    assert exc.value.exit_code == ExitCode.USAGE and "report" in exc.value.message


# --- golden outputs: every sample, every machine format ---------------------------------------


@pytest.mark.parametrize(
    "path", SCAN_INPUTS, ids=[p.relative_to(SAMPLES).as_posix() for p in SCAN_INPUTS]
)
def test_scan_outputs_validate(
    path: Path, tmp_path: Path, report_validator: Any, sarif_validator: Any, junit_schema: Any
) -> None:
    doc, _ = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema, "scan", str(path)
    )
    assert doc["command"] == "scan" and doc["configurator"] is not None


@pytest.mark.parametrize(
    ("option", "path"),
    VERIFY_INPUTS,
    ids=[p.relative_to(SAMPLES).as_posix() for _, p in VERIFY_INPUTS],
)
def test_verify_outputs_validate(
    option: str,
    path: Path,
    tmp_path: Path,
    report_validator: Any,
    sarif_validator: Any,
    junit_schema: Any,
) -> None:
    doc, _ = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema, "verify", option, str(path)
    )
    assert doc["command"] == "verify"


def test_verify_with_esxi_settings_validates(
    tmp_path: Path, report_validator: Any, sarif_validator: Any, junit_schema: Any
) -> None:
    bundle = SAMPLES / "bundles" / "linux-router-lro"
    doc, _ = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema,
        "verify", "--bundle", str(bundle), "--esxi-settings", str(ESXI_SETTINGS),
    )  # fmt: skip
    assert "esxi-lro" in {f["category"] for f in doc["findings"]}


def test_scan_without_execution_validates(
    tmp_path: Path, report_validator: Any, sarif_validator: Any, junit_schema: Any
) -> None:
    doc, _ = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema,
        "scan", str(SAMPLES / "distribs" / "9.2.2"), "--no-exec",
    )  # fmt: skip
    assert doc["configurator"]["execution"] == {"ran": False, "reason": "disabled"}


def test_scan_of_a_distrib_without_configurator_validates(
    tmp_path: Path, report_validator: Any, sarif_validator: Any, junit_schema: Any
) -> None:
    tree = tmp_path / "9.2.2"
    shutil.copytree(SAMPLES / "distribs" / "9.2.2", tree)
    (tree / "vmware-tools-distrib" / "bin" / "vmware-config-tools.pl").unlink()
    doc, _ = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema, "scan", str(tree)
    )
    assert doc["configurator"] is None
    assert "TF103" in {f["id"] for f in doc["findings"]}


def test_paths_needing_escapes_stay_valid_sarif(
    tmp_path: Path, report_validator: Any, sarif_validator: Any, junit_schema: Any
) -> None:
    """A space or '#' in a path must not make the SARIF location an invalid URI (or cut it at
    a fragment): the renderer percent-encodes it, and the path decodes back unchanged."""
    from urllib.parse import unquote

    folder = tmp_path / "golden images #2 (ü)"
    folder.mkdir()
    script = folder / "vmware-config-tools.pl"
    shutil.copy(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl", script)
    doc, sarif = check_all_formats(
        tmp_path, report_validator, sarif_validator, junit_schema, "scan", str(script), "--no-exec"
    )
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    ]
    assert uris and all(" " not in u and "#" not in u for u in uris)
    evidence_paths = {e["path"] for f in doc["findings"] for e in f["evidence"] if "path" in e}
    assert {unquote(u) for u in uris} <= evidence_paths
    assert str(script) in {unquote(u) for u in uris}


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "--bundle", str(ESXI_SETTINGS)),  # a file that is not a bundle
        ("scan", "{missing}"),
        ("scan", "{empty}"),
    ],
    ids=["not-a-bundle", "missing-path", "empty-dir"],
)
def test_failed_runs_print_no_report_or_a_valid_error_document(
    args: tuple[str, ...], tmp_path: Path, report_validator: Any
) -> None:
    """A failed run never prints a half report: stdout is empty or one error document whose
    exit code is the process's."""
    (tmp_path / "empty").mkdir()
    argv = [a.format(missing=tmp_path / "nothing-here", empty=tmp_path / "empty") for a in args]
    code, out, err = invoke(*argv, "--format", "json")
    assert code == ExitCode.INPUT
    assert err.startswith("toolsfix: error:") and err.count("\n") == 1
    if out.strip():
        doc = json.loads(out)
        assert errors_of(report_validator, doc) == []
        assert "error" in doc and doc["error"]["exit_code"] == code


# --- the report schema rejects what breaks the contract ------------------------------------


def test_error_document_shape(report_validator: Any) -> None:
    good = {
        "schema_version": "1.0",
        "command": "verify",
        "error": {"message": "b.txt: not a bundle directory, tar or tar.gz", "exit_code": 3},
    }
    assert errors_of(report_validator, good) == []
    for broken in (
        {"schema_version": "1.0", "error": {"message": "x"}},  # no exit code
        {"schema_version": "1.0", "error": {"message": "x", "exit_code": 1}},  # 1 = a report
        {"schema_version": "1.0", "error": {"message": "two\nlines", "exit_code": 3}},
        {"error": {"message": "x", "exit_code": 3}},  # no schema_version
    ):
        assert errors_of(report_validator, broken), broken


def test_unknown_fields_are_allowed(report_validator: Any, sample_report: dict[str, Any]) -> None:
    """Fields added by later 1.x releases (e.g. os.family) must not fail old consumers."""
    doc = copy.deepcopy(sample_report)
    doc["input_status"] = {"complete": True}
    doc["findings"][0]["provenance"] = "model"
    doc["configurator"]["new_fact"] = 1
    doc["exit_code"] = 1
    assert errors_of(report_validator, doc) == []


DROP = object()  # mutation value: delete the key

# (label, JSON path to change, new value or DROP, where the schema must report the error)
REPORT_MUTATIONS: list[tuple[str, str, Any, str]] = [
    ("no findings", "findings", DROP, "<root>"),
    ("no skipped", "skipped", DROP, "<root>"),
    ("scan without configurator key", "configurator", DROP, "<root>"),
    ("scan without distrib key", "distrib", DROP, "<root>"),
    ("schema_version 2", "schema_version", "2.0", "schema_version"),
    ("command audit", "command", "audit", "command"),
    ("unknown severity", "findings/0/severity", "severe", "findings/0/severity"),
    ("bad id", "findings/0/id", "X100", "findings/0/id"),
    ("bad category", "findings/0/category", "Configurator Buggy", "findings/0/category"),
    ("no evidence", "findings/0/evidence", [], "findings/0/evidence"),
    ("empty evidence", "findings/0/evidence/0", {}, "findings/0/evidence/0"),
    ("line only", "findings/0/evidence/0", {"line": 3}, "findings/0/evidence/0"),
    ("line 0", "findings/0/evidence/0/line", 0, "findings/0/evidence/0/line"),
    ("two-line message", "findings/0/message", "one\ntwo", "findings/0/message"),
    ("no remedy", "findings/0/remedy", DROP, "findings/0"),
    (
        "unknown selection state",
        "configurator/selection_bug",
        "maybe",
        "configurator/selection_bug",
    ),
    ("bad sha256", "configurator/sha256", "xyz", "configurator/sha256"),
    ("bad version", "configurator/version", "nine", "configurator/version"),
    ("bad line ending", "configurator/line_ending", "cr", "configurator/line_ending"),
    ("one function line", "configurator/function_lines", [209], "configurator/function_lines"),
    (
        "three dirs",
        "configurator/driver_dirs/solaris-11.1/vmxnet3s",
        ["11", "11_64", "x"],
        "configurator/driver_dirs/solaris-11.1/vmxnet3s",
    ),
    (
        "bad dir",
        "configurator/driver_dirs/solaris-11.1/vmxnet3s",
        ["11", "eleven"],
        "configurator/driver_dirs/solaris-11.1/vmxnet3s/1",
    ),
    ("a guest missing", "configurator/driver_dirs/solaris-10", DROP, "configurator/driver_dirs"),
    ("unknown guest", "configurator/driver_dirs/solaris-12", None, "configurator/driver_dirs"),
    (
        "guest not a map",
        "configurator/driver_dirs/solaris-10",
        [],
        "configurator/driver_dirs/solaris-10",
    ),
    ("bad source", "configurator/driver_dirs_source", "guess", "configurator/driver_dirs_source"),
    (
        "ran without verdict",
        "configurator/execution",
        {"ran": True, "reason": None},
        "configurator/execution",
    ),
    ("distrib not an object", "distrib", "tarball", "distrib"),
    (
        "unknown outcome",
        "skipped",
        [{"check": "TF300", "outcome": "x", "reason": "r"}],
        "skipped/0/outcome",
    ),
    ("exit code 7", "exit_code", 7, "exit_code"),
]


def mutate(doc: Any, path: str, value: Any) -> None:
    *parents, last = path.split("/")
    node = doc
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    key: Any = int(last) if last.isdigit() else last
    if value is DROP:
        del node[key]
    else:
        node[key] = value


@pytest.mark.parametrize(
    ("label", "path", "value", "where"), REPORT_MUTATIONS, ids=[m[0] for m in REPORT_MUTATIONS]
)
def test_report_schema_rejects_broken_reports(
    label: str,
    path: str,
    value: Any,
    where: str,
    report_validator: Any,
    sample_report: dict[str, Any],
) -> None:
    """Each break of the contract is rejected, and reported where it is (not as a vague
    failure of the whole document)."""
    doc = copy.deepcopy(sample_report)
    assert errors_of(report_validator, doc) == []
    mutate(doc, path, value)
    errors = errors_of(report_validator, doc)
    assert errors, f"{label}: accepted"
    assert any(e.startswith(f"{where}: ") for e in errors), errors


# --- audit: the contract shared with `toolsfix audit` --------------------------------------


def _summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    findings = [f for it in items if it["report"] for f in it["report"]["findings"]]
    return {
        "items": len(items),
        "by_status": dict(Counter(it["status"] for it in items)),
        "by_category": dict(Counter(f["category"] for f in findings)),
        "by_severity": dict(Counter(f["severity"] for f in findings)),
    }


@pytest.fixture(scope="module")
def audit_doc() -> dict[str, Any]:
    """An audit document assembled from real single-input runs, as the contract defines it."""
    inputs = [
        ("distrib", ("scan", str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"))),
        ("distrib", ("scan", str(SAMPLES / "archives" / "vmware-solaris-tools-9.9.2.tar.gz"))),
        ("root", ("verify", "--root", str(SAMPLES / "roots" / "sol11.1-buggy"))),
        ("bundle", ("verify", "--bundle", str(SAMPLES / "bundles" / "sol10-no-accept-jumbo"))),
        ("bundle", ("verify", "--bundle", str(ESXI_SETTINGS))),
    ]
    items: list[dict[str, Any]] = []
    for kind, args in inputs:
        code, out, err = invoke(*args, "--format", "json")
        item: dict[str, Any] = {"input": args[-1], "kind": kind, "exit_code": code}
        if code in (ExitCode.OK, ExitCode.FINDINGS):
            item["status"] = "findings" if code else "ok"
            item["report"] = json.loads(out)
        else:
            item.update(status="error", report=None, error=err.strip().splitlines()[0])
        items.append(item)
    assert {it["status"] for it in items} == {"ok", "findings", "error"}
    return {"schema_version": "1.0", "summary": _summary(items), "items": items}


def test_audit_document_validates(audit_doc: dict[str, Any], audit_validator: Any) -> None:
    assert errors_of(audit_validator, audit_doc) == []
    assert errors_of(audit_validator, {**audit_doc, "partial": True}) == []


def test_audit_jsonl_lines_validate(audit_doc: dict[str, Any], audit_bundle: Any) -> None:
    base = "urn:toolsfix:schema:audit:1#/$defs/"
    item_v = def_validator(audit_bundle, base + "item")
    summary_v = def_validator(audit_bundle, base + "summaryLine")
    line_v = def_validator(audit_bundle, base + "line")
    lines = [json.dumps(it) for it in audit_doc["items"]]
    lines.append(json.dumps({"summary": audit_doc["summary"]}))
    for text in lines[:-1]:
        assert errors_of(item_v, json.loads(text)) == []
        assert errors_of(line_v, json.loads(text)) == []
        assert errors_of(summary_v, json.loads(text)), "an item is not a summary line"
    assert errors_of(summary_v, json.loads(lines[-1])) == []
    assert errors_of(line_v, json.loads(lines[-1])) == []
    assert errors_of(item_v, json.loads(lines[-1])), "a summary line is not an item"


# Items: 0 = scan with findings, 1 = scan ok, 2 = verify of a root, 3 = verify of a bundle,
# 4 = an input that could not be read (status error, report null).
AUDIT_MUTATIONS: list[tuple[str, str, Any, str]] = [
    ("no summary", "summary", DROP, "<root>"),
    ("no items", "items", DROP, "<root>"),
    ("partial not boolean", "partial", "yes", "partial"),
    ("unknown status", "items/0/status", "failed", "items/0/status"),
    ("unknown kind", "items/0/kind", "iso", "items/0/kind"),
    ("exit code 9", "items/0/exit_code", 9, "items/0/exit_code"),
    ("empty input", "items/0/input", "", "items/0/input"),
    ("ok without report", "items/1/report", None, "items/1/report"),
    ("report missing", "items/0/report", DROP, "items/0"),
    ("verify report for a distrib", "items/2/kind", "distrib", "items/2/report/command"),
    ("scan report for a root", "items/0/kind", "root", "items/0/report/command"),
    ("broken item report", "items/0/report/findings", DROP, "items/0/report"),
    ("two-line error", "items/4/error", "a\nb", "items/4/error"),
    ("status count negative", "summary/by_status/ok", -1, "summary/by_status/ok"),
    ("unknown status counted", "summary/by_status/failed", 1, "summary/by_status"),
    ("unknown severity counted", "summary/by_severity/severe", 1, "summary/by_severity"),
    ("summary without by_category", "summary/by_category", DROP, "summary"),
]


@pytest.mark.parametrize(
    ("label", "path", "value", "where"), AUDIT_MUTATIONS, ids=[m[0] for m in AUDIT_MUTATIONS]
)
def test_audit_schema_rejects_broken_documents(
    label: str, path: str, value: Any, where: str, audit_doc: Any, audit_validator: Any
) -> None:
    doc = copy.deepcopy(audit_doc)
    mutate(doc, path, value)
    errors = errors_of(audit_validator, doc)
    assert errors, f"{label}: accepted"
    assert any(e.startswith(f"{where}: ") for e in errors), errors


def test_real_audit_output_validates(
    tmp_path: Path,
    audit_validator: Any,
    audit_bundle: Any,
    sarif_validator: Any,
    junit_schema: Any,
) -> None:
    """`toolsfix audit`'s json, jsonl, SARIF and JUnit output validate (one run writes all)."""
    if "audit" not in cli.commands:
        pytest.skip("this build has no `toolsfix audit` command")
    inputs = [
        str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"),
        str(SAMPLES / "roots" / "sol11.1-buggy"),
        str(SAMPLES / "bundles" / "sol11.1-fixed-lso-off-mtu9000"),
        str(ESXI_SETTINGS),  # not a bundle, root or distrib: an error item
    ]
    jsonl, sarif, junit = tmp_path / "a.jsonl", tmp_path / "a.sarif", tmp_path / "a.xml"
    code, out, err = invoke(
        "audit", *inputs, "--format", "json", "--jobs", "1", "-q",
        "-o", f"jsonl:{jsonl}", "-o", f"sarif:{sarif}", "-o", f"junit:{junit}",
    )  # fmt: skip
    assert code in (ExitCode.OK, ExitCode.FINDINGS), err
    doc = json.loads(out)
    assert errors_of(audit_validator, doc) == []
    assert sorted(it["input"] for it in doc["items"]) == sorted(inputs)
    assert {it["kind"] for it in doc["items"]} == {"distrib", "root", "bundle"}
    assert any(it["report"] is None for it in doc["items"])
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    item_v = def_validator(audit_bundle, "urn:toolsfix:schema:audit:1#/$defs/item")
    summary_v = def_validator(audit_bundle, "urn:toolsfix:schema:audit:1#/$defs/summaryLine")
    assert len(lines) == len(inputs) + 1
    for line in lines[:-1]:
        assert errors_of(item_v, line) == []
    assert errors_of(summary_v, lines[-1]) == []
    assert errors_of(sarif_validator, json.loads(sarif.read_text(encoding="utf-8"))) == []
    assert list(junit_schema.iter_errors(str(junit))) == []


# --- the third-party validators can fail ----------------------------------------------------


def test_sarif_schema_rejects_broken_logs(
    tmp_path: Path, sarif_validator: Any, report_validator: Any
) -> None:
    _, _, sarif, _ = run_all_formats(
        tmp_path, "scan", str(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"), "--no-exec"
    )
    assert errors_of(sarif_validator, sarif) == []
    result = ("runs", 0, "results", 0)

    def at(doc: Any, path: tuple[Any, ...]) -> Any:
        for p in path:
            doc = doc[p]
        return doc

    breakers = [
        lambda d: at(d, result).update(level="fatal"),
        lambda d: at(d, result).pop("message"),
        lambda d: d.update(version="2.0.0"),
        lambda d: at(d, ("runs", 0, "tool", "driver")).pop("name"),
        lambda d: at(d, (*result, "locations", 0, "physicalLocation", "region")).update(
            startLine=0
        ),
        # What the renderer wrote before paths were percent-encoded: not a URI reference.
        lambda d: at(d, (*result, "locations", 0, "physicalLocation", "artifactLocation")).update(
            uri="golden images #2/vmware-config-tools.pl"
        ),
        lambda d: d.update(extra=True),
    ]
    for n, breaker in enumerate(breakers):
        doc = copy.deepcopy(sarif)
        breaker(doc)
        assert errors_of(sarif_validator, doc), f"breaker {n} accepted"


def test_junit_schema_rejects_broken_reports(tmp_path: Path, junit_schema: Any) -> None:
    _, _, _, junit = run_all_formats(
        tmp_path, "scan", str(SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl"), "--no-exec"
    )
    assert list(junit_schema.iter_errors(str(junit))) == []

    def broken(edit: Any) -> str:
        root = ET.parse(junit).getroot()
        edit(root)
        return ET.tostring(root, encoding="unicode")

    def suite(root: ET.Element) -> ET.Element:
        found = root.find("testsuite")
        assert found is not None
        return found

    breakers = [
        # What the renderer wrote before: Surefire/Jenkins require `errors` on a testsuite.
        lambda r: suite(r).attrib.pop("errors"),
        lambda r: suite(r).attrib.pop("name"),
        lambda r: next(iter(suite(r))).attrib.pop("name"),
        lambda r: ET.SubElement(suite(r), "finding"),
        lambda r: suite(r).set("time", "soon"),
    ]
    for n, breaker in enumerate(breakers):
        assert list(junit_schema.iter_errors(broken(breaker))), f"breaker {n} accepted"
