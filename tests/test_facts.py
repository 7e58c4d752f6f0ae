"""GuestFacts built from live-like, bundle-like and image-root-like captures."""

from __future__ import annotations

import json
from typing import Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parsers import ESXCLI, ETHTOOL_K, IP_D_LINK, IPADM, MODINFO, S10U11

from toolsfix.findings import Evidence
from toolsfix.guest.capture_api import CAPTURE_FILES, COMMANDS, CommandResult, ListResult
from toolsfix.guest.facts import (
    BGP_CONFIG_FILES,
    EMPTY_DRIVER_CONF,
    SCRIPT_GLOBS,
    SYSCTL_FILES,
    Fact,
    GuestFacts,
    fact_missing,
    fact_of,
    facts_from_capture,
)
from toolsfix.guest.testing import StaticCapture
from toolsfix.safeio import ReadResult, ReadStatus

SOL114_RELEASE = "                            Oracle Solaris 11.4 X86\n  Copyright (c) 2018\n"


def solaris114_live() -> StaticCapture:
    return StaticCapture.from_outputs(
        {
            "uname_s": "SunOS\n",
            "uname_r": "5.11\n",
            "uname_v": "11.4.42.111.0\n",
            "isainfo_b": "64\n",
            "modinfo": MODINFO,
            "ndd_ip_lso_outbound": "1\n",
            "dladm_show_phys": "LINK MEDIA STATE SPEED DUPLEX DEVICE\n"
            "net0 Ethernet up 10000 full vmxnet3s0\n",
            "dladm_show_link": "LINK CLASS MTU STATE OVER\nnet0 phys 9000 up --\n",
            "dladm_show_linkprop_mtu": "LINK PROPERTY PERM VALUE DEFAULT POSSIBLE\n"
            "net0 mtu rw 9000 1500 60-9000\n",
            "ipadm_show_prop_tcp": IPADM,
        },
        files={
            "/etc/release": SOL114_RELEASE,
            "/kernel/drv/vmxnet3s.conf": "# shipped\nEnableLSO=0,0;\n",
            "/etc/vmware-tools/locations": "answer VMXNET3S_CONFED yes\n"
            "file /kernel/drv/vmxnet3s 1400000000\n",
            "/etc/init.d/nettune": "#!/sbin/sh\n# comment\nndd -set /dev/ip ip_lso_outbound 0\n",
        },
        origin="live",
    )


def test_live_solaris114_facts_and_evidence() -> None:
    f = facts_from_capture(solaris114_live())
    assert f.origin == "live"
    assert f.os_kind.value == "solaris"
    assert f.release.value is not None and f.release.value.version == "11.4"
    assert f.uname_r.value == "5.11"
    assert f.uname_r.source == Evidence(command="uname -r", excerpt="5.11")
    assert f.uname_v.value == "11.4.42.111.0"
    assert f.solaris_minor == 11
    assert f.kernel_bits.value == 64
    row = f.module("vmxnet3s")
    assert row is not None and row.description == "VMware EtherAdapter v3 1.1.0.0"
    assert [r.name for r in f.modules.value or ()] == ["vmxnet3s"]  # unix filtered out
    assert f.modules.source is not None and "vmxnet3s" in (f.modules.source.excerpt or "")
    assert f.ip_lso_outbound.value == 1
    assert f.ip_lso_outbound.source == Evidence(
        command="ndd -get /dev/ip ip_lso_outbound", excerpt="1"
    )
    conf = f.driver_conf.value
    assert conf is not None and conf.value_for("EnableLSO", 0).value == 0
    assert f.driver_conf.source == Evidence(path="/kernel/drv/vmxnet3s.conf")
    assert f.dladm_links.value is not None and f.dladm_links.value[0].mtu == 9000
    assert f.link_mtu.value is not None and f.link_mtu.value[0].possible_range == (60, 9000)
    assert f.ipadm_tcp.value is not None and f.ipadm_tcp.value[0].name == "send_buf"
    assert f.vmxnet3s_instances() == (0,)
    (setting,) = f.persistent_settings.value or ()
    assert (setting.path, setting.line, setting.properties) == (
        "/etc/init.d/nettune",
        3,
        (("ip_lso_outbound", "0"),),
    )
    db = f.install_db.value
    assert db is not None and db.answer("VMXNET3S_CONFED") == "yes"
    # commands that were not captured say so
    assert not f.ipadm_if_mtu.available
    assert f.ipadm_if_mtu.reason == (
        "`ipadm show-ifprop -p mtu` was not run on this guest (not applicable here)"
    )
    # Linux-only facts do not apply
    assert not f.ip_forward.available
    assert "does not apply to a solaris system" in (f.ip_forward.reason or "")
    assert f.ethtool_k == {}


def test_evidence_at_item_level() -> None:
    f = facts_from_capture(solaris114_live())
    link = (f.dladm_links.value or ())[0]
    ev = f.dladm_links.evidence_at(link.line, link.raw)
    assert ev == Evidence(command="dladm show-link", excerpt="net0 phys 9000 up --")
    conf_prop = (f.driver_conf.value or EMPTY_DRIVER_CONF).properties["EnableLSO"]
    ev2 = f.driver_conf.evidence_at(conf_prop.line, conf_prop.text)
    assert ev2 == Evidence(path="/kernel/drv/vmxnet3s.conf", line=2, excerpt="EnableLSO=0,0;")
    assert f.ipadm_if_mtu.evidence() == [Evidence(detail=f.ipadm_if_mtu.reason)]


def test_image_root_runtime_facts_unavailable_and_uname_derived() -> None:
    cap = StaticCapture.from_outputs(
        {"modinfo": MODINFO},  # even if present, a root has no runtime state
        files={
            "/etc/release": SOL114_RELEASE,
            "/lib/svc/method/net-tune": "ipadm set-prop -p _lso_outbound=0 ip\n",
            "/etc/rc2.d/S99jumbo": "dladm set-linkprop -p mtu=9000 vmxnet3s0\n",
        },
        origin="root:/mnt/image",
    )
    f = facts_from_capture(cap)
    assert f.os_kind.value == "solaris"
    assert f.uname_r.value == "5.11"
    assert f.uname_v.value == "11.4"
    src = f.uname_r.source
    assert src is not None and src.path == "/etc/release" and src.line == 1
    assert "derived from /etc/release" in (src.detail or "")
    assert f.kernel_bits.value == 64
    assert "inferred" in ((f.kernel_bits.source or Evidence()).detail or "")
    for runtime in (f.modules, f.ip_lso_outbound, f.dladm_links, f.link_mtu, f.ipadm_tcp):
        assert not runtime.available
        assert "not available offline" in (runtime.reason or "")
    assert [s.tool for s in f.persistent_settings.value or ()] == ["dladm", "ipadm"]
    assert not f.driver_conf.available
    assert f.driver_conf.reason == "/kernel/drv/vmxnet3s.conf not present in the image root"
    assert not f.install_db.available


def test_solaris114_root_with_only_os_release() -> None:
    cap = StaticCapture.from_outputs(
        {},
        files={"/etc/os-release": 'ID=solaris\nVERSION="11.4"\nBUILD_ID=11.4.0.0.1.15.0\n'},
        origin="root:/r",
    )
    f = facts_from_capture(cap)
    assert f.os_kind.value == "solaris"
    assert f.release.value is not None and f.release.value.version == "11.4"
    assert f.uname_r.value == "5.11"
    assert (f.uname_r.source or Evidence()).path == "/etc/os-release"


def test_solaris10_live_32bit() -> None:
    cap = StaticCapture.from_outputs(
        {
            "uname_a": "SunOS s10 5.10 Generic_147441-21 i86pc i386 i86pc Solaris\n",
            "dladm_show_dev": "vmxnet3s0       link: up        speed: 10000  Mbps   duplex: full\n",
            "modinfo": " 98 f9a3c000   6a10 224   1  vmxnet3s (VMware EtherAdapter v3 b1234567\n",
            "ifconfig_a": "vmxnet3s1: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 1500 "
            "index 2\n",
        },
        files={"/etc/release": S10U11},
        origin="live",
    )
    f = facts_from_capture(cap)
    assert (f.uname_r.value, f.uname_v.value) == ("5.10", "Generic_147441-21")
    assert f.solaris_minor == 10
    assert f.kernel_bits.value == 32  # from the 8-digit load address
    assert "load address" in ((f.kernel_bits.source or Evidence()).detail or "")
    assert f.dladm_devs.value is not None and f.dladm_devs.value[0].speed == 10000
    assert f.vmxnet3s_instances() == (0, 1)
    assert f.release.value is not None and f.release.value.update == 11


def test_failed_and_unrunnable_commands() -> None:
    cap = StaticCapture(
        origin="bundle:guest.tar.gz",
        commands={
            "uname_s": CommandResult("uname_s", "uname -s", 0, "SunOS\n"),
            "ndd_ip_lso_outbound": CommandResult(
                "ndd_ip_lso_outbound",
                "ndd -get /dev/ip ip_lso_outbound",
                1,
                "",
                "ndd: couldn't open /dev/ip: permission denied\n",
            ),
            "ipadm_show_prop_lso": CommandResult(
                "ipadm_show_prop_lso",
                "ipadm show-prop -p _lso_outbound ip",
                None,
                "",
                "ipadm: not found",
            ),
            "modinfo": CommandResult("modinfo", "modinfo", 0, "garbage\n"),
            "dladm_show_link": CommandResult(
                "dladm_show_link",
                "dladm show-link",
                2,
                "LINK CLASS MTU STATE OVER\nnet0 phys 1500 up --\n",
                "partial failure",
            ),
        },
    )
    f = facts_from_capture(cap)
    reason = f.ip_lso_outbound.reason or ""
    assert "failed (exit 1): ndd: couldn't open /dev/ip: permission denied" in reason
    assert "could not run: ipadm: not found" in reason
    assert not f.modules.available
    assert f.modules.reason == "`modinfo` output not understood"
    assert (f.modules.source or Evidence()).excerpt == "garbage"
    # output of a failed command may be partial (here: "partial failure"), so it is not
    # judged: the fact is unavailable with the exit status, and its checks not evaluated
    assert not f.dladm_links.available
    assert f.dladm_links.reason == "`dladm show-link` failed (exit 2): partial failure"
    assert "not captured in the bundle" in (f.dladm_phys.reason or "")


def test_linux_bundle() -> None:
    cap = StaticCapture.from_outputs(
        {
            "uname_a": "Linux r1 5.15.0-91-generic #101-Ubuntu SMP x86_64 x86_64 GNU/Linux\n",
            "ip_d_link": IP_D_LINK,
            "ethtool_k:ens192": ETHTOOL_K.replace("eth0", "ens192"),
            "ethtool_i:ens192": "driver: vmxnet3\nversion: 1.7.0.0-k-NAPI\n",
            "sysctl_ip_forward": "net.ipv4.ip_forward = 1\n",
        },
        files={
            "/etc/frr/frr.conf": "router bgp 65001\n neighbor 192.0.2.1 password s3cr3t\n",
            "/etc/sysctl.d/10-a.conf": "net.ipv4.ip_forward = 0\n",
            "/etc/sysctl.d/99-router.conf": "# on\nnet.ipv4.ip_forward = 1\n",
        },
        origin="bundle:r1.tgz",
    )
    cap.dirs = {"/sys/class/net": ["ens192", "lo"]}
    f = facts_from_capture(cap)
    assert f.os_kind.value == "linux"
    assert f.interfaces.value == ("ens192", "lo")
    assert set(f.ethtool_k) == {"ens192"}  # loopback skipped
    k = f.ethtool_k["ens192"].value
    assert k is not None and k.enabled("large-receive-offload") is True
    assert f.ethtool_k["ens192"].source == Evidence(
        command="ethtool -k ens192",
        excerpt="Features for ens192:\nrx-checksumming: off [fixed]\ntx-checksumming: on\n"
        "\ttx-checksum-ipv4: off [fixed]",
    )
    info = f.ethtool_i["ens192"].value
    assert info is not None and info.driver == "vmxnet3"
    links = {lk.name: lk for lk in f.ip_links.value or ()}
    assert links["ens192"].maxmtu == 9000
    assert f.ip_forward.value == 1
    assert f.ip_forward_boot.value == 1
    assert f.ip_forward_boot.source == Evidence(
        path="/etc/sysctl.d/99-router.conf", line=2, excerpt="net.ipv4.ip_forward = 1"
    )
    (peer,) = f.bgp_md5_peers.value or ()
    assert (peer.peer, peer.asn, peer.path, peer.line) == (
        "192.0.2.1",
        "65001",
        "/etc/frr/frr.conf",
        2,
    )
    dumped = json.dumps(f.to_dict())
    assert "s3cr3t" not in dumped
    assert not f.modules.available
    assert "does not apply to a linux system" in (f.modules.reason or "")


def test_linux_live_ip_forward_from_proc_and_interfaces_fallback() -> None:
    cap = StaticCapture.from_outputs(
        {"uname_s": "Linux\n", "ip_d_link": IP_D_LINK},
        files={"/proc/sys/net/ipv4/ip_forward": "0\n"},
        origin="live",
    )
    f = facts_from_capture(cap)
    assert f.ip_forward.value == 0
    assert f.ip_forward.source == Evidence(
        path="/proc/sys/net/ipv4/ip_forward", line=1, excerpt="0"
    )
    assert f.interfaces.value == ("lo", "ens192", "eth0.10")
    assert f.ethtool_k["ens192"].reason == (
        "`ethtool -k ens192` was not run on this guest (not applicable here)"
    )
    assert f.bgp_md5_peers.value == ()
    assert not f.ip_forward_boot.available


def test_esxi_advanced() -> None:
    cap = StaticCapture.from_outputs(
        {"uname_s": "VMkernel\n", "esxcli_advanced": ESXCLI}, origin="live"
    )
    f = facts_from_capture(cap)
    assert f.os_kind.value == "esxi"
    adv = f.esxi_advanced.value
    assert adv is not None
    setting = adv.get("Net.TcpipDefLROEnabled")
    assert setting is not None and setting.int_value == 0


class ExplodingCapture:
    origin = "live"

    def command(self, key: str) -> Optional[CommandResult]:
        raise RuntimeError("ssh dropped")

    def read_file_checked(self, path: str) -> ReadResult:
        raise OSError("EIO")

    def list_dir_checked(self, path: str) -> ListResult:
        raise PermissionError(path)

    def file_mtime(self, path: str) -> Optional[int]:
        raise OSError("EIO")


def test_a_failing_source_never_raises() -> None:
    f = facts_from_capture(ExplodingCapture())
    assert not f.os_kind.available
    assert "could not be read: ssh dropped" in (f.modules.reason or "")
    # a read that raised is "could not read", never "absent"
    assert f.release.reason == "/etc/release could not be read: EIO"
    assert f.unreadable["/etc/release"] == "EIO"
    json.dumps(f.to_dict())


def test_unreadable_files_and_directories_are_not_absent() -> None:
    cap = StaticCapture.from_outputs(
        {"uname_s": "SunOS\n", "uname_r": "5.11\n"},
        {
            "/etc/release": SOL114_RELEASE,
            "/etc/rc2.d/S99a": "ndd -set /dev/ip ip_lso_outbound 0\n",
            "/etc/frr/frr.conf": "router bgp 1\n",
        },
        origin="bundle:guest.tar",
    )
    plain = facts_from_capture(cap)
    assert plain.persistent_settings.available and plain.driver_conf.reason is not None
    assert "not in the bundle" in plain.driver_conf.reason and plain.unreadable == {}
    cap.unreadable = {
        "/kernel/drv/vmxnet3s.conf": "Permission denied",
        "/etc/rc3.d": "the collector could not list /etc/rc3.d on the guest",
        "/etc/quagga/bgpd.conf": "Permission denied",
    }
    f = facts_from_capture(cap)
    assert f.driver_conf.reason == "/kernel/drv/vmxnet3s.conf could not be read: Permission denied"
    # a boot-script directory that could not be listed may hold the setting that matters
    assert not f.persistent_settings.available
    assert "/etc/rc3.d (the collector could not list" in (f.persistent_settings.reason or "")
    assert not f.bgp_md5_peers.available  # one BGP config unread: the peer list is unknown
    assert set(f.unreadable) == set(cap.unreadable)
    assert f.to_dict()["unreadable"] == dict(cap.unreadable)


class RecordingCapture(StaticCapture):
    def __init__(self) -> None:
        super().__init__(origin="live")
        self.keys: list[str] = []
        self.paths: list[str] = []

    def command(self, key: str) -> Optional[CommandResult]:
        self.keys.append(key)
        return None

    def read_file_checked(self, path: str) -> ReadResult:
        self.paths.append(path)
        return ReadResult(ReadStatus.ABSENT)


def test_builder_uses_only_declared_command_keys_and_files() -> None:
    cap = RecordingCapture()
    cap.dirs = {"/sys/class/net": ["eth0"], "/etc/init.d": ["x"], "/etc/sysctl.d": ["a.conf"]}
    facts_from_capture(cap)
    assert {k.split(":", 1)[0] for k in cap.keys} <= set(COMMANDS)
    assert "ethtool_k:eth0" in cap.keys
    for pattern in (*SCRIPT_GLOBS, *BGP_CONFIG_FILES, *SYSCTL_FILES):
        assert pattern in CAPTURE_FILES
    assert "/etc/init.d/x" in cap.paths
    assert "/etc/sysctl.d/a.conf" in cap.paths


def test_fact_helpers() -> None:
    ok: Fact[int] = fact_of(3, Evidence(command="x", excerpt="3"))
    assert ok.known and ok.evidence() == [Evidence(command="x", excerpt="3")]
    assert ok.to_dict() == {
        "available": True,
        "value": 3,
        "source": {"command": "x", "excerpt": "3"},
    }
    missing: Fact[int] = fact_missing("not captured")
    assert not missing.known
    assert missing.to_dict() == {"available": False, "reason": "not captured"}
    assert GuestFacts(origin="x").modules.reason == "not evaluated"


ALL_KEYS = [k for k, (cmd, _) in COMMANDS.items() if "{if}" not in cmd]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    outputs=st.dictionaries(st.sampled_from(ALL_KEYS), st.text(max_size=300)),
    status=st.sampled_from([0, 1, None]),
    release=st.text(max_size=80),
    origin=st.sampled_from(["live", "bundle:b", "root:/r"]),
)
def test_builder_never_raises_on_arbitrary_outputs(
    outputs: dict[str, str], status: int | None, release: str, origin: str
) -> None:
    cap = StaticCapture(
        origin=origin,
        commands={
            k: CommandResult(k, COMMANDS[k][0], status, v, v[:10]) for k, v in outputs.items()
        },
        files={
            "/etc/release": release.encode(),
            "/kernel/drv/vmxnet3s.conf": release.encode(),
            "/etc/init.d/s": release.encode(),
            "/etc/vmware-tools/locations": b"\xff\xfe",
        },
    )
    f = facts_from_capture(cap)
    json.dumps(f.to_dict())
    for fact in (f.uname_r, f.modules, f.ip_lso_outbound, f.link_mtu):
        assert fact.available or fact.reason
