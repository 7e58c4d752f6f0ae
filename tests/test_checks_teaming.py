"""ESXi NIC teaming against the physical switch (TF420-TF424, category esxi-teaming).

Host listings and switch configurations are SYNTHETIC: the samples under
vendor-samples/esxi/ (expectations below were written by hand from the scenario stories in
vendor-samples/esxi_samples.py, not from toolsfix output) and small texts built here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest
from click.testing import CliRunner
from samplelib import SAMPLES

from toolsfix.checks.esxi import check_host
from toolsfix.checks.teaming import TEAMING_CHECKS, check_teaming, parse_uplink_option
from toolsfix.cli import cli
from toolsfix.errors import ExitCode, InputError, ToolsfixError
from toolsfix.findings import Finding, Severity, Skipped
from toolsfix.guest.esxi_teaming import parse_failover_listing
from toolsfix.guest.switchconf import parse_switch_config
from toolsfix.remedy import HOST_CATEGORIES, render_remedy_script
from toolsfix.verify import VerifyOptions, verify

ESXI = SAMPLES / "esxi"
HOST = "[root@esx01:~] "


def failover(
    lb: str,
    active: str,
    standby: str = "",
    unused: str = "",
    detection: str = "link",
    overrides: Optional[dict[str, bool]] = None,
) -> str:
    text = (
        f"   Load Balancing: {lb}\n"
        f"   Network Failure Detection: {detection}\n"
        "   Notify Switches: true\n"
        "   Failback: true\n"
        f"   Active Adapters: {active}\n"
        f"   Standby Adapters: {standby}\n"
        f"   Unused Adapters: {unused}\n"
    )
    if overrides is not None:
        for key, name in [
            ("Load Balancing", "lb"),
            ("Network Failure Detection", "fd"),
            ("Notify Switches", "ns"),
            ("Failback", "fb"),
            ("Uplinks", "up"),
        ]:
            text += f"   Override Vswitch {key}: {str(overrides.get(name, False)).lower()}\n"
    return text


def vswitch(name: str, block: str) -> str:
    return f"{HOST}esxcli network vswitch standard policy failover get -v {name}\n{block}"


def portgroup(name: str, block: str) -> str:
    return (
        f"{HOST}esxcli network vswitch standard portgroup policy failover get -p '{name}'\n{block}"
    )


def ios(*ports: tuple[str, Optional[str]]) -> str:
    out = ["hostname sw1", "!"]
    for name, cg in ports:
        out += [f"interface {name}", " switchport mode trunk"]
        if cg:
            out.append(f" {cg}")
        out.append("!")
    return "\n".join(out) + "\n"


STATIC2 = ios(
    ("GigabitEthernet1/0/1", "channel-group 1 mode on"),
    ("GigabitEthernet1/0/2", "channel-group 1 mode on"),
)
LACP2 = ios(
    ("GigabitEthernet1/0/1", "channel-group 1 mode active"),
    ("GigabitEthernet1/0/2", "channel-group 1 mode active"),
)
PLAIN2 = ios(("GigabitEthernet1/0/1", None), ("GigabitEthernet1/0/2", None))
MIXED = ios(
    ("GigabitEthernet1/0/1", "channel-group 1 mode on"),
    ("GigabitEthernet1/0/2", "channel-group 1 mode on"),
    ("GigabitEthernet1/0/3", "channel-group 2 mode active"),
    ("GigabitEthernet1/0/4", "channel-group 2 mode active"),
    ("GigabitEthernet1/0/5", None),
)


def run_check(
    host: str,
    switch: Optional[str] = None,
    uplinks: Optional[dict[str, str]] = None,
    source: str = "host.txt",
) -> tuple[list[Finding], list[Skipped], dict[str, Any]]:
    listing = parse_failover_listing(host, source=source)
    switches = [parse_switch_config(switch, "sw1.cfg")] if switch is not None else []
    result = check_teaming(listing.policies, switches, uplinks, listing.portgroups)
    return list(result.findings), list(result.skipped), dict(result.facts)


def ids(findings: list[Finding]) -> list[tuple[str, Optional[str]]]:
    return sorted((f.id, f.subject) for f in findings)


def skipped_of(skipped: list[Skipped], check: str) -> list[Skipped]:
    return [s for s in skipped if s.check == check]


# --------------------------------------------------------------------------- the samples

# scenario -> (expected (id, subject) pairs, checks expected not-evaluated). Written from the
# stories: e.g. "IP hash; Cisco IOS LACP" must give TF420 on vSwitch1 and nothing else.
SCENARIOS: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "iphash-static-ios": ([], []),
    "iphash-lacp-ios": ([("TF420", "vSwitch1")], []),
    "iphash-no-channel": ([("TF421", "vSwitch1")], []),
    "iphash-standby": ([("TF422", "vSwitch1")], []),
    "iphash-beacon": ([("TF423", "vSwitch1")], []),
    "portid-etherchannel": ([("TF424", "vSwitch1")], []),
    "portid-no-channel": ([], []),
    "procurve-trunk": ([], []),
    "procurve-lacp": ([("TF420", "vSwitch1")], []),
    "portgroup-overrides": (
        [("TF422", "portgroup 'iSCSI-A'"), ("TF424", "portgroup 'Backup'")],
        [],
    ),
    "portgroup-inherits-beacon": ([("TF423", "vSwitch0")], ["TF420", "TF421"]),
    "mixed-channels": ([], ["TF420", "TF421"]),
    "lro-and-teaming": ([("TF410", "Net.Vmxnet3HwLRO")], ["TF424"]),
}


def scenario_options(name: str, uplinks: tuple[tuple[str, str], ...] = ()) -> VerifyOptions:
    d = ESXI / name
    hosts = tuple(sorted(p for p in d.iterdir() if p.suffix == ".txt"))
    switch = (d / "switch.cfg",) if (d / "switch.cfg").exists() else ()
    return VerifyOptions(esxi_settings=hosts, switch_configs=switch, uplinks=uplinks)


def test_every_sample_scenario_has_an_expectation() -> None:
    on_disk = {p.name for p in ESXI.iterdir() if p.is_dir()}
    assert on_disk == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sample_scenario(name: str) -> None:
    want, not_evaluated = SCENARIOS[name]
    doc = verify(options=scenario_options(name)).to_dict()
    got = sorted((f["id"], f.get("subject")) for f in doc["findings"])
    assert got == sorted(want), json.dumps(doc["findings"], indent=1)
    teaming_skips = {
        s["check"]
        for s in doc["skipped"]
        if s["outcome"] == "not-evaluated" and s["check"] != "TF410"
    }
    assert teaming_skips == set(not_evaluated)
    for f in doc["findings"]:
        assert f["evidence"] and all("path" in e or "detail" in e for e in f["evidence"])
        assert f["commands"], f["id"]
    # Every file in a sample says it is synthetic.
    for path in (ESXI / name).iterdir():
        assert "SYNTHETIC" in path.read_text().splitlines()[0] + path.read_text()[:300]


def test_mixed_channels_with_uplink_mapping() -> None:
    lacp = scenario_options("mixed-channels", (("vmnic2", "Gi1/0/3"), ("vmnic3", "Gi1/0/4")))
    doc = verify(options=lacp).to_dict()
    assert [f["id"] for f in doc["findings"]] == ["TF420"]
    (f,) = doc["findings"]
    assert "Port-channel2" in f["message"] and "confidence" not in f  # mapped, not assumed
    details = [e.get("detail") for e in f["evidence"]]
    assert "--uplink vmnic2=Gi1/0/3" in details and "--uplink vmnic3=Gi1/0/4" in details
    static = scenario_options("mixed-channels", (("vmnic2", "Gi1/0/1"), ("vmnic3", "Gi1/0/2")))
    doc = verify(options=static).to_dict()
    assert doc["findings"] == []
    assert not [s for s in doc["skipped"] if s["check"] in ("TF420", "TF421")]


# --------------------------------------------------------------------------- one rule each


def test_tf420_iphash_against_lacp_with_evidence_and_switch_remedy() -> None:
    findings, _, _ = run_check(vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")), LACP2)
    (f,) = findings
    assert (f.id, f.category, f.severity) == ("TF420", "esxi-teaming", Severity.HIGH)
    assert f.confidence == "medium" and "assumed" in f.message  # placement assumed, and said
    assert [(e.path, e.line) for e in f.evidence[:2]] == [("host.txt", 2), ("sw1.cfg", 5)]
    assert "Port-channel1 on sw1 a static channel" in f.remedy
    assert any("channel-group 1 mode on" in c and c.startswith("# MANUAL") for c in f.commands)
    # No esxcli command to run: the fix is on the switch.
    assert not [c for c in f.commands if not c.startswith("#")]


def test_tf420_not_for_a_static_channel() -> None:
    findings, skipped, facts = run_check(
        vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")), STATIC2
    )
    assert findings == []
    assert not [s for s in skipped if s.outcome == "not-evaluated"]
    # A clean result reached under an assumption still says what was assumed.
    assert facts["assumptions"] == [
        "assumed for vSwitch1: vmnic2, vmnic3 are the members of Port-channel1 on sw1 (the "
        "only channel in the config; no --uplink given)"
    ]


def test_tf421_iphash_on_unbundled_ports_and_split_channels() -> None:
    host = vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3"))
    (f,) = run_check(host, PLAIN2)[0]
    assert f.id == "TF421" and "unbundled" in f.message
    assert (
        f.commands[0] == "esxcli network vswitch standard policy failover set -v vSwitch1 -l portid"
    )
    # Mapped to ports of two different static channels: not one bundle either.
    (f,) = run_check(
        host,
        ios(("Gi1/0/1", "channel-group 1 mode on"), ("Gi1/0/2", "channel-group 2 mode on")),
        {"vmnic2": "Gi1/0/1", "vmnic3": "Gi1/0/2"},
    )[0]
    assert f.id == "TF421" and "split over Port-channel1, Port-channel2" in f.message
    assert f.confidence is None
    # One mapped port unbundled: the switch-side hint names exactly that port.
    (f,) = run_check(host, MIXED, {"vmnic2": "Gi1/0/1", "vmnic3": "Gi1/0/5"})[0]
    assert f.id == "TF421" and "vmnic3 is on unbundled ports" in f.message
    assert any("interface GigabitEthernet1/0/5; channel-group N mode on" in c for c in f.commands)


def test_tf421_needs_two_active_uplinks() -> None:
    findings, skipped, _ = run_check(vswitch("vSwitch1", failover("iphash", "vmnic2")), PLAIN2)
    assert findings == []
    assert not [s for s in skipped if s.check == "TF421"]  # evaluated: one uplink cannot flap


def test_tf422_standby_and_unused_uplinks() -> None:
    host = vswitch("vSwitch1", failover("iphash", "vmnic2", standby="vmnic3", unused="vmnic4"))
    (f,) = run_check(host)[0]  # needs no switch config
    assert f.id == "TF422" and f.severity == Severity.HIGH
    assert "vmnic3 is standby and vmnic4 is unused" in f.message
    assert [e.line for e in f.evidence] == [2, 7, 8]
    assert f.commands[0] == (
        "esxcli network vswitch standard policy failover set -v vSwitch1 -a vmnic2,vmnic3,vmnic4"
    )
    assert any(c.startswith("# vmnic4 is unused") for c in f.commands)
    assert "-a vmnic2,vmnic3,vmnic4" in f.remedy
    assert run_check(vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")))[0] == []


def test_tf423_beacon_probing() -> None:
    (f,) = run_check(
        vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3", detection="beacon")), STATIC2
    )[0]
    assert (f.id, f.severity) == ("TF423", Severity.MEDIUM)
    assert f.commands[0].endswith("policy failover set -v vSwitch1 -f link")
    # Beacon probing without IP hash is not this rule's business.
    findings, skipped, _ = run_check(
        vswitch("vSwitch1", failover("srcport", "vmnic2, vmnic3", detection="beacon")), PLAIN2
    )
    assert findings == []
    assert skipped_of(skipped, "TF423")[0].outcome == "not-applicable"


@pytest.mark.parametrize("lb", ["srcport", "mac", "explicit"])
def test_tf424_other_policies_on_a_static_channel(lb: str) -> None:
    (f,) = run_check(vswitch("vSwitch1", failover(lb, "vmnic2", standby="vmnic3")), STATIC2)[0]
    assert (f.id, f.severity) == ("TF424", Severity.HIGH)
    assert f.commands[0].endswith("policy failover set -v vSwitch1 -l iphash")
    # Switching to IP hash alone would leave a standby uplink: the commands say so.
    assert "-a vmnic2,vmnic3 -f link" in f.commands[1]


def test_tf424_on_an_lacp_channel_is_medium_and_fixed_on_the_switch() -> None:
    (f,) = run_check(vswitch("vSwitch1", failover("srcport", "vmnic2, vmnic3")), LACP2)[0]
    assert (f.id, f.severity) == ("TF424", Severity.MEDIUM)
    assert all(c.startswith("#") for c in f.commands)
    assert any("no channel-group 1" in c for c in f.commands)


def test_tf424_not_on_unbundled_ports() -> None:
    findings, skipped, _ = run_check(
        vswitch("vSwitch1", failover("srcport", "vmnic2, vmnic3")), PLAIN2
    )
    assert findings == [] and not skipped_of(
        [s for s in skipped if s.outcome == "not-evaluated"], "TF424"
    )


# --------------------------------------------------------------------------- not evaluated


def test_without_switch_config_switch_rules_are_not_evaluated_never_passed() -> None:
    findings, skipped, _ = run_check(vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")))
    assert findings == []
    for check in ("TF420", "TF421"):
        (s,) = skipped_of(skipped, check)
        assert s.outcome == "not-evaluated" and "no --switch-config" in s.reason
    _, skipped, _ = run_check(vswitch("vSwitch1", failover("srcport", "vmnic2, vmnic3")))
    (s,) = skipped_of(skipped, "TF424")
    assert s.outcome == "not-evaluated" and "vSwitch1 uses srcport" in s.reason


def test_several_channels_need_a_mapping() -> None:
    host = vswitch("vSwitch1", failover("srcport", "vmnic2, vmnic3"))
    findings, skipped, _ = run_check(host, MIXED)
    assert findings == []
    (s,) = skipped_of(skipped, "TF424")
    assert "2 channels" in s.reason and "--uplink" in s.reason
    assert "Port-channel2 on sw1 (LACP" in s.reason


def test_one_channel_but_two_vswitches_needs_a_mapping() -> None:
    host = vswitch("vSwitch0", failover("srcport", "vmnic0, vmnic1")) + vswitch(
        "vSwitch1", failover("iphash", "vmnic2, vmnic3")
    )
    findings, skipped, _ = run_check(host, STATIC2)
    assert findings == []
    assert all(
        "2 vSwitches but one channel" in s.reason for s in skipped if s.outcome == "not-evaluated"
    )
    findings, _, _ = run_check(
        host,
        STATIC2 + "interface GigabitEthernet1/0/3\n!\n",
        {"vmnic0": "Gi1/0/1", "vmnic1": "Gi1/0/2", "vmnic2": "Gi1/0/3", "vmnic3": "Gi1/0/3"},
    )
    assert ids(findings) == [("TF421", "vSwitch1"), ("TF424", "vSwitch0")]


def test_partial_mapping_is_not_evaluated() -> None:
    _, skipped, _ = run_check(
        vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")), MIXED, {"vmnic2": "Gi1/0/1"}
    )
    (s,) = skipped_of(skipped, "TF420")
    assert "no --uplink for vmnic3" in s.reason


def test_unknown_load_balancing_is_not_evaluated_for_every_rule() -> None:
    findings, skipped, _ = run_check(vswitch("vSwitch1", failover("weird", "vmnic2")), STATIC2)
    assert findings == []
    assert sorted(s.check for s in skipped if s.outcome == "not-evaluated") == sorted(
        TEAMING_CHECKS
    )
    assert "'weird'" in skipped[0].reason


def test_no_failover_output_skips_every_teaming_rule() -> None:
    result = check_teaming([], [])
    assert [(s.check, s.outcome) for s in result.skipped] == [
        (c, "not-evaluated") for c in TEAMING_CHECKS
    ]


# --------------------------------------------------------------------------- portgroups


def test_portgroup_inheriting_everything_is_reported_once_on_the_vswitch() -> None:
    host = vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3", detection="beacon"))
    host += portgroup(
        "VM Network", failover("iphash", "vmnic2, vmnic3", detection="beacon", overrides={})
    )
    findings, _, facts = run_check(host, STATIC2)
    assert ids(findings) == [("TF423", "vSwitch1")]
    assert "TF423" in facts["inherited_from_vswitch"]["portgroup 'VM Network'"]


def test_portgroup_without_its_vswitch_listing_is_reported_on_the_portgroup() -> None:
    host = portgroup(
        "VM Network", failover("iphash", "vmnic2, vmnic3", detection="beacon", overrides={})
    )
    (f,) = run_check(host, STATIC2)[0]
    assert f.subject == "portgroup 'VM Network'"
    assert "inherited from its vSwitch" in f.message
    assert f.commands[0] == (
        "esxcli network vswitch standard portgroup policy failover set -p 'VM Network' -f link"
    )
    assert any(
        c.startswith("# or change load balancing and failure detection on") for c in f.commands
    )


def test_portgroup_override_gets_its_own_finding_and_portgroup_remedy() -> None:
    host = vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3"))
    host += portgroup("Backup", failover("srcport", "vmnic2, vmnic3", overrides={"lb": True}))
    (f,) = run_check(host, STATIC2)[0]
    assert (f.id, f.subject) == ("TF424", "portgroup 'Backup'")
    assert "failover order inherited from vSwitch1" in f.message
    assert f.commands[0].startswith(
        "esxcli network vswitch standard portgroup policy failover set -p Backup -l iphash"
    )


def test_portgroup_vswitch_from_list_in_another_file(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text(
        "Name     Virtual Switch  Active Clients  VLAN ID\n"
        "-------  --------------  --------------  -------\n"
        "Backup   vSwitch2                     1        0\n"
    )
    (tmp_path / "pg.txt").write_text(
        portgroup("Backup", failover("iphash", "vmnic4", standby="vmnic5", overrides={}))
    )
    (tmp_path / "vSwitch2.txt").write_text(failover("iphash", "vmnic4", standby="vmnic5"))
    (tmp_path / "vSwitch9.txt").write_text(failover("srcport", "vmnic8"))
    files = [tmp_path / n for n in ("list.txt", "pg.txt", "vSwitch2.txt", "vSwitch9.txt")]
    result = check_host(files, guest_routes=None)
    # Backup inherits from vSwitch2 (per the list), so only vSwitch2 is reported.
    assert ids(list(result.findings)) == [("TF422", "vSwitch2")]


def test_unnamed_vswitch_gets_a_placeholder_and_a_note() -> None:
    (f,) = run_check(failover("iphash", "vmnic2", standby="vmnic3"), source="listing.txt")[0]
    assert f.subject == "unnamed vSwitch (listing.txt:1)"
    assert "-v VSWITCH -a" in f.commands[0]
    assert any("replace VSWITCH" in c for c in f.commands)


def test_conflicting_listings_of_one_vswitch_are_an_input_error(tmp_path: Path) -> None:
    a, b = tmp_path / "vSwitch1-a.txt", tmp_path / "vSwitch1-b.txt"
    a.write_text(failover("iphash", "vmnic2"))
    b.write_text(failover("srcport", "vmnic2"))
    with pytest.raises(InputError, match="two different failover listings for vSwitch1"):
        check_host([a, b], guest_routes=None)
    b.write_text(failover("iphash", "vmnic2"))  # the same listing twice: counted once
    assert check_host([a, b], guest_routes=None).findings == ()


# --------------------------------------------------------------------------- --uplink


def test_uplink_option_syntax() -> None:
    assert parse_uplink_option("vmnic0=Gi1/0/1") == ("vmnic0", "Gi1/0/1")
    assert parse_uplink_option(" vmnic0 = sw2:A1 ") == ("vmnic0", "sw2:A1")
    for bad in ("vmnic0", "=Gi1/0/1", "vmnic0=", "vm nic=1"):
        with pytest.raises(ValueError, match="expected VMNIC=PORT"):
            parse_uplink_option(bad)


@pytest.mark.parametrize(
    ("uplinks", "message"),
    [
        ({"vmnic9": "Gi1/0/1"}, "vmnic9: not an adapter of any vSwitch"),
        ({"vmnic2": "Gi1/0/9", "vmnic3": "Gi1/0/1"}, "no port 'Gi1/0/9'"),
        ({"vmnic2": "nosuch:Gi1/0/1", "vmnic3": "Gi1/0/1"}, "no switch config named 'nosuch'"),
    ],
)
def test_bad_uplink_mappings_are_usage_errors(uplinks: dict[str, str], message: str) -> None:
    with pytest.raises(ToolsfixError, match=message) as info:
        run_check(vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")), MIXED, uplinks)
    assert info.value.exit_code == ExitCode.USAGE


def test_ambiguous_port_across_switches_needs_the_switch_name() -> None:
    listing = parse_failover_listing(vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3")))
    sw1 = parse_switch_config(STATIC2, "a.cfg")
    sw2 = parse_switch_config(PLAIN2.replace("hostname sw1", "hostname sw2"), "b.cfg")
    with pytest.raises(ToolsfixError, match="ambiguous, could be sw1:GigabitEthernet1/0/1"):
        check_teaming(listing.policies, [sw1, sw2], {"vmnic2": "Gi1/0/1", "vmnic3": "Gi1/0/2"})
    result = check_teaming(
        listing.policies, [sw1, sw2], {"vmnic2": "sw2:Gi1/0/1", "vmnic3": "b.cfg:Gi1/0/2"}
    )
    assert [f.id for f in result.findings] == ["TF421"]


def test_procurve_port_mapping_includes_unlisted_ports() -> None:
    procurve = '; Configuration Editor\nhostname "p1"\ntrunk 1-2 trk1 trunk\n'
    host = vswitch("vSwitch1", failover("iphash", "vmnic2, vmnic3"))
    findings, _, _ = run_check(host, procurve, {"vmnic2": "1", "vmnic3": "2"})
    assert findings == []
    (f,) = run_check(host, procurve, {"vmnic2": "1", "vmnic3": "17"})[0]
    assert f.id == "TF421" and "vmnic3 is on unbundled ports" in f.message
    assert any("trunk 17 trkN trunk" in c for c in f.commands)


# --------------------------------------------------------------------------- verify / CLI


def cli_run(*args: str) -> tuple[int, str, str]:
    try:
        r = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        r = CliRunner()
    result = r.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_host_only_run_reports_and_says_what_it_assumed() -> None:
    d = ESXI / "iphash-static-ios"
    code, out, err = cli_run(
        "verify",
        "--esxi-settings",
        str(d / "vSwitch1-failover.txt"),
        "--switch-config",
        str(d / "switch.cfg"),
    )
    assert code == 0 and err == ""
    notes = [line.strip() for line in out.split("\n\n")[0].splitlines()]  # the verdict block
    assert any(n.startswith("note:") and "assumed for vSwitch1: vmnic2, vmnic3 are the members" in n
               for n in notes)  # fmt: skip
    assert "no findings" in out.splitlines()[-1]
    d = ESXI / "iphash-lacp-ios"
    code, out, _ = cli_run(
        "verify",
        "--esxi-settings",
        str(d / "vSwitch1-failover.txt"),
        "--switch-config",
        str(d / "switch.cfg"),
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert code == 1 and [f["id"] for f in doc["findings"]] == ["TF420"]
    assert doc["esxi_host"]["teaming"]["switches"][0]["channels"][0]["protocol"] == "LACP"
    assert doc["os"] == {"kind": None} and doc["configurator"] is None


def test_cli_uplink_option() -> None:
    d = ESXI / "mixed-channels"
    base = [
        "verify",
        "--esxi-settings",
        str(d / "vSwitch1-failover.txt"),
        "--switch-config",
        str(d / "switch.cfg"),
    ]
    code, out, _ = cli_run(*base, "--uplink", "vmnic2=Gi1/0/3", "--uplink", "vmnic3=Gi1/0/4")
    assert code == 1 and "TF420" in out
    code, _, err = cli_run(*base, "--uplink", "vmnic2")
    assert code == 2 and "expected VMNIC=PORT" in err
    code, _, err = cli_run(*base, "--uplink", "vmnic2=Gi1/0/1", "--uplink", "vmnic2=Gi1/0/3")
    assert code == 2 and "vmnic2 given twice" in err
    code, _, err = cli_run(*base, "--uplink", "vmnic2=Gi1/0/99", "--uplink", "vmnic3=Gi1/0/4")
    assert code == 2 and "no port 'Gi1/0/99'" in err and len(err.splitlines()) == 1


def test_cli_switch_config_without_esxi_settings_is_a_usage_error() -> None:
    code, _, err = cli_run("verify", "--switch-config", str(ESXI / "procurve-lacp" / "switch.cfg"))
    assert code == 2 and "give --esxi-settings" in err
    code, _, err = cli_run("verify")
    assert code == 2 and "exactly one of --root" in err


@pytest.mark.parametrize("which", ["--esxi-settings", "--switch-config"])
def test_cli_binary_or_empty_inputs_exit_3_with_one_line(tmp_path: Path, which: str) -> None:
    good_host = str(ESXI / "procurve-lacp" / "vSwitch1-failover.txt")
    for content, message in [(b"\x00\x01ELF\x00" * 50, "binary data"), (b"", "empty file")]:
        bad = tmp_path / "bad.bin"
        bad.write_bytes(content)
        args = ["verify", "--esxi-settings", str(bad) if which == "--esxi-settings" else good_host]
        if which == "--switch-config":
            args += ["--switch-config", str(bad)]
        code, out, err = cli_run(*args)
        assert code == int(ExitCode.INPUT) and out == ""
        assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    code, _, err = cli_run("verify", "--esxi-settings", str(tmp_path / "absent.txt"))
    assert code == 3 and "no such file" in err


def test_cli_help_documents_the_options() -> None:
    code, out, _ = cli_run("verify", "--help")
    assert code == 0
    for text in (
        "--switch-config",
        "--uplink",
        "VMNIC=[SWITCH:]PORT",
        "esxi-teaming",
        "--esxi-settings vSwitch1-failover.txt --switch-config",
    ):
        assert text in out, text


def test_teaming_with_a_guest_bundle() -> None:
    d = ESXI / "procurve-lacp"
    opts = VerifyOptions(
        execute=False,
        esxi_settings=(d / "vSwitch1-failover.txt",),
        switch_configs=(d / "switch.cfg",),
    )
    doc = verify(bundle=SAMPLES / "bundles" / "linux-router-lro", options=opts).to_dict()
    categories = {f["category"] for f in doc["findings"]}
    assert {"esxi-teaming", "lro-forwarding"} <= categories
    assert doc["esxi_host"]["files"][0]["contains"] == ["failover-policy"]
    assert any(line.startswith("assumed for vSwitch1") for line in doc["summary"])


def test_single_path_esxi_settings_still_accepted() -> None:
    # Callers from before the option was repeatable pass one Path.
    opts = VerifyOptions(esxi_settings=ESXI / "iphash-standby" / "host-failover.txt")  # type: ignore[arg-type]
    assert opts.esxi_settings == (ESXI / "iphash-standby" / "host-failover.txt",)


def test_remedy_script_keeps_host_commands_out_of_the_guest() -> None:
    assert "esxi-teaming" in HOST_CATEGORIES
    host = vswitch("vSwitch1", failover("iphash", "vmnic2", standby="vmnic3"))
    (teaming,) = run_check(host)[0]
    guest = Finding(
        "TF401",
        "lro-forwarding",
        Severity.HIGH,
        "t",
        "m",
        "r",
        commands=("ethtool -K eth0 lro off",),
    )
    script = render_remedy_script([guest, teaming], target="g")
    assert "\nethtool -K eth0 lro off\n" in script
    assert "#   esxcli network vswitch standard policy failover set -v vSwitch1" in script
    alone = render_remedy_script([teaming], target="esx01")
    assert "\nesxcli network vswitch standard policy failover set -v vSwitch1 -a" in alone


def test_uplink_without_switch_config_is_a_usage_error() -> None:
    host = str(ESXI / "iphash-standby" / "host-failover.txt")
    code, _, err = cli_run("verify", "--esxi-settings", host, "--uplink", "vmnic2=Gi1/0/1")
    assert code == 2 and "give --switch-config too" in err


def test_two_unnamed_vswitches_are_two_vswitches() -> None:
    host = failover("srcport", "vmnic0") + failover("srcport", "vmnic1")
    _, skipped, _ = run_check(host, STATIC2)
    reasons = [s.reason for s in skipped if s.outcome == "not-evaluated"]
    assert len(reasons) == 2 and all("2 vSwitches but one channel" in r for r in reasons)
