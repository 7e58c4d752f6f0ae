"""Parsing `esxcli network vswitch standard [portgroup] policy failover get` listings.

The texts below are SYNTHETIC, written in the layout real esxcli output has (docs/background.md).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolsfix.checks.esxi import load_esxi_file
from toolsfix.errors import InputError
from toolsfix.guest.esxi_teaming import parse_failover_listing, vswitch_from_file_name

VSWITCH = (
    "   Load Balancing: iphash\n"
    "   Network Failure Detection: link\n"
    "   Notify Switches: true\n"
    "   Failback: true\n"
    "   Active Adapters: vmnic2, vmnic3\n"
    "   Standby Adapters:\n"
    "   Unused Adapters:\n"
)
PORTGROUP = (
    "   Load Balancing: srcport\n"
    "   Network Failure Detection: beacon\n"
    "   Notify Switches: true\n"
    "   Failback: false\n"
    "   Active Adapters: vmnic2\n"
    "   Standby Adapters: vmnic3\n"
    "   Unused Adapters:\n"
    "   Override Vswitch Load Balancing: true\n"
    "   Override Vswitch Network Failure Detection: false\n"
    "   Override Vswitch Notify Switches: false\n"
    "   Override Vswitch Failback: true\n"
    "   Override Vswitch Uplinks: true\n"
)


def test_vswitch_block_fields_and_lines() -> None:
    (pol,) = parse_failover_listing(VSWITCH, source="x/vSwitch1-failover.txt").policies
    assert pol.scope == "vswitch" and pol.name == "vSwitch1" and pol.name_from == "file name"
    assert pol.load_balancing == "iphash" and pol.failure_detection == "link"
    assert pol.notify_switches is True and pol.failback is True
    assert pol.active == ("vmnic2", "vmnic3") and pol.standby == () and pol.unused == ()
    assert pol.lines["load_balancing"] == 1 and pol.lines["active"] == 5
    ev = pol.evidence("active")
    assert ev.path == "x/vSwitch1-failover.txt" and ev.line == 5
    assert ev.excerpt == "Active Adapters: vmnic2, vmnic3"


def test_portgroup_block_keeps_effective_values_and_override_flags() -> None:
    (pol,) = parse_failover_listing(PORTGROUP).policies
    assert pol.scope == "portgroup" and pol.name is None
    assert pol.load_balancing == "srcport" and pol.failure_detection == "beacon"
    assert pol.standby == ("vmnic3",) and pol.failback is False
    assert pol.own("load_balancing") is True and pol.own("failure_detection") is False
    assert pol.own("standby") is True  # active/standby/unused belong to "Override ... Uplinks"
    assert pol.label.startswith("unnamed portgroup")


def test_command_lines_name_the_output_after_them() -> None:
    text = (
        "[root@esx01:~] esxcli network vswitch standard policy failover get -v vSwitch0\n"
        + VSWITCH
        + "~ # esxcli network vswitch standard portgroup policy failover get -p 'VM Network'\n"
        + PORTGROUP
        + "$ esxcli network vswitch standard policy failover get --vswitch-name=vSwitch7\n"
        + VSWITCH.replace("iphash", "mac")
    )
    pols = parse_failover_listing(text, source="vSwitch9.txt").policies
    assert [(p.scope, p.name, p.name_from) for p in pols] == [
        ("vswitch", "vSwitch0", "command line"),
        ("portgroup", "VM Network", "command line"),
        ("vswitch", "vSwitch7", "command line"),
    ]
    assert pols[2].load_balancing == "mac"
    # The file name names a portgroup's vSwitch only when nothing else does.
    assert pols[1].vswitch == "vSwitch9" and pols[1].vswitch_from == "file name"


def test_vcli_connection_options_are_not_the_portgroup() -> None:
    text = (
        "esxcli -s esx01 -u root -p s3cret network vswitch standard portgroup policy "
        "failover get -p Backup\n" + PORTGROUP
    )
    (pol,) = parse_failover_listing(text).policies
    assert pol.name == "Backup"


def test_two_outputs_pasted_without_commands_are_two_blocks() -> None:
    pols = parse_failover_listing(VSWITCH + VSWITCH.replace("iphash", "srcport")).policies
    assert [p.load_balancing for p in pols] == ["iphash", "srcport"]
    assert [p.start_line for p in pols] == [1, 8]
    # The file name can name one unnamed vSwitch, not two.
    pols = parse_failover_listing(VSWITCH + VSWITCH, source="vSwitch1.txt").policies
    assert [p.name for p in pols] == [None, None]


def test_crlf_extra_whitespace_tabs_and_unknown_lines() -> None:
    text = (
        "# SYNTHETIC capture\r\n"
        "some banner line\r\n"
        "\r\n"
        "Load   Balancing :\tIPHASH  \r\n"
        "\tNetwork Failure Detection:   beacon\r\n"
        "   Frobnicate Level: 11\r\n"
        "   Active Adapters:vmnic0,vmnic1 ,  vmnic4\r\n"
        "   Standby Adapters: \r\n"
    )
    (pol,) = parse_failover_listing(text).policies
    assert pol.load_balancing == "iphash" and pol.failure_detection == "beacon"
    assert pol.active == ("vmnic0", "vmnic1", "vmnic4") and pol.standby == ()
    assert pol.lines["load_balancing"] == 4  # line numbers as an editor shows them


def test_api_and_set_style_policy_names_are_understood() -> None:
    for raw, want in [
        ("loadbalance_ip", "iphash"),
        ("loadbalance_srcid", "srcport"),
        ("portid", "srcport"),
        ("failover_explicit", "explicit"),
        ("loadbalance_srcmac", "mac"),
    ]:
        (pol,) = parse_failover_listing(VSWITCH.replace("iphash", raw)).policies
        assert pol.load_balancing == want, raw
    (pol,) = parse_failover_listing(VSWITCH.replace("iphash", "loadbased")).policies
    assert pol.load_balancing is None and pol.load_balancing_raw == "loadbased"


def test_portgroup_list_ties_portgroups_to_vswitches() -> None:
    text = (
        "[root@esx01:~] esxcli network vswitch standard portgroup list\n"
        "Name                Virtual Switch  Active Clients  VLAN ID\n"
        "------------------  --------------  --------------  -------\n"
        "Management Network  vSwitch0                     1        0\n"
        "VM Network          vSwitch1                     4       10\n"
        "[root@esx01:~] esxcli network vswitch standard portgroup policy failover get "
        '-p "VM Network"\n' + PORTGROUP
    )
    listing = parse_failover_listing(text, source="vSwitch5-session.txt")
    assert [(r.name, r.vswitch, r.line) for r in listing.portgroups] == [
        ("Management Network", "vSwitch0", 4),
        ("VM Network", "vSwitch1", 5),
    ]
    (pol,) = listing.policies
    assert pol.vswitch == "vSwitch1" and pol.vswitch_from == "portgroup list"


def test_a_failover_block_right_after_the_portgroup_table_is_read() -> None:
    text = (
        "Name        Virtual Switch  Active Clients  VLAN ID\n"
        "----------  --------------  --------------  -------\n"
        "VM Network  vSwitch1                     4        0\n"
        "\n" + VSWITCH
    )
    listing = parse_failover_listing(text)
    assert len(listing.portgroups) == 1 and len(listing.policies) == 1


def test_output_of_other_esxcli_commands_is_not_a_policy() -> None:
    text = (
        "# esxcli network vswitch dvs vmware list\n"
        "   Load Balancing: loadbalance_loadbased\n"
        "   Active Adapters: vmnic4\n"
        "# esxcli system settings advanced list -o /Net/Vmxnet3HwLRO\n"
        "   Path: /Net/Vmxnet3HwLRO\n"
        "   Int Value: 1\n"
    )
    assert not parse_failover_listing(text)


def test_advanced_block_ends_a_policy_block() -> None:
    text = VSWITCH + "   Path: /Net/Vmxnet3HwLRO\n   Int Value: 1\n   Failback: false\n"
    (pol,) = parse_failover_listing(text).policies
    assert pol.failback is True


def test_vswitch_names_from_file_names() -> None:
    assert vswitch_from_file_name("dir/vSwitch1-failover.txt") == "vSwitch1"
    assert vswitch_from_file_name("esx01_vswitch12.out") == "vswitch12"
    assert vswitch_from_file_name("myvSwitch1.txt") is None
    assert vswitch_from_file_name("failover.txt") is None
    assert vswitch_from_file_name(None) is None


def test_load_detects_both_kinds_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "host.txt"
    path.write_text(
        "   Path: /Net/Vmxnet3HwLRO\n   Type: integer\n   Int Value: 1\n\n"
        "# esxcli network vswitch standard policy failover get -v vSwitch0\n" + VSWITCH
    )
    loaded = load_esxi_file(path)
    assert loaded.settings is not None and loaded.settings.get("/Net/Vmxnet3HwLRO") is not None
    assert [p.name for p in loaded.teaming.policies] == ["vSwitch0"]
    assert loaded.contents() == ["advanced-settings", "failover-policy"]


def test_load_accepts_utf16_with_bom(tmp_path: Path) -> None:
    # PowerShell's `>` writes UTF-16LE with a byte-order mark.
    path = tmp_path / "vSwitch3.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + VSWITCH.replace("\n", "\r\n").encode("utf-16-le"))
    (pol,) = load_esxi_file(path).teaming.policies
    assert pol.name == "vSwitch3" and pol.active == ("vmnic2", "vmnic3")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"  \n\n\t\n", "empty file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "binary data"),
        (bytes(range(1, 32)) * 20, "binary data"),
        (b"hello\nworld\n", "no ESXi advanced settings or vSwitch failover policy found"),
    ],
)
def test_bad_files_are_one_line_input_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_esxi_file(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_esxi_file(tmp_path)
    with pytest.raises(InputError, match="cannot read"):
        load_esxi_file(tmp_path / "absent.txt")


def test_a_line_mentioning_esxcli_is_not_a_command() -> None:
    text = (
        "# esxcli network vswitch standard policy failover get -v vSwitch4\n"
        "   Load Balancing: iphash\n"
        "   Note: esxcli network vswitch standard policy failover get -v other\n"
        "   Active Adapters: vmnic0\n"
    )
    (pol,) = parse_failover_listing(text).policies
    assert pol.name == "vSwitch4" and pol.active == ("vmnic0",)


_LINES = st.sampled_from(
    [
        "# esxcli network vswitch standard policy failover get -v vSwitch1",
        "[root@h:~] esxcli network vswitch standard portgroup policy failover get -p 'a b'",
        "esxcli network vswitch standard portgroup list",
        "Name  Virtual Switch  Active Clients  VLAN ID",
        "----  --------------  --------------  -------",
        "pg 1  vSwitch1  1  0",
        "   Load Balancing: iphash",
        "   Load Balancing: srcport",
        "   Network Failure Detection: beacon",
        "   Active Adapters: vmnic0, vmnic1",
        "   Standby Adapters: vmnic2",
        "   Unused Adapters:",
        "   Override Vswitch Uplinks: true",
        "   Override Vswitch Load Balancing: maybe",
        "   Path: /Net/Vmxnet3HwLRO",
        "",
        "\t:::",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=30))
def test_parser_never_crashes_and_line_numbers_stay_in_range(lines: list[str]) -> None:
    text = "\n".join(lines)
    listing = parse_failover_listing(text, source="vSwitch1.txt")
    total = len(text.split("\n"))
    for pol in listing.policies:
        assert pol.load_balancing in (None, "iphash", "srcport", "mac", "explicit")
        assert all(1 <= n <= total for n in pol.lines.values())
        assert pol.label
