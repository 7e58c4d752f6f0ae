"""Driver checks in isolation: confidence rules, conf origin, journal, leftovers, missing."""

from __future__ import annotations

from typing import Any

from toolsfix.checks.drivers import DriverContext, check_drivers
from toolsfix.guest.parsers import parse_locations
from toolsfix.installed import InstalledDriver

JOURNAL = parse_locations(
    "answer BINDIR /usr/bin\nanswer LIBDIR /usr/lib/vmware-tools\n"
    "file /kernel/drv/vmxnet3s 1420070400\nfile /kernel/drv/amd64/vmxnet3s 1420070400\n"
)


def ctx(**kw: Any) -> DriverContext:
    base: dict[str, Any] = {
        "root_label": "/",
        "expected_family": "11",
        "kernel_bits": 64,
        "install_db": JOURNAL,
        "db_path": "/etc/vmware-tools/locations",
        "mtimes": {},
        "listings": {},
        "libdir": "/usr/lib/vmware-tools",
        "bindir": "/usr/bin",
    }
    base.update(kw)
    return DriverContext(**base)


def drv(path: str, arch: str, os_dir: str | None, rung: str, **kw: Any) -> InstalledDriver:
    loc = "amd64" if "/amd64/" in path else "i386"
    expected = "11_64" if loc == "amd64" else "11"
    return InstalledDriver("vmxnet3s", path, loc, True, arch=arch, rung=rung, os_dir=os_dir,
                           expected_os_dir=expected, **kw)  # fmt: skip


def ids(findings: list[Any]) -> list[str]:
    return sorted(f.id for f in findings)


def test_only_confident_rungs_claim_a_build_mismatch() -> None:
    pair = [drv("/kernel/drv/vmxnet3s", "i386", "10", "exact"),
            drv("/kernel/drv/amd64/vmxnet3s", "amd64", "10_64", "nearest")]  # fmt: skip
    found, _ = check_drivers(pair, ctx())
    assert ids(found) == ["TF200", "TF202"]


def test_right_build_gives_nothing() -> None:
    pair = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact"),
            drv("/kernel/drv/amd64/vmxnet3s", "amd64", "11_64", "code-identical")]  # fmt: skip
    found, skipped = check_drivers(pair, ctx())
    assert found == [] and skipped == []


def test_unknown_release_is_skipped_not_guessed() -> None:
    found, skipped = check_drivers([drv("/kernel/drv/vmxnet3s", "i386", "10", "exact")],
                                   ctx(expected_family=None))  # fmt: skip
    assert "TF200" not in ids(found)
    assert [s.check for s in skipped] == ["TF200"]


def test_arch_mismatch_missing_and_leftovers() -> None:
    drivers = [
        drv("/kernel/drv/vmxnet3s", "i386", "11", "exact"),
        InstalledDriver("vmxnet3s", "/kernel/drv/amd64/vmxnet3s", "amd64", False),
    ]
    listings = {"/kernel/drv": ["vmxnet3s", "vmxnet3s.old.0", "vmxnet3s.old.12", "vmxnet3s.conf"]}
    found, _ = check_drivers(drivers, ctx(listings=listings))
    assert ids(found) == ["TF205", "TF205", "TF207"]
    swapped = [drv("/kernel/drv/amd64/vmxnet3s", "i386", "11", "exact")]
    found, _ = check_drivers(swapped, ctx())
    assert "TF201" in ids(found)


def test_journal_mtime_and_orphans() -> None:
    d = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact")]
    found, _ = check_drivers(d, ctx(mtimes={"/kernel/drv/vmxnet3s": 1420070400}))
    assert "TF204" not in ids(found)
    found, _ = check_drivers(d, ctx(mtimes={"/kernel/drv/vmxnet3s": 1500000000}))
    assert "TF204" in ids(found)
    found, _ = check_drivers(d, ctx(install_db=None))
    assert "TF208" in ids(found)


def test_conf_from_another_directory() -> None:
    confs = {"10": b"EnableLSO=1;\n# s10\n", "11": b"EnableLSO=1;\n# s11\n"}
    d = [drv("/kernel/drv/vmxnet3s", "i386", "11", "exact")]
    found, _ = check_drivers(d, ctx(conf=confs["10"], shipped_confs=confs))
    assert "TF206" in ids(found)
    found, _ = check_drivers(d, ctx(conf=confs["11"], shipped_confs=confs))
    assert "TF206" not in ids(found)
    edited = b"EnableLSO=0;\n"
    found, _ = check_drivers(d, ctx(conf=edited, shipped_confs=confs))
    assert "TF206" not in ids(found)
