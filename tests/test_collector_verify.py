"""End to end: the collector runs under dash and busybox sh on a (fake) guest, and its bundle
round-trips through ``verify`` with the same driver verdicts as the image root itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_collector import make_solaris_shims, run_collector, shell_argv
from test_verify_golden import _roots_module

from toolsfix.guest.collector import render_collector
from toolsfix.verify import VerifyOptions, verify

GOLDEN = json.loads((Path(__file__).parent / "golden" / "verify-expectations.json").read_text())


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_collected_bundle_verifies_like_the_root(shell: str, tmp_path: Path) -> None:
    argv = shell_argv(shell)
    guest = _roots_module().copy_root("sol11.1-buggy", tmp_path / "guest")
    shims = tmp_path / "shims"
    make_solaris_shims(shims)
    script = tmp_path / "collect.sh"
    script.write_text(render_collector())
    outdir = tmp_path / "bundle"
    proc = run_collector(argv, script, outdir, shims=[shims], prefix=guest, extra=("-a",))
    assert proc.returncode == 0, proc.stderr

    options = VerifyOptions(execute=False)
    from_root = verify(root=guest, options=options).to_dict()
    for bundle in (outdir, tmp_path / "bundle.tar"):
        doc = verify(bundle=bundle, options=options).to_dict()
        drivers = {d["path"]: d["os_dir"] for d in doc["drivers"] if d["present"]}
        expected = GOLDEN["roots"]["sol11.1-buggy"]["drivers"]
        assert drivers == {p: expected[p] for p in drivers}
        cats = {f["category"] for f in doc["findings"]}
        assert {"configurator-buggy", "driver-build-mismatch", "lso-risk"} <= cats
        root_ids = {(f["id"], f.get("subject")) for f in from_root["findings"]
                    if f["category"].startswith(("driver", "configurator"))}  # fmt: skip
        bundle_ids = {(f["id"], f.get("subject")) for f in doc["findings"]
                      if f["category"].startswith(("driver", "configurator"))}  # fmt: skip
        assert bundle_ids == root_ids
