"""The configurator service: one answer for scan, verify and patch.

Covers the product rule (a Linux distrib is not the Solaris selection's business), "execution
wins over the model" (the override sample), the severity of a file perl rejects, lexing once,
and the proof overlapping (and being cancelled with) the archive stream. The samples are the
SYNTHETIC ones from vendor-samples/ (generate.py).
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import pytest
from samplelib import SAMPLES

from toolsfix import configurator, installer, perl, perltext, scan
from toolsfix.checks.selection import SOLARIS_SELECTION_CHECKS, compile_findings
from toolsfix.configurator import ConfiguratorOptions, applies_to_solaris
from toolsfix.distrib import CONFIGURATOR
from toolsfix.errors import InputError
from toolsfix.findings import Severity
from toolsfix.knowledge import Guest
from toolsfix.patching.plan import plan
from toolsfix.perl import CANCELLED, CompileCheck
from toolsfix.scan import ScanOptions

HAVE_PERL = shutil.which("perl") is not None
needs_perl = pytest.mark.skipif(not HAVE_PERL, reason="perl is not installed")

SCRIPTS = SAMPLES / "scripts"
OVERRIDE = SCRIPTS / "vmware-config-tools-9.2.2-override.pl"
BUGGY = SCRIPTS / "vmware-config-tools-9.2.2.pl"
FIXED = SCRIPTS / "vmware-config-tools-9.9.2.pl"
DAMAGED = SCRIPTS / "vmware-config-tools-damaged.pl"
TARBALL = SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"
CAP_10 = "  my $currentMinor = 10;   # The most recent version we build the drivers for\n"
CAP_11 = "  my $currentMinor = 11;   # The most recent version we build the drivers for\n"


def distrib_with(tmp_path: Path, configurator_bytes: bytes, variant: str = "9.2.2") -> Path:
    """A copy of a sample distrib whose configurator is replaced (still SYNTHETIC)."""
    tree = tmp_path / "d"
    shutil.copytree(SAMPLES / "distribs" / variant, tree)
    (tree / "vmware-tools-distrib" / CONFIGURATOR).write_bytes(configurator_bytes)
    return tree


def ids(report: Any) -> set[str]:
    return {f.id for f in report.findings}


def skipped_as(report: Any) -> dict[str, str]:
    return {s.check: str(s.outcome) for s in report.skipped}


# --- the product rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "layout", "applies"),
    [
        ("tools-for-solaris", "solaris", True),
        ("tools-for-solaris", None, True),
        (None, "solaris", True),
        (None, None, True),
        ("tools-for-linux", "solaris", False),
        ("tools-for-linux", None, False),
        ("tools-for-freebsd", None, False),
        ("tools-for-solaris", "linux", False),
        (None, "linux", False),
    ],
)
def test_product_rule(product: Optional[str], layout: Optional[str], applies: bool) -> None:
    rule = applies_to_solaris(product, layout)
    assert rule.applies is applies
    assert rule.reason and "\n" not in rule.reason
    if not applies:
        assert "never runs" in rule.reason


def test_patch_uses_the_same_product_rule() -> None:
    text = BUGGY.read_text().replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    p = plan(text.encode(), "cfg.pl")
    assert p.action == "not-applicable"
    assert p.reason.startswith(applies_to_solaris("tools-for-linux").reason)
    on_linux_layout = plan(BUGGY.read_bytes(), "cfg.pl", layout="linux")
    assert on_linux_layout.action == "not-applicable"
    assert on_linux_layout.reason.startswith(applies_to_solaris(None, "linux").reason)


def _linux_layout_tarball(path: Path, cfg: bytes) -> Path:
    """A SYNTHETIC Linux-layout distrib (kernel-build objects only) with a Solaris-product
    configurator: the drivers say Linux, so the Solaris selection does not apply."""
    with (
        path.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):
        for name, data in (
            (CONFIGURATOR, cfg),
            ("lib/modules/binary/3.2.0-23-generic-x86_64/objects/vmxnet.o", b"\x7fELF synthetic"),
        ):
            info = tarfile.TarInfo(f"vmware-tools-distrib/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_linux_layout_distrib_makes_the_selection_checks_not_applicable(tmp_path: Path) -> None:
    tarball = _linux_layout_tarball(tmp_path / "linux.tar.gz", BUGGY.read_bytes())
    report = scan.scan(tarball, ScanOptions(execute=False))
    doc = report.to_dict()
    assert doc["distrib"]["layout"] == "linux"
    assert doc["configurator"]["applies_to_solaris"] is False
    assert not ids(report) & set(SOLARIS_SELECTION_CHECKS)
    assert {skipped_as(report)[c] for c in SOLARIS_SELECTION_CHECKS} == {"not-applicable"}
    assert not report.fails(Severity.LOW)  # exit 0
    # The same distrib as a Solaris layout would have been a finding: the rule made the difference.
    solaris = scan.scan(TARBALL, ScanOptions(execute=False))
    assert "TF100" in ids(solaris)


# --- execution wins over the model -------------------------------------------------------------


@needs_perl
def test_override_after_the_cap_is_judged_by_what_the_code_does() -> None:
    report = scan.scan(OVERRIDE, ScanOptions())
    cfg = report.to_dict()["configurator"]
    assert cfg["model"]["selection_bug"] == "present"  # the model reads the first assignment
    assert cfg["execution"]["agrees_with_model"] is False
    assert cfg["selection_bug"] == "unknown" and cfg["selection_source"] == "execution"
    assert cfg["driver_dirs_source"] == "execution"
    for guest in ("solaris-11.0", "solaris-11.1", "solaris-11.4"):
        assert cfg["driver_dirs"][guest]["vmxnet3s"] == ["11", "11_64"]
    assert cfg["driver_dirs"]["solaris-10"]["vmxnet3s"] == ["10", "10_64"]
    found = {f.id: f for f in report.findings}
    assert "TF107" in found and "TF100" not in found  # no claim the execution contradicts
    assert all(f.severity < Severity.HIGH or f.id == "TF107" for f in report.findings)


@needs_perl
def test_override_in_a_distrib_gets_no_build_mismatch(tmp_path: Path) -> None:
    tree = distrib_with(tmp_path, OVERRIDE.read_bytes())
    report = scan.scan(tree, ScanOptions())
    assert "TF104" not in ids(report) and "TF100" not in ids(report)
    assert "TF107" in ids(report)


@needs_perl
def test_execution_that_reveals_the_bug_the_model_missed_is_reported(tmp_path: Path) -> None:
    # A fixed release with a later assignment of 10: the model (first assignment) says fixed.
    text = FIXED.read_text()
    assert text.count(CAP_11) == 1
    text = text.replace(CAP_11, CAP_11 + "  $currentMinor = 10;   # override\n")
    tree = distrib_with(tmp_path, text.encode(), "9.9.2")
    report = scan.scan(tree, ScanOptions())
    cfg = report.to_dict()["configurator"]
    assert cfg["model"]["selection_bug"] == "absent"
    assert cfg["selection_bug"] == "unknown"  # never "fixed" against the execution
    assert cfg["driver_dirs"]["solaris-11.1"]["vmxnet3s"] == ["10", "10_64"]
    mismatch = [f for f in report.findings if f.id == "TF104"]
    assert mismatch and mismatch[0].severity == Severity.HIGH
    assert "TF107" in ids(report)


@needs_perl
def test_agreement_keeps_the_model_as_the_source() -> None:
    cfg = scan.scan(BUGGY, ScanOptions()).to_dict()["configurator"]
    assert cfg["execution"]["agrees_with_model"] is True
    assert (cfg["selection_bug"], cfg["selection_source"]) == ("present", "model")
    assert cfg["driver_dirs_source"] == "model"


# --- a file perl rejects -----------------------------------------------------------------------


@needs_perl
def test_a_configurator_that_does_not_compile_is_at_least_medium() -> None:
    report = scan.scan(DAMAGED, ScanOptions())
    tf111 = [f for f in report.findings if f.id == "TF111"]
    assert len(tf111) == 1 and tf111[0].severity >= Severity.MEDIUM
    assert tf111[0].evidence[0].line == 1
    assert report.to_dict()["configurator"]["compile"]["compiles"] is False
    assert report.fails(Severity.MEDIUM)


@needs_perl
def test_a_damaged_fixed_release_is_reported_for_compiling_not_selection(tmp_path: Path) -> None:
    # A fixed release, damaged: the selection is right, but the installer cannot run it.
    text = "\n".join(
        ln.replace("#", "***REMOVED***", 1) if ln.lstrip().startswith("#") or " #" in ln else ln
        for ln in FIXED.read_text().split("\n")
    )
    path = tmp_path / "vmware-config-tools.pl"
    path.write_text(text)
    report = scan.scan(path, ScanOptions())
    assert report.to_dict()["configurator"]["selection_bug"] == "absent"
    assert "TF111" in ids(report) and report.fails(Severity.MEDIUM)


@needs_perl
def test_a_compiling_file_has_no_compile_finding() -> None:
    report = scan.scan(FIXED, ScanOptions())
    assert not report.findings
    assert report.to_dict()["configurator"]["compile"] == {
        "checked": True, "compiles": True, "error": None, "line": None, "reason": None,
    }  # fmt: skip


def test_compile_check_off_or_broken_is_not_evaluated_never_a_claim() -> None:
    a = installer.analyse_bytes(BUGGY.read_bytes(), path="cfg.pl")
    found, skipped = compile_findings(a, None, "", "t")
    assert not found and skipped[0].check == "TF111" and skipped[0].outcome == "not-evaluated"
    found, skipped = compile_findings(a, CompileCheck(False, reason="sandbox was killed"), "", "t")
    assert not found and "sandbox was killed" in skipped[0].reason
    found, skipped = compile_findings(a, CompileCheck(None, reason="perl not found"), "", "t")
    assert not found and skipped[0].outcome == "not-evaluated"
    found, _ = compile_findings(
        a, CompileCheck(False, error="syntax error", line=3), "a\nb\nc", "t"
    )
    assert [f.id for f in found] == ["TF111"] and found[0].evidence[0].excerpt == "c"


@needs_perl
def test_archive_patches_are_compile_checked(tmp_path: Path) -> None:
    from toolsfix.patching.archive import patch_archive  # the service under test, not a layer

    out = patch_archive(TARBALL, tmp_path / "patched.tar.gz")
    assert out.action == "patched"
    assert any(v.startswith("compile check") for v in out.verified), out.verified


# --- lex once, overlap the stream, cancel with it ----------------------------------------------


@needs_perl
def test_the_configurator_is_lexed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = perltext.lex

    def counting(text: str) -> list[perltext.Line]:
        calls.append(len(text))
        return real(text)

    for module in (configurator, installer, perl):
        monkeypatch.setattr(module, "lex", counting)
    facts = configurator.analyse(BUGGY.read_bytes(), "cfg.pl", ConfiguratorOptions())
    assert facts.executed and facts.compiled is not None and facts.compiled.compiles
    assert calls == [BUGGY.stat().st_size]


def test_the_proof_worker_analyses_the_text_for_the_path_it_was_started_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scan's report follows the stream; the analysis is made before, on the proof's
    worker, when the proof was started for the path it is reported under -- and only then."""
    threads: list[tuple[str, str]] = []
    real = installer.analyse_text

    def recording(text: str, **kw: Any) -> installer.Analysis:
        threads.append((threading.current_thread().name, kw["path"]))
        return real(text, **kw)

    monkeypatch.setattr(installer, "analyse_text", recording)
    data = BUGGY.read_bytes()
    options = ConfiguratorOptions(execute=False)
    expected = real(installer.decode(data), path=CONFIGURATOR, data=data)
    pending = configurator.start_proof(data, options, path=CONFIGURATOR)
    facts = configurator.analyse(data, CONFIGURATOR, options, proof=pending)
    assert facts.analysis == expected
    assert threads == [("toolsfix-proof", CONFIGURATOR)]
    threads.clear()
    pending = configurator.start_proof(data, options, path=CONFIGURATOR)
    other = configurator.analyse(data, "elsewhere.pl", options, proof=pending)
    assert other.analysis.path == "elsewhere.pl"
    assert threads == [
        ("toolsfix-proof", CONFIGURATOR),
        (threading.current_thread().name, "elsewhere.pl"),
    ]


@needs_perl
def test_the_proof_runs_while_the_stream_is_still_being_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = threading.Event()
    real_execute = configurator.execute

    def execute(*args: Any, **kwargs: Any) -> perl.Execution:
        started.set()
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(configurator, "execute", execute)
    real_inventory = scan.inventory
    waited: list[bool] = []

    def inventory(source: Any, *, keep: Any = None) -> Any:
        seen_configurator = False

        def chained(entry: Any) -> None:
            nonlocal seen_configurator
            if keep is not None:
                keep(entry)
            if seen_configurator and not waited:
                # The stream goes on only once the proof has started: without the overlap
                # this would wait out its timeout.
                waited.append(started.wait(20))
            seen_configurator = seen_configurator or entry.member.path == CONFIGURATOR

        return real_inventory(source, keep=chained)

    monkeypatch.setattr(scan, "inventory", inventory)
    report = scan.scan(TARBALL, ScanOptions())
    assert waited == [True]
    assert report.to_dict()["configurator"]["execution"]["agrees_with_model"] is True


def test_a_stream_that_fails_after_the_configurator_cancels_the_proof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain tar cut short: the error comes after the configurator member has been read (a
    # gzip stream would fail at once, the decompressor reads ahead).
    data = gzip.decompress(TARBALL.read_bytes())
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    seen: list[str] = []

    def slow_execute(text: str, **kwargs: Any) -> perl.Execution:
        cancel = kwargs["cancel"]
        seen.append("cancelled" if cancel.wait(30) else "ran out")
        return perl.Execution(False, CANCELLED)

    def slow_compile(text: str, **kwargs: Any) -> CompileCheck:
        kwargs["cancel"].wait(30)
        return CompileCheck(False, reason=CANCELLED)

    monkeypatch.setattr(configurator, "execute", slow_execute)
    monkeypatch.setattr(configurator, "compile_check", slow_compile)
    start = time.monotonic()
    with pytest.raises(InputError):
        scan.scan(truncated, ScanOptions())
    assert time.monotonic() - start < 10
    assert seen == ["cancelled"]
    assert not [t for t in threading.enumerate() if t.name.startswith("toolsfix-")]


@needs_perl
def test_cancel_kills_a_running_sandbox() -> None:
    text = BUGGY.read_text().replace(
        "sub configure_module_solaris {\n", "sub configure_module_solaris {\n  1 while 1;\n", 1
    )
    cancel = threading.Event()
    result: list[perl.Execution] = []
    worker = threading.Thread(
        target=lambda: result.append(perl.execute(text, timeout=30, cancel=cancel))
    )
    start = time.monotonic()
    worker.start()
    time.sleep(0.5)
    cancel.set()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - start < 10
    assert not result[0].ran and result[0].reason == CANCELLED


def test_neutralise_gives_the_same_text_with_shared_lines() -> None:
    corpus = [
        *SCRIPTS.glob("*.pl"),
        *(SAMPLES.parent / "tests" / "adversarial" / "sandbox").glob("*.pl"),
        *(SAMPLES.parent / "tests" / "adversarial" / "inputs" / "small").glob("*.pl"),
    ]
    assert len(corpus) > 20
    for path in corpus:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        assert perl.neutralise(text, lines=perltext.lex(text)) == perl.neutralise(text), path


# --- the former scan API stays importable ------------------------------------------------------


def test_former_scan_names_still_work() -> None:
    result = scan.analyse_configurator(BUGGY.read_bytes(), "cfg.pl", ScanOptions(execute=False))
    assert isinstance(result, scan.ConfiguratorResult)
    assert result.to_dict()["selection_bug"] == "present"
    found, skipped = scan.configurator_findings(result, "", "t", None)
    assert "TF100" in {f.id for f in found}
    assert {s.check for s in skipped} >= {"TF107", "TF111"}  # no proof asked for
    assert scan.modules_of(result.analysis) == result.modules
    installer_pl = SAMPLES / "distribs" / "9.2.2" / "vmware-tools-distrib" / "vmware-install.pl"
    assert scan.package_manager_line(installer_pl.read_bytes()) is not None
    assert scan.package_manager_line(BUGGY.read_bytes()) is None


@needs_perl
def test_guest_values_with_control_characters_stay_one_record() -> None:
    # A guest's uname -v or release line comes from a capture: a tab or newline in it must
    # not shift the fields of the simulated guest.
    odd = Guest("odd-guest", "5.11", "11.1\tsnv_111b", "Oracle Solaris 11.1\nX86")
    ex = perl.execute(BUGGY.read_text(), guests=[odd], modules=["vmxnet3s"])
    assert ex.ran, ex.reason
    assert ex.module_dirs("odd-guest", "vmxnet3s") == ("10", "10_64")
