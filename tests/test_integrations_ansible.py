"""The Ansible integration, run for real with ansible-playbook.

Four inventory hosts are local (``ansible_connection=local``) but distinct: each has its own
name, its own guest tree (a copy of a SYNTHETIC vendor-samples image root, read through the
collector's TOOLSFIX_COLLECT_PREFIX test hook, passed by the role's
``toolsfix_collect_environment``) and shims for the Solaris commands.
``ansible_python_interpreter`` points at a path that does not exist, so any task that needed
Python on a guest would fail: the role must get by with ``raw``/``script`` and its own fetch
action. One host is broken on purpose (its bundle directory cannot be created): it fails
alone and the fleet audit covers the three others.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_collector import make_solaris_shims
from test_verify_golden import _roots_module

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = REPO / "integrations" / "ansible" / "toolsfix-fleet.yml"
FETCH_PLUGIN = (
    REPO / "integrations" / "ansible" / "roles" / "toolsfix_collect" / "action_plugins"
    / "toolsfix_fetch_raw.py"
)  # fmt: skip
GUESTS = {
    # inventory name: (image root of vendor-samples, Solaris 10 shims?)
    "sol11-buggy": ("sol11.1-buggy", False),
    "sol11-fixed": ("sol11.1-correct", False),
    "sol10-u11": ("sol10-correct", True),
}
BROKEN = "sol11-broken"


def _ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    if found is None:
        pytest.skip("ansible-playbook is not installed (pip install -e '.[dev]' installs it)")
    return found


@dataclass(frozen=True)
class Fleet:
    base: Path
    inventory: Path
    out: Path
    remote: Path
    guests: dict[str, Path]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    _ansible_playbook()
    base = tmp_path_factory.mktemp("fleet")
    remote = base / "remote"
    remote.mkdir()
    hosts: dict[str, Any] = {}
    guests: dict[str, Path] = {}
    for name, (root, solaris10) in GUESTS.items():
        guest = _roots_module().copy_root(root, base / "guests" / name)
        shims = base / "shims" / name
        make_solaris_shims(shims, solaris10=solaris10)
        guests[name] = guest
        hosts[name] = {
            "toolsfix_collect_environment": {
                "TOOLSFIX_COLLECT_PREFIX": str(guest),
                "PATH": f"{shims}:/usr/bin:/bin",
            }
        }
    not_a_dir = base / "not-a-directory"
    not_a_dir.write_text("the broken host's bundle directory cannot be created under a file\n")
    hosts[BROKEN] = {"toolsfix_remote_tmp": str(not_a_dir)}
    inventory = {
        "all": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": str(base / "no-python-on-guests" / "python3"),
                "toolsfix_command": [sys.executable, "-m", "toolsfix"],
                "toolsfix_output_dir": str(base / "out"),
                "toolsfix_remote_tmp": str(remote),
                "toolsfix_audit_jobs": 2,
            },
        }
    }
    path = base / "inventory.json"
    path.write_text(json.dumps(inventory, indent=2))
    return Fleet(base, path, base / "out", remote, guests)


def _play(fleet: Fleet, *extra: str) -> subprocess.CompletedProcess[str]:
    home = fleet.base / "ansible-home"
    cfg = fleet.base / "ansible.cfg"
    cfg.write_text("[defaults]\n")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(cfg),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_REMOTE_TMP": str(fleet.base / "remote-ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    }
    return subprocess.run(
        [_ansible_playbook(), "-i", str(fleet.inventory), str(PLAYBOOK), *extra],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=fleet.base,
        env=env,
    )


def _assert_collected_from(bundle: Path, guest: Path) -> None:
    """The bundle is a complete collection of this host's own guest tree."""
    with tarfile.open(bundle, "r:gz") as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("manifest.txt"))
        handle = archive.extractfile(member)
        assert handle is not None
        manifest = handle.read().decode()
    assert manifest.startswith("format=toolsfix-bundle/1\n")
    assert f"collect_prefix={guest}\n" in manifest
    assert "finished=" in manifest


def _categories(item: dict[str, Any]) -> set[str]:
    return {f["category"] for f in item["report"]["findings"]}


def test_play_collects_fetches_audits_and_fails_on_high(fleet: Fleet) -> None:
    proc = _play(fleet, "-e", "toolsfix_fail_on=high")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 2, log  # 2: some host failed
    assert "toolsfix audit: findings at or above high" in log
    assert f"fatal: [{BROKEN}]" in log

    bundles = fleet.out / "bundles"
    expected = {name: bundles / f"{name}.tar.gz" for name in GUESTS}
    assert sorted(p.name for p in bundles.iterdir()) == sorted(p.name for p in expected.values())
    for name, path in expected.items():
        _assert_collected_from(path, fleet.guests[name])
    assert list(fleet.remote.iterdir()) == []  # nothing left on the "guests"

    reports = fleet.out / "reports"
    doc = json.loads((reports / "fleet.json").read_text())
    items = {item["input"]: item for item in doc["items"]}
    assert set(items) == {str(p) for p in expected.values()}
    assert doc["summary"]["items"] == 3
    for item in items.values():
        assert item["kind"] == "bundle"
        assert item["report"]["target"] == item["input"]
    buggy = items[str(expected["sol11-buggy"])]
    fixed = items[str(expected["sol11-fixed"])]
    assert buggy["status"] == "findings" and buggy["exit_code"] == 1
    assert {"configurator-buggy", "driver-build-mismatch"} <= _categories(buggy)
    assert "driver-build-mismatch" not in _categories(fixed)

    suites = ET.parse(reports / "fleet-junit.xml").getroot().iter("testsuite")
    assert len(list(suites)) == 3
    html = (reports / "fleet.html").read_text()
    assert all(f"{name}.tar.gz" in html for name in GUESTS)


def test_play_passes_below_the_threshold_and_reruns_cleanly(fleet: Fleet) -> None:
    # A second run over the same hosts: stale state is replaced, and with nothing critical
    # in this fleet the play succeeds. As root, it also runs with become (su to root needs
    # no password), the path where the fetch action hands the archive to the login user.
    extra = ["-e", "toolsfix_fail_on=critical", "--limit", f"all:!{BROKEN}"]
    if os.geteuid() == 0:
        extra += ["-e", "ansible_become=true", "-e", "ansible_become_method=su"]
    before = {p: p.stat().st_mtime_ns for p in (fleet.out / "bundles").iterdir()}
    proc = _play(fleet, *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((fleet.out / "reports" / "fleet.json").read_text())
    assert len(doc["items"]) == 3
    for name in GUESTS:
        bundle = fleet.out / "bundles" / f"{name}.tar.gz"
        assert bundle.stat().st_mtime_ns != before[bundle]  # fetched again, not reused
        _assert_collected_from(bundle, fleet.guests[name])
    assert list(fleet.remote.iterdir()) == []


# --- the fetch action's integrity check -------------------------------------------------


def _fetch_plugin() -> Any:
    pytest.importorskip("ansible", reason="ansible-core is not installed")
    import importlib.util

    spec = importlib.util.spec_from_file_location("toolsfix_fetch_raw_test", FETCH_PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65535, 65536, 70001, 300000])
def test_posix_cksum_matches_the_cksum_command(size: int, tmp_path: Path) -> None:
    cksum = shutil.which("cksum")
    if cksum is None:
        pytest.skip("no cksum command to compare with")
    plugin = _fetch_plugin()
    data = bytes((i * 7919 + size) % 251 for i in range(size))
    path = tmp_path / "blob"
    path.write_bytes(data)
    with path.open("rb") as stream:
        ours = plugin.posix_cksum(stream, chunk_size=4096)
    theirs = subprocess.run([cksum], input=data, capture_output=True, check=True).stdout
    assert plugin.parse_cksum(theirs.decode()) == ours
    assert ours[1] == size


def test_parse_cksum_rejects_noise() -> None:
    plugin = _fetch_plugin()
    assert plugin.parse_cksum("4294967295 0\n") == (4294967295, 0)
    assert plugin.parse_cksum("4294967295 0 /var/tmp/x.tar.gz\n") == (4294967295, 0)
    for noise in ("", "cksum: cannot open\n", "12 abc\n", "sh: cksum: not found\n"):
        assert plugin.parse_cksum(noise) is None
