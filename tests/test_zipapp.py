"""The single-file ``toolsfix.pyz``: built here, run under a bare interpreter.

"Bare" means ``python -I -S``: no site-packages, no user site, no PYTHON* variables, so the
archive must carry every pure-Python dependency itself, and LIEF/isal (which live only in
site-packages) cannot be reached: the built-in ELF reader and zlib do the work. Each command's
JSON must equal what the installed CLI prints for the same input.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "integrations" / "zipapp" / "build.py"
BOOTSTRAP = REPO / "integrations" / "zipapp" / "pyz_main.py"
SAMPLES = REPO / "vendor-samples"

# Prints what the archive's run left in sys.modules, after the CLI's own exit.
_PROBE = """
import atexit, runpy, sys
pyz = sys.argv[1]
def report():
    names = sorted(n.split(".")[0] for n in sys.modules)
    sys.stderr.write("PROBE-MODULES " + " ".join(sorted(set(names))) + "\\n")
atexit.register(report)
sys.argv = sys.argv[1:]
sys.path.insert(0, pyz)
runpy.run_path(pyz, run_name="__main__")
"""


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "toolsfix.pyz"
    proc = subprocess.run(
        [sys.executable, str(BUILD), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path_factory.getbasetemp(),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    return out


def _bare(pyz: Path, *args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the archive under an isolated interpreter without site-packages."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(tmpdir), "LC_ALL": "C"}
    return subprocess.run(
        [sys.executable, "-I", "-S", str(pyz), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def _installed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolsfix", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def _same_json(pyz: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    bare = _bare(pyz, *args, "--format", "json", tmpdir=tmp_path)
    installed = _installed(*args, "--format", "json")
    assert bare.returncode == installed.returncode, bare.stderr
    doc: dict[str, Any] = json.loads(bare.stdout)
    assert doc == json.loads(installed.stdout)
    return doc


def test_archive_holds_the_pure_python_core_and_no_native_code(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("toolsfix-pyz.json"))
    tops = {n.split("/")[0] for n in names}
    assert {"__main__.py", "_core", "click", "packaging", "pycdlib"} <= tops
    assert not any(t.startswith(("lief", "isal")) for t in tops)
    assert not any(n.endswith((".so", ".pyd", ".pyc")) for n in names)
    for data in (
        "_core/toolsfix/sandbox.pl",
        "_core/toolsfix/checks/catalog.json",
        "_core/toolsfix/guest/collector.sh.in",
        "_core/toolsfix/schemas/patch.schema.json",
    ):
        assert data in names
    assert any(n.startswith("_core/patches/") and n.endswith(".json") for n in names)
    assert any(n.startswith("_core/fingerprints/") and n.endswith(".json") for n in names)
    assert set(manifest["vendored"]) == {"click", "packaging", "pycdlib"}
    assert manifest["min_python"] >= [3, 9]
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert os.access(pyz, os.X_OK)


def test_scan_matches_the_installed_cli(pyz: Path, tmp_path: Path) -> None:
    archive = str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz")
    doc = _same_json(pyz, tmp_path, "scan", archive)
    assert doc["configurator"]["selection_bug"] == "present"
    if shutil.which("perl"):
        # The execution proof ran sandbox.pl, materialised from inside the archive.
        assert doc["configurator"]["execution"]["agrees_with_model"] is True
    assert list(tmp_path.iterdir()) == []  # the private unpack directory is gone


def test_verify_bundle_and_root_match_the_installed_cli(pyz: Path, tmp_path: Path) -> None:
    bundle = str(SAMPLES / "bundles" / "sol11.1-s10build-lso-on")
    doc = _same_json(pyz, tmp_path, "verify", "--bundle", bundle)
    assert "driver-build-mismatch" in {f["category"] for f in doc["findings"]}
    # The tampered driver is identified against the shipped fingerprints/ from the archive.
    root = str(SAMPLES / "roots" / "sol11.4-tampered")
    doc = _same_json(pyz, tmp_path, "verify", "--root", root)
    assert "driver-modified" in {f["category"] for f in doc["findings"]}


def test_fingerprint_without_lief_agrees_with_lief(pyz: Path, tmp_path: Path) -> None:
    kernel = SAMPLES / "roots" / "sol11.1-buggy" / "kernel"
    drivers = sorted(str(p) for p in kernel.rglob("vmxnet3s"))
    assert drivers
    doc = _same_json(pyz, tmp_path, "fingerprint", *drivers)
    assert {r["rung"] for r in doc["results"]} == {"exact"}


def test_audit_with_worker_processes_matches_the_installed_cli(pyz: Path, tmp_path: Path) -> None:
    # Workers must find the materialised core too (it is on the sys.path they inherit).
    bundles = [
        str(SAMPLES / "bundles" / n) for n in ("sol11.1-s10build-lso-on", "sol10-no-accept-jumbo")
    ]
    doc = _same_json(pyz, tmp_path, "audit", *bundles, "--jobs", "2")
    assert sorted(item["input"] for item in doc["items"]) == sorted(bundles)
    assert all(item["report"] is not None for item in doc["items"])


def test_lief_and_isal_are_never_imported(pyz: Path, tmp_path: Path) -> None:
    driver = str(SAMPLES / "roots" / "sol11.4-tampered" / "kernel" / "drv" / "amd64" / "vmxnet3s")
    archive = str(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz")
    for args in (["fingerprint", driver], ["scan", archive]):
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _PROBE, str(pyz), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert proc.returncode in (0, 1), proc.stderr
        line = next(x for x in proc.stderr.splitlines() if x.startswith("PROBE-MODULES "))
        loaded = set(line.split()[1:])
        assert {"toolsfix", "click"} <= loaded
        assert not loaded & {"lief", "isal"}


def test_patch_dry_run_uses_the_shipped_patches(pyz: Path, tmp_path: Path) -> None:
    distrib = str(SAMPLES / "distribs" / "9.2.2" / "vmware-tools-distrib")
    bare = _bare(pyz, "patch", distrib, "--dry-run", tmpdir=tmp_path)
    installed = _installed("patch", distrib, "--dry-run")
    assert (bare.returncode, bare.stdout) == (installed.returncode, installed.stdout)
    assert "$currentMinor = 11" in bare.stdout


def test_bad_input_is_one_line_and_exit_3(pyz: Path, tmp_path: Path) -> None:
    proc = _bare(pyz, "scan", str(tmp_path / "missing.tar.gz"), tmpdir=tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_build_is_reproducible(tmp_path: Path) -> None:
    # Two builds back to back (from different directories) give the same bytes; with
    # SOURCE_DATE_EPOCH every entry carries that date instead of 1980-01-01.
    outs = [tmp_path / "a" / "toolsfix.pyz", tmp_path / "b" / "toolsfix.pyz"]
    for out in outs:
        out.parent.mkdir()
        subprocess.run([sys.executable, str(BUILD), "-o", str(out)], check=True,
                       capture_output=True, timeout=120, cwd=out.parent)  # fmt: skip
    assert outs[0].read_bytes() == outs[1].read_bytes()
    dated = tmp_path / "dated.pyz"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1420070400"}  # 2015-01-01T00:00:00Z
    subprocess.run([sys.executable, str(BUILD), "-o", str(dated)], check=True,
                   capture_output=True, timeout=120, env=env)  # fmt: skip
    with zipfile.ZipFile(dated) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2015, 1, 1, 0, 0, 0)}


def test_too_old_python_gets_one_line() -> None:
    boot = _load(BOOTSTRAP, "toolsfix_pyz_main")
    assert boot.python_problem((3, 10), (3, 11, 2)) is None
    assert boot.python_problem((3, 10), (3, 10, 0)) is None
    message = boot.python_problem((3, 10), (3, 9, 18, "final", 0))
    assert message is not None
    assert "needs Python 3.10 or newer (this is 3.9.18)" in message


def test_unsafe_member_names_are_refused() -> None:
    boot = _load(BOOTSTRAP, "toolsfix_pyz_main")
    assert boot.core_members(["_core/toolsfix/a.py", "click/x.py", "_core/"]) == [
        "_core/toolsfix/a.py"
    ]
    for bad in ("_core/../evil.py", "_core//etc/passwd", "_core/a/./b", "_core/a\\b"):
        with pytest.raises(ValueError, match="unsafe member"):
            boot.core_members([bad])


def test_build_resolves_like_a_solaris_install_and_refuses_what_it_cannot_ship() -> None:
    build = _load(BUILD, "toolsfix_pyz_build")
    env = build.solaris_environment()
    native = ['lief>=0.14; platform_system != "SunOS"', "isal>=1.0"]
    names = [d.metadata["Name"] for d in build.resolve(["click>=8.0", *native], env)]
    assert names == ["click"]
    with pytest.raises(build.BuildError, match="is not installed"):
        build.resolve(["no-such-distribution-for-toolsfix-tests>=1"], env)
    with pytest.raises(build.BuildError, match="is installed"):
        build.resolve(["click>=9999"], env)
    try:
        lief = importlib.metadata.distribution("lief")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("lief is not installed here, so there is no native distribution to refuse")
    with pytest.raises(build.BuildError, match="compiled extensions"):
        build.dist_members(lief)
