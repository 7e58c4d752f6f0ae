"""Linux offload checks: BGP TCP-MD5 with TSO/GSO/SG, forwarding with LRO, MTU > maxmtu."""

from __future__ import annotations

import json
from typing import Optional

from toolsfix.checks.linux import check_linux_network, guest_forwards
from toolsfix.findings import Finding, Severity
from toolsfix.guest.facts import GuestFacts, facts_from_capture
from toolsfix.guest.testing import StaticCapture

OS_RELEASE = 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS"\n'
SECRET = "s3cr3t-Pa55"
BGPD = f"""\
hostname bgpd
password zebra
!
router bgp 65001
 bgp router-id 192.0.2.10
 neighbor 192.0.2.1 remote-as 65002
 neighbor 192.0.2.1 password {SECRET}
 neighbor 192.0.2.2 remote-as 65003
!
line vty
"""


def ethtool_k(tso: str = "on", gso: str = "on", sg: str = "on", lro: str = "off") -> str:
    return (
        "Features for eth0:\n"
        "rx-checksumming: on\n"
        "tx-checksumming: on\n"
        "\ttx-checksum-ipv4: off [fixed]\n"
        "\ttx-checksum-ip-generic: on\n"
        f"scatter-gather: {sg}\n"
        "\ttx-scatter-gather: on\n"
        f"tcp-segmentation-offload: {tso}\n"
        "\ttx-tcp-segmentation: on\n"
        "\ttx-tcp6-segmentation: on\n"
        "udp-fragmentation-offload: off [fixed]\n"
        f"generic-segmentation-offload: {gso}\n"
        "generic-receive-offload: on\n"
        f"large-receive-offload: {lro}\n"
    )


ETHTOOL_I = "driver: vmxnet3\nversion: 1.7.0.0-k-NAPI\nfirmware-version:\nbus-info: 0000:0b:00.0\n"
IP_D_LINK = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 minmtu 0 maxmtu 0
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu {mtu} qdisc mq state UP mode DEFAULT group default qlen 1000
    link/ether 00:50:56:aa:bb:cc brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 60 maxmtu 9000
"""  # noqa: E501


def linux(
    outputs: Optional[dict[str, str]] = None,
    files: Optional[dict[str, str]] = None,
    origin: str = "live",
) -> GuestFacts:
    base = {
        "uname_s": "Linux\n",
        "ethtool_k:eth0": ethtool_k(),
        "ethtool_i:eth0": ETHTOOL_I,
        "ip_d_link": IP_D_LINK.format(mtu=1500),
        "sysctl_ip_forward": "net.ipv4.ip_forward = 0\n",
    }
    base.update(outputs or {})
    all_files = {
        "/etc/os-release": OS_RELEASE,
        "/sys/class/net/eth0/mtu": "1500\n",
        "/sys/class/net/lo/mtu": "65536\n",
    }
    all_files.update(files or {})
    return facts_from_capture(StaticCapture.from_outputs(base, all_files, origin=origin))


def by_id(findings: list[Finding], check_id: str) -> list[Finding]:
    return [f for f in findings if f.id == check_id]


def test_quagga_md5_with_tso_on() -> None:
    facts = linux(files={"/etc/quagga/bgpd.conf": BGPD})
    findings, skipped = check_linux_network(facts)
    (f,) = by_id(findings, "TF400")
    assert f.severity == Severity.HIGH and f.subject == "eth0"
    assert "tcp-segmentation-offload, generic-segmentation-offload, scatter-gather on" in (
        f.message
    )
    assert "192.0.2.1" in f.message and "192.0.2.2" not in f.message
    peer_ev = f.evidence[0]
    assert (peer_ev.path, peer_ev.line) == ("/etc/quagga/bgpd.conf", 7)
    assert peer_ev.excerpt == "neighbor 192.0.2.1 password <redacted>"
    tso_ev = next(e for e in f.evidence if e.excerpt == "tcp-segmentation-offload: on")
    assert tso_ev.command == "ethtool -k eth0"
    assert f.commands[0] == "ethtool -K eth0 tso off gso off sg off"
    assert f.commands[1].startswith("# MANUAL: persist")
    assert "ethtool -K eth0 tso off gso off sg off" in f.remedy
    # the secret never reaches a finding, in any form
    assert SECRET not in json.dumps([x.to_dict() for x in findings])
    assert not skipped


def test_md5_with_offloads_off_no_finding() -> None:
    facts = linux(
        {"ethtool_k:eth0": ethtool_k(tso="off", gso="off", sg="off")},
        {"/etc/quagga/bgpd.conf": BGPD},
    )
    findings, _ = check_linux_network(facts)
    assert not by_id(findings, "TF400")


def test_only_the_offloads_that_are_on_are_turned_off() -> None:
    facts = linux(
        {"ethtool_k:eth0": ethtool_k(tso="off", gso="off", sg="on")}, {"/etc/frr/frr.conf": BGPD}
    )
    findings, _ = check_linux_network(facts)
    (f,) = by_id(findings, "TF400")
    assert f.commands[0] == "ethtool -K eth0 sg off"
    assert f.evidence[0].path == "/etc/frr/frr.conf"


def test_no_bgp_no_finding() -> None:
    findings, skipped = check_linux_network(linux())
    assert findings == []
    assert skipped == []


def test_router_with_forwarding_and_lro() -> None:
    facts = linux(
        {"sysctl_ip_forward": "net.ipv4.ip_forward = 1\n", "ethtool_k:eth0": ethtool_k(lro="on")}
    )
    findings, _ = check_linux_network(facts)
    (f,) = by_id(findings, "TF401")
    assert f.subject == "eth0" and "forwards IPv4" in f.message
    assert any(
        e.command == "sysctl net.ipv4.ip_forward" and e.excerpt == "net.ipv4.ip_forward = 1"
        for e in f.evidence
    )
    assert any(e.excerpt == "large-receive-offload: on" for e in f.evidence)
    assert any(
        e.command == "ethtool -i eth0" and e.excerpt == "driver: vmxnet3" for e in f.evidence
    )
    assert f.commands[0] == "ethtool -K eth0 lro off"
    assert any("disable_lro=1" in c for c in f.commands)
    assert guest_forwards(facts) is True


def test_forwarding_enabled_only_at_boot() -> None:
    facts = linux(
        {"ethtool_k:eth0": ethtool_k(lro="on")},
        {"/etc/sysctl.d/99-router.conf": "net.ipv4.ip_forward = 1\n"},
    )
    findings, _ = check_linux_network(facts)
    (f,) = by_id(findings, "TF401")
    assert "set to 1 at boot" in f.message
    assert any(e.path == "/etc/sysctl.d/99-router.conf" and e.line == 1 for e in f.evidence)


def test_lro_without_forwarding_no_finding() -> None:
    facts = linux({"ethtool_k:eth0": ethtool_k(lro="on")})
    findings, _ = check_linux_network(facts)
    assert not by_id(findings, "TF401")
    assert guest_forwards(facts) is False


def test_forwarding_unknown_is_skipped_with_reason() -> None:
    facts = facts_from_capture(
        StaticCapture.from_outputs(
            {"uname_s": "Linux\n", "ethtool_k:eth0": ethtool_k(lro="on")},
            {"/etc/os-release": OS_RELEASE, "/sys/class/net/eth0/mtu": "1500\n"},
            origin="bundle:guest.tar.gz",
        )
    )
    findings, skipped = check_linux_network(facts)
    assert not by_id(findings, "TF401")
    (s,) = [s for s in skipped if s.check == "TF401"]
    assert s.outcome == "not-evaluated" and "not captured in the bundle" in s.reason
    assert guest_forwards(facts) is None


def test_mtu_above_maxmtu() -> None:
    facts = linux({"ip_d_link": IP_D_LINK.format(mtu=9216)})
    findings, _ = check_linux_network(facts)
    (f,) = by_id(findings, "TF402")
    assert f.message == "eth0: MTU 9216 is above the device maximum 9000"
    assert f.commands[0] == "ip link set dev eth0 mtu 9000"
    assert f.evidence[0].command == "ip -d link show" and f.evidence[0].line is None
    assert "mtu 9216" in (f.evidence[0].excerpt or "")
    assert "at most 9000" in f.remedy


def test_loopback_maxmtu_zero_is_not_a_finding() -> None:
    findings, _ = check_linux_network(linux())
    assert not by_id(findings, "TF402")


def test_old_iproute2_without_maxmtu_is_skipped() -> None:
    old = (
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc mq state UP\n"
        "    link/ether 00:50:56:aa:bb:cc brd ff:ff:ff:ff:ff:ff\n"
    )
    findings, skipped = check_linux_network(linux({"ip_d_link": old}))
    assert not by_id(findings, "TF402")
    assert [s.check for s in skipped] == ["TF402"]


def test_ethtool_failure_is_skipped_per_interface() -> None:
    facts = facts_from_capture(
        StaticCapture.from_outputs(
            {
                "uname_s": "Linux\n",
                "ip_d_link": IP_D_LINK.format(mtu=1500),
                "sysctl_ip_forward": "net.ipv4.ip_forward = 1\n",
            },
            {
                "/etc/os-release": OS_RELEASE,
                "/sys/class/net/eth0/mtu": "1500\n",
                "/etc/quagga/bgpd.conf": BGPD,
            },
        )
    )
    findings, skipped = check_linux_network(facts)
    assert findings == []
    reasons = {s.check: s.reason for s in skipped}
    assert reasons["TF400"].startswith("eth0: `ethtool -k eth0`")
    assert reasons["TF401"].startswith("eth0: `ethtool -k eth0`")


def test_solaris_guest_not_applicable() -> None:
    facts = facts_from_capture(StaticCapture.from_outputs({"uname_s": "SunOS\n"}))
    findings, skipped = check_linux_network(facts)
    assert findings == []
    assert {(s.check, s.outcome) for s in skipped} == {
        ("TF400", "not-applicable"),
        ("TF401", "not-applicable"),
        ("TF402", "not-applicable"),
    }
