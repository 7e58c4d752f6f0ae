"""Example-based tests for toolsfix.guest.parsers: the exact documented output formats."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from toolsfix.guest import parsers as p

# --------------------------------------------------------------------------- the package


def test_package_re_exports_every_public_name_of_its_modules() -> None:
    """``p.Name`` keeps working for everything a parser module makes public."""
    modules = [m.name for m in pkgutil.iter_modules(p.__path__) if not m.name.startswith("_")]
    assert modules  # the package is split into modules
    for name in modules:
        module = importlib.import_module(f"{p.__name__}.{name}")
        for public in module.__all__:
            assert public in p.__all__, f"{name}.{public}"
            assert getattr(p, public) is getattr(module, public)
    assert all(hasattr(p, name) for name in p.__all__)


def test_bytes_are_decoded_in_one_place_and_never_raise() -> None:
    assert p.as_text(b"a\xffb") == "a\ufffdb"
    assert p.as_text(bytearray(b"x")) == p.as_text(memoryview(b"x")) == "x"
    assert p.as_text(None) == ""
    # Undecodable bytes do not shift line numbers: evidence lines stay what an editor shows.
    conf = p.parse_driver_conf(b"# \xff\xfe comment\nEnableLSO=0;\n")
    enable = conf.get("EnableLSO")
    assert enable is not None and enable.line == 2 and enable.values == (0,)


# --------------------------------------------------------------------------- /etc/release

S10U11 = """\
                    Oracle Solaris 10 1/13 s10x_u11wos_24a X86
  Copyright (c) 1983, 2013, Oracle and/or its affiliates. All rights reserved.
                            Assembled 17 January 2013
"""


def test_release_solaris10_u11() -> None:
    rel = p.parse_release(S10U11)
    assert (rel.family, rel.version, rel.update, rel.arch) == ("solaris", "10", 11, "x86")
    assert rel.build == "s10x_u11wos_24a"
    assert (rel.uname_r, rel.uname_v) == ("5.10", "Generic")
    assert rel.line == 1
    assert rel.name == "Oracle Solaris 10 1/13 s10x_u11wos_24a X86"
    assert "5.10" in rel.derivation
    assert rel.error is None


@pytest.mark.parametrize(
    ("date", "update"),
    [
        ("1/06", 1),
        ("6/06", 2),
        ("11/06", 3),
        ("8/07", 4),
        ("5/08", 5),
        ("10/08", 6),
        ("5/09", 7),
        ("10/09", 8),
        ("9/10", 9),
        ("8/11", 10),
        ("1/13", 11),
    ],
)
def test_release_solaris10_update_table(date: str, update: int) -> None:
    rel = p.parse_release(f"   Oracle Solaris 10 {date} s10x_wos X86\n")
    assert rel.update == update


def test_release_solaris10_u1_without_oracle() -> None:
    rel = p.parse_release("Solaris 10 1/06 s10x_u1wos_19a X86")
    assert (rel.family, rel.version, rel.update, rel.uname_r) == ("solaris", "10", 1, "5.10")


def test_release_update_from_build_token_when_date_unknown() -> None:
    rel = p.parse_release("Solaris 10 7/99 s10s_u7wos_08 SPARC")
    assert rel.update == 7
    assert rel.arch == "sparc"


@pytest.mark.parametrize(
    ("line", "version", "uname_v", "arch"),
    [
        ("                           Oracle Solaris 11 11/11 X86", "11.0", "11.0", "x86"),
        ("                             Oracle Solaris 11.1 X86", "11.1", "11.1", "x86"),
        ("                             Oracle Solaris 11.3 X86", "11.3", "11.3", "x86"),
        ("                            Oracle Solaris 11.4 SPARC", "11.4", "11.4", "sparc"),
    ],
)
def test_release_solaris11(line: str, version: str, uname_v: str, arch: str) -> None:
    rel = p.parse_release(line + "\n")
    assert rel.family == "solaris"
    assert rel.version == version
    assert rel.uname_r == "5.11"
    assert rel.uname_v == uname_v
    assert rel.arch == arch
    assert rel.update is None
    assert rel.is_solaris11


def test_release_opensolaris() -> None:
    rel = p.parse_release("                         OpenSolaris 2009.06 snv_111b X86\n")
    assert (rel.family, rel.version, rel.arch) == ("opensolaris", "2009.06", "x86")
    assert (rel.uname_r, rel.uname_v) == ("5.11", "snv_111b")
    assert not rel.is_solaris11


def test_release_illumos_has_no_derivable_uname_v() -> None:
    rel = p.parse_release("             OpenIndiana Hipster 2020.10 (powered by illumos)\n")
    assert rel.family == "illumos"
    assert rel.uname_r == "5.11"
    assert rel.uname_v is None
    assert "not derivable" in rel.derivation


def test_release_solaris9_maps_to_5_9() -> None:
    rel = p.parse_release("Solaris 9 9/05 s9x_u8wos_05 X86")
    assert (rel.version, rel.uname_r, rel.update) == ("9", "5.9", 8)


@pytest.mark.parametrize("text", ["", "\n\n", "Ubuntu 22.04", "   Copyright (c) Oracle\n"])
def test_release_unknown(text: str) -> None:
    rel = p.parse_release(text)
    assert rel.family == "unknown"
    assert rel.uname_r is None
    assert rel.error


def test_os_release_solaris114() -> None:
    osr = p.parse_os_release(
        'NAME="Oracle Solaris"\nPRETTY_NAME="Oracle Solaris 11.4"\nID=solaris\n'
        'VERSION="11.4"\nVERSION_ID=11.4\nBUILD_ID="11.4.0.0.1.15.0"\n# comment\n'
    )
    assert osr.id == "solaris"
    assert osr.version == "11.4"
    assert osr.build_id == "11.4.0.0.1.15.0"
    assert osr.lines["VERSION"] == 4
    rel = p.release_from_os_release(osr)
    assert (rel.family, rel.version, rel.uname_r, rel.uname_v) == (
        "solaris",
        "11.4",
        "5.11",
        "11.4",
    )
    assert rel.build == "11.4.0.0.1.15.0"


def test_os_release_linux_is_a_linux_release_not_a_sunos_one() -> None:
    osr = p.parse_os_release('ID=ubuntu\nVERSION_ID="22.04"\n')
    rel = p.release_from_os_release(osr)
    assert (rel.family, rel.version, rel.name) == ("linux", "22.04", "ubuntu 22.04")
    assert not rel.is_sunos and not rel.is_solaris11
    # A distribution release says nothing about the kernel: no uname value is derived.
    assert (rel.uname_r, rel.uname_v) == (None, None)


# Synthetic /etc/os-release in the layout Ubuntu 12.04 ships (quoted, dotted VERSION_ID).
UBUNTU_1204_OS_RELEASE = (
    'NAME="Ubuntu"\nVERSION="12.04.5 LTS, Precise Pangolin"\nID=ubuntu\nID_LIKE=debian\n'
    'PRETTY_NAME="Ubuntu precise (12.04.5 LTS)"\nVERSION_ID="12.04"\n'
)


def test_os_release_quoted_dotted_version_id_gives_a_release() -> None:
    """VERSION_ID="12.04" (quoted, dotted) used to leave the release unknown (os.release null)."""
    osr = p.parse_os_release(UBUNTU_1204_OS_RELEASE)
    assert osr.version_id == "12.04"  # quotes stripped, dots kept
    rel = p.release_from_os_release(osr)
    assert rel.family == "linux" and rel.error is None
    assert rel.version == "12.04"
    assert rel.name == "Ubuntu precise (12.04.5 LTS)"  # PRETTY_NAME, as reports show it
    assert rel.line == 6  # the VERSION_ID line, for evidence
    # Without PRETTY_NAME the name is built from NAME and VERSION_ID.
    bare = p.parse_os_release('NAME="Ubuntu"\r\nID=ubuntu\r\nVERSION_ID="12.04"\r\n')
    assert p.release_from_os_release(bare).name == "Ubuntu 12.04"


@pytest.mark.parametrize(
    "text",
    ["", 'VERSION_ID="12.04"\n', "ID=openindiana\nVERSION_ID=2023.10\n", "ID=esxi\n"],
)
def test_os_release_without_a_linux_id_stays_unknown(text: str) -> None:
    """No ID, an illumos distribution or ESXi: identified by other files, not guessed here."""
    rel = p.release_from_os_release(p.parse_os_release(text))
    assert rel.family == "unknown" and rel.error


# --------------------------------------------------------------------------- uname / isainfo


@pytest.mark.parametrize(
    ("line", "release", "version", "machine"),
    [
        (
            "SunOS sunpc1 5.10 Generic_147441-21 i86pc i386 i86pc Solaris",
            "5.10",
            "Generic_147441-21",
            "i86pc",
        ),
        ("SunOS hsdev-15 5.11 11.0 i86pc i386 i86pc", "5.11", "11.0", "i86pc"),
        ("SunOS solaris11 5.11 11.1 i86pc i386 i86pc", "5.11", "11.1", "i86pc"),
        ("SunOS solaris 5.11 11.3 i86pc i386 i86pc", "5.11", "11.3", "i86pc"),
        ("SunOS solaris 5.11 11.4.0.15.0 i86pc i386 i86pc", "5.11", "11.4.0.15.0", "i86pc"),
        ("SunOS solaris 5.11 11.4.42.111.0 i86pc i386 i86pc", "5.11", "11.4.42.111.0", "i86pc"),
        ("SunOS opensolaris 5.11 snv_111b i86pc i386 i86pc Solaris", "5.11", "snv_111b", "i86pc"),
    ],
)
def test_uname_a_sunos(line: str, release: str, version: str, machine: str) -> None:
    u = p.parse_uname(line + "\n")
    assert (u.sysname, u.release, u.version, u.machine) == ("SunOS", release, version, machine)
    assert u.minor == int(release.split(".")[1])


def test_uname_a_linux_version_with_spaces() -> None:
    u = p.parse_uname(
        "Linux web1 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 "
        "x86_64 x86_64 x86_64 GNU/Linux"
    )
    assert u.sysname == "Linux"
    assert u.release == "5.15.0-91-generic"
    assert u.version == "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023"
    assert u.machine == "x86_64"


@pytest.mark.parametrize(
    ("text", "field", "attr", "value"),
    [
        ("5.10\n", "r", "release", "5.10"),
        ("Generic_147441-21\n", "v", "version", "Generic_147441-21"),
        ("11.4.0.15.0\n", None, "version", "11.4.0.15.0"),
        ("snv_111b\n", None, "version", "snv_111b"),
        ("5.11\n", None, "release", "5.11"),
        ("SunOS\n", None, "sysname", "SunOS"),
    ],
)
def test_uname_single_values(text: str, field: str | None, attr: str, value: str) -> None:
    assert getattr(p.parse_uname(text, field), attr) == value


def test_uname_empty_is_an_error_not_an_exception() -> None:
    assert p.parse_uname("").error == "empty output"
    assert p.parse_uname("a b").error is not None


@pytest.mark.parametrize(("text", "bits"), [("64\n", 64), ("32", 32), ("", None), ("amd64", None)])
def test_isainfo_b(text: str, bits: int | None) -> None:
    assert p.parse_isainfo_b(text) == bits


# --------------------------------------------------------------------------- modinfo / ndd

MODINFO = """\
 Id         Loadaddr   Size Info Rev Module Name
  0 fffffffffb800000  20a40   -   0  unix ()
 45 fffffffff7c3a000   a8c8 240   1  vmxnet3s (VMware EtherAdapter v3 1.1.0.0)
"""


def test_modinfo_documented_row() -> None:
    rows = p.parse_modinfo(MODINFO)
    assert [r.name for r in rows] == ["unix", "vmxnet3s"]
    row = rows[1]
    assert (row.id, row.loadaddr, row.size, row.info, row.rev) == (
        45,
        "fffffffff7c3a000",
        0xA8C8,
        "240",
        1,
    )
    assert row.description == "VMware EtherAdapter v3 1.1.0.0"
    assert not row.truncated
    assert row.addr_bits == 64
    assert row.line == 3
    assert rows[0].description is None


def test_modinfo_32bit_truncated_description() -> None:
    rows = p.parse_modinfo(" 98 f9a3c000   6a10 224   1  vmxnet3s (VMware EtherAdapter v3 b123456")
    assert len(rows) == 1
    assert rows[0].addr_bits == 32
    assert rows[0].truncated
    assert rows[0].description == "VMware EtherAdapter v3 b123456"


def test_modinfo_name_without_description() -> None:
    rows = p.parse_modinfo(" 45 fffffffff7c3a000   a8c8 240   1  vmxnet3s")
    assert rows[0].name == "vmxnet3s"
    assert rows[0].description is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("1\n", 1), ("0", 0), ("", None), ("operation failed: Invalid argument\n", None)],
)
def test_ndd_value(text: str, value: int | None) -> None:
    assert p.parse_ndd_value(text) == value


# --------------------------------------------------------------------------- dladm / ipadm


def test_dladm_show_phys() -> None:
    (row,) = p.parse_dladm_show_phys(
        "LINK      MEDIA    STATE SPEED DUPLEX DEVICE\n"
        "vmxnet3s0 Ethernet up    10000 full   vmxnet3s0\n"
    )
    assert (row.link, row.media, row.state, row.speed, row.duplex, row.device) == (
        "vmxnet3s0",
        "Ethernet",
        "up",
        10000,
        "full",
        "vmxnet3s0",
    )
    assert row.line == 2


def test_dladm_show_link_current_and_bridge_layouts() -> None:
    (new,) = p.parse_dladm_show_link(
        "LINK                CLASS     MTU    STATE    OVER\n"
        "net0                phys      1500   up       --\n"
    )
    assert (new.link, new.link_class, new.mtu, new.state, new.bridge, new.over) == (
        "net0",
        "phys",
        1500,
        "up",
        None,
        None,
    )
    (old,) = p.parse_dladm_show_link(
        "LINK      CLASS MTU  STATE BRIDGE OVER\nvmxnet3s0 phys  9000 up    --     --\n"
    )
    assert (old.link, old.mtu, old.bridge, old.over) == ("vmxnet3s0", 9000, None, None)


def test_dladm_show_link_aggregation_over_several_links() -> None:
    rows = p.parse_dladm_show_link(
        "LINK   CLASS MTU  STATE OVER\naggr0  aggr  1500 up    net0 net1\n"
    )
    assert rows[0].over == "net0 net1"


def test_dladm_show_linkprop() -> None:
    (row,) = p.parse_dladm_show_linkprop(
        "LINK      PROPERTY PERM VALUE DEFAULT POSSIBLE\n"
        "vmxnet3s0 mtu      rw   1500  1500    60-9000\n"
    )
    assert (row.link, row.name, row.perm, row.value, row.default, row.possible) == (
        "vmxnet3s0",
        "mtu",
        "rw",
        "1500",
        "1500",
        "60-9000",
    )
    assert row.int_value == 1500
    assert row.possible_range == (60, 9000)


def test_dladm_show_linkprop_effective_column_and_blank_value() -> None:
    rows = p.parse_dladm_show_linkprop(
        "LINK     PROPERTY        PERM VALUE        EFFECTIVE    DEFAULT   POSSIBLE\n"
        "net0     mtu             rw   9000         9000         1500      60-9000\n"
        "net1     mtu             rw                             1500      60-9000\n"
    )
    assert rows[0].value == "9000"
    assert rows[1].value is None
    assert rows[1].default == "1500"
    assert rows[1].possible == "60-9000"


def test_dladm_show_dev_solaris10() -> None:
    (row,) = p.parse_dladm_show_dev(
        "e1000g0         link: up        speed: 1000  Mbps       duplex: full\n"
    )
    assert (row.link, row.state, row.speed, row.duplex) == ("e1000g0", "up", 1000, "full")


def test_dladm_show_dev_unknown_link() -> None:
    (row,) = p.parse_dladm_show_dev(
        "vmxnet3s0       link: unknown   speed: 0     Mbps  duplex: unknown"
    )
    assert (row.state, row.speed, row.duplex) == ("unknown", 0, "unknown")


IPADM = """\
PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT      POSSIBLE
tcp   send_buf              rw   128000       --           128000       4096-1048576
tcp   smallest-anon-port    rw   32768        --           32768        1024-65535
"""


def test_ipadm_show_prop() -> None:
    rows = p.parse_ipadm_show_prop(IPADM)
    assert [(r.proto, r.name, r.current, r.persistent, r.default, r.possible) for r in rows] == [
        ("tcp", "send_buf", "128000", None, "128000", "4096-1048576"),
        ("tcp", "smallest-anon-port", "32768", None, "32768", "1024-65535"),
    ]
    assert rows[0].int_current == 128000
    assert rows[0].ifname is None


def test_ipadm_show_prop_wrapped_possible_list() -> None:
    rows = p.parse_ipadm_show_prop(
        "PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT      POSSIBLE\n"
        "tcp   ecn                   rw   passive      --           passive      never,passive,\n"
        "                                                                        active\n"
        "tcp   max_buf               rw   4194304      4194304      1048576      8192-1073741824\n"
    )
    assert [r.name for r in rows] == ["ecn", "max_buf"]
    assert rows[0].possible == "never,passive,active"
    assert rows[1].persistent == "4194304"


def test_ipadm_show_ifprop() -> None:
    rows = p.parse_ipadm_show_prop(
        "IFNAME     PROPERTY        PROTO PERM CURRENT    PERSISTENT DEFAULT    POSSIBLE\n"
        "net0       mtu             ipv4  rw   9000       9000       1500       68-9000\n"
    )
    assert (rows[0].ifname, rows[0].proto, rows[0].name, rows[0].int_current) == (
        "net0",
        "ipv4",
        "mtu",
        9000,
    )


# --------------------------------------------------------------------------- ifconfig

SOLARIS_IFCONFIG = """\
lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1
        inet 127.0.0.1 netmask ff000000
vmxnet3s0: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 9000 index 2
        inet 10.0.0.5 netmask ffffff00 broadcast 10.0.0.255
        ether 0:50:56:a1:2:3
lo0: flags=2002000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv6,VIRTUAL> mtu 8252 index 1
        inet6 ::1/128
"""


def test_ifconfig_solaris() -> None:
    rows = p.parse_ifconfig(SOLARIS_IFCONFIG)
    assert [(r.name, r.mtu, r.family, r.index) for r in rows] == [
        ("lo0", 8232, "ipv4", 1),
        ("vmxnet3s0", 9000, "ipv4", 2),
        ("lo0", 8252, "ipv6", 1),
    ]
    assert "UP" in rows[1].flags


def test_ifconfig_linux_old_and_new_net_tools() -> None:
    rows = p.parse_ifconfig(
        "eth0      Link encap:Ethernet  HWaddr 00:50:56:AA:BB:CC\n"
        "          inet addr:10.0.0.2  Bcast:10.0.0.255  Mask:255.255.255.0\n"
        "          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1\n"
        "\n"
        "ens192: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 9000\n"
        "        inet 10.0.0.3  netmask 255.255.255.0  broadcast 10.0.0.255\n"
    )
    assert [(r.name, r.mtu) for r in rows] == [("eth0", 1500), ("ens192", 9000)]
    assert "UP" in rows[0].flags


# --------------------------------------------------------------------------- Linux

ETHTOOL_K = """\
Features for eth0:
rx-checksumming: off [fixed]
tx-checksumming: on
\ttx-checksum-ipv4: off [fixed]
\ttx-checksum-ip-generic: off [fixed]
scatter-gather: on
tcp-segmentation-offload: on
\ttx-tcp-segmentation: on [fixed]
\ttx-tcp6-segmentation: on [fixed]
udp-fragmentation-offload: off [fixed]
generic-segmentation-offload: off [requested on]
generic-receive-offload: on
large-receive-offload: on
"""


def test_ethtool_k_features_format() -> None:
    k = p.parse_ethtool_k(ETHTOOL_K)
    assert (k.interface, k.style) == ("eth0", "features")
    assert k.enabled("tcp-segmentation-offload") is True
    assert k.enabled("large-receive-offload") is True
    assert k.enabled("rx-checksumming") is False
    assert k.features["rx-checksumming"].fixed
    gso = k.features["generic-segmentation-offload"]
    assert (gso.enabled, gso.requested, gso.fixed) == (False, True, False)
    sub = k.features["tx-tcp-segmentation"]
    assert (sub.parent, sub.fixed, sub.enabled) == ("tcp-segmentation-offload", True, True)
    assert k.features["scatter-gather"].parent is None
    assert k.features["large-receive-offload"].line == 13
    assert k.enabled("tso") is True  # ethtool -K short name
    assert k.enabled("no-such-feature") is None


def test_ethtool_k_offload_parameters_format() -> None:
    k = p.parse_ethtool_k(
        "Offload parameters for eth0:\n"
        "rx-checksumming: on\n"
        "tx-checksumming: on\n"
        "scatter-gather: on\n"
        "tcp-segmentation-offload: on\n"
        "udp-fragmentation-offload: off\n"
        "generic-segmentation-offload: on\n"
        "generic-receive-offload: off\n"
        "large-receive-offload: on\n"
    )
    assert (k.interface, k.style) == ("eth0", "offload-parameters")
    assert k.enabled("large-receive-offload") is True
    assert k.enabled("generic-receive-offload") is False


def test_ethtool_k_oldest_format_with_spaces_and_errors() -> None:
    k = p.parse_ethtool_k(
        "Offload parameters for eth1:\n"
        "Cannot get device udp large send offload settings: Operation not supported\n"
        "rx checksumming: on\n"
        "tx checksumming: on\n"
        "scatter gather: on\n"
        "tcp segmentation offload: on\n"
        "generic segmentation offload: off\n"
        "large receive offload: off\n"
    )
    assert k.interface == "eth1"
    assert set(k.features) == {
        "rx-checksumming",
        "tx-checksumming",
        "scatter-gather",
        "tcp-segmentation-offload",
        "generic-segmentation-offload",
        "large-receive-offload",
    }
    assert k.enabled("tcp-segmentation-offload") is True
    assert k.enabled("large-receive-offload") is False
    assert k.errors == (
        "Cannot get device udp large send offload settings: Operation not supported",
    )


def test_normalise_feature_name() -> None:
    assert p.normalise_feature_name("TCP segmentation offload") == "tcp-segmentation-offload"
    assert p.normalise_feature_name("lro") == "large-receive-offload"
    assert p.normalise_feature_name("sg") == "scatter-gather"


def test_ethtool_i() -> None:
    info = p.parse_ethtool_i(
        "driver: vmxnet3\nversion: 1.7.0.0-k-NAPI\nfirmware-version:\nbus-info: 0000:0b:00.0\n"
    )
    assert (info.driver, info.version, info.firmware_version, info.bus_info) == (
        "vmxnet3",
        "1.7.0.0-k-NAPI",
        None,
        "0000:0b:00.0",
    )
    assert info.lines["bus-info"] == 4


IP_D_LINK = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 minmtu 0 maxmtu 0
2: ens192: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DEFAULT qlen 1000
    link/ether 00:50:56:aa:bb:cc brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 60 maxmtu 9000
    altname enp11s0
3: eth0.10@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT
    link/ether 00:50:56:aa:bb:cc brd ff:ff:ff:ff:ff:ff
"""


def test_ip_d_link() -> None:
    links = p.parse_ip_link(IP_D_LINK)
    assert [(lk.index, lk.name, lk.mtu, lk.minmtu, lk.maxmtu, lk.state) for lk in links] == [
        (1, "lo", 65536, 0, 0, "UNKNOWN"),
        (2, "ens192", 1500, 60, 9000, "UP"),
        (3, "eth0.10", 1500, None, None, "DOWN"),  # older iproute2: no min/max
    ]
    assert links[1].line == 3
    assert "LOWER_UP" in links[1].flags


def test_sysctl_output_conf_and_bare_proc_value() -> None:
    out = p.parse_sysctl("net.ipv4.ip_forward = 0\n")
    entry = out.get("net.ipv4.ip_forward")
    assert entry is not None and entry.int_value == 0
    conf = p.parse_sysctl(
        "# router\nnet.ipv4.ip_forward=1\n; x\n-net.ipv4.conf.all.rp_filter = 2\n"
    )
    assert conf.values["net.ipv4.ip_forward"].line == 2
    assert conf.values["net.ipv4.conf.all.rp_filter"].value == "2"
    bare = p.parse_sysctl("1\n", key="net/ipv4/ip_forward").get("net.ipv4.ip_forward")
    assert bare is not None and bare.int_value == 1
    assert p.parse_sysctl("1\n").values == {}
    err = p.parse_sysctl("sysctl: cannot stat /proc/sys/net/ipv4/ip_forward: No such file\n", "x")
    assert err.values == {}


def test_sysctl_last_assignment_wins() -> None:
    out = p.parse_sysctl("net.ipv4.ip_forward = 1\nnet.ipv4.ip_forward = 0\n")
    assert out.values["net.ipv4.ip_forward"].value == "0"
    assert out.values["net.ipv4.ip_forward"].line == 2


# --------------------------------------------------------------------------- ESXi

ESXCLI = """\
   Path: /Net/TcpipDefLROEnabled
   Type: integer
   Int Value: 0
   Default Int Value: 1
   Min Value: 0
   Max Value: 1
   String Value:
   Default String Value:
   Valid Characters:
   Description: LRO enabled for TCP/IP

   Path: /Net/Vmxnet3HwLRO
   Type: integer
   Int Value: 1
   Default Int Value: 1
   Min Value: 0
   Max Value: 1
   String Value:
   Default String Value:
   Valid Characters:
   Description: Whether to enable HW LRO on pkts going to a LPD capable vmxnet3
"""


def test_esxcli_advanced() -> None:
    adv = p.parse_esxcli_advanced(ESXCLI)
    s = adv.get("/Net/TcpipDefLROEnabled")
    assert s is not None
    assert (s.type, s.int_value, s.default_int_value, s.min_value, s.max_value) == (
        "integer",
        0,
        1,
        0,
        1,
    )
    assert s.string_value is None
    assert s.description == "LRO enabled for TCP/IP"
    assert s.line == 1
    hw = adv.get("Net.Vmxnet3HwLRO")
    assert hw is not None and hw.int_value == 1 and hw.line == 12
    assert adv.get("Vmxnet3HwLRO") is hw
    assert adv.get("/Net/Nope") is None


def test_esxcfg_advcfg() -> None:
    adv = p.parse_esxcfg_advcfg("Value of Vmxnet3SwLRO is 1\n")
    s = adv.get("/Net/Vmxnet3SwLRO")
    assert s is not None and s.int_value == 1


# --------------------------------------------------------------------------- driver.conf

CONF = """\
# vmxnet3s.conf
TxRingSize=256,256,100,4096;
RxRingSize=256,512;
RxBufPoolLimit=512,6000,20;
EnableLSO=0,0,0,0,0,0,0,0,0,0;
# MTU=1500,1500;
MTU=9000,
    9001,  # continued on the next line
    59;
"""


def test_driver_conf_properties_and_lines() -> None:
    conf = p.parse_driver_conf(CONF)
    assert conf.problems == ()
    assert set(conf.properties) == {
        "TxRingSize",
        "RxRingSize",
        "RxBufPoolLimit",
        "EnableLSO",
        "MTU",
    }
    assert conf.properties["EnableLSO"].values == (0,) * 10
    assert conf.properties["EnableLSO"].line == 5
    assert conf.properties["MTU"].values == (9000, 9001, 59)
    assert conf.properties["MTU"].line == 7


def test_driver_conf_value_for_instances_and_defaults() -> None:
    conf = p.parse_driver_conf(CONF)
    lso0 = conf.value_for("EnableLSO", 0)
    assert (lso0.value, lso0.from_conf, lso0.valid, lso0.line) == (0, True, True, 5)
    lso12 = conf.value_for("EnableLSO", 12)  # list has 10 values
    assert (lso12.value, lso12.from_conf, lso12.valid) == (1, False, True)
    assert "no value for instance 12" in lso12.reason
    assert conf.value_for("MTU", 0).value == 9000
    mtu1 = conf.value_for("MTU", 1)
    assert (mtu1.value, mtu1.configured, mtu1.valid) == (1500, 9001, False)
    assert conf.value_for("MTU", 2).value == 1500  # 59 below the 60 minimum
    tx2 = conf.value_for("TxRingSize", 2)
    assert (tx2.value, tx2.valid) == (256, False)
    assert "multiple of 32" in tx2.reason
    assert conf.value_for("TxRingSize", 3).value == 4096


def test_driver_conf_rx_buf_pool_limit_depends_on_ring_size() -> None:
    conf = p.parse_driver_conf(CONF)
    assert conf.value_for("RxBufPoolLimit", 0).value == 512
    # instance 1: RxRingSize 512 -> range 0..5120, default 1024; 6000 is invalid
    inst1 = conf.value_for("RxBufPoolLimit", 1)
    assert (inst1.value, inst1.valid) == (1024, False)
    assert conf.value_for("RxBufPoolLimit", 2).value == 20


def test_driver_conf_empty_gives_driver_defaults() -> None:
    conf = p.parse_driver_conf("")
    eff = conf.effective(0)
    assert {k: v.value for k, v in eff.items()} == {
        "TxRingSize": 256,
        "RxRingSize": 256,
        "RxBufPoolLimit": 512,
        "EnableLSO": 1,
        "MTU": 1500,
    }
    assert all(v.valid and not v.from_conf for v in eff.values())


def test_driver_conf_strings_hex_device_specs_and_problems() -> None:
    conf = p.parse_driver_conf(
        'name="vmxnet3s" parent="pci" unit-address="3" EnableLSO=1;\n'
        "EnableLSO=0x0;\n"
        'Label="a;b",  "c";\n'
        "TxRingSize=;\n"
        "RxRingSize=512\n"
    )
    # device-spec entries do not define global properties
    assert conf.entries[0].is_device_spec
    assert conf.properties["EnableLSO"].values == (0,)
    assert conf.properties["Label"].values == ("a;b", "c")
    assert conf.value_for("Label", 1).configured == "c"
    messages = [pr.message for pr in conf.problems]
    assert any("missing value after 'TxRingSize='" in m for m in messages)
    assert any("not terminated" in m for m in messages)
    assert conf.properties["RxRingSize"].values == (512,)


def test_driver_conf_non_integer_list_uses_default_and_duplicates_recorded() -> None:
    conf = p.parse_driver_conf('EnableLSO=1;\nEnableLSO="off";\n')
    v = conf.value_for("EnableLSO", 0)
    assert (v.value, v.valid) == (1, False)
    assert conf.duplicates == {"EnableLSO": (1, 2)}


# --------------------------------------------------------------------------- /etc/system, BGP


def test_etc_system() -> None:
    sysf = p.parse_etc_system(
        "* comment\n*set ip:ip_lso_outbound=1\nset ip:ip_lso_outbound = 0\n"
        "set maxusers=0x40\nset rlim_fd_max |= 0x100\nforceload: drv/vmxnet3s\n"
    )
    lso = sysf.get("ip_lso_outbound", "ip")
    assert lso is not None and (lso.value, lso.int_value, lso.line) == ("0", 0, 3)
    maxusers = sysf.get("maxusers")
    assert maxusers is not None and maxusers.int_value == 64
    fd = sysf.get("rlim_fd_max")
    assert fd is not None and fd.op == "|="
    assert sysf.directives[0].keyword == "forceload"
    assert sysf.directives[0].value == "drv/vmxnet3s"


BGPD = """\
! Quagga bgpd.conf
hostname bgpd
password zebra
router bgp 65001
 bgp router-id 10.0.0.1
 neighbor 192.0.2.1 remote-as 65002
 neighbor 192.0.2.1 password s3cr3t
 neighbor 192.0.2.2 remote-as 65003
 no neighbor 192.0.2.3 password old
!
line vty
"""


def test_bgp_config_md5_peers_without_secrets() -> None:
    cfg = p.parse_bgp_config(BGPD, "/etc/quagga/bgpd.conf")
    assert cfg.router_asns == ("65001",)
    assert [(x.peer, x.asn, x.line, x.path) for x in cfg.peers] == [
        ("192.0.2.1", "65001", 7, "/etc/quagga/bgpd.conf")
    ]
    assert "s3cr3t" not in repr(cfg)
    assert cfg.peers[0].redacted == "neighbor 192.0.2.1 password <redacted>"


def test_bgp_frr_vrf_and_exit() -> None:
    cfg = p.parse_bgp_config(
        "router bgp 65010 vrf red\n neighbor fe80::1 password x y z\nexit\n"
        "interface eth0\n neighbor 10.9.9.9 password q\n"
    )
    assert [(x.peer, x.asn) for x in cfg.peers] == [("fe80::1", "65010"), ("10.9.9.9", None)]
    assert "x y z" not in repr(cfg)


# --------------------------------------------------------------------------- install journal


def test_locations_replay() -> None:
    db = p.parse_locations(
        "file /etc/vmware-tools/locations\n"
        "answer BINDIR /usr/bin\n"
        "answer VMXNET3S_CONFED no\n"
        "file /kernel/drv/vmxnet3s 1400000000\n"
        "file /kernel/drv/amd64/vmxnet3s 1400000000\n"
        "garbage here\n"
        "remove_answer VMXNET3S_CONFED\n"
        "answer VMXNET3S_CONFED yes\n"
        "remove_file /kernel/drv/amd64/vmxnet3s\n"
        "directory /usr/lib/vmware-tools\n"
        "directory /opt/x\n"
        "remove_directory /opt/x\n"
        "modified /kernel/drv/vmxnet3s.conf\n"
        "config /etc/vmware-tools/tools.conf\n"
        "file /kernel/drv/vmxnet3s 1500000000\n"
        "link /a /b\n"
        "move /c /d\n"
        "answer RESTORE_RAMDISK_CMD /usr/sbin/update-initramfs -u -k all\n"
        "answer EMPTY\n"
    )
    assert db.answer("VMXNET3S_CONFED") == "yes"
    assert db.answer_lines["VMXNET3S_CONFED"] == 8
    assert db.answer("RESTORE_RAMDISK_CMD") == "/usr/sbin/update-initramfs -u -k all"
    assert db.answer("EMPTY") == ""
    assert db.files == {"/etc/vmware-tools/locations": None, "/kernel/drv/vmxnet3s": 1500000000}
    assert db.file_lines["/kernel/drv/vmxnet3s"] == 15
    assert db.removed_files == {"/kernel/drv/amd64/vmxnet3s": 9}
    assert db.directories == {"/usr/lib/vmware-tools": 10}
    assert db.modified == {"/kernel/drv/vmxnet3s.conf": 13}
    assert db.config == {"/etc/vmware-tools/tools.conf": 14}
    assert db.links == (("/a", "/b", 16),)
    assert db.moves == (("/c", "/d", 17),)
    assert db.junk_lines == (6,)


# --------------------------------------------------------------------------- boot scripts

SCRIPT = """\
#!/sbin/sh
# ndd -set /dev/ip ip_lso_outbound 0
case "$1" in
start)
    /usr/sbin/ndd -set /dev/ip ip_lso_outbound 0   # disable LSO (vmxnet3s)
    ndd -set /dev/vmxnet3s0 accept-jumbo 1; ifconfig vmxnet3s0 mtu 9000
    ipadm set-prop -t -p _lso_outbound=0 ip
    ipadm set-ifprop -p mtu=9000 -m ipv4 net0
    dladm set-linkprop -p mtu=9000 \\
        vmxnet3s0
    ipadm set-prop -p max_buf=4194304 tcp && ipadm set-prop -p recv_buf=1048576,send_buf=1048576 tcp
    ;;
esac
echo "ndd -set is how you do it" # ndd -set /dev/ip ip_lso_outbound 1
"""


def test_find_persistent_settings() -> None:
    found = p.find_persistent_settings(SCRIPT, "/etc/init.d/nettune")
    summary = [
        (s.tool, s.action, s.target, s.properties, s.protocol, s.temporary, s.line) for s in found
    ]
    assert summary == [
        ("ndd", "-set", "/dev/ip", (("ip_lso_outbound", "0"),), None, False, 5),
        ("ndd", "-set", "/dev/vmxnet3s0", (("accept-jumbo", "1"),), None, False, 6),
        ("ifconfig", "mtu", "vmxnet3s0", (("mtu", "9000"),), None, False, 6),
        ("ipadm", "set-prop", "ip", (("_lso_outbound", "0"),), "ip", True, 7),
        ("ipadm", "set-ifprop", "net0", (("mtu", "9000"),), "ipv4", False, 8),
        ("dladm", "set-linkprop", "vmxnet3s0", (("mtu", "9000"),), None, False, 9),
        ("ipadm", "set-prop", "tcp", (("max_buf", "4194304"),), "tcp", False, 11),
        (
            "ipadm",
            "set-prop",
            "tcp",
            (("recv_buf", "1048576"), ("send_buf", "1048576")),
            "tcp",
            False,
            11,
        ),
    ]
    assert all(s.path == "/etc/init.d/nettune" for s in found)
    assert found[0].text.startswith("/usr/sbin/ndd -set /dev/ip ip_lso_outbound 0")


def test_find_persistent_settings_ethtool() -> None:
    (s,) = p.find_persistent_settings("ethtool -K eth0 tso off sg off\n", "/etc/rc.local")
    assert s.properties == (("tcp-segmentation-offload", "off"), ("scatter-gather", "off"))
    assert s.target == "eth0"
