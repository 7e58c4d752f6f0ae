"""Linux Tools tarballs (thousands of members, kernel-build directories each with a
``properties`` file) are the Linux layout in every container: scanned cleanly (exit 0, short
output), their objects counted without being hashed, and learnable in the Linux layout.

The tarballs here are SYNTHETIC: a sample configurator switched to ``tools-for-linux`` and
elfgen objects, laid out like the real 8.6-10.3 Linux distribs.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES, elfgen

from toolsfix.cli import cli
from toolsfix.distrib import default_want, driver_files, inventory, open_source
from toolsfix.fpdb import learn
from toolsfix.scan import ScanOptions, scan

#: Many kernel directories, as in real tarballs (hundreds): the report must not list them.
KBUILDS = [f"{a}.{b}.0-{n}-generic-x86_64" for a in (2, 3) for b in range(6) for n in range(5)]
MODULES = ("vmxnet", "vmhgfs", "vmci")


def _members() -> list[tuple[str, bytes]]:
    cfg = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_text()
    cfg = cfg.replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    assert "tools-for-linux" in cfg
    ko = elfgen().build_linux_ko("vmxnet")
    out = [
        ("bin/vmware-config-tools.pl", cfg.encode()),
        ("etc/manifest.txt.shipped", b'monolithic.version = "9.2.2"\n'),
    ]
    for kb in KBUILDS:
        out.append((f"lib/modules/binary/{kb}/properties", f"kernel {kb}\n".encode()))
        for mod in MODULES:
            ext = ".ko" if mod == "vmci" else ".o"
            out.append((f"lib/modules/binary/{kb}/objects/{mod}{ext}", ko + mod.encode()))
    out += [(f"lib/plugins/file{i:04d}", b"x" * (i % 97)) for i in range(3000)]
    return out


def _tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(f"vmware-tools-distrib/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def linux_tar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _tar_bytes(_members())


@pytest.fixture(scope="module")
def linux_tarball(tmp_path_factory: pytest.TempPathFactory, linux_tar: bytes) -> Path:
    path = tmp_path_factory.mktemp("linux") / "VMwareTools-9.2.2-893683.tar.gz"
    path.write_bytes(gzip.compress(linux_tar, mtime=0))
    return path


def _containers(tmp: Path, tar: bytes) -> list[Path]:
    """The same distrib as .tar, .tar.bz2, .tar.xz, an extracted directory and an ISO."""
    out = []
    for name, data in (
        ("t.tar", tar),
        ("t.tar.bz2", bz2.compress(tar)),
        ("t.tar.xz", lzma.compress(tar)),
    ):
        (tmp / name).write_bytes(data)
        out.append(tmp / name)
    root = tmp / "extracted"
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(root, filter="data")
    out.append(root)
    import pycdlib

    gz = gzip.compress(tar, mtime=0)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", joliet=3)
    iso.add_fp(io.BytesIO(gz), len(gz), "/VMWARETOOLS.TGZ;1", rr_name="VMwareTools.tar.gz",
               joliet_path="/VMwareTools.tar.gz")  # fmt: skip
    iso.write(str(tmp / "linux.iso"))
    iso.close()
    out.append(tmp / "linux.iso")
    return out


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_linux_distrib_scans_cleanly(linux_tarball: Path) -> None:
    report = scan(linux_tarball, ScanOptions(execute=False))
    doc = report.to_dict()
    assert doc["distrib"]["members"] > 3000
    assert doc["distrib"]["layout"] == "linux"
    assert doc["distrib"]["linux_objects"] == len(KBUILDS) * len(MODULES)
    assert doc["distrib"]["drivers"] == []  # no "properties" module, no Solaris build
    assert doc["distrib"]["missing_dirs"] == doc["distrib"]["unexpected_dirs"] == []
    assert doc["configurator"]["product"] == "tools-for-linux"
    # The Solaris function is present (buggy) but never runs on Linux: not applicable.
    assert doc["configurator"]["selection_bug"] == "present"
    assert not [f for f in report.findings if f.category == "configurator-buggy"]
    assert any(s.outcome == "not-applicable" for s in report.skipped)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_linux_scan_exits_0_with_a_short_report(linux_tarball: Path, fmt: str) -> None:
    """No TF105/TF106/TF110, and no line listing every kernel directory."""
    code, out = _run("scan", str(linux_tarball), "--no-exec", "--format", fmt)
    assert code == 0, out
    if fmt == "text":
        assert len(out) < 4000 and max(map(len, out.splitlines())) < 300
        assert "layout linux" in out and "no findings" in out
        assert KBUILDS[-1] not in out  # kernel directories are not listed one by one
    else:
        doc = json.loads(out)
        assert doc["findings"] == [] and doc["distrib"]["layout"] == "linux"


def test_every_container_of_a_linux_distrib_is_the_linux_layout(
    tmp_path: Path, linux_tar: bytes
) -> None:
    for path in _containers(tmp_path, linux_tar):
        inv = inventory(open_source(path))
        assert inv.layout() == "linux", path
        assert {d.module for d in inv.drivers} == set(MODULES), path
        assert len(inv.drivers) == len(KBUILDS) * len(MODULES), path
        assert inv.configurator is not None, path


def test_linux_objects_are_counted_not_hashed(linux_tarball: Path) -> None:
    """No check or output field reads a Linux object's bytes, so a scan never hashes them;
    Solaris builds are hashed (their sha256 is in the report)."""
    inv = inventory(open_source(linux_tarball))
    objs = [d for d in inv.drivers if d.layout == "linux"]
    assert {d.os_dir for d in objs} == set(KBUILDS)
    assert all(d.sha256 is None and d.size > 0 for d in objs)
    assert default_want("lib/modules/binary/3.0.0-1-generic/objects/vmxnet.o") is None
    assert default_want("lib/modules/binary/3.0.0-1-generic/properties") is None
    assert default_want("lib/modules/binary/11_64/vmxnet3s") == "hash"
    solaris = inventory(open_source(SAMPLES / "archives" / "vmware-solaris-tools-9.2.2.tar.gz"))
    assert solaris.layout() == "solaris"
    assert solaris.drivers and all(len(d.sha256 or "") == 64 for d in solaris.drivers)


def test_kernel_dirs_with_only_properties_are_still_linux(tmp_path: Path) -> None:
    """A Linux distrib shipping sources instead of objects still has kernel directories."""
    root = tmp_path / "vmware-tools-distrib"
    (root / "lib/modules/binary/3.2.0-4-amd64").mkdir(parents=True)
    (root / "lib/modules/binary/3.2.0-4-amd64/properties").write_text("k\n")
    (root / "bin").mkdir()
    (root / "bin/vmware-config-tools.pl").write_text("#!/usr/bin/perl\n")
    inv = inventory(open_source(tmp_path))
    assert (inv.layout(), inv.drivers) == ("linux", [])


def test_learn_linux_layout(linux_tarball: Path) -> None:
    files = driver_files(open_source(linux_tarball))
    assert (files.version, files.build) == ("9.2.2", "893683")
    assert not [p for p, _ in files.members if p.endswith("properties")]
    records = learn(files.members, tools_version=files.version, build=files.build, source="t")
    assert {(r.os_dir, r.module) for r in records} == {(kb, m) for kb in KBUILDS for m in MODULES}
    assert all(r.layout == "linux" for r in records)


def test_forward_reader_refuses_to_seek_back() -> None:
    import io as _io

    from toolsfix.distrib import ForwardReader

    r = ForwardReader(_io.BytesIO(b"0123456789"))
    assert r.read(4) == b"0123"
    assert r.seek(6) == 6 and r.read(2) == b"67"
    with pytest.raises(_io.UnsupportedOperation):
        r.seek(2)
