"""Package-database parsers (IPS, SVR4): the records that say which package delivered a
driver. They never raise on odd text and read only what the formats say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolsfix.findings import Evidence
from toolsfix.guest.packages import (
    PackageOwner,
    parse_ips_catalog,
    parse_ips_manifest,
    parse_pkg_contents,
    parse_svr4_contents,
)

IPS_ROOT = (
    Path(__file__).resolve().parent.parent
    / "vendor-samples"
    / "roots"
    / "sol11.4-open-vm-tools-ips"
)

CONTENTS = (
    "pkg://openindiana.org/driver/network/vmxnet3s@0.5.11-2023.0.0.21747:20231029T174539Z"
    "  kernel/drv/amd64/vmxnet3s\n"
    "pkg://ovt/open-vm-tools@12.1.5,11.4-11.4.42.0.1.111.0:20230317T101500Z"
    " kernel/drv/amd64/vmmemctl\n"
    "pkg contents: no matching actions\n"
)
MANIFEST = """\
set name=pkg.fmri value=pkg://omnios/driver/network/vmxnet3s@0.5.11-151046.0
set name=pkg.summary value="VMware vmxnet3 (synthetic)"
dir group=sys mode=0755 owner=root path=kernel/drv/amd64
driver name=vmxnet3s alias=pciex15ad,7b0 perms="* 0666 root sys"
file 0778e128 group=sys mode=0755 owner=root path=kernel/drv/amd64/vmxnet3s pkg.size=26664
file 4b450204 group=sys mode=0644 owner=root path="kernel/drv/vmxnet3s.conf" preserve=true
link path=kernel/drv/amd64/vmx target=vmxnet3s
"""
SVR4 = """\
# Last modified by pkgadd for VMWvmxnet3s package
/kernel/drv/amd64/vmxnet3s f none 0755 root sys 34104 40721 1357000000 VMWvmxnet3s
/kernel/drv/vmxnet3s f none 0755 root sys 24440 12345 1357000000 *VMWvmxnet3s SUNWother
/kernel/drv d none 0755 root sys SUNWckr SUNWcsr
/kernel/drv/vmxnet=../x s none SUNWlink
"""


def test_pkg_contents_rows() -> None:
    rows = parse_pkg_contents(CONTENTS)
    assert [(path, line) for _fmri, path, line in rows] == [
        ("/kernel/drv/amd64/vmxnet3s", 1),
        ("/kernel/drv/amd64/vmmemctl", 2),
    ]
    assert rows[0][0].startswith("pkg://openindiana.org/driver/network/vmxnet3s@")


def test_ips_catalog_skips_signatures_and_odd_shapes() -> None:
    text = json.dumps(
        {
            "_SIGNATURE": {"sha-1": "x"},
            "omnios": {"driver/network/vmxnet3s": [{"version": "0.5.11-151046.0"}], "bad": 3},
            "other": [],
        }
    )
    assert parse_ips_catalog(text) == [("omnios", "driver/network/vmxnet3s", "0.5.11-151046.0")]
    assert parse_ips_catalog("{not json") == []
    assert parse_ips_catalog("[" * 100_000) == []  # nesting deeper than the parser's stack


def test_ips_manifest_files_and_fmri() -> None:
    m = parse_ips_manifest(MANIFEST)
    assert m.fmri == "pkg://omnios/driver/network/vmxnet3s@0.5.11-151046.0"
    assert set(m.files) == {"/kernel/drv/amd64/vmxnet3s", "/kernel/drv/vmxnet3s.conf"}
    assert m.files["/kernel/drv/amd64/vmxnet3s"][0] == 5  # the line, for evidence


def test_svr4_contents_owner_and_status_prefix() -> None:
    wanted = [
        "/kernel/drv/vmxnet3s",
        "/kernel/drv/amd64/vmxnet3s",
        "/kernel/drv",
        "/kernel/drv/vmxnet",
    ]
    got = parse_svr4_contents(SVR4, wanted)
    assert got["/kernel/drv/amd64/vmxnet3s"][:2] == (["VMWvmxnet3s"], 2)
    assert got["/kernel/drv/vmxnet3s"][0] == ["VMWvmxnet3s", "SUNWother"]  # '*' status dropped
    assert got["/kernel/drv"][0] == ["SUNWckr", "SUNWcsr"]
    assert got["/kernel/drv/vmxnet"][0] == ["SUNWlink"]
    assert "/kernel/drv/vmmemctl" not in parse_svr4_contents(SVR4, ["/kernel/drv/vmmemctl"])


def test_owner_names_itself_with_its_release() -> None:
    ev = Evidence(path="/x")
    ips = PackageOwner("ips", "open-vm-tools", "12.1.5,11.4-11.4.42.0.1.111.0", "ovt", ev)
    assert ips.release == "12.1.5"
    assert ips.describe() == "IPS package pkg://ovt/open-vm-tools@12.1.5,11.4-11.4.42.0.1.111.0"
    assert PackageOwner("svr4", "VMWvmxnet3s", None, None, ev).describe() == (
        "SVR4 package VMWvmxnet3s"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parsers_never_raise(text: str) -> None:
    parse_pkg_contents(text)
    parse_ips_catalog(text)
    parse_ips_manifest(text)
    parse_svr4_contents(text, ["/kernel/drv/vmxnet3s"])


def _verify_json(seed: str) -> str:
    argv = [sys.executable, "-m", "toolsfix", "verify", "--root", str(IPS_ROOT), "--format",
            "json", "--no-exec"]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120).stdout


def test_verify_json_does_not_depend_on_the_hash_seed() -> None:
    """Which package owns which file is found by walking a set of paths: the report must
    come out in the same order whatever Python's string hashing seed."""
    outputs = {_verify_json(seed) for seed in ("0", "1", "2", "3")}
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["packages"]
