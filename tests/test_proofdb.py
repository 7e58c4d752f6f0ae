"""Proofs on record: learned once by ``fingerprints learn``, answering for the same bytes later.

The central property: for every sample configurator, the answer taken from a record is the
answer the sandbox gives (same execution, same compile check, same report apart from saying
where the proof came from), and a record is used only for the same bytes, guests and harness.
Also: TF112 for a modified copy of a release on record, ``--reprove``, damaged record files
(one line, exit 3), and that scan and verify never write a record. Samples are SYNTHETIC.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import pytest
from samplelib import SAMPLES

from toolsfix import configurator, proofdb
from toolsfix.configurator import ConfiguratorOptions
from toolsfix.distrib import CONFIGURATOR
from toolsfix.errors import InputError
from toolsfix.findings import Severity
from toolsfix.knowledge import GUESTS, Guest
from toolsfix.patching.plan import plan
from toolsfix.proofdb import ProofTable, load_table, save_proof

needs_perl = pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
SCRIPTS = sorted((SAMPLES / "scripts").glob("vmware-config-tools-*.pl"))
LINUX = SAMPLES / "roots" / "linux-tools-tar" / "usr" / "bin" / "vmware-config-tools.pl"
TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
BUNDLE = SAMPLES / "bundles" / "sol11.1-s10build-lso-on"


def _proved(data: bytes, **kw: Any) -> configurator.ConfiguratorFacts:
    return configurator.analyse(data, CONFIGURATOR, ConfiguratorOptions(use_records=False), **kw)


def _from(db: Path, data: bytes, **kw: Any) -> configurator.ConfiguratorFacts:
    options = ConfiguratorOptions(extra_record_dirs=(db,))
    return configurator.analyse(data, CONFIGURATOR, options, **kw)


def _learned(db: Path, data: bytes, source: str = "sample.tar.gz") -> proofdb.ProofRecord:
    record, why = configurator.proof_record(_proved(data), source)
    assert record is not None, why
    save_proof(db, record)
    return record


def _toolsfix(user_db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m toolsfix ARGS`` with ``user_db`` as the user database."""
    env = {**os.environ, "TOOLSFIX_USER_DB": str(user_db)}
    return subprocess.run([sys.executable, "-m", "toolsfix", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _without_source(d: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(d))
    out["execution"].pop("source", None)
    out.pop("on_record", None)
    return out


@needs_perl
@pytest.mark.parametrize("script", [*SCRIPTS, LINUX], ids=lambda p: p.parent.parent.name
                         if p == LINUX else p.stem)  # fmt: skip
def test_a_recorded_proof_is_the_sandboxs_answer(tmp_path: Path, script: Path) -> None:
    data = script.read_bytes()
    live = _proved(data)
    record, why = configurator.proof_record(live, "sample.tar.gz")
    if record is None:  # only a file whose proof cannot finish is left unrecorded
        assert "did not" in why and live.compiled is not None
        return
    save_proof(tmp_path, record)
    (loaded,) = load_table([tmp_path]).records
    assert dataclasses.replace(loaded, file="") == record  # the file keeps every field
    again = _from(tmp_path, data)
    assert again.record is not None and again.record.sha256 == live.analysis.sha256
    assert again.execution == live.execution
    assert again.compiled == live.compiled
    assert _without_source(again.to_dict()) == _without_source(live.to_dict())
    assert again.to_dict()["execution"]["source"] == "record"
    assert again.to_dict()["on_record"]["state"] == "known"
    assert live.to_dict()["execution"]["source"] == "sandbox"
    assert live.to_dict()["on_record"] is None
    found = {f.id for f in configurator.findings(again, "t")[0]}
    assert found == {f.id for f in configurator.findings(live, "t")[0]}


@needs_perl
def test_a_record_answers_only_for_its_bytes_guests_and_harness(tmp_path: Path) -> None:
    data = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_bytes()
    record = _learned(tmp_path, data)
    table = load_table([tmp_path])
    h, p = record.harness, record.perl
    assert p == proofdb.perl_identity(shutil.which("perl"))

    def ids(harness: Optional[str], perl: Optional[str]) -> Callable[[], tuple[Any, Any]]:
        return lambda: (harness, perl)

    def unasked() -> tuple[str, str]:
        raise AssertionError("identities asked for bytes nobody recorded")

    assert table.proof_for(record.sha256, GUESTS, ids(h, p)) is not None
    assert table.proof_for("0" * 64, GUESTS, unasked) is None
    assert table.proof_for(record.sha256, GUESTS, ids("f" * 64, p)) is None
    assert table.proof_for(record.sha256, GUESTS, ids(None, p)) is None
    assert table.proof_for(record.sha256, GUESTS, ids(h, p + "0")) is None
    assert table.proof_for(record.sha256, GUESTS, ids(h, None)) is None
    other = Guest("target-guest", "5.11", "11.3", "")
    assert table.proof_for(record.sha256, (*GUESTS, other), ids(h, p)) is None
    # a guest outside the record (scan --guest) makes perl run, with the same contract answer
    facts = _from(tmp_path, data, guests=(*GUESTS, other))
    assert facts.record is None and facts.to_dict()["execution"]["source"] == "sandbox"
    # a record made by another harness, or with another perl, is stale: perl runs
    for stale in (dataclasses.replace(record, harness="e" * 64),
                  dataclasses.replace(record, perl="/opt/perl5.8/bin/perl:1:2")):  # fmt: skip
        shutil.rmtree(tmp_path / proofdb.SUBDIR)
        save_proof(tmp_path, stale)
        assert _from(tmp_path, data).record is None


def test_perl_identity_changes_with_the_executable(tmp_path: Path) -> None:
    perl = tmp_path / "perl"
    perl.write_bytes(b"#!/bin/sh\n")
    first = proofdb.perl_identity(str(perl))
    assert first is not None and first.startswith(str(perl.resolve()))
    perl.write_bytes(b"#!/bin/sh\n# upgraded\n")
    assert proofdb.perl_identity(str(perl)) != first
    link = tmp_path / "link"
    link.symlink_to(perl)
    assert proofdb.perl_identity(str(link)) == proofdb.perl_identity(str(perl))
    assert proofdb.perl_identity(str(tmp_path / "none")) is None
    assert proofdb.perl_identity(None) is None


@needs_perl
def test_an_unfinished_proof_is_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_bytes()
    monkeypatch.setenv("TOOLSFIX_PERL", "/nonexistent/perl")
    record, why = configurator.proof_record(_proved(data), "x")
    assert record is None and "perl" in why
    monkeypatch.delenv("TOOLSFIX_PERL")
    slow = configurator.analyse(
        data, CONFIGURATOR, ConfiguratorOptions(use_records=False, perl_timeout=0.001)
    )
    record, why = configurator.proof_record(slow, "x")
    assert record is None and why
    taken = dataclasses.replace(slow, record=_some_record())
    assert configurator.proof_record(taken, "x")[0] is None


def _some_record() -> proofdb.ProofRecord:
    ex = configurator.Execution(True)
    return proofdb.ProofRecord("a" * 64, 1, "9.2.2", "1", None, "h", "p", GUESTS, ex,
                               configurator.CompileCheck(True), "s")  # fmt: skip


@needs_perl
def test_modified_copy_of_a_release_on_record_is_tf112(tmp_path: Path) -> None:
    pristine = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_bytes()
    _learned(tmp_path, pristine, "VMwareTools-9.2.2-893683.tar.gz")
    changed = pristine + b"# a local change\n"
    facts = _from(tmp_path, changed)
    assert facts.record is None  # other bytes: the sandbox proves them
    on_record = facts.to_dict()["on_record"]
    assert on_record["state"] == "modified"
    assert on_record["differs_from"] == [hashlib.sha256(pristine).hexdigest()]
    (tf112,) = [f for f in configurator.findings(facts, "t")[0] if f.id == "TF112"]
    assert tf112.severity is Severity.LOW
    assert "9.2.2 build-893683" in tf112.message and "VMwareTools-9.2.2" in tf112.message
    assert any(e.detail and facts.analysis.sha256 in e.detail for e in tf112.evidence)
    # toolsfix's own patch is expected to change the file: information only
    patched = plan(pristine, "cfg.pl").new_data
    assert patched is not None
    facts = _from(tmp_path, patched)
    assert facts.analysis.marker_patch is not None
    (tf112,) = [f for f in configurator.findings(facts, "t")[0] if f.id == "TF112"]
    assert tf112.severity is Severity.INFO and "patch marker" in tf112.message
    # no release on record, or the file names none: nothing to compare with
    other = (SAMPLES / "scripts" / "vmware-config-tools-9.9.2.pl").read_bytes()
    assert _from(tmp_path, other).differs_from == ()
    assert ProofTable().same_release(None, None, "0" * 64) == ()


@needs_perl
def test_cli_learn_scan_verify_and_reprove(tmp_path: Path) -> None:
    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return _toolsfix(tmp_path / "db", *args)

    learned = tf("fingerprints", "learn", str(TARBALL))
    assert learned.returncode == 0, learned.stderr
    assert "recorded the configurator's sandboxed proof" in learned.stdout
    files = sorted(p.relative_to(tmp_path) for p in (tmp_path / "db").rglob("*"))
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "db").rglob("*")}

    scanned = json.loads(tf("scan", "--format", "json", str(TARBALL)).stdout)
    assert scanned["configurator"]["execution"]["source"] == "record"
    assert "proof on record" in tf("scan", str(TARBALL)).stdout
    again = json.loads(tf("scan", "--reprove", "--format", "json", str(TARBALL)).stdout)
    assert again["configurator"]["execution"]["source"] == "sandbox"
    assert _without_source(again["configurator"]) == _without_source(scanned["configurator"])

    verified = json.loads(tf("verify", "--bundle", str(BUNDLE), "--format", "json").stdout)
    assert verified["configurator"]["execution"]["source"] == "record"
    reproved = tf("verify", "--bundle", str(BUNDLE), "--reprove", "--format", "json").stdout
    assert json.loads(reproved)["configurator"]["execution"]["source"] == "sandbox"
    listed = tf("fingerprints", "list").stdout
    assert "Tools 9.2.2 build 893683  configurator proof: selection ran, compiles" in listed
    assert "1 configurator proof(s) on record" in listed
    # scans and verifies read the records, never write them
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "db").rglob("*")) == files
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "db").rglob("*")} == stamps

    # a database given with --db counts too, for scan, verify and audit alike
    def with_db(*args: str) -> subprocess.CompletedProcess[str]:
        return _toolsfix(tmp_path / "empty", *args)

    extra = ("--db", str(tmp_path / "db"))
    assert _source(with_db("scan", "--format", "json", *extra, str(TARBALL))) == "record"
    assert _source(with_db("scan", "--format", "json", str(TARBALL))) == "sandbox"
    verified = with_db("verify", "--bundle", str(BUNDLE), "--format", "json", *extra)
    assert _source(verified) == "record"
    fleet = with_db("audit", "--format", "json", "-q", *extra, str(TARBALL), str(BUNDLE)).stdout
    items = json.loads(fleet)["items"]
    assert {i["report"]["configurator"]["execution"]["source"] for i in items} == {"record"}
    fleet = with_db("audit", "--format", "json", "-q", "--reprove", *extra, str(TARBALL)).stdout
    (item,) = json.loads(fleet)["items"]
    assert item["report"]["configurator"]["execution"]["source"] == "sandbox"

    only = tf("fingerprints", "learn", "--no-proof", str(TARBALL), "--db", str(tmp_path / "o"))
    assert only.returncode == 0 and "not recorded" in only.stdout
    assert not (tmp_path / "o" / proofdb.SUBDIR).exists()


def _source(done: subprocess.CompletedProcess[str]) -> str:
    """Where the configurator's proof in a scan or verify JSON report came from."""
    return str(json.loads(done.stdout)["configurator"]["execution"]["source"])


def _record_file(tmp_path: Path, doc: Any) -> Path:
    folder = tmp_path / "db" / proofdb.SUBDIR
    folder.mkdir(parents=True)
    path = folder / "tools-9.2.2-1.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ("{not json", "not valid JSON"),
        ({"schema": "other"}, "not a proof record file (schema 'other'"),
        ({"schema": proofdb.FILE_SCHEMA, "records": {}}, "'records' must be an array"),
        ({"schema": proofdb.FILE_SCHEMA, "records": [{"schema": "x"}]}, "records[0].schema"),
        (
            {
                "schema": proofdb.FILE_SCHEMA,
                "records": [{"schema": proofdb.RECORD_SCHEMA, "sha256": "zz"}],
            },
            "records[0].sha256",
        ),
    ],
)
def test_a_damaged_record_file_is_one_line_naming_file_and_field(
    tmp_path: Path, doc: Any, says: str
) -> None:
    path = _record_file(tmp_path, doc)
    with pytest.raises(InputError) as err:
        load_table([tmp_path / "db"])
    assert str(path) in str(err.value) and says in str(err.value)
    assert "\n" not in str(err.value)


def test_every_field_of_a_record_is_validated(tmp_path: Path) -> None:
    good = _some_record().to_dict()
    _record_file(tmp_path, {"schema": proofdb.FILE_SCHEMA, "records": [good]})
    assert len(load_table([tmp_path / "db"]).records) == 1
    bad_values: list[tuple[str, Any]] = [
        ("size", -1), ("size", True), ("harness", 3), ("perl", None), ("synthetic", "yes"),
        ("guests", [["a"]]),
        ("version", 9), ("execution", []), ("compile", None),
    ]  # fmt: skip
    for key, value in bad_values:
        shutil.rmtree(tmp_path / "db")
        _record_file(tmp_path, {"schema": proofdb.FILE_SCHEMA, "records": [{**good, key: value}]})
        with pytest.raises(InputError, match=rf"records\[0\]\.{key}"):
            load_table([tmp_path / "db"])
    for key, value in [("runs", [{"guest": "g", "module": "m", "calls": [[]]}]),
                       ("repaired_comments", -2), ("stubbed", [["a"]]), ("ran", 1)]:  # fmt: skip
        shutil.rmtree(tmp_path / "db")
        broken = {**good, "execution": {**good["execution"], key: value}}
        _record_file(tmp_path, {"schema": proofdb.FILE_SCHEMA, "records": [broken]})
        with pytest.raises(InputError, match=rf"records\[0\]\.execution\.{key}"):
            load_table([tmp_path / "db"])


def test_a_damaged_record_file_fails_scan_with_exit_3(tmp_path: Path) -> None:
    _record_file(tmp_path, "{not json")
    done = _toolsfix(tmp_path / "db", "scan", str(TARBALL))
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert "configurators/tools-9.2.2-1.json: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_saving_twice_changes_nothing_and_merges_by_sha(tmp_path: Path) -> None:
    record = _some_record()
    path = save_proof(tmp_path, record)
    first = path.read_bytes()
    save_proof(tmp_path, record)
    assert path.read_bytes() == first
    save_proof(tmp_path, dataclasses.replace(record, sha256="b" * 64))
    assert [r.sha256 for r in load_table([tmp_path]).records] == ["a" * 64, "b" * 64]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_harness_id_covers_the_sandbox_sources_and_modules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness = proofdb.harness_id()
    assert harness is not None and len(harness) == 64
    assert "sandbox.pl" in proofdb.HARNESS_SOURCES
    proofdb.harness_id.cache_clear()
    try:
        monkeypatch.setattr(proofdb, "CONFIGURED_MODULES", ("vmxnet3s",))
        assert proofdb.harness_id() not in (None, harness)  # fewer modules simulated: stale
        monkeypatch.setattr(proofdb, "HARNESS_SOURCES", ("sandbox.pl", "no-such-source.py"))
        proofdb.harness_id.cache_clear()
        assert proofdb.harness_id() is None  # a source missing: nothing matches
    finally:
        proofdb.harness_id.cache_clear()


@needs_perl
def test_verify_never_calls_an_installed_copy_modified(tmp_path: Path) -> None:
    """The tar installer copies ``bin/`` through a substitution pass, so an installed
    configurator that differs from its distrib's copy on record is not reported as modified
    by ``verify`` (TF112 is a distrib finding); a lone copy of the same bytes, scanned, is."""

    def tf(*args: str) -> subprocess.CompletedProcess[str]:
        return _toolsfix(tmp_path / "db", *args)

    assert tf("fingerprints", "learn", str(TARBALL)).returncode == 0
    root = tmp_path / "root"
    shutil.copytree(SAMPLES / "roots" / "sol11.1-buggy", root, symlinks=True)
    installed = root / "usr" / "bin" / "vmware-config-tools.pl"
    installed.write_bytes(installed.read_bytes() + b"# rewritten by an installer\n")
    doc = json.loads(tf("verify", "--root", str(root), "--format", "json").stdout)
    assert doc["configurator"]["on_record"] is None
    assert doc["configurator"]["execution"]["source"] == "sandbox"
    assert "TF112" not in {f["id"] for f in doc["findings"]}
    scanned = json.loads(tf("scan", "--format", "json", str(installed)).stdout)
    assert scanned["configurator"]["on_record"]["state"] == "modified"
    assert "TF112" in {f["id"] for f in scanned["findings"]}
