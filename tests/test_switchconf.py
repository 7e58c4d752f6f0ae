"""Parsing Cisco IOS and HP ProCurve configurations for link aggregation (SYNTHETIC texts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolsfix.errors import InputError
from toolsfix.guest.switchconf import (
    CISCO,
    PROCURVE,
    expand_procurve_ports,
    load_switch_config,
    parse_switch_config,
)

IOS = """\
! SYNTHETIC
version 15.2
hostname core-sw1
!
interface Port-channel1
 switchport mode trunk
!
interface GigabitEthernet1/0/1
 description esx01 vmnic2
 channel-group 1 mode on
!
interface GigabitEthernet1/0/2
 channel-group 1 mode on
!
interface GigabitEthernet1/0/3
 channel-group 2 mode active
!
interface GigabitEthernet1/0/4
 channel-group 2 mode passive
!
interface GigabitEthernet1/0/5
 channel-group 3 mode desirable non-silent
!
interface GigabitEthernet1/0/6
 switchport access vlan 10
!
interface Vlan10
 ip address 192.0.2.1 255.255.255.0
!
end
"""

PROCURVE_CFG = """\
; J9999A Configuration Editor; Created on release #X.00.00 (SYNTHETIC)
hostname "edge-sw2"
trunk A1-A2 Trk1 Trunk
trunk B1,B3 trk2 LACP
trunk 1/5-1/6 trk3
interface A1
   name "esx01 vmnic0"
   exit
interface C4
   name "printer"
   exit
vlan 1
   untagged C1-C24,Trk1-Trk3
   exit
"""


def test_ios_channels_modes_and_lines() -> None:
    cfg = parse_switch_config(IOS, "core.cfg")
    assert cfg.kind == CISCO and cfg.hostname == "core-sw1" and cfg.label == "core-sw1"
    assert [c.name for c in cfg.channels] == ["Port-channel1", "Port-channel2", "Port-channel3"]
    po1, po2, po3 = cfg.channels
    assert po1.static and po1.protocol == "static"
    assert po1.members == ("GigabitEthernet1/0/1", "GigabitEthernet1/0/2")
    assert po2.protocol == "LACP" and not po2.static
    assert po3.protocol == "PAgP"
    ev = po1.evidence("GigabitEthernet1/0/2")
    assert ev.path == "core.cfg" and ev.line == 13
    assert ev.excerpt == "interface GigabitEthernet1/0/2: channel-group 1 mode on"
    assert "Vlan10" not in cfg.ports and "Port-channel1" not in cfg.ports
    assert cfg.channel_of("GigabitEthernet1/0/6") is None
    assert cfg.descriptions["GigabitEthernet1/0/1"] == "esx01 vmnic2"


def test_ios_port_abbreviations_resolve_like_the_switch_cli() -> None:
    cfg = parse_switch_config(IOS, "core.cfg")
    assert [m.port for m in cfg.find_port("Gi1/0/3")] == ["GigabitEthernet1/0/3"]
    assert [m.port for m in cfg.find_port("gigabitethernet 1/0/4")] == ["GigabitEthernet1/0/4"]
    assert cfg.find_port("Gi1/0/9") == [] and cfg.find_port("Te1/0/1") == []
    assert cfg.find_port("???") == []


def test_ios_mixed_member_modes_are_not_static() -> None:
    text = (
        "interface Gi1/0/1\n channel-group 4 mode on\n!\n"
        "interface Gi1/0/2\n channel-group 4 mode active\n!\n"
    )
    (ch,) = parse_switch_config(text, "x").channels
    assert ch.protocol == "mixed" and not ch.static


def test_ios_interface_range_and_nxos_static_form() -> None:
    text = (
        "hostname n1\n"
        "interface range GigabitEthernet1/0/1 - 3 , GigabitEthernet 2/0/7\n"
        " channel-group 5 mode active\n"
        "!\n"
        "interface Ethernet1/1\n"
        "  channel-group 10\n"
    )
    cfg = parse_switch_config(text, "x")
    po5, po10 = cfg.channels
    assert po5.members == (
        "GigabitEthernet1/0/1",
        "GigabitEthernet1/0/2",
        "GigabitEthernet1/0/3",
        "GigabitEthernet2/0/7",
    )
    assert po10.members == ("Ethernet1/1",) and po10.static  # NX-OS: no mode means static


def test_procurve_trunks() -> None:
    cfg = parse_switch_config(PROCURVE_CFG, "edge.cfg")
    assert cfg.kind == PROCURVE and cfg.hostname == "edge-sw2"
    trk1, trk2, trk3 = cfg.channels
    assert (trk1.name, trk1.members, trk1.static) == ("Trk1", ("A1", "A2"), True)
    assert (trk2.name, trk2.members, trk2.protocol) == ("Trk2", ("B1", "B3"), "LACP")
    assert trk3.members == ("1/5", "1/6") and trk3.static  # no type: a static trunk
    assert trk2.evidence().line == 4 and trk2.evidence().excerpt == "trunk B1,B3 trk2 LACP"
    assert cfg.descriptions["A1"] == "esx01 vmnic0"
    # Ports the config never mentions exist on the switch, unconfigured and unbundled.
    (m,) = cfg.find_port("c7")
    assert (m.port, m.listed) == ("C7", False)
    (m,) = cfg.find_port("a2")
    assert (m.port, m.listed) == ("A2", True)
    assert cfg.find_port("Gi1/0/1") == []


@pytest.mark.parametrize(
    ("spec", "ports"),
    [
        ("1-4,6", ["1", "2", "3", "4", "6"]),
        ("A1-A3", ["A1", "A2", "A3"]),
        ("1/A1-1/A2,B3", ["1/A1", "1/A2", "B3"]),
        ("a1-3", ["A1", "A2", "A3"]),
        ("5-2", ["5", "2"]),  # backwards: kept as written, not expanded
    ],
)
def test_procurve_port_lists(spec: str, ports: list[str]) -> None:
    assert expand_procurve_ports(spec) == ports


def test_detection_tolerates_crlf_tabs_and_unknown_lines() -> None:
    text = IOS.replace("\n", "\r\n").replace(" channel-group 1", "\t channel-group 1")
    text = "garbage line one\r\nbanner motd ^C hello ^C\r\n" + text
    cfg = parse_switch_config(text, "x")
    assert cfg.kind == CISCO and cfg.channels[0].members[0] == "GigabitEthernet1/0/1"
    assert cfg.channels[0].evidence().line == 12


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02binary\x00", "binary data"),
        (b"hello\nworld\n", "not a Cisco IOS or HP ProCurve switch configuration"),
        (b"   Load Balancing: iphash\n", "not a Cisco IOS or HP ProCurve switch configuration"),
    ],
)
def test_bad_switch_configs(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "sw.cfg"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_switch_config(path)
    assert "\n" not in str(info.value)


def test_switch_config_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_switch_config(tmp_path)


_CONFIG_LINES = st.sampled_from(
    [
        "interface GigabitEthernet1/0/1",
        "interface range Gi1/0/1 - 4",
        "interface range ,,- 9",
        " channel-group 1 mode on",
        " channel-group 99999999999 mode active",
        " description x",
        "!",
        "hostname sw",
        'hostname "p"',
        "trunk 1-2 trk1 lacp",
        "trunk A1-B2,-,3 trk7",
        "interface 1-99999",
        '   name "a"',
        "   exit",
        "; J1 Configuration Editor",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_CONFIG_LINES, st.text(max_size=30)), max_size=30))
def test_switch_parser_only_raises_input_errors(lines: list[str]) -> None:
    try:
        cfg = parse_switch_config("\n".join(lines), "fuzz.cfg")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for ch in cfg.channels:
        assert ch.members and ch.protocol
        assert ch.evidence().line is not None
