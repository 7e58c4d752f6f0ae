"""SYNTHETIC ESXi host listings and switch configurations for the NIC teaming checks.

Each scenario under ``esxi/<name>/`` pairs what an administrator would capture on an ESXi
host (``esxcli network vswitch standard [portgroup] policy failover get``, sometimes a whole
pasted session) with the configuration of the physical switch the uplinks are cabled to
(Cisco IOS or HP ProCurve). None of it comes from a real host or switch: the output layout
follows real esxcli output (docs/background.md), names say ``synthetic``, and every file opens
with a comment saying so. ``generate.py`` calls :func:`generate` and, with ``--check``,
:func:`compare`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ESXI_DIR = "esxi"
HOST = "esx01-synthetic"
PROMPT = f"[root@{HOST}:~] "
ESX_LABEL = "# SYNTHETIC sample for toolsfix tests: not captured from a real ESXi host\n"
IOS_LABEL = "! SYNTHETIC sample for toolsfix tests: not a real switch's configuration\n"
PROCURVE_LABEL = "; SYNTHETIC sample for toolsfix tests: not a real switch's configuration\n"
FAILOVER_GET = "esxcli network vswitch standard policy failover get"
PG_FAILOVER_GET = "esxcli network vswitch standard portgroup policy failover get"


def failover(
    lb: str,
    active: tuple[str, ...],
    standby: tuple[str, ...] = (),
    unused: tuple[str, ...] = (),
    detection: str = "link",
    overrides: Optional[dict[str, bool]] = None,
) -> str:
    """One ``policy failover get`` output block (portgroup form when ``overrides`` given)."""
    lines = [
        f"   Load Balancing: {lb}",
        f"   Network Failure Detection: {detection}",
        "   Notify Switches: true",
        "   Failback: true",
        "   Active Adapters: " + ", ".join(active),
        "   Standby Adapters: " + ", ".join(standby),
        "   Unused Adapters: " + ", ".join(unused),
    ]
    if overrides is not None:
        for key in (
            "Load Balancing",
            "Network Failure Detection",
            "Notify Switches",
            "Failback",
            "Uplinks",
        ):
            value = "true" if overrides.get(key, False) else "false"
            lines.append(f"   Override Vswitch {key}: {value}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def portgroup_list(rows: list[tuple[str, str, int, int]]) -> str:
    """``esxcli network vswitch standard portgroup list``: columns sized to their content."""
    head = ("Name", "Virtual Switch", "Active Clients", "VLAN ID")
    cells = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(head[i]), *(len(r[i]) for r in cells)) for i in range(4)]

    def line(values: tuple[str, ...]) -> str:
        left = [values[i].ljust(widths[i]) for i in range(2)]
        right = [values[i].rjust(widths[i]) for i in range(2, 4)]
        return "  ".join(left + right).rstrip()

    out = [line(head), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out) + "\n"


def advanced(path: str, value: int, description: str) -> str:
    return (
        f"   Path: {path}\n"
        "   Type: integer\n"
        f"   Int Value: {value}\n"
        "   Default Int Value: 1\n"
        "   Min Value: 0\n"
        "   Max Value: 1\n"
        "   String Value:\n"
        "   Default String Value:\n"
        "   Valid Characters:\n"
        f"   Description: {description}\n"
    )


def ios_config(hostname: str, ports: list[tuple[str, Optional[str], str]]) -> str:
    """A Cisco IOS running-config excerpt: (interface, channel-group line or None, description)
    per port; a ``Port-channelN`` interface for every group used."""
    groups = sorted({int(cg.split()[1]) for _, cg, _ in ports if cg})
    out = [
        IOS_LABEL.rstrip("\n"),
        "!",
        "version 15.2",
        f"hostname {hostname}",
        "!",
        "port-channel load-balance src-dst-ip",
        "!",
    ]
    for g in groups:
        out += [
            f"interface Port-channel{g}",
            f" description {HOST} uplinks",
            " switchport trunk encapsulation dot1q",
            " switchport mode trunk",
            "!",
        ]
    for name, cg, description in ports:
        out += [f"interface {name}", f" description {description}"]
        if cg:
            out += [" switchport trunk encapsulation dot1q", " switchport mode trunk", " " + cg]
        else:
            out += [
                " switchport access vlan 10",
                " switchport mode access",
                " spanning-tree portfast",
            ]
        out.append("!")
    out += ["end"]
    return "\n".join(out) + "\n"


def procurve_config(hostname: str, trunk: Optional[str], names: dict[str, str]) -> str:
    """An HP ProCurve configuration: header, optional ``trunk`` line, named ports, VLAN 1."""
    out = [
        "; J9999A Configuration Editor; Created on release #X.00.00 (SYNTHETIC)",
        PROCURVE_LABEL.rstrip("\n"),
        "",
        f'hostname "{hostname}"',
    ]
    if trunk:
        out.append(trunk)
    for port, name in names.items():
        out += [f"interface {port}", f'   name "{name}"', "   exit"]
    untagged = "3-24,Trk1" if trunk else "1-24"
    out += [
        "vlan 1",
        '   name "DEFAULT_VLAN"',
        f"   untagged {untagged}",
        "   ip address dhcp-bootp",
        "   exit",
    ]
    return "\n".join(out) + "\n"


def _ios_two(mode: Optional[str]) -> str:
    cg = f"channel-group 1 mode {mode}" if mode else None
    return ios_config(
        "sw-ios-synthetic",
        [
            ("GigabitEthernet1/0/1", cg, f"{HOST} vmnic2"),
            ("GigabitEthernet1/0/2", cg, f"{HOST} vmnic3"),
            ("GigabitEthernet1/0/3", None, f"{HOST} vmnic0 management"),
        ],
    )


def _vswitch1_file(block: str) -> str:
    return ESX_LABEL + block


def _session() -> str:
    """A pasted host session: vSwitch1, the portgroup list, three portgroups."""
    parts = [
        ESX_LABEL,
        f"{PROMPT}{FAILOVER_GET} -v vSwitch1\n",
        failover("iphash", ("vmnic2", "vmnic3")),
        f"{PROMPT}esxcli network vswitch standard portgroup list\n",
        portgroup_list(
            [
                ("Backup", "vSwitch1", 1, 30),
                ("Management Network", "vSwitch0", 1, 0),
                ("VM Network", "vSwitch1", 4, 0),
                ("iSCSI-A", "vSwitch1", 1, 20),
            ]
        ),
        f'{PROMPT}{PG_FAILOVER_GET} -p "VM Network"\n',
        failover("iphash", ("vmnic2", "vmnic3"), overrides={}),
        f"{PROMPT}{PG_FAILOVER_GET} -p iSCSI-A\n",
        failover("iphash", ("vmnic2",), unused=("vmnic3",), overrides={"Uplinks": True}),
        f"{PROMPT}{PG_FAILOVER_GET} --portgroup-name=Backup\n",
        failover("srcport", ("vmnic2", "vmnic3"), overrides={"Load Balancing": True}),
        PROMPT.rstrip() + "\n",
    ]
    return "".join(parts)


@dataclass(frozen=True)
class Scenario:
    name: str
    story: str
    files: dict[str, str]
    expect: str  # for the README: what toolsfix reports
    extra_args: str = ""


def _mixed_config() -> str:
    return ios_config(
        "sw-ios-synthetic",
        [
            ("GigabitEthernet1/0/1", "channel-group 1 mode on", "esx02-synthetic vmnic2"),
            ("GigabitEthernet1/0/2", "channel-group 1 mode on", "esx02-synthetic vmnic3"),
            ("GigabitEthernet1/0/3", "channel-group 2 mode active", f"{HOST} vmnic2"),
            ("GigabitEthernet1/0/4", "channel-group 2 mode active", f"{HOST} vmnic3"),
        ],
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "iphash-static-ios",
        "IP hash; Cisco IOS static EtherChannel (`mode on`)",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": _ios_two("on"),
        },
        "no findings",
    ),
    Scenario(
        "iphash-lacp-ios",
        "IP hash; Cisco IOS LACP (`mode active`)",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": _ios_two("active"),
        },
        "TF420",
    ),
    Scenario(
        "iphash-no-channel",
        "IP hash, two active uplinks; switch without any channel",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": _ios_two(None),
        },
        "TF421",
    ),
    Scenario(
        "iphash-standby",
        "IP hash with a standby uplink (vSwitch named by the echoed command); static channel",
        {
            "host-failover.txt": ESX_LABEL
            + f"# {FAILOVER_GET} -v vSwitch1\n"
            + failover("iphash", ("vmnic2",), standby=("vmnic3",)),
            "switch.cfg": _ios_two("on"),
        },
        "TF422",
    ),
    Scenario(
        "iphash-beacon",
        "IP hash with beacon probing; static channel",
        {
            "vSwitch1-failover.txt": _vswitch1_file(
                failover("iphash", ("vmnic2", "vmnic3"), detection="beacon")
            ),
            "switch.cfg": _ios_two("on"),
        },
        "TF423",
    ),
    Scenario(
        "portid-etherchannel",
        "Route based on originating port ID; static EtherChannel",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("srcport", ("vmnic2", "vmnic3"))),
            "switch.cfg": _ios_two("on"),
        },
        "TF424",
    ),
    Scenario(
        "portid-no-channel",
        "Route based on originating port ID; no channel",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("srcport", ("vmnic2", "vmnic3"))),
            "switch.cfg": _ios_two(None),
        },
        "no findings",
    ),
    Scenario(
        "procurve-trunk",
        "IP hash; HP ProCurve `trunk 1-2 trk1 trunk`",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": procurve_config(
                "sw-procurve-synthetic",
                "trunk 1-2 trk1 trunk",
                {"1": f"{HOST} vmnic2", "2": f"{HOST} vmnic3"},
            ),
        },
        "no findings",
    ),
    Scenario(
        "procurve-lacp",
        "IP hash; HP ProCurve `trunk 1-2 trk1 lacp`",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": procurve_config(
                "sw-procurve-synthetic",
                "trunk 1-2 trk1 lacp",
                {"1": f"{HOST} vmnic2", "2": f"{HOST} vmnic3"},
            ),
        },
        "TF420",
    ),
    Scenario(
        "portgroup-overrides",
        "Pasted session: vSwitch1 IP hash on a static channel; "
        "`VM Network` inherits everything, `iSCSI-A` overrides its uplinks (one unused), "
        "`Backup` overrides load balancing to port ID",
        {"esx01-session.txt": _session(), "switch.cfg": _ios_two("on")},
        "TF422 (portgroup 'iSCSI-A'), TF424 (portgroup 'Backup'); nothing for VM Network",
    ),
    Scenario(
        "portgroup-inherits-beacon",
        "vSwitch0 IP hash with beacon probing; portgroup "
        "`VM Network` inherits it; no switch config",
        {
            "vSwitch0-failover.txt": ESX_LABEL
            + failover("iphash", ("vmnic0", "vmnic1"), detection="beacon"),
            "VM-Network-failover.txt": ESX_LABEL
            + f"# {PG_FAILOVER_GET} -p 'VM Network'\n"
            + failover("iphash", ("vmnic0", "vmnic1"), detection="beacon", overrides={}),
        },
        "TF423 once (vSwitch0); TF420/TF421 not-evaluated (no --switch-config)",
    ),
    Scenario(
        "mixed-channels",
        "IP hash; the switch has a static Po1 (another host) and an "
        "LACP Po2: placement needs --uplink",
        {
            "vSwitch1-failover.txt": _vswitch1_file(failover("iphash", ("vmnic2", "vmnic3"))),
            "switch.cfg": _mixed_config(),
        },
        "without --uplink: TF420/TF421 not-evaluated; with --uplink vmnic2=Gi1/0/3 "
        "--uplink vmnic3=Gi1/0/4: TF420; with Gi1/0/1 and Gi1/0/2: no findings",
    ),
    Scenario(
        "lro-and-teaming",
        "One file with an advanced setting and a failover policy; no switch config",
        {
            "vSwitch0-host.txt": ESX_LABEL
            + f"{PROMPT}esxcli system settings advanced list -o /Net/Vmxnet3HwLRO\n"
            + advanced("/Net/Vmxnet3HwLRO", 1, "Hardware LRO for vmxnet3 (synthetic text)")
            + f"{PROMPT}{FAILOVER_GET} -v vSwitch0\n"
            + failover("srcport", ("vmnic0", "vmnic1"))
        },
        "TF410 (confidence low: no guest given); TF424 not-evaluated",
    ),
)


def readme() -> str:
    out = [
        "# esxi/: SYNTHETIC ESXi teaming scenarios",
        "",
        "**Nothing here was captured from a real ESXi host or switch.** Written by",
        "[`../esxi_samples.py`](../esxi_samples.py) (run by `generate.py`) for the",
        "`esxi-teaming` checks (TF420-TF424). Run a scenario with",
        "",
        "    toolsfix verify --esxi-settings HOSTFILE [--esxi-settings ...] "
        "--switch-config esxi/NAME/switch.cfg",
        "",
        "| scenario | what it models | toolsfix reports |",
        "|---|---|---|",
    ]
    for s in SCENARIOS:
        out.append(f"| `{s.name}` | {s.story} | {s.expect} |")
    out.append("")
    return "\n".join(out)


def generate(out: Path) -> list[Path]:
    """(Re)write ``out/esxi/``; returns the files written."""
    base = out / ESXI_DIR
    shutil.rmtree(base, ignore_errors=True)
    written: list[Path] = []
    for s in SCENARIOS:
        for name, text in s.files.items():
            path = base / s.name / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("ascii"))
            written.append(path)
    (base / "README.md").write_bytes(readme().encode("ascii"))
    written.append(base / "README.md")
    return written


def compare(fresh: Path, committed: Path) -> list[str]:
    """Differences between a fresh ``esxi/`` and the committed one (contents only)."""

    def files(root: Path) -> dict[str, Path]:
        base = root / ESXI_DIR
        if not base.is_dir():
            return {}
        return {p.relative_to(root).as_posix(): p for p in base.rglob("*") if p.is_file()}

    new, old = files(fresh), files(committed)
    problems = [f"missing: {p}" for p in sorted(set(new) - set(old))]
    problems += [f"unexpected: {p}" for p in sorted(set(old) - set(new))]
    problems += [
        f"differs: {p}"
        for p in sorted(set(new) & set(old))
        if new[p].read_bytes() != old[p].read_bytes()
    ]
    return problems
