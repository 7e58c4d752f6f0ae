"""Solaris network checks (LSO, jumbo frames, TCP buffers) on documented command outputs."""

from __future__ import annotations

from typing import Optional

import pytest

from toolsfix.checks.network import ALL_CHECKS, check_solaris_network
from toolsfix.findings import Evidence, Finding, Severity, Skipped
from toolsfix.guest.facts import GuestFacts, facts_from_capture
from toolsfix.guest.testing import StaticCapture
from toolsfix.installed import InstalledDriver

SOL111_RELEASE = "                             Oracle Solaris 11.1 X86\n"
SOL10_RELEASE = (
    "                    Oracle Solaris 10 1/13 s10x_u11wos_24a X86\n"
    "  Copyright (c) 1983, 2013, Oracle and/or its affiliates. All rights reserved.\n"
)
MODINFO_OLD = """\
 Id         Loadaddr   Size Info Rev Module Name
  0 fffffffffb800000  20a40   -   0  unix ()
 45 fffffffff7c3a000   a8c8 240   1  vmxnet3s (VMware EtherAdapter v3 b1015680)
"""
MODINFO_NEW = MODINFO_OLD.replace("b1015680", "1.1.0.0")
PHYS = (
    "LINK      MEDIA    STATE SPEED DUPLEX DEVICE\n"
    "net0      Ethernet up    10000 full   vmxnet3s0\n"
)


def linkprop(value: int, link: str = "net0") -> str:
    return (
        "LINK      PROPERTY PERM VALUE DEFAULT POSSIBLE\n"
        f"{link}      mtu      rw   {value}  1500    60-9000\n"
    )


def ifprop(current: int, persistent: str = "--", name: str = "net0") -> str:
    return (
        "IFNAME  PROPERTY  PROTO PERM CURRENT PERSISTENT DEFAULT POSSIBLE\n"
        f"{name}    mtu       ipv4  rw   {current}    {persistent}       1500    68-9000\n"
        f"{name}    mtu       ipv6  rw   {current}    --         1500    1280-9000\n"
    )


def tcp_props(max_buf: int, recv: int, send: int) -> str:
    return (
        "PROTO PROPERTY              PERM CURRENT      PERSISTENT   DEFAULT      POSSIBLE\n"
        f"tcp   max_buf               rw   {max_buf}      --           1048576      "
        "128000-1073741824\n"
        f"tcp   recv_buf              rw   {recv}       --           128000       "
        f"2048-{max_buf}\n"
        f"tcp   send_buf              rw   {send}       --           128000       "
        f"4096-{max_buf}\n"
    )


def ifconfig(name: str, mtu: int) -> str:
    return (
        "lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1\n"
        "        inet 127.0.0.1 netmask ff000000\n"
        f"{name}: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu {mtu} index 2\n"
        "        inet 192.0.2.10 netmask ffffff00 broadcast 192.0.2.255\n"
    )


def driver(
    os_dir: Optional[str],
    era: str,
    identity: str = "VMware EtherAdapter v3 b1015680",
    path: str = "/kernel/drv/amd64/vmxnet3s",
    tools: Optional[str] = "9.0.0",
) -> InstalledDriver:
    return InstalledDriver(
        module="vmxnet3s",
        path=path,
        location_arch="amd64" if "amd64" in path else "i386",
        present=True,
        arch="amd64",
        rung="exact",
        os_dir=os_dir,
        tools_version=tools,
        identity=identity,
        lso_era=era,
        evidence=Evidence(path=path, excerpt=identity, detail="sha256 ab12; exact match"),
    )


OLD_S10_BUILD = driver("10_64", "old-path")
FIXED_S11_BUILD = driver("11_64", "new-path", "VMware EtherAdapter v3 1.1.0.0", tools="10.3.10")


def solaris11(
    outputs: Optional[dict[str, str]] = None,
    files: Optional[dict[str, str]] = None,
    origin: str = "live",
) -> GuestFacts:
    base = {
        "uname_s": "SunOS\n",
        "uname_r": "5.11\n",
        "uname_v": "11.1\n",
        "isainfo_b": "64\n",
        "modinfo": MODINFO_OLD,
        "ndd_ip_lso_outbound": "1\n",
        "dladm_show_phys": PHYS,
        "dladm_show_linkprop_mtu": linkprop(1500),
        "ipadm_show_prop_tcp": tcp_props(4194304, 1048576, 1048576),
    }
    base.update(outputs or {})
    all_files = {"/etc/release": SOL111_RELEASE, "/etc/init.d/README": "# nothing\n"}
    all_files.update(files or {})
    return facts_from_capture(StaticCapture.from_outputs(base, all_files, origin=origin))


def solaris10(
    outputs: Optional[dict[str, str]] = None, files: Optional[dict[str, str]] = None
) -> GuestFacts:
    base = {
        "uname_s": "SunOS\n",
        "uname_r": "5.10\n",
        "uname_v": "Generic_147441-21\n",
        "isainfo_b": "64\n",
        "modinfo": MODINFO_NEW,
        "ndd_ip_lso_outbound": "1\n",
        "ifconfig_a": ifconfig("vmxnet3s0", 1500),
    }
    base.update(outputs or {})
    all_files = {"/etc/release": SOL10_RELEASE, "/etc/init.d/README": "# nothing\n"}
    all_files.update(files or {})
    return facts_from_capture(StaticCapture.from_outputs(base, all_files, origin="live"))


S10_NEW_BUILD = driver("10_64", "new-path", "VMware EtherAdapter v3 1.1.0.0", tools="10.3.10")


def ids(findings: list[Finding]) -> list[str]:
    return sorted(f.id for f in findings)


def by_id(findings: list[Finding], check_id: str) -> list[Finding]:
    return [f for f in findings if f.id == check_id]


def skipped_ids(skipped: list[Skipped]) -> dict[str, str]:
    return {s.check: s.outcome for s in skipped}


# --------------------------------------------------------------------------- seed scenarios


def test_solaris111_with_solaris10_build_and_lso_on() -> None:
    facts = solaris11(
        {"dladm_show_linkprop_mtu": linkprop(9000)},
        {"/kernel/drv/vmxnet3s.conf": "# MTU=9000;\nTxRingSize=256;\n"},
    )
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    assert "TF300" in ids(findings) and "TF310" in ids(findings)
    (lso,) = by_id(findings, "TF300")
    assert lso.subject == "vmxnet3s0"
    assert lso.severity == Severity.HIGH and lso.confidence == "high"
    assert "ip_lso_outbound is 1" in lso.message and "old LSO transmit path" in lso.message
    # evidence: conf (default applies), the ndd command + output, the driver identity
    assert Evidence(command="ndd -get /dev/ip ip_lso_outbound", excerpt="1") in lso.evidence
    conf_ev = lso.evidence[0]
    assert conf_ev.path == "/kernel/drv/vmxnet3s.conf" and "driver default 1" in (
        conf_ev.detail or ""
    )
    assert any(e.excerpt == "VMware EtherAdapter v3 b1015680" for e in lso.evidence)
    # Solaris 11: the IP tunable is persisted with ipadm; the conf gets EnableLSO=0
    assert lso.commands[0] == "ipadm set-prop -p _lso_outbound=0 ip"
    assert (
        "printf '%s\\n' 'EnableLSO=0,0,0,0,0,0,0,0,0,0;' >> /kernel/drv/vmxnet3s.conf"
        in lso.commands
    )
    assert any("reloaded or at the next reboot" in c for c in lso.commands)

    (jumbo,) = by_id(findings, "TF310")
    assert jumbo.severity == Severity.HIGH  # a jumbo MTU is configured (dladm shows 9000)
    assert "9000" in jumbo.message and "Solaris 10 build on a Solaris 11 guest" in jumbo.message
    assert any(e.command == "dladm show-linkprop -p mtu" for e in jumbo.evidence)
    assert all(c.startswith("# MANUAL:") for c in jumbo.commands)


def test_solaris10_build_on_solaris11_without_jumbo_is_low() -> None:
    findings, _ = check_solaris_network(solaris11(), [OLD_S10_BUILD])
    (jumbo,) = by_id(findings, "TF310")
    assert jumbo.severity == Severity.LOW
    assert "no jumbo MTU is configured now" in jumbo.message


def test_fixed_build_lso_off_mtu_9000_no_findings() -> None:
    facts = solaris11(
        {
            "modinfo": MODINFO_NEW,
            "ndd_ip_lso_outbound": "0\n",
            "dladm_show_linkprop_mtu": linkprop(9000),
            "ipadm_show_ifprop_mtu": ifprop(9000, "9000"),
        },
        {
            "/kernel/drv/vmxnet3s.conf": "EnableLSO=0,0,0,0,0,0,0,0,0,0;\n",
            "/etc/rc2.d/S99jumbo": "dladm set-linkprop -p mtu=9000 net0\n",
        },
    )
    findings, skipped = check_solaris_network(facts, [FIXED_S11_BUILD])
    assert findings == []
    assert "TF300" not in skipped_ids(skipped)  # decided, not skipped


def test_solaris10_without_accept_jumbo() -> None:
    facts = solaris10(
        files={
            "/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n",
            "/etc/rc3.d/S99net": "#!/sbin/sh\n/usr/sbin/ifconfig vmxnet3s0 mtu 9000\n",
        }
    )
    findings, _ = check_solaris_network(facts, [S10_NEW_BUILD])
    (f,) = by_id(findings, "TF311")
    assert f.subject == "vmxnet3s0"
    assert "accept-jumbo" in f.message and "no boot script" in f.message
    assert f.commands[:2] == (
        "ndd -set /dev/vmxnet3s0 accept-jumbo 1",
        "ifconfig vmxnet3s0 mtu 9000",
    )
    # the existing boot script gets the ndd line before its ifconfig line (by hand)
    assert any(
        c.startswith("# MANUAL: in /etc/rc3.d/S99net") and "before line 2" in c for c in f.commands
    )
    # conf already persists MTU=9000: no conf change proposed
    assert not any("MTU=" in c and ">>" in c for c in f.commands)
    assert (
        Evidence(path="/etc/rc3.d/S99net", line=2, excerpt="/usr/sbin/ifconfig vmxnet3s0 mtu 9000")
        in f.evidence
    )
    assert "ndd -set /dev/vmxnet3s0 accept-jumbo 1" in f.remedy
    # configured 9000 vs active 1500 (the MTU was refused)
    (mismatch,) = by_id(findings, "TF313")
    assert "configured 9000" in mismatch.message and "1500 is active" in mismatch.message
    assert not by_id(findings, "TF300")  # new path: no LSO risk


def test_solaris10_jumbo_wanted_only_at_runtime_gets_full_persistence() -> None:
    facts = solaris10(
        {"ifconfig_a": ifconfig("vmxnet3s0", 9000)}, {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n"}
    )
    findings, _ = check_solaris_network(facts, [S10_NEW_BUILD])
    (f,) = by_id(findings, "TF311")
    assert "does not persist" in f.message
    assert (
        "printf '%s\\n' 'MTU=9000,1500,1500,1500,1500,1500,1500,1500,1500,1500;' >> "
        "/kernel/drv/vmxnet3s.conf"
    ) in f.commands
    assert any(
        c.startswith("printf")
        and "/etc/rc2.d/S99toolsfix-jumbo-vmxnet3s0" in c
        and "accept-jumbo 1" in c
        for c in f.commands
    )


def test_solaris10_accept_jumbo_before_mtu_is_ready() -> None:
    script = "#!/sbin/sh\nndd -set /dev/vmxnet3s0 accept-jumbo 1\nifconfig vmxnet3s0 mtu 9000\n"
    facts = solaris10(
        {"ifconfig_a": ifconfig("vmxnet3s0", 9000)},
        {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n", "/etc/rc2.d/S99jumbo": script},
    )
    findings, _ = check_solaris_network(facts, [S10_NEW_BUILD])
    assert findings == []


def test_solaris10_accept_jumbo_after_mtu() -> None:
    script = "#!/sbin/sh\nifconfig vmxnet3s0 mtu 9000\nndd -set /dev/vmxnet3s0 accept-jumbo 1\n"
    facts = solaris10(
        {"ifconfig_a": ifconfig("vmxnet3s0", 9000)},
        {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n", "/etc/rc2.d/S99jumbo": script},
    )
    findings, _ = check_solaris_network(facts, [S10_NEW_BUILD])
    (f,) = by_id(findings, "TF311")
    assert "runs after the MTU is set at /etc/rc2.d/S99jumbo:2" in f.message
    assert any(c.startswith("# MANUAL: move") for c in f.commands)


def test_solaris10_no_jumbo_no_findings() -> None:
    facts = solaris10(files={"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n"})
    findings, skipped = check_solaris_network(facts, [S10_NEW_BUILD])
    assert findings == []
    assert skipped_ids(skipped)["TF320"] == "not-evaluated"  # no ipadm on Solaris 10
    assert skipped_ids(skipped)["TF314"] == "not-applicable"


# --------------------------------------------------------------------------- LSO details


def test_lso_off_at_runtime_only_until_reboot() -> None:
    facts = solaris11({"ndd_ip_lso_outbound": "0\n"})
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    (f,) = by_id(findings, "TF301")
    assert "off only until the next reboot" in f.message
    assert "ipadm set-prop" in f.message  # the unseen ipadm store is mentioned
    assert f.confidence == "medium"
    assert not by_id(findings, "TF300")


def test_lso_off_persistently_by_boot_script() -> None:
    facts = solaris11(
        {"ndd_ip_lso_outbound": "0\n"},
        {"/etc/init.d/nettune": "#!/sbin/sh\nndd -set /dev/ip ip_lso_outbound 0\n"},
    )
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    assert not by_id(findings, "TF300") and not by_id(findings, "TF301")


NETTUNE = "#!/sbin/sh\nndd -set /dev/ip ip_lso_outbound 0\n"


def test_init_d_script_counts_only_when_linked_from_an_rc_directory() -> None:
    unlinked = solaris11(
        {"ndd_ip_lso_outbound": "0\n"},
        {"/etc/init.d/nettune": NETTUNE, "/etc/rc2.d/S20other": "#!/sbin/sh\n"},
    )
    findings, _ = check_solaris_network(unlinked, [OLD_S10_BUILD])
    (f,) = by_id(findings, "TF301")
    assert "/etc/init.d/nettune:2 sets it but is not linked" in f.message
    assert any(
        e.path == "/etc/init.d/nettune" and "does not run at boot" in (e.detail or "")
        for e in f.evidence
    )
    linked = solaris11(
        {"ndd_ip_lso_outbound": "0\n"},
        {"/etc/init.d/nettune": NETTUNE, "/etc/rc2.d/S99nettune": NETTUNE},
    )
    findings, _ = check_solaris_network(linked, [OLD_S10_BUILD])
    assert not [f for f in findings if f.category == "lso-risk"]


def test_enable_lso_zero_in_conf_is_safe_even_with_ip_lso_on() -> None:
    facts = solaris11(files={"/kernel/drv/vmxnet3s.conf": "EnableLSO=0,0,0,0;\n"})
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    assert not [f for f in findings if f.category == "lso-risk"]


def test_enable_lso_out_of_range_falls_back_to_default_on() -> None:
    facts = solaris11(files={"/kernel/drv/vmxnet3s.conf": "EnableLSO=7;\n"})
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    (f,) = by_id(findings, "TF300")
    assert "outside 0..1" in f.message
    ev = f.evidence[0]
    assert (ev.path, ev.line, ev.excerpt) == ("/kernel/drv/vmxnet3s.conf", 1, "EnableLSO=7;")
    # an existing line is never rewritten blindly: the edit is a MANUAL step
    assert any(
        c.startswith("# MANUAL: in /kernel/drv/vmxnet3s.conf line 1 replace `EnableLSO=7;`")
        for c in f.commands
    )


def test_lso_new_path_is_not_reported() -> None:
    findings, skipped = check_solaris_network(solaris11(), [FIXED_S11_BUILD])
    assert not [f for f in findings if f.category == "lso-risk"]
    assert "TF300" not in skipped_ids(skipped)


def test_unknown_era_solaris10_build_reported_with_low_confidence() -> None:
    unknown = driver("10_64", "unknown", "VMware EtherAdapter v3 1.1.0.0", tools=None)
    findings, _ = check_solaris_network(solaris11(), [unknown])
    (f,) = by_id(findings, "TF300")
    assert f.confidence == "low"
    assert "could not be established" in f.message


def test_unknown_era_solaris11_build_is_not_evaluated() -> None:
    unknown = driver("11_64", "unknown", "VMware EtherAdapter v3 1.1.0.0", tools=None)
    findings, skipped = check_solaris_network(solaris11(), [unknown])
    assert not by_id(findings, "TF300")
    (s,) = [s for s in skipped if s.check == "TF300"]
    assert s.outcome == "not-evaluated" and "unknown" in s.reason


def test_image_root_decides_from_persistent_configuration() -> None:
    facts = solaris11(
        files={"/kernel/drv/vmxnet3s.conf": "TxRingSize=256;\n"}, origin="root:/mnt/image"
    )
    assert not facts.ip_lso_outbound.available
    findings, skipped = check_solaris_network(facts, [OLD_S10_BUILD])
    (f,) = by_id(findings, "TF300")
    assert "decided from the persistent configuration" in f.message
    assert "instance list not available" in f.message
    assert any(
        e.command == "ndd -get /dev/ip ip_lso_outbound" and "offline" in (e.detail or "")
        for e in f.evidence
    )
    # runtime-only checks say why they were not evaluated
    outcomes = skipped_ids(skipped)
    assert outcomes["TF313"] == "not-evaluated" and outcomes["TF320"] == "not-evaluated"
    reason = next(s.reason for s in skipped if s.check == "TF313")
    assert "runtime" in reason


def test_image_root_with_persistent_ipadm_lso_off_is_clean() -> None:
    facts = solaris11(
        files={"/lib/svc/method/net-tune": "#!/sbin/sh\nipadm set-prop -p _lso_outbound=0 ip\n"},
        origin="root:/mnt/image",
    )
    findings, _ = check_solaris_network(facts, [OLD_S10_BUILD])
    assert not by_id(findings, "TF300")


def test_32bit_kernel_picks_the_32bit_build() -> None:
    old32 = driver("10", "old-path", path="/kernel/drv/vmxnet3s")
    new64 = driver(
        "10_64", "new-path", "VMware EtherAdapter v3 1.1.0.0", path="/kernel/drv/amd64/vmxnet3s"
    )
    facts64 = solaris10(files={"/kernel/drv/vmxnet3s.conf": "MTU=1500;\n"})
    findings, _ = check_solaris_network(facts64, [old32, new64])
    assert not by_id(findings, "TF300")
    facts32 = solaris10({"isainfo_b": "32\n"}, {"/kernel/drv/vmxnet3s.conf": "MTU=1500;\n"})
    findings, _ = check_solaris_network(facts32, [old32, new64])
    (f,) = by_id(findings, "TF300")
    assert "/kernel/drv/vmxnet3s " in f.message
    # Solaris 10: ndd now, plus a boot script that persists it
    assert f.commands[0] == "ndd -set /dev/ip ip_lso_outbound 0"
    assert any("/etc/rc2.d/S99toolsfix-nolso" in c for c in f.commands)


def test_modinfo_identity_used_when_file_not_identified() -> None:
    findings, skipped = check_solaris_network(solaris11(), [])
    (f,) = by_id(findings, "TF300")
    assert f.confidence == "medium"
    assert any(e.command == "modinfo" for e in f.evidence)
    assert skipped_ids(skipped)["TF310"] == "not-evaluated"


# --------------------------------------------------------------------------- Solaris 11 jumbo


def test_solaris11_build_with_conf_mtu_relied_on() -> None:
    facts = solaris11(
        {"modinfo": MODINFO_NEW, "ndd_ip_lso_outbound": "0\n"},
        {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n"},
    )
    findings, _ = check_solaris_network(facts, [FIXED_S11_BUILD])
    (f,) = by_id(findings, "TF312")
    assert "ignores MTU=" in f.message and "the link MTU is 1500" in f.message
    assert "dladm set-linkprop -p mtu=9000 net0" in f.commands
    assert "ipadm set-ifprop -p mtu=9000 -m ipv4 net0" in f.commands
    assert "dladm set-linkprop -p mtu=9000 net0" in f.remedy
    assert any(e.path == "/kernel/drv/vmxnet3s.conf" and e.line == 2 for e in f.evidence)


def test_solaris11_build_conf_mtu_not_relied_on_when_dladm_sets_it() -> None:
    facts = solaris11(
        {
            "modinfo": MODINFO_NEW,
            "ndd_ip_lso_outbound": "0\n",
            "dladm_show_linkprop_mtu": linkprop(9000),
        },
        {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\nMTU=9000;\n"},
    )
    findings, _ = check_solaris_network(facts, [FIXED_S11_BUILD])
    assert not by_id(findings, "TF312")


def test_ip_mtu_differs_from_link_mtu() -> None:
    facts = solaris11(
        {
            "modinfo": MODINFO_NEW,
            "ndd_ip_lso_outbound": "0\n",
            "dladm_show_linkprop_mtu": linkprop(9000),
            "ipadm_show_ifprop_mtu": ifprop(1500),
        },
        {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n"},
    )
    findings, _ = check_solaris_network(facts, [FIXED_S11_BUILD])
    (f,) = by_id(findings, "TF314")
    assert "IP MTU 1500 and link MTU 9000 of net0 differ" in f.message
    assert f.commands == ("ipadm set-ifprop -p mtu=9000 -m ipv4 net0",)
    assert {e.command for e in f.evidence} == {
        "ipadm show-ifprop -p mtu",
        "dladm show-linkprop -p mtu",
    }


def test_persistent_dladm_mtu_not_active() -> None:
    facts = solaris11(
        {"modinfo": MODINFO_NEW, "ndd_ip_lso_outbound": "0\n"},
        {
            "/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n",
            "/etc/rc3.d/S99mtu": "dladm set-linkprop -p mtu=9000 net0\n",
        },
    )
    findings, _ = check_solaris_network(facts, [FIXED_S11_BUILD])
    (f,) = by_id(findings, "TF313")
    assert "configured 9000 (script) but 1500 is active" in f.message
    assert "(9000)" in f.remedy
    assert f.commands[0].startswith("# MANUAL: decide which MTU is right for net0")


# --------------------------------------------------------------------------- TCP buffers


def test_tcp_buffers_below_targets() -> None:
    facts = solaris11({"ipadm_show_prop_tcp": tcp_props(1048576, 128000, 1048576)})
    findings, _ = check_solaris_network(facts, [FIXED_S11_BUILD])
    (f,) = by_id(findings, "TF320")
    assert f.severity == Severity.INFO
    assert "max_buf 1048576 < 4194304" in f.message and "recv_buf 128000 < 1048576" in f.message
    assert "send_buf" not in f.message
    assert f.commands == (
        "ipadm set-prop -p max_buf=4194304 tcp",
        "ipadm set-prop -p recv_buf=1048576 tcp",
    )
    assert all(e.command == "ipadm show-prop tcp" for e in f.evidence)


def test_tcp_buffers_at_targets_no_finding() -> None:
    findings, skipped = check_solaris_network(solaris11(), [FIXED_S11_BUILD])
    assert not by_id(findings, "TF320")
    assert "TF320" not in skipped_ids(skipped)


# --------------------------------------------------------------------------- applicability


def test_linux_guest_not_applicable() -> None:
    facts = facts_from_capture(StaticCapture.from_outputs({"uname_s": "Linux\n"}))
    findings, skipped = check_solaris_network(facts, [])
    assert findings == []
    assert skipped_ids(skipped) == dict.fromkeys(ALL_CHECKS, "not-applicable")


def test_no_vmxnet3s_not_applicable() -> None:
    facts = facts_from_capture(
        StaticCapture.from_outputs(
            {
                "uname_s": "SunOS\n",
                "uname_r": "5.11\n",
                "modinfo": MODINFO_OLD.splitlines()[0]
                + "\n  0 fffffffffb800000  20a40   -   0  unix ()\n",
            },
            {"/etc/release": SOL111_RELEASE},
        )
    )
    findings, skipped = check_solaris_network(facts, [])
    assert findings == []
    assert set(skipped_ids(skipped).values()) == {"not-applicable"}
    assert "no vmxnet3s" in skipped[0].reason


@pytest.mark.parametrize("origin", ["live", "bundle:x.tar.gz"])
def test_missing_boot_scripts_means_not_evaluated(origin: str) -> None:
    facts = facts_from_capture(
        StaticCapture.from_outputs(
            {
                "uname_s": "SunOS\n",
                "uname_r": "5.11\n",
                "modinfo": MODINFO_OLD,
                "ndd_ip_lso_outbound": "0\n",
                "dladm_show_phys": PHYS,
            },
            {"/etc/release": SOL111_RELEASE},
            origin=origin,
        )
    )
    assert not facts.persistent_settings.available
    findings, skipped = check_solaris_network(facts, [OLD_S10_BUILD])
    assert not by_id(findings, "TF301")
    (s,) = [s for s in skipped if s.check == "TF301"]
    assert "survives a reboot is unknown" in s.reason


# --------------------------------------------------------------------------- skip order


def test_no_examinable_build_skips_every_build_check_in_order() -> None:
    """vmxnet3s is configured but neither an installed file nor the loaded module could be
    looked at: the checks that need the build say so, in check order, once each."""
    no_vmxnet3s = MODINFO_OLD.splitlines()[0] + "\n  0 fffffffffb800000  20a40   -   0  unix ()\n"
    facts = solaris11({"modinfo": no_vmxnet3s}, {"/kernel/drv/vmxnet3s.conf": "EnableLSO=1;\n"})
    findings, skipped = check_solaris_network(facts, [])
    assert not [f for f in findings if f.id in ("TF300", "TF301", "TF310", "TF311", "TF312")]
    no_build = [s.check for s in skipped if "no installed or loaded vmxnet3s build" in s.reason]
    assert no_build == ["TF300", "TF301", "TF310", "TF311", "TF312"]
    assert all(s.outcome == "not-evaluated" for s in skipped if s.check in no_build)


def test_unknown_release_is_reported_before_unscanned_boot_scripts() -> None:
    """No uname -r and no /etc/release, no boot scripts captured, a jumbo MTU in use on a
    Solaris 10 build: TF310 (release unknown) comes before TF311 (scripts unknown)."""
    facts = facts_from_capture(
        StaticCapture.from_outputs(
            {
                "uname_s": "SunOS\n",
                "modinfo": MODINFO_NEW,
                "ifconfig_a": ifconfig("vmxnet3s0", 9000),
            },
            {"/kernel/drv/vmxnet3s.conf": "EnableLSO=0;\n"},
        )
    )
    assert not facts.persistent_settings.available and not facts.release.available
    findings, skipped = check_solaris_network(facts, [S10_NEW_BUILD])
    assert not by_id(findings, "TF311")
    order = [s.check for s in skipped if s.check in ("TF310", "TF311")]
    assert order == ["TF310", "TF311"]
    reasons = {s.check: s.reason for s in skipped}
    assert "Solaris release is not known" in reasons["TF310"]
    assert "boot scripts could not be scanned" in reasons["TF311"]
