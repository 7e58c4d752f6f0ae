"""Real Linux tarballs (thousands of members, kernel-build directories) scan cleanly, and
their builds can be learned in the Linux layout."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from samplelib import SAMPLES, elfgen

from toolsfix.distrib import driver_files, inventory, open_source
from toolsfix.fpdb import learn
from toolsfix.scan import ScanOptions, scan

KBUILDS = [f"{a}.{b}.0-{n}-generic-x86_64" for a, b, n in [(2, 6, 18), (3, 2, 23), (3, 5, 0)]]


@pytest.fixture(scope="module")
def linux_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = (SAMPLES / "scripts" / "vmware-config-tools-9.2.2.pl").read_text()
    cfg = cfg.replace("return 'tools-for-solaris';", "return 'tools-for-linux';")
    assert "tools-for-linux" in cfg
    ko = elfgen().build_linux_ko("vmxnet")
    path = tmp_path_factory.mktemp("linux") / "VMwareTools-9.2.2-893683.tar.gz"
    with (
        path.open("wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"vmware-tools-distrib/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("bin/vmware-config-tools.pl", cfg.encode())
        add("etc/manifest.txt.shipped", b'monolithic.version = "9.2.2"\n')
        for kb in KBUILDS:
            for mod in ("vmxnet", "vmhgfs", "vmci"):
                add(f"lib/modules/binary/{kb}/objects/{mod}.o", ko + mod.encode())
        for i in range(3000):
            add(f"lib/plugins/file{i:04d}", b"x" * (i % 97))
    return path


def test_linux_distrib_scans_cleanly(linux_tarball: Path) -> None:
    report = scan(linux_tarball, ScanOptions(execute=False))
    doc = report.to_dict()
    assert doc["distrib"]["members"] > 3000
    assert doc["distrib"]["layout"] == "linux"
    assert doc["distrib"]["linux_objects"] == len(KBUILDS) * 3
    assert doc["configurator"]["product"] == "tools-for-linux"
    # The Solaris function is present (buggy) but never runs on Linux: not applicable.
    assert doc["configurator"]["selection_bug"] == "present"
    assert not [f for f in report.findings if f.category == "configurator-buggy"]
    assert any(s.outcome == "not-applicable" for s in report.skipped)


def test_linux_builds_are_hashed_in_the_inventory(linux_tarball: Path) -> None:
    inv = inventory(open_source(linux_tarball))
    objs = [d for d in inv.drivers if d.layout == "linux"]
    assert {d.os_dir for d in objs} == set(KBUILDS)
    assert all(len(d.sha256) == 64 for d in objs)


def test_learn_linux_layout(linux_tarball: Path) -> None:
    files = driver_files(open_source(linux_tarball))
    assert (files.version, files.build) == ("9.2.2", "893683")
    records = learn(files.members, tools_version=files.version, build=files.build, source="t")
    assert {(r.os_dir, r.module) for r in records} == {
        (kb, m) for kb in KBUILDS for m in ("vmxnet", "vmhgfs", "vmci")
    }
    assert all(r.layout == "linux" for r in records)


def test_forward_reader_refuses_to_seek_back() -> None:
    import io as _io

    from toolsfix.distrib import ForwardReader

    r = ForwardReader(_io.BytesIO(b"0123456789"))
    assert r.read(4) == b"0123"
    assert r.seek(6) == 6 and r.read(2) == b"67"
    with pytest.raises(_io.UnsupportedOperation):
        r.seek(2)
