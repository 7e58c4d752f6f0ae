"""Identification by sha256 first: the same report as parsing every driver, without the parse.

A fingerprint is a pure function of the bytes, so ``verify`` takes the recorded fingerprint of
every installed driver and ``LIBDIR`` build a database knows by its sha256 and parses only
bytes no database knows. These tests run both paths over the SYNTHETIC vendor samples (image
roots and collector bundles) and compare the whole reports, check that the fast path really
skipped the parses, and that a guest whose builds are all known never imports LIEF.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import pytest
from samplelib import SAMPLES

from toolsfix.fingerprint import DriverFingerprint, fingerprint_bytes
from toolsfix.fpdb import FingerprintDB, Record, learn, load_all
from toolsfix.guest import drivers
from toolsfix.verify import VerifyOptions, verify

REPO = Path(__file__).resolve().parents[1]
#: Perl is not what these tests compare: the configurator part of both reports is the same.
OPTIONS = VerifyOptions(execute=False)
BUNDLES = ("openindiana-os-driver", "sol10-no-accept-jumbo", "sol11.1-fixed-lso-off-mtu9000",
           "sol11.1-s10build-lso-on")  # fmt: skip
#: Bundles whose every driver build the shipped (synthetic) database knows by its bytes.
ALL_KNOWN = ("sol10-no-accept-jumbo", "sol11.1-fixed-lso-off-mtu9000", "sol11.1-s10build-lso-on")
ROOTS = ("omnios-os-driver", "sol10-correct", "sol11.1-arch-swap", "sol11.1-buggy",
         "sol11.1-correct", "sol11.1-handfixed", "sol11.1-missing64")  # fmt: skip
HAVE_LIEF = importlib.util.find_spec("lief") is not None


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the shipped database: what the user learned must not change the comparison."""
    monkeypatch.setenv("TOOLSFIX_USER_DB", str(tmp_path / "no-user-db"))


class Parses:
    """Counts the parses (driver files fingerprinted by reading their ELF structure)."""

    def __init__(self) -> None:
        self.files: list[str] = []

    def fingerprint(
        self, data: bytes, *, name: str = "", engine: str = "auto"
    ) -> DriverFingerprint:
        self.files.append(name)
        return fingerprint_bytes(data, name=name, engine=engine)

    def learn(self, members: list[tuple[str, bytes]], **kwargs: Any) -> list[Record]:
        self.files += [name for name, _ in members]
        return learn(members, **kwargs)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Parses]:
    spy = Parses()
    monkeypatch.setattr(drivers, "fingerprint_bytes", spy.fingerprint)
    monkeypatch.setattr(drivers, "learn", spy.learn)
    yield spy


def _parse_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path before sha256-first lookups: no database is asked for a fingerprint."""

    def nothing_recorded(data: bytes, known: Any) -> Optional[DriverFingerprint]:
        return None

    monkeypatch.setattr(drivers, "_recorded", nothing_recorded)


def _roots_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("toolsfix_test_roots", SAMPLES / "roots.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def _report(*, root: Optional[Path] = None, bundle: Optional[Path] = None) -> str:
    report = verify(root=root, bundle=bundle, options=OPTIONS)
    return json.dumps(report.to_dict(), sort_keys=True, indent=1)


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_report_is_the_same_with_and_without_parsing(
    name: str, parses: Parses, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = SAMPLES / "bundles" / name
    fast = _report(bundle=bundle)
    skipped = list(parses.files)
    _parse_everything(monkeypatch)
    full = _report(bundle=bundle)
    assert fast == full
    assert len(parses.files) > len(skipped)  # the full path parsed what the fast one did not
    if name in ALL_KNOWN:
        assert skipped == []
        assert json.loads(fast)["identifications"]  # drivers were identified


@pytest.mark.parametrize("name", ROOTS)
def test_root_report_is_the_same_with_and_without_parsing(
    name: str, tmp_path: Path, parses: Parses, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _roots_module().copy_root(name, tmp_path / name)
    fast = _report(root=root)
    _parse_everything(monkeypatch)
    assert fast == _report(root=root)
    assert parses.files  # the comparison did parse: the two paths really differ


def _imports_lief(bundle: Path, tmp_path: Path) -> bool:
    """Whether ``verify --bundle`` imports LIEF, in a fresh interpreter."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from toolsfix.verify import VerifyOptions, verify\n"
        f"verify(bundle=Path({str(bundle)!r}), options=VerifyOptions(execute=False))\n"
        "print('lief' in sys.modules)\n"
    )
    env = {**os.environ, "TOOLSFIX_USER_DB": str(tmp_path / "no-user-db")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    return {"True": True, "False": False}[out.stdout.strip()]


@pytest.mark.parametrize("name", ALL_KNOWN)
def test_a_guest_of_known_builds_never_imports_lief(name: str, tmp_path: Path) -> None:
    assert not _imports_lief(SAMPLES / "bundles" / name, tmp_path)


@pytest.mark.skipif(not HAVE_LIEF, reason="LIEF is not installed")
def test_bytes_no_database_knows_are_parsed_with_lief(tmp_path: Path) -> None:
    # The OS's own driver of this guest is in no database: it must be parsed, so the
    # check above is not passing only because LIEF never loads.
    assert _imports_lief(SAMPLES / "bundles" / "openindiana-os-driver", tmp_path)


def test_a_libdir_build_no_database_knows_is_parsed_and_identifies_the_copy(
    tmp_path: Path, parses: Parses
) -> None:
    """An unknown build in the guest's LIBDIR is learned by parsing it, and the installed
    byte copy is then an exact match in the guest's own builds (its sha256 names it)."""
    bundle = tmp_path / "b"
    shutil.copytree(SAMPLES / "bundles" / "sol11.1-s10build-lso-on", bundle)
    files = bundle / "files"
    installed = files / "kernel/drv/amd64/vmxnet3s"
    built = files / "usr/lib/vmware-tools/modules/binary/10_64/vmxnet3s"
    assert built.read_bytes() == installed.read_bytes()  # the installer's byte copy
    changed = installed.read_bytes() + b"\0" * 16  # other bytes: no database knows them
    installed.write_bytes(changed)
    built.write_bytes(changed)
    doc = verify(bundle=bundle, options=OPTIONS).to_dict()
    nic = [i for i in doc["identifications"] if i["name"] == "/kernel/drv/amd64/vmxnet3s"]
    assert [(i["rung"], i["database"]) for i in nic] == [
        ("exact", "guest /usr/lib/vmware-tools/modules/binary")
    ]
    assert any(f.endswith("10_64/vmxnet3s") for f in parses.files)


def test_a_record_inconsistent_with_the_bytes_is_not_taken() -> None:
    """Same sha256 but another size: the record cannot describe these bytes, so they are
    parsed rather than described by it."""
    data = (
        SAMPLES / "bundles/sol11.1-s10build-lso-on/files/kernel/drv/amd64/vmxnet3s"
    ).read_bytes()
    shipped = load_all()
    known = shipped.by_sha256(hashlib.sha256(data).hexdigest())
    assert known  # the shipped synthetic database knows this build
    taken = drivers._recorded(data, [shipped])
    assert taken is not None and taken.sha256 == known[0].sha256
    bad = replace(known[0], fingerprint=replace(known[0].fingerprint, size=len(data) + 1))
    assert drivers._recorded(data, [FingerprintDB([bad])]) is None
