"""The Solaris and Linux network checks run through the uniform check seam (``checks.base``).

Each check is a function from facts to a ``CheckResult``, registered with the catalog ids it may
emit. These tests hold the registries to that contract: a check reports only its own ids, the
run order (which is the order of findings and skips in every report) is fixed, and the entry
points give exactly what running the registry gives.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence

import pytest
from test_checks_linux import BGPD, IP_D_LINK, ethtool_k
from test_checks_linux import linux as linux_guest
from test_checks_network import (
    FIXED_S11_BUILD,
    MODINFO_NEW,
    OLD_S10_BUILD,
    S10_NEW_BUILD,
    driver,
    ifconfig,
    ifprop,
    linkprop,
    solaris10,
    solaris11,
    tcp_props,
)

from toolsfix.catalog import load_catalog
from toolsfix.checks import linux, network
from toolsfix.checks.base import CheckResult
from toolsfix.checks.netview import NetFacts, NetView, active_drivers, driver_view
from toolsfix.guest.facts import GuestFacts
from toolsfix.installed import InstalledDriver

SolarisCase = Callable[[], tuple[GuestFacts, Sequence[InstalledDriver]]]

# Guests that between them make every Solaris network check report something.
SOLARIS_CASES: dict[str, SolarisCase] = {
    "s10-build-on-s11-lso-on": lambda: (
        solaris11({"dladm_show_linkprop_mtu": linkprop(9000)}),
        [OLD_S10_BUILD],
    ),
    "s10-no-accept-jumbo": lambda: (
        solaris10(
            files={
                "/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n",
                "/etc/rc3.d/S99net": "#!/sbin/sh\n/usr/sbin/ifconfig vmxnet3s0 mtu 9000\n",
            }
        ),
        [S10_NEW_BUILD],
    ),
    "s11-conf-mtu-and-mtu-mismatch": lambda: (
        solaris11(
            {
                "modinfo": MODINFO_NEW,
                "ndd_ip_lso_outbound": "0\n",
                "ipadm_show_ifprop_mtu": ifprop(1500, "9000"),
                "ipadm_show_prop_tcp": tcp_props(1048576, 128000, 128000),
            },
            {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n"},
        ),
        [FIXED_S11_BUILD],
    ),
    "lso-off-until-reboot": lambda: (solaris11({"ndd_ip_lso_outbound": "0\n"}), [OLD_S10_BUILD]),
    "unknown-era-and-family": lambda: (
        solaris11(),
        [driver(None, "unknown", "VMware EtherAdapter v3 1.1.0.0", tools=None)],
    ),
    "image-root": lambda: (solaris11(origin="root:/mnt/image"), [OLD_S10_BUILD]),
    "s10-jumbo-runtime-only": lambda: (
        solaris10(
            {"ifconfig_a": ifconfig("vmxnet3s0", 9000)},
            {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n"},
        ),
        [S10_NEW_BUILD],
    ),
}


def test_solaris_registry_order_is_the_report_order() -> None:
    assert [c.ids for c in network.SOLARIS_NETWORK_CHECKS] == [
        ("TF300", "TF301"),
        ("TF310", "TF311", "TF312"),
        ("TF313", "TF314"),
        ("TF320",),
    ]
    expected = ("TF300", "TF301", "TF310", "TF311", "TF312", "TF313", "TF314", "TF320")
    assert expected == network.ALL_CHECKS
    assert set(network.ALL_CHECKS) <= set(load_catalog())


def test_linux_registry_order_is_the_report_order() -> None:
    assert [c.ids for c in linux.LINUX_NETWORK_CHECKS] == [("TF400",), ("TF401",), ("TF402",)]
    assert linux.ALL_CHECKS == ("TF400", "TF401", "TF402")
    assert set(linux.ALL_CHECKS) <= set(load_catalog())


def _ids(result: CheckResult) -> set[str]:
    return {f.id for f in result.findings} | {s.check for s in result.skipped}


@pytest.mark.parametrize("case", sorted(SOLARIS_CASES))
def test_each_solaris_check_reports_only_its_own_ids(case: str) -> None:
    facts, drivers = SOLARIS_CASES[case]()
    views = tuple(driver_view(d) for d in active_drivers(facts, drivers))
    nf = NetFacts(net=NetView(facts), drivers=views)
    parts = []
    for check in network.SOLARIS_NETWORK_CHECKS:
        part = check.run(nf)
        assert _ids(part) <= set(check.ids), check.name
        parts.append(part)
    # The entry point is the registry run in order (skips reported once each).
    whole = network.evaluate_solaris_network(facts, drivers)
    merged = CheckResult.merge(parts)
    assert whole.findings == merged.findings
    assert list(whole.skipped) == list(dict.fromkeys(merged.skipped))
    assert network.check_solaris_network(facts, drivers) == (
        list(whole.findings),
        list(whole.skipped),
    )


def test_solaris_cases_exercise_every_check() -> None:
    seen: set[str] = set()
    for make in SOLARIS_CASES.values():
        seen |= _ids(network.evaluate_solaris_network(*make()))
    assert seen == set(network.ALL_CHECKS)


LINUX_CASES: dict[str, Callable[[], GuestFacts]] = {
    "md5-and-tso": lambda: linux_guest(files={"/etc/quagga/bgpd.conf": BGPD}),
    "router-with-lro": lambda: linux_guest(
        {"ethtool_k:eth0": ethtool_k(lro="on"), "sysctl_ip_forward": "net.ipv4.ip_forward = 1\n"}
    ),
    "mtu-above-max": lambda: linux_guest({"ip_d_link": IP_D_LINK.format(mtu=9600)}),
    "bundle": lambda: linux_guest(origin="bundle:b.tgz"),
}


@pytest.mark.parametrize("case", sorted(LINUX_CASES))
def test_each_linux_check_reports_only_its_own_ids(case: str) -> None:
    facts = LINUX_CASES[case]()
    parts = []
    for check in linux.LINUX_NETWORK_CHECKS:
        part = check.run(facts)
        assert _ids(part) <= set(check.ids), check.name
        parts.append(part)
    assert linux.evaluate_linux_network(facts) == CheckResult.merge(parts)
    findings, skipped = linux.check_linux_network(facts)
    assert (tuple(findings), tuple(skipped)) == (
        CheckResult.merge(parts).findings,
        CheckResult.merge(parts).skipped,
    )


def test_linux_cases_exercise_every_check() -> None:
    found = {f.id for make in LINUX_CASES.values() for f in linux.check_linux_network(make())[0]}
    assert found == set(linux.ALL_CHECKS)


def test_check_order_does_not_depend_on_which_module_is_imported_first() -> None:
    """Registration is explicit in the entry point, so importing a check module on its own
    first (as a test or a plugin might) cannot reorder findings and skips."""
    code = (
        "import toolsfix.checks.buffers, toolsfix.checks.jumbo, toolsfix.checks.lso\n"
        "from toolsfix.checks.network import ALL_CHECKS\n"
        "print(','.join(ALL_CHECKS))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ",".join(network.ALL_CHECKS)
