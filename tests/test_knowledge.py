"""The domain facts in toolsfix.knowledge, checked against what the references state."""

from __future__ import annotations

import itertools

import pytest

from toolsfix import knowledge as k
from toolsfix.checks.base import CheckResult, Registry
from toolsfix.findings import Skipped


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("lib/modules/binary/11_64/vmxnet3s", ("solaris", "11_64", "vmxnet3s")),
        (
            "vmware-tools-distrib/lib/modules/binary/2009.06/vmmemctl",
            ("solaris", "2009.06", "vmmemctl"),
        ),
        ("./lib/modules/binary/10/vmci", ("solaris", "10", "vmci")),
        (
            "lib/modules/binary/2.6.32-71.el6.x86_64/objects/vmxnet.o",
            ("linux", "2.6.32-71.el6.x86_64", "vmxnet"),
        ),
        (
            "lib/modules/binary/3.0.0-12-generic-x86_64/objects/vmci.ko",
            ("linux", "3.0.0-12-generic-x86_64", "vmci"),
        ),
        ("lib/modules/binary/10/vmxnet3s.conf", None),
        ("lib/modules/binary/2.6.18-8.el5-i686/properties", None),
        ("lib/modules/binary/11/properties", None),
        ("lib/modules/binary/2.6.18/objects/.o", None),
        ("lib/modules/binary/11/objects/vmxnet.o", None),
        ("xlib/modules/binary/11/vmxnet3s", None),
        ("lib/modules/source/vmxnet.tar", None),
    ],
)
def test_classify_build(path: str, want: object) -> None:
    got = k.classify_build(path)
    assert (None if got is None else (got.layout, got.os_dir, got.module)) == want


@pytest.mark.parametrize(
    ("r", "v", "want"),
    [
        ("5.9", "Generic", None),
        ("5.10", "Generic_147441-21", "10"),
        ("5.11", "11.1", "11"),
        ("5.11", "11.4.0.15.0", "11"),
        ("5.11", "snv_111b", "2009.06"),
        ("5.12", "x", "11"),
        ("2.6.32", "#1 SMP", None),
        ("5.10.0-21-amd64", "#1 SMP Debian", None),
        ("5.11.0-1-generic", "#1", None),
        (None, None, None),
        ("5.x", "", None),
    ],
)
def test_expected_family(r: str, v: str, want: object) -> None:
    assert k.expected_family(r, v) == want


def test_dirs_and_families() -> None:
    assert k.SOLARIS_DIRS == ("10", "10_64", "11", "11_64", "2009.06", "2009.06_64")
    for d in k.SOLARIS_DIRS:
        assert k.build_dir(k.family_of_dir(d), k.arch_of_dir(d)) == d
    assert set(k.CONFIGURED_MODULES) < set(k.SOLARIS_MODULES)
    assert set(k.VERIFIED_MODULES) <= set(k.CONFIGURED_MODULES)
    assert set(k.GUEST_OF_FAMILY.values()) <= set(k.GUESTS_BY_NAME)


def test_lso_era_table() -> None:
    old = "VMware EtherAdapter v3 b1234"
    new = "VMware EtherAdapter v3 1.1.0.0"
    assert k.lso_era(old) == k.OLD_LSO_PATH
    assert k.lso_era(old, "9.10.0") == k.UNKNOWN_LSO_PATH
    assert k.lso_era(new, "10.1.10", "10_64") == k.OLD_LSO_PATH
    assert k.lso_era(new, "10.1.10", "11_64") == k.NEW_LSO_PATH
    assert k.lso_era(new, "10.3.10") == k.NEW_LSO_PATH
    assert k.lso_era(new, None, "11") == k.NEW_LSO_PATH
    assert k.lso_era(new, None, "10") == k.UNKNOWN_LSO_PATH
    assert k.lso_era(new, "10.1.10", "2.6.32-generic") == k.UNKNOWN_LSO_PATH
    assert k.lso_era("illumos vmxnet3s") == k.UNKNOWN_LSO_PATH
    assert k.lso_era(None) == k.UNKNOWN_LSO_PATH
    eras = {
        k.lso_era(i, v, d)
        for i, v, d in itertools.product(
            (old, new), (None, "9.4.0", "10.1.5", "10.3.2"), k.SOLARIS_DIRS
        )
    }
    assert eras == {k.OLD_LSO_PATH, k.NEW_LSO_PATH, k.UNKNOWN_LSO_PATH}


def test_registry_runs_checks_in_order_and_refuses_duplicate_ids() -> None:
    reg: Registry[int] = Registry()

    @reg.register("TF900")
    def first(n: int) -> CheckResult:
        return CheckResult.of(skipped=[Skipped("TF900", f"n={n}")])

    @reg.register("TF901", "TF902")
    def second(n: int) -> CheckResult:
        return CheckResult.of(skipped=[Skipped("TF901", "second")])

    out = reg.run_all(3)
    assert [s.check for s in out.skipped] == ["TF900", "TF901"]
    assert reg.ids() == {"TF900", "TF901", "TF902"}
    with pytest.raises(ValueError, match="twice"):
        reg.register("TF902")(first)
    with pytest.raises(ValueError):
        reg.register()


@pytest.mark.parametrize(
    ("r", "want"),
    [
        ("5.10", 10),
        (" 5.11 ", 11),
        ("5.9", 9),
        ("5.10.0-21-amd64", None),
        ("5.x", None),
        ("", None),
        (None, None),
    ],
)
def test_sunos_minor_reads_only_sunos(r: object, want: object) -> None:
    assert k.sunos_minor(r) == want  # type: ignore[arg-type]
